// Resuming a session (PROTOCOL.md §12) against a scripted server: the
// client offers its latest token and the count of frames it received as a
// `zocket.resume.` protocol entry, counts every text frame but
// `zocket.session`, and reports `onResumed`.

import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { WebSocket, WebSocketServer } from "ws";

import { createZocketClient, type Resumed } from "../src/index.js";
import type { ChatRouter } from "./chat-router.js";
import { nextEvent } from "./helpers.js";

type Accepted = { socket: WebSocket; protocols: string[] };

let wss: WebSocketServer;
let url: string;
const accepted: ((a: Accepted) => void)[] = [];

before(async () => {
  wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
  wss.on("connection", (socket: WebSocket, request: IncomingMessage) => {
    const header = request.headers["sec-websocket-protocol"] ?? "";
    const protocols = header
      .split(",")
      .map((p) => p.trim())
      .filter((p) => p !== "");
    for (const listener of accepted.splice(0)) listener({ socket, protocols });
  });
});
after(async () => {
  for (const client of wss.clients) client.terminate();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
});

/** The next connection the server accepts. */
const nextConnection = () =>
  new Promise<Accepted>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no connection in time")), 3000);
    accepted.push((a) => {
      clearTimeout(timer);
      resolve(a);
    });
  });

const session = (token: string, clientId: string, recovered: boolean) =>
  JSON.stringify({ type: "zocket.session", payload: { clientId, token, recovered } });

describe("resume", () => {
  it("offers its token and frame count, and reports whether the session was recovered", async () => {
    const first = nextConnection();
    const client = createZocketClient<ChatRouter>(url, {
      WebSocket,
      reconnect: { initialDelayMs: 5, maxDelayMs: 20 },
    });
    const resumed: Resumed[] = [];
    client.onResumed((r) => resumed.push(r));
    try {
      const a = await first;
      assert.deepEqual(a.protocols, [], "nothing to resume on a first connection");
      a.socket.send(session("t1", "client_1", false));
      const joined = nextEvent(client.on.rooms.onJoin, "onJoin");
      // Three frames of the session: an unknown type, garbage, a message.
      a.socket.send(JSON.stringify({ type: "other.thing", payload: {} }));
      a.socket.send("not json");
      a.socket.send(JSON.stringify({ type: "rooms.onJoin", payload: { roomId: "r", userName: "x" } }));
      await joined;
      assert.equal(client.clientId, "client_1");

      const second = nextConnection();
      a.socket.terminate();
      const b = await second;
      assert.deepEqual(b.protocols, ["zocket", "zocket.resume.t1.3"]);
      const back = nextEvent(client.onResumed, "onResumed");
      b.socket.send(session("t2", "client_1", true));
      assert.deepEqual(await back, { recovered: true });
      b.socket.send(JSON.stringify({ type: "rooms.onJoin", payload: { roomId: "r", userName: "y" } }));
      await nextEvent(client.on.rooms.onJoin, "onJoin");

      // Recovered: the count goes on (3 + 1) under the new token.
      const third = nextConnection();
      b.socket.terminate();
      const c = await third;
      assert.deepEqual(c.protocols, ["zocket", "zocket.resume.t2.4"]);
      const fresh = nextEvent(client.onResumed, "onResumed");
      c.socket.send(session("t3", "client_2", false));
      assert.deepEqual(await fresh, { recovered: false });
      assert.equal(client.clientId, "client_2");

      // Not recovered: a new session, counted from 0.
      const fourth = nextConnection();
      c.socket.terminate();
      const d = await fourth;
      assert.deepEqual(d.protocols, ["zocket", "zocket.resume.t3.0"]);
      assert.deepEqual(resumed, [{ recovered: true }, { recovered: false }]);
    } finally {
      client.close();
    }
  });
});
