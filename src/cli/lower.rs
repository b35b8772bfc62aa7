//! `pyasm lower FILE --python X.Y`: the version-specific .pyasm a portable file becomes
//! (docs/format.md 1.12), on stdout; with `--listing`, the listing of that program instead
//! (the instructions laid out, with their stack contents, under the portable lines).

use super::Status;
use super::args::CommonArgs;
use super::module::{Settings, assemble_module, check_distinct, one_target, read_source};
use super::output::write_stdout;
use super::report::Reporter;
use crate::diagnostics::SourceFiles;

pub(crate) fn cmd_lower(c: CommonArgs) -> Status {
    let rep = Reporter::new(&c.report);
    let python = match one_target(&c.python, "pyasm lower", &rep) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let paths = c.inputs();
    if let Err(p) = check_distinct(&paths) {
        return rep.problem(&p);
    }
    let mut files = SourceFiles::new();
    let mut ids = Vec::new();
    for p in &paths {
        match read_source(&mut files, p, &rep) {
            Ok(id) => ids.push(id),
            Err(code) => return code,
        }
    }
    let opts = crate::Options { version: python, ..Default::default() };
    if c.listing {
        // The listing is the assembled program's: once the file is known to be portable,
        // assembling lowers it (and reports its warnings, as `check` would).
        let table = match crate::portable_version(&mut files, &ids, &opts) {
            Ok(t) => t,
            Err(diags) => {
                rep.diagnostics(&files, &diags);
                return Status::ERRORS;
            }
        };
        let mut files = SourceFiles::new();
        return match assemble_module(&mut files, &paths, Settings { python: Some(table.version), listing: true }, &rep) {
            Ok(built) => show(&built.out.listing.unwrap_or_default(), &rep),
            Err(code) => code,
        };
    }
    match crate::lower_files(&mut files, &ids, &opts) {
        Ok((text, table)) => {
            rep.verbose(&format!("lowered for Python {}", table.version));
            show(&text, &rep)
        }
        Err(diags) => {
            rep.diagnostics(&files, &diags);
            Status::ERRORS
        }
    }
}

fn show(text: &str, rep: &Reporter) -> Status {
    match write_stdout(text.as_bytes()) {
        Ok(()) => Status::OK,
        Err(p) => rep.problem(&p),
    }
}
