//! # zocket
//!
//! Typed, room-based realtime apps over WebSockets. Declare every message
//! once, in a module; get typed handlers and sends on the server and a typed
//! client from the same declaration.
//!
//! A complete app: the router, the server on a port of its own, and a typed
//! client that joins a room and hears its own message.
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
//!         #[incoming]
//!         pub struct Say { pub room_id: String, pub text: String }
//!         #[outgoing]
//!         pub struct Said { pub room_id: String, pub user_name: String, pub text: String }
//!     }
//! }
//! use chat::rooms::{Join, Said, Say};
//!
//! struct App;
//! struct User { name: String }
//!
//! impl chat::Server for App {
//!     type Context = User; // per-connection state, what `cx` derefs to
//!     async fn on_connect(&self, h: chat::Headers, _id: &zocket::ClientId) -> Result<User, zocket::Reject> {
//!         Ok(User { name: h.user_name }) // Err(Reject::unauthorized(..)): HTTP 401, no upgrade
//!     }
//! }
//!
//! impl chat::rooms::Handlers for App {
//!     async fn join(&self, cx: &chat::Ctx<User>, m: Join) {
//!         cx.rooms().join(&m.room_id).ok(); // Err: a room cap of `Config`
//!     }
//!     async fn say(&self, cx: &chat::Ctx<User>, m: Say) {
//!         let said = Said { room_id: m.room_id.clone(), user_name: cx.name.clone(), text: m.text };
//!         cx.send().rooms().said(said).to_room([&m.room_id]);
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Wire names are the dotted path in lowerCamelCase.
//! assert_eq!(<Said as zocket::Message>::TYPE, "rooms.said");
//!
//! // `chat::Router::server(App).serve("0.0.0.0:3000")` runs until Ctrl-C;
//! // here the server stops when `stop` fires.
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let url = format!("ws://{}/", listener.local_addr()?);
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = tokio::spawn(
//!     chat::Router::server(App).serve_with_shutdown(listener, async { stopped.await.ok(); }),
//! );
//!
//! let client = chat::Client::connect(url, chat::Headers { user_name: "Alice".into() }).await?;
//! let (tx, mut said) = tokio::sync::mpsc::unbounded_channel();
//! let _sub = client.on().rooms().said(move |m: &Said| { tx.send(m.clone()).ok(); });
//! client.send().rooms().join(Join { room_id: "lobby".into() })?;
//! client.send().rooms().say(Say { room_id: "lobby".into(), text: "hello".into() })?;
//!
//! let heard = said.recv().await.expect("the server closed before answering");
//! assert_eq!((heard.user_name.as_str(), heard.text.as_str()), ("Alice", "hello"));
//!
//! client.close();
//! stop.send(()).ok();
//! server.await??;
//! # Ok(())
//! # }
//! ```
//!
//! The macro generates the `chat::Server` trait (connection lifecycle and
//! middleware), one `Handlers` trait per namespace (one async method per
//! incoming message; a missing one is a compile error), the typed
//! `cx.send()` and `client.send()` / `client.on()` accessors, and
//! `chat::Router::server(app)`, a [`Zocket`] to `serve` or to mount into an
//! axum app. `cargo doc` of your crate documents what it generated for your
//! router. The README and the `examples` package have a complete chat
//! server, web page and terminal client.
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
//! - `#[incoming(rate = "5/s", burst = 10)]`: a per-connection limit on
//!   this message type (`"N/s"`, `"N/m"` or `"N/h"`; `burst`, how many may
//!   come at once, defaults to `N`). It applies on top of
//!   `Config::rate_limit`: a message must pass both, and one its type
//!   refuses has still spent its connection-wide token. Past the limit the
//!   message is dropped and its sender gets a `rate_limited` error frame
//!   naming the type (with the `rpcId` of a request; `CallError` on the
//!   client); the connection stays open, and refusals in a row count
//!   toward `max_consecutive_errors` (PROTOCOL.md § 5). A bad rate, a zero
//!   rate or burst, or a rate on an `#[outgoing]` message is a compile
//!   error.
//!
//!   ```
//!   #[zocket::router]
//!   pub mod app {
//!       pub mod chat {
//!           /// At most 3 at once, then one every 20 s.
//!           #[incoming(rate = "3/m")]
//!           pub struct Say {
//!               pub text: String,
//!           }
//!       }
//!   }
//!   ```
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

#![warn(missing_docs)]

pub use zocket_core::{
    close, validate, CallError, ClientId, ErrorCode, ErrorPayload, Incoming, Message, MessageSet,
    NoError, NoHeaders, Outgoing, Request, Router, Timestamp, Validate, ValidationError,
};
pub use zocket_macros::{data, headers, incoming, outgoing};

/// Turns a module of message structs into a typed router: the server's
/// traits and sends, the typed client, and (with the `typescript` feature)
/// the TypeScript types. What it accepts is on the [crate page](crate).
///
/// A router with a request (a typed reply or a typed error) and a
/// broadcast, served, and used by a client:
///
/// ```
/// #[zocket::router]
/// pub mod counter {
///     pub mod count {
///         /// Adds to the shared count; the reply is the new total.
///         #[incoming(reply = u64, error = crate::TooMuch)]
///         pub struct Add { pub by: u64 }
///         /// Everyone hears about every change.
///         #[outgoing]
///         pub struct Changed { pub total: u64 }
///     }
/// }
///
/// /// A typed error: the client gets it back as `CallError::Handler`.
/// #[zocket::data]
/// #[derive(PartialEq, Eq)]
/// pub struct TooMuch { pub limit: u64 }
/// impl std::fmt::Display for TooMuch {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         write!(f, "at most {} at once", self.limit)
///     }
/// }
///
/// #[derive(Default)]
/// struct App { total: std::sync::atomic::AtomicU64 }
///
/// impl counter::Server for App {
///     type Context = ();
///     async fn on_connect(&self, _: zocket::NoHeaders, _: &zocket::ClientId) -> Result<(), zocket::Reject> {
///         Ok(())
///     }
/// }
///
/// impl counter::count::Handlers for App {
///     // A wrong return type is a compile error.
///     async fn add(&self, cx: &counter::Ctx<()>, m: counter::count::Add) -> Result<u64, TooMuch> {
///         if m.by > 10 {
///             return Err(TooMuch { limit: 10 });
///         }
///         let total = self.total.fetch_add(m.by, std::sync::atomic::Ordering::Relaxed) + m.by;
///         cx.send().count().changed(counter::count::Changed { total }).broadcast();
///         Ok(total)
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let url = format!("ws://{}/", listener.local_addr()?);
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let server = tokio::spawn(
///     counter::Router::server(App::default()).serve_with_shutdown(listener, async { stopped.await.ok(); }),
/// );
///
/// let client = counter::Client::connect(url, zocket::NoHeaders::default()).await?;
/// let (tx, mut changes) = tokio::sync::mpsc::unbounded_channel();
/// let _sub = client.on().count().changed(move |m: &counter::count::Changed| { tx.send(m.total).ok(); });
///
/// let total = client.call().count().add(counter::count::Add { by: 2 }).await?;
/// assert_eq!(total, 2);
/// assert_eq!(changes.recv().await, Some(2));
///
/// let refused = client.call().count().add(counter::count::Add { by: 50 }).await;
/// assert!(matches!(refused, Err(zocket::CallError::Handler(TooMuch { limit: 10 }))));
///
/// client.close();
/// stop.send(()).ok();
/// server.await??;
/// # Ok(())
/// # }
/// ```
pub use zocket_macros::router;

pub use chrono;

#[cfg(feature = "server")]
pub use zocket_runtime::{
    serve_router, shutdown_signal, Compression, Config, Ctx, Delivery, Echo, Handle, OriginPolicy,
    Outbound, RateLimit, Refusal, Reject, Resume, RoomError, Rooms, Zocket,
};

/// The cluster seam: implement [`adapter::Adapter`] or use `zocket-redis` /
/// `zocket-nats` to run several servers sharing rooms.
#[cfg(feature = "server")]
pub use zocket_runtime::adapter;

/// The metrics the server records, by name (see `docs/operations.md`).
#[cfg(feature = "server")]
pub use zocket_runtime::metrics;

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
        Backoff, Call, CallError, Client, ClientBuilder, ClientCompression, ClientConfig,
        CloseInfo, ConnectError, HeaderTransport, Messages, Resumed, SendError, State,
        Subscription,
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
            answer, Ctx, Dispatch, Outbound, Refusal, Reject, Sender, ServerRouter, TypeRate,
            Zocket,
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
