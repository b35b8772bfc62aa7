//! `pyasm-difftest`: run differential campaigns (see the library's docs and DEVELOPERS.md).

use clap::Parser;
use pyasm::version::PythonVersion;
use pyasm_difftest::campaign::{self, Config, Figures};
use std::path::PathBuf;
use std::time::Duration;

/// Mutates real programs of a Python version, assembles them with pyasm and runs every
/// accepted one in that version's real interpreter; counts how each ended and saves the crashes.
#[derive(Parser)]
#[command(name = "pyasm-difftest", disable_version_flag = true)]
struct Args {
    /// Versions to test: `3.12`, `3.11,3.12`, or `all` (each one the machine has an interpreter for).
    #[arg(long = "version", default_value = "all")]
    versions: String,
    /// Mutants per version.
    #[arg(long, default_value_t = 2000)]
    count: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Folder for the figures (`summary.md`, `X.Y/figures.tsv`) and the crashes (`X.Y/crashes/`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Seconds a program may run (default 2 natively, 10 under pyodide).
    #[arg(long)]
    timeout: Option<f64>,
    /// Do not shrink crash reproducers.
    #[arg(long)]
    no_reduce: bool,
    /// Seconds for shrinking the reproducers of one version.
    #[arg(long, default_value_t = 240)]
    reduce_budget: u64,
    /// Random snippets beside the corpus (default count/25, between 8 and 400).
    #[arg(long)]
    random_snippets: Option<usize>,
    /// Percent of mutants transplanted from a neighbouring version.
    #[arg(long, default_value_t = 8)]
    transplant: usize,
    /// Install pyodide for a version that has no interpreter here.
    #[arg(long)]
    install_interpreter: bool,
    /// Only write OUT/summary.md again from the versions' figures and classes already in OUT
    /// (campaigns of several versions run separately, into one folder).
    #[arg(long, requires = "out")]
    summary_only: bool,
}

fn main() {
    let args = Args::parse();
    if args.summary_only {
        let out = args.out.as_ref().expect("clap requires --out");
        if let Err(e) = pyasm_difftest::crashes::write_summary(out) {
            eprintln!("pyasm-difftest: {}: {e}", out.display());
            std::process::exit(2);
        }
        println!("{}", out.join("summary.md").display());
        return;
    }
    let versions: Vec<PythonVersion> = if args.versions == "all" {
        pyasm::version::supported().collect()
    } else {
        match args.versions.split(',').map(|s| s.parse()).collect::<Result<Vec<_>, _>>() {
            Ok(v) => v,
            Err(e) => {
                eprintln!("pyasm-difftest: {e}");
                std::process::exit(2);
            }
        }
    };
    let mut rows = Vec::new();
    let mut failed = false;
    for v in versions {
        let mut cfg = Config::new(v, args.count, args.seed);
        cfg.out = args.out.clone();
        cfg.timeout = args.timeout.map(Duration::from_secs_f64);
        cfg.reduce = !args.no_reduce;
        cfg.reduce_budget = Duration::from_secs(args.reduce_budget);
        cfg.random_snippets = args.random_snippets;
        cfg.transplant_percent = args.transplant;
        cfg.install = args.install_interpreter;
        cfg.progress = true;
        match campaign::run(&cfg) {
            Ok(f) => {
                eprintln!("[{v}] done: {}", f.row_md().trim());
                rows.push(f);
            }
            Err(e) => {
                eprintln!("pyasm-difftest: {v}: {e}");
                failed = true;
            }
        }
    }
    print!("{}", Figures::header_md());
    for f in &rows {
        print!("{}", f.row_md());
    }
    if let Some(out) = &args.out {
        println!("\ncrashes and reproducers: {}", out.join("summary.md").display());
    }
    if failed {
        std::process::exit(1);
    }
}
