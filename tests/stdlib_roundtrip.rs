//! A fixed sample of the 3.11 standard library goes .py → .pyc (CPython) → `pyasm dis` →
//! `pyasm` → .pyc, and every code object must come back equal, field by field, in CPython.
//! The whole library: `python3.11 tools/stdlib_roundtrip.py --pyasm target/release/pyasm`.

mod support;

#[test]
fn stdlib_sample_round_trips_exactly() {
    let Some(python) = support::python_for_test("3.11", "stdlib_roundtrip") else { return };
    let script = support::repo_root().join("tools/stdlib_roundtrip.py");
    let out = std::process::Command::new(&python)
        .arg(&script)
        .args(["--pyasm", support::pyasm_bin().to_str().unwrap(), "--sample", "200"])
        .output()
        .expect("run the round-trip script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = stdout.lines().find(|l| l.starts_with("equal ")).unwrap_or("").to_string();
    println!("{stdout}");
    // `equal E/N identical I/N`: every sampled file must be equal.
    let parts: Vec<&str> = summary.split_whitespace().collect();
    assert!(parts.len() == 4, "no summary line in:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let (equal, total) = parts[1].split_once('/').unwrap();
    assert!(total.parse::<usize>().unwrap() >= 190, "too few files checked: {summary}");
    assert_eq!(equal, total, "not every file round-trips: {summary}\n{stdout}");
    assert!(out.status.success(), "{stdout}");
}
