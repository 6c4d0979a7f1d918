import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { DEFAULT_RECONNECT, reconnectDelay } from "../src/index.js";
import { createPathProxy } from "../src/path-proxy.js";

describe("reconnectDelay", () => {
  const noJitter = { ...DEFAULT_RECONNECT, jitter: 0 };

  it("starts at 1 s and grows ×1.3 up to 10 s by default", () => {
    const delays = Array.from({ length: 12 }, (_, attempt) => reconnectDelay(attempt, noJitter));
    assert.deepEqual(delays, [1000, 1300, 1690, 2197, 2856, 3713, 4827, 6275, 8157, 10000, 10000, 10000]);
  });

  it("spreads by ±jitter and never exceeds maxDelayMs", () => {
    const o = DEFAULT_RECONNECT;
    assert.equal(reconnectDelay(0, o, () => 0), 800);
    assert.equal(reconnectDelay(0, o, () => 0.5), 1000);
    assert.equal(reconnectDelay(0, o, () => 0.999999), 1200);
    assert.equal(reconnectDelay(50, o, () => 0), 8000);
    assert.equal(reconnectDelay(50, o, () => 0.999999), 10000);
  });
});

describe("createPathProxy", () => {
  it("turns property paths into dotted types", () => {
    const calls: [string, unknown[]][] = [];
    const root: any = createPathProxy((path, args) => {
      calls.push([path, args]);
      return path.length;
    });
    assert.equal(root.rooms.join({ roomId: "a" }), "rooms.join".length);
    root.a.b.c.d();
    root.ping(1, 2);
    assert.deepEqual(calls, [
      ["rooms.join", [{ roomId: "a" }]],
      ["a.b.c.d", []],
      ["ping", [1, 2]],
    ]);
    assert.equal(root.rooms, root.rooms, "paths are cached");
  });

  it("is not a thenable, not callable at the root, and read-only", async () => {
    const root: any = createPathProxy(() => assert.fail("must not be called"));
    assert.equal(root.then, undefined);
    assert.equal(await Promise.resolve(root), root);
    assert.equal(JSON.stringify({ root }), "{}");
    assert.throws(() => root(), TypeError);
    assert.throws(() => {
      "use strict";
      root.rooms = 1;
    }, TypeError);
  });
});
