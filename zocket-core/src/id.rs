//! Client ids: unique, unguessable, cheap to clone.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// A connection's id, made by the server: `client_<millis>_<128 random bits in hex>`.
///
/// The random part comes from a cryptographically secure generator, so an id
/// cannot be guessed from another one; it is safe to hand to other clients
/// (e.g. as the target of a private message).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(Arc<str>);

impl ClientId {
    /// Makes a fresh id.
    pub fn generate() -> Self {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let random: u128 = rand::rng().random();
        ClientId(format!("client_{millis}_{random:032x}").into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for ClientId {
    fn from(s: &str) -> Self {
        ClientId(s.into())
    }
}

impl From<String> for ClientId {
    fn from(s: String) -> Self {
        ClientId(s.into())
    }
}

impl From<&ClientId> for ClientId {
    fn from(id: &ClientId) -> Self {
        id.clone()
    }
}

impl AsRef<str> for ClientId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for ClientId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_original_shape_and_differ() {
        let a = ClientId::generate();
        let b = ClientId::generate();
        assert_ne!(a, b);
        let parts: Vec<&str> = a.as_str().split('_').collect();
        assert_eq!(parts.len(), 3, "{a}");
        assert_eq!(parts[0], "client");
        assert!(parts[1].parse::<u128>().is_ok());
        assert_eq!(parts[2].len(), 32);
        assert!(parts[2].chars().all(|c| c.is_ascii_hexdigit()));
    }
}
