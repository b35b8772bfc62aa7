//! The differential generator under libFuzzer: the fuzzer's bytes choose a base program (real
//! code compiled by the interpreter and disassembled by pyasm) and its mutations; whatever pyasm
//! accepts runs in the real interpreter, and a crash of that interpreter is a finding (the
//! target panics with the program). The same library as `pyasm-difftest`
//! (`tools/difftest`); the version is `PYASM_DIFFTEST_VERSION` (default: the newest one with a
//! native interpreter here, since pyodide starts too slowly to fuzz with).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pyasm::version::PythonVersion;
use pyasm_difftest::base::Base;
use pyasm_difftest::campaign;
use pyasm_difftest::choice::FromBytes;
use pyasm_difftest::runner::{Driver, Outcome};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

struct State {
    version: PythonVersion,
    table: &'static pyasm::opcodes::VersionTable,
    driver: Mutex<Driver>,
    bases: Vec<Base>,
    pyc: std::path::PathBuf,
}

fn state() -> &'static State {
    static STATE: OnceLock<State> = OnceLock::new();
    STATE.get_or_init(|| {
        let version = match std::env::var("PYASM_DIFFTEST_VERSION") {
            Ok(v) => v.parse().expect("PYASM_DIFFTEST_VERSION is a version like 3.12"),
            Err(_) => pyasm::version::supported()
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .find(|v| pyasm::interpreters::find(*v).is_some_and(|i| !i.is_pyodide()))
                .expect("no native interpreter: set PYASM_DIFFTEST_VERSION"),
        };
        let interp = campaign::interpreter(version, false).expect("an interpreter for the version");
        // Kept for the life of the process: the driver's files live there.
        let root = tempfile::Builder::new().prefix("pyasm-difftest-fuzz-").tempdir().expect("temp dir").keep();
        let mut driver = Driver::new(interp, &root, Duration::from_secs(2)).expect("driver");
        let (bases, _) = campaign::prepare(&mut driver, &root, version, 16, 0).expect("base programs");
        let table = pyasm::opcodes::table_for(version).expect("supported version");
        State { version, table, driver: Mutex::new(driver), bases, pyc: root.join("fuzz.pyc") }
    })
}

fuzz_target!(|data: &[u8]| {
    let s = state();
    let mut c = FromBytes(data);
    let (_, mutations, steps) = campaign::make_mutant(&mut c, &s.bases, &[], s.table, 0);
    let Some(program) = steps.last() else { return };
    let text = program.render();
    let Some(bytes) = pyasm_difftest::reduce::assemble(&text, s.version) else { return };
    std::fs::write(&s.pyc, bytes).expect("write the pyc");
    let result = s.driver.lock().unwrap_or_else(|e| e.into_inner()).run(&s.pyc);
    if let Outcome::Crashed { how } = result.outcome {
        let what: Vec<String> = mutations.iter().map(|m| format!("{}: {}", m.class(), m.detail)).collect();
        panic!("pyasm accepted a program that crashes CPython {}: {how}\nmutations: {}\n{text}\n{}", s.version, what.join("; "), result.stderr);
    }
});
