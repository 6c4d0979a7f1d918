//! The chat example driven by a raw WebSocket client that sends and checks
//! the exact JSON frames of zocket 0.1's wire format, so the protocol
//! cannot drift; plus the HTTP answers before the upgrade.

use serde_json::{json, Value};
use zocket_examples::chat;
use zocket_tests::fixture::{app, App};
use zocket_tests::{serve, RawClient};

fn without_timestamp(mut v: Value) -> (Value, String) {
    let ts = v["payload"]["timestamp"]
        .as_str()
        .expect("timestamp is a string on the wire")
        .to_owned();
    v["payload"].as_object_mut().unwrap().remove("timestamp");
    (v, ts)
}

#[tokio::test]
async fn chat_flows_use_the_original_frames() {
    let server = serve(chat::Router::server(zocket_examples::server::Chat)).await;
    let base = server.url();
    let mut alice = RawClient::connect(&format!("{base}?user-name=Alice")).await;
    let mut anon = RawClient::connect(&base).await;

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

    alice
        .send_text(r#"{"type":"rooms.message","payload":{"roomId":"general","content":"hi"}}"#)
        .await;
    for c in [&mut alice, &mut anon] {
        let (frame, ts) = without_timestamp(c.recv_json().await);
        assert_eq!(
            frame,
            json!({"type":"rooms.onMessage","payload":{"roomId":"general","userName":"Alice","content":"hi"}})
        );
        // RFC 3339, as a JS Date's toISOString() would read it.
        zocket::chrono::DateTime::parse_from_rfc3339(&ts).expect("RFC 3339 timestamp");
    }

    // A message to a room not joined reaches no one; its sender alone gets
    // a typed error.
    anon.send_text(r#"{"type":"rooms.message","payload":{"roomId":"elsewhere","content":"x"}}"#)
        .await;
    assert_eq!(
        anon.recv_text().await,
        r#"{"type":"zocket.error","payload":{"code":"handler_error","message":"not a member of this room","for":"rooms.message"}}"#
    );
    anon.send_text(r#"{"type":"rooms.leave","payload":{"roomId":"general"}}"#)
        .await;
    let left = r#"{"type":"rooms.onLeave","payload":{"roomId":"general","userName":"Anonymous"}}"#;
    assert_eq!(anon.recv_text().await, left);
    assert_eq!(alice.recv_text().await, left);
}

#[tokio::test]
async fn bad_frames_get_typed_errors() {
    let server = serve(chat::Router::server(zocket_examples::server::Chat)).await;
    let mut c = RawClient::connect(&server.url()).await;
    c.send_text("not json").await;
    let e = c.recv_json().await;
    assert_eq!(e["type"], "zocket.error");
    assert_eq!(e["payload"]["code"], "invalid_json");
    assert_eq!(e["payload"]["for"], Value::Null);

    c.send_text(r#"{"type":"rooms.dance","payload":{}}"#).await;
    assert_eq!(
        c.recv_text().await,
        r#"{"type":"zocket.error","payload":{"code":"unknown_type","message":"unknown message type `rooms.dance`","for":"rooms.dance"}}"#
    );
    // An outgoing type is not something a client may send.
    c.send_text(r#"{"type":"rooms.onJoin","payload":{"roomId":"a","userName":"b"}}"#)
        .await;
    assert_eq!(c.recv_json().await["payload"]["code"], "unknown_type");

    c.send_text(r#"{"type":"rooms.join","payload":{"roomId":7}}"#)
        .await;
    let e = c.recv_json().await;
    assert_eq!(e["payload"]["code"], "invalid_payload");
    assert_eq!(e["payload"]["path"], "roomId");
    assert_eq!(e["payload"]["for"], "rooms.join");

    // The connection still works.
    c.send_text(r#"{"type":"rooms.join","payload":{"roomId":"ok"}}"#)
        .await;
    assert_eq!(c.recv_json().await["type"], "rooms.onJoin");
}

#[tokio::test]
async fn invalid_headers_are_http_400_before_the_upgrade() {
    let server = serve(chat::Router::server(zocket_examples::server::Chat)).await;
    let long = "x".repeat(65);
    let (status, body) =
        RawClient::connect_err(&format!("{}?user-name={long}", server.url())).await;
    assert_eq!(status, 400);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "Invalid headers");
    assert_eq!(body["details"][0]["path"], "user-name");
    assert_eq!(server.handle.connections(), 0);

    let server = serve(app::Router::server(App::default())).await;
    let (status, body) = RawClient::connect_err(&format!("{}?admin=maybe", server.url())).await;
    assert_eq!(status, 400);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["details"][0]["path"], "admin");
}

#[tokio::test]
async fn on_connect_rejections_are_401_and_403() {
    let server = serve(app::Router::server(App::default())).await;
    let (status, body) =
        RawClient::connect_err(&format!("{}?user-name=nobody", server.url())).await;
    assert_eq!(status, 401);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["message"],
        "who are you?"
    );
    let (status, _) = RawClient::connect_err(&format!("{}?user-name=banned", server.url())).await;
    assert_eq!(status, 403);
    assert_eq!(server.handle.connections(), 0);

    // The typed client reports the refusal from connect().
    let err = app::Client::connect(
        server.url(),
        app::Headers {
            user_name: "banned".into(),
            admin: false,
        },
    )
    .await
    .err()
    .expect("rejected");
    assert!(
        matches!(
            err,
            zocket::client::ConnectError::Rejected { status: 403, .. }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn query_parameters_override_http_headers() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let server = serve(app::Router::server(App::default())).await;
    let connect = |url: String| async move {
        let mut req = url.into_client_request().unwrap();
        req.headers_mut()
            .insert("user-name", "from-header".parse().unwrap());
        let (ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        ws
    };
    // The header alone is read...
    let ws = connect(server.url()).await;
    let mut c = RawClient::from_stream(ws);
    c.send_text(r#"{"type":"talk.join","payload":{"room":"r"}}"#)
        .await;
    c.recv_json().await;
    c.send_text(r#"{"type":"talk.say","payload":{"rooms":["r"],"text":"t"}}"#)
        .await;
    assert_eq!(c.recv_json().await["payload"]["from"], "from-header");
    // ...and a query parameter of the same name wins.
    let ws = connect(format!("{}?user-name=from-query", server.url())).await;
    let mut c = RawClient::from_stream(ws);
    c.send_text(r#"{"type":"talk.join","payload":{"room":"q"}}"#)
        .await;
    c.recv_json().await;
    c.send_text(r#"{"type":"talk.say","payload":{"rooms":["q"],"text":"t"}}"#)
        .await;
    assert_eq!(c.recv_json().await["payload"]["from"], "from-query");
}
