//! The chat's web side: the page (built from `web/`, embedded at compile
//! time) at `/` for plain GETs, and zocket's WebSocket endpoint on the same
//! `/` for upgrade requests, so `ws://127.0.0.1:3000` keeps working for
//! every other client.

use std::future::Future;

use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::chat;
use crate::server::Chat;

/// Serves the page, the chat's WebSocket and the operator's routes
/// ([`crate::ops`]: `/healthz`, and `/metrics` when given a recorder's
/// handle) on `listener` until `signal`, then shuts the zocket server down
/// (every `on_disconnect` runs, each connection is closed with 1001).
pub async fn serve(
    listener: TcpListener,
    server: zocket::Zocket<chat::Router, Chat>,
    metrics: Option<PrometheusHandle>,
    signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let handle = server.handle();
    let config = server.config().clone();
    let app = router(server.method_router()).merge(crate::ops::routes(metrics));
    // zocket's accept loop, not `axum::serve`: it adds the header read
    // timeout (slowloris) and the peer address for the per-IP cap.
    zocket::serve_router(listener, app, &config, signal).await?;
    handle.shutdown().await;
    Ok(())
}

/// `(url path, content type, contents)` of every file of the page:
/// `web/public/*` and the compiled `web/dist/**` (see `build.rs`).
pub static ASSETS: &[(&str, &str, &str)] = include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// An axum router serving the page and, by upgrade on `/`, `websocket`
/// (zocket's endpoint: `Zocket::method_router()`). Generic over the state
/// type so it merges into an app with a state of its own (`chat-axum`):
/// the page's handlers use none, and the page connects to `/` of its own
/// host, so wherever else the app mounts zocket, `/` must upgrade too.
pub fn router<S: Clone + Send + Sync + 'static>(websocket: MethodRouter) -> axum::Router<S> {
    let mut router = axum::Router::new().route(
        "/",
        get(move |request: Request| {
            let websocket = websocket.clone();
            async move {
                if is_websocket(request.headers()) {
                    websocket.oneshot(request).await.into_response()
                } else {
                    asset("/index.html")
                }
            }
        }),
    );
    for (path, _, _) in ASSETS.iter().filter(|(p, _, _)| *p != "/index.html") {
        router = router.route(path, get(move || async move { asset(path) }));
    }
    router
}

fn is_websocket(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

fn asset(path: &str) -> Response {
    match ASSETS.iter().find(|(p, _, _)| *p == path) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
