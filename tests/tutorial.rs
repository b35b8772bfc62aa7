//! docs/tutorial.md stays true: every command it shows (a fenced block whose first line is
//! `$ pyasm …`) is run, and the lines shown must appear in its output — all of them, in order
//! and nothing else, or, where the block leaves lines out with `…`, each shown run of lines
//! contiguously and in order. A block that shows a refusal (a line starting `error[`) must
//! fail with exit status 1, and its lines are looked for in what the command printed on
//! stdout and stderr. The files it links to must exist. The output the tutorial shows for a
//! portable program (`pyasm run examples/portable/…`, run here by 3.11) must be its `.out`
//! file, which tests/portable.rs checks against all ten versions.

mod support;

use std::process::Command;

struct Block {
    /// Line of the command in the tutorial, for messages.
    line: usize,
    args: Vec<String>,
    expected: Vec<String>,
}

fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((_, l)) = lines.next() {
        if !l.starts_with("```") {
            continue;
        }
        let body: Vec<(usize, &str)> = lines.by_ref().take_while(|(_, l)| !l.starts_with("```")).collect();
        if let Some(((n, first), rest)) = body.split_first() {
            if let Some(cmd) = first.strip_prefix("$ pyasm ") {
                out.push(Block {
                    line: n + 1,
                    args: cmd.split_whitespace().map(String::from).collect(),
                    expected: rest.iter().map(|(_, l)| l.trim_end().to_string()).collect(),
                });
            }
        }
    }
    out
}

/// Whether `expected` (with `…` gaps) matches `actual`; `Err` says where it does not.
fn matches(expected: &[String], actual: &[&str]) -> Result<(), String> {
    if !expected.iter().any(|l| l == "…") {
        return if expected == actual { Ok(()) } else { Err(format!("expected exactly:\n{}", expected.join("\n"))) };
    }
    let mut from = 0;
    for run in expected.split(|l| l == "…").filter(|r| !r.is_empty()) {
        let found = (from..=actual.len().saturating_sub(run.len())).find(|&i| actual[i..i + run.len()] == *run);
        match found {
            Some(i) => from = i + run.len(),
            None => return Err(format!("these lines are not in the output (in this order, after the earlier ones):\n{}", run.join("\n"))),
        }
    }
    Ok(())
}

#[test]
fn every_command_in_the_tutorial_prints_what_it_shows() {
    let root = support::repo_root();
    let text = std::fs::read_to_string(root.join("docs/tutorial.md")).unwrap();
    let blocks = blocks(&text);
    assert!(blocks.len() >= 15, "the tutorial shows only {} commands", blocks.len());
    // `pyasm run` needs a 3.11 to run the program; the other commands do not.
    let python = support::python_for_test("3.11", "tutorial commands (pyasm run)");
    let mut failures = Vec::new();
    for b in &blocks {
        let mut cmd = Command::new(support::pyasm_bin());
        cmd.args(&b.args).current_dir(&root);
        if b.args[0] == "run" {
            let Some(p) = &python else { continue };
            // pyasm finds a pyodide install in the cache by itself; a native one is named.
            if let pyasm::interpreters::Interpreter::Native { path, .. } = p {
                cmd.env("PYASM_PYTHON_3_11", path);
            }
        }
        let out = cmd.output().unwrap();
        let refused = b.expected.iter().any(|l| l.starts_with("error["));
        let mut stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if refused {
            stdout.push_str(&String::from_utf8_lossy(&out.stderr));
        }
        let mut actual: Vec<&str> = stdout.lines().map(str::trim_end).collect();
        // A listing ends each code object with an empty line; the blocks leave the last out.
        while actual.last() == Some(&"") {
            actual.pop();
        }
        if refused && out.status.code() != Some(1) {
            failures.push(format!("line {}: pyasm {} should have been refused (exit status 1), but exited with {}", b.line, b.args.join(" "), out.status));
        } else if !refused && !out.status.success() {
            failures.push(format!("line {}: pyasm {} failed:\n{}", b.line, b.args.join(" "), String::from_utf8_lossy(&out.stderr)));
        } else if let Err(why) = matches(&b.expected, &actual) {
            failures.push(format!("line {}: pyasm {}: {why}\nactual output:\n{stdout}", b.line, b.args.join(" ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_portable_runs_shown_print_what_every_version_prints() {
    let root = support::repo_root();
    let text = std::fs::read_to_string(root.join("docs/tutorial.md")).unwrap();
    let mut shown = 0;
    for b in blocks(&text) {
        let Some(file) = b.args.iter().find(|a| a.starts_with("examples/portable/")) else { continue };
        if b.args[0] != "run" {
            continue;
        }
        let out = std::fs::read_to_string(root.join(file).with_extension("out")).unwrap();
        let expected: Vec<&str> = out.lines().collect();
        assert_eq!(b.expected, expected, "line {}: the output shown for {file} is not its .out file", b.line);
        shown += 1;
    }
    assert!(shown >= 8, "the tutorial runs only {shown} portable programs");
}

#[test]
fn the_tutorial_links_to_files_that_exist() {
    let root = support::repo_root();
    let text = std::fs::read_to_string(root.join("docs/tutorial.md")).unwrap();
    let mut links = 0;
    for part in text.split("](").skip(1) {
        let target = &part[..part.find(')').unwrap()];
        if target.starts_with("http") {
            continue;
        }
        links += 1;
        assert!(root.join("docs").join(target).exists(), "docs/tutorial.md links to {target}, which does not exist");
    }
    assert!(links >= 12, "only {links} links");
}

#[test]
fn the_matcher_can_fail() {
    let exp = |s: &[&str]| s.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    assert!(matches(&exp(&["a", "b"]), &["a", "b"]).is_ok());
    assert!(matches(&exp(&["a", "b"]), &["a", "b", "c"]).is_err());
    assert!(matches(&exp(&["…", "b", "c", "…"]), &["a", "b", "c", "d"]).is_ok());
    assert!(matches(&exp(&["b", "…", "a"]), &["a", "b"]).is_err());
    assert!(matches(&exp(&["…", "a", "c"]), &["a", "b", "c"]).is_err());
}
