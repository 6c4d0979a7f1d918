export { authEntry, createZocketClient, ReadyState, SESSION_TYPE, } from "./client.js";
export { CloseCode } from "./close-codes.js";
export { ClientClosedError, ERROR_TYPE, isRpcError, MessageTooLargeError, QueueFullError, RPC_RESPONSE_TYPE, RpcError, } from "./errors.js";
export { DEFAULT_RECONNECT, reconnectDelay } from "./backoff.js";
