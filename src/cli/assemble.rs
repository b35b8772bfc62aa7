//! `pyasm FILE…`, `pyasm assemble FILE…`: a module's files into one .pyc (or, with -o
//! APP.pyz, an application; with --out-dir, each file on its own).

use super::Status;
use super::args::{AssembleArgs, CommonArgs, HashMode, LinkArgs};
use super::batch::batch;
use super::link::{cmd_link, is_pyz};
use super::module::{assemble_file, header_for};
use super::output::write_output;
use super::report::fail_io;
use std::path::PathBuf;

pub(crate) fn cmd_assemble(a: AssembleArgs) -> Status {
    if a.output.as_deref().is_some_and(is_pyz) {
        let c = &a.common;
        return cmd_link(LinkArgs {
            inputs: c.inputs(),
            output: a.output.clone().expect("checked"),
            main: None,
            python: c.python,
            hash: a.hash,
            report: c.report,
        });
    }
    let Some(dir) = a.batch.out_dir.clone() else {
        if !a.common.more.is_empty() && a.output.is_none() {
            return fail_io(
                "several input files: give -o OUT.pyc to assemble them together into one module, -o APP.pyz (or `pyasm link`) \
                 for an application of one module per file, or --out-dir DIR to assemble each on its own"
                    .into(),
            );
        }
        return assemble_one(&a.common, a.output.clone(), a.hash);
    };
    let files = a.common.inputs();
    let common = &a.common;
    batch(&files, &dir, "pyc", a.batch.jobs, |file, target| {
        let c = CommonArgs {
            file: file.to_path_buf(),
            more: Vec::new(),
            python: common.python,
            listing: common.listing,
            report: common.report,
        };
        assemble_one(&c, Some(target), a.hash)
    })
}

pub(crate) fn assemble_one(c: &CommonArgs, output: Option<PathBuf>, hash: Option<HashMode>) -> Status {
    let (out, source) = match assemble_file(c) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if hash.is_some() && !crate::emit::pyc::supports_hash(out.version.magic) {
        eprintln!(
            "error: Python {} pycs cannot be hash-based (PEP 552 came with 3.7); leave out --hash",
            out.version.version
        );
        return Status::ERRORS;
    }
    let bytes = out.to_pyc(&header_for(&source, &c.file, out.version.magic, hash));
    let target = match output {
        Some(t) => t,
        None if c.file.as_os_str() == "-" => PathBuf::from("-"),
        None => c.file.with_extension("pyc"),
    };
    if let Some(listing) = &out.listing {
        // To stdout, unless the .pyc goes there.
        if target.as_os_str() == "-" {
            eprint!("{listing}");
        } else {
            print!("{listing}");
        }
    }
    write_output(&target, &bytes)
}
