// Baseline 4: Bun's native pub/sub (uWebSockets underneath).
//
// rooms.join    -> ws.subscribe(room), then server.publish(room, rooms.onJoin)
// rooms.leave   -> server.publish(room, rooms.onLeave), then ws.unsubscribe(room)
// rooms.message -> server.publish(room, rooms.onMessage), serialised once;
//                  server.publish reaches every subscriber, sender included.
//
// Usage: bun server.ts [--addr 127.0.0.1:0]   (or PORT=...)
// Prints "LISTENING <port>" once bound.

type Data = { userName: string; rooms: Set<string> };

const MAX_ROOMS_PER_CONN = 128;
const MAX_ROOM_NAME = 255;

function parseAddr(): { hostname: string; port: number } {
  const argv = process.argv.slice(2);
  let addr: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--addr") addr = argv[i + 1];
    else if (argv[i].startsWith("--addr=")) addr = argv[i].slice(7);
  }
  if (!addr) addr = `127.0.0.1:${process.env.PORT ?? "0"}`;
  const at = addr.lastIndexOf(":");
  return { hostname: addr.slice(0, at), port: Number(addr.slice(at + 1)) };
}

const { hostname, port } = parseAddr();

const server = Bun.serve<Data, {}>({
  hostname,
  port,
  fetch(req, srv) {
    const url = new URL(req.url);
    const userName = (url.searchParams.get("user-name") ?? "anonymous").slice(0, 64);
    if (srv.upgrade(req, { data: { userName, rooms: new Set<string>() } })) return undefined;
    return new Response("websocket only", { status: 400 });
  },
  websocket: {
    message(ws, raw) {
      if (typeof raw !== "string") return;
      let msg: any;
      try {
        msg = JSON.parse(raw);
      } catch {
        return;
      }
      const roomId = msg?.payload?.roomId;
      if (typeof roomId !== "string" || roomId.length > MAX_ROOM_NAME) return;
      const data = ws.data;
      switch (msg.type) {
        case "rooms.join": {
          if (!data.rooms.has(roomId) && data.rooms.size >= MAX_ROOMS_PER_CONN) return;
          data.rooms.add(roomId);
          ws.subscribe(roomId);
          server.publish(
            roomId,
            JSON.stringify({ type: "rooms.onJoin", payload: { roomId, userName: data.userName } }),
          );
          break;
        }
        case "rooms.leave": {
          if (!data.rooms.delete(roomId)) return;
          server.publish(
            roomId,
            JSON.stringify({ type: "rooms.onLeave", payload: { roomId, userName: data.userName } }),
          );
          ws.unsubscribe(roomId);
          break;
        }
        case "rooms.message": {
          const content = msg.payload.content;
          if (typeof content !== "string" || !data.rooms.has(roomId)) return;
          server.publish(
            roomId,
            JSON.stringify({
              type: "rooms.onMessage",
              payload: { roomId, userName: data.userName, content, timestamp: new Date().toISOString() },
            }),
          );
          break;
        }
      }
    },
  },
});

console.log(`LISTENING ${server.port}`);
