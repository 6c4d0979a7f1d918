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
//!
//! Here: the seam itself (what the hub and sends call), which depends on
//! nothing of the server's; `bus` the frame codec; `local` what an adapter
//! sees of its node; `stats` its counters. The worker shared by the bus
//! adapters is [`crate::cluster`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use zocket_core::ClientId;

mod bus;
mod local;
mod stats;

pub use bus::{DecodeError, Inbound, InboundTarget};
pub(crate) use local::Local;
pub use local::LocalNode;
pub use stats::{AdapterMetrics, AdapterStats};

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
