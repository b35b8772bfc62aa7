//! `pyasm link`: modules (files, package folders) into an application, a .pyz or a folder
//! of .pyc.

use super::Status;
use super::args::{CommonArgs, LinkArgs, MessageFormat};
use super::module::{assemble_module, header_for};
use super::output::{write_atomically, write_output};
use super::report::{fail_io, print_diags};
use crate::diagnostics::SourceFiles;
use std::path::{Path, PathBuf};

pub(crate) fn cmd_link(l: LinkArgs) -> Status {
    use crate::link::modules;
    if has_extension(&l.output, "pyc") || has_extension(&l.output, "pyasm") {
        return fail_io(format!(
            "-o {}: an application is written as APP.pyz or as a folder, not as one .pyc or .pyasm file \
             (to assemble several files into one module, use `pyasm FILE… -o OUT.pyc`)",
            l.output.display()
        ));
    }
    let mut warnings = Vec::new();
    let sources = match modules::discover(&l.inputs, &mut warnings) {
        Ok(s) => s,
        Err(e) => return fail_io(e),
    };
    if !l.report.quiet {
        for w in &warnings {
            eprintln!("warning: {w}");
        }
    }
    let c = CommonArgs {
        file: PathBuf::new(),
        more: Vec::new(),
        python: l.python,
        listing: false,
        report: l.report,
    };
    let mut files = SourceFiles::new();
    let mut built = Vec::new();
    let mut failed = false;
    // Every module is assembled (and its mistakes reported) before any is given up on.
    for src in &sources {
        match assemble_module(&mut files, std::slice::from_ref(&src.path), &c) {
            Ok((out, bytes, id)) => built.push((src, out, bytes, id)),
            Err(code) if code == Status::ERRORS => failed = true,
            Err(code) => return code,
        }
    }
    if failed {
        return Status::ERRORS;
    }
    let infos: Vec<modules::ModuleInfo> = built
        .iter()
        .map(|(src, out, _, id)| modules::ModuleInfo {
            name: out.module_name.as_ref().map_or_else(|| src.name.clone(), |n| n.node.clone()),
            name_span: out.module_name.as_ref().map_or_else(|| first_line(&files, *id), |n| n.span),
            named_by_directive: out.module_name.is_some(),
            is_package: src.is_package,
            given_as_file: src.given_as_file,
            version: out.version.version,
        })
        .collect();
    let main = match modules::check(&infos, l.main.as_deref(), is_pyz(&l.output)) {
        Ok(i) => i,
        Err(diags) => {
            print_diags(&files, &diags, &c);
            if matches!(c.report.message_format, MessageFormat::Human) {
                let n = diags.len();
                eprintln!("error: not linked: {n} error{}", if n == 1 { "" } else { "s" });
            }
            return Status::ERRORS;
        }
    };
    let pyz = is_pyz(&l.output);
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, ((src, out, bytes, _), info)) in built.iter().zip(&infos).enumerate() {
        // In a .pyz, the main module is `__main__`, which `python app.pyz` runs; in a folder
        // it keeps its name, for `python -m NAME`. A main module that also has a dotted name
        // (`--main pkg.x`) is stored only as `__main__.pyc`, not also as `pkg/x.pyc`: a second
        // copy would be a second, separately initialised module (`import pkg.x` from the
        // running `__main__` would run its top level again), which is what `python -m pkg.x`
        // avoids too. Its package's `__init__` is still there, so relative imports work.
        let path = if pyz && i == main { "__main__.pyc".to_string() } else { modules::member_path(&info.name, info.is_package) };
        if members.iter().any(|(p, _)| *p == path) {
            return fail_io(format!("two modules would both be written as {path}"));
        }
        members.push((path, out.to_pyc(&header_for(bytes, &src.path, out.version.magic, l.hash))));
    }
    let version = infos[main].version;
    if l.report.verbose {
        eprintln!("pyasm: {} modules, main module `{}`, Python {version}", members.len(), infos[main].name);
    }
    if pyz {
        // Like zipapp's --python: the archive runs as a script with that interpreter.
        let shebang = format!("#!/usr/bin/env python{version}\n");
        let archive = match crate::link::pyz::write(shebang.as_bytes(), &members) {
            Ok(a) => a,
            Err(e) => return fail_io(e),
        };
        let code = write_output(&l.output, &archive);
        if code == Status::OK {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&l.output, std::fs::Permissions::from_mode(0o755));
        }
        return code;
    }
    if l.output.as_os_str() == "-" {
        return fail_io("an application cannot go to stdout: give -o DIR or -o APP.pyz".into());
    }
    if l.output.is_file() {
        return fail_io(format!("{} is a file: -o names a folder (or an APP.pyz)", l.output.display()));
    }
    for (path, bytes) in &members {
        let target = l.output.join(path);
        if let Some(parent) = target.parent() {
            if let Err(e) = std::fs::create_dir_all(parent) {
                return fail_io(format!("cannot create {}: {e}", parent.display()));
            }
        }
        if let Err(e) = write_atomically(&target, bytes) {
            return fail_io(format!("cannot write {}: {e}", target.display()));
        }
    }
    Status::OK
}

/// The first non-blank line of a file (where "named after this file" points), or its start.
pub(crate) fn first_line(files: &SourceFiles, id: u32) -> crate::syntax::ast::Span {
    let text = files.text(id);
    let mut at = 0usize;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if !trimmed.trim_start().is_empty() {
            let start = at + (trimmed.len() - trimmed.trim_start().len());
            return crate::syntax::ast::Span::new(id, start, at + trimmed.len());
        }
        at += line.len();
    }
    crate::syntax::ast::Span::new(id, 0, 0)
}

/// Whether `path` ends in `.EXT`, in any case (`APP.PYZ` is a zip application too).
pub(crate) fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension().is_some_and(|x| x.to_string_lossy().eq_ignore_ascii_case(ext))
}

/// Whether `-o path` (or an input) names a zip application: the one rule for `.pyz`.
pub(crate) fn is_pyz(path: &Path) -> bool {
    has_extension(path, "pyz")
}
