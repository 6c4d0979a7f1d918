//! The example binaries as an operator runs them: child processes on
//! 127.0.0.1 port 0, read through their `LISTENING` line and their log.
//! Peer-chosen names and room ids cannot forge log lines or reach the
//! terminal as escape sequences; SIGTERM stops a server as gracefully as
//! Ctrl-C (every client gets 1001, exit status 0).

mod examples_support;

use examples_support::{contains, Example};
use serde_json::json;
use zocket_tests::RawClient;

/// `s` as a URL query value: everything but ASCII letters and digits
/// percent-encoded.
fn query_value(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A name that, logged raw, would end the current log line, start a
/// forged one and clear the operator's screen.
const EVIL_NAME: &str = "Mallory\nFORGED user=admin\x1b[2J";
/// The same trick in a room id.
const EVIL_ROOM: &str = "lobby\nFORGED room\x1b[31m";

#[tokio::test]
async fn chat_logs_peer_strings_escaped_and_truncated() {
    let mut chat = Example::start("chat", &[]).await;
    let url = format!("ws://{}/?user-name={}", chat.addr(), query_value(EVIL_NAME));
    let (mut mallory, _) = RawClient::connect_session(&url).await;

    mallory
        .send_json(json!({"type":"rooms.join","payload":{"roomId":EVIL_ROOM}}))
        .await;
    assert_eq!(
        mallory.recv_json().await,
        json!({"type":"rooms.onJoin","payload":{"roomId":EVIL_ROOM,"userName":EVIL_NAME}})
    );
    // A long room id is logged cut short.
    let long_room = format!("{}\n", "x".repeat(200));
    mallory
        .send_json(json!({"type":"rooms.join","payload":{"roomId":long_room}}))
        .await;
    assert_eq!(mallory.recv_json().await["type"], "rooms.onJoin");
    mallory
        .send_json(
            json!({"type":"rooms.message","payload":{"roomId":EVIL_ROOM,"content":"hi\nFORGED"}}),
        )
        .await;
    assert_eq!(mallory.recv_json().await["type"], "rooms.onMessage");
    // Logged by the chat: a message to a room not joined.
    let not_joined = "nowhere\nFORGED\x1b[2J";
    mallory
        .send_json(json!({"type":"rooms.message","payload":{"roomId":not_joined,"content":"x"}}))
        .await;
    assert_eq!(
        mallory.recv_json().await["payload"]["code"],
        "handler_error"
    );
    // Past the room id cap: refused before any handler, so never logged.
    let oversized = "y".repeat(300);
    mallory
        .send_json(json!({"type":"rooms.message","payload":{"roomId":oversized,"content":"x"}}))
        .await;
    assert_eq!(
        mallory.recv_json().await["payload"]["code"],
        "invalid_payload"
    );
    mallory.close().await;

    // The disconnect line is the last one this connection causes.
    chat.wait_for_line(|l| contains(l, b"disconnected")).await;
    for line in &chat.log {
        let text = String::from_utf8_lossy(line);
        assert!(!text.starts_with("FORGED"), "forged log line: {text:?}");
        assert!(!line.contains(&0x1b), "raw ESC in log line: {text:?}");
        assert!(
            !text.contains("yyyyyyyyyy"),
            "oversized room id logged: {text:?}"
        );
        assert!(
            !text.contains(&"x".repeat(65)),
            "long room id not cut: {text:?}"
        );
    }
    // The strings were logged, escaped: the operator can still read them.
    let log = chat.dump();
    assert!(
        log.contains(r#"user="Mallory\nFORGED user=admin\u{1b}[2J""#),
        "{log}"
    );
    assert!(log.contains(r#"room="nowhere\nFORGED\u{1b}[2J""#), "{log}");
    assert!(log.contains(&format!("\"{}\"…", "x".repeat(64))), "{log}");

    chat.terminate();
    assert!(chat.wait_exit().await.success());
}

#[tokio::test]
async fn chat_stops_on_sigterm_with_1001_and_exit_status_0() {
    let mut chat = Example::start("chat", &[]).await;
    let (mut alice, _) =
        RawClient::connect_session(&format!("ws://{}/?user-name=Alice", chat.addr())).await;
    // A round trip: the connection is registered before the signal.
    alice
        .send_text(r#"{"type":"rooms.join","payload":{"roomId":"general"}}"#)
        .await;
    assert_eq!(alice.recv_json().await["type"], "rooms.onJoin");

    chat.terminate();
    assert_eq!(alice.recv_close().await, Some(1001));
    // Gone, as a browser would be: the server need not wait for a close
    // reply.
    drop(alice);
    let status = chat.wait_exit().await;
    assert_eq!(status.code(), Some(0), "{status}; log: {}", chat.dump());
    // on_disconnect ran for Alice during the shutdown (the pipe still
    // holds what the child wrote before it exited).
    chat.wait_for_line(|l| contains(l, b"disconnected")).await;
}

#[tokio::test]
async fn echo_stops_on_sigterm_with_1001_and_exit_status_0() {
    let mut echo = Example::start("echo", &[]).await;
    let mut c = RawClient::connect(&format!("ws://{}/", echo.addr())).await;
    c.send_text("ping").await;
    assert_eq!(c.recv_text().await, "ping");

    echo.terminate();
    assert_eq!(c.recv_close().await, Some(1001));
    drop(c);
    let status = echo.wait_exit().await;
    assert_eq!(status.code(), Some(0), "{status}; log: {}", echo.dump());
}

/// What an operator reads at info about connections: each line a
/// connection causes names it (client id, peer address) and the message
/// being handled; a refused handshake is logged with its HTTP status and
/// reason; a query string (it may carry tokens) never is.
#[tokio::test]
async fn chat_logs_connections_in_spans_and_refused_handshakes_without_queries() {
    let mut chat = Example::start("chat", &[]).await;
    let addr = chat.addr();
    let secret = "s3cr3t-t0ken";

    let (mut dave, _) =
        RawClient::connect_session(&format!("ws://{addr}/?user-name=Dave&token={secret}")).await;
    dave.send_text(r#"{"type":"rooms.message","payload":{"roomId":"attic","content":"x"}}"#)
        .await;
    assert_eq!(dave.recv_json().await["payload"]["code"], "handler_error");
    let refused = chat
        .wait_for_line(|l| contains(l, b"of a room not joined"))
        .await;
    let refused = String::from_utf8_lossy(&refused).into_owned();
    assert!(
        refused.contains("connection{client=") && refused.contains("peer=127.0.0.1:"),
        "{refused}"
    );
    assert!(
        refused.contains(r#"message{type="rooms.message"}"#),
        "{refused}"
    );

    // Headers that do not validate (a name over 64 characters): 400.
    let long = "n".repeat(65);
    let (status, _) =
        RawClient::connect_err(&format!("ws://{addr}/?user-name={long}&token={secret}")).await;
    assert_eq!(status, 400);
    let line = chat
        .wait_for_line(|l| contains(l, b"handshake rejected"))
        .await;
    let line = String::from_utf8_lossy(&line).into_owned();
    assert!(
        line.contains(" INFO ") && line.contains("status=400"),
        "{line}"
    );
    assert!(line.contains("invalid headers: user-name"), "{line}");
    assert!(line.contains("peer=127.0.0.1:"), "{line}");

    dave.close().await;
    chat.wait_for_line(|l| contains(l, b"disconnected")).await;
    assert!(!chat.dump().contains(secret), "{}", chat.dump());
    chat.terminate();
    assert!(chat.wait_exit().await.success());
}
