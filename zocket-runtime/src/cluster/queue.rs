//! The op channel between the send paths and the worker: bounded, never
//! waited on by a sender, and counting what it had to drop.

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};
use zocket_core::ClientId;

use crate::adapter::AdapterMetrics;

/// Where a publish goes on the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The channel of this one room (only nodes with members listen).
    Room(String),
    /// The cluster-wide channel: several rooms, client ids, broadcasts.
    All,
}

/// One operation for the bus, in the order the server made them.
#[derive(Debug)]
pub enum Op {
    /// Publish an encoded send ([`Forward::encode`](crate::adapter::Forward::encode)).
    Publish {
        /// Where it goes.
        route: Route,
        /// The bus frame.
        payload: Vec<u8>,
    },
    /// `client` of this node joined `room`.
    Join {
        /// The room.
        room: String,
        /// The member.
        client: ClientId,
    },
    /// `client` of this node left `room` (or disconnected while in it).
    Leave {
        /// The room.
        room: String,
        /// The former member.
        client: ClientId,
    },
}

impl Op {
    fn is_membership(&self) -> bool {
        matches!(self, Op::Join { .. } | Op::Leave { .. })
    }
}

/// What the worker receives: the ops, and the close that ends them.
pub(crate) enum Queued {
    Op(Op),
    Close(oneshot::Sender<()>),
}

/// What a full queue does with a join or leave it can't hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Count it as dropped, like a send.
    Drop,
    /// Remember that the bus' view of this node's rooms is stale, so the
    /// worker rebuilds it from local state once the queue drains.
    Resync,
}

pub(crate) struct Queue {
    tx: mpsc::Sender<Queued>,
    rx: Mutex<Option<mpsc::Receiver<Queued>>>,
    resync: AtomicBool,
}

impl Queue {
    pub(crate) fn new(capacity: usize) -> Self {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        Queue {
            tx,
            rx: Mutex::new(Some(rx)),
            resync: AtomicBool::new(false),
        }
    }

    /// The worker's end; `None` once taken.
    pub(crate) fn take_receiver(&self) -> Option<mpsc::Receiver<Queued>> {
        self.rx.lock().take()
    }

    /// Queues `op` without waiting. When the queue is full a send is
    /// dropped and counted (warned about every 1000); a membership change
    /// is handled as `overflow` says.
    pub(crate) fn push(&self, op: Op, overflow: Overflow, metrics: &AdapterMetrics, bus: &str) {
        let membership = op.is_membership();
        match self.tx.try_send(Queued::Op(op)) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                if membership && overflow == Overflow::Resync {
                    self.resync.store(true, Ordering::SeqCst);
                } else {
                    let dropped = metrics.count_dropped();
                    if dropped.is_multiple_of(1000) {
                        tracing::warn!(
                            dropped = dropped + 1,
                            bus,
                            "cluster adapter buffer full; dropping cross-node operations"
                        );
                    }
                }
            }
        }
    }

    /// Queues the close behind every pending op (waiting for room); the
    /// receiver resolves when the worker has run it. `None` when the worker
    /// is gone.
    pub(crate) async fn close(&self) -> Option<oneshot::Receiver<()>> {
        let (done, wait) = oneshot::channel();
        self.tx.send(Queued::Close(done)).await.ok()?;
        Some(wait)
    }

    /// Whether a membership change was lost since the last call.
    pub(crate) fn take_resync(&self) -> bool {
        self.resync.swap(false, Ordering::SeqCst)
    }

    /// Forgets lost membership changes: a new session registers everything.
    pub(crate) fn clear_resync(&self) {
        self.resync.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish(n: u8) -> Op {
        Op::Publish {
            route: Route::All,
            payload: vec![n],
        }
    }

    fn join() -> Op {
        Op::Join {
            room: "lobby".into(),
            client: ClientId::from("client_1"),
        }
    }

    #[test]
    fn a_full_queue_drops_sends_and_counts_them() {
        let queue = Queue::new(2);
        let metrics = AdapterMetrics::default();
        for n in 0..5 {
            queue.push(publish(n), Overflow::Resync, &metrics, "test");
        }
        assert_eq!(metrics.snapshot().dropped, 3);
        assert!(!queue.take_resync());
        let mut rx = queue.take_receiver().expect("first take");
        assert!(queue.take_receiver().is_none());
        // The first two stay, in order.
        for n in 0..2 {
            match rx.try_recv() {
                Ok(Queued::Op(Op::Publish { payload, .. })) => assert_eq!(payload, vec![n]),
                _ => panic!("expected publish {n}"),
            }
        }
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn a_lost_membership_change_asks_for_a_resync_or_counts() {
        let queue = Queue::new(1);
        let metrics = AdapterMetrics::default();
        queue.push(publish(0), Overflow::Resync, &metrics, "test");
        queue.push(join(), Overflow::Resync, &metrics, "test");
        assert_eq!(metrics.snapshot().dropped, 0);
        assert!(queue.take_resync());
        assert!(!queue.take_resync(), "taken once");

        queue.push(join(), Overflow::Drop, &metrics, "test");
        assert_eq!(metrics.snapshot().dropped, 1);
        assert!(!queue.take_resync());

        queue.push(join(), Overflow::Resync, &metrics, "test");
        queue.clear_resync();
        assert!(!queue.take_resync());
    }

    #[tokio::test]
    async fn close_comes_after_what_was_queued() {
        let queue = Queue::new(4);
        let metrics = AdapterMetrics::default();
        queue.push(publish(1), Overflow::Drop, &metrics, "test");
        let mut rx = queue.take_receiver().expect("receiver");
        let wait = queue.close().await.expect("worker alive");
        assert!(matches!(
            rx.recv().await,
            Some(Queued::Op(Op::Publish { .. }))
        ));
        match rx.recv().await {
            Some(Queued::Close(done)) => done.send(()).expect("closer waits"),
            _ => panic!("expected the close"),
        }
        wait.await.expect("close acknowledged");
    }

    #[tokio::test]
    async fn close_without_a_worker_says_so() {
        let queue = Queue::new(1);
        drop(queue.take_receiver());
        assert!(queue.close().await.is_none());
    }
}
