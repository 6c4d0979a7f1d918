//! The terminal chat client (`examples/src/bin/chat-client.rs`) driven
//! through its stdin against the real chat server, both as child
//! processes, with a raw client in the same room to see what reaches it.
//! Every wait is on an output line or a frame, bounded by a timeout.
//!
//! What must not be sent is shown by order: the observer's next frame
//! after the refused lines is the real line typed after them.

mod examples_support;

use examples_support::{contains, expect_message, on_join, Example};
use serde_json::json;
use zocket_examples::terminal::{HELP, MAX_LINE};
use zocket_tests::RawClient;

#[tokio::test]
async fn chat_client_refuses_mistakes_locally_and_stays_connected() {
    let server = Example::start("chat", &[]).await;
    let url = format!("ws://{}/", server.addr());
    let (mut observer, _) = RawClient::connect_session(&format!("{url}?user-name=Obs")).await;
    observer
        .send_json(json!({"type": "rooms.join", "payload": {"roomId": "general"}}))
        .await;
    assert_eq!(observer.recv_json().await, on_join("general", "Obs"));

    let mut tess = Example::interactive(
        "chat-client",
        &["--url", &url, "--name", "Tess", "--room", "general"],
    )
    .await;
    let help_first = HELP.lines().next().expect("help text").as_bytes();
    let help_last = HELP.lines().last().expect("help text").as_bytes();
    // Help at start, whole.
    tess.wait_for_line(|l| l == help_first).await;
    tess.wait_for_line(|l| l == help_last).await;
    // Joined once (a second join would be refused, and printed).
    assert_eq!(observer.recv_json().await, on_join("general", "Tess"));

    tess.type_line("/help").await;
    tess.wait_for_line(|l| l == help_first).await;
    tess.wait_for_line(|l| l == help_last).await;

    tess.type_line("/frobnicate now").await;
    tess.wait_for_line(|l| l == b"! unknown command /frobnicate; /help lists them")
        .await;

    let long = "x".repeat(200 * 1024);
    tess.type_line(&long).await;
    let refused = format!(
        "! not sent: the line is {} bytes; the server takes at most {MAX_LINE}",
        long.len()
    );
    tess.wait_for_line(|l| l == refused.as_bytes()).await;

    // The next line is delivered, and is the first thing the observer gets
    // after the join: neither refused line went out as chat, and no
    // reconnect (which would re-join first) happened.
    tess.type_line("still here").await;
    expect_message(&mut observer, "Tess", "still here").await;
    tess.wait_for_line(|l| contains(l, b"Tess: still here"))
        .await;
    for bad in [&b"disconnected"[..], b"connected again", b"server error"] {
        assert!(
            !tess.log.iter().any(|l| contains(l, bad)),
            "chat-client printed {:?}: {}",
            String::from_utf8_lossy(bad),
            tess.dump()
        );
    }
    let joins = tess
        .log
        .iter()
        .filter(|l| l.as_slice() == b"* Tess joined general");
    assert_eq!(joins.count(), 1, "{}", tess.dump());

    // A close the user asked for is not reported as a disconnect: the
    // client says bye, and that is its last line.
    let before_quit = tess.log.len();
    tess.type_line("/quit").await;
    let status = tess.wait_exit().await;
    assert!(
        status.success(),
        "chat-client exited with {status}: {}",
        tess.dump()
    );
    tess.read_to_end().await;
    let after_quit: Vec<String> = tess.log[before_quit..]
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    assert_eq!(after_quit, ["* bye"], "{}", tess.dump());
}
