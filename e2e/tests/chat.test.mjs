// Two people in headless Chromium, on the real chat server: both join a
// room, talk, one leaves and the other sees it; then the Rust terminal
// client and a browser page talk in one room.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import {
  launchBrowser,
  members,
  message,
  notice,
  openPage,
  screenshot,
  send,
  signIn,
  startServer,
  startTerminalClient,
  TIMEOUT,
} from "../lib.mjs";

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test("two browser pages join a room, talk, and one leaves", async (t) => {
  const server = await startServer();
  const errors = [];
  t.after(() => server.stop());
  const alice = await openPage(browser, errors);
  const bob = await openPage(browser, errors);
  t.after(() => alice.context().close());
  t.after(() => bob.context().close());

  // The page is served by the chat binary itself.
  const response = await alice.request.get(server.http);
  assert.equal(response.status(), 200);
  assert.match(response.headers()["content-type"], /text\/html/);

  await signIn(alice, server.http, "Alice");
  await members(alice, ["Alice"]);
  await signIn(bob, server.http, "Bob");
  await notice(alice, "Bob joined");
  await members(alice, ["Alice", "Bob"]);
  await members(bob, ["Alice", "Bob"]);

  await send(alice, "Hello Bob, welcome to #general!");
  const fromAlice = message(bob, "Alice", "Hello Bob, welcome to #general!");
  await fromAlice.waitFor();
  // The server's timestamp, shown as a time.
  const stamp = await fromAlice.locator("time").getAttribute("datetime");
  assert.ok(!Number.isNaN(Date.parse(stamp)), `timestamp ${stamp}`);
  assert.match(await fromAlice.locator("time").innerText(), /\d/);
  await message(alice, "Alice", "Hello Bob").waitFor(); // the sender sees it too

  await send(bob, "Thanks Alice! Glad to be here.");
  await message(alice, "Bob", "Glad to be here.").waitFor();

  // A second room: joined from the sidebar, listed, and selectable.
  await alice.fill("#join-input", "random");
  await alice.press("#join-input", "Enter");
  await notice(alice, "You joined #random");
  await alice.locator("#room-title", { hasText: "# random" }).waitFor();
  await members(alice, ["Alice"]);
  await alice.click("#rooms li[data-room=general]");
  await alice.locator("#room-title", { hasText: "# general" }).waitFor();

  // Bob leaves: Alice sees the notice and Bob leaves her member list.
  await bob.click("#leave-button");
  await bob.locator("#room-title", { hasText: "No room" }).waitFor();
  await notice(alice, "Bob left");
  await members(alice, ["Alice"]);
  assert.equal(await alice.locator("#rooms li").count(), 2);

  console.log("screenshots:", await screenshot(alice, "alice"), await screenshot(bob, "bob"));
  assert.deepEqual(errors, []);
});

test("the Rust terminal client and a browser page talk in one room", async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const terminal = startTerminalClient(server.ws, "Terminal", "lobby");
  t.after(() => terminal.stop());
  await terminal.waitForLine(/^\* Terminal joined lobby$/);

  const errors = [];
  const page = await openPage(browser, errors);
  t.after(() => page.context().close());
  await signIn(page, server.http, "Webby", "lobby");
  await members(page, ["Terminal", "Webby"]);
  await terminal.waitForLine(/^\* Webby joined lobby$/);

  // Browser → terminal.
  await send(page, "hello from the browser");
  await terminal.waitForLine(/^\[lobby\] \d\d:\d\d:\d\d Webby: hello from the browser$/);

  // Terminal → browser.
  terminal.write("hello from the terminal");
  await message(page, "Terminal", "hello from the terminal").waitFor();

  // The terminal asks who is there; then leaves, and the page sees it.
  terminal.write("/who");
  await terminal.waitForLine(/^\* in lobby: Terminal, Webby$/);
  terminal.write("/leave lobby");
  await notice(page, "Terminal left");
  await members(page, ["Webby"]);

  terminal.write("/quit");
  let timer;
  const exit = await Promise.race([
    terminal.exited,
    new Promise((_, fail) => {
      timer = setTimeout(() => fail(new Error("chat-client did not quit")), TIMEOUT);
    }),
  ]).finally(() => clearTimeout(timer));
  assert.equal(exit.code, 0);

  console.log("screenshot:", await screenshot(page, "with-terminal"));
  assert.deepEqual(errors, []);
});
