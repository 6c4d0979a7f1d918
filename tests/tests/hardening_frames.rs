//! Defaults-table rows about incoming frames: size limit (1009), invalid
//! UTF-8 (1007), typed error frames, repeated abuse (1008), binary frames,
//! the rate limit, room caps, and a panicking handler (1011).

mod hardening_support;

use futures_util::SinkExt;
use hardening_support::*;
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;
use zocket::{Config, RateLimit};

#[tokio::test]
async fn oversize_message_closes_with_1009_and_a_reason() {
    let server = Server::start(Config::default()).await;
    let mut ws = connect(&server).await;
    // Exactly the default limit (64 KiB) is accepted…
    let pad = "x".repeat(64 * 1024 - 64);
    let mut at_limit = json!({"type":"room.ping","payload":{"message": pad}}).to_string();
    // Trailing whitespace is valid JSON: pad to exactly 64 KiB.
    at_limit.push_str(&" ".repeat(64 * 1024 - at_limit.len()));
    send_raw(&mut ws, &at_limit).await;
    assert_eq!(next_frame(&mut ws).await["type"], "room.pong");
    // …one byte more is not.
    send_raw(&mut ws, &format!("{at_limit} ")).await;
    assert_eq!(
        expect_close(&mut ws).await,
        (1009, "message too big".into())
    );
}

#[tokio::test]
async fn invalid_utf8_text_frame_closes_with_1007() {
    let server = Server::start(Config::default()).await;
    let mut ws = connect(&server).await;
    // tungstenite will not build an invalid text message; send the raw frame.
    let frame = Frame::message(vec![b'{', 0xff, 0xfe, b'}'], OpCode::Data(Data::Text), true);
    ws.send(Message::Frame(frame)).await.unwrap();
    assert_eq!(
        expect_close(&mut ws).await,
        (1007, "invalid UTF-8 in text frame".into())
    );
}

#[tokio::test]
async fn bad_frames_get_exact_typed_error_frames() {
    let server = Server::start(Config::default()).await;
    let mut ws = connect(&server).await;

    send_raw(&mut ws, "not json").await;
    let error = next_frame(&mut ws).await;
    assert_eq!(error["type"], "zocket.error");
    assert_eq!(error["payload"]["code"], "invalid_json");
    assert!(error["payload"]["for"].is_null());
    assert!(!error["payload"]["message"].as_str().unwrap().is_empty());

    send(&mut ws, json!({"type":"room.nope","payload":{}})).await;
    assert_eq!(
        next_frame(&mut ws).await,
        json!({"type":"zocket.error","payload":{
            "code":"unknown_type",
            "message":"unknown message type `room.nope`",
            "for":"room.nope"}})
    );

    send(
        &mut ws,
        json!({"type":"room.say","payload":{"roomId":"r","seq":"one"}}),
    )
    .await;
    let error = next_frame(&mut ws).await;
    assert_eq!(error["payload"]["code"], "invalid_payload");
    assert_eq!(error["payload"]["for"], "room.say");
    assert_eq!(error["payload"]["path"], "seq");

    send(
        &mut ws,
        json!({"type":"room.ping","payload":{"message":""}}),
    )
    .await;
    assert_eq!(
        next_frame(&mut ws).await,
        json!({"type":"zocket.error","payload":{
            "code":"invalid_payload",
            "message":"must not be empty",
            "for":"room.ping",
            "path":"message"}})
    );

    send(&mut ws, json!({"type":"room.admin"})).await;
    assert_eq!(
        next_frame(&mut ws).await,
        json!({"type":"zocket.error","payload":{
            "code":"refused","message":"admins only","for":"room.admin"}})
    );

    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    assert_eq!(
        next_frame(&mut ws).await,
        json!({"type":"zocket.error","payload":{
            "code":"binary_unsupported",
            "message":"zocket messages are JSON text frames",
            "for":null}})
    );

    // Still open and working: the default ("ping") applies.
    send(&mut ws, json!({"type":"room.ping"})).await;
    assert_eq!(
        next_frame(&mut ws).await,
        json!({"type":"room.pong","payload":{"reply":"anon: ping"}})
    );
}

#[tokio::test]
async fn ten_bad_frames_in_a_row_close_with_1008_and_a_good_one_resets() {
    let server = Server::start(Config::default()).await;
    let mut ws = connect(&server).await;
    for _ in 0..9 {
        send_raw(&mut ws, "garbage").await;
        assert_eq!(next_frame(&mut ws).await["payload"]["code"], "invalid_json");
    }
    send(&mut ws, json!({"type":"room.ping"})).await;
    assert_eq!(next_frame(&mut ws).await["type"], "room.pong");
    for _ in 0..9 {
        send_raw(&mut ws, "garbage").await;
        assert_eq!(next_frame(&mut ws).await["payload"]["code"], "invalid_json");
    }
    send_raw(&mut ws, "garbage").await;
    assert_eq!(next_frame(&mut ws).await["payload"]["code"], "invalid_json");
    assert_eq!(
        expect_close(&mut ws).await,
        (1008, "too many bad frames".into())
    );
}

#[tokio::test]
async fn rate_limit_answers_rate_limited_then_closes_with_1008() {
    // One token a second and a burst of 5: the test sends far faster.
    let config = Config::default().rate_limit(Some(RateLimit {
        per_second: 1,
        burst: 5,
    }));
    let server = Server::start(config).await;
    let mut ws = connect(&server).await;
    // More than enough: a refill (on a slow machine) resets the run of
    // rate-limited frames, which then needs 10 more.
    for _ in 0..40 {
        send(&mut ws, json!({"type":"room.ping"})).await;
    }
    let (mut pongs, mut limited) = (0, 0);
    let close = loop {
        match next(&mut ws).await {
            Got::Frame(f) if f["type"] == "room.pong" => pongs += 1,
            Got::Frame(f) => {
                assert_eq!(
                    f,
                    json!({"type":"zocket.error","payload":{
                        "code":"rate_limited","message":"too many messages; slow down","for":"room.ping"}})
                );
                limited += 1;
            }
            Got::Close(code, reason) => break (code, reason),
            Got::Gone => panic!("dropped without a close frame"),
        }
    };
    assert!((5..=7).contains(&pongs), "burst of 5 (+ refills): {pongs}");
    assert!(
        limited >= 10,
        "closed after 10 rate-limited frames in a row"
    );
    assert_eq!(close, (1008, "rate limit exceeded".into()));
}

#[tokio::test]
async fn room_caps_answer_room_limit_error_frames() {
    let config = Config::default()
        .max_rooms_per_connection(2)
        .max_room_name_len(8);
    let server = Server::start(config).await;
    let mut ws = connect(&server).await;
    join(&mut ws, "a").await;
    join(&mut ws, "b").await;
    send(
        &mut ws,
        json!({"type":"room.join","payload":{"roomId":"c"}}),
    )
    .await;
    assert_eq!(
        next_frame(&mut ws).await,
        json!({"type":"zocket.error","payload":{
            "code":"room_limit",
            "message":"a connection may be in at most 2 rooms",
            "for":"room.join"}})
    );
    send(
        &mut ws,
        json!({"type":"room.join","payload":{"roomId":"123456789"}}),
    )
    .await;
    assert_eq!(
        next_frame(&mut ws).await,
        json!({"type":"zocket.error","payload":{
            "code":"room_limit",
            "message":"room name is 9 bytes; the limit is 8",
            "for":"room.join"}})
    );
    assert_eq!(server.handle.len("c"), 0);
    assert_eq!(server.handle.len("a"), 1);
}

#[tokio::test]
async fn handler_panic_closes_that_connection_with_1011_and_the_server_goes_on() {
    let server = Server::start(Config::default()).await;
    let mut a = connect(&server).await;
    let mut b = connect(&server).await;
    send(&mut a, json!({"type":"room.boom"})).await;
    assert_eq!(expect_close(&mut a).await, (1011, "internal error".into()));
    send(&mut b, json!({"type":"room.ping"})).await;
    assert_eq!(next_frame(&mut b).await["type"], "room.pong");
    let mut c = connect(&server).await;
    send(&mut c, json!({"type":"room.ping"})).await;
    assert_eq!(next_frame(&mut c).await["type"], "room.pong");
}
