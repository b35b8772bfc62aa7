//! Writing results: one discipline for every command and every kind of output (a file,
//! standard output, `--out-dir`, a .pyz, a folder of .pyc, a folder of .pyasm).
//!
//! * Nothing is written until the whole result is known: a command has every byte of its
//!   output in memory before it calls a function here, so an error on the way (a module
//!   with errors, a damaged member) leaves everything as it was.
//! * A file is written to a temporary file in its own folder and renamed over the target: a
//!   reader sees the old file or the new one, never half of one.
//! * A folder that does not exist yet is built as a temporary folder beside it and renamed
//!   into place. Into a folder that exists, every file is first written into a temporary
//!   folder inside it, then renamed into its place one by one; a file being replaced is moved
//!   aside first, and a failure part way (a subfolder that is not writable) moves every file
//!   back and removes every file and folder added, so the folder is as it was. Files already
//!   in the folder that the output does not name stay.
//! * The output itself is created — the file, the folder of `-o DIR` or `--out-dir DIR`, the
//!   folders inside a folder output — but never the folders it goes in: a missing one is an
//!   error that says so (a typo in a path does not silently make folders).
//! * An output that is one of the inputs, or a file they include, is refused (`Protected`;
//!   the same file is found by device and inode, so another spelling or a hard link counts).
//! * Every error names the path the user gave and why, in the user's terms (`Problem`),
//!   never the temporary file.
//! * `-` is standard output, written once, at the end.

use super::report::{Problem, codes, os_text};
use crate::diagnostics::SourceFiles;
use std::collections::HashMap;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Whether an output (or input) path means standard output (input).
pub(crate) fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The files of a folder output: each one's path in the folder (`/`-separated) and bytes.
pub(crate) type FolderFiles = Vec<(String, Vec<u8>)>;

/// An ordinary file: 0666 less the umask (the system applies it to the mode given).
pub(crate) const FILE_MODE: u32 = 0o666;
/// An executable (the .pyz): 0777 less the umask.
pub(crate) const EXECUTABLE_MODE: u32 = 0o777;

/// The files an output must never be: the inputs and the files they include.
#[derive(Default)]
pub(crate) struct Protected {
    /// By device and inode: the file itself, however it is named.
    files: HashMap<(u64, u64), Guarded>,
}

struct Guarded {
    /// As the user named it (or as an `.include` did).
    shown: PathBuf,
    included: bool,
}

impl Protected {
    /// An input given on the command line.
    pub fn input(&mut self, path: &Path) {
        self.add(path, false);
    }

    /// Every file read while assembling (`files`: the inputs, then what they include; macro
    /// expansions are copies under the same names).
    pub fn sources(&mut self, files: &SourceFiles) {
        for name in files.names() {
            self.add(Path::new(name), true);
        }
    }

    fn add(&mut self, path: &Path, included: bool) {
        if is_stdio(path) {
            return;
        }
        let Ok(meta) = std::fs::metadata(path) else { return };
        self.files.entry((meta.dev(), meta.ino())).or_insert_with(|| Guarded { shown: path.to_path_buf(), included });
    }

    /// Refuses `target` when it is one of the protected files. (A target that does not
    /// exist yet is none of them.)
    pub fn check(&self, target: &Path) -> Result<(), Problem> {
        let Ok(meta) = std::fs::metadata(target) else { return Ok(()) };
        let Some(g) = self.files.get(&(meta.dev(), meta.ino())) else { return Ok(()) };
        let other_name = if g.shown == target { String::new() } else { format!(" (the same file as {})", g.shown.display()) };
        let what = if g.included { "a file that the input includes" } else { "one of the inputs" };
        Err(Problem::new(
            codes::OUTPUT_IS_INPUT,
            if g.included { "included-by-input" } else { "same-as-input" },
            format!("the output {} is {what}{other_name}: writing it would destroy that file", target.display()),
        )
        .at(target)
        .with_note("help: give the output another name (-o)"))
    }
}

/// What an output path is to be.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Folder,
}

/// Checks, before any work, that `target` can become what it is meant to be: not standing
/// where a folder (a file) is, in a folder that exists, not an input. What only writing
/// can tell (a folder that is not writable) is found by `write_file` / `write_folder`.
pub(crate) fn check_target(target: &Path, kind: Kind, protected: &Protected) -> Result<(), Problem> {
    if is_stdio(target) {
        return Ok(());
    }
    match (std::fs::metadata(target), kind) {
        (Ok(m), Kind::File) if m.is_dir() => {
            return Err(cannot_write(target, "is-a-folder", "it is a folder").with_note("help: -o names the output file: give a file name"));
        }
        (Ok(m), Kind::Folder) if !m.is_dir() => {
            return Err(cannot_write(target, "not-a-folder", "it is a file, not a folder (the output here is a folder)"));
        }
        _ => {}
    }
    check_folder_exists(target, folder_of(target))?;
    protected.check(target)
}

/// The folder a path is in (`.` for a bare name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// `folder` (which `target` goes in) must exist and be a folder.
fn check_folder_exists(target: &Path, folder: &Path) -> Result<(), Problem> {
    match std::fs::metadata(folder) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(cannot_write(target, "not-a-folder", format!("{} is a file, not a folder", folder.display()))),
        Err(e) => Err(io_problem(target, folder, &e)),
    }
}

fn cannot_write(target: &Path, reason: &'static str, why: impl std::fmt::Display) -> Problem {
    Problem::new(codes::CANNOT_WRITE, reason, format!("cannot write {}: {why}", target.display())).at(target)
}

/// An I/O error while writing `target` (in `folder`), in the user's terms.
fn io_problem(target: &Path, folder: &Path, e: &std::io::Error) -> Problem {
    match e.kind() {
        ErrorKind::NotFound => match file_in_the_way(folder) {
            Some(file) => cannot_write(target, "not-a-folder", format!("{} is a file, not a folder", file.display())),
            None => cannot_write(target, "folder-missing", format!("the folder {} does not exist", folder.display()))
                .with_note("pyasm creates its output (a file, or the folder of -o DIR / --out-dir DIR), not the folders it goes in"),
        },
        ErrorKind::NotADirectory => {
            let file = file_in_the_way(folder).unwrap_or_else(|| folder.to_path_buf());
            cannot_write(target, "not-a-folder", format!("{} is a file, not a folder", file.display()))
        }
        ErrorKind::PermissionDenied => cannot_write(target, "not-writable", format!("the folder {} is not writable (permission denied)", folder.display())),
        ErrorKind::ReadOnlyFilesystem => cannot_write(target, "read-only", format!("the folder {} is on a read-only file system", folder.display())),
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => cannot_write(target, "no-space", "no space left on the device (or over quota)"),
        ErrorKind::IsADirectory => cannot_write(target, "is-a-folder", "it is a folder"),
        _ => cannot_write(target, "io", os_text(e)),
    }
}

/// The nearest ancestor of `folder` (itself included) that exists and is not a folder.
fn file_in_the_way(folder: &Path) -> Option<PathBuf> {
    folder.ancestors().filter(|a| !a.as_os_str().is_empty()).find(|a| std::fs::metadata(a).is_ok_and(|m| !m.is_dir())).map(Path::to_path_buf)
}

/// Writes `bytes` as the file `target` (see the module doc), or to standard output for `-`.
pub(crate) fn write_file(target: &Path, bytes: &[u8], mode: u32, protected: &Protected) -> Result<(), Problem> {
    if is_stdio(target) {
        return write_stdout(bytes);
    }
    check_target(target, Kind::File, protected)?;
    let folder = folder_of(target);
    let mut builder = tempfile::Builder::new();
    builder.prefix(".pyasm-").suffix(".tmp").permissions(std::fs::Permissions::from_mode(mode));
    let fail = |e: &std::io::Error| io_problem(target, folder, e);
    let mut tmp = builder.tempfile_in(folder).map_err(|e| fail(&e))?;
    tmp.write_all(bytes).and_then(|_| tmp.as_file().sync_all()).map_err(|e| fail(&e))?;
    // (A failed persist drops the temporary file, which removes it.)
    tmp.persist(target).map_err(|e| fail(&e.error))?;
    Ok(())
}

/// Creates the folder `dir` (an output, such as `--out-dir`'s) unless it is there.
pub(crate) fn make_folder(dir: &Path) -> Result<(), Problem> {
    match std::fs::create_dir(dir) {
        Err(e) if e.kind() != ErrorKind::AlreadyExists => Err(io_problem(dir, folder_of(dir), &e)),
        _ => Ok(()),
    }
}

/// Writes to standard output, in one piece.
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<(), Problem> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes).and_then(|_| stdout.flush()).map_err(|e| {
        let why = if e.kind() == ErrorKind::BrokenPipe { "it was closed (broken pipe)".to_string() } else { os_text(&e) };
        Problem::new(codes::CANNOT_WRITE, "stdout", format!("cannot write to standard output: {why}"))
    })
}

/// Writes `files` (paths relative to `target`, separated by `/`) as the folder `target`
/// (see the module doc): a new folder renamed into place, or files merged into the folder
/// that is there, all or none.
pub(crate) fn write_folder(target: &Path, files: &[(String, Vec<u8>)], protected: &Protected) -> Result<(), Problem> {
    check_target(target, Kind::Folder, protected)?;
    for (rel, _) in files {
        check_place(target, rel, protected)?;
    }
    if target.is_dir() { merge_into(target, files) } else { build_beside(target, files) }
}

/// Whether `target/rel` can be written: no file where a folder of the path must be, no
/// folder where the file goes, not an input.
fn check_place(target: &Path, rel: &str, protected: &Protected) -> Result<(), Problem> {
    let dest = target.join(rel);
    let mut at = target.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for part in &parts[..parts.len() - 1] {
        at.push(part);
        if std::fs::metadata(&at).is_ok_and(|m| !m.is_dir()) {
            return Err(cannot_write(&dest, "not-a-folder", format!("{} is a file, not a folder", at.display())));
        }
    }
    if dest.is_dir() {
        return Err(cannot_write(&dest, "is-a-folder", "it is a folder"));
    }
    protected.check(&dest)
}

/// Writes every file under `root` (a temporary folder) as an ordinary file; an error names
/// the file's place under `target`.
fn write_tree(root: &Path, target: &Path, files: &[(String, Vec<u8>)]) -> Result<(), Problem> {
    for (rel, bytes) in files {
        let path = root.join(rel);
        let dest = target.join(rel);
        let folder = folder_of(&dest).to_path_buf();
        let parent = path.parent().unwrap_or(root);
        std::fs::create_dir_all(parent).map_err(|e| io_problem(&dest, &folder, &e))?;
        write_new(&path, bytes).map_err(|e| io_problem(&dest, &folder, &e))?;
    }
    Ok(())
}

fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// A new folder: built as a temporary folder beside `target`, then renamed to it.
fn build_beside(target: &Path, files: &[(String, Vec<u8>)]) -> Result<(), Problem> {
    let folder = folder_of(target);
    let tmp = tempfile::Builder::new()
        .prefix(".pyasm-")
        .suffix(".tmp")
        // An ordinary folder, 0777 less the umask (a temporary folder is 0700).
        .permissions(std::fs::Permissions::from_mode(0o777))
        .tempdir_in(folder)
        .map_err(|e| io_problem(target, folder, &e))?;
    write_tree(tmp.path(), target, files)?;
    let built = tmp.keep();
    std::fs::rename(&built, target).map_err(|e| {
        let _ = std::fs::remove_dir_all(&built);
        io_problem(target, folder, &e)
    })
}

/// One step of a merge, undone in reverse order when a later one fails.
enum Step {
    MadeFolder(PathBuf),
    MovedAside { dest: PathBuf, aside: PathBuf },
    Placed(PathBuf),
}

/// Files into the existing folder `target`: all written into a temporary folder inside it
/// first, then renamed into place; on a failure every step is undone.
fn merge_into(target: &Path, files: &[(String, Vec<u8>)]) -> Result<(), Problem> {
    let stage = tempfile::Builder::new().prefix(".pyasm-").suffix(".tmp").tempdir_in(target).map_err(|e| {
        let first = files.first().map_or_else(|| target.to_path_buf(), |(rel, _)| target.join(rel));
        io_problem(&first, target, &e)
    })?;
    for (i, (rel, bytes)) in files.iter().enumerate() {
        // The staging folder is in `target`: a failure here is a failure to write there.
        write_new(&stage.path().join(format!("new{i}")), bytes).map_err(|e| io_problem(&target.join(rel), target, &e))?;
    }
    let mut done: Vec<Step> = Vec::new();
    for (i, (rel, _)) in files.iter().enumerate() {
        if let Err(p) = place(target, rel, &stage.path().join(format!("new{i}")), &stage.path().join(format!("old{i}")), &mut done) {
            return Err(undo(done, p));
        }
    }
    Ok(())
}

/// Renames one staged file to `target/rel`, making the folders it needs and moving aside
/// the file it replaces.
fn place(target: &Path, rel: &str, staged: &Path, aside: &Path, done: &mut Vec<Step>) -> Result<(), Problem> {
    let dest = target.join(rel);
    let mut at = target.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for part in &parts[..parts.len() - 1] {
        let parent = at.clone();
        at.push(part);
        if !at.is_dir() {
            std::fs::create_dir(&at).map_err(|e| io_problem(&dest, &parent, &e))?;
            done.push(Step::MadeFolder(at.clone()));
        }
    }
    let folder = folder_of(&dest).to_path_buf();
    if std::fs::symlink_metadata(&dest).is_ok() {
        std::fs::rename(&dest, aside).map_err(|e| io_problem(&dest, &folder, &e))?;
        done.push(Step::MovedAside { dest: dest.clone(), aside: aside.to_path_buf() });
    }
    std::fs::rename(staged, &dest).map_err(|e| io_problem(&dest, &folder, &e))?;
    done.push(Step::Placed(dest));
    Ok(())
}

/// Undoes a merge's steps, newest first; `p` is the problem that stopped it, with a note for
/// anything that could not be put back.
fn undo(done: Vec<Step>, mut p: Problem) -> Problem {
    for step in done.into_iter().rev() {
        let (what, result) = match &step {
            Step::Placed(dest) => (dest, std::fs::remove_file(dest)),
            Step::MovedAside { dest, aside } => (dest, std::fs::rename(aside, dest)),
            Step::MadeFolder(dir) => (dir, std::fs::remove_dir(dir)),
        };
        if let Err(e) = result {
            p = p.with_note(format!("and {} could not be put back as it was: {}", what.display(), os_text(&e)));
        }
    }
    p
}
