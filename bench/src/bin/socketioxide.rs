//! Baseline 3: socketioxide (0.18.x) on axum, with its defaults (including
//! the 128-packet per-socket buffer).
//!
//! Events: `join` (room name) → `socket.join(room)` and `onJoin
//! {roomId,userName}` to the room; `leave` (room name) → `onLeave` to the
//! room, then `socket.leave(room)`; `message {roomId,content}` →
//! `io.to(room).emit("message", {roomId,userName,content,timestamp})`, the
//! sender included. The user name comes from the `user-name` query parameter.
//!
//! TCP_NODELAY is set on every accepted socket (as Bun does).
//! `--addr 127.0.0.1:0` (or `PORT`); prints `LISTENING <port>` once bound.

use axum::serve::ListenerExt;
use serde::Deserialize;
use socketioxide::extract::{Data, SocketRef};
use socketioxide::SocketIo;
use zocket_bench::{ChatMessage, MemberEvent};

const MAX_ROOM_NAME: usize = 255;

#[derive(Deserialize)]
struct MessageIn {
    #[serde(rename = "roomId")]
    room_id: String,
    content: String,
}

fn on_connect(socket: SocketRef, io: SocketIo) {
    let name = zocket_bench::user_name_from_query(socket.req_parts().uri.query());

    let (n, io2) = (name.clone(), io.clone());
    socket.on("join", move |s: SocketRef, Data(room): Data<String>| {
        let (n, io) = (n.clone(), io2.clone());
        async move {
            if room.len() > MAX_ROOM_NAME {
                return;
            }
            s.join(room.clone());
            let ev = MemberEvent {
                room_id: &room,
                user_name: &n,
            };
            let _ = io.to(room.clone()).emit("onJoin", &ev).await;
        }
    });

    let (n, io2) = (name.clone(), io.clone());
    socket.on("leave", move |s: SocketRef, Data(room): Data<String>| {
        let (n, io) = (n.clone(), io2.clone());
        async move {
            let ev = MemberEvent {
                room_id: &room,
                user_name: &n,
            };
            let _ = io.to(room.clone()).emit("onLeave", &ev).await;
            s.leave(room);
        }
    });

    socket.on("message", move |Data(m): Data<MessageIn>| {
        let (n, io) = (name.clone(), io.clone());
        async move {
            let out = ChatMessage {
                room_id: &m.room_id,
                user_name: &n,
                content: &m.content,
                timestamp: zocket_bench::now_rfc3339(),
            };
            let _ = io.to(m.room_id.clone()).emit("message", &out).await;
        }
    });
}

fn main() {
    zocket_bench::raise_nofile();
    let addr = zocket_bench::server_addr();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            std::process::exit(1);
        }
    };
    rt.block_on(async move {
        let (layer, io) = SocketIo::new_layer();
        let io2 = io.clone();
        io.ns("/", move |s: SocketRef| {
            let io = io2.clone();
            async move { on_connect(s, io) }
        });
        let app = axum::Router::new().layer(layer);
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("bind {addr}: {e}");
                std::process::exit(1);
            }
        };
        if let Ok(local) = listener.local_addr() {
            zocket_bench::announce(local);
        }
        if let Err(e) = axum::serve(
            listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            }),
            app,
        )
        .await
        {
            eprintln!("serve: {e}");
        }
    });
}
