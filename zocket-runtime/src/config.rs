//! Server limits and timeouts, with the defaults a server on the open
//! internet needs (see `PROTOCOL.md`, "Limits and defaults").

use std::time::Duration;

pub use crate::limits::RateLimit;
pub use crate::origin::OriginPolicy;
pub use crate::ws::deflate::Compression;

/// Limits and timeouts for one server. Every field has a production default;
/// change them with the builder methods.
///
/// | field | default | past it |
/// |---|---|---|
/// | `max_message_size` | 64 KiB | close 1009 |
/// | `max_queued_frames` / `max_queued_bytes` | 1024 / 1 MiB | close 4008 |
/// | `write_timeout` | 5 s | TCP dropped (recorded as close 4008; a socket that takes no data cannot take a close frame) |
/// | `ping_interval` / `pong_timeout` | 25 s / 20 s | close 1008 |
/// | `header_read_timeout` | 10 s | TCP closed (slowloris) |
/// | `origin` | same host | HTTP 403 before the upgrade |
/// | `max_connections` / `max_connections_per_ip` | 100 000 / 1024 | HTTP 503 before the upgrade |
/// | `rate_limit` | 100 msg/s, burst 200 | `rate_limited` error frame, then 1008 |
/// | `max_rooms_per_connection` / `max_room_name_len` | 128 / 255 B | `room_limit` error frame |
/// | `max_consecutive_errors` | 10 | close 1008 |
/// | `max_http_connections` | 10 000 | TCP closed at accept (zocket's accept loop) |
/// | `shutdown_timeout` | 5 s | connections dropped; `serve` returns |
/// | `compression` | off | permessage-deflate answered when offered |
/// | `resume` | off | sessions kept 2 min after a drop ([`Resume`]) |
///
/// ```
/// use std::time::Duration;
/// let config = zocket_runtime::Config::default()
///     .max_message_size(16 * 1024)
///     .write_timeout(Duration::from_secs(2));
/// assert_eq!(config.max_message_size, 16 * 1024);
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest incoming message (and frame), in bytes. Larger: close 1009.
    pub max_message_size: usize,
    /// Outgoing queue bound per connection, in frames.
    pub max_queued_frames: usize,
    /// Outgoing queue bound per connection, in bytes.
    pub max_queued_bytes: usize,
    /// A write that makes no progress for this long closes the connection
    /// with 4008.
    pub write_timeout: Duration,
    /// Interval between server pings.
    pub ping_interval: Duration,
    /// A connection that has not answered a ping within this long is closed.
    pub pong_timeout: Duration,
    /// Rooms one connection may be in at once.
    pub max_rooms_per_connection: usize,
    /// Longest room name, in bytes.
    pub max_room_name_len: usize,
    /// Bad frames in a row before the connection is closed with 1008.
    pub max_consecutive_errors: u32,
    /// How long graceful shutdown waits for WebSocket queues to drain and
    /// HTTP requests in flight to finish (both at once); then whatever is
    /// left is dropped and `serve` returns.
    pub shutdown_timeout: Duration,
    /// Time a client has to send the complete HTTP request head. Stops
    /// slowloris clients from holding sockets open by trickling headers.
    /// Applies when the server is run by `serve`/`serve_with_shutdown` or
    /// [`serve_router`](crate::serve_router); a user's own `axum::serve`
    /// must set its own.
    pub header_read_timeout: Duration,
    /// Which browser origins may open a connection. Requests without an
    /// `Origin` header (non-browser clients) are always allowed: the check
    /// exists to stop other web pages from using a visitor's cookies.
    pub origin: OriginPolicy,
    /// Connections this server accepts at once; more get HTTP 503.
    pub max_connections: usize,
    /// Connections one IP address may hold at once; more get HTTP 503.
    /// Needs the peer address (`ConnectInfo<SocketAddr>`), which zocket's
    /// own serve functions provide; when mounted without it the per-IP cap
    /// is skipped. Behind a reverse proxy every client has the proxy's
    /// address: raise or disable (`usize::MAX`) this cap there.
    pub max_connections_per_ip: usize,
    /// HTTP connections zocket's accept loop holds at once before they
    /// upgrade (or while they serve plain HTTP); past it new connections are
    /// closed at once. Bounds what slow or silent HTTP clients can hold.
    pub max_http_connections: usize,
    /// Incoming messages per connection (token bucket); `None` disables it.
    pub rate_limit: Option<RateLimit>,
    /// How long the server's own requests to a client (`.request(id)`)
    /// wait for the answer unless the call sets its own timeout; zocket
    /// v1's 10 s.
    pub request_timeout: Duration,
    /// Server requests one connection may have unanswered at once; more
    /// fail with `CallError::TooManyCalls` without being sent.
    pub max_pending_requests: usize,
    /// Frames read and held while a handler runs (so that answers to the
    /// server's requests get through meanwhile); past it the connection is
    /// not read until the handler finishes.
    pub max_read_ahead: usize,
    /// permessage-deflate (RFC 7692), answered to clients that offer it;
    /// `None` (the default) answers no extension and costs nothing. See
    /// `PROTOCOL.md`, "Compression".
    pub compression: Option<Compression>,
    /// Resumable sessions (PROTOCOL.md, section 12): a client that drops
    /// without a clean close keeps its id, context and rooms for a while,
    /// and gets what it missed when it comes back. `None` (the default)
    /// keeps nothing and costs nothing: `on_disconnect` runs as soon as a
    /// connection ends.
    pub resume: Option<Resume>,
}

/// How long a dropped session waits for its client, and how much of what
/// it was sent it keeps for it.
///
/// ```
/// use std::time::Duration;
/// let config = zocket_runtime::Config::default()
///     .resume(Some(zocket_runtime::Resume::default().window(Duration::from_secs(30))));
/// assert_eq!(config.resume.map(|r| r.window), Some(Duration::from_secs(30)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resume {
    /// How long a session whose connection dropped waits for a resume;
    /// then `on_disconnect` runs and it leaves its rooms. 2 minutes.
    pub window: Duration,
    /// Frames of a session kept for replay: the latest ones, whether
    /// written already (they may have been lost with the connection) or
    /// sent while it was away. A client that missed more starts afresh.
    /// 1024, like `max_queued_frames`.
    pub max_frames: usize,
    /// Bytes of those frames (fan-out frames are shared with the other
    /// recipients, not copied). 1 MiB, like `max_queued_bytes`.
    pub max_bytes: usize,
}

impl Default for Resume {
    fn default() -> Self {
        Resume {
            window: Duration::from_secs(120),
            max_frames: 1024,
            max_bytes: 1024 * 1024,
        }
    }
}

impl Resume {
    /// Sets [`Resume::window`].
    #[must_use]
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Sets [`Resume::max_frames`] and [`Resume::max_bytes`].
    #[must_use]
    pub fn buffer(mut self, frames: usize, bytes: usize) -> Self {
        self.max_frames = frames;
        self.max_bytes = bytes;
        self
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_message_size: 64 * 1024,
            max_queued_frames: 1024,
            max_queued_bytes: 1024 * 1024,
            write_timeout: Duration::from_secs(5),
            ping_interval: Duration::from_secs(25),
            pong_timeout: Duration::from_secs(20),
            max_rooms_per_connection: 128,
            max_room_name_len: 255,
            max_consecutive_errors: 10,
            shutdown_timeout: Duration::from_secs(5),
            header_read_timeout: Duration::from_secs(10),
            origin: OriginPolicy::SameHost,
            max_connections: 100_000,
            max_connections_per_ip: 1024,
            max_http_connections: 10_000,
            rate_limit: Some(RateLimit {
                per_second: 100,
                burst: 200,
            }),
            request_timeout: Duration::from_secs(10),
            max_pending_requests: 1024,
            max_read_ahead: 64,
            compression: None,
            resume: None,
        }
    }
}

macro_rules! setters {
    ($($(#[$m:meta])* $name:ident: $ty:ty),* $(,)?) => {
        impl Config {
            $(
                $(#[$m])*
                #[doc = concat!("Sets [`Config::", stringify!($name), "`] (see the table on [`Config`]).")]
                #[must_use]
                pub fn $name(mut self, value: $ty) -> Self {
                    self.$name = value;
                    self
                }
            )*
        }
    };
}

setters! {
    max_message_size: usize,
    max_queued_frames: usize,
    max_queued_bytes: usize,
    write_timeout: Duration,
    ping_interval: Duration,
    pong_timeout: Duration,
    max_rooms_per_connection: usize,
    max_room_name_len: usize,
    max_consecutive_errors: u32,
    shutdown_timeout: Duration,
    header_read_timeout: Duration,
    origin: OriginPolicy,
    max_connections: usize,
    max_connections_per_ip: usize,
    max_http_connections: usize,
    rate_limit: Option<RateLimit>,
    request_timeout: Duration,
    max_pending_requests: usize,
    max_read_ahead: usize,
    compression: Option<Compression>,
    resume: Option<Resume>,
}

impl Config {
    /// Allows these browser origins (`https://app.example.com`) besides the
    /// server's own host.
    #[must_use]
    pub fn allowed_origins<I>(mut self, origins: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.origin = OriginPolicy::AllowList(origins.into_iter().map(Into::into).collect());
        self
    }
}
