//! zocket's HTTP/1.1 accept loop, and the shutdown signals.
//!
//! Used instead of `axum::serve` because a server on the open internet
//! needs what that one does not give: a header read timeout (without it a
//! client that trickles its request head a byte at a time, slowloris, holds
//! a socket and a task forever), a write timeout on HTTP responses (a
//! client that never reads its responses would hold their buffers), a cap
//! on HTTP connections, and a shutdown with a deadline.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;

use crate::config::Config;
use crate::transport::TimedStream;

/// Serves an axum `Router` on `listener` until `signal` completes, with
/// the protections of `config`: a timeout on reading each request head
/// (`header_read_timeout`), a write timeout on responses (`write_timeout`),
/// at most `max_http_connections` connections that have not upgraded, and
/// the peer address available as `ConnectInfo<SocketAddr>` (which the
/// per-IP connection cap needs). Use this to run your own `Router` with a
/// zocket endpoint mounted in it and keep those protections.
///
/// When `signal` completes the listener is closed, idle HTTP connections
/// are closed, and requests in flight get `shutdown_timeout` to finish
/// before their connections are dropped. Upgraded WebSockets are not
/// waited for here: shut the zocket server down with its `Handle` (which
/// `Zocket::serve_with_shutdown` does for you, at the same time).
pub async fn serve_router(
    listener: TcpListener,
    router: axum::Router,
    config: &Config,
    signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout);
    let write_timeout = config.write_timeout;
    let slots = Arc::new(Semaphore::new(config.max_http_connections));
    let connections = TaskTracker::new();
    // Cancelled when the grace period ends: what is left is dropped.
    let hard_stop = CancellationToken::new();
    let graceful = CancellationToken::new();
    let mut signal = std::pin::pin!(signal);
    loop {
        let accepted = tokio::select! {
            _ = &mut signal => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: back off a little
                // rather than spin; per-connection errors are harmless.
                tracing::warn!(%error, "accept failed");
                if !is_connection_error(&error) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%remote, "too many HTTP connections; dropped");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request
                .extensions_mut()
                .insert(ConnectInfo::<SocketAddr>(remote));
            let mut router = router.clone();
            async move {
                let response = router.call(request.map(Body::new)).await;
                Ok::<_, Infallible>(match response {
                    Ok(response) => response,
                    Err(never) => match never {},
                })
            }
        });
        let connection = builder
            .serve_connection(
                TokioIo::new(TimedStream::new(stream, write_timeout)),
                service,
            )
            .with_upgrades();
        let (graceful, hard_stop) = (graceful.clone(), hard_stop.clone());
        connections.spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = graceful.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    tokio::select! {
                        result = connection.as_mut() => result,
                        _ = hard_stop.cancelled() => Ok(()),
                    }
                }
            };
            if let Err(error) = result {
                tracing::debug!(%remote, %error, "HTTP connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.cancel();
    connections.close();
    if tokio::time::timeout(config.shutdown_timeout, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            remaining = connections.len(),
            "HTTP connections still busy after the shutdown timeout; dropping them"
        );
        hard_stop.cancel();
        connections.wait().await;
    }
    Ok(())
}

fn is_connection_error(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// Completes at the first SIGINT (Ctrl-C) or SIGTERM (what systemd, Docker
/// and Kubernetes send), and cancels `again` at the second.
pub(crate) fn signals(again: CancellationToken) -> impl Future<Output = ()> + Send + 'static {
    let first = shutdown_signal();
    async move {
        first.await;
        tokio::spawn(async move {
            shutdown_signal().await;
            again.cancel();
        });
    }
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM, whichever comes first: service
/// managers, `docker stop` and Kubernetes stop a process with SIGTERM, and
/// without a handler for it the process dies on the spot, so no
/// `on_disconnect` runs and clients see a reset instead of a 1001 close.
///
/// Not an `async fn` on purpose: the handlers are installed when this is
/// called, not when the future is first polled, so a SIGTERM that arrives
/// right after `LISTENING` is printed (a test, a supervisor) already finds
/// them. Call it before binding or printing.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            let (mut interrupt, mut terminate) = match (interrupt, terminate) {
                (Ok(interrupt), Ok(terminate)) => (interrupt, terminate),
                (Err(error), _) | (_, Err(error)) => {
                    // Nothing to wait on: run until killed rather than
                    // stop at once.
                    tracing::error!(%error, "cannot install signal handlers");
                    return std::future::pending().await;
                }
            };
            let name = tokio::select! {
                _ = interrupt.recv() => "SIGINT",
                _ = terminate.recv() => "SIGTERM",
            };
            tracing::info!(signal = name, "shutting down");
        }
    }
    #[cfg(not(unix))]
    async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot wait for Ctrl-C");
            return std::future::pending().await;
        }
        tracing::info!("Ctrl-C: shutting down");
    }
}
