//! The command line's definition (clap): every subcommand's arguments, and the options that
//! several share.
//!
//! The options of `ReportArgs` and `--python` are global: written before the subcommand
//! (`pyasm --python 3.12 link …`) they are moved after it (`hoist_global_options`), so each
//! subcommand accepts those that mean something for it and refuses the others as clap
//! refuses any unknown option. Given twice, the last one counts.

use crate::version::{self, PythonVersion};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;

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
  pyasm prog.pyasm --python all --out-dir build/
                                    a portable file (`.python 3.6-3.15`): one .pyc per version
  pyasm lower prog.pyasm --python 3.12
                                    the version-specific .pyasm a portable file becomes
  pyasm run hello.pyasm -- a b      assemble and run with the target version's python
  pyasm run --install-interpreter hello.pyasm
                                    the same, installing pyodide's CPython if none is found
  pyasm dis hello.pyc               print a .pyc as .pyasm
  pyasm dis --out-dir src/ *.pyc    disassemble many files in parallel
  pyasm dis hello.pyc --listing     offsets, bytes, operands, positions, stack depths of a .pyc
  pyasm explain LOAD_GLOBAL         what an instruction does, its operand and stack effect
  pyasm explain --list              every instruction of the target version
  pyasm completions bash            a completion script for the shell
  pyasm fmt --check examples/       which .pyasm files are not in the canonical layout
  pyasm lsp                         the language server, for editors (docs/editors.md)
  pyasm --python 3.11 --hash checked prog.pyasm
  pyasm --python 3.12 --color never link main.pyasm -o app.pyz
                                    --python, --color, --message-format, --quiet and --verbose
                                    go before or after the subcommand
  pyasm python 3.14 tools/gen_opcodes.py
                                    run the CPython 3.14 pyasm finds (native or pyodide)

The format is described in docs/format.md.";

#[derive(Parser)]
#[command(name = "pyasm", version = version_text(), about = "Assembler for hand-written CPython bytecode", after_help = EXAMPLES, args_override_self = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Assemble a .pyasm file into a .pyc (the default command); several files into one module with -o, each on its own with --out-dir.
    Assemble(AssembleArgs),
    /// Check a .pyasm file (or the files of one module) and report problems; writes nothing.
    Check(CommonArgs),
    /// Print the version-specific .pyasm that a portable file becomes for --python X.Y.
    Lower(CommonArgs),
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
    /// Run the language server on stdin/stdout, for editors (see docs/editors.md).
    Lsp(super::lsp::LspArgs),
    /// Lay out .pyasm files the one canonical way (in place; --check only reports).
    Fmt(super::fmt::FmtArgs),
}

#[derive(Args)]
pub struct ExplainArgs {
    /// The opcode name (any case), e.g. LOAD_GLOBAL.
    #[arg(required_unless_present = "list")]
    pub opcode: Option<String>,
    /// List every instruction of the version instead.
    #[arg(long, conflicts_with = "opcode")]
    pub list: bool,
    /// The Python version to explain for (default: as for assembling).
    #[arg(long, value_name = "X.Y")]
    pub python: Option<PythonVersion>,
}

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to write the script for.
    pub shell: clap_complete::Shell,
}

#[derive(Args)]
pub struct DisArgs {
    /// The .pyc file(s).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output file (default: stdout); `-` for stdout.
    #[arg(short, long, value_name = "FILE", conflicts_with = "out_dir")]
    pub output: Option<PathBuf>,
    /// Print the listing of the .pyc (offsets, bytes, operands, positions, stack depths); with
    /// -o the .pyasm text still goes to that file.
    #[arg(long, conflicts_with = "out_dir")]
    pub listing: bool,
    #[command(flatten)]
    pub batch: BatchArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Many inputs in one run, as a build system calls it.
#[derive(Args)]
pub struct BatchArgs {
    /// Write one output per input into this folder (NAME.pyc or NAME.pyasm), in parallel.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// How many files to process at once with --out-dir (default: one per core).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
}

#[derive(Args)]
pub struct CommonArgs {
    /// The .pyasm file (`-` reads standard input).
    pub file: PathBuf,
    /// More .pyasm files: with -o (or for check and run), files of the same module, assembled
    /// together; with --out-dir, each assembled on its own.
    #[arg(value_name = "MORE")]
    pub more: Vec<PathBuf>,
    /// Target Python version (overrides the file's `.python`), e.g. 3.11. For a portable
    /// file (`.python 3.6-3.15`) with --out-dir, several (`3.8,3.14`) or `all` it serves.
    #[arg(long, value_name = "X.Y")]
    pub python: Option<PythonArg>,
    /// Print the listing: offsets, encoded bytes, resolved operands, positions, stack depths.
    /// A portable file's is grouped under its portable lines (`lower`: instead of the text).
    #[arg(long)]
    pub listing: bool,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// `--python`: one version, several separated by commas, or `all` (every version a
/// portable file serves).
#[derive(Clone, Debug, PartialEq)]
pub enum PythonArg {
    All,
    Versions(Vec<PythonVersion>),
}

impl std::str::FromStr for PythonArg {
    type Err = String;
    fn from_str(s: &str) -> Result<PythonArg, String> {
        if s == "all" {
            return Ok(PythonArg::All);
        }
        let vs: Result<Vec<PythonVersion>, String> = s.split(',').map(|v| v.parse::<PythonVersion>()).collect();
        Ok(PythonArg::Versions(vs?))
    }
}

impl PythonArg {
    /// The one version named, `None` for `all` or several.
    pub fn one(&self) -> Option<PythonVersion> {
        match self {
            PythonArg::Versions(v) if v.len() == 1 => Some(v[0]),
            _ => None,
        }
    }
}

/// How a command reports: shared by every command that assembles or disassembles.
#[derive(Args, Clone, Copy)]
pub struct ReportArgs {
    /// When to use colour in messages.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Say which version is targeted and why, and what is written.
    #[arg(short, long)]
    pub verbose: bool,
    /// Do not print warnings (errors are always printed).
    #[arg(short, long)]
    pub quiet: bool,
    /// How messages are printed (on stderr): for people, or one JSON object per line.
    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum MessageFormat {
    Human,
    Json,
}

#[derive(Args)]
pub struct AssembleArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Output file; `-` for stdout. Default: the input with the extension .pyc. A name
    /// ending in .pyz links the inputs as modules of an application (as `pyasm link`).
    #[arg(short, long, value_name = "FILE", conflicts_with = "out_dir")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub batch: BatchArgs,
    /// Write a hash-based pyc (PEP 552) instead of a timestamp-based one.
    #[arg(long, value_enum)]
    pub hash: Option<HashMode>,
}

#[derive(Args)]
pub struct LinkArgs {
    /// Module files (.pyasm) and package folders (with __init__.pyasm), or source folders.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// APP.pyz for a zip application, else a folder that receives one .pyc per module.
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// The module `python app.pyz` runs (default: the first input given as a file, else a
    /// module named __main__).
    #[arg(long, value_name = "NAME")]
    pub main: Option<String>,
    /// Target Python version (overrides the files' `.python`), e.g. 3.11.
    #[arg(long, value_name = "X.Y")]
    pub python: Option<PythonVersion>,
    /// Write hash-based pycs (PEP 552) instead of timestamp-based ones.
    #[arg(long, value_enum)]
    pub hash: Option<HashMode>,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// When no CPython of the target version is found, install pyodide's build of it (from
    /// npm, run by node) into pyasm's cache. PYASM_INSTALL_PYODIDE=1 does the same.
    #[arg(long)]
    pub install_interpreter: bool,
    /// Arguments passed to the program (after `--`).
    #[arg(last = true)]
    pub args: Vec<String>,
}

#[derive(Args)]
pub struct PythonArgs {
    /// When no CPython of this version is found, install pyodide's build of it (as for `run`).
    #[arg(long)]
    pub install_interpreter: bool,
    /// Print which interpreter would run, and exit.
    #[arg(long)]
    pub which: bool,
    /// Say which interpreter runs.
    #[arg(short, long)]
    pub verbose: bool,
    /// The Python version, e.g. 3.14.
    #[arg(value_name = "X.Y")]
    pub version: PythonVersion,
    /// What `python3` would be given: `FILE.py ARGS…`, `FILE.pyc ARGS…`, `-c CODE ARGS…`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum HashMode {
    Checked,
    Unchecked,
}

/// `pyasm --version` also lists the Python versions this build can target.
fn version_text() -> &'static str {
    // Built once per process (a host may run many command lines), for clap, which wants a
    // 'static string.
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let versions: Vec<String> = version::supported().map(|v| v.to_string()).collect();
        format!("{} (targets Python {})", env!("CARGO_PKG_VERSION"), versions.join(", "))
    })
}

impl CommonArgs {
    /// The module's files: the first and the more.
    pub fn inputs(&self) -> Vec<PathBuf> {
        std::iter::once(self.file.clone()).chain(self.more.iter().cloned()).collect()
    }
}

/// The subcommands, and the words clap itself answers at the top level; any other first
/// argument (after the global options) starts the inputs of the implicit `assemble`.
const SUBCOMMANDS: &[&str] = &["assemble", "check", "lower", "link", "run", "dis", "explain", "completions", "python", "lsp", "fmt", "help"];
const TOP_LEVEL: &[&str] = &["-h", "--help", "-V", "--version"];

/// Global options that take a value, and those that do not.
const GLOBAL_WITH_VALUE: &[&str] = &["--python", "--color", "--message-format"];
const GLOBAL_FLAGS: &[&str] = &["-v", "--verbose", "-q", "--quiet", "-vq", "-qv"];

/// The arguments as clap reads them: global options written before the subcommand are moved
/// after it, and `pyasm [OPTIONS] FILE …` becomes `pyasm assemble [OPTIONS] FILE …`.
pub fn hoist_global_options(argv: Vec<OsString>) -> Vec<OsString> {
    let mut args = argv.into_iter();
    let Some(program) = args.next() else { return Vec::new() };
    let rest: Vec<OsString> = args.collect();
    let mut hoisted: Vec<OsString> = Vec::new();
    let mut i = 0;
    while let Some(a) = rest.get(i).and_then(|a| a.to_str()) {
        let with_value = GLOBAL_WITH_VALUE.contains(&a);
        let joined = GLOBAL_WITH_VALUE.iter().any(|g| a.strip_prefix(g).is_some_and(|v| v.starts_with('=')));
        if with_value && i + 1 < rest.len() {
            hoisted.extend_from_slice(&rest[i..i + 2]);
            i += 2;
        } else if joined || GLOBAL_FLAGS.contains(&a) {
            hoisted.push(rest[i].clone());
            i += 1;
        } else {
            break;
        }
    }
    let next = rest.get(i).and_then(|a| a.to_str());
    let mut out = vec![program];
    if rest.is_empty() {
        return out; // `pyasm` alone: clap says what is missing.
    }
    match next {
        // `pyasm --verbose --help`: as written, for clap to answer (or refuse).
        Some(a) if TOP_LEVEL.contains(&a) => out.extend(hoisted.into_iter().chain(rest[i..].iter().cloned())),
        Some(a) if SUBCOMMANDS.contains(&a) => {
            out.push(rest[i].clone());
            out.extend(hoisted);
            out.extend_from_slice(&rest[i + 1..]);
        }
        _ => {
            out.push("assemble".into());
            out.extend(hoisted);
            out.extend_from_slice(&rest[i..]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::hoist_global_options;
    use std::ffi::OsString;

    fn hoist(args: &[&str]) -> Vec<String> {
        let argv: Vec<OsString> = std::iter::once("pyasm").chain(args.iter().copied()).map(OsString::from).collect();
        hoist_global_options(argv).into_iter().skip(1).map(|a| a.into_string().unwrap()).collect()
    }

    #[test]
    fn global_options_move_after_the_subcommand() {
        assert_eq!(hoist(&["--python", "3.12", "link", "a.pyasm", "-o", "x.pyz"]), ["link", "--python", "3.12", "a.pyasm", "-o", "x.pyz"]);
        assert_eq!(hoist(&["--color=never", "-q", "check", "x.pyasm"]), ["check", "--color=never", "-q", "x.pyasm"]);
        assert_eq!(hoist(&["--python", "3.12", "x.pyasm"]), ["assemble", "--python", "3.12", "x.pyasm"]);
        assert_eq!(hoist(&["x.pyasm", "--python", "3.12"]), ["assemble", "x.pyasm", "--python", "3.12"]);
        assert_eq!(hoist(&["dis", "--color", "never", "x.pyc"]), ["dis", "--color", "never", "x.pyc"]);
        assert_eq!(hoist(&["-o", "out.pyc", "x.pyasm"]), ["assemble", "-o", "out.pyc", "x.pyasm"]);
        assert_eq!(hoist(&["--version"]), ["--version"]);
        assert_eq!(hoist(&["-v", "--help"]), ["-v", "--help"]);
        // A value-taking option at the very end is left for clap to report.
        assert_eq!(hoist(&["--python"]), ["assemble", "--python"]);
        // A file named like a subcommand is reached with `assemble` or `./`.
        assert_eq!(hoist(&["--quiet", "-"]), ["assemble", "--quiet", "-"]);
        assert!(hoist(&[]).is_empty());
    }
}
