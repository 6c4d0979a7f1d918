// Regenerate: cargo run -p zocket-examples --bin export-ts
// The `chat` zocket router, for zocket's TypeScript client (clients/ts).
// Generated from the Rust definitions by `chat::Router::typescript`: do not edit.

/**
 * Sent as the `user-name` HTTP header or query parameter.
 */
export type ChatHeaders = { "user-name"?: string };

/**
 * As a request, answered with the room and its member count, or a
 * typed `ChatError` (already a member, refused).
 */
export type RoomsJoin = { roomId: string };

/**
 * The reply to a `rooms.join` request.
 */
export type Joined = {
  roomId: string;
  /**
   * Members of the room on this server, the joiner included.
   */
  members: number;
};

/**
 * Why the chat did not do what a client asked: the typed error of its
 * requests, in the error frame's `data` (`{"kind":"notMember"}`).
 */
export type ChatError = { "kind": "notMember" } | { "kind": "alreadyMember" } | { "kind": "refused", reason: string, };

export type RoomsLeave = { roomId: string };

export type RoomsMessage = { roomId: string, content: string };

/**
 * Asks who is in a room the sender has joined. As a request (with an
 * `rpcId`) the reply is the member list; sent as a plain message it
 * is answered with `rooms.onMembers` to the sender alone, as before.
 */
export type RoomsMembers = { roomId: string };

/**
 * The names of the connections in a room, sorted.
 */
export type OnMembers = { roomId: string, members: Array<string> };

export type RoomsOnJoin = { roomId: string, userName: string };

export type RoomsOnLeave = { roomId: string, userName: string };

export type RoomsOnMessage = { roomId: string, userName: string, content: string, timestamp: string };

/**
 * The names of the connections in a room, sorted.
 */
export type RoomsOnMembers = OnMembers;

export type ChatRouter = {
  headers: ChatHeaders;
  incoming: {
    rooms: {
      join: { $payload: RoomsJoin; $reply: Joined; $error: ChatError; };
      leave: { $payload: RoomsLeave };
      message: { $payload: RoomsMessage };
      members: { $payload: RoomsMembers; $reply: OnMembers; $error: ChatError; };
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
