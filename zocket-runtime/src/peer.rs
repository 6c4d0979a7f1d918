//! What the rest of the server holds of one connection: its id, its rooms
//! and its [`Outbox`], and how a queued frame finds its way to the socket.
//!
//! A push only enqueues; when it makes the outbox non-empty the peer is
//! marked dirty on this thread ([`crate::flush`]), and the flush pass writes
//! it later, after every room lock is released, with one vectored write for
//! all the frames it got meanwhile. A socket that takes no more is left to
//! the connection's writer task ([`crate::transport`]).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use zocket_core::error::ErrorPayload;
use zocket_core::rpc::Pending;
use zocket_core::{wire, ClientId};

use crate::outbox::{Outbox, PushError, Written};
use crate::ws::deflate::{Agreed, Compression, Window};
use crate::ws::WireFrame;

pub(crate) struct Peer {
    pub id: ClientId,
    /// Rooms this connection is in. Locked before any room shard when both
    /// are needed, never the other way round.
    pub rooms: Mutex<HashSet<Arc<str>>>,
    outbox: Mutex<Outbox>,
    /// The socket the flush pass writes to directly (the TCP transport);
    /// unset for other transports, whose writer task does all writes.
    direct: OnceLock<Arc<TcpStream>>,
    /// In some thread's dirty list already.
    dirty: AtomicBool,
    /// Wakes the writer task.
    wake: Notify,
    /// The server's requests to this connection waiting for an answer;
    /// made by the first request, so idle connections do not pay for it.
    requests: OnceLock<Arc<Pending>>,
    /// Set when the connection negotiated permessage-deflate: data frames
    /// go out as their compressed variant. Boxed: most connections never
    /// set it and keep only the pointer.
    deflate: OnceLock<Box<(Window, Compression)>>,
}

impl Peer {
    pub fn new(id: ClientId, max_frames: usize, max_bytes: usize) -> Arc<Self> {
        Arc::new(Peer {
            id,
            rooms: Mutex::new(HashSet::new()),
            outbox: Mutex::new(Outbox::new(max_frames, max_bytes)),
            direct: OnceLock::new(),
            dirty: AtomicBool::new(false),
            wake: Notify::new(),
            requests: OnceLock::new(),
            deflate: OnceLock::new(),
        })
    }

    /// Sends data frames compressed from now on (frames queued before go
    /// as they are, which is always valid).
    pub fn compress_with(&self, agreed: &Agreed) {
        let _ = self
            .deflate
            .set(Box::new((agreed.window(), agreed.settings)));
    }

    /// The frame this connection gets for `frame`: itself, or its shared
    /// compressed variant. The first compressed recipient of a fan-out
    /// compresses it, under whatever lock the sender holds (a room
    /// shard's): once per message, not per recipient.
    fn variant(&self, frame: &WireFrame) -> WireFrame {
        match self.deflate.get().map(Box::as_ref) {
            Some((window, settings)) => frame.deflated(*window, settings),
            None => frame.clone(),
        }
    }

    /// Queues a frame for this connection. See [`Outbox::push`].
    pub fn push(self: &Arc<Self>, frame: &WireFrame) -> Result<(), PushError> {
        let frame = self.variant(frame);
        let pushed = self.outbox.lock().push(frame);
        if pushed == Err(PushError::Overflow) {
            crate::metrics::queue_overflow();
        }
        match pushed {
            Ok(true) | Err(PushError::Overflow) => self.mark_dirty(),
            Ok(false) | Err(_) => {}
        }
        pushed.map(drop)
    }

    /// Queues a frame that is dropped rather than closing a slow
    /// connection. See [`Outbox::push_volatile`].
    pub fn push_volatile(self: &Arc<Self>, frame: &WireFrame) -> Result<(), PushError> {
        let frame = self.variant(frame);
        let pushed = self.outbox.lock().push_volatile(frame);
        if pushed == Ok(true) {
            self.mark_dirty();
        }
        pushed.map(drop)
    }

    /// Queues a ping or a pong.
    pub fn push_control(self: &Arc<Self>, frame: WireFrame) {
        if self.outbox.lock().push_control(frame) {
            self.mark_dirty();
        }
    }

    /// Sends this connection a `zocket.error` frame. Through the same
    /// bounded queue: a client that floods bad frames and never reads is
    /// cut off like any slow consumer.
    pub fn send_error(self: &Arc<Self>, error: &ErrorPayload) {
        crate::metrics::error_sent(error.code);
        let _ = self.push(&WireFrame::text(&wire::encode_error(error)));
    }

    /// Sends an error frame answering request `rpc_id`, or a plain one.
    pub fn send_error_to(self: &Arc<Self>, error: &ErrorPayload, rpc_id: Option<&str>) {
        crate::metrics::error_sent(error.code);
        let _ = self.push(&WireFrame::text(&wire::encode_error_to(error, rpc_id)));
    }

    /// The server's pending requests to this connection, if it made any.
    pub fn requests(&self) -> Option<&Arc<Pending>> {
        self.requests.get()
    }

    pub fn requests_or_init(&self, capacity: usize) -> &Arc<Pending> {
        self.requests.get_or_init(|| Pending::new("s-", capacity))
    }

    /// The connection is gone: pending requests fail at once, and new ones
    /// are refused.
    pub fn end_requests(&self) {
        self.requests_or_init(0).close();
    }

    /// Closes with `code` once the frames already queued are written (4008
    /// drops them). The first close wins.
    pub fn close(self: &Arc<Self>, code: u16, reason: &str) {
        if self.outbox.lock().close(code, reason) {
            self.mark_dirty();
        }
    }

    /// Answers the client's close frame (echoing `code`).
    pub fn answer_close(self: &Arc<Self>, code: u16) {
        self.outbox.lock().answer_close(code);
        self.mark_dirty();
    }

    /// The code of the server's own close, if it started one.
    pub fn closed_by_server(&self) -> Option<u16> {
        self.outbox.lock().closed_by_server()
    }

    fn mark_dirty(self: &Arc<Self>) {
        if !self.dirty.swap(true, Ordering::AcqRel) {
            crate::flush::mark(self.clone());
        }
    }

    /// The flush pass: writes what is queued, without waiting, when the
    /// transport allows it; else (or when the socket is full) wakes the
    /// writer task.
    pub fn flush(&self) {
        self.dirty.store(false, Ordering::Release);
        let Some(socket) = self.direct.get() else {
            self.wake.notify_one();
            return;
        };
        let written = self
            .outbox
            .lock()
            .write_with(|slices| socket.try_write_vectored(slices));
        if written != Written::All {
            self.wake.notify_one();
        }
    }

    /// Hands the socket to the flush pass (the TCP transport).
    pub fn attach(&self, socket: Arc<TcpStream>) {
        let _ = self.direct.set(socket);
    }

    /// For the writer task of the TCP transport: writes what it can.
    pub fn write_direct(&self, socket: &TcpStream) -> Written {
        self.outbox
            .lock()
            .write_with(|slices| socket.try_write_vectored(slices))
    }

    /// For the writer task of other transports: takes every queued frame;
    /// `(written nothing, close frame among them)`.
    pub fn drain(&self, out: &mut Vec<WireFrame>) -> bool {
        self.outbox.lock().drain(out)
    }

    /// The writer could not write: nothing more will be.
    pub fn fail(&self) {
        self.outbox.lock().fail();
    }

    /// Waits until the writer has something to do.
    pub async fn wait(&self) {
        self.wake.notified().await;
    }

    /// What is queued, taken without writing. For tests.
    #[cfg(test)]
    pub fn take_queued(&self) -> Vec<WireFrame> {
        let mut out = Vec::new();
        self.outbox.lock().drain(&mut out);
        out
    }
}
