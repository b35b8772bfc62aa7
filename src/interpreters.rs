//! Finding, installing and running a CPython of a given version.
//!
//! pyasm's output is only proven by running it, so the command line (`pyasm run`), the tests
//! and the tools all need "a CPython X.Y". Two kinds serve:
//!
//! * a **native** interpreter, looked for in this order: the variable `PYASM_PYTHON_3_14`
//!   (for 3.14), then `PYASM_PYTHON`, then pyenv's versions folder (`$PYENV_ROOT/versions`,
//!   else `~/.pyenv/versions`), then `python3.14` and `python3` on PATH. Each candidate is
//!   asked its implementation and version; only a CPython of the wanted version is taken (a
//!   PyPy of the same version has different bytecode).
//! * **pyodide**, CPython compiled to WebAssembly and published on npm, run by node through
//!   the runner `tools/pyodide/python.mjs`, which behaves like `python3` (see there). It is
//!   used when already installed in the cache, and installed by [`find_or_install`].
//!
//! The cache is `$PYASM_CACHE`, else `$XDG_CACHE_HOME/pyasm`, else `~/.cache/pyasm`; pyodide
//! release R lives in `<cache>/pyodide/R/` (an `npm install --prefix` folder) and the runner in
//! `<cache>/pyodide/python.mjs`. `PYASM_FORCE_PYODIDE=1` skips native interpreters (to test
//! the pyodide path on a machine that has native ones); `PYASM_NODE` and `PYASM_NPM` choose
//! the node and npm commands.

use crate::version::PythonVersion;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The pyodide release (its npm version) that ships each CPython version. The only place
/// this is written; DEVELOPERS.md shows the same table.
pub const PYODIDE_RELEASES: &[(PythonVersion, &str)] = &[
    (PythonVersion::new(3, 10), "0.22.1"),
    (PythonVersion::new(3, 11), "0.25.1"),
    (PythonVersion::new(3, 12), "0.27.7"),
    (PythonVersion::new(3, 13), "0.29.3"),
    (PythonVersion::new(3, 14), "314.0.7"),
    (PythonVersion::new(3, 15), "315.0.0-alpha.2"),
];

/// The node program that makes pyodide behave like `python3`; written into the cache.
pub const RUNNER: &str = include_str!("../tools/pyodide/python.mjs");

/// Pyodide's releases need a node at least this new.
const MIN_NODE_MAJOR: u32 = 18;

/// The pyodide release that ships CPython `version`, if there is one.
pub fn pyodide_release(version: PythonVersion) -> Option<&'static str> {
    PYODIDE_RELEASES.iter().find(|(v, _)| *v == version).map(|(_, r)| *r)
}

/// A CPython that can be run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Interpreter {
    /// A native executable.
    Native {
        path: PathBuf,
        /// Its full version, like `3.11.7` or `3.15.0rc1`.
        version: String,
    },
    /// Pyodide under node.
    Pyodide {
        node: PathBuf,
        /// `node --version`, like `v20.20.2`.
        node_version: String,
        /// The runner, `<cache>/pyodide/python.mjs`.
        runner: PathBuf,
        /// The npm prefix folder holding `node_modules/pyodide`.
        prefix: PathBuf,
        /// The npm version of pyodide, like `0.25.1`.
        release: String,
        /// The full CPython version it ships, like `3.11.3`.
        version: String,
    },
}

impl Interpreter {
    /// A command that behaves like invoking `python3`: append `FILE.py ARGS…`,
    /// `FILE.pyc ARGS…` or `-c CODE ARGS…` (also `-m MODULE`, `-B`, `-u`, and stdin).
    ///
    /// Under pyodide the program sees the host's files only below the current folder and
    /// the folders of its path-like arguments (see `tools/pyodide/python.mjs`), and cannot
    /// start subprocesses.
    pub fn command(&self) -> Command {
        match self {
            Interpreter::Native { path, .. } => Command::new(path),
            Interpreter::Pyodide { node, runner, prefix, .. } => {
                let mut c = Command::new(node);
                c.arg(runner).arg("--pyodide").arg(prefix);
                c
            }
        }
    }

    /// For people: `CPython 3.11.7 (/usr/bin/python3.11)` or
    /// `CPython 3.14.2 (pyodide 314.0.7 under node v20.20.2)`.
    pub fn describe(&self) -> String {
        match self {
            Interpreter::Native { path, version } => format!("CPython {version} ({})", path.display()),
            Interpreter::Pyodide { node_version, release, version, .. } => {
                format!("CPython {version} (pyodide {release} under node {node_version})")
            }
        }
    }

    /// The full version string, like `3.11.7`.
    pub fn full_version(&self) -> &str {
        match self {
            Interpreter::Native { version, .. } | Interpreter::Pyodide { version, .. } => version,
        }
    }

    /// The `X.Y` it implements.
    pub fn version(&self) -> PythonVersion {
        // Both constructors only accept strings that parse (see `probe_native`, `pyodide_at`).
        self.full_version().parse().expect("an interpreter's version parses")
    }

    pub fn is_pyodide(&self) -> bool {
        matches!(self, Interpreter::Pyodide { .. })
    }
}

/// The outcome of a search: the interpreter, if any, and one line per place looked at, for
/// telling the user what was tried.
#[derive(Clone, Debug)]
pub struct Search {
    pub found: Option<Interpreter>,
    pub tried: Vec<String>,
}

/// A CPython of `version` that is on this machine already (native, else an installed pyodide).
pub fn find(version: PythonVersion) -> Option<Interpreter> {
    search(version).found
}

/// [`find`], saying where it looked.
pub fn search(version: PythonVersion) -> Search {
    let mut tried = Vec::new();
    if force_pyodide() {
        tried.push("native interpreters: skipped, because PYASM_FORCE_PYODIDE is set".to_string());
    } else if let Some(i) = search_native(version, &mut tried) {
        return Search { found: Some(i), tried };
    }
    let found = search_pyodide(version, &mut tried);
    Search { found, tried }
}

/// A native CPython of `version` on this machine, looked for as [`find`] does but never
/// pyodide (and regardless of `PYASM_FORCE_PYODIDE`): for what only a native interpreter can
/// do, like loading a compiled extension module.
pub fn find_native(version: PythonVersion) -> Option<Interpreter> {
    search_native(version, &mut Vec::new())
}

/// [`find`], else install the pyodide release of `version` into the cache (with npm) and use
/// that. The error explains what failed and what to do.
pub fn find_or_install(version: PythonVersion) -> Result<Interpreter, String> {
    let s = search(version);
    if let Some(i) = s.found {
        return Ok(i);
    }
    install_pyodide(version).map_err(|e| format!("{e}\n{}", how_to_get(version, &s.tried)))
}

/// True when `PYASM_FORCE_PYODIDE` asks to skip native interpreters.
pub fn force_pyodide() -> bool {
    std::env::var("PYASM_FORCE_PYODIDE").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Where pyasm keeps downloads: `$PYASM_CACHE`, else `$XDG_CACHE_HOME/pyasm`, else
/// `~/.cache/pyasm`.
pub fn cache_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("PYASM_CACHE")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("pyasm")))
        .or_else(|| var("HOME").map(|h| h.join(".cache").join("pyasm")))
}

/// What to tell a user who has no CPython `version`: where pyasm looked and how to get one.
pub fn how_to_get(version: PythonVersion, tried: &[String]) -> String {
    let var = version_var(version);
    let mut s = format!("no CPython {version} interpreter found. Looked at:\n");
    for t in tried {
        s.push_str(&format!("  - {t}\n"));
    }
    s.push_str("To get one, either:\n");
    s.push_str(&format!(
        "  - install CPython {version} (python.org, your package manager, or `pyenv install {version}`) so that \
         python{version} is on PATH, or set {var}=/path/to/python{version};\n"
    ));
    match pyodide_release(version) {
        Some(release) => s.push_str(&format!(
            "  - or let pyasm install CPython {version} compiled to WebAssembly (pyodide {release} from npm, about \
             15 MB, run by node): add --install-interpreter to `pyasm run`, or set PYASM_INSTALL_PYODIDE=1. \
             This needs node {MIN_NODE_MAJOR}+ and npm on PATH.\n"
        )),
        None => s.push_str(&format!("  - (pyodide has no build of CPython {version}, so pyasm cannot install one)\n")),
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Native interpreters

/// `PYASM_PYTHON_3_11` for 3.11.
pub fn version_var(version: PythonVersion) -> String {
    format!("PYASM_PYTHON_{}_{}", version.major, version.minor)
}

fn search_native(version: PythonVersion, tried: &mut Vec<String>) -> Option<Interpreter> {
    let mut candidates: Vec<(String, PathBuf)> = Vec::new();
    for var in [version_var(version), "PYASM_PYTHON".to_string()] {
        match std::env::var_os(&var).filter(|v| !v.is_empty()) {
            Some(p) => candidates.push((format!("{var}={}", Path::new(&p).display()), PathBuf::from(p))),
            None if var != "PYASM_PYTHON" => tried.push(format!("{var}: not set")),
            None => {}
        }
    }
    match pyenv_versions_dir() {
        Some(dir) => {
            let found = pyenv_candidates(&dir, version);
            if found.is_empty() {
                tried.push(format!("{}: no {version}.* version", dir.display()));
            }
            candidates.extend(found.into_iter().map(|p| (p.display().to_string(), p)));
        }
        None => tried.push("pyenv: no versions folder ($PYENV_ROOT/versions or ~/.pyenv/versions)".to_string()),
    }
    for name in [format!("python{version}"), "python3".to_string()] {
        candidates.push((format!("{name} on PATH"), PathBuf::from(name)));
    }
    for (label, path) in candidates {
        match probe_native(&path) {
            Ok((implementation, full)) => {
                if implementation == "cpython" && full.parse::<PythonVersion>().ok() == Some(version) {
                    return Some(Interpreter::Native { path, version: full });
                }
                tried.push(format!("{label}: {implementation} {full}, not CPython {version}"));
            }
            Err(e) => tried.push(format!("{label}: {e}")),
        }
    }
    None
}

fn pyenv_versions_dir() -> Option<PathBuf> {
    let root = std::env::var_os("PYENV_ROOT")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")))?;
    let dir = root.join("versions");
    dir.is_dir().then_some(dir)
}

/// The executables of pyenv's `X.Y` and `X.Y.*` versions, newest micro version first (by
/// number: 3.11.10 is newer than 3.11.9), final releases before pre-releases of the same micro.
fn pyenv_candidates(dir: &Path, version: PythonVersion) -> Vec<PathBuf> {
    let prefix = format!("{version}.");
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut found: Vec<((u32, bool, String), PathBuf)> = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let rest = if name == version.to_string() {
            ""
        } else if let Some(rest) = name.strip_prefix(&prefix) {
            rest
        } else {
            continue;
        };
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if rest.is_empty() != digits.is_empty() {
            continue; // `3.1` must not match `3.11.2`; the prefix ends in a dot, so digits follow
        }
        let micro = digits.parse().unwrap_or(0);
        let suffix = rest[digits.len()..].to_string();
        let bin = e.path().join("bin");
        let exe = [bin.join(format!("python{version}")), bin.join("python3")].into_iter().find(|p| p.exists());
        if let Some(exe) = exe {
            found.push(((micro, suffix.is_empty(), suffix), exe));
        }
    }
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, p)| p).collect()
}

/// Asks an executable what it is: `("cpython", "3.11.7")`.
fn probe_native(path: &Path) -> Result<(String, String), String> {
    const ASK: &str = "import sys; v = sys.version_info; \
        print(sys.implementation.name, '%d.%d.%d%s' % (v[0], v[1], v[2], '' if v[3] == 'final' else v[3][0] + str(v[4])))";
    let out = Command::new(path)
        .args(["-c", ASK])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|e| if e.kind() == std::io::ErrorKind::NotFound { "not found".to_string() } else { format!("cannot run it ({e})") })?;
    if !out.status.success() {
        return Err(format!("did not answer a version query ({})", out.status));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.split_whitespace();
    match (words.next(), words.next()) {
        (Some(implementation), Some(full)) if full.parse::<PythonVersion>().is_ok() => {
            Ok((implementation.to_string(), full.to_string()))
        }
        _ => Err(format!("answered {:?} to a version query", text.trim())),
    }
}

// ---------------------------------------------------------------------------------------------
// Pyodide

fn search_pyodide(version: PythonVersion, tried: &mut Vec<String>) -> Option<Interpreter> {
    let Some(release) = pyodide_release(version) else {
        tried.push(format!("pyodide: no release ships CPython {version}"));
        return None;
    };
    let Some(cache) = cache_dir() else {
        tried.push("pyodide: no cache folder (set PYASM_CACHE or HOME)".to_string());
        return None;
    };
    let prefix = cache.join("pyodide").join(release);
    if !is_installed(&prefix, release) {
        tried.push(format!("pyodide {release}: not installed in {}", prefix.display()));
        return None;
    }
    match pyodide_at(&cache, &prefix, release, version) {
        Ok(i) => Some(i),
        Err(e) => {
            tried.push(format!("pyodide {release} in {}: {e}", prefix.display()));
            None
        }
    }
}

/// A complete install: the tree is only ever put in place by a rename (see `install_pyodide`),
/// and the package must be the release asked for.
fn is_installed(prefix: &Path, release: &str) -> bool {
    let pkg = prefix.join("node_modules").join("pyodide");
    pkg.join("pyodide.mjs").is_file()
        && std::fs::read_to_string(pkg.join("package.json"))
            .is_ok_and(|t| json_string_field(&t, "version").as_deref() == Some(release))
}

/// The interpreter for an installed release: needs node, and the runner written beside.
fn pyodide_at(cache: &Path, prefix: &Path, release: &str, version: PythonVersion) -> Result<Interpreter, String> {
    let (node, node_version) = find_node()?;
    let runner = write_runner(&cache.join("pyodide")).map_err(|e| format!("cannot write the runner: {e}"))?;
    // The lock file names the exact CPython; older releases call it repodata.json.
    let pkg = prefix.join("node_modules").join("pyodide");
    let full = ["pyodide-lock.json", "repodata.json"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(pkg.join(f)).ok())
        .find_map(|t| json_string_field(&t, "python"))
        .filter(|v| v.parse::<PythonVersion>().ok() == Some(version))
        .unwrap_or_else(|| version.to_string());
    Ok(Interpreter::Pyodide {
        node,
        node_version,
        runner,
        prefix: prefix.to_path_buf(),
        release: release.to_string(),
        version: full,
    })
}

/// The first `"key": "value"` in a JSON text. Enough for package.json's version and the lock
/// file's `"python"` (which occurs once); not a JSON parser.
fn json_string_field(text: &str, key: &str) -> Option<String> {
    let quoted = format!("\"{key}\"");
    let at = text.find(&quoted)? + quoted.len();
    let rest = text[at..].trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

/// `PYASM_NODE`, else `node` on PATH, if it runs and is new enough.
fn find_node() -> Result<(PathBuf, String), String> {
    let node = std::env::var_os("PYASM_NODE").filter(|v| !v.is_empty()).map(PathBuf::from).unwrap_or_else(|| "node".into());
    let out = Command::new(&node)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("pyodide needs node {MIN_NODE_MAJOR}+, and `{}` cannot be run ({e})", node.display()))?;
    let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let major: u32 = v.trim_start_matches('v').split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
    if !out.status.success() || major < MIN_NODE_MAJOR {
        return Err(format!("pyodide needs node {MIN_NODE_MAJOR}+, and `{}` is {v:?}", node.display()));
    }
    Ok((node, v))
}

/// Writes the runner into `dir` unless an identical copy is there. Written to a temporary
/// file and renamed, so a concurrent reader never sees half a file.
fn write_runner(dir: &Path) -> std::io::Result<PathBuf> {
    let path = dir.join("python.mjs");
    if std::fs::read(&path).is_ok_and(|b| b == RUNNER.as_bytes()) {
        return Ok(path);
    }
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new().prefix(".python.mjs-").tempfile_in(dir)?;
    std::io::Write::write_all(&mut tmp, RUNNER.as_bytes())?;
    tmp.persist(&path).map_err(|e| e.error)?;
    Ok(path)
}

/// Installs pyodide's build of CPython `version` into the cache, if it is not there yet, and
/// returns it.
///
/// npm installs into a fresh temporary folder beside the final one, which is then renamed into
/// place: a killed install leaves only a temporary folder (removed by a later install), never
/// a half-filled cache. Processes installing at the same time each use their own folder; the
/// first rename wins and the others drop their copy.
pub fn install_pyodide(version: PythonVersion) -> Result<Interpreter, String> {
    let release = pyodide_release(version).ok_or_else(|| format!("pyodide has no build of CPython {version}"))?;
    let cache = cache_dir().ok_or("no cache folder for pyodide: set PYASM_CACHE (or HOME)")?;
    find_node()?;
    let root = cache.join("pyodide");
    let prefix = root.join(release);
    if !is_installed(&prefix, release) {
        std::fs::create_dir_all(&root).map_err(|e| format!("cannot create {}: {e}", root.display()))?;
        remove_abandoned_installs(&root);
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".install-{release}-"))
            .tempdir_in(&root)
            .map_err(|e| format!("cannot create a folder in {}: {e}", root.display()))?;
        let npm = std::env::var_os("PYASM_NPM").filter(|v| !v.is_empty()).map(PathBuf::from).unwrap_or_else(|| "npm".into());
        let out = Command::new(&npm)
            .arg("install")
            .arg("--prefix")
            .arg(tmp.path())
            // No install scripts: pyodide needs none, and none should run unasked. Published
            // versions never change, so npm's own cache may answer without asking the registry.
            .args(["--no-audit", "--no-fund", "--ignore-scripts", "--prefer-offline", "--loglevel=error"])
            .arg(format!("pyodide@{release}"))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run `{}` to install pyodide {release} ({e}); install node and npm", npm.display()))?;
        if !out.status.success() {
            return Err(format!(
                "`npm install pyodide@{release}` failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim_end()
            ));
        }
        if !is_installed(tmp.path(), release) {
            return Err(format!("`npm install pyodide@{release}` succeeded but installed no pyodide {release}"));
        }
        let tmp = tmp.keep();
        if let Err(e) = std::fs::rename(&tmp, &prefix) {
            let _ = std::fs::remove_dir_all(&tmp);
            // Losing the race to another process is fine: its copy is as good as ours.
            if !is_installed(&prefix, release) {
                return Err(format!(
                    "cannot move pyodide into {}: {e} (remove that folder if it is left from an older pyasm)",
                    prefix.display()
                ));
            }
        }
    }
    pyodide_at(&cache, &prefix, release, version)
}

/// Removes temporary install folders that a killed install left behind (older than an hour,
/// so that a running install is not disturbed).
fn remove_abandoned_installs(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() > 3600);
        if old && e.file_name().to_string_lossy().starts_with(".install-") {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_release_is_listed_once_in_version_order() {
        let versions: Vec<PythonVersion> = PYODIDE_RELEASES.iter().map(|(v, _)| *v).collect();
        let mut sorted = versions.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(versions, sorted);
        assert_eq!(pyodide_release(PythonVersion::new(3, 11)), Some("0.25.1"));
        assert_eq!(pyodide_release(PythonVersion::new(2, 7)), None);
    }

    #[test]
    fn pyenv_candidates_sort_by_number_and_skip_other_minors() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["3.11.9", "3.11.10", "3.11.10rc1", "3.1.4", "3.110.1", "3.11", "3.12.0", "3.11.3t"] {
            let bin = dir.path().join(name).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            std::fs::write(bin.join("python3"), "").unwrap();
        }
        let got: Vec<String> = pyenv_candidates(dir.path(), PythonVersion::new(3, 11))
            .iter()
            .map(|p| p.parent().unwrap().parent().unwrap().file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(got, ["3.11.10", "3.11.10rc1", "3.11.9", "3.11.3t", "3.11"]);
    }

    #[test]
    fn json_fields_are_read_with_or_without_spaces() {
        assert_eq!(json_string_field(r#"{"info": {"arch": "wasm32", "python": "3.11.3"}}"#, "python").as_deref(), Some("3.11.3"));
        assert_eq!(json_string_field(r#"{"name":"pyodide","version":"0.25.1"}"#, "version").as_deref(), Some("0.25.1"));
        assert_eq!(json_string_field(r#"{"python": 3}"#, "python"), None);
        assert_eq!(json_string_field("{}", "python"), None);
    }

    #[test]
    fn the_runner_is_rewritten_only_when_it_differs() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_runner(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), RUNNER);
        std::fs::write(&path, "stale").unwrap();
        write_runner(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), RUNNER);
        // Only the runner is left: no temporary files.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn describe_names_the_kind() {
        let native = Interpreter::Native { path: "/usr/bin/python3.11".into(), version: "3.11.7".into() };
        assert_eq!(native.describe(), "CPython 3.11.7 (/usr/bin/python3.11)");
        assert_eq!(native.version(), PythonVersion::new(3, 11));
        let p = Interpreter::Pyodide {
            node: "node".into(),
            node_version: "v20.20.2".into(),
            runner: "/c/pyodide/python.mjs".into(),
            prefix: "/c/pyodide/314.0.7".into(),
            release: "314.0.7".into(),
            version: "3.14.2".into(),
        };
        assert_eq!(p.describe(), "CPython 3.14.2 (pyodide 314.0.7 under node v20.20.2)");
        let c = p.command();
        let args: Vec<_> = c.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(args, ["/c/pyodide/python.mjs", "--pyodide", "/c/pyodide/314.0.7"]);
    }
}
