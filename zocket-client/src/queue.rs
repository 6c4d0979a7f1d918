//! The bounded send queue: messages wait here while the connection is down
//! and are written in order once it is up. Full means an error to the
//! caller, never a silent drop; so does a frame over the size limit, which
//! the server would answer by closing the connection.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::error::SendError;

/// One frame waiting to be written; a call's frame carries its `rpcId`, so
/// a call that gave up (timed out) while queued is never sent.
pub(crate) struct Queued {
    pub frame: String,
    pub rpc: Option<Box<str>>,
}

pub(crate) struct SendQueue {
    frames: Mutex<VecDeque<Queued>>,
    capacity: usize,
    /// Largest frame accepted, in bytes (`ClientConfig::max_message_size`).
    max_frame: usize,
    /// Frames ever pushed, counted under the `frames` lock: what
    /// [`mark`](Self::mark) and [`promote_since`](Self::promote_since) use.
    pushed: AtomicU64,
    ready: Notify,
}

impl SendQueue {
    pub fn new(capacity: usize, max_frame: usize) -> Self {
        SendQueue {
            frames: Mutex::new(VecDeque::new()),
            capacity,
            max_frame,
            pushed: AtomicU64::new(0),
            ready: Notify::new(),
        }
    }

    pub fn push(&self, frame: String) -> Result<(), SendError> {
        self.push_call(frame, None)
    }

    pub fn push_call(&self, frame: String, rpc: Option<Box<str>>) -> Result<(), SendError> {
        if frame.len() > self.max_frame {
            return Err(SendError::TooLarge {
                size: frame.len(),
                max: self.max_frame,
            });
        }
        let mut q = self.frames.lock();
        if q.len() >= self.capacity {
            return Err(SendError::QueueFull {
                capacity: self.capacity,
            });
        }
        q.push_back(Queued { frame, rpc });
        self.pushed.fetch_add(1, Ordering::Relaxed);
        drop(q);
        self.ready.notify_one();
        Ok(())
    }

    /// Waits until frames are queued, then takes all of them.
    pub async fn take_all(&self, out: &mut Vec<Queued>) {
        loop {
            {
                let mut q = self.frames.lock();
                if !q.is_empty() {
                    out.extend(q.drain(..));
                    return;
                }
            }
            self.ready.notified().await;
        }
    }

    /// Where the queue's pushes stand now, for [`promote_since`](Self::promote_since).
    pub fn mark(&self) -> u64 {
        let _q = self.frames.lock();
        self.pushed.load(Ordering::Relaxed)
    }

    /// Moves the frames pushed since `mark` ahead of the older ones, in
    /// their order: the `on_open` listeners' sends (a re-join) go out
    /// before what was queued while offline, which may need them.
    pub fn promote_since(&self, mark: u64) {
        let mut q = self.frames.lock();
        let since = self.pushed.load(Ordering::Relaxed).saturating_sub(mark);
        let since = usize::try_from(since).unwrap_or(usize::MAX).min(q.len());
        q.rotate_right(since);
    }

    pub fn len(&self) -> usize {
        self.frames.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn full_queue_is_an_error_and_order_is_kept() {
        let q = SendQueue::new(2, 16);
        q.push("a".into()).unwrap();
        q.push("b".into()).unwrap();
        assert!(matches!(
            q.push("c".into()),
            Err(SendError::QueueFull { capacity: 2 })
        ));
        let mut out = Vec::new();
        q.take_all(&mut out).await;
        let frames: Vec<&str> = out.iter().map(|q| q.frame.as_str()).collect();
        assert_eq!(frames, ["a", "b"]);
        assert_eq!(q.len(), 0);
        q.push("c".into()).unwrap();
        assert!(matches!(
            q.push("x".repeat(17)),
            Err(SendError::TooLarge { size: 17, max: 16 })
        ));
        q.push("x".repeat(16)).unwrap();
    }

    #[tokio::test]
    async fn promoted_frames_go_first_in_their_order() {
        let q = SendQueue::new(8, 16);
        q.push("offline 1".into()).unwrap();
        q.push("offline 2".into()).unwrap();
        let mark = q.mark();
        q.push("join a".into()).unwrap();
        q.push("join b".into()).unwrap();
        q.promote_since(mark);
        let mut out = Vec::new();
        q.take_all(&mut out).await;
        let frames: Vec<&str> = out.iter().map(|q| q.frame.as_str()).collect();
        assert_eq!(frames, ["join a", "join b", "offline 1", "offline 2"]);
        // Nothing pushed since the mark: nothing moves.
        q.push("x".into()).unwrap();
        q.promote_since(q.mark());
        q.push("y".into()).unwrap();
        q.promote_since(q.mark() - 1);
        out.clear();
        q.take_all(&mut out).await;
        let frames: Vec<&str> = out.iter().map(|q| q.frame.as_str()).collect();
        assert_eq!(frames, ["y", "x"]);
    }
}
