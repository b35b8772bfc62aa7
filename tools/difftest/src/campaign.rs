//! One version's campaign: build the base programs, make `count` mutants, assemble each with
//! pyasm, run every accepted one in the version's real interpreter, count the outcomes, save
//! the crashes by class and shrink one reproducer per class.

use crate::base::{self, Base, FILENAME};
use crate::choice::{Choices, Seeded};
use crate::crashes::{Crash, Store, faulting_op, write_summary};
use crate::mutate::{self, Mutation};
use crate::reduce;
use crate::runner::{Driver, Outcome};
use pyasm::interpreters::{self, Interpreter};
use pyasm::version::PythonVersion;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct Config {
    pub version: PythonVersion,
    /// Mutants to generate.
    pub count: usize,
    pub seed: u64,
    /// Where figures and crashes go (`OUT/X.Y/…`, `OUT/summary.md`); nothing is saved without.
    pub out: Option<PathBuf>,
    /// Per program; default 2 s natively, 10 s under pyodide.
    pub timeout: Option<Duration>,
    /// Shrink one example of each crash class (natives only).
    pub reduce: bool,
    /// Time for shrinking all classes of the version together.
    pub reduce_budget: Duration,
    /// Install pyodide when no interpreter is found.
    pub install: bool,
    /// Random snippets beside the corpus; default `count / 25`, between 8 and 400.
    pub random_snippets: Option<usize>,
    /// Percent of mutants that are transplants from a neighbouring version.
    pub transplant_percent: usize,
    /// Print progress on stderr.
    pub progress: bool,
}

impl Config {
    pub fn new(version: PythonVersion, count: usize, seed: u64) -> Config {
        Config {
            version,
            count,
            seed,
            out: None,
            timeout: None,
            reduce: true,
            reduce_budget: Duration::from_secs(240),
            install: false,
            random_snippets: None,
            transplant_percent: 8,
            progress: false,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    pub version: String,
    pub interpreter: String,
    pub generated: usize,
    pub refused: usize,
    pub accepted: usize,
    pub clean: usize,
    pub raised: usize,
    pub timed_out: usize,
    pub crashed: usize,
    pub classes: usize,
    /// Base programs (snippets compiled, disassembled, reassembled and run clean unmutated).
    pub bases: usize,
    /// Snippets left out as bases, with why.
    pub base_notes: Vec<String>,
    pub restarts: usize,
    pub seconds: u64,
    /// Per mutation kind: programs generated with it, accepted, crashed (a program of
    /// several kinds counts under each).
    pub kinds: std::collections::BTreeMap<String, [usize; 3]>,
}

impl Figures {
    pub fn accepted_percent(&self) -> f64 {
        if self.generated == 0 { 0.0 } else { 100.0 * self.accepted as f64 / self.generated as f64 }
    }

    pub fn header_md() -> String {
        "| version | interpreter | generated | refused | accepted | % accepted | ran clean | raised | timed out | crashed | crash classes | time |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
            .to_string()
    }

    fn tsv(&self) -> String {
        format!(
            "version\tinterpreter\tgenerated\trefused\taccepted\tclean\traised\ttimed_out\tcrashed\tclasses\tseconds\n{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            self.version, self.interpreter, self.generated, self.refused, self.accepted, self.clean, self.raised, self.timed_out, self.crashed, self.classes, self.seconds
        )
    }

    /// A `figures.tsv` data row as a Markdown table row.
    pub fn tsv_to_md(row: &str) -> String {
        let f: Vec<&str> = row.split('\t').collect();
        if f.len() < 11 {
            return String::new();
        }
        let n = |i: usize| f[i].parse::<f64>().unwrap_or(0.0);
        let pct = if n(2) > 0.0 { 100.0 * n(4) / n(2) } else { 0.0 };
        format!("| {} | {} | {} | {} | {} | {pct:.1}% | {} | {} | {} | {} | {} | {} s |\n", f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10])
    }

    pub fn row_md(&self) -> String {
        Self::tsv_to_md(self.tsv().lines().nth(1).unwrap_or(""))
    }
}

/// The interpreter of `version`: native first, else an installed pyodide (installed when
/// `install`).
pub fn interpreter(version: PythonVersion, install: bool) -> Result<Interpreter, String> {
    let s = interpreters::search(version);
    match s.found {
        Some(i) => Ok(i),
        None if install => interpreters::find_or_install(version),
        None => Err(interpreters::how_to_get(version, &s.tried)),
    }
}

/// Runs one version's campaign.
pub fn run(cfg: &Config) -> Result<Figures, String> {
    let started = Instant::now();
    let v = cfg.version;
    let table = pyasm::opcodes::table_for(v).ok_or_else(|| format!("Python {v} is not supported"))?;
    let interp = interpreter(v, cfg.install)?;
    let pyodide = interp.is_pyodide();
    let timeout = cfg.timeout.unwrap_or(Duration::from_secs(if pyodide { 10 } else { 2 }));
    let scratch = tempfile::Builder::new().prefix("pyasm-difftest-").tempdir().map_err(|e| e.to_string())?;
    let root = scratch.path().to_path_buf();
    let mut figures = Figures { version: v.to_string(), interpreter: interp.describe(), ..Default::default() };
    let say = |s: &str| {
        if cfg.progress {
            eprintln!("[{v}] {s}");
        }
    };
    say(&format!("interpreter {}", interp.describe()));
    let mut driver = Driver::new(interp, &root, timeout)?;
    let random = cfg.random_snippets.unwrap_or((cfg.count / 25).clamp(8, 400));
    let (bases, notes) = prepare(&mut driver, &root, v, random, cfg.seed)?;
    figures.base_notes = notes;
    let pyc = root.join("m.pyc");
    figures.bases = bases.len();
    say(&format!("{} base programs ({} snippets left out)", bases.len(), figures.base_notes.len()));
    let donors = donors(cfg, &root);
    say(&format!("{} programs of neighbouring versions to transplant", donors.len()));

    let crash_dir = cfg.out.as_ref().map(|o| o.join(v.to_string()).join("crashes"));
    if let Some(d) = &crash_dir {
        let _ = std::fs::remove_dir_all(d);
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let reproduce = format!("pyasm-difftest --version {v} --count {} --seed {} (program INDEX)", cfg.count, cfg.seed);
    let mut store = Store::new(crash_dir, &v.to_string(), reproduce);
    let stream = base::STREAM_MUTANTS * 1000 + u64::from(v.minor);
    for k in 0..cfg.count {
        let mut c = Seeded::for_item(cfg.seed, stream, k as u64);
        let (base, mut mutations, steps) = make_mutant(&mut c, &bases, &donors, table, cfg.transplant_percent);
        let Some(program) = steps.last() else { continue };
        figures.generated += 1;
        let mut kinds: Vec<&'static str> = mutations.iter().map(|m| m.kind).collect();
        kinds.sort();
        kinds.dedup();
        let count = |figures: &mut Figures, at: usize| {
            for k in &kinds {
                figures.kinds.entry(k.to_string()).or_default()[at] += 1;
            }
        };
        count(&mut figures, 0);
        let mut text = program.render();
        let Some(bytes) = reduce::assemble(&text, v) else {
            figures.refused += 1;
            continue;
        };
        figures.accepted += 1;
        count(&mut figures, 1);
        std::fs::write(&pyc, bytes).map_err(|e| e.to_string())?;
        let r = driver.run(&pyc);
        match r.outcome {
            Outcome::Clean => figures.clean += 1,
            Outcome::Raised(_) => figures.raised += 1,
            Outcome::TimedOut => figures.timed_out += 1,
            Outcome::Crashed { how } => {
                figures.crashed += 1;
                count(&mut figures, 2);
                let at = faulting_op(&r.stderr, FILENAME, &text);
                // Of several mutations, keep the fewest (a prefix) that crash the same way, so
                // that the class names the mutation that did it (under pyodide a crashing try
                // costs a restart, but only the first crashing prefix is tried).
                if steps.len() > 1 {
                    let want = Some((how.clone(), at.clone()));
                    for (j, step) in steps[..steps.len() - 1].iter().enumerate() {
                        let t = step.render();
                        if reduce::crash_of(&t, v, &mut driver, &root.join("p.pyc")) == want {
                            text = t;
                            mutations.truncate(j + 1);
                            break;
                        }
                    }
                }
                let crash = Crash {
                    index: k,
                    base: base.name.clone(),
                    from: base.from.to_string(),
                    mutations,
                    how,
                    at,
                    stderr: r.stderr,
                    text: text.clone(),
                    original: base.program.render(),
                };
                store.add(crash).map_err(|e| e.to_string())?;
            }
        }
        if cfg.progress && (k + 1) % (cfg.count / 10).max(1) == 0 {
            say(&format!("{}/{}: accepted {}, crashed {} ({} classes)", k + 1, cfg.count, figures.accepted, figures.crashed, store.classes.len()));
        }
    }
    figures.classes = store.classes.len();
    if cfg.reduce && !driver.is_pyodide() && store.dir.is_some() {
        reduce_classes(&mut store, &mut driver, v, &root.join("r.pyc"), cfg.reduce_budget, &say);
    }
    figures.restarts = driver.restarts;
    figures.seconds = started.elapsed().as_secs();
    if let Some(out) = &cfg.out {
        let dir = out.join(v.to_string());
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("figures.tsv"), figures.tsv()).map_err(|e| e.to_string())?;
        let mut kinds = String::from("kind\tgenerated\taccepted\tcrashed\n");
        for (k, [g, a, c]) in &figures.kinds {
            let _ = writeln!(kinds, "{k}\t{g}\t{a}\t{c}");
        }
        std::fs::write(dir.join("kinds.tsv"), kinds).map_err(|e| e.to_string())?;
        let mut notes = String::new();
        for n in &figures.base_notes {
            let _ = writeln!(notes, "{n}");
        }
        std::fs::write(dir.join("base-notes.txt"), notes).map_err(|e| e.to_string())?;
        store.write_index().map_err(|e| e.to_string())?;
        write_summary(out).map_err(|e| e.to_string())?;
    }
    Ok(figures)
}

/// The base programs of version `v`: the corpus and `random` generated snippets, compiled by
/// `driver`'s interpreter into `root`, disassembled, each kept only if its disassembly
/// assembles and runs clean unmutated (so that what a mutant does is the mutation's). Also
/// returns why the others were left out.
pub fn prepare(driver: &mut Driver, root: &std::path::Path, v: PythonVersion, random: usize, seed: u64) -> Result<(Vec<Base>, Vec<String>), String> {
    let (candidates, stats) = base::build(driver, root, v, random, seed);
    let mut notes = stats.failed;
    let pyc = root.join("base.pyc");
    let mut bases: Vec<Base> = Vec::new();
    for b in candidates {
        let text = b.program.render();
        match reduce::assemble(&text, v) {
            None => notes.push(format!("{}: pyasm refuses its unmutated disassembly", b.name)),
            Some(bytes) => {
                std::fs::write(&pyc, bytes).map_err(|e| e.to_string())?;
                match driver.run(&pyc).outcome {
                    Outcome::Clean => bases.push(b),
                    o => notes.push(format!("{}: unmutated it ends {o:?}", b.name)),
                }
            }
        }
    }
    if bases.is_empty() {
        return Err(format!("no base program for {v}: {}", notes.join("; ")));
    }
    Ok((bases, notes))
}

/// One mutant: the base it came from, its mutations, and the program after each of them (the
/// last is the mutant). Where no mutation applied, another base is drawn (up to 100 times;
/// `steps` is empty only if all failed).
pub fn make_mutant<'a>(
    c: &mut dyn Choices,
    bases: &'a [Base],
    donors: &'a [Base],
    table: &'static pyasm::opcodes::VersionTable,
    transplant_percent: usize,
) -> (&'a Base, Vec<Mutation>, Vec<crate::program::Program>) {
    let mut made = try_mutant(c, bases, donors, table, transplant_percent);
    for _ in 0..100 {
        if !made.2.is_empty() {
            break;
        }
        made = try_mutant(c, bases, donors, table, transplant_percent);
    }
    made
}

fn try_mutant<'a>(
    c: &mut dyn Choices,
    bases: &'a [Base],
    donors: &'a [Base],
    table: &'static pyasm::opcodes::VersionTable,
    transplant_percent: usize,
) -> (&'a Base, Vec<Mutation>, Vec<crate::program::Program>) {
    let transplant = !donors.is_empty() && c.chance(transplant_percent);
    let base = if transplant { c.pick(donors) } else { c.pick(bases) };
    let mut program = base.program.clone();
    let mut mutations = Vec::new();
    let extra = if transplant {
        mutations.push(mutate::transplant(&mut program, &base.from.to_string(), &table.version.to_string()));
        usize::from(c.chance(40))
    } else {
        1 + c.weighted(&[65, 25, 10])
    };
    let mut steps = Vec::new();
    if transplant {
        steps.push(program.clone());
    }
    for _ in 0..extra {
        if let Some(m) = mutate::mutate_once(&mut program, table, c) {
            mutations.push(m);
            steps.push(program.clone());
        }
    }
    (base, mutations, steps)
}

/// The corpus compiled by the neighbouring versions' interpreters (when they are on this
/// machine), to be assembled as this version.
fn donors(cfg: &Config, root: &std::path::Path) -> Vec<Base> {
    if cfg.transplant_percent == 0 {
        return Vec::new();
    }
    let all: Vec<PythonVersion> = pyasm::version::supported().collect();
    let at = all.iter().position(|x| *x == cfg.version).unwrap_or(0);
    let mut out = Vec::new();
    for n in [at.checked_sub(1), Some(at + 1)].into_iter().flatten() {
        let Some(&nv) = all.get(n) else { continue };
        let Some(interp) = interpreters::find(nv) else { continue };
        let Ok(mut d) = Driver::new(interp, root, Duration::from_secs(30)) else { continue };
        let (bases, _) = base::build(&mut d, root, nv, 0, cfg.seed);
        out.extend(bases);
    }
    out
}

fn reduce_classes(store: &mut Store, driver: &mut Driver, v: PythonVersion, pyc: &std::path::Path, budget: Duration, say: &dyn Fn(&str)) {
    let started = Instant::now();
    let order: Vec<String> = store.ranked().into_iter().map(|(s, _)| s.clone()).collect();
    for (n, sig) in order.iter().enumerate() {
        let left = budget.saturating_sub(started.elapsed());
        if left.is_zero() {
            say(&format!("reduction budget spent after {n} of {} classes", order.len()));
            break;
        }
        let class = store.classes.get_mut(sig).expect("listed");
        let Some(first) = &class.first else { continue };
        let want = (first.how.clone(), first.at.clone());
        // The largest classes first, each with up to a quarter of what is left: a few small
        // reproducers of the common crashes are worth more than many half-shrunk ones.
        let share = (left / 4).max(left / (order.len() - n) as u32);
        let small = reduce::reduce(&first.text, v, &want, driver, pyc, share.max(Duration::from_secs(2)));
        let lines = small.lines().filter(|l| l.starts_with("    ") && !l.trim_start().starts_with('.')).count();
        if std::fs::write(class.dir.join("reduced.pyasm"), &small).is_ok() {
            class.reduced = Some(lines);
        }
    }
}
