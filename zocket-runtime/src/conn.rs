//! One connection's life: a reader loop in the connection task that decodes
//! frames and runs handlers one at a time (so a client's messages are
//! handled in order), and a writer task that drains the bounded outgoing
//! queue into the socket, a batch per flush.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::time::{sleep_until, Instant};
use zocket_core::error::{ErrorCode, ErrorPayload};
use zocket_core::{close, wire, FrameError, MessageSet};

use crate::ctx::Ctx;
use crate::hub::Hub;
use crate::peer::Peer;
use crate::router::Dispatch;

/// Why the reader stopped, and the close frame that tells the client.
struct Ending {
    code: u16,
    reason: &'static str,
}

impl Ending {
    const NORMAL: Ending = Ending {
        code: close::NORMAL,
        reason: "",
    };
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
    let (sink, stream) = socket.split();
    hub.register(&peer);
    let mut writer = tokio::spawn(write_loop(sink, peer.clone(), hub.config.write_timeout));
    let cx = Ctx::<R, R::Context>::new(peer.clone(), hub.clone(), state);
    tracing::debug!(client = %peer.id, "connected");

    let ending = read_loop::<R, S>(&app, &cx, stream, &hub, &peer, &mut writer).await;

    if AssertUnwindSafe(R::on_disconnect(&app, &cx))
        .catch_unwind()
        .await
        .is_err()
    {
        tracing::error!(client = %peer.id, "on_disconnect panicked");
    }
    hub.unregister(&peer);
    peer.close(ending.code, ending.reason);
    if !writer.is_finished() {
        // The writer sends what is queued and the close frame, or gives up
        // after the write timeout.
        let _ = writer.await;
    }
    tracing::debug!(client = %peer.id, code = ending.code, "disconnected");
}

async fn read_loop<R, S>(
    app: &S,
    cx: &Ctx<R, R::Context>,
    mut stream: SplitStream<WebSocket>,
    hub: &Hub,
    peer: &Peer,
    writer: &mut tokio::task::JoinHandle<()>,
) -> Ending
where
    R: Dispatch<S>,
{
    let config = &hub.config;
    let mut next_ping = Instant::now() + config.ping_interval;
    let mut pong_deadline: Option<Instant> = None;
    let mut bad_frames = 0u32;
    loop {
        let deadline = pong_deadline.unwrap_or(next_ping);
        let frame = tokio::select! {
            biased;
            _ = hub.shutdown.cancelled() => {
                return Ending { code: close::GOING_AWAY, reason: "server shutting down" };
            }
            _ = &mut *writer => return Ending::NORMAL,
            _ = sleep_until(deadline) => {
                if pong_deadline.is_some() {
                    tracing::debug!(client = %peer.id, "no pong in time");
                    return Ending { code: close::POLICY_VIOLATION, reason: "heartbeat timeout" };
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
        let text = match frame {
            None => return Ending::NORMAL,
            Some(Err(error)) => return read_error(peer, error),
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Binary(_))) => {
                let error = ErrorPayload {
                    code: ErrorCode::BinaryUnsupported,
                    message: "zocket messages are JSON text frames".into(),
                    for_type: None,
                    path: None,
                };
                reply_error(peer, &error);
                bad_frames += 1;
                if bad_frames >= config.max_consecutive_errors {
                    return Ending {
                        code: close::POLICY_VIOLATION,
                        reason: "too many bad frames",
                    };
                }
                continue;
            }
            Some(Ok(Message::Close(_))) => return Ending::NORMAL,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
        };
        match handle_text::<R, S>(app, cx, &text).await {
            Handled::Ok => bad_frames = 0,
            Handled::Refused => {}
            Handled::Bad => {
                bad_frames += 1;
                if bad_frames >= config.max_consecutive_errors {
                    return Ending {
                        code: close::POLICY_VIOLATION,
                        reason: "too many bad frames",
                    };
                }
            }
            Handled::Panicked => {
                return Ending {
                    code: close::INTERNAL_ERROR,
                    reason: "internal error",
                };
            }
        }
    }
}

enum Handled {
    Ok,
    Refused,
    Bad,
    Panicked,
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
    match AssertUnwindSafe(R::dispatch(app, cx, message))
        .catch_unwind()
        .await
    {
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
        Err(_) => {
            tracing::error!(client = %peer_id, message = ty, "handler panicked; closing with 1011");
            Handled::Panicked
        }
    }
}

fn reply_error(peer: &Peer, error: &ErrorPayload) {
    // Error frames go through the same bounded queue: a client that floods
    // bad frames and never reads is cut off like any slow consumer.
    let _ = peer.push(wire::encode_error(error).into());
}

fn read_error(peer: &Peer, error: axum::Error) -> Ending {
    let inner = error.into_inner();
    let ending = match inner.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Capacity(_)) => Ending {
            code: close::MESSAGE_TOO_BIG,
            reason: "message too big",
        },
        Some(tungstenite::Error::Utf8(_)) => Ending {
            code: close::INVALID_PAYLOAD,
            reason: "invalid UTF-8 in text frame",
        },
        Some(tungstenite::Error::Protocol(_)) => Ending {
            code: 1002,
            reason: "protocol error",
        },
        _ => Ending::NORMAL,
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
                sink.feed(Message::Text(frame)).await?;
            }
            if work.ping {
                sink.feed(Message::Ping(Default::default())).await?;
            }
            if let Some(close) = &work.close {
                sink.feed(Message::Close(Some(CloseFrame {
                    code: close.code,
                    reason: close.reason.into(),
                })))
                .await?;
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
