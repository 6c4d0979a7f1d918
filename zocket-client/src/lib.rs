//! zocket's typed Rust client on tokio. Use it through the `zocket` crate
//! with a router's generated `Client` alias.
//!
//! It speaks WebSocket through `zocket-ws`, the codec the server speaks
//! (`socket.rs`): plain `ws://` only (put TLS in a proxy in front), with
//! permessage-deflate offered by default (`ClientConfig::compression`).

mod call;
mod client;
mod config;
mod conn;
mod dispatch;
mod error;
mod queue;
mod session;
mod socket;

pub use call::Call;
pub use client::{Client, ClientBuilder, ClientRouter, CloseInfo, Core, Messages, State};
pub use config::{Backoff, ClientCompression, ClientConfig, HeaderTransport};
pub use dispatch::Subscription;
pub use error::{ConnectError, SendError};
pub use session::Resumed;
pub use zocket_core::error::{ErrorCode, ErrorPayload};
pub use zocket_core::rpc::CallError;
