//! One connection's life: a reader loop in the connection task that decodes
//! frames and runs handlers one at a time (so a client's messages are
//! handled in order), and a writer task that drains the bounded outgoing
//! queue into the socket, a batch per flush.
//!
//! The reader enforces the per-connection limits (rate, bad frames in a row,
//! heartbeat, shutdown); the same loop runs routers and the raw echo
//! endpoint, so the conformance suite exercises the code routers use.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, timeout, Instant};
use zocket_core::error::{ErrorCode, ErrorPayload};
use zocket_core::{close, wire, FrameError, MessageSet};

use crate::ctx::Ctx;
use crate::hub::Hub;
use crate::limits::TokenBucket;
use crate::peer::Peer;
use crate::router::Dispatch;

/// After the server sends a close frame it keeps reading (and discarding)
/// for at most this long, waiting for the client's close frame. Closing the
/// TCP socket with unread data would reset it and could destroy the close
/// frame before the client reads it.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// Why the reader stopped, and the close frame that tells the client.
struct Ending {
    code: u16,
    reason: &'static str,
    by: EndedBy,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EndedBy {
    /// The client sent a close frame; the WebSocket layer has queued the
    /// reply (echoing the client's code), which only needs flushing.
    Client,
    /// The socket is gone (EOF, I/O error) or the writer stopped.
    Network,
    /// The server ends the connection: send a close frame, then wait for
    /// the client's before dropping TCP.
    Server,
}

impl Ending {
    const CLIENT_CLOSED: Ending = Ending {
        code: close::NORMAL,
        reason: "",
        by: EndedBy::Client,
    };

    const GONE: Ending = Ending {
        code: close::NORMAL,
        reason: "",
        by: EndedBy::Network,
    };

    const fn server(code: u16, reason: &'static str) -> Ending {
        Ending {
            code,
            reason,
            by: EndedBy::Server,
        }
    }
}

/// What the reader did with one data frame.
pub(crate) enum Handled {
    Ok,
    Refused,
    Bad,
    Panicked,
}

/// What one kind of endpoint does with data frames.
trait Frames: Send {
    fn text(&mut self, text: Utf8Bytes) -> impl Future<Output = Handled> + Send;
    fn binary(&mut self, data: Bytes) -> Handled;
}

/// A router endpoint: decode, validate, run middleware and the handler.
struct RouterFrames<'a, R: Dispatch<S>, S> {
    app: &'a S,
    cx: &'a Ctx<R, R::Context>,
}

impl<R, S> Frames for RouterFrames<'_, R, S>
where
    R: Dispatch<S>,
    S: Send + Sync + 'static,
{
    fn text(&mut self, text: Utf8Bytes) -> impl Future<Output = Handled> + Send {
        let (app, cx) = (self.app, self.cx);
        async move { handle_text::<R, S>(app, cx, &text).await }
    }

    fn binary(&mut self, _data: Bytes) -> Handled {
        reply_error(
            self.cx.peer(),
            &ErrorPayload {
                code: ErrorCode::BinaryUnsupported,
                message: "zocket messages are JSON text frames".into(),
                for_type: None,
                path: None,
            },
        );
        Handled::Bad
    }
}

/// The echo endpoint: every data frame goes back through the same bounded
/// queue and writer a router's sends use.
struct EchoFrames<'a> {
    peer: &'a Peer,
}

impl Frames for EchoFrames<'_> {
    fn text(&mut self, text: Utf8Bytes) -> impl Future<Output = Handled> + Send {
        let _ = self.peer.push_message(Message::Text(text));
        std::future::ready(Handled::Ok)
    }

    fn binary(&mut self, data: Bytes) -> Handled {
        let _ = self.peer.push_message(Message::Binary(data));
        Handled::Ok
    }
}

pub(crate) async fn run<R, S>(
    socket: WebSocket,
    app: Arc<S>,
    hub: Arc<Hub>,
    peer: Arc<Peer>,
    state: R::Context,
) where
    R: Dispatch<S>,
    S: Send + Sync + 'static,
{
    let (sink, mut stream) = socket.split();
    hub.register(&peer);
    let mut writer = tokio::spawn(write_loop(sink, peer.clone(), hub.config.write_timeout));
    let cx = Ctx::<R, R::Context>::new(peer.clone(), hub.clone(), state);
    tracing::debug!(client = %peer.id, "connected");

    let mut frames = RouterFrames::<R, S> { app: &app, cx: &cx };
    let ending = read_loop(&mut frames, &mut stream, &hub, &peer, &mut writer).await;

    if AssertUnwindSafe(R::on_disconnect(&app, &cx))
        .catch_unwind()
        .await
        .is_err()
    {
        tracing::error!(client = %peer.id, "on_disconnect panicked");
    }
    hub.unregister(&peer);
    finish(&peer, ending, writer, stream).await;
}

/// Runs the echo endpoint on one socket.
pub(crate) async fn run_echo(socket: WebSocket, hub: Arc<Hub>, peer: Arc<Peer>) {
    let (sink, mut stream) = socket.split();
    let mut writer = tokio::spawn(write_loop(sink, peer.clone(), hub.config.write_timeout));
    let mut frames = EchoFrames { peer: &peer };
    let ending = read_loop(&mut frames, &mut stream, &hub, &peer, &mut writer).await;
    finish(&peer, ending, writer, stream).await;
}

/// Sends the close frame after what is queued, then waits for the client's
/// close frame when the server ended the connection.
async fn finish(
    peer: &Peer,
    ending: Ending,
    writer: JoinHandle<()>,
    mut stream: SplitStream<WebSocket>,
) {
    if ending.by == EndedBy::Client {
        peer.close_quietly();
    } else {
        peer.close(ending.code, ending.reason);
    }
    if !writer.is_finished() {
        // The writer sends what is queued and the close frame, or gives up
        // after the write timeout.
        let _ = writer.await;
    }
    match ending.by {
        EndedBy::Server => {
            let _ = timeout(CLOSE_LINGER, async {
                while let Some(Ok(frame)) = stream.next().await {
                    if let Message::Close(_) = frame {
                        break;
                    }
                }
            })
            .await;
        }
        EndedBy::Client => {
            // Reading once more flushes the close reply if the writer could
            // not (it stops at its first failed write); it returns at once.
            let _ = timeout(CLOSE_LINGER, stream.next()).await;
        }
        EndedBy::Network => {}
    }
    tracing::debug!(client = %peer.id, code = ending.code, "disconnected");
}

async fn read_loop<F: Frames>(
    frames: &mut F,
    stream: &mut SplitStream<WebSocket>,
    hub: &Hub,
    peer: &Peer,
    writer: &mut JoinHandle<()>,
) -> Ending {
    let config = &hub.config;
    let mut next_ping = Instant::now() + config.ping_interval;
    let mut pong_deadline: Option<Instant> = None;
    let mut bad_frames = 0u32;
    let mut bucket = config.rate_limit.map(TokenBucket::new);
    let too_many = Ending::server(close::POLICY_VIOLATION, "too many bad frames");
    loop {
        let deadline = pong_deadline.unwrap_or(next_ping);
        let frame = tokio::select! {
            biased;
            _ = hub.shutdown.cancelled() => {
                return Ending::server(close::GOING_AWAY, "server shutting down");
            }
            _ = &mut *writer => return Ending::GONE,
            _ = sleep_until(deadline) => {
                if pong_deadline.is_some() {
                    tracing::debug!(client = %peer.id, "no pong in time");
                    return Ending::server(close::POLICY_VIOLATION, "heartbeat timeout");
                }
                peer.request_ping();
                pong_deadline = Some(Instant::now() + config.pong_timeout);
                next_ping = Instant::now() + config.ping_interval;
                continue;
            }
            frame = stream.next() => frame,
        };
        // Any frame shows the peer is alive.
        pong_deadline = None;
        let frame = match frame {
            None => return Ending::GONE,
            Some(Err(error)) => return read_error(peer, error),
            Some(Ok(Message::Close(_))) => return Ending::CLIENT_CLOSED,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(frame)) => frame,
        };
        if let Some(bucket) = &mut bucket {
            if !bucket.try_take() {
                reply_error(
                    peer,
                    &ErrorPayload {
                        code: ErrorCode::RateLimited,
                        message: "too many messages; slow down".into(),
                        for_type: None,
                        path: None,
                    },
                );
                bad_frames += 1;
                if bad_frames >= config.max_consecutive_errors {
                    tracing::debug!(client = %peer.id, "rate limit exceeded repeatedly");
                    return Ending::server(close::POLICY_VIOLATION, "rate limit exceeded");
                }
                continue;
            }
        }
        let handled = match frame {
            Message::Text(text) => frames.text(text).await,
            Message::Binary(data) => frames.binary(data),
            _ => continue,
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
                return Ending::server(close::INTERNAL_ERROR, "internal error");
            }
        }
    }
}

async fn handle_text<R, S>(app: &S, cx: &Ctx<R, R::Context>, text: &Utf8Bytes) -> Handled
where
    R: Dispatch<S>,
{
    let peer_id = cx.client_id();
    let decoded = wire::Envelope::parse(text.as_str()).and_then(|env| {
        let ty = env.ty.as_ref();
        if !<R::Incoming as MessageSet>::TYPES.contains(&ty) {
            return Err(FrameError::UnknownType(ty.to_owned()));
        }
        <R::Incoming as MessageSet>::decode(ty, env.payload_str())
    });
    let message = match decoded {
        Ok(message) => message,
        Err(error) => {
            tracing::debug!(client = %peer_id, %error, "bad frame");
            reply_error(cx.peer(), &error.to_payload());
            return Handled::Bad;
        }
    };
    let ty = message.ty();
    cx.set_handling(Some(ty));
    let result = AssertUnwindSafe(R::dispatch(app, cx, message))
        .catch_unwind()
        .await;
    cx.set_handling(None);
    match result {
        Ok(Ok(())) => Handled::Ok,
        Ok(Err(refusal)) => {
            reply_error(
                cx.peer(),
                &ErrorPayload {
                    code: ErrorCode::Refused,
                    message: refusal.message().to_owned(),
                    for_type: Some(ty.to_owned()),
                    path: None,
                },
            );
            Handled::Refused
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("(non-string panic)");
            tracing::error!(
                client = %peer_id,
                message = ty,
                panic = what,
                "handler panicked; closing this connection with 1011"
            );
            Handled::Panicked
        }
    }
}

pub(crate) fn reply_error(peer: &Peer, error: &ErrorPayload) {
    // Error frames go through the same bounded queue: a client that floods
    // bad frames and never reads is cut off like any slow consumer.
    let _ = peer.push(wire::encode_error(error).into());
}

fn read_error(peer: &Peer, error: axum::Error) -> Ending {
    let inner = error.into_inner();
    let ending = match inner.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Capacity(_)) => {
            Ending::server(close::MESSAGE_TOO_BIG, "message too big")
        }
        Some(tungstenite::Error::Utf8(_)) => {
            Ending::server(close::INVALID_PAYLOAD, "invalid UTF-8 in text frame")
        }
        Some(tungstenite::Error::Protocol(_)) => {
            Ending::server(close::PROTOCOL_ERROR, "protocol error")
        }
        _ => Ending::GONE,
    };
    tracing::debug!(client = %peer.id, error = %inner, code = ending.code, "read error");
    ending
}

async fn write_loop(mut sink: SplitSink<WebSocket, Message>, peer: Arc<Peer>, timeout: Duration) {
    let mut batch = Vec::new();
    loop {
        let work = peer.drain(&mut batch).await;
        let written = tokio::time::timeout(timeout, async {
            for frame in batch.drain(..) {
                sink.feed(frame).await?;
            }
            if work.ping {
                sink.feed(Message::Ping(Default::default())).await?;
            }
            if let Some(close) = work.close.as_ref().filter(|c| c.frame) {
                // When the client closed first, tungstenite has already
                // queued its reply (echoing the client's code) and refuses a
                // second close frame; the flush below sends that reply.
                let _ = sink
                    .feed(Message::Close(Some(CloseFrame {
                        code: close.code,
                        reason: close.reason.into(),
                    })))
                    .await;
            }
            sink.flush().await
        })
        .await;
        match written {
            Ok(Ok(())) if work.close.is_none() => {}
            Ok(Ok(())) => return,
            Ok(Err(error)) => {
                tracing::debug!(client = %peer.id, %error, "write failed");
                peer.close(close::NORMAL, "");
                return;
            }
            Err(_) => {
                tracing::warn!(client = %peer.id, "write stalled past the write timeout; dropping");
                peer.close(close::SLOW_CONSUMER, "write timeout");
                return;
            }
        }
    }
}
