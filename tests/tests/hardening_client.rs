//! The typed client's side of hardening: error frames reach the
//! application (`on_error`), and a server that goes silent (no frames, not
//! even pings) is detected and reconnected to.

mod hardening_support;

use std::time::Duration;

use hardening_support::*;
use tokio::sync::mpsc;
use zocket::client::{Backoff, Client, ClientConfig, State};
use zocket::{Config, ErrorCode, ErrorPayload};

fn fast_reconnect() -> Backoff {
    Backoff {
        initial: Duration::from_millis(10),
        factor: 1.0,
        max: Duration::from_millis(10),
        jitter: 0.0,
    }
}

#[tokio::test]
async fn error_frames_reach_on_error() {
    let server = Server::start(Config::default()).await;
    let client = Client::<app::Router>::builder(server.url())
        .reconnect(None)
        .connect()
        .await
        .unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel::<ErrorPayload>();
    let _sub = client.on_error(move |e| {
        let _ = tx.send(e.clone());
    });
    client
        .send()
        .room()
        .ping(app::room::Ping {
            message: String::new(),
        })
        .unwrap();
    client.send().room().admin(app::room::Admin {}).unwrap();
    let first = tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        first,
        ErrorPayload {
            code: ErrorCode::InvalidPayload,
            message: "must not be empty".into(),
            for_type: Some("room.ping".into()),
            path: Some("message".into()),
            data: None,
        }
    );
    let second = tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.code, ErrorCode::Refused);
    assert_eq!(second.for_type.as_deref(), Some("room.admin"));
    assert_eq!(
        client.state(),
        State::Open,
        "errors do not close the client"
    );
}

/// A "server" that completes the WebSocket handshake and then says nothing
/// (a dead peer behind a live TCP connection). The client must notice
/// within its idle timeout and connect again.
#[tokio::test]
async fn client_detects_a_silent_server_and_reconnects() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (accepted_tx, mut accepted) = mpsc::unbounded_channel();
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        for _ in 0..2 {
            let (tcp, _) = listener.accept().await.unwrap();
            let ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            held.push(ws); // never read, never written
            let _ = accepted_tx.send(());
        }
        // Keep both sockets open until the test ends.
        std::future::pending::<()>().await;
    });
    let config = ClientConfig {
        idle_timeout: Duration::from_millis(300),
        reconnect: Some(fast_reconnect()),
        ..ClientConfig::default()
    };
    let client = Client::<app::Router>::builder(format!("ws://{addr}/"))
        .config(config)
        .connect()
        .await
        .unwrap();
    let (closed_tx, mut closed) = mpsc::unbounded_channel();
    let _sub = client.on_close(move |info| {
        let _ = closed_tx.send(info.reason.clone());
    });
    tokio::time::timeout(WAIT, accepted.recv()).await.unwrap();
    let reason = tokio::time::timeout(WAIT, closed.recv())
        .await
        .expect("silent server not detected")
        .unwrap();
    assert_eq!(reason, "server silent");
    tokio::time::timeout(WAIT, accepted.recv())
        .await
        .expect("client did not reconnect")
        .unwrap();
    client.close();
    server.abort();
}

/// The client refuses a message over `max_message_size` (the server's
/// default, 64 KiB) with a typed error instead of sending it, which would
/// get the connection closed with 1009. A message of exactly the limit is
/// sent and handled: the client measures what the server measures.
#[tokio::test]
async fn an_oversize_message_is_refused_before_it_is_sent() {
    use zocket::client::SendError;
    const LIMIT: usize = 64 * 1024;
    let server = Server::start(Config::default()).await;
    let client = Client::<app::Router>::builder(server.url())
        .reconnect(None)
        .connect()
        .await
        .unwrap();
    let mut messages = client.messages();
    let (closed_tx, mut closed) = mpsc::unbounded_channel::<()>();
    let _sub = client.on_close(move |_| {
        let _ = closed_tx.send(());
    });
    client
        .send()
        .room()
        .join(app::room::Join {
            room_id: "r".into(),
        })
        .unwrap();
    assert!(matches!(
        zocket_tests::next(&mut messages).await,
        app::Outgoing::Room(app::room::Outgoing::Joined(_))
    ));
    // The frame's length with an empty pad (key order does not change it).
    let overhead = serde_json::json!({
        "type": "room.say",
        "payload": {"roomId": "r", "seq": 1, "pad": ""},
    })
    .to_string()
    .len();
    let say = |seq: u64, pad: usize| app::room::Say {
        room_id: "r".into(),
        seq,
        pad: "x".repeat(pad),
    };
    client.send().room().say(say(1, LIMIT - overhead)).unwrap();
    match client.send().room().say(say(2, LIMIT - overhead + 1)) {
        Err(SendError::TooLarge { size, max }) => {
            assert_eq!((size, max), (LIMIT + 1, LIMIT));
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    client.send().room().say(say(3, 0)).unwrap();
    // Seq 1 (at the limit) and 3 arrive, in order; 2 was never sent.
    for expected in [1, 3] {
        match zocket_tests::next(&mut messages).await {
            app::Outgoing::Room(app::room::Outgoing::Said(said)) => {
                assert_eq!(said.seq, expected)
            }
            other => panic!("expected Said, got {other:?}"),
        }
    }
    assert_eq!(client.state(), State::Open);
    assert!(closed.try_recv().is_err(), "the connection never closed");
}

/// After a reconnect the `on_open` listeners' sends go out before what was
/// queued while offline: a line typed offline reaches the room the
/// listener re-joins, instead of arriving before the join and going
/// nowhere. `on_open` runs once per connection, the first included.
#[tokio::test]
async fn offline_queue_is_sent_after_the_rejoin() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use zocket_tests::proxy::Proxy;

    let server = Server::start(Config::default()).await;
    let proxy = Proxy::start(server.addr).await;
    let client = Client::<app::Router>::builder(proxy.url())
        .reconnect(Some(fast_reconnect()))
        .connect()
        .await
        .unwrap();
    let mut messages = client.messages();
    let (closed_tx, mut closed) = mpsc::unbounded_channel::<()>();
    let _closes = client.on_close(move |_| {
        let _ = closed_tx.send(());
    });
    let opens = Arc::new(AtomicUsize::new(0));
    let _opens = client.on_open({
        let client = client.clone();
        let opens = opens.clone();
        move || {
            opens.fetch_add(1, Ordering::SeqCst);
            let _ = client.send().room().join(app::room::Join {
                room_id: "r".into(),
            });
        }
    });
    assert_eq!(
        opens.load(Ordering::SeqCst),
        1,
        "on_open runs at once for the connection already open"
    );
    let joined = |m: app::Outgoing| match m {
        app::Outgoing::Room(app::room::Outgoing::Joined(j)) => j.room_id,
        other => panic!("expected Joined, got {other:?}"),
    };
    assert_eq!(joined(zocket_tests::next(&mut messages).await), "r");
    // Someone else in the room, straight to the server.
    let mut observer = connect(&server).await;
    join(&mut observer, "r").await;

    proxy.cut();
    tokio::time::timeout(WAIT, closed.recv())
        .await
        .expect("the client did not see its connection cut")
        .unwrap();
    // Offline (the proxy refuses connections): the line waits in the queue.
    client
        .send()
        .room()
        .say(app::room::Say {
            room_id: "r".into(),
            seq: 1,
            pad: String::new(),
        })
        .unwrap();
    assert_eq!(client.queued(), 1);
    assert_ne!(client.state(), State::Open);
    proxy.open();

    // Re-joined first (one join: `on_open` ran once more), then the line,
    // which the client itself hears only because it is in the room again.
    assert_eq!(joined(zocket_tests::next(&mut messages).await), "r");
    match zocket_tests::next(&mut messages).await {
        app::Outgoing::Room(app::room::Outgoing::Said(said)) => assert_eq!(said.seq, 1),
        other => panic!("expected the offline line, got {other:?}"),
    }
    assert_eq!(opens.load(Ordering::SeqCst), 2);
    let frame = next_frame(&mut observer).await;
    assert_eq!(frame["type"], "room.said", "{frame}");
    assert_eq!(frame["payload"]["seq"], 1, "{frame}");
    client.close();
}
