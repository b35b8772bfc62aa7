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
    let version = match choose_version(&lines, files, opts, &mut diags) {
        Some(v) => v,
        None => return Err(finish(diags)),
    };
    let default_filename = opts.filename.clone().unwrap_or_else(|| files.name(file).to_string());
    build(&lines, version, default_filename, opts, diags).map_err(finish).map(|mut a| {
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
        Some(version) => {
            let default_filename = opts.filename.clone().unwrap_or_else(|| files.name(main_file).to_string());
            build(&linked.lines, version, default_filename, opts, diags)
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

/// Resolves, verifies and emits a program's lines. `diags` holds what earlier stages found;
/// `Err` has every diagnostic, `Ok` the warnings (both unsorted).
fn build(
    lines: &[syntax::ast::Line],
    version: (&'static VersionTable, Option<Span>),
    default_filename: String,
    opts: &Options,
    mut diags: Vec<Diagnostic>,
) -> Result<Assembled, Vec<Diagnostic>> {
    let ropts = resolve::ResolveOptions { default_filename };
    let (version, version_line) = version;
    let (program, mut more) = resolve::resolve(lines, version, &ropts);
    diags.append(&mut more);
    let Some(program) = program else { return Err(diags) };
    let mut built: Vec<Option<CodeObject>> = Vec::with_capacity(program.codes.len());
    let mut listing = String::new();
    let verified = verify::verify_program(&program, opts.listing, !opts.skip_typed_checks);
    for (code, v) in program.codes.iter().zip(verified) {
        let verify::Verified { analysis, diags: mut vd, stacks } = v;
        let failed = vd.iter().any(|d| d.is_error());
        diags.append(&mut vd);
        if failed || diags.iter().any(|d| d.is_error()) {
            built.push(None);
            continue;
        }
        match emit::layout::layout(code, &analysis, version) {
            Ok(l) => {
                if opts.listing {
                    listing.push_str(&listing::code_listing(code, &analysis, &stacks, &l, code.final_flags(), &program.codes));
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
fn choose_version(
    lines: &[syntax::ast::Line],
    files: &SourceFiles,
    opts: &Options,
    diags: &mut Vec<Diagnostic>,
) -> Option<(&'static VersionTable, Option<Span>)> {
    // `.python 3.11` names the version; `.python 3.13, 3.14, 3.15` a file written so that it
    // assembles for each (the options choose among them, else python3's version if listed,
    // else the newest).
    let mut from_file: Option<(Vec<PythonVersion>, Span)> = None;
    for line in lines {
        let Some(Spanned { node: Statement::Directive(d), .. }) = &line.statement else { continue };
        if d.name.node != "python" {
            continue;
        }
        let span = d.args.iter().fold(d.name.span, |s, a| s.to(a.span));
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
        Some(t) => Some((t, span)),
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

/// What an editor shows of a module besides its diagnostics: the linked lines, the resolved
/// program and what the verifier found of each code object (with the stack kinds before and
/// after each instruction). Nothing is emitted; the diagnostics are `assemble_files`'s job.
pub struct ModuleFacts {
    pub version: Option<&'static VersionTable>,
    pub program: Option<resolve::Program>,
    /// One per code object of `program`.
    pub verified: Vec<verify::Verified>,
    /// Each code object's layout (offsets, final arguments), where it verified without errors.
    pub layouts: Vec<Option<emit::layout::Layout>>,
    /// Where macro expansions came from (their lines point into per-expansion file copies).
    pub expansions: link::expand::Expansions,
}

/// The facts of the module made of `inputs` (see [`ModuleFacts`]), as far as the stages get.
pub fn module_facts(files: &mut SourceFiles, inputs: &[u32], opts: &Options) -> ModuleFacts {
    let mut diags = Vec::new();
    let linked = link::link_module(files, inputs, &mut diags);
    let version = choose_version(&linked.lines, files, opts, &mut diags).map(|(t, _)| t);
    let (program, verified) = match version {
        Some(t) => {
            let ropts = resolve::ResolveOptions { default_filename: String::new() };
            let (program, _) = resolve::resolve(&linked.lines, t, &ropts);
            let verified = program.as_ref().map(|p| verify::verify_program(p, true, !opts.skip_typed_checks)).unwrap_or_default();
            (program, verified)
        }
        None => (None, Vec::new()),
    };
    let layouts = match (&program, version) {
        (Some(p), Some(t)) => p
            .codes
            .iter()
            .zip(&verified)
            .map(|(c, v)| if v.diags.iter().any(|d| d.is_error()) { None } else { emit::layout::layout(c, &v.analysis, t).ok() })
            .collect(),
        _ => Vec::new(),
    };
    ModuleFacts { version, program, verified, layouts, expansions: linked.expansions }
}
