//! The work behind each `_pyasm` function, done without the GIL, and its results as plain
//! data that converts into Python dicts, lists, strings and bytes.

use crate::diagnostics::{Diagnostic, Severity, SourceFiles};
use crate::emit::pyc::PycHeader;
use crate::opcodes::VersionTable;
use crate::version::PythonVersion;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::borrow::Cow;

/// One span: file name, 1-based line and column (characters); the end is just past the last
/// character (as in `--message-format json`).
#[derive(IntoPyObject)]
pub struct Place {
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
}

#[derive(IntoPyObject)]
pub struct LabelData {
    primary: bool,
    message: String,
    place: Place,
}

#[derive(IntoPyObject)]
pub struct SuggestionData {
    replacement: String,
    place: Place,
}

/// A diagnostic with its primary place (`None` when it points nowhere) and its rendering.
#[derive(IntoPyObject)]
pub struct DiagnosticData {
    severity: &'static str,
    code: &'static str,
    message: String,
    place: Option<Place>,
    labels: Vec<LabelData>,
    notes: Vec<String>,
    help: Vec<String>,
    suggestions: Vec<SuggestionData>,
    rendered: String,
}

/// The outcome of assembling: the pyc when there were no errors, and every diagnostic
/// (errors, else warnings) with all of them rendered as the command line prints them.
#[derive(IntoPyObject)]
pub struct Assembled {
    #[pyo3(into_py_with = bytes_or_none)]
    pyc: Option<Vec<u8>>,
    /// Where the marshalled code starts in `pyc`.
    header_len: usize,
    version: Option<String>,
    listing: Option<String>,
    diagnostics: Vec<DiagnosticData>,
    rendered: String,
}

/// The outcome of disassembling: the text, or why the input could not be read (and at which
/// byte, when it is the input's fault).
#[derive(IntoPyObject)]
pub struct Disassembled {
    text: Option<String>,
    version: Option<String>,
    /// Fields the text does not reproduce (`code path: field`).
    mismatches: Vec<String>,
    error: Option<String>,
    offset: Option<usize>,
}

fn bytes_or_none<'py>(b: Cow<'_, Option<Vec<u8>>>, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
    Ok(match b.as_ref() {
        Some(b) => PyBytes::new(py, b).into_any(),
        None => py.None().into_bound(py),
    })
}

pub fn table(v: PythonVersion) -> PyResult<&'static VersionTable> {
    crate::opcodes::table_for(v).ok_or_else(|| {
        let supported: Vec<String> = crate::version::supported().map(|v| v.to_string()).collect();
        PyValueError::new_err(format!("Python {v} is not supported (supported: {})", supported.join(", ")))
    })
}

fn place(files: &SourceFiles, span: crate::syntax::ast::Span) -> Place {
    let (file, (line, column), (end_line, end_column)) = files.locate(span);
    Place { file: file.to_string(), line, column, end_line, end_column }
}

fn diagnostic(files: &SourceFiles, d: &Diagnostic) -> DiagnosticData {
    let (notes, help) = d.notes_and_help();
    DiagnosticData {
        severity: match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        },
        code: d.code,
        message: d.message.clone(),
        place: d.labels.iter().find(|l| l.primary).or(d.labels.first()).map(|l| place(files, l.span)),
        labels: d.labels.iter().map(|l| LabelData { primary: l.primary, message: l.message.clone(), place: place(files, l.span) }).collect(),
        notes: notes.into_iter().map(String::from).collect(),
        help: help.into_iter().map(String::from).collect(),
        suggestions: d.suggestions.iter().map(|s| SuggestionData { replacement: s.replacement.clone(), place: place(files, s.span) }).collect(),
        rendered: files.render(std::slice::from_ref(d), false),
    }
}

pub fn assemble(sources: Vec<(String, Vec<u8>)>, opts: &crate::Options, mtime: u32) -> Assembled {
    let mut files = SourceFiles::new();
    let mut ids = Vec::new();
    let mut not_text = Vec::new();
    let mut size = 0usize;
    for (name, bytes) in sources {
        size += bytes.len();
        let (id, problem) = files.add_bytes(name, bytes);
        ids.push(id);
        not_text.extend(problem);
    }
    let result = if not_text.is_empty() { crate::assemble_files(&mut files, &ids, opts) } else { Err(not_text) };
    let (pyc, version, listing, diags) = match result {
        Ok(out) => {
            let header = PycHeader::Timestamp { mtime, source_size: size as u32 };
            (Some((out.to_pyc(&header), out.version)), Some(out.version.version.to_string()), out.listing, out.warnings)
        }
        Err(diags) => (None, None, None, diags),
    };
    Assembled {
        header_len: pyc.as_ref().map_or(0, |(_, t)| t.pyc_header_len as usize),
        pyc: pyc.map(|(bytes, _)| bytes),
        version,
        listing,
        diagnostics: diags.iter().map(|d| diagnostic(&files, d)).collect(),
        rendered: files.render(&diags, false),
    }
}

pub fn disassemble(data: &[u8], python: PythonVersion) -> Disassembled {
    let failed = |error: String, offset: Option<usize>| Disassembled { text: None, version: None, mismatches: Vec::new(), error: Some(error), offset };
    let loaded = if data.get(2..4) == Some(b"\r\n") {
        crate::load::load_pyc(data).map(|pyc| {
            let table = pyc.table();
            (pyc.code, table)
        })
    } else {
        let Some(table) = crate::opcodes::table_for(python) else {
            return failed(format!("Python {python} is not supported"), None);
        };
        let Some(layout) = crate::load::CodeLayout::for_version(python) else {
            return failed(format!("pyasm cannot read Python {python} code objects"), None);
        };
        crate::load::marshal::load_code_layout(data, layout).map(|(code, _)| (code, table))
    };
    let (code, table) = match loaded {
        Ok(x) => x,
        Err(e) => return failed(e.message, Some(e.offset)),
    };
    match crate::dis::disassemble(&code, table) {
        Ok(d) => Disassembled { text: Some(d.text), version: Some(table.version.to_string()), mismatches: d.mismatches, error: None, offset: None },
        Err(e) => failed(e, None),
    }
}

pub fn code_ids(source: &str) -> Vec<String> {
    let (lines, _) = crate::syntax::parse(0, source);
    lines
        .iter()
        .filter_map(|l| match l.statement.as_ref().map(|s| &s.node) {
            Some(crate::syntax::ast::Statement::Code(h)) => Some(h.id.node.text()),
            _ => None,
        })
        .collect()
}
