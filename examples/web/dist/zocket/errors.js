/** The wire `type` of the server's error frames. */
export const ERROR_TYPE = "zocket.error";
/**
 * Thrown by `client.send.*` when the client is not connected and its
 * offline queue already holds `maxQueue` messages. Nothing was queued.
 */
export class QueueFullError extends Error {
    type;
    maxQueue;
    name = "QueueFullError";
    constructor(
    /** The wire type of the message that was refused. */
    type, 
    /** The queue bound in force. */
    maxQueue) {
        super(`zocket offline queue is full (${maxQueue} messages); \`${type}\` was not queued`);
        this.type = type;
        this.maxQueue = maxQueue;
    }
}
/**
 * Thrown by `client.send.*` after `client.close()` (or once the connection
 * closed for good with reconnection off). Call `client.reconnect()` to open
 * the connection again.
 */
export class ClientClosedError extends Error {
    type;
    name = "ClientClosedError";
    constructor(
    /** The wire type of the message that was refused. */
    type) {
        super(`zocket client is closed; \`${type}\` was not sent (call reconnect() to open it again)`);
        this.type = type;
    }
}
