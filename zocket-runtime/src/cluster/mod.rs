//! The worker every bus adapter runs, so an adapter only says how to
//! connect, publish, subscribe and answer a membership query.
//!
//! What is shared: the settings and their builders ([`ClusterConfig`]), the
//! op channel with drop counting, the connection state and counters
//! ([`AdapterStats`](crate::adapter::AdapterStats) and the
//! `zocket_cluster_*` metrics), `ready`, `abort`, `close`, and the loop
//! that reconnects with backoff. What a bus supplies: a [`Bus`] (its
//! connection handles and membership query) and a [`Session`] (one
//! connection: apply ops, heartbeat, leave).
//!
//! One worker task per node runs every op in the order the server made it,
//! which is what orders sends per (publisher, room). Sends are never waited
//! on: a full queue drops and counts them.

mod config;
mod context;
mod handle;
mod queue;
#[cfg(test)]
mod test_bus;
mod worker;

use std::future::Future;
use std::sync::Arc;

use zocket_core::ClientId;

use crate::adapter::AdapterError;

pub use config::{BusOptions, ClusterConfig};
pub use context::Context;
pub use handle::Cluster;
pub use queue::{Op, Overflow, Route};

/// Why a connection to the bus, or a session on it, ended.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The connection failed or broke: the worker reconnects with backoff.
    #[error("{0}")]
    Lost(String),
    /// The bus can't be used with these settings (a bad URL): the worker
    /// stops and this node serves only its local clients.
    #[error("{0}")]
    Fatal(String),
}

impl Failure {
    /// A lost connection, from the bus client's error.
    pub fn lost(error: impl std::fmt::Display) -> Self {
        Failure::Lost(error.to_string())
    }

    /// An unusable configuration, from the bus client's error.
    pub fn fatal(error: impl std::fmt::Display) -> Self {
        Failure::Fatal(error.to_string())
    }
}

/// A message bus that nodes of a cluster share. Holds what outlives a
/// connection: the client, the handles membership queries use.
pub trait Bus: Sized + Send + Sync + 'static {
    /// What this bus adds to [`ClusterConfig`].
    type Options: BusOptions;
    /// Why [`open`](Self::open) refused the settings.
    type Error: std::error::Error + Send + Sync + 'static;
    /// One connection.
    type Session: Session<Self>;

    /// The bus' name in logs ("Redis", "NATS").
    const NAME: &'static str;
    /// What a full queue does with a join or leave.
    const OVERFLOW: Overflow;

    /// Checks the settings and builds the client; connects nothing yet.
    fn open(config: &ClusterConfig<Self::Options>) -> Result<Self, Self::Error>;

    /// Connects and registers this node, with a subscription for every
    /// room it has members in ([`Context::local`]); calls
    /// [`Context::set_connected`] once the node is reachable.
    fn connect(
        cx: &Arc<Context<Self>>,
    ) -> impl Future<Output = Result<Self::Session, Failure>> + Send;

    /// Members of `room` on other nodes.
    fn remote_members<'a>(
        cx: &'a Context<Self>,
        room: &'a str,
    ) -> impl Future<Output = Result<Vec<ClientId>, AdapterError>> + Send + 'a;

    /// Forgets the connection handles queries use: the session ended.
    fn disconnect(&self);
}

/// One connection to the bus, driven by the worker.
pub trait Session<B: Bus>: Send {
    /// Waits for the next thing the bus pushes on this connection and
    /// hands a send to [`Context::receive`]; returns after each (so ops
    /// are not held up), an error when the connection broke.
    /// Buses that read subscriptions in tasks of their own keep the default,
    /// which never returns.
    fn recv(&mut self, cx: &Arc<Context<B>>) -> impl Future<Output = Result<(), Failure>> + Send {
        let _ = cx;
        std::future::pending()
    }

    /// Runs `ops` in order (draining it) and returns how many sends went
    /// out. Subscribes to a room before the bus can show its new member, so
    /// whoever sees the member also reaches it.
    fn apply(
        &mut self,
        cx: &Arc<Context<B>>,
        ops: &mut Vec<Op>,
    ) -> impl Future<Output = Result<u64, Failure>> + Send;

    /// Tells the others this node is alive (every
    /// [`ClusterConfig::heartbeat`]).
    fn heartbeat(
        &mut self,
        cx: &Arc<Context<B>>,
    ) -> impl Future<Output = Result<(), Failure>> + Send;

    /// Rebuilds the bus' view of this node from local state, after a full
    /// queue lost membership changes ([`Overflow::Resync`]).
    fn resync(&mut self, cx: &Arc<Context<B>>) -> impl Future<Output = Result<(), Failure>> + Send {
        let _ = cx;
        std::future::ready(Ok(()))
    }

    /// Leaves the cluster on graceful shutdown, after every queued op: the
    /// others forget this node at once instead of at its heartbeat timeout.
    fn leave(&mut self, cx: &Arc<Context<B>>) -> impl Future<Output = Result<(), Failure>> + Send;
}
