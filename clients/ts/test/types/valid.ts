// Must compile: `tsc -p test/types` (npm run typecheck).

import { WebSocket as NodeWebSocket } from "ws";

import {
  createZocketClient,
  type CloseInfo,
  type Message,
  type MessagePath,
  type PayloadAt,
  type ReadyState,
  type Unsubscribe,
  type WebSocketConstructor,
  type ZocketErrorPayload,
} from "../../src/index.js";
import type { ChatRouter, RoomMessage, UserJoined } from "../chat-router.js";
import { expectTrue, type Equal } from "./assert.js";

// Both WebSocket implementations fit the constructor option.
const fromWs: WebSocketConstructor = NodeWebSocket;
const fromDom: WebSocketConstructor = WebSocket; // lib.dom's
void fromWs;
void fromDom;

const client = createZocketClient<ChatRouter>("ws://localhost:3000", {
  headers: { "user-name": "Alice" },
  WebSocket: NodeWebSocket,
  reconnect: { initialDelayMs: 500, factor: 2, maxDelayMs: 5000, jitter: 0.1 },
  maxQueue: 100,
});

// send: typed from `incoming`.
client.send.rooms.join({ roomId: "general" });
client.send.rooms.leave({ roomId: "general" });
client.send.rooms.message({ roomId: "general", content: "hi" });
const payload = { roomId: "general", content: "hi", extra: true }; // not a fresh literal: extra fields allowed
client.send.rooms.message(payload);
expectTrue<Equal<Parameters<typeof client.send.rooms.join>, [payload: { roomId: string }]>>();
expectTrue<Equal<ReturnType<typeof client.send.rooms.join>, void>>();

// on: typed from `outgoing`, returns an unsubscribe function.
const off: Unsubscribe = client.on.rooms.onMessage((m) => {
  expectTrue<Equal<typeof m, RoomMessage>>();
  const text: string = `${m.userName}: ${m.content} at ${m.timestamp}`;
  void text;
});
off();
client.on.rooms.onJoin((p: UserJoined) => void p.userName);
client.on.rooms.onLeave(({ roomId, userName }) => void `${roomId}${userName}`);
client.on.rooms.onJoin(() => {}); // ignoring the payload is fine

client.onOpen(() => client.send.rooms.join({ roomId: "general" }));
client.onClose((info: CloseInfo) => void (info.willReconnect && info.delayMs));
client.onError((e: ZocketErrorPayload) => {
  if (e.code === "invalid_payload") void e.path;
  const forType: string | null = e.for;
  void forType;
});
const state: ReadyState = client.readyState;
void state;
client.reconnect();
client.close();
client.close(4000, "bye");

// Headers are optional when every header is optional; a function is fine.
createZocketClient<ChatRouter>("ws://localhost:3000");
createZocketClient<ChatRouter>(new URL("ws://localhost:3000"), { headers: () => ({ "user-name": "Bob" }) });

// The wire types and payloads of a router, as utility types.
expectTrue<Equal<MessagePath<ChatRouter["incoming"]>, "rooms.join" | "rooms.leave" | "rooms.message" | "rooms.members">>();
expectTrue<Equal<MessagePath<ChatRouter["outgoing"]>, "rooms.onJoin" | "rooms.onLeave" | "rooms.onMessage">>();
expectTrue<Equal<PayloadAt<ChatRouter["outgoing"], "rooms.onMessage">, RoomMessage>>();

// Deep namespaces, top-level messages, payloads whose fields are objects,
// payloads without fields, optional fields, non-object payloads,
// required headers, a router written as interfaces.
type Point = { x: number; y: number };
export type GameRouter = {
  headers: { token: string; "client-version"?: string };
  incoming: {
    ping: Message<{ message?: string }>;
    heartbeat: { $payload: Record<string, never> };
    game: {
      lobby: {
        create: { $payload: { name: string; settings: { maxPlayers: number; private: boolean } } };
      };
      move: { $payload: { to: Point; path?: Point[] } };
      vote: { $payload: "yes" | "no" };
    };
  };
  outgoing: {
    pong: { $payload: { reply: string } };
    game: { lobby: { onUpdate: { $payload: { players: string[]; host: { id: string; name: string } | null } } } };
  };
};

const game = createZocketClient<GameRouter>("ws://localhost:3000", { headers: { token: "secret" } });
game.send.ping();
game.send.ping({});
game.send.ping({ message: "hello" });
game.send.heartbeat();
game.send.game.lobby.create({ name: "fun", settings: { maxPlayers: 4, private: false } });
game.send.game.move({ to: { x: 1, y: 2 } });
game.send.game.move({ to: { x: 1, y: 2 }, path: [{ x: 0, y: 0 }] });
game.send.game.vote("yes");
game.on.pong(({ reply }) => void reply.toUpperCase());
game.on.game.lobby.onUpdate((u) => {
  expectTrue<Equal<typeof u.host, { id: string; name: string } | null>>();
  void u.players.length;
});
expectTrue<
  Equal<MessagePath<GameRouter["incoming"]>, "ping" | "heartbeat" | "game.lobby.create" | "game.move" | "game.vote">
>();
expectTrue<Equal<PayloadAt<GameRouter["incoming"], "game.vote">, "yes" | "no">>();

interface Rooms {
  join: { $payload: { roomId: string } };
}
interface Incoming {
  rooms: Rooms;
}
interface InterfaceRouter {
  headers: {};
  incoming: Incoming;
  outgoing: { rooms: { onJoin: { $payload: { roomId: string } } } };
}
const viaInterfaces = createZocketClient<InterfaceRouter>("ws://localhost:3000");
viaInterfaces.send.rooms.join({ roomId: "a" });

// A router without a `headers` key.
const noHeaders = createZocketClient<{ incoming: { a: { $payload: {} } }; outgoing: {} }>("ws://x");
noHeaders.send.a();
