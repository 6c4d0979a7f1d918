//! The chat's routes for operators, on the same port as the page and the
//! WebSocket: `GET /metrics` (Prometheus text, rendered when scraped) and
//! `GET /healthz` (200 while the server accepts connections).

use std::time::Duration;

use axum::http::header;
use axum::routing::get;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

/// How often histogram samples are folded into their buckets between
/// scrapes, so that memory stays bounded when nobody scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Installs the Prometheus recorder as the process's metrics recorder and
/// returns the handle `/metrics` renders from. A process has one recorder:
/// a second call fails. Call inside the Tokio runtime: it spawns the
/// upkeep task (a timer on the runtime, no thread or port of its own).
pub fn install_metrics() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(zocket::metrics::HANDLER_SECONDS.to_owned()),
            zocket::metrics::HANDLER_SECONDS_BUCKETS,
        )?
        .install_recorder()?;
    zocket::metrics::describe();
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(UPKEEP_INTERVAL);
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// `GET /metrics` rendering `metrics` and `GET /healthz`. Without a
/// recorder (`None`) there is no `/metrics` (404).
pub fn routes<S: Clone + Send + Sync + 'static>(
    metrics: Option<PrometheusHandle>,
) -> axum::Router<S> {
    let router = axum::Router::new().route("/healthz", get(|| async { "ok\n" }));
    let Some(handle) = metrics else {
        return router;
    };
    router.route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    handle.render(),
                )
            }
        }),
    )
}
