//! The chat example's `GET /metrics` with a real Prometheus recorder: raw
//! and typed clients join, talk, err and close, and every counter moves by
//! exactly what they did; a type name a client makes up never becomes a
//! label. Its own test binary: a process has one metrics recorder.
//!
//! Counters are read by scraping over HTTP until they match (or the
//! timeout): some move after the frame a client waits for has gone out
//! (a close is counted once the close handshake is over).

use std::collections::HashMap;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zocket_examples::chat;
use zocket_examples::server::Chat;
use zocket_tests::{RawClient, TIMEOUT};

/// One scrape: `name{labels}` (as rendered) → value.
type Scrape = HashMap<String, f64>;

/// A GET over a fresh HTTP/1.1 connection: (status line and headers, body).
async fn get(addr: &str, path: &str) -> (String, String) {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    tcp.read_to_string(&mut response).await.expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    (head.to_owned(), body.to_owned())
}

/// `GET /metrics`: the Prometheus text.
async fn scrape_text(addr: &str) -> String {
    let (head, body) = get(addr, "/metrics").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("content-type: text/plain"), "{head}");
    body
}

fn parse(text: &str) -> Scrape {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// Scrapes until every `(series, value)` of `expected` holds (a series
/// not rendered counts as 0), or fails after the timeout with the last
/// scrape. Returns that scrape's text.
async fn wait_for(addr: &str, expected: &[(&str, f64)]) -> String {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let text = scrape_text(addr).await;
        let scrape = parse(&text);
        let wrong: Vec<String> = expected
            .iter()
            .filter_map(|(series, want)| {
                let got = scrape.get(*series).copied().unwrap_or(0.0);
                (got != *want).then(|| format!("{series}: {got}, expected {want}"))
            })
            .collect();
        if wrong.is_empty() {
            return text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "metrics did not match:\n{}\nscrape:\n{text}",
            wrong.join("\n")
        );
        tokio::task::yield_now().await;
    }
}

fn join(room: &str) -> String {
    json!({"type":"rooms.join","payload":{"roomId":room}}).to_string()
}

fn message(room: &str, content: &str) -> String {
    json!({"type":"rooms.message","payload":{"roomId":room,"content":content}}).to_string()
}

/// The next frame of `c`: its type, and the error code if it is an error.
async fn next_type(c: &mut RawClient) -> (String, Option<String>) {
    let frame = c.recv_json().await;
    let code = frame["payload"]["code"].as_str().map(str::to_owned);
    (frame["type"].as_str().unwrap_or_default().to_owned(), code)
}

fn is(ty: &str) -> (String, Option<String>) {
    (ty.to_owned(), None)
}

fn error(code: &str) -> (String, Option<String>) {
    ("zocket.error".to_owned(), Some(code.to_owned()))
}

#[tokio::test]
async fn metrics_count_what_clients_did_and_labels_stay_bounded() {
    let metrics = zocket_examples::ops::install_metrics().expect("the only recorder");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(zocket_examples::web::serve(
        listener,
        chat::Router::server(Chat),
        Some(metrics),
        async move {
            let _ = stopped.await;
        },
    ));
    let url = format!("ws://{addr}/");
    let (head, body) = get(&addr, "/healthz").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, "ok\n");

    // Nothing yet: a fresh recorder in a process of its own.
    wait_for(
        &addr,
        &[
            ("zocket_connections", 0.0),
            ("zocket_deliveries_total", 0.0),
        ],
    )
    .await;

    let mut alice = RawClient::connect(&format!("{url}?user-name=alice")).await;
    let mut bob = RawClient::connect(&format!("{url}?user-name=bob")).await;
    wait_for(&addr, &[("zocket_connections", 2.0)]).await;

    // Joins: onJoin to 1, then to 2 members.
    alice.send_text(&join("general")).await;
    assert_eq!(next_type(&mut alice).await, is("rooms.onJoin"));
    bob.send_text(&join("general")).await;
    assert_eq!(next_type(&mut bob).await, is("rooms.onJoin"));
    assert_eq!(next_type(&mut alice).await, is("rooms.onJoin"));
    // One send to two recipients.
    alice.send_text(&message("general", "hi")).await;
    assert_eq!(next_type(&mut alice).await, is("rooms.onMessage"));
    assert_eq!(next_type(&mut bob).await, is("rooms.onMessage"));
    // A message to a room not joined: the chat's handler_error.
    bob.send_text(&message("nowhere", "hi")).await;
    assert_eq!(next_type(&mut bob).await, error("handler_error"));
    // A type the router does not have, and a frame that is not JSON.
    alice
        .send_text(r#"{"type":"evil_label_123","payload":{}}"#)
        .await;
    assert_eq!(next_type(&mut alice).await, error("unknown_type"));
    alice.send_text("evil_label_456 is not JSON").await;
    assert_eq!(next_type(&mut alice).await, error("invalid_json"));

    wait_for(
        &addr,
        &[
            ("zocket_connections", 2.0),
            ("zocket_rooms", 1.0),
            (r#"zocket_messages_received_total{type="rooms.join"}"#, 2.0),
            (
                r#"zocket_messages_received_total{type="rooms.message"}"#,
                2.0,
            ),
            (r#"zocket_messages_received_total{type="unknown"}"#, 2.0),
            (r#"zocket_messages_sent_total{type="rooms.onJoin"}"#, 2.0),
            (r#"zocket_messages_sent_total{type="rooms.onMessage"}"#, 1.0),
            ("zocket_deliveries_total", 5.0),
            (r#"zocket_errors_total{code="handler_error"}"#, 1.0),
            (r#"zocket_errors_total{code="unknown_type"}"#, 1.0),
            (r#"zocket_errors_total{code="invalid_json"}"#, 1.0),
            (r#"zocket_handler_seconds_count{type="rooms.join"}"#, 2.0),
            (r#"zocket_handler_seconds_count{type="rooms.message"}"#, 2.0),
        ],
    )
    .await;

    // The typed client: its join is a request, answered with a reply
    // (not a send), and announced to all three.
    let carol = chat::Client::connect(
        url.clone(),
        chat::Headers {
            user_name: "carol".into(),
        },
    )
    .await
    .expect("connects");
    let joined = tokio::time::timeout(
        TIMEOUT,
        carol.call().rooms().join(chat::rooms::Join {
            room_id: "general".into(),
        }),
    )
    .await
    .expect("an answer in time")
    .expect("joined");
    assert_eq!(joined.members, 3);
    assert_eq!(next_type(&mut alice).await, is("rooms.onJoin"));
    assert_eq!(next_type(&mut bob).await, is("rooms.onJoin"));
    wait_for(&addr, &[("zocket_connections", 3.0)]).await;

    // carol closes with 1000; her on_disconnect tells the other two.
    carol.close();
    assert_eq!(next_type(&mut alice).await, is("rooms.onLeave"));
    assert_eq!(next_type(&mut bob).await, is("rooms.onLeave"));
    // bob closes without a code (1005); alice hears of it.
    bob.close().await;
    assert_eq!(next_type(&mut alice).await, is("rooms.onLeave"));
    // alice sends more than max_message_size: closed with 1009, and her
    // leave goes to a room with no one else in it.
    alice.send_text(&"x".repeat(70 * 1024)).await;
    assert_eq!(alice.recv_close().await, Some(1009));

    let text = wait_for(
        &addr,
        &[
            ("zocket_connections", 0.0),
            ("zocket_rooms", 0.0),
            (r#"zocket_messages_received_total{type="rooms.join"}"#, 3.0),
            (
                r#"zocket_messages_received_total{type="rooms.message"}"#,
                2.0,
            ),
            (r#"zocket_messages_received_total{type="unknown"}"#, 2.0),
            (r#"zocket_messages_sent_total{type="rooms.onJoin"}"#, 3.0),
            (r#"zocket_messages_sent_total{type="rooms.onMessage"}"#, 1.0),
            (r#"zocket_messages_sent_total{type="rooms.onLeave"}"#, 3.0),
            // 1 + 2 joins, 2 for the message, 3 for carol's join, 2 + 1
            // for the leaves (alice's reached no one).
            ("zocket_deliveries_total", 11.0),
            (r#"zocket_errors_total{code="handler_error"}"#, 1.0),
            (r#"zocket_errors_total{code="unknown_type"}"#, 1.0),
            (r#"zocket_errors_total{code="invalid_json"}"#, 1.0),
            (r#"zocket_closes_total{code="1000"}"#, 1.0),
            (r#"zocket_closes_total{code="1005"}"#, 1.0),
            (r#"zocket_closes_total{code="1009"}"#, 1.0),
            (r#"zocket_handler_seconds_count{type="rooms.join"}"#, 3.0),
            (r#"zocket_handler_seconds_count{type="rooms.message"}"#, 2.0),
            ("zocket_queue_overflows_total", 0.0),
        ],
    )
    .await;

    // Nothing else was counted: every series of ours is one of the above,
    // with no label a client chose.
    assert!(!text.contains("evil_label"), "{text}");
    let scrape = parse(&text);
    let ours: Vec<&String> = scrape.keys().filter(|s| s.starts_with("zocket_")).collect();
    for series in &ours {
        let allowed = series.starts_with("zocket_handler_seconds")
            || [
                "zocket_connections",
                "zocket_rooms",
                "zocket_deliveries_total",
                r#"zocket_messages_received_total{type="rooms.join"}"#,
                r#"zocket_messages_received_total{type="rooms.message"}"#,
                r#"zocket_messages_received_total{type="unknown"}"#,
                r#"zocket_messages_sent_total{type="rooms.onJoin"}"#,
                r#"zocket_messages_sent_total{type="rooms.onMessage"}"#,
                r#"zocket_messages_sent_total{type="rooms.onLeave"}"#,
                r#"zocket_errors_total{code="handler_error"}"#,
                r#"zocket_errors_total{code="unknown_type"}"#,
                r#"zocket_errors_total{code="invalid_json"}"#,
                r#"zocket_closes_total{code="1000"}"#,
                r#"zocket_closes_total{code="1005"}"#,
                r#"zocket_closes_total{code="1009"}"#,
            ]
            .contains(&series.as_str());
        assert!(allowed, "unexpected series {series}:\n{text}");
    }
    // Handler times are a histogram with the suggested buckets, only for
    // the types that were handled.
    assert!(
        text.contains("# TYPE zocket_handler_seconds histogram"),
        "{text}"
    );
    assert!(
        text.contains(r#"zocket_handler_seconds_bucket{type="rooms.join",le="+Inf"} 3"#),
        "{text}"
    );
    assert!(
        !text.contains(r#"zocket_handler_seconds_count{type="unknown"}"#),
        "{text}"
    );

    let _ = stop.send(());
    tokio::time::timeout(TIMEOUT * 2, server)
        .await
        .expect("server stops")
        .expect("server task")
        .expect("served");
}
