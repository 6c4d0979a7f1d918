import { reconnectDelay, resolveReconnectOptions } from "./backoff.js";
import { ClientClosedError, ERROR_TYPE, MessageTooLargeError, QueueFullError, RPC_RESPONSE_TYPE, RpcError, } from "./errors.js";
import { createPathProxy } from "./path-proxy.js";
/** Measures frames as the server does: in UTF-8 bytes. */
const utf8 = new TextEncoder();
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
/** The frame a server that keeps sessions opens every connection with (PROTOCOL.md §12). */
export const SESSION_TYPE = "zocket.session";
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
        call: createPathProxy((type, callArgs) => connection.call(type, callArgs[0], callArgs[1])),
        answer: createPathProxy((type, callArgs) => connection.answer(type, callArgs[0])),
        onOpen: (listener) => connection.onOpen(listener),
        onClose: (listener) => connection.onClose(listener),
        onError: (listener) => connection.onError(listener),
        onResumed: (listener) => connection.onResumed(listener),
        get clientId() {
            return connection.clientId;
        },
        close: (code, reason) => connection.close(code, reason),
        reconnect: () => connection.reconnect(),
        get readyState() {
            return connection.readyState;
        },
        get queuedCount() {
            return connection.queuedCount;
        },
        get pendingCalls() {
            return connection.pendingCalls;
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
    rpcTimeoutMs;
    maxPendingCalls;
    maxMessageSize;
    onListenerError;
    socket = null;
    state = "connecting";
    attempt = 0;
    timer;
    queue = [];
    /** Calls waiting for their answer, by rpcId. */
    pending = new Map();
    /** rpcIds: a random prefix per client, then a counter. */
    rpcPrefix = randomPrefix();
    rpcCounter = 0;
    answerers = new Map();
    messageListeners = new Map();
    openListeners = new Set();
    /** Counts the connections opened: which one an `onOpen` listener ran for. */
    opens = 0;
    closeListeners = new Set();
    errorListeners = new Set();
    resumedListeners = new Set();
    /**
     * The session to resume: the latest token and the frames of the session
     * received (every text frame but `zocket.session`); `null` until a
     * server that keeps sessions sends one.
     */
    session = null;
    /** The current connection offered to resume. */
    askedResume = false;
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
        this.rpcTimeoutMs = checkTimeout(options.rpcTimeoutMs ?? 10_000, "option rpcTimeoutMs");
        const maxPendingCalls = options.maxPendingCalls ?? 1024;
        if (!Number.isInteger(maxPendingCalls) || maxPendingCalls < 0) {
            throw new RangeError("zocket option maxPendingCalls must be an integer >= 0");
        }
        this.maxPendingCalls = maxPendingCalls;
        const maxMessageSize = options.maxMessageSize ?? 65_536;
        if (!Number.isInteger(maxMessageSize) || maxMessageSize < 1) {
            throw new RangeError("zocket option maxMessageSize must be an integer >= 1");
        }
        this.maxMessageSize = maxMessageSize;
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
    get pendingCalls() {
        return this.pending.size;
    }
    send(type, payload) {
        // Serialise first: a payload JSON can't carry throws here, whatever the state.
        const frame = JSON.stringify({ type, payload: payload === undefined ? {} : payload });
        this.checkSize(type, frame);
        if (this.state === "open" && this.socket) {
            this.socket.send(frame);
            return;
        }
        if (this.state === "closing" || this.state === "closed")
            throw new ClientClosedError(type);
        if (this.queue.length >= this.maxQueue)
            throw new QueueFullError(type, this.maxQueue);
        this.queue.push({ frame });
    }
    call(type, payload, options) {
        // Every failure is a rejection, never a throw: callers only await.
        try {
            const timeoutMs = options?.timeoutMs === undefined ? this.rpcTimeoutMs : checkTimeout(options.timeoutMs, "call option timeoutMs");
            const rpcId = `${this.rpcPrefix}-${++this.rpcCounter}`;
            const frame = JSON.stringify({ type, payload: payload === undefined ? {} : payload, rpcId });
            this.checkSize(type, frame);
            if (this.state === "closing" || this.state === "closed")
                throw new ClientClosedError(type);
            if (this.pending.size >= this.maxPendingCalls) {
                const why = `zocket: ${this.maxPendingCalls} calls are already pending; \`${type}\` was not sent`;
                throw new RpcError("too_many_calls", why, { for: type });
            }
            const socket = this.state === "open" ? this.socket : null;
            if (!socket && this.queue.length >= this.maxQueue)
                throw new QueueFullError(type, this.maxQueue);
            return new Promise((resolve, reject) => {
                const timer = setTimeout(() => {
                    const call = this.pending.get(rpcId);
                    if (!call)
                        return;
                    this.pending.delete(rpcId);
                    if (!call.sent) {
                        // Never sent: take it out of the queue, the server never sees it.
                        const at = this.queue.findIndex((q) => q.rpcId === rpcId);
                        if (at >= 0)
                            this.queue.splice(at, 1);
                    }
                    reject(new RpcError("timeout", `no answer to \`${type}\` within ${timeoutMs} ms`, { for: type, rpcId }));
                }, timeoutMs);
                this.pending.set(rpcId, { type, resolve, reject, timer, sent: socket !== null });
                if (socket)
                    socket.send(frame);
                else
                    this.queue.push({ frame, rpcId });
            });
        }
        catch (error) {
            return Promise.reject(error);
        }
    }
    /** Throws `MessageTooLargeError` for a frame over `maxMessageSize` bytes. */
    checkSize(type, frame) {
        const size = this.oversize(frame);
        if (size !== undefined)
            throw new MessageTooLargeError(type, size, this.maxMessageSize);
    }
    /** The size in bytes of a frame over `maxMessageSize`; `undefined` for one within it. */
    oversize(frame) {
        // A UTF-16 unit is 1 to 3 UTF-8 bytes: most frames need no encoding.
        if (frame.length * 3 <= this.maxMessageSize)
            return undefined;
        const size = utf8.encode(frame).length;
        return size > this.maxMessageSize ? size : undefined;
    }
    answer(type, fn) {
        if (typeof fn !== "function")
            throw new TypeError(`zocket: client.answer.${type} expects an answerer function`);
        if (this.answerers.has(type)) {
            throw new Error(`zocket: \`${type}\` already has an answerer; call the function its registration returned first`);
        }
        const answerer = fn;
        this.answerers.set(type, answerer);
        return () => {
            if (this.answerers.get(type) === answerer)
                this.answerers.delete(type);
        };
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
        if (typeof fn !== "function")
            throw new TypeError("zocket: expected a listener function");
        const entry = { fn, ranFor: 0 };
        this.openListeners.add(entry);
        if (this.state === "open") {
            // The connection is already announced: run for it, as the Rust
            // client does, but not inside this call (the caller may not yet hold
            // the unsubscribe function the listener uses).
            const current = this.opens;
            queueMicrotask(() => {
                if (this.state === "open" && this.opens === current && this.openListeners.has(entry)) {
                    this.runOpenListener(entry);
                }
            });
        }
        return () => {
            this.openListeners.delete(entry);
        };
    }
    /** Runs `entry` for the current connection, unless it already ran for it. */
    runOpenListener(entry) {
        if (entry.ranFor === this.opens)
            return;
        entry.ranFor = this.opens;
        try {
            entry.fn();
        }
        catch (error) {
            this.onListenerError(error);
        }
    }
    onClose(fn) {
        return addListener(this.closeListeners, fn);
    }
    onError(fn) {
        return addListener(this.errorListeners, fn);
    }
    onResumed(fn) {
        return addListener(this.resumedListeners, fn);
    }
    get clientId() {
        return this.session?.clientId ?? null;
    }
    close(code = 1000, reason = "") {
        if (this.state === "closing" || this.state === "closed")
            return;
        this.clearTimer();
        this.queue.length = 0;
        this.failCalls(false, "the client was closed");
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
        this.failCalls(true, "the connection was dropped by reconnect()");
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
        // A browser cannot set headers: the resume request travels as a
        // protocol entry next to `zocket` (PROTOCOL.md §12).
        const session = this.session;
        this.askedResume = session !== null;
        const resume = session === null ? [] : [`zocket.resume.${session.token}.${session.received}`];
        if (this.headerTransport !== "subprotocol" && resume.length === 0)
            return this.protocols;
        const extra = this.protocols === undefined ? [] : Array.isArray(this.protocols) ? this.protocols : [this.protocols];
        const auth = this.headerTransport === "subprotocol" ? [authEntry(this.currentHeaders())] : [];
        return ["zocket", ...auth, ...resume, ...extra.filter((p) => p !== "zocket")];
    }
    /** A `zocket.session` frame: the token to resume with next, and the answer to this connection's resume. */
    handleSession(payload) {
        const p = (payload ?? {});
        if (typeof p.token !== "string" || typeof p.clientId !== "string")
            return;
        const recovered = p.recovered === true;
        const received = recovered && this.session ? this.session.received : 0;
        this.session = { token: p.token, clientId: p.clientId, received };
        if (this.askedResume) {
            this.askedResume = false;
            this.emit(this.resumedListeners, { recovered });
        }
    }
    handleOpen(socket) {
        this.state = "open";
        this.attempt = 0;
        this.opens += 1;
        // Listeners first, so that a rejoin sent in onOpen precedes the
        // messages queued while offline (which may need the membership).
        // A copy: listeners may unsubscribe (or subscribe) while we iterate.
        for (const entry of [...this.openListeners])
            this.runOpenListener(entry);
        while (this.queue.length > 0 && this.state === "open" && this.socket === socket) {
            const { frame, rpcId } = this.queue.shift();
            if (rpcId !== undefined) {
                const call = this.pending.get(rpcId);
                if (call)
                    call.sent = true;
            }
            socket.send(frame);
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
            frame = null;
        }
        const { type, payload, rpcId: rawRpcId } = (typeof frame === "object" && frame !== null ? frame : {});
        if (type === SESSION_TYPE) {
            this.handleSession(payload);
            return;
        }
        // Every other text frame counts, whatever it is: the server counts
        // them all, and the count is where a resume starts again.
        if (this.session)
            this.session.received += 1;
        if (typeof type !== "string")
            return;
        const rpcId = typeof rawRpcId === "string" ? rawRpcId : undefined;
        if (type === RPC_RESPONSE_TYPE) {
            // A late answer (after a timeout or a reconnect) is dropped.
            const call = rpcId === undefined ? undefined : this.pending.get(rpcId);
            if (call?.sent) {
                this.settleCall(rpcId, call);
                call.resolve(payload === undefined ? null : payload);
            }
            return;
        }
        if (type === ERROR_TYPE) {
            const p = (payload ?? {});
            const error = {
                code: typeof p.code === "string" ? p.code : "unknown",
                message: typeof p.message === "string" ? p.message : "",
                for: typeof p.for === "string" ? p.for : null,
            };
            if (typeof p.path === "string")
                error.path = p.path;
            if (p.data !== undefined)
                error.data = p.data;
            const call = rpcId === undefined ? undefined : this.pending.get(rpcId);
            if (call?.sent) {
                this.settleCall(rpcId, call);
                call.reject(new RpcError(error.code, error.message, { for: call.type, data: error.data, path: error.path, rpcId }));
                return;
            }
            if (rpcId !== undefined)
                error.rpcId = rpcId;
            this.emit(this.errorListeners, error);
            return;
        }
        const listeners = this.messageListeners.get(type);
        if (listeners)
            this.emit(listeners, payload);
        if (rpcId !== undefined)
            this.answerRequest(type, rpcId, payload);
    }
    /** Answers a server request (a frame with an rpcId) with its answerer's reply. */
    answerRequest(type, rpcId, payload) {
        const socket = this.socket;
        // Only on the connection the request came on: the server forgets its
        // pending requests when a connection ends.
        const write = (frame) => {
            if (!socket || socket !== this.socket || this.state !== "open")
                return;
            const size = this.oversize(frame);
            if (size !== undefined) {
                // The server would close the connection with 1009: answer with an
                // error instead, so its request fails at once, not at its timeout
                // (PROTOCOL.md § 10). Reported locally too, as the app's bug.
                this.onListenerError(new MessageTooLargeError(type, size, this.maxMessageSize));
                const message = `the answer is ${size} bytes, over the client's maxMessageSize of ${this.maxMessageSize}`;
                frame = JSON.stringify({ type: ERROR_TYPE, rpcId, payload: { code: "handler_error", message, for: type } });
                // Not even that fits (a tiny limit, a long rpcId): nothing can go.
                if (this.oversize(frame) !== undefined)
                    return;
            }
            socket.send(frame);
        };
        const fail = (error) => {
            const message = error instanceof Error ? error.message : String(error);
            const data = error instanceof RpcError ? error.data : undefined;
            const body = { code: "handler_error", message, ...(data === undefined ? {} : { data }) };
            let frame;
            try {
                frame = JSON.stringify({ type: ERROR_TYPE, rpcId, payload: body });
            }
            catch {
                // The data cannot travel as JSON: answer without it.
                frame = JSON.stringify({ type: ERROR_TYPE, rpcId, payload: { code: "handler_error", message } });
            }
            write(frame);
        };
        const answerer = this.answerers.get(type);
        if (!answerer) {
            fail(new RpcError("handler_error", `the client has no answerer for \`${type}\``, { for: type }));
            return;
        }
        let result;
        try {
            result = Promise.resolve(answerer(payload));
        }
        catch (error) {
            result = Promise.reject(error);
        }
        result.then((reply) => {
            let frame;
            try {
                frame = JSON.stringify({ type: RPC_RESPONSE_TYPE, rpcId, payload: reply === undefined ? null : reply });
            }
            catch (error) {
                this.onListenerError(error);
                fail(error);
                return;
            }
            write(frame);
        }, (error) => {
            // A thrown RpcError is the answerer's way to fail; anything else
            // may be a bug, so it is reported locally too.
            if (!(error instanceof RpcError))
                this.onListenerError(error);
            fail(error);
        });
    }
    settleCall(rpcId, call) {
        clearTimeout(call.timer);
        this.pending.delete(rpcId);
    }
    /**
     * Rejects the calls in flight with `disconnected` (`all`: the queued ones
     * too), at once rather than at their timeout.
     */
    failCalls(onlySent, why) {
        for (const [rpcId, call] of [...this.pending]) {
            if (onlySent && !call.sent)
                continue;
            this.settleCall(rpcId, call);
            call.reject(new RpcError("disconnected", `\`${call.type}\` got no answer: ${why}`, { for: call.type, rpcId }));
        }
    }
    handleClose(closed) {
        this.socket = null;
        // Calls still in the offline queue stay there, as sends do.
        this.failCalls(true, `the connection closed (code ${closed.code})`);
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
function checkTimeout(ms, what) {
    // setTimeout fires at once past 2^31 - 1 ms.
    if (typeof ms !== "number" || !(ms > 0) || ms > 2_147_483_647) {
        throw new RangeError(`zocket ${what} must be a number of ms in (0, 2147483647]`);
    }
    return ms;
}
/** 8 random base-36 characters: makes rpcIds unique across clients too. */
function randomPrefix() {
    const bytes = new Uint8Array(8);
    const crypto = globalThis.crypto;
    if (crypto?.getRandomValues)
        crypto.getRandomValues(bytes);
    else
        for (let i = 0; i < bytes.length; i++)
            bytes[i] = Math.floor(Math.random() * 256);
    let out = "";
    for (const b of bytes)
        out += (b % 36).toString(36);
    return out;
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
