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
