//! The send side of one connection: its id, its rooms and its bounded
//! outgoing queue. Fan-out pushes pre-built frames here without awaiting;
//! the connection's writer task drains the queue into the socket.

use std::cell::{Cell, RefCell};
use std::collections::{HashSet, VecDeque};
use std::io::{self, IoSlice};
use std::sync::{Arc, Weak};

use axum::extract::ws::{Message, Utf8Bytes};
use parking_lot::Mutex;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use zocket_core::ClientId;

use crate::wsframe;

/// Why a connection's queue stopped accepting frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CloseReason {
    pub code: u16,
    pub reason: &'static str,
    /// Whether the writer sends a close frame of its own (false when
    /// answering the client's close, which the WebSocket layer does).
    pub frame: bool,
    /// Whether frames still queued are dropped instead of written first.
    pub drop_queued: bool,
}

/// A push onto a closed or full queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushError {
    /// The queue was full; the connection is now being closed with 4008.
    Overflow,
    /// The connection is already closing.
    Closed,
}

struct QueueState {
    /// Text frames, or binary ones for the echo endpoint.
    frames: VecDeque<Message>,
    bytes: usize,
    ping: bool,
    close: Option<CloseReason>,
    /// Fast path: the socket, written directly (under this lock) by
    /// whoever finds frames to send; `None` on the tungstenite path and
    /// once the connection has ended.
    sock: Option<Arc<TcpStream>>,
    /// Fast path: bytes of the front frame already written.
    offset: usize,
    /// Fast path: the close frame has been queued behind the frames.
    close_queued: bool,
}

/// What the writer should do after a [`Peer::drain`]: write the drained
/// frames, then a ping if asked, then a close frame if the queue is closed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Batch {
    pub ping: bool,
    pub close: Option<CloseReason>,
}

pub(crate) struct Peer {
    pub id: ClientId,
    /// This peer's own `Arc`, for the publish-batch cork.
    me: Weak<Peer>,
    /// Rooms this connection is in. Locked before any room shard when both
    /// are needed, never the other way round.
    pub rooms: Mutex<HashSet<Arc<str>>>,
    queue: Mutex<QueueState>,
    wake: Notify,
    max_frames: usize,
    max_bytes: usize,
}

impl Peer {
    #[cfg(test)]
    pub fn new(id: ClientId, max_frames: usize, max_bytes: usize) -> Self {
        Self::with_me(Weak::new(), id, max_frames, max_bytes)
    }

    /// A peer in an `Arc` (as the server holds every peer): direct writes
    /// from a publish batch can then be corked.
    pub fn new_arc(id: ClientId, max_frames: usize, max_bytes: usize) -> Arc<Self> {
        Arc::new_cyclic(|me| Self::with_me(me.clone(), id, max_frames, max_bytes))
    }

    fn with_me(me: Weak<Peer>, id: ClientId, max_frames: usize, max_bytes: usize) -> Self {
        Peer {
            me,
            id,
            rooms: Mutex::new(HashSet::new()),
            queue: Mutex::new(QueueState {
                frames: VecDeque::new(),
                bytes: 0,
                ping: false,
                close: None,
                sock: None,
                offset: 0,
                close_queued: false,
            }),
            wake: Notify::new(),
            max_frames,
            max_bytes,
        }
    }

    /// Queues a frame. A full queue closes the connection (a slow consumer
    /// must not make the server hold unbounded memory, nor make its room
    /// miss messages silently: it is told with close code 4008).
    pub fn push(&self, frame: Utf8Bytes) -> Result<(), PushError> {
        self.push_message(Message::Text(frame))
    }

    /// [`push`](Self::push) for any data frame (the echo endpoint sends
    /// binary ones back).
    pub fn push_message(&self, frame: Message) -> Result<(), PushError> {
        let len = frame_len(&frame);
        let mut q = self.queue.lock();
        if q.close.is_some() {
            return Err(PushError::Closed);
        }
        if !self.fits(&q, len) {
            q.close = Some(CloseReason {
                code: zocket_core::close::SLOW_CONSUMER,
                reason: "outgoing queue overflow",
                frame: true,
                drop_queued: true,
            });
            drop(q);
            self.wake.notify_one();
            return Err(PushError::Overflow);
        }
        self.enqueue(q, frame, len);
        Ok(())
    }

    fn fits(&self, q: &QueueState, len: usize) -> bool {
        q.frames.len() < self.max_frames && q.bytes + len <= self.max_bytes
    }

    fn enqueue(&self, mut q: parking_lot::MutexGuard<'_, QueueState>, frame: Message, len: usize) {
        q.bytes += len;
        push_frame(&mut q.frames, frame);
        if q.frames.len() == 1 {
            self.kick(q);
        }
    }

    /// A frame went into an empty queue: on the fast path, write it now,
    /// or at the end of the current publish batch (cork) when called from
    /// a connection task; else wake the writer.
    fn kick(&self, q: parking_lot::MutexGuard<'_, QueueState>) {
        let Some(sock) = q.sock.clone() else {
            drop(q);
            self.wake.notify_one();
            return;
        };
        let corked = CORK
            .try_with(|cork| match self.me.upgrade() {
                Some(me) => {
                    let mut cork = cork.borrow_mut();
                    if cork.capacity() == 0 {
                        *cork = SPARE_CORK.try_with(Cell::take).unwrap_or_default();
                    }
                    cork.push(me);
                    true
                }
                None => false,
            })
            .unwrap_or(false);
        if corked {
            return;
        }
        self.write_locked(q, &sock);
    }

    /// Writes what is queued without waiting, under the queue lock so that
    /// frames never interleave; what the socket refuses is left to the
    /// writer task.
    fn write_locked(&self, mut q: parking_lot::MutexGuard<'_, QueueState>, sock: &TcpStream) {
        let written = write_queued(&mut q, sock);
        drop(q);
        self.after_write(written);
    }

    /// Fast path: writes what is queued without waiting (called at the end
    /// of a publish batch); what the socket does not take is left to the
    /// writer task.
    pub fn flush_now(&self) {
        let q = self.queue.lock();
        let Some(sock) = q.sock.clone() else {
            drop(q);
            self.wake.notify_one();
            return;
        };
        self.write_locked(q, &sock);
    }

    fn after_write(&self, written: Written) {
        match written {
            Written::All => {}
            Written::Blocked | Written::Closed => self.wake.notify_one(),
            Written::Failed => {
                self.close(zocket_core::close::NORMAL, "");
            }
        }
    }

    /// Fast path: hands the socket to the queue.
    pub fn attach(&self, sock: Arc<TcpStream>) {
        self.queue.lock().sock = Some(sock);
    }

    /// Fast path: the connection has ended; frees the socket.
    pub fn detach(&self) {
        self.queue.lock().sock = None;
    }

    /// Fast path, for the writer task: writes what it can. Prepares the
    /// ping and close frames the queue asks for.
    pub fn write_some(&self, sock: &TcpStream) -> Written {
        let mut q = self.queue.lock();
        write_queued(&mut q, sock)
    }

    /// Fast path: waits until the writer has something to do.
    pub async fn wait(&self) {
        self.wake.notified().await;
    }

    /// Like [`push`](Self::push) but a full queue drops this frame and keeps
    /// the connection: for messages that are stale by the time a slow client
    /// would read them (positions, typing indicators).
    pub fn push_volatile(&self, frame: Utf8Bytes) -> bool {
        let frame = Message::Text(frame);
        let len = frame_len(&frame);
        let q = self.queue.lock();
        if q.close.is_some() || !self.fits(&q, len) {
            return false;
        }
        self.enqueue(q, frame, len);
        true
    }

    /// Asks the writer to send a close frame once the queued frames are out.
    /// The first reason wins.
    pub fn close(&self, code: u16, reason: &'static str) {
        let mut q = self.queue.lock();
        if q.close.is_none() {
            q.close = Some(CloseReason {
                code,
                reason,
                frame: true,
                drop_queued: code == zocket_core::close::SLOW_CONSUMER,
            });
        }
        drop(q);
        self.wake.notify_one();
    }

    /// Stops the queue after the client's close frame: what is still queued
    /// is dropped (nothing may follow a close), and the writer only flushes
    /// the WebSocket layer's reply.
    ///
    /// On the fast path (`echo` is `Some`) zocket answers the close itself:
    /// with the client's code (1005: an empty close frame).
    pub fn close_quietly(&self, echo: Option<u16>) {
        let mut q = self.queue.lock();
        if q.close.is_none() {
            q.close = Some(CloseReason {
                code: echo.unwrap_or(zocket_core::close::NORMAL),
                reason: "",
                frame: echo.is_some(),
                drop_queued: true,
            });
        }
        drop(q);
        self.wake.notify_one();
    }

    /// Takes what is queued, without waiting. For tests.
    #[cfg(test)]
    pub fn take_queued(&self) -> Vec<Message> {
        let mut q = self.queue.lock();
        q.bytes = 0;
        q.frames.drain(..).collect()
    }

    #[cfg(test)]
    pub fn is_closing(&self) -> bool {
        self.queue.lock().close.is_some()
    }

    /// Asks the writer to send a ping.
    pub fn request_ping(&self) {
        self.queue.lock().ping = true;
        self.wake.notify_one();
    }

    /// Waits for work, then moves every queued frame into `out` at once so
    /// the writer can send a batch with one flush. A queue closed for
    /// overflow drops what it holds: that client is being cut off.
    pub async fn drain(&self, out: &mut Vec<Message>) -> Batch {
        loop {
            {
                let mut q = self.queue.lock();
                let drop_queued = q.close.as_ref().is_some_and(|c| c.drop_queued);
                if drop_queued {
                    q.frames.clear();
                    q.bytes = 0;
                } else {
                    out.extend(q.frames.drain(..));
                    q.bytes = 0;
                }
                let batch = Batch {
                    ping: std::mem::take(&mut q.ping),
                    close: q.close.clone(),
                };
                if !out.is_empty() || batch != Batch::default() {
                    return batch;
                }
            }
            self.wake.notified().await;
        }
    }
}

tokio::task_local! {
    /// Peers that got their first queued frame during the current publish
    /// batch of this connection task; written at the end of the batch.
    static CORK: RefCell<Vec<Arc<Peer>>>;
}

/// Runs `f` with a cork: fast-path frames queued by `f` for idle peers are
/// written by [`uncork`] rather than one syscall per frame at once.
///
/// A plain function (not `async fn`): an extra async layer would hold a
/// second copy of `f` in every connection's task.
pub(crate) fn corked<F: std::future::Future>(f: F) -> impl std::future::Future<Output = F::Output> {
    CORK.scope(RefCell::new(Vec::new()), f)
}

/// Writes every peer corked so far, each with one (vectored) syscall.
pub(crate) fn uncork() {
    let Ok(mut peers) = CORK.try_with(|cork| std::mem::take(&mut *cork.borrow_mut())) else {
        return;
    };
    if peers.is_empty() {
        return;
    }
    for peer in peers.drain(..) {
        peer.flush_now();
    }
    // The buffer goes back to the worker thread, not to this task: an idle
    // connection keeps no cork buffer.
    if peers.capacity() <= 4096 {
        let _ = SPARE_CORK.try_with(|spare| spare.set(peers));
    }
}

thread_local! {
    /// An empty cork buffer per worker thread, reused by the next batch.
    static SPARE_CORK: Cell<Vec<Arc<Peer>>> = const { Cell::new(Vec::new()) };
    /// An empty outgoing-queue buffer per worker thread: a fast-path queue
    /// gives its buffer back here when it has written everything, so an
    /// idle connection holds none.
    static SPARE_FRAMES: Cell<VecDeque<Message>> = const { Cell::new(VecDeque::new()) };
}

/// Capacity kept in a spare queue buffer (larger ones are freed).
const SPARE_FRAMES_MAX: usize = 1024;

/// Gives an emptied fast-path queue buffer to this thread's spare slot.
fn recycle_frames(frames: &mut VecDeque<Message>) {
    if frames.capacity() == 0 {
        return;
    }
    let frames = std::mem::take(frames);
    if frames.capacity() <= SPARE_FRAMES_MAX {
        let _ = SPARE_FRAMES.try_with(|spare| spare.set(frames));
    }
}

/// Pushes onto a queue, taking this thread's spare buffer if it has none.
fn push_frame(frames: &mut VecDeque<Message>, frame: Message) {
    if frames.capacity() == 0 {
        if let Ok(spare) = SPARE_FRAMES.try_with(Cell::take) {
            *frames = spare;
        }
    }
    frames.push_back(frame);
}

/// What a direct write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    /// The queue is empty.
    All,
    /// The socket took no more: wait until it is writable.
    Blocked,
    /// The close frame has been written (or there is no frame to write and
    /// the queue is closed): the writer is done.
    Closed,
    /// The socket failed.
    Failed,
}

/// Frames per vectored write.
const BATCH: usize = 64;

fn write_queued(q: &mut QueueState, sock: &TcpStream) -> Written {
    if let Some(close) = q.close.clone() {
        if !q.close_queued {
            q.close_queued = true;
            if close.drop_queued {
                // Keep a frame already partly written: the stream would be
                // corrupt without its end.
                let keep = usize::from(q.offset > 0).min(q.frames.len());
                q.frames.truncate(keep);
            }
            if close.frame {
                q.frames
                    .push_back(wsframe::close_message(close.code, close.reason));
            }
        }
    } else if q.ping {
        q.ping = false;
        q.frames.push_back(Message::Ping(Default::default()));
    }
    loop {
        if q.frames.is_empty() {
            q.bytes = 0;
            recycle_frames(&mut q.frames);
            return if q.close_queued {
                Written::Closed
            } else {
                Written::All
            };
        }
        let n = q.frames.len().min(BATCH);
        let mut heads = [[0u8; 16]; BATCH];
        let mut head_lens = [0usize; BATCH];
        for (i, frame) in q.frames.iter().take(n).enumerate() {
            let (op, payload, extra) = wsframe::wire_parts(frame);
            let extra_len = extra.map_or(0, |e| e.len());
            let h = wsframe::frame_header(op, payload.len() + extra_len, &mut heads[i]);
            if let Some(extra) = extra {
                heads[i][h..h + 2].copy_from_slice(&extra);
            }
            head_lens[i] = h + extra_len;
        }
        let mut slices = [IoSlice::new(&[]); 2 * BATCH];
        let mut count = 0;
        let mut skip = q.offset;
        let mut attempted = 0;
        for (i, frame) in q.frames.iter().take(n).enumerate() {
            let (_, payload, _) = wsframe::wire_parts(frame);
            for part in [&heads[i][..head_lens[i]], payload] {
                if skip >= part.len() {
                    skip -= part.len();
                    continue;
                }
                let part = &part[skip..];
                skip = 0;
                attempted += part.len();
                slices[count] = IoSlice::new(part);
                count += 1;
            }
        }
        let lens: [usize; BATCH] = std::array::from_fn(|i| {
            if i < n {
                head_lens[i] + wsframe::wire_parts(&q.frames[i]).1.len()
            } else {
                0
            }
        });
        match sock.try_write_vectored(&slices[..count]) {
            Ok(0) if attempted > 0 => return Written::Failed,
            Ok(mut written) => {
                let mut i = 0;
                while written > 0 {
                    let left = lens[i] - q.offset;
                    if written >= left {
                        written -= left;
                        q.offset = 0;
                        if let Some(frame) = q.frames.pop_front() {
                            q.bytes = q.bytes.saturating_sub(frame_len(&frame));
                        }
                        i += 1;
                    } else {
                        q.offset += written;
                        written = 0;
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Written::Blocked,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Written::Failed,
        }
    }
}

fn frame_len(frame: &Message) -> usize {
    match frame {
        Message::Text(t) => t.len(),
        Message::Binary(b) => b.len(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(frames: usize, bytes: usize) -> Peer {
        Peer::new(ClientId::generate(), frames, bytes)
    }

    #[tokio::test]
    async fn drains_in_order_in_one_batch() {
        let p = peer(10, 1000);
        p.push("a".into()).unwrap();
        p.push("b".into()).unwrap();
        let mut out = Vec::new();
        assert_eq!(p.drain(&mut out).await, Batch::default());
        assert_eq!(out, vec![Message::text("a"), Message::text("b")]);
    }

    #[tokio::test]
    async fn overflow_by_frames_or_bytes_closes_with_4008() {
        let p = peer(2, 1000);
        p.push("a".into()).unwrap();
        p.push("b".into()).unwrap();
        assert_eq!(p.push("c".into()), Err(PushError::Overflow));
        assert_eq!(p.push("d".into()), Err(PushError::Closed));
        let mut out = Vec::new();
        assert_eq!(p.drain(&mut out).await.close.map(|c| c.code), Some(4008));
        assert!(
            out.is_empty(),
            "an overflowed queue is dropped, not written"
        );

        let p = peer(100, 4);
        p.push("abc".into()).unwrap();
        assert_eq!(p.push("de".into()), Err(PushError::Overflow));
    }

    #[tokio::test]
    async fn volatile_drops_without_closing() {
        let p = peer(1, 1000);
        assert!(p.push_volatile("a".into()));
        assert!(!p.push_volatile("b".into()));
        assert!(!p.is_closing());
        let mut out = Vec::new();
        p.drain(&mut out).await;
        assert_eq!(out.len(), 1);
    }

    #[tokio::test]
    async fn close_is_delivered_after_queued_frames() {
        let p = peer(10, 1000);
        p.push("a".into()).unwrap();
        p.close(1001, "bye");
        p.request_ping();
        let mut out = Vec::new();
        let batch = p.drain(&mut out).await;
        assert_eq!(out.len(), 1, "queued frames go out before the close");
        assert!(batch.ping);
        assert_eq!(batch.close.map(|c| c.code), Some(1001));
    }
}
