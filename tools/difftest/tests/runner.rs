//! The runner tells apart the ways a program ends, in a native interpreter (a fork per
//! program) and under pyodide (in-process; a crash ends the process, which is started again):
//! clean, raised, crashed, timed out — and the program after a crash or a timeout runs in a
//! working interpreter again.

mod common;

use pyasm_difftest::runner::{Driver, Outcome};
use std::time::Duration;

fn outcomes(version: &str, timeout: Duration) {
    let test = format!("runner_{version}");
    let Some(interp) = common::interpreter(version, &test) else { return };
    let pyodide = interp.is_pyodide();
    let dir = common::scratch(&test);
    let mut driver = Driver::new(interp, dir.path(), timeout).unwrap();
    let programs = [
        ("clean", "import sys\nprint('out')\nsys.stderr.write('err')\n"),
        ("raised", "raise ValueError('no')\n"),
        ("exit3", "import sys\nsys.exit(3)\n"),
        ("crash", "import os\nos.abort()\n"),
        ("after_crash", "x = [i for i in range(10)]\n"),
        ("forever", "while True:\n    pass\n"),
        ("after_timeout", "assert 1 + 1 == 2\n"),
    ];
    let mut got = Vec::new();
    for (name, src) in programs {
        let py = dir.path().join(format!("{name}.py"));
        let pyc = dir.path().join(format!("{name}.pyc"));
        std::fs::write(&py, src).unwrap();
        driver.compile(&py, &pyc).unwrap();
        let r = driver.run(&pyc);
        if name == "raised" {
            assert!(r.stderr.contains("ValueError: no"), "{version}: {:?}", r.stderr);
        }
        got.push((name, r.outcome));
    }
    let crash = &got[3].1;
    assert!(matches!(crash, Outcome::Crashed { .. }), "{version}: os.abort() gave {crash:?}");
    if !pyodide {
        assert_eq!(*crash, Outcome::Crashed { how: "SIGABRT".into() });
    }
    let rest: Vec<_> = got.iter().filter(|(n, _)| *n != "crash").cloned().collect();
    assert_eq!(
        rest,
        vec![
            ("clean", Outcome::Clean),
            ("raised", Outcome::Raised(1)),
            ("exit3", Outcome::Raised(3)),
            ("after_crash", Outcome::Clean),
            ("forever", Outcome::TimedOut),
            ("after_timeout", Outcome::Clean),
        ],
        "{version}"
    );
    // Natively the child dies, not the driver; pyodide's process is started again after the
    // crash and after the timeout.
    assert_eq!(driver.restarts, if pyodide { 2 } else { 0 });
    // A snippet the version cannot compile is reported, not run.
    let bad = dir.path().join("bad.py");
    std::fs::write(&bad, "def (:\n").unwrap();
    let e = driver.compile(&bad, &dir.path().join("bad.pyc")).unwrap_err();
    assert!(e.contains("SyntaxError"), "{e}");
}

#[test]
fn native_3_12() {
    outcomes("3.12", Duration::from_secs(1));
}

#[test]
fn native_3_6() {
    outcomes("3.6", Duration::from_secs(1));
}

#[test]
fn pyodide_3_14() {
    outcomes("3.14", Duration::from_secs(4));
}
