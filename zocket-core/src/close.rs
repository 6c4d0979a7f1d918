//! WebSocket close codes zocket uses, and when. `PROTOCOL.md` documents the
//! same table for client authors.

/// Normal closure: the client or the application closed the connection.
pub const NORMAL: u16 = 1000;
/// The server is shutting down.
pub const GOING_AWAY: u16 = 1001;
/// A text frame was not valid UTF-8.
pub const INVALID_PAYLOAD: u16 = 1007;
/// The peer broke the protocol repeatedly (e.g. too many bad frames in a row,
/// rate limit exceeded after warnings) or missed the heartbeat.
pub const POLICY_VIOLATION: u16 = 1008;
/// An incoming message was larger than the configured limit.
pub const MESSAGE_TOO_BIG: u16 = 1009;
/// A handler panicked while processing this connection's message.
pub const INTERNAL_ERROR: u16 = 1011;
/// The client did not read fast enough: its outgoing queue overflowed or a
/// write stalled past the write timeout. The client may reconnect.
pub const SLOW_CONSUMER: u16 = 4008;
