//! pyasm: an assembler for hand-written CPython bytecode.
//!
//! The pipeline, one module per stage:
//! `syntax` (lexer + grammar → AST with spans) → `link` (several files, `.include`, macros →
//! one line list; `assemble_files`) → `resolve` (names, constants, locals and
//! labels → indexes) → `verify` (stack depth, targets, exception table) → `emit` (code bytes,
//! location and exception tables, marshal, pyc header).
//!
//! ```no_run
//! let source = ".code <module>\n RESUME 0\n LOAD_CONST None\n RETURN_VALUE\n.end\n";
//! let mut files = pyasm::diagnostics::SourceFiles::new();
//! let file = files.add("example.pyasm", source);
//! let out = pyasm::assemble(&files, file, &pyasm::Options::default()).expect("no errors");
//! let pyc = out.to_pyc(&pyasm::emit::pyc::PycHeader::Timestamp { mtime: 0, source_size: 0 });
//! ```

pub mod cli;
pub mod diagnostics;
pub mod dis;
pub mod emit;
pub mod explain;
pub mod fmt;
pub mod interpreters;
pub mod link;
pub mod listing;
pub mod lower;
pub mod load;
pub mod lsp;
pub mod marshal_format;
pub mod object;
pub mod opcodes;
#[cfg(feature = "python")]
mod python;
pub mod resolve;
pub mod syntax;
pub mod verify;
pub mod version;

use diagnostics::{Diagnostic, SourceFiles, codes};
use emit::pyc::PycHeader;
use object::{CodeObject, Constant};
use opcodes::VersionTable;
use resolve::constants::PoolConst;
use syntax::ast::{Span, Spanned, Statement};
use version::PythonVersion;

/// How to assemble.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The target version; overrides the file's `.python`. With neither, `default_version`.
    pub version: Option<PythonVersion>,
    /// The version used when neither the options nor the file name one.
    pub default_version: Option<PythonVersion>,
    /// co_filename when the file has no `.filename`; defaults to the source file's name.
    pub filename: Option<String>,
    /// Also produce the listing (see `listing`).
    pub listing: bool,
    /// Leave out the typed verifier (`verify::typed`). Never for output anyone runs: the
    /// differential generator uses it to measure what the typed checks refuse.
    pub skip_typed_checks: bool,
}

/// A successfully assembled program.
#[derive(Debug)]
pub struct Assembled {
    pub version: &'static VersionTable,
    pub module: CodeObject,
    /// Warnings (errors make `assemble` fail instead).
    pub warnings: Vec<Diagnostic>,
    /// The listing, when `Options::listing` asked for it.
    pub listing: Option<String>,
    /// The module's name when a file says `.module NAME` (only `assemble_files` reads it).
    pub module_name: Option<Spanned<String>>,
    /// The `.code <module>` header: where a message about the module as a whole points.
    pub module_header: Span,
    /// The `.python` line the version was taken from (none when the options chose it).
    pub version_line: Option<Span>,
}

impl Assembled {
    /// The complete .pyc file.
    pub fn to_pyc(&self, header: &PycHeader) -> Vec<u8> {
        emit::pyc::write_pyc(self.version.magic, header, &emit::marshal::dump_code_for(&self.module, self.version.version))
    }
}

/// Assembles one self-contained source file into a module code object. (`.include`,
/// `.macro` and `.module` belong to the linker: `assemble_files`.)
pub fn assemble(files: &SourceFiles, file: u32, opts: &Options) -> Result<Assembled, Vec<Diagnostic>> {
    let (lines, mut diags) = syntax::parse(file, files.text(file));
    let Some(target) = choose_version(&lines, files, opts, &mut diags) else { return Err(finish(diags)) };
    let lines = lower_if_portable(lines, files, &target, &mut diags);
    if target.served.is_some() && diags.iter().any(|d| d.is_error()) {
        // What the later stages would say about a program that did not lower is noise.
        return Err(finish(diags));
    }
    let default_filename = opts.filename.clone().unwrap_or_else(|| files.name(file).to_string());
    build(lines, target, default_filename, opts, files, diags).map_err(finish).map(|mut a| {
        a.warnings = finish(std::mem::take(&mut a.warnings));
        a
    })
}

/// Assembles the files `inputs` (in `files`) together into one module: code objects defined
/// in one are referenced by `@name` from another, `.include`d files and macros are expanded
/// (see `link`). Included files and macro expansions are added to `files`, which diagnostics
/// point into.
pub fn assemble_files(files: &mut SourceFiles, inputs: &[u32], opts: &Options) -> Result<Assembled, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut linked = link::link_module(files, inputs, &mut diags);
    let version = choose_version(&linked.lines, files, opts, &mut diags);
    let main_file = inputs.first().copied().unwrap_or(0);
    if opts.filename.is_none() {
        let expansions = &linked.expansions;
        link::filenames_per_file(files, &mut linked.lines, main_file, &|f| expansions.real_file(f));
    }
    let result = match version {
        None => Err(diags),
        Some(target) => {
            let default_filename = opts.filename.clone().unwrap_or_else(|| files.name(main_file).to_string());
            // A portable file's lowered lines are new; `link::enrich` needs none of them.
            let lowered = target.served.as_ref().map(|served| lower::lower(&linked.lines, files, target.table, served, &mut diags).lines);
            if target.served.is_some() && diags.iter().any(|d| d.is_error()) {
                // What the later stages would say about a program that did not lower is noise.
                Err(diags)
            } else {
                let lines = lowered.unwrap_or_else(|| std::mem::take(&mut linked.lines));
                build(lines, target, default_filename, opts, files, diags)
            }
        }
    };
    let enrich = |mut ds: Vec<Diagnostic>| {
        link::enrich(files, &linked, inputs, &mut ds);
        finish(ds)
    };
    match result {
        Ok(mut a) => {
            a.warnings = enrich(std::mem::take(&mut a.warnings));
            a.module_name = linked.module_name.clone();
            Ok(a)
        }
        Err(ds) => Err(enrich(ds)),
    }
}

/// The version a program is assembled for: its table, the `.python` line it was read from
/// (none when the options chose it), and for a portable file the versions it serves.
pub struct Target {
    pub table: &'static VersionTable,
    pub line: Option<Span>,
    pub served: Option<Vec<&'static VersionTable>>,
}

/// A portable file's lines lowered for the target (`lower`); other files' lines as they are.
fn lower_if_portable(lines: Vec<syntax::ast::Line>, files: &SourceFiles, target: &Target, diags: &mut Vec<Diagnostic>) -> Vec<syntax::ast::Line> {
    match &target.served {
        Some(served) => lower::lower(&lines, files, target.table, served, diags).lines,
        None => lines,
    }
}

/// The portable program of `inputs` lowered for the options' version, as .pyasm text
/// (`pyasm lower`); `Err` with the diagnostics of a file that is not portable or does not
/// lower. Warnings are not reported here: assembling reports them.
pub fn lower_files(files: &mut SourceFiles, inputs: &[u32], opts: &Options) -> Result<(String, &'static VersionTable), Vec<Diagnostic>> {
    let (linked, target, mut diags) = portable_target(files, inputs, opts)?;
    let served = target.served.as_deref().expect("portable_target has a range");
    let lowered = lower::lower(&linked.lines, files, target.table, served, &mut diags);
    if diags.iter().any(|d| d.is_error()) {
        return Err(finish(diags));
    }
    Ok((lower::print::render(&lowered, files), target.table))
}

/// The version a portable module of `inputs` is lowered for (`pyasm lower --listing` checks
/// this before it assembles); `Err` with the diagnostics of a file that is not portable.
pub fn portable_version(files: &mut SourceFiles, inputs: &[u32], opts: &Options) -> Result<&'static VersionTable, Vec<Diagnostic>> {
    portable_target(files, inputs, opts).map(|(_, target, _)| target.table)
}

/// The linked lines of a portable module and its target; `Err` when the version cannot be
/// chosen or the file's `.python` is not a range.
fn portable_target(files: &mut SourceFiles, inputs: &[u32], opts: &Options) -> Result<(link::LinkedModule, Target, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let linked = link::link_module(files, inputs, &mut diags);
    let Some(target) = choose_version(&linked.lines, files, opts, &mut diags) else { return Err(finish(diags)) };
    if target.served.is_none() {
        let mut d = Diagnostic::error(codes::VERSION_RANGE, "this file is not portable: its `.python` names versions, not a range")
            .with_help("a portable file says which versions it serves as a range: `.python 3.6-3.15`");
        if let Some(s) = target.line {
            d = d.with_primary(s, "not a range");
        }
        return Err(vec![d]);
    }
    Ok((linked, target, diags))
}

/// Checks a portable module for every version in `served`: the diagnostics of all of them,
/// each given once, with a note naming the versions it applies to unless that is all of them
/// (a portable mistake is reported once, not once per version).
pub fn check_portable(files: &mut SourceFiles, inputs: &[u32], opts: &Options, served: &[PythonVersion]) -> Vec<Diagnostic> {
    let mut groups: Vec<(Diagnostic, Vec<PythonVersion>)> = Vec::new();
    for &v in served {
        let o = Options { version: Some(v), ..opts.clone() };
        let diags = match assemble_files(files, inputs, &o) {
            Ok(a) => a.warnings,
            Err(ds) => ds,
        };
        for mut d in diags {
            d.notes.retain(|n| !n.starts_with(LOWERED_NOTE));
            let key = |x: &Diagnostic| (x.code, x.message.clone(), x.labels.iter().find(|l| l.primary).map(|l| l.span));
            match groups.iter_mut().find(|(g, _)| key(g) == key(&d)) {
                Some((_, vs)) => vs.push(v),
                None => groups.push((d, vec![v])),
            }
        }
    }
    let tables: Vec<&'static VersionTable> = served.iter().filter_map(|v| opcodes::table_for(*v)).collect();
    let mut out: Vec<Diagnostic> = groups
        .into_iter()
        .map(|(mut d, vs)| {
            if vs.len() < served.len() {
                let these: Vec<&'static VersionTable> = vs.iter().filter_map(|v| opcodes::table_for(*v)).collect();
                d.notes.push(format!("in Python {} (of the {} this file serves)", lower::check::describe(&these, &tables), lower::check::describe(&tables, &tables)));
            }
            d
        })
        .collect();
    out = finish(out);
    out
}

/// The versions a file serves when it is portable (its `.python` is a range), oldest first.
pub fn served_versions(files: &SourceFiles, file: u32) -> Option<Vec<PythonVersion>> {
    let (lines, _) = syntax::parse(file, files.text(file));
    lines.iter().find_map(|line| match &line.statement {
        Some(Spanned { node: Statement::Directive(d), .. }) if d.name.node == "python" => d
            .args
            .first()
            .and_then(|a| lower::parse_range(&files.text(a.span.file)[a.span.range()]))
            .and_then(|r| r.ok())
            .map(|ts| ts.iter().map(|t| t.version).collect()),
        _ => None,
    })
}

/// Resolves, verifies and emits a program's lines. `diags` holds what earlier stages found;
/// `Err` has every diagnostic, `Ok` the warnings (both unsorted). `files` hold the source a
/// portable program's listing quotes.
fn build(
    lines: Vec<syntax::ast::Line>,
    target: Target,
    default_filename: String,
    opts: &Options,
    files: &SourceFiles,
    mut diags: Vec<Diagnostic>,
) -> Result<Assembled, Vec<Diagnostic>> {
    let ropts = resolve::ResolveOptions { default_filename };
    let (version, version_line) = (target.table, target.line);
    let portable = target.served.is_some();
    let (program, mut more) = resolve::resolve(&lines, version, &ropts);
    // The resolved program holds all it needs of the lines (for a large program the lines are
    // most of the memory in use).
    drop(lines);
    diags.append(&mut more);
    let Some(program) = program else { return Err(diags) };
    let mut built: Vec<Option<CodeObject>> = Vec::with_capacity(program.codes.len());
    let mut listing = String::new();
    let verified = verify::verify_program(&program, opts.listing, !opts.skip_typed_checks);
    for (code, v) in program.codes.iter().zip(verified) {
        let verify::Verified { analysis, diags: mut vd, stacks, .. } = v;
        let failed = vd.iter().any(|d| d.is_error());
        if portable {
            // The spans are the portable lines'; say which program the verifier saw.
            lowered_note(&mut vd, version, files);
        }
        diags.append(&mut vd);
        if failed || diags.iter().any(|d| d.is_error()) {
            built.push(None);
            continue;
        }
        match emit::layout::layout(code, &analysis, version) {
            Ok(l) => {
                if opts.listing {
                    listing.push_str(&listing::code_listing(code, &analysis, &stacks, &l, code.final_flags(), &program.codes, portable.then_some(files)));
                    listing.push('\n');
                }
                built.push(Some(code_object(code, &analysis, l)))
            }
            Err(mut e) => {
                diags.append(&mut e);
                built.push(None);
            }
        }
    }
    if diags.iter().any(|d| d.is_error()) {
        return Err(diags);
    }
    let module = nest_constants(&program, &program.codes[program.module], program.module, &mut built, 0);
    Ok(Assembled {
        version,
        module,
        warnings: diags,
        listing: opts.listing.then_some(listing),
        module_name: None,
        module_header: program.codes[program.module].header_span,
        version_line,
    })
}

/// Orders diagnostics by position in the source (stages report in their own order) and, when
/// there are errors, leaves out warnings: they are noise until the errors are fixed.
fn finish(mut diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    if diags.iter().any(|d| d.is_error()) {
        diags.retain(|d| d.is_error());
    }
    let key = |d: &Diagnostic| d.labels.iter().find(|l| l.primary).map(|l| (l.span.file, l.span.start)).unwrap_or((u32::MAX, u32::MAX));
    diags.sort_by_key(key);
    diags
}

/// The version to assemble for, with the `.python` line it was read from (none when the
/// options chose it).
fn choose_version(lines: &[syntax::ast::Line], files: &SourceFiles, opts: &Options, diags: &mut Vec<Diagnostic>) -> Option<Target> {
    // `.python 3.11` names the version; `.python 3.13, 3.14, 3.15` a file written so that it
    // assembles for each (the options choose among them, else python3's version if listed,
    // else the newest).
    let mut from_file: Option<(Vec<PythonVersion>, Span)> = None;
    let mut served = None;
    for line in lines {
        let Some(Spanned { node: Statement::Directive(d), .. }) = &line.statement else { continue };
        if d.name.node != "python" {
            continue;
        }
        let span = d.args.iter().fold(d.name.span, |s, a| s.to(a.span));
        // `.python 3.6-3.15`: a portable file (docs/format.md 1.12).
        if let [arg] = d.args.as_slice() {
            match lower::parse_range(&files.text(arg.span.file)[arg.span.range()]) {
                Some(Ok(tables)) => {
                    from_file = Some((tables.iter().map(|t| t.version).collect(), span));
                    served = Some(tables);
                    continue;
                }
                Some(Err(msg)) => {
                    diags.push(Diagnostic::error(codes::VERSION_RANGE, msg).with_primary(span, ""));
                    return None;
                }
                None => {}
            }
        }
        // Read the versions from the text itself: as a number, 3.10 would be 3.1.
        let parsed: Result<Vec<PythonVersion>, String> =
            d.args.iter().map(|a| files.text(a.span.file)[a.span.range()].parse::<PythonVersion>()).collect();
        match parsed {
            Ok(vs) if !vs.is_empty() => from_file = Some((vs, span)),
            _ => {
                diags.push(
                    Diagnostic::error(codes::DIRECTIVE, "`.python` takes a version, like `.python 3.11`, or several, like `.python 3.14, 3.15`")
                        .with_primary(span, ""),
                );
                return None;
            }
        }
    }
    let (wanted, span) = match (opts.version, from_file) {
        // A portable file is assembled only for versions it serves.
        (Some(v), Some((vs, s))) if served.is_some() && !vs.contains(&v) => {
            diags.push(
                Diagnostic::error(codes::VERSION_RANGE, format!("this file does not serve Python {v}"))
                    .with_primary(s, format!("it serves {}", lower::check::describe(served.as_deref().unwrap_or(&[]), served.as_deref().unwrap_or(&[]))))
                    .with_help("choose a version in the range, or widen the range"),
            );
            return None;
        }
        (Some(v), _) => (v, None),
        (None, Some((vs, s))) => {
            // Among the listed versions this build supports (else the newest listed, which
            // then gets the "not supported" error below).
            let known: Vec<PythonVersion> = vs.iter().copied().filter(|v| opcodes::table_for(*v).is_some()).collect();
            let v = match opts.default_version {
                Some(d) if known.contains(&d) => d,
                _ => known.iter().max().or_else(|| vs.iter().max()).copied().expect("non-empty"),
            };
            (v, Some(s))
        }
        (None, None) => (opts.default_version.unwrap_or_else(version::newest_supported), None),
    };
    match opcodes::table_for(wanted) {
        Some(t) => Some(Target { table: t, line: span, served }),
        None => {
            let supported: Vec<String> = version::supported().map(|v| v.to_string()).collect();
            let mut d = Diagnostic::error(codes::NOT_IN_VERSION, format!("Python {wanted} is not supported"))
                .with_note(format!("supported versions: {}", supported.join(", ")));
            if let Some(s) = span {
                d = d.with_primary(s, "requested here");
            }
            diags.push(d);
            None
        }
    }
}

fn code_object(code: &resolve::ResolvedCode, analysis: &verify::Analysis, l: emit::layout::Layout) -> CodeObject {
    CodeObject {
        argcount: code.argcount,
        posonlyargcount: code.posonlyargcount,
        kwonlyargcount: code.kwonlyargcount,
        // 3.6–3.10 store co_nlocals: the compilers write len(co_varnames).
        nlocals: if code.version.block_stack {
            object::varnames_len(&code.localsplus) as u32
        } else {
            0
        },
        stacksize: code.stacksize_override.unwrap_or(analysis.stacksize),
        flags: code.final_flags(),
        code: l.code,
        consts: Vec::new(), // filled by `nest_constants`
        names: code.names.clone(),
        localsplus: code.localsplus.clone(),
        filename: code.filename.clone().unwrap_or_default(),
        name: code.name.clone(),
        qualname: code.qualname.clone().unwrap_or_else(|| code.name.clone()),
        firstlineno: code.firstlineno,
        linetable: code.linetable_override.clone().unwrap_or(l.linetable),
        exceptiontable: code.exceptiontable_override.clone().unwrap_or(l.exceptiontable),
    }
}

/// Fills each code object's constants, nesting child code objects (built bottom-up).
fn nest_constants(
    program: &resolve::Program,
    code: &resolve::ResolvedCode,
    index: usize,
    built: &mut Vec<Option<CodeObject>>,
    depth: usize,
) -> CodeObject {
    let mut obj = built[index].clone().expect("built when there are no errors");
    obj.consts = code
        .consts
        .iter()
        .map(|k| match k {
            PoolConst::Value(c) => c.clone(),
            // Cycles were rejected by the resolver; the depth bound is a second guard.
            PoolConst::Code(child) if depth <= resolve::MAX_CODE_NESTING => {
                Constant::Code(Box::new(nest_constants(program, &program.codes[*child], *child, built, depth + 1)))
            }
            PoolConst::Code(_) => Constant::None,
        })
        .collect();
    obj
}

/// A portable file's errors from the verifier are about the lowered program: says which.
/// At a portable (lower-case) line the lowering is at fault, not the writer: the note says
/// so, quoting the line. A version instruction the writer put there is the writer's own.
fn lowered_note(diags: &mut [Diagnostic], version: &VersionTable, files: &SourceFiles) {
    let v = version.version;
    for d in diags.iter_mut().filter(|d| d.is_error()) {
        let line = d.labels.iter().find(|l| l.primary).map(|l| portable_line_text(files, l.span));
        if let Some(Some(text)) = line {
            d.notes.push(format!(
                "internal error: pyasm lowered this portable line to code that the verifier refuses — this is pyasm's mistake, please report it (the line: `{text}`)"
            ));
        }
        d.notes.push(format!("{LOWERED_NOTE}{v} (`pyasm lower FILE --python {v}` shows it)"));
    }
}

/// The start of the note `lowered_note` adds per version (`check_portable` merges them).
const LOWERED_NOTE: &str = "in the program lowered for Python ";

/// The text of the source line holding `span` when it is a portable instruction (its first
/// word is lower case, and not a directive); `None` for a version instruction or directive.
fn portable_line_text(files: &SourceFiles, span: Span) -> Option<String> {
    let text = files.text(span.file);
    let start = text[..(span.start as usize).min(text.len())].rfind('\n').map_or(0, |k| k + 1);
    let end = text[start..].find('\n').map_or(text.len(), |k| start + k);
    let line = text[start..end].trim();
    // A label before the instruction (`done: return`) is not the instruction.
    let ins = match line.split_once(':') {
        Some((label, rest)) if label.chars().all(|c| c.is_alphanumeric() || c == '_') => rest.trim(),
        _ => line,
    };
    let word = ins.split_whitespace().next()?;
    (word.chars().next()?.is_ascii_lowercase() && lower::set::lookup(word).is_some() || ["try_finally", "finally", "end_finally"].contains(&word)).then(|| line.to_string())
}

/// What an editor shows of a module: the diagnostics `assemble_files` gives for it, the
/// resolved program and what the verifier found of each code object (with the stack kinds
/// before and after each instruction). Nothing is emitted.
pub struct ModuleFacts {
    pub version: Option<&'static VersionTable>,
    pub program: Option<resolve::Program>,
    /// One per code object of `program`.
    pub verified: Vec<verify::Verified>,
    /// Each code object's layout (offsets, final arguments), where it verified without errors.
    pub layouts: Vec<Option<emit::layout::Layout>>,
    /// Where macro expansions came from (their lines point into per-expansion file copies).
    pub expansions: link::expand::Expansions,
    /// What `assemble_files` reports (errors, else warnings), from the same stages in the same
    /// order: a stage's diagnostics count where assembling would have reached it.
    pub diagnostics: Vec<Diagnostic>,
}

/// The version a module's lines name, as assembling chooses it (the language server's
/// answers from the parse alone, while the whole run is under way, need no more).
pub fn named_version(lines: &[syntax::ast::Line], files: &SourceFiles, opts: &Options) -> Option<&'static VersionTable> {
    choose_version(lines, files, opts, &mut Vec::new()).map(|t| t.table)
}

/// The facts of the module made of `inputs` (see [`ModuleFacts`]), as far as the stages get.
pub fn module_facts(files: &mut SourceFiles, inputs: &[u32], opts: &Options) -> ModuleFacts {
    let mut diags = Vec::new();
    let mut linked = link::link_module(files, inputs, &mut diags);
    let target = choose_version(&linked.lines, files, opts, &mut diags);
    if opts.filename.is_none() {
        let expansions = &linked.expansions;
        link::filenames_per_file(files, &mut linked.lines, inputs.first().copied().unwrap_or(0), &|f| expansions.real_file(f));
    }
    let version = target.as_ref().map(|t| t.table);
    let (mut program, mut verified, mut layouts) = (None, Vec::new(), Vec::new());
    if let Some(t) = target {
        // A portable file's facts are those of the program lowered for the chosen version.
        let lowered = t.served.as_ref().map(|served| lower::lower(&linked.lines, files, t.table, served, &mut diags).lines);
        // Assembling stops at a portable file that did not lower; the facts go on.
        let reached = !(t.served.is_some() && diags.iter().any(|d| d.is_error()));
        let lines = lowered.as_deref().unwrap_or(&linked.lines);
        let ropts = resolve::ResolveOptions { default_filename: String::new() };
        let (p, mut more) = resolve::resolve(lines, t.table, &ropts);
        if reached {
            diags.append(&mut more);
        }
        if let Some(p) = &p {
            verified = verify::verify_program(p, true, !opts.skip_typed_checks);
            for (code, v) in p.codes.iter().zip(&verified) {
                let own_errors = v.diags.iter().any(|d| d.is_error());
                if reached {
                    let mut vd = v.diags.clone();
                    if t.served.is_some() {
                        lowered_note(&mut vd, t.table, files);
                    }
                    diags.append(&mut vd);
                }
                // Assembling lays a code object out only while there is no error at all.
                let layout = if own_errors { None } else { Some(emit::layout::layout(code, &v.analysis, t.table)) };
                let clean = !diags.iter().any(|d| d.is_error());
                layouts.push(match layout {
                    Some(Ok(l)) => Some(l),
                    Some(Err(mut e)) => {
                        if reached && clean {
                            diags.append(&mut e);
                        }
                        None
                    }
                    None => None,
                });
            }
        }
        program = p;
    }
    link::enrich(files, &linked, inputs, &mut diags);
    ModuleFacts { version, program, verified, layouts, expansions: linked.expansions, diagnostics: finish(diags) }
}

#[cfg(test)]
mod tests {
    use super::{SourceFiles, Span, portable_line_text};

    /// The internal-error note goes on portable lines only: a version instruction (upper case)
    /// or a directive the verifier refuses is the writer's own.
    #[test]
    fn only_portable_lines_are_pyasm_s_mistake() {
        let mut files = SourceFiles::new();
        let text = ".python 3.6-3.15\n.code <module>\n    const None\ndone: return   # out\n    POP_TOP\n    try_finally\n    .locals x\n.end\n";
        let file = files.add("t.pyasm", text);
        let at = |needle: &str| {
            let start = text.find(needle).expect("in the text");
            Span::new(file, start, start + needle.len())
        };
        assert_eq!(portable_line_text(&files, at("const")).as_deref(), Some("const None"));
        assert_eq!(portable_line_text(&files, at("return")).as_deref(), Some("done: return   # out"));
        assert_eq!(portable_line_text(&files, at("try_finally")).as_deref(), Some("try_finally"));
        assert_eq!(portable_line_text(&files, at("POP_TOP")), None);
        assert_eq!(portable_line_text(&files, at(".locals")), None);
    }
}
