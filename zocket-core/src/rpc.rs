//! Request/response, both ways: what a request answers, the answers as they
//! come off the wire, the table of requests waiting for theirs, and what a
//! caller gets when there is none.
//!
//! The wire is zocket v1's (PROTOCOL.md § 10): a frame with a string
//! `rpcId` is a request; `{"type":"__rpc_res","rpcId":..,"payload":..}`
//! answers it, or a `zocket.error` frame with the same `rpcId`. The server
//! and the client share this module: each keeps a [`Pending`] table for the
//! requests it made and types answers with [`RawAnswer::typed`].

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::error::{ErrorCode, ErrorPayload};
use crate::message::Request;
use crate::wire::Envelope;

/// The `type` of a successful answer.
pub const RESPONSE_TYPE: &str = "__rpc_res";

/// Longest `rpcId` accepted, in bytes. The id is echoed back and kept while
/// the request runs, so a peer must not choose its size.
pub const MAX_RPC_ID_LEN: usize = 128;

/// The error type of a message declared without `error = ..`: it cannot be
/// constructed, so such a request fails only with the runtime's errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoError {}

impl fmt::Display for NoError {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {}
    }
}

impl std::error::Error for NoError {}

/// Why a request got no typed reply.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError<E> {
    /// The other side's handler answered with its declared error.
    #[error("{0}")]
    Handler(E),
    /// The other side answered with an error frame of another kind
    /// (`invalid_payload`, `refused`, `rate_limited`, an undeclared error,
    /// a handler that panicked, ...).
    #[error("{}: {}", .0.code.as_str(), .0.message)]
    Remote(ErrorPayload),
    /// No answer within the call's timeout.
    #[error("no answer in time")]
    Timeout,
    /// The connection dropped while the request was pending. The other side
    /// may or may not have handled it.
    #[error("the connection dropped before the answer came")]
    Disconnected,
    /// The caller already had its maximum of requests pending; this one was
    /// not sent.
    #[error("too many requests pending ({0})")]
    TooManyCalls(usize),
    /// The recipient is not connected (to this node, for the server).
    #[error("not connected")]
    NotConnected,
    /// The request could not be sent (a full or closed send queue, a
    /// payload that does not serialise).
    #[error("not sent: {0}")]
    NotSent(String),
    /// The request's frame is larger than the receiver accepts (its
    /// `max_message_size`); it was not sent, since the receiver would close
    /// the connection with 1009.
    #[error("not sent: the message is {size} bytes, over the limit of {max}")]
    TooLarge { size: usize, max: usize },
    /// An answer came whose payload is not the declared reply type.
    #[error("answer did not decode: {0}")]
    BadAnswer(String),
}

impl CallError<NoError> {
    /// The table's own failures carry no typed error; gives them the
    /// caller's error type.
    pub fn retype<E>(self) -> CallError<E> {
        match self {
            CallError::Handler(never) => match never {},
            CallError::Remote(e) => CallError::Remote(e),
            CallError::Timeout => CallError::Timeout,
            CallError::Disconnected => CallError::Disconnected,
            CallError::TooManyCalls(n) => CallError::TooManyCalls(n),
            CallError::NotConnected => CallError::NotConnected,
            CallError::NotSent(s) => CallError::NotSent(s),
            CallError::TooLarge { size, max } => CallError::TooLarge { size, max },
            CallError::BadAnswer(s) => CallError::BadAnswer(s),
        }
    }
}

/// The error frame payload of a handler's (or answerer's) typed failure:
/// code `handler_error`, its `Display` as the message, its serialisation
/// as `data`.
pub fn handler_error<M: Request>(failure: &M::Error) -> ErrorPayload {
    let mut error =
        ErrorPayload::new(ErrorCode::HandlerError, failure.to_string()).for_type(M::TYPE);
    // One that does not serialise still travels, as its message alone.
    error.data = serde_json::to_value(failure).ok();
    error
}

/// An answer as it came off the wire, before it is typed.
#[derive(Debug, Clone, PartialEq)]
pub enum RawAnswer {
    /// The raw JSON of a `__rpc_res` frame's payload (`null` if absent).
    Reply(String),
    /// A `zocket.error` frame that carried the request's `rpcId`.
    Error(ErrorPayload),
}

impl RawAnswer {
    /// The answer a frame carries, with its `rpcId`; `None` for frames that
    /// answer nothing (requests, plain messages, error frames without an
    /// `rpcId`).
    pub fn from_frame<'e>(env: &'e Envelope<'_>) -> Option<(&'e str, RawAnswer)> {
        let id = env.rpc_id()?;
        if env.ty == RESPONSE_TYPE {
            let payload = env.payload.map(|p| p.get()).unwrap_or("null");
            return Some((id, RawAnswer::Reply(payload.to_owned())));
        }
        if env.ty == crate::wire::ERROR_TYPE {
            let error =
                serde_json::from_str::<ErrorPayload>(env.payload_str()).unwrap_or_else(|e| {
                    ErrorPayload::new(
                        ErrorCode::InvalidJson,
                        format!("malformed error frame: {e}"),
                    )
                });
            return Some((id, RawAnswer::Error(error)));
        }
        None
    }

    /// Types the answer as `M`'s reply or error.
    pub fn typed<M: Request>(self) -> Result<M::Reply, CallError<M::Error>> {
        match self {
            RawAnswer::Reply(json) => {
                serde_json::from_str(&json).map_err(|e| CallError::BadAnswer(e.to_string()))
            }
            RawAnswer::Error(error) => {
                if error.code == ErrorCode::HandlerError {
                    if let Some(data) = &error.data {
                        if let Ok(typed) = M::Error::deserialize(data) {
                            return Err(CallError::Handler(typed));
                        }
                    }
                }
                Err(CallError::Remote(error))
            }
        }
    }
}

/// The requests one side has sent and not yet seen answered, by `rpcId`.
///
/// Bounded: a side that stops answering costs the caller at most
/// `capacity` entries. Dropping a [`Waiter`] (a call that timed out or was
/// given up) removes its entry, so a late answer finds nothing and is
/// dropped; [`fail_all`](Self::fail_all) (the connection dropped) wakes
/// every waiter at once with [`Gone`].
pub struct Pending {
    prefix: String,
    capacity: usize,
    inner: Mutex<Table>,
}

struct Table {
    next: u64,
    /// Set by [`Pending::close`]: no request starts any more.
    closed: bool,
    waiting: HashMap<Box<str>, oneshot::Sender<RawAnswer>>,
}

/// The connection ended before the answer came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gone;

impl Pending {
    /// A table whose ids are `{prefix}{counter}`; `prefix` keeps ids of
    /// different sides (or client instances) apart in logs.
    pub fn new(prefix: impl Into<String>, capacity: usize) -> Arc<Self> {
        Arc::new(Pending {
            prefix: prefix.into(),
            capacity,
            inner: Mutex::new(Table {
                next: 0,
                closed: false,
                waiting: HashMap::new(),
            }),
        })
    }

    /// Registers a new request: its `rpcId` and what waits for the answer.
    pub fn start(self: &Arc<Self>) -> Result<(Box<str>, Waiter), CallError<NoError>> {
        let mut table = self.inner.lock();
        if table.closed {
            return Err(CallError::Disconnected);
        }
        if table.waiting.len() >= self.capacity {
            return Err(CallError::TooManyCalls(self.capacity));
        }
        table.next += 1;
        let id: Box<str> = format!("{}{}", self.prefix, table.next).into();
        let (tx, rx) = oneshot::channel();
        table.waiting.insert(id.clone(), tx);
        let waiter = Waiter {
            id: id.clone(),
            rx,
            table: Arc::downgrade(self),
        };
        Ok((id, waiter))
    }

    /// Hands `answer` to the request `id`; false if none waits for it (it
    /// timed out, or the id was never ours).
    pub fn resolve(&self, id: &str, answer: RawAnswer) -> bool {
        let tx = self.inner.lock().waiting.remove(id);
        match tx {
            Some(tx) => tx.send(answer).is_ok(),
            None => false,
        }
    }

    /// Whether request `id` still waits (a caller that gave up does not).
    pub fn contains(&self, id: &str) -> bool {
        self.inner.lock().waiting.contains_key(id)
    }

    /// Fails request `id` with [`Gone`] (it was sent on a connection that
    /// dropped); a no-op if it was answered meanwhile.
    pub fn fail(&self, id: &str) {
        let tx = self.inner.lock().waiting.remove(id);
        drop(tx);
    }

    /// Fails every pending request with [`Gone`], at once.
    pub fn fail_all(&self) {
        let waiting = std::mem::take(&mut self.inner.lock().waiting);
        drop(waiting);
    }

    /// Fails every pending request and refuses new ones: the connection
    /// this table belongs to is gone for good.
    pub fn close(&self) {
        let waiting = {
            let mut table = self.inner.lock();
            table.closed = true;
            std::mem::take(&mut table.waiting)
        };
        drop(waiting);
    }

    /// Requests waiting for an answer.
    pub fn len(&self) -> usize {
        self.inner.lock().waiting.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Waits for one request's answer; dropping it gives the request up.
pub struct Waiter {
    id: Box<str>,
    rx: oneshot::Receiver<RawAnswer>,
    table: Weak<Pending>,
}

impl Waiter {
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl Future for Waiter {
    type Output = Result<RawAnswer, Gone>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx).poll(cx).map(|r| r.map_err(|_| Gone))
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        if let Some(table) = self.table.upgrade() {
            table.inner.lock().waiting.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Message, Validate};

    #[derive(Debug, Serialize, Deserialize)]
    struct Ask {}
    impl Validate for Ask {}
    impl Message for Ask {
        const TYPE: &'static str = "game.ask";
    }
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "kind", rename_all = "camelCase")]
    enum AskError {
        NotYourTurn,
    }
    impl fmt::Display for AskError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("not your turn")
        }
    }
    impl Request for Ask {
        type Reply = u32;
        type Error = AskError;
    }

    fn answer_of(text: &str) -> Option<(String, RawAnswer)> {
        let env = Envelope::parse(text).unwrap();
        RawAnswer::from_frame(&env).map(|(id, a)| (id.to_owned(), a))
    }

    #[test]
    fn answers_are_read_off_frames_and_typed() {
        let (id, a) = answer_of(r#"{"type":"__rpc_res","rpcId":"k1","payload":7}"#).unwrap();
        assert_eq!(id, "k1");
        assert_eq!(a.typed::<Ask>(), Ok(7));
        let (_, a) = answer_of(r#"{"type":"__rpc_res","rpcId":"k1","payload":"x"}"#).unwrap();
        assert!(matches!(a.typed::<Ask>(), Err(CallError::BadAnswer(_))));
        let typed_error = r#"{"type":"zocket.error","rpcId":"k2","payload":{"code":"handler_error","message":"not your turn","for":"game.ask","data":{"kind":"notYourTurn"}}}"#;
        let (_, a) = answer_of(typed_error).unwrap();
        assert_eq!(
            a.typed::<Ask>(),
            Err(CallError::Handler(AskError::NotYourTurn))
        );
        let refused = r#"{"type":"zocket.error","rpcId":"k3","payload":{"code":"refused","message":"no","for":"game.ask"}}"#;
        let (_, a) = answer_of(refused).unwrap();
        match a.typed::<Ask>() {
            Err(CallError::Remote(e)) => assert_eq!(e.code, ErrorCode::Refused),
            other => panic!("{other:?}"),
        }
        // Data that is not the declared error stays a remote error.
        let odd = r#"{"type":"zocket.error","rpcId":"k4","payload":{"code":"handler_error","message":"?","for":null,"data":[1]}}"#;
        let (_, a) = answer_of(odd).unwrap();
        assert!(matches!(a.typed::<Ask>(), Err(CallError::Remote(_))));
    }

    #[test]
    fn frames_that_answer_nothing() {
        for text in [
            r#"{"type":"game.ask","payload":{},"rpcId":"k1"}"#,
            r#"{"type":"__rpc_res","payload":1}"#,
            r#"{"type":"zocket.error","payload":{"code":"refused","message":"","for":null}}"#,
        ] {
            assert!(answer_of(text).is_none(), "{text}");
        }
        let (_, a) = answer_of(r#"{"type":"__rpc_res","rpcId":"k"}"#).unwrap();
        assert_eq!(a, RawAnswer::Reply("null".into()));
    }

    #[tokio::test]
    async fn pending_resolves_once_and_forgets_given_up_calls() {
        let pending = Pending::new("s-", 2);
        let (id1, w1) = pending.start().unwrap();
        let (id2, w2) = pending.start().unwrap();
        assert_ne!(id1, id2);
        assert!(id1.starts_with("s-"));
        assert_eq!(pending.start().err(), Some(CallError::TooManyCalls(2)));
        assert!(pending.resolve(&id1, RawAnswer::Reply("1".into())));
        assert!(!pending.resolve(&id1, RawAnswer::Reply("2".into())));
        assert_eq!(w1.await, Ok(RawAnswer::Reply("1".into())));
        drop(w2);
        assert!(pending.is_empty());
        assert!(!pending.resolve(&id2, RawAnswer::Reply("3".into())));
        let (_, w3) = pending.start().unwrap();
        pending.fail_all();
        assert_eq!(w3.await, Err(Gone));
        let (_, w4) = pending.start().unwrap();
        pending.close();
        assert_eq!(w4.await, Err(Gone));
        assert_eq!(pending.start().err(), Some(CallError::Disconnected));
    }
}
