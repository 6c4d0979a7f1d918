//! The part of zocket both ends share: the JSON wire format, the message
//! traits the `#[zocket::router]` macro implements, error and close codes.
//!
//! Nothing here does I/O, so the server, the client and the fuzz targets can
//! all depend on it without pulling in a runtime.

pub mod backoff;
pub mod close;
pub mod error;
pub mod headers;
pub mod id;
pub mod message;
pub mod protocol;
pub mod resume;
pub mod rpc;
pub mod validate;
pub mod wire;

pub use backoff::Backoff;
pub use error::{ErrorCode, ErrorPayload, FrameError};
pub use headers::{parse_headers, HeaderError, HeaderIssue};
pub use id::ClientId;
pub use message::{
    Incoming, Message, MessageSet, NoHeaders, Outgoing, Request, Router, Validate, ValidationError,
};
pub use rpc::{CallError, NoError};

/// The time type for message fields: travels as an RFC 3339 string and
/// arrives on the other side as a time again, not as a string.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
