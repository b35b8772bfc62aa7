//! The messages the client has sent and the server has not handled yet, and the analyses
//! the worker thread has finished.
//!
//! A request that takes a while leaves messages waiting. A thread takes them off the
//! connection as they arrive, so that when the server comes back it sees all of them at once:
//! a request followed by its `$/cancelRequest` is not worked on, and one followed by an edit
//! of its document is answered `ContentModified` (its answer would be about a text the editor
//! no longer has). The worker's results come through the same channel, so that the main loop
//! waits on one thing.

use lsp_server::{Message, RequestId};
use lsp_types as lsp;
use lsp_types::notification::Notification as _;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::Instant;

/// What comes in: from the client, or from the worker.
pub enum Event {
    Client(Message),
    Analysed(super::analysis::Done),
    /// The client closed the stream (the worker's sender keeps the channel open).
    Closed,
}

pub struct Inbox {
    rx: Receiver<Event>,
    /// For the worker's results.
    tx: Sender<Event>,
    waiting: VecDeque<Message>,
    analysed: VecDeque<super::analysis::Done>,
    closed: bool,
}

/// What `Inbox::next` found.
pub enum Next {
    Message(Message),
    /// A finished analysis (these come before the client's messages waiting).
    Analysed(super::analysis::Done),
    /// The deadline came first.
    Timeout,
    /// The client is gone.
    Closed,
}

impl Inbox {
    pub fn new(from_client: impl IntoIterator<Item = Message> + Send + 'static) -> Inbox {
        let (tx, rx) = channel();
        let client = tx.clone();
        std::thread::spawn(move || {
            for m in from_client {
                if client.send(Event::Client(m)).is_err() {
                    break;
                }
            }
            let _ = client.send(Event::Closed);
        });
        Inbox { rx, tx, waiting: VecDeque::new(), analysed: VecDeque::new(), closed: false }
    }

    /// Where the worker sends what it finished.
    pub fn sender(&self) -> Sender<Event> {
        self.tx.clone()
    }

    fn keep(&mut self, e: Event) {
        match e {
            Event::Client(m) => self.waiting.push_back(m),
            Event::Analysed(d) => self.analysed.push_back(d),
            Event::Closed => self.closed = true,
        }
    }

    /// Everything that has come in, kept; false once nothing more can come.
    fn gather(&mut self, deadline: Option<Instant>) -> bool {
        if self.waiting.is_empty() && self.analysed.is_empty() {
            if self.closed {
                return false;
            }
            let first = match deadline {
                Some(d) => self.rx.recv_timeout(d.saturating_duration_since(Instant::now())),
                None => self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match first {
                Ok(e) => self.keep(e),
                Err(RecvTimeoutError::Timeout) => return true,
                Err(RecvTimeoutError::Disconnected) => return false,
            }
        }
        while let Ok(e) = self.rx.try_recv() {
            self.keep(e);
        }
        true
    }

    /// The oldest finished analysis, else the oldest message, waiting for one until
    /// `deadline` (forever without one).
    pub fn next(&mut self, deadline: Option<Instant>) -> Next {
        if !self.gather(deadline) {
            return Next::Closed;
        }
        if let Some(d) = self.analysed.pop_front() {
            return Next::Analysed(d);
        }
        self.waiting.pop_front().map_or(Next::Timeout, Next::Message)
    }

    /// The next finished analysis, waiting for one until `deadline`; the client's messages
    /// that come meanwhile wait.
    pub fn next_analysis(&mut self, deadline: Instant) -> Option<super::analysis::Done> {
        loop {
            if let Some(d) = self.analysed.pop_front() {
                return Some(d);
            }
            if Instant::now() >= deadline {
                return None;
            }
            match self.rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(e) => self.keep(e),
                Err(_) => return None,
            }
        }
    }

    /// Whether a `$/cancelRequest` for `id` is waiting.
    pub fn cancelled(&self, id: &RequestId) -> bool {
        self.waiting.iter().any(|m| match m {
            Message::Notification(n) if n.method == lsp::notification::Cancel::METHOD => {
                serde_json::from_value::<lsp::CancelParams>(n.params.clone()).is_ok_and(|p| request_id(&p.id) == *id)
            }
            _ => false,
        })
    }

    /// Whether an edit of the document at `path` is waiting.
    pub fn edited(&self, path: &Path) -> bool {
        self.waiting.iter().any(|m| match m {
            Message::Notification(n) if n.method == lsp::notification::DidChangeTextDocument::METHOD => {
                let uri = n.params.pointer("/textDocument/uri").and_then(|u| u.as_str()).and_then(|u| lsp::Url::parse(u).ok());
                uri.and_then(|u| super::path_of(&u)).is_some_and(|p| p == path)
            }
            _ => false,
        })
    }
}

fn request_id(id: &lsp::NumberOrString) -> RequestId {
    match id {
        lsp::NumberOrString::Number(n) => RequestId::from(*n),
        lsp::NumberOrString::String(s) => RequestId::from(s.clone()),
    }
}
