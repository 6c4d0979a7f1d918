// A tiny in-process stand-in for the Rust chat example, speaking the zocket
// wire format with the `ws` package. It is only as faithful as these client
// tests need; the Rust server has its own tests.

import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";

export interface ServerConnection {
  socket: WebSocket;
  userName: string;
  query: URLSearchParams;
  protocol: string;
}

export interface ServerFrame {
  connection: ServerConnection;
  type: string;
  payload: unknown;
  /** The frame's `rpcId`, when it is a request (or the client's answer to one). */
  rpcId?: string;
  /** The frame as received. */
  raw: string;
}

/** What the client answered to a server request: the whole frame, parsed. */
export type ClientAnswer =
  | { type: "__rpc_res"; rpcId: string; payload: unknown }
  | { type: "zocket.error"; rpcId: string; payload: { code: string; message: string; data?: unknown } };

export interface FakeChatServer {
  url: string;
  /** Every connection accepted so far, in order. */
  connections: ServerConnection[];
  onConnection(listener: (connection: ServerConnection) => void): () => void;
  /** Every well-formed frame the server received. */
  onFrame(listener: (frame: ServerFrame) => void): () => void;
  /**
   * Frames for which `listener` returns true are not handled (nor
   * answered): the test answers them itself, or never.
   */
  intercept(listener: (frame: ServerFrame) => boolean): () => void;
  /** Answers an intercepted request with `__rpc_res`. */
  reply(frame: ServerFrame, payload: unknown): void;
  /** Sends a request (a frame with a server-chosen `rpcId`); resolves with the client's answer. */
  request(connection: ServerConnection, type: string, payload: unknown): Promise<ClientAnswer>;
  /** Cuts every connection without a close frame (the client sees 1006). */
  dropAll(): void;
  /** Closes every connection with a close frame. */
  closeAll(code: number, reason: string): void;
  stop(): Promise<void>;
}

type Listener<T> = (value: T) => void;

function subscribe<T>(set: Set<Listener<T>>, listener: Listener<T>): () => void {
  set.add(listener);
  return () => {
    set.delete(listener);
  };
}

export async function startFakeChatServer(): Promise<FakeChatServer> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve, reject) => {
    wss.once("listening", resolve);
    wss.once("error", reject);
  });
  const { port } = wss.address() as AddressInfo;

  const connections: ServerConnection[] = [];
  const connectionListeners = new Set<Listener<ServerConnection>>();
  const frameListeners = new Set<Listener<ServerFrame>>();
  const interceptors = new Set<(frame: ServerFrame) => boolean>();
  const requests = new Map<string, (answer: ClientAnswer) => void>();
  let requestCounter = 0;
  const rooms = new Map<string, Set<ServerConnection>>();

  const sendTo = (connection: ServerConnection, type: string, payload: unknown) => {
    connection.socket.send(JSON.stringify({ type, payload }));
  };
  // The answer to a request, in the frame shape PROTOCOL.md gives.
  const replyTo = (connection: ServerConnection, rpcId: string, payload: unknown) => {
    connection.socket.send(JSON.stringify({ type: "__rpc_res", rpcId, payload }));
  };
  const toRoom = (roomId: string, type: string, payload: unknown) => {
    for (const member of rooms.get(roomId) ?? []) sendTo(member, type, payload);
  };
  const error = (
    connection: ServerConnection,
    code: string,
    message: string,
    forType: string | null,
    path?: string,
    rpcId?: string,
    data?: unknown,
  ) => {
    const payload = {
      code,
      message,
      for: forType,
      ...(path === undefined ? {} : { path }),
      ...(data === undefined ? {} : { data }),
    };
    connection.socket.send(
      JSON.stringify(rpcId === undefined ? { type: "zocket.error", payload } : { type: "zocket.error", rpcId, payload }),
    );
  };
  const leaveAll = (connection: ServerConnection) => {
    for (const members of rooms.values()) members.delete(connection);
  };

  wss.on("connection", (socket: WebSocket, request: IncomingMessage) => {
    const query = new URL(request.url ?? "/", "ws://placeholder").searchParams;
    const connection: ServerConnection = {
      socket,
      userName: query.get("user-name") ?? "Anonymous",
      query,
      protocol: socket.protocol,
    };
    connections.push(connection);
    socket.on("close", () => leaveAll(connection));
    socket.on("message", (data, isBinary) => {
      if (isBinary) return error(connection, "binary_unsupported", "binary frames carry no zocket messages", null);
      const raw = data.toString();
      let frame: { type?: unknown; payload?: unknown; rpcId?: unknown };
      try {
        frame = JSON.parse(raw);
      } catch (e) {
        return error(connection, "invalid_json", String(e), null);
      }
      if (typeof frame?.type !== "string") return error(connection, "invalid_json", "missing `type`", null);
      const type = frame.type;
      const rpcId = typeof frame.rpcId === "string" ? frame.rpcId : undefined;
      const payload = (frame.payload ?? {}) as Record<string, unknown>;
      const received: ServerFrame = { connection, type, payload, raw, ...(rpcId === undefined ? {} : { rpcId }) };
      for (const listener of [...frameListeners]) listener(received);
      // The client's answers to the server's own requests.
      if ((type === "__rpc_res" || type === "zocket.error") && rpcId !== undefined) {
        const pending = requests.get(rpcId);
        requests.delete(rpcId);
        pending?.(frame as ClientAnswer);
        return;
      }
      if ([...interceptors].some((intercepted) => intercepted(received))) return;
      const field = (name: string): string | undefined => {
        const value = payload[name];
        if (typeof value === "string") return value;
        error(connection, "invalid_payload", `\`${name}\` must be a string`, type, name, rpcId);
        return undefined;
      };
      // A request to a message without a reply type is acked once handled.
      const ack = () => {
        if (rpcId !== undefined) replyTo(connection, rpcId, null);
      };
      switch (type) {
        case "rooms.join": {
          const roomId = field("roomId");
          if (roomId === undefined) return;
          let members = rooms.get(roomId);
          if (!members) rooms.set(roomId, (members = new Set()));
          members.add(connection);
          toRoom(roomId, "rooms.onJoin", { roomId, userName: connection.userName });
          return ack();
        }
        case "rooms.leave": {
          const roomId = field("roomId");
          if (roomId === undefined) return;
          toRoom(roomId, "rooms.onLeave", { roomId, userName: connection.userName });
          rooms.get(roomId)?.delete(connection);
          return ack();
        }
        case "rooms.message": {
          const roomId = field("roomId");
          const content = roomId === undefined ? undefined : field("content");
          if (roomId === undefined || content === undefined) return;
          if (!rooms.get(roomId)?.has(connection)) {
            return error(connection, "refused", `not a member of \`${roomId}\``, type, undefined, rpcId);
          }
          toRoom(roomId, "rooms.onMessage", {
            roomId,
            userName: connection.userName,
            content,
            timestamp: new Date().toISOString(),
          });
          return ack();
        }
        case "rooms.members": {
          // A request with a reply type and a typed application error.
          const roomId = field("roomId");
          if (roomId === undefined) return;
          const members = rooms.get(roomId);
          if (!members?.has(connection)) {
            return error(connection, "handler_error", `not a member of \`${roomId}\``, type, undefined, rpcId, {
              kind: "notMember",
            });
          }
          const names = [...members].map((m) => m.userName).sort();
          if (rpcId !== undefined) replyTo(connection, rpcId, { roomId, members: names });
          return;
        }
        default:
          return error(connection, "unknown_type", `unknown message type \`${type}\``, type, undefined, rpcId);
      }
    });
    for (const listener of [...connectionListeners]) listener(connection);
  });

  return {
    url: `ws://127.0.0.1:${port}/`,
    connections,
    onConnection: (listener) => subscribe(connectionListeners, listener),
    onFrame: (listener) => subscribe(frameListeners, listener),
    intercept(listener) {
      interceptors.add(listener);
      return () => {
        interceptors.delete(listener);
      };
    },
    reply(frame, payload) {
      if (frame.rpcId === undefined) throw new Error(`frame ${frame.raw} is not a request`);
      replyTo(frame.connection, frame.rpcId, payload);
    },
    request(connection, type, payload) {
      const rpcId = `s-${++requestCounter}`;
      return new Promise<ClientAnswer>((resolve) => {
        requests.set(rpcId, resolve);
        connection.socket.send(JSON.stringify({ type, payload, rpcId }));
      });
    },
    dropAll() {
      for (const client of wss.clients) client.terminate();
    },
    closeAll(code, reason) {
      for (const client of wss.clients) client.close(code, reason);
    },
    stop() {
      for (const client of wss.clients) client.terminate();
      return new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
