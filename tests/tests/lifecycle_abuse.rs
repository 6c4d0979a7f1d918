//! Lifecycle guarantees under abuse: every `on_connect` ends in exactly one
//! `on_disconnect`, shutdown has a deadline whatever HTTP clients do, and
//! the handshake refuses what RFC 6455 refuses.

mod hardening_support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hardening_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zocket::Config;

const UPGRADE: &str = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n\
    Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

/// Clients that abort right after their upgrade request (reset, no read):
/// hyper's upgrade then fails after `on_connect` ran, and `on_disconnect`
/// must still run for each.
#[tokio::test]
async fn aborted_upgrades_still_end_in_on_disconnect() {
    let server = Server::start(Config::default()).await;
    for _ in 0..300 {
        let tcp = TcpStream::connect(server.addr).await.unwrap();
        // A zero linger resets at once (it does not block the thread).
        #[allow(deprecated)]
        tcp.set_linger(Some(Duration::ZERO)).unwrap();
        let mut tcp = tcp;
        tcp.write_all(UPGRADE.as_bytes()).await.unwrap();
        drop(tcp);
    }
    // A last, well-behaved client: once it is through, the server has
    // taken in every request before it.
    let mut ws = connect(&server).await;
    join(&mut ws, "r").await;
    drop(ws);
    let counts = server.counts.clone();
    eventually(|| {
        server.handle.connections() == 0
            && counts.connected.load(Ordering::SeqCst) == counts.disconnected.load(Ordering::SeqCst)
    })
    .await;
    let connected = counts.connected.load(Ordering::SeqCst);
    assert!(connected >= 1, "no on_connect ran: the test proved nothing");
    eprintln!("{connected} on_connect calls, each with its on_disconnect");
}

async fn status_of(server: &Server, request: &str) -> (u16, String) {
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(WAIT, async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = tcp.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before the response head");
            head.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("no response");
    let head = String::from_utf8_lossy(&head).into_owned();
    let status = head[9..12].parse().unwrap();
    (status, head.to_ascii_lowercase())
}

#[tokio::test]
async fn the_handshake_refuses_bad_keys_and_versions() {
    let server = Server::start(Config::default()).await;
    let (status, _) = status_of(&server, UPGRADE).await;
    assert_eq!(status, 101);
    for key in ["abc", "", "dGhlIHNhbXBsZSBub25jZSE="] {
        let request = UPGRADE.replace("dGhlIHNhbXBsZSBub25jZQ==", key);
        assert_eq!(status_of(&server, &request).await.0, 400, "key {key:?}");
    }
    let request = UPGRADE.replace("Version: 13", "Version: 8");
    let (status, head) = status_of(&server, &request).await;
    assert_eq!(status, 426);
    assert!(head.contains("sec-websocket-version: 13"), "{head}");
    let plain = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    assert_eq!(status_of(&server, plain).await.0, 426);
}

/// Shutdown is not held by HTTP clients: one that pipelines requests and
/// never reads the answers, one that trickles its request head. WebSockets
/// get their 1001 at once, and `serve` returns within the shutdown timeout.
#[tokio::test]
async fn shutdown_has_a_deadline_whatever_http_clients_do() {
    // The deadline on HTTP connections is zocket's accept loop's: plain
    // `axum::serve` waits for them without one (see the chat-axum example).
    if zocket_tests::serve_mode() == zocket_tests::ServeMode::Axum {
        eprintln!("skipped: axum::serve's graceful shutdown has no deadline");
        return;
    }
    let shutdown = Duration::from_millis(1500);
    let config = Config::default()
        .shutdown_timeout(shutdown)
        .write_timeout(Duration::from_secs(30))
        .header_read_timeout(Duration::from_secs(30));
    let mut server = Server::start(config).await;
    let mut ws = connect(&server).await;
    join(&mut ws, "r").await;

    // Pipelined requests whose answers are never read: the server's writes
    // to this socket stall once the socket buffers are full.
    let mut stalled = TcpStream::connect(server.addr).await.unwrap();
    let requests = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".repeat(2000);
    let writer = tokio::spawn(async move {
        for _ in 0..50 {
            if stalled.write_all(requests.as_bytes()).await.is_err() {
                break;
            }
        }
        stalled
    });
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
        .await
        .unwrap();

    let started = Instant::now();
    server.stop();
    assert_eq!(expect_close(&mut ws).await.0, 1001);
    let closed_after = started.elapsed();
    tokio::time::timeout(shutdown + Duration::from_secs(3), &mut server.task)
        .await
        .expect("serve was held past the shutdown deadline")
        .unwrap()
        .unwrap();
    let returned_after = started.elapsed();
    assert!(
        closed_after < shutdown,
        "the WebSocket waited {closed_after:?} for its 1001"
    );
    eprintln!("1001 after {closed_after:?}, serve returned after {returned_after:?}");
    writer.abort();
    drop(slow);
}
