//! The requests: hover, inlay hints, completion, definition, references, rename, document
//! and workspace symbols, folding and formatting, one file each; each reads a module `Snapshot`. Here: what
//! they share (the document and offset a request is about, locations, hover text).

mod complete;
mod format;
mod hints;
mod hover;
mod navigate;
mod outline;

pub use complete::completion;
pub use format::formatting;
pub use hints::inlay_hints;
pub use hover::hover;
pub use navigate::{definition, prepare_rename, references, rename};
pub use outline::{document_symbols, folding, workspace_symbols};

// What the request files share (they `use super::*`).
use super::index::{FileIndex, Key, Occurrence, arg_kind};
use super::snapshot::Snapshot;
use super::text::LineIndex;
use super::{Ctx, Failure};
use crate::opcodes::{ArgKind, VersionTable};
use crate::resolve::Arg;
use crate::resolve::constants::PoolConst;
use crate::syntax::ast::Span;
use crate::verify::typed::query::SlotOrigin;
use lsp_types as lsp;
use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

struct At {
    snap: Rc<Snapshot>,
    file: usize,
    offset: u32,
}

impl At {
    fn index(&self) -> &FileIndex {
        &self.snap.index[self.file]
    }
    fn text(&self) -> &str {
        self.snap.files.text(self.index().file)
    }
}

fn at(cx: &mut Ctx, p: &lsp::TextDocumentPositionParams) -> Option<At> {
    let (snap, path) = cx.snapshot(&p.text_document.uri)?;
    let file = snap.index.iter().position(|f| f.path == path)?;
    let offset = snap.lines(snap.index[file].file).offset(p.position) as u32;
    Some(At { snap, file, offset })
}

fn location(snap: &Snapshot, file: &FileIndex, span: Span) -> Option<lsp::Location> {
    let uri = lsp::Url::from_file_path(&file.path).ok()?;
    Some(lsp::Location { uri, range: snap.lines(file.file).range(span.start as usize, span.end as usize) })
}

fn where_defined(snap: &Snapshot, key: &Key) -> Option<String> {
    let (f, o) = snap.occurrences(key).find(|(_, o)| o.is_def)?;
    let (name, (line, col), _) = snap.files.locate(o.span);
    let name = Path::new(name).file_name().map_or(f.path.display().to_string(), |n| n.to_string_lossy().into_owned());
    Some(format!("defined at {name}:{line}:{col}"))
}

fn markdown(value: String) -> lsp::Hover {
    lsp::Hover { contents: lsp::HoverContents::Markup(lsp::MarkupContent { kind: lsp::MarkupKind::Markdown, value }), range: None }
}

