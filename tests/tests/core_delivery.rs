//! Delivery guarantees: once per connection across rooms, exclusions,
//! cleanup and sending on disconnect, and the room map under concurrent
//! joins and leaves from many connections.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use zocket_tests::fixture::{app, App};
use zocket_tests::{serve, RawClient};

async fn named(url: &str, name: &str) -> RawClient {
    RawClient::connect(&format!("{url}?user-name={name}")).await
}

async fn join(c: &mut RawClient, room: &str) {
    c.send_json(json!({"type": "talk.join", "payload": {"room": room}}))
        .await;
    assert_eq!(c.recv_json().await["type"], "talk.joined");
}

async fn id_of(c: &mut RawClient) -> String {
    c.send_json(json!({"type": "basic.whoAmI"})).await;
    let v = c.recv_json().await;
    assert_eq!(v["type"], "basic.you");
    v["payload"]["clientId"].as_str().unwrap().to_owned()
}

fn said(text: &str, from: &str) -> Value {
    json!({"type": "talk.said", "payload": {"from": from, "text": text}})
}

#[tokio::test]
async fn a_send_to_several_rooms_arrives_once_per_connection() {
    let server = serve(app::Router::server(App::default())).await;
    let url = server.url();
    let mut a = named(&url, "a").await;
    let mut b = named(&url, "b").await;
    let mut x = named(&url, "x").await;
    for room in ["r1", "r2", "r3"] {
        join(&mut a, room).await;
    }
    join(&mut b, "r2").await;

    x.send_json(json!({"type": "talk.say", "payload": {"rooms": ["r1", "r2", "r3", "r2"], "text": "multi"}}))
        .await;
    // A marker after it: if anyone got "multi" twice, the duplicate comes
    // before the marker.
    x.send_json(json!({"type": "talk.say", "payload": {"rooms": ["r2"], "text": "marker"}}))
        .await;
    for c in [&mut a, &mut b] {
        assert_eq!(c.recv_json().await, said("multi", "x"));
        assert_eq!(c.recv_json().await, said("marker", "x"));
    }
}

#[tokio::test]
async fn except_self_and_except_ids() {
    let server = serve(app::Router::server(App::default())).await;
    let url = server.url();
    let mut a = named(&url, "a").await;
    let mut b = named(&url, "b").await;
    let mut c = named(&url, "c").await;
    for client in [&mut a, &mut b, &mut c] {
        join(client, "room").await;
    }
    let b_id = id_of(&mut b).await;

    a.send_json(json!({"type": "talk.say", "payload": {"rooms": ["room"], "text": "not me", "exceptSelf": true}}))
        .await;
    a.send_json(json!({"type": "talk.say", "payload": {"rooms": ["room"], "text": "not b", "except": [b_id]}}))
        .await;
    a.send_json(json!({"type": "talk.say", "payload": {"rooms": ["room"], "text": "all"}}))
        .await;
    assert_eq!(a.recv_json().await, said("not b", "a"));
    assert_eq!(a.recv_json().await, said("all", "a"));
    assert_eq!(b.recv_json().await, said("not me", "a"));
    assert_eq!(b.recv_json().await, said("all", "a"));
    assert_eq!(c.recv_json().await, said("not me", "a"));
    assert_eq!(c.recv_json().await, said("not b", "a"));
    assert_eq!(c.recv_json().await, said("all", "a"));
}

#[tokio::test]
async fn disconnect_sends_from_on_disconnect_then_cleans_up() {
    let server = serve(app::Router::server(App::default())).await;
    let url = server.url();
    let mut a = named(&url, "a").await;
    let mut b = named(&url, "b").await;
    join(&mut a, "r1").await;
    join(&mut a, "r2").await;
    join(&mut b, "r1").await;
    join(&mut b, "r2").await;
    assert_eq!(server.handle.len("r1"), 2);

    a.close().await;
    // on_disconnect still sees a's rooms and can send to them: b is in both
    // and hears it once.
    assert_eq!(b.recv_json().await, said("bye from a", "a"));
    server.handle.wait_connections(1).await;
    assert_eq!(server.handle.members("r1").len(), 1);
    assert_eq!(server.handle.len("r2"), 1);

    b.close().await;
    server.handle.wait_connections(0).await;
    assert_eq!(server.handle.rooms(), 0, "empty rooms are freed");
}

/// Many connections join and leave overlapping rooms at once (fixed seeds);
/// the server's room map must end equal to what each connection did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_joins_and_leaves_from_many_connections() {
    let server = serve(app::Router::server(App::default())).await;
    let url = server.url();
    let clients = 32;
    let rooms = ["a", "b", "c", "d", "e"];
    let mut tasks = Vec::new();
    for n in 0..clients {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = named(&url, &format!("c{n}")).await;
            let id = id_of(&mut c).await;
            let mut mine = BTreeSet::new();
            let mut seed: u64 = 0x2545_f491_4f6c_dd1d ^ n;
            for _ in 0..60 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let room = rooms[(seed % 5) as usize];
                if seed & 0x100 == 0 {
                    c.send_json(json!({"type": "talk.join", "payload": {"room": room}}))
                        .await;
                    // Joined answers every successful join, new or not.
                    assert_eq!(c.recv_json().await["type"], "talk.joined");
                    mine.insert(room);
                } else {
                    c.send_json(json!({"type": "talk.leave", "payload": {"room": room}}))
                        .await;
                    mine.remove(room);
                }
            }
            // Handlers run in order per connection: once this answer is
            // back, every join and leave above has been applied.
            assert_eq!(id_of(&mut c).await, id);
            (id, mine, c)
        }));
    }
    let mut expected: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut keep = Vec::new();
    for t in tasks {
        let (id, mine, c) = t.await.unwrap();
        for room in mine {
            expected.entry(room).or_default().insert(id.clone());
        }
        keep.push(c);
    }
    for room in rooms {
        let got: BTreeSet<String> = server
            .handle
            .members(room)
            .into_iter()
            .map(|id| id.to_string())
            .collect();
        assert_eq!(
            got,
            expected.get(room).cloned().unwrap_or_default(),
            "room {room}"
        );
    }
}
