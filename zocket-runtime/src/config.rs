//! Server limits and timeouts, with the defaults a server on the open
//! internet needs (see `PROTOCOL.md`).

use std::time::Duration;

/// Limits and timeouts for one server. Every field has a production default;
/// change them with the builder methods.
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
    /// How long graceful shutdown waits for queues to drain.
    pub shutdown_timeout: Duration,
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
        }
    }
}

macro_rules! setters {
    ($($(#[$m:meta])* $name:ident: $ty:ty),* $(,)?) => {
        impl Config {
            $(
                $(#[$m])*
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
}
