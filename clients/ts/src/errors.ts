/** The wire `type` of the server's error frames. */
export const ERROR_TYPE = "zocket.error";

/**
 * Stable codes of `zocket.error` frames. The server may add codes later;
 * existing ones keep their meaning.
 */
export type ZocketErrorCode =
  | "invalid_json"
  | "unknown_type"
  | "invalid_payload"
  | "refused"
  | "binary_unsupported"
  | "rate_limited"
  | "handler_error"
  | (string & {});

/** The payload of a `zocket.error` frame: why the server did not handle a message. */
export interface ZocketErrorPayload {
  code: ZocketErrorCode;
  /** Human-readable explanation. */
  message: string;
  /** The `type` of the message this error answers, when the server could read it. */
  for: string | null;
  /** The wire path of the offending field (`"roomId"`), for `invalid_payload`. */
  path?: string;
}

/**
 * Thrown by `client.send.*` when the client is not connected and its
 * offline queue already holds `maxQueue` messages. Nothing was queued.
 */
export class QueueFullError extends Error {
  override readonly name = "QueueFullError";
  constructor(
    /** The wire type of the message that was refused. */
    readonly type: string,
    /** The queue bound in force. */
    readonly maxQueue: number,
  ) {
    super(`zocket offline queue is full (${maxQueue} messages); \`${type}\` was not queued`);
  }
}

/**
 * Thrown by `client.send.*` after `client.close()` (or once the connection
 * closed for good with reconnection off). Call `client.reconnect()` to open
 * the connection again.
 */
export class ClientClosedError extends Error {
  override readonly name = "ClientClosedError";
  constructor(
    /** The wire type of the message that was refused. */
    readonly type: string,
  ) {
    super(`zocket client is closed; \`${type}\` was not sent (call reconnect() to open it again)`);
  }
}
