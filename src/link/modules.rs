//! Many modules into one application (`pyasm link`).
//!
//! Inputs are files and folders. A file is one module, named after its file stem unless it
//! says `.module NAME`. A folder with an `__init__.pyasm` is a package (named after the
//! folder): `__init__.pyasm` is the package's module, each other `.pyasm` a submodule, each
//! subfolder (which needs its own `__init__.pyasm`) a subpackage. A folder without one is a
//! source root: its files are top-level modules and its subfolders packages — the layout
//! `pyasm dis app.pyz -o DIR` writes. A module written over several files uses `.include`;
//! a file found in a folder that defines no code object (only macros or other shared lines
//! for `.include`) is not a module, and a folder holding only such files is not a package.
//!
//! Each module is assembled on its own (`assemble_files`); `check` then looks at them
//! together: every name once, the package of each submodule present, one Python version, a
//! main module that exists.

use crate::diagnostics::{Diagnostic, codes, did_you_mean, nearest};
use crate::syntax::ast::Span;
use std::path::{Path, PathBuf};

/// At most this many modules in one application (and folder entries read).
pub const MAX_MODULES: usize = 10_000;

/// One module's source file, found from the inputs.
#[derive(Clone, Debug)]
pub struct Source {
    pub path: PathBuf,
    /// The name its place gives it (a `.module` line may override it).
    pub name: String,
    pub is_package: bool,
    /// Given on the command line as a file (the first such is the default main module).
    pub given_as_file: bool,
}

/// The module sources of the inputs, in order (folders sorted by name). `warnings` gets what
/// is allowed but may not be what was meant.
///
/// A folder given directly without `__init__.pyasm` is a source root (its files top-level
/// modules), whatever it is called — the same rule as for `pyasm link DIR`, whose
/// subfolders without `__init__.pyasm` are refused because there they can only be meant as
/// packages. Given beside a file of its parent folder (`main.pyasm pkg/`), it looks meant as
/// a package: a warning says what it is taken as.
pub fn discover(inputs: &[PathBuf], warnings: &mut Vec<String>) -> Result<Vec<Source>, String> {
    let mut out: Vec<Source> = Vec::new();
    for input in inputs {
        if input.is_dir() {
            if input.join("__init__.pyasm").is_file() {
                let name = folder_name(input)?;
                package(input, &name, &mut out)?;
            } else {
                let parent = canonical(input).parent().map(Path::to_path_buf);
                let beside_a_file = inputs.iter().any(|i| i.is_file() && canonical(i).parent().map(Path::to_path_buf) == parent);
                if beside_a_file {
                    warnings.push(format!(
                        "{}: no __init__.pyasm, so its files are top-level modules, not a package (add an __init__.pyasm to make it one)",
                        input.display()
                    ));
                }
                root(input, &mut out)?;
            }
        } else {
            let name = stem(input)?;
            out.push(Source { path: input.clone(), name, is_package: false, given_as_file: true });
        }
        if out.len() > MAX_MODULES {
            return Err(format!("more than {MAX_MODULES} modules"));
        }
    }
    // One file, two modules (given twice, or as a file and inside a given folder): say so
    // plainly rather than as two modules of one name.
    let mut seen: Vec<PathBuf> = Vec::with_capacity(out.len());
    for src in &out {
        let key = canonical(&src.path);
        if seen.contains(&key) {
            return Err(format!("{}: this file is given twice (directly or inside a given folder)", src.path.display()));
        }
        seen.push(key);
    }
    Ok(out)
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

fn stem(p: &Path) -> Result<String, String> {
    // Checked in `check`: a `.module` line may name a file whose stem is no module name.
    match p.file_stem() {
        Some(s) => Ok(s.to_string_lossy().into_owned()),
        None => Err(format!("{}: not a file name", p.display())),
    }
}

fn folder_name(p: &Path) -> Result<String, String> {
    let canon = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let s = canon.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    if super::is_dotted_name(&s) && !s.contains('.') {
        Ok(s)
    } else {
        Err(format!("{}: `{s}` is not a package name", p.display()))
    }
}

/// The entries of a folder, sorted, bounded.
fn entries(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))? {
        let e = e.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        v.push(e.path());
        if v.len() > MAX_MODULES {
            return Err(format!("{}: more than {MAX_MODULES} entries", dir.display()));
        }
    }
    v.sort();
    Ok(v)
}

fn is_pyasm(p: &Path) -> bool {
    p.is_file() && p.extension().is_some_and(|x| x == "pyasm")
}

/// A `.pyasm` file found in a folder is a module when it defines a code object, itself or
/// through the files it includes; one that does not is there to be included. Decided from
/// the parsed lines (a `.code` header, not text that starts with `.code`), following
/// `.include` as the linker does, to the same depth.
fn is_module_file(p: &Path) -> bool {
    is_pyasm(p) && defines_code(p, &mut Vec::new())
}

fn defines_code(p: &Path, reading: &mut Vec<PathBuf>) -> bool {
    use crate::syntax::ast::{Spanned, Statement, Value};
    let key = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    if reading.contains(&key) || reading.len() >= super::expand::MAX_INCLUDE_DEPTH {
        return false; // A cycle or too deep: the linker reports it when it reads the file.
    }
    let Ok(text) = std::fs::read_to_string(p) else { return false };
    let (lines, _) = crate::syntax::parse(0, &text);
    reading.push(key);
    let found = lines.iter().any(|l| match &l.statement {
        Some(Spanned { node: Statement::Code(_), .. }) => true,
        Some(Spanned { node: Statement::Directive(d), .. }) if d.name.node == "include" => match d.args.as_slice() {
            [Spanned { node: Value::Str(s), .. }] => defines_code(&p.parent().unwrap_or(Path::new(".")).join(s.to_lossy()), reading),
            _ => false,
        },
        _ => false,
    });
    reading.pop();
    found
}

fn package(dir: &Path, name: &str, out: &mut Vec<Source>) -> Result<(), String> {
    out.push(Source { path: dir.join("__init__.pyasm"), name: name.to_string(), is_package: true, given_as_file: false });
    for p in entries(dir)? {
        if p.is_dir() {
            if p.join("__init__.pyasm").is_file() {
                let sub = format!("{name}.{}", folder_name(&p)?);
                package(&p, &sub, out)?;
            } else if contains_pyasm(&p) {
                return Err(format!("{}: a folder of modules inside a package needs an __init__.pyasm", p.display()));
            }
        } else if is_module_file(&p) && p.file_name().is_some_and(|n| n != "__init__.pyasm") {
            out.push(Source { name: format!("{name}.{}", stem(&p)?), path: p, is_package: false, given_as_file: false });
        }
    }
    Ok(())
}

fn root(dir: &Path, out: &mut Vec<Source>) -> Result<(), String> {
    let before = out.len();
    for p in entries(dir)? {
        if p.is_dir() {
            if p.join("__init__.pyasm").is_file() {
                let name = folder_name(&p)?;
                package(&p, &name, out)?;
            } else if contains_pyasm(&p) {
                return Err(format!("{}: a folder of modules needs an __init__.pyasm to be a package", p.display()));
            }
        } else if is_module_file(&p) {
            out.push(Source { name: stem(&p)?, path: p, is_package: false, given_as_file: false });
        }
    }
    if out.len() == before {
        return Err(format!("{}: no .pyasm file in it defines a code object", dir.display()));
    }
    Ok(())
}

fn contains_pyasm(dir: &Path) -> bool {
    entries(dir).is_ok_and(|es| es.iter().any(|p| is_module_file(p)))
}

/// One assembled module as `check` sees it.
pub struct ModuleInfo {
    pub name: String,
    /// The `.module` line; when the name comes from the file's place, the module's
    /// `.code <module>` header.
    pub name_span: Span,
    /// The `.python` line its version comes from, when it has one.
    pub version_span: Option<Span>,
    pub named_by_directive: bool,
    pub is_package: bool,
    pub given_as_file: bool,
    pub version: crate::version::PythonVersion,
}

/// Checks the modules of an application together and picks the main one: `Ok(index)`.
/// `pyz`: the main module is stored as `__main__`, so its own name need not be a module name
/// (`pyasm link my-prog.pyasm -o app.pyz`); in a folder it is run as `python -m NAME`.
pub fn check(modules: &[ModuleInfo], main: Option<&str>, pyz: bool) -> Result<usize, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let how = |m: &ModuleInfo| if m.named_by_directive { "named here" } else { "named after this file" };
    let default_main = || modules.iter().position(|m| m.given_as_file).or_else(|| modules.iter().position(|m| m.name == "__main__"));
    let stored_as_main = if pyz { main.map_or_else(default_main, |n| modules.iter().position(|m| m.name == n)) } else { None };
    for (i, m) in modules.iter().enumerate() {
        if !super::is_dotted_name(&m.name) && stored_as_main != Some(i) {
            diags.push(
                Diagnostic::error(codes::APPLICATION, format!("`{}` is not a module name", m.name))
                    .with_primary(m.name_span, how(m))
                    .with_help("rename the file, or give it a `.module NAME` line"),
            );
        }
        if let Some(prev) = modules[..i].iter().find(|p| p.name == m.name) {
            diags.push(
                Diagnostic::error(codes::DUPLICATE_MODULE, format!("two modules are named `{}`", m.name))
                    .with_primary(m.name_span, format!("second module `{}`, {}", m.name, how(m)))
                    .with_secondary(prev.name_span, format!("first module `{}`, {}", prev.name, how(prev)))
                    .with_help("each module of an application needs its own name: rename a file or change its `.module` line"),
            );
        }
        if let Some((parent, _)) = m.name.rsplit_once('.') {
            if !modules.iter().any(|p| p.name == parent && p.is_package) {
                diags.push(
                    Diagnostic::error(codes::APPLICATION, format!("module `{}` is in package `{parent}`, which is not in the application", m.name))
                        .with_primary(m.name_span, how(m))
                        .with_help("add the package's folder (with its __init__.pyasm) to the inputs, or name the module differently"),
                );
            }
        }
    }
    if let Some(first) = modules.first() {
        // At the `.python` line that chose the version; a module without one takes the
        // default version, which its `.code <module>` header stands for.
        let why = |m: &ModuleInfo| (m.version_span.unwrap_or(m.name_span), if m.version_span.is_some() { "" } else { " (it has no `.python` line)" });
        for m in modules.iter().filter(|m| m.version != first.version) {
            let ((at, note), (first_at, first_note)) = (why(m), why(first));
            diags.push(
                Diagnostic::error(codes::APPLICATION, "the modules of an application target different Python versions")
                    .with_primary(at, format!("`{}` is assembled for Python {}{note}", m.name, m.version))
                    .with_secondary(first_at, format!("`{}` for Python {}{first_note}", first.name, first.version))
                    .with_help("give every module the same `.python` line, or pass --python X.Y"),
            );
        }
    }
    let chosen = match main {
        Some(name) => match modules.iter().position(|m| m.name == name) {
            Some(i) => Some(i),
            None => {
                let mut d = Diagnostic::error(codes::NO_MAIN, format!("--main names `{name}`, which is not a module of the application"));
                let near = nearest(name, modules.iter().map(|m| m.name.as_str()));
                if let Some(hint) = did_you_mean(&near, str::to_string) {
                    d = d.with_help(hint);
                }
                for m in modules.iter().filter(|m| near.contains(&m.name.as_str())) {
                    d = d.with_secondary(m.name_span, format!("module `{}`", m.name));
                }
                let names: Vec<&str> = modules.iter().map(|m| m.name.as_str()).collect();
                diags.push(d.with_note(format!("the modules: {}", names.join(", "))));
                None
            }
        },
        None => {
            let found = default_main();
            if found.is_none() {
                diags.push(
                    Diagnostic::error(codes::NO_MAIN, "which module is the main one?")
                        .with_note("without --main, it is the first input given as a file, else a module named `__main__`")
                        .with_help("pass --main NAME"),
                );
            }
            found
        }
    };
    if let Some(i) = chosen {
        if modules[i].is_package {
            diags.push(
                Diagnostic::error(codes::NO_MAIN, format!("the main module `{}` is a package", modules[i].name))
                    .with_primary(modules[i].name_span, "")
                    .with_help("the main module is a plain module; give a package's entry point as a module of its own"),
            );
        }
    }
    match chosen {
        Some(i) if diags.is_empty() => Ok(i),
        _ => Err(diags),
    }
}

/// The member path of a module in an application: `a/b.pyc` or `pkg/__init__.pyc`.
pub fn member_path(name: &str, is_package: bool) -> String {
    let base = name.replace('.', "/");
    if is_package { format!("{base}/__init__.pyc") } else { format!("{base}.pyc") }
}

/// The module a `.pyc` member path stands for (`pkg/__init__.pyc` → `pkg`, package), or
/// `None` for other members — among them every path that is not a module path (`../x.pyc`,
/// `/etc/x.pyc`, `a.b/c.pyc`): names read from an archive become paths of files written by
/// `dis -o`, so only plain dotted module names get through.
pub fn module_of_member(path: &str) -> Option<(String, bool)> {
    let stem = path.strip_suffix(".pyc")?;
    if stem.split('/').any(|p| p == "__pycache__") {
        return None;
    }
    let (parts, is_package) = match stem.strip_suffix("/__init__") {
        Some(pkg) => (pkg, true),
        None => (stem, false),
    };
    let valid = parts.split('/').all(|p| !p.contains('.') && super::is_dotted_name(p));
    valid.then(|| (parts.replace('/', "."), is_package))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_paths_and_back() {
        assert_eq!(member_path("pkg.mod", false), "pkg/mod.pyc");
        assert_eq!(member_path("pkg", true), "pkg/__init__.pyc");
        assert_eq!(module_of_member("pkg/mod.pyc"), Some(("pkg.mod".into(), false)));
        assert_eq!(module_of_member("pkg/__init__.pyc"), Some(("pkg".into(), true)));
        assert_eq!(module_of_member("__main__.pyc"), Some(("__main__".into(), false)));
        assert_eq!(module_of_member("pkg/__pycache__/mod.cpython-311.pyc"), None);
        assert_eq!(module_of_member("README.txt"), None);
    }

    #[test]
    fn member_names_that_would_escape_are_not_modules() {
        for bad in ["../x.pyc", "../../etc/x.pyc", "/etc/x.pyc", "a//b.pyc", "a.b/c.pyc", "./x.pyc", ".pyc", "x y.pyc", "a\\..\\b.pyc"] {
            assert_eq!(module_of_member(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_file_that_includes_its_code_is_a_module() {
        let dir = std::env::temp_dir().join(format!("pyasm-modules-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("main.pyasm"), ".python 3.11\n.include \"body.inc\"\n").unwrap();
        std::fs::write(dir.join("body.inc"), ".code <module>\n    RESUME 0\n    LOAD_CONST None\n    RETURN_VALUE\n.end\n").unwrap();
        // `.codefoo` is not a `.code` header; a cycle ends.
        std::fs::write(dir.join("shared.pyasm"), ".codefoo\n.include \"shared.pyasm\"\n").unwrap();
        assert!(is_module_file(&dir.join("main.pyasm")));
        assert!(!is_module_file(&dir.join("shared.pyasm")));
        let found = discover(&[dir.clone()], &mut Vec::new()).unwrap();
        let names: Vec<&str> = found.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["main"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
