//! The server's handle: what code outside a connection (timers, HTTP
//! routes, spawned tasks) uses to send, query membership and shut down.

use std::marker::PhantomData;
use std::sync::Arc;

use zocket_core::ClientId;

use crate::adapter::AdapterError;
use crate::hub::Hub;
use crate::send::{Sender, ServerRouter};

/// Sends and queries from outside a handler; shuts the server down.
/// Cheap to clone: keep one in a timer task or in an axum `State`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # #[zocket::router]
/// # pub mod chat {
/// #     #[headers]
/// #     pub struct Headers { #[zocket(default = "Anonymous")] pub user_name: String }
/// #     pub mod rooms {
/// #         #[incoming] pub struct Join { pub room_id: String }
/// #         #[incoming] pub struct Say { pub room_id: String, pub text: String }
/// #         #[outgoing] pub struct Said { pub room_id: String, pub user_name: String, pub text: String }
/// #     }
/// # }
/// # struct App;
/// # struct User { name: String }
/// # impl chat::Server for App {
/// #     type Context = User;
/// #     async fn on_connect(&self, h: chat::Headers, _: &zocket::ClientId) -> Result<User, zocket::Reject> {
/// #         Ok(User { name: h.user_name })
/// #     }
/// # }
/// # impl chat::rooms::Handlers for App {
/// #     async fn join(&self, cx: &chat::Ctx<User>, m: chat::rooms::Join) { cx.rooms().join(&m.room_id).ok(); }
/// #     async fn say(&self, cx: &chat::Ctx<User>, m: chat::rooms::Say) {
/// #         let said = chat::rooms::Said { room_id: m.room_id.clone(), user_name: cx.name.clone(), text: m.text };
/// #         cx.send().rooms().said(said).to_room([&m.room_id]);
/// #     }
/// # }
/// use std::time::Duration;
///
/// let zocket = chat::Router::server(App);
/// let handle = zocket.handle();
/// // A clock that tells the lobby the time, from outside any handler.
/// let clock = tokio::spawn(async move {
///     let mut tick = tokio::time::interval(Duration::from_secs(60));
///     loop {
///         tick.tick().await;
///         let said = chat::rooms::Said {
///             room_id: "lobby".into(),
///             user_name: "clock".into(),
///             text: format!("{} connected", handle.connections()),
///         };
///         let delivery = handle.send().rooms().said(said).to_room(["lobby"]);
///         tracing::debug!(?delivery, "clock");
///     }
/// });
/// # clock.abort();
/// # }
/// ```
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
