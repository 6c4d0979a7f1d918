//! The connection loop: one session at a time, reconnecting with backoff
//! until `close()`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use zocket_core::Router;

use crate::client::{CloseInfo, Core, State};
use crate::dispatch::Key;
use crate::error::ConnectError;
use crate::queue::Queued;

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub(crate) async fn connect<R: Router>(core: &Core<R>) -> Result<Socket, ConnectError> {
    core.set_state(State::Connecting);
    let mut request = core.url.as_str().into_client_request()?;
    for (name, value) in &core.request_headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| ConnectError::InvalidHeader(name.clone()))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| ConnectError::InvalidHeader(name.to_string()))?;
        request.headers_mut().insert(name, value);
    }
    if let Some(resume) = core.resume_request() {
        if let Ok(value) = HeaderValue::from_str(&resume) {
            request
                .headers_mut()
                .insert(zocket_core::resume::RESUME_HEADER, value);
        }
    }
    let attempt = tokio_tungstenite::connect_async(request);
    match timeout(core.config.connect_timeout, attempt).await {
        Ok(Ok((socket, _response))) => Ok(socket),
        Ok(Err(error)) => Err(error.into()),
        Err(_) => Err(ConnectError::Timeout),
    }
}

pub(crate) async fn run<R: Router>(core: Arc<Core<R>>, first: Socket) {
    // `connect()` announced the first connection before returning, so a
    // listener added after it runs at once for it (`Core::on_open`).
    let mut socket = Some(first);
    let mut attempt: u32 = 0;
    loop {
        let (current, announce) = match socket.take() {
            Some(s) => (s, false),
            None => match connect(&core).await {
                Ok(s) => (s, true),
                Err(error) => {
                    tracing::debug!(%error, attempt, "reconnect failed");
                    if !wait_before_retry(&core, attempt).await {
                        break;
                    }
                    attempt = attempt.saturating_add(1);
                    continue;
                }
            },
        };
        attempt = 0;
        if announce {
            core.announce_open();
        }
        let info = session(&core, current).await;
        core.connection_lost();
        tracing::debug!(?info, "connection ended");
        core.listeners.emit(Key::Close, &info);
        if core.closed.load(Ordering::Acquire) {
            break;
        }
        if core.reconnect_now.swap(false, Ordering::AcqRel) {
            continue;
        }
        if !wait_before_retry(&core, attempt).await {
            break;
        }
    }
    core.set_state(State::Closed);
    // Calls still queued will never be sent.
    core.calls.close();
}

/// Waits out the backoff delay. False when the client should stop.
async fn wait_before_retry<R: Router>(core: &Core<R>, attempt: u32) -> bool {
    let Some(backoff) = &core.config.reconnect else {
        return false;
    };
    if core.closed.load(Ordering::Acquire) {
        return false;
    }
    core.set_state(State::Reconnecting);
    let deadline = Instant::now() + backoff.delay(attempt);
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => return true,
            _ = core.control.notified() => {
                if core.closed.load(Ordering::Acquire) {
                    return false;
                }
                if core.reconnect_now.swap(false, Ordering::AcqRel) {
                    return true;
                }
            }
        }
    }
}

/// Runs one connection until it ends, writing queued messages and
/// dispatching incoming ones.
async fn session<R: Router>(core: &Core<R>, socket: Socket) -> CloseInfo {
    let mut sent_calls = Vec::new();
    let info = session_calls(core, socket, &mut sent_calls).await;
    // Calls written on this connection fail now, not at their timeout:
    // their answers would have come on it. Calls still queued stay.
    for id in sent_calls {
        core.calls.fail(&id);
    }
    info
}

async fn session_calls<R: Router>(
    core: &Core<R>,
    socket: Socket,
    sent_calls: &mut Vec<Box<str>>,
) -> CloseInfo {
    let (mut sink, mut stream) = socket.split();
    let mut batch: Vec<Queued> = Vec::new();
    let idle = core.config.idle_timeout;
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            _ = core.queue.take_all(&mut batch) => {
                let mut result = Ok(());
                for queued in batch.drain(..) {
                    if let Some(id) = queued.rpc {
                        // Timed out while queued: never sent.
                        if !core.calls.contains(&id) {
                            continue;
                        }
                        sent_calls.push(id);
                    }
                    result = sink.feed(Message::text(queued.frame)).await;
                    if result.is_err() {
                        break;
                    }
                }
                if sent_calls.len() > 2 * core.config.max_pending_calls {
                    sent_calls.retain(|id| core.calls.contains(id));
                }
                if let Err(error) = result.and(sink.flush().await) {
                    tracing::warn!(%error, "write failed; messages of this batch may be lost");
                    return CloseInfo { code: None, reason: error.to_string() };
                }
            }
            frame = stream.next() => {
                last_heard = Instant::now();
                match frame {
                    Some(Ok(Message::Text(text))) => core.dispatch(text.as_str()),
                    Some(Ok(Message::Ping(_))) => {
                        // tungstenite queues the pong; flushing sends it.
                        if sink.flush().await.is_err() {
                            return CloseInfo { code: None, reason: "write failed".into() };
                        }
                    }
                    Some(Ok(Message::Close(frame))) => {
                        let _ = sink.flush().await;
                        return match frame {
                            Some(f) => CloseInfo { code: Some(f.code.into()), reason: f.reason.to_string() },
                            None => CloseInfo { code: None, reason: String::new() },
                        };
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => return CloseInfo { code: None, reason: error.to_string() },
                    None => return CloseInfo { code: None, reason: "connection closed".into() },
                }
            }
            _ = sleep(idle.saturating_sub(last_heard.elapsed())) => {
                if last_heard.elapsed() >= idle {
                    tracing::warn!("server silent past the idle timeout; reconnecting");
                    return CloseInfo { code: None, reason: "server silent".into() };
                }
            }
            _ = core.control.notified() => {
                let closing = core.closed.load(Ordering::Acquire);
                let reconnecting = core.reconnect_now.load(Ordering::Acquire);
                if closing || reconnecting {
                    let close = CloseFrame { code: CloseCode::Normal, reason: "".into() };
                    let _ = sink.send(Message::Close(Some(close))).await;
                    // Give the server a moment to answer the close.
                    let _ = timeout(Duration::from_secs(2), async {
                        while let Some(Ok(m)) = stream.next().await {
                            if m.is_close() {
                                break;
                            }
                        }
                    })
                    .await;
                    return CloseInfo { code: Some(1000), reason: String::new() };
                }
            }
        }
    }
}
