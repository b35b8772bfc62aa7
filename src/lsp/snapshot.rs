//! One module as the editor has it: its files loaded, its facts (diagnostics, resolved
//! program, stacks) and the syntax index of each file. The worker thread builds one per
//! version of the module's documents (see `analysis`); both the diagnostics and the requests
//! read it, and an edit drops it. While it is under way, requests may read one made from the
//! parse alone (`Snapshot::parsed`: no program, no stacks).

use super::index::{self, FileIndex, Key, Occurrence};
use super::text::{Encoding, LineIndex};
use super::workspace::Workspace;
use crate::diagnostics::SourceFiles;
use crate::opcodes::VersionTable;
use crate::resolve::ResolvedCode;
use crate::syntax::ast::{Line, Span};
use std::cell::OnceCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub struct Snapshot {
    /// The module's files, in the order they were assembled, and their ids in `files`.
    pub module: Vec<PathBuf>,
    pub inputs: Vec<u32>,
    /// The version of each open document it was built from.
    pub versions: HashMap<PathBuf, i32>,
    /// What the client's columns count.
    pub encoding: Encoding,
    pub files: SourceFiles,
    /// What the stages found, the diagnostics among it.
    pub facts: crate::ModuleFacts,
    /// Every real file of the module (its own and the included ones), indexed.
    pub index: Vec<FileIndex>,
    /// Each file's line starts, made when first asked for (a large file's take a while).
    line_starts: Vec<OnceCell<Vec<usize>>>,
    /// Whether the whole pipeline ran (else only the parse: see `parsed`).
    pub analysed: bool,
}

/// Whether the lines have a `.python` directive.
fn names_version(lines: &[Line]) -> bool {
    use crate::syntax::ast::Statement;
    lines.iter().filter_map(|l| l.statement.as_ref()).any(|s| matches!(&s.node, Statement::Directive(d) if d.name.node == "python"))
}

impl Snapshot {
    /// The module's analysis: every stage run.
    pub fn build(ws: &Workspace, module: &[PathBuf], opts: &crate::Options, encoding: Encoding) -> Snapshot {
        let versions = ws.docs.iter().map(|(p, d)| (p.clone(), d.version)).collect();
        let (mut files, inputs) = ws.load(module);
        // The index parses the module's files once more, on another thread while the stages
        // run (a large file's parse is a fifth of the time); included files come after.
        let texts: Vec<(u32, String)> = inputs.iter().map(|&f| (f, files.text(f).to_string())).collect();
        let (facts, mut parsed) = std::thread::scope(|s| {
            let parser = s.spawn(|| texts.iter().map(|(f, t)| (*f, crate::syntax::parse(*f, t).0)).collect::<HashMap<u32, Vec<Line>>>());
            let facts = crate::module_facts(&mut files, &inputs, opts);
            (facts, parser.join().unwrap_or_default())
        });
        let real: Vec<u32> = files
            .names()
            .enumerate()
            .map(|(i, _)| i as u32)
            .filter(|&f| facts.expansions.real_file(f) == f)
            .collect();
        let texts: Vec<&str> = real.iter().map(|&f| files.text(f)).collect();
        let macros = index::macro_names(&texts);
        let mut seen = std::collections::HashSet::new();
        let index = real
            .iter()
            .map(|&f| (f, super::workspace::normalize(Path::new(files.name(f)))))
            .filter(|(_, p)| seen.insert(p.clone()))
            .map(|(f, p)| match parsed.remove(&f) {
                Some(lines) => index::index_lines(f, p, files.text(f), lines, facts.version, &macros),
                None => index::index_file(f, p, files.text(f), facts.version, &macros),
            })
            .collect();
        let line_starts = files.names().map(|_| OnceCell::new()).collect();
        Snapshot { module: module.to_vec(), inputs, versions, encoding, files, facts, index, line_starts, analysed: true }
    }

    /// The module as far as the parse of its files (and the ones they include) tells: the
    /// version and the index, no program. What requests read while the analysis of a large
    /// module runs, so it is made with one parse of each file and nothing more.
    pub fn parsed(ws: &Workspace, module: &[PathBuf], opts: &crate::Options, encoding: Encoding) -> Snapshot {
        let versions = ws.docs.iter().map(|(p, d)| (p.clone(), d.version)).collect();
        let mut files = SourceFiles::new();
        let mut paths: Vec<PathBuf> = module.to_vec();
        let mut ids = Vec::new();
        while let Some(path) = paths.get(ids.len()).cloned() {
            let text = ws.text(&path).unwrap_or_default();
            for p in ws.includes(&text, &path) {
                if !paths.contains(&p) {
                    paths.push(p);
                }
            }
            ids.push(files.add(path.display().to_string(), text));
        }
        let mut lines: Vec<Vec<Line>> = ids.iter().map(|&f| crate::syntax::parse(f, files.text(f)).0).collect();
        let inputs: Vec<u32> = ids[..module.len()].to_vec();
        // (Assembling takes it from the module's first file that names one.)
        let named = lines[..module.len()].iter().position(|ls| names_version(ls)).unwrap_or(0);
        let version = lines.get(named).and_then(|ls| crate::named_version(ls, &files, opts));
        let texts: Vec<&str> = ids.iter().map(|&f| files.text(f)).collect();
        let macros = index::macro_names(&texts);
        let index = ids.iter().zip(&paths).zip(lines.iter_mut()).map(|((&f, p), ls)| index::index_lines(f, p.clone(), files.text(f), std::mem::take(ls), version, &macros)).collect();
        let facts = crate::ModuleFacts { version, program: None, verified: Vec::new(), layouts: Vec::new(), expansions: Default::default(), diagnostics: Vec::new() };
        let line_starts = files.names().map(|_| OnceCell::new()).collect();
        Snapshot { module: module.to_vec(), inputs, versions, encoding, files, facts, index, line_starts, analysed: false }
    }

    /// Whether every open document among its files still has the text it was made from.
    pub fn current_in(&self, ws: &Workspace) -> bool {
        self.index.iter().all(|f| ws.docs.get(&f.path).is_none_or(|d| d.text == self.files.text(f.file)))
            && ws.docs.keys().filter(|p| self.covers(p)).all(|p| self.versions.contains_key(p))
    }

    /// Positions in file `file` of the module.
    pub fn lines(&self, file: u32) -> LineIndex<'_> {
        let text = self.files.text(file);
        match self.line_starts.get(file as usize) {
            Some(cell) => LineIndex::with_starts(text, cell.get_or_init(|| super::text::line_starts(text)), self.encoding),
            None => LineIndex::new(text, self.encoding),
        }
    }

    /// Whether an edit of `path` may change what this snapshot says: a file of it, or a file
    /// in the folder of one (which may join the module).
    pub fn covers(&self, path: &Path) -> bool {
        let paths = self.module.iter().chain(self.index.iter().map(|f| &f.path));
        paths.into_iter().any(|p| p == path || p.parent() == path.parent())
    }

    pub fn file(&self, path: &Path) -> Option<&FileIndex> {
        self.index.iter().find(|f| f.path == path)
    }

    pub fn version(&self) -> Option<&'static VersionTable> {
        self.facts.version
    }

    /// Every occurrence of a key in the module.
    pub fn occurrences<'a>(&'a self, key: &'a Key) -> impl Iterator<Item = (&'a FileIndex, &'a Occurrence)> + 'a {
        self.index.iter().flat_map(move |f| f.occurrences.iter().filter(move |o| o.key == *key).map(move |o| (f, o)))
    }

    /// The resolved code object whose header is at `header` (a scope's header span).
    pub fn code_at(&self, header: Span) -> Option<(usize, &ResolvedCode)> {
        let p = self.facts.program.as_ref()?;
        p.codes.iter().enumerate().find(|(_, c)| c.header_span.file == header.file && c.header_span.start == header.start)
    }

    /// The code object and instruction whose text holds `offset` of `file`.
    pub fn instr_at(&self, file: u32, offset: u32) -> Option<(usize, usize)> {
        let p = self.facts.program.as_ref()?;
        for (c, code) in p.codes.iter().enumerate() {
            // An included body's instructions are in another file than the header.
            if let Some(i) = code.instrs.iter().position(|x| x.span.file == file && x.span.start <= offset && offset <= x.span.end) {
                return Some((c, i));
            }
        }
        None
    }

    /// The instruction written on the line of `offset` of `file` (for a macro use, the last
    /// instruction of its expansion): hovering anywhere on the line, past the operand or at
    /// the inlay hint, is about it.
    pub fn instr_on_line(&self, file: u32, offset: u32) -> Option<(usize, usize)> {
        let p = self.facts.program.as_ref()?;
        let text = self.files.text(file);
        let offset = (offset as usize).min(text.len());
        let start = text[..offset].rfind('\n').map_or(0, |i| i + 1) as u32;
        let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i) as u32;
        let mut found = None;
        for (c, code) in p.codes.iter().enumerate() {
            for (i, x) in code.instrs.iter().enumerate() {
                let span = if x.span.file == file { x.span } else { self.facts.expansions.use_site(x.span.file).unwrap_or(x.span) };
                if span.file == file && start <= span.start && span.start <= end {
                    found = Some((c, i));
                }
            }
            if found.is_some() {
                return found;
            }
        }
        None
    }
}
