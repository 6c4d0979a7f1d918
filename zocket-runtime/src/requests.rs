//! Request/response on the server (PROTOCOL.md § 10): answering a client's
//! request once its handler has run, and the server's own requests to a
//! client, whose answers the read loop routes back here.

use std::time::Duration;

use zocket_core::error::{ErrorCode, ErrorPayload};
use zocket_core::rpc::{handler_error, CallError, Gone, RawAnswer};
use zocket_core::{wire, Request};

use crate::ctx::Ctx;
use crate::hub::Hub;
use crate::outbox::PushError;
use crate::peer::Peer;
use crate::ws::WireFrame;

/// Answers the request being handled with the handler's outcome. Called by
/// the generated dispatch, once per handled message.
///
/// Without an `rpcId` a reply is dropped (fire-and-forget) and a typed error
/// still goes to the client, as an error frame without `rpcId`, so that a
/// client that did not ask still learns its message failed.
pub fn answer<M: Request, R, C>(cx: &Ctx<R, C>, result: Result<M::Reply, M::Error>) {
    let rpc = cx.take_rpc();
    match result {
        Ok(reply) => {
            let Some(id) = rpc else { return };
            match wire::encode_reply(&id, &reply) {
                Ok(text) => {
                    let _ = cx.peer().push(&WireFrame::text(&text));
                }
                Err(error) => {
                    tracing::error!(message = M::TYPE, %error, "reply did not serialise");
                    let error =
                        ErrorPayload::new(ErrorCode::HandlerError, "reply did not serialise")
                            .for_type(M::TYPE);
                    cx.peer().send_error_to(&error, Some(&id));
                }
            }
        }
        Err(failure) => cx
            .peer()
            .send_error_to(&handler_error::<M>(&failure), rpc.as_deref()),
    }
}

/// Hands an answer frame to the request of this server's that waits for
/// it. True if `text` was an answer (matched or not: a late answer is
/// dropped), false for any other frame.
pub(crate) fn route_answer(peer: &Peer, env: &wire::Envelope<'_>) -> bool {
    let Some((id, answer)) = RawAnswer::from_frame(env) else {
        return false;
    };
    if !peer.requests().is_some_and(|p| p.resolve(id, answer)) {
        tracing::debug!(client = %peer.id, "answer to no pending request; dropped");
    }
    true
}

/// Sends `message` to the connection `id` of this server as a request and
/// waits for its answer, at most `timeout`.
pub(crate) async fn request<M: Request>(
    hub: &Hub,
    id: &str,
    message: &M,
    timeout: Duration,
) -> Result<M::Reply, CallError<M::Error>> {
    let Some(peer) = hub.client(id) else {
        return Err(CallError::NotConnected);
    };
    let pending = peer.requests_or_init(hub.config.max_pending_requests);
    let (rpc_id, waiter) = pending.start().map_err(CallError::retype)?;
    let text =
        wire::encode_request(message, &rpc_id).map_err(|e| CallError::NotSent(e.to_string()))?;
    match peer.push(&WireFrame::text(&text)) {
        Ok(()) => {}
        Err(PushError::Closed | PushError::Overflow) => return Err(CallError::Disconnected),
        Err(PushError::Dropped) => return Err(CallError::NotSent("queue full".into())),
    }
    drop(peer);
    match tokio::time::timeout(timeout, waiter).await {
        Ok(Ok(answer)) => answer.typed::<M>(),
        Ok(Err(Gone)) => Err(CallError::Disconnected),
        Err(_) => Err(CallError::Timeout),
    }
}
