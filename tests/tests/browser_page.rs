//! The chat example's HTTP side without a browser: the page and its
//! scripts are served on `/`, the WebSocket answers on the same `/` by
//! upgrade, and `rooms.members` lists the names in a room. (The browser
//! itself is driven by `e2e/`, see docs/web.md.)

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zocket_examples::chat;
use zocket_examples::server::Chat;
use zocket_tests::RawClient;

async fn start() -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(zocket_examples::web::serve(
        listener,
        chat::Router::server(Chat),
        None,
        async move {
            let _ = stopped.await;
        },
    ));
    (addr.to_string(), stop)
}

/// A plain HTTP/1.1 GET: (status line, headers and body).
async fn get(addr: &str, path: &str) -> (String, String) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).await.unwrap();
    let (status, rest) = response.split_once("\r\n").unwrap();
    (status.to_owned(), rest.to_owned())
}

#[tokio::test]
async fn page_and_websocket_share_the_root_path() {
    let (addr, _stop) = start().await;

    let (status, page) = get(&addr, "/").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(page
        .to_ascii_lowercase()
        .contains("content-type: text/html"));
    assert!(page.contains(r#"<script type="module" src="/app.js">"#));
    let (status, _) = get(&addr, "/?name=Alice").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    for script in [
        "/app.js",
        "/zocket/index.js",
        "/zocket/client.js",
        "/style.css",
    ] {
        let (status, body) = get(&addr, script).await;
        assert_eq!(status, "HTTP/1.1 200 OK", "{script}");
        assert!(body.len() > 200, "{script}");
    }
    assert_eq!(get(&addr, "/nope.js").await.0, "HTTP/1.1 404 Not Found");

    // The WebSocket on the same path, as the seed's ws://localhost:3000.
    let mut alice = RawClient::connect(&format!("ws://{addr}/?user-name=Alice")).await;
    let mut bob = RawClient::connect(&format!("ws://{addr}/?user-name=Bob")).await;
    let join = r#"{"type":"rooms.join","payload":{"roomId":"general"}}"#;
    alice.send_text(join).await;
    assert_eq!(
        alice.recv_text().await,
        r#"{"type":"rooms.onJoin","payload":{"roomId":"general","userName":"Alice"}}"#
    );
    bob.send_text(join).await;
    let bob_joined = r#"{"type":"rooms.onJoin","payload":{"roomId":"general","userName":"Bob"}}"#;
    assert_eq!(alice.recv_text().await, bob_joined);
    assert_eq!(bob.recv_text().await, bob_joined);

    // Members go to the asker alone, sorted.
    alice
        .send_text(r#"{"type":"rooms.members","payload":{"roomId":"general"}}"#)
        .await;
    assert_eq!(
        alice.recv_text().await,
        r#"{"type":"rooms.onMembers","payload":{"roomId":"general","members":["Alice","Bob"]}}"#
    );
    // Bob leaves: both hear it, and the list no longer has him.
    bob.send_text(r#"{"type":"rooms.leave","payload":{"roomId":"general"}}"#)
        .await;
    let left = r#"{"type":"rooms.onLeave","payload":{"roomId":"general","userName":"Bob"}}"#;
    assert_eq!(bob.recv_text().await, left);
    assert_eq!(alice.recv_text().await, left);
    alice
        .send_text(r#"{"type":"rooms.members","payload":{"roomId":"general"}}"#)
        .await;
    assert_eq!(
        alice.recv_text().await,
        r#"{"type":"rooms.onMembers","payload":{"roomId":"general","members":["Alice"]}}"#
    );
    // Not a member: no list, a typed error to the asker instead.
    bob.send_text(r#"{"type":"rooms.members","payload":{"roomId":"general"}}"#)
        .await;
    assert_eq!(
        bob.recv_text().await,
        r#"{"type":"zocket.error","payload":{"code":"handler_error","message":"not a member of this room","for":"rooms.members","data":{"kind":"notMember"}}}"#
    );
    bob.send_text(r#"{"type":"rooms.join","payload":{"roomId":"b"}}"#)
        .await;
    assert_eq!(
        bob.recv_text().await,
        r#"{"type":"rooms.onJoin","payload":{"roomId":"b","userName":"Bob"}}"#
    );
}
