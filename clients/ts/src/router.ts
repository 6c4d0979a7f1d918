/**
 * # Router type encoding
 *
 * This is the contract between the Rust side (which generates a `.ts` file
 * from a `#[zocket::router]` module) and this client. A router is one
 * exported type with three keys:
 *
 * ```ts
 * export type ChatRouter = {
 *   headers: { "user-name"?: string };
 *   incoming: {
 *     rooms: {
 *       join: { $payload: { roomId: string } };
 *       leave: { $payload: { roomId: string } };
 *       message: { $payload: { roomId: string; content: string } };
 *     };
 *   };
 *   outgoing: {
 *     rooms: {
 *       onJoin: { $payload: { roomId: string; userName: string } };
 *       onLeave: { $payload: { roomId: string; userName: string } };
 *       onMessage: {
 *         $payload: { roomId: string; userName: string; content: string; timestamp: string };
 *       };
 *     };
 *   };
 * };
 * ```
 *
 * - `headers`: the connection headers, keyed by their wire names (e.g.
 *   `"user-name"`), optional ones marked `?`. The client puts them in the URL
 *   query. The key may be left out, or be `{}`, when there are no headers.
 *   When the object has a required key, `createZocketClient` requires the
 *   `headers` option.
 * - `incoming`: messages the client sends (incoming from the server's point
 *   of view, as in the Rust router). `outgoing`: messages the server sends.
 * - A namespace is an object whose keys are namespace or message names, as
 *   on the wire (lowerCamelCase). Namespaces nest to any depth; messages may
 *   also sit at the top level (`incoming: { ping: { $payload: {...} } }`).
 * - A message is an object with the key `$payload` (requests may add
 *   `$reply` and `$error`: see "Requests" below), the type of `$payload`
 *   being the message's payload as it travels in JSON (field wire names,
 *   optional fields with `?`, timestamps as `string`). Any type is allowed:
 *   objects, objects whose fields are objects, `{}` or
 *   `Record<string, never>` for payloads without fields, unions, `null`.
 * - The wire `type` of a message is its path of keys joined with dots:
 *   `incoming.rooms.join` travels as `"rooms.join"`.
 *
 * Why `$payload`: a namespace and a payload are both plain objects, so the
 * message needs a marker to be told apart at type level. `$` cannot appear
 * in a Rust identifier, so `$payload` can never clash with a namespace or
 * message name, whatever the router contains. It is a valid TypeScript
 * identifier, so the generator writes it without quotes. Payload types may
 * be named types (`join: { $payload: JoinRoom }`) as emitted by ts-rs or
 * specta; `Message<P>` below is the same shape for hand-written routers.
 *
 * ## Requests (request/response)
 *
 * A message node may carry two more marker keys, both optional, so that
 * routers without them keep type-checking unchanged:
 *
 * ```ts
 * export type ChatRouter = {
 *   headers: { "user-name"?: string };
 *   incoming: {
 *     rooms: {
 *       join: { $payload: RoomsJoin };                // no reply: a call is acked with null
 *       members: {
 *         $payload: RoomsMembers;                     // { roomId: string }
 *         $reply: RoomsMembersReply;                  // { roomId: string; members: string[] }
 *         $error: RoomsMembersError;                  // { kind: "notMember" }
 *       };
 *     };
 *   };
 *   outgoing: {
 *     game: {
 *       askMove: { $payload: GameAskMove; $reply: GameMove }; // the server asks, the client answers
 *     };
 *   };
 * };
 * ```
 *
 * - `$reply` (incoming and outgoing messages): the type of the `payload` of
 *   the `__rpc_res` frame that answers the message, as it travels in JSON.
 *   Emitted only when the Rust message declares a reply type. Without it,
 *   `client.call.*` resolves to `null` (the server's ack); a declared
 *   `$reply: null` (a Rust `()` reply) means the same.
 * - `$error` (incoming messages): the type of `payload.data` of the
 *   `zocket.error` frame (code `handler_error`) with which the handler
 *   reports its typed application error. Emitted only when the Rust message
 *   declares an error type. On outgoing messages it is accepted and ignored.
 * - Key order within a message node does not matter; the generator writes
 *   `$payload`, then `$reply`, then `$error`. `Rpc<P, R, E>` below is the
 *   same shape for hand-written routers.
 * - Only outgoing messages with `$reply` appear in `client.answer`; every
 *   incoming message appears in `client.call` (and in `client.send`).
 *
 * Both `type` aliases and `interface`s are accepted. Nothing of the router
 * exists at run time: the client builds `send`, `on`, `call` and `answer`
 * with Proxies.
 */

/** A message node: its payload type under the `$payload` marker key. */
export type Message<P> = { $payload: P };

/**
 * A message node with a reply type `R` and, optionally, a typed
 * application error `E` (the `data` of its `handler_error` answers).
 */
export type Rpc<P, R, E = never> = [E] extends [never]
  ? { $payload: P; $reply: R }
  : { $payload: P; $reply: R; $error: E };

/** The shape every router type has. */
export type RouterShape = {
  headers?: object;
  incoming: object;
  outgoing: object;
};

/** Removes a listener; calling it more than once does nothing. */
export type Unsubscribe = () => void;

/** The connection headers of router `R` (`{}` when it declares none). */
export type HeadersOf<R> = R extends { headers: infer H } ? H : {};

/**
 * The function that sends one message. The payload may be left out when an
 * empty object is a valid payload (all fields optional); `{}` is sent then.
 */
export type SendFn<P> = {} extends P ? (payload?: P) => void : (payload: P) => void;

/** The function that subscribes to one message. */
export type OnFn<P> = (listener: (payload: P) => void) => Unsubscribe;

/** `client.send`: one `SendFn` per message of `N`, nested like `N`. */
export type SendTree<N> = {
  readonly [K in keyof N]: N[K] extends { $payload: infer P } ? SendFn<P> : SendTree<N[K]>;
};

/** `client.on`: one `OnFn` per message of `N`, nested like `N`. */
export type OnTree<N> = {
  readonly [K in keyof N]: N[K] extends { $payload: infer P } ? OnFn<P> : OnTree<N[K]>;
};

/** The wire `type` of every message in namespace `N`, e.g. `"rooms.join"`. */
export type MessagePath<N> = {
  [K in keyof N & string]: N[K] extends { $payload: unknown } ? K : `${K}.${MessagePath<N[K]>}`;
}[keyof N & string];

/** The payload type of the message at wire type `Path` in namespace `N`. */
export type PayloadAt<N, Path extends string> = Path extends `${infer Head}.${infer Rest}`
  ? Head extends keyof N
    ? PayloadAt<N[Head], Rest>
    : never
  : Path extends keyof N
    ? N[Path] extends { $payload: infer P }
      ? P
      : never
    : never;

/** The reply type of message node `M`: its `$reply`, or `null` (an ack) without one. */
export type ReplyOf<M> = M extends { $reply: infer R } ? R : null;

/** The application error type of message node `M`: its `$error`, or `never` without one. */
export type ErrorOf<M> = M extends { $error: infer E } ? E : never;

/** The message node at wire type `Path` in namespace `N`. */
export type MessageAt<N, Path extends string> = Path extends `${infer Head}.${infer Rest}`
  ? Head extends keyof N
    ? MessageAt<N[Head], Rest>
    : never
  : Path extends keyof N
    ? N[Path] extends { $payload: unknown }
      ? N[Path]
      : never
    : never;

/** The reply type of the message at wire type `Path` in namespace `N`. */
export type ReplyAt<N, Path extends string> = ReplyOf<MessageAt<N, Path>>;

/** The application error type of the message at wire type `Path` in namespace `N`. */
export type ErrorAt<N, Path extends string> = ErrorOf<MessageAt<N, Path>>;

/** Per-call options: the second argument of `client.call.*`. */
export interface CallOptions {
  /** Overrides the client's `rpcTimeoutMs` for this call. */
  timeoutMs?: number;
}

/** Type-only marker: carries a call's error type for `isRpcError`. Nothing of it exists at run time. */
declare const callErrorType: unique symbol;

/**
 * The function that makes one call: sends the message with an `rpcId` and
 * resolves with the reply (rejects with `RpcError<E>` and the like). The
 * payload may be left out when an empty object is a valid payload.
 */
export type CallFn<P, R, E> = ({} extends P
  ? (payload?: P, options?: CallOptions) => Promise<R>
  : (payload: P, options?: CallOptions) => Promise<R>) & { readonly [callErrorType]?: [E] };

/** The application error type of a `CallFn` (`never` when it declares none). */
export type CallErrorOf<F> = F extends { readonly [callErrorType]?: [infer E] } ? E : unknown;

/** `client.call`: one `CallFn` per message of `N`, nested like `N`. */
export type CallTree<N> = {
  readonly [K in keyof N]: N[K] extends { $payload: infer P }
    ? CallFn<P, ReplyOf<N[K]>, ErrorOf<N[K]>>
    : CallTree<N[K]>;
};

/**
 * The answerer of one server request: gets the payload, returns (or
 * resolves with) the reply. A throw or rejection answers `handler_error`.
 */
export type Answerer<P, R> = (payload: P) => R | PromiseLike<R>;

/** The function that registers the answerer of one message; returns the function that removes it. */
export type AnswerFn<P, R> = (answerer: Answerer<P, R>) => Unsubscribe;

/** Whether node `T` is, or holds, a message with a `$reply`. */
type HasReply<T> = T extends { $payload: unknown }
  ? T extends { $reply: unknown }
    ? true
    : false
  : true extends { [K in keyof T]: HasReply<T[K]> }[keyof T]
    ? true
    : false;

/** `client.answer`: one `AnswerFn` per message of `N` that has a `$reply`, nested like `N`. */
export type AnswerTree<N> = {
  readonly [K in keyof N as HasReply<N[K]> extends true ? K : never]: N[K] extends {
    $payload: infer P;
    $reply: infer R;
  }
    ? AnswerFn<P, R>
    : AnswerTree<N[K]>;
};
