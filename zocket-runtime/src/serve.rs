//! zocket's HTTP/1.1 accept loop. Used instead of `axum::serve` because
//! that offers no header read timeout, and a server on the open internet
//! needs one: without it a client that trickles its request head a byte at
//! a time (slowloris) holds a socket and a task forever.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;

/// Serves an axum `Router` on `listener` until `signal` completes, with a
/// timeout on reading each request head (`header_read_timeout`) and the
/// peer address available as `ConnectInfo<SocketAddr>` (which the per-IP
/// connection cap needs). Use this to run your own `Router` with a zocket
/// endpoint mounted in it and keep the slowloris protection.
///
/// When `signal` completes the listener is closed, idle HTTP connections are
/// closed and requests in flight finish; upgraded WebSockets are not waited
/// for (shut the zocket server down with its `Handle`).
pub async fn serve_router(
    listener: TcpListener,
    router: axum::Router,
    header_read_timeout: Duration,
    signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stop = CancellationToken::new();
    let stopper = stop.clone();
    tokio::spawn(async move {
        signal.await;
        stopper.cancel();
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let connections = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
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
        // Realtime traffic: the writer already batches, so Nagle's delay
        // only adds latency.
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
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let stop = stop.clone();
        connections.spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = stop.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%remote, %error, "HTTP connection ended with an error");
            }
        });
    }
    drop(listener);
    connections.close();
    connections.wait().await;
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
