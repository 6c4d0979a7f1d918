//! `#[zocket::data]` types inside messages and as replies: camelCase on the
//! wire like messages, no serde dependency of their own, and in the
//! generated TypeScript.

use zocket::{ClientId, Reject};
use zocket_tests::{serve, RawClient};

#[zocket::data]
#[serde(tag = "kind")]
pub enum Piece {
    Pawn,
    Knight { times_moved: u32 },
}

#[zocket::data]
pub struct Square {
    pub file_index: u8,
    pub rank_index: u8,
}

#[zocket::data]
pub struct Placed {
    pub at_square: Square,
    pub piece_count: usize,
}

#[zocket::router]
pub mod board {
    pub mod pieces {
        #[incoming(reply = crate::Placed)]
        pub struct Place {
            pub square: crate::Square,
            pub piece: crate::Piece,
        }

        #[outgoing]
        pub struct OnPlaced {
            pub piece: crate::Piece,
        }
    }
}

use board::pieces;

struct App;

impl board::Server for App {
    type Context = ();
    async fn on_connect(&self, _: zocket::NoHeaders, _: &ClientId) -> Result<(), Reject> {
        Ok(())
    }
}

impl pieces::Handlers for App {
    async fn place(&self, cx: &board::Ctx<()>, m: pieces::Place) -> Placed {
        cx.send()
            .pieces()
            .on_placed(pieces::OnPlaced { piece: m.piece })
            .to([cx.client_id()]);
        Placed {
            at_square: m.square,
            piece_count: 1,
        }
    }
}

#[tokio::test]
async fn data_types_travel_in_camel_case() {
    let server = serve(board::Router::server(App)).await;
    let mut c = RawClient::connect(&server.url()).await;
    c.send_text(
        r#"{"type":"pieces.place","payload":{"square":{"fileIndex":1,"rankIndex":2},"piece":{"kind":"knight","timesMoved":3}},"rpcId":"p"}"#,
    )
    .await;
    assert_eq!(
        c.recv_text().await,
        r#"{"type":"pieces.onPlaced","payload":{"piece":{"kind":"knight","timesMoved":3}}}"#
    );
    assert_eq!(
        c.recv_text().await,
        r#"{"type":"__rpc_res","rpcId":"p","payload":{"atSquare":{"fileIndex":1,"rankIndex":2},"pieceCount":1}}"#
    );
    // A snake_case field inside a data type is not its wire name.
    c.send_text(
        r#"{"type":"pieces.place","payload":{"square":{"file_index":1,"rankIndex":2},"piece":{"kind":"pawn"}},"rpcId":"q"}"#,
    )
    .await;
    let error = c.recv_json().await;
    assert_eq!(error["rpcId"], "q");
    assert_eq!(error["payload"]["code"], "invalid_payload");
    assert_eq!(error["payload"]["path"], "square.fileIndex");
    server.shutdown().await;
}

#[test]
fn data_types_are_in_the_generated_typescript() {
    let ts = board::Router::typescript("Board");
    for expected in [
        r#"export type Piece = { "kind": "pawn" } | { "kind": "knight", timesMoved: number, };"#,
        "export type Square = { fileIndex: number, rankIndex: number };",
        "export type Placed = { atSquare: Square, pieceCount: number };",
        "$reply: Placed",
    ] {
        assert!(ts.contains(expected), "missing {expected:?} in:\n{ts}");
    }
}
