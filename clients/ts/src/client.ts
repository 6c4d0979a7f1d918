import { type ReconnectOptions, reconnectDelay, resolveReconnectOptions } from "./backoff.js";
import { ClientClosedError, ERROR_TYPE, QueueFullError, type ZocketErrorPayload } from "./errors.js";
import { createPathProxy } from "./path-proxy.js";
import type { HeadersOf, OnTree, RouterShape, SendTree, Unsubscribe } from "./router.js";

/**
 * The part of the WebSocket API the client uses. The browser's `WebSocket`
 * and the `ws` package's `WebSocket` both fit.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** `client.readyState`, with the numbers of `WebSocket.readyState`. */
export const ReadyState = {
  /** Connecting, or waiting to reconnect. Sends are queued. */
  CONNECTING: 0,
  /** Connected. Sends go out at once. */
  OPEN: 1,
  /** `close()` was called; the socket is closing. Sends throw. */
  CLOSING: 2,
  /** Closed for good: after `close()`, or a loss with reconnection off. Sends throw. */
  CLOSED: 3,
} as const;

export type ReadyState = (typeof ReadyState)[keyof typeof ReadyState];

/** What `onClose` listeners learn about a closed (or failed) connection. */
export interface CloseInfo {
  /** The close code (1006 when the connection was lost or never opened). */
  code: number;
  reason: string;
  wasClean: boolean;
  /** Whether the client will try again on its own. */
  willReconnect: boolean;
  /** When `willReconnect`: how long it waits before the next attempt. */
  delayMs?: number;
}

type HeaderValues<H> = H | (() => H);

interface BaseOptions {
  /**
   * Reconnection with exponential backoff and jitter, on by default
   * (1000 ms, ×1.3, at most 10000 ms, ±20%). `false`: never reconnect on
   * its own (`reconnect()` still works).
   */
  reconnect?: ReconnectOptions | false;
  /**
   * Decides, per lost connection, whether to reconnect (when reconnection
   * is on). Default: always.
   */
  shouldReconnect?: (info: Omit<CloseInfo, "willReconnect" | "delayMs">) => boolean;
  /**
   * How many messages `send` keeps while not connected; they go out, in
   * order, once connected. Past it `send` throws `QueueFullError`. `0`
   * disables queueing. Default 1000.
   */
  maxQueue?: number;
  /** `Sec-WebSocket-Protocol` values to offer. */
  protocols?: string | string[];
  /**
   * How the headers travel. `"query"` (default, as the original zocket)
   * puts them in the URL; `"subprotocol"` sends them as the
   * `Sec-WebSocket-Protocol` entry `zocket.auth.<base64url(JSON)>` next to
   * `zocket`, so secrets stay out of URLs and access logs (PROTOCOL.md §2).
   */
  headerTransport?: "query" | "subprotocol";
  /**
   * The WebSocket constructor. Default: `globalThis.WebSocket` (browsers,
   * Node >= 22). On Node 20 pass the `ws` package's: `{ WebSocket }` from `"ws"`.
   */
  WebSocket?: WebSocketConstructor;
  /**
   * Called when a listener throws; the other listeners still run. Default:
   * `reportError` where it exists (browsers), else `console.error`.
   */
  onListenerError?: (error: unknown) => void;
}

/**
 * Options of `createZocketClient`. `headers` (or a function returning them,
 * called before every connection attempt) go in the URL query; the option
 * is required when the router's headers have a required key.
 */
export type ZocketClientOptions<R extends RouterShape> = BaseOptions &
  ({} extends HeadersOf<R> ? { headers?: HeaderValues<HeadersOf<R>> } : { headers: HeaderValues<HeadersOf<R>> });

type OptionsArgs<R extends RouterShape> = {} extends HeadersOf<R>
  ? [options?: ZocketClientOptions<R>]
  : [options: ZocketClientOptions<R>];

export interface ZocketClient<R extends RouterShape> {
  /** `client.send.rooms.join({ roomId })`: sends now, or queues while not connected. */
  readonly send: SendTree<R["incoming"]>;
  /** `client.on.rooms.onJoin(cb)`: subscribes; returns the unsubscribe function. */
  readonly on: OnTree<R["outgoing"]>;
  /** Runs on every (re)connection, before queued messages are flushed: rejoin rooms here. */
  onOpen(listener: () => void): Unsubscribe;
  /** Runs whenever a connection closes or a connection attempt fails. */
  onClose(listener: (info: CloseInfo) => void): Unsubscribe;
  /** Runs for every `zocket.error` frame the server sends. */
  onError(listener: (error: ZocketErrorPayload) => void): Unsubscribe;
  /** Closes the connection and stops reconnecting; drops queued messages. */
  close(code?: number, reason?: string): void;
  /** Drops the current connection (if any) and connects again now, resetting the backoff. Also reopens a closed client. */
  reconnect(): void;
  /** See `ReadyState`. */
  readonly readyState: ReadyState;
  /** How many messages wait in the offline queue. */
  readonly queuedCount: number;
}

type Listener<T> = { fn: (value: T) => void };
type State = "connecting" | "open" | "waiting" | "closing" | "closed";

/**
 * Connects to a zocket server. `R` is the router type (see `router.ts`).
 *
 * ```ts
 * const client = createZocketClient<ChatRouter>("ws://localhost:3000", {
 *   headers: { "user-name": "Alice" },
 * });
 * client.onOpen(() => client.send.rooms.join({ roomId: "general" }));
 * client.on.rooms.onMessage((m) => console.log(m.userName, m.content));
 * ```
 */
export function createZocketClient<R extends RouterShape>(url: string | URL, ...args: OptionsArgs<R>): ZocketClient<R> {
  const connection = new Connection(url, (args[0] ?? {}) as BaseOptions & { headers?: HeaderValues<object> });
  return {
    send: createPathProxy((type, callArgs) => connection.send(type, callArgs[0])) as SendTree<R["incoming"]>,
    on: createPathProxy((type, callArgs) => connection.subscribe(type, callArgs[0])) as OnTree<R["outgoing"]>,
    onOpen: (listener) => connection.onOpen(listener),
    onClose: (listener) => connection.onClose(listener),
    onError: (listener) => connection.onError(listener),
    close: (code, reason) => connection.close(code, reason),
    reconnect: () => connection.reconnect(),
    get readyState() {
      return connection.readyState;
    },
    get queuedCount() {
      return connection.queuedCount;
    },
  };
}

class Connection {
  private readonly baseUrl: URL;
  private readonly headers: HeaderValues<object> | undefined;
  private readonly Ctor: WebSocketConstructor;
  private readonly protocols: string | string[] | undefined;
  private readonly headerTransport: "query" | "subprotocol";
  private readonly backoff: Required<ReconnectOptions> | false;
  private readonly shouldReconnect: NonNullable<BaseOptions["shouldReconnect"]>;
  private readonly maxQueue: number;
  private readonly onListenerError: (error: unknown) => void;

  private socket: WebSocketLike | null = null;
  private state: State = "connecting";
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly queue: string[] = [];

  private readonly messageListeners = new Map<string, Set<Listener<unknown>>>();
  private readonly openListeners = new Set<Listener<void>>();
  private readonly closeListeners = new Set<Listener<CloseInfo>>();
  private readonly errorListeners = new Set<Listener<ZocketErrorPayload>>();

  constructor(url: string | URL, options: BaseOptions & { headers?: HeaderValues<object> }) {
    this.baseUrl = new URL(url);
    this.headers = options.headers;
    const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (typeof Ctor !== "function") {
      throw new TypeError(
        "zocket: no WebSocket implementation; on Node 20 pass { WebSocket } from the `ws` package in the options",
      );
    }
    this.Ctor = Ctor;
    this.protocols = options.protocols;
    this.headerTransport = options.headerTransport ?? "query";
    this.backoff = options.reconnect === false ? false : resolveReconnectOptions(options.reconnect);
    this.shouldReconnect = options.shouldReconnect ?? (() => true);
    const maxQueue = options.maxQueue ?? 1000;
    if (!Number.isInteger(maxQueue) || maxQueue < 0) {
      throw new RangeError("zocket option maxQueue must be an integer >= 0");
    }
    this.maxQueue = maxQueue;
    this.onListenerError = options.onListenerError ?? defaultListenerError;
    // The first attempt: a bad URL or header callback throws to the caller.
    this.openSocket();
  }

  get readyState(): ReadyState {
    switch (this.state) {
      case "open":
        return ReadyState.OPEN;
      case "closing":
        return ReadyState.CLOSING;
      case "closed":
        return ReadyState.CLOSED;
      default:
        return ReadyState.CONNECTING;
    }
  }

  get queuedCount(): number {
    return this.queue.length;
  }

  send(type: string, payload: unknown): void {
    // Serialise first: a payload JSON can't carry throws here, whatever the state.
    const frame = JSON.stringify({ type, payload: payload === undefined ? {} : payload });
    if (this.state === "open" && this.socket) {
      this.socket.send(frame);
      return;
    }
    if (this.state === "closing" || this.state === "closed") throw new ClientClosedError(type);
    if (this.queue.length >= this.maxQueue) throw new QueueFullError(type, this.maxQueue);
    this.queue.push(frame);
  }

  subscribe(type: string, fn: unknown): Unsubscribe {
    if (typeof fn !== "function") throw new TypeError(`zocket: client.on.${type} expects a listener function`);
    let set = this.messageListeners.get(type);
    if (!set) {
      set = new Set();
      this.messageListeners.set(type, set);
    }
    const entry: Listener<unknown> = { fn: fn as (value: unknown) => void };
    set.add(entry);
    return () => {
      const current = this.messageListeners.get(type);
      if (!current) return;
      current.delete(entry);
      if (current.size === 0) this.messageListeners.delete(type);
    };
  }

  onOpen(fn: () => void): Unsubscribe {
    return addListener(this.openListeners, fn);
  }

  onClose(fn: (info: CloseInfo) => void): Unsubscribe {
    return addListener(this.closeListeners, fn);
  }

  onError(fn: (error: ZocketErrorPayload) => void): Unsubscribe {
    return addListener(this.errorListeners, fn);
  }

  close(code = 1000, reason = ""): void {
    if (this.state === "closing" || this.state === "closed") return;
    this.clearTimer();
    this.queue.length = 0;
    const socket = this.socket;
    if (socket) {
      this.state = "closing";
      socket.close(code, reason);
    } else {
      // Waiting between attempts: nothing to close.
      this.state = "closed";
    }
  }

  reconnect(): void {
    this.clearTimer();
    const old = this.socket;
    const wasOpen = this.state === "open";
    this.socket = null;
    this.attempt = 0;
    if (old) {
      // Its close event is ignored from now on (it is no longer
      // `this.socket`).
      try {
        old.close(1000, "reconnect");
      } catch {
        // Already closing.
      }
    }
    this.retry();
    if (wasOpen) {
      // Report the end of the open connection so open/close events pair up.
      this.emit(this.closeListeners, { code: 1000, reason: "reconnect", wasClean: true, willReconnect: true, delayMs: 0 });
    }
  }

  private openSocket(): void {
    this.state = "connecting";
    const protocols = this.offeredProtocols();
    const socket = new this.Ctor(this.buildUrl(), ...(protocols === undefined ? [] : [protocols]));
    this.socket = socket;
    socket.onopen = () => {
      if (socket === this.socket) this.handleOpen(socket);
    };
    socket.onmessage = (event: { data: unknown }) => {
      if (socket === this.socket) this.handleFrame(event.data);
    };
    // An error event is always followed by a close event, which drives
    // reconnection. The handler must exist: `ws` throws unhandled errors.
    socket.onerror = () => {};
    socket.onclose = (event: { code?: number; reason?: string; wasClean?: boolean }) => {
      if (socket === this.socket) {
        this.handleClose({ code: event.code ?? 1006, reason: event.reason ?? "", wasClean: event.wasClean ?? false });
      }
    };
  }

  private currentHeaders(): Record<string, string> {
    const headers = typeof this.headers === "function" ? this.headers() : this.headers;
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers ?? {})) {
      if (value !== undefined && value !== null) out[name] = String(value);
    }
    return out;
  }

  private buildUrl(): string {
    const url = new URL(this.baseUrl);
    if (this.headerTransport === "query") {
      for (const [name, value] of Object.entries(this.currentHeaders())) url.searchParams.set(name, value);
    }
    return url.toString();
  }

  private offeredProtocols(): string | string[] | undefined {
    if (this.headerTransport !== "subprotocol") return this.protocols;
    const extra = this.protocols === undefined ? [] : Array.isArray(this.protocols) ? this.protocols : [this.protocols];
    return ["zocket", authEntry(this.currentHeaders()), ...extra];
  }

  private handleOpen(socket: WebSocketLike): void {
    this.state = "open";
    this.attempt = 0;
    // Listeners first, so that a rejoin sent in onOpen precedes the
    // messages queued while offline (which may need the membership).
    this.emit(this.openListeners, undefined);
    while (this.queue.length > 0 && this.state === "open" && this.socket === socket) {
      socket.send(this.queue.shift()!);
    }
  }

  private handleFrame(data: unknown): void {
    // Binary frames carry no zocket messages; malformed frames are skipped.
    if (typeof data !== "string") return;
    let frame: unknown;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof frame !== "object" || frame === null) return;
    const { type, payload } = frame as { type?: unknown; payload?: unknown };
    if (typeof type !== "string") return;
    if (type === ERROR_TYPE) {
      const p = (payload ?? {}) as Partial<ZocketErrorPayload>;
      const error: ZocketErrorPayload = {
        code: typeof p.code === "string" ? p.code : "unknown",
        message: typeof p.message === "string" ? p.message : "",
        for: typeof p.for === "string" ? p.for : null,
      };
      if (typeof p.path === "string") error.path = p.path;
      this.emit(this.errorListeners, error);
      return;
    }
    const listeners = this.messageListeners.get(type);
    if (listeners) this.emit(listeners, payload);
  }

  private handleClose(closed: { code: number; reason: string; wasClean: boolean }): void {
    this.socket = null;
    if (this.state === "closing" || this.state === "closed" || !this.backoff || !this.shouldReconnect(closed)) {
      this.state = "closed";
      this.emit(this.closeListeners, { ...closed, willReconnect: false });
      return;
    }
    const delayMs = reconnectDelay(this.attempt, this.backoff);
    this.attempt += 1;
    this.state = "waiting";
    // Scheduled before the listeners run, so that close() in one cancels it.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.retry();
    }, delayMs);
    this.emit(this.closeListeners, { ...closed, willReconnect: true, delayMs });
  }

  private retry(): void {
    try {
      this.openSocket();
    } catch (error) {
      // e.g. the headers callback threw: count it as a failed attempt.
      this.socket = null;
      this.onListenerError(error);
      this.handleClose({ code: 1006, reason: String(error), wasClean: false });
    }
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private emit<T>(listeners: Set<Listener<T>>, value: T): void {
    // A copy: listeners may unsubscribe (or subscribe) while we iterate.
    for (const listener of [...listeners]) {
      try {
        listener.fn(value);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}

function addListener<T>(set: Set<Listener<T>>, fn: (value: T) => void): Unsubscribe {
  if (typeof fn !== "function") throw new TypeError("zocket: expected a listener function");
  const entry = { fn };
  set.add(entry);
  return () => {
    set.delete(entry);
  };
}

function defaultListenerError(error: unknown): void {
  const report = (globalThis as { reportError?: (error: unknown) => void }).reportError;
  if (typeof report === "function") report(error);
  else console.error("zocket: listener threw", error);
}

/** `zocket.auth.<base64url(JSON)>`, unpadded, as PROTOCOL.md describes. */
export function authEntry(headers: Record<string, string>): string {
  const bytes = new TextEncoder().encode(JSON.stringify(headers));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  const b64 = btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return `zocket.auth.${b64}`;
}
