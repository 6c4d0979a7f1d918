//! The traits generated router code implements for the server, and the
//! answers a handler can give: a rejected connection, a refused message.

use std::future::Future;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use zocket_core::ClientId;

use crate::ctx::Ctx;
use crate::limits::TypeRate;
use crate::send::ServerRouter;

/// How a router runs on an application type `S` (the user's type that
/// implements the generated `Server` and namespace `Handlers` traits). The
/// router macro implements this; applications do not.
pub trait Dispatch<S>: ServerRouter + Sized {
    /// The per-connection state `on_connect` returns.
    type Context: Send + Sync + 'static;

    /// The rate of each incoming type, in the order of `Incoming::TYPES`
    /// (`#[incoming(rate = "..")]`); empty when the router declares none.
    const TYPE_RATES: &'static [Option<TypeRate>] = &[];

    /// Runs the application's `on_connect`: its context, or the refusal
    /// answered before the upgrade.
    fn on_connect(
        app: &S,
        headers: Self::Headers,
        client_id: &ClientId,
    ) -> impl Future<Output = Result<Self::Context, Reject>> + Send;

    /// Runs the application's `on_disconnect`, rooms still joined.
    fn on_disconnect(app: &S, cx: &Ctx<Self, Self::Context>) -> impl Future<Output = ()> + Send;

    /// Runs the application's `on_suspend`: a resumable session's
    /// connection dropped and the session waits for its client.
    fn on_suspend(_app: &S, _cx: &Ctx<Self, Self::Context>) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Runs the application's `on_resume`: a client took its suspended
    /// session back, on a new connection.
    fn on_resume(_app: &S, _cx: &Ctx<Self, Self::Context>) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Runs the middleware chain, then the message's handler.
    fn dispatch(
        app: &S,
        cx: &Ctx<Self, Self::Context>,
        message: Self::Incoming,
    ) -> impl Future<Output = Result<(), Refusal>> + Send;
}

/// `on_connect`'s refusal of a connection: answered with HTTP 401 or 403
/// before the upgrade, so the client never becomes visible to anyone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct Reject {
    status: StatusCode,
    message: String,
}

impl Reject {
    /// HTTP 401: the client did not prove who it is.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Reject {
            status: StatusCode::UNAUTHORIZED,
            message: message.into(),
        }
    }

    /// HTTP 403: the client is known and not allowed.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Reject {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
        }
    }

    /// The HTTP status the upgrade request is answered with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message in the JSON body of the refusal.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        let reason = self.status.canonical_reason().unwrap_or("Rejected");
        let body = serde_json::json!({ "error": reason, "message": self.message });
        (
            self.status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

/// Middleware's refusal of one message. The sender gets a `zocket.error`
/// frame with code `refused` and this message; the connection stays open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    message: String,
}

impl Refusal {
    /// A refusal the sender sees as `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Refusal {
            message: message.into(),
        }
    }

    /// What the sender is told.
    pub fn message(&self) -> &str {
        &self.message
    }
}
