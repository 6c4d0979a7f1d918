// Regenerate: cargo run -p zocket-examples --bin export-ts
// The `chat` zocket router, for zocket's TypeScript client (clients/ts).
// Generated from the Rust definitions by `chat::Router::typescript`: do not edit.

/**
 * Sent as the `user-name` HTTP header or query parameter.
 */
export type ChatHeaders = { "user-name"?: string };

export type RoomsJoin = { roomId: string };

export type RoomsLeave = { roomId: string };

export type RoomsMessage = { roomId: string, content: string };

/**
 * Asks who is in a room the sender has joined; answered with
 * `rooms.onMembers` to the sender alone.
 */
export type RoomsMembers = { roomId: string };

export type RoomsOnJoin = { roomId: string, userName: string };

export type RoomsOnLeave = { roomId: string, userName: string };

export type RoomsOnMessage = { roomId: string, userName: string, content: string, timestamp: string };

/**
 * The names of the connections in a room, sorted.
 */
export type RoomsOnMembers = { roomId: string, members: Array<string> };

export type ChatRouter = {
  headers: ChatHeaders;
  incoming: {
    rooms: {
      join: { $payload: RoomsJoin };
      leave: { $payload: RoomsLeave };
      message: { $payload: RoomsMessage };
      members: { $payload: RoomsMembers };
    };
  };
  outgoing: {
    rooms: {
      onJoin: { $payload: RoomsOnJoin };
      onLeave: { $payload: RoomsOnLeave };
      onMessage: { $payload: RoomsOnMessage };
      onMembers: { $payload: RoomsOnMembers };
    };
  };
};
