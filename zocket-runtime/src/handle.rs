//! The server's handle: what code outside a connection (timers, HTTP
//! routes, spawned tasks) uses to send, query membership and shut down.

use std::marker::PhantomData;
use std::sync::Arc;

use zocket_core::ClientId;

use crate::adapter::AdapterError;
use crate::hub::Hub;
use crate::send::{Sender, ServerRouter};

/// Sends and queries from outside a handler; shuts the server down.
pub struct Handle<R> {
    hub: Arc<Hub>,
    router: PhantomData<fn() -> R>,
}

impl<R> Handle<R> {
    pub(crate) fn new(hub: Arc<Hub>) -> Self {
        Handle {
            hub,
            router: PhantomData,
        }
    }
}

impl<R> Clone for Handle<R> {
    fn clone(&self) -> Self {
        Handle {
            hub: self.hub.clone(),
            router: PhantomData,
        }
    }
}

impl<R: ServerRouter> Handle<R> {
    /// Typed sends, as `cx.send()` but with no sender (`except_self` is a
    /// no-op).
    /// The typed sends, as `cx.send()` in a handler, with no sender: there
    /// is no `except_self` to apply.
    pub fn send(&self) -> R::Send<'_> {
        R::Send::from(Sender::new(&self.hub, None))
    }

    /// The connections in `room` on this node.
    pub fn members(&self, room: &str) -> Vec<ClientId> {
        self.hub.rooms.members(room)
    }

    /// How many connections are in `room` on this node.
    pub fn len(&self, room: &str) -> usize {
        self.hub.rooms.len(room)
    }

    /// Members of `room` on every node of the cluster (this server's alone
    /// without an adapter).
    pub async fn members_all(&self, room: &str) -> Result<Vec<ClientId>, AdapterError> {
        crate::node::members_all(&self.hub, room).await
    }

    /// How many connections are in `room` on every node of the cluster.
    pub async fn len_all(&self, room: &str) -> Result<usize, AdapterError> {
        Ok(self.members_all(room).await?.len())
    }

    /// The cluster adapter's counters (bus connected, published, dropped,
    /// outages…); `None` without an adapter.
    pub fn cluster_stats(&self) -> Option<crate::adapter::AdapterStats> {
        self.hub.adapter.get().map(|adapter| adapter.stats())
    }

    /// Connected clients.
    pub fn connections(&self) -> usize {
        self.hub.client_count()
    }

    /// Waits until exactly `n` connections are registered (connected and
    /// not yet cleaned up after their disconnect).
    pub async fn wait_connections(&self, n: usize) {
        let mut rx = self.hub.connections.subscribe();
        let _ = rx.wait_for(|count| *count == n).await;
    }

    /// Non-empty rooms.
    pub fn rooms(&self) -> usize {
        self.hub.rooms.room_count()
    }

    /// Closes every connection with 1001 after its `on_disconnect`, and
    /// waits for them up to the configured shutdown timeout.
    pub async fn shutdown(&self) {
        self.hub.shutdown.cancel();
        self.hub.tasks.close();
        if tokio::time::timeout(self.hub.config.shutdown_timeout, self.hub.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                remaining = self.hub.client_count(),
                "shutdown timeout; dropping remaining connections"
            );
        }
        if let Some(adapter) = self.hub.adapter.get() {
            adapter.close().await;
        }
    }
}
