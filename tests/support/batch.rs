//! Running many .pyc files in one version's interpreter and collecting each one's stdout.
//!
//! Native interpreters run each file as `python X.pyc`. Pyodide costs seconds per start, so
//! it is started once for the whole batch, with a small driver that runs every .pyc in turn
//! (each as `__main__`, in a fresh namespace) and reports each one's output as a JSON line.

use super::Interpreter;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What one run gave: its stdout, and `"ok"` or why it failed (a traceback, stderr).
pub struct RunResult {
    pub stdout: String,
    pub status: String,
}

/// The driver pyodide runs: every .pyc named on its command line, one JSON line each.
const DRIVER: &str = r#"
import io, json, marshal, sys, traceback, contextlib
for path in sys.argv[1:]:
    with open(path, 'rb') as f:
        data = f.read()
    code = marshal.loads(data[16:])
    out = io.StringIO()
    status = 'ok'
    try:
        with contextlib.redirect_stdout(out):
            exec(code, {'__name__': '__main__', '__builtins__': __builtins__})
    except BaseException:
        status = traceback.format_exc()
    print(json.dumps({'path': path, 'out': out.getvalue(), 'status': status}))
"#;

/// Runs every file of `pycs` with `python`, in order; `tmp` holds the driver for pyodide.
pub fn run_all(python: &Interpreter, tmp: &Path, pycs: &[PathBuf]) -> Vec<RunResult> {
    if python.is_pyodide() {
        return run_with_driver(python, tmp, pycs);
    }
    pycs.iter()
        .map(|pyc| {
            let o = python.command().arg(pyc).output().unwrap();
            let status = if o.status.success() { "ok".to_string() } else { String::from_utf8_lossy(&o.stderr).into_owned() };
            RunResult { stdout: String::from_utf8_lossy(&o.stdout).into_owned(), status }
        })
        .collect()
}

fn run_with_driver(python: &Interpreter, tmp: &Path, pycs: &[PathBuf]) -> Vec<RunResult> {
    let driver = tmp.join("batch_driver.py");
    std::fs::write(&driver, DRIVER).unwrap();
    let o = python.command().arg(&driver).args(pycs).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    let mut by_path: BTreeMap<String, (String, String)> = BTreeMap::new();
    for line in text.lines() {
        if let (Some(p), Some(out), Some(status)) = (json_field(line, "path"), json_field(line, "out"), json_field(line, "status")) {
            by_path.insert(p, (out, status));
        }
    }
    pycs.iter()
        .map(|p| {
            let (stdout, status) = by_path.get(&p.display().to_string()).cloned().unwrap_or_else(|| {
                (String::new(), format!("the driver reported nothing (exit {}); its stderr:\n{}", o.status, String::from_utf8_lossy(&o.stderr)))
            });
            RunResult { stdout, status }
        })
        .collect()
}

/// Pulls the string value of `key` out of one of the driver's JSON lines.
fn json_field(line: &str, key: &str) -> Option<String> {
    // The driver writes plain json.dumps objects; a tiny reader is enough.
    let start = line.find(&format!("\"{key}\": \""))? + key.len() + 5;
    let mut out = String::new();
    let mut chars = line[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?).unwrap_or('\u{fffd}'));
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}
