//! Client errors.

/// A send the client could not accept.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The send queue (which holds messages while offline) is full. Nothing
    /// was queued; retry later or drop the message knowingly.
    #[error("send queue full ({capacity} messages)")]
    QueueFull { capacity: usize },
    /// The client was closed with `close()`.
    #[error("client is closed")]
    Closed,
    /// The message, encoded, is larger than `max_message_size` (the
    /// server's limit; past it the server closes the connection with 1009).
    /// Nothing was queued.
    #[error("message is {size} bytes, over the limit of {max}")]
    TooLarge { size: usize, max: usize },
    #[error("message did not serialise: {0}")]
    Serialize(#[from] serde_json::Error),
}

/// The first connection attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The server answered the upgrade with an HTTP error: 400 for invalid
    /// headers, 401/403 when `on_connect` rejected, 403 for a refused
    /// origin, 503 when full.
    #[error("server refused the connection with HTTP {status}: {body}")]
    Rejected { status: u16, body: String },
    #[error("headers did not serialise: {0}")]
    Headers(#[from] serde_urlencoded::ser::Error),
    #[error("headers did not serialise into the auth subprotocol: {0}")]
    AuthProtocol(#[from] zocket_core::protocol::AuthEncodeError),
    /// A header name or value cannot be sent as an HTTP header.
    #[error("header `{0}` cannot be sent as an HTTP header")]
    InvalidHeader(String),
    #[error("connect timed out")]
    Timeout,
    /// The URL is not a `ws://` URL this client can connect to.
    #[error("invalid WebSocket URL `{0}`: expected ws://host[:port][/path]")]
    InvalidUrl(String),
    /// A `wss://` URL: the client speaks plain `ws://` only. Terminate TLS
    /// in front of it (a local proxy) or connect to a `ws://` endpoint.
    #[error("`wss://` is not supported: this client speaks plain ws:// only")]
    TlsUnsupported,
    /// Connecting, writing the request or reading the answer failed.
    #[error("connection failed: {0}")]
    Io(#[from] std::io::Error),
    /// The answer to the upgrade request is not a valid HTTP response head
    /// (or is over 16 KiB).
    #[error("the server's answer is not a valid HTTP response: {0}")]
    BadResponse(String),
    /// The server answered `101` but the WebSocket handshake does not hold
    /// (wrong accept key, a subprotocol or extension that was not offered).
    #[error("WebSocket handshake failed: {0}")]
    Handshake(#[from] zocket_ws::client_handshake::ResponseError),
}
