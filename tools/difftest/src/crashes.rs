//! Crashing programs, grouped into classes and saved for turning into regression tests.
//!
//! A class is the crash (signal or fatal-error line), the mutations that made the program
//! (kind and opcode of each, e.g. `shift-count CALL`), and the instruction that was running
//! when it died (from faulthandler's report, which names the `.pyasm` line: the programs carry
//! no `.loc`, so each instruction's line number is its line in the file). Each class keeps its
//! first few examples:
//!
//! ```text
//! OUT/3.12/crashes/c007/1.pyasm     the program that crashed (exactly what ran)
//! OUT/3.12/crashes/c007/1.txt       version, seed and index, base snippet, mutations, stderr tail
//! OUT/3.12/crashes/c007/original.pyasm   the unmutated disassembly it came from
//! OUT/3.12/crashes/c007/reduced.pyasm    a smaller program that still crashes the same way
//! ```

use crate::mutate::Mutation;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

pub const EXAMPLES_PER_CLASS: usize = 3;

/// One crash as found.
#[derive(Clone, Debug)]
pub struct Crash {
    pub index: usize,
    pub base: String,
    pub from: String,
    pub mutations: Vec<Mutation>,
    pub how: String,
    /// The opcode faulthandler's innermost frame points at, if it printed one.
    pub at: Option<String>,
    pub stderr: String,
    pub text: String,
    pub original: String,
}

impl Crash {
    pub fn signature(&self) -> String {
        let mut m: Vec<String> = self.mutations.iter().map(|m| m.class()).collect();
        m.sort();
        format!("{} | {} | at {}", self.how, m.join(" + "), self.at.as_deref().unwrap_or("?"))
    }
}

/// The opcode on the line of the innermost frame in a faulthandler (or traceback) report about
/// `filename`.
pub fn faulting_op(stderr: &str, filename: &str, text: &str) -> Option<String> {
    let marker = format!("File \"{filename}\", line ");
    // faulthandler prints the innermost frame first ("most recent call first").
    let after_fault = stderr.find("most recent call first").map(|i| &stderr[i..]).unwrap_or(stderr);
    let start = after_fault.find(&marker)? + marker.len();
    let digits: String = after_fault[start..].chars().take_while(|c| c.is_ascii_digit()).collect();
    let line: usize = digits.parse().ok()?;
    let t = text.lines().nth(line.checked_sub(1)?)?.trim();
    let op = t.split_whitespace().next()?;
    (!op.starts_with('.') && !op.ends_with(':')).then(|| op.to_string())
}

#[derive(Default)]
pub struct Class {
    pub dir: PathBuf,
    pub count: usize,
    pub first: Option<Crash>,
    pub reduced: Option<usize>,
}

/// The crash classes of one version's campaign, saved under `dir` as they come.
pub struct Store {
    pub dir: Option<PathBuf>,
    pub classes: BTreeMap<String, Class>,
    /// How to make the same programs again, with `INDEX` for the program's number.
    reproduce: String,
    version: String,
}

impl Store {
    pub fn new(dir: Option<PathBuf>, version: &str, reproduce: String) -> Store {
        Store { dir, classes: BTreeMap::new(), reproduce, version: version.to_string() }
    }

    /// Records a crash; returns true when it opened a new class.
    pub fn add(&mut self, crash: Crash) -> std::io::Result<bool> {
        let sig = crash.signature();
        let n = self.classes.len();
        let fresh = !self.classes.contains_key(&sig);
        let class = self.classes.entry(sig.clone()).or_default();
        class.count += 1;
        if let Some(root) = &self.dir {
            if fresh {
                class.dir = root.join(format!("c{:03}", n + 1));
                std::fs::create_dir_all(&class.dir)?;
                std::fs::write(class.dir.join("original.pyasm"), &crash.original)?;
            }
            if class.count <= EXAMPLES_PER_CLASS {
                std::fs::write(class.dir.join(format!("{}.pyasm", class.count)), &crash.text)?;
                std::fs::write(class.dir.join(format!("{}.txt", class.count)), describe(&crash, &sig, &self.version, &self.reproduce))?;
            }
        }
        if fresh {
            class.first = Some(crash);
        }
        Ok(fresh)
    }

    pub fn total(&self) -> usize {
        self.classes.values().map(|c| c.count).sum()
    }

    /// Classes, most crashes first.
    pub fn ranked(&self) -> Vec<(&String, &Class)> {
        let mut v: Vec<(&String, &Class)> = self.classes.iter().collect();
        v.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        v
    }

    /// `classes.tsv`: count, signature, folder — one line per class.
    pub fn write_index(&self) -> std::io::Result<()> {
        let Some(root) = &self.dir else { return Ok(()) };
        let mut s = String::from("count\tsignature\tfolder\treduced_lines\n");
        for (sig, c) in self.ranked() {
            let reduced = c.reduced.map(|n| n.to_string()).unwrap_or_else(|| "-".into());
            let _ = writeln!(s, "{}\t{}\t{}\t{}", c.count, sig, c.dir.display(), reduced);
        }
        std::fs::write(root.join("classes.tsv"), s)
    }
}

fn describe(c: &Crash, sig: &str, version: &str, reproduce: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "version: {version}");
    let _ = writeln!(s, "made by: {}", reproduce.replace("INDEX", &c.index.to_string()));
    let _ = writeln!(s, "base: {} (compiled by {})", c.base, c.from);
    let _ = writeln!(s, "class: {sig}");
    let _ = writeln!(s, "crash: {}", c.how);
    let _ = writeln!(s, "mutations:");
    for m in &c.mutations {
        let _ = writeln!(s, "  - {}: {}", m.class(), m.detail);
    }
    let _ = writeln!(s, "stderr (tail):");
    for l in c.stderr.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev() {
        let _ = writeln!(s, "  | {l}");
    }
    s
}

/// Writes `OUT/summary.md` from every version's `OUT/X.Y/figures.tsv` and `classes.tsv`.
pub fn write_summary(out: &Path) -> std::io::Result<()> {
    let mut versions: Vec<(pyasm::version::PythonVersion, PathBuf)> = std::fs::read_dir(out)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()).map(|v| (v, e.path())))
        .filter(|(_, p): &(_, PathBuf)| p.join("figures.tsv").exists())
        .collect();
    versions.sort();
    let mut s = String::from("# Differential campaign\n\n");
    s.push_str(&crate::campaign::Figures::header_md());
    for (_, dir) in &versions {
        if let Some(row) = std::fs::read_to_string(dir.join("figures.tsv")).ok().and_then(|t| t.lines().nth(1).map(str::to_string)) {
            s.push_str(&crate::campaign::Figures::tsv_to_md(&row));
        }
    }
    // Every version's classes: (version, count, signature, folder, reduced lines).
    let mut all: Vec<(String, usize, String, String, String)> = Vec::new();
    for (v, dir) in &versions {
        let Ok(t) = std::fs::read_to_string(dir.join("crashes").join("classes.tsv")) else { continue };
        for r in t.lines().skip(1) {
            let f: Vec<&str> = r.split('\t').collect();
            if f.len() == 4 {
                let rel = Path::new(f[2]).strip_prefix(out).map(|p| p.display().to_string()).unwrap_or_else(|_| f[2].to_string());
                all.push((v.to_string(), f[0].parse().unwrap_or(0), f[1].to_string(), rel, f[3].to_string()));
            }
        }
    }
    let names: Vec<String> = versions.iter().map(|(v, _)| v.to_string()).collect();
    // What the verifier makes of each kind: accepted of generated, crashed of accepted.
    let mut per_kind: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (v, dir) in &versions {
        let Ok(t) = std::fs::read_to_string(dir.join("kinds.tsv")) else { continue };
        for r in t.lines().skip(1) {
            let f: Vec<&str> = r.split('\t').collect();
            if f.len() == 4 {
                per_kind.entry(f[0].to_string()).or_default().insert(v.to_string(), format!("{}/{}/{}", f[1], f[2], f[3]));
            }
        }
    }
    if !per_kind.is_empty() {
        let _ = writeln!(s, "\n## Mutation kinds: generated / accepted / crashed\n\n(A program of several kinds counts under each.)\n");
        let _ = writeln!(s, "| mutation | {} |\n| --- |{}", names.join(" | "), " --- |".repeat(names.len()));
        for (k, per) in &per_kind {
            let cells: Vec<String> = names.iter().map(|v| per.get(v).cloned().unwrap_or_else(|| "·".into())).collect();
            let _ = writeln!(s, "| {k} | {} |", cells.join(" | "));
        }
    }
    if all.is_empty() {
        return std::fs::write(out.join("summary.md"), s);
    }
    // Crashes per mutation kind and version (a crash made by two kinds counts under both).
    let mut kinds: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for (v, n, sig, _, _) in &all {
        let muts = sig.split(" | ").nth(1).unwrap_or("");
        let mut ks: Vec<&str> = muts.split(" + ").filter_map(|m| m.split(' ').next()).collect();
        ks.dedup();
        for k in ks {
            *kinds.entry(k.to_string()).or_default().entry(v.clone()).or_default() += n;
        }
    }
    let _ = writeln!(s, "\n## Crashes by mutation kind\n\n(A crash whose fewest crashing mutations are of two kinds counts under both.)\n");
    let _ = writeln!(s, "| mutation | {} |\n| --- |{}", names.join(" | "), " --- |".repeat(names.len()));
    for (k, per) in &kinds {
        let cells: Vec<String> = names.iter().map(|v| per.get(v).map(|n| n.to_string()).unwrap_or_else(|| "·".into())).collect();
        let _ = writeln!(s, "| {k} | {} |", cells.join(" | "));
    }
    // The same class in several versions, largest first, with the smallest reproducer.
    // Per class: crashes, versions, the smallest reproducer (instructions, path).
    type Merged = (usize, Vec<String>, Option<(usize, String)>);
    let mut merged: BTreeMap<&str, Merged> = BTreeMap::new();
    for (v, n, sig, dir, reduced) in &all {
        let e = merged.entry(sig.as_str()).or_default();
        e.0 += n;
        e.1.push(v.clone());
        let repro = match reduced.parse::<usize>() {
            Ok(lines) => Some((lines, format!("{dir}/reduced.pyasm"))),
            Err(_) => Some((usize::MAX, format!("{dir}/1.pyasm"))),
        };
        if e.2.as_ref().is_none_or(|(l, _)| repro.as_ref().is_some_and(|(r, _)| r < l)) {
            e.2 = repro;
        }
    }
    let mut ranked: Vec<_> = merged.into_iter().collect();
    ranked.sort_by(|a, b| (b.1).0.cmp(&(a.1).0).then(a.0.cmp(b.0)));
    let _ = writeln!(s, "\n## Crash classes over all versions (top 60 of {})\n", ranked.len());
    let _ = writeln!(s, "| crashes | class (crash \\| mutations \\| running instruction) | versions | smallest reproducer (instructions) |\n| --- | --- | --- | --- |");
    for (sig, (n, vs, repro)) in ranked.iter().take(60) {
        let (lines, path) = repro.clone().unwrap_or((usize::MAX, String::new()));
        let size = if lines == usize::MAX { String::new() } else { format!(" ({lines})") };
        let _ = writeln!(s, "| {n} | {} | {} | {path}{size} |", sig.replace('|', "\\|"), vs.join(", "));
    }
    for v in &names {
        let rows: Vec<_> = all.iter().filter(|r| r.0 == *v).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(s, "\n## {v}: {} crash classes\n\n| crashes | class (crash \\| mutations \\| running instruction) | folder | reduced (instructions) |\n| --- | --- | --- | --- |", rows.len());
        for (_, n, sig, dir, reduced) in rows {
            let _ = writeln!(s, "| {n} | {} | {dir} | {reduced} |", sig.replace('|', "\\|"));
        }
    }
    std::fs::write(out.join("summary.md"), s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faulting_op_reads_faulthandler() {
        let text = ".python 3.12\n.code <module>\n    RESUME 0\n    PUSH_NULL\n    CALL 0\n.end\n";
        let err = "Fatal Python error: Segmentation fault\n\nCurrent thread 0x1 (most recent call first):\n  File \"mutant.pyasm\", line 5 in <module>\n  File \"other\", line 1\n";
        assert_eq!(faulting_op(err, "mutant.pyasm", text).as_deref(), Some("CALL"));
        assert_eq!(faulting_op("nothing", "mutant.pyasm", text), None);
    }
}
