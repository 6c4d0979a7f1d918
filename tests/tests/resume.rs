//! Resumable sessions (`Config::resume`, PROTOCOL.md section 12): a client
//! whose connection is cut (the proxy of `zocket_tests::proxy`, no close
//! frame) and comes back keeps its id, rooms and context, and gets every
//! message sent meanwhile once, in order, before anything new; the session
//! ends (`on_disconnect`, leave notices) when the window passes; trimmed
//! buffers, spent and guessed tokens start a fresh session.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use zocket::client::{Backoff, Client};
use zocket::{ClientId, Config, Reject, Resume};
use zocket_tests::proxy::Proxy;
use zocket_tests::{serve, TestServer, TIMEOUT};

#[zocket::router]
pub mod app {
    #[headers]
    pub struct Headers {
        #[zocket(default = "anon")]
        pub user_name: String,
    }

    pub mod room {
        #[incoming]
        pub struct Join {
            pub room: String,
        }

        #[outgoing]
        pub struct Joined {
            pub room: String,
        }

        #[outgoing]
        pub struct Said {
            pub n: u32,
        }

        #[outgoing]
        pub struct Direct {
            pub n: u32,
        }

        #[outgoing]
        pub struct Left {
            pub user_name: String,
        }
    }
}

/// What the server's hooks saw, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Connected(String),
    Suspended(String),
    Resumed(String),
    Disconnected(String),
}

struct App {
    seen: mpsc::UnboundedSender<Seen>,
}

struct User {
    name: String,
}

impl app::Server for App {
    type Context = User;

    async fn on_connect(&self, headers: app::Headers, id: &ClientId) -> Result<User, Reject> {
        let _ = self.seen.send(Seen::Connected(id.to_string()));
        Ok(User {
            name: headers.user_name,
        })
    }

    async fn on_disconnect(&self, cx: &app::Ctx<User>) {
        let rooms = cx.rooms().current();
        let left = app::room::Left {
            user_name: cx.name.clone(),
        };
        cx.send().room().left(left).except_self().to_room(&rooms);
        let _ = self
            .seen
            .send(Seen::Disconnected(cx.client_id().to_string()));
    }

    async fn on_suspend(&self, cx: &app::Ctx<User>) {
        let _ = self.seen.send(Seen::Suspended(cx.client_id().to_string()));
    }

    async fn on_resume(&self, cx: &app::Ctx<User>) {
        let _ = self.seen.send(Seen::Resumed(cx.client_id().to_string()));
    }
}

impl app::room::Handlers for App {
    async fn join(&self, cx: &app::Ctx<User>, m: app::room::Join) {
        if cx.rooms().join(&m.room).is_ok() {
            cx.send()
                .room()
                .joined(app::room::Joined { room: m.room })
                .to([cx.client_id().clone()]);
        }
    }
}

struct Setup {
    server: TestServer<app::Router>,
    proxy: Proxy,
    seen: mpsc::UnboundedReceiver<Seen>,
}

async fn setup(resume: Resume) -> Setup {
    setup_with(Config::default().resume(Some(resume))).await
}

async fn setup_with(config: Config) -> Setup {
    let (tx, seen) = mpsc::unbounded_channel();
    let config = config.rate_limit(None);
    let server = serve(zocket::Zocket::<app::Router, App>::with_config(
        App { seen: tx },
        config,
    ))
    .await;
    let proxy = Proxy::start(server.addr).await;
    Setup {
        server,
        proxy,
        seen,
    }
}

/// A Rust client of the test server, with its messages, its resume
/// reports and its session's id.
type Joined = (
    Client<app::Router>,
    zocket::client::Messages<app::Router>,
    mpsc::UnboundedReceiver<bool>,
    String,
);

impl Setup {
    /// A Rust client through the proxy, named `name`: connected (the
    /// server saw it) and in room `r`.
    async fn joined_client(&mut self, name: &str) -> Joined {
        let client = client(&self.proxy.url(), name).await;
        let mut messages = client.messages();
        let resumed = resumed_events(&client);
        let id = client_id(&client).await;
        assert_eq!(self.next_seen().await, Seen::Connected(id.clone()));
        join(&client, &mut messages).await;
        (client, messages, resumed, id)
    }

    async fn next_seen(&mut self) -> Seen {
        tokio::time::timeout(TIMEOUT, self.seen.recv())
            .await
            .expect("no lifecycle event in time")
            .expect("server gone")
    }
}

fn fast_reconnect() -> Backoff {
    Backoff {
        initial: Duration::from_millis(20),
        factor: 1.0,
        max: Duration::from_millis(20),
        jitter: 0.0,
    }
}

async fn client(url: &str, name: &str) -> Client<app::Router> {
    Client::<app::Router>::builder(url)
        .headers(app::Headers {
            user_name: name.into(),
        })
        .reconnect(Some(fast_reconnect()))
        .connect()
        .await
        .expect("connect")
}

async fn next(messages: &mut zocket::client::Messages<app::Router>) -> app::Outgoing {
    zocket_tests::next(messages).await
}

/// Waits for the client to learn its session (the `zocket.session` frame).
async fn client_id(client: &Client<app::Router>) -> String {
    tokio::time::timeout(TIMEOUT, async {
        loop {
            if let Some(id) = client.client_id() {
                return id;
            }
            client.wait_for(zocket::client::State::Open).await;
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("no zocket.session frame")
}

fn resumed_events(client: &Client<app::Router>) -> mpsc::UnboundedReceiver<bool> {
    let (tx, rx) = mpsc::unbounded_channel();
    let _ = client.on_resumed(move |r| {
        let _ = tx.send(r.recovered);
    });
    rx
}

async fn recv<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(TIMEOUT, rx.recv())
        .await
        .expect("nothing in time")
        .expect("channel closed")
}

async fn join(client: &Client<app::Router>, messages: &mut zocket::client::Messages<app::Router>) {
    client
        .send()
        .room()
        .join(app::room::Join { room: "r".into() })
        .expect("send");
    match next(messages).await {
        app::Outgoing::Room(app::room::Outgoing::Joined(j)) => assert_eq!(j.room, "r"),
        other => panic!("expected Joined, got {other:?}"),
    }
}

/// A raw connection straight to the server, in room `r`, to watch for
/// leave notices.
type Raw =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn raw(url: &str, resume: Option<&str>) -> Raw {
    let mut request = url.into_client_request().expect("request");
    if let Some(value) = resume {
        request
            .headers_mut()
            .insert("zocket-resume", value.parse().expect("header value"));
    }
    let (ws, _) = tokio::time::timeout(TIMEOUT, tokio_tungstenite::connect_async(request))
        .await
        .expect("connect timed out")
        .expect("connect failed");
    ws
}

async fn recv_json(ws: &mut Raw) -> Value {
    loop {
        let frame = tokio::time::timeout(TIMEOUT, ws.next())
            .await
            .expect("no frame in time")
            .expect("stream ended")
            .expect("read failed");
        if let Message::Text(text) = frame {
            return serde_json::from_str(text.as_str()).expect("JSON");
        }
    }
}

async fn raw_join(ws: &mut Raw) {
    ws.send(Message::text(
        json!({"type":"room.join","payload":{"room":"r"}}).to_string(),
    ))
    .await
    .expect("send");
    assert_eq!(
        recv_json(ws).await,
        json!({"type":"room.joined","payload":{"room":"r"}})
    );
}

#[tokio::test]
async fn a_blip_loses_nothing() {
    let mut s = setup(Resume::default().buffer(4096, 4 << 20)).await;
    let (client, mut messages, mut resumed, id) = s.joined_client("ann").await;
    let mut observer = raw(&s.server.url(), None).await;
    let (_, observer_id, _) = session_of(&recv_json(&mut observer).await);
    assert_eq!(s.next_seen().await, Seen::Connected(observer_id.clone()));
    raw_join(&mut observer).await;

    // 1000 messages, to its room and to it alone: the first half just
    // before the cut (some are in flight, read by the proxy and lost, or
    // still queued when the server sees the drop), the second while it is
    // away. The observer, in the room too, is left out of these to keep its
    // stream short.
    let handle = s.server.handle.clone();
    let burst = |range: std::ops::Range<u32>| {
        let send = handle.send();
        for n in range {
            if n % 2 == 0 {
                send.room()
                    .said(app::room::Said { n })
                    .except([observer_id.as_str()])
                    .to_room(["r"]);
            } else {
                send.room().direct(app::room::Direct { n }).to([&id]);
            }
        }
    };
    burst(0..500);
    s.proxy.cut();
    assert_eq!(s.next_seen().await, Seen::Suspended(id.clone()));
    burst(500..1000);
    s.proxy.open();
    assert!(recv(&mut resumed).await, "recovered");
    assert_eq!(s.next_seen().await, Seen::Resumed(id.clone()));
    assert_eq!(client.client_id().as_deref(), Some(id.as_str()));
    // Something new after the resume: it must come after all 1000, and
    // nothing may come twice before it.
    s.server
        .handle
        .send()
        .room()
        .said(app::room::Said { n: 1000 })
        .to_room(["r"]);
    for expected in 0..=1000u32 {
        let n = match next(&mut messages).await {
            app::Outgoing::Room(app::room::Outgoing::Said(m)) => m.n,
            app::Outgoing::Room(app::room::Outgoing::Direct(m)) => m.n,
            other => panic!("expected message {expected}, got {other:?}"),
        };
        assert_eq!(n, expected);
    }
    // Still in its room, under its id, and nobody saw it leave.
    assert_eq!(s.server.handle.members("r").len(), 2);
    assert!(s
        .server
        .handle
        .members("r")
        .iter()
        .any(|m| m.as_str() == id));
    assert_eq!(
        recv_json(&mut observer).await,
        json!({"type":"room.said","payload":{"n":1000}}),
        "the observer hears the new message and no leave notice before it"
    );
    assert!(
        s.seen.try_recv().is_err(),
        "no second on_connect, no on_disconnect"
    );
    client.close();
    assert_eq!(s.next_seen().await, Seen::Disconnected(id));
}

#[tokio::test]
async fn window_expiry_ends_the_session_with_leave_notices() {
    let mut s = setup(Resume::default().window(Duration::from_millis(300))).await;
    let (client, _messages, mut resumed, id) = s.joined_client("ann").await;
    let mut observer = raw(&s.server.url(), None).await;
    let observer_session = recv_json(&mut observer).await;
    let observer_id = observer_session["payload"]["clientId"].clone();
    assert_eq!(
        s.next_seen().await,
        Seen::Connected(observer_id.as_str().expect("id").to_owned())
    );
    raw_join(&mut observer).await;

    s.proxy.cut();
    assert_eq!(s.next_seen().await, Seen::Suspended(id.clone()));
    assert_eq!(s.next_seen().await, Seen::Disconnected(id.clone()));
    assert_eq!(
        recv_json(&mut observer).await,
        json!({"type":"room.left","payload":{"userName":"ann"}})
    );
    assert_eq!(
        s.server.handle.members("r"),
        vec![ClientId::from(observer_id.as_str().expect("id"))]
    );

    s.proxy.open();
    assert!(
        !recv(&mut resumed).await,
        "the window is over: not recovered"
    );
    let Seen::Connected(new_id) = s.next_seen().await else {
        panic!("expected a new session");
    };
    assert_ne!(new_id, id);
    assert_eq!(client.client_id(), Some(new_id));
    client.close();
}

#[tokio::test]
async fn a_trimmed_buffer_is_not_recovered() {
    let mut s = setup(Resume::default().buffer(10, 1 << 20)).await;
    let (client, _messages, mut resumed, id) = s.joined_client("ann").await;

    s.proxy.cut();
    assert_eq!(s.next_seen().await, Seen::Suspended(id.clone()));
    for n in 0..50 {
        s.server
            .handle
            .send()
            .room()
            .direct(app::room::Direct { n })
            .to([&id]);
    }
    s.proxy.open();
    assert!(!recv(&mut resumed).await, "40 messages were trimmed");
    // The old session ends (its on_disconnect runs), a new one starts.
    let mut ended = false;
    let mut fresh = None;
    while !ended || fresh.is_none() {
        match s.next_seen().await {
            Seen::Disconnected(old) if old == id => ended = true,
            Seen::Connected(new) => fresh = Some(new),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_ne!(fresh.as_deref(), Some(id.as_str()));
    assert_eq!(s.server.handle.members("r").len(), 0);
    client.close();
}

/// The `zocket.session` frame's token and client id.
fn session_of(frame: &Value) -> (String, String, bool) {
    assert_eq!(frame["type"], "zocket.session", "{frame}");
    let p = &frame["payload"];
    (
        p["token"].as_str().expect("token").to_owned(),
        p["clientId"].as_str().expect("id").to_owned(),
        p["recovered"].as_bool().expect("recovered"),
    )
}

#[tokio::test]
async fn a_token_resumes_once_and_guesses_are_refused() {
    let mut s = setup(Resume::default()).await;
    let url = s.proxy.url();
    let mut ws = raw(&url, None).await;
    let (token, id, recovered) = session_of(&recv_json(&mut ws).await);
    assert!(!recovered);
    assert_eq!(token.len(), 64);
    assert_eq!(s.next_seen().await, Seen::Connected(id.clone()));
    raw_join(&mut ws).await;
    // While attached the token resumes nothing: a fresh session.
    let mut early = raw(&s.server.url(), Some(&format!("{token}.1"))).await;
    let (_, early_id, recovered) = session_of(&recv_json(&mut early).await);
    assert!(!recovered);
    assert_ne!(early_id, id);
    assert_eq!(s.next_seen().await, Seen::Connected(early_id));

    s.proxy.cut();
    assert_eq!(s.next_seen().await, Seen::Suspended(id.clone()));
    // A guess of the right length, and the right token with one digit
    // changed, are unknown; neither spends the real one.
    let guess = "0".repeat(64);
    let mut altered = token.clone().into_bytes();
    altered[63] = if altered[63] == b'0' { b'1' } else { b'0' };
    let altered = String::from_utf8(altered).expect("hex");
    // (Kept open: a dropped one would be a session suspended.)
    let mut fresh = Vec::new();
    for wrong in [guess, altered, "junk".to_owned()] {
        let mut ws = raw(&s.server.url(), Some(&format!("{wrong}.1"))).await;
        let (_, other, recovered) = session_of(&recv_json(&mut ws).await);
        assert!(!recovered, "{wrong}");
        assert_ne!(other, id);
        assert_eq!(s.next_seen().await, Seen::Connected(other));
        fresh.push(ws);
    }
    // Two connections present the real token at once: one wins.
    let value = format!("{token}.1");
    let direct = s.server.url();
    let (mut a, mut b) = tokio::join!(raw(&direct, Some(&value)), raw(&direct, Some(&value)));
    let (fa, fb) = tokio::join!(recv_json(&mut a), recv_json(&mut b));
    let (a_token, a_id, a_rec) = session_of(&fa);
    let (_, b_id, b_rec) = session_of(&fb);
    assert!(a_rec ^ b_rec, "exactly one recovers: {fa} {fb}");
    let (winner_id, loser_id) = if a_rec { (a_id, b_id) } else { (b_id, a_id) };
    assert_eq!(winner_id, id);
    assert_ne!(loser_id, id);
    let mut events = vec![s.next_seen().await, s.next_seen().await];
    events.sort_by_key(|e| format!("{e:?}"));
    assert_eq!(
        events,
        vec![Seen::Connected(loser_id), Seen::Resumed(id.clone())]
    );
    assert_ne!(a_token, token, "a resume hands out a new token");
    // The spent token is useless now, even after the winner drops.
    let winner = if a_rec { &mut a } else { &mut b };
    winner.close(None).await.expect("close");
    assert_eq!(s.next_seen().await, Seen::Disconnected(id.clone()));
    let mut late = raw(&s.server.url(), Some(&value)).await;
    let (_, late_id, recovered) = session_of(&recv_json(&mut late).await);
    assert!(!recovered);
    assert_ne!(late_id, id);
}

#[tokio::test]
async fn without_resume_no_session_frame_is_sent() {
    let (tx, _seen) = mpsc::unbounded_channel();
    let server = serve(app::Router::server(App { seen: tx })).await;
    let mut ws = raw(&server.url(), Some(&format!("{}.0", "a".repeat(64)))).await;
    raw_join(&mut ws).await;
}

/// Frames already written to the socket when it was cut (here: sent, and
/// not read by the client) are replayed from exactly the client's count.
#[tokio::test]
async fn frames_written_but_not_read_are_replayed_from_the_count() {
    let mut s = setup(Resume::default()).await;
    let mut ws = raw(&s.proxy.url(), None).await;
    let (token, id, _) = session_of(&recv_json(&mut ws).await);
    assert_eq!(s.next_seen().await, Seen::Connected(id.clone()));
    raw_join(&mut ws).await;
    let send = s.server.handle.send();
    for n in 0..100 {
        send.room().direct(app::room::Direct { n }).to([&id]);
    }
    for n in 0..10 {
        assert_eq!(
            recv_json(&mut ws).await,
            json!({"type":"room.direct","payload":{"n":n}})
        );
    }
    s.proxy.cut();
    drop(ws);
    assert_eq!(s.next_seen().await, Seen::Suspended(id.clone()));
    // Received: `room.joined` and ten messages.
    let mut back = raw(&s.server.url(), Some(&format!("{token}.11"))).await;
    let (_, back_id, recovered) = session_of(&recv_json(&mut back).await);
    assert!(recovered);
    assert_eq!(back_id, id);
    assert_eq!(s.next_seen().await, Seen::Resumed(id.clone()));
    s.server
        .handle
        .send()
        .room()
        .direct(app::room::Direct { n: 100 })
        .to([&id]);
    for n in 10..=100 {
        assert_eq!(
            recv_json(&mut back).await,
            json!({"type":"room.direct","payload":{"n":n}})
        );
    }
}

/// Shutdown does not wait out the window: a suspended session ends at
/// once, with its `on_disconnect`.
#[tokio::test]
async fn shutdown_ends_suspended_sessions() {
    let mut s = setup(Resume::default()).await;
    let mut ws = raw(&s.proxy.url(), None).await;
    let (_, id, _) = session_of(&recv_json(&mut ws).await);
    assert_eq!(s.next_seen().await, Seen::Connected(id.clone()));
    s.proxy.cut();
    assert_eq!(s.next_seen().await, Seen::Suspended(id.clone()));
    tokio::time::timeout(TIMEOUT, s.server.handle.shutdown())
        .await
        .expect("shutdown waited for the window");
    assert_eq!(s.next_seen().await, Seen::Disconnected(id));
    assert_eq!(s.server.handle.connections(), 0);
}

/// No pong in time is a drop too: the session is suspended, not ended.
#[tokio::test]
async fn a_heartbeat_timeout_suspends() {
    let config = Config::default()
        .ping_interval(Duration::from_millis(100))
        .pong_timeout(Duration::from_millis(100))
        .resume(Some(Resume::default()));
    let mut s = setup_with(config).await;
    // Never read again after the session frame, so pings go unanswered.
    let mut ws = raw(&s.server.url(), None).await;
    let (token, id, _) = session_of(&recv_json(&mut ws).await);
    assert_eq!(s.next_seen().await, Seen::Connected(id.clone()));
    assert_eq!(s.next_seen().await, Seen::Suspended(id.clone()));
    let mut back = raw(&s.server.url(), Some(&format!("{token}.0"))).await;
    let (_, back_id, recovered) = session_of(&recv_json(&mut back).await);
    assert!(recovered);
    assert_eq!(back_id, id);
    drop(ws);
}
