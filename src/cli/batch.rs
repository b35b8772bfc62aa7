//! Many inputs in one run (`--out-dir DIR`), as a build system calls pyasm: one output per
//! input, on all cores.

use super::Status;
use super::report::fail_io;
use std::path::{Path, PathBuf};

/// Runs `job(input, output path)` over every input on all cores; each failure is reported
/// (by the job) without stopping the others. Exit status: the worst of the jobs'.
pub(crate) fn batch(files: &[PathBuf], dir: &Path, ext: &str, jobs: Option<usize>, job: impl Fn(&Path, PathBuf) -> Status + Sync) -> Status {
    if let Err(e) = std::fs::create_dir_all(dir) {
        return fail_io(format!("cannot create {}: {e}", dir.display()));
    }
    let mut seen = std::collections::HashSet::new();
    for f in files {
        let name = f.with_extension(ext);
        let name = name.file_name().unwrap_or_default().to_owned();
        if !seen.insert(name.clone()) {
            return fail_io(format!("two inputs would both write {}", dir.join(name).display()));
        }
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let worst = std::sync::atomic::AtomicU8::new(0);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let workers = jobs.unwrap_or(cores).max(1).min(files.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            // The main thread's 8 MB, not a spawned thread's default 2 MB: deeply nested
            // expressions recurse deeply in the assembler and the disassembler's self-check.
            let worker = std::thread::Builder::new().stack_size(8 << 20);
            let spawned = worker.spawn_scoped(s, || {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(f) = files.get(i) else { break };
                    let target = dir.join(f.with_extension(ext).file_name().unwrap_or_default());
                    let code = job(f, target);
                    let level = if code == Status::OK { 0 } else if code == Status::ERRORS { 1 } else { 2 };
                    worst.fetch_max(level, std::sync::atomic::Ordering::Relaxed);
                }
            });
            if let Err(e) = spawned {
                eprintln!("error: cannot start a worker thread: {e}");
                worst.fetch_max(2, std::sync::atomic::Ordering::Relaxed);
            }
        }
    });
    Status(worst.into_inner())
}

