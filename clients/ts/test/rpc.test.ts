// Requests (client.call) and answers to server requests (client.answer),
// against the fake server over a real WebSocket on 127.0.0.1.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { WebSocket } from "ws";

import {
  createZocketClient,
  isRpcError,
  MessageTooLargeError,
  QueueFullError,
  RpcError,
  type CloseInfo,
  type ZocketClient,
  type ZocketClientOptions,
  type ZocketErrorPayload,
} from "../src/index.js";
import type { ChatRouter } from "./chat-router.js";
import { startFakeChatServer, type FakeChatServer, type ServerConnection, type ServerFrame } from "./fake-server.js";
import { nextEvent, record, rejection, within } from "./helpers.js";

// The chat router plus a server → client request.
type AskMove = { board: string[]; timeLeftMs: number };
type Move = { cell: number };
type RpcRouter = {
  headers: ChatRouter["headers"];
  incoming: ChatRouter["incoming"];
  outgoing: ChatRouter["outgoing"] & {
    game: { askMove: { $payload: AskMove; $reply: Move }; askName: { $payload: { q: string }; $reply: string } };
  };
};

let server: FakeChatServer;
const clients: ZocketClient<RpcRouter>[] = [];
const cleanups: (() => void)[] = [];

before(async () => {
  server = await startFakeChatServer();
});
after(async () => {
  await server.stop();
});
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  for (const client of clients.splice(0)) client.close();
});

type Options = ZocketClientOptions<RpcRouter>;

function connect(userName: string, options: Partial<Options> = {}): ZocketClient<RpcRouter> {
  const client = createZocketClient<RpcRouter>(server.url, {
    headers: { "user-name": userName },
    WebSocket,
    reconnect: { initialDelayMs: 5, maxDelayMs: 50 },
    ...options,
  });
  clients.push(client);
  return client;
}

/** Holds the server's handling of the frames `accept` picks; they are collected. */
function intercept(accept: (frame: ServerFrame) => boolean): ServerFrame[] {
  const held: ServerFrame[] = [];
  cleanups.push(
    server.intercept((frame) => {
      if (!accept(frame)) return false;
      held.push(frame);
      return true;
    }),
  );
  return held;
}

const opened = (client: ZocketClient<RpcRouter>) => nextEvent<void>(client.onOpen, "onOpen");
const closed = (client: ZocketClient<RpcRouter>) => nextEvent<CloseInfo>(client.onClose, "onClose");
const frameOf = (userName: string, type: string) =>
  nextEvent(server.onFrame, `${type} from ${userName}`, (f) => f.connection.userName === userName && f.type === type);
const serverConnection = (userName: string) =>
  nextEvent<ServerConnection>(server.onConnection, `server connection of ${userName}`, (c) => c.userName === userName);

describe("client.call", () => {
  it("resolves with the typed reply, sending the documented request frame", async () => {
    const alice = connect("Alice");
    const bob = connect("Bob");
    assert.equal(await alice.call.rooms.join({ roomId: "general" }), null);
    assert.equal(await bob.call.rooms.join({ roomId: "general" }), null);

    const frame = frameOf("Alice", "rooms.members");
    const reply = await alice.call.rooms.members({ roomId: "general" });
    assert.deepEqual(reply, { roomId: "general", members: ["Alice", "Bob"] });
    const { raw, rpcId } = await frame;
    const parsed = JSON.parse(raw);
    assert.deepEqual(Object.keys(parsed), ["type", "payload", "rpcId"]);
    assert.deepEqual(parsed, { type: "rooms.members", payload: { roomId: "general" }, rpcId });
    assert.equal(typeof rpcId, "string");
    assert.equal(alice.pendingCalls, 0);
  });

  it("uses rpcIds unique per client: a random prefix per client, then a counter", async () => {
    const alice = connect("Alice");
    const bob = connect("Bob");
    const ids: string[] = [];
    const stop = server.onFrame((f) => {
      if (f.rpcId !== undefined) ids.push(f.rpcId);
    });
    cleanups.push(stop);
    await alice.call.rooms.join({ roomId: "a" });
    await alice.call.rooms.join({ roomId: "b" });
    await bob.call.rooms.join({ roomId: "a" });
    assert.equal(ids.length, 3);
    assert.equal(new Set(ids).size, 3);
    const [a1, a2, b1] = ids.map((id) => id.split("-"));
    assert.equal(a1![0], a2![0]);
    assert.notEqual(a1![0], b1![0]);
    assert.equal(Number(a2![1]), Number(a1![1]) + 1);
  });

  it("acks a message without a reply type with null once its handler ran", async () => {
    const alice = connect("Alice");
    const joined = nextEvent(alice.on.rooms.onJoin, "rooms.onJoin");
    const ack = alice.call.rooms.join({ roomId: "general" });
    assert.equal(await within(ack, "the ack"), null);
    // The handler ran: its broadcast came first.
    assert.deepEqual(await joined, { roomId: "general", userName: "Alice" });
    assert.equal(await alice.call.rooms.message({ roomId: "general", content: "hi" }), null);
  });

  it("rejects with RpcError carrying the handler's typed error in data, not through onError", async () => {
    const alice = connect("Alice");
    const errors = record<ZocketErrorPayload>(alice.onError);
    const error = await rejection(alice.call.rooms.members({ roomId: "nowhere" }), "members of a room not joined");
    assert.ok(error instanceof RpcError);
    assert.equal(error.name, "RpcError");
    assert.equal(error.code, "handler_error");
    assert.equal(error.for, "rooms.members");
    assert.equal(error.message, "not a member of `nowhere`");
    assert.equal(typeof error.rpcId, "string");
    assert.ok(isRpcError(error, alice.call.rooms.members));
    assert.equal(isRpcError(error, alice.call.rooms.join), false);
    if (isRpcError(error, alice.call.rooms.members)) assert.deepEqual(error.data, { kind: "notMember" });
    // The other codes reach the call too, with their fields.
    const invalid = await rejection(alice.call.rooms.join({ roomId: 42 } as any), "invalid join");
    assert.ok(invalid instanceof RpcError);
    assert.equal(invalid.code, "invalid_payload");
    assert.equal(invalid.path, "roomId");
    assert.equal(invalid.data, undefined);
    const refused = await rejection(alice.call.rooms.message({ roomId: "nowhere", content: "x" }), "refused message");
    assert.ok(refused instanceof RpcError);
    assert.equal(refused.code, "refused");
    // A later round trip: no error frame went to onError meanwhile.
    await alice.call.rooms.join({ roomId: "general" });
    assert.deepEqual(errors.values, []);
  });

  it("times out after timeoutMs, and drops the late answer", async () => {
    const alice = connect("Alice");
    // Open first: a slow open would time the call out in the offline
    // queue, and it would never be sent.
    await opened(alice);
    const held = intercept((f) => f.type === "rooms.members");
    const errors = record<ZocketErrorPayload>(alice.onError);
    const frame = frameOf("Alice", "rooms.members");
    const error = await rejection(alice.call.rooms.members({ roomId: "general" }, { timeoutMs: 50 }), "the call");
    assert.ok(error instanceof RpcError);
    assert.equal(error.code, "timeout");
    assert.equal(error.for, "rooms.members");
    assert.match(error.message, /50 ms/);
    assert.equal(alice.pendingCalls, 0);
    await frame;
    server.reply(held[0]!, { roomId: "general", members: [] });
    // Still usable; the late answer went nowhere.
    assert.equal(await alice.call.rooms.join({ roomId: "general" }), null);
    assert.deepEqual(errors.values, []);
  });

  it("takes rpcTimeoutMs from the options, and refuses bad timeouts", async () => {
    const alice = connect("Alice", { rpcTimeoutMs: 40 });
    intercept((f) => f.type === "rooms.members");
    const error = await rejection(alice.call.rooms.members({ roomId: "general" }), "the call");
    assert.ok(error instanceof RpcError && error.code === "timeout");
    assert.match(error.message, /40 ms/);
    assert.ok((await rejection(alice.call.rooms.join({ roomId: "a" }, { timeoutMs: 0 }), "bad")) instanceof RangeError);
    assert.throws(() => connect("Bob", { rpcTimeoutMs: -1 }), RangeError);
    assert.throws(() => connect("Bob", { maxPendingCalls: 1.5 }), RangeError);
  });

  it("rejects pending calls at once with disconnected when the connection drops", async () => {
    const alice = connect("Alice");
    intercept((f) => f.type === "rooms.members");
    await opened(alice);
    const frame = frameOf("Alice", "rooms.members");
    // The default 10 s timeout: the rejection must come long before it.
    const call = alice.call.rooms.members({ roomId: "general" });
    const failed = rejection(call, "the pending call", 3000);
    await frame;
    const lost = closed(alice);
    server.dropAll();
    const error = await failed;
    assert.ok(error instanceof RpcError);
    assert.equal(error.code, "disconnected");
    assert.equal(error.for, "rooms.members");
    assert.equal((await lost).willReconnect, true);
    assert.equal(alice.pendingCalls, 0);
  });

  it("rejects pending and queued calls with disconnected on close()", async () => {
    const alice = connect("Alice");
    intercept((f) => f.type === "rooms.members");
    await opened(alice);
    const frame = frameOf("Alice", "rooms.members");
    const inFlight = rejection(alice.call.rooms.members({ roomId: "general" }), "the call in flight");
    await frame;
    alice.close();
    const error = await inFlight;
    assert.ok(error instanceof RpcError && error.code === "disconnected");
    // After close(): refused like send.
    const late = await rejection(alice.call.rooms.join({ roomId: "general" }), "a call after close()");
    assert.equal((late as Error).name, "ClientClosedError");

    const bob = connect("Bob");
    const queued = rejection(bob.call.rooms.join({ roomId: "general" }), "the queued call");
    assert.equal(bob.queuedCount, 1);
    bob.close();
    assert.ok(((await queued) as RpcError).code === "disconnected");
    assert.equal(bob.queuedCount, 0);
  });

  it("bounds the calls in flight: past maxPendingCalls a call rejects at once", async () => {
    const alice = connect("Alice", { maxPendingCalls: 2 });
    await alice.call.rooms.join({ roomId: "general" });
    const held = intercept((f) => f.type === "rooms.members");
    const seen = record(server.onFrame);
    cleanups.push(seen.stop);
    let members = 0;
    const twoHeld = nextEvent(server.onFrame, "two calls", (f) => f.type === "rooms.members" && ++members === 2);
    const first = alice.call.rooms.members({ roomId: "general" });
    const second = alice.call.rooms.members({ roomId: "general" });
    await twoHeld;
    assert.equal(alice.pendingCalls, 2);

    const error = await rejection(alice.call.rooms.members({ roomId: "general" }), "the third call", 100);
    assert.ok(error instanceof RpcError);
    assert.equal(error.code, "too_many_calls");
    assert.equal(error.for, "rooms.members");
    assert.equal(alice.pendingCalls, 2);

    server.reply(held[0]!, { roomId: "general", members: ["first"] });
    server.reply(held[1]!, { roomId: "general", members: ["second"] });
    assert.deepEqual((await first).members, ["first"]);
    assert.deepEqual((await second).members, ["second"]);
    assert.equal(alice.pendingCalls, 0);
    // Room again; the third call never reached the server.
    assert.equal(await alice.call.rooms.join({ roomId: "other" }), null);
    assert.equal(seen.values.filter((f) => f.type === "rooms.members").length, 2);
  });

  it("queues a call made while offline, sends it after the reconnect, and resolves with its answer", async () => {
    const alice = connect("Alice");
    alice.onOpen(() => alice.send.rooms.join({ roomId: "general" }));
    await opened(alice);
    const lost = closed(alice);
    server.dropAll();
    await lost;

    const back = serverConnection("Alice");
    const call = alice.call.rooms.members({ roomId: "general" });
    assert.equal(alice.queuedCount, 1);
    assert.equal(alice.pendingCalls, 1);
    // Sent after onOpen's rejoin, so the member list has Alice.
    assert.deepEqual(await within(call, "the queued call"), { roomId: "general", members: ["Alice"] });
    await back;
    assert.equal(alice.queuedCount, 0);
  });

  it("starts the timeout of a call queued offline when it is made, and unqueues it", async () => {
    const dead = await startFakeChatServer();
    const url = dead.url;
    await dead.stop();
    const client = createZocketClient<RpcRouter>(url, { WebSocket, reconnect: { initialDelayMs: 1000, jitter: 0 } });
    clients.push(client);
    const call = client.call.rooms.members({ roomId: "general" }, { timeoutMs: 30 });
    assert.equal(client.queuedCount, 1);
    const error = await rejection(call, "the queued call");
    assert.ok(error instanceof RpcError && error.code === "timeout");
    assert.equal(client.queuedCount, 0);
    assert.equal(client.pendingCalls, 0);
  });

  it("follows the offline queue bound, and rejects what JSON cannot carry", async () => {
    const client = connect("Alice", { maxQueue: 1 });
    const first = client.call.rooms.join({ roomId: "general" });
    assert.ok((await rejection(client.call.rooms.join({ roomId: "x" }), "over maxQueue")) instanceof QueueFullError);
    const cyclic: any = { roomId: "general" };
    cyclic.self = cyclic;
    assert.ok((await rejection(client.call.rooms.join(cyclic), "cyclic payload")) instanceof TypeError);
    assert.equal(await within(first, "the queued call"), null);
  });
});

describe("client.answer", () => {
  it("answers a server request with __rpc_res and the answerer's reply", async () => {
    const alice = connect("Alice");
    const payloads: AskMove[] = [];
    alice.answer.game.askMove(async (ask) => {
      payloads.push(ask);
      return { cell: ask.board.indexOf("") };
    });
    const seen = record(alice.on.game.askMove);
    const [connection] = await Promise.all([serverConnection("Alice"), opened(alice)]);
    const answer = await within(
      server.request(connection, "game.askMove", { board: ["x", "", "o"], timeLeftMs: 500 }),
      "the answer",
    );
    assert.deepEqual(Object.keys(answer), ["type", "rpcId", "payload"]);
    assert.deepEqual(answer, { type: "__rpc_res", rpcId: answer.rpcId, payload: { cell: 1 } });
    assert.match(answer.rpcId, /^s-\d+$/);
    assert.deepEqual(payloads, [{ board: ["x", "", "o"], timeLeftMs: 500 }]);
    // `on` listeners see the request too.
    assert.deepEqual(seen.values, payloads);
  });

  it("answers handler_error with message and data when the answerer throws an RpcError", async () => {
    const reported: unknown[] = [];
    const alice = connect("Alice", { onListenerError: (e) => reported.push(e) });
    alice.answer.game.askMove(() => {
      throw new RpcError("handler_error", "no free cell", { data: { reason: "boardFull" } });
    });
    const [connection] = await Promise.all([serverConnection("Alice"), opened(alice)]);
    const answer = await within(server.request(connection, "game.askMove", { board: [], timeLeftMs: 1 }), "the answer");
    assert.deepEqual(answer, {
      type: "zocket.error",
      rpcId: answer.rpcId,
      payload: { code: "handler_error", message: "no free cell", data: { reason: "boardFull" } },
    });
    // An RpcError is a deliberate answer, not reported as a bug.
    assert.deepEqual(reported, []);
  });

  it("answers handler_error for any other error (reported locally), and when no answerer is registered", async () => {
    const reported: unknown[] = [];
    const alice = connect("Alice", { onListenerError: (e) => reported.push(e) });
    const [connection] = await Promise.all([serverConnection("Alice"), opened(alice)]);

    const none = await within(server.request(connection, "game.askMove", { board: [], timeLeftMs: 1 }), "no answerer");
    assert.equal(none.type, "zocket.error");
    assert.equal(none.payload && (none.payload as { code: string }).code, "handler_error");
    assert.match((none.payload as { message: string }).message, /no answerer for `game\.askMove`/);

    alice.answer.game.askMove(async () => {
      throw new Error("engine crashed");
    });
    const crashed = await within(server.request(connection, "game.askMove", { board: [], timeLeftMs: 1 }), "crash");
    assert.deepEqual(crashed, {
      type: "zocket.error",
      rpcId: crashed.rpcId,
      payload: { code: "handler_error", message: "engine crashed" },
    });
    assert.equal(reported.length, 1);
    assert.match(String(reported[0]), /engine crashed/);
  });

  it("answers handler_error instead of an answer over maxMessageSize, and reports it locally", async () => {
    const reported: unknown[] = [];
    const alice = connect("Alice", { maxMessageSize: 200, onListenerError: (e) => reported.push(e) });
    alice.answer.game.askName(({ q }) => (q === "big" ? "x".repeat(300) : "small"));
    alice.answer.game.askMove(() => {
      throw new RpcError("handler_error", "too long to tell", { data: { why: "y".repeat(300) } });
    });
    const [connection] = await Promise.all([serverConnection("Alice"), opened(alice)]);
    const tooBig = (rpcId: string, type: string, size: number) => ({
      type: "zocket.error",
      rpcId,
      payload: {
        code: "handler_error",
        message: `the answer is ${size} bytes, over the client's maxMessageSize of 200`,
        for: type,
      },
    });

    const big = await within(server.request(connection, "game.askName", { q: "big" }), "the oversize answer");
    const bigSize = Buffer.byteLength(JSON.stringify({ type: "__rpc_res", rpcId: big.rpcId, payload: "x".repeat(300) }));
    assert.deepEqual(big, tooBig(big.rpcId, "game.askName", bigSize));
    // An error answer over the limit (its data) is replaced the same way.
    const failed = await within(server.request(connection, "game.askMove", { board: [], timeLeftMs: 1 }), "error");
    assert.equal(failed.type, "zocket.error");
    assert.match((failed.payload as { message: string }).message, /over the client's maxMessageSize of 200$/);
    assert.equal((failed.payload as { for?: string }).for, "game.askMove");
    assert.equal((failed.payload as { data?: unknown }).data, undefined);

    assert.equal(reported.length, 2);
    assert.ok(reported[0] instanceof MessageTooLargeError);
    assert.equal(reported[0].type, "game.askName");
    assert.equal(reported[0].size, bigSize);
    assert.equal(reported[0].maxMessageSize, 200);
    // The connection stays: the next answer goes out whole.
    const small = await within(server.request(connection, "game.askName", { q: "small" }), "a small answer");
    assert.deepEqual(small, { type: "__rpc_res", rpcId: small.rpcId, payload: "small" });
  });

  it("allows one answerer per message: a second throws until the first is removed", async () => {
    const alice = connect("Alice");
    const off = alice.answer.game.askMove(() => ({ cell: 1 }));
    assert.throws(() => alice.answer.game.askMove(() => ({ cell: 2 })), /already has an answerer/);
    off();
    off(); // twice is harmless
    alice.answer.game.askMove(() => ({ cell: 3 }));
    const [connection] = await Promise.all([serverConnection("Alice"), opened(alice)]);
    const answer = await within(server.request(connection, "game.askMove", { board: [], timeLeftMs: 1 }), "answer");
    assert.deepEqual(answer.payload, { cell: 3 });
  });
});
