//! Shared by the `hardening_*` tests: a test router, a server on
//! 127.0.0.1 port 0, and raw WebSocket client helpers. Nothing here sleeps
//! to synchronise: every wait is on an event, bounded by a timeout.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use zocket::{ClientId, Config, Handle, Reject, Zocket};

/// Every wait in these tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(10);

#[zocket::router]
pub mod app {
    #[headers]
    pub struct Headers {
        #[zocket(default = "anon")]
        pub user_name: String,
        #[zocket(default)]
        pub token: String,
    }

    pub mod room {
        #[incoming]
        pub struct Join {
            pub room_id: String,
        }

        #[incoming]
        pub struct Say {
            pub room_id: String,
            pub seq: u64,
            #[zocket(default)]
            pub pad: String,
        }

        /// Sends `count` messages of `size` bytes to the room, except the
        /// sender.
        #[incoming]
        pub struct Blast {
            pub room_id: String,
            pub count: u32,
            pub size: u32,
        }

        #[incoming]
        pub struct Ping {
            #[zocket(default = "ping", validate = zocket::validate::not_empty)]
            pub message: String,
        }

        /// Refused by middleware.
        #[incoming]
        pub struct Admin {}

        /// Its handler panics.
        #[incoming]
        pub struct Boom {}

        #[outgoing]
        pub struct Joined {
            pub room_id: String,
        }

        #[outgoing]
        pub struct Said {
            pub room_id: String,
            pub seq: u64,
            pub pad: String,
        }

        #[outgoing]
        pub struct Pong {
            pub reply: String,
        }
    }
}

/// What the test server tells the test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Disconnected(ClientId),
    /// A send to a room overflowed some member's queue.
    Overflow,
}

pub struct App {
    events: mpsc::UnboundedSender<Event>,
    /// `on_connect` calls that succeeded, and `on_disconnect` calls.
    pub counts: Arc<Counts>,
}

#[derive(Default)]
pub struct Counts {
    pub connected: AtomicUsize,
    pub disconnected: AtomicUsize,
}

pub struct User {
    pub user_name: String,
}

impl app::Server for App {
    type Context = User;

    async fn on_connect(&self, headers: app::Headers, _id: &ClientId) -> Result<User, Reject> {
        if headers.token == "reject" {
            return Err(Reject::unauthorized("bad token"));
        }
        self.counts.connected.fetch_add(1, Ordering::SeqCst);
        Ok(User {
            user_name: headers.user_name,
        })
    }

    async fn on_disconnect(&self, cx: &app::Ctx<User>) {
        self.counts.disconnected.fetch_add(1, Ordering::SeqCst);
        let _ = self
            .events
            .send(Event::Disconnected(cx.client_id().clone()));
    }

    async fn before(
        &self,
        _cx: &app::Ctx<User>,
        message: &app::Incoming,
    ) -> Result<(), zocket::Refusal> {
        if let app::Incoming::Room(app::room::Incoming::Admin(_)) = message {
            return Err(zocket::Refusal::new("admins only"));
        }
        Ok(())
    }
}

impl app::room::Handlers for App {
    async fn join(&self, cx: &app::Ctx<User>, m: app::room::Join) {
        if cx.rooms().join(&m.room_id).is_ok() {
            let _ = cx
                .send()
                .room()
                .joined(app::room::Joined { room_id: m.room_id })
                .to([cx.client_id()]);
        }
    }

    async fn say(&self, cx: &app::Ctx<User>, m: app::room::Say) {
        let room = m.room_id.clone();
        let delivery = cx
            .send()
            .room()
            .said(app::room::Said {
                room_id: m.room_id,
                seq: m.seq,
                pad: m.pad,
            })
            .to_room([room]);
        if delivery.overflowed > 0 {
            let _ = self.events.send(Event::Overflow);
        }
    }

    async fn blast(&self, cx: &app::Ctx<User>, m: app::room::Blast) {
        let pad = "x".repeat(m.size as usize);
        for seq in 0..u64::from(m.count) {
            let _ = cx
                .send()
                .room()
                .said(app::room::Said {
                    room_id: m.room_id.clone(),
                    seq,
                    pad: pad.clone(),
                })
                .except_self()
                .to_room([&m.room_id]);
        }
    }

    async fn ping(&self, cx: &app::Ctx<User>, m: app::room::Ping) {
        let _ = cx
            .send()
            .room()
            .pong(app::room::Pong {
                reply: format!("{}: {}", cx.user_name, m.message),
            })
            .to([cx.client_id()]);
    }

    async fn admin(&self, _cx: &app::Ctx<User>, _m: app::room::Admin) {
        unreachable!("middleware refuses admin");
    }

    async fn boom(&self, _cx: &app::Ctx<User>, _m: app::room::Boom) {
        panic!("boom (expected by the test)");
    }
}

/// A running test server.
pub struct Server {
    pub addr: SocketAddr,
    pub counts: Arc<Counts>,
    pub handle: Handle<app::Router>,
    pub events: mpsc::UnboundedReceiver<Event>,
    stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    pub async fn start(config: Config) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, events) = mpsc::unbounded_channel();
        let counts = Arc::new(Counts::default());
        let app = App {
            events: tx,
            counts: counts.clone(),
        };
        let zocket = Zocket::<app::Router, App>::with_config(app, config);
        let handle = zocket.handle();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = zocket_tests::spawn_server(zocket, listener, async move {
            let _ = stopped.await;
        });
        Server {
            addr,
            counts,
            handle,
            events,
            stop: Some(stop),
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// Triggers the shutdown signal.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    pub async fn next_event(&mut self) -> Event {
        tokio::time::timeout(WAIT, self.events.recv())
            .await
            .expect("no server event in time")
            .expect("server gone")
    }
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub async fn connect(server: &Server) -> Ws {
    let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(server.url()))
        .await
        .expect("connect timed out")
        .expect("connect failed");
    ws
}

/// Connects with a small receive buffer, so that a client that stops
/// reading backs up the server quickly.
pub async fn connect_small_buffer(server: &Server) -> Ws {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    let (ws, _) = tokio::time::timeout(
        WAIT,
        tokio_tungstenite::client_async(server.url(), MaybeTlsStream::Plain(stream)),
    )
    .await
    .expect("handshake timed out")
    .expect("handshake failed");
    ws
}

/// The HTTP status of a refused upgrade with these extra headers.
pub async fn upgrade_status(server: &Server, headers: &[(&str, &str)]) -> u16 {
    let mut request = server.url().into_client_request().unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("connect timed out")
    {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("unexpected error: {other}"),
    }
}

pub async fn send(ws: &mut Ws, frame: Value) {
    ws.send(Message::text(frame.to_string())).await.unwrap();
}

pub async fn send_raw(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text.to_owned())).await.unwrap();
}

/// What the server sent next, skipping pings.
#[derive(Debug, PartialEq)]
pub enum Got {
    Frame(Value),
    Close(u16, String),
    /// The connection ended without a close frame.
    Gone,
}

pub async fn next(ws: &mut Ws) -> Got {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let item = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("nothing from the server in time");
        match item {
            Some(Ok(Message::Text(text))) => {
                return Got::Frame(serde_json::from_str(text.as_str()).unwrap())
            }
            Some(Ok(Message::Close(Some(frame)))) => {
                return Got::Close(u16::from(frame.code), frame.reason.to_string())
            }
            Some(Ok(Message::Close(None))) => return Got::Close(0, String::new()),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return Got::Gone,
        }
    }
}

pub async fn next_frame(ws: &mut Ws) -> Value {
    match next(ws).await {
        Got::Frame(v) => v,
        other => panic!("expected a frame, got {other:?}"),
    }
}

pub async fn expect_close(ws: &mut Ws) -> (u16, String) {
    loop {
        match next(ws).await {
            Got::Close(code, reason) => return (code, reason),
            Got::Frame(_) => continue,
            Got::Gone => panic!("connection dropped without a close frame"),
        }
    }
}

pub async fn join(ws: &mut Ws, room: &str) {
    send(ws, json!({"type":"room.join","payload":{"roomId":room}})).await;
    assert_eq!(
        next_frame(ws).await,
        json!({"type":"room.joined","payload":{"roomId":room}})
    );
}

pub fn close_code(code: CloseCode) -> u16 {
    code.into()
}

/// Waits until `cond` holds, checking after each yield; for state the
/// server changes right after an event the test can see.
pub async fn eventually(mut cond: impl FnMut() -> bool) {
    tokio::time::timeout(WAIT, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("condition not reached in time");
}
