//! `pyasm link`: modules (files, package folders) into an application, a .pyz or a folder
//! of .pyc.

use super::Status;
use super::args::{HashMode, LinkArgs};
use super::module::{Built, Settings, assemble_module, header_for};
use super::output::{EXECUTABLE_MODE, Kind, Protected, check_target, is_stdio, write_file, write_folder};
use super::report::{Problem, Reporter, codes};
use crate::diagnostics::SourceFiles;
use crate::link::modules;
use crate::version::PythonVersion;
use std::path::Path;

pub(crate) fn cmd_link(l: LinkArgs) -> Status {
    let rep = Reporter::new(&l.report);
    if has_extension(&l.output, "pyc") || has_extension(&l.output, "pyasm") {
        return rep.problem(&Problem::usage(format!(
            "-o {}: an application is written as APP.pyz or as a folder, not as one .pyc or .pyasm file \
             (to assemble several files into one module, use `pyasm FILE… -o OUT.pyc`)",
            l.output.display()
        )));
    }
    link_application(&l.inputs, &l.output, l.main.as_deref(), l.python, l.hash, &rep)
}

/// Links the modules of `inputs` into the application `output` (a .pyz, else a folder).
pub(crate) fn link_application(
    inputs: &[std::path::PathBuf],
    output: &Path,
    main: Option<&str>,
    python: Option<PythonVersion>,
    hash: Option<HashMode>,
    rep: &Reporter,
) -> Status {
    let pyz = is_pyz(output);
    if is_stdio(output) {
        return rep.problem(&Problem::usage("an application cannot go to stdout: give -o DIR or -o APP.pyz"));
    }
    let mut warnings = Vec::new();
    let sources = match modules::discover(inputs, &mut warnings) {
        Ok(s) => s,
        Err(e) => return rep.problem(&Problem::usage(e)),
    };
    for w in &warnings {
        rep.warning(w, None);
    }
    // Before any work: the output must not be an input, nor stand where it cannot be written.
    let mut protected = Protected::default();
    for src in &sources {
        protected.input(&src.path);
    }
    if let Err(p) = check_target(output, if pyz { Kind::File } else { Kind::Folder }, &protected) {
        return rep.problem(&p);
    }
    let mut files = SourceFiles::new();
    let built = match assemble_all(&sources, &mut files, Settings { python, listing: false }, rep) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let infos: Vec<modules::ModuleInfo> = built
        .iter()
        .map(|(src, b)| modules::ModuleInfo {
            name: b.out.module_name.as_ref().map_or_else(|| src.name.clone(), |n| n.node.clone()),
            name_span: b.out.module_name.as_ref().map_or(b.out.module_header, |n| n.span),
            version_span: b.out.version_line,
            named_by_directive: b.out.module_name.is_some(),
            is_package: src.is_package,
            given_as_file: src.given_as_file,
            version: b.out.version.version,
        })
        .collect();
    let main = match modules::check(&infos, main, pyz) {
        Ok(i) => i,
        Err(diags) => {
            rep.diagnostics(&files, &diags);
            let n = diags.len();
            rep.summary(&format!("not linked: {n} error{}", if n == 1 { "" } else { "s" }));
            return Status::ERRORS;
        }
    };
    let members = match members(&built, &infos, main, pyz, hash) {
        Ok(m) => m,
        Err(p) => return rep.problem(&p),
    };
    let version = infos[main].version;
    let n = members.len();
    rep.verbose(&format!("{n} module{}, main module `{}`, Python {version}", if n == 1 { "" } else { "s" }, infos[main].name));
    // Now that the includes are known, they are protected too.
    protected.sources(&files);
    let written = if pyz {
        // Like zipapp's --python: the archive runs as a script with that interpreter.
        let shebang = format!("#!/usr/bin/env python{version}\n");
        match crate::link::pyz::write(shebang.as_bytes(), &members) {
            Ok(archive) => write_file(output, &archive, EXECUTABLE_MODE, &protected),
            Err(e) => Err(Problem::usage(e)),
        }
    } else {
        write_folder(output, &members, &protected)
    };
    match written {
        Ok(()) => {
            rep.verbose(&format!("wrote {}", output.display()));
            Status::OK
        }
        Err(p) => rep.problem(&p),
    }
}

/// Assembles every module; all are assembled (and their mistakes reported) before any
/// failure gives up.
fn assemble_all<'a>(sources: &'a [modules::Source], files: &mut SourceFiles, settings: Settings, rep: &Reporter) -> Result<Vec<(&'a modules::Source, Built)>, Status> {
    let mut built = Vec::new();
    let mut failed = false;
    for src in sources {
        match assemble_module(files, std::slice::from_ref(&src.path), settings, rep) {
            Ok(b) => built.push((src, b)),
            Err(Status::ERRORS) => failed = true,
            Err(code) => return Err(code),
        }
    }
    if failed { Err(Status::ERRORS) } else { Ok(built) }
}

/// The application's files: each module's member path and .pyc.
fn members(
    built: &[(&modules::Source, Built)],
    infos: &[modules::ModuleInfo],
    main: usize,
    pyz: bool,
    hash: Option<HashMode>,
) -> Result<Vec<(String, Vec<u8>)>, Problem> {
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, ((src, b), info)) in built.iter().zip(infos).enumerate() {
        // In a .pyz, the main module is `__main__`, which `python app.pyz` runs; in a folder
        // it keeps its name, for `python -m NAME`. A main module that also has a dotted name
        // (`--main pkg.x`) is stored only as `__main__.pyc`, not also as `pkg/x.pyc`: a second
        // copy would be a second, separately initialised module (`import pkg.x` from the
        // running `__main__` would run its top level again), which is what `python -m pkg.x`
        // avoids too. Its package's `__init__` is still there, so relative imports work.
        let path = if pyz && i == main { "__main__.pyc".to_string() } else { modules::member_path(&info.name, info.is_package) };
        if let Some(j) = members.iter().position(|(p, _)| *p == path) {
            return Err(Problem::new(
                codes::SAME_OUTPUT,
                "same-output",
                format!("{} and {} would both be written as {path}", built[j].0.path.display(), src.path.display()),
            ));
        }
        members.push((path, b.out.to_pyc(&header_for(&b.source, &src.path, b.out.version.magic, hash))));
    }
    Ok(members)
}

/// Whether `path` ends in `.EXT`, in any case (`APP.PYZ` is a zip application too).
pub(crate) fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension().is_some_and(|x| x.to_string_lossy().eq_ignore_ascii_case(ext))
}

/// Whether `-o path` (or an input) names a zip application: the one rule for `.pyz`.
pub(crate) fn is_pyz(path: &Path) -> bool {
    has_extension(path, "pyz")
}
