import { PATH } from "./path-proxy.js";
/** The wire `type` of the server's error frames. */
export const ERROR_TYPE = "zocket.error";
/** The wire `type` of a successful answer to a frame that carried an `rpcId`. */
export const RPC_RESPONSE_TYPE = "__rpc_res";
/**
 * The rejection of `client.call.*`: the server's `zocket.error` answer to
 * the call, or one of the client's own failures (`timeout`,
 * `disconnected`, `too_many_calls`). `data` is the handler's typed
 * application error (the message's `$error`) when the server sent one,
 * which it does only with code `handler_error`.
 *
 * Thrown from a `client.answer.*` answerer, it becomes the
 * `handler_error` answer with this `message` and `data`.
 */
export class RpcError extends Error {
    name = "RpcError";
    code;
    /** The wire type of the message that was called (or answered). */
    for;
    /** The application error (`payload.data` of the error frame), when there is one. */
    data;
    /** For `invalid_payload`: the wire path of the offending field. */
    path;
    /** The `rpcId` of the call, when it had one. */
    rpcId;
    constructor(code, message, options = {}) {
        super(message);
        this.code = code;
        this.for = options.for ?? "";
        this.data = options.data;
        this.path = options.path;
        this.rpcId = options.rpcId;
    }
}
export function isRpcError(error, call) {
    if (!(error instanceof RpcError))
        return false;
    if (call === undefined)
        return true;
    const path = call?.[PATH];
    return typeof path !== "string" || error.for === path;
}
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
 * Thrown by `client.send.*` (and the rejection of `client.call.*`) when the
 * message, encoded as UTF-8, is larger than `maxMessageSize`. Nothing was
 * sent or queued: the server would have closed the connection with 1009.
 */
export class MessageTooLargeError extends Error {
    type;
    size;
    maxMessageSize;
    name = "MessageTooLargeError";
    constructor(
    /** The wire type of the message that was refused. */
    type, 
    /** The encoded frame's size in bytes. */
    size, 
    /** The limit in force (`maxMessageSize`). */
    maxMessageSize) {
        super(`zocket message \`${type}\` is ${size} bytes, over the limit of ${maxMessageSize}; it was not sent`);
        this.type = type;
        this.size = size;
        this.maxMessageSize = maxMessageSize;
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
