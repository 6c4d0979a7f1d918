//! The zocket server: hosts a `#[zocket::router]` on axum (its own accept
//! loop, or mounted in any axum app), with a sharded room map, a bounded
//! outbox per connection and one flush per batch. Use it through the
//! `zocket` crate.
//!
//! Where things are: `ws` is the RFC 6455 codec (no I/O; the `zocket-ws`
//! crate, shared with the Rust client), `transport/` the
//! byte streams a connection runs on, `outbox.rs` the per-connection queue,
//! `flush.rs` the per-thread write pass, `conn.rs` the read loop, `room.rs`
//! the room map, `hub.rs` membership, `send.rs` fan-out, `adapter/` the
//! cluster seam (and the bus codec), `cluster/` the worker bus adapters share, `node.rs` what an adapter sees of this server and
//! `metrics.rs` every metric recorded (docs/operations.md).

#![warn(missing_docs)]

pub mod adapter;
pub mod cluster;
mod config;
mod conn;
mod ctx;
mod delivery;
mod echo;
mod flush;
mod handle;
mod hub;
mod limits;
mod logged;
pub mod metrics;
mod node;
mod origin;
mod outbox;
mod peer;
mod replay;
mod requests;
mod room;
mod router;
mod send;
mod serve;
mod server;
mod session;
mod transport;
/// The RFC 6455 codec, [`zocket_ws`], under its old path.
pub use zocket_ws as ws;

pub use config::{Compression, Config, OriginPolicy, RateLimit, Resume};
pub use ctx::{Ctx, Rooms};
pub use delivery::Delivery;
pub use echo::Echo;
pub use handle::Handle;
pub use hub::RoomError;
pub use limits::TypeRate;
pub use requests::answer;
pub use router::{Dispatch, Refusal, Reject};
pub use send::{Outbound, Sender, ServerRouter};
pub use serve::{serve_router, shutdown_signal};
pub use server::Zocket;

#[doc(hidden)]
pub use axum;
