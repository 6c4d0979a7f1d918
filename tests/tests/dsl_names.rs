//! Names the DSL must take as written: Rust keywords (a message `Move`, a
//! namespace `r#match`, a field `r#type`), acronyms (`GetXP`, `HTTPError`),
//! and the path of a missing field in the error frame.

use zocket::{ClientId, Reject};
use zocket_tests::{serve, RawClient};

#[zocket::router]
pub mod game {
    pub mod r#match {
        #[incoming]
        pub struct Move {
            pub r#type: String,
            pub cell: u8,
        }

        #[incoming]
        pub struct GetXP {}

        #[outgoing]
        pub struct HTTPError {
            pub r#type: String,
        }
    }
}

use game::r#match;

#[derive(Clone)]
struct App;

impl game::Server for App {
    type Context = ();
    async fn on_connect(&self, _: zocket::NoHeaders, _: &ClientId) -> Result<(), Reject> {
        Ok(())
    }
}

impl r#match::Handlers for App {
    async fn r#move(&self, cx: &game::Ctx<()>, m: r#match::Move) {
        cx.send()
            .r#match()
            .http_error(r#match::HTTPError {
                r#type: format!("{}@{}", m.r#type, m.cell),
            })
            .to([cx.client_id()]);
    }

    async fn get_xp(&self, cx: &game::Ctx<()>, _: r#match::GetXP) {
        cx.send()
            .r#match()
            .http_error(r#match::HTTPError {
                r#type: "xp".into(),
            })
            .to([cx.client_id()]);
    }
}

#[tokio::test]
async fn keywords_and_acronyms_have_plain_wire_names() {
    let server = serve(game::Router::server(App)).await;
    let mut c = RawClient::connect(&server.url()).await;
    c.send_text(r#"{"type":"match.move","payload":{"type":"x","cell":4}}"#)
        .await;
    assert_eq!(
        c.recv_text().await,
        r#"{"type":"match.httpError","payload":{"type":"x@4"}}"#
    );
    c.send_text(r#"{"type":"match.getXP"}"#).await;
    assert_eq!(
        c.recv_text().await,
        r#"{"type":"match.httpError","payload":{"type":"xp"}}"#
    );
    // A missing field is named in the path, without `r#`.
    c.send_text(r#"{"type":"match.move","payload":{"cell":4}}"#)
        .await;
    let error = c.recv_json().await;
    assert_eq!(error["payload"]["code"], "invalid_payload");
    assert_eq!(error["payload"]["path"], "type");
    server.shutdown().await;
}

#[tokio::test]
async fn the_typed_client_uses_the_same_names() {
    let server = serve(game::Router::server(App)).await;
    let client = game::Client::builder(server.url())
        .connect()
        .await
        .expect("connects");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let _listener = client.on().r#match().http_error(move |m| {
        let _ = tx.send(m.r#type.clone());
    });
    client
        .send()
        .r#match()
        .r#move(r#match::Move {
            r#type: "o".into(),
            cell: 1,
        })
        .expect("sent");
    let got = tokio::time::timeout(zocket_tests::TIMEOUT, rx.recv())
        .await
        .expect("in time");
    assert_eq!(got.as_deref(), Some("o@1"));
    server.shutdown().await;
}
