//! Defaults-table rows about a connection's life: the bounded outgoing
//! queue (4008) without harm to others, the write timeout, the heartbeat,
//! and graceful shutdown (1001).

mod hardening_support;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hardening_support::*;
use serde_json::json;
use zocket::Config;

/// A client that stops reading is cut off with 4008 once its queue
/// overflows, while a second client in the same room receives every
/// message, in order; the cut-off client got a gap-free prefix first.
#[tokio::test]
async fn non_reading_client_is_closed_with_4008_and_the_room_keeps_receiving() {
    let config = Config::default()
        .rate_limit(None)
        .max_queued_frames(64)
        .max_queued_bytes(256 * 1024)
        .write_timeout(Duration::from_secs(30));
    let mut server = Server::start(config).await;
    let mut slow = connect_small_buffer(&server).await;
    join(&mut slow, "r").await;
    let mut fast = connect(&server).await;
    join(&mut fast, "r").await;

    let pad = "p".repeat(1024);
    let mut overflowed_at = None;
    let mut seq = 0u64;
    // Closed loop: each message is sent after the previous one came back,
    // so only the slow client's queue can grow. Bounded: ~50 MB at most.
    while seq < 50_000 {
        send(
            &mut fast,
            json!({"type":"room.say","payload":{"roomId":"r","seq":seq,"pad":pad}}),
        )
        .await;
        let got = next_frame(&mut fast).await;
        assert_eq!(got["type"], "room.said");
        assert_eq!(got["payload"]["seq"], seq, "fast client: in order, no gap");
        if overflowed_at.is_none() && server.events.try_recv() == Ok(Event::Overflow) {
            overflowed_at = Some(seq);
        }
        seq += 1;
        if overflowed_at.is_some_and(|at| seq > at + 100) {
            break;
        }
    }
    let overflowed_at = overflowed_at.expect("slow client's queue never overflowed");

    // The fast client is unaffected after the slow one is cut off.
    assert!(seq > overflowed_at + 100);

    // The slow client now reads: a gap-free prefix, then close 4008.
    let mut expected = 0u64;
    let close = loop {
        match next(&mut slow).await {
            Got::Frame(f) => {
                assert_eq!(
                    f["payload"]["seq"], expected,
                    "slow client: in order, no gap"
                );
                expected += 1;
            }
            Got::Close(code, reason) => break (code, reason),
            Got::Gone => panic!("slow client dropped without a close frame"),
        }
    };
    assert_eq!(close, (4008, "outgoing queue overflow".into()));
    assert!(expected <= overflowed_at + 1);
    match server.next_event().await {
        Event::Disconnected(_) => {}
        other => panic!("{other:?}"),
    }
    eventually(|| server.handle.len("r") == 1).await;
}

/// A write that stalls past the write timeout drops the connection even
/// when its queue never overflows (few, large frames).
#[tokio::test]
async fn stalled_write_is_dropped_after_the_write_timeout() {
    let config = Config::default()
        .max_queued_frames(1024)
        .max_queued_bytes(64 * 1024 * 1024)
        .max_message_size(64 * 1024)
        .write_timeout(Duration::from_millis(500));
    let mut server = Server::start(config).await;
    let mut slow = connect_small_buffer(&server).await;
    join(&mut slow, "r").await;
    let mut other = connect(&server).await;
    join(&mut other, "r").await;
    let started = Instant::now();
    // 40 × 256 KiB to the slow client: far more than socket buffers hold.
    send(
        &mut other,
        json!({"type":"room.blast","payload":{"roomId":"r","count":40,"size":262144}}),
    )
    .await;
    match server.next_event().await {
        Event::Disconnected(_) => {}
        other => panic!("{other:?}"),
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(450),
        "dropped too early: {took:?}"
    );
    assert!(took < Duration::from_secs(5), "dropped too late: {took:?}");
    eventually(|| server.handle.len("r") == 1).await;
    // The other client is still served.
    send(&mut other, json!({"type":"room.ping"})).await;
    assert_eq!(next_frame(&mut other).await["type"], "room.pong");
}

/// A client that never answers pings is closed and leaves its rooms.
#[tokio::test]
async fn no_pong_closes_and_removes_from_rooms() {
    let config = Config::default()
        .ping_interval(Duration::from_millis(100))
        .pong_timeout(Duration::from_millis(200));
    let mut server = Server::start(config).await;
    let mut silent = connect(&server).await;
    join(&mut silent, "r").await;
    assert_eq!(server.handle.len("r"), 1);
    // The client never polls its socket again, so it never answers a ping.
    // (That a client which answers stays connected is the next test.)
    match server.next_event().await {
        Event::Disconnected(_) => {}
        other => panic!("{other:?}"),
    }
    eventually(|| server.handle.len("r") == 0).await;
    assert_eq!(server.handle.rooms(), 0);
    // Reading now: queued pings, then the close frame.
    assert_eq!(
        expect_close(&mut silent).await,
        (1008, "heartbeat timeout".into())
    );
}

/// A client that answers pings stays connected across many intervals.
#[tokio::test]
async fn answering_pings_keeps_the_connection() {
    let config = Config::default()
        .ping_interval(Duration::from_millis(50))
        .pong_timeout(Duration::from_millis(100));
    let server = Server::start(config).await;
    let mut ws = connect(&server).await;
    let mut pings = 0;
    // Reading answers pings (tungstenite replies with pongs).
    while pings < 10 {
        match tokio::time::timeout(WAIT, ws.next()).await.unwrap() {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Ping(_))) => pings += 1,
            other => panic!("{other:?}"),
        }
    }
    send(&mut ws, json!({"type":"room.ping"})).await;
    assert_eq!(next_frame(&mut ws).await["type"], "room.pong");
}

/// Shutdown: every client gets 1001 after what was queued for it,
/// `on_disconnect` runs for each, new upgrades are refused, and the serve
/// future returns.
#[tokio::test]
async fn shutdown_closes_everyone_with_1001_and_returns() {
    let mut server = Server::start(Config::default()).await;
    let mut a = connect(&server).await;
    let mut b = connect(&server).await;
    join(&mut a, "r").await;
    join(&mut b, "r").await;
    server.stop();
    for ws in [&mut a, &mut b] {
        assert_eq!(
            expect_close(ws).await,
            (1001, "server shutting down".into())
        );
    }
    for _ in 0..2 {
        assert!(matches!(server.next_event().await, Event::Disconnected(_)));
    }
    let result = tokio::time::timeout(WAIT, &mut server.task)
        .await
        .expect("serve did not return after shutdown");
    result.unwrap().unwrap();
    assert_eq!(server.handle.connections(), 0);
    assert!(tokio::net::TcpStream::connect(server.addr).await.is_err());
}

/// Shutdown drains: frames queued for a client that is behind when the
/// server stops are still delivered, in order, before the 1001.
#[tokio::test]
async fn shutdown_drains_queued_frames_before_1001() {
    let config = Config::default()
        .max_queued_bytes(64 * 1024 * 1024)
        .shutdown_timeout(Duration::from_secs(20))
        .write_timeout(Duration::from_secs(20));
    let mut server = Server::start(config).await;
    let mut behind = connect_small_buffer(&server).await;
    join(&mut behind, "r").await;
    let mut sender = connect(&server).await;
    join(&mut sender, "r").await;
    // 40 × 256 KiB: far more than the socket buffers hold, so most of it is
    // still in the server's queue when the shutdown starts.
    send(
        &mut sender,
        json!({"type":"room.blast","payload":{"roomId":"r","count":40,"size":262144}}),
    )
    .await;
    // Messages are handled in order: the pong means the blast was queued.
    send(&mut sender, json!({"type":"room.ping"})).await;
    assert_eq!(next_frame(&mut sender).await["type"], "room.pong");
    server.stop();
    assert_eq!(
        expect_close(&mut sender).await,
        (1001, "server shutting down".into())
    );
    for seq in 0..40u64 {
        let frame = next_frame(&mut behind).await;
        assert_eq!(frame["payload"]["seq"], seq);
    }
    assert_eq!(
        expect_close(&mut behind).await,
        (1001, "server shutting down".into())
    );
    tokio::time::timeout(WAIT, &mut server.task)
        .await
        .expect("serve did not return")
        .unwrap()
        .unwrap();
}
