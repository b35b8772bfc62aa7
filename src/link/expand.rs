//! `.include "path"` and macros.
//!
//! Include: the included file's lines take the place of the directive (a file is read once
//! per module: a second `.include` of it, or of one of the module's own files, adds nothing,
//! so shared declarations can be included by every file that needs them — except inside a
//! code body, where dropping it would drop instructions: an error there). Its spans keep
//! pointing into that file; lines included into a code body take the `.include` line's
//! number. A missing file and an include cycle are errors at the directive.
//!
//! Macros: `.macro NAME(p, q)` … `.endmacro` defines, an instruction line `NAME a, b` uses.
//! Definitions belong to the whole module (any file, any order). A use is replaced by the
//! body with each parameter, written as a whole operand (or inside a tuple), or after `@`,
//! replaced by the argument; labels defined in the body are renamed for each expansion, in
//! the operands that take labels (jumps, `.try`/`.exception`, macro arguments), so that two
//! uses do not define the same label. An expansion's lines point into the macro body: each expansion
//! gets its own copy of the defining file in `SourceFiles` (same name, same line numbers,
//! the text before the macro reduced to its newlines), so that a diagnostic in the body can
//! name the use it was expanded from (`Expansions::add_use_labels`, which then points the
//! diagnostic back into the real file).

use crate::diagnostics::{Diagnostic, Label, SourceFiles, codes, did_you_mean, nearest};
use crate::syntax::ast::{Line, Recovered, Span, Spanned, Statement, Value};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// How deep includes may nest.
pub const MAX_INCLUDE_DEPTH: usize = 32;
/// How deep macro uses may nest (a macro whose body uses a macro, …).
pub const MAX_MACRO_DEPTH: usize = 32;
/// At most this many lines come out of macro expansion in one module.
pub const MAX_EXPANDED_LINES: usize = 200_000;
/// Bytes of per-expansion file copies kept for diagnostics; past this, later expansions point
/// into the defining file itself (still the right text, without the "in this use" label).
const COPY_BUDGET: usize = 16 << 20;

pub struct MacroDef {
    pub name: Spanned<String>,
    pub params: Vec<Spanned<String>>,
    /// The `.macro` line.
    pub header: Span,
    pub body: Vec<Line>,
    /// Labels defined in the body (renamed per expansion).
    pub labels: HashSet<String>,
    /// Byte range of the definition in its file, from the start of the `.macro` line.
    pub text: std::ops::Range<usize>,
    /// The header was wrong (and reported): the body is read up to `.endmacro`, and dropped.
    pub broken: bool,
}

/// Where each per-expansion file copy came from.
#[derive(Default)]
pub struct Expansions {
    origins: HashMap<u32, Origin>,
}

struct Origin {
    /// The file the macro is defined in.
    file: u32,
    /// A position in the copy plus this is the same position in `file`.
    delta: u32,
    /// The use (the instruction line naming the macro).
    use_span: Span,
    name: String,
}

impl Expansions {
    /// The source file a (possibly copied) file id stands for.
    pub fn real_file(&self, mut file: u32) -> u32 {
        for _ in 0..=MAX_MACRO_DEPTH {
            match self.origins.get(&file) {
                Some(o) => file = o.file,
                None => break,
            }
        }
        file
    }

    /// Where the expansion that made the copy `file` was used, in a real file (the outermost
    /// use when macros use macros); `None` for a real file.
    pub fn use_site(&self, file: u32) -> Option<Span> {
        let mut site = self.origins.get(&file)?.use_span;
        for _ in 0..=MAX_MACRO_DEPTH {
            match self.origins.get(&site.file) {
                Some(o) => site = o.use_span,
                None => break,
            }
        }
        Some(site)
    }

    /// The same text in the file the copy was made from.
    pub fn real_span(&self, mut span: Span) -> Span {
        for _ in 0..=MAX_MACRO_DEPTH {
            match self.origins.get(&span.file) {
                Some(o) => span = Span { file: o.file, start: span.start + o.delta, end: span.end + o.delta },
                None => break,
            }
        }
        span
    }

    /// `text` with the labels renamed per expansion (`keep@m.3`) written as in the macro
    /// body (`keep`), as a message about them should name them.
    pub fn written_labels(&self, text: &str) -> String {
        let mut out = text.to_string();
        let mut names: Vec<&str> = self.origins.values().map(|o| o.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            let marker = format!("@{name}.");
            let mut from = 0;
            while let Some(found) = out[from..].find(&marker) {
                let at = from + found;
                let digits = out[at + marker.len()..].bytes().take_while(u8::is_ascii_digit).count();
                if digits == 0 {
                    from = at + marker.len();
                } else {
                    out.replace_range(at..at + marker.len() + digits, "");
                    from = at;
                }
            }
        }
        out
    }

    /// For each label inside an expansion, adds "in this use of macro NAME" at the use, and
    /// again for the use when it is itself inside an expansion. Then points every label into
    /// the real files (same name, line and text, so the rendering is the same; byte offsets,
    /// as `--message-format json` gives them, are those of the real file), and suggestions too.
    pub fn add_use_labels(&self, d: &mut Diagnostic) {
        let mut extra: Vec<Label> = Vec::new();
        for l in &d.labels {
            let mut file = l.span.file;
            for _ in 0..=MAX_MACRO_DEPTH {
                let Some(o) = self.origins.get(&file) else { break };
                if !d.labels.iter().chain(&extra).any(|x| x.span == o.use_span) {
                    extra.push(Label { span: o.use_span, message: format!("in this use of macro `{}`", o.name), primary: false });
                }
                file = o.use_span.file;
            }
        }
        d.labels.extend(extra);
        for l in &mut d.labels {
            l.span = self.real_span(l.span);
        }
        // A fix inside an expansion is a fix of the macro's text.
        for s in &mut d.suggestions {
            s.span = self.real_span(s.span);
        }
    }
}

/// The lines of a module's files with includes spliced in and macro definitions taken out.
pub struct Gathered {
    pub lines: Vec<Line>,
    pub macros: HashMap<String, MacroDef>,
    /// Definition order, for deterministic reports.
    macro_order: Vec<String>,
    /// Macros whose header was wrong (and reported): their uses are dropped, not reported
    /// again as unknown instructions.
    broken: HashSet<String>,
    pub expansions: Expansions,
}

struct Includer<'a> {
    files: &'a mut SourceFiles,
    diags: &'a mut Vec<Diagnostic>,
    /// Files read so far (canonical paths), with the `.include` that first read each (none
    /// for the module's own files).
    seen: HashMap<PathBuf, Option<Span>>,
    /// Whether the lines gathered so far end inside a code object's body (after a `.code`
    /// and before its `.end`): an include there contributes instructions.
    in_code: bool,
    /// The chain of files being read: each file and the directive that included it (none
    /// for the module's own files).
    stack: Vec<(PathBuf, Option<Span>)>,
    out: Gathered,
}

/// Parses the module's files in order, splicing in includes and collecting macros.
pub fn gather(files: &mut SourceFiles, inputs: &[u32], diags: &mut Vec<Diagnostic>) -> Gathered {
    let mut seen = HashMap::new();
    for &f in inputs {
        seen.insert(canonical(Path::new(files.name(f))), None);
    }
    let out = Gathered { lines: Vec::new(), macros: HashMap::new(), macro_order: Vec::new(), broken: HashSet::new(), expansions: Expansions::default() };
    let mut inc = Includer { files, diags, seen, in_code: false, stack: Vec::new(), out };
    for &f in inputs {
        inc.stack.push((canonical(Path::new(inc.files.name(f))), None));
        inc.read(f);
        inc.stack.pop();
    }
    inc.out
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

fn directive_of(line: &Line) -> Option<(&crate::syntax::ast::Directive, Span)> {
    match &line.statement {
        Some(Spanned { node: Statement::Directive(d), span }) => Some((d, *span)),
        _ => None,
    }
}

impl Includer<'_> {
    fn read(&mut self, file: u32) {
        let (lines, mut d) = crate::syntax::parse(file, self.files.text(file));
        self.diags.append(&mut d);
        let links = |l: &Line| directive_of(l).is_some_and(|(d, _)| matches!(d.name.node.as_str(), "macro" | "endmacro" | "include"));
        if !lines.iter().any(links) {
            self.take_plain(lines);
            return;
        }
        let text = self.files.text(file).to_string();
        let mut open: Option<MacroDef> = None;
        for line in lines {
            let directive = directive_of(&line).map(|(d, s)| (d.name.node.clone(), s));
            let name = directive.as_ref().map(|(n, s)| (n.as_str(), *s));
            match (name, open.is_some()) {
                (Some(("macro", span)), true) => self.diags.push(
                    Diagnostic::error(codes::MACRO, "a macro cannot be defined inside another")
                        .with_primary(span, "")
                        .with_secondary(open.as_ref().map_or(span, |m| m.header), "this macro has no `.endmacro` before it")
                        .with_help("end the first macro with `.endmacro`"),
                ),
                (Some(("macro", span)), false) => open = self.macro_header(&line, span, &text),
                (Some(("endmacro", span)), true) => {
                    if let Some(mut m) = open.take() {
                        m.text.end = line_end(&text, span.end as usize);
                        if !m.broken {
                            self.define(m);
                        } else if !m.name.node.is_empty() {
                            self.out.broken.insert(m.name.node);
                        }
                    }
                }
                (Some(("endmacro", span)), false) => self.diags.push(
                    Diagnostic::error(codes::MACRO, "`.endmacro` without a `.macro`").with_primary(span, ""),
                ),
                (_, true) => {
                    let Some(m) = open.as_mut() else { continue };
                    if let Some(stmt) = &line.statement {
                        let bad = match &stmt.node {
                            Statement::Code(_) => Some("`.code`"),
                            Statement::Directive(d) if ["end", "include", "module", "python"].contains(&d.name.node.as_str()) => {
                                Some(match d.name.node.as_str() {
                                    "end" => "`.end`",
                                    "include" => "`.include`",
                                    "module" => "`.module`",
                                    _ => "`.python`",
                                })
                            }
                            _ => None,
                        };
                        if let Some(what) = bad {
                            self.diags.push(
                                Diagnostic::error(codes::MACRO, format!("{what} cannot be part of a macro"))
                                    .with_primary(stmt.span, "")
                                    .with_secondary(m.header, "in this macro")
                                    .with_help("a macro holds instructions, labels and directives of a code object's body"),
                            );
                            continue;
                        }
                    }
                    let mut line = line;
                    if let Some(l) = &line.label {
                        if !m.labels.insert(l.node.clone()) {
                            // Reported once, here, and dropped: every expansion would
                            // otherwise report it again under its renamed label.
                            let first = m.body.iter().filter_map(|b| b.label.as_ref()).find(|b| b.node == l.node).map_or(l.span, |b| b.span);
                            self.diags.push(
                                Diagnostic::error(codes::DUPLICATE_LABEL, format!("label `{}` is defined twice in macro `{}`", l.node, m.name.node))
                                    .with_primary(l.span, "defined again here")
                                    .with_secondary(first, "first defined here"),
                            );
                            line.label = None;
                        }
                    }
                    m.body.push(line);
                }
                (Some(("include", span)), false) => {
                    if let Some((d, _)) = directive_of(&line) {
                        self.include(file, d, span, line.line_no);
                    }
                }
                _ => {
                    match &line.statement {
                        Some(Spanned { node: Statement::Code(_), .. }) => self.in_code = true,
                        Some(Spanned { node: Statement::Directive(d), .. }) if d.name.node == "end" => self.in_code = false,
                        _ => {}
                    }
                    self.out.lines.push(line)
                }
            }
        }
        if let Some(m) = open.filter(|m| !m.broken) {
            self.diags.push(
                Diagnostic::error(codes::MACRO, format!("macro `{}` has no `.endmacro`", m.name.node))
                    .with_primary(m.header, "opened here")
                    .with_help("end the macro's body with `.endmacro` (in the same file)"),
            );
        }
    }

    /// The lines of a file without macros or includes, which all go to the output as they are
    /// (the common case: a large file's lines are moved, not copied one by one).
    fn take_plain(&mut self, mut lines: Vec<Line>) {
        for line in &lines {
            match &line.statement {
                Some(Spanned { node: Statement::Code(_), .. }) => self.in_code = true,
                Some(Spanned { node: Statement::Directive(d), .. }) if d.name.node == "end" => self.in_code = false,
                _ => {}
            }
        }
        if self.out.lines.is_empty() {
            self.out.lines = lines;
        } else {
            self.out.lines.append(&mut lines);
        }
    }

    /// A macro's header. When it is wrong, the reported macro is still opened (as broken),
    /// so that its body does not spill into the code around it.
    fn macro_header(&mut self, line: &Line, span: Span, text: &str) -> Option<MacroDef> {
        let start = text[..span.start as usize].rfind('\n').map_or(0, |i| i + 1);
        let mut def = self.parse_macro_header(line, span).unwrap_or_else(|name| MacroDef {
            name: Spanned::new(name.unwrap_or_default(), span),
            params: Vec::new(),
            header: span,
            body: Vec::new(),
            labels: HashSet::new(),
            text: 0..0,
            broken: true,
        });
        def.text = start..text.len();
        Some(def)
    }

    /// The definition, or (after reporting the mistake) the macro's name when there is one
    /// whose uses should not be reported again.
    fn parse_macro_header(&mut self, line: &Line, span: Span) -> Result<MacroDef, Option<String>> {
        let Some((d, _)) = directive_of(line) else { return Err(None) };
        let bad = |diags: &mut Vec<Diagnostic>, name: Option<&str>| {
            diags.push(
                Diagnostic::error(codes::MACRO, "`.macro` takes a name and, in parentheses, its parameters")
                    .with_primary(span, "")
                    .with_help("write `.macro NAME` or `.macro NAME(a, b)`"),
            );
            Err(name.map(str::to_string))
        };
        let (name, params) = match d.args.as_slice() {
            [Spanned { node: Value::Word(w), span }] => (Spanned::new(w.clone(), *span), Vec::new()),
            [Spanned { node: Value::Call(n, args), .. }] => {
                let mut params: Vec<Spanned<String>> = Vec::new();
                for a in args {
                    match &a.node {
                        Value::Word(w) => {
                            if let Some(prev) = params.iter().find(|p| p.node == *w) {
                                self.diags.push(
                                    Diagnostic::error(codes::MACRO, format!("parameter `{w}` is named twice"))
                                        .with_primary(a.span, "")
                                        .with_secondary(prev.span, "first here"),
                                );
                                return Err(Some(n.node.clone()));
                            }
                            params.push(Spanned::new(w.clone(), a.span))
                        }
                        _ => return bad(self.diags, Some(&n.node)),
                    }
                }
                (n.clone(), params)
            }
            _ => return bad(self.diags, None),
        };
        // Instruction names are case-sensitive (`nop` is not `NOP`): only an exact match
        // would make a use ambiguous.
        if is_instruction(&name.node) {
            self.diags.push(
                Diagnostic::error(codes::MACRO, format!("macro `{}` has the name of an instruction", name.node))
                    .with_primary(name.span, "")
                    .with_help("give the macro a name no Python version uses for an instruction, e.g. in lower case"),
            );
            // Its uses are the instruction's: nothing to suppress.
            return Err(None);
        }
        Ok(MacroDef { name, params, header: span, body: Vec::new(), labels: HashSet::new(), text: 0..0, broken: false })
    }

    fn define(&mut self, m: MacroDef) {
        if let Some(prev) = self.out.macros.get(&m.name.node) {
            self.diags.push(
                Diagnostic::error(codes::MACRO, format!("macro `{}` is defined twice", m.name.node))
                    .with_primary(m.name.span, "defined again here")
                    .with_secondary(prev.name.span, "first defined here"),
            );
            return;
        }
        self.out.macro_order.push(m.name.node.clone());
        self.out.macros.insert(m.name.node.clone(), m);
    }

    fn include(&mut self, from: u32, d: &crate::syntax::ast::Directive, span: Span, line_no: u32) {
        let rel = match d.args.as_slice() {
            [Spanned { node: Value::Str(s), .. }] => s.to_lossy(),
            _ => {
                self.diags.push(
                    Diagnostic::error(codes::INCLUDE, "`.include` takes a file name in quotes")
                        .with_primary(span, "")
                        .with_help("write `.include \"common.pyasm\"` (relative to this file)"),
                );
                return;
            }
        };
        let base = Path::new(self.files.name(from)).parent().map(Path::to_path_buf).unwrap_or_default();
        let path = base.join(&rel);
        let key = canonical(&path);
        if let Some(pos) = self.stack.iter().position(|(p, _)| *p == key) {
            let mut e = Diagnostic::error(codes::INCLUDE_CYCLE, format!("`{}` includes itself", path.display()))
                .with_primary(span, "this includes a file that is still being read");
            for (_, s) in &self.stack[pos..] {
                if let Some(s) = s {
                    e = e.with_secondary(*s, "which is included here");
                }
            }
            self.diags.push(e.with_help("include shared declarations from one file that includes nothing back"));
            return;
        }
        if let Some(first) = self.seen.get(&key) {
            // Once per module: declarations (macros, `.python`, code objects) included again
            // add nothing. Inside a code body an include contributes instructions and labels,
            // which a silent skip would drop and a second copy would define twice: an error.
            if self.in_code {
                let mut e = Diagnostic::error(codes::INCLUDE, format!("`{}` is included again inside a code object", path.display()))
                    .with_primary(span, "included again here");
                e = match first {
                    Some(f) => e.with_secondary(*f, "first included here"),
                    None => e.with_note(format!("`{}` is one of the module's own files", path.display())),
                };
                self.diags.push(e.with_help("a file is read once per module: put the shared lines in a macro and use it in each place"));
            }
            return;
        }
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            self.diags.push(
                Diagnostic::error(codes::INCLUDE, format!("includes nest more than {MAX_INCLUDE_DEPTH} deep")).with_primary(span, ""),
            );
            return;
        }
        let bytes = match self.files.read_path(&path, &key) {
            Ok(b) => b,
            Err(e) => {
                let why = match e.kind() {
                    std::io::ErrorKind::NotFound => "there is no such file".to_string(),
                    std::io::ErrorKind::IsADirectory => "it is a folder".to_string(),
                    _ => e.to_string(),
                };
                let mut diag = Diagnostic::error(codes::INCLUDE, format!("cannot read `{}`: {why}", path.display()))
                    .with_primary(span, "included here")
                    .with_note("an include path is relative to the including file's folder");
                // `main.pyasm` including `x.pyasm` looks in `` (the current folder): read as `.`.
                let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
                let siblings: Vec<String> = std::fs::read_dir(folder)
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".pyasm"))
                    .collect();
                let wanted = Path::new(&rel).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let near = nearest(&wanted, siblings.iter().map(|s| s.as_str()));
                if let Some(hint) = did_you_mean(&near, str::to_string) {
                    diag = diag.with_help(hint);
                }
                self.diags.push(diag);
                return;
            }
        };
        let Ok(text) = String::from_utf8(bytes) else {
            self.diags.push(
                Diagnostic::error(codes::INCLUDE, format!("`{}` is not UTF-8 text", path.display())).with_primary(span, "included here"),
            );
            return;
        };
        self.seen.insert(key.clone(), Some(span));
        let id = self.files.add(path.display().to_string(), text);
        let (first_line, in_code) = (self.out.lines.len(), self.in_code);
        self.stack.push((key, Some(span)));
        self.read(id);
        self.stack.pop();
        if in_code {
            // The lines become part of a code object whose co_filename is the including
            // file: they take the `.include` line's number (as a macro's lines take the use's),
            // so that a traceback points at a line of that file.
            for l in &mut self.out.lines[first_line..] {
                l.line_no = line_no;
            }
        }
    }
}

/// Whether some supported version has an instruction (or pseudo-instruction) of this name.
fn is_instruction(name: &str) -> bool {
    crate::opcodes::TABLES.iter().any(|t| t.by_name(name).is_some() || t.pseudo_jump(name).is_some())
}

/// Whether an instruction's operand is a label in some supported version (a jump).
/// Checked in every table: the version may be set by `--python` or a `.python` line that
/// the resolver reads later, and an instruction name is a jump wherever it exists.
fn takes_label(opname: &str) -> bool {
    crate::opcodes::TABLES.iter().any(|t| t.pseudo_jump(opname).is_some() || t.by_name(opname).is_some_and(|op| op.is_jump()))
}

/// The end of the line holding byte `at` (after its newline).
fn line_end(text: &str, at: usize) -> usize {
    text[at.min(text.len())..].find('\n').map_or(text.len(), |i| at + i + 1)
}

struct Expander<'a> {
    files: &'a mut SourceFiles,
    diags: &'a mut Vec<Diagnostic>,
    macros: &'a HashMap<String, MacroDef>,
    broken: &'a HashSet<String>,
    expansions: &'a mut Expansions,
    /// The macros being expanded, with their uses.
    stack: Vec<(String, Span)>,
    count: usize,
    lines_out: usize,
    copied: usize,
    used: HashSet<String>,
    over_limit: bool,
}

/// Replaces every macro use by the macro's body.
pub fn expand_macros(files: &mut SourceFiles, g: &mut Gathered, diags: &mut Vec<Diagnostic>) -> Vec<Line> {
    let lines = std::mem::take(&mut g.lines);
    if g.macros.is_empty() && g.broken.is_empty() {
        return lines;
    }
    let mut ex = Expander {
        files,
        diags,
        macros: &g.macros,
        broken: &g.broken,
        expansions: &mut g.expansions,
        stack: Vec::new(),
        count: 0,
        lines_out: 0,
        copied: 0,
        used: HashSet::new(),
        over_limit: false,
    };
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        ex.line(line, &mut out);
    }
    let used = std::mem::take(&mut ex.used);
    for name in &g.macro_order {
        if !used.contains(name) {
            let m = &g.macros[name];
            diags.push(
                Diagnostic::warning(codes::UNUSED_MACRO, format!("macro `{name}` is never used")).with_primary(m.name.span, "defined here"),
            );
        }
    }
    out
}

impl Expander<'_> {
    fn line(&mut self, line: Line, out: &mut Vec<Line>) {
        let Some(Spanned { node: Statement::Instruction(ins), span }) = &line.statement else {
            out.push(line);
            return;
        };
        if ins.recovered == Recovered::Unexpanded {
            out.push(line);
            return;
        }
        let Some(m) = self.macros.get(&ins.opname.node) else {
            // A use of a macro whose definition was wrong (and reported) is not an
            // "unknown instruction" too.
            if self.broken.contains(&ins.opname.node) {
                out.push(unexpanded(line));
            } else {
                out.push(line);
            }
            return;
        };
        let use_span = *span;
        self.used.insert(m.name.node.clone());
        if self.over_limit {
            out.push(unexpanded(line));
            return;
        }
        if let Some(pos) = self.stack.iter().position(|(n, _)| *n == m.name.node) {
            let mut e = Diagnostic::error(codes::MACRO_RECURSION, format!("macro `{}` uses itself", m.name.node))
                .with_primary(ins.opname.span, "this use would expand forever");
            for (n, s) in &self.stack[pos..] {
                e = e.with_secondary(*s, format!("inside this use of macro `{n}`"));
            }
            self.diags.push(e.with_help("a macro cannot use itself, directly or through other macros"));
            out.push(unexpanded(line));
            return;
        }
        if self.stack.len() >= MAX_MACRO_DEPTH {
            self.diags.push(
                Diagnostic::error(codes::MACRO_RECURSION, format!("macro uses nest more than {MAX_MACRO_DEPTH} deep"))
                    .with_primary(ins.opname.span, ""),
            );
            out.push(unexpanded(line));
            return;
        }
        if ins.operands.len() != m.params.len() && ins.recovered == Recovered::No {
            let want = m.params.len();
            let params: Vec<&str> = m.params.iter().map(|p| p.node.as_str()).collect();
            self.diags.push(
                Diagnostic::error(
                    codes::MACRO_ARITY,
                    format!(
                        "macro `{}` takes {want} argument{}, this use gives {}",
                        m.name.node,
                        if want == 1 { "" } else { "s" },
                        ins.operands.len()
                    ),
                )
                .with_primary(use_span, format!("{} given", ins.operands.len()))
                .with_secondary(m.header, format!("defined with {}", if params.is_empty() { "no parameters".to_string() } else { format!("({})", params.join(", ")) })),
            );
            out.push(unexpanded(line));
            return;
        }
        self.lines_out += m.body.len();
        if self.lines_out > MAX_EXPANDED_LINES {
            self.over_limit = true;
            self.diags.push(
                Diagnostic::error(codes::MACRO_EXPANSION_LIMIT, format!("macro expansion makes more than {MAX_EXPANDED_LINES} lines"))
                    .with_primary(ins.opname.span, "stopped here")
                    .with_help("macros that use macros multiply: use them fewer times, or write a loop in the code instead"),
            );
            out.push(unexpanded(line));
            return;
        }
        self.count += 1;
        let n = self.count;
        // This expansion's copy of the defining file.
        let def_file = m.header.file;
        let text = self.files.text(def_file);
        let prefix = text[..m.text.start].matches('\n').count();
        let size = prefix + m.text.len();
        let (file, delta) = if self.copied + size <= COPY_BUDGET {
            self.copied += size;
            let copy = "\n".repeat(prefix) + &text[m.text.clone()];
            let name = self.files.name(def_file).to_string();
            let id = self.files.add(name, copy);
            let delta = (m.text.start - prefix) as u32;
            self.expansions.origins.insert(id, Origin { file: def_file, delta, use_span, name: m.name.node.clone() });
            (id, delta)
        } else {
            (def_file, 0)
        };
        let args: HashMap<&str, &Spanned<Value>> = m.params.iter().map(|p| p.node.as_str()).zip(ins.operands.iter()).collect();
        let sub = Substitution {
            args,
            labels: &m.labels,
            macros: self.macros,
            suffix: format!("@{}.{n}", m.name.node),
            file,
            delta,
            def_file,
            errors: Default::default(),
        };
        let mut expanded = Vec::with_capacity(m.body.len() + 1);
        if let Some(l) = &line.label {
            expanded.push(Line { label: Some(l.clone()), statement: None, line_no: line.line_no });
        }
        for body in &m.body {
            expanded.push(sub.line(body, line.line_no));
        }
        self.diags.append(&mut sub.errors.borrow_mut());
        self.stack.push((m.name.node.clone(), use_span));
        for l in expanded {
            self.line(l, out);
        }
        self.stack.pop();
    }
}

/// A use that is not expanded (its mistake was reported), kept for its label and so that the
/// resolver knows a body is missing there (`Recovered::Unexpanded`).
fn unexpanded(mut line: Line) -> Line {
    if let Some(Spanned { node: Statement::Instruction(i), .. }) = &mut line.statement {
        i.recovered = Recovered::Unexpanded;
        i.operands.clear();
    }
    line
}

struct Substitution<'a> {
    args: HashMap<&'a str, &'a Spanned<Value>>,
    labels: &'a HashSet<String>,
    macros: &'a HashMap<String, MacroDef>,
    suffix: String,
    file: u32,
    delta: u32,
    def_file: u32,
    /// Arguments that do not fit where the body puts them.
    errors: std::cell::RefCell<Vec<Diagnostic>>,
}

impl Substitution<'_> {
    fn span(&self, s: Span) -> Span {
        if s.file != self.def_file {
            return s;
        }
        Span { file: self.file, start: s.start - self.delta, end: s.end - self.delta }
    }

    fn label(&self, name: &str) -> String {
        if self.labels.contains(name) { format!("{name}{}", self.suffix) } else { name.to_string() }
    }

    fn line(&self, l: &Line, line_no: u32) -> Line {
        use crate::syntax::ast::{Directive, Instruction};
        let statement = l.statement.as_ref().map(|s| {
            let node = match &s.node {
                Statement::Instruction(i) => {
                    // Body labels are renamed only where a label is expected: a jump's
                    // operand, or an argument to a macro (which may pass it to a jump).
                    // Elsewhere a word spelled like a label is a name (`LOAD_NAME done`).
                    let labels = takes_label(&i.opname.node) || self.macros.contains_key(&i.opname.node);
                    Statement::Instruction(Instruction {
                        opname: Spanned::new(i.opname.node.clone(), self.span(i.opname.span)),
                        operands: i.operands.iter().map(|v| self.value(v, labels)).collect(),
                        recovered: i.recovered,
                    })
                }
                Statement::Directive(d) => {
                    let labels = ["try", "exception"].contains(&d.name.node.as_str());
                    Statement::Directive(Directive {
                        name: Spanned::new(d.name.node.clone(), self.span(d.name.span)),
                        args: d.args.iter().map(|v| self.value(v, labels)).collect(),
                    })
                }
                // Refused when the macro was defined.
                Statement::Code(h) => Statement::Code(h.clone()),
            };
            Spanned::new(node, self.span(s.span))
        });
        Line { label: l.label.as_ref().map(|x| Spanned::new(self.label(&x.node), self.span(x.span))), statement, line_no }
    }

    /// An operand with the arguments put in; `labels`: whether body labels are renamed in it.
    fn value(&self, v: &Spanned<Value>, labels: bool) -> Spanned<Value> {
        let node = match &v.node {
            Value::Word(w) => {
                if let Some(arg) = self.args.get(w.as_str()) {
                    // The argument as written at the use, pointing there.
                    return (*arg).clone();
                }
                Value::Word(if labels { self.label(w) } else { w.clone() })
            }
            Value::CodeRef(crate::syntax::ast::Name(n)) => match self.args.get(n.to_lossy().as_str()) {
                // `@param`: the argument names a code object, written `name` or `@name`.
                Some(arg) => match &arg.node {
                    Value::Word(w) => return Spanned::new(Value::CodeRef(crate::syntax::ast::Name(crate::object::PyStr::from(w.as_str()))), arg.span),
                    Value::CodeRef(_) => return (*arg).clone(),
                    _ => {
                        self.errors.borrow_mut().push(
                            Diagnostic::error(codes::MACRO_ARITY, "this argument is used as `@NAME` in the macro, but is not a code object's name")
                                .with_primary(arg.span, "expected a name, or `@name`")
                                .with_secondary(self.span(v.span), "used here as a code object reference"),
                        );
                        // The argument as it is (reported once, here, not again as an unknown `@f`).
                        return (*arg).clone();
                    }
                },
                None => v.node.clone(),
            },
            Value::Tuple(items) => Value::Tuple(items.iter().map(|x| self.value(x, labels)).collect()),
            Value::Set(items) => Value::Set(items.iter().map(|x| self.value(x, labels)).collect()),
            Value::Call(f, items) => {
                Value::Call(Spanned::new(f.node.clone(), self.span(f.span)), items.iter().map(|x| self.value(x, labels)).collect())
            }
            other => other.clone(),
        };
        Spanned::new(node, self.span(v.span))
    }
}
