//! Baseline 2: a hand-written axum 0.8 WebSocket chat loop.
//!
//! Room map in a `Mutex<HashMap<room, HashMap<id, sender>>>`, one unbounded
//! mpsc channel and writer task per connection, each outgoing frame
//! serialised once per publish and shared (`Utf8Bytes`) by every recipient.
//! The writer drains its queue and flushes once per batch (feed many, flush
//! once). Semantics: `rooms.join` adds the connection to a room and sends
//! `rooms.onJoin` to the room (joiner included); `rooms.leave` sends
//! `rooms.onLeave` to the room and then removes the connection;
//! `rooms.message` sends `rooms.onMessage` to every member, sender included.
//!
//! TCP_NODELAY is set on every accepted socket (as Bun does).
//! `--addr 127.0.0.1:0` (or `PORT`); prints `LISTENING <port>` once bound.
//! `RAW_AXUM_READ_BUFFER` (bytes) overrides axum's 128 KiB read buffer.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use zocket_bench::{envelope, ChatMessage, Incoming, MemberEvent};

const MAX_ROOMS_PER_CONN: usize = 128;
const MAX_ROOM_NAME: usize = 255;
const MAX_BATCH: usize = 1024;

type Tx = mpsc::UnboundedSender<Utf8Bytes>;

#[derive(Default)]
struct Hub {
    rooms: Mutex<HashMap<String, HashMap<u64, Tx>>>,
    next_id: AtomicU64,
    read_buffer: Option<usize>,
}

impl Hub {
    fn publish(&self, room: &str, frame: Utf8Bytes) {
        let rooms = match self.rooms.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(members) = rooms.get(room) {
            for tx in members.values() {
                let _ = tx.send(frame.clone());
            }
        }
    }

    fn join(&self, room: &str, id: u64, tx: &Tx) {
        let mut rooms = match self.rooms.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        rooms
            .entry(room.to_owned())
            .or_default()
            .insert(id, tx.clone());
    }

    fn leave(&self, room: &str, id: u64) {
        let mut rooms = match self.rooms.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(members) = rooms.get_mut(room) {
            members.remove(&id);
            if members.is_empty() {
                rooms.remove(room);
            }
        }
    }
}

async fn upgrade(
    ws: WebSocketUpgrade,
    RawQuery(query): RawQuery,
    State(hub): State<Arc<Hub>>,
) -> Response {
    let name = zocket_bench::user_name_from_query(query.as_deref());
    let ws = match hub.read_buffer {
        Some(n) => ws.read_buffer_size(n),
        None => ws,
    };
    ws.on_upgrade(move |socket| connection(socket, name, hub))
}

async fn connection(socket: WebSocket, name: String, hub: Arc<Hub>) {
    let id = hub.next_id.fetch_add(1, Ordering::Relaxed);
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Utf8Bytes>();
    let writer = tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            if sink.feed(Message::Text(first)).await.is_err() {
                return;
            }
            for _ in 0..MAX_BATCH {
                match rx.try_recv() {
                    Ok(m) => {
                        if sink.feed(Message::Text(m)).await.is_err() {
                            return;
                        }
                    }
                    Err(_) => break,
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });

    let mut joined: HashSet<String> = HashSet::new();
    while let Some(Ok(msg)) = stream.next().await {
        let text = match msg {
            Message::Text(t) => t,
            Message::Close(_) => break,
            _ => continue,
        };
        let Ok(incoming) = serde_json::from_str::<Incoming>(text.as_str()) else {
            continue;
        };
        match incoming {
            Incoming::Join { room_id } => {
                if room_id.len() > MAX_ROOM_NAME
                    || (joined.len() >= MAX_ROOMS_PER_CONN && !joined.contains(&room_id))
                {
                    continue;
                }
                hub.join(&room_id, id, &tx);
                joined.insert(room_id.clone());
                let frame = envelope(
                    "rooms.onJoin",
                    MemberEvent {
                        room_id: &room_id,
                        user_name: &name,
                    },
                );
                hub.publish(&room_id, Utf8Bytes::from(frame));
            }
            Incoming::Leave { room_id } => {
                if joined.remove(&room_id) {
                    let frame = envelope(
                        "rooms.onLeave",
                        MemberEvent {
                            room_id: &room_id,
                            user_name: &name,
                        },
                    );
                    hub.publish(&room_id, Utf8Bytes::from(frame));
                    hub.leave(&room_id, id);
                }
            }
            Incoming::Message { room_id, content } => {
                if !joined.contains(&room_id) {
                    continue;
                }
                let frame = envelope(
                    "rooms.onMessage",
                    ChatMessage {
                        room_id: &room_id,
                        user_name: &name,
                        content: &content,
                        timestamp: zocket_bench::now_rfc3339(),
                    },
                );
                hub.publish(&room_id, Utf8Bytes::from(frame));
            }
        }
    }
    for room in &joined {
        hub.leave(room, id);
    }
    drop(tx);
    writer.abort();
}

fn main() {
    zocket_bench::raise_nofile();
    let addr = zocket_bench::server_addr();
    let hub = Arc::new(Hub {
        read_buffer: std::env::var("RAW_AXUM_READ_BUFFER")
            .ok()
            .and_then(|v| v.parse().ok()),
        ..Hub::default()
    });
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
        let app = Router::new().route("/", get(upgrade)).with_state(hub);
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
