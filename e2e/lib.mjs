// Helpers for the end-to-end tests: the real chat server binary on
// 127.0.0.1 (port 0), the Rust terminal client, and headless Chromium from
// Debian (never a browser downloaded by Playwright).

import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TARGET = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(ROOT, "target");
export const BIN = process.env.ZOCKET_BIN_DIR ? resolve(process.env.ZOCKET_BIN_DIR) : join(TARGET, "debug");
export const SHOTS = join(ROOT, "target", "e2e");
/** How long any one wait may take. */
export const TIMEOUT = 15_000;

/** A child process whose stdout is read line by line. */
class Proc {
  constructor(name, child) {
    this.name = name;
    this.child = child;
    this.lines = [];
    this.waiters = new Set();
    this.exited = new Promise((done) => child.once("exit", (code, signal) => done({ code, signal })));
    const read = (stream, into) =>
      createInterface({ input: stream }).on("line", (line) => {
        into.push(line);
        if (process.env.E2E_VERBOSE) console.log(`[${name}] ${line}`);
        for (const w of [...this.waiters]) w(line);
      });
    this.stderr = [];
    read(child.stdout, this.lines);
    read(child.stderr, this.stderr);
  }

  /** Resolves with the first stdout line (seen or to come) matching `re`. */
  waitForLine(re, timeout = TIMEOUT) {
    const seen = this.lines.find((l) => re.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        fail(new Error(`${this.name}: no line matching ${re} within ${timeout} ms; stdout:\n${this.lines.join("\n")}\nstderr:\n${this.stderr.join("\n")}`));
      }, timeout);
      const waiter = (line) => {
        if (!re.test(line)) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        ok(line);
      };
      this.waiters.add(waiter);
      this.exited.then(({ code, signal }) => {
        if (!this.waiters.has(waiter)) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        fail(new Error(`${this.name} exited (${code ?? signal}) before printing ${re}; stderr:\n${this.stderr.join("\n")}`));
      });
    });
  }

  write(line) {
    this.child.stdin.write(`${line}\n`);
  }

  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGINT");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

/** The chat server (`target/debug/chat --addr 127.0.0.1:0`). */
export async function startServer() {
  const child = spawn(join(BIN, "chat"), ["--addr", "127.0.0.1:0"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RUST_LOG: "info", NO_COLOR: "1" },
  });
  const server = new Proc("chat", child);
  const line = await server.waitForLine(/^LISTENING \d+$/);
  const port = Number(line.split(" ")[1]);
  server.port = port;
  server.http = `http://127.0.0.1:${port}/`;
  server.ws = `ws://127.0.0.1:${port}/`;
  return server;
}

/** The Rust terminal client, reading lines from stdin. */
export function startTerminalClient(url, name, room) {
  const child = spawn(join(BIN, "chat-client"), ["--url", url, "--name", name, "--room", room], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  return new Proc("chat-client", child);
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    timeout: 60_000,
  });
}

/**
 * A page in its own browser context (own storage, as two people would
 * have), that fails the test on any page error.
 */
export async function openPage(browser, errors) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 720 } });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  page.on("pageerror", (e) => errors.push(e));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(new Error(`console: ${m.text()}`));
  });
  return page;
}

/** Signs in through the form and waits for the first room's own join. */
export async function signIn(page, url, name, room = "general") {
  await page.goto(url);
  await page.fill("#name-input", name);
  await page.fill("#room-input", room);
  await page.click("#login-button");
  await notice(page, `You joined #${room}`);
  await page.locator("#status-text", { hasText: "Connected" }).waitFor();
}

export function notice(page, text) {
  return page.locator("#messages .notice", { hasText: text }).first().waitFor();
}

export function message(page, author, content) {
  return page
    .locator("#messages .message")
    .filter({ has: page.locator(".author", { hasText: author }) })
    .filter({ has: page.locator(".content", { hasText: content }) })
    .first();
}

export async function send(page, text) {
  await page.fill("#message-input", text);
  await page.press("#message-input", "Enter");
}

/** Waits until the member list shows exactly `names` (in any order). */
export async function members(page, names) {
  const want = [...names].sort().join(",");
  await page.waitForFunction(
    (want) =>
      [...document.querySelectorAll("#members li .name")]
        .map((n) => n.textContent)
        .sort()
        .join(",") === want,
    want,
    { timeout: TIMEOUT },
  );
}

export async function screenshot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}
