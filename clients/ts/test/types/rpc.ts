// Type tests of requests: `client.call.*`, `client.answer.*`, `RpcError`,
// and the `$reply` / `$error` keys of the router type. The valid uses must
// compile; every line after a `@ts-expect-error` must not (tsc reports an
// unused directive otherwise, and `npm run typecheck` fails).

import {
  createZocketClient,
  isRpcError,
  RpcError,
  type AnswerTree,
  type CallErrorOf,
  type CallOptions,
  type ErrorAt,
  type Message,
  type ReplyAt,
  type Rpc,
  type RpcErrorCode,
  type Unsubscribe,
} from "../../src/index.js";
import type { ChatRouter, RoomsMembersError, RoomsMembersReply } from "../chat-router.js";
import type { ChatRouter as Generated } from "../../../../examples/web/src/chat-router.js";
import { expectTrue, type Equal } from "./assert.js";

const chat = createZocketClient<ChatRouter>("ws://localhost:3000", { rpcTimeoutMs: 5000, maxPendingCalls: 64 });

// ---- call: typed payload and reply -------------------------------------------

async function calls() {
  const reply = await chat.call.rooms.members({ roomId: "general" });
  expectTrue<Equal<typeof reply, RoomsMembersReply>>();
  const names: string[] = reply.members;
  void names;
  await chat.call.rooms.members({ roomId: "general" }, { timeoutMs: 500 });

  // Without a reply type: the ack, null.
  const ack = await chat.call.rooms.join({ roomId: "general" });
  expectTrue<Equal<typeof ack, null>>();

  expectTrue<
    Equal<Parameters<typeof chat.call.rooms.members>, [payload: { roomId: string }, options?: CallOptions]>
  >();
  expectTrue<Equal<ReturnType<typeof chat.call.rooms.members>, Promise<RoomsMembersReply>>>();
  expectTrue<Equal<ReplyAt<ChatRouter["incoming"], "rooms.members">, RoomsMembersReply>>();
  expectTrue<Equal<ReplyAt<ChatRouter["incoming"], "rooms.join">, null>>();
  expectTrue<Equal<ErrorAt<ChatRouter["incoming"], "rooms.members">, RoomsMembersError>>();
  expectTrue<Equal<ErrorAt<ChatRouter["incoming"], "rooms.join">, never>>();

  // ---- the typed error ----
  try {
    await chat.call.rooms.members({ roomId: "general" });
  } catch (e) {
    if (isRpcError(e, chat.call.rooms.members)) {
      expectTrue<Equal<typeof e.data, RoomsMembersError | undefined>>();
      const code: RpcErrorCode = e.code;
      const forType: string = e.for;
      if (e.code === "handler_error" && e.data?.kind === "notMember") void forType;
      void code;
    }
    if (isRpcError(e, chat.call.rooms.join)) {
      // No `$error`: never any data.
      expectTrue<Equal<typeof e.data, undefined>>();
    }
    if (isRpcError(e)) expectTrue<Equal<typeof e.data, unknown>>();
    if (e instanceof RpcError) void e.code;
  }
  expectTrue<Equal<CallErrorOf<typeof chat.call.rooms.members>, RoomsMembersError>>();
  expectTrue<Equal<CallErrorOf<typeof chat.call.rooms.join>, never>>();
}
void calls;

// ---- answer: server → client requests ------------------------------------------

type Ask = { board: string[] };
type Move = { cell: number };
type GameRouter = {
  incoming: {
    ping: Message<{ message?: string }>;
    game: { play: Rpc<{ cell: number }, { ok: boolean }, { kind: "occupied" | "notYourTurn" }> };
  };
  outgoing: {
    pong: { $payload: { reply: string } };
    game: {
      askMove: { $payload: Ask; $reply: Move };
      askDraw: Rpc<{}, boolean>;
      onMove: { $payload: Move };
    };
    lobby: { onUpdate: { $payload: { players: string[] } } };
  };
};
const game = createZocketClient<GameRouter>("ws://localhost:3000");
const off: Unsubscribe = game.answer.game.askMove(async (ask) => {
  expectTrue<Equal<typeof ask, Ask>>();
  return { cell: ask.board.indexOf("") };
});
off();
game.answer.game.askMove((ask) => ({ cell: ask.board.length })); // a plain value is fine
game.answer.game.askDraw(() => false);
game.answer.game.askMove(() => {
  throw new RpcError("handler_error", "no free cell", { data: { reason: "full" } });
});
// Requests of the server are still subscribable with `on`.
game.on.game.askMove((ask) => void ask.board);
// Only messages with a reply type (and namespaces holding one) are in `answer`.
expectTrue<Equal<keyof AnswerTree<GameRouter["outgoing"]>, "game">>();
expectTrue<Equal<keyof AnswerTree<GameRouter["outgoing"]>["game"], "askMove" | "askDraw">>();

// The optional payload of `ping` may be left out, with or without options.
async function optional() {
  expectTrue<Equal<Awaited<ReturnType<typeof game.call.ping>>, null>>();
  await game.call.ping();
  await game.call.ping(undefined, { timeoutMs: 100 });
  const played = await game.call.game.play({ cell: 4 });
  expectTrue<Equal<typeof played, { ok: boolean }>>();
}
void optional;

// The generated router of the chat example: join and members reply typed,
// leave (no reply type) acks with null, and errors carry the ChatError.
const generated = createZocketClient<Generated>("ws://localhost:3000");
async function generatedCalls() {
  const roster = await generated.call.rooms.members({ roomId: "general" });
  expectTrue<Equal<typeof roster, { roomId: string; members: Array<string> }>>();
  const joined = await generated.call.rooms.join({ roomId: "general" });
  expectTrue<Equal<typeof joined.members, number>>();
  const ack = await generated.call.rooms.leave({ roomId: "general" });
  expectTrue<Equal<typeof ack, null>>();
  try {
    await generated.call.rooms.join({ roomId: "general" });
  } catch (e) {
    if (isRpcError(e, generated.call.rooms.join) && e.data) {
      const kind: "notMember" | "alreadyMember" | "refused" = e.data.kind;
      void kind;
    }
  }
}
void generatedCalls;
// A router without any request has an empty `answer`.
expectTrue<Equal<keyof typeof generated.answer, never>>();

// ---- what must not compile ---------------------------------------------------------

async function invalid() {
  // @ts-expect-error roomId is a string
  await chat.call.rooms.members({ roomId: 1 });
  // @ts-expect-error the payload is required
  await chat.call.rooms.members();
  // @ts-expect-error no such field, in a literal
  await chat.call.rooms.members({ roomId: "general", room: "x" });
  // @ts-expect-error onJoin is sent by the server
  await chat.call.rooms.onJoin({ roomId: "general", userName: "x" });
  // @ts-expect-error timeoutMs is a number
  await chat.call.rooms.members({ roomId: "general" }, { timeoutMs: "1s" });
  // @ts-expect-error no such call option
  await chat.call.rooms.members({ roomId: "general" }, { retries: 2 });

  const reply = await chat.call.rooms.members({ roomId: "general" });
  // @ts-expect-error members is a string array
  const count: number = reply.members;
  // @ts-expect-error the reply has no such field
  void reply.users;
  const ack = await chat.call.rooms.join({ roomId: "general" });
  // @ts-expect-error an ack is null
  void ack.roomId;
  // @ts-expect-error a call returns a promise, not the reply
  chat.call.rooms.members({ roomId: "general" }).members;
  void count;

  try {
    await chat.call.rooms.members({ roomId: "general" });
  } catch (e) {
    // @ts-expect-error a caught error is unknown until narrowed
    void e.data;
    if (isRpcError(e, chat.call.rooms.members)) {
      // @ts-expect-error data may be absent (other codes)
      void e.data.kind;
      // @ts-expect-error not one of the declared error kinds
      if (e.data?.kind === "banned") void e;
    }
  }
}
void invalid;

// answer: only requests, with the declared payload and reply.
// @ts-expect-error onMove has no reply type
game.answer.game.onMove(() => ({ cell: 1 }));
// @ts-expect-error pong has no reply type
game.answer.pong(() => ({ reply: "x" }));
// @ts-expect-error lobby holds no request
game.answer.lobby;
// @ts-expect-error incoming messages are not answered by the client
game.answer.game.play(() => ({ ok: true }));
// @ts-expect-error the reply is { cell: number }
game.answer.game.askMove(() => ({ cell: "1" }));
// @ts-expect-error the reply is { cell: number }, also when async
game.answer.game.askMove(async () => ({ square: 1 }));
// @ts-expect-error the payload has no such field
game.answer.game.askMove((ask) => ({ cell: ask.cells.length }));
// @ts-expect-error an answerer is required
game.answer.game.askMove();

// Options are typed.
// @ts-expect-error rpcTimeoutMs is a number
createZocketClient<ChatRouter>("ws://localhost:3000", { rpcTimeoutMs: "10s" });
// @ts-expect-error maxPendingCalls is a number
createZocketClient<ChatRouter>("ws://localhost:3000", { maxPendingCalls: true });
// @ts-expect-error pendingCalls is read-only
chat.pendingCalls = 0;
