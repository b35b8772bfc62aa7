//! The messages the client has sent and the server has not handled yet.
//!
//! The server is one thread, so a long run (a large module checked) leaves messages waiting.
//! A thread takes them off the connection as they arrive, so that when the server comes back
//! it sees all of them at once: a request followed by its `$/cancelRequest` is not worked on,
//! and one followed by an edit of its document is answered `ContentModified` (its answer
//! would be about a text the editor no longer has).

use lsp_server::{Message, RequestId};
use lsp_types as lsp;
use lsp_types::notification::Notification as _;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Instant;

pub struct Inbox {
    rx: Receiver<Message>,
    waiting: VecDeque<Message>,
}

/// What `Inbox::next` found.
pub enum Next {
    Message(Message),
    /// The deadline came first.
    Timeout,
    /// The client is gone.
    Closed,
}

impl Inbox {
    pub fn new(from_client: impl IntoIterator<Item = Message> + Send + 'static) -> Inbox {
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for m in from_client {
                if tx.send(m).is_err() {
                    break;
                }
            }
        });
        Inbox { rx, waiting: VecDeque::new() }
    }

    /// The oldest message, waiting for one until `deadline` (forever without one).
    pub fn next(&mut self, deadline: Option<Instant>) -> Next {
        if self.waiting.is_empty() {
            let first = match deadline {
                Some(d) => self.rx.recv_timeout(d.saturating_duration_since(Instant::now())),
                None => self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match first {
                Ok(m) => self.waiting.push_back(m),
                Err(RecvTimeoutError::Timeout) => return Next::Timeout,
                Err(RecvTimeoutError::Disconnected) => return Next::Closed,
            }
        }
        self.waiting.extend(self.rx.try_iter());
        self.waiting.pop_front().map_or(Next::Closed, Next::Message)
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
