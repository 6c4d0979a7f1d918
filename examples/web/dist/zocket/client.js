import { reconnectDelay, resolveReconnectOptions } from "./backoff.js";
import { ClientClosedError, ERROR_TYPE, QueueFullError } from "./errors.js";
import { createPathProxy } from "./path-proxy.js";
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
};
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
export function createZocketClient(url, ...args) {
    const connection = new Connection(url, (args[0] ?? {}));
    return {
        send: createPathProxy((type, callArgs) => connection.send(type, callArgs[0])),
        on: createPathProxy((type, callArgs) => connection.subscribe(type, callArgs[0])),
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
    baseUrl;
    headers;
    Ctor;
    protocols;
    headerTransport;
    backoff;
    shouldReconnect;
    maxQueue;
    onListenerError;
    socket = null;
    state = "connecting";
    attempt = 0;
    timer;
    queue = [];
    messageListeners = new Map();
    openListeners = new Set();
    closeListeners = new Set();
    errorListeners = new Set();
    constructor(url, options) {
        this.baseUrl = new URL(url);
        this.headers = options.headers;
        const Ctor = options.WebSocket ?? globalThis.WebSocket;
        if (typeof Ctor !== "function") {
            throw new TypeError("zocket: no WebSocket implementation; on Node 20 pass { WebSocket } from the `ws` package in the options");
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
    get readyState() {
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
    get queuedCount() {
        return this.queue.length;
    }
    send(type, payload) {
        // Serialise first: a payload JSON can't carry throws here, whatever the state.
        const frame = JSON.stringify({ type, payload: payload === undefined ? {} : payload });
        if (this.state === "open" && this.socket) {
            this.socket.send(frame);
            return;
        }
        if (this.state === "closing" || this.state === "closed")
            throw new ClientClosedError(type);
        if (this.queue.length >= this.maxQueue)
            throw new QueueFullError(type, this.maxQueue);
        this.queue.push(frame);
    }
    subscribe(type, fn) {
        if (typeof fn !== "function")
            throw new TypeError(`zocket: client.on.${type} expects a listener function`);
        let set = this.messageListeners.get(type);
        if (!set) {
            set = new Set();
            this.messageListeners.set(type, set);
        }
        const entry = { fn: fn };
        set.add(entry);
        return () => {
            const current = this.messageListeners.get(type);
            if (!current)
                return;
            current.delete(entry);
            if (current.size === 0)
                this.messageListeners.delete(type);
        };
    }
    onOpen(fn) {
        return addListener(this.openListeners, fn);
    }
    onClose(fn) {
        return addListener(this.closeListeners, fn);
    }
    onError(fn) {
        return addListener(this.errorListeners, fn);
    }
    close(code = 1000, reason = "") {
        if (this.state === "closing" || this.state === "closed")
            return;
        this.clearTimer();
        this.queue.length = 0;
        const socket = this.socket;
        if (socket) {
            this.state = "closing";
            socket.close(code, reason);
        }
        else {
            // Waiting between attempts: nothing to close.
            this.state = "closed";
        }
    }
    reconnect() {
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
            }
            catch {
                // Already closing.
            }
        }
        this.retry();
        if (wasOpen) {
            // Report the end of the open connection so open/close events pair up.
            this.emit(this.closeListeners, { code: 1000, reason: "reconnect", wasClean: true, willReconnect: true, delayMs: 0 });
        }
    }
    openSocket() {
        this.state = "connecting";
        const protocols = this.offeredProtocols();
        const socket = new this.Ctor(this.buildUrl(), ...(protocols === undefined ? [] : [protocols]));
        this.socket = socket;
        socket.onopen = () => {
            if (socket === this.socket)
                this.handleOpen(socket);
        };
        socket.onmessage = (event) => {
            if (socket === this.socket)
                this.handleFrame(event.data);
        };
        // An error event is always followed by a close event, which drives
        // reconnection. The handler must exist: `ws` throws unhandled errors.
        socket.onerror = () => { };
        socket.onclose = (event) => {
            if (socket === this.socket) {
                this.handleClose({ code: event.code ?? 1006, reason: event.reason ?? "", wasClean: event.wasClean ?? false });
            }
        };
    }
    currentHeaders() {
        const headers = typeof this.headers === "function" ? this.headers() : this.headers;
        const out = {};
        for (const [name, value] of Object.entries(headers ?? {})) {
            if (value !== undefined && value !== null)
                out[name] = String(value);
        }
        return out;
    }
    buildUrl() {
        const url = new URL(this.baseUrl);
        if (this.headerTransport === "query") {
            for (const [name, value] of Object.entries(this.currentHeaders()))
                url.searchParams.set(name, value);
        }
        return url.toString();
    }
    offeredProtocols() {
        if (this.headerTransport !== "subprotocol")
            return this.protocols;
        const extra = this.protocols === undefined ? [] : Array.isArray(this.protocols) ? this.protocols : [this.protocols];
        return ["zocket", authEntry(this.currentHeaders()), ...extra];
    }
    handleOpen(socket) {
        this.state = "open";
        this.attempt = 0;
        // Listeners first, so that a rejoin sent in onOpen precedes the
        // messages queued while offline (which may need the membership).
        this.emit(this.openListeners, undefined);
        while (this.queue.length > 0 && this.state === "open" && this.socket === socket) {
            socket.send(this.queue.shift());
        }
    }
    handleFrame(data) {
        // Binary frames carry no zocket messages; malformed frames are skipped.
        if (typeof data !== "string")
            return;
        let frame;
        try {
            frame = JSON.parse(data);
        }
        catch {
            return;
        }
        if (typeof frame !== "object" || frame === null)
            return;
        const { type, payload } = frame;
        if (typeof type !== "string")
            return;
        if (type === ERROR_TYPE) {
            const p = (payload ?? {});
            const error = {
                code: typeof p.code === "string" ? p.code : "unknown",
                message: typeof p.message === "string" ? p.message : "",
                for: typeof p.for === "string" ? p.for : null,
            };
            if (typeof p.path === "string")
                error.path = p.path;
            this.emit(this.errorListeners, error);
            return;
        }
        const listeners = this.messageListeners.get(type);
        if (listeners)
            this.emit(listeners, payload);
    }
    handleClose(closed) {
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
    retry() {
        try {
            this.openSocket();
        }
        catch (error) {
            // e.g. the headers callback threw: count it as a failed attempt.
            this.socket = null;
            this.onListenerError(error);
            this.handleClose({ code: 1006, reason: String(error), wasClean: false });
        }
    }
    clearTimer() {
        if (this.timer !== undefined) {
            clearTimeout(this.timer);
            this.timer = undefined;
        }
    }
    emit(listeners, value) {
        // A copy: listeners may unsubscribe (or subscribe) while we iterate.
        for (const listener of [...listeners]) {
            try {
                listener.fn(value);
            }
            catch (error) {
                this.onListenerError(error);
            }
        }
    }
}
function addListener(set, fn) {
    if (typeof fn !== "function")
        throw new TypeError("zocket: expected a listener function");
    const entry = { fn };
    set.add(entry);
    return () => {
        set.delete(entry);
    };
}
function defaultListenerError(error) {
    const report = globalThis.reportError;
    if (typeof report === "function")
        report(error);
    else
        console.error("zocket: listener threw", error);
}
/** `zocket.auth.<base64url(JSON)>`, unpadded, as PROTOCOL.md describes. */
export function authEntry(headers) {
    const bytes = new TextEncoder().encode(JSON.stringify(headers));
    let binary = "";
    for (const b of bytes)
        binary += String.fromCharCode(b);
    const b64 = btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    return `zocket.auth.${b64}`;
}
