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
use crate::replay::Replay;
use crate::ws::deflate::{Agreed, Compression, Window};
use crate::ws::WireFrame;

pub(crate) struct Peer {
    pub id: ClientId,
    /// Rooms this connection is in. Locked before any room shard when both
    /// are needed, never the other way round.
    pub rooms: Mutex<HashSet<Arc<str>>>,
    outbox: Mutex<Line>,
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
    /// What a resumable session was sent lately (`None` unless resume is
    /// on: then every push costs nothing more than this check). Locked
    /// before the outbox, so that frames are recorded in the order they
    /// are queued.
    replay: Option<Box<Mutex<Replay>>>,
}

/// The connection's side of a peer: its queue and, on TCP, the socket the
/// flush pass writes to. Under one lock so that a resumed session can be
/// handed a new connection; the flush pass takes this lock anyway.
struct Line {
    outbox: Outbox,
    /// The socket the flush pass writes to directly (the TCP transport);
    /// unset for other transports, whose writer task does all writes.
    direct: Option<Arc<TcpStream>>,
}

/// Why a suspended session could not be handed a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Unrecoverable {
    /// Frames after the client's position fell out of the replay buffer,
    /// or the position is not one of this session.
    #[error("frames after the client's position are not kept")]
    Trimmed,
    /// The new connection negotiated other compression than the session's
    /// frames were queued with.
    #[error("the new connection's compression differs")]
    Compression,
    /// The router does not keep sessions.
    #[error("not a resumable session")]
    NotResumable,
}

impl Peer {
    pub fn new(id: ClientId, max_frames: usize, max_bytes: usize) -> Arc<Self> {
        Self::with_replay(id, max_frames, max_bytes, None)
    }

    /// A peer of a resumable session, recording what it is sent in `replay`.
    pub fn resumable(
        id: ClientId,
        max_frames: usize,
        max_bytes: usize,
        replay: Replay,
    ) -> Arc<Self> {
        Self::with_replay(
            id,
            max_frames,
            max_bytes,
            Some(Box::new(Mutex::new(replay))),
        )
    }

    fn with_replay(
        id: ClientId,
        max_frames: usize,
        max_bytes: usize,
        replay: Option<Box<Mutex<Replay>>>,
    ) -> Arc<Self> {
        Arc::new(Peer {
            id,
            rooms: Mutex::new(HashSet::new()),
            outbox: Mutex::new(Line {
                outbox: Outbox::new(max_frames, max_bytes),
                direct: None,
            }),
            dirty: AtomicBool::new(false),
            wake: Notify::new(),
            requests: OnceLock::new(),
            deflate: OnceLock::new(),
            replay,
        })
    }

    /// Hands a suspended session's peer the queue of a new connection
    /// (whose transport is not started yet): `first` (the `zocket.session`
    /// frame, not a frame of the session's count), then every frame after
    /// `position`, then whatever is sent from now on. `deflate` is what the
    /// new connection negotiated; it must be what the old one did, since
    /// the kept frames are already compressed (or not) for it.
    pub fn reattach(
        &self,
        position: u64,
        deflate: Option<&Agreed>,
        first: WireFrame,
    ) -> Result<(), Unrecoverable> {
        let Some(replay) = &self.replay else {
            return Err(Unrecoverable::NotResumable);
        };
        let had = self.deflate.get().map(|b| **b);
        if had != deflate.map(|a| (a.window(), a.settings)) {
            return Err(Unrecoverable::Compression);
        }
        let replay = replay.lock();
        let missed = replay.after(position).ok_or(Unrecoverable::Trimmed)?;
        let mut line = self.outbox.lock();
        line.outbox = line.outbox.reopened();
        line.direct = None;
        line.outbox.push_control(first);
        for frame in missed {
            // Uncapped: the buffer is bounded by the session's settings,
            // and the client is owed every one of these frames.
            line.outbox.push_control(frame.clone());
        }
        Ok(())
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
        let pushed = match &self.replay {
            None => self.outbox.lock().outbox.push(frame),
            Some(replay) => {
                let mut replay = replay.lock();
                let pushed = self.outbox.lock().outbox.push(frame.clone());
                // Recorded whatever the queue did with it: if the
                // connection is gone (closed, or overflowing because its
                // socket died) and the session resumes, the frame is owed
                // to the client; if the session ends instead, no matter.
                replay.record(frame);
                pushed
            }
        };
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
        // Volatile frames are replayed only if they were queued: one sent
        // while the session is suspended is dropped like one a full queue
        // refuses.
        let pushed = match &self.replay {
            None => self.outbox.lock().outbox.push_volatile(frame),
            Some(replay) => {
                let mut replay = replay.lock();
                let pushed = self.outbox.lock().outbox.push_volatile(frame.clone());
                if pushed.is_ok() {
                    replay.record(frame);
                }
                pushed
            }
        };
        if pushed == Ok(true) {
            self.mark_dirty();
        }
        pushed.map(drop)
    }

    /// Queues a ping or a pong.
    pub fn push_control(self: &Arc<Self>, frame: WireFrame) {
        if self.outbox.lock().outbox.push_control(frame) {
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
        if self.outbox.lock().outbox.close(code, reason) {
            self.mark_dirty();
        }
    }

    /// Answers the client's close frame (echoing `code`).
    pub fn answer_close(self: &Arc<Self>, code: u16) {
        self.outbox.lock().outbox.answer_close(code);
        self.mark_dirty();
    }

    /// The code of the server's own close, if it started one.
    pub fn closed_by_server(&self) -> Option<u16> {
        self.outbox.lock().outbox.closed_by_server()
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
        let mut line = self.outbox.lock();
        let Line { outbox, direct } = &mut *line;
        let Some(socket) = direct else {
            drop(line);
            self.wake.notify_one();
            return;
        };
        let written = outbox.write_with(|slices| socket.try_write_vectored(slices));
        drop(line);
        if written != Written::All {
            self.wake.notify_one();
        }
    }

    /// Hands the socket to the flush pass (the TCP transport).
    pub fn attach(&self, socket: Arc<TcpStream>) {
        self.outbox.lock().direct = Some(socket);
    }

    /// For the writer task of the TCP transport: writes what it can.
    pub fn write_direct(&self, socket: &TcpStream) -> Written {
        self.outbox
            .lock()
            .outbox
            .write_with(|slices| socket.try_write_vectored(slices))
    }

    /// For the writer task of other transports: takes every queued frame;
    /// `(written nothing, close frame among them)`.
    pub fn drain(&self, out: &mut Vec<WireFrame>) -> bool {
        self.outbox.lock().outbox.drain(out)
    }

    /// The writer could not write: nothing more will be.
    pub fn fail(&self) {
        self.outbox.lock().outbox.fail();
    }

    /// Waits until the writer has something to do.
    pub async fn wait(&self) {
        self.wake.notified().await;
    }

    /// What is queued, taken without writing. For tests.
    #[cfg(test)]
    pub fn take_queued(&self) -> Vec<WireFrame> {
        let mut out = Vec::new();
        self.outbox.lock().outbox.drain(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(frames: &[WireFrame]) -> Vec<&[u8]> {
        frames.iter().map(|f| &f.as_bytes()[2..]).collect()
    }

    /// What a resumable peer was sent, while its connection lived, while it
    /// was closing and after, is handed to the next connection from the
    /// client's position on, after the session frame; volatile frames sent
    /// while it was away are not.
    #[test]
    fn reattach_queues_the_session_frame_then_what_was_missed() {
        let peer = Peer::resumable(ClientId::from("c"), 16, 1 << 16, Replay::new(16, 1 << 16));
        peer.push(&WireFrame::text("1")).expect("open");
        peer.push_volatile(&WireFrame::text("2")).expect("open");
        assert_eq!(texts(&peer.take_queued()), [b"1", b"2"], "written");
        peer.close(zocket_core::close::NORMAL, "");
        assert_eq!(peer.push(&WireFrame::text("3")), Err(PushError::Closed));
        assert_eq!(
            peer.push_volatile(&WireFrame::text("dropped")),
            Err(PushError::Closed)
        );
        peer.push(&WireFrame::text("4")).expect_err("still closed");
        peer.reattach(1, None, WireFrame::text("session"))
            .expect("frames 2.. are kept");
        assert_eq!(
            texts(&peer.take_queued()),
            [b"session".as_slice(), b"2", b"3", b"4"]
        );
        peer.push(&WireFrame::text("5")).expect("open again");
        assert_eq!(texts(&peer.take_queued()), [b"5"]);
    }

    #[test]
    fn reattach_refuses_a_trimmed_gap_or_other_compression() {
        let peer = Peer::resumable(ClientId::from("c"), 16, 1 << 16, Replay::new(2, 1 << 16));
        for s in ["1", "2", "3"] {
            peer.push(&WireFrame::text(s)).expect("open");
        }
        let first = || WireFrame::text("session");
        assert_eq!(peer.reattach(0, None, first()), Err(Unrecoverable::Trimmed));
        assert_eq!(peer.reattach(4, None, first()), Err(Unrecoverable::Trimmed));
        let agreed = crate::ws::deflate::negotiate(
            [b"permessage-deflate".as_slice()],
            &Compression::default(),
        )
        .expect("a plain offer is accepted");
        assert_eq!(
            peer.reattach(1, Some(&agreed), first()),
            Err(Unrecoverable::Compression)
        );
        let plain = Peer::new(ClientId::from("p"), 16, 1 << 16);
        assert_eq!(
            plain.reattach(0, None, first()),
            Err(Unrecoverable::NotResumable)
        );
        assert!(peer.reattach(1, None, first()).is_ok());
    }
}
