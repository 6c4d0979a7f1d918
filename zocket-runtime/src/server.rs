//! Hosting a router on axum: the upgrade handler (headers, `on_connect`,
//! then the upgrade), mounting into a user's `Router`, `serve`, and the
//! handle for sending from outside handlers and shutting down.

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::Extension;
use futures_util::FutureExt;
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use zocket_core::protocol::{decode_auth_protocol, SUBPROTOCOL};
use zocket_core::resume::{ResumeRequest, RESUME_HEADER};
use zocket_core::{parse_headers, ClientId, HeaderError, MessageSet};

use crate::adapter::Adapter;
use crate::config::Config;
use crate::conn;
use crate::ctx::Ctx;
use crate::handle::Handle;
use crate::hub::Hub;
use crate::limits::{ConnectionLimits, ConnectionPermit};
use crate::origin;
use crate::peer::Peer;
use crate::peer::Unrecoverable;
use crate::replay::Replay;
use crate::router::Dispatch;
use crate::session::{session_frame, Miss, Token};
use crate::transport::Upgraded;
use crate::ws::deflate::{self, Agreed, Compression};
use crate::ws::handshake::{self, HandshakeError};
use tokio_util::task::TaskTracker;

/// A zocket server: a router `R` run by the application `S`.
///
/// The simple case is one line, `chat::Router::server(App).serve(addr)`
/// (with limits of your own, `Zocket::<chat::Router, App>::with_config`).
/// In an axum app of your own, mount [`method_router`](Self::method_router)
/// at any path; your routes keep their `State`, and reach zocket through a
/// [`Handle`] in it:
///
/// ```
/// # #[zocket::router]
/// # pub mod chat {
/// #     #[headers]
/// #     pub struct Headers { #[zocket(default = "Anonymous")] pub user_name: String }
/// #     pub mod rooms {
/// #         #[incoming] pub struct Join { pub room_id: String }
/// #         #[incoming] pub struct Say { pub room_id: String, pub text: String }
/// #         #[outgoing] pub struct Said { pub room_id: String, pub user_name: String, pub text: String }
/// #     }
/// # }
/// # struct App;
/// # struct User { name: String }
/// # impl chat::Server for App {
/// #     type Context = User;
/// #     async fn on_connect(&self, h: chat::Headers, _: &zocket::ClientId) -> Result<User, zocket::Reject> {
/// #         Ok(User { name: h.user_name })
/// #     }
/// # }
/// # impl chat::rooms::Handlers for App {
/// #     async fn join(&self, cx: &chat::Ctx<User>, m: chat::rooms::Join) { cx.rooms().join(&m.room_id).ok(); }
/// #     async fn say(&self, cx: &chat::Ctx<User>, m: chat::rooms::Say) {
/// #         let said = chat::rooms::Said { room_id: m.room_id.clone(), user_name: cx.name.clone(), text: m.text };
/// #         cx.send().rooms().said(said).to_room([&m.room_id]);
/// #     }
/// # }
/// use axum::{extract::State, routing::get};
/// use zocket::{Config, Handle, Zocket};
///
/// #[derive(Clone)]
/// struct AppState { zocket: Handle<chat::Router> }
///
/// async fn stats(State(state): State<AppState>) -> String {
///     format!("{} connections, {} rooms", state.zocket.connections(), state.zocket.rooms())
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config = Config::default().max_message_size(16 * 1024);
/// let zocket = Zocket::<chat::Router, App>::with_config(App, config.clone());
/// let handle = zocket.handle();
/// let app = axum::Router::new()
///     .route("/ws", zocket.method_router())
///     .route("/stats", get(stats))
///     .with_state(AppState { zocket: zocket.handle() });
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let url = format!("ws://{}/ws", listener.local_addr()?);
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// // `serve_router` gives your router the protections of zocket's own
/// // accept loop (header read timeout, connection caps, shutdown deadline).
/// let serving = zocket::serve_router(listener, app, &config, async { stopped.await.ok(); });
///
/// let talking = async {
///     let client = chat::Client::connect(url, chat::Headers { user_name: "Ann".into() }).await?;
///     let (tx, mut said) = tokio::sync::mpsc::unbounded_channel();
///     let _sub = client.on().rooms().said(move |m: &chat::rooms::Said| { tx.send(m.text.clone()).ok(); });
///     client.send().rooms().join(chat::rooms::Join { room_id: "lobby".into() })?;
///     client.send().rooms().say(chat::rooms::Say { room_id: "lobby".into(), text: "hi".into() })?;
///     assert_eq!(said.recv().await.as_deref(), Some("hi"));
///     assert_eq!(handle.len("lobby"), 1);
///     client.close();
///     handle.shutdown().await; // closes every WebSocket (1001)
///     stop.send(()).ok();      // then stops the HTTP side
///     Ok::<_, Box<dyn std::error::Error>>(())
/// };
/// let (served, talked) = tokio::join!(serving, talking);
/// served?;
/// talked?;
/// # Ok(())
/// # }
/// ```
pub struct Zocket<R, S> {
    app: Arc<S>,
    hub: Arc<Hub>,
    limits: Arc<ConnectionLimits>,
    router: PhantomData<fn() -> R>,
}

impl<R, S> Clone for Zocket<R, S> {
    fn clone(&self) -> Self {
        Zocket {
            app: self.app.clone(),
            hub: self.hub.clone(),
            limits: self.limits.clone(),
            router: PhantomData,
        }
    }
}

impl<R, S> Zocket<R, S>
where
    R: Dispatch<S>,
    S: Send + Sync + 'static,
{
    /// A server for `app` with the default [`Config`].
    pub fn new(app: S) -> Self {
        Self::with_config(app, Config::default())
    }

    /// A server for `app` with `config`'s limits and timeouts.
    pub fn with_config(app: S, config: Config) -> Self {
        Zocket {
            app: Arc::new(app),
            hub: Arc::new(Hub::new(config).with_types(crate::metrics::Types::new(
                <R::Incoming as MessageSet>::TYPES,
                <R::Outgoing as MessageSet>::TYPES,
            ))),
            limits: Arc::default(),
            router: PhantomData,
        }
    }

    /// Joins this server to a cluster through `adapter` (`zocket-redis`,
    /// `zocket-nats`): rooms, `.to(ids)`, `.broadcast()` and
    /// `members_all` then span every server using the same bus. Without
    /// one, the server is a cluster of one at no extra cost.
    ///
    /// # Panics
    /// If an adapter was already installed on this server.
    #[must_use]
    pub fn with_adapter(self, adapter: impl Adapter) -> Self {
        let adapter: Arc<dyn Adapter> = Arc::new(adapter);
        adapter.bind(crate::node::local_node(&self.hub));
        if self.hub.adapter.set(adapter).is_err() {
            panic!("zocket: with_adapter called twice on one server");
        }
        self
    }

    /// The limits and timeouts this server runs with.
    pub fn config(&self) -> &Config {
        &self.hub.config
    }

    /// A handle for sending from outside handlers (timers, HTTP routes) and
    /// for shutting down.
    pub fn handle(&self) -> Handle<R> {
        Handle::new(self.hub.clone())
    }

    /// The WebSocket endpoint as a `MethodRouter`, to mount at any path of
    /// any axum `Router`, whatever its state type.
    pub fn method_router<T: Clone + Send + Sync + 'static>(&self) -> MethodRouter<T> {
        get(upgrade::<R, S>).with_state(self.clone())
    }

    /// An axum `Router` with the WebSocket endpoint at `/`.
    pub fn into_router(self) -> axum::Router {
        axum::Router::new().route("/", self.method_router())
    }

    /// Binds `addr` and serves until SIGINT (Ctrl-C) or SIGTERM, then shuts
    /// down gracefully within `shutdown_timeout` (see
    /// [`serve_with_shutdown`](Self::serve_with_shutdown)); a second signal
    /// returns at once.
    pub async fn serve(self, addr: impl ToSocketAddrs) -> std::io::Result<()> {
        let listener = TcpListener::bind(addr).await?;
        tracing::info!(addr = %listener.local_addr()?, "zocket listening");
        let again = CancellationToken::new();
        let second = again.clone();
        tokio::select! {
            served = self.serve_with_shutdown(listener, crate::serve::signals(again)) => served,
            _ = second.cancelled() => {
                tracing::warn!("second signal: exiting without waiting for connections");
                Ok(())
            }
        }
    }

    /// Serves on `listener` until `signal` completes (or
    /// [`Handle::shutdown`] is called), then shuts down: stops accepting,
    /// closes every WebSocket with 1001 at once (each `on_disconnect` runs),
    /// and waits up to `shutdown_timeout` for their queues to drain and for
    /// HTTP requests in flight; then drops what is left and returns. Request
    /// heads must arrive within `header_read_timeout`.
    pub async fn serve_with_shutdown(
        self,
        listener: TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let handle = self.handle();
        let stop = self.hub.shutdown.clone();
        let stopped = stop.clone();
        let stopped_too = stop.clone();
        tokio::spawn(async move {
            signal.await;
            stop.cancel();
        });
        let config = self.hub.config.clone();
        let http = crate::serve::serve_router(listener, self.into_router(), &config, async move {
            stopped.cancelled().await
        });
        let (served, ()) = tokio::join!(http, async {
            stopped_too.cancelled().await;
            handle.shutdown().await;
        });
        served
    }
}

/// Why an upgrade was refused before anything else ran.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refused {
    #[error("server shutting down")]
    ShuttingDown,
    #[error(transparent)]
    Origin(#[from] origin::OriginError),
    #[error(transparent)]
    Cap(#[from] crate::limits::CapError),
}

impl Refused {
    fn status(&self) -> StatusCode {
        match self {
            Refused::Origin(_) => StatusCode::FORBIDDEN,
            Refused::ShuttingDown | Refused::Cap(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        refusal(self.status(), &self.to_string())
    }
}

/// Logs a handshake answered with an HTTP error instead of `101`: at info,
/// under their own target (`zocket_runtime::handshake`) so an operator can
/// quieten them apart from the rest (a client retrying past a connection
/// cap makes one per attempt). `reason` may quote the peer (its `Origin`),
/// hence [`Shown`](crate::logged::Shown); the query string, which may
/// carry tokens, is never logged.
pub(crate) fn rejected(status: StatusCode, reason: &str, peer: Option<SocketAddr>) {
    tracing::info!(
        target: "zocket_runtime::handshake",
        status = status.as_u16(),
        reason = ?crate::logged::Shown(reason),
        peer = peer.map(tracing::field::display),
        "handshake rejected"
    );
}

/// The checks every upgrade passes before anything else runs, in this
/// order: shutting down (503), `Origin` (403), connection caps (503). The
/// permit holds the connection's slot until its task ends.
pub(crate) fn admit(
    hub: &Hub,
    limits: &Arc<ConnectionLimits>,
    headers: &HeaderMap,
    peer_addr: Option<SocketAddr>,
) -> Result<ConnectionPermit, Refused> {
    if hub.shutdown.is_cancelled() {
        return Err(Refused::ShuttingDown);
    }
    let config = &hub.config;
    let admitted = origin::check(&config.origin, headers)
        .map_err(Refused::from)
        .and_then(|()| {
            limits
                .acquire(
                    peer_addr.map(|a| a.ip()),
                    config.max_connections,
                    config.max_connections_per_ip,
                )
                .map_err(Refused::from)
        });
    if let Err(error) = &admitted {
        rejected(error.status(), &error.to_string(), peer_addr);
    }
    admitted
}

/// An upgrade request that passed the handshake checks: what answering it
/// with 101 needs, and hyper's handle on the connection once upgraded.
pub(crate) struct Accepted {
    on_upgrade: hyper::upgrade::OnUpgrade,
    accept: String,
    zocket_protocol: bool,
    /// permessage-deflate, when enabled and offered.
    deflate: Option<Agreed>,
}

impl Accepted {
    /// Checks the upgrade request (RFC 6455, section 4.2.1); a refusal is
    /// the HTTP answer, 426 with `Sec-WebSocket-Version: 13` where the
    /// client can retry. With `compression`, a permessage-deflate offer is
    /// accepted.
    pub(crate) fn check(
        parts: &mut axum::http::request::Parts,
        peer: Option<SocketAddr>,
        compression: Option<&Compression>,
    ) -> Result<Accepted, Box<Response>> {
        let checked = if parts.version != Version::HTTP_11 {
            Err(HandshakeError::NotHttp11)
        } else {
            handshake::check_request(&parts.method, &parts.headers)
        };
        let accept = checked.and_then(|accept| {
            let on_upgrade = parts
                .extensions
                .remove::<hyper::upgrade::OnUpgrade>()
                .ok_or(HandshakeError::NotUpgradable)?;
            Ok(Accepted {
                on_upgrade,
                accept,
                zocket_protocol: handshake::requested_protocols(&parts.headers)
                    .any(|p| p == SUBPROTOCOL.as_bytes()),
                deflate: compression.and_then(|settings| {
                    deflate::negotiate(handshake::requested_extensions(&parts.headers), settings)
                }),
            })
        });
        accept.map_err(|error| {
            rejected(error.status(), &error.to_string(), peer);
            let mut response = refusal(error.status(), &error.to_string());
            if error.needs_version_header() {
                let headers = response.headers_mut();
                headers.insert(
                    header::SEC_WEBSOCKET_VERSION,
                    HeaderValue::from_static("13"),
                );
                headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
                headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            }
            Box::new(response)
        })
    }

    /// Answers 101 and runs `on_upgraded` on the connection once hyper
    /// hands it over, or `on_failed` if it never does (the client went
    /// away before the upgrade completed). Either runs in `tasks`, so
    /// shutdown waits for it.
    pub(crate) fn respond<C, F, Fut>(
        self,
        tasks: &TaskTracker,
        on_upgraded: C,
        on_failed: F,
    ) -> Response
    where
        C: FnOnce(Upgraded) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let on_upgrade = self.on_upgrade;
        let deflate = self.deflate;
        let connections = tasks.clone();
        tasks.spawn(async move {
            match on_upgrade.await {
                // A task of its own: this one's state (the upgrade future,
                // `on_failed`) is not carried by every idle connection.
                Ok(upgraded) => {
                    let upgraded = Upgraded::from_hyper(upgraded).deflate(deflate);
                    tokio::spawn(connections.track_future(on_upgraded(upgraded)));
                }
                Err(error) => {
                    tracing::debug!(%error, "upgrade failed");
                    on_failed.await;
                }
            }
        });
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        if let Ok(accept) = HeaderValue::from_str(&self.accept) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        if let Some(agreed) = &self.deflate {
            if let Ok(value) = HeaderValue::from_str(&agreed.response()) {
                headers.insert(header::SEC_WEBSOCKET_EXTENSIONS, value);
            }
        }
        if self.zocket_protocol {
            headers.insert(
                header::SEC_WEBSOCKET_PROTOCOL,
                HeaderValue::from_static(SUBPROTOCOL),
            );
        }
        response
    }
}

/// An HTTP error answered before the upgrade, shaped like [`Reject`](crate::Reject)'s.
fn refusal(status: StatusCode, message: &str) -> Response {
    let reason = status.canonical_reason().unwrap_or("Refused");
    let body = serde_json::json!({ "error": reason, "message": message });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Connection headers from the request, lowest precedence first: HTTP
/// headers, URL query parameters, then a `zocket.auth.` subprotocol entry.
/// The query string is never logged: it may carry secrets.
fn header_sources(
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Vec<(String, String)>, HeaderError> {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    for entry in handshake::requested_protocols(headers) {
        let Ok(entry) = std::str::from_utf8(entry) else {
            continue;
        };
        if let Some(auth) = decode_auth_protocol(entry)? {
            pairs.extend(auth);
        }
    }
    Ok(pairs)
}

async fn upgrade<R, S>(
    State(server): State<Zocket<R, S>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    connect_info: Option<Extension<ConnectInfo<SocketAddr>>>,
    request: Request,
) -> Response
where
    R: Dispatch<S>,
    S: Send + Sync + 'static,
{
    let hub = &server.hub;
    let (mut parts, _body) = request.into_parts();
    let peer_addr = connect_info.map(|Extension(ConnectInfo(addr))| addr);
    let accepted = match Accepted::check(&mut parts, peer_addr, hub.config.compression.as_ref()) {
        Ok(accepted) => accepted,
        Err(refused) => return *refused,
    };
    let permit = match admit(hub, &server.limits, &headers, peer_addr) {
        Ok(permit) => permit,
        Err(refused) => return refused.into_response(),
    };
    if hub.config.resume.is_some() {
        if let Some(request) = resume_request(&headers) {
            match resume_session::<R, S>(&server, &request, accepted.deflate.as_ref()) {
                Ok((cx, token)) => {
                    return resumed::<R, S>(&server, accepted, cx, token, permit, peer_addr)
                }
                Err(refused) => {
                    tracing::debug!(%refused, peer = peer_addr.map(tracing::field::display), "resume refused; a new session starts");
                }
            }
        }
    }
    // The protocol header carries the auth token: it is read below, not
    // handed to the headers struct as a header of its own.
    let http_pairs = headers
        .iter()
        .filter(|(name, _)| *name != header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
    let parsed = header_sources(&headers, query.as_deref())
        .and_then(|extra| parse_headers::<R::Headers, _, _, _, _>(http_pairs, extra));
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(error) => {
            rejected(StatusCode::BAD_REQUEST, &invalid_headers(&error), peer_addr);
            return (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, "application/json")],
                error.body(),
            )
                .into_response();
        }
    };
    let id = ClientId::generate();
    // The connection's span, from `on_connect` to the last frame, so that
    // every line logged about it (the application's too) names it.
    let span = tracing::info_span!(
        "connection",
        client = %id,
        peer = peer_addr.map(tracing::field::display),
    );
    let state = match AssertUnwindSafe(
        R::on_connect(&server.app, parsed, &id).instrument(span.clone()),
    )
    .catch_unwind()
    .await
    {
        Ok(Ok(state)) => state,
        Ok(Err(reject)) => {
            rejected(reject.status(), reject.message(), peer_addr);
            return reject.into_response();
        }
        Err(_) => {
            tracing::error!(parent: &span, status = 500, "on_connect panicked; handshake rejected");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    // From here on `on_disconnect` must run exactly once, whatever
    // happens: after the connection if the upgrade completes, else as soon
    // as it fails.
    let config = &hub.config;
    let peer = match config.resume {
        Some(resume) => Peer::resumable(
            id,
            config.max_queued_frames,
            config.max_queued_bytes,
            Replay::new(resume.max_frames, resume.max_bytes),
        ),
        None => Peer::new(id, config.max_queued_frames, config.max_queued_bytes),
    };
    let cx = Arc::new(Ctx::<R, R::Context>::new(peer, hub.clone(), state));
    let token = config.resume.map(|_| {
        let session: Arc<dyn Any + Send + Sync> = cx.clone();
        hub.sessions.open(session)
    });
    let (app, failed_app, failed_cx) = (server.app.clone(), server.app.clone(), cx.clone());
    let (hub, failed_hub) = (hub.clone(), hub.clone());
    let failed_token = token.clone();
    let tasks = hub.tasks.clone();
    let failed_span = span.clone();
    let session = token.map(|token| conn::Attached {
        token,
        resumed: false,
    });
    accepted.respond(
        &tasks,
        move |upgraded| conn::run::<R, S>(upgraded, app, hub, cx, permit, session).instrument(span),
        async move {
            if let Some(token) = failed_token {
                failed_hub.sessions.end(&token);
            }
            conn::disconnect::<R, S>(&failed_app, &failed_cx).await;
        }
        .instrument(failed_span),
    )
}

/// The resume request of an upgrade: the `zocket-resume` header, else a
/// `zocket.resume.` protocol entry. A malformed one is no request.
fn resume_request(headers: &HeaderMap) -> Option<ResumeRequest> {
    if let Some(value) = headers.get(RESUME_HEADER) {
        return value.to_str().ok().and_then(ResumeRequest::parse);
    }
    handshake::requested_protocols(headers)
        .filter_map(|entry| std::str::from_utf8(entry).ok())
        .find_map(ResumeRequest::from_protocol_entry)
}

/// Why a resume request gets a new session instead.
#[derive(Debug, thiserror::Error)]
enum ResumeRefused {
    #[error(transparent)]
    Miss(#[from] Miss),
    #[error(transparent)]
    Unrecoverable(#[from] Unrecoverable),
}

/// A session's connection state, as the session table holds it.
type SessionCtx<R, S> = Arc<Ctx<R, <R as Dispatch<S>>::Context>>;

/// Takes over the suspended session the request names and queues for the
/// new connection what the client missed. A session taken over but unable
/// to go on (frames trimmed) ends here: its `on_disconnect` runs.
fn resume_session<R, S>(
    server: &Zocket<R, S>,
    request: &ResumeRequest,
    deflate: Option<&Agreed>,
) -> Result<(SessionCtx<R, S>, Token), ResumeRefused>
where
    R: Dispatch<S>,
    S: Send + Sync + 'static,
{
    let hub = &server.hub;
    let token = Token::parse(&request.token).ok_or(Miss::Unknown)?;
    let (session, next) = hub.sessions.resume(&token)?;
    // One router per hub: every session is this router's `Ctx`.
    let cx = session
        .downcast::<Ctx<R, R::Context>>()
        .map_err(|_| Miss::Unknown)?;
    let first = session_frame(cx.client_id(), &next, true);
    match cx.peer().reattach(request.position, deflate, first) {
        Ok(()) => Ok((cx, next)),
        Err(unrecoverable) => {
            if hub.sessions.end(&next) {
                let (app, hub) = (server.app.clone(), hub.clone());
                hub.tasks.clone().spawn(async move {
                    conn::end_session::<R, S>(&app, &hub, &cx).await;
                });
            }
            Err(unrecoverable.into())
        }
    }
}

/// Answers a resume that took its session over: the connection continues
/// it (`on_connect` does not run again); if the upgrade fails, the session
/// is suspended again for the rest of a window.
fn resumed<R, S>(
    server: &Zocket<R, S>,
    accepted: Accepted,
    cx: Arc<Ctx<R, R::Context>>,
    token: Token,
    permit: ConnectionPermit,
    peer_addr: Option<SocketAddr>,
) -> Response
where
    R: Dispatch<S>,
    S: Send + Sync + 'static,
{
    let span = tracing::info_span!(
        "connection",
        client = %cx.client_id(),
        peer = peer_addr.map(tracing::field::display),
        resumed = true,
    );
    let (app, failed_app) = (server.app.clone(), server.app.clone());
    let (hub, failed_hub) = (server.hub.clone(), server.hub.clone());
    let (failed_cx, failed_token) = (cx.clone(), token.clone());
    let tasks = hub.tasks.clone();
    let failed_span = span.clone();
    let session = Some(conn::Attached {
        token,
        resumed: true,
    });
    accepted.respond(
        &tasks,
        move |upgraded| conn::run::<R, S>(upgraded, app, hub, cx, permit, session).instrument(span),
        async move {
            conn::suspend::<R, S>(&failed_app, &failed_hub, &failed_cx, failed_token, false).await;
        }
        .instrument(failed_span),
    )
}

/// A log line's account of headers that did not parse: the fields only,
/// not what the peer sent (it may be a secret).
fn invalid_headers(error: &HeaderError) -> String {
    let fields: Vec<&str> = error.details.iter().map(|d| d.path.as_str()).collect();
    format!("invalid headers: {}", fields.join(", "))
}
