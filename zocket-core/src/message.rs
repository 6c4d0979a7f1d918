//! The traits `#[zocket::router]` implements for every message struct.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A message declared in a router: a payload type with a wire name.
pub trait Message: Serialize + DeserializeOwned + Validate + Send + Sync + 'static {
    /// The `type` field on the wire: the dotted namespace path and the
    /// lowerCamelCase message name, e.g. `rooms.onJoin`.
    const TYPE: &'static str;
}

/// A message the client sends and the server handles.
pub trait Incoming: Message {}

/// A message that can be sent as a request (PROTOCOL.md § 10): what the
/// other side answers it with. Every incoming message is one (declared
/// without `reply`, it answers `()`: an ack once its handler ran); an
/// outgoing message is one when declared with `reply` or `error`.
pub trait Request: Message {
    /// The reply on success (`()` when none is declared).
    type Reply: Serialize + DeserializeOwned + Send + 'static;
    /// The handler's typed failure ([`NoError`](crate::rpc::NoError) when
    /// none is declared). Travels as the error frame's `data`, its
    /// `Display` as the `message`.
    type Error: Serialize + DeserializeOwned + fmt::Display + Send + 'static;
}

/// A message the server sends and the client listens for.
pub trait Outgoing: Message {}

/// A router declared with `#[zocket::router]`: its headers and the two sets
/// of messages. Both ends build on this; the server and the client add their
/// own accessor types.
pub trait Router: Send + Sync + 'static {
    type Headers: Serialize + DeserializeOwned + Validate + Send + Sync + 'static;
    /// Every message a client may send, as one enum.
    type Incoming: MessageSet;
    /// Every message the server may send, as one enum.
    type Outgoing: MessageSet;
}

/// The generated enum of one direction's messages, namespaces nesting as
/// variants (`chat::Incoming::Rooms(rooms::Incoming::Join(..))`).
pub trait MessageSet: Sized + Clone + std::fmt::Debug + Send + Sync + 'static {
    /// Every wire type in the set.
    const TYPES: &'static [&'static str];
    /// Decodes the payload of a frame of type `ty`.
    fn decode(ty: &str, payload: &str) -> Result<Self, crate::FrameError>;
    /// The wire type of this message.
    fn ty(&self) -> &'static str;
    /// The message struct inside, for listeners that downcast to it.
    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync);
}

/// The headers of a router that declares none: accepts anything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NoHeaders {}

impl Validate for NoHeaders {}

/// Checks beyond what the types say (lengths, ranges, formats).
///
/// The router macro implements this for every message and for the headers
/// struct, calling the hooks named with `#[zocket(validate = path)]`. A
/// message that fails never reaches a handler; its sender gets an
/// `invalid_payload` error frame naming the field.
pub trait Validate {
    fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}

/// Why a value failed validation, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// The wire path of the offending field (`roomId`, `user.name`), empty
    /// for a check on the whole message.
    pub path: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(path: impl Into<String>, message: impl fmt::Display) -> Self {
        ValidationError {
            path: path.into(),
            message: message.to_string(),
        }
    }

    /// Prefixes the path with the field it was found under, for errors a
    /// nested hook returned.
    pub fn under(mut self, field: &str) -> Self {
        self.path = if self.path.is_empty() {
            field.to_owned()
        } else {
            format!("{field}.{}", self.path)
        };
        self
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ValidationError {}

impl From<String> for ValidationError {
    fn from(message: String) -> Self {
        ValidationError {
            path: String::new(),
            message,
        }
    }
}

impl From<&str> for ValidationError {
    fn from(message: &str) -> Self {
        message.to_owned().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_paths_join_with_dots() {
        let e = ValidationError::new("name", "too long").under("user");
        assert_eq!(e.path, "user.name");
        assert_eq!(e.to_string(), "user.name: too long");
        let e = ValidationError::from("bad").under("roomId");
        assert_eq!(e.path, "roomId");
    }
}
