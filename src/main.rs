//! The `pyasm` command: a thin wrapper over the library.
//!
//! Exit status: 0 success, 1 the input has errors (diagnostics printed), 2 usage or I/O error.

use clap::{Args, Parser, Subcommand, ValueEnum};
use pyasm::diagnostics::{Diagnostic, SourceFiles};
use pyasm::emit::pyc::{PycHeader, source_hash};
use pyasm::interpreters::{self, Interpreter};
use pyasm::version::{self, PythonVersion};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const EXAMPLES: &str = "\
Examples:
  pyasm hello.pyasm                 assemble to hello.pyc
  pyasm hello.pyasm -o out.pyc      choose the output file (`-o -` writes to stdout)
  pyasm main.pyasm util.pyasm -o prog.pyc
                                    assemble several files together into one module
  pyasm link main.pyasm util.pyasm pkg/ -o app.pyz
                                    link modules (and package folders) into `python app.pyz`
  pyasm link main.pyasm pkg/ -o build/
                                    the same as a folder of .pyc files (`cd build && python -m main`)
  pyasm dis app.pyz -o src/         every module of an application back to .pyasm
  pyasm check hello.pyasm           report errors, write nothing
  pyasm run hello.pyasm -- a b      assemble and run with the target version's python
  pyasm run --install-interpreter hello.pyasm
                                    the same, installing pyodide's CPython if none is found
  pyasm dis hello.pyc               print a .pyc as .pyasm
  pyasm dis --out-dir src/ *.pyc    disassemble many files in parallel
  pyasm dis hello.pyc --listing     offsets, bytes, operands, positions, stack depths of a .pyc
  pyasm explain LOAD_GLOBAL         what an instruction does, its operand and stack effect
  pyasm explain --list              every instruction of the target version
  pyasm completions bash            a completion script for the shell
  pyasm --python 3.11 --hash checked prog.pyasm
  pyasm python 3.14 tools/gen_opcodes.py
                                    run the CPython 3.14 pyasm finds (native or pyodide)

The format is described in docs/format.md.";

#[derive(Parser)]
#[command(name = "pyasm", version = version_text(), about = "Assembler for hand-written CPython bytecode", after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Assemble a .pyasm file into a .pyc (the default command); several files into one module with -o, each on its own with --out-dir.
    Assemble(AssembleArgs),
    /// Check a .pyasm file (or the files of one module) and report problems; writes nothing.
    Check(CommonArgs),
    /// Link modules (files, package folders) into an application: a .pyz, or a folder of .pyc.
    Link(LinkArgs),
    /// Assemble to a temporary .pyc and run it with a Python of the target version.
    Run(RunArgs),
    /// Disassemble a .pyc into .pyasm text that assembles back to the same code objects.
    Dis(DisArgs),
    /// Explain an instruction: what it does, its operand, stack effect, caches and versions.
    Explain(ExplainArgs),
    /// Print a completion script for a shell (e.g. `pyasm completions bash > ~/.local/share/bash-completion/completions/pyasm`).
    Completions(CompletionsArgs),
    /// Run the CPython of a version that pyasm finds (or installs) with the given arguments.
    Python(PythonArgs),
}

#[derive(Args)]
struct ExplainArgs {
    /// The opcode name (any case), e.g. LOAD_GLOBAL.
    #[arg(required_unless_present = "list")]
    opcode: Option<String>,
    /// List every instruction of the version instead.
    #[arg(long, conflicts_with = "opcode")]
    list: bool,
    /// The Python version to explain for (default: as for assembling).
    #[arg(long, value_name = "X.Y")]
    python: Option<PythonVersion>,
}

#[derive(Args)]
struct CompletionsArgs {
    /// The shell to write the script for.
    shell: clap_complete::Shell,
}

#[derive(Args)]
struct DisArgs {
    /// The .pyc file(s).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output file (default: stdout); `-` for stdout.
    #[arg(short, long, value_name = "FILE", conflicts_with = "out_dir")]
    output: Option<PathBuf>,
    /// Print the listing of the .pyc (offsets, bytes, operands, positions, stack depths); with
    /// -o the .pyasm text still goes to that file.
    #[arg(long, conflicts_with = "out_dir")]
    listing: bool,
    #[command(flatten)]
    batch: BatchArgs,
}

/// Many inputs in one run, as a build system calls it.
#[derive(Args)]
struct BatchArgs {
    /// Write one output per input into this folder (NAME.pyc or NAME.pyasm), in parallel.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// How many files to process at once with --out-dir (default: one per core).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
}

#[derive(Args)]
struct CommonArgs {
    /// The .pyasm file (`-` reads standard input).
    file: PathBuf,
    /// More .pyasm files: with -o (or for check and run), files of the same module, assembled
    /// together; with --out-dir, each assembled on its own.
    #[arg(value_name = "MORE")]
    more: Vec<PathBuf>,
    /// Target Python version (overrides the file's `.python`), e.g. 3.11.
    #[arg(long, value_name = "X.Y")]
    python: Option<PythonVersion>,
    /// Print the listing: offsets, encoded bytes, resolved operands, positions, stack depths.
    #[arg(long)]
    listing: bool,
    #[command(flatten)]
    report: ReportArgs,
}

/// How a command reports: shared by every command that assembles.
#[derive(Args, Clone, Copy)]
struct ReportArgs {
    /// When to use colour in diagnostics.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Say which version is targeted and why (for link: and what is written).
    #[arg(short, long)]
    verbose: bool,
    /// Do not print warnings (errors are always printed).
    #[arg(short, long)]
    quiet: bool,
    /// How diagnostics are printed (on stderr): for people, or one JSON object per line.
    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    message_format: MessageFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum MessageFormat {
    Human,
    Json,
}

#[derive(Args)]
struct AssembleArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Output file; `-` for stdout. Default: the input with the extension .pyc. A name
    /// ending in .pyz links the inputs as modules of an application (as `pyasm link`).
    #[arg(short, long, value_name = "FILE", conflicts_with = "out_dir")]
    output: Option<PathBuf>,
    #[command(flatten)]
    batch: BatchArgs,
    /// Write a hash-based pyc (PEP 552) instead of a timestamp-based one.
    #[arg(long, value_enum)]
    hash: Option<HashMode>,
}

#[derive(Args)]
struct LinkArgs {
    /// Module files (.pyasm) and package folders (with __init__.pyasm), or source folders.
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// APP.pyz for a zip application, else a folder that receives one .pyc per module.
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,
    /// The module `python app.pyz` runs (default: the first input given as a file, else a
    /// module named __main__).
    #[arg(long, value_name = "NAME")]
    main: Option<String>,
    /// Target Python version (overrides the files' `.python`), e.g. 3.11.
    #[arg(long, value_name = "X.Y")]
    python: Option<PythonVersion>,
    /// Write hash-based pycs (PEP 552) instead of timestamp-based ones.
    #[arg(long, value_enum)]
    hash: Option<HashMode>,
    #[command(flatten)]
    report: ReportArgs,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// When no CPython of the target version is found, install pyodide's build of it (from
    /// npm, run by node) into pyasm's cache. PYASM_INSTALL_PYODIDE=1 does the same.
    #[arg(long)]
    install_interpreter: bool,
    /// Arguments passed to the program (after `--`).
    #[arg(last = true)]
    args: Vec<String>,
}

#[derive(Args)]
struct PythonArgs {
    /// When no CPython of this version is found, install pyodide's build of it (as for `run`).
    #[arg(long)]
    install_interpreter: bool,
    /// Print which interpreter would run, and exit.
    #[arg(long)]
    which: bool,
    /// Say which interpreter runs.
    #[arg(short, long)]
    verbose: bool,
    /// The Python version, e.g. 3.14.
    #[arg(value_name = "X.Y")]
    version: PythonVersion,
    /// What `python3` would be given: `FILE.py ARGS…`, `FILE.pyc ARGS…`, `-c CODE ARGS…`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
    args: Vec<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, ValueEnum)]
enum HashMode {
    Checked,
    Unchecked,
}

/// `pyasm --version` also lists the Python versions this build can target.
fn version_text() -> &'static str {
    let versions: Vec<String> = version::supported().map(|v| v.to_string()).collect();
    // Built once per run, for clap, which wants a 'static string.
    Box::leak(format!("{} (targets Python {})", env!("CARGO_PKG_VERSION"), versions.join(", ")).into_boxed_str())
}

fn main() -> ExitCode {
    // `pyasm FILE …` means `pyasm assemble FILE …`.
    let mut argv: Vec<String> = std::env::args().collect();
    const KNOWN: &[&str] = &["assemble", "check", "link", "run", "dis", "explain", "completions", "python", "help", "-h", "--help", "-V", "--version"];
    if argv.len() > 1 && !KNOWN.contains(&argv[1].as_str()) {
        argv.insert(1, "assemble".into());
    }
    let cli = Cli::parse_from(argv);
    match cli.command {
        Cmd::Assemble(a) => cmd_assemble(a),
        Cmd::Check(c) => cmd_check(c),
        Cmd::Link(l) => cmd_link(l),
        Cmd::Run(r) => cmd_run(r),
        Cmd::Dis(d) => cmd_dis(d),
        Cmd::Explain(e) => cmd_explain(e),
        Cmd::Completions(c) => {
            use clap::CommandFactory;
            clap_complete::generate(c.shell, &mut Cli::command(), "pyasm", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Cmd::Python(p) => cmd_python(p),
    }
}

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal(),
    }
}

fn fail_io(msg: String) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

/// Reads one source file into `files`. `Err` carries the exit code (the problem is printed).
fn read_source(files: &mut SourceFiles, path: &Path, c: &CommonArgs) -> Result<(u32, Vec<u8>), ExitCode> {
    let stdin = path.as_os_str() == "-";
    let source = if stdin {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map_err(|e| fail_io(format!("cannot read standard input: {e}")))?;
        buf
    } else {
        std::fs::read(path).map_err(|e| fail_io(format!("cannot read {}: {e}", path.display())))?
    };
    let name = if stdin { "<stdin>".to_string() } else { path.display().to_string() };
    match String::from_utf8(source.clone()) {
        Ok(t) => Ok((files.add(name, t), source)),
        Err(e) => {
            // Point at the first bad byte: everything before it is the same in the lossy text.
            let at = e.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(&source).into_owned();
            let file = files.add(name, lossy);
            let d = pyasm::diagnostics::Diagnostic::error(pyasm::diagnostics::codes::LEX, "this file is not UTF-8 text")
                .with_primary(pyasm::syntax::ast::Span::new(file, at, at + 1), "this byte cannot start or continue a UTF-8 character")
                .with_help("save the file as UTF-8; write other characters in strings with \\x, \\u or \\U escapes");
            print_diags(files, &[d], c);
            Err(ExitCode::from(1))
        }
    }
}

/// Reads the module's files (`c.file` and `c.more`), assembles them together and prints
/// diagnostics. Returns the result and the sources' bytes (for the pyc header). `Err`
/// carries the exit code to use.
fn assemble_file(c: &CommonArgs) -> Result<(pyasm::Assembled, Vec<u8>), ExitCode> {
    let mut files = SourceFiles::new();
    let (out, source, _) = assemble_module(&mut files, &c.inputs(), c)?;
    Ok((out, source))
}

/// Assembles the files `paths` as one module into `files`; also returns the id of the first.
fn assemble_module(files: &mut SourceFiles, paths: &[PathBuf], c: &CommonArgs) -> Result<(pyasm::Assembled, Vec<u8>, u32), ExitCode> {
    if paths.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        return Err(fail_io("standard input (`-`) can be read only once".into()));
    }
    let mut ids = Vec::new();
    let mut source = Vec::new();
    let mut failed = None;
    for p in paths {
        match read_source(files, p, c) {
            Ok((id, bytes)) => {
                ids.push(id);
                source.extend_from_slice(&bytes);
            }
            Err(code) => failed = Some(code),
        }
    }
    if let Some(code) = failed {
        return Err(code);
    }
    let declares_version = ids.iter().any(|&f| files.text(f).lines().any(|l| l.trim_start().starts_with(".python")));
    let default_version = if c.python.is_none() && !declares_version { Some(default_version(c.report.verbose)) } else { None };
    let opts = pyasm::Options { version: c.python, default_version, filename: None, listing: c.listing };
    let shown = paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    match pyasm::assemble_files(files, &ids, &opts) {
        Ok(out) => {
            if !c.report.quiet {
                print_diags(files, &out.warnings, c);
            }
            if c.report.verbose {
                eprintln!("pyasm: assembled {shown} for Python {}", out.version.version);
            }
            Ok((out, source, ids[0]))
        }
        Err(diags) => {
            print_diags(files, &diags, c);
            let n = diags.iter().filter(|d| d.is_error()).count();
            if matches!(c.report.message_format, MessageFormat::Human) {
                eprintln!("error: {shown} not assembled: {n} error{}", if n == 1 { "" } else { "s" });
            }
            Err(ExitCode::from(1))
        }
    }
}

impl CommonArgs {
    fn inputs(&self) -> Vec<PathBuf> {
        std::iter::once(self.file.clone()).chain(self.more.iter().cloned()).collect()
    }
}

fn print_diags(files: &SourceFiles, diags: &[Diagnostic], c: &CommonArgs) {
    if diags.is_empty() {
        return;
    }
    let text = match c.report.message_format {
        MessageFormat::Human => files.render(diags, use_color(c.report.color)),
        MessageFormat::Json => diags.iter().map(|d| files.to_json(d) + "\n").collect(),
    };
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// The version of the `python3` on PATH when pyasm supports it, else the newest supported.
fn default_version(verbose: bool) -> PythonVersion {
    let newest = version::newest_supported();
    let found = Command::new("python3")
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<PythonVersion>().ok());
    match found {
        Some(v) if version::supported().any(|s| s == v) => {
            if verbose {
                eprintln!("pyasm: no --python or .python given; targeting {v}, the version of python3 on PATH");
            }
            v
        }
        other => {
            if verbose {
                match other {
                    Some(v) => eprintln!("pyasm: python3 on PATH is {v}, which pyasm does not support; targeting {newest}"),
                    None => eprintln!("pyasm: no python3 on PATH; targeting {newest}, the newest supported version"),
                }
            }
            newest
        }
    }
}

fn header_for(source: &[u8], path: &Path, magic: u16, hash: Option<HashMode>) -> PycHeader {
    match hash {
        Some(mode) => PycHeader::Hash { checked: matches!(mode, HashMode::Checked), hash: source_hash(magic, source) },
        None => {
            let mtime = std::fs::metadata(path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs() as u32)
                .unwrap_or(0);
            PycHeader::Timestamp { mtime, source_size: source.len() as u32 }
        }
    }
}

fn cmd_assemble(a: AssembleArgs) -> ExitCode {
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

fn assemble_one(c: &CommonArgs, output: Option<PathBuf>, hash: Option<HashMode>) -> ExitCode {
    let (out, source) = match assemble_file(c) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if hash.is_some() && !pyasm::emit::pyc::supports_hash(out.version.magic) {
        eprintln!(
            "error: Python {} pycs cannot be hash-based (PEP 552 came with 3.7); leave out --hash",
            out.version.version
        );
        return ExitCode::FAILURE;
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

/// Writes to `target` atomically, or to stdout for `-`.
fn write_output(target: &Path, bytes: &[u8]) -> ExitCode {
    if target.as_os_str() == "-" {
        let mut stdout = std::io::stdout().lock();
        return match stdout.write_all(bytes).and_then(|_| stdout.flush()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail_io(format!("cannot write to stdout: {e}")),
        };
    }
    match write_atomically(target, bytes) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail_io(format!("cannot write {}: {e}", target.display())),
    }
}

/// Runs `job(input, output path)` over every input on all cores; each failure is reported
/// (by the job) without stopping the others. Exit status: the worst of the jobs'.
fn batch(files: &[PathBuf], dir: &Path, ext: &str, jobs: Option<usize>, job: impl Fn(&Path, PathBuf) -> ExitCode + Sync) -> ExitCode {
    if let Err(e) = std::fs::create_dir_all(dir) {
        return fail_io(format!("cannot create {}: {e}", dir.display()));
    }
    let mut seen = std::collections::HashSet::new();
    for f in files {
        let name = f.with_extension(ext);
        let name = name.file_name().unwrap_or_default().to_owned();
        if !seen.insert(name.clone()) {
            return fail_io(format!("two inputs would both write {}", dir.join(name).display()));
        }
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let worst = std::sync::atomic::AtomicU8::new(0);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let workers = jobs.unwrap_or(cores).max(1).min(files.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            // The main thread's 8 MB, not a spawned thread's default 2 MB: deeply nested
            // expressions recurse deeply in the assembler and the disassembler's self-check.
            let worker = std::thread::Builder::new().stack_size(8 << 20);
            let spawned = worker.spawn_scoped(s, || {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(f) = files.get(i) else { break };
                    let target = dir.join(f.with_extension(ext).file_name().unwrap_or_default());
                    let code = job(f, target);
                    let level = if code == ExitCode::SUCCESS { 0 } else if code == ExitCode::from(1) { 1 } else { 2 };
                    worst.fetch_max(level, std::sync::atomic::Ordering::Relaxed);
                }
            });
            if let Err(e) = spawned {
                eprintln!("error: cannot start a worker thread: {e}");
                worst.fetch_max(2, std::sync::atomic::Ordering::Relaxed);
            }
        }
    });
    ExitCode::from(worst.into_inner())
}

fn cmd_dis(d: DisArgs) -> ExitCode {
    if d.files.iter().any(|f| is_application(f)) {
        if d.files.len() > 1 {
            return fail_io("disassemble one application (.pyz or folder) at a time".into());
        }
        if d.listing {
            return fail_io("--listing is for one .pyc, not an application".into());
        }
        return dis_application(&d.files[0], d.output.as_deref().or(d.batch.out_dir.as_deref()));
    }
    match &d.batch.out_dir {
        Some(dir) => batch(&d.files, dir, "pyasm", d.batch.jobs, |file, target| dis_one(file, Some(&target), false)),
        None if d.files.len() > 1 => fail_io("several input files need --out-dir DIR".into()),
        None => dis_one(&d.files[0], d.output.as_deref(), d.listing),
    }
}

/// Disassembles one file into `target` (stdout when `None` or `-`). With `listing`, prints the
/// listing on stdout, and the text only when a target was named.
fn dis_one(file: &Path, target: Option<&Path>, listing: bool) -> ExitCode {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => return fail_io(format!("cannot read {}: {e}", file.display())),
    };
    let pyc = match pyasm::load::load_pyc(&bytes) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return ExitCode::from(1);
        }
    };
    let Some(table) = pyasm::opcodes::TABLES.iter().copied().find(|t| t.magic == pyc.magic) else {
        eprintln!("error: {}: magic number {} is not a version pyasm supports", file.display(), pyc.magic);
        return ExitCode::from(1);
    };
    if listing {
        let (text, dis) = match pyasm::dis::listing(&pyc.code, table) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("error: {}: {e}", file.display());
                return ExitCode::from(1);
            }
        };
        for m in &dis.mismatches {
            eprintln!("warning: {}: the disassembly does not reproduce {m}", file.display());
            if m.ends_with(": co_code") {
                eprintln!("warning: {}: so the listing of that code object shows pyasm's bytes, not the file's", file.display());
            }
        }
        if let Some(t) = target {
            if t.as_os_str() == "-" {
                return fail_io("--listing prints to stdout; give -o a file for the .pyasm text".into());
            }
            let code = write_output(t, dis.text.as_bytes());
            if code != ExitCode::SUCCESS {
                return code;
            }
        }
        print!("{text}");
        return ExitCode::SUCCESS;
    }
    let target = target.unwrap_or(Path::new("-"));
    match pyasm::dis::disassemble(&pyc.code, table) {
        Ok(dis) => {
            for m in &dis.mismatches {
                eprintln!("warning: {}: the disassembly does not reproduce {m}", file.display());
            }
            write_output(target, dis.text.as_bytes())
        }
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            ExitCode::from(1)
        }
    }
}

fn cmd_explain(e: ExplainArgs) -> ExitCode {
    let v = e.python.unwrap_or_else(|| default_version(false));
    let Some(table) = pyasm::opcodes::table_for(v) else {
        let supported: Vec<String> = version::supported().map(|v| v.to_string()).collect();
        return fail_io(format!("Python {v} is not supported (supported: {})", supported.join(", ")));
    };
    if e.list {
        print!("{}", pyasm::explain::list(table));
        return ExitCode::SUCCESS;
    }
    match pyasm::explain::explain(e.opcode.as_deref().unwrap_or_default(), table) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::from(1)
        }
    }
}

/// Writes to a temporary file beside `target`, then renames it into place, so a failed run
/// never leaves a half-written or clobbered output.
fn write_atomically(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // A temporary file is created private (0600); what the compiler writes is an ordinary
    // file: 0666 less the umask (the OS applies it to the mode given at creation).
    let mut builder = tempfile::Builder::new();
    builder.prefix(".pyasm-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(&dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(target).map_err(|e| e.error)?;
    Ok(())
}

fn cmd_check(c: CommonArgs) -> ExitCode {
    match assemble_file(&c) {
        Ok((out, _)) => {
            if let Some(listing) = &out.listing {
                print!("{listing}");
            }
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

fn cmd_run(r: RunArgs) -> ExitCode {
    let (out, source) = match assemble_file(&r.common) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let v = out.version.version;
    let python = match interpreter_for(v, r.install_interpreter, r.common.report.verbose) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return fail_io(format!("cannot create a temporary folder: {e}")),
    };
    let stem = r.common.file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "program".into());
    let pyc = dir.path().join(format!("{stem}.pyc"));
    let bytes = out.to_pyc(&header_for(&source, &r.common.file, out.version.magic, None));
    if let Err(e) = std::fs::write(&pyc, bytes) {
        return fail_io(format!("cannot write {}: {e}", pyc.display()));
    }
    run_interpreter(&python, python.command().arg(&pyc).args(&r.args))
}

/// A CPython `v` for running something: found on this machine, or (when asked, by the flag or
/// `PYASM_INSTALL_PYODIDE=1`) installed from pyodide. Without one, says how to get one.
fn interpreter_for(v: PythonVersion, install: bool, verbose: bool) -> Result<Interpreter, ExitCode> {
    let install = install || std::env::var("PYASM_INSTALL_PYODIDE").is_ok_and(|x| !x.is_empty() && x != "0");
    let search = interpreters::search(v);
    let python = match search.found {
        Some(p) => p,
        None if install => {
            if verbose {
                eprintln!("pyasm: no CPython {v} found; installing pyodide's");
            }
            interpreters::install_pyodide(v).map_err(|e| {
                fail_io(format!("cannot install an interpreter: {e}\n{}", interpreters::how_to_get(v, &search.tried)))
            })?
        }
        None => return Err(fail_io(interpreters::how_to_get(v, &search.tried))),
    };
    if verbose {
        eprintln!("pyasm: running with {}", python.describe());
    }
    Ok(python)
}

/// Runs the interpreter and passes on its exit status.
fn run_interpreter(python: &Interpreter, command: &mut Command) -> ExitCode {
    match command.status() {
        Ok(status) => match status.code() {
            Some(c) => ExitCode::from(c.clamp(0, 255) as u8),
            None => {
                use std::os::unix::process::ExitStatusExt;
                let sig = status.signal().unwrap_or(0);
                eprintln!(
                    "error: {} was killed by signal {sig}{}",
                    python.describe(),
                    if sig == 11 { " (a segmentation fault: the bytecode corrupted the interpreter's stack or memory)" } else { "" }
                );
                ExitCode::from(1)
            }
        },
        Err(e) => fail_io(format!("cannot run {}: {e}", python.describe())),
    }
}

fn cmd_python(p: PythonArgs) -> ExitCode {
    let python = match interpreter_for(p.version, p.install_interpreter, p.verbose) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if p.which {
        println!("{}", python.describe());
        return ExitCode::SUCCESS;
    }
    run_interpreter(&python, python.command().args(&p.args))
}

fn cmd_link(l: LinkArgs) -> ExitCode {
    use pyasm::link::modules;
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
            Err(code) if code == ExitCode::from(1) => failed = true,
            Err(code) => return code,
        }
    }
    if failed {
        return ExitCode::from(1);
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
            return ExitCode::from(1);
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
        let archive = match pyasm::link::pyz::write(shebang.as_bytes(), &members) {
            Ok(a) => a,
            Err(e) => return fail_io(e),
        };
        let code = write_output(&l.output, &archive);
        if code == ExitCode::SUCCESS {
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
    ExitCode::SUCCESS
}

/// The first non-blank line of a file (where "named after this file" points), or its start.
fn first_line(files: &SourceFiles, id: u32) -> pyasm::syntax::ast::Span {
    let text = files.text(id);
    let mut at = 0usize;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if !trimmed.trim_start().is_empty() {
            let start = at + (trimmed.len() - trimmed.trim_start().len());
            return pyasm::syntax::ast::Span::new(id, start, at + trimmed.len());
        }
        at += line.len();
    }
    pyasm::syntax::ast::Span::new(id, 0, 0)
}

/// Whether `path` ends in `.EXT`, in any case (`APP.PYZ` is a zip application too).
fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension().is_some_and(|x| x.to_string_lossy().eq_ignore_ascii_case(ext))
}

/// Whether `-o path` (or an input) names a zip application: the one rule for `.pyz`.
fn is_pyz(path: &Path) -> bool {
    has_extension(path, "pyz")
}

/// Whether `path` is an application (a folder, or a zip with or without a `#!` line).
fn is_application(path: &Path) -> bool {
    if path.is_dir() || is_pyz(path) {
        return true;
    }
    let mut head = [0u8; 4];
    std::fs::File::open(path).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head)).is_ok()
        && (head == *b"PK\x03\x04" || head.starts_with(b"#!"))
}

/// The `.pyc` files under a folder, as member paths (`pkg/mod.pyc`), bounded.
fn pyc_files(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), String> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if out.len() >= pyasm::link::modules::MAX_MODULES {
            return Err(format!("{}: more than {} modules", root.display(), pyasm::link::modules::MAX_MODULES));
        }
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "__pycache__") {
                pyc_files(root, &p, out)?;
            }
        } else if p.extension().is_some_and(|x| x == "pyc") {
            let rel = p.strip_prefix(root).unwrap_or(&p);
            let name = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/");
            let bytes = std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            out.push((name, bytes));
        }
    }
    Ok(())
}

/// Disassembles every module of an application: into `target` (a folder, one .pyasm per
/// module in the package layout `pyasm link` reads), or to stdout under `# module` headers.
fn dis_application(input: &Path, target: Option<&Path>) -> ExitCode {
    if let Some(t) = target.filter(|t| has_extension(t, "pyasm") || has_extension(t, "pyc") || is_pyz(t)) {
        return fail_io(format!(
            "-o {}: an application disassembles into a folder (one .pyasm per module): give -o DIR, or no -o for stdout",
            t.display()
        ));
    }
    let mut owned: Vec<(String, Vec<u8>)> = Vec::new();
    let archive;
    let members: Vec<(String, &[u8])> = if input.is_dir() {
        if let Err(e) = pyc_files(input, input, &mut owned) {
            return fail_io(e);
        }
        owned.iter().map(|(n, b)| (n.clone(), b.as_slice())).collect()
    } else {
        archive = match std::fs::read(input) {
            Ok(b) => b,
            Err(e) => return fail_io(format!("cannot read {}: {e}", input.display())),
        };
        match pyasm::link::pyz::read(&archive) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("error: {}: {e}", input.display());
                return ExitCode::from(1);
            }
        }
    };
    let mut modules: Vec<(String, bool, &[u8])> = Vec::new();
    for (path, bytes) in &members {
        match pyasm::link::modules::module_of_member(path) {
            Some((name, pkg)) => modules.push((name, pkg, *bytes)),
            None if path.ends_with(".pyc") && !path.contains("__pycache__") => {
                eprintln!("warning: {}: {path:?} is not the path of a module; skipped", input.display())
            }
            None => {}
        }
    }
    modules.sort_by(|a, b| a.0.cmp(&b.0));
    // As for a folder (`pyc_files`): an archive may hold 65,535 members, far more than an
    // application needs, and each is disassembled.
    if modules.len() > pyasm::link::modules::MAX_MODULES {
        eprintln!("error: {}: more than {} modules", input.display(), pyasm::link::modules::MAX_MODULES);
        return ExitCode::from(1);
    }
    if modules.is_empty() {
        eprintln!("error: {}: no .pyc modules in it", input.display());
        return ExitCode::from(1);
    }
    let mut status = ExitCode::SUCCESS;
    let mut first = true;
    let mut printed = String::new();
    for (name, is_package, bytes) in modules {
        let shown = format!("{}: module {name}", input.display());
        let text = match pyasm::load::load_pyc(bytes).map_err(|e| e.to_string()).and_then(|pyc| {
            let table = pyasm::opcodes::TABLES
                .iter()
                .copied()
                .find(|t| t.magic == pyc.magic)
                .ok_or_else(|| format!("magic number {} is not a version pyasm supports", pyc.magic))?;
            pyasm::dis::disassemble(&pyc.code, table)
        }) {
            Ok(dis) => {
                for m in &dis.mismatches {
                    eprintln!("warning: {shown}: the disassembly does not reproduce {m}");
                }
                dis.text
            }
            Err(e) => {
                eprintln!("error: {shown}: {e}");
                status = ExitCode::from(1);
                continue;
            }
        };
        match target {
            Some(dir) if dir.as_os_str() != "-" => {
                let rel = pyasm::link::modules::member_path(&name, is_package);
                let path = dir.join(rel.replace(".pyc", ".pyasm"));
                if let Some(parent) = path.parent() {
                    if let Err(e) = std::fs::create_dir_all(parent) {
                        return fail_io(format!("cannot create {}: {e}", parent.display()));
                    }
                }
                if let Err(e) = write_atomically(&path, text.as_bytes()) {
                    return fail_io(format!("cannot write {}: {e}", path.display()));
                }
            }
            _ => {
                if !first {
                    printed.push('\n');
                }
                first = false;
                printed.push_str(&format!("# module {name}{}\n", if is_package { " (package)" } else { "" }));
                printed.push_str(&text);
            }
        }
    }
    if !printed.is_empty() {
        let code = write_output(Path::new("-"), printed.as_bytes());
        if code != ExitCode::SUCCESS {
            return code;
        }
    }
    status
}
