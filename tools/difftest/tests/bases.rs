//! Every base program of every version — the whole corpus and some generated snippets — is
//! compiled by that version's own interpreter, disassembled by pyasm exactly, assembled again
//! and runs clean unmutated. A mutant's outcome is then the mutation's doing.

mod common;

use pyasm_difftest::campaign;
use pyasm_difftest::runner::Driver;
use pyasm_difftest::snippets;
use std::time::Duration;

fn check(version: &str) {
    let test = format!("bases_{version}");
    let Some(interp) = common::interpreter(version, &test) else { return };
    let v = version.parse().unwrap();
    let dir = common::scratch(&test);
    let mut driver = Driver::new(interp, dir.path(), Duration::from_secs(30)).unwrap();
    let random = 6;
    let (bases, notes) = campaign::prepare(&mut driver, dir.path(), v, random, 1).unwrap();
    assert!(notes.is_empty(), "{version}: base programs left out:\n{}", notes.join("\n"));
    assert_eq!(bases.len(), snippets::corpus(v).len() + random);
    assert!(bases.iter().all(|b| b.from == v && !b.program.instrs_of(&b.program.codes()[0]).is_empty()));
    assert_eq!(driver.restarts, 0, "{version}: no base program may end the interpreter");
}

macro_rules! versions {
    ($($name:ident => $v:literal),* $(,)?) => { $( #[test] fn $name() { check($v) } )* };
}

versions!(v3_6 => "3.6", v3_7 => "3.7", v3_8 => "3.8", v3_9 => "3.9", v3_10 => "3.10",
          v3_11 => "3.11", v3_12 => "3.12", v3_13 => "3.13", v3_14 => "3.14", v3_15 => "3.15");
