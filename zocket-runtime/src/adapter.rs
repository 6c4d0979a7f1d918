//! The seam between one server and the others of a cluster.
//!
//! A server without an adapter is a cluster of one: sends reach local
//! connections and nothing else happens (no allocation, no queue, one atomic
//! load per send to see that no adapter is set). With an adapter (crates
//! `zocket-redis`, `zocket-nats`, or your own), every send is still delivered
//! to local members first and directly; the adapter is then handed the frame
//! **already encoded** together with its targets ([`Forward`]), so a message
//! is serialised once and travels once per node over the bus, however many
//! recipients it has. Receiving nodes hand it back to the runtime with
//! [`LocalNode::deliver`], which fans it out to their own members only.
//!
//! Unlike Socket.IO's adapters, membership queries are not broadcast
//! requests that every node must answer before a timeout: an adapter answers
//! them however it can do best (the Redis one reads a registry kept in Redis
//! and filtered by node heartbeats, so a crashed node never makes a query
//! time out).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};

use serde::{Deserialize, Serialize};
use zocket_core::ClientId;

use crate::delivery::Delivery;
use crate::ws::WireFrame;

/// A boxed future, as adapter methods return (object safety).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The identity of one server process in a cluster. Random per process, so
/// a restarted server is a new node and can't be confused with its
/// predecessor's stale registry entries.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(Arc<str>);

impl NodeId {
    /// A fresh random id (`node_<64 random bits in hex>`).
    pub fn generate() -> Self {
        // ClientId's generator is cryptographically random; reuse it rather
        // than add a dependency. Its tail is 128 random bits in hex.
        let id = ClientId::generate();
        let random = id.as_str().rsplit('_').next().unwrap_or(id.as_str());
        NodeId(format!("node_{}", &random[..random.len().min(16)]).into())
    }

    /// The id as it travels on the bus.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for NodeId {
    fn from(s: &str) -> Self {
        NodeId(s.into())
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Debug for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeId({})", self.0)
    }
}

/// Who a forwarded send is for.
#[derive(Debug, Clone, Copy)]
pub enum ForwardTarget<'a> {
    /// Members of these rooms (each connection once however many of the
    /// rooms it is in).
    Rooms(&'a [&'a str]),
    /// These connections: only the ids that are not connected to this node.
    Clients(&'a [&'a str]),
    /// Every connection of every node.
    All,
}

/// A send handed to the adapter after local delivery. Borrowed: the adapter
/// encodes it (once, with [`Forward::encode`]) into what it publishes.
#[derive(Debug, Clone, Copy)]
pub struct Forward<'a> {
    /// Who the send is for, as the sender named them.
    pub target: ForwardTarget<'a>,
    /// Connections to leave out, including the sender when it used
    /// `except_self` (so `except_self` holds on every node).
    pub except: &'a [ClientId],
    /// The sender's id, if it excluded itself.
    pub except_origin: Option<&'a ClientId>,
    /// Drop for a slow connection instead of closing it.
    pub volatile: bool,
    /// The frame, encoded once on the sending node.
    pub frame: &'a str,
}

#[derive(Serialize, Deserialize)]
struct Header<'a> {
    /// Format version, so a rolling upgrade can refuse what it can't read.
    v: u8,
    /// The node that sent it (a node ignores its own messages: it has
    /// already delivered locally).
    #[serde(borrow)]
    n: &'a str,
    /// Target kind: "r" rooms, "c" clients, "a" all.
    t: &'a str,
    /// Rooms or client ids, for "r" and "c".
    #[serde(default, borrow, skip_serializing_if = "Vec::is_empty")]
    to: Vec<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Vec::is_empty")]
    x: Vec<std::borrow::Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    vo: bool,
}

const FORMAT_VERSION: u8 = 1;

impl Forward<'_> {
    /// Encodes this send for the bus: a one-line JSON header (origin node,
    /// targets, exclusions, volatility), a newline, then the frame's text
    /// as is — the frame is not re-escaped or re-serialised.
    pub fn encode(&self, origin: &NodeId) -> Vec<u8> {
        let (t, to): (&str, Vec<std::borrow::Cow<'_, str>>) = match self.target {
            ForwardTarget::Rooms(rooms) => ("r", rooms.iter().map(|r| (*r).into()).collect()),
            ForwardTarget::Clients(ids) => ("c", ids.iter().map(|r| (*r).into()).collect()),
            ForwardTarget::All => ("a", Vec::new()),
        };
        let mut x: Vec<std::borrow::Cow<'_, str>> =
            self.except.iter().map(|c| c.as_str().into()).collect();
        if let Some(origin) = self.except_origin {
            x.push(origin.as_str().into());
        }
        let header = Header {
            v: FORMAT_VERSION,
            n: origin.as_str(),
            t,
            to,
            x,
            vo: self.volatile,
        };
        // Serialising a struct of strings and bools into a Vec cannot fail.
        let mut out = serde_json::to_vec(&header).unwrap_or_default();
        out.reserve(1 + self.frame.len());
        out.push(b'\n');
        out.extend_from_slice(self.frame.as_bytes());
        out
    }
}

/// Why a forwarded message from the bus could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The payload has no newline ending the JSON header.
    #[error("no header line")]
    NoHeader,
    /// The header line is not the JSON [`Forward::encode`] writes.
    #[error("bad header: {0}")]
    Header(#[from] serde_json::Error),
    /// Written by a zocket whose bus format this one does not read (a
    /// rolling upgrade across format versions).
    #[error("unsupported format version {0}")]
    Version(u8),
    /// A target kind this version does not know.
    #[error("unknown target kind {0:?}")]
    Target(String),
    /// The frame after the header is not UTF-8 text.
    #[error("frame is not UTF-8")]
    Utf8,
}

/// A send received from another node, decoded, ready for
/// [`LocalNode::deliver`].
#[derive(Debug, Clone)]
pub struct Inbound {
    /// The node that sent it.
    pub origin: NodeId,
    /// Who it is for.
    pub target: InboundTarget,
    /// Connections to leave out (the sender's `except` and `except_self`).
    pub except: Vec<ClientId>,
    /// Dropped for a slow connection instead of closing it.
    pub volatile: bool,
    /// Framed once on arrival, for every local recipient.
    frame: WireFrame,
}

/// Who an [`Inbound`] is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundTarget {
    /// The members of these rooms on this node (each at most once).
    Rooms(Vec<String>),
    /// These client ids, where they are connected to this node.
    Clients(Vec<String>),
    /// Every connection of this node.
    All,
}

impl Inbound {
    /// Decodes what [`Forward::encode`] produced. Bus payloads come from
    /// other nodes (or anyone who can publish on the bus): never trusted.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let split = bytes
            .iter()
            .position(|b| *b == b'\n')
            .ok_or(DecodeError::NoHeader)?;
        let (head, rest) = bytes.split_at(split);
        let header: Header<'_> = serde_json::from_slice(head)?;
        if header.v != FORMAT_VERSION {
            return Err(DecodeError::Version(header.v));
        }
        let to = || header.to.iter().map(|s| s.to_string()).collect();
        let target = match header.t {
            "r" => InboundTarget::Rooms(to()),
            "c" => InboundTarget::Clients(to()),
            "a" => InboundTarget::All,
            other => return Err(DecodeError::Target(other.to_owned())),
        };
        let frame = std::str::from_utf8(&rest[1..]).map_err(|_| DecodeError::Utf8)?;
        Ok(Inbound {
            origin: NodeId::from(header.n),
            target,
            except: header
                .x
                .iter()
                .map(|s| ClientId::from(s.as_ref()))
                .collect(),
            volatile: header.vo,
            frame: WireFrame::text(frame),
        })
    }

    /// The frame's text, as encoded by the sending node.
    pub fn frame(&self) -> &str {
        // Checked to be UTF-8 by `decode`.
        std::str::from_utf8(self.frame.payload()).unwrap_or_default()
    }

    pub(crate) fn wire_frame(&self) -> &WireFrame {
        &self.frame
    }
}

/// Why a cluster-wide query failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// The bus (Redis, NATS) can't be reached right now.
    #[error("cluster bus unavailable: {0}")]
    Unavailable(String),
    /// The query got no complete answer in time.
    #[error("cluster query timed out")]
    Timeout,
    /// Anything else the adapter reports.
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

/// Connects one server to the others. Implemented by `zocket-redis` and
/// `zocket-nats`; see the module docs.
///
/// The sync methods run on the send and join paths of handlers: they must
/// not block or await (enqueue for a background task and return).
pub trait Adapter: Send + Sync + 'static {
    /// Called once when the adapter is installed, before any connection:
    /// the adapter keeps `node` to deliver what it receives and to read this
    /// node's rooms when it must re-register after a bus outage.
    fn bind(&self, node: LocalNode);

    /// A send was delivered locally and may have recipients elsewhere.
    /// Called for every room and broadcast send, and for `.to(ids)` only
    /// when some ids are not connected here.
    fn forward(&self, send: &Forward<'_>);

    /// `client` of this node joined `room`.
    fn joined(&self, room: &str, client: &ClientId);

    /// `client` of this node left `room` (or disconnected while in it).
    fn left(&self, room: &str, client: &ClientId);

    /// Members of `room` on **other** nodes (the runtime adds its own).
    fn remote_members<'a>(
        &'a self,
        room: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ClientId>, AdapterError>>;

    /// Counters about the bus connection.
    fn stats(&self) -> AdapterStats {
        AdapterStats::default()
    }

    /// Called by graceful shutdown after every connection has closed: flush
    /// what is queued and deregister this node so others forget it at once
    /// rather than after the heartbeat window.
    fn close(&self) -> BoxFuture<'_, ()>;
}

/// What a node offers its adapter; implemented by the server (see
/// `node.rs`), so that this seam depends on nothing of the server's.
pub(crate) trait Local: Send + Sync + 'static {
    fn deliver(&self, inbound: &Inbound) -> Delivery;
    fn members(&self, room: &str) -> Vec<ClientId>;
    fn has_room(&self, room: &str) -> bool;
    fn snapshot(&self) -> Vec<(String, Vec<ClientId>)>;
}

/// The local side of a node, as its adapter sees it. Holds the server
/// weakly: a dropped server makes every call a no-op.
#[derive(Clone)]
pub struct LocalNode {
    local: Weak<dyn Local>,
}

impl LocalNode {
    pub(crate) fn new(local: Weak<dyn Local>) -> Self {
        LocalNode { local }
    }

    /// Delivers a send from another node to this node's connections only
    /// (never forwarded again).
    pub fn deliver(&self, inbound: &Inbound) -> Delivery {
        self.local
            .upgrade()
            .map(|local| local.deliver(inbound))
            .unwrap_or_default()
    }

    /// Members of `room` on this node.
    pub fn members(&self, room: &str) -> Vec<ClientId> {
        self.local
            .upgrade()
            .map(|local| local.members(room))
            .unwrap_or_default()
    }

    /// Whether this node has members in `room`.
    pub fn has_room(&self, room: &str) -> bool {
        self.local
            .upgrade()
            .is_some_and(|local| local.has_room(room))
    }

    /// Every non-empty room of this node with its members: what an adapter
    /// re-registers after the bus lost its state.
    pub fn snapshot(&self) -> Vec<(String, Vec<ClientId>)> {
        self.local
            .upgrade()
            .map(|local| local.snapshot())
            .unwrap_or_default()
    }

    /// Whether the server is still alive.
    pub fn is_alive(&self) -> bool {
        self.local.strong_count() > 0
    }
}

/// What an adapter reports about its bus connection: counters since start,
/// for logs, health checks and metrics exporters
/// ([`Handle::cluster_stats`](crate::Handle::cluster_stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdapterStats {
    /// Connected to the bus right now.
    pub connected: bool,
    /// Sends published to the bus.
    pub published: u64,
    /// Sends dropped because the bus was unreachable for longer than the
    /// adapter's buffer lasts.
    pub dropped: u64,
    /// Sends received from other nodes and delivered locally.
    pub received: u64,
    /// Bus messages that could not be decoded (ignored).
    pub bad_messages: u64,
    /// Times the bus connection was lost.
    pub outages: u64,
}

/// Lock-free counters behind [`AdapterStats`], for adapter crates.
#[derive(Debug, Default)]
pub struct AdapterMetrics {
    /// See [`AdapterStats::connected`].
    pub connected: std::sync::atomic::AtomicBool,
    /// See [`AdapterStats::published`].
    pub published: std::sync::atomic::AtomicU64,
    /// See [`AdapterStats::dropped`].
    pub dropped: std::sync::atomic::AtomicU64,
    /// See [`AdapterStats::received`].
    pub received: std::sync::atomic::AtomicU64,
    /// See [`AdapterStats::bad_messages`].
    pub bad_messages: std::sync::atomic::AtomicU64,
    /// See [`AdapterStats::outages`].
    pub outages: std::sync::atomic::AtomicU64,
}

impl AdapterMetrics {
    /// The counters as they are now (each read on its own, relaxed).
    pub fn snapshot(&self) -> AdapterStats {
        use std::sync::atomic::Ordering::Relaxed;
        AdapterStats {
            connected: self.connected.load(Relaxed),
            published: self.published.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
            received: self.received.load(Relaxed),
            bad_messages: self.bad_messages.load(Relaxed),
            outages: self.outages.load(Relaxed),
        }
    }

    /// Counts one of the counters up by one.
    pub fn incr(counter: &std::sync::atomic::AtomicU64) {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Counts `sends` published to the bus, here and as the
    /// [`CLUSTER_PUBLISHED`](crate::metrics::CLUSTER_PUBLISHED) metric.
    pub fn count_published(&self, sends: u64) {
        self.published
            .fetch_add(sends, std::sync::atomic::Ordering::Relaxed);
        crate::metrics::cluster_published(sends);
    }

    /// Counts a send dropped, here and as the
    /// [`CLUSTER_DROPPED`](crate::metrics::CLUSTER_DROPPED) metric; the
    /// count before this one (for logging every so many).
    pub fn count_dropped(&self) -> u64 {
        crate::metrics::cluster_dropped();
        self.dropped
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Counts a send received from another node, here and as the
    /// [`CLUSTER_RECEIVED`](crate::metrics::CLUSTER_RECEIVED) metric.
    pub fn count_received(&self) {
        Self::incr(&self.received);
        crate::metrics::cluster_received();
    }
}
