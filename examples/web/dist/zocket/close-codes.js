/** WebSocket close codes a zocket server uses, and the one browsers report for a lost connection. */
export const CloseCode = {
    /** The client or the application closed the connection. */
    Normal: 1000,
    /** The server is shutting down. */
    GoingAway: 1001,
    /** No close frame was received: the connection was lost or never opened (set by the WebSocket implementation, never sent). */
    Abnormal: 1006,
    /** A text frame was not valid UTF-8. */
    InvalidPayload: 1007,
    /** The client broke the protocol repeatedly, exceeded its rate limit or missed the heartbeat. */
    PolicyViolation: 1008,
    /** A message was larger than the server's limit. */
    MessageTooBig: 1009,
    /** A handler panicked while processing this connection's message. */
    InternalError: 1011,
    /** The client did not read fast enough; it may reconnect. */
    SlowConsumer: 4008,
};
