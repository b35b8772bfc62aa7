//! `pyasm lsp`: a language server over stdio (rust-analyzer's `lsp-server` for the transport
//! and the message loop, `lsp-types` for the protocol's types).
//!
//! The main loop answers the client; the pipeline runs on a worker thread. Edits mark the
//! module of the edited document dirty; once no edit has come for the debounce time, each
//! dirty module is analysed, and its diagnostics are published for every file of it when the
//! analysis comes back (unless a text it read has changed since: the newest version wins).
//! One pipeline run per version of a module's documents makes a `Snapshot`, which both the
//! diagnostics and the requests read (a request on a module with edits not checked yet starts
//! the run early; the diagnostics then come from that run). A request does not wait for a
//! long run: it answers from the parse meanwhile (see `analysis`). A request the client
//! cancelled before the server got to it is answered `RequestCancelled`, one followed by an
//! edit of its document `ContentModified`. A panic in a request is caught and answered as an
//! error; the server goes on.
//!
//! * `inbox`: the messages waiting, looked at for cancellations and edits; the worker's results.
//! * `analysis`: the worker thread, and which snapshot a request reads.
//! * `text`: positions (columns in the encoding agreed at `initialize`) and incremental edits.
//! * `workspace`: open documents, and which files make up a document's module.
//! * `diagnostics`: pyasm's diagnostics as the protocol's, and their quick fixes.
//! * `index`: what the text of each file defines and refers to (symbols, navigation).
//! * `snapshot`: one module loaded, resolved, verified and indexed.
//! * `features`: the requests, one file each: hover, inlay hints, completion, navigation,
//!   outline and folding, formatting.

mod analysis;
pub mod diagnostics;
mod features;
mod inbox;
pub mod index;
mod snapshot;
pub mod text;
pub mod workspace;

use crate::version::PythonVersion;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types as lsp;
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use serde_json::Value;
use snapshot::Snapshot;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};
use inbox::{Inbox, Next};
use workspace::{Document, Workspace};

/// How the server runs; the client may change it in `initializationOptions`.
#[derive(Clone, Debug)]
pub struct Config {
    /// `--python`: the version for every module (as the command line's).
    pub python: Option<PythonVersion>,
    /// The version for a module that names none.
    pub default_version: Option<PythonVersion>,
    /// How long after the last edit diagnostics are computed.
    pub debounce: Duration,
    /// The URL of docs/errors.md, which diagnostic codes link to.
    pub error_docs: Option<String>,
    /// What columns count: agreed at `initialize`.
    pub encoding: text::Encoding,
    /// Whether the client asks for inlay hints again when told (`workspace/inlayHint/refresh`).
    pub hint_refresh: bool,
}

impl Default for Config {
    fn default() -> Config {
        // The checkout it was built from, while it is there (an installed binary may outlive it).
        let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/errors.md");
        Config {
            python: None,
            default_version: None,
            debounce: Duration::from_millis(150),
            error_docs: local.exists().then(|| lsp::Url::from_file_path(&local).ok().map(|u| u.to_string())).flatten(),
            encoding: text::Encoding::Utf16,
            hint_refresh: false,
        }
    }
}

/// Serves one client on stdin/stdout until it says `exit` (or closes the stream).
pub fn run_stdio(config: Config) -> Result<(), String> {
    let (conn, io) = Connection::stdio();
    serve(&conn, config)?;
    drop(conn);
    io.join().map_err(|e| e.to_string())
}

/// What the server offers.
fn capabilities(encoding: text::Encoding) -> lsp::ServerCapabilities {
    lsp::ServerCapabilities {
        position_encoding: Some(encoding.kind()),
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Options(lsp::TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(lsp::TextDocumentSyncKind::INCREMENTAL),
            save: Some(lsp::TextDocumentSyncSaveOptions::Supported(true)),
            ..Default::default()
        })),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        completion_provider: Some(lsp::CompletionOptions {
            trigger_characters: Some(vec![".".into(), "@".into(), " ".into()]),
            ..Default::default()
        }),
        definition_provider: Some(lsp::OneOf::Left(true)),
        references_provider: Some(lsp::OneOf::Left(true)),
        rename_provider: Some(lsp::OneOf::Right(lsp::RenameOptions { prepare_provider: Some(true), work_done_progress_options: Default::default() })),
        document_symbol_provider: Some(lsp::OneOf::Left(true)),
        workspace_symbol_provider: Some(lsp::OneOf::Left(true)),
        folding_range_provider: Some(lsp::FoldingRangeProviderCapability::Simple(true)),
        inlay_hint_provider: Some(lsp::OneOf::Left(true)),
        code_action_provider: Some(lsp::CodeActionProviderCapability::Simple(true)),
        document_formatting_provider: Some(lsp::OneOf::Left(true)),
        ..Default::default()
    }
}

/// Runs the protocol on a connection: the handshake, then the message loop.
pub fn serve(conn: &Connection, mut config: Config) -> Result<(), String> {
    let (id, init) = conn.initialize_start().map_err(|e| e.to_string())?;
    let offered: Vec<lsp::PositionEncodingKind> =
        init.pointer("/capabilities/general/positionEncodings").and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default();
    config.encoding = text::Encoding::choose(&offered);
    config.hint_refresh = init.pointer("/capabilities/workspace/inlayHint/refreshSupport").and_then(Value::as_bool).unwrap_or(false);
    let caps = serde_json::to_value(capabilities(config.encoding)).map_err(|e| e.to_string())?;
    let result = serde_json::json!({
        "capabilities": caps,
        "serverInfo": { "name": "pyasm", "version": env!("CARGO_PKG_VERSION") },
    });
    conn.initialize_finish(id, result).map_err(|e| e.to_string())?;
    if let Some(o) = init.get("initializationOptions") {
        read_options(o, &mut config);
    }
    let inbox = Inbox::new(conn.receiver.clone());
    let worker = analysis::Worker::start(inbox.sender());
    Server {
        conn,
        config,
        inbox,
        worker,
        ws: Workspace::default(),
        dirty: BTreeSet::new(),
        deadline: None,
        published: HashSet::new(),
        snapshots: HashMap::new(),
        finished: HashMap::new(),
        modules: HashMap::new(),
        running: HashMap::new(),
        owed: HashSet::new(),
        generation: 0,
        edits: Vec::new(),
        jobs: 0,
        module_cache: HashMap::new(),
        patience: None,
        unanalysed: false,
        runs: 0,
    }
    .run()
}

/// `{"python": "3.12", "debounceMs": 100, "errorDocs": "https://…/errors.md"}`.
fn read_options(o: &Value, config: &mut Config) {
    if let Some(v) = o.get("python").and_then(Value::as_str).and_then(|s| s.parse().ok()) {
        config.python = Some(v);
    }
    if let Some(ms) = o.get("debounceMs").and_then(Value::as_u64) {
        config.debounce = Duration::from_millis(ms.min(10_000));
    }
    if let Some(d) = o.get("errorDocs").and_then(Value::as_str) {
        config.error_docs = (!d.is_empty()).then(|| d.to_string());
    }
}

struct Server<'a> {
    conn: &'a Connection,
    config: Config,
    inbox: Inbox,
    ws: Workspace,
    /// Documents whose module's diagnostics are due.
    dirty: BTreeSet<PathBuf>,
    deadline: Option<Instant>,
    worker: analysis::Worker,
    /// Files that have diagnostics published (to clear them when they go away).
    published: HashSet<PathBuf>,
    /// By file: the snapshot of its current text (an analysis, or the parse alone).
    snapshots: HashMap<PathBuf, Rc<Snapshot>>,
    /// By file: the last analysis that came back, current or not.
    finished: HashMap<PathBuf, Rc<Snapshot>>,
    /// The module each file was last checked in: an edit that takes a file out of a module
    /// (a renamed code object) changes the other members' diagnostics too.
    modules: HashMap<PathBuf, Vec<PathBuf>>,
    /// The newest job sent for each module, and the generation it was sent at.
    running: HashMap<Vec<PathBuf>, (u64, u64)>,
    /// Modules whose diagnostics are due when their analysis comes.
    owed: HashSet<Vec<PathBuf>>,
    /// Edits and closes so far, and the recent ones (by generation) that an analysis under
    /// way may not have seen.
    generation: u64,
    edits: Vec<(u64, PathBuf)>,
    /// Jobs sent so far.
    jobs: u64,
    /// The module of each file, found at a generation (finding it reads the whole folder's
    /// texts: it is kept until the next edit).
    module_cache: HashMap<PathBuf, (u64, Vec<PathBuf>)>,
    /// Until when the request being answered may wait for an analysis.
    patience: Option<Instant>,
    /// Whether a request was answered without the analysis of its text (the client is told
    /// to ask for its inlay hints again when it comes).
    unanalysed: bool,
    /// Pipeline runs so far (`pyasm/debugStats` tells the tests).
    runs: u64,
}

/// A request's failure: the protocol's error code and a message.
type Failure = (i32, String);

pub(crate) fn path_of(uri: &lsp::Url) -> Option<PathBuf> {
    uri.to_file_path().ok().map(|p| workspace::normalize(&p))
}

impl Server<'_> {
    fn run(&mut self) -> Result<(), String> {
        loop {
            // Due diagnostics go out even while requests keep coming.
            if self.deadline.is_some_and(|d| d <= Instant::now()) {
                self.publish_due();
            }
            match self.inbox.next(self.deadline) {
                Next::Timeout => self.publish_due(),
                Next::Analysed(done) => self.arrived(done),
                Next::Closed => return Ok(()),
                Next::Message(Message::Request(r)) if r.method == lsp::request::Shutdown::METHOD => {
                    self.send(Response::new_ok(r.id, ()));
                }
                Next::Message(Message::Request(r)) => self.request(r),
                Next::Message(Message::Notification(n)) => {
                    if n.method == lsp::notification::Exit::METHOD {
                        return Ok(());
                    }
                    let _ = self.guarded("notification", |s| s.notification(n));
                }
                Next::Message(Message::Response(_)) => {}
            }
        }
    }

    fn send(&self, m: impl Into<Message>) {
        let _ = self.conn.sender.send(m.into());
    }

    fn log(&self, message: String) {
        eprintln!("pyasm lsp: {message}");
        let params = lsp::LogMessageParams { typ: lsp::MessageType::ERROR, message };
        self.send(Notification::new(lsp::notification::LogMessage::METHOD.into(), params));
    }

    /// Runs `f`; a panic is logged and comes back as its message instead of ending the server.
    fn guarded<T>(&mut self, what: &str, f: impl FnOnce(&mut Self) -> T) -> Result<T, String> {
        match std::panic::catch_unwind(AssertUnwindSafe(|| f(self))) {
            Ok(t) => Ok(t),
            Err(p) => {
                let why = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default();
                self.log(format!("{what} failed: {why}"));
                // What was cached may be what failed.
                analysis::discard(self.snapshots.drain().map(|(_, s)| s).collect());
                Err(why)
            }
        }
    }

    fn request(&mut self, r: Request) {
        let id = r.id.clone();
        let method = r.method.clone();
        if self.inbox.cancelled(&id) {
            return self.send(Response::new_err(id, ErrorCode::RequestCanceled as i32, format!("{method} was cancelled")));
        }
        let document = r.params.pointer("/textDocument/uri").and_then(Value::as_str).and_then(|u| lsp::Url::parse(u).ok());
        if document.and_then(|u| path_of(&u)).is_some_and(|p| self.inbox.edited(&p)) {
            let why = format!("{method}: the document has changed since");
            return self.send(Response::new_err(id, ErrorCode::ContentModified as i32, why));
        }
        self.patience = Some(Instant::now() + analysis::PATIENCE);
        let answer = self.guarded(&format!("request {method}"), |s| s.dispatch(r));
        self.patience = None;
        let response = match answer {
            Ok(Ok(v)) => Response::new_ok(id, v),
            Ok(Err((code, msg))) => Response::new_err(id, code, msg),
            Err(why) => Response::new_err(id, ErrorCode::InternalError as i32, format!("pyasm lsp: {method} failed (a bug): {why}")),
        };
        self.send(response);
    }

    fn dispatch(&mut self, r: Request) -> Result<Value, Failure> {
        use lsp::request::*;
        match r.method.as_str() {
            HoverRequest::METHOD => self.call::<HoverRequest>(r, features::hover),
            InlayHintRequest::METHOD => self.call::<InlayHintRequest>(r, features::inlay_hints),
            Completion::METHOD => self.call::<Completion>(r, features::completion),
            GotoDefinition::METHOD => self.call::<GotoDefinition>(r, features::definition),
            References::METHOD => self.call::<References>(r, features::references),
            PrepareRenameRequest::METHOD => self.call::<PrepareRenameRequest>(r, features::prepare_rename),
            Rename::METHOD => self.call_fallible::<Rename>(r, features::rename),
            DocumentSymbolRequest::METHOD => self.call::<DocumentSymbolRequest>(r, features::document_symbols),
            WorkspaceSymbolRequest::METHOD => self.call::<WorkspaceSymbolRequest>(r, features::workspace_symbols),
            FoldingRangeRequest::METHOD => self.call::<FoldingRangeRequest>(r, features::folding),
            Formatting::METHOD => self.call::<Formatting>(r, features::formatting),
            CodeActionRequest::METHOD => {
                let params: lsp::CodeActionParams = params(r.params)?;
                to_value(Some(diagnostics::quick_fixes(&params)))
            }
            "pyasm/debugPanic" => panic!("pyasm/debugPanic asked for a panic"),
            // For the tests: how many pipeline runs there were, and a busy server (with
            // `"analysis": true`, a slow analysis: each run sleeps first, until set again).
            "pyasm/debugStats" => Ok(serde_json::json!({ "runs": self.runs })),
            "pyasm/debugSleep" => {
                let ms = r.params.get("ms").and_then(Value::as_u64).unwrap_or(0).min(10_000);
                match r.params.get("analysis").and_then(Value::as_bool) {
                    Some(true) => self.worker.set_delay(ms),
                    _ => std::thread::sleep(Duration::from_millis(ms)),
                }
                Ok(Value::Null)
            }
            _ => Err((ErrorCode::MethodNotFound as i32, format!("pyasm lsp does not handle `{}`", r.method))),
        }
    }

    fn call<R: lsp::request::Request>(&mut self, r: Request, f: fn(&mut Ctx, R::Params) -> R::Result) -> Result<Value, Failure> {
        let p: R::Params = params(r.params)?;
        let mut cx = Ctx { server: self };
        to_value(f(&mut cx, p))
    }

    fn call_fallible<R: lsp::request::Request>(
        &mut self,
        r: Request,
        f: fn(&mut Ctx, R::Params) -> Result<R::Result, Failure>,
    ) -> Result<Value, Failure> {
        let p: R::Params = params(r.params)?;
        let mut cx = Ctx { server: self };
        to_value(f(&mut cx, p)?)
    }

    fn notification(&mut self, n: Notification) {
        use lsp::notification::*;
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let Ok(p) = n.extract::<lsp::DidOpenTextDocumentParams>(DidOpenTextDocument::METHOD) else { return };
                let Some(path) = path_of(&p.text_document.uri) else { return };
                self.ws.docs.insert(path.clone(), Document { text: p.text_document.text, version: p.text_document.version });
                self.touched(path);
            }
            DidChangeTextDocument::METHOD => {
                let Ok(p) = n.extract::<lsp::DidChangeTextDocumentParams>(DidChangeTextDocument::METHOD) else { return };
                let Some(path) = path_of(&p.text_document.uri) else { return };
                let Some(doc) = self.ws.docs.get_mut(&path) else { return };
                for c in &p.content_changes {
                    text::apply_change(&mut doc.text, c, self.config.encoding);
                }
                doc.version = p.text_document.version;
                self.touched(path);
            }
            DidSaveTextDocument::METHOD => {
                let Ok(p) = n.extract::<lsp::DidSaveTextDocumentParams>(DidSaveTextDocument::METHOD) else { return };
                if let Some(path) = path_of(&p.text_document.uri) {
                    self.touched(path);
                }
            }
            DidCloseTextDocument::METHOD => {
                let Ok(p) = n.extract::<lsp::DidCloseTextDocumentParams>(DidCloseTextDocument::METHOD) else { return };
                let Some(path) = path_of(&p.text_document.uri) else { return };
                self.ws.docs.remove(&path);
                analysis::discard(self.snapshots.drain().map(|(_, s)| s).collect());
                self.edited(&path);
                self.dirty.remove(&path);
                if self.published.remove(&path) {
                    self.publish(&path, Vec::new(), None);
                }
            }
            _ => {}
        }
    }

    /// A document changed: its module's diagnostics are due after the debounce.
    fn touched(&mut self, path: PathBuf) {
        let mut gone = analysis::take_out(&mut self.snapshots, |s| s.covers(&path));
        // An analysis of another text of it is of no more use (and a large one's memory is
        // better freed before the next one is made).
        gone.extend(analysis::take_out(&mut self.finished, |s| s.file(&path).is_some()));
        analysis::discard(gone);
        self.edited(&path);
        self.dirty.insert(path);
        self.deadline = Some(Instant::now() + self.config.debounce);
    }

    fn options(&self) -> crate::Options {
        crate::Options { version: self.config.python, default_version: self.config.default_version, ..Default::default() }
    }

    /// `version`: of the text the diagnostics are about.
    fn publish(&self, path: &Path, diagnostics: Vec<lsp::Diagnostic>, version: Option<i32>) {
        let Ok(uri) = lsp::Url::from_file_path(path) else { return };
        let params = lsp::PublishDiagnosticsParams { uri, diagnostics, version };
        self.send(Notification::new(lsp::notification::PublishDiagnostics::METHOD.into(), params));
    }

    /// Publishes the diagnostics of every dirty document's module.
    fn publish_due(&mut self) {
        self.deadline = None;
        let mut done: HashSet<PathBuf> = HashSet::new();
        let mut due: Vec<PathBuf> = std::mem::take(&mut self.dirty).into_iter().collect();
        let before: Vec<PathBuf> = due.iter().flat_map(|p| self.modules.get(p).cloned().unwrap_or_default()).collect();
        due.extend(before);
        for path in due {
            if done.contains(&path) || !self.ws.docs.contains_key(&path) {
                continue;
            }
            let module = self.module(&path);
            done.extend(module.iter().cloned());
            for m in &module {
                self.modules.insert(m.clone(), module.clone());
            }
            let current = module.first().and_then(|p| self.snapshots.get(p)).filter(|s| s.analysed && s.module == module).cloned();
            match current {
                Some(snap) => {
                    let _ = self.guarded("diagnostics", |s| s.publish_snapshot(&snap));
                }
                None => {
                    self.owed.insert(module.clone());
                    self.analyse(&module);
                }
            }
        }
    }

    /// Publishes an analysis's diagnostics, for each file of its module.
    fn publish_snapshot(&mut self, snap: &Snapshot) {
        let (files, diags) = (&snap.files, &snap.facts.diagnostics);
        let first = snap.inputs.first().copied().unwrap_or(0);
        let mut by_file = diagnostics::convert(files, diags, first, self.config.error_docs.as_deref(), self.config.encoding);
        // Every file of the module (its own and included ones) gets its list, empty ones too
        // where something was published before or the file is open.
        let mut paths: BTreeSet<PathBuf> = files.names().map(|n| workspace::normalize(Path::new(n))).collect();
        paths.extend(by_file.keys().cloned());
        for p in paths {
            let list = by_file.remove(&p).unwrap_or_default();
            let had = self.published.contains(&p);
            if list.is_empty() && !had && !self.ws.docs.contains_key(&p) {
                continue;
            }
            if list.is_empty() {
                self.published.remove(&p);
            } else {
                self.published.insert(p.clone());
            }
            self.publish(&p, list, snap.versions.get(&p).copied());
        }
    }
}

/// What a request handler sees: the server, through what a handler needs.
pub(crate) struct Ctx<'s, 'c> {
    server: &'s mut Server<'c>,
}

impl Ctx<'_, '_> {
    /// The module snapshot and the path of the document at `uri`.
    pub fn snapshot(&mut self, uri: &lsp::Url) -> Option<(Rc<Snapshot>, PathBuf)> {
        let path = path_of(uri)?;
        Some((self.server.snapshot(&path), path))
    }
    pub fn text(&self, path: &Path) -> Option<String> {
        self.server.ws.text(path)
    }
    /// The open documents, by path.
    pub fn open_documents(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = self.server.ws.docs.keys().cloned().collect();
        out.sort();
        out
    }
    /// The snapshot of the module of the document at `path`.
    pub fn snapshot_of(&mut self, path: &Path) -> Rc<Snapshot> {
        self.server.snapshot(path)
    }
    pub fn encoding(&self) -> text::Encoding {
        self.server.config.encoding
    }
}

fn params<P: serde::de::DeserializeOwned>(v: Value) -> Result<P, Failure> {
    serde_json::from_value(v).map_err(|e| (ErrorCode::InvalidParams as i32, format!("bad parameters: {e}")))
}

fn to_value(v: impl serde::Serialize) -> Result<Value, Failure> {
    serde_json::to_value(v).map_err(|e| (ErrorCode::InternalError as i32, e.to_string()))
}
