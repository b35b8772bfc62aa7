//! A small LSP client for the tests: runs `pyasm lsp` as a child process and speaks JSON-RPC
//! over its stdin/stdout (Content-Length framing), keeping the notifications it receives.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// How long any answer may take (the machine is shared and the build is unoptimised).
pub const PATIENCE: Duration = Duration::from_secs(60);

pub struct Client {
    child: Child,
    stdin: ChildStdin,
    from_server: Receiver<Value>,
    next_id: i64,
    /// Notifications received while waiting for something else, oldest first.
    pub notifications: Vec<Value>,
}

/// Reads one framed message; `None` at the end of the stream.
fn read_message(r: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length: ") {
            length = v.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length.expect("a Content-Length header")];
    r.read_exact(&mut body).ok()?;
    Some(serde_json::from_slice(&body).expect("the server sent JSON"))
}

impl Client {
    /// Starts `pyasm lsp` (`initialize` is the first thing to send).
    pub fn start() -> Client {
        Client::start_binary(env!("CARGO_BIN_EXE_pyasm").as_ref())
    }

    /// Starts `BINARY lsp` (another build of pyasm: a release one, for timing).
    pub fn start_binary(binary: &std::path::Path) -> Client {
        let mut child = Command::new(binary)
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(if std::env::var_os("PYASM_LSP_STDERR").is_some() { Stdio::inherit() } else { Stdio::null() })
            .spawn()
            .expect("pyasm lsp starts");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            while let Some(m) = read_message(&mut stdout) {
                if tx.send(m).is_err() {
                    break;
                }
            }
        });
        Client { child, stdin, from_server: rx, next_id: 1, notifications: Vec::new() }
    }

    pub fn send(&mut self, message: Value) {
        let body = serde_json::to_vec(&message).unwrap();
        write!(self.stdin, "Content-Length: {}\r\n\r\n", body.len()).unwrap();
        self.stdin.write_all(&body).unwrap();
        self.stdin.flush().unwrap();
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn next(&mut self, deadline: Instant) -> Option<Value> {
        match self.from_server.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => panic!("the server closed its output (it died)"),
        }
    }

    /// Sends a request without waiting for its answer; its id.
    pub fn send_request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        id
    }

    /// Sends a request and returns the whole response (`result` or `error`).
    pub fn request_raw(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params);
        self.response(id)
    }

    /// The response to request `id` (keeping the notifications that come before it).
    pub fn response(&mut self, id: i64) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let m = self.next(deadline).unwrap_or_else(|| panic!("no answer to request {id} in {PATIENCE:?}"));
            if m.get("id") == Some(&json!(id)) && m.get("method").is_none() {
                assert_eq!(m["jsonrpc"], "2.0", "{m}");
                return m;
            }
            self.notifications.push(m);
        }
    }

    /// Sends a request and returns its result (failing on an error answer).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let m = self.request_raw(method, params);
        assert!(m.get("error").is_none(), "{method} failed: {m}");
        m["result"].clone()
    }

    pub fn initialize(&mut self, options: Value) -> Value {
        self.initialize_with(json!({}), options)
    }

    /// `initialize` with the client's capabilities.
    pub fn initialize_with(&mut self, capabilities: Value, options: Value) -> Value {
        let params = json!({"processId": null, "rootUri": null, "capabilities": capabilities, "initializationOptions": options});
        let r = self.request("initialize", params);
        self.notify("initialized", json!({}));
        r
    }

    /// The next diagnostics published for `uri` (received earlier or waited for).
    pub fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        let is_for = |m: &Value| m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri;
        if let Some(i) = self.notifications.iter().position(is_for) {
            return self.notifications.remove(i)["params"]["diagnostics"].as_array().unwrap().clone();
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            let m = self.next(deadline).unwrap_or_else(|| panic!("no diagnostics for {uri} in {PATIENCE:?}"));
            if is_for(&m) {
                return m["params"]["diagnostics"].as_array().unwrap().clone();
            }
            self.notifications.push(m);
        }
    }

    /// Keeps what the server sends for `time`.
    pub fn listen(&mut self, time: Duration) {
        let deadline = Instant::now() + time;
        while let Some(m) = self.next(deadline) {
            self.notifications.push(m);
        }
    }

    /// The diagnostics publications for `uri` received so far: (version, diagnostics).
    pub fn publications(&self, uri: &str) -> Vec<(Value, Vec<Value>)> {
        let is_for = |m: &&Value| m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri;
        self.notifications.iter().filter(is_for).map(|m| (m["params"]["version"].clone(), m["params"]["diagnostics"].as_array().unwrap().clone())).collect()
    }

    /// Drops the diagnostics received so far.
    pub fn forget_notifications(&mut self) {
        self.notifications.clear();
    }

    /// The server's peak resident memory in MB, where /proc tells (Linux).
    pub fn peak_memory_mb(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kb: f64 = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kb / 1024.0)
    }

    /// `shutdown`, `exit`, and the exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        assert_eq!(self.request("shutdown", Value::Null), Value::Null);
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn uri(path: &std::path::Path) -> String {
    format!("file://{}", path.display())
}

pub fn pos(line: u32, character: u32) -> Value {
    json!({"line": line, "character": character})
}

pub fn range(sl: u32, sc: u32, el: u32, ec: u32) -> Value {
    json!({"start": pos(sl, sc), "end": pos(el, ec)})
}
