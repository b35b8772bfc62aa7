//! Shrinking a crashing program to a small reproducer: instruction lines (and exception-table
//! entries) are removed, halves first, then smaller and smaller runs, keeping each removal
//! after which the program still assembles and still crashes the same way (same crash, same
//! running instruction). Natives only: each try is one fork, a few milliseconds.

use crate::base::FILENAME;
use crate::crashes::faulting_op;
use crate::runner::{Driver, Outcome};
use pyasm::diagnostics::SourceFiles;
use pyasm::version::PythonVersion;
use std::path::Path;
use std::time::{Duration, Instant};

/// Assembles `text` for `version`; the .pyc bytes, or None when pyasm refuses it.
pub fn assemble(text: &str, version: PythonVersion) -> Option<Vec<u8>> {
    let mut files = SourceFiles::new();
    let file = files.add(FILENAME, text);
    let opts = pyasm::Options { version: Some(version), ..Default::default() };
    let out = pyasm::assemble(&files, file, &opts).ok()?;
    Some(out.to_pyc(&pyasm::emit::pyc::PycHeader::Timestamp { mtime: 0, source_size: 0 }))
}

/// The crash (how, running instruction) that `text` causes, if it assembles and crashes.
pub fn crash_of(text: &str, version: PythonVersion, driver: &mut Driver, pyc: &Path) -> Option<(String, Option<String>)> {
    let bytes = assemble(text, version)?;
    std::fs::write(pyc, bytes).ok()?;
    let r = driver.run(pyc);
    match r.outcome {
        Outcome::Crashed { how } => Some((how, faulting_op(&r.stderr, FILENAME, text))),
        _ => None,
    }
}

fn is_removable(line: &str) -> bool {
    let t = line.trim_start();
    line.starts_with("    ") && !t.is_empty() && (!t.starts_with('.') || t.starts_with(".exception "))
}

/// A smaller program than `text` that crashes as `want` does (within `budget`).
pub fn reduce(text: &str, version: PythonVersion, want: &(String, Option<String>), driver: &mut Driver, pyc: &Path, budget: Duration) -> String {
    let started = Instant::now();
    // The crash came quickly; a try that loops (a removed loop counter) need not run long.
    let timeout = std::mem::replace(&mut driver.timeout, TRY_TIMEOUT);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let still = |lines: &[String], driver: &mut Driver| match crash_of(&(lines.join("\n") + "\n"), version, driver, pyc) {
        Some((how, at)) => how == want.0 && (want.1.is_none() || at == want.1),
        None => false,
    };
    let out_of_time = || started.elapsed() > budget;
    loop {
        let before = lines.len();
        remove_runs(&mut lines, &mut |l: &[String]| still(l, driver), &out_of_time);
        tidy(&mut lines, &mut |l: &[String]| still(l, driver), &out_of_time);
        if lines.len() == before || out_of_time() {
            break;
        }
    }
    driver.timeout = timeout;
    lines.join("\n") + "\n"
}

const TRY_TIMEOUT: Duration = Duration::from_millis(300);

/// Removes runs of removable lines, halves first, keeping each removal `still` accepts.
fn remove_runs(lines: &mut Vec<String>, still: &mut dyn FnMut(&[String]) -> bool, out_of_time: &dyn Fn() -> bool) {
    let removable = |lines: &[String]| -> Vec<usize> { (0..lines.len()).filter(|&i| is_removable(&lines[i])).collect() };
    let mut chunk = removable(lines).len().div_ceil(2).max(1);
    loop {
        let mut start = 0;
        loop {
            let cand = removable(lines);
            if start >= cand.len() || out_of_time() {
                break;
            }
            let drop: Vec<usize> = cand[start..(start + chunk).min(cand.len())].to_vec();
            let trial: Vec<String> = lines.iter().enumerate().filter(|(i, _)| !drop.contains(i)).map(|(_, l)| l.clone()).collect();
            if still(&trial) {
                *lines = trial;
            } else {
                start += chunk;
            }
        }
        if chunk == 1 || out_of_time() {
            break;
        }
        chunk = chunk.div_ceil(2);
    }
}

/// Then what the instruction pass keeps, one at a time from the end: labels, table
/// directives, blank lines and whole code objects other than the module.
fn tidy(lines: &mut Vec<String>, still: &mut dyn FnMut(&[String]) -> bool, out_of_time: &dyn Fn() -> bool) {
    let mut i = lines.len();
    while i > 0 && !out_of_time() {
        i -= 1;
        if i >= lines.len() {
            continue;
        }
        let Some(end) = tidy_span(lines, i) else { continue };
        let trial: Vec<String> = lines[..i].iter().chain(&lines[end + 1..]).cloned().collect();
        if still(&trial) {
            *lines = trial;
        }
    }
}

/// The last line of what the tidy pass may remove starting at line `i`, if anything.
fn tidy_span(lines: &[String], i: usize) -> Option<usize> {
    let l = lines[i].as_str();
    let t = l.trim();
    if l.starts_with(".code ") && !l.contains("<module>") {
        return lines[i..].iter().position(|x| x.trim() == ".end").map(|k| i + k);
    }
    let label = !l.starts_with(' ') && t.ends_with(':');
    let table = [".consts ", ".names ", ".hidden ", ".firstlineno "].iter().any(|d| t.starts_with(d));
    (label || table || t.is_empty()).then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_instructions_and_exception_entries_are_removed() {
        assert!(is_removable("    LOAD_CONST 1"));
        assert!(is_removable("    .exception a, b, c, 1"));
        assert!(!is_removable("    .locals x"));
        assert!(!is_removable("label1:"));
        assert!(!is_removable(".code f(a)"));
        assert!(!is_removable(".end"));
    }

    #[test]
    fn tidy_spans() {
        let lines: Vec<String> = [".code <module>", "    .consts 1", "x1:", "    RETURN_CONST None", ".end", "", ".code f()", "    RETURN_CONST None", ".end"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(tidy_span(&lines, 0), None);
        assert_eq!(tidy_span(&lines, 1), Some(1));
        assert_eq!(tidy_span(&lines, 2), Some(2));
        assert_eq!(tidy_span(&lines, 3), None);
        assert_eq!(tidy_span(&lines, 5), Some(5));
        assert_eq!(tidy_span(&lines, 6), Some(8));
    }
}
