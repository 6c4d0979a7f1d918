import { PATH } from "./path-proxy.js";
import type { CallErrorOf } from "./router.js";

/** The wire `type` of the server's error frames. */
export const ERROR_TYPE = "zocket.error";

/** The wire `type` of a successful answer to a frame that carried an `rpcId`. */
export const RPC_RESPONSE_TYPE = "__rpc_res";

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
  /** The `rpcId` of the request this error answers (only for a call no longer pending, e.g. timed out). */
  rpcId?: string;
  /** A handler's typed application error, for `handler_error` (when it has one). */
  data?: unknown;
}

/**
 * Why a call failed: every code a `zocket.error` frame can carry, plus
 * the client's own:
 *
 * - `timeout`: no answer within the call's timeout (`rpcTimeoutMs`, 10 s).
 * - `disconnected`: the connection dropped (or `close()` was called)
 *   while the call was in flight; it may or may not have run.
 * - `too_many_calls`: `maxPendingCalls` calls were already pending; this
 *   one was not sent.
 */
export type RpcErrorCode = ZocketErrorCode | "timeout" | "disconnected" | "too_many_calls";

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
export class RpcError<E = unknown> extends Error {
  override readonly name = "RpcError";
  readonly code: RpcErrorCode;
  /** The wire type of the message that was called (or answered). */
  readonly for: string;
  /** The application error (`payload.data` of the error frame), when there is one. */
  readonly data: E | undefined;
  /** For `invalid_payload`: the wire path of the offending field. */
  readonly path: string | undefined;
  /** The `rpcId` of the call, when it had one. */
  readonly rpcId: string | undefined;

  constructor(
    code: RpcErrorCode,
    message: string,
    options: { for?: string; data?: E; path?: string; rpcId?: string } = {},
  ) {
    super(message);
    this.code = code;
    this.for = options.for ?? "";
    this.data = options.data;
    this.path = options.path;
    this.rpcId = options.rpcId;
  }
}

/**
 * Whether `error` is an `RpcError`. Given the call function as well
 * (`isRpcError(e, client.call.rooms.members)`), it also checks that the
 * error is that message's, and narrows `data` to the message's `$error`
 * type.
 */
export function isRpcError<F>(error: unknown, call: F): error is RpcError<CallErrorOf<F>>;
export function isRpcError(error: unknown): error is RpcError<unknown>;
export function isRpcError(error: unknown, call?: unknown): boolean {
  if (!(error instanceof RpcError)) return false;
  if (call === undefined) return true;
  const path = (call as { [PATH]?: unknown } | null)?.[PATH];
  return typeof path !== "string" || error.for === path;
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
 * Thrown by `client.send.*` (and the rejection of `client.call.*`) when the
 * message, encoded as UTF-8, is larger than `maxMessageSize`. Nothing was
 * sent or queued: the server would have closed the connection with 1009.
 */
export class MessageTooLargeError extends Error {
  override readonly name = "MessageTooLargeError";
  constructor(
    /** The wire type of the message that was refused. */
    readonly type: string,
    /** The encoded frame's size in bytes. */
    readonly size: number,
    /** The limit in force (`maxMessageSize`). */
    readonly maxMessageSize: number,
  ) {
    super(`zocket message \`${type}\` is ${size} bytes, over the limit of ${maxMessageSize}; it was not sent`);
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
