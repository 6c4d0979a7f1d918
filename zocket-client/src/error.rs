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
    #[error(transparent)]
    WebSocket(#[from] Box<tokio_tungstenite::tungstenite::Error>),
}

impl From<tokio_tungstenite::tungstenite::Error> for ConnectError {
    fn from(error: tokio_tungstenite::tungstenite::Error) -> Self {
        match error {
            tokio_tungstenite::tungstenite::Error::Http(response) => {
                let status = response.status().as_u16();
                let body = response
                    .body()
                    .as_deref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                ConnectError::Rejected { status, body }
            }
            other => ConnectError::WebSocket(Box::new(other)),
        }
    }
}
