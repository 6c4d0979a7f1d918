//! The bounded send queue: messages wait here while the connection is down
//! and are written in order once it is up. Full means an error to the
//! caller, never a silent drop; so does a frame over the size limit, which
//! the server would answer by closing the connection.

use std::collections::VecDeque;

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
    ready: Notify,
}

impl SendQueue {
    pub fn new(capacity: usize, max_frame: usize) -> Self {
        SendQueue {
            frames: Mutex::new(VecDeque::new()),
            capacity,
            max_frame,
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
}
