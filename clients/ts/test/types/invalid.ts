// Every line after a `@ts-expect-error` must fail to type-check; if one
// compiled, tsc would report the directive as unused and `npm run typecheck`
// would fail.

import { createZocketClient } from "../../src/index.js";
import type { ChatRouter } from "../chat-router.js";
import type { GameRouter } from "./valid.js";

const client = createZocketClient<ChatRouter>("ws://localhost:3000", { headers: { "user-name": "Alice" } });

// Wrong field type.
// @ts-expect-error roomId is a string
client.send.rooms.join({ roomId: 42 });

// Missing field.
// @ts-expect-error content is required
client.send.rooms.message({ roomId: "general" });

// Missing payload.
// @ts-expect-error join needs a payload
client.send.rooms.join();

// Unknown field in a literal.
// @ts-expect-error no such field
client.send.rooms.join({ roomId: "general", room: "general" });

// Unknown message.
// @ts-expect-error no such message
client.send.rooms.shout({ roomId: "general" });

// Unknown namespace.
// @ts-expect-error no such namespace
client.send.chat.join({ roomId: "general" });

// A namespace is not a message.
// @ts-expect-error rooms is a namespace
client.send.rooms({ roomId: "general" });

// Outgoing messages cannot be sent, incoming ones cannot be listened to.
// @ts-expect-error onJoin is sent by the server
client.send.rooms.onJoin({ roomId: "general", userName: "x" });
// @ts-expect-error join is sent by the client
client.on.rooms.join(() => {});

// Listeners get the declared payload.
// @ts-expect-error onJoin has no content
client.on.rooms.onJoin((p) => p.content);
// @ts-expect-error roomId is a string
client.on.rooms.onJoin((p: { roomId: number }) => p);
// @ts-expect-error timestamp is a string on the wire, not a Date
client.on.rooms.onMessage((m) => m.timestamp.getTime());
// @ts-expect-error a listener is required
client.on.rooms.onJoin();

// Headers are typed.
// @ts-expect-error header values are strings
createZocketClient<ChatRouter>("ws://localhost:3000", { headers: { "user-name": 1 } });
// @ts-expect-error unknown header
createZocketClient<ChatRouter>("ws://localhost:3000", { headers: { username: "Alice" } });
// @ts-expect-error GameRouter requires the token header
createZocketClient<GameRouter>("ws://localhost:3000");
// @ts-expect-error GameRouter requires the token header
createZocketClient<GameRouter>("ws://localhost:3000", { maxQueue: 10 });

// Deep and non-object payloads.
const game = createZocketClient<GameRouter>("ws://localhost:3000", { headers: { token: "t" } });
// @ts-expect-error maxPlayers is a number
game.send.game.lobby.create({ name: "fun", settings: { maxPlayers: "4", private: false } });
// @ts-expect-error settings.private is missing
game.send.game.lobby.create({ name: "fun", settings: { maxPlayers: 4 } });
// @ts-expect-error not one of the allowed values
game.send.game.vote("maybe");
// @ts-expect-error a payload without fields takes none
game.send.heartbeat({ beat: 1 });

// The client's own API.
// @ts-expect-error readyState is read-only
client.readyState = 1;
// @ts-expect-error unknown option
createZocketClient<ChatRouter>("ws://localhost:3000", { retries: 3 });
// @ts-expect-error reconnect options are numbers
createZocketClient<ChatRouter>("ws://localhost:3000", { reconnect: { initialDelayMs: "1s" } });
