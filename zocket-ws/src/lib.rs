//! zocket's RFC 6455 codec: pure functions and state machines over bytes,
//! with no sockets, no async runtime and no framework types, so that every
//! transport (zocket's accept loop, the Rust client, a router mounted under `axum::serve`, a
//! TLS stream) speaks exactly the same protocol and the decoder can be
//! fuzzed on its own.
//!
//! Laid out like tungstenite's `protocol/frame/`: the frame header
//! ([`header`]), masking ([`mask`]), incremental UTF-8 checks ([`utf8`]),
//! close frames ([`close`]), the decoder with its reassembly limits
//! ([`decode`]), the opening handshake ([`handshake`]) and
//! permessage-deflate ([`deflate`]); for the client side, the handshake's
//! other half ([`client_handshake`]) and permessage-deflate's ([`offer`]).
//! zocket's server and its Rust client both speak through this crate, so
//! the two ends cannot disagree on the protocol.
//!
//! It is our own rather than tungstenite's because the server's fan-out
//! path is the product: a frame is encoded once for all its recipients
//! ([`WireFrame`]) and an idle connection holds no read buffer (the decoder
//! keeps only an incomplete frame), which took idle memory from 136.5 KB to
//! 3.0 KB per connection (BENCHMARKS.md, "Idle memory"); and because no
//! released tungstenite implements permessage-deflate, which the Rust
//! client needs to speak to a compressing server.
//!
//! ```
//! use zocket_ws::{decode::Decoder, header::encode_masked, opcode, Event, Message};
//!
//! let mut wire = Vec::new();
//! encode_masked(opcode::TEXT, true, b"hello", [1, 2, 3, 4], &mut wire);
//! let mut decoder = Decoder::new(64 * 1024);
//! let mut events = Vec::new();
//! decoder.feed(&wire, &mut events);
//! assert_eq!(events, vec![Event::Message(Message::Text("hello".into()))]);
//! ```

#![warn(missing_docs)]

pub mod client_handshake;
pub mod close;
pub mod decode;
pub mod deflate;
mod frame;
pub mod handshake;
pub mod header;
pub mod mask;
pub mod offer;
pub mod utf8;

pub use frame::{opcode, Event, Message, Role, WireFrame};
