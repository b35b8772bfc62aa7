//! Running programs in a version's real interpreter, many per interpreter process.
//!
//! A [`Driver`] is one interpreter process running `driver.py` (see there for the protocol):
//! natively it forks a child per program, so a crash costs a child; under pyodide (no fork)
//! programs run in the process itself, and a crash ends it: the driver notices the end of its
//! output, reports the program as crashed with what the process wrote on stderr, and starts a
//! new process for the next one. A program that runs too long is stopped by the native
//! driver itself; under pyodide the process is killed and restarted.

use pyasm::interpreters::Interpreter;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const DRIVER: &str = include_str!("driver.py");

/// How one accepted program ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Clean,
    /// An uncaught exception or another non-zero exit status.
    Raised(i32),
    TimedOut,
    /// Killed by a signal, a fatal error, a wasm trap: `how` names it (`SIGSEGV`,
    /// `Fatal Python error: …`, `RuntimeError: memory access out of bounds`).
    Crashed { how: String },
}

#[derive(Clone, Debug)]
pub struct RunResult {
    pub outcome: Outcome,
    /// The end of what the program wrote on stderr.
    pub stderr: String,
}

/// Classifies a native child's end: its exit status, the signal that killed it (0 if none),
/// whether it was stopped for running too long, and its stderr.
pub fn classify(status: i32, signal: i32, timed_out: bool, stderr: &str) -> Outcome {
    if timed_out {
        return Outcome::TimedOut;
    }
    if signal != 0 {
        return Outcome::Crashed { how: signal_name(signal) };
    }
    if let Some(line) = fatal_line(stderr) {
        return Outcome::Crashed { how: line };
    }
    if status == 0 { Outcome::Clean } else { Outcome::Raised(status) }
}

fn signal_name(sig: i32) -> String {
    match sig {
        4 => "SIGILL".into(),
        6 => "SIGABRT".into(),
        7 => "SIGBUS".into(),
        8 => "SIGFPE".into(),
        11 => "SIGSEGV".into(),
        n => format!("signal {n}"),
    }
}

/// The line of stderr that says the interpreter died, if any: CPython's own fatal error, or
/// what pyodide, emscripten or node print for a trap or an abort.
pub fn fatal_line(stderr: &str) -> Option<String> {
    const MARKS: &[&str] = &[
        "Fatal Python error",
        "RuntimeError: memory access out of bounds",
        "RuntimeError: unreachable",
        "RuntimeError: null function",
        "RuntimeError: index out of bounds",
        "RuntimeError: table index is out of bounds",
        "RuntimeError: divide by zero",
        "RuntimeError: integer overflow",
        "RuntimeError: call stack exhausted",
        "RangeError: Maximum call stack size exceeded",
        "Aborted(",
        "Pyodide has suffered a fatal error",
    ];
    // The first mark of the list that any line has: CPython's own words before the wrappers'.
    for m in MARKS {
        if let Some(line) = stderr.lines().find(|l| l.contains(m)) {
            let at = line.find(m).unwrap_or(0);
            let mut s: String = line[at..].trim().chars().take(120).collect();
            // Addresses and numbers vary between runs; keep the words.
            if m.starts_with("Fatal") {
                s = s.split(" at 0x").next().unwrap_or(&s).to_string();
            }
            return Some(s);
        }
    }
    None
}

struct Process {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// Lines on stdout that are no reply: what the interpreter itself wrote there (pyodide
    /// prints a fatal error's report on stdout), kept with stderr for the crash report.
    stray: String,
}

/// One interpreter process that compiles and runs files in `work` (which must hold every file
/// it is given: under pyodide only that folder is visible).
pub struct Driver {
    pub interpreter: Interpreter,
    work: PathBuf,
    process: Option<Process>,
    /// How many times the process had to be started again after a crash or a timeout.
    pub restarts: usize,
    /// Per program, natively; the whole wait for a reply under pyodide.
    pub timeout: Duration,
    /// The stray stdout lines that came before the last reply.
    last_stray: String,
}

const STDERR_TAIL: usize = 4096;

impl Driver {
    pub fn new(interpreter: Interpreter, work: &Path, timeout: Duration) -> Result<Driver, String> {
        std::fs::create_dir_all(work).map_err(|e| format!("{}: {e}", work.display()))?;
        std::fs::write(work.join("driver.py"), DRIVER).map_err(|e| format!("{}: {e}", work.display()))?;
        Ok(Driver { interpreter, work: work.to_path_buf(), process: None, restarts: 0, timeout, last_stray: String::new() })
    }

    pub fn is_pyodide(&self) -> bool {
        self.interpreter.is_pyodide()
    }

    fn start(&mut self) -> Result<(), String> {
        let mut cmd = self.interpreter.command();
        cmd.arg("-u").arg(self.work.join("driver.py")).arg(&self.work);
        cmd.current_dir(&self.work).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| format!("cannot start {}: {e}", self.interpreter.describe()))?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let mut err = child.stderr.take().expect("piped");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut s = sink.lock().unwrap_or_else(|e| e.into_inner());
                s.extend_from_slice(&buf[..n]);
                if s.len() > 4 * STDERR_TAIL {
                    let cut = s.len() - STDERR_TAIL;
                    s.drain(..cut);
                }
            }
        });
        let mut p = Process { child, stdin, lines, stderr, stray: String::new() };
        // Pyodide needs seconds to load and compile its WebAssembly.
        match p.lines.recv_timeout(Duration::from_secs(180)) {
            Ok(l) if l.starts_with("ready ") => {
                self.process = Some(p);
                Ok(())
            }
            other => {
                let _ = p.child.kill();
                let _ = p.child.wait();
                let err = String::from_utf8_lossy(&p.stderr.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
                Err(format!("{} did not start the difftest driver ({other:?}): {err}", self.interpreter.describe()))
            }
        }
    }

    /// Sends one command and waits for its reply. `Err(None)` when the process ended or
    /// timed out (its stderr is in the second field), `Err(Some(msg))` for a driver failure.
    fn request(&mut self, command: &str, wait: Duration) -> Result<String, (bool, String)> {
        if self.process.is_none() {
            self.start().map_err(|e| (false, e))?;
        }
        let p = self.process.as_mut().expect("started");
        if writeln!(p.stdin, "{command}").and_then(|_| p.stdin.flush()).is_err() {
            return Err(self.ended(false));
        }
        let deadline = std::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match p.lines.recv_timeout(left) {
                Ok(line) if ["ready ", "result ", "ok", "error "].iter().any(|r| line.starts_with(r)) => {
                    self.last_stray = std::mem::take(&mut p.stray);
                    return Ok(line);
                }
                Ok(line) => {
                    p.stray.push_str(&line);
                    p.stray.push('\n');
                    if p.stray.len() > 2 * STDERR_TAIL {
                        let cut = (p.stray.len() - STDERR_TAIL..p.stray.len()).find(|&i| p.stray.is_char_boundary(i)).unwrap_or(0);
                        p.stray.drain(..cut);
                    }
                }
                Err(RecvTimeoutError::Timeout) => return Err(self.ended(true)),
                Err(RecvTimeoutError::Disconnected) => return Err(self.ended(false)),
            }
        }
    }

    /// The process ended (or is killed now, when `timed_out`): returns (timed_out, stderr).
    fn ended(&mut self, timed_out: bool) -> (bool, String) {
        let mut p = self.process.take().expect("running");
        let _ = p.child.kill();
        let _ = p.child.wait();
        // The stderr reader finishes once the process is gone.
        std::thread::sleep(Duration::from_millis(50));
        self.restarts += 1;
        let err = p.stderr.lock().unwrap_or_else(|e| e.into_inner());
        let tail = &err[err.len().saturating_sub(STDERR_TAIL)..];
        (timed_out, format!("{}{}", p.stray, String::from_utf8_lossy(tail)))
    }

    /// Compiles the Python file `src` to the .pyc `out` with this interpreter's compiler.
    pub fn compile(&mut self, src: &Path, out: &Path) -> Result<(), String> {
        let cmd = format!("compile\t{}\t{}", src.display(), out.display());
        match self.request(&cmd, Duration::from_secs(120)) {
            Ok(l) if l == "ok" => Ok(()),
            Ok(l) => Err(unhex(l.strip_prefix("error ").unwrap_or(&l))),
            Err((_, e)) => Err(format!("the interpreter ended while compiling: {e}")),
        }
    }

    /// Runs the .pyc `pyc` as a main program.
    pub fn run(&mut self, pyc: &Path) -> RunResult {
        let secs = self.timeout.as_secs_f64();
        let cmd = format!("run\t{}\t{secs}", pyc.display());
        // Natively the driver stops the program itself; the margin covers its own work.
        let wait = if self.is_pyodide() { self.timeout } else { self.timeout + Duration::from_secs(30) };
        match self.request(&cmd, wait) {
            // The interpreter reported a fatal error and still answered: count the crash, and
            // start afresh, since its state cannot be trusted.
            Ok(_) if fatal_line(&self.last_stray).is_some() => {
                let stderr = std::mem::take(&mut self.last_stray);
                self.ended(false);
                RunResult { outcome: Outcome::Crashed { how: fatal_line(&stderr).unwrap_or_default() }, stderr }
            }
            Ok(line) => parse_result(&line),
            Err((true, stderr)) => RunResult { outcome: Outcome::TimedOut, stderr },
            Err((false, stderr)) => {
                let how = fatal_line(&stderr).unwrap_or_else(|| "the interpreter process died".to_string());
                RunResult { outcome: Outcome::Crashed { how }, stderr }
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(mut p) = self.process.take() {
            let _ = writeln!(p.stdin, "quit");
            drop(p.stdin);
            let _ = p.child.wait();
        }
    }
}

fn parse_result(line: &str) -> RunResult {
    let w: Vec<&str> = line.split(' ').collect();
    if w.len() != 5 || w[0] != "result" {
        return RunResult { outcome: Outcome::Crashed { how: format!("the driver answered {line:?}") }, stderr: String::new() };
    }
    let n = |s: &str| s.parse::<i32>().unwrap_or(-1);
    let stderr = unhex(w[4]);
    RunResult { outcome: classify(n(w[1]), n(w[2]), w[3] == "1", &stderr), stderr }
}

fn unhex(s: &str) -> String {
    if s == "-" {
        return String::new();
    }
    let bytes: Vec<u8> = (0..s.len() / 2).filter_map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(classify(0, 0, false, ""), Outcome::Clean);
        assert_eq!(classify(1, 0, false, "Traceback …\nValueError"), Outcome::Raised(1));
        assert_eq!(classify(0, 11, false, ""), Outcome::Crashed { how: "SIGSEGV".into() });
        assert_eq!(classify(0, 0, true, ""), Outcome::TimedOut);
        assert_eq!(
            classify(1, 0, false, "x\nFatal Python error: _Py_CheckFunctionResult: a function returned NULL at 0x55\n"),
            Outcome::Crashed { how: "Fatal Python error: _Py_CheckFunctionResult: a function returned NULL".into() }
        );
        assert_eq!(fatal_line("python.mjs: RuntimeError: memory access out of bounds\n").as_deref(), Some("RuntimeError: memory access out of bounds"));
        assert_eq!(unhex("6869"), "hi");
        assert_eq!(parse_result("result 0 6 0 -").outcome, Outcome::Crashed { how: "SIGABRT".into() });
    }
}
