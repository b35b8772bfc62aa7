//! Writing results: to stdout, or to a file through a temporary file renamed into place.

use super::Status;
use super::report::fail_io;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes to `target` atomically, or to stdout for `-`.
pub(crate) fn write_output(target: &Path, bytes: &[u8]) -> Status {
    if target.as_os_str() == "-" {
        let mut stdout = std::io::stdout().lock();
        return match stdout.write_all(bytes).and_then(|_| stdout.flush()) {
            Ok(()) => Status::OK,
            Err(e) => fail_io(format!("cannot write to stdout: {e}")),
        };
    }
    match write_atomically(target, bytes) {
        Ok(()) => Status::OK,
        Err(e) => fail_io(format!("cannot write {}: {e}", target.display())),
    }
}


/// never leaves a half-written or clobbered output.
pub(crate) fn write_atomically(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // A temporary file is created private (0600); what the compiler writes is an ordinary
    // file: 0666 less the umask (the OS applies it to the mode given at creation).
    let mut builder = tempfile::Builder::new();
    builder.prefix(".pyasm-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(&dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(target).map_err(|e| e.error)?;
    Ok(())
}

