//! `pyasm FILE…`, `pyasm assemble FILE…`: a module's files into one .pyc (or, with -o
//! APP.pyz, an application; with --out-dir, each file on its own).

use super::Status;
use super::args::{AssembleArgs, HashMode};
use super::batch::{Product, batch};
use super::link::{has_extension, is_pyz, link_application};
use super::module::{Built, Settings, assemble_module, header_for, targets};
use super::output::{FILE_MODE, Kind, Protected, check_target, is_stdio, make_folder, write_file, write_stdout};
use super::report::{Problem, Reporter};
use crate::diagnostics::SourceFiles;
use std::path::{Path, PathBuf};

pub(crate) fn cmd_assemble(a: AssembleArgs) -> Status {
    let rep = Reporter::new(&a.common.report);
    let inputs = a.common.inputs();
    let several = a.common.python.as_ref().is_some_and(|p| p.one().is_none());
    if several {
        return match &a.batch.out_dir {
            Some(dir) => assemble_versions(&a, dir, &rep),
            None => rep.problem(&Problem::usage("several --python versions write one .pyc each: give --out-dir DIR")),
        };
    }
    let python = a.common.python.as_ref().and_then(|p| p.one());
    let settings = Settings { python, listing: a.common.listing };
    if let Some(output) = a.output.as_deref().filter(|o| is_pyz(o)) {
        return link_application(&inputs, output, None, python, a.hash, &rep);
    }
    if let Some(dir) = &a.batch.out_dir {
        return batch(&inputs, dir, "pyc", a.batch.jobs, &rep, |file, _target| {
            let mut files = SourceFiles::new();
            let built = assemble_module(&mut files, &[file.to_path_buf()], settings, &rep)?;
            let bytes = pyc_bytes(&built, file, a.hash, &rep)?;
            let mut protected = Protected::default();
            protected.sources(&files);
            Ok(Product { bytes, protected, listing: built.out.listing })
        });
    }
    if inputs.len() > 1 && a.output.is_none() {
        return rep.problem(&Problem::usage(
            "several input files: give -o OUT.pyc to assemble them together into one module, -o APP.pyz (or `pyasm link`) \
             for an application of one module per file, or --out-dir DIR to assemble each on its own",
        ));
    }
    let target = match &a.output {
        Some(t) => t.clone(),
        None if is_stdio(&inputs[0]) => PathBuf::from("-"),
        None => inputs[0].with_extension("pyc"),
    };
    assemble_one(&inputs, &target, a.hash, settings, &rep)
}

/// The module of `inputs` as the .pyc `target` (`-`: stdout).
fn assemble_one(inputs: &[PathBuf], target: &Path, hash: Option<HashMode>, settings: Settings, rep: &Reporter) -> Status {
    // Before any work: the output must not be an input, nor stand where it cannot be written.
    let mut protected = Protected::default();
    for i in inputs {
        protected.input(i);
    }
    if let Err(p) = check_target(target, Kind::File, &protected) {
        return rep.problem(&p);
    }
    if has_extension(target, "pyasm") {
        return rep.problem(
            &Problem::usage(format!("-o {}: a .pyc is not written under a .pyasm name, which is a source file's", target.display()))
                .at(target)
                .with_note("help: name the output NAME.pyc"),
        );
    }
    let mut files = SourceFiles::new();
    let built = match assemble_module(&mut files, inputs, settings, rep) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let bytes = match pyc_bytes(&built, &inputs[0], hash, rep) {
        Ok(b) => b,
        Err(code) => return code,
    };
    // Now that the includes are known, they are protected too.
    protected.sources(&files);
    if let Err(p) = write_file(target, &bytes, FILE_MODE, &protected) {
        return rep.problem(&p);
    }
    if let Some(listing) = &built.out.listing {
        // On stdout, unless the .pyc went there.
        if is_stdio(target) {
            rep.text(listing);
        } else if let Err(p) = write_stdout(listing.as_bytes()) {
            return rep.problem(&p);
        }
    }
    Status::OK
}

/// The .pyc file of an assembled module (`first`: its first file, whose mtime a timestamp
/// header records).
fn pyc_bytes(built: &Built, first: &Path, hash: Option<HashMode>, rep: &Reporter) -> Result<Vec<u8>, Status> {
    let out = &built.out;
    if hash.is_some() && !crate::emit::pyc::supports_hash(out.version.magic) {
        return Err(rep.problem(&Problem {
            status: Status::ERRORS,
            ..Problem::usage(format!("Python {} pycs cannot be hash-based (PEP 552 came with 3.7); leave out --hash", out.version.version))
        }));
    }
    Ok(out.to_pyc(&header_for(&built.source, first, out.version.magic, hash)))
}

/// A portable file for several versions: `DIR/STEM.X.Y.pyc` for each. Every version is
/// attempted; the worst status counts.
fn assemble_versions(a: &AssembleArgs, dir: &Path, rep: &Reporter) -> Status {
    let inputs = a.common.inputs();
    let versions = match targets(&a.common.python, &inputs[0], rep) {
        Ok(v) => v,
        Err(code) => return code,
    };
    if let Err(p) = make_folder(dir) {
        return rep.problem(&p);
    }
    let stem = inputs[0].file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "program".into());
    let mut status = Status::OK;
    for python in versions {
        let Some(v) = python else { continue };
        let target = dir.join(format!("{stem}.{v}.pyc"));
        let code = assemble_one(&inputs, &target, a.hash, Settings { python, listing: a.common.listing }, rep);
        status = Status(status.0.max(code.0));
    }
    status
}
