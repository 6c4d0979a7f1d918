//! The chat of `chat`, mounted into an axum app of its own:
//! `cargo run -p zocket-examples --bin chat-axum`, then
//! `ws://127.0.0.1:3000/ws` for WebSocket clients,
//! `http://127.0.0.1:3000/api/stats` for JSON stats and
//! `http://127.0.0.1:3000/` for the web page. Same flags as `chat`; prints
//! `LISTENING <port>`; stops gracefully on Ctrl-C or SIGTERM.
//!
//! # Mounting zocket into your axum app
//!
//! zocket's endpoint is an ordinary axum `MethodRouter`, so it goes next to
//! your routes, under your layers:
//!
//! ```ignore
//! let zocket = zocket::Zocket::<chat::Router, Chat>::with_config(Chat, config);
//! let state = AppState { zocket: zocket.handle(), started: Instant::now() };
//! let app = axum::Router::new()
//!     .route("/ws", zocket.method_router())      // the WebSocket endpoint
//!     .route("/api/stats", get(stats))           // your routes, your State
//!     .layer(TraceLayer::new_for_http())         // your tower layers
//!     .with_state(state);
//! let listener = tokio::net::TcpListener::bind(addr).await?;
//! let handle = zocket.handle();
//! axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
//!     .with_graceful_shutdown(async move {
//!         zocket::shutdown_signal().await;        // SIGINT or SIGTERM
//!         handle.shutdown().await;                // on_disconnect, then 1001 for everyone
//!     })
//!     .await?;
//! ```
//!
//! **The connection is the same as under `chat`.** After the upgrade
//! zocket takes the TCP stream back from hyper (also from the hyper-util
//! server `axum::serve` runs) and runs its own codec, outbox and flush on
//! it, with `TCP_NODELAY` set: a WebSocket behaves and performs the same
//! whatever served its HTTP. (A stream that is not TCP, e.g. TLS, runs the
//! same code over `AsyncRead + AsyncWrite`.)
//!
//! **State.** `method_router()` carries zocket's own state inside it and
//! is generic over the app's state type, so it mounts into a
//! `Router<AppState>` as it is; zocket never sees `AppState`. What the
//! rest of the app needs of zocket goes *into* `AppState`: the
//! [`zocket::Handle`] (cheap to clone) answers `connections()`, `rooms()`,
//! `members(room)` and sends typed messages from any HTTP handler
//! (`state.zocket.send().rooms().on_message(..).to_room([room])`).
//!
//! **Connect info.** Serve with `into_make_service_with_connect_info::<SocketAddr>()`:
//! zocket's per-IP connection cap (`Config::max_connections_per_ip`) reads
//! the peer address from it. With plain `into_make_service()` the cap has
//! no address to count by and does not apply.
//!
//! **Shutdown.** `axum::serve`'s graceful shutdown stops accepting and
//! waits for HTTP requests in flight; upgraded WebSockets are no longer
//! HTTP connections to it, so it does not close them. `handle.shutdown()`
//! in the shutdown future does, at once: every `on_disconnect` runs, every
//! client gets a 1001 close once its queue is written.
//!
//! **What `axum::serve` does not give you**, compared with zocket's own
//! `Zocket::serve` / [`zocket::serve_router`]:
//! - no header read timeout: zocket's accept loop drops a connection that
//!   has not sent its request head within `Config::header_read_timeout`, so
//!   a slowloris client trickling headers a byte at a time cannot hold
//!   sockets and tasks forever. Behind `axum::serve`, put a proxy with such
//!   a timeout in front, or keep your own `Router` and serve it with
//!   `zocket::serve_router(listener, app, &config, signal)`, which adds that
//!   timeout, the connect info and the protections below (what `chat` does);
//! - no write timeout on HTTP responses and no cap on HTTP connections
//!   (`Config::max_http_connections`): a client that never reads its
//!   responses keeps their buffers;
//! - no deadline on shutdown: `axum::serve` waits for every HTTP request in
//!   flight, however long; zocket's loop drops them after
//!   `Config::shutdown_timeout`;
//! - `TCP_NODELAY` on plain HTTP responses only if you set it
//!   (`listener.tap_io(|tcp| tcp.set_nodelay(true))` with
//!   `axum::serve::ListenerExt`, as here); WebSockets get it from zocket.
//!
//! **The web page** connects to `/` of the host it was loaded from, so the
//! page's router (`zocket_examples::web::router`) upgrades on `/` as well
//! as serving the page there; `/ws` is the endpoint for every other client.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Json;
use clap::Parser;
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use tracing::Level;
use zocket_examples::chat;
use zocket_examples::cli::ChatFlags;
use zocket_examples::shown;

#[derive(Parser)]
#[command(about = "zocket chat mounted at /ws in an axum app with its own routes and state")]
struct Args {
    #[command(flatten)]
    chat: ChatFlags,
}

/// The app's own state: what its HTTP handlers need, zocket's handle among
/// them.
#[derive(Clone)]
struct AppState {
    zocket: zocket::Handle<chat::Router>,
    started: Instant,
}

/// The answer of `GET /api/stats`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Stats {
    /// WebSocket connections to this server.
    connections: usize,
    /// Non-empty rooms on this server.
    rooms: usize,
    uptime_seconds: u64,
}

async fn stats(State(state): State<AppState>) -> Json<Stats> {
    Json(Stats {
        connections: state.zocket.connections(),
        rooms: state.zocket.rooms(),
        uptime_seconds: state.started.elapsed().as_secs(),
    })
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    zocket_examples::init_tracing();
    let args = Args::parse();
    let shutdown = zocket_examples::shutdown_signal();
    let zocket = args.chat.server()?;
    let handle = zocket.handle();
    let state = AppState {
        zocket: zocket.handle(),
        started: Instant::now(),
    };
    let app = axum::Router::new()
        .route("/ws", zocket.method_router())
        .route("/api/stats", get(stats))
        .merge(zocket_examples::web::router(zocket.method_router()))
        // Request spans at debug level. The path is peer-controlled, hence
        // `shown`; the query is left out: it may carry connection headers
        // such as tokens. Failures (the 503s of zocket's connection caps
        // among them) at debug too: at tower-http's default, error, any
        // peer over its cap could fill the log.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    tracing::debug_span!(
                        "http",
                        method = %request.method(),
                        path = ?shown(request.uri().path()),
                    )
                })
                .on_failure(DefaultOnFailure::new().level(Level::DEBUG)),
        )
        .with_state(state);

    let listener = tokio::net::TcpListener::bind(&args.chat.addr).await?;
    let addr = listener.local_addr()?;
    // Scripts (benchmarks, tests) read the port from this line.
    println!("LISTENING {}", addr.port());
    tracing::info!("chat-axum on http://{addr}/ (WebSocket: ws://{addr}/ws, stats: /api/stats)");
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY");
        }
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        handle.shutdown().await;
    })
    .await?;
    Ok(())
}
