//! The adapter a bus crate hands to users: one [`Cluster`] per node,
//! cheap to clone, installed with `with_adapter`.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use zocket_core::ClientId;

use super::context::Context;
use super::queue::{Op, Route};
use super::{worker, Bus, ClusterConfig};
use crate::adapter::{
    Adapter, AdapterError, AdapterStats, BoxFuture, Forward, ForwardTarget, LocalNode, NodeId,
};

/// A node's adapter over bus `B` (`zocket_redis::RedisAdapter` is
/// `Cluster<Redis>`). Cheap to clone; install with
/// `Zocket::with_adapter(adapter.clone())` and keep a clone to call
/// [`ready`](Self::ready) or [`stats`](Self::stats). Derefs to the bus, for
/// what only that bus offers.
pub struct Cluster<B: Bus> {
    cx: Arc<Context<B>>,
}

impl<B: Bus> Clone for Cluster<B> {
    fn clone(&self) -> Self {
        Cluster {
            cx: self.cx.clone(),
        }
    }
}

impl<B: Bus> Cluster<B> {
    /// Checks the configuration; connects when installed on a server
    /// (inside a Tokio runtime), in the background, retrying until the bus
    /// answers.
    pub fn new(config: ClusterConfig<B::Options>) -> Result<Self, B::Error> {
        let bus = B::open(&config)?;
        Ok(Cluster {
            cx: Arc::new(Context::new(bus, config)),
        })
    }

    /// This node's id in the cluster.
    pub fn node_id(&self) -> &NodeId {
        self.cx.node()
    }

    /// Waits until the node is connected and registered (with its rooms
    /// subscribed), or `timeout` passes. False on timeout.
    pub async fn ready(&self, timeout: Duration) -> bool {
        let mut rx = self.cx.ready_receiver();
        tokio::time::timeout(timeout, rx.wait_for(|ready| *ready))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Counters: connected, published, dropped, received, outages.
    pub fn stats(&self) -> AdapterStats {
        self.cx.metrics().snapshot()
    }

    /// Stops this node's bus activity at once, as a crash would: no
    /// goodbye, so other nodes forget it only when its heartbeat expires.
    /// For failure tests.
    #[doc(hidden)]
    pub fn abort(&self) {
        self.cx.mark_closed();
        self.cx.stop();
    }
}

impl<B: Bus> Deref for Cluster<B> {
    type Target = B;

    fn deref(&self) -> &B {
        self.cx.bus()
    }
}

impl<B: Bus> Adapter for Cluster<B> {
    fn bind(&self, node: LocalNode) {
        if !self.cx.bind(node) {
            tracing::error!(
                bus = B::NAME,
                "a cluster adapter can serve one server; installing it twice is a bug"
            );
            return;
        }
        let Some(rx) = self.cx.queue.take_receiver() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!(
                bus = B::NAME,
                "cluster adapter installed outside a Tokio runtime; not connecting"
            );
            return;
        };
        self.cx
            .push_task(runtime.spawn(worker::run(self.cx.clone(), rx)));
    }

    fn forward(&self, send: &Forward<'_>) {
        let route = match send.target {
            ForwardTarget::Rooms([room]) => Route::Room((*room).to_owned()),
            _ => Route::All,
        };
        let payload = send.encode(self.cx.node());
        self.cx.enqueue(Op::Publish { route, payload });
    }

    fn joined(&self, room: &str, client: &ClientId) {
        self.cx.enqueue(Op::Join {
            room: room.to_owned(),
            client: client.clone(),
        });
    }

    fn left(&self, room: &str, client: &ClientId) {
        self.cx.enqueue(Op::Leave {
            room: room.to_owned(),
            client: client.clone(),
        });
    }

    fn remote_members<'a>(
        &'a self,
        room: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ClientId>, AdapterError>> {
        Box::pin(B::remote_members(&self.cx, room))
    }

    fn stats(&self) -> AdapterStats {
        self.cx.metrics().snapshot()
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if self.cx.mark_closed() {
                return;
            }
            // Queued behind every pending operation, so they go out first.
            if let Some(wait) = self.cx.queue.close().await {
                let _ = tokio::time::timeout(self.cx.config().query_timeout * 2, wait).await;
            }
            self.cx.stop();
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::test_bus::{next, room_send, start, Probe};

    #[tokio::test]
    async fn clones_are_one_node_and_a_second_bind_starts_nothing() {
        let probe = Probe::default();
        let (cluster, mut events) = start(&probe);
        assert_eq!(next(&mut events).await, "connect");
        let clone = cluster.clone();
        assert_eq!(clone.node_id(), cluster.node_id());
        clone.bind(LocalNode::detached());
        clone.forward(&room_send(&["lobby"]));
        // Still the one worker: no second connect before the publish.
        assert_eq!(next(&mut events).await, "publish lobby");
        assert_eq!(cluster.stats().published, 1);
        cluster.close().await;
        // Closing twice is one close.
        clone.close().await;
        assert_eq!(next(&mut events).await, "bye");
        assert_eq!(next(&mut events).await, "disconnect");
        assert!(events.try_recv().is_err());
    }

    #[tokio::test]
    async fn abort_stops_without_a_goodbye() {
        let probe = Probe::default();
        let (cluster, mut events) = start(&probe);
        assert_eq!(next(&mut events).await, "connect");
        assert!(cluster.ready(Duration::from_secs(5)).await);
        cluster.abort();
        assert_eq!(next(&mut events).await, "disconnect");
        cluster.forward(&room_send(&["lobby"]));
        cluster.close().await;
        let stats = cluster.stats();
        assert!(!stats.connected);
        assert_eq!(stats.published, 0);
        assert_eq!(stats.dropped, 0);
        assert!(events.try_recv().is_err(), "no bye, no publish");
    }
}
