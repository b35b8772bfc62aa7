//! Per-stage figures of the assembler and the disassembler on fixed inputs, so that a
//! regression shows up stage by stage (docs/performance.md).
//!
//!     cargo bench --bench stages -- [--repeat N] [--json] FILE.pyasm|FILE.pyc …
//!
//! With no files it measures `examples/*.pyasm`. For a .pyasm file: lex, parse (lexing
//! included), link (parsing included: the CLI's path), resolve, verify, layout, the whole
//! `assemble`, marshal; then the disassembler on the module just assembled: load (the .pyc
//! read back), dis (render and self-check), and of that the self-check's assembly of the
//! text. A .pyc file gets the disassembler's stages and then the assembler's on the text.
//!
//! With several files only their total is printed (`STAGES_EACH=1`: each file too; `--json`
//! always gives each file and the total).
//!
//! Each stage runs `--repeat` times (default 5) and the least CPU time of this thread is
//! printed, which the other processes on a loaded machine disturb least. Memory is counted
//! by the allocator below: `peak` is the most bytes live at once during the stage (above what
//! was live when it started), `kept` what the stage's result holds afterwards.

use pyasm::diagnostics::SourceFiles;
use pyasm::opcodes::VersionTable;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let now = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size - layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

#[repr(C)]
struct Timespec {
    sec: i64,
    nsec: i64,
}

unsafe extern "C" {
    fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
}

/// CPU time of this thread, in seconds (Linux's CLOCK_THREAD_CPUTIME_ID).
fn thread_cpu() -> f64 {
    let mut t = Timespec { sec: 0, nsec: 0 };
    // SAFETY: `t` is a valid timespec for the call to fill.
    unsafe { clock_gettime(3, &mut t) };
    t.sec as f64 + t.nsec as f64 * 1e-9
}

struct Figure {
    stage: &'static str,
    seconds: f64,
    peak: usize,
    kept: usize,
}

/// Runs `f` `repeat` times; the least CPU time, the peak and the kept bytes of the last run.
/// Every result is dropped before the next run, the last one returned.
fn measure<T>(stage: &'static str, repeat: usize, out: &mut Vec<Figure>, mut f: impl FnMut() -> T) -> T {
    let mut best = f64::INFINITY;
    let mut last = None;
    let (mut peak, mut kept) = (0, 0);
    for _ in 0..repeat.max(1) {
        drop(last.take());
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let t0 = thread_cpu();
        let v = f();
        best = best.min(thread_cpu() - t0);
        peak = PEAK.load(Ordering::Relaxed) - base;
        kept = LIVE.load(Ordering::Relaxed).saturating_sub(base);
        last = Some(v);
    }
    out.push(Figure { stage, seconds: best, peak, kept });
    last.expect("ran at least once")
}

fn assemble_stages(name: &str, text: &str, repeat: usize, out: &mut Vec<Figure>) -> Option<(Vec<u8>, &'static VersionTable)> {
    let mut files = SourceFiles::new();
    let file = files.add(name, text);
    measure("lex", repeat, out, || pyasm::syntax::lexer::lex(text, &mut Vec::new()));
    let (lines, _) = measure("parse", repeat, out, || pyasm::syntax::parse(file, text));
    measure("link", repeat, out, || {
        let mut f = SourceFiles::new();
        let id = f.add(name, text);
        pyasm::link::link_module(&mut f, &[id], &mut Vec::new()).lines
    });
    let assembled = match pyasm::assemble(&files, file, &Default::default()) {
        Ok(a) => a,
        Err(d) => {
            eprintln!("{name}: does not assemble:\n{}", files.render(&d, false));
            return None;
        }
    };
    let version = assembled.version;
    let opts = pyasm::resolve::ResolveOptions { default_filename: name.to_string() };
    let (program, _) = measure("resolve", repeat, out, || pyasm::resolve::resolve(&lines, version, &opts));
    let program = program.expect("it assembled");
    let verified = measure("verify", repeat, out, || pyasm::verify::verify_program(&program, false, true));
    measure("layout", repeat, out, || {
        program
            .codes
            .iter()
            .zip(&verified)
            .map(|(c, v)| pyasm::emit::layout::layout(c, &v.analysis, version).map(|l| l.code.len()).unwrap_or(0))
            .sum::<usize>()
    });
    drop((verified, program, lines));
    measure("assemble (all of the above)", repeat, out, || pyasm::assemble(&files, file, &Default::default()).ok());
    let marshalled = measure("marshal", repeat, out, || pyasm::emit::marshal::dump_code_for(&assembled.module, version.version));
    Some((pyasm::emit::pyc::write_pyc(version.magic, &pyasm::emit::pyc::PycHeader::Timestamp { mtime: 0, source_size: 0 }, &marshalled), version))
}

fn dis_stages(name: &str, pyc: &[u8], repeat: usize, out: &mut Vec<Figure>) -> Option<String> {
    let loaded = match measure("dis: load", repeat, out, || pyasm::load::load_pyc(pyc)) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{name}: {e}");
            return None;
        }
    };
    let table = pyasm::opcodes::TABLES.iter().copied().find(|t| t.magic == loaded.magic)?;
    let dis = match measure("dis: render + self-check", repeat, out, || pyasm::dis::disassemble(&loaded.code, table)) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{name}: {e}");
            return None;
        }
    };
    let mut files = SourceFiles::new();
    let file = files.add("<dis>", dis.text.as_str());
    let opts = pyasm::Options { version: Some(table.version), ..Default::default() };
    measure("dis: of which one assembly of the text", repeat, out, || pyasm::assemble(&files, file, &opts).ok());
    Some(dis.text)
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let mut repeat = 5;
    if let Some(i) = args.iter().position(|a| a == "--repeat") {
        repeat = args.get(i + 1).and_then(|n| n.parse().ok()).expect("--repeat N");
        args.drain(i..i + 2);
    }
    let json = args.iter().any(|a| a == "--json");
    args.retain(|a| a != "--json");
    if args.is_empty() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
        let mut found: Vec<String> = std::fs::read_dir(dir)
            .expect("examples/")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pyasm"))
            .map(|p| p.display().to_string())
            .collect();
        found.sort();
        args = found;
    }
    let mut rows: Vec<(String, Vec<Figure>)> = Vec::new();
    for path in &args {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut figures = Vec::new();
        if path.ends_with(".pyc") {
            if let Some(text) = dis_stages(path, &bytes, repeat, &mut figures) {
                assemble_stages(path, &text, repeat, &mut figures);
            }
        } else {
            let text = String::from_utf8(bytes).unwrap_or_else(|_| panic!("{path}: not UTF-8"));
            if let Some((pyc, _)) = assemble_stages(path, &text, repeat, &mut figures) {
                dis_stages(path, &pyc, repeat, &mut figures);
            }
        }
        rows.push((path.clone(), figures));
    }
    if rows.len() > 1 {
        // The sum over the files (peak: the largest), for a whole library's sample.
        let mut total: Vec<Figure> = Vec::new();
        for (_, figs) in &rows {
            for f in figs {
                match total.iter_mut().find(|t| t.stage == f.stage) {
                    Some(t) => {
                        t.seconds += f.seconds;
                        t.peak = t.peak.max(f.peak);
                        t.kept += f.kept;
                    }
                    None => total.push(Figure { stage: f.stage, seconds: f.seconds, peak: f.peak, kept: f.kept }),
                }
            }
        }
        rows.push((format!("total of {} files (peak: the largest)", rows.len()), total));
    }
    if json {
        let files: Vec<String> = rows
            .iter()
            .map(|(path, figs)| {
                let stages: Vec<String> = figs
                    .iter()
                    .map(|f| format!("{{\"stage\": {:?}, \"cpu_seconds\": {:.6}, \"peak_bytes\": {}, \"kept_bytes\": {}}}", f.stage, f.seconds, f.peak, f.kept))
                    .collect();
                format!("{{\"file\": {:?}, \"stages\": [{}]}}", path, stages.join(", "))
            })
            .collect();
        println!("[{}]", files.join(",\n "));
        return;
    }
    let shown = if args.len() > 1 && std::env::var_os("STAGES_EACH").is_none() { &rows[rows.len() - 1..] } else { &rows[..] };
    for (path, figs) in shown {
        println!("{path}");
        println!("  {:<42} {:>10} {:>11} {:>11}", "stage", "CPU ms", "peak MB", "kept MB");
        for f in figs {
            println!("  {:<42} {:>10.2} {:>11.1} {:>11.1}", f.stage, f.seconds * 1e3, f.peak as f64 / 1e6, f.kept as f64 / 1e6);
        }
    }
}
