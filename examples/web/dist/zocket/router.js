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
export {};
