export {
  authEntry,
  createZocketClient,
  ReadyState,
  type CloseInfo,
  type WebSocketConstructor,
  type WebSocketLike,
  type ZocketClient,
  type ZocketClientOptions,
} from "./client.js";
export { CloseCode } from "./close-codes.js";
export { ClientClosedError, ERROR_TYPE, QueueFullError, type ZocketErrorCode, type ZocketErrorPayload } from "./errors.js";
export { DEFAULT_RECONNECT, reconnectDelay, type ReconnectOptions } from "./backoff.js";
export type {
  HeadersOf,
  Message,
  MessagePath,
  OnFn,
  OnTree,
  PayloadAt,
  RouterShape,
  SendFn,
  SendTree,
  Unsubscribe,
} from "./router.js";
