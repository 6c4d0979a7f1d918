//! Per-message-type rate limits, `#[incoming(rate = "..", burst = ..)]`
//! (PROTOCOL.md § 5): raw clients burst a limited type and check, frame by
//! frame, that exactly `burst` are handled and the rest refused with
//! `rate_limited` naming the type. The rates are per minute or hour, so no
//! token refills while a test runs: the counts are token arithmetic only.

use serde_json::{json, Value};
use zocket::{ClientId, Reject};
use zocket_tests::{serve, RawClient};

#[zocket::router]
pub mod limited {
    pub mod chat {
        #[incoming(rate = "1/m", burst = 3, reply = String)]
        pub struct Say {
            pub text: String,
        }

        #[incoming(reply = u32)]
        pub struct Ping {
            pub n: u32,
        }
    }

    /// A second namespace: its type's bucket sits after `chat`'s in the
    /// table, and its burst is the default (the rate's count).
    pub mod loud {
        #[incoming(rate = "2/h", reply = String)]
        pub struct Shout {
            pub text: String,
        }
    }
}

use limited::{chat, loud};

struct App;

impl limited::Server for App {
    type Context = ();

    async fn on_connect(&self, _: zocket::NoHeaders, _: &ClientId) -> Result<(), Reject> {
        Ok(())
    }
}

impl chat::Handlers for App {
    async fn say(&self, _: &limited::Ctx<()>, m: chat::Say) -> String {
        m.text
    }

    async fn ping(&self, _: &limited::Ctx<()>, m: chat::Ping) -> u32 {
        m.n
    }
}

impl loud::Handlers for App {
    async fn shout(&self, _: &limited::Ctx<()>, m: loud::Shout) -> String {
        m.text.to_uppercase()
    }
}

fn request(ty: &str, rpc: &str, payload: Value) -> Value {
    json!({"type": ty, "rpcId": rpc, "payload": payload})
}

fn reply(rpc: &str, payload: Value) -> Value {
    json!({"type": "__rpc_res", "rpcId": rpc, "payload": payload})
}

/// Checks a `rate_limited` error frame for `ty`, answering `rpc` if given.
fn assert_rate_limited(frame: &Value, ty: &str, rpc: Option<&str>) {
    assert_eq!(frame["type"], "zocket.error", "{frame}");
    assert_eq!(frame["payload"]["code"], "rate_limited", "{frame}");
    assert_eq!(frame["payload"]["for"], ty, "{frame}");
    assert_eq!(frame.get("rpcId").and_then(Value::as_str), rpc, "{frame}");
}

#[tokio::test]
async fn a_burst_past_the_limit_is_refused_for_that_type_only() {
    let server = serve(limited::Router::server(App)).await;
    let mut a = RawClient::connect(&server.url()).await;
    for i in 0..6 {
        a.send_json(request(
            "chat.say",
            &format!("s{i}"),
            json!({"text": format!("line {i}")}),
        ))
        .await;
    }
    // Fire-and-forget past the limit: the error still comes, without rpcId.
    a.send_json(json!({"type": "chat.say", "payload": {"text": "no id"}}))
        .await;
    a.send_json(request("chat.ping", "p1", json!({"n": 7})))
        .await;
    // Handled in order, so the answers are in order: the burst, then the
    // refusals, then the other type, unaffected.
    for i in 0..3 {
        assert_eq!(
            a.recv_json().await,
            reply(&format!("s{i}"), json!(format!("line {i}")))
        );
    }
    for i in 3..6 {
        assert_rate_limited(&a.recv_json().await, "chat.say", Some(&format!("s{i}")));
    }
    assert_rate_limited(&a.recv_json().await, "chat.say", None);
    assert_eq!(a.recv_json().await, reply("p1", json!(7)));

    // Another limited type on the same connection has its own bucket,
    // with the default burst (2/h: 2).
    for i in 0..3 {
        a.send_json(request(
            "loud.shout",
            &format!("l{i}"),
            json!({"text": "hey"}),
        ))
        .await;
    }
    assert_eq!(a.recv_json().await, reply("l0", json!("HEY")));
    assert_eq!(a.recv_json().await, reply("l1", json!("HEY")));
    assert_rate_limited(&a.recv_json().await, "loud.shout", Some("l2"));

    // Another client's buckets are its own.
    let mut b = RawClient::connect(&server.url()).await;
    for i in 0..4 {
        b.send_json(request(
            "chat.say",
            &format!("b{i}"),
            json!({"text": "from b"}),
        ))
        .await;
    }
    for i in 0..3 {
        assert_eq!(
            b.recv_json().await,
            reply(&format!("b{i}"), json!("from b"))
        );
    }
    assert_rate_limited(&b.recv_json().await, "chat.say", Some("b3"));

    // The first connection is still open and its other type still works.
    a.send_json(request("chat.ping", "p2", json!({"n": 8})))
        .await;
    assert_eq!(a.recv_json().await, reply("p2", json!(8)));
}

#[tokio::test]
async fn refusals_in_a_row_count_as_bad_frames() {
    let server = serve(limited::Router::server(App)).await;
    let mut c = RawClient::connect(&server.url()).await;
    for i in 0..3 {
        c.send_json(request(
            "loud.shout",
            &format!("l{i}"),
            json!({"text": "x"}),
        ))
        .await;
    }
    assert_eq!(c.recv_json().await, reply("l0", json!("X")));
    assert_eq!(c.recv_json().await, reply("l1", json!("X")));
    assert_rate_limited(&c.recv_json().await, "loud.shout", Some("l2"));
    // A handled message resets the count of bad frames in a row.
    c.send_json(request("chat.ping", "p", json!({"n": 1})))
        .await;
    assert_eq!(c.recv_json().await, reply("p", json!(1)));
    // `max_consecutive_errors` (10) refusals in a row: each is answered,
    // then the connection is closed with 1008.
    for i in 0..10 {
        c.send_json(request(
            "loud.shout",
            &format!("x{i}"),
            json!({"text": "x"}),
        ))
        .await;
    }
    for i in 0..10 {
        assert_rate_limited(&c.recv_json().await, "loud.shout", Some(&format!("x{i}")));
    }
    assert_eq!(c.recv_close().await, Some(1008));
}

/// Both buckets must allow a message, and one the type's bucket refuses
/// has still spent its connection-wide token (PROTOCOL.md § 5): the
/// connection-wide limit bounds every frame read, limited type or not.
#[tokio::test]
async fn a_type_refusal_spends_the_connection_wide_token() {
    // Five tokens for the connection, never refilled.
    let config = zocket::Config::default().rate_limit(Some(zocket::RateLimit {
        per_second: 0,
        burst: 5,
    }));
    let server = serve(zocket::Zocket::<limited::Router, App>::with_config(
        App, config,
    ))
    .await;
    let mut c = RawClient::connect(&server.url()).await;
    for i in 0..4 {
        c.send_json(request("chat.say", &format!("s{i}"), json!({"text": "t"})))
            .await;
    }
    c.send_json(request("chat.ping", "p1", json!({"n": 1})))
        .await;
    c.send_json(request("chat.ping", "p2", json!({"n": 2})))
        .await;
    for i in 0..3 {
        assert_eq!(c.recv_json().await, reply(&format!("s{i}"), json!("t")));
    }
    let by_type = c.recv_json().await;
    assert_rate_limited(&by_type, "chat.say", Some("s3"));
    assert_eq!(
        by_type["payload"]["message"],
        "too many `chat.say` messages; slow down"
    );
    // The fifth token, then none: the refused `s3` took one.
    assert_eq!(c.recv_json().await, reply("p1", json!(1)));
    let by_connection = c.recv_json().await;
    assert_rate_limited(&by_connection, "chat.ping", Some("p2"));
    assert_eq!(
        by_connection["payload"]["message"],
        "too many messages; slow down"
    );
}
