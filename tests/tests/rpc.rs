//! Request/response both ways (PROTOCOL.md § 10), zocket v1's wire: raw
//! clients check the exact frames, the typed client the calls, and the
//! server's own requests to clients are answered by typed answerers and by
//! hand.

use std::future::IntoFuture;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::watch;
use zocket::client::CallError;
use zocket::{ClientId, Config, Refusal, Reject};
use zocket_tests::{serve, serve_on, RawClient, TIMEOUT};

/// The typed failure of `calc.div`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, zocket::ts_rs::TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[ts(crate = "zocket::ts_rs")]
pub enum CalcError {
    DivByZero,
    Busy { retry_ms: u32 },
}

impl std::fmt::Display for CalcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CalcError::DivByZero => f.write_str("division by zero"),
            CalcError::Busy { retry_ms } => write!(f, "busy; retry in {retry_ms} ms"),
        }
    }
}

#[zocket::router]
pub mod rpc {
    pub mod calc {
        #[incoming(reply = u64, error = crate::CalcError)]
        pub struct Div {
            pub a: u64,
            pub b: u64,
        }

        /// No reply type: a request is acked with `null`.
        #[incoming]
        pub struct Note {
            pub text: String,
        }

        /// Answered only once the test releases it.
        #[incoming(reply = u32)]
        pub struct Hang {}

        #[incoming]
        pub struct Boom {}

        #[incoming]
        pub struct Join {
            pub room: String,
        }

        /// The server asks every member of `room` a question and replies
        /// with the answers, sorted.
        #[incoming(reply = Vec<String>)]
        pub struct AskRoom {
            pub room: String,
        }

        /// The server asks the sender itself while handling this.
        #[incoming(reply = String)]
        pub struct AskMe {}
    }

    pub mod ask {
        #[outgoing(reply = String)]
        pub struct Question {
            pub q: String,
        }

        #[outgoing(reply = u32, error = crate::CalcError)]
        pub struct Pick {}
    }
}

use rpc::{ask, calc};

struct App {
    notes: AtomicUsize,
    /// `calc.hang` answers once this is true.
    release: watch::Sender<bool>,
}

impl Default for App {
    fn default() -> Self {
        App {
            notes: AtomicUsize::new(0),
            release: watch::channel(false).0,
        }
    }
}

#[derive(Clone, Default)]
struct Shared(Arc<App>);

impl rpc::Server for Shared {
    type Context = ();

    async fn on_connect(&self, _: zocket::NoHeaders, _: &ClientId) -> Result<(), Reject> {
        Ok(())
    }

    async fn before(&self, _: &rpc::Ctx<()>, message: &rpc::Incoming) -> Result<(), Refusal> {
        match message {
            rpc::Incoming::Calc(calc::Incoming::Note(n)) if n.text == "forbidden" => {
                Err(Refusal::new("no forbidden notes"))
            }
            _ => Ok(()),
        }
    }
}

impl calc::Handlers for Shared {
    async fn div(&self, _: &rpc::Ctx<()>, m: calc::Div) -> Result<u64, crate::CalcError> {
        match m.b {
            0 => Err(CalcError::DivByZero),
            b => Ok(m.a / b),
        }
    }

    async fn note(&self, _: &rpc::Ctx<()>, _: calc::Note) {
        self.0.notes.fetch_add(1, Ordering::SeqCst);
    }

    async fn hang(&self, _: &rpc::Ctx<()>, _: calc::Hang) -> u32 {
        let _ = self
            .0
            .release
            .subscribe()
            .wait_for(|released| *released)
            .await;
        7
    }

    async fn boom(&self, _: &rpc::Ctx<()>, _: calc::Boom) {
        panic!("boom");
    }

    async fn join(&self, cx: &rpc::Ctx<()>, m: calc::Join) {
        let _ = cx.rooms().join(&m.room);
    }

    async fn ask_room(&self, cx: &rpc::Ctx<()>, m: calc::AskRoom) -> Vec<String> {
        let answers = cx
            .send()
            .ask()
            .question(ask::Question { q: "name?".into() })
            .except_self()
            .request_room([&m.room], Duration::from_secs(2))
            .await;
        let mut names: Vec<String> = answers
            .into_iter()
            .map(|(_, a)| a.unwrap_or_else(|e| format!("failed: {e}")))
            .collect();
        names.sort();
        names
    }

    async fn ask_me(&self, cx: &rpc::Ctx<()>, _: calc::AskMe) -> String {
        cx.send()
            .ask()
            .question(ask::Question { q: "you?".into() })
            .request(cx.client_id())
            .await
            .unwrap_or_else(|e| format!("failed: {e}"))
    }
}

async fn server(config: Config) -> (zocket_tests::TestServer<rpc::Router>, Arc<App>) {
    let app = Shared::default();
    let state = app.0.clone();
    let server = serve(zocket::Zocket::<rpc::Router, Shared>::with_config(
        app, config,
    ))
    .await;
    (server, state)
}

fn unlimited() -> Config {
    Config::default().rate_limit(None)
}

#[tokio::test]
async fn raw_requests_get_v1_answers() {
    let (server, app) = server(Config::default()).await;
    let mut c = RawClient::connect(&server.url()).await;

    c.send_text(r#"{"type":"calc.div","payload":{"a":7,"b":2},"rpcId":"k1"}"#)
        .await;
    assert_eq!(
        c.recv_text().await,
        r#"{"type":"__rpc_res","rpcId":"k1","payload":3}"#
    );
    c.send_text(r#"{"type":"calc.div","payload":{"a":7,"b":0},"rpcId":"k2"}"#)
        .await;
    assert_eq!(
        c.recv_text().await,
        r#"{"type":"zocket.error","rpcId":"k2","payload":{"code":"handler_error","message":"division by zero","for":"calc.div","data":{"kind":"divByZero"}}}"#
    );
    // No reply type: an ack once the handler ran.
    c.send_text(r#"{"type":"calc.note","payload":{"text":"a"},"rpcId":"k3"}"#)
        .await;
    assert_eq!(
        c.recv_text().await,
        r#"{"type":"__rpc_res","rpcId":"k3","payload":null}"#
    );
    assert_eq!(app.notes.load(Ordering::SeqCst), 1);
    // Without an rpcId nothing comes back (the next frame answers the
    // next request), and a typed error still tells the sender.
    c.send_text(r#"{"type":"calc.note","payload":{"text":"b"}}"#)
        .await;
    c.send_text(r#"{"type":"calc.div","payload":{"a":1,"b":1}}"#)
        .await;
    c.send_text(r#"{"type":"calc.div","payload":{"a":1,"b":0}}"#)
        .await;
    c.send_text(r#"{"type":"calc.div","payload":{"a":9,"b":3},"rpcId":"k4"}"#)
        .await;
    assert_eq!(
        c.recv_text().await,
        r#"{"type":"zocket.error","payload":{"code":"handler_error","message":"division by zero","for":"calc.div","data":{"kind":"divByZero"}}}"#
    );
    assert_eq!(
        c.recv_text().await,
        r#"{"type":"__rpc_res","rpcId":"k4","payload":3}"#
    );
    assert_eq!(app.notes.load(Ordering::SeqCst), 2);
    server.shutdown().await;
}

#[tokio::test]
async fn every_error_a_request_meets_carries_its_rpc_id() {
    let (server, _) = server(Config::default()).await;
    let mut c = RawClient::connect(&server.url()).await;
    let cases = [
        (
            r#"{"type":"calc.div","payload":{"a":"x","b":1},"rpcId":"e1"}"#,
            json!({"type":"zocket.error","rpcId":"e1","payload":{"code":"invalid_payload","for":"calc.div","path":"a"}}),
        ),
        (
            r#"{"type":"calc.nope","payload":{},"rpcId":"e2"}"#,
            json!({"type":"zocket.error","rpcId":"e2","payload":{"code":"unknown_type","for":"calc.nope"}}),
        ),
        (
            r#"{"type":"calc.note","payload":{"text":"forbidden"},"rpcId":"e3"}"#,
            json!({"type":"zocket.error","rpcId":"e3","payload":{"code":"refused","message":"no forbidden notes","for":"calc.note"}}),
        ),
    ];
    for (request, expected) in cases {
        c.send_text(request).await;
        let mut got = c.recv_json().await;
        // The exact wording of serde's messages is not the protocol.
        if expected["payload"].get("message").is_none() {
            got["payload"].as_object_mut().unwrap().remove("message");
        }
        assert_eq!(got, expected, "for {request}");
    }
    // An rpcId that is not a string, or too long, makes the frame invalid
    // (there is nothing to answer it with).
    c.send_text(r#"{"type":"calc.note","payload":{"text":"a"},"rpcId":5}"#)
        .await;
    let got = c.recv_json().await;
    assert_eq!(got["payload"]["code"], "invalid_json");
    assert!(got.get("rpcId").is_none());
    // A handler that panics answers its request, then the connection closes.
    c.send_text(r#"{"type":"calc.boom","payload":{},"rpcId":"e4"}"#)
        .await;
    assert_eq!(
        c.recv_text().await,
        r#"{"type":"zocket.error","rpcId":"e4","payload":{"code":"handler_error","message":"internal error","for":"calc.boom"}}"#
    );
    assert_eq!(c.recv_close().await, Some(1011));
    server.shutdown().await;
}

#[tokio::test]
async fn rate_limited_requests_are_answered_with_their_rpc_id() {
    let config = Config::default().rate_limit(Some(zocket::RateLimit {
        per_second: 1,
        burst: 1,
    }));
    let (server, _) = server(config).await;
    let mut c = RawClient::connect(&server.url()).await;
    c.send_text(r#"{"type":"calc.div","payload":{"a":4,"b":2},"rpcId":"r1"}"#)
        .await;
    c.send_text(r#"{"type":"calc.div","payload":{"a":4,"b":2},"rpcId":"r2"}"#)
        .await;
    assert_eq!(
        c.recv_text().await,
        r#"{"type":"__rpc_res","rpcId":"r1","payload":2}"#
    );
    let limited = c.recv_json().await;
    assert_eq!(limited["rpcId"], "r2");
    assert_eq!(limited["payload"]["code"], "rate_limited");
    assert_eq!(limited["payload"]["for"], "calc.div");
    server.shutdown().await;
}

async fn client(server: &zocket_tests::TestServer<rpc::Router>) -> rpc::Client {
    rpc::Client::builder(server.url())
        .connect()
        .await
        .expect("client connects")
}

/// A call whose frame is over the client's `max_message_size` fails with
/// `TooLarge` without being sent (the server would close with 1009); the
/// connection stays and the next call is answered.
#[tokio::test]
async fn an_oversize_call_is_refused_before_it_is_sent() {
    let (server, app) = server(Config::default()).await;
    let c = rpc::Client::builder(server.url())
        .max_message_size(256)
        .connect()
        .await
        .expect("client connects");
    let big = calc::Note {
        text: "x".repeat(300),
    };
    match c.call().calc().note(big).await {
        Err(CallError::TooLarge { size, max: 256 }) => assert!(size > 300, "{size}"),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let small = calc::Note { text: "x".into() };
    assert_eq!(c.call().calc().note(small).await, Ok(()));
    assert_eq!(
        app.notes.load(Ordering::SeqCst),
        1,
        "only the small note ran"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn typed_calls_reply_fail_and_ack() {
    let (server, app) = server(Config::default()).await;
    let c = client(&server).await;
    assert_eq!(c.call().calc().div(calc::Div { a: 10, b: 3 }).await, Ok(3));
    assert_eq!(
        c.call().calc().div(calc::Div { a: 1, b: 0 }).await,
        Err(CallError::Handler(CalcError::DivByZero))
    );
    assert_eq!(
        c.call().calc().note(calc::Note { text: "x".into() }).await,
        Ok(())
    );
    assert_eq!(app.notes.load(Ordering::SeqCst), 1);
    match c
        .call()
        .calc()
        .note(calc::Note {
            text: "forbidden".into(),
        })
        .await
    {
        Err(CallError::Remote(e)) => {
            assert_eq!(e.code, zocket::ErrorCode::Refused);
            assert_eq!(e.message, "no forbidden notes");
        }
        other => panic!("{other:?}"),
    }
    server.shutdown().await;
}

#[tokio::test]
async fn calls_time_out_fail_on_disconnect_and_are_bounded() {
    let (server, app) = server(Config::default()).await;
    let c = rpc::Client::builder(server.url())
        .config(zocket::client::ClientConfig {
            max_pending_calls: 2,
            ..Default::default()
        })
        .connect()
        .await
        .expect("connects");
    let short = c
        .call()
        .calc()
        .hang(calc::Hang {})
        .timeout(Duration::from_millis(100));
    assert_eq!(short.await, Err(CallError::Timeout));

    // Two pending (the bound), a third is refused without being sent.
    let first = c
        .call()
        .calc()
        .hang(calc::Hang {})
        .timeout(Duration::from_secs(60));
    let second = c
        .call()
        .calc()
        .hang(calc::Hang {})
        .timeout(Duration::from_secs(60));
    assert_eq!(
        c.call().calc().hang(calc::Hang {}).await,
        Err(CallError::TooManyCalls(2))
    );
    // Once both are written, the connection drops: both fail at once, long
    // before their timeout.
    tokio::time::timeout(TIMEOUT, async {
        while c.queued() > 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("calls written");
    c.reconnect();
    let both = async { tokio::join!(first.into_future(), second.into_future()) };
    let (a, b) = tokio::time::timeout(TIMEOUT, both)
        .await
        .expect("pending calls fail at once on disconnect");
    assert_eq!(a, Err(CallError::Disconnected));
    assert_eq!(b, Err(CallError::Disconnected));
    app.release.send_replace(true);
    // After the reconnect calls work again.
    c.wait_for(zocket::client::State::Open).await;
    assert_eq!(c.call().calc().div(calc::Div { a: 4, b: 4 }).await, Ok(1));
    server.shutdown().await;
}

#[tokio::test]
async fn a_thousand_pipelined_calls_are_each_answered_once() {
    let (server, _) = server(unlimited()).await;
    let c = rpc::Client::builder(server.url())
        .max_queue(2000)
        .connect()
        .await
        .expect("connects");
    let calls: Vec<_> = (0..1000u64)
        .map(|i| c.call().calc().div(calc::Div { a: i * 7, b: 7 }))
        .collect();
    let answers = futures_util::future::join_all(calls.into_iter().map(|call| call.into_future()));
    let answers = tokio::time::timeout(TIMEOUT * 2, answers)
        .await
        .expect("1000 answers in time");
    for (i, answer) in answers.into_iter().enumerate() {
        assert_eq!(answer, Ok(i as u64), "call {i}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_call_that_timed_out_offline_is_never_sent() {
    let (server, _) = server(Config::default()).await;
    let addr = server.addr;
    let c = rpc::Client::builder(server.url())
        .reconnect(Some(zocket::client::Backoff {
            initial: Duration::from_millis(20),
            factor: 1.0,
            max: Duration::from_millis(20),
            jitter: 0.0,
        }))
        .connect()
        .await
        .expect("connects");
    server.shutdown().await;
    tokio::time::timeout(TIMEOUT, c.wait_for(zocket::client::State::Reconnecting))
        .await
        .expect("client sees the server go");
    let offline = c
        .call()
        .calc()
        .note(calc::Note {
            text: "late".into(),
        })
        .timeout(Duration::from_millis(50));
    assert_eq!(offline.await, Err(CallError::Timeout));
    // A call made offline with time to spare goes out once the server is
    // back; the one that timed out does not.
    let waiting = c.call().calc().note(calc::Note {
        text: "kept".into(),
    });
    let app2 = Shared::default();
    let notes = app2.0.clone();
    let server = serve_on(rpc::Router::server(app2), addr).await;
    assert_eq!(waiting.await, Ok(()));
    // Had the late call gone out it would have been handled first.
    assert_eq!(notes.notes.load(Ordering::SeqCst), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn server_requests_are_answered_by_typed_answerers() {
    let (server, _) = server(Config::default()).await;
    let mut answerers = Vec::new();
    let mut clients = Vec::new();
    for name in ["Bob", "Alice"] {
        let c = client(&server).await;
        answerers.push(c.answer().ask().question(move |q| async move {
            assert_eq!(q.q, "name?");
            name.to_owned()
        }));
        c.call()
            .calc()
            .join(calc::Join { room: "r".into() })
            .await
            .expect("joined");
        clients.push(c);
    }
    let asker = client(&server).await;
    asker
        .call()
        .calc()
        .join(calc::Join { room: "r".into() })
        .await
        .expect("joined");
    // The asker is left out (except_self); the two others answer.
    assert_eq!(
        asker
            .call()
            .calc()
            .ask_room(calc::AskRoom { room: "r".into() })
            .await,
        Ok(vec!["Alice".to_owned(), "Bob".to_owned()])
    );

    // From a Handle, to one client, with a typed error.
    let ids = server.handle.members("r");
    let _pick = clients[0]
        .answer()
        .ask()
        .pick(|_| async { Err(CalcError::Busy { retry_ms: 5 }) });
    let mut results = Vec::new();
    for id in &ids {
        results.push(
            server
                .handle
                .send()
                .ask()
                .pick(ask::Pick {})
                .request(id)
                .await,
        );
    }
    assert!(results.contains(&Err(CallError::Handler(CalcError::Busy { retry_ms: 5 }))));
    // A client with no answerer for `ask.pick` answers with an error frame.
    assert!(results
        .iter()
        .any(|r| matches!(r, Err(CallError::Remote(e)) if e.message.contains("no answerer"))));
    server.shutdown().await;
}

/// An answer over the client's `max_message_size` is not sent (the server
/// would close with 1009): the client answers `handler_error` instead, so
/// the server's request fails at once, long before its timeout, and the
/// connection stays.
#[tokio::test]
async fn an_oversize_answer_fails_the_server_request_at_once() {
    let (server, _) = server(Config::default().request_timeout(Duration::from_secs(60))).await;
    let c = rpc::Client::builder(server.url())
        .max_message_size(256)
        .connect()
        .await
        .expect("client connects");
    let _answer = c.answer().ask().question(|q| async move {
        match q.q.as_str() {
            "big" => "x".repeat(300),
            _ => "small".to_owned(),
        }
    });
    c.call()
        .calc()
        .join(calc::Join { room: "r".into() })
        .await
        .expect("joined");
    let [id] = <[ClientId; 1]>::try_from(server.handle.members("r")).expect("one member");
    let ask = |q: &str| {
        let request = server
            .handle
            .send()
            .ask()
            .question(ask::Question { q: q.into() })
            .request(&id)
            .into_future();
        tokio::time::timeout(TIMEOUT, request)
    };
    match ask("big")
        .await
        .expect("answered before the 60 s request timeout")
    {
        Err(CallError::Remote(e)) => {
            assert_eq!(e.code, zocket::ErrorCode::HandlerError);
            assert_eq!(e.for_type.as_deref(), Some("ask.question"));
            assert!(
                e.message.contains("max_message_size of 256"),
                "{}",
                e.message
            );
        }
        other => panic!("expected a handler_error answer, got {other:?}"),
    }
    assert_eq!(
        ask("small").await.expect("answered"),
        Ok("small".to_owned()),
        "the connection stays"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_handler_can_ask_its_own_client() {
    let (server, _) = server(Config::default()).await;
    let c = client(&server).await;
    let _answer = c
        .answer()
        .ask()
        .question(|q| async move { format!("me, to {}", q.q) });
    assert_eq!(
        c.call().calc().ask_me(calc::AskMe {}).await,
        Ok("me, to you?".to_owned())
    );
    server.shutdown().await;
}

/// A raw client in `room`, and its id.
async fn raw_member(
    server: &zocket_tests::TestServer<rpc::Router>,
    room: &str,
) -> (RawClient, ClientId) {
    let mut c = RawClient::connect(&server.url()).await;
    c.send_json(json!({"type":"calc.join","payload":{"room":room},"rpcId":"j"}))
        .await;
    assert_eq!(c.recv_json().await["rpcId"], "j");
    let id = server.handle.members(room).pop().expect("a member");
    (c, id)
}

#[tokio::test]
async fn server_requests_to_raw_clients_time_out_or_take_their_answer() {
    let (server, _) = server(Config::default()).await;
    let (mut c, id) = raw_member(&server, "q").await;
    let handle = server.handle.clone();

    // Never answered: a timeout, and the request frame is v1's.
    let silent = tokio::spawn({
        let (handle, id) = (handle.clone(), id.clone());
        async move {
            handle
                .send()
                .ask()
                .question(ask::Question { q: "?".into() })
                .request_within(&id, Duration::from_millis(100))
                .await
        }
    });
    let request: Value = c.recv_json().await;
    assert_eq!(request["type"], "ask.question");
    assert_eq!(request["payload"], json!({"q":"?"}));
    let first_id = request["rpcId"].as_str().expect("rpcId").to_owned();
    assert_eq!(silent.await.expect("task"), Err(CallError::Timeout));

    // Answered by hand, exactly once; a late answer to the first is
    // dropped without an error.
    let asked =
        tokio::spawn(async move { handle.send().ask().pick(ask::Pick {}).request(&id).await });
    let request = c.recv_json().await;
    let rpc_id = request["rpcId"].as_str().expect("rpcId").to_owned();
    assert_ne!(rpc_id, first_id);
    c.send_json(json!({"type":"__rpc_res","rpcId":first_id,"payload":"late"}))
        .await;
    c.send_json(json!({"type":"__rpc_res","rpcId":rpc_id,"payload":42}))
        .await;
    assert_eq!(asked.await.expect("task"), Ok(42));
    // The connection is fine: a request of its own is answered next.
    c.send_text(r#"{"type":"calc.div","payload":{"a":2,"b":1},"rpcId":"d"}"#)
        .await;
    assert_eq!(
        c.recv_text().await,
        r#"{"type":"__rpc_res","rpcId":"d","payload":2}"#
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_server_request_fails_at_once_when_the_client_goes() {
    let (server, _) = server(Config::default()).await;
    let (mut c, id) = raw_member(&server, "g").await;
    let handle = server.handle.clone();
    let asked = tokio::spawn(async move {
        handle
            .send()
            .ask()
            .question(ask::Question { q: "?".into() })
            .request_within(&id, Duration::from_secs(60))
            .await
    });
    assert_eq!(c.recv_json().await["type"], "ask.question");
    c.close().await;
    let result = tokio::time::timeout(TIMEOUT, asked)
        .await
        .expect("fails at once, not at the timeout")
        .expect("task");
    assert_eq!(result, Err(CallError::Disconnected));
    // A client that is not connected at all.
    assert_eq!(
        server
            .handle
            .send()
            .ask()
            .question(ask::Question { q: "?".into() })
            .request("nobody")
            .await,
        Err(CallError::NotConnected)
    );
    server.shutdown().await;
}
