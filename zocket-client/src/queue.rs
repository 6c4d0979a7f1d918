//! The bounded send queue: messages wait here while the connection is down
//! and are written in order once it is up. Full means an error to the
//! caller, never a silent drop.

use std::collections::VecDeque;

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::error::SendError;

pub(crate) struct SendQueue {
    frames: Mutex<VecDeque<String>>,
    capacity: usize,
    ready: Notify,
}

impl SendQueue {
    pub fn new(capacity: usize) -> Self {
        SendQueue {
            frames: Mutex::new(VecDeque::new()),
            capacity,
            ready: Notify::new(),
        }
    }

    pub fn push(&self, frame: String) -> Result<(), SendError> {
        let mut q = self.frames.lock();
        if q.len() >= self.capacity {
            return Err(SendError::QueueFull {
                capacity: self.capacity,
            });
        }
        q.push_back(frame);
        drop(q);
        self.ready.notify_one();
        Ok(())
    }

    /// Waits until frames are queued, then takes all of them.
    pub async fn take_all(&self, out: &mut Vec<String>) {
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
        let q = SendQueue::new(2);
        q.push("a".into()).unwrap();
        q.push("b".into()).unwrap();
        assert!(matches!(
            q.push("c".into()),
            Err(SendError::QueueFull { capacity: 2 })
        ));
        let mut out = Vec::new();
        q.take_all(&mut out).await;
        assert_eq!(out, ["a", "b"]);
        assert_eq!(q.len(), 0);
        q.push("c".into()).unwrap();
    }
}
