//! Many inputs in one run (`--out-dir DIR`), as a build system calls pyasm: one output per
//! input, on all cores.
//!
//! Each input is its own unit, as each is its own rule in a build: one that fails writes
//! nothing (its old output stays as it was) and does not stop the others. What concerns the
//! whole run is checked before any work: DIR can be a folder (its own folder exists, no file
//! stands there), no two inputs write one output, no output is an input. DIR itself is
//! created when the first output is written, so a run in which every input fails leaves no
//! new folder.

use super::Status;
use super::output::{FILE_MODE, Kind, Protected, check_target, make_folder, write_file, write_stdout};
use super::report::{Problem, Reporter, codes};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

/// What one job made: the output's bytes, the files it must not be (the job's input and
/// what it includes), and a listing to print.
pub(crate) struct Product {
    pub bytes: Vec<u8>,
    pub protected: Protected,
    pub listing: Option<String>,
}

/// Runs `job(input, output path)` over every input on all cores and writes each product as
/// `dir/NAME.ext`; each failure is reported (by the job, or here) without stopping the others.
/// Exit status: the worst of the jobs'.
pub(crate) fn batch(
    files: &[PathBuf],
    dir: &Path,
    ext: &str,
    jobs: Option<usize>,
    rep: &Reporter,
    job: impl Fn(&Path, &Path) -> Result<Product, Status> + Sync,
) -> Status {
    let targets: Vec<PathBuf> = files.iter().map(|f| dir.join(f.with_extension(ext).file_name().unwrap_or_default())).collect();
    if let Err(p) = check_run(files, dir, &targets) {
        return rep.problem(&p);
    }
    let next = AtomicUsize::new(0);
    let worst = AtomicU8::new(0);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let workers = jobs.unwrap_or(cores).max(1).min(files.len().max(1));
    let one = |i: usize| -> Status {
        let product = match job(&files[i], &targets[i]) {
            Ok(p) => p,
            Err(code) => return code,
        };
        let written = make_folder(dir).and_then(|()| write_file(&targets[i], &product.bytes, FILE_MODE, &product.protected));
        if let Err(p) = written {
            return rep.problem(&p);
        }
        match product.listing.map(|l| write_stdout(l.as_bytes())) {
            Some(Err(p)) => rep.problem(&p),
            _ => Status::OK,
        }
    };
    std::thread::scope(|s| {
        for _ in 0..workers {
            // The main thread's 8 MB, not a spawned thread's default 2 MB: deeply nested
            // expressions recurse deeply in the assembler and the disassembler's self-check.
            let worker = std::thread::Builder::new().stack_size(8 << 20);
            let spawned = worker.spawn_scoped(s, || {
                while let Some(i) = Some(next.fetch_add(1, Ordering::Relaxed)).filter(|&i| i < files.len()) {
                    worst.fetch_max(one(i).0.min(2), Ordering::Relaxed);
                }
            });
            if let Err(e) = spawned {
                rep.problem(&Problem::usage(format!("cannot start a worker thread: {e}")));
                worst.fetch_max(2, Ordering::Relaxed);
            }
        }
    });
    Status(worst.into_inner())
}

/// The checks that concern the whole run, before any work.
fn check_run(files: &[PathBuf], dir: &Path, targets: &[PathBuf]) -> Result<(), Problem> {
    check_target(dir, Kind::Folder, &Protected::default())?;
    let mut inputs = Protected::default();
    for f in files {
        inputs.input(f);
    }
    let mut seen: HashMap<&Path, &Path> = HashMap::new();
    for (f, t) in files.iter().zip(targets) {
        if let Some(first) = seen.insert(t, f) {
            return Err(Problem::new(
                codes::SAME_OUTPUT,
                "same-output",
                format!("{} and {} would both be written as {}", first.display(), f.display(), t.display()),
            )
            .at(t)
            .with_note("help: run them in two runs with different --out-dir folders, or rename one"));
        }
        inputs.check(t)?;
    }
    Ok(())
}
