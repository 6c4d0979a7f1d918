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
//!   [`NatsAdapter::partial_queries`]) instead of failing like Socket.IO's
//!   `fetchSockets()`.
//!
//! # When NATS is unreachable
//! Local delivery never waits on NATS. The client reconnects by itself with
//! backoff and restores subscriptions (logged at `warn`/`info`, counted in
//! `AdapterStats::outages`); sends made meanwhile are buffered up to
//! [`NatsConfig::buffer`] operations, beyond that dropped and counted in
//! `AdapterStats::dropped`. Delivery across nodes is at most once.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_nats::{Client, ConnectOptions, Event};
use bytes::Bytes;
use futures_util::StreamExt;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use zocket_core::ClientId;
use zocket_runtime::adapter::{
    Adapter, AdapterError, AdapterMetrics, AdapterStats, BoxFuture, Forward, ForwardTarget,
    Inbound, LocalNode, NodeId,
};

/// Settings of a [`NatsAdapter`].
#[derive(Debug, Clone)]
pub struct NatsConfig {
    /// `nats://host:port` (several comma-separated for a NATS cluster).
    pub url: String,
    /// First subject token(s) of every subject, so several apps (or test
    /// runs) can share one NATS. Letters, digits, `-`, `_` and `.` only.
    pub prefix: String,
    /// How often a node says it is alive.
    pub heartbeat: Duration,
    /// A node not heard from for this long is dead.
    pub node_timeout: Duration,
    /// Longest wait for the other nodes' answers to a membership query.
    pub query_timeout: Duration,
    /// Operations (sends, joins, leaves) held while NATS is unreachable.
    pub buffer: usize,
    /// First and longest wait between reconnection attempts.
    pub backoff: (Duration, Duration),
}

impl NatsConfig {
    pub fn new(url: impl Into<String>) -> Self {
        NatsConfig {
            url: url.into(),
            prefix: "zocket".into(),
            heartbeat: Duration::from_secs(1),
            node_timeout: Duration::from_secs(4),
            query_timeout: Duration::from_secs(1),
            buffer: 16 * 1024,
            backoff: (Duration::from_millis(100), Duration::from_secs(5)),
        }
    }

    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets the heartbeat interval and the node timeout together.
    #[must_use]
    pub fn heartbeat(mut self, interval: Duration, node_timeout: Duration) -> Self {
        self.heartbeat = interval;
        self.node_timeout = node_timeout;
        self
    }

    #[must_use]
    pub fn query_timeout(mut self, timeout: Duration) -> Self {
        self.query_timeout = timeout;
        self
    }

    #[must_use]
    pub fn buffer(mut self, operations: usize) -> Self {
        self.buffer = operations;
        self
    }

    #[must_use]
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = (first, max);
        self
    }
}

/// Why a [`NatsAdapter`] could not be made.
#[derive(Debug, thiserror::Error)]
pub enum NatsAdapterError {
    #[error("the prefix may hold only letters, digits, '-', '_' and '.' (not at the ends)")]
    Prefix,
    #[error("the node timeout must be longer than the heartbeat interval")]
    Heartbeat,
}

struct Subjects {
    prefix: String,
    all: String,
    heartbeat: String,
    query: String,
}

impl Subjects {
    fn new(prefix: &str) -> Self {
        Subjects {
            prefix: prefix.to_owned(),
            all: format!("{prefix}.all"),
            heartbeat: format!("{prefix}.hb"),
            query: format!("{prefix}.q"),
        }
    }

    fn room(&self, room: &str) -> String {
        let mut subject = String::with_capacity(self.prefix.len() + 3 + room.len() * 2);
        subject.push_str(&self.prefix);
        subject.push_str(".r.");
        if room.is_empty() {
            // An empty token is not a valid subject.
            subject.push('_');
        }
        for byte in room.bytes() {
            let _ = write!(subject, "{byte:02x}");
        }
        subject
    }
}

#[derive(Serialize, Deserialize)]
struct Beat<'a> {
    #[serde(borrow)]
    n: &'a str,
    /// Leaving: forget this node now.
    #[serde(default)]
    bye: bool,
}

#[derive(Serialize, Deserialize)]
struct Answer {
    n: String,
    m: Vec<ClientId>,
}

enum Op {
    Publish { subject: String, payload: Bytes },
    Join(String),
    Leave(String),
    Close(oneshot::Sender<()>),
}

/// The NATS adapter. Cheap to clone; install with
/// `Zocket::with_adapter(adapter.clone())` and keep a clone to call
/// [`ready`](Self::ready) or [`stats`](Self::stats).
#[derive(Clone)]
pub struct NatsAdapter {
    shared: Arc<Shared>,
}

struct Shared {
    config: NatsConfig,
    subjects: Subjects,
    node: NodeId,
    tx: mpsc::Sender<Op>,
    rx: Mutex<Option<mpsc::Receiver<Op>>>,
    client: Mutex<Option<Client>>,
    /// Other nodes, by when they were last heard from.
    alive: Mutex<HashMap<NodeId, Instant>>,
    metrics: AdapterMetrics,
    partial_queries: AtomicU64,
    /// Set once connected and subscribed; cleared on disconnection.
    ready: watch::Sender<bool>,
    /// The worker and every subscription reader.
    tasks: Mutex<Vec<JoinHandle<()>>>,
    closed: AtomicBool,
    local: OnceLock<LocalNode>,
}

impl NatsAdapter {
    /// Checks the configuration; connects when installed on a server
    /// (inside a Tokio runtime), in the background, retrying until NATS
    /// answers.
    pub fn new(config: NatsConfig) -> Result<Self, NatsAdapterError> {
        let valid_prefix = !config.prefix.is_empty()
            && !config.prefix.starts_with('.')
            && !config.prefix.ends_with('.')
            && !config.prefix.contains("..")
            && config
                .prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid_prefix {
            return Err(NatsAdapterError::Prefix);
        }
        if config.node_timeout <= config.heartbeat {
            return Err(NatsAdapterError::Heartbeat);
        }
        let (tx, rx) = mpsc::channel(config.buffer.max(1));
        Ok(NatsAdapter {
            shared: Arc::new(Shared {
                subjects: Subjects::new(&config.prefix),
                config,
                node: NodeId::generate(),
                tx,
                rx: Mutex::new(Some(rx)),
                client: Mutex::new(None),
                alive: Mutex::new(HashMap::new()),
                metrics: AdapterMetrics::default(),
                partial_queries: AtomicU64::new(0),
                ready: watch::Sender::new(false),
                tasks: Mutex::new(Vec::new()),
                closed: AtomicBool::new(false),
                local: OnceLock::new(),
            }),
        })
    }

    /// This node's id in the cluster.
    pub fn node_id(&self) -> &NodeId {
        &self.shared.node
    }

    /// Waits until the node is connected with its subscriptions in place,
    /// or `timeout` passes. False on timeout.
    pub async fn ready(&self, timeout: Duration) -> bool {
        let mut rx = self.shared.ready.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|ready| *ready))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Counters: connected, published, dropped, received, outages.
    pub fn stats(&self) -> AdapterStats {
        self.shared.metrics.snapshot()
    }

    /// Membership queries that returned before every live node answered.
    pub fn partial_queries(&self) -> u64 {
        self.shared.partial_queries.load(Ordering::Relaxed)
    }

    /// Stops this node's NATS activity at once, as a crash would: no
    /// goodbye, so other nodes forget it only when its heartbeat expires.
    /// For failure tests.
    #[doc(hidden)]
    pub fn abort(&self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        for task in self.shared.tasks.lock().drain(..) {
            task.abort();
        }
        self.shared.client.lock().take();
        self.shared
            .metrics
            .connected
            .store(false, Ordering::Relaxed);
    }

    fn enqueue(&self, op: Op) {
        if self.shared.closed.load(Ordering::Relaxed) {
            return;
        }
        if let Err(mpsc::error::TrySendError::Full(_)) = self.shared.tx.try_send(op) {
            let dropped = self.shared.metrics.count_dropped();
            if dropped.is_multiple_of(1000) {
                tracing::warn!(
                    dropped = dropped + 1,
                    "nats adapter buffer full; dropping cross-node operations"
                );
            }
        }
    }
}

impl Adapter for NatsAdapter {
    fn bind(&self, node: LocalNode) {
        if self.shared.local.set(node.clone()).is_err() {
            tracing::error!("a NatsAdapter can serve one server; installing it twice is a bug");
            return;
        }
        let Some(rx) = self.shared.rx.lock().take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!("NatsAdapter installed outside a Tokio runtime; not connecting");
            return;
        };
        let worker = runtime.spawn(run(self.shared.clone(), rx, node));
        self.shared.tasks.lock().push(worker);
    }

    fn forward(&self, send: &Forward<'_>) {
        let subject = match send.target {
            ForwardTarget::Rooms([room]) => self.shared.subjects.room(room),
            _ => self.shared.subjects.all.clone(),
        };
        let payload = Bytes::from(send.encode(&self.shared.node));
        self.enqueue(Op::Publish { subject, payload });
    }

    fn joined(&self, room: &str, _client: &ClientId) {
        self.enqueue(Op::Join(room.to_owned()));
    }

    fn left(&self, room: &str, _client: &ClientId) {
        self.enqueue(Op::Leave(room.to_owned()));
    }

    fn remote_members<'a>(
        &'a self,
        room: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ClientId>, AdapterError>> {
        Box::pin(query_members(&self.shared, room))
    }

    fn stats(&self) -> AdapterStats {
        self.shared.metrics.snapshot()
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if self.shared.closed.swap(true, Ordering::SeqCst) {
                return;
            }
            let (done, wait) = oneshot::channel();
            if self.shared.tx.send(Op::Close(done)).await.is_ok() {
                let _ = tokio::time::timeout(self.shared.config.query_timeout * 2, wait).await;
            }
            for task in self.shared.tasks.lock().drain(..) {
                task.abort();
            }
            self.shared.client.lock().take();
            self.shared
                .metrics
                .connected
                .store(false, Ordering::Relaxed);
        })
    }
}

async fn query_members(shared: &Shared, room: &str) -> Result<Vec<ClientId>, AdapterError> {
    let Some(client) = shared.client.lock().clone() else {
        return Err(AdapterError::Unavailable("not connected to NATS".into()));
    };
    if client.connection_state() != async_nats::connection::State::Connected {
        return Err(AdapterError::Unavailable("not connected to NATS".into()));
    }
    let mut expected: HashSet<NodeId> = {
        let timeout = shared.config.node_timeout;
        let mut alive = shared.alive.lock();
        alive.retain(|_, seen| seen.elapsed() < timeout);
        alive.keys().cloned().collect()
    };
    tracing::debug!(room, ?expected, "membership query");
    if expected.is_empty() {
        return Ok(Vec::new());
    }
    let unavailable = |e: &dyn std::fmt::Display| AdapterError::Unavailable(e.to_string());
    let inbox = client.new_inbox();
    let mut answers = client
        .subscribe(inbox.clone())
        .await
        .map_err(|e| unavailable(&e))?;
    client
        .publish_with_reply(
            shared.subjects.query.clone(),
            inbox,
            Bytes::copy_from_slice(room.as_bytes()),
        )
        .await
        .map_err(|e| unavailable(&e))?;
    let deadline = tokio::time::Instant::now() + shared.config.query_timeout;
    let mut members = Vec::new();
    while !expected.is_empty() {
        let answer = match tokio::time::timeout_at(deadline, answers.next()).await {
            Ok(Some(message)) => message,
            Ok(None) => return Err(AdapterError::Unavailable("subscription closed".into())),
            Err(_) => {
                shared.partial_queries.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    room,
                    missing = ?expected,
                    "membership query: some live nodes did not answer in time; returning the members of those that did"
                );
                break;
            }
        };
        let Ok(answer) = serde_json::from_slice::<Answer>(&answer.payload) else {
            AdapterMetrics::incr(&shared.metrics.bad_messages);
            continue;
        };
        let node = NodeId::from(answer.n.as_str());
        if node == shared.node {
            continue;
        }
        tracing::debug!(room, %node, members = answer.m.len(), "membership answer");
        expected.remove(&node);
        members.extend(answer.m);
    }
    Ok(members)
}

/// The worker: connects (the client reconnects by itself after that),
/// subscribes, then runs operations in order and heartbeats.
async fn run(shared: Arc<Shared>, mut rx: mpsc::Receiver<Op>, local: LocalNode) {
    let (first, max) = shared.config.backoff;
    let events = shared.clone();
    let options = ConnectOptions::new()
        .name(format!("zocket {}", shared.node))
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connection_timeout(shared.config.query_timeout.max(Duration::from_secs(1)))
        .reconnect_delay_callback(move |attempts| {
            // Exponential from `first`, capped at `max`, with jitter from
            // the clock so nodes don't reconnect in lockstep.
            let exp = first.saturating_mul(1u32 << attempts.min(16) as u32);
            let base = exp.min(max);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or_default();
            base.mul_f64(0.5 + f64::from(nanos % 1000) / 2000.0)
        })
        .event_callback(move |event| {
            let shared = events.clone();
            async move { on_event(&shared, event) }
        });
    let client = match options.connect(shared.config.url.as_str()).await {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "cannot use NATS URL; cluster disabled for this node");
            return;
        }
    };
    *shared.client.lock() = Some(client.clone());
    let mut worker = Worker {
        shared: &shared,
        local: &local,
        client,
        rooms: HashMap::new(),
    };
    if let Err(error) = worker.start().await {
        tracing::error!(%error, "cannot subscribe on NATS; cluster disabled for this node");
        return;
    }
    let mut heartbeat = tokio::time::interval(shared.config.heartbeat);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut batch = Vec::with_capacity(256);
    loop {
        tokio::select! {
            count = rx.recv_many(&mut batch, 256) => {
                if count == 0 {
                    return;
                }
                if worker.apply(&mut batch).await {
                    return;
                }
            }
            _ = heartbeat.tick() => worker.beat(false).await,
        }
    }
}

fn on_event(shared: &Shared, event: Event) {
    match event {
        Event::Connected => {
            shared.metrics.connected.store(true, Ordering::Relaxed);
            // The client restores subscriptions before it reports this.
            shared.ready.send_replace(true);
            tracing::info!(node = %shared.node, "connected to NATS");
        }
        Event::Disconnected => {
            if shared.metrics.connected.swap(false, Ordering::Relaxed) {
                shared.metrics.outages.fetch_add(1, Ordering::Relaxed);
            }
            shared.ready.send_replace(false);
            tracing::warn!(node = %shared.node, "lost NATS; serving local clients only, reconnecting");
        }
        Event::SlowConsumer(sid) => {
            tracing::warn!(node = %shared.node, sid, "NATS subscription too slow; messages dropped");
        }
        other => tracing::info!(node = %shared.node, event = %other, "NATS event"),
    }
}

struct Worker<'a> {
    shared: &'a Arc<Shared>,
    local: &'a LocalNode,
    client: Client,
    /// Room subscriptions, each read by its own task.
    rooms: HashMap<String, JoinHandle<()>>,
}

impl Worker<'_> {
    async fn start(&mut self) -> Result<(), async_nats::SubscribeError> {
        let shared = self.shared;
        let all = self.client.subscribe(shared.subjects.all.clone()).await?;
        let beats = self
            .client
            .subscribe(shared.subjects.heartbeat.clone())
            .await?;
        let queries = self.client.subscribe(shared.subjects.query.clone()).await?;
        let readers = [
            tokio::spawn(read_sends(shared.clone(), self.local.clone(), all)),
            tokio::spawn(read_beats(shared.clone(), self.client.clone(), beats)),
            tokio::spawn(answer_queries(
                shared.clone(),
                self.local.clone(),
                self.client.clone(),
                queries,
            )),
        ];
        shared.tasks.lock().extend(readers);
        for (room, _) in self.local.snapshot() {
            self.subscribe_room(room).await?;
        }
        // Subscriptions are in place once the server has seen them.
        let _ = self.client.flush().await;
        self.beat(false).await;
        if self.client.connection_state() == async_nats::connection::State::Connected {
            shared.metrics.connected.store(true, Ordering::Relaxed);
            shared.ready.send_replace(true);
        }
        Ok(())
    }

    async fn subscribe_room(&mut self, room: String) -> Result<(), async_nats::SubscribeError> {
        if self.rooms.contains_key(&room) {
            return Ok(());
        }
        let subscriber = self
            .client
            .subscribe(self.shared.subjects.room(&room))
            .await?;
        let reader = tokio::spawn(read_sends(
            self.shared.clone(),
            self.local.clone(),
            subscriber,
        ));
        self.rooms.insert(room, reader);
        Ok(())
    }

    async fn beat(&self, bye: bool) {
        let payload = if bye {
            let beat = Beat {
                n: self.shared.node.as_str(),
                bye,
            };
            serde_json::to_vec(&beat).unwrap_or_default().into()
        } else {
            beat_payload(&self.shared.node)
        };
        let _ = self
            .client
            .publish(self.shared.subjects.heartbeat.clone(), payload)
            .await;
    }

    /// Runs a batch in order. True when the adapter is closing.
    async fn apply(&mut self, batch: &mut Vec<Op>) -> bool {
        let mut published = 0u64;
        let mut closing = None;
        for op in batch.drain(..) {
            match op {
                Op::Publish { subject, payload } => {
                    match self.client.publish(subject, payload).await {
                        Ok(()) => published += 1,
                        Err(error) => {
                            self.shared.metrics.count_dropped();
                            tracing::debug!(%error, "NATS publish failed");
                        }
                    }
                }
                Op::Join(room) => {
                    if let Err(error) = self.subscribe_room(room).await {
                        tracing::warn!(%error, "NATS subscribe failed");
                    } else {
                        // The room's traffic reaches us from when the server
                        // has the subscription, which a flush confirms.
                        let _ = self.client.flush().await;
                    }
                }
                Op::Leave(room) => {
                    if !self.local.has_room(&room) {
                        if let Some(reader) = self.rooms.remove(&room) {
                            // Dropping the subscriber unsubscribes.
                            reader.abort();
                        }
                    }
                }
                Op::Close(done) => closing = Some(done),
            }
        }
        self.shared.metrics.count_published(published);
        if let Some(done) = closing {
            self.beat(true).await;
            let _ = self.client.flush().await;
            for (_, reader) in self.rooms.drain() {
                reader.abort();
            }
            tracing::info!(node = %self.shared.node, "left the NATS cluster");
            let _ = done.send(());
            return true;
        }
        false
    }
}

impl Drop for Worker<'_> {
    fn drop(&mut self) {
        for (_, reader) in self.rooms.drain() {
            reader.abort();
        }
    }
}

fn beat_payload(node: &NodeId) -> Bytes {
    let beat = Beat {
        n: node.as_str(),
        bye: false,
    };
    serde_json::to_vec(&beat).unwrap_or_default().into()
}

async fn read_sends(shared: Arc<Shared>, local: LocalNode, mut subscriber: async_nats::Subscriber) {
    while let Some(message) = subscriber.next().await {
        match Inbound::decode(&message.payload) {
            Ok(inbound) if inbound.origin == shared.node => {}
            Ok(inbound) => {
                local.deliver(&inbound);
                shared.metrics.count_received();
            }
            Err(error) => {
                AdapterMetrics::incr(&shared.metrics.bad_messages);
                tracing::warn!(%error, "undecodable message on the NATS bus; ignored");
            }
        }
    }
}

/// Tracks other nodes' heartbeats. A node heard for the first time gets
/// our heartbeat back at once, so a node that just started learns every
/// live node within a round trip instead of a heartbeat interval (its
/// membership queries would otherwise not wait for nodes it hasn't heard).
async fn read_beats(shared: Arc<Shared>, client: Client, mut subscriber: async_nats::Subscriber) {
    while let Some(message) = subscriber.next().await {
        let Ok(beat) = serde_json::from_slice::<Beat<'_>>(&message.payload) else {
            AdapterMetrics::incr(&shared.metrics.bad_messages);
            continue;
        };
        let node = NodeId::from(beat.n);
        if node == shared.node {
            continue;
        }
        tracing::trace!(me = %shared.node, from = %node, "heartbeat");
        let new = {
            let mut alive = shared.alive.lock();
            if beat.bye {
                alive.remove(&node);
                false
            } else {
                alive.insert(node.clone(), Instant::now()).is_none()
            }
        };
        if new {
            tracing::info!(%node, "node joined the cluster");
            let _ = client
                .publish(
                    shared.subjects.heartbeat.clone(),
                    beat_payload(&shared.node),
                )
                .await;
        }
    }
}

async fn answer_queries(
    shared: Arc<Shared>,
    local: LocalNode,
    client: Client,
    mut subscriber: async_nats::Subscriber,
) {
    while let Some(message) = subscriber.next().await {
        let Some(reply) = message.reply else {
            continue;
        };
        let Ok(room) = std::str::from_utf8(&message.payload) else {
            AdapterMetrics::incr(&shared.metrics.bad_messages);
            continue;
        };
        let answer = Answer {
            n: shared.node.to_string(),
            m: local.members(room),
        };
        let payload = serde_json::to_vec(&answer).unwrap_or_default();
        let _ = client.publish(reply, payload.into()).await;
    }
}
