//! The zocket server: hosts a `#[zocket::router]` on axum's WebSocket
//! upgrade, with a sharded room map and a bounded queue and writer task per
//! connection. Use it through the `zocket` crate.

pub mod adapter;
mod config;
mod conn;
mod ctx;
mod echo;
mod hub;
mod limits;
mod origin;
mod peer;
mod room;
mod router;
mod send;
mod serve;
mod server;
mod wsframe;

pub use config::{Config, OriginPolicy, RateLimit};
pub use ctx::{Ctx, RoomError, Rooms};
pub use echo::Echo;
pub use router::{Dispatch, Refusal, Reject, ServerRouter};
pub use send::{Delivery, Outbound, Sender};
pub use serve::serve_router;
pub use server::{Handle, Zocket};

#[doc(hidden)]
pub use axum;
