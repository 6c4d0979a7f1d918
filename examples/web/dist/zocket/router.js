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
 * - A message is an object with exactly one key, `$payload`, whose type is
 *   the message's payload as it travels in JSON (field wire names, optional
 *   fields with `?`, timestamps as `string`). Any type is allowed: objects,
 *   objects whose fields are objects, `{}` or `Record<string, never>` for
 *   payloads without fields, unions, `null`.
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
 * Both `type` aliases and `interface`s are accepted. Nothing of the router
 * exists at run time: the client builds `send` and `on` with Proxies.
 */
export {};
