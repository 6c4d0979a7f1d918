//! Calls: a request to the server and the wait for its answer
//! (PROTOCOL.md § 10), and answering the server's own requests.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use tokio::time::Instant;
use zocket_core::error::{ErrorCode, ErrorPayload};
use zocket_core::rpc::{handler_error, CallError, Gone, Waiter};
use zocket_core::{wire, Request};

use crate::error::SendError;
use crate::queue::SendQueue;

/// A call on its way: await it for the typed answer. Sent when made (queued
/// while offline, as other messages); [`timeout`](Self::timeout) sets its
/// own deadline instead of the client's `call_timeout`.
#[must_use = "the call is sent, but its answer is only seen by awaiting it"]
pub struct Call<M: Request> {
    started: Instant,
    timeout: Duration,
    waiter: Result<Waiter, CallError<M::Error>>,
}

impl<M: Request> Call<M> {
    pub(crate) fn new(timeout: Duration, waiter: Result<Waiter, CallError<M::Error>>) -> Self {
        Call {
            started: Instant::now(),
            timeout,
            waiter,
        }
    }

    /// Waits at most `timeout` from the call (not from this method) for the
    /// answer.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl<M: Request> IntoFuture for Call<M> {
    type Output = Result<M::Reply, CallError<M::Error>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let waiter = self.waiter?;
            match tokio::time::timeout_at(self.started + self.timeout, waiter).await {
                Ok(Ok(answer)) => answer.typed::<M>(),
                Ok(Err(Gone)) => Err(CallError::Disconnected),
                // Dropping the waiter forgets the call: a late answer is
                // dropped, and a call still queued is never sent.
                Err(_) => Err(CallError::Timeout),
            }
        })
    }
}

/// The frame that answers the server's request `rpc_id` with an answerer's
/// outcome.
pub(crate) fn answer_frame<M: Request>(
    rpc_id: &str,
    outcome: Result<M::Reply, M::Error>,
) -> String {
    match outcome {
        Ok(reply) => wire::encode_reply(rpc_id, &reply).unwrap_or_else(|error| {
            tracing::error!(message = M::TYPE, %error, "answer did not serialise");
            let error = ErrorPayload::new(ErrorCode::HandlerError, "answer did not serialise")
                .for_type(M::TYPE);
            wire::encode_error_to(&error, Some(rpc_id))
        }),
        Err(failure) => wire::encode_error_to(&handler_error::<M>(&failure), Some(rpc_id)),
    }
}

/// Queues `frame`, the answer to the server's request `rpc_id` (of type
/// `ty`). An answer over `max_message_size` is not sent, since the server
/// would close the connection with 1009; a `handler_error` naming the sizes
/// goes instead, so that the server's request fails at once rather than at
/// its timeout (PROTOCOL.md § 10).
pub(crate) fn send_answer(queue: &SendQueue, rpc_id: &str, ty: &str, frame: String) {
    let error = match queue.push(frame) {
        Ok(()) => return,
        Err(SendError::TooLarge { size, max }) => {
            tracing::warn!(
                message = ty,
                size,
                max,
                "answer over max_message_size; answering handler_error instead"
            );
            let error = ErrorPayload::new(
                ErrorCode::HandlerError,
                format!("the answer is {size} bytes, over the client's max_message_size of {max}"),
            )
            .for_type(ty);
            match queue.push(wire::encode_error_to(&error, Some(rpc_id))) {
                Ok(()) => return,
                Err(error) => error,
            }
        }
        Err(error) => error,
    };
    tracing::warn!(%error, "answer to a server request not sent");
}
