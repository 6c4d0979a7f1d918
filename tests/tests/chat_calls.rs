//! The chat example's requests: `rooms.join` answers with the room's size
//! or a typed refusal, `rooms.members` with the sorted roster or
//! `notMember`. Exact v1 frames from a raw client, then the typed client's
//! calls; plain frames (no `rpcId`) keep the old behaviour.

use serde_json::json;
use zocket::client::CallError;
use zocket::Config;
use zocket_examples::server::Chat;
use zocket_examples::{chat, ChatError, Joined};
use zocket_tests::{serve, RawClient};

fn join(room: &str, rpc: &str) -> String {
    json!({"type":"rooms.join","payload":{"roomId":room},"rpcId":rpc}).to_string()
}

fn members(room: &str, rpc: &str) -> String {
    json!({"type":"rooms.members","payload":{"roomId":room},"rpcId":rpc}).to_string()
}

fn on_join(room: &str, user: &str) -> String {
    format!(r#"{{"type":"rooms.onJoin","payload":{{"roomId":"{room}","userName":"{user}"}}}}"#)
}

#[tokio::test]
async fn raw_v1_requests_get_replies_and_typed_errors() {
    let server = serve(chat::Router::server(Chat)).await;
    let url = server.url();
    let mut bob = RawClient::connect(&format!("{url}?user-name=bob")).await;
    let mut alice = RawClient::connect(&format!("{url}?user-name=Alice")).await;

    bob.send_text(&join("general", "j1")).await;
    assert_eq!(bob.recv_text().await, on_join("general", "bob"));
    assert_eq!(
        bob.recv_text().await,
        r#"{"type":"__rpc_res","rpcId":"j1","payload":{"roomId":"general","members":1}}"#
    );
    alice.send_text(&join("general", "j2")).await;
    assert_eq!(alice.recv_text().await, on_join("general", "Alice"));
    assert_eq!(
        alice.recv_text().await,
        r#"{"type":"__rpc_res","rpcId":"j2","payload":{"roomId":"general","members":2}}"#
    );
    assert_eq!(bob.recv_text().await, on_join("general", "Alice"));

    // A second join is refused with a typed error and announced to no one.
    alice.send_text(&join("general", "j3")).await;
    assert_eq!(
        alice.recv_text().await,
        r#"{"type":"zocket.error","rpcId":"j3","payload":{"code":"handler_error","message":"already a member of this room","for":"rooms.join","data":{"kind":"alreadyMember"}}}"#
    );

    // Members as a request: the reply only, sorted without regard to case,
    // and no onMembers frame besides.
    alice.send_text(&members("general", "m1")).await;
    assert_eq!(
        alice.recv_text().await,
        r#"{"type":"__rpc_res","rpcId":"m1","payload":{"roomId":"general","members":["Alice","bob"]}}"#
    );
    alice.send_text(&members("elsewhere", "m2")).await;
    assert_eq!(
        alice.recv_text().await,
        r#"{"type":"zocket.error","rpcId":"m2","payload":{"code":"handler_error","message":"not a member of this room","for":"rooms.members","data":{"kind":"notMember"}}}"#
    );
    // An invalid room id is answered before any handler runs.
    alice.send_text(&join("", "j4")).await;
    let invalid = alice.recv_json().await;
    assert_eq!(invalid["rpcId"], "j4");
    assert_eq!(invalid["payload"]["code"], "invalid_payload");
    assert_eq!(invalid["payload"]["path"], "roomId");

    // Without rpcId: the roster comes as onMembers, as before requests.
    alice
        .send_text(r#"{"type":"rooms.members","payload":{"roomId":"general"}}"#)
        .await;
    assert_eq!(
        alice.recv_text().await,
        r#"{"type":"rooms.onMembers","payload":{"roomId":"general","members":["Alice","bob"]}}"#
    );
    // Bob's next frame is Alice's message: nothing above reached him.
    alice
        .send_text(r#"{"type":"rooms.message","payload":{"roomId":"general","content":"hi"}}"#)
        .await;
    let next = bob.recv_json().await;
    assert_eq!(next["type"], "rooms.onMessage");
    assert_eq!(next["payload"]["content"], "hi");
    server.shutdown().await;
}

#[tokio::test]
async fn a_refused_join_answers_with_the_reason() {
    let config = Config {
        max_rooms_per_connection: 1,
        ..Config::default()
    };
    let server = serve(zocket::Zocket::<chat::Router, Chat>::with_config(
        Chat, config,
    ))
    .await;
    let mut c = RawClient::connect(&format!("{}?user-name=Ann", server.url())).await;
    c.send_text(&join("a", "1")).await;
    assert_eq!(c.recv_text().await, on_join("a", "Ann"));
    assert_eq!(c.recv_json().await["rpcId"], "1");
    c.send_text(&join("b", "2")).await;
    // zocket's own room_limit frame (no rpcId: it answers no request), then
    // the handler's answer.
    let limit = c.recv_json().await;
    assert_eq!(limit["payload"]["code"], "room_limit");
    assert!(limit.get("rpcId").is_none());
    assert_eq!(
        c.recv_text().await,
        r#"{"type":"zocket.error","rpcId":"2","payload":{"code":"handler_error","message":"join refused: a connection may be in at most 1 rooms","for":"rooms.join","data":{"kind":"refused","reason":"a connection may be in at most 1 rooms"}}}"#
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_typed_client_calls_join_and_members() {
    let server = serve(chat::Router::server(Chat)).await;
    let connect = |name: &str| {
        chat::Client::connect(
            server.url(),
            chat::Headers {
                user_name: name.to_owned(),
            },
        )
    };
    let zoe = connect("Zoe").await.expect("connects");
    let amy = connect("amy").await.expect("connects");
    let joined = |c: &chat::Client, room: &str| {
        c.call().rooms().join(chat::rooms::Join {
            room_id: room.to_owned(),
        })
    };
    assert_eq!(
        joined(&zoe, "lobby").await,
        Ok(Joined {
            room_id: "lobby".into(),
            members: 1
        })
    );
    assert_eq!(joined(&amy, "lobby").await.map(|j| j.members), Ok(2));
    assert_eq!(
        joined(&amy, "lobby").await,
        Err(CallError::Handler(ChatError::AlreadyMember))
    );
    let roster = zoe
        .call()
        .rooms()
        .members(chat::rooms::Members {
            room_id: "lobby".into(),
        })
        .await
        .expect("a member gets the roster");
    assert_eq!(roster.members, ["amy", "Zoe"]);
    let elsewhere = zoe
        .call()
        .rooms()
        .members(chat::rooms::Members {
            room_id: "attic".into(),
        })
        .await;
    assert!(
        matches!(elsewhere, Err(CallError::Handler(ChatError::NotMember))),
        "{elsewhere:?}"
    );
    server.shutdown().await;
}
