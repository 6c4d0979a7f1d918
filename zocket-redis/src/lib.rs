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
//! (logged at `warn`, counted in [`AdapterStats::outages`]); sends made
//! meanwhile are buffered up to [`RedisConfig::buffer`] operations and
//! published on reconnect, beyond that dropped and counted in
//! [`AdapterStats::dropped`]. On reconnect the node re-registers itself and
//! its rooms from its local state (Redis may have restarted empty) and
//! resubscribes. Delivery across nodes is at most once.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;
use rand::Rng;
use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, IntoConnectionInfo, ProtocolVersion, PushInfo, PushKind, Script, Value,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use zocket_core::ClientId;
use zocket_runtime::adapter::{
    Adapter, AdapterError, AdapterMetrics, AdapterStats, BoxFuture, Forward, ForwardTarget,
    Inbound, LocalNode, NodeId,
};

/// Settings of a [`RedisAdapter`].
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://[user:pass@]host:port[/db]`.
    pub url: String,
    /// Prefix of every key and channel, so several apps (or test runs) can
    /// share one Redis. Must not contain `{` or `}`: keys are
    /// `{prefix}:...`, a hash tag keeping the registry in one slot.
    pub prefix: String,
    /// How often a node renews its liveness key.
    pub heartbeat: Duration,
    /// A node whose heartbeat is this old is dead: its members leave every
    /// membership query. A few heartbeats, so a slow tick isn't a death.
    pub node_timeout: Duration,
    /// Longest wait for a membership query or any Redis reply.
    pub query_timeout: Duration,
    /// Operations (sends, joins, leaves) held while Redis is unreachable.
    pub buffer: usize,
    /// First and longest wait between reconnection attempts.
    pub backoff: (Duration, Duration),
    /// Force sharded (`true`) or plain (`false`) pub/sub; `None` picks
    /// sharded when the server is Redis 7 or later.
    pub sharded: Option<bool>,
}

impl RedisConfig {
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            prefix: "zocket".into(),
            heartbeat: Duration::from_secs(1),
            node_timeout: Duration::from_secs(4),
            query_timeout: Duration::from_secs(2),
            buffer: 16 * 1024,
            backoff: (Duration::from_millis(100), Duration::from_secs(5)),
            sharded: None,
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

    #[must_use]
    pub fn sharded(mut self, sharded: bool) -> Self {
        self.sharded = Some(sharded);
        self
    }
}

/// Why a [`RedisAdapter`] could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RedisAdapterError {
    #[error("invalid Redis URL: {0}")]
    Url(#[source] redis::RedisError),
    #[error("the prefix must not contain '{{' or '}}'")]
    Prefix,
    #[error("the node timeout must be longer than the heartbeat interval")]
    Heartbeat,
}

/// The Redis adapter. Cheap to clone; install with
/// `Zocket::with_adapter(adapter.clone())` and keep a clone to call
/// [`ready`](Self::ready) or [`stats`](Self::stats).
#[derive(Clone)]
pub struct RedisAdapter {
    shared: Arc<Shared>,
}

struct Keys {
    /// `{prefix}:` — every registry key starts with it.
    base: String,
    nodes: String,
    /// The channel for multi-room sends, client ids and broadcasts.
    all: String,
}

impl Keys {
    fn new(prefix: &str) -> Self {
        let base = format!("{{{prefix}}}:");
        Keys {
            nodes: format!("{base}nodes"),
            all: format!("{prefix}:all"),
            base,
        }
    }
    fn room(&self, room: &str) -> String {
        format!("{}room:{room}", self.base)
    }
    fn alive(&self, node: &NodeId) -> String {
        format!("{}alive:{node}", self.base)
    }
    fn owned(&self, node: &NodeId) -> String {
        format!("{}owned:{node}", self.base)
    }
    /// A room's channel. Not under the `{prefix}` hash tag: in Redis
    /// Cluster, room channels spread over the shards.
    fn room_channel(prefix: &str, room: &str) -> String {
        format!("{prefix}:r:{room}")
    }
}

enum Op {
    Publish { channel: String, payload: Vec<u8> },
    Join(String, ClientId),
    Leave(String, ClientId),
    Close(oneshot::Sender<()>),
}

struct Shared {
    config: RedisConfig,
    client: redis::Client,
    node: NodeId,
    keys: Keys,
    tx: mpsc::Sender<Op>,
    rx: Mutex<Option<mpsc::Receiver<Op>>>,
    /// The live connection, for membership queries from any task.
    conn: Mutex<Option<MultiplexedConnection>>,
    /// Set when a join or leave could not be queued: the registry must be
    /// rebuilt from local state.
    resync: std::sync::atomic::AtomicBool,
    metrics: AdapterMetrics,
    ready: watch::Sender<bool>,
    worker: Mutex<Option<JoinHandle<()>>>,
    closed: std::sync::atomic::AtomicBool,
    local: OnceLock<LocalNode>,
}

impl RedisAdapter {
    /// Checks the configuration; connects when installed on a server
    /// (inside a Tokio runtime), in the background, retrying until Redis
    /// answers.
    pub fn new(config: RedisConfig) -> Result<Self, RedisAdapterError> {
        if config.prefix.contains(['{', '}']) {
            return Err(RedisAdapterError::Prefix);
        }
        if config.node_timeout <= config.heartbeat {
            return Err(RedisAdapterError::Heartbeat);
        }
        let info = config
            .url
            .as_str()
            .into_connection_info()
            .map_err(RedisAdapterError::Url)?;
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        let client = redis::Client::open(info.set_redis_settings(settings))
            .map_err(RedisAdapterError::Url)?;
        let (tx, rx) = mpsc::channel(config.buffer.max(1));
        Ok(RedisAdapter {
            shared: Arc::new(Shared {
                keys: Keys::new(&config.prefix),
                config,
                client,
                node: NodeId::generate(),
                tx,
                rx: Mutex::new(Some(rx)),
                conn: Mutex::new(None),
                resync: false.into(),
                metrics: AdapterMetrics::default(),
                ready: watch::Sender::new(false),
                worker: Mutex::new(None),
                closed: false.into(),
                local: OnceLock::new(),
            }),
        })
    }

    /// This node's id in the cluster.
    pub fn node_id(&self) -> &NodeId {
        &self.shared.node
    }

    /// Waits until the node is connected and registered (with its rooms
    /// subscribed), or `timeout` passes. False on timeout.
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

    /// Stops this node's Redis activity at once, as a crash would: no
    /// deregistration, so other nodes forget it only when its heartbeat
    /// expires. For failure tests.
    #[doc(hidden)]
    pub fn abort(&self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        if let Some(worker) = self.shared.worker.lock().take() {
            worker.abort();
        }
        *self.shared.conn.lock() = None;
        self.shared
            .metrics
            .connected
            .store(false, Ordering::Relaxed);
    }

    fn enqueue(&self, op: Op) {
        if self.shared.closed.load(Ordering::Relaxed) {
            return;
        }
        let membership = matches!(op, Op::Join(..) | Op::Leave(..));
        match self.shared.tx.try_send(op) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                if membership {
                    // Rebuilt from local state once the queue drains.
                    self.shared.resync.store(true, Ordering::SeqCst);
                } else {
                    let dropped = self.shared.metrics.count_dropped();
                    if dropped.is_multiple_of(1000) {
                        tracing::warn!(
                            dropped = dropped + 1,
                            "redis adapter buffer full; dropping cross-node sends"
                        );
                    }
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

impl Adapter for RedisAdapter {
    fn bind(&self, node: LocalNode) {
        if self.shared.local.set(node.clone()).is_err() {
            tracing::error!(
                "a RedisAdapter can serve one server; clone-installing it twice is a bug"
            );
            return;
        }
        let Some(rx) = self.shared.rx.lock().take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!("RedisAdapter installed outside a Tokio runtime; not connecting");
            return;
        };
        let worker = runtime.spawn(run(self.shared.clone(), rx, node));
        *self.shared.worker.lock() = Some(worker);
    }

    fn forward(&self, send: &Forward<'_>) {
        let channel = match send.target {
            ForwardTarget::Rooms([room]) => Keys::room_channel(&self.shared.config.prefix, room),
            _ => self.shared.keys.all.clone(),
        };
        let payload = send.encode(&self.shared.node);
        self.enqueue(Op::Publish { channel, payload });
    }

    fn joined(&self, room: &str, client: &ClientId) {
        self.enqueue(Op::Join(room.to_owned(), client.clone()));
    }

    fn left(&self, room: &str, client: &ClientId) {
        self.enqueue(Op::Leave(room.to_owned(), client.clone()));
    }

    fn remote_members<'a>(
        &'a self,
        room: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ClientId>, AdapterError>> {
        Box::pin(async move {
            let Some(mut conn) = self.shared.conn.lock().clone() else {
                return Err(AdapterError::Unavailable("not connected to Redis".into()));
            };
            let keys = &self.shared.keys;
            let mut invocation = MEMBERS.prepare_invoke();
            invocation
                .key(keys.room(room))
                .arg(format!("{}alive:", keys.base))
                .arg(self.shared.node.as_str());
            let query = invocation.invoke_async::<Vec<String>>(&mut conn);
            match tokio::time::timeout(self.shared.config.query_timeout, query).await {
                Ok(Ok(ids)) => Ok(ids.into_iter().map(ClientId::from).collect()),
                Ok(Err(error)) => Err(AdapterError::Unavailable(error.to_string())),
                Err(_) => Err(AdapterError::Timeout),
            }
        })
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
            // Queued behind every pending operation, so they go out first.
            if self.shared.tx.send(Op::Close(done)).await.is_ok() {
                let _ = tokio::time::timeout(self.shared.config.query_timeout * 2, wait).await;
            }
            if let Some(worker) = self.shared.worker.lock().take() {
                worker.abort();
            }
            *self.shared.conn.lock() = None;
            self.shared
                .metrics
                .connected
                .store(false, Ordering::Relaxed);
        })
    }
}

/// Members of a room whose node is alive, other than the asking node's.
static MEMBERS: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| {
    Script::new(
        r"
local h = redis.call('HGETALL', KEYS[1])
local alive = {}
local out = {}
for i = 1, #h, 2 do
  local node = h[i + 1]
  if node ~= ARGV[2] then
    local a = alive[node]
    if a == nil then
      a = redis.call('EXISTS', ARGV[1] .. node) == 1
      alive[node] = a
    end
    if a then out[#out + 1] = h[i] end
  end
end
return out
",
    )
});

/// Removes a node's registry entries: every (room, client) it owned, its
/// liveness key and its place in the node set. ARGV[1] = key base, ARGV[2]
/// = node.
const DROP_NODE_BODY: &str = r"
local function drop(base, node)
  local owned = base .. 'owned:' .. node
  for _, e in ipairs(redis.call('SMEMBERS', owned)) do
    local sp = string.find(e, ' ', 1, true)
    if sp then
      redis.call('HDEL', base .. 'room:' .. string.sub(e, sp + 1), string.sub(e, 1, sp - 1))
    end
  end
  redis.call('DEL', owned)
  redis.call('SREM', base .. 'nodes', node)
end
";

static DROP_NODE: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| {
    Script::new(&format!(
        "{DROP_NODE_BODY}\ndrop(ARGV[1], ARGV[2])\nredis.call('DEL', ARGV[1] .. 'alive:' .. ARGV[2])\nreturn 1"
    ))
});

/// Drops every registered node whose liveness key expired. Returns how many.
static COLLECT_DEAD: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| {
    Script::new(&format!(
        "{DROP_NODE_BODY}
local removed = 0
for _, node in ipairs(redis.call('SMEMBERS', ARGV[1] .. 'nodes')) do
  if redis.call('EXISTS', ARGV[1] .. 'alive:' .. node) == 0 then
    drop(ARGV[1], node)
    removed = removed + 1
  end
end
return removed"
    ))
});

/// Why a session with Redis ended.
enum End {
    /// Closed by `close()`.
    Closed,
    /// The connection failed; reconnect.
    Lost(String),
}

/// The worker: connect, serve a session, reconnect with backoff, forever
/// (until closed or aborted).
async fn run(shared: Arc<Shared>, mut rx: mpsc::Receiver<Op>, local: LocalNode) {
    let (first, max) = shared.config.backoff;
    let mut backoff = first;
    let mut subscribed: HashSet<String> = HashSet::new();
    let mut was_connected = false;
    loop {
        if shared.closed.load(Ordering::SeqCst) && rx.is_empty() {
            return;
        }
        match session(&shared, &local, &mut rx, &mut subscribed).await {
            Ok(End::Closed) => return,
            Ok(End::Lost(error)) | Err(error) => {
                let connected = shared.metrics.connected.swap(false, Ordering::Relaxed);
                *shared.conn.lock() = None;
                shared.ready.send_replace(false);
                if connected {
                    shared.metrics.outages.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(node = %shared.node, %error, "lost Redis; serving local clients only, reconnecting");
                    backoff = first;
                } else if was_connected || backoff > first {
                    tracing::warn!(node = %shared.node, %error, retry_in = ?backoff, "Redis still unreachable");
                } else {
                    tracing::warn!(node = %shared.node, %error, "cannot reach Redis; retrying");
                }
                was_connected |= connected;
            }
        }
        // Full jitter within [backoff/2, backoff]: nodes that lost Redis
        // together don't reconnect in lockstep.
        let wait = backoff.mul_f64(rand::rng().random_range(0.5..=1.0));
        tokio::time::sleep(wait).await;
        backoff = (backoff * 2).min(max);
    }
}

async fn session(
    shared: &Shared,
    local: &LocalNode,
    rx: &mut mpsc::Receiver<Op>,
    subscribed: &mut HashSet<String>,
) -> Result<End, String> {
    let config = &shared.config;
    let (push_tx, mut push_rx) = mpsc::unbounded_channel::<PushInfo>();
    let conn_config = AsyncConnectionConfig::new()
        .set_push_sender(push_tx)
        .set_connection_timeout(Some(config.query_timeout))
        .set_response_timeout(Some(config.query_timeout));
    let mut conn = shared
        .client
        .get_multiplexed_async_connection_with_config(&conn_config)
        .await
        .map_err(|e| e.to_string())?;
    let sharded = match config.sharded {
        Some(sharded) => sharded,
        None => redis_major(&mut conn).await.map_err(|e| e.to_string())? >= 7,
    };
    let mut session = Session {
        shared,
        local,
        conn: conn.clone(),
        sharded,
    };
    // (Re)register: Redis may have restarted empty, or our entries may have
    // been collected while we were away.
    subscribed.clear();
    session
        .register(subscribed)
        .await
        .map_err(|e| e.to_string())?;
    *shared.conn.lock() = Some(conn);
    shared.metrics.connected.store(true, Ordering::Relaxed);
    shared.ready.send_replace(true);
    tracing::info!(node = %shared.node, sharded, "connected to Redis");

    let mut heartbeat = tokio::time::interval(config.heartbeat);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    heartbeat.reset();
    let mut batch: Vec<Op> = Vec::with_capacity(256);
    loop {
        tokio::select! {
            biased;
            push = push_rx.recv() => {
                let Some(push) = push else {
                    return Ok(End::Lost("push channel closed".into()));
                };
                if push.kind == PushKind::Disconnection {
                    return Ok(End::Lost("connection closed".into()));
                }
                session.on_push(push);
            }
            count = rx.recv_many(&mut batch, 256) => {
                if count == 0 {
                    return Ok(End::Closed);
                }
                if let Some(end) = session.apply(&mut batch, subscribed).await.map_err(|e| e.to_string())? {
                    return Ok(end);
                }
            }
            _ = heartbeat.tick() => {
                session.heartbeat(subscribed).await.map_err(|e| e.to_string())?;
            }
        }
    }
}

async fn redis_major(conn: &mut MultiplexedConnection) -> redis::RedisResult<u32> {
    let info: String = redis::cmd("INFO").arg("server").query_async(conn).await?;
    Ok(info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .and_then(|v| v.split('.').next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0))
}

struct Session<'a> {
    shared: &'a Shared,
    local: &'a LocalNode,
    conn: MultiplexedConnection,
    sharded: bool,
}

impl Session<'_> {
    fn owned_entry(client: &ClientId, room: &str) -> String {
        // Client ids never contain a space; room names may.
        format!("{client} {room}")
    }

    /// Clears this node's registry, then writes it again from local state
    /// and subscribes to the cluster channel and every local room.
    async fn register(&mut self, subscribed: &mut HashSet<String>) -> redis::RedisResult<()> {
        let shared = self.shared;
        let keys = &shared.keys;
        let node = &shared.node;
        shared.resync.store(false, Ordering::SeqCst);
        DROP_NODE
            .arg(&keys.base)
            .arg(node.as_str())
            .invoke_async::<i64>(&mut self.conn)
            .await?;
        self.subscribe(&keys.all).await?;
        let snapshot = self.local.snapshot();
        let mut pipe = redis::pipe();
        pipe.sadd(&keys.nodes, node.as_str()).ignore();
        pipe.cmd("SET")
            .arg(keys.alive(node))
            .arg(1)
            .arg("PX")
            .arg(shared.config.node_timeout.as_millis() as u64)
            .ignore();
        for (room, members) in &snapshot {
            for client in members {
                pipe.hset(keys.room(room), client.as_str(), node.as_str())
                    .ignore();
                pipe.sadd(keys.owned(node), Self::owned_entry(client, room))
                    .ignore();
            }
        }
        for (room, _) in snapshot {
            self.subscribe(&Keys::room_channel(&shared.config.prefix, &room))
                .await?;
            subscribed.insert(room);
        }
        pipe.exec_async(&mut self.conn).await?;
        Ok(())
    }

    async fn subscribe(&mut self, channel: &str) -> redis::RedisResult<()> {
        let command = if self.sharded {
            "SSUBSCRIBE"
        } else {
            "SUBSCRIBE"
        };
        redis::cmd(command)
            .arg(channel)
            .exec_async(&mut self.conn)
            .await
    }

    async fn unsubscribe(&mut self, channel: &str) -> redis::RedisResult<()> {
        let command = if self.sharded {
            "SUNSUBSCRIBE"
        } else {
            "UNSUBSCRIBE"
        };
        redis::cmd(command)
            .arg(channel)
            .exec_async(&mut self.conn)
            .await
    }

    fn on_push(&self, push: PushInfo) {
        if !matches!(push.kind, PushKind::Message | PushKind::SMessage) {
            return;
        }
        // [channel, payload]
        let Some(Value::BulkString(payload)) = push.data.get(1) else {
            return;
        };
        let metrics = &self.shared.metrics;
        match Inbound::decode(payload) {
            Ok(inbound) if inbound.origin == self.shared.node => {}
            Ok(inbound) => {
                self.local.deliver(&inbound);
                metrics.count_received();
            }
            Err(error) => {
                AdapterMetrics::incr(&metrics.bad_messages);
                tracing::warn!(%error, "undecodable message on the Redis bus; ignored");
            }
        }
    }

    /// Runs a batch of operations in order: consecutive publishes and
    /// registry writes go out as one pipeline; a subscription change first
    /// flushes what precedes it, so order holds.
    async fn apply(
        &mut self,
        batch: &mut Vec<Op>,
        subscribed: &mut HashSet<String>,
    ) -> redis::RedisResult<Option<End>> {
        let shared = self.shared;
        let keys = &shared.keys;
        let node = shared.node.as_str();
        let publish = if self.sharded { "SPUBLISH" } else { "PUBLISH" };
        let mut pipe = redis::pipe();
        let mut published = 0u64;
        let mut pending = false;
        for op in batch.drain(..) {
            match op {
                Op::Publish { channel, payload } => {
                    pipe.cmd(publish).arg(channel).arg(payload).ignore();
                    published += 1;
                    pending = true;
                }
                Op::Join(room, client) => {
                    if !subscribed.contains(&room) {
                        if pending {
                            pipe.exec_async(&mut self.conn).await?;
                            pipe.clear();
                        }
                        // Subscribed before the registry shows the member,
                        // so whoever sees the member also reaches it.
                        self.subscribe(&Keys::room_channel(&shared.config.prefix, &room))
                            .await?;
                        subscribed.insert(room.clone());
                    }
                    pipe.hset(keys.room(&room), client.as_str(), node).ignore();
                    pipe.sadd(keys.owned(&shared.node), Self::owned_entry(&client, &room))
                        .ignore();
                    pending = true;
                }
                Op::Leave(room, client) => {
                    pipe.hdel(keys.room(&room), client.as_str()).ignore();
                    pipe.srem(keys.owned(&shared.node), Self::owned_entry(&client, &room))
                        .ignore();
                    pending = true;
                    if !self.local.has_room(&room) && subscribed.remove(&room) {
                        pipe.exec_async(&mut self.conn).await?;
                        pipe.clear();
                        pending = false;
                        self.unsubscribe(&Keys::room_channel(&shared.config.prefix, &room))
                            .await?;
                    }
                }
                Op::Close(done) => {
                    if pending {
                        pipe.exec_async(&mut self.conn).await?;
                    }
                    shared.metrics.count_published(published);
                    DROP_NODE
                        .arg(&keys.base)
                        .arg(node)
                        .invoke_async::<i64>(&mut self.conn)
                        .await?;
                    // The last node to leave also clears crashed nodes'
                    // entries, so an abandoned prefix leaves nothing behind.
                    COLLECT_DEAD
                        .arg(&keys.base)
                        .invoke_async::<i64>(&mut self.conn)
                        .await?;
                    tracing::info!(node, "left the Redis cluster");
                    let _ = done.send(());
                    return Ok(Some(End::Closed));
                }
            }
        }
        if pending {
            pipe.exec_async(&mut self.conn).await?;
        }
        shared.metrics.count_published(published);
        if shared.resync.load(Ordering::SeqCst) {
            tracing::warn!(
                "membership updates were dropped while the buffer was full; re-registering"
            );
            self.register(subscribed).await?;
        }
        Ok(None)
    }

    /// Renews this node's liveness and collects dead nodes. If our own key
    /// had already expired (a long stall), others may have dropped our
    /// entries: register again.
    async fn heartbeat(&mut self, subscribed: &mut HashSet<String>) -> redis::RedisResult<()> {
        let shared = self.shared;
        let keys = &shared.keys;
        let previous: Option<String> = redis::cmd("SET")
            .arg(keys.alive(&shared.node))
            .arg(1)
            .arg("PX")
            .arg(shared.config.node_timeout.as_millis() as u64)
            .arg("GET")
            .query_async(&mut self.conn)
            .await?;
        if previous.is_none() {
            tracing::warn!(node = %shared.node, "our registration had expired; re-registering");
            self.register(subscribed).await?;
        }
        let removed: i64 = COLLECT_DEAD
            .arg(&keys.base)
            .invoke_async(&mut self.conn)
            .await?;
        if removed > 0 {
            tracing::info!(removed, "dropped dead nodes from the registry");
        }
        Ok(())
    }
}
