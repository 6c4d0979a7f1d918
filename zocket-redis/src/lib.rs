//! Redis cluster adapter for zocket: run several zocket servers that share
//! rooms, `.to(ids)`, `.broadcast()` and membership queries through Redis.
//!
//! Two servers sharing a cluster through Redis: a broadcast sent through
//! one server's handle reaches a client of the other (skipped when no
//! Redis answers on 127.0.0.1:6379).
//!
//! ```
//! # #[zocket::router]
//! # pub mod chat {
//! #     pub mod rooms {
//! #         #[incoming] pub struct Join { pub room_id: String }
//! #         #[outgoing] pub struct News { pub text: String }
//! #     }
//! # }
//! # struct App;
//! # impl chat::Server for App {
//! #     type Context = ();
//! #     async fn on_connect(&self, _: zocket::NoHeaders, _: &zocket::ClientId) -> Result<(), zocket::Reject> { Ok(()) }
//! # }
//! # impl chat::rooms::Handlers for App {
//! #     async fn join(&self, cx: &chat::Ctx<()>, m: chat::rooms::Join) { cx.rooms().join(&m.room_id).ok(); }
//! # }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use zocket_redis::{RedisAdapter, RedisConfig};
//!
//! // One bus prefix per app (here per run, so runs never meet).
//! let prefix = format!("doc{}", std::process::id());
//! let mut nodes = Vec::new();
//! for _ in 0..2 {
//!     let adapter = RedisAdapter::new(RedisConfig::new("redis://127.0.0.1:6379").prefix(prefix.as_str()))?;
//!     let server = chat::Router::server(App).with_adapter(adapter.clone());
//!     let handle = server.handle();
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let url = format!("ws://{}/", listener.local_addr()?);
//!     let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//!     let task = tokio::spawn(server.serve_with_shutdown(listener, async { stopped.await.ok(); }));
//!     // In production: `server.serve(addr).await`, and the adapter connects
//!     // (and reconnects) in the background.
//!     if !adapter.ready(Duration::from_secs(3)).await {
//!         eprintln!("skipped: no Redis on 127.0.0.1:6379");
//!         return Ok(());
//!     }
//!     nodes.push((url, handle, stop, task));
//! }
//!
//! let client = chat::Client::connect(nodes[0].0.clone(), zocket::NoHeaders::default()).await?;
//! let (tx, mut news) = tokio::sync::mpsc::unbounded_channel();
//! let _sub = client.on().rooms().news(move |m: &chat::rooms::News| { tx.send(m.text.clone()).ok(); });
//! // The other node's handle: the broadcast crosses the bus.
//! nodes[1].1.send().rooms().news(chat::rooms::News { text: "from node 2".into() }).broadcast();
//! assert_eq!(news.recv().await.as_deref(), Some("from node 2"));
//!
//! client.close();
//! for (_, _, stop, task) in nodes {
//!     stop.send(()).ok();
//!     task.await??;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # How it works
//! - **One connection per node** (RESP3, so subscriptions and commands share
//!   it). A single worker task owns it and runs every publish, subscribe and
//!   registry update in the order the server made them: that is what gives
//!   ordering per (publisher, room).
//! - **Sharded pub/sub per room** (`SSUBSCRIBE`/`SPUBLISH`, Redis 7+; plain
//!   `SUBSCRIBE`/`PUBLISH` on older servers): a node subscribes to a room's
//!   channel while it has local members in it, so a room message reaches
//!   only the nodes with members, once per node. Sends to several rooms, to
//!   client ids not connected locally, and broadcasts go on one
//!   cluster-wide channel, once, and each node delivers to its own matching
//!   connections (each exactly once).
//! - **The frame is encoded once** by the sending node and published as is
//!   behind a one-line header (targets, exclusions, volatility).
//! - **Registry**: `{prefix}:room:<room>` hashes map client id → node;
//!   `{prefix}:alive:<node>` keys expire unless the node's heartbeat renews
//!   them. Membership queries are one script call that keeps only members of
//!   live nodes, so a crashed node's members vanish from `members_all` within
//!   the node timeout, and a query never waits on other nodes (Socket.IO's
//!   request/response `fetchSockets()` times out when a node dies). Live
//!   nodes also garbage-collect dead nodes' entries.
//!
//! # When Redis is unreachable
//! The server keeps serving its local clients: local delivery never waits
//! on Redis. The worker reconnects with exponential backoff and jitter
//! (logged at `warn`, counted in [`AdapterStats::outages`](zocket_runtime::adapter::AdapterStats::outages)); sends made
//! meanwhile are buffered up to [`RedisConfig::buffer`](zocket_runtime::cluster::ClusterConfig::buffer) operations and
//! published on reconnect, beyond that dropped and counted in
//! [`AdapterStats::dropped`](zocket_runtime::adapter::AdapterStats::dropped). On reconnect the node re-registers itself and
//! its rooms from its local state (Redis may have restarted empty) and
//! resubscribes. Delivery across nodes is at most once.

//!
//! # Where things are
//! The worker loop, the op queue, `ready`, `stats`, `abort` and `close` are
//! the runtime's [`zocket_runtime::cluster`], shared with `zocket-nats`.
//! Here: `config.rs` the settings, `keys.rs` key and channel names,
//! `scripts/` the registry's Lua scripts, `registry.rs` the registry's
//! commands, `worker.rs` one connection's session.

mod config;
mod keys;
mod registry;
mod scripts;
mod worker;

use std::sync::Arc;

use parking_lot::Mutex;
use redis::aio::MultiplexedConnection;
use zocket_core::ClientId;
use zocket_runtime::adapter::AdapterError;
use zocket_runtime::cluster::{Bus, Cluster, Context, Failure, Overflow};

pub use config::{RedisAdapterError, RedisConfig, RedisOptions};
pub use worker::Session as RedisSession;

use keys::Keys;

/// The Redis adapter. Cheap to clone; install with
/// `Zocket::with_adapter(adapter.clone())` and keep a clone to call
/// [`ready`](Cluster::ready) or [`stats`](Cluster::stats).
pub type RedisAdapter = Cluster<Redis>;

/// Redis as a cluster bus: the client, and the connection membership
/// queries use while one is up.
pub struct Redis {
    client: redis::Client,
    keys: Keys,
    conn: Mutex<Option<MultiplexedConnection>>,
}

impl Bus for Redis {
    type Options = RedisOptions;
    type Error = RedisAdapterError;
    type Session = worker::Session;

    const NAME: &'static str = "Redis";
    /// A lost join or leave is repaired by re-registering from local state.
    const OVERFLOW: Overflow = Overflow::Resync;

    fn open(config: &RedisConfig) -> Result<Self, RedisAdapterError> {
        Ok(Redis {
            client: config::client(config)?,
            keys: Keys::new(&config.prefix),
            conn: Mutex::new(None),
        })
    }

    async fn connect(cx: &Arc<Context<Self>>) -> Result<worker::Session, Failure> {
        worker::connect(cx).await
    }

    async fn remote_members<'a>(
        cx: &'a Context<Self>,
        room: &'a str,
    ) -> Result<Vec<ClientId>, AdapterError> {
        let Some(mut conn) = cx.bus().conn.lock().clone() else {
            return Err(AdapterError::Unavailable("not connected to Redis".into()));
        };
        let query = registry::members(&mut conn, &cx.bus().keys, cx.node(), room);
        match tokio::time::timeout(cx.config().query_timeout, query).await {
            Ok(Ok(ids)) => Ok(ids),
            Ok(Err(error)) => Err(AdapterError::Unavailable(error.to_string())),
            Err(_) => Err(AdapterError::Timeout),
        }
    }

    fn disconnect(&self) {
        *self.conn.lock() = None;
    }
}
