//! The connection loop: one session at a time, reconnecting with backoff
//! until `close()`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{sleep, timeout, Instant};
use zocket_core::Router;
use zocket_ws::close::NO_STATUS;
use zocket_ws::{Event, Message};

use crate::client::{CloseInfo, Core, State};
use crate::dispatch::Key;
use crate::error::ConnectError;
use crate::queue::Queued;
use crate::socket::{Options, Socket};

pub(crate) async fn connect<R: Router>(core: &Core<R>) -> Result<Socket, ConnectError> {
    core.set_state(State::Connecting);
    // A session to resume goes with the request (PROTOCOL.md § 12).
    let mut headers = core.request_headers.clone();
    if let Some(resume) = core.resume_request() {
        headers.push((zocket_core::resume::RESUME_HEADER.to_owned(), resume));
    }
    let attempt = Socket::connect(Options {
        url: &core.url,
        headers: &headers,
        compression: core.config.compression,
        max_received_size: core.config.max_received_size,
    });
    match timeout(core.config.connect_timeout, attempt).await {
        Ok(result) => result,
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
    mut socket: Socket,
    sent_calls: &mut Vec<Box<str>>,
) -> CloseInfo {
    let mut batch: Vec<Queued> = Vec::new();
    let idle = core.config.idle_timeout;
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            _ = core.queue.take_all(&mut batch) => {
                for queued in batch.drain(..) {
                    if let Some(id) = queued.rpc {
                        // Timed out while queued: never sent.
                        if !core.calls.contains(&id) {
                            continue;
                        }
                        sent_calls.push(id);
                    }
                    socket.text(&queued.frame);
                }
                if sent_calls.len() > 2 * core.config.max_pending_calls {
                    sent_calls.retain(|id| core.calls.contains(id));
                }
                if let Err(error) = socket.flush().await {
                    tracing::warn!(%error, "write failed; messages of this batch may be lost");
                    return CloseInfo { code: None, reason: error.to_string() };
                }
            }
            event = socket.next() => {
                last_heard = Instant::now();
                match event {
                    Some(Ok(Event::Message(Message::Text(text)))) => core.dispatch(&text),
                    Some(Ok(Event::Message(Message::Ping(payload)))) => {
                        socket.pong(&payload);
                        if socket.flush().await.is_err() {
                            return CloseInfo { code: None, reason: "write failed".into() };
                        }
                    }
                    Some(Ok(Event::Message(Message::Pong | Message::Binary(_)))) => {}
                    Some(Ok(Event::Close(code, reason))) => {
                        // Echo the close (RFC 6455, section 5.5.1); the
                        // server then closes the TCP connection.
                        socket.close(code, "");
                        let _ = socket.flush().await;
                        let code = (code != NO_STATUS).then_some(code);
                        return CloseInfo { code, reason };
                    }
                    Some(Ok(Event::Fail(code, reason))) => {
                        tracing::warn!(code, reason, "the server broke the WebSocket protocol; reconnecting");
                        socket.close(code, reason);
                        let _ = socket.flush().await;
                        return CloseInfo { code: None, reason: format!("{reason} (closed with {code})") };
                    }
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
                    socket.close(zocket_core::close::NORMAL, "");
                    if socket.flush().await.is_ok() {
                        // Give the server a moment to answer the close.
                        let _ = timeout(Duration::from_secs(2), async {
                            while let Some(Ok(event)) = socket.next().await {
                                if matches!(event, Event::Close(..) | Event::Fail(..)) {
                                    break;
                                }
                            }
                        })
                        .await;
                    }
                    return CloseInfo { code: Some(1000), reason: String::new() };
                }
            }
        }
    }
}
