//! The send side of one connection: its id, its rooms and its bounded
//! outgoing queue. Fan-out pushes pre-built frames here without awaiting;
//! the connection's writer task drains the queue into the socket.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use axum::extract::ws::{Message, Utf8Bytes};
use parking_lot::Mutex;
use tokio::sync::Notify;
use zocket_core::ClientId;

/// Why a connection's queue stopped accepting frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CloseReason {
    pub code: u16,
    pub reason: &'static str,
    /// Whether the writer sends a close frame of its own (false when
    /// answering the client's close, which the WebSocket layer does).
    pub frame: bool,
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
    /// Rooms this connection is in. Locked before any room shard when both
    /// are needed, never the other way round.
    pub rooms: Mutex<HashSet<Arc<str>>>,
    queue: Mutex<QueueState>,
    wake: Notify,
    max_frames: usize,
    max_bytes: usize,
}

impl Peer {
    pub fn new(id: ClientId, max_frames: usize, max_bytes: usize) -> Self {
        Peer {
            id,
            rooms: Mutex::new(HashSet::new()),
            queue: Mutex::new(QueueState {
                frames: VecDeque::new(),
                bytes: 0,
                ping: false,
                close: None,
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
        if q.frames.len() >= self.max_frames || q.bytes + len > self.max_bytes {
            q.close = Some(CloseReason {
                code: zocket_core::close::SLOW_CONSUMER,
                reason: "outgoing queue overflow",
                frame: true,
            });
            drop(q);
            self.wake.notify_one();
            return Err(PushError::Overflow);
        }
        q.bytes += len;
        q.frames.push_back(frame);
        let was_empty = q.frames.len() == 1;
        drop(q);
        if was_empty {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Like [`push`](Self::push) but a full queue drops this frame and keeps
    /// the connection: for messages that are stale by the time a slow client
    /// would read them (positions, typing indicators).
    pub fn push_volatile(&self, frame: Utf8Bytes) -> bool {
        let mut q = self.queue.lock();
        if q.close.is_some()
            || q.frames.len() >= self.max_frames
            || q.bytes + frame.len() > self.max_bytes
        {
            return false;
        }
        q.bytes += frame.len();
        q.frames.push_back(Message::Text(frame));
        let was_empty = q.frames.len() == 1;
        drop(q);
        if was_empty {
            self.wake.notify_one();
        }
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
            });
        }
        drop(q);
        self.wake.notify_one();
    }

    /// Stops the queue after the client's close frame: what is still queued
    /// is dropped (nothing may follow a close), and the writer only flushes
    /// the WebSocket layer's reply.
    pub fn close_quietly(&self) {
        let mut q = self.queue.lock();
        if q.close.is_none() {
            q.close = Some(CloseReason {
                code: zocket_core::close::NORMAL,
                reason: "",
                frame: false,
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
                let drop_queued = q
                    .close
                    .as_ref()
                    .is_some_and(|c| c.code == zocket_core::close::SLOW_CONSUMER || !c.frame);
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
