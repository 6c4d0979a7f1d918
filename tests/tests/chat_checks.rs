//! The chat example checks what peers send instead of trusting it: a leave
//! or a message names a room the sender is in, a join of a room already
//! joined is not announced again, and room ids past the server's cap are
//! refused before a handler runs. Exact frames, raw clients.
//!
//! Nothing is asserted to be absent by waiting: every "no broadcast" is
//! shown by the next frame the listener gets being a later message sent
//! after the refused one was answered (each connection's frames arrive in
//! order).

use serde_json::{json, Value};
use zocket_examples::chat;
use zocket_examples::server::Chat;
use zocket_tests::{serve, RawClient};

fn error(code: &str, message: &str, for_type: &str) -> String {
    format!(
        r#"{{"type":"zocket.error","payload":{{"code":"{code}","message":"{message}","for":"{for_type}"}}}}"#
    )
}

fn not_member(for_type: &str) -> String {
    error("handler_error", "not a member of this room", for_type)
}

/// The error frame of a handler that fails with a typed `ChatError`: the
/// same frame, its `data` the error.
fn chat_error(message: &str, for_type: &str, kind: &str) -> String {
    format!(
        r#"{{"type":"zocket.error","payload":{{"code":"handler_error","message":"{message}","for":"{for_type}","data":{{"kind":"{kind}"}}}}}}"#
    )
}

fn join(room: &str) -> String {
    json!({"type":"rooms.join","payload":{"roomId":room}}).to_string()
}

/// The exact frame, fields in wire order (`json!` would sort them).
fn on_join(room: &str, user: &str) -> String {
    format!(
        r#"{{"type":"rooms.onJoin","payload":{{"roomId":{},"userName":{}}}}}"#,
        Value::from(room),
        Value::from(user)
    )
}

fn message(room: &str, content: &str) -> String {
    json!({"type":"rooms.message","payload":{"roomId":room,"content":content}}).to_string()
}

/// The next frame of `c`, which must be `user`'s message `content`.
async fn expect_message(c: &mut RawClient, room: &str, user: &str, content: &str) {
    let mut frame = c.recv_json().await;
    frame["payload"]
        .as_object_mut()
        .and_then(|p| p.remove("timestamp"))
        .expect("a message with a timestamp");
    assert_eq!(
        frame,
        json!({"type":"rooms.onMessage","payload":{"roomId":room,"userName":user,"content":content}})
    );
}

/// Alice and Bob in `general`, every join notice read.
async fn two_in_general(url: &str) -> (RawClient, RawClient) {
    let mut alice = RawClient::connect(&format!("{url}?user-name=Alice")).await;
    let mut bob = RawClient::connect(&format!("{url}?user-name=Bob")).await;
    alice.send_text(&join("general")).await;
    assert_eq!(alice.recv_text().await, on_join("general", "Alice"));
    bob.send_text(&join("general")).await;
    assert_eq!(alice.recv_text().await, on_join("general", "Bob"));
    assert_eq!(bob.recv_text().await, on_join("general", "Bob"));
    (alice, bob)
}

#[tokio::test]
async fn leaving_a_room_not_joined_announces_nothing() {
    let server = serve(chat::Router::server(Chat)).await;
    let (mut alice, mut bob) = two_in_general(&server.url()).await;
    // Mallory is in no room, and tries to post her name into `general`.
    let mut mallory = RawClient::connect(&format!("{}?user-name=Mallory", server.url())).await;
    mallory
        .send_text(r#"{"type":"rooms.leave","payload":{"roomId":"general"}}"#)
        .await;
    assert_eq!(mallory.recv_text().await, not_member("rooms.leave"));

    // The room heard nothing: the next frame is a later message.
    alice.send_text(&message("general", "after")).await;
    expect_message(&mut bob, "general", "Alice", "after").await;
    expect_message(&mut alice, "general", "Alice", "after").await;

    // A member's leave still reaches the room and the leaver; a second
    // leave of the same room is refused like Mallory's.
    bob.send_text(r#"{"type":"rooms.leave","payload":{"roomId":"general"}}"#)
        .await;
    let left = r#"{"type":"rooms.onLeave","payload":{"roomId":"general","userName":"Bob"}}"#;
    assert_eq!(bob.recv_text().await, left);
    assert_eq!(alice.recv_text().await, left);
    bob.send_text(r#"{"type":"rooms.leave","payload":{"roomId":"general"}}"#)
        .await;
    assert_eq!(bob.recv_text().await, not_member("rooms.leave"));
    alice.send_text(&message("general", "still here")).await;
    expect_message(&mut alice, "general", "Alice", "still here").await;
}

#[tokio::test]
async fn joining_twice_is_announced_once() {
    let server = serve(chat::Router::server(Chat)).await;
    let (mut alice, mut bob) = two_in_general(&server.url()).await;
    bob.send_text(&join("general")).await;
    assert_eq!(
        bob.recv_text().await,
        chat_error(
            "already a member of this room",
            "rooms.join",
            "alreadyMember"
        )
    );
    bob.send_text(&message("general", "once")).await;
    expect_message(&mut alice, "general", "Bob", "once").await;
    expect_message(&mut bob, "general", "Bob", "once").await;
    assert_eq!(server.handle.len("general"), 2);
}

#[tokio::test]
async fn room_handlers_refuse_rooms_not_joined() {
    let server = serve(chat::Router::server(Chat)).await;
    let (mut alice, mut bob) = two_in_general(&server.url()).await;
    let mut mallory = RawClient::connect(&format!("{}?user-name=Mallory", server.url())).await;

    mallory.send_text(&message("general", "spam")).await;
    assert_eq!(mallory.recv_text().await, not_member("rooms.message"));
    mallory
        .send_text(r#"{"type":"rooms.members","payload":{"roomId":"general"}}"#)
        .await;
    assert_eq!(
        mallory.recv_text().await,
        chat_error("not a member of this room", "rooms.members", "notMember")
    );

    // Neither reached the room.
    alice.send_text(&message("general", "next")).await;
    expect_message(&mut bob, "general", "Alice", "next").await;
    expect_message(&mut alice, "general", "Alice", "next").await;
}

#[tokio::test]
async fn room_ids_past_the_cap_are_refused_before_the_handler() {
    let cap = zocket::Config::default().max_room_name_len;
    assert_eq!(zocket_examples::MAX_ROOM_ID_LEN, cap);
    let server = serve(chat::Router::server(Chat)).await;
    let (mut alice, mut bob) = two_in_general(&server.url()).await;

    let long = "r".repeat(cap + 1);
    let frames = [
        ("rooms.join", json!({"roomId": long})),
        ("rooms.leave", json!({"roomId": long})),
        ("rooms.message", json!({"roomId": long, "content": "x"})),
        ("rooms.members", json!({"roomId": long})),
    ];
    for (ty, payload) in frames {
        alice
            .send_json(json!({"type": ty, "payload": payload}))
            .await;
        let e = alice.recv_json().await;
        assert_eq!(e["type"], "zocket.error", "{ty}");
        assert_eq!(e["payload"]["code"], "invalid_payload", "{ty}");
        assert_eq!(e["payload"]["path"], "roomId", "{ty}");
        assert_eq!(e["payload"]["for"], ty, "{ty}");
        let text = e["payload"]["message"].as_str().unwrap_or_default();
        assert!(
            text.contains(&format!("at most {cap} bytes")),
            "{ty}: {text}"
        );
        // The id is not echoed back.
        assert!(!e.to_string().contains(&long), "{ty}");
    }
    // An empty id is refused the same way.
    alice.send_text(&message("", "x")).await;
    assert_eq!(alice.recv_json().await["payload"]["path"], "roomId");

    // Nothing reached Bob, and Alice joined nothing.
    alice.send_text(&message("general", "after")).await;
    expect_message(&mut bob, "general", "Alice", "after").await;
    expect_message(&mut alice, "general", "Alice", "after").await;
    assert_eq!(server.handle.rooms(), 1);

    // Exactly at the cap is a room like any other.
    let longest = "r".repeat(cap);
    alice.send_text(&join(&longest)).await;
    assert_eq!(alice.recv_text().await, on_join(&longest, "Alice"));
    let v: Value = {
        alice.send_text(&message(&longest, "hi")).await;
        alice.recv_json().await
    };
    assert_eq!(v["type"], "rooms.onMessage");
    assert_eq!(v["payload"]["roomId"], longest.as_str());
}
