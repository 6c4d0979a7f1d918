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
}

export interface FakeChatServer {
  url: string;
  /** Every connection accepted so far, in order. */
  connections: ServerConnection[];
  onConnection(listener: (connection: ServerConnection) => void): () => void;
  /** Every well-formed frame the server received. */
  onFrame(listener: (frame: ServerFrame) => void): () => void;
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
  const rooms = new Map<string, Set<ServerConnection>>();

  const sendTo = (connection: ServerConnection, type: string, payload: unknown) => {
    connection.socket.send(JSON.stringify({ type, payload }));
  };
  const toRoom = (roomId: string, type: string, payload: unknown) => {
    for (const member of rooms.get(roomId) ?? []) sendTo(member, type, payload);
  };
  const error = (connection: ServerConnection, code: string, message: string, forType: string | null, path?: string) => {
    sendTo(connection, "zocket.error", { code, message, for: forType, ...(path === undefined ? {} : { path }) });
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
      let frame: { type?: unknown; payload?: unknown };
      try {
        frame = JSON.parse(data.toString());
      } catch (e) {
        return error(connection, "invalid_json", String(e), null);
      }
      if (typeof frame?.type !== "string") return error(connection, "invalid_json", "missing `type`", null);
      const type = frame.type;
      const payload = (frame.payload ?? {}) as Record<string, unknown>;
      for (const listener of [...frameListeners]) listener({ connection, type, payload });
      const field = (name: string): string | undefined => {
        const value = payload[name];
        if (typeof value === "string") return value;
        error(connection, "invalid_payload", `\`${name}\` must be a string`, type, name);
        return undefined;
      };
      switch (type) {
        case "rooms.join": {
          const roomId = field("roomId");
          if (roomId === undefined) return;
          let members = rooms.get(roomId);
          if (!members) rooms.set(roomId, (members = new Set()));
          members.add(connection);
          return toRoom(roomId, "rooms.onJoin", { roomId, userName: connection.userName });
        }
        case "rooms.leave": {
          const roomId = field("roomId");
          if (roomId === undefined) return;
          toRoom(roomId, "rooms.onLeave", { roomId, userName: connection.userName });
          rooms.get(roomId)?.delete(connection);
          return;
        }
        case "rooms.message": {
          const roomId = field("roomId");
          const content = roomId === undefined ? undefined : field("content");
          if (roomId === undefined || content === undefined) return;
          if (!rooms.get(roomId)?.has(connection)) {
            return error(connection, "refused", `not a member of \`${roomId}\``, type);
          }
          return toRoom(roomId, "rooms.onMessage", {
            roomId,
            userName: connection.userName,
            content,
            timestamp: new Date().toISOString(),
          });
        }
        default:
          return error(connection, "unknown_type", `unknown message type \`${type}\``, type);
      }
    });
    for (const listener of [...connectionListeners]) listener(connection);
  });

  return {
    url: `ws://127.0.0.1:${port}/`,
    connections,
    onConnection: (listener) => subscribe(connectionListeners, listener),
    onFrame: (listener) => subscribe(frameListeners, listener),
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
