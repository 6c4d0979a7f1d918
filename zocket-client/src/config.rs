//! Client settings, with the original zocket's reconnect defaults.

use std::time::Duration;

/// How the client waits between reconnect attempts: the shared backoff,
/// whose default is the original client's (1 s, ×1.3, at most 10 s, ±20 %).
pub use zocket_core::Backoff;

/// How the client sends connection headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HeaderTransport {
    /// As URL query parameters, like the original client and browsers
    /// without a subprotocol. Query strings end up in access logs: do not
    /// put secrets there.
    #[default]
    Query,
    /// As real HTTP headers on the upgrade request (what a server behind a
    /// proxy that strips unknown headers may not see).
    Http,
    /// In a `Sec-WebSocket-Protocol` entry `zocket.auth.<base64url JSON>`,
    /// next to `zocket`: kept out of URLs and logs, and the only header a
    /// browser can set, so clients in every language can use it.
    Subprotocol,
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `None` disables reconnecting.
    pub reconnect: Option<Backoff>,
    /// Messages held while offline (and not yet written while online).
    pub max_queue: usize,
    /// No frame from the server for this long (the server pings every 25 s
    /// by default) means the server is gone: the client reconnects.
    pub idle_timeout: Duration,
    pub connect_timeout: Duration,
    /// Where connection headers travel (default: the query string).
    pub header_transport: HeaderTransport,
    /// How long a call waits for its answer unless it sets its own
    /// (`.timeout(..)`), counted from the call, also while it waits in the
    /// offline queue; zocket v1's 10 s.
    pub call_timeout: Duration,
    /// Calls pending at once; more fail with `CallError::TooManyCalls`
    /// without being sent.
    pub max_pending_calls: usize,
    /// Largest message the client sends, in bytes of the encoded frame; a
    /// larger one is refused (`SendError::TooLarge`, `CallError::TooLarge`)
    /// instead of sent. Set it to the server's `max_message_size` (default
    /// 64 KiB, the server's default): the server closes the connection with
    /// 1009 on a larger message, and announces its limit nowhere a client
    /// could read it. An answer to a server request over it is replaced by
    /// a `handler_error` answer (PROTOCOL.md § 10), so the server's request
    /// fails at once instead of at its timeout.
    pub max_message_size: usize,
    /// Largest message accepted from the server, in bytes (inflated, when
    /// compressed); a larger one closes the connection with 1009 and the
    /// client reconnects. Default 64 MiB, so that any message a zocket
    /// server sends passes; lower it to bound what a server can make the
    /// client buffer.
    pub max_received_size: usize,
    /// Offer permessage-deflate (RFC 7692) in the handshake; `None` to not
    /// offer it. On by default, as browsers do: a server without
    /// compression (zocket's default) declines and nothing changes, one
    /// with it sends its large messages compressed, and the client
    /// compresses its own from [`ClientCompression::min_size`] bytes.
    pub compression: Option<ClientCompression>,
}

/// How the client compresses what it sends once the server agreed to
/// permessage-deflate. The server's messages are inflated whatever these
/// say.
///
/// ```
/// use zocket_client::{ClientCompression, ClientConfig};
///
/// // Compress only messages of 1 KiB or more; `compression: None` would
/// // not offer the extension at all.
/// let config = ClientConfig {
///     compression: Some(ClientCompression::default().min_size(1024)),
///     ..ClientConfig::default()
/// };
/// assert_eq!(config.compression.map(|c| c.min_size), Some(1024));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientCompression {
    /// Messages with a shorter encoded frame go uncompressed (deflating a
    /// few bytes costs more than it saves); default 128 bytes, the
    /// server's default.
    pub min_size: usize,
    /// zlib level, 0 (none) to 9 (smallest); default 6.
    pub level: u32,
}

impl Default for ClientCompression {
    fn default() -> Self {
        ClientCompression {
            min_size: 128,
            level: 6,
        }
    }
}

impl ClientCompression {
    /// Sets [`min_size`](Self::min_size).
    #[must_use]
    pub fn min_size(mut self, bytes: usize) -> Self {
        self.min_size = bytes;
        self
    }

    /// Sets [`level`](Self::level) (capped at 9).
    #[must_use]
    pub fn level(mut self, level: u32) -> Self {
        self.level = level.min(9);
        self
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            reconnect: Some(Backoff::default()),
            max_queue: 1024,
            idle_timeout: Duration::from_secs(45),
            connect_timeout: Duration::from_secs(10),
            header_transport: HeaderTransport::default(),
            call_timeout: Duration::from_secs(10),
            max_pending_calls: 1024,
            max_message_size: 64 * 1024,
            max_received_size: 64 << 20,
            compression: Some(ClientCompression::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnects_by_default_with_the_original_backoff() {
        let config = ClientConfig::default();
        let backoff = config.reconnect.expect("reconnect is on by default");
        assert_eq!(backoff.initial, Duration::from_secs(1));
        assert_eq!(backoff.max, Duration::from_secs(10));
        assert!((backoff.factor - 1.3).abs() < 1e-12);
        assert!((backoff.jitter - 0.2).abs() < 1e-12);
    }
}
