//! One connection's life: the read loop, which decodes frames and runs
//! handlers one at a time (so a client's messages are handled in order),
//! then the finish (close frame, linger, cleanup).
//!
//! The loop enforces the per-connection limits (rate, bad frames in a row,
//! heartbeat, shutdown); the same loop runs routers and the raw echo
//! endpoint, so the conformance suite exercises the code routers use.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};
use tracing::Instrument;
use zocket_core::error::{ErrorCode, ErrorPayload};
use zocket_core::{close, wire, FrameError, MessageSet};

use crate::ctx::Ctx;
use crate::hub::Hub;
use crate::limits::{ConnectionPermit, TokenBucket, TypeBuckets};
use crate::logged::Shown;
use crate::metrics;
use crate::peer::Peer;
use crate::requests;
use crate::router::Dispatch;
use crate::session::{session_frame, Token};
use crate::transport::{Reader, Upgraded};
use crate::ws::{Event, Message, WireFrame};

/// After the server sends a close frame it keeps reading (and discarding)
/// for at most this long, waiting for the client's close frame. Closing the
/// TCP socket with unread data would reset it and could destroy the close
/// frame before the client reads it.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// Why the read loop stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// The client sent a close frame with this code (1005: none); it is
    /// echoed.
    Client(u16),
    /// The socket is gone (EOF, I/O error, the writer gave up).
    Network,
    /// The server ends the connection: close frame, then wait for the
    /// client's before dropping TCP.
    Server(u16, &'static str),
}

impl Ending {
    /// Whether the client may come back for its session: the network went
    /// (no close frame, or no sign of life), as opposed to a close by the
    /// client or by the server's own decision.
    fn may_resume(self) -> bool {
        matches!(
            self,
            Ending::Network | Ending::Server(close::POLICY_VIOLATION, HEARTBEAT_TIMEOUT)
        )
    }
}

const HEARTBEAT_TIMEOUT: &str = "heartbeat timeout";

/// What the reader did with one data frame.
pub(crate) enum Handled {
    Ok,
    Refused,
    Bad,
    Panicked,
}

/// What one kind of endpoint does with data frames.
trait Frames: Send {
    fn text(&mut self, text: String) -> impl Future<Output = Handled> + Send;
    fn binary(&mut self, data: Bytes) -> Handled;
}

/// A router endpoint: decode, validate, run middleware and the handler.
struct RouterFrames<'a, R: Dispatch<S>, S> {
    app: &'a S,
    cx: &'a Ctx<R, R::Context>,
    /// Buckets of the types declared with a rate; `None` if there are none.
    types: Option<TypeBuckets>,
}

impl<R, S> Frames for RouterFrames<'_, R, S>
where
    R: Dispatch<S>,
    S: Send + Sync + 'static,
{
    fn text(&mut self, text: String) -> impl Future<Output = Handled> + Send {
        let (app, cx, types) = (self.app, self.cx, self.types.as_mut());
        // Boxed: the handlers' futures are large and live only while a
        // message is handled; inline, every idle connection's task would
        // hold room for them.
        Box::pin(async move { handle_text::<R, S>(app, cx, types, &text).await })
    }

    fn binary(&mut self, _data: Bytes) -> Handled {
        self.cx.hub().types.received(metrics::UNKNOWN);
        self.cx.peer().send_error(&ErrorPayload::new(
            ErrorCode::BinaryUnsupported,
            "zocket messages are JSON text frames",
        ));
        Handled::Bad
    }
}

/// The echo endpoint: every data frame goes back through the same bounded
/// queue and flush a router's sends use.
struct EchoFrames<'a> {
    peer: &'a Arc<Peer>,
}

impl Frames for EchoFrames<'_> {
    fn text(&mut self, text: String) -> impl Future<Output = Handled> + Send {
        let _ = self.peer.push(&WireFrame::text(&text));
        std::future::ready(Handled::Ok)
    }

    fn binary(&mut self, data: Bytes) -> Handled {
        let _ = self.peer.push(&WireFrame::binary(&data));
        Handled::Ok
    }
}

/// A connection's part in a resumable session (`Config::resume`).
pub(crate) struct Attached {
    /// The session's current token (the client was sent it first thing).
    pub token: Token,
    /// The connection resumes the session: its peer is registered and in
    /// its rooms, and its queue holds what the client missed.
    pub resumed: bool,
}

/// Runs a router endpoint on an upgraded connection whose `on_connect` has
/// run (its state is in `cx`); `permit` (the connection's slot) is released
/// when it ends. `on_disconnect` runs exactly once per session: here when
/// the connection ends, or, for a resumable session whose connection
/// dropped, when its window passes without a resume.
pub(crate) async fn run<R, S>(
    upgraded: Upgraded,
    app: Arc<S>,
    hub: Arc<Hub>,
    cx: Arc<Ctx<R, R::Context>>,
    permit: ConnectionPermit,
    session: Option<Attached>,
) where
    R: Dispatch<S>,
    S: Send + Sync + 'static,
{
    let peer = cx.peer().clone();
    match &session {
        Some(attached) if attached.resumed => {
            if AssertUnwindSafe(R::on_resume(&app, &cx))
                .catch_unwind()
                .await
                .is_err()
            {
                tracing::error!(client = %peer.id, "on_resume panicked");
            }
        }
        Some(attached) => {
            peer.push_control(session_frame(&peer.id, &attached.token, false));
            hub.register(&peer);
        }
        None => hub.register(&peer),
    }
    let (mut reader, mut writer) =
        upgraded.start(&peer, hub.config.max_message_size, hub.config.write_timeout);
    tracing::debug!(client = %peer.id, "connected");
    let mut frames = RouterFrames::<R, S> {
        app: &app,
        cx: &cx,
        types: TypeBuckets::new(R::TYPE_RATES),
    };
    let ending = read_loop(&mut frames, &mut reader, &hub, &peer, &mut writer).await;
    let token = match session {
        Some(attached) if ending.may_resume() && !hub.shutdown.is_cancelled() => attached.token,
        session => {
            if let Some(attached) = session {
                hub.sessions.end(&attached.token);
            }
            // The server's requests to this client fail now, not at their
            // timeout.
            peer.end_requests();
            disconnect::<R, S>(&app, &cx).await;
            hub.unregister(&peer);
            finish(&peer, ending, writer, reader).await;
            drop(permit);
            return;
        }
    };
    // Requests fail as for any drop; a resumed connection can be asked
    // again.
    if let Some(pending) = peer.requests() {
        pending.fail_all();
    }
    finish(&peer, ending, writer, reader).await;
    drop(permit);
    suspend::<R, S>(&app, &hub, &cx, token, true).await;
}

/// Keeps a session whose connection dropped for the resume window: in its
/// rooms, registered under its id, recording what it is sent. Ends it
/// (`on_disconnect`, then out of every room) when the window passes or the
/// server shuts down, unless a resume takes it over first.
/// `announce`: run `on_suspend` (not for a resume whose upgrade failed:
/// the application never saw that session come back).
pub(crate) async fn suspend<R, S>(
    app: &S,
    hub: &Hub,
    cx: &Ctx<R, R::Context>,
    token: Token,
    announce: bool,
) where
    R: Dispatch<S>,
    S: Send + Sync + 'static,
{
    // Before the session can be resumed, so that `on_resume` follows it.
    if announce
        && AssertUnwindSafe(R::on_suspend(app, cx))
            .catch_unwind()
            .await
            .is_err()
    {
        tracing::error!(client = %cx.client_id(), "on_suspend panicked");
    }
    let window = hub.config.resume.map_or(Duration::ZERO, |r| r.window);
    if let Some(resumed) = hub.sessions.suspend(&token) {
        tracing::debug!(client = %cx.client_id(), "suspended");
        tokio::select! {
            // The new connection has it (or is about to end it).
            _ = resumed => return,
            () = tokio::time::sleep(window) => {}
            () = hub.shutdown.cancelled() => {}
        }
    }
    // A resume that took the session meanwhile spent this token.
    if hub.sessions.end(&token) {
        tracing::debug!(client = %cx.client_id(), "session ended unresumed");
        end_session::<R, S>(app, hub, cx).await;
    }
}

/// Ends a session that has no connection: its `on_disconnect`, then out of
/// every room and the client map.
pub(crate) async fn end_session<R, S>(app: &S, hub: &Hub, cx: &Ctx<R, R::Context>)
where
    R: Dispatch<S>,
    S: Send + Sync + 'static,
{
    cx.peer().end_requests();
    disconnect::<R, S>(app, cx).await;
    hub.unregister(cx.peer());
}

/// Runs `on_disconnect`, containing a panic.
pub(crate) async fn disconnect<R: Dispatch<S>, S>(app: &S, cx: &Ctx<R, R::Context>) {
    if AssertUnwindSafe(R::on_disconnect(app, cx))
        .catch_unwind()
        .await
        .is_err()
    {
        tracing::error!(client = %cx.client_id(), "on_disconnect panicked");
    }
}

/// Runs the echo endpoint on an upgraded connection.
pub(crate) async fn run_echo(
    upgraded: Upgraded,
    hub: Arc<Hub>,
    peer: Arc<Peer>,
    permit: ConnectionPermit,
) {
    let (mut reader, mut writer) =
        upgraded.start(&peer, hub.config.max_message_size, hub.config.write_timeout);
    let mut frames = EchoFrames { peer: &peer };
    let ending = read_loop(&mut frames, &mut reader, &hub, &peer, &mut writer).await;
    finish(&peer, ending, writer, reader).await;
    drop(permit);
}

/// Sends the close frame after what is queued, waits for the writer, then
/// for the client's close frame when the server ended the connection.
async fn finish(peer: &Arc<Peer>, ending: Ending, writer: JoinHandle<()>, mut reader: Reader) {
    match ending {
        Ending::Client(code) => peer.answer_close(code),
        Ending::Server(code, reason) => peer.close(code, reason),
        Ending::Network => peer.close(close::NORMAL, ""),
    }
    // The writer sends what is queued and the close frame, or gives up
    // after the write timeout. (Finished: the read loop saw it end.)
    if !writer.is_finished() {
        let _ = writer.await;
    }
    let code = match ending {
        Ending::Client(code) => code,
        _ => match peer.closed_by_server() {
            Some(code) if ending != Ending::Network || code != close::NORMAL => {
                reader.linger(CLOSE_LINGER).await;
                code
            }
            _ => close::NORMAL,
        },
    };
    metrics::closed(match ending {
        Ending::Network if code == close::NORMAL => metrics::NO_CLOSE_FRAME,
        _ => code,
    });
    tracing::debug!(client = %peer.id, code, "disconnected");
}

async fn read_loop<F: Frames>(
    frames: &mut F,
    reader: &mut Reader,
    hub: &Hub,
    peer: &Arc<Peer>,
    writer: &mut JoinHandle<()>,
) -> Ending {
    let config = &hub.config;
    let mut next_ping = Instant::now() + config.ping_interval;
    let mut pong_deadline: Option<Instant> = None;
    let mut bad_frames = 0u32;
    let mut bucket = config.rate_limit.map(TokenBucket::new);
    let too_many = Ending::Server(close::POLICY_VIOLATION, "too many bad frames");
    // Frames read while a handler ran, in order.
    let mut held: VecDeque<Option<Event>> = VecDeque::new();
    loop {
        let deadline = pong_deadline.unwrap_or(next_ping);
        let event = if let Some(event) = held.pop_front() {
            event
        } else if reader.buffered() {
            reader.next().await
        } else {
            tokio::select! {
                biased;
                _ = hub.shutdown.cancelled() => {
                    return Ending::Server(close::GOING_AWAY, "server shutting down");
                }
                _ = &mut *writer => {
                    // The writer stopped: the server's close went out (a
                    // handler's `cx.close`, an overflow), or the socket failed.
                    return match peer.closed_by_server() {
                        Some(code) => Ending::Server(code, ""),
                        None => Ending::Network,
                    };
                }
                _ = sleep_until(deadline) => {
                    if pong_deadline.is_some() {
                        tracing::debug!(client = %peer.id, "no pong in time");
                        return Ending::Server(close::POLICY_VIOLATION, HEARTBEAT_TIMEOUT);
                    }
                    peer.push_control(WireFrame::ping());
                    pong_deadline = Some(Instant::now() + config.pong_timeout);
                    next_ping = Instant::now() + config.ping_interval;
                    continue;
                }
                event = reader.next() => event,
            }
        };
        // Any frame shows the peer is alive.
        pong_deadline = None;
        let message = match event {
            None => return Ending::Network,
            Some(Event::Close(code, _)) => return Ending::Client(code),
            Some(Event::Fail(code, reason)) => {
                tracing::debug!(client = %peer.id, code, reason, "protocol error");
                return Ending::Server(code, reason);
            }
            Some(Event::Message(Message::Ping(payload))) => {
                peer.push_control(WireFrame::pong(&payload));
                continue;
            }
            Some(Event::Message(Message::Pong)) => continue,
            Some(Event::Message(message)) => message,
        };
        if let Some(bucket) = &mut bucket {
            if !bucket.try_take() {
                if let Message::Text(text) = &message {
                    if answered_pending(peer, text) {
                        continue;
                    }
                }
                rate_limited(peer, &message);
                bad_frames += 1;
                if bad_frames >= config.max_consecutive_errors {
                    tracing::debug!(client = %peer.id, "rate limit exceeded repeatedly");
                    return Ending::Server(close::POLICY_VIOLATION, "rate limit exceeded");
                }
                continue;
            }
        }
        let handled = match message {
            Message::Text(text) => {
                let handling = frames.text(text);
                read_while(handling, reader, peer, &mut held, config.max_read_ahead).await
            }
            Message::Binary(data) => frames.binary(data),
            Message::Ping(_) | Message::Pong => continue,
        };
        match handled {
            Handled::Ok => bad_frames = 0,
            Handled::Refused => {}
            Handled::Bad => {
                bad_frames += 1;
                if bad_frames >= config.max_consecutive_errors {
                    return too_many;
                }
            }
            Handled::Panicked => {
                return Ending::Server(close::INTERNAL_ERROR, "internal error");
            }
        }
    }
}

/// Runs a handler while reading on: an answer to one of the server's
/// requests is routed at once (the handler may be the one waiting for it),
/// anything else is held, up to `max_held` frames, for after the handler.
/// Without this a handler that asks its own client something would wait
/// for its timeout.
async fn read_while(
    handling: impl Future<Output = Handled>,
    reader: &mut Reader,
    peer: &Peer,
    held: &mut VecDeque<Option<Event>>,
    max_held: usize,
) -> Handled {
    tokio::pin!(handling);
    // Reading stops at the end of the stream: nothing comes after it.
    let mut open = !matches!(
        held.back(),
        Some(None | Some(Event::Close(..) | Event::Fail(..)))
    );
    loop {
        tokio::select! {
            biased;
            handled = &mut handling => return handled,
            event = reader.next(), if open && held.len() < max_held => {
                if let Some(Event::Message(Message::Text(text))) = &event {
                    if answered_pending(peer, text) {
                        continue;
                    }
                }
                open = matches!(event, Some(Event::Message(_)));
                held.push_back(event);
            }
        }
    }
}

/// Routes `text` at once if it is an answer while the server has requests
/// pending on this connection (a late answer is dropped here too); anything
/// else goes the usual way. Without pending requests the envelope is not
/// parsed twice.
fn answered_pending(peer: &Peer, text: &str) -> bool {
    if peer.requests().is_none_or(|p| p.is_empty()) {
        return false;
    }
    wire::Envelope::parse(text).is_ok_and(|env| requests::route_answer(peer, &env))
}

/// Tells the client a message was dropped by the rate limit; a request is
/// answered with the error (its `rpcId` read off the frame).
fn rate_limited(peer: &Arc<Peer>, message: &Message) {
    let mut error = ErrorPayload::new(ErrorCode::RateLimited, "too many messages; slow down");
    let mut rpc = None;
    if let Message::Text(text) = message {
        if let Ok(env) = wire::Envelope::parse(text) {
            error.for_type = Some(env.ty.clone().into_owned());
            rpc = env.rpc_id().map(str::to_owned);
        }
    }
    peer.send_error_to(&error, rpc.as_deref());
}

async fn handle_text<R, S>(
    app: &S,
    cx: &Ctx<R, R::Context>,
    types: Option<&mut TypeBuckets>,
    text: &str,
) -> Handled
where
    R: Dispatch<S>,
{
    let peer = cx.peer();
    let env = match wire::Envelope::parse(text) {
        Ok(env) => env,
        Err(error) => {
            cx.hub().types.received(metrics::UNKNOWN);
            return bad_frame(cx, &error, None);
        }
    };
    if requests::route_answer(peer, &env) {
        return Handled::Ok;
    }
    let received = cx.hub().types.received(&env.ty);
    let rpc = env.rpc_id();
    let ty = env.ty.as_ref();
    let index = <R::Incoming as MessageSet>::TYPES
        .iter()
        .position(|known| *known == ty);
    if let (Some(index), Some(types)) = (index, types) {
        if !types.try_take(index) {
            return type_rate_limited(peer, <R::Incoming as MessageSet>::TYPES[index], rpc);
        }
    }
    let decoded = if index.is_some() {
        <R::Incoming as MessageSet>::decode(ty, env.payload_str())
    } else {
        Err(FrameError::UnknownType(ty.to_owned()))
    };
    let message = match decoded {
        Ok(message) => message,
        Err(error) => return bad_frame(cx, &error, rpc),
    };
    let ty = message.ty();
    cx.set_handling(Some(ty), rpc);
    let started = std::time::Instant::now();
    let span = tracing::info_span!("message", r#type = ty);
    let result = AssertUnwindSafe(R::dispatch(app, cx, message).instrument(span))
        .catch_unwind()
        .await;
    received.handled(started);
    // Whatever the handler did not answer (a refusal, a panic) answers
    // with an error.
    let rpc = cx.take_rpc();
    cx.set_handling(None, None);
    match result {
        Ok(Ok(())) => Handled::Ok,
        Ok(Err(refusal)) => {
            let error = ErrorPayload::new(ErrorCode::Refused, refusal.message()).for_type(ty);
            peer.send_error_to(&error, rpc.as_deref());
            Handled::Refused
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("(non-string panic)");
            tracing::error!(
                client = %peer.id,
                message = ty,
                panic = what,
                "handler panicked; closing this connection with 1011"
            );
            if let Some(rpc) = rpc {
                let error =
                    ErrorPayload::new(ErrorCode::HandlerError, "internal error").for_type(ty);
                peer.send_error_to(&error, Some(&rpc));
            }
            Handled::Panicked
        }
    }
}

/// Drops a message its type's own rate refused (PROTOCOL.md § 5): the
/// sender gets `rate_limited` naming the type, and it counts as a bad frame
/// like the connection-wide limit's refusals. It has already spent a token
/// of the connection-wide bucket: that bucket bounds the frames a client
/// makes the server read and parse, and a refused frame was read and
/// parsed (otherwise flooding a limited type would escape it).
fn type_rate_limited(peer: &Arc<Peer>, ty: &'static str, rpc: Option<&str>) -> Handled {
    let error = ErrorPayload::new(
        ErrorCode::RateLimited,
        format!("too many `{ty}` messages; slow down"),
    )
    .for_type(ty);
    peer.send_error_to(&error, rpc);
    Handled::Bad
}

/// Answers a frame that did not decode.
fn bad_frame<R, C>(cx: &Ctx<R, C>, error: &FrameError, rpc: Option<&str>) -> Handled {
    // The error quotes what the client sent (a type name).
    let error_text = error.to_string();
    tracing::debug!(client = %cx.peer().id, error = ?Shown(&error_text), "bad frame");
    cx.peer().send_error_to(&error.to_payload(), rpc);
    Handled::Bad
}
