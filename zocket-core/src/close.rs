//! WebSocket close codes zocket uses, and when. `PROTOCOL.md` documents the
//! same table for client authors.

/// Normal closure: the client or the application closed the connection.
pub const NORMAL: u16 = 1000;
/// The server is shutting down.
pub const GOING_AWAY: u16 = 1001;
/// The peer broke the WebSocket protocol (bad framing, unmasked client
/// frame, reserved bits, ...).
pub const PROTOCOL_ERROR: u16 = 1002;
/// A text frame was not valid UTF-8.
pub const INVALID_PAYLOAD: u16 = 1007;
/// The peer broke the zocket protocol repeatedly (too many bad or
/// rate-limited frames in a row), sent no `auth` in time, or missed the
/// heartbeat.
pub const POLICY_VIOLATION: u16 = 1008;
/// An incoming message was larger than the configured limit.
pub const MESSAGE_TOO_BIG: u16 = 1009;
/// A handler panicked while processing this connection's message. The
/// server goes on; only this connection is closed.
pub const INTERNAL_ERROR: u16 = 1011;
/// The client did not read fast enough: its outgoing queue overflowed or a
/// write stalled past the write timeout. The client may reconnect.
pub const SLOW_CONSUMER: u16 = 4008;
