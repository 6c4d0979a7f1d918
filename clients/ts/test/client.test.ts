import assert from "node:assert/strict";
import { after, afterEach, before, describe, it, mock } from "node:test";
import { WebSocket } from "ws";

import {
  authEntry,
  ClientClosedError,
  createZocketClient,
  MessageTooLargeError,
  QueueFullError,
  ReadyState,
  type CloseInfo,
  type ZocketClient,
  type ZocketClientOptions,
  type ZocketErrorPayload,
} from "../src/index.js";
import type { ChatRouter, RoomMessage, UserJoined } from "./chat-router.js";
import { startFakeChatServer, type FakeChatServer, type ServerConnection } from "./fake-server.js";
import { nextEvent, record, reopened, within } from "./helpers.js";

let server: FakeChatServer;
const clients: ZocketClient<ChatRouter>[] = [];

before(async () => {
  server = await startFakeChatServer();
});
after(async () => {
  await server.stop();
});
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

type Options = ZocketClientOptions<ChatRouter>;

/** A client of the fake server, closed after the test; fast reconnects. */
function connect(userName: string, options: Partial<Options> = {}): ZocketClient<ChatRouter> {
  const client = createZocketClient<ChatRouter>(server.url, {
    headers: { "user-name": userName },
    WebSocket,
    reconnect: { initialDelayMs: 5, maxDelayMs: 50 },
    ...options,
  });
  clients.push(client);
  return client;
}

/** A WebSocket constructor that counts the sockets made with it. */
function countingWebSocket() {
  const made: string[] = [];
  class CountingWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      made.push(url);
    }
  }
  return { CountingWebSocket, made };
}

/** The open of the current connection (at once if open) or of the next one; see also `reopened`. */
const opened = (client: ZocketClient<ChatRouter>) => nextEvent<void>(client.onOpen, "onOpen");
const closed = (client: ZocketClient<ChatRouter>, accept?: (info: CloseInfo) => boolean) =>
  nextEvent<CloseInfo>(client.onClose, "onClose", accept);
const joined = (client: ZocketClient<ChatRouter>, accept?: (p: UserJoined) => boolean) =>
  nextEvent(client.on.rooms.onJoin, "rooms.onJoin", accept);
const message = (client: ZocketClient<ChatRouter>, accept?: (p: RoomMessage) => boolean) =>
  nextEvent(client.on.rooms.onMessage, "rooms.onMessage", accept);
const serverConnection = (userName: string) =>
  nextEvent<ServerConnection>(server.onConnection, `server connection of ${userName}`, (c) => c.userName === userName);

describe("send and on", () => {
  it("sends a message and receives the server's answer, headers in the query", async () => {
    const alice = connect("Alice");
    const aliceOnServer = serverConnection("Alice");
    await opened(alice);
    assert.equal(alice.readyState, ReadyState.OPEN);
    assert.equal((await aliceOnServer).query.get("user-name"), "Alice");

    const join = joined(alice);
    alice.send.rooms.join({ roomId: "general" });
    assert.deepEqual(await join, { roomId: "general", userName: "Alice" });

    const got = message(alice);
    alice.send.rooms.message({ roomId: "general", content: "hello" });
    const m = await got;
    assert.equal(m.roomId, "general");
    assert.equal(m.userName, "Alice");
    assert.equal(m.content, "hello");
    assert.ok(!Number.isNaN(Date.parse(m.timestamp)), `timestamp ${m.timestamp} is RFC 3339`);
  });

  it("puts the wire frames in the documented shape", async () => {
    const alice = connect("Alice");
    const frame = nextEvent(server.onFrame, "frame", (f) => f.connection.userName === "Alice");
    alice.send.rooms.join({ roomId: "lobby" });
    const { type, payload } = await frame;
    assert.equal(type, "rooms.join");
    assert.deepEqual(payload, { roomId: "lobby" });
  });

  it("delivers room messages between two clients", async () => {
    const alice = connect("Alice");
    const bob = connect("Bob");
    await Promise.all([opened(alice), opened(bob)]);

    const aliceJoined = joined(alice, (p) => p.userName === "Alice");
    alice.send.rooms.join({ roomId: "general" });
    await aliceJoined;
    const aliceSeesBob = joined(alice, (p) => p.userName === "Bob");
    const bobJoined = joined(bob, (p) => p.userName === "Bob");
    bob.send.rooms.join({ roomId: "general" });
    await Promise.all([aliceSeesBob, bobJoined]);

    const bobGets = message(bob);
    alice.send.rooms.message({ roomId: "general", content: "hi Bob" });
    assert.equal((await bobGets).content, "hi Bob");

    const aliceSeesLeave = nextEvent(alice.on.rooms.onLeave, "rooms.onLeave");
    bob.send.rooms.leave({ roomId: "general" });
    assert.deepEqual(await aliceSeesLeave, { roomId: "general", userName: "Bob" });
  });

  it("calls several listeners per message and stops calling an unsubscribed one", async () => {
    const alice = connect("Alice");
    const first = record(alice.on.rooms.onMessage);
    const second = record(alice.on.rooms.onMessage);
    // The same function twice counts twice, with separate unsubscribes.
    const same: RoomMessage[] = [];
    const push = (m: RoomMessage) => same.push(m);
    const unsubscribeSameA = alice.on.rooms.onMessage(push);
    alice.on.rooms.onMessage(push);

    const join = joined(alice);
    alice.send.rooms.join({ roomId: "general" });
    await join;

    let got = message(alice);
    alice.send.rooms.message({ roomId: "general", content: "one" });
    await got;
    assert.deepEqual(first.values.map((m) => m.content), ["one"]);
    assert.deepEqual(second.values.map((m) => m.content), ["one"]);
    assert.equal(same.length, 2);

    first.stop();
    first.stop(); // twice is harmless
    unsubscribeSameA();
    got = message(alice);
    alice.send.rooms.message({ roomId: "general", content: "two" });
    await got;
    assert.deepEqual(first.values.map((m) => m.content), ["one"]);
    assert.deepEqual(second.values.map((m) => m.content), ["one", "two"]);
    assert.equal(same.length, 3);
  });

  it("keeps calling the other listeners when one throws", async () => {
    const reported: unknown[] = [];
    const alice = connect("Alice", { onListenerError: (e) => reported.push(e) });
    alice.on.rooms.onJoin(() => {
      throw new Error("boom");
    });
    const join = joined(alice);
    alice.send.rooms.join({ roomId: "general" });
    await join;
    assert.equal(reported.length, 1);
    assert.match(String(reported[0]), /boom/);
  });

  it("sends {} when the payload is left out", async () => {
    // Through an untyped view: ChatRouter has no message with an optional payload.
    const alice = connect("Alice");
    const frame = nextEvent(server.onFrame, "frame", (f) => f.connection.userName === "Alice");
    (alice.send as any).misc.ping();
    assert.deepEqual((await frame).payload, {});
  });
});

describe("error frames", () => {
  it("surfaces unknown_type with the message it answers", async () => {
    const alice = connect("Alice");
    const error = nextEvent<ZocketErrorPayload>(alice.onError, "onError");
    (alice.send as any).rooms.shout({ roomId: "general" });
    const e = await error;
    assert.equal(e.code, "unknown_type");
    assert.equal(e.for, "rooms.shout");
    assert.equal(e.path, undefined);
    assert.match(e.message, /rooms\.shout/);
  });

  it("surfaces invalid_payload with the field path", async () => {
    const alice = connect("Alice");
    const error = nextEvent<ZocketErrorPayload>(alice.onError, "onError");
    alice.send.rooms.join({ roomId: 42 } as any);
    assert.deepEqual(await error, {
      code: "invalid_payload",
      message: "`roomId` must be a string",
      for: "rooms.join",
      path: "roomId",
    });
  });

  it("surfaces refused, and error frames never reach message listeners", async () => {
    const alice = connect("Alice");
    const messages = record(alice.on.rooms.onMessage);
    const error = nextEvent<ZocketErrorPayload>(alice.onError, "onError");
    alice.send.rooms.message({ roomId: "nowhere", content: "hi" });
    assert.equal((await error).code, "refused");
    assert.equal(messages.values.length, 0);
  });
});

describe("offline queue", () => {
  it("queues messages sent before the connection opens and flushes them in order after onOpen", async () => {
    const alice = connect("Alice");
    assert.equal(alice.readyState, ReadyState.CONNECTING);
    // Sent before open: needs the membership that onOpen's join gives.
    alice.send.rooms.message({ roomId: "general", content: "first" });
    alice.send.rooms.message({ roomId: "general", content: "second" });
    assert.equal(alice.queuedCount, 2);
    alice.onOpen(() => alice.send.rooms.join({ roomId: "general" }));

    const contents: string[] = [];
    const both = nextEvent(alice.on.rooms.onMessage, "two messages", (m) => {
      contents.push(m.content);
      return contents.length === 2;
    });
    await both;
    assert.deepEqual(contents, ["first", "second"]);
    assert.equal(alice.queuedCount, 0);
  });

  it("throws QueueFullError when the queue is full, and keeps what it holds", async () => {
    const alice = connect("Alice", { maxQueue: 2 });
    alice.send.rooms.join({ roomId: "general" });
    alice.send.rooms.message({ roomId: "general", content: "kept" });
    assert.throws(
      () => alice.send.rooms.message({ roomId: "general", content: "refused" }),
      (e: unknown) => {
        assert.ok(e instanceof QueueFullError);
        assert.equal(e.name, "QueueFullError");
        assert.equal(e.type, "rooms.message");
        assert.equal(e.maxQueue, 2);
        return true;
      },
    );
    assert.equal(alice.queuedCount, 2);
    assert.equal((await message(alice)).content, "kept");
  });

  it("refuses a message over maxMessageSize (UTF-8 bytes, default 64 KiB) without sending it", async () => {
    const alice = connect("Alice");
    await opened(alice);
    const join = joined(alice);
    alice.send.rooms.join({ roomId: "general" });
    await join;
    const limit = 65_536;
    const frameOf = (content: string) =>
      JSON.stringify({ type: "rooms.message", payload: { roomId: "general", content } });
    const overhead = frameOf("").length;
    // Two-byte characters: a limit counted in UTF-16 units would be off.
    const half = Math.floor((limit - overhead) / 2);
    const atLimit = "é".repeat(half) + "x".repeat(limit - overhead - 2 * half);
    assert.equal(Buffer.byteLength(frameOf(atLimit)), limit);

    const first = message(alice);
    alice.send.rooms.message({ roomId: "general", content: atLimit });
    assert.equal((await first).content, atLimit);
    assert.throws(
      () => alice.send.rooms.message({ roomId: "general", content: atLimit + "x" }),
      (e: unknown) => {
        assert.ok(e instanceof MessageTooLargeError);
        assert.equal(e.type, "rooms.message");
        assert.equal(e.size, limit + 1);
        assert.equal(e.maxMessageSize, limit);
        return true;
      },
    );
    await assert.rejects(alice.call.rooms.members({ roomId: "r".repeat(limit) }), MessageTooLargeError);
    assert.equal(alice.queuedCount, 0);
    assert.equal(alice.pendingCalls, 0);
    // The refused ones never reached the server: the next line is the next seen.
    const next = message(alice);
    alice.send.rooms.message({ roomId: "general", content: "after" });
    assert.equal((await next).content, "after");
    assert.equal(alice.readyState, ReadyState.OPEN);
  });

  it("takes maxMessageSize from the options, and refuses a bad one", () => {
    const alice = connect("Alice", { maxMessageSize: 100 });
    assert.throws(() => alice.send.rooms.message({ roomId: "general", content: "x".repeat(100) }), MessageTooLargeError);
    alice.send.rooms.message({ roomId: "general", content: "short" });
    assert.throws(() => connect("Bob", { maxMessageSize: 0 }), RangeError);
  });

  it("with maxQueue 0 refuses every offline send", () => {
    const alice = connect("Alice", { maxQueue: 0 });
    assert.throws(() => alice.send.rooms.join({ roomId: "general" }), QueueFullError);
  });

  it("throws serialisation errors at the call, without queueing", () => {
    const alice = connect("Alice");
    const cyclic: any = { roomId: "general" };
    cyclic.self = cyclic;
    assert.throws(() => alice.send.rooms.join(cyclic), TypeError);
    assert.equal(alice.queuedCount, 0);
  });
});

describe("reconnection", () => {
  it("reconnects after the server drops the connection, and sends what was queued meanwhile", async () => {
    const alice = connect("Alice");
    const opens = record<void>(alice.onOpen);
    alice.onOpen(() => alice.send.rooms.join({ roomId: "general" }));
    await opened(alice);

    const lost = closed(alice);
    const second = serverConnection("Alice");
    server.dropAll();
    const info = await lost;
    assert.equal(info.code, 1006);
    assert.equal(info.willReconnect, true);
    assert.ok(typeof info.delayMs === "number" && info.delayMs >= 0 && info.delayMs <= 50);
    assert.equal(alice.readyState, ReadyState.CONNECTING);

    // Sent while waiting to reconnect: queued, then sent after the rejoin.
    const got = message(alice);
    alice.send.rooms.message({ roomId: "general", content: "after the outage" });
    assert.equal(alice.queuedCount, 1);
    await second;
    assert.equal((await got).content, "after the outage");
    assert.equal(opens.values.length, 2);
    assert.equal(alice.readyState, ReadyState.OPEN);
  });

  it("reports the server's close code and reconnects after a going-away close", async () => {
    const alice = connect("Alice");
    await opened(alice);
    const lost = closed(alice);
    const back = reopened(alice);
    server.closeAll(1001, "server shutting down");
    const info = await lost;
    assert.equal(info.code, 1001);
    assert.equal(info.reason, "server shutting down");
    assert.equal(info.wasClean, true);
    assert.equal(info.willReconnect, true);
    await back;
  });

  it("keeps trying with backoff while the server is unreachable", async () => {
    // A port nobody listens on: every attempt fails with 1006.
    const dead = await startFakeChatServer();
    const url = dead.url;
    await dead.stop();
    const client = createZocketClient<ChatRouter>(url, {
      WebSocket,
      reconnect: { initialDelayMs: 1, factor: 2, maxDelayMs: 8, jitter: 0 },
    });
    clients.push(client);
    const delays: number[] = [];
    await nextEvent<CloseInfo>(client.onClose, "four failed attempts", (info) => {
      assert.equal(info.willReconnect, true);
      delays.push(info.delayMs!);
      return delays.length === 4;
    });
    assert.deepEqual(delays, [1, 2, 4, 8]);
  });

  it("starts the backoff over after a successful connection", async () => {
    const alice = connect("Alice", { reconnect: { initialDelayMs: 1, factor: 4, maxDelayMs: 100, jitter: 0 } });
    const delays: number[] = [];
    alice.onClose((info) => delays.push(info.delayMs!));
    for (let i = 0; i < 3; i++) {
      await opened(alice);
      const lost = closed(alice);
      server.dropAll();
      await lost;
    }
    await opened(alice);
    assert.deepEqual(delays, [1, 1, 1]);
  });

  it("obeys shouldReconnect", async () => {
    const alice = connect("Alice", { shouldReconnect: (info) => info.code !== 4008 });
    await opened(alice);
    const lost = closed(alice);
    server.closeAll(4008, "slow consumer");
    const info = await lost;
    assert.equal(info.willReconnect, false);
    assert.equal(alice.readyState, ReadyState.CLOSED);
    assert.throws(() => alice.send.rooms.join({ roomId: "general" }), ClientClosedError);
  });

  it("reconnect() opens a new connection at once", async () => {
    const alice = connect("Alice", { reconnect: false });
    await opened(alice);
    const closes = record(alice.onClose);
    const again = reopened(alice);
    const second = serverConnection("Alice");
    alice.reconnect();
    await Promise.all([again, second]);
    assert.equal(closes.values.length, 1);
    assert.equal(closes.values[0]!.willReconnect, true);
    assert.equal(alice.readyState, ReadyState.OPEN);
  });
});

describe("onOpen", () => {
  it("runs a listener added while open once for the current connection, after onOpen returns, then per reconnect", async () => {
    const alice = connect("Alice");
    await opened(alice);
    const join = joined(alice);
    let runs = 0;
    let ranOnce!: () => void;
    const first = new Promise<void>((resolve) => (ranOnce = resolve));
    alice.onOpen(() => {
      runs += 1;
      alice.send.rooms.join({ roomId: "general" });
      ranOnce();
    });
    assert.equal(runs, 0, "not inside the onOpen call");
    await within(first, "the listener's run for the open connection");
    // Its join went out on this connection: the server answers it.
    await join;
    // A round trip later it still ran once for this connection.
    const echo = message(alice);
    alice.send.rooms.message({ roomId: "general", content: "ping" });
    await echo;
    assert.equal(runs, 1);

    const back = reopened(alice);
    server.dropAll();
    await back;
    assert.equal(runs, 2, "once more for the reconnect");
  });

  it("runs a listener added by another onOpen listener once for that connection", async () => {
    const alice = connect("Alice");
    let inner = 0;
    let added = false;
    const seen = new Promise<void>((resolve) => {
      alice.onOpen(() => {
        if (added) return;
        added = true;
        alice.onOpen(() => {
          inner += 1;
          resolve();
        });
      });
    });
    await within(seen, "the inner listener");
    const echo = joined(alice);
    alice.send.rooms.join({ roomId: "general" });
    await echo;
    assert.equal(inner, 1);
    const back = reopened(alice);
    server.dropAll();
    await back;
    assert.equal(inner, 2);
  });

  it("does not run a listener removed before its turn, nor one added just before a reconnect() for the old connection", async () => {
    const alice = connect("Alice");
    await opened(alice);
    let removedRuns = 0;
    const off = alice.onOpen(() => (removedRuns += 1));
    off();
    let runs = 0;
    alice.onOpen(() => (runs += 1));
    const back = reopened(alice);
    alice.reconnect();
    await back;
    assert.equal(runs, 1, "once: for the new connection only");
    const echo = joined(alice);
    alice.send.rooms.join({ roomId: "general" });
    await echo;
    assert.equal(runs, 1);
    assert.equal(removedRuns, 0);
  });
});

describe("close()", () => {
  it("moves through CLOSING to CLOSED and reports willReconnect false", async () => {
    const alice = connect("Alice");
    await opened(alice);
    const done = closed(alice);
    alice.close();
    assert.equal(alice.readyState, ReadyState.CLOSING);
    const info = await done;
    assert.equal(info.code, 1000);
    assert.equal(info.willReconnect, false);
    assert.equal(alice.readyState, ReadyState.CLOSED);
    assert.throws(() => alice.send.rooms.join({ roomId: "general" }), ClientClosedError);
  });

  // These two use mocked timers: after the close, `runAll()` fires any
  // reconnection timer the client might still hold, synchronously, so its
  // absence is checked without waiting for anything.
  it("does not reconnect after close()", async () => {
    const { CountingWebSocket, made } = countingWebSocket();
    const alice = connect("Alice", { WebSocket: CountingWebSocket, reconnect: { initialDelayMs: 0, jitter: 0 } });
    await opened(alice);
    mock.timers.enable({ apis: ["setTimeout"] });
    try {
      const done = closed(alice);
      alice.close();
      assert.equal((await done).willReconnect, false);
      mock.timers.runAll();
      assert.equal(made.length, 1);
      assert.equal(alice.readyState, ReadyState.CLOSED);
    } finally {
      mock.timers.reset();
    }
  });

  it("cancels a pending reconnection when called while waiting to reconnect", async () => {
    const { CountingWebSocket, made } = countingWebSocket();
    const alice = connect("Alice", { WebSocket: CountingWebSocket, reconnect: { initialDelayMs: 0, jitter: 0 } });
    await opened(alice);
    mock.timers.enable({ apis: ["setTimeout"] });
    try {
      const lost = closed(alice);
      server.dropAll();
      const info = await lost;
      // The reconnection timer is set, not yet fired.
      assert.equal(info.willReconnect, true);
      assert.equal(alice.readyState, ReadyState.CONNECTING);
      alice.close();
      assert.equal(alice.readyState, ReadyState.CLOSED);
      mock.timers.runAll();
      assert.equal(made.length, 1);
      assert.equal(alice.readyState, ReadyState.CLOSED);
    } finally {
      mock.timers.reset();
    }
  });

  it("still reconnects when not closed (control for the two tests above)", async () => {
    const { CountingWebSocket, made } = countingWebSocket();
    const alice = connect("Alice", { WebSocket: CountingWebSocket, reconnect: { initialDelayMs: 0, jitter: 0 } });
    await opened(alice);
    mock.timers.enable({ apis: ["setTimeout"] });
    try {
      const lost = closed(alice);
      server.dropAll();
      assert.equal((await lost).willReconnect, true);
      mock.timers.runAll();
      assert.equal(made.length, 2);
    } finally {
      mock.timers.reset();
    }
    await opened(alice);
  });

  it("drops queued messages, and reconnect() reopens a closed client", async () => {
    const alice = connect("Alice");
    alice.send.rooms.join({ roomId: "stale" });
    alice.close();
    assert.equal(alice.queuedCount, 0);
    await closed(alice);
    const back = opened(alice);
    alice.reconnect();
    await back;
    const join = joined(alice);
    alice.send.rooms.join({ roomId: "fresh" });
    assert.equal((await join).roomId, "fresh");
  });
});

describe("options", () => {
  it("merges headers into an existing query, encodes them, and calls a headers function per attempt", async () => {
    let calls = 0;
    const client = createZocketClient<ChatRouter>(`${server.url}?room=lobby`, {
      WebSocket,
      headers: () => {
        calls += 1;
        return { "user-name": `Zoë & co ${calls}` };
      },
    });
    clients.push(client);
    const connection = await serverConnection("Zoë & co 1");
    assert.equal(connection.query.get("room"), "lobby");
    const again = serverConnection("Zoë & co 2");
    client.reconnect();
    await again;
    assert.equal(calls, 2);
  });

  it("offers subprotocols", async () => {
    const alice = connect("Alice", { protocols: ["zocket.v1"] });
    const connection = await serverConnection("Alice");
    await opened(alice);
    assert.equal(connection.protocol, "zocket.v1");
  });

  it("can send the headers in the auth subprotocol entry instead of the URL", async () => {
    const alice = connect("Alice", { headerTransport: "subprotocol" });
    // Nothing in the query: the fake server sees no name.
    const connection = await serverConnection("Anonymous");
    await opened(alice);
    assert.equal(connection.query.get("user-name"), null);
    assert.equal(connection.protocol, "zocket");
  });

  it("encodes the auth entry as PROTOCOL.md shows", () => {
    assert.equal(
      authEntry({ "user-name": "Alice", token: "s3cret" }),
      "zocket.auth.eyJ1c2VyLW5hbWUiOiJBbGljZSIsInRva2VuIjoiczNjcmV0In0",
    );
  });

  it("refuses bad options up front", () => {
    assert.throws(() => connect("Alice", { maxQueue: -1 }), RangeError);
    assert.throws(() => connect("Alice", { reconnect: { factor: 0.5 } }), RangeError);
    assert.throws(() => connect("Alice", { reconnect: { jitter: 2 } }), RangeError);
    assert.throws(() => connect("Alice", { reconnect: { initialDelayMs: 100, maxDelayMs: 10 } }), RangeError);
    assert.throws(() => createZocketClient<ChatRouter>("not a url", { WebSocket }), TypeError);
  });

  it("explains a missing WebSocket implementation", { skip: typeof (globalThis as any).WebSocket === "function" }, () => {
    assert.throws(() => createZocketClient<ChatRouter>(server.url), /ws/);
  });

  it("is importable by its package name", async () => {
    // Through the package's `exports` (a self-reference): checks the built
    // dist/, so the specifier is kept out of the type checker's sight.
    const specifier: string = "@zocket/client";
    const pkg = await import(specifier);
    assert.equal(typeof pkg.createZocketClient, "function");
  });
});
