//! NATS cluster adapter for zocket: run several zocket servers that share
//! rooms, `.to(ids)`, `.broadcast()` and membership queries through NATS
//! (core NATS only; JetStream is not needed).
//!
//! Two servers sharing a cluster through NATS: a broadcast sent through
//! one server's handle reaches a client of the other (skipped when no
//! NATS answers on 127.0.0.1:4222).
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
//! use zocket_nats::{NatsAdapter, NatsConfig};
//!
//! // One bus prefix per app (here per run, so runs never meet).
//! let prefix = format!("doc{}", std::process::id());
//! let mut nodes = Vec::new();
//! for _ in 0..2 {
//!     let adapter = NatsAdapter::new(NatsConfig::new("nats://127.0.0.1:4222").prefix(prefix.as_str()))?;
//!     let server = chat::Router::server(App).with_adapter(adapter.clone());
//!     let handle = server.handle();
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let url = format!("ws://{}/", listener.local_addr()?);
//!     let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//!     let task = tokio::spawn(server.serve_with_shutdown(listener, async { stopped.await.ok(); }));
//!     // In production: `server.serve(addr).await`, and the adapter connects
//!     // (and reconnects) in the background.
//!     if !adapter.ready(Duration::from_secs(3)).await {
//!         eprintln!("skipped: no NATS on 127.0.0.1:4222");
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
//! - **A subject per room**, `<prefix>.r.<room name in hex>` (hex because a
//!   room name may hold any character and NATS subjects may not): a node
//!   subscribes while it has local members in the room, so a room message
//!   reaches only those nodes, once per node. Sends to several rooms, to
//!   client ids not connected locally, and broadcasts go once on
//!   `<prefix>.all`; each node delivers to its own matching connections.
//! - **The frame is encoded once** by the sending node and published as is
//!   behind a one-line header.
//! - **One worker task** publishes and (un)subscribes in the order the server
//!   made the calls, over the client's single connection: ordering per
//!   (publisher, subject), i.e. per (publisher, room) for room sends.
//! - **Liveness**: every node publishes a heartbeat on `<prefix>.hb`; a node
//!   not heard from within the node timeout is dead. A graceful shutdown
//!   says goodbye at once.
//! - **Membership** (`members_all`): a request on `<prefix>.q` that each
//!   node answers with its local members. The asker waits for the nodes it
//!   knows to be alive only, and at most the query timeout: a node that
//!   crashed cannot answer, so its members are never reported, and once its
//!   heartbeat expires queries stop waiting for it. A query that times out
//!   returns what it got (logged, counted in
//!   [`Nats::partial_queries`]) instead of failing like Socket.IO's
//!   `fetchSockets()`.
//!
//! # When NATS is unreachable
//! Local delivery never waits on NATS. The client reconnects by itself with
//! backoff and restores subscriptions (logged at `warn`/`info`, counted in
//! `AdapterStats::outages`); sends made meanwhile are buffered up to
//! [`NatsConfig::buffer`](zocket_runtime::cluster::ClusterConfig::buffer) operations, beyond that dropped and counted in
//! `AdapterStats::dropped`. Delivery across nodes is at most once.

//!
//! # Where things are
//! The worker loop, the op queue, `ready`, `stats`, `abort` and `close` are
//! the runtime's [`zocket_runtime::cluster`], shared with `zocket-redis`.
//! Here: `config.rs` the settings, `subjects.rs` subject names,
//! `liveness.rs` heartbeats, `membership.rs` queries and answers,
//! `worker.rs` the client's session.

mod config;
mod liveness;
mod membership;
mod subjects;
mod worker;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_nats::Client;
use parking_lot::Mutex;
use zocket_core::ClientId;
use zocket_runtime::adapter::AdapterError;
use zocket_runtime::cluster::{Bus, Cluster, Context, Failure, Overflow};

pub use config::{NatsAdapterError, NatsConfig, NatsOptions};
pub use worker::Session as NatsSession;

use liveness::Alive;
use subjects::Subjects;

/// The NATS adapter. Cheap to clone; install with
/// `Zocket::with_adapter(adapter.clone())` and keep a clone to call
/// [`ready`](Cluster::ready), [`stats`](Cluster::stats) or
/// [`partial_queries`](Nats::partial_queries).
pub type NatsAdapter = Cluster<Nats>;

/// NATS as a cluster bus: the client, and which other nodes are alive.
pub struct Nats {
    subjects: Subjects,
    client: Mutex<Option<Client>>,
    alive: Mutex<Alive>,
    partial_queries: AtomicU64,
}

impl Nats {
    /// Membership queries that returned before every live node answered.
    pub fn partial_queries(&self) -> u64 {
        self.partial_queries.load(Ordering::Relaxed)
    }
}

impl Bus for Nats {
    type Options = NatsOptions;
    type Error = NatsAdapterError;
    type Session = worker::Session;

    const NAME: &'static str = "NATS";
    /// A lost join would leave its room unsubscribed (the room's traffic
    /// from other nodes never reaching it) until the node restarts: the
    /// worker reconciles the subscriptions with the local rooms instead.
    const OVERFLOW: Overflow = Overflow::Resync;

    fn open(config: &NatsConfig) -> Result<Self, NatsAdapterError> {
        config::check(config)?;
        Ok(Nats {
            subjects: Subjects::new(&config.prefix),
            client: Mutex::new(None),
            alive: Mutex::new(Alive::default()),
            partial_queries: AtomicU64::new(0),
        })
    }

    async fn connect(cx: &Arc<Context<Self>>) -> Result<worker::Session, Failure> {
        worker::connect(cx).await
    }

    async fn remote_members<'a>(
        cx: &'a Context<Self>,
        room: &'a str,
    ) -> Result<Vec<ClientId>, AdapterError> {
        membership::query(cx, room).await
    }

    fn disconnect(&self) {
        self.client.lock().take();
    }
}
