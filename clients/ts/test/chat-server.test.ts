// The client against the real Rust chat server (examples/src/bin/chat.rs),
// not the fake one: zocket v1's RPC wire as the Rust side speaks it, typed
// replies, typed errors in `data`, acks, and errors that answer a request.
// The binary comes from `cargo build -p zocket-examples --bin chat`
// (ZOCKET_CHAT_BIN overrides the path). Without it the suite is skipped
// with a message, unless ZOCKET_REQUIRE_CHAT is set (CI), then it fails.

import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, connect as tcpConnect, type AddressInfo, type Socket } from "node:net";
import { dirname, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { WebSocket } from "ws";

import { createZocketClient, isRpcError, type ZocketClient } from "../src/index.js";
import { nextEvent, rejection, within } from "./helpers.js";

// The chat router's requests as the Rust macro generates them
// (examples/web/src/chat-router.ts; the type tests check that file).
type ChatError = { kind: "notMember" } | { kind: "alreadyMember" } | { kind: "refused"; reason: string };
type Chat = {
  headers: { "user-name"?: string };
  incoming: {
    rooms: {
      join: { $payload: { roomId: string }; $reply: { roomId: string; members: number }; $error: ChatError };
      leave: { $payload: { roomId: string } };
      members: { $payload: { roomId: string }; $reply: { roomId: string; members: string[] }; $error: ChatError };
      message: { $payload: { roomId: string; content: string } };
    };
  };
  outgoing: {
    rooms: {
      onJoin: { $payload: { roomId: string; userName: string } };
      onMessage: { $payload: { roomId: string; userName: string; content: string; timestamp: string } };
    };
  };
};

const here = dirname(fileURLToPath(import.meta.url));
// dist-test/test/ -> the workspace's target/debug/chat
const BIN = process.env.ZOCKET_CHAT_BIN ?? resolve(here, "../../../../target/debug/chat");
const present = existsSync(BIN);
if (!present && process.env.ZOCKET_REQUIRE_CHAT) {
  throw new Error(`ZOCKET_REQUIRE_CHAT is set but ${BIN} does not exist: cargo build -p zocket-examples --bin chat`);
}
if (!present) console.log(`# skipping the real-server tests: ${BIN} not built (cargo build -p zocket-examples --bin chat)`);

/**
 * A TCP proxy to 127.0.0.1:`port` that cuts its connections on command (no
 * close frame: the sockets are destroyed), as a flaky network would.
 */
async function startProxy(port: number) {
  let open = true;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = tcpConnect(port, "127.0.0.1");
    sockets.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on("error", end);
      s.on("close", end);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port: own } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${own}/`,
    /** Drops every connection and refuses new ones until `open()`. */
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    open() {
      open = true;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((done) => server.close(() => done()));
    },
  };
}

/** Starts the chat binary on a free loopback port with `args`. */
async function spawnChat(args: string[]): Promise<{ server: ChildProcess; url: string }> {
  const server = spawn(BIN, ["--addr", "127.0.0.1:0", ...args], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  const port = await within(
    new Promise<number>((ok, fail) => {
      server.once("exit", (code) => fail(new Error(`chat exited (${code}) before listening`)));
      createInterface({ input: server.stdout! }).on("line", (line) => {
        const m = /^LISTENING (\d+)$/.exec(line);
        if (m) ok(Number(m[1]));
      });
    }),
    "the chat server to listen",
    15_000,
  );
  return { server, url: `ws://127.0.0.1:${port}/` };
}

describe("against the Rust chat server", { skip: !present }, () => {
  let server: ChildProcess;
  let url = "";
  let keeping: ChildProcess;
  let keepingUrl = "";
  const clients: ZocketClient<Chat>[] = [];

  before(async () => {
    // The chat keeps sessions by default (PROTOCOL.md § 12); most tests
    // here are about a server that does not, which the last one is not.
    ({ server, url } = await spawnChat(["--no-resume"]));
    ({ server: keeping, url: keepingUrl } = await spawnChat([]));
  });

  after(async () => {
    for (const c of clients) c.close();
    for (const child of [server, keeping]) {
      const exited = new Promise((done) => child.once("exit", done));
      child.kill("SIGTERM");
      await within(exited, "the chat server to stop", 10_000);
    }
  });

  function connect(name: string): ZocketClient<Chat> {
    const c = createZocketClient<Chat>(url, { headers: { "user-name": name }, WebSocket });
    clients.push(c);
    return c;
  }

  it("calls join and members with typed replies, and leave as an ack", async () => {
    const zed = connect("zed");
    const amy = connect("Amy");
    assert.deepEqual(await zed.call.rooms.join({ roomId: "ts" }), { roomId: "ts", members: 1 });
    assert.deepEqual(await amy.call.rooms.join({ roomId: "ts" }), { roomId: "ts", members: 2 });
    assert.deepEqual(await zed.call.rooms.members({ roomId: "ts" }), { roomId: "ts", members: ["Amy", "zed"] });
    assert.equal(await amy.call.rooms.leave({ roomId: "ts" }), null);
    assert.deepEqual(await zed.call.rooms.members({ roomId: "ts" }), { roomId: "ts", members: ["zed"] });
  });

  it("rejects with the handler's typed error in data, and never through onError", async () => {
    const c = connect("Eve");
    const errors: unknown[] = [];
    c.onError((e) => errors.push(e));
    const call = c.call.rooms.members({ roomId: "nowhere" });
    const error = await rejection(call, "members of a room not joined");
    assert.ok(isRpcError(error, c.call.rooms.members), String(error));
    assert.equal(error.code, "handler_error");
    assert.equal(error.message, "not a member of this room");
    assert.deepEqual(error.data, { kind: "notMember" });

    await c.call.rooms.join({ roomId: "twice" });
    const again = await rejection(c.call.rooms.join({ roomId: "twice" }), "a second join");
    assert.ok(isRpcError(again, c.call.rooms.join));
    assert.deepEqual(again.data, { kind: "alreadyMember" });
    assert.deepEqual(errors, []);
  });

  it("after a reconnect sends onOpen's re-join before the messages queued offline", async () => {
    const proxy = await startProxy(Number(new URL(url).port));
    try {
      const bob = connect("Bob");
      await bob.call.rooms.join({ roomId: "again" });
      const alice = createZocketClient<Chat>(proxy.url, {
        headers: { "user-name": "Alice" },
        WebSocket,
        reconnect: { initialDelayMs: 5, maxDelayMs: 50 },
      });
      clients.push(alice);
      let opens = 0;
      alice.onOpen(() => {
        opens += 1;
        alice.send.rooms.join({ roomId: "again" });
      });
      const byAlice = (j: { userName: string }) => j.userName === "Alice";
      await nextEvent(bob.on.rooms.onJoin, "Alice's join", byAlice);

      const closed = nextEvent(alice.onClose, "Alice's connection cut");
      proxy.cut();
      await closed;
      // Offline: the line waits in the queue. Sent before the re-join, the
      // server would refuse it (Alice not a member) and Bob never see it.
      alice.send.rooms.message({ roomId: "again", content: "typed offline" });
      assert.equal(alice.queuedCount, 1);
      const rejoined = nextEvent(bob.on.rooms.onJoin, "Alice's re-join", byAlice);
      const line = nextEvent(bob.on.rooms.onMessage, "the offline line", (m) => m.content === "typed offline");
      proxy.open();
      await rejoined;
      assert.equal((await line).userName, "Alice");
      assert.equal(opens, 2, "onOpen ran for the first connection and the reconnect");
    } finally {
      await proxy.close();
    }
  });

  it("rejects with invalid_payload, naming the field, before any handler runs", async () => {
    const c = connect("Val");
    const error = await rejection(c.call.rooms.join({ roomId: "" }), "an empty room id");
    assert.ok(isRpcError(error), String(error));
    assert.equal(error.code, "invalid_payload");
    assert.equal(error.for, "rooms.join");
    assert.equal(error.path, "roomId");
  });

  it("with sessions kept, resumes after a cut: no re-join, what was said meanwhile, the offline line", async () => {
    const proxy = await startProxy(Number(new URL(keepingUrl).port));
    try {
      const bob = createZocketClient<Chat>(keepingUrl, { headers: { "user-name": "Bob" }, WebSocket });
      clients.push(bob);
      await bob.call.rooms.join({ roomId: "kept" });
      const alice = createZocketClient<Chat>(proxy.url, {
        headers: { "user-name": "Alice" },
        WebSocket,
        reconnect: { initialDelayMs: 5, maxDelayMs: 50 },
      });
      clients.push(alice);
      await alice.call.rooms.join({ roomId: "kept" });
      const joins: string[] = [];
      bob.on.rooms.onJoin(({ userName }) => joins.push(userName));
      const firstId = alice.clientId;
      assert.ok(firstId, "the session frame gave Alice her id");

      const closed = nextEvent(alice.onClose, "Alice's connection cut");
      proxy.cut();
      await closed;
      const resumed = nextEvent(alice.onResumed, "Alice's resume");
      const missed = nextEvent(alice.on.rooms.onMessage, "the line said while away", (m) => m.content === "while away");
      const line = nextEvent(bob.on.rooms.onMessage, "the offline line", (m) => m.content === "typed offline");
      bob.send.rooms.message({ roomId: "kept", content: "while away" });
      alice.send.rooms.message({ roomId: "kept", content: "typed offline" });
      proxy.open();
      assert.deepEqual(await resumed, { recovered: true });
      assert.equal((await missed).userName, "Bob");
      assert.equal((await line).userName, "Alice");
      assert.equal(alice.clientId, firstId, "same session, same id");
      assert.deepEqual(joins, [], "the room saw no re-join");
    } finally {
      await proxy.close();
    }
  });
});
