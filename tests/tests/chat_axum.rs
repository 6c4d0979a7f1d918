//! The `chat-axum` example, run as a child process: zocket's chat mounted
//! at `/ws` in an axum app with its own state and routes. `/api/stats`
//! answers from the zocket handle, two clients chat through `/ws` with the
//! wire frames of `core_wire.rs`, the page is still served at `/`, and
//! SIGTERM stops it with 1001 for every client.

mod examples_support;

use examples_support::{http_get, Example};
use serde_json::{json, Value};
use zocket_tests::RawClient;

async fn stats(example: &Example) -> Value {
    let (status, body) = http_get(&example.addr(), "/api/stats").await;
    assert_eq!(status, 200, "{body}");
    let mut stats: Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    // Time is not what these tests check; it must be there, though.
    let uptime = stats
        .as_object_mut()
        .and_then(|s| s.remove("uptimeSeconds"))
        .unwrap_or_else(|| panic!("no uptimeSeconds in {body}"));
    assert!(uptime.is_u64(), "{body}");
    stats
}

fn without_timestamp(mut v: Value) -> Value {
    let ts = v["payload"]
        .as_object_mut()
        .and_then(|p| p.remove("timestamp"))
        .expect("a timestamp");
    let ts = ts.as_str().expect("timestamp is a string on the wire");
    zocket::chrono::DateTime::parse_from_rfc3339(ts).expect("RFC 3339 timestamp");
    v
}

#[tokio::test]
async fn stats_and_chat_through_ws() {
    let mut server = Example::start("chat-axum", &[]).await;
    assert_eq!(stats(&server).await, json!({"connections":0,"rooms":0}));

    let ws = format!("ws://{}/ws", server.addr());
    let (mut alice, _) = RawClient::connect_session(&format!("{ws}?user-name=Alice")).await;
    let (mut anon, _) = RawClient::connect_session(&ws).await;
    alice
        .send_text(r#"{"type":"rooms.join","payload":{"roomId":"general"}}"#)
        .await;
    assert_eq!(
        alice.recv_text().await,
        r#"{"type":"rooms.onJoin","payload":{"roomId":"general","userName":"Alice"}}"#
    );
    anon.send_text(r#"{"type":"rooms.join","payload":{"roomId":"general"}}"#)
        .await;
    let joined = r#"{"type":"rooms.onJoin","payload":{"roomId":"general","userName":"Anonymous"}}"#;
    assert_eq!(alice.recv_text().await, joined);
    assert_eq!(anon.recv_text().await, joined);
    anon.send_text(r#"{"type":"rooms.join","payload":{"roomId":"random"}}"#)
        .await;
    assert_eq!(
        anon.recv_text().await,
        r#"{"type":"rooms.onJoin","payload":{"roomId":"random","userName":"Anonymous"}}"#
    );
    // Every join above was answered, so the handle counts them all.
    assert_eq!(stats(&server).await, json!({"connections":2,"rooms":2}));

    alice
        .send_text(r#"{"type":"rooms.message","payload":{"roomId":"general","content":"hi"}}"#)
        .await;
    for c in [&mut alice, &mut anon] {
        assert_eq!(
            without_timestamp(c.recv_json().await),
            json!({"type":"rooms.onMessage","payload":{"roomId":"general","userName":"Alice","content":"hi"}})
        );
    }

    anon.send_text(r#"{"type":"rooms.leave","payload":{"roomId":"random"}}"#)
        .await;
    assert_eq!(
        anon.recv_text().await,
        r#"{"type":"rooms.onLeave","payload":{"roomId":"random","userName":"Anonymous"}}"#
    );
    assert_eq!(stats(&server).await, json!({"connections":2,"rooms":1}));

    // Ctrl-C or SIGTERM: every client gets 1001, the process exits 0.
    server.terminate();
    assert_eq!(alice.recv_close().await, Some(1001));
    assert_eq!(anon.recv_close().await, Some(1001));
    drop((alice, anon));
    let status = server.wait_exit().await;
    assert_eq!(status.code(), Some(0), "{status}; log: {}", server.dump());
}

#[tokio::test]
async fn page_is_served_and_connects_on_its_own_path() {
    let server = Example::start("chat-axum", &[]).await;
    let (status, page) = http_get(&server.addr(), "/").await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"<script type="module" src="/app.js">"#));
    let (status, _) = http_get(&server.addr(), "/app.js").await;
    assert_eq!(status, 200);
    // The page connects to `/` of its host: that upgrades too.
    let (mut page_client, _) =
        RawClient::connect_session(&format!("ws://{}/?user-name=Webby", server.addr())).await;
    page_client
        .send_text(r#"{"type":"rooms.join","payload":{"roomId":"lobby"}}"#)
        .await;
    assert_eq!(
        page_client.recv_text().await,
        r#"{"type":"rooms.onJoin","payload":{"roomId":"lobby","userName":"Webby"}}"#
    );
    assert_eq!(http_get(&server.addr(), "/nope").await.0, 404);
}
