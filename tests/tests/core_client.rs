//! The typed client: several listeners and unsubscribing, the bounded
//! offline queue, reconnecting after the server comes back, close().

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use zocket::client::{Backoff, SendError, State};
use zocket_tests::fixture::{app, App};
use zocket_tests::{next, serve, serve_on, TIMEOUT};

fn headers(name: &str) -> app::Headers {
    app::Headers {
        user_name: name.into(),
        admin: false,
    }
}

fn ping(c: &app::Client, text: &str) -> Result<(), SendError> {
    c.send().basic().ping(app::basic::Ping {
        message: text.into(),
    })
}

async fn recv<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(TIMEOUT, rx.recv())
        .await
        .expect("nothing within the timeout")
        .expect("channel closed")
}

#[tokio::test]
async fn several_listeners_and_unsubscribe_on_drop() {
    let server = serve(app::Router::server(App::default())).await;
    let client = app::Client::connect(server.url(), headers("l"))
        .await
        .unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel::<(u8, String)>();
    let tx1 = tx.clone();
    let first = client
        .on()
        .basic()
        .pong(move |p| drop(tx1.send((1, p.reply.clone()))));
    let tx2 = tx.clone();
    let _second = client
        .on()
        .basic()
        .pong(move |p| drop(tx2.send((2, p.reply.clone()))));
    let mut stream = client.messages();

    ping(&client, "one").unwrap();
    let mut got = vec![recv(&mut rx).await, recv(&mut rx).await];
    got.sort();
    assert_eq!(got, [(1, "pong: one".into()), (2, "pong: one".into())]);
    next(&mut stream).await;

    first.unsubscribe();
    ping(&client, "two").unwrap();
    // The stream sees the reply after the listeners were called.
    next(&mut stream).await;
    assert_eq!(recv(&mut rx).await, (2, "pong: two".into()));
    assert!(rx.try_recv().is_err(), "unsubscribed listener was called");
}

#[tokio::test]
async fn offline_queue_is_bounded_and_flushed_after_reconnect() {
    let server = serve(app::Router::server(App::default())).await;
    let addr = server.addr;
    let client = app::Client::builder(server.url())
        .headers(headers("q"))
        .max_queue(3)
        .reconnect(Some(Backoff {
            initial: Duration::from_millis(20),
            factor: 1.5,
            max: Duration::from_millis(200),
            jitter: 0.1,
        }))
        .connect()
        .await
        .unwrap();
    let opens = Arc::new(AtomicUsize::new(0));
    let (open_tx, mut open_rx) = mpsc::unbounded_channel();
    let o = opens.clone();
    let _open = client.on_open(move || {
        o.fetch_add(1, Ordering::SeqCst);
        let _ = open_tx.send(());
    });
    // Run at once for the connection open since `connect()`.
    recv(&mut open_rx).await;
    let (close_tx, mut close_rx) = mpsc::unbounded_channel();
    let _close = client.on_close(move |info| drop(close_tx.send(info.clone())));

    server.shutdown().await;
    let info = recv(&mut close_rx).await;
    assert_eq!(info.code, Some(1001), "shutdown closes with Going Away");

    // Offline: three fit, the fourth is an error to the caller.
    for n in 0..3 {
        ping(&client, &format!("queued {n}")).unwrap();
    }
    assert!(matches!(
        ping(&client, "overflow"),
        Err(SendError::QueueFull { capacity: 3 })
    ));
    assert_eq!(client.queued(), 3);

    let mut stream = client.messages();
    let _server = serve_on(app::Router::server(App::default()), addr).await;
    recv(&mut open_rx).await;
    assert_eq!(client.state(), State::Open);
    for n in 0..3 {
        let app::Outgoing::Basic(app::basic::Outgoing::Pong(p)) = next(&mut stream).await else {
            panic!("expected pong")
        };
        assert_eq!(p.reply, format!("pong: queued {n}"), "in order, once");
    }
    assert_eq!(
        opens.load(Ordering::SeqCst),
        2,
        "the first connection and the reconnect"
    );
}

#[tokio::test]
async fn reconnect_and_close() {
    let server = serve(app::Router::server(App::default())).await;
    let client = app::Client::connect(server.url(), headers("r"))
        .await
        .unwrap();
    let (open_tx, mut open_rx) = mpsc::unbounded_channel();
    let _open = client.on_open(move || {
        let _ = open_tx.send(());
    });
    assert_eq!(client.state(), State::Open);
    recv(&mut open_rx).await;
    client.reconnect();
    recv(&mut open_rx).await;
    let mut stream = client.messages();
    ping(&client, "after reconnect").unwrap();
    next(&mut stream).await;
    server.handle.wait_connections(1).await;

    client.close();
    tokio::time::timeout(TIMEOUT, client.wait_for(State::Closed))
        .await
        .expect("client closed");
    assert!(matches!(ping(&client, "x"), Err(SendError::Closed)));
    server.handle.wait_connections(0).await;
}

/// The client speaks plain `ws://` only: `wss://` and other schemes are
/// refused before any connection, with errors that say why; a port nobody
/// listens on is an I/O error.
#[tokio::test]
async fn urls_it_cannot_connect_to_are_typed_errors() {
    use zocket::client::ConnectError;
    let err = |url: &str| {
        let url = url.to_owned();
        async move {
            match app::Client::connect(url, headers("u")).await {
                Ok(_) => panic!("connected"),
                Err(error) => error,
            }
        }
    };
    let tls = err("wss://127.0.0.1:1/").await;
    assert!(matches!(tls, ConnectError::TlsUnsupported), "{tls:?}");
    assert!(tls.to_string().contains("wss://"), "{tls}");
    let http = err("http://127.0.0.1:1/").await;
    assert!(matches!(http, ConnectError::InvalidUrl(_)), "{http:?}");
    // A port that was just free: nothing listens there.
    let free = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let refused = err(&format!("ws://{free}/")).await;
    assert!(matches!(refused, ConnectError::Io(_)), "{refused:?}");
    assert!(
        refused.to_string().starts_with("connection failed: "),
        "{refused}"
    );
}
