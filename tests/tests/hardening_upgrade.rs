//! Defaults-table rows checked before the upgrade: the header read timeout
//! (slowloris), the Origin check (403), connection caps (503), and headers
//! carried in the `zocket.auth.` subprotocol instead of the URL.

mod hardening_support;

use std::time::{Duration, Instant};

use base64::Engine;
use hardening_support::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zocket::client::{Client, HeaderTransport};
use zocket::Config;

#[tokio::test]
async fn slowloris_socket_is_closed_within_the_header_timeout() {
    // The header read timeout is what zocket's accept loop adds; plain
    // `axum::serve` has none (documented in the chat-axum example).
    if zocket_tests::serve_mode() != zocket_tests::ServeMode::Zocket {
        eprintln!("skipped: no header read timeout outside zocket's accept loop");
        return;
    }
    let server =
        Server::start(Config::default().header_read_timeout(Duration::from_millis(300))).await;
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let started = Instant::now();
    // A request head that never ends.
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue, // e.g. a 408 answer before the close
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "slow client still connected after 5 s");
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "closed before the timeout: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn foreign_origin_is_refused_with_403_before_the_upgrade() {
    let server = Server::start(Config::default()).await;
    let same = format!("http://{}", server.addr);
    assert_eq!(
        upgrade_status(&server, &[("origin", "http://evil.example")]).await,
        403
    );
    assert_eq!(upgrade_status(&server, &[("origin", "null")]).await, 403);
    assert_eq!(upgrade_status(&server, &[("origin", &same)]).await, 101);
    // No Origin: not a browser, allowed.
    assert_eq!(upgrade_status(&server, &[]).await, 101);

    let server = Server::start(Config::default().allowed_origins(["https://app.example"])).await;
    assert_eq!(
        upgrade_status(&server, &[("origin", "https://app.example")]).await,
        101
    );
    assert_eq!(
        upgrade_status(&server, &[("origin", "https://evil.example")]).await,
        403
    );
}

#[tokio::test]
async fn over_the_global_cap_is_refused_with_503_and_a_freed_slot_is_reused() {
    let mut server = Server::start(Config::default().max_connections(2)).await;
    let mut a = connect(&server).await;
    let _b = connect(&server).await;
    assert_eq!(upgrade_status(&server, &[]).await, 503);
    a.close(None).await.unwrap();
    assert!(matches!(next(&mut a).await, Got::Close(..)));
    assert_eq!(next(&mut a).await, Got::Gone);
    assert!(matches!(server.next_event().await, Event::Disconnected(_)));
    // The slot is released as the connection task ends, right after the
    // socket closes.
    let mut status = 0;
    for _ in 0..200 {
        status = upgrade_status(&server, &[]).await;
        if status == 101 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(status, 101, "slot never released");
}

#[tokio::test]
async fn over_the_per_ip_cap_is_refused_with_503() {
    let server = Server::start(Config::default().max_connections_per_ip(1)).await;
    let _a = connect(&server).await;
    assert_eq!(upgrade_status(&server, &[]).await, 503);
}

#[tokio::test]
async fn headers_travel_in_the_auth_subprotocol_not_the_url() {
    let server = Server::start(Config::default()).await;
    let token = |json: serde_json::Value| {
        format!(
            "zocket, zocket.auth.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json.to_string())
        )
    };
    // on_connect sees the token: "reject" is refused with 401.
    let reject = token(json!({"token":"reject"}));
    assert_eq!(
        upgrade_status(&server, &[("sec-websocket-protocol", &reject)]).await,
        401
    );
    // A bad token is a 400 before on_connect.
    assert_eq!(
        upgrade_status(&server, &[("sec-websocket-protocol", "zocket.auth.%%%")]).await,
        400
    );

    // The typed client, with headers in the subprotocol.
    let client = Client::<app::Router>::builder(server.url())
        .headers(app::Headers {
            user_name: "Alice".into(),
            token: "secret".into(),
        })
        .header_transport(HeaderTransport::Subprotocol)
        .reconnect(None)
        .connect()
        .await
        .unwrap();
    let mut messages = client.messages();
    client
        .send()
        .room()
        .ping(app::room::Ping {
            message: "hi".into(),
        })
        .unwrap();
    let reply = tokio::time::timeout(WAIT, messages.next())
        .await
        .unwrap()
        .unwrap();
    match reply {
        app::Outgoing::Room(app::room::Outgoing::Pong(p)) => assert_eq!(p.reply, "Alice: hi"),
        other => panic!("{other:?}"),
    }

    // And as plain HTTP headers.
    let client = Client::<app::Router>::builder(server.url())
        .headers(app::Headers {
            user_name: "Bob".into(),
            token: "reject".into(),
        })
        .header_transport(HeaderTransport::Http)
        .reconnect(None)
        .connect()
        .await;
    match client {
        Err(zocket::client::ConnectError::Rejected { status, .. }) => assert_eq!(status, 401),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("token in HTTP headers was not seen"),
    }
}

/// Compression is off: an offered permessage-deflate is not accepted, and
/// the server selects the `zocket` subprotocol, never echoing an auth token.
#[tokio::test]
async fn no_compression_and_only_the_plain_subprotocol_is_echoed() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let server = Server::start(Config::default()).await;
    let mut request = server.url().into_client_request().unwrap();
    let token = format!(
        "zocket, zocket.auth.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"user-name":"A"}"#)
    );
    request.headers_mut().insert(
        "sec-websocket-extensions",
        "permessage-deflate; client_max_window_bits"
            .parse()
            .unwrap(),
    );
    request
        .headers_mut()
        .insert("sec-websocket-protocol", token.parse().unwrap());
    let (_ws, response) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .unwrap()
        .unwrap();
    assert!(response.headers().get("sec-websocket-extensions").is_none());
    assert_eq!(
        response.headers().get("sec-websocket-protocol").unwrap(),
        "zocket"
    );
}
