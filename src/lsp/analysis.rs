//! The analyses (a module's pipeline run) on a worker thread, so that the main loop goes on
//! answering while a large module is checked (the 1M-instruction program takes seconds).
//!
//! The main loop sends a `Job` (the module's files and a copy of the open documents) when a
//! module's diagnostics fall due or a request needs a module not analysed yet; the worker
//! runs the newest job of each module (older ones still waiting are dropped) and sends back
//! its snapshot. A result about a text edited since is stale: it is dropped, its diagnostics
//! never published (the newer text has its own job).
//!
//! A request reads the module's analysis of the current texts. While there is none, it waits
//! a moment (a small module's analysis is done by then), then reads the last analysis if
//! the editor's texts are still the ones it read (an edit elsewhere in the folder dropped
//! it), else a snapshot of the parse alone: names, labels, symbols, completion and the
//! opcodes' docs, but no stacks until the analysis comes.

use super::Server;
use super::inbox::Event;
use super::snapshot::Snapshot;
use super::text::Encoding;
use super::workspace::Workspace;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

/// How long a request waits for an analysis under way before it answers from the parse.
pub const PATIENCE: Duration = Duration::from_millis(100);

pub struct Job {
    id: u64,
    /// Edits counted when it was sent (see `Server::edits`).
    generation: u64,
    module: Vec<PathBuf>,
    ws: Workspace,
    opts: crate::Options,
    encoding: Encoding,
}

/// A job's result: its snapshot, or the panic that ended the run.
pub struct Done {
    id: u64,
    generation: u64,
    module: Vec<PathBuf>,
    result: Result<Snapshot, String>,
}

pub struct Worker {
    jobs: Sender<Job>,
    /// For the tests (`pyasm/debugSleep` with `"analysis": true`): how long each run first
    /// sleeps, in milliseconds.
    delay: Arc<AtomicU64>,
}

impl Worker {
    pub fn start(results: Sender<Event>) -> Worker {
        let (jobs, rx) = channel();
        let delay = Arc::new(AtomicU64::new(0));
        let d = delay.clone();
        std::thread::Builder::new()
            .name("pyasm-lsp-analysis".into())
            .spawn(move || work(rx, results, d))
            .expect("a thread for the analyses");
        Worker { jobs, delay }
    }

    pub fn set_delay(&self, ms: u64) {
        self.delay.store(ms, Ordering::Relaxed);
    }
}

fn work(jobs: Receiver<Job>, results: Sender<Event>, delay: Arc<AtomicU64>) {
    while let Ok(first) = jobs.recv() {
        // The newest job of each module among those waiting.
        let mut newest: Vec<Job> = Vec::new();
        for job in std::iter::once(first).chain(jobs.try_iter()) {
            match newest.iter().position(|n| n.module == job.module) {
                Some(k) => newest[k] = job,
                None => newest.push(job),
            }
        }
        for job in newest {
            std::thread::sleep(Duration::from_millis(delay.load(Ordering::Relaxed)));
            let run = std::panic::catch_unwind(AssertUnwindSafe(|| Snapshot::build(&job.ws, &job.module, &job.opts, job.encoding)));
            let result = run.map_err(|p| p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default());
            let done = Done { id: job.id, generation: job.generation, module: job.module, result };
            if results.send(Event::Analysed(done)).is_err() {
                return;
            }
        }
    }
}

/// Takes the snapshots `gone` picks out of `map`.
pub(super) fn take_out(map: &mut HashMap<PathBuf, Rc<Snapshot>>, gone: impl Fn(&Snapshot) -> bool) -> Vec<Rc<Snapshot>> {
    let keys: Vec<PathBuf> = map.iter().filter(|(_, s)| gone(s)).map(|(k, _)| k.clone()).collect();
    keys.iter().filter_map(|k| map.remove(k)).collect()
}

/// Frees snapshots no longer used on a thread of their own: a large module's take a second
/// to free, which the main loop would spend not answering.
pub(super) fn discard(removed: Vec<Rc<Snapshot>>) {
    // (Each snapshot is in the list once per file it was kept for: the last one owns it.)
    let owned: Vec<Snapshot> = removed.into_iter().filter_map(|s| Rc::try_unwrap(s).ok()).collect();
    if !owned.is_empty() {
        let _ = std::thread::Builder::new().name("pyasm-lsp-free".into()).spawn(move || drop(owned));
    }
}

/// Whether an edit of `path` may change the analysis of `module` (a file of it, or one in
/// its folders, which may join it; an included file elsewhere is caught when the result
/// comes, by `Snapshot::covers`).
fn touches(module: &[PathBuf], path: &Path) -> bool {
    module.iter().any(|m| m == path || m.parent() == path.parent())
}

impl Server<'_> {
    /// A document changed (or closed): analyses under way that read it are stale.
    pub(super) fn edited(&mut self, path: &Path) {
        self.generation += 1;
        self.edits.push((self.generation, path.to_path_buf()));
    }

    /// The files of the module `path` belongs to (see `Workspace::module_of`).
    pub(super) fn module(&mut self, path: &Path) -> Vec<PathBuf> {
        if let Some((g, m)) = self.module_cache.get(path) {
            if *g == self.generation {
                return m.clone();
            }
        }
        let m = self.ws.module_of(path);
        self.module_cache.insert(path.to_path_buf(), (self.generation, m.clone()));
        m
    }

    fn edited_since(&self, generation: u64, affects: impl Fn(&Path) -> bool) -> bool {
        self.edits.iter().any(|(g, p)| *g > generation && affects(p))
    }

    /// Sends the module's analysis to the worker, unless one of its current texts is under way.
    pub(super) fn analyse(&mut self, module: &[PathBuf]) {
        if let Some(&(_, generation)) = self.running.get(module) {
            if !self.edited_since(generation, |p| touches(module, p)) {
                return;
            }
        }
        self.jobs += 1;
        let job = Job {
            id: self.jobs,
            generation: self.generation,
            module: module.to_vec(),
            ws: self.ws.clone(),
            opts: self.options(),
            encoding: self.config.encoding,
        };
        self.running.insert(module.to_vec(), (job.id, job.generation));
        let _ = self.worker.jobs.send(job);
    }

    /// An analysis came back: kept and its diagnostics published if nothing it read has
    /// changed since, else dropped (and sent again if its diagnostics are owed).
    pub(super) fn arrived(&mut self, done: Done) {
        self.runs += 1;
        if self.running.get(&done.module).is_some_and(|(id, _)| *id == done.id) {
            self.running.remove(&done.module);
        }
        // The edits no analysis under way needs to be judged by.
        let oldest = self.running.values().map(|(_, g)| *g).min().unwrap_or(self.generation).min(done.generation);
        let snap = match done.result {
            Ok(s) => s,
            Err(why) => {
                self.log(format!("the analysis of {} failed: {why}", done.module[0].display()));
                self.owed.remove(&done.module);
                self.edits.retain(|(g, _)| *g > oldest);
                return;
            }
        };
        let stale = self.edited_since(done.generation, |p| snap.covers(p));
        self.edits.retain(|(g, _)| *g > oldest);
        if stale {
            if self.owed.remove(&done.module) {
                // Owed to the module as it is now (of a file still open).
                if let Some(open) = done.module.iter().find(|p| self.ws.docs.contains_key(*p)) {
                    let module = self.module(&open.clone());
                    self.owed.insert(module.clone());
                    self.analyse(&module);
                }
            }
            return;
        }
        let snap = Rc::new(snap);
        let mut replaced = Vec::new();
        for p in snap.index.iter().map(|f| &f.path).chain(&snap.module) {
            replaced.extend(self.snapshots.insert(p.clone(), snap.clone()));
            replaced.extend(self.finished.insert(p.clone(), snap.clone()));
        }
        discard(replaced);
        if self.owed.remove(&done.module) {
            let _ = self.guarded("diagnostics", |s| s.publish_snapshot(&snap));
        }
        if std::mem::take(&mut self.unanalysed) && self.config.hint_refresh {
            self.jobs += 1;
            let id = lsp_server::RequestId::from(format!("pyasm-refresh-{}", self.jobs));
            self.send(lsp_server::Request::new(id, "workspace/inlayHint/refresh".into(), ()));
        }
    }

    /// The snapshot of the module a document belongs to, for a request: its analysis, else
    /// (after waiting until `self.patience` for one under way) the last analysis whose texts
    /// are still the editor's, else the parse of the current texts.
    pub(super) fn snapshot(&mut self, path: &Path) -> Rc<Snapshot> {
        let analysed = |s: &Server, path: &Path| s.snapshots.get(path).filter(|s| s.analysed).cloned();
        if let Some(s) = analysed(self, path) {
            return s;
        }
        let module = self.module(path);
        self.analyse(&module);
        let until = self.patience.unwrap_or_else(Instant::now);
        while let Some(done) = self.inbox.next_analysis(until) {
            self.arrived(done);
            if let Some(s) = analysed(self, path) {
                return s;
            }
        }
        self.unanalysed = true;
        if let Some(s) = self.snapshots.get(path) {
            return s.clone();
        }
        if let Some(s) = self.finished.get(path).filter(|s| s.module == module && s.current_in(&self.ws)) {
            return s.clone();
        }
        let snap = Rc::new(Snapshot::parsed(&self.ws, &module, &self.options(), self.config.encoding));
        for p in snap.index.iter().map(|f| &f.path).chain(&module) {
            self.snapshots.entry(p.clone()).or_insert_with(|| snap.clone());
        }
        snap
    }
}
