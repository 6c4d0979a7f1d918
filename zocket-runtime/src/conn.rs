//! One connection's life: a reader loop in the connection task that decodes
//! frames and runs handlers one at a time (so a client's messages are
//! handled in order), and a writer task that drains the bounded outgoing
//! queue into the socket, a batch per flush.
//!
//! The reader enforces the per-connection limits (rate, bad frames in a row,
//! heartbeat, shutdown); the same loop runs routers and the raw echo
//! endpoint, so the conformance suite exercises the code routers use.

use std::cell::Cell;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, timeout, Instant};
use zocket_core::error::{ErrorCode, ErrorPayload};
use zocket_core::{close, wire, FrameError, MessageSet};

use crate::ctx::Ctx;
use crate::hub::Hub;
use crate::limits::{ConnectionPermit, TokenBucket};
use crate::peer::{self, Peer, Written};
use crate::router::Dispatch;
use crate::wsframe::{self, Event};

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
    /// The client closed with `code` (1005: no code), which the fast
    /// path echoes.
    const fn client_closed(code: u16) -> Ending {
        Ending {
            code,
            reason: "",
            by: EndedBy::Client,
        }
    }

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
        // Boxed: the handlers' futures are large and live only while a
        // message is handled; inline, every idle connection's task would
        // hold room for them.
        Box::pin(async move { handle_text::<R, S>(app, cx, &text).await })
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

/// An upgraded connection: axum's WebSocket (tungstenite), or the plain
/// TCP stream zocket frames itself (the fast path).
pub(crate) enum Socket {
    Axum(Box<WebSocket>),
    Raw {
        stream: TcpStream,
        /// Bytes hyper read past the request head (frames sent early).
        read_buf: Bytes,
    },
}

/// The reading half of a connection.
enum Reader {
    Axum(SplitStream<WebSocket>),
    Raw(RawReader),
}

/// What the reader got.
enum Incoming {
    Data(Message),
    /// A ping or pong (answered already): a sign of life.
    Control,
    End(Ending),
}

/// Splits the socket: the reader, and the writer task draining `peer`.
fn start(socket: Socket, peer: &Arc<Peer>, hub: &Hub) -> (Reader, JoinHandle<()>) {
    let timeout = hub.config.write_timeout;
    match socket {
        Socket::Axum(socket) => {
            let (sink, stream) = (*socket).split();
            let writer = tokio::spawn(write_loop(sink, peer.clone(), timeout));
            (Reader::Axum(stream), writer)
        }
        Socket::Raw { stream, read_buf } => {
            let stream = Arc::new(stream);
            peer.attach(stream.clone());
            let writer = tokio::spawn(raw_write_loop(peer.clone(), stream.clone(), timeout));
            let mut reader = RawReader {
                stream,
                decoder: wsframe::Decoder::default(),
                events: Vec::new(),
                max_size: hub.config.max_message_size,
                failed: false,
            };
            if !read_buf.is_empty() {
                reader
                    .decoder
                    .feed(&read_buf, reader.max_size, &mut reader.events);
                reader.events.reverse();
            }
            (Reader::Raw(reader), writer)
        }
    }
}

impl Reader {
    /// Whether a frame is already decoded and waiting (no read needed).
    fn buffered(&self) -> bool {
        match self {
            Reader::Axum(_) => false,
            Reader::Raw(raw) => !raw.events.is_empty(),
        }
    }

    async fn next(&mut self, peer: &Peer) -> Incoming {
        match self {
            Reader::Axum(stream) => match stream.next().await {
                None => Incoming::End(Ending::GONE),
                Some(Err(error)) => Incoming::End(read_error(peer, error)),
                Some(Ok(Message::Close(frame))) => Incoming::End(Ending::client_closed(
                    frame.map_or(wsframe::NO_STATUS, |f| f.code),
                )),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => Incoming::Control,
                Some(Ok(frame)) => Incoming::Data(frame),
            },
            Reader::Raw(raw) => raw.next(peer).await,
        }
    }
}

thread_local! {
    /// One read buffer per worker thread, shared by every connection it
    /// runs: an idle connection holds none.
    static SCRATCH: std::cell::RefCell<Box<[u8]>> =
        std::cell::RefCell::new(vec![0u8; 64 * 1024].into_boxed_slice());
    /// An empty event buffer per worker thread, lent to the connection
    /// that is decoding and given back once its events are handled.
    static SPARE_EVENTS: Cell<Vec<Event>> = const { Cell::new(Vec::new()) };
}

struct RawReader {
    stream: Arc<TcpStream>,
    decoder: wsframe::Decoder,
    /// Decoded events, last first.
    events: Vec<Event>,
    max_size: usize,
    /// The client broke the protocol: what follows is not decoded.
    failed: bool,
}

impl RawReader {
    async fn next(&mut self, peer: &Peer) -> Incoming {
        loop {
            if let Some(event) = self.events.pop() {
                if self.events.is_empty() {
                    // Back to the worker thread: an idle connection keeps
                    // no event buffer.
                    let events = std::mem::take(&mut self.events);
                    if events.capacity() <= 1024 {
                        let _ = SPARE_EVENTS.try_with(|spare| spare.set(events));
                    }
                }
                return match event {
                    Event::Message(Message::Ping(payload)) => {
                        let _ = peer.push_message(Message::Pong(payload));
                        Incoming::Control
                    }
                    Event::Message(Message::Pong(_)) => Incoming::Control,
                    Event::Message(message) => Incoming::Data(message),
                    Event::Close(code) => Incoming::End(Ending::client_closed(code)),
                    Event::Fail(code, reason) => {
                        self.failed = true;
                        tracing::debug!(client = %peer.id, code, reason, "read error");
                        Incoming::End(Ending::server(code, reason))
                    }
                };
            }
            if self.failed {
                return Incoming::End(Ending::GONE);
            }
            match self.read() {
                Ok(true) => {}
                Ok(false) => return Incoming::End(Ending::GONE),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if self.stream.readable().await.is_err() {
                        return Incoming::End(Ending::GONE);
                    }
                }
                Err(_) => return Incoming::End(Ending::GONE),
            }
        }
    }

    /// Reads what is there into the shared scratch buffer and decodes it;
    /// `false` at EOF.
    fn read(&mut self) -> std::io::Result<bool> {
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let n = self.stream.try_read(&mut scratch)?;
            if n == 0 {
                return Ok(false);
            }
            if self.events.capacity() == 0 {
                self.events = SPARE_EVENTS.try_with(Cell::take).unwrap_or_default();
            }
            self.decoder
                .feed(&scratch[..n], self.max_size, &mut self.events);
            self.events.reverse();
            Ok(true)
        })
    }

    /// After a protocol failure: reads and drops what the client still
    /// sends (its close frame) until it has been quiet for a moment, so
    /// closing the socket does not reset it under our close frame.
    async fn discard(&mut self) {
        loop {
            let read = SCRATCH.with(|scratch| self.stream.try_read(&mut scratch.borrow_mut()));
            match read {
                Ok(0) => return,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    match timeout(Duration::from_millis(100), self.stream.readable()).await {
                        Ok(Ok(())) => {}
                        _ => return,
                    }
                }
                Err(_) => return,
            }
        }
    }
}

/// Runs a router endpoint on one socket; `permit` (the connection's slot)
/// is released when it ends.
///
/// Plain functions returning the future (not `async fn` wrappers): each
/// async layer around the connection's future would add a copy of it to
/// every idle connection's task.
pub(crate) fn run<R, S>(
    socket: Socket,
    app: Arc<S>,
    hub: Arc<Hub>,
    peer: Arc<Peer>,
    state: R::Context,
    permit: ConnectionPermit,
) -> impl Future<Output = ()> + Send
where
    R: Dispatch<S>,
    S: Send + Sync + 'static,
{
    peer::corked(async move {
        hub.register(&peer);
        let (mut reader, mut writer) = start(socket, &peer, &hub);
        let cx = Ctx::<R, R::Context>::new(peer.clone(), hub.clone(), state);
        tracing::debug!(client = %peer.id, "connected");

        let mut frames = RouterFrames::<R, S> { app: &app, cx: &cx };
        let ending = read_loop(&mut frames, &mut reader, &hub, &peer, &mut writer).await;

        if AssertUnwindSafe(R::on_disconnect(&app, &cx))
            .catch_unwind()
            .await
            .is_err()
        {
            tracing::error!(client = %peer.id, "on_disconnect panicked");
        }
        peer::uncork();
        hub.unregister(&peer);
        finish(&peer, ending, writer, reader).await;
        drop(permit);
    })
}

/// Runs the echo endpoint on one socket.
pub(crate) fn run_echo(
    socket: Socket,
    hub: Arc<Hub>,
    peer: Arc<Peer>,
    permit: ConnectionPermit,
) -> impl Future<Output = ()> + Send {
    peer::corked(async move {
        let (mut reader, mut writer) = start(socket, &peer, &hub);
        let mut frames = EchoFrames { peer: &peer };
        let ending = read_loop(&mut frames, &mut reader, &hub, &peer, &mut writer).await;
        peer::uncork();
        finish(&peer, ending, writer, reader).await;
        drop(permit);
    })
}

/// Sends the close frame after what is queued, then waits for the client's
/// close frame when the server ended the connection.
async fn finish(peer: &Peer, ending: Ending, writer: JoinHandle<()>, mut reader: Reader) {
    let raw = matches!(reader, Reader::Raw(_));
    if ending.by == EndedBy::Client {
        peer.close_quietly(raw.then_some(ending.code));
    } else {
        peer.close(ending.code, ending.reason);
    }
    if !writer.is_finished() {
        // The writer sends what is queued and the close frame, or gives up
        // after the write timeout.
        let _ = writer.await;
    }
    match (ending.by, &mut reader) {
        (EndedBy::Server, Reader::Raw(raw)) if raw.failed => raw.discard().await,
        (EndedBy::Server, _) => {
            let _ = timeout(CLOSE_LINGER, async {
                loop {
                    match reader.next(peer).await {
                        Incoming::End(_) => break,
                        Incoming::Data(_) | Incoming::Control => {}
                    }
                }
            })
            .await;
        }
        (EndedBy::Client, Reader::Axum(stream)) => {
            // Reading once more flushes the close reply if the writer could
            // not (it stops at its first failed write); it returns at once.
            let _ = timeout(CLOSE_LINGER, stream.next()).await;
        }
        _ => {}
    }
    peer.detach();
    tracing::debug!(client = %peer.id, code = ending.code, "disconnected");
}

async fn read_loop<F: Frames>(
    frames: &mut F,
    reader: &mut Reader,
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
        if !reader.buffered() {
            // The end of a publish batch: write what it queued for idle
            // peers, one syscall per peer.
            peer::uncork();
        }
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
            frame = reader.next(peer) => frame,
        };
        // Any frame shows the peer is alive.
        pong_deadline = None;
        let frame = match frame {
            Incoming::End(ending) => return ending,
            Incoming::Control => continue,
            Incoming::Data(frame) => frame,
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

/// The fast path's writer: writes what the publishers could not (the
/// socket was full), pings and the close frame.
async fn raw_write_loop(peer: Arc<Peer>, sock: Arc<TcpStream>, timeout: Duration) {
    loop {
        match peer.write_some(&sock) {
            Written::All => peer.wait().await,
            Written::Closed => return,
            // Boxed: only a blocked socket needs the timer, so an idle
            // writer task stays small.
            Written::Blocked => {
                match Box::pin(tokio::time::timeout(timeout, sock.writable())).await {
                    Ok(Ok(())) => {}
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
            Written::Failed => {
                tracing::debug!(client = %peer.id, "write failed");
                peer.close(close::NORMAL, "");
                return;
            }
        }
    }
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
