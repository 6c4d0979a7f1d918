// The router type of the Rust chat example, written by hand in the shape the
// Rust generator emits (see src/router.ts). The tests use it. `rooms.members`
// is a request: the shape the generator emits for a message with a reply
// and an error type.

export type JoinRoom = { roomId: string };
export type LeaveRoom = { roomId: string };
export type SendMessage = { roomId: string; content: string };
export type UserJoined = { roomId: string; userName: string };
export type UserLeft = { roomId: string; userName: string };
export type RoomMessage = { roomId: string; userName: string; content: string; timestamp: string };
export type RoomsMembers = { roomId: string };
export type RoomsMembersReply = { roomId: string; members: string[] };
export type RoomsMembersError = { kind: "notMember" };

export type ChatRouter = {
  headers: { "user-name"?: string };
  incoming: {
    rooms: {
      join: { $payload: JoinRoom };
      leave: { $payload: LeaveRoom };
      message: { $payload: SendMessage };
      members: { $payload: RoomsMembers; $reply: RoomsMembersReply; $error: RoomsMembersError };
    };
  };
  outgoing: {
    rooms: {
      onJoin: { $payload: UserJoined };
      onLeave: { $payload: UserLeft };
      onMessage: { $payload: RoomMessage };
    };
  };
};
