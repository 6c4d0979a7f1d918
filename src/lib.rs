//! # zocket
//!
//! Typed, room-based realtime apps over WebSockets. Declare every message
//! once, in a module; get typed handlers and sends on the server and a typed
//! client from the same declaration.
//!
//! ```
//! #[zocket::router]
//! pub mod chat {
//!     #[headers]
//!     pub struct Headers {
//!         #[zocket(default = "Anonymous")]
//!         pub user_name: String,
//!     }
//!
//!     pub mod rooms {
//!         #[incoming]
//!         pub struct Join { pub room_id: String }
//!         #[outgoing]
//!         pub struct OnJoin { pub room_id: String, pub user_name: String }
//!     }
//! }
//!
//! // Wire names are the dotted path in lowerCamelCase.
//! use zocket::Message;
//! assert_eq!(<chat::rooms::OnJoin as Message>::TYPE, "rooms.onJoin");
//! ```
//!
//! The server implements the generated `chat::Server` trait (connection
//! lifecycle and middleware) and one `Handlers` trait per namespace (one
//! async method per incoming message; a missing one is a compile error),
//! then serves with `chat::Router::server(app).serve(addr)`. See the
//! README and the `examples` package for a complete chat server and client.
//!
//! ## What the macro accepts
//! - `#[headers]` on one struct at the top level: connection headers, read
//!   from HTTP headers and URL query parameters (`user_name` ↔ `user-name`).
//! - `#[incoming]` / `#[outgoing]` on structs with named fields inside a
//!   namespace module (any depth). `#[incoming(rename = "x")]` changes the
//!   wire name.
//! - `#[zocket(default = value)]` / `#[zocket(default)]` on a field,
//!   `#[zocket(validate = path)]` on a field (`fn(&T) -> Result<(), E>`) or a
//!   struct (`fn(&Self) -> Result<(), E>`), `#[zocket(rename = "x")]` on a
//!   field or a namespace module. Any `#[serde(..)]` attribute also works.
//!   Each may be given once; a repeat is an error.
//! - `#[incoming(reply = T, error = E)]`: a request. The handler returns
//!   `Result<T, E>` (`T` without `error`; `E: Display`), the client awaits
//!   it with `client.call()`. `#[outgoing(reply = T)]`: the server asks a
//!   client (`.request(id)`), the client answers with `client.answer()`.
//!   Reply and error types need serde's derives and, with the `typescript`
//!   feature, `TS`: `#[zocket::data]` gives them all.
//! - Names as Rust allows them: a message `struct Move` gets the accessor
//!   `r#move()`, `pub mod r#match` the wire prefix `match`; acronyms are one
//!   word (`GetXP` → `get_xp()`, wire `getXP`).
//!
//! ## Types inside messages
//! `#[zocket::data]` on a struct or enum used in a message gives it what a
//! message gets: serde's derives through zocket (no serde dependency),
//! `Debug`, `Clone`, `TS`, and camelCase names (variants and their fields
//! too). Any `#[serde(..)]` attribute still works, e.g. an internal tag:
//!
//! ```
//! #[zocket::data]
//! #[serde(tag = "kind")]
//! pub enum Piece {
//!     Pawn,
//!     Knight { times_moved: u32 },
//! }
//!
//! #[zocket::data]
//! pub struct Square { pub file_index: u8, pub piece: Option<Piece> }
//!
//! let square = Square { file_index: 3, piece: Some(Piece::Knight { times_moved: 2 }) };
//! assert_eq!(
//!     serde_json::to_string(&square).unwrap(),
//!     r#"{"fileIndex":3,"piece":{"kind":"knight","timesMoved":2}}"#
//! );
//! ```
//!
//! ## TypeScript
//! With the `typescript` feature (on by default) the macro also generates
//! `Router::typescript(name)`, the router as a TypeScript module for
//! zocket's TypeScript client (`clients/ts`): headers, namespaces, messages
//! and payload types, field types by [ts-rs](https://docs.rs/ts-rs) (every
//! router struct derives its `TS`; `#[ts(..)]` attributes work on fields).
//! See [`typescript`] for the mapping.

pub use zocket_core::{
    close, validate, CallError, ClientId, ErrorCode, ErrorPayload, Incoming, Message, MessageSet,
    NoError, NoHeaders, Outgoing, Request, Router, Timestamp, Validate, ValidationError,
};
pub use zocket_macros::{data, headers, incoming, outgoing, router};

pub use chrono;

#[cfg(feature = "server")]
pub use zocket_runtime::{
    serve_router, shutdown_signal, Compression, Config, Ctx, Delivery, Echo, Handle, OriginPolicy,
    Outbound, RateLimit, Refusal, Reject, RoomError, Rooms, Zocket,
};

/// The cluster seam: implement [`adapter::Adapter`] or use `zocket-redis` /
/// `zocket-nats` to run several servers sharing rooms.
#[cfg(feature = "server")]
pub use zocket_runtime::adapter;

#[cfg(feature = "typescript")]
pub mod typescript;

/// ts-rs, which maps field types to TypeScript. Derive its `TS` on your own
/// field types with `#[derive(zocket::ts_rs::TS)]` and
/// `#[ts(crate = "zocket::ts_rs")]`.
#[cfg(feature = "typescript")]
pub use ts_rs;

/// The typed client.
#[cfg(feature = "client")]
pub mod client {
    pub use zocket_client::{
        Backoff, Call, CallError, Client, ClientBuilder, ClientConfig, CloseInfo, ConnectError,
        HeaderTransport, Messages, SendError, State, Subscription,
    };
}

/// What generated code calls. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use serde;
    pub use zocket_core::wire::decode_payload;

    #[cfg(feature = "typescript")]
    pub use crate::typescript;
    #[cfg(feature = "typescript")]
    pub use ts_rs::{self, TS};
    pub use zocket_core::{
        CallError, ClientId, FrameError, Incoming, Message, MessageSet, NoError, NoHeaders,
        Outgoing, Request, Router, Validate, ValidationError,
    };
    /// Without the feature, a derive that does nothing but accept `#[ts]`.
    #[cfg(not(feature = "typescript"))]
    pub use zocket_macros::TS;

    #[cfg(feature = "server")]
    pub mod server {
        pub use zocket_runtime::{
            answer, Ctx, Dispatch, Outbound, Refusal, Reject, Sender, ServerRouter, Zocket,
        };
    }

    #[cfg(feature = "client")]
    pub mod client {
        pub use zocket_client::{Call, Client, ClientRouter, Core, SendError, Subscription};
    }
}

#[doc(hidden)]
#[cfg(feature = "server")]
#[macro_export]
macro_rules! __cfg_server {
    ($($item:item)*) => { $($item)* };
}

#[doc(hidden)]
#[cfg(not(feature = "server"))]
#[macro_export]
macro_rules! __cfg_server {
    ($($item:item)*) => {};
}

#[doc(hidden)]
#[cfg(feature = "client")]
#[macro_export]
macro_rules! __cfg_client {
    ($($item:item)*) => { $($item)* };
}

#[doc(hidden)]
#[cfg(not(feature = "client"))]
#[macro_export]
macro_rules! __cfg_client {
    ($($item:item)*) => {};
}

#[doc(hidden)]
#[cfg(feature = "typescript")]
#[macro_export]
macro_rules! __cfg_typescript {
    ($($item:item)*) => { $($item)* };
}

#[doc(hidden)]
#[cfg(not(feature = "typescript"))]
#[macro_export]
macro_rules! __cfg_typescript {
    ($($item:item)*) => {};
}
