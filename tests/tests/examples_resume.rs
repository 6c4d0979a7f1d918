//! The chat example with resumable sessions (on by default) and the
//! terminal chat client, both as child processes, the client behind the
//! proxy of `zocket_tests::proxy`: a cut connection comes back as the same
//! session, the client says so, gets the message sent while it was away,
//! and the room never hears it leave or join again.

mod examples_support;

use examples_support::{contains, expect_message, on_join, Example};
use serde_json::json;
use zocket_tests::proxy::Proxy;
use zocket_tests::RawClient;

#[tokio::test]
async fn chat_client_resumes_through_a_cut() {
    let server = Example::start("chat", &[]).await;
    let proxy = Proxy::start(server.addr().parse().expect("server address")).await;
    let (mut observer, _) =
        RawClient::connect_session(&format!("ws://{}/?user-name=Obs", server.addr())).await;
    observer
        .send_json(json!({"type": "rooms.join", "payload": {"roomId": "general"}}))
        .await;
    assert_eq!(observer.recv_json().await, on_join("general", "Obs"));

    let url = proxy.url();
    let mut tess = Example::interactive(
        "chat-client",
        &["--url", &url, "--name", "Tess", "--room", "general"],
    )
    .await;
    assert_eq!(observer.recv_json().await, on_join("general", "Tess"));

    proxy.cut();
    tess.wait_for_line(|l| l.starts_with(b"* disconnected"))
        .await;
    observer
        .send_json(json!({"type": "rooms.message", "payload": {"roomId": "general", "content": "while you were away"}}))
        .await;
    expect_message(&mut observer, "Obs", "while you were away").await;
    proxy.open();
    tess.wait_for_line(|l| l == b"* resumed: same rooms, nothing missed")
        .await;
    tess.wait_for_line(|l| contains(l, b"Obs: while you were away"))
        .await;

    // Back in the room without a rejoin: the observer's next frame is
    // Tess's line, no leave or join notice before it.
    tess.type_line("back").await;
    expect_message(&mut observer, "Tess", "back").await;
}
