//! Hosting a router on axum: the upgrade handler (headers, `on_connect`,
//! then the upgrade), mounting into a user's `Router`, `serve`, and the
//! handle for sending from outside handlers and shutting down.

use std::future::Future;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, FromRequestParts, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::Extension;
use futures_util::FutureExt;
use tokio::net::{TcpListener, ToSocketAddrs};
use zocket_core::protocol::{decode_auth_protocol, SUBPROTOCOL};
use zocket_core::{parse_headers, ClientId, HeaderError};

use crate::adapter::{Adapter, AdapterError, LocalNode};
use crate::config::Config;
use crate::conn;
use crate::hub::Hub;
use crate::limits::{ConnectionLimits, ConnectionPermit};
use crate::origin;
use crate::peer::Peer;
use crate::router::{Dispatch, ServerRouter};
use crate::send::Sender;

/// A zocket server: a router `R` run by the application `S`.
///
/// ```no_run
/// # async fn demo<R: zocket_runtime::Dispatch<S>, S: Send + Sync + 'static>(app: S) -> std::io::Result<()> {
/// use zocket_runtime::Zocket;
/// // One line for the simple case…
/// Zocket::<R, S>::new(app).serve("127.0.0.1:3000").await
/// # }
/// ```
///
/// …or mount it into your own axum `Router`, keeping your routes, state and
/// layers: `Router::new().route("/ws", zocket.method_router())`.
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
    pub fn new(app: S) -> Self {
        Self::with_config(app, Config::default())
    }

    pub fn with_config(app: S, config: Config) -> Self {
        Zocket {
            app: Arc::new(app),
            hub: Arc::new(Hub::new(config)),
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
        adapter.bind(LocalNode::new(&self.hub));
        if self.hub.adapter.set(adapter).is_err() {
            panic!("zocket: with_adapter called twice on one server");
        }
        self
    }

    pub fn config(&self) -> &Config {
        &self.hub.config
    }

    /// A handle for sending from outside handlers (timers, HTTP routes) and
    /// for shutting down.
    pub fn handle(&self) -> Handle<R> {
        Handle {
            hub: self.hub.clone(),
            router: PhantomData,
        }
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

    /// Binds `addr` and serves until Ctrl-C, then shuts down gracefully.
    pub async fn serve(self, addr: impl ToSocketAddrs) -> std::io::Result<()> {
        let listener = TcpListener::bind(addr).await?;
        tracing::info!(addr = %listener.local_addr()?, "zocket listening");
        self.serve_with_shutdown(listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    }

    /// Serves on `listener` until `signal` completes (or
    /// [`Handle::shutdown`] is called), then shuts down: stops accepting,
    /// runs `on_disconnect` for every connection, closes each with 1001 and
    /// waits (up to the configured shutdown timeout) for their queues to
    /// drain. Request heads must arrive within the configured
    /// `header_read_timeout`.
    pub async fn serve_with_shutdown(
        self,
        listener: TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let handle = self.handle();
        let timeout = self.hub.config.header_read_timeout;
        let stop = handle.hub.shutdown.clone();
        let stopped = stop.clone();
        tokio::spawn(async move {
            signal.await;
            stop.cancel();
        });
        crate::serve::serve_router(listener, self.into_router(), timeout, async move {
            stopped.cancelled().await
        })
        .await?;
        handle.shutdown().await;
        Ok(())
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

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let status = match self {
            Refused::Origin(_) => StatusCode::FORBIDDEN,
            Refused::ShuttingDown | Refused::Cap(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        refusal(status, &self.to_string())
    }
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
        tracing::debug!(%error, "upgrade refused");
    }
    admitted
}

/// How a connection is upgraded: by axum (tungstenite), or by zocket
/// itself on the plain TCP stream (the fast path).
pub(crate) enum Upgrade {
    Axum(WebSocketUpgrade),
    Raw {
        on_upgrade: hyper::upgrade::OnUpgrade,
        accept: HeaderValue,
        zocket_protocol: bool,
    },
}

impl Upgrade {
    /// Checks the upgrade request (as axum's `WebSocketUpgrade` does, with
    /// the same refusals). The fast path is taken when configured and the
    /// request came through zocket's own accept loop.
    pub(crate) async fn from_parts(
        parts: &mut axum::http::request::Parts,
        config: &Config,
    ) -> Result<Upgrade, Response> {
        let plain_tcp = parts.extensions.get::<crate::serve::PlainTcp>().is_some();
        if config.fast_path && plain_tcp && parts.version == Version::HTTP_11 {
            if let Ok(key) = crate::wsframe::check_upgrade(&parts.method, &parts.headers) {
                let accept = crate::wsframe::accept_key(key.as_bytes());
                if let Some(on_upgrade) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() {
                    let zocket_protocol = crate::wsframe::requested_protocols(&parts.headers)
                        .any(|p| p == SUBPROTOCOL.as_bytes());
                    return Ok(Upgrade::Raw {
                        on_upgrade,
                        accept,
                        zocket_protocol,
                    });
                }
            }
        }
        WebSocketUpgrade::from_request_parts(parts, &())
            .await
            .map(Upgrade::Axum)
            .map_err(IntoResponse::into_response)
    }

    /// Answers the upgrade and runs `callback` on the socket once upgraded.
    pub(crate) fn on_upgrade<C, Fut>(self, config: &Config, callback: C) -> Response
    where
        C: FnOnce(conn::Socket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        match self {
            Upgrade::Axum(ws) => configure(ws, config)
                .on_upgrade(move |ws| callback(conn::Socket::Axum(Box::new(ws)))),
            Upgrade::Raw {
                on_upgrade,
                accept,
                zocket_protocol,
            } => {
                tokio::spawn(async move {
                    let upgraded = match on_upgrade.await {
                        Ok(upgraded) => upgraded,
                        Err(error) => {
                            tracing::debug!(%error, "upgrade failed");
                            return;
                        }
                    };
                    type Io = hyper_util::rt::TokioIo<tokio::net::TcpStream>;
                    match upgraded.downcast::<Io>() {
                        Ok(parts) => {
                            // A task of its own: this one's state (the
                            // upgrade future, the callback's captures) is
                            // not carried by every idle connection.
                            let conn = callback(conn::Socket::Raw {
                                stream: parts.io.into_inner(),
                                read_buf: parts.read_buf,
                            });
                            tokio::spawn(conn);
                        }
                        Err(_) => {
                            tracing::error!("upgraded connection is not a TcpStream; dropped")
                        }
                    }
                });
                let mut response = Response::builder()
                    .status(StatusCode::SWITCHING_PROTOCOLS)
                    .header(header::CONNECTION, HeaderValue::from_static("upgrade"))
                    .header(header::UPGRADE, HeaderValue::from_static("websocket"))
                    .header(header::SEC_WEBSOCKET_ACCEPT, accept)
                    .body(Body::empty())
                    .expect("a valid response");
                if zocket_protocol {
                    response.headers_mut().insert(
                        header::SEC_WEBSOCKET_PROTOCOL,
                        HeaderValue::from_static(SUBPROTOCOL),
                    );
                }
                response
            }
        }
    }
}

/// Applies the configured frame limits and buffer sizes to an upgrade, and
/// selects the `zocket` subprotocol when the client offers it.
pub(crate) fn configure(ws: WebSocketUpgrade, config: &Config) -> WebSocketUpgrade {
    ws.max_message_size(config.max_message_size)
        .max_frame_size(config.max_message_size)
        .read_buffer_size(config.read_buffer_size)
        .protocols([SUBPROTOCOL])
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
    for entry in crate::wsframe::requested_protocols(headers) {
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
    let ws = match Upgrade::from_parts(&mut parts, &hub.config).await {
        Ok(ws) => ws,
        Err(refused) => return refused,
    };
    let peer_addr = connect_info.map(|Extension(ConnectInfo(addr))| addr);
    let permit = match admit(hub, &server.limits, &headers, peer_addr) {
        Ok(permit) => permit,
        Err(refused) => return refused.into_response(),
    };
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
            return (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, "application/json")],
                error.body(),
            )
                .into_response()
        }
    };
    let id = ClientId::generate();
    let state = match AssertUnwindSafe(R::on_connect(&server.app, parsed, &id))
        .catch_unwind()
        .await
    {
        Ok(Ok(state)) => state,
        Ok(Err(reject)) => return reject.into_response(),
        Err(_) => {
            tracing::error!("on_connect panicked");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let config = &hub.config;
    let peer = Peer::new_arc(id, config.max_queued_frames, config.max_queued_bytes);
    let hub = hub.clone();
    let app = server.app.clone();
    let tasks = hub.tasks.clone();
    ws.on_upgrade(config, move |socket| {
        tasks.track_future(conn::run::<R, S>(socket, app, hub, peer, state, permit))
    })
}

/// Sends and queries from outside a handler; shuts the server down.
pub struct Handle<R> {
    hub: Arc<Hub>,
    router: PhantomData<fn() -> R>,
}

impl<R> Clone for Handle<R> {
    fn clone(&self) -> Self {
        Handle {
            hub: self.hub.clone(),
            router: PhantomData,
        }
    }
}

impl<R: ServerRouter> Handle<R> {
    /// Typed sends, as `cx.send()` but with no sender (`except_self` is a
    /// no-op).
    pub fn send(&self) -> R::Send<'_> {
        R::Send::from(Sender::new(&self.hub, None))
    }

    pub fn members(&self, room: &str) -> Vec<ClientId> {
        self.hub.rooms.members(room)
    }

    pub fn len(&self, room: &str) -> usize {
        self.hub.rooms.len(room)
    }

    /// Members of `room` on every node of the cluster (this server's alone
    /// without an adapter).
    pub async fn members_all(&self, room: &str) -> Result<Vec<ClientId>, AdapterError> {
        crate::adapter::members_all(&self.hub, room).await
    }

    /// How many connections are in `room` on every node of the cluster.
    pub async fn len_all(&self, room: &str) -> Result<usize, AdapterError> {
        Ok(self.members_all(room).await?.len())
    }

    /// The cluster adapter's counters (bus connected, published, dropped,
    /// outages…); `None` without an adapter.
    pub fn cluster_stats(&self) -> Option<crate::adapter::AdapterStats> {
        self.hub.adapter.get().map(|adapter| adapter.stats())
    }

    /// Connected clients.
    pub fn connections(&self) -> usize {
        self.hub.client_count()
    }

    /// Waits until exactly `n` connections are registered (connected and
    /// not yet cleaned up after their disconnect).
    pub async fn wait_connections(&self, n: usize) {
        let mut rx = self.hub.connections.subscribe();
        let _ = rx.wait_for(|count| *count == n).await;
    }

    /// Non-empty rooms.
    pub fn rooms(&self) -> usize {
        self.hub.rooms.room_count()
    }

    /// Closes every connection with 1001 after its `on_disconnect`, and
    /// waits for them up to the configured shutdown timeout.
    pub async fn shutdown(&self) {
        self.hub.shutdown.cancel();
        self.hub.tasks.close();
        if tokio::time::timeout(self.hub.config.shutdown_timeout, self.hub.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                remaining = self.hub.client_count(),
                "shutdown timeout; dropping remaining connections"
            );
        }
        if let Some(adapter) = self.hub.adapter.get() {
            adapter.close().await;
        }
    }
}
