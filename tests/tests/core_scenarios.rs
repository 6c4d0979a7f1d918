//! The original zocket's four test scenarios, with the typed Rust client.

use std::sync::atomic::Ordering;

use serde_json::json;
use tokio::sync::mpsc;
use zocket_tests::fixture::{app, App};
use zocket_tests::{next, serve, RawClient, TIMEOUT};

async fn client(url: &str, name: &str, admin: bool) -> app::Client {
    app::Client::connect(
        url,
        app::Headers {
            user_name: name.into(),
            admin,
        },
    )
    .await
    .expect("connect")
}

/// Scenario 1: ping/pong, with the "ping" default for a missing field.
#[tokio::test]
async fn ping_pong_with_default() {
    let server = serve(app::Router::server(App::default())).await;
    let alice = client(&server.url(), "alice", false).await;
    let mut messages = alice.messages();
    alice
        .send()
        .basic()
        .ping(app::basic::Ping {
            message: "hello".into(),
        })
        .unwrap();
    match next(&mut messages).await {
        app::Outgoing::Basic(app::basic::Outgoing::Pong(p)) => assert_eq!(p.reply, "pong: hello"),
        other => panic!("unexpected {other:?}"),
    }

    // A client that omits the field gets the default.
    let mut raw = RawClient::connect(&server.url()).await;
    raw.send_json(json!({"type": "basic.ping", "payload": {}}))
        .await;
    assert_eq!(
        raw.recv_text().await,
        r#"{"type":"basic.pong","payload":{"reply":"pong: ping"}}"#
    );
    // And so does one that omits the payload altogether.
    raw.send_json(json!({"type": "basic.ping"})).await;
    assert_eq!(raw.recv_json().await["payload"]["reply"], "pong: ping");
}

/// Scenario 2: defaults are applied and invalid payloads never reach the
/// handler; each gets a typed error naming the field.
#[tokio::test]
async fn validation_with_defaults() {
    let app = App::default();
    let accepted = app.accepted.clone();
    let server = serve(app::Router::server(app)).await;
    let mut raw = RawClient::connect(&server.url()).await;

    raw.send_json(json!({"type": "validated.person", "payload": {"name": "Ann"}}))
        .await;
    assert_eq!(
        raw.recv_json().await,
        json!({"type": "validated.accepted", "payload": {"name": "Ann", "age": 18}})
    );

    let cases = [
        (json!({"name": ""}), "name", "must not be empty"),
        (json!({"name": 5}), "name", ""),
        (json!({"name": "Bo", "age": 3}), "age", "must be 18 to 150"),
        (json!({"name": "Bo", "age": -1}), "age", ""),
        (json!({"age": 20}), "name", "missing field `name`"),
    ];
    for (payload, path, message) in cases {
        raw.send_json(json!({"type": "validated.person", "payload": payload}))
            .await;
        let error = raw.recv_json().await;
        assert_eq!(error["type"], "zocket.error", "{payload}");
        assert_eq!(error["payload"]["code"], "invalid_payload", "{payload}");
        assert_eq!(error["payload"]["for"], "validated.person", "{payload}");
        assert_eq!(error["payload"]["path"], path, "{payload}");
        let text = error["payload"]["message"].as_str().unwrap();
        assert!(text.contains(message), "{payload}: {text}");
    }
    // Prove the server went on, then count what reached the handler.
    raw.send_json(json!({"type": "validated.person", "payload": {"name": "Cy", "age": 40}}))
        .await;
    assert_eq!(raw.recv_json().await["payload"]["age"], 40);
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

/// Scenario 3: rooms with the chat example: each join notifies the room, a
/// message reaches both members, a leave notifies the others.
#[tokio::test]
async fn rooms_join_message_leave() {
    use zocket_examples::chat::{self, rooms};
    let server = serve(chat::Router::server(zocket_examples::server::Chat)).await;
    let connect = |name: &str| {
        chat::Client::connect(
            server.url(),
            chat::Headers {
                user_name: name.into(),
            },
        )
    };
    let a = connect("Alice").await.unwrap();
    let b = connect("Bob").await.unwrap();
    let mut a_msgs = a.messages();
    let mut b_msgs = b.messages();
    let join = |c: &chat::Client| {
        c.send()
            .rooms()
            .join(rooms::Join {
                room_id: "general".into(),
            })
            .unwrap()
    };

    join(&a);
    let chat::Outgoing::Rooms(rooms::Outgoing::OnJoin(j)) = next(&mut a_msgs).await else {
        panic!("expected onJoin")
    };
    assert_eq!(
        (j.room_id.as_str(), j.user_name.as_str()),
        ("general", "Alice")
    );

    join(&b);
    for msgs in [&mut a_msgs, &mut b_msgs] {
        let chat::Outgoing::Rooms(rooms::Outgoing::OnJoin(j)) = next(msgs).await else {
            panic!("expected onJoin")
        };
        assert_eq!(j.user_name, "Bob");
    }

    let before = zocket::chrono::Utc::now();
    a.send()
        .rooms()
        .message(rooms::Message {
            room_id: "general".into(),
            content: "hello".into(),
        })
        .unwrap();
    for msgs in [&mut a_msgs, &mut b_msgs] {
        let chat::Outgoing::Rooms(rooms::Outgoing::OnMessage(m)) = next(msgs).await else {
            panic!("expected onMessage")
        };
        assert_eq!(
            (m.user_name.as_str(), m.content.as_str()),
            ("Alice", "hello")
        );
        // The timestamp arrives as a time, not a string.
        assert!(m.timestamp >= before - zocket::chrono::Duration::seconds(1));
    }

    b.send()
        .rooms()
        .leave(rooms::Leave {
            room_id: "general".into(),
        })
        .unwrap();
    let chat::Outgoing::Rooms(rooms::Outgoing::OnLeave(l)) = next(&mut a_msgs).await else {
        panic!("expected onLeave")
    };
    assert_eq!(l.user_name, "Bob");
    assert_eq!(server.handle.members("general").len(), 1);
}

/// Scenario 4: the fluent API: a middleware-guarded admin broadcast (a
/// non-admin is refused with a typed error), a private message with `.to`,
/// a room message and a broadcast to everyone.
#[tokio::test]
async fn fluent_api_admin_private_room_broadcast() {
    let app = App::default();
    let announced = app.announced.clone();
    let server = serve(app::Router::server(app)).await;
    let admin = client(&server.url(), "root", true).await;
    let user = client(&server.url(), "user", false).await;
    let other = client(&server.url(), "other", false).await;
    let mut admin_msgs = admin.messages();
    let mut user_msgs = user.messages();
    let mut other_msgs = other.messages();

    // Refused: the non-admin's error listener hears why.
    let (err_tx, mut err_rx) = mpsc::unbounded_channel();
    let _errors = user.on_error(move |e| {
        let _ = err_tx.send(e.clone());
    });
    user.send()
        .admin()
        .announce(app::admin::Announce { text: "x".into() })
        .unwrap();
    let error = tokio::time::timeout(TIMEOUT, err_rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(error.code, zocket::ErrorCode::Refused);
    assert_eq!(error.message, "admins only");
    assert_eq!(error.for_type.as_deref(), Some("admin.announce"));
    assert_eq!(announced.load(Ordering::SeqCst), 0);

    // Allowed: everyone hears the announcement.
    admin
        .send()
        .admin()
        .announce(app::admin::Announce {
            text: "maintenance".into(),
        })
        .unwrap();
    for msgs in [&mut admin_msgs, &mut user_msgs, &mut other_msgs] {
        let app::Outgoing::Admin(app::admin::Outgoing::Announcement(a)) = next(msgs).await else {
            panic!("expected announcement")
        };
        assert_eq!(a.text, "maintenance");
    }

    // Private: only the target hears it. `other` asks for its id first.
    other
        .send()
        .basic()
        .who_am_i(app::basic::WhoAmI {})
        .unwrap();
    let app::Outgoing::Basic(app::basic::Outgoing::You(you)) = next(&mut other_msgs).await else {
        panic!("expected id")
    };
    user.send()
        .talk()
        .private(app::talk::Private {
            to: you.client_id.clone(),
            text: "psst".into(),
        })
        .unwrap();
    let app::Outgoing::Talk(app::talk::Outgoing::Said(s)) = next(&mut other_msgs).await else {
        panic!("expected private message")
    };
    assert_eq!((s.from.as_str(), s.text.as_str()), ("user", "psst"));

    // Room message: only members. `user` joins, `admin` does not.
    user.send()
        .talk()
        .join(app::talk::Join { room: "r".into() })
        .unwrap();
    let app::Outgoing::Talk(app::talk::Outgoing::Joined(j)) = next(&mut user_msgs).await else {
        panic!("expected joined")
    };
    assert_eq!(j.members, 1);
    admin
        .send()
        .talk()
        .say(app::talk::Say {
            rooms: vec!["r".into()],
            text: "room only".into(),
            except_self: false,
            except: vec![],
        })
        .unwrap();
    let app::Outgoing::Talk(app::talk::Outgoing::Said(s)) = next(&mut user_msgs).await else {
        panic!("expected room message")
    };
    assert_eq!(s.text, "room only");

    // Neither the private message nor the room message reached the admin:
    // its next message is the next broadcast.
    admin
        .send()
        .admin()
        .announce(app::admin::Announce { text: "end".into() })
        .unwrap();
    let app::Outgoing::Admin(app::admin::Outgoing::Announcement(a)) = next(&mut admin_msgs).await
    else {
        panic!("admin received a message meant for others")
    };
    assert_eq!(a.text, "end");
    assert_eq!(announced.load(Ordering::SeqCst), 2);
}
