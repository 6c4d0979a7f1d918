//! The typed client: [`Client`] and what the generated accessors call.

use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use std::cell::Cell;

use parking_lot::{Mutex, ReentrantMutex};
use std::future::Future;
use tokio::sync::{mpsc, watch, Notify};

use zocket_core::error::{ErrorCode, ErrorPayload};
use zocket_core::rpc::{CallError, Pending, RawAnswer, Waiter};
use zocket_core::{wire, Incoming, MessageSet, Outgoing, Request, Router};

use crate::call::{answer_frame, send_answer, Call};

use crate::config::{Backoff, ClientConfig, HeaderTransport};
use crate::conn;
use crate::dispatch::{Key, Listeners, Subscription};
use crate::error::{ConnectError, SendError};
use crate::queue::SendQueue;
use crate::session::{Resumed, Session};
use zocket_core::resume::{SessionPayload, SESSION_TYPE};

/// The client half of a router: the typed accessor types the macro makes.
pub trait ClientRouter: Router + Sized {
    type Send<'a>: From<&'a Core<Self>>;
    type On<'a>: From<&'a Core<Self>>;
    type Call<'a>: From<&'a Core<Self>>;
    type Answer<'a>: From<&'a Core<Self>>;
}

/// Where the connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Connecting,
    Open,
    /// Waiting before the next attempt.
    Reconnecting,
    /// Closed by `close()`, or gone with reconnecting disabled.
    Closed,
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    /// The close code the server sent, if it sent a close frame.
    pub code: Option<u16>,
    pub reason: String,
}

/// The shared state behind a [`Client`] and its accessors.
pub struct Core<R: Router> {
    pub(crate) queue: Arc<SendQueue>,
    /// This client's calls waiting for their answers.
    pub(crate) calls: Arc<Pending>,
    pub(crate) listeners: Arc<Listeners>,
    streams: Mutex<Vec<mpsc::UnboundedSender<R::Outgoing>>>,
    pub(crate) state: watch::Sender<State>,
    pub(crate) url: String,
    /// Extra upgrade-request headers (for the `Http` and `Subprotocol`
    /// header transports).
    pub(crate) request_headers: Vec<(String, String)>,
    pub(crate) config: ClientConfig,
    /// Wakes the connection loop for `close()` / `reconnect()`.
    pub(crate) control: Notify,
    pub(crate) closed: std::sync::atomic::AtomicBool,
    pub(crate) reconnect_now: std::sync::atomic::AtomicBool,
    /// Whether `on_open` listeners have run for the current connection.
    /// Held while they run, and while one is added, so that a listener
    /// runs exactly once per connection. Reentrant: a listener may add
    /// another.
    announced: ReentrantMutex<Cell<bool>>,
    /// The resumable session, if the server keeps them.
    session: Mutex<Session>,
    router: PhantomData<fn() -> R>,
}

impl<R: Router> Core<R> {
    /// Queues a message for sending. Called by the generated accessors.
    pub fn send<M: Incoming>(&self, message: &M) -> Result<(), SendError> {
        if self.closed.load(std::sync::atomic::Ordering::Acquire) {
            return Err(SendError::Closed);
        }
        self.queue.push(wire::encode(message)?)
    }

    /// Sends `message` as a request. Called by the generated `call()`
    /// accessors.
    pub fn call<M: Incoming + Request>(&self, message: &M) -> Call<M> {
        Call::new(self.config.call_timeout, self.start_call(message))
    }

    fn start_call<M: Incoming + Request>(
        &self,
        message: &M,
    ) -> Result<Waiter, CallError<M::Error>> {
        if self.closed.load(std::sync::atomic::Ordering::Acquire) {
            return Err(CallError::Disconnected);
        }
        let (id, waiter) = self.calls.start().map_err(CallError::retype)?;
        let frame =
            wire::encode_request(message, &id).map_err(|e| CallError::NotSent(e.to_string()))?;
        self.queue.push_call(frame, Some(id)).map_err(|e| match e {
            SendError::TooLarge { size, max } => CallError::TooLarge { size, max },
            e => CallError::NotSent(e.to_string()),
        })?;
        Ok(waiter)
    }

    /// Answers the server's requests of type `M` with `answerer`. Called by
    /// the generated `answer()` accessors. One answerer per type: while
    /// one is registered, later ones are not asked.
    pub fn answer<M, F, Fut>(&self, answerer: F) -> Subscription
    where
        M: Outgoing + Request,
        F: Fn(M) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<M::Reply, M::Error>> + Send + 'static,
    {
        let answerer = Arc::new(answerer);
        self.listeners.add(
            Key::Answer(M::TYPE),
            Arc::new(move |any| {
                let Some(asked) = any.downcast_ref::<Asked>() else {
                    return;
                };
                let (queue, id) = (asked.queue.clone(), asked.id.clone());
                let message = match wire::decode_payload::<M>(M::TYPE, &asked.payload) {
                    Ok(message) => message,
                    Err(error) => {
                        let frame = wire::encode_error_to(&error.to_payload(), Some(&id));
                        return send_answer(&queue, &id, M::TYPE, frame);
                    }
                };
                let answer = answerer(message);
                tokio::spawn(async move {
                    let frame = answer_frame::<M>(&id, answer.await);
                    send_answer(&queue, &id, M::TYPE, frame);
                });
            }),
        )
    }

    /// Adds a listener for `M`. Called by the generated accessors.
    pub fn on<M, F>(&self, listener: F) -> Subscription
    where
        M: Outgoing,
        F: Fn(&M) + Send + Sync + 'static,
    {
        self.listeners.add(
            Key::Message(M::TYPE),
            Arc::new(move |any| {
                if let Some(m) = any.downcast_ref::<M>() {
                    listener(m);
                }
            }),
        )
    }

    /// The `zocket-resume` header value for the connection about to be
    /// made, if there is a session to resume.
    pub(crate) fn resume_request(&self) -> Option<String> {
        self.session.lock().next_request()
    }

    /// Handles one text frame from the server.
    pub(crate) fn dispatch(&self, text: &str) {
        let env = match wire::Envelope::parse(text) {
            Ok(env) => env,
            Err(error) => {
                self.session.lock().received();
                tracing::warn!(%error, "server sent a frame that is not a zocket message");
                return;
            }
        };
        if env.ty == SESSION_TYPE {
            match serde_json::from_str::<SessionPayload>(env.payload_str()) {
                Ok(payload) => {
                    let resumed = self.session.lock().opened(payload);
                    if let Some(resumed) = resumed {
                        tracing::debug!(recovered = resumed.recovered, "session resume answered");
                        self.listeners.emit(Key::Resumed, &resumed);
                    }
                }
                Err(error) => tracing::warn!(%error, "malformed zocket.session frame"),
            }
            return;
        }
        // Every other frame counts, whatever it is: the server counts them
        // all, and the count is where a resume starts again.
        self.session.lock().received();
        if let Some((id, answer)) = RawAnswer::from_frame(&env) {
            if !self.calls.resolve(id, answer) {
                tracing::debug!("answer to no pending call (timed out?); dropped");
            }
            return;
        }
        if env.ty == wire::ERROR_TYPE {
            match serde_json::from_str::<ErrorPayload>(env.payload_str()) {
                Ok(error) => {
                    tracing::debug!(?error, "server error frame");
                    self.listeners.emit(Key::Error, &error);
                }
                Err(error) => tracing::warn!(%error, "malformed zocket.error frame"),
            }
            return;
        }
        if let Some(id) = env.rpc_id() {
            self.asked(&env.ty, id, env.payload_str());
            return;
        }
        let message = match R::Outgoing::decode(&env.ty, env.payload_str()) {
            Ok(m) => m,
            Err(error) => {
                tracing::warn!(%error, "server message did not decode");
                return;
            }
        };
        self.listeners
            .emit(Key::Message(message.ty()), message.as_any());
        let mut streams = self.streams.lock();
        if !streams.is_empty() {
            streams.retain(|tx| tx.send(message.clone()).is_ok());
        }
    }

    /// Hands the server's request `id` to the answerer of its type: a
    /// request goes to its answerer, not to listeners.
    fn asked(&self, ty: &str, id: &str, payload: &str) {
        let Some(ty) = R::Outgoing::TYPES.iter().find(|t| **t == ty) else {
            let error = zocket_core::FrameError::UnknownType(ty.to_owned());
            return self.refuse(id, ty, error.to_payload());
        };
        let asked = Asked {
            payload: payload.to_owned(),
            id: id.into(),
            queue: self.queue.clone(),
        };
        if !self.listeners.emit_first(Key::Answer(ty), &asked) {
            let error =
                ErrorPayload::new(ErrorCode::HandlerError, format!("no answerer for `{ty}`"))
                    .for_type(*ty);
            self.refuse(id, ty, error);
        }
    }

    /// Answers the server's request `id` (of type `ty`) with an error.
    fn refuse(&self, id: &str, ty: &str, error: ErrorPayload) {
        send_answer(&self.queue, id, ty, wire::encode_error_to(&error, Some(id)));
    }

    pub(crate) fn set_state(&self, state: State) {
        self.state.send_replace(state);
    }

    /// A connection is open: runs the `on_open` listeners, then lets the
    /// queue go, their sends first.
    pub(crate) fn announce_open(&self) {
        let announced = self.announced.lock();
        announced.set(true);
        self.set_state(State::Open);
        let mark = self.queue.mark();
        self.listeners.emit(Key::Open, &());
        self.queue.promote_since(mark);
    }

    /// The connection ended: the next one is announced again.
    pub(crate) fn connection_lost(&self) {
        self.announced.lock().set(false);
    }

    fn on_open(&self, listener: Arc<dyn Fn() + Send + Sync>) -> Subscription {
        let announced = self.announced.lock();
        let callback = listener.clone();
        let subscription = self.listeners.add(Key::Open, Arc::new(move |_| callback()));
        if announced.get() {
            let mark = self.queue.mark();
            listener();
            self.queue.promote_since(mark);
        }
        subscription
    }
}

/// A typed zocket client for router `R` (use the generated
/// `my_router::Client` alias). Cheap to clone; the connection closes when
/// the last clone is dropped.
///
/// ```
/// # #[zocket::router]
/// # pub mod chat {
/// #     #[headers]
/// #     pub struct Headers { #[zocket(default = "Anonymous")] pub user_name: String }
/// #     pub mod rooms {
/// #         #[incoming] pub struct Join { pub room_id: String }
/// #         #[outgoing] pub struct OnJoin { pub room_id: String, pub user_name: String }
/// #     }
/// # }
/// # struct App;
/// # impl chat::Server for App {
/// #     type Context = String;
/// #     async fn on_connect(&self, h: chat::Headers, _: &zocket::ClientId) -> Result<String, zocket::Reject> { Ok(h.user_name) }
/// # }
/// # impl chat::rooms::Handlers for App {
/// #     async fn join(&self, cx: &chat::Ctx<String>, m: chat::rooms::Join) {
/// #         cx.rooms().join(&m.room_id).ok();
/// #         let user_name = cx.state().clone();
/// #         cx.send().rooms().on_join(chat::rooms::OnJoin { room_id: m.room_id, user_name }).broadcast();
/// #     }
/// # }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let url = format!("ws://{}/", listener.local_addr()?);
/// # let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// # let server = tokio::spawn(chat::Router::server(App).serve_with_shutdown(listener, async { stopped.await.ok(); }));
/// use std::time::Duration;
/// use zocket::client::{Backoff, ClientConfig, HeaderTransport};
///
/// let config = ClientConfig {
///     call_timeout: Duration::from_secs(3),
///     // Headers in a `Sec-WebSocket-Protocol` entry, out of URLs and logs.
///     header_transport: HeaderTransport::Subprotocol,
///     reconnect: Some(Backoff::default()),
///     ..ClientConfig::default()
/// };
/// let client = chat::Client::builder(url)
///     .headers(chat::Headers { user_name: "Bo".into() })
///     .config(config)
///     .connect()
///     .await?;
///
/// // Listeners stay until `.unsubscribe()` or the client goes.
/// let closed = client.on_close(|close| eprintln!("closed: {:?} {}", close.code, close.reason));
/// // Or every server message, typed, as a stream.
/// let mut messages = client.messages();
///
/// client.send().rooms().join(chat::rooms::Join { room_id: "lobby".into() })?;
/// match messages.next().await {
///     Some(chat::Outgoing::Rooms(chat::rooms::Outgoing::OnJoin(m))) => assert_eq!(m.user_name, "Bo"),
///     other => panic!("expected rooms.onJoin, got {other:?}"),
/// }
/// closed.unsubscribe();
/// client.close();
/// # stop.send(()).ok();
/// # server.await??;
/// # Ok(())
/// # }
/// ```
pub struct Client<R: Router> {
    inner: Arc<Owner<R>>,
}

struct Owner<R: Router> {
    core: Arc<Core<R>>,
}

impl<R: Router> Drop for Owner<R> {
    fn drop(&mut self) {
        self.core.request_close();
    }
}

impl<R: Router> Clone for Client<R> {
    fn clone(&self) -> Self {
        Client {
            inner: self.inner.clone(),
        }
    }
}

/// Options for a [`Client`], from [`Client::builder`].
pub struct ClientBuilder<R: Router> {
    url: String,
    headers: Option<R::Headers>,
    config: ClientConfig,
}

impl<R: ClientRouter> ClientBuilder<R> {
    /// Connection headers; sent as URL query parameters by default, as the
    /// original client does. Use [`header_transport`](Self::header_transport)
    /// to keep secrets out of the URL.
    pub fn headers(mut self, headers: R::Headers) -> Self {
        self.headers = Some(headers);
        self
    }

    /// Where the headers travel: query (default), HTTP headers, or the
    /// `zocket.auth.` subprotocol entry.
    pub fn header_transport(mut self, transport: HeaderTransport) -> Self {
        self.config.header_transport = transport;
        self
    }

    /// Reconnect policy; `None` to stay down after a disconnect.
    pub fn reconnect(mut self, backoff: Option<Backoff>) -> Self {
        self.config.reconnect = backoff;
        self
    }

    /// Bound of the send queue (messages kept while offline).
    pub fn max_queue(mut self, frames: usize) -> Self {
        self.config.max_queue = frames;
        self
    }

    /// Largest message sent, in bytes (default 64 KiB, the server's
    /// default `max_message_size`): a larger one is refused with
    /// `SendError::TooLarge` rather than sent and answered with a close.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.config.max_message_size = bytes;
        self
    }

    pub fn config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }

    /// Connects once, returning the error if that first attempt fails (so a
    /// refused connection is seen at once), then keeps the connection up
    /// in the background.
    pub async fn connect(self) -> Result<Client<R>, ConnectError> {
        let mut url = self.url;
        let mut request_headers = Vec::new();
        if let Some(headers) = &self.headers {
            match self.config.header_transport {
                HeaderTransport::Query => {
                    let query = serde_urlencoded::to_string(headers)?;
                    if !query.is_empty() {
                        url.push(if url.contains('?') { '&' } else { '?' });
                        url.push_str(&query);
                    }
                }
                HeaderTransport::Http => {
                    let query = serde_urlencoded::to_string(headers)?;
                    request_headers.extend(
                        form_urlencoded::parse(query.as_bytes())
                            .map(|(k, v)| (k.into_owned(), v.into_owned())),
                    );
                }
                HeaderTransport::Subprotocol => {
                    let entry = zocket_core::protocol::encode_auth_protocol(headers)?;
                    request_headers.push((
                        "sec-websocket-protocol".to_owned(),
                        format!("{}, {entry}", zocket_core::protocol::SUBPROTOCOL),
                    ));
                }
            }
        }
        let (state, _) = watch::channel(State::Connecting);
        let core = Arc::new(Core {
            queue: Arc::new(SendQueue::new(
                self.config.max_queue,
                self.config.max_message_size,
            )),
            calls: Pending::new(
                format!("{:08x}-", rand::random::<u32>()),
                self.config.max_pending_calls,
            ),
            listeners: Arc::new(Listeners::default()),
            streams: Mutex::new(Vec::new()),
            state,
            url,
            request_headers,
            config: self.config,
            control: Notify::new(),
            closed: Default::default(),
            reconnect_now: Default::default(),
            announced: ReentrantMutex::new(Cell::new(false)),
            session: Mutex::default(),
            router: PhantomData,
        });
        let socket = conn::connect(&core).await?;
        core.announce_open();
        tokio::spawn(conn::run(core.clone(), socket));
        Ok(Client {
            inner: Arc::new(Owner { core }),
        })
    }
}

impl<R: ClientRouter> Client<R> {
    pub fn builder(url: impl Into<String>) -> ClientBuilder<R> {
        ClientBuilder {
            url: url.into(),
            headers: None,
            config: ClientConfig::default(),
        }
    }

    /// Connects with these headers and the default settings.
    pub async fn connect(
        url: impl Into<String>,
        headers: R::Headers,
    ) -> Result<Self, ConnectError> {
        Self::builder(url).headers(headers).connect().await
    }

    fn core(&self) -> &Core<R> {
        &self.inner.core
    }

    /// Typed sends: `client.send().rooms().join(Join { .. })`.
    pub fn send(&self) -> R::Send<'_> {
        R::Send::from(self.core())
    }

    /// Typed calls: `client.call().rooms().members(Members { .. }).await`
    /// gives the handler's reply, or why there is none.
    pub fn call(&self) -> R::Call<'_> {
        R::Call::from(self.core())
    }

    /// Typed answers to the server's requests:
    /// `client.answer().game().ask_move(|ask| async move { .. })`.
    pub fn answer(&self) -> R::Answer<'_> {
        R::Answer::from(self.core())
    }

    /// Typed listeners: `client.on().rooms().on_message(|m| ..)`.
    pub fn on(&self) -> R::On<'_> {
        R::On::from(self.core())
    }

    /// Every message from the server, as the router's `Outgoing` enum, from
    /// now on. Nothing is dropped: the stream buffers until read.
    pub fn messages(&self) -> Messages<R> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.core().streams.lock().push(tx);
        Messages { rx }
    }

    /// Runs once per connection, the first and every reconnect, before the
    /// messages queued offline go out; added while the client is open, it
    /// runs for the current connection at once, never twice for one
    /// connection. "At once" is before `on_open` returns (the client is
    /// open when `connect()` has returned, so a listener added then runs
    /// here). Same as the TypeScript client's `onOpen`.
    ///
    /// Rejoin rooms here, since the server forgets a connection's rooms
    /// when it drops (unless it keeps sessions: see
    /// [`on_resumed`](Self::on_resumed)): what the listener sends goes out before the messages
    /// queued while offline, so a line typed offline reaches the room it
    /// was meant for. (`examples/src/bin/chat-client.rs` rejoins its rooms
    /// this way.)
    pub fn on_open<F: Fn() + Send + Sync + 'static>(&self, listener: F) -> Subscription {
        self.core().on_open(Arc::new(listener))
    }

    pub fn on_close<F: Fn(&CloseInfo) + Send + Sync + 'static>(&self, listener: F) -> Subscription {
        self.core().listeners.add(
            Key::Close,
            Arc::new(move |any| {
                if let Some(info) = any.downcast_ref::<CloseInfo>() {
                    listener(info);
                }
            }),
        )
    }

    /// Error frames from the server (invalid payload, refused, ...).
    pub fn on_error<F: Fn(&ErrorPayload) + Send + Sync + 'static>(
        &self,
        listener: F,
    ) -> Subscription {
        self.core().listeners.add(
            Key::Error,
            Arc::new(move |any| {
                if let Some(error) = any.downcast_ref::<ErrorPayload>() {
                    listener(error);
                }
            }),
        )
    }

    /// After a reconnect that asked to resume the session (the server
    /// keeps sessions, `Config::resume`): whether it was recovered. On
    /// `recovered: false` the client is a new session: rejoin rooms (an
    /// `on_open` listener that rejoins already does; on a recovered session
    /// its joins find the rooms joined).
    pub fn on_resumed<F: Fn(&Resumed) + Send + Sync + 'static>(&self, listener: F) -> Subscription {
        self.core().listeners.add(
            Key::Resumed,
            Arc::new(move |any| {
                if let Some(resumed) = any.downcast_ref::<Resumed>() {
                    listener(resumed);
                }
            }),
        )
    }

    /// The client id the server gave this session, when the server keeps
    /// sessions (it says so in its `zocket.session` frame); else `None`.
    pub fn client_id(&self) -> Option<String> {
        self.core().session.lock().client_id().map(str::to_owned)
    }

    pub fn state(&self) -> State {
        *self.core().state.borrow()
    }

    /// Waits until the client is in `state`.
    pub async fn wait_for(&self, state: State) {
        let mut rx = self.core().state.subscribe();
        let _ = rx.wait_for(|s| *s == state).await;
    }

    /// Closes the connection (code 1000) and stops reconnecting.
    pub fn close(&self) {
        self.core().request_close();
    }

    /// Drops the current connection and connects again at once.
    pub fn reconnect(&self) {
        let core = self.core();
        core.reconnect_now
            .store(true, std::sync::atomic::Ordering::Release);
        core.control.notify_one();
    }

    /// Messages waiting to be written.
    pub fn queued(&self) -> usize {
        self.core().queue.len()
    }
}

impl<R: Router> Core<R> {
    fn request_close(&self) {
        self.closed
            .store(true, std::sync::atomic::Ordering::Release);
        self.control.notify_one();
    }
}

/// A server request handed to its answerer, which decodes it.
struct Asked {
    payload: String,
    id: Box<str>,
    queue: Arc<SendQueue>,
}

/// The stream returned by [`Client::messages`].
pub struct Messages<R: Router> {
    rx: mpsc::UnboundedReceiver<R::Outgoing>,
}

impl<R: Router> futures_core::Stream for Messages<R> {
    type Item = R::Outgoing;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

impl<R: Router> Messages<R> {
    /// The next message, or `None` once the client is dropped.
    pub async fn next(&mut self) -> Option<R::Outgoing> {
        self.rx.recv().await
    }
}
