//! A raw echo endpoint on zocket's connection layer, for WebSocket
//! conformance testing: every text or binary message comes back unchanged
//! through the same admission checks, frame limits, bounded queue, writer,
//! heartbeat, rate limit and shutdown a router connection has.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Extension;
use tokio::net::TcpListener;
use tracing::Instrument;
use zocket_core::ClientId;

use crate::config::Config;
use crate::hub::Hub;
use crate::limits::ConnectionLimits;
use crate::peer::Peer;

/// The echo server. `Echo::new(config).serve_with_shutdown(listener, signal)`.
#[derive(Clone)]
pub struct Echo {
    hub: Arc<Hub>,
    limits: Arc<ConnectionLimits>,
}

impl Echo {
    /// An echo server with `config`'s limits (message size, queue,
    /// heartbeat, Origin and connection caps).
    pub fn new(config: Config) -> Self {
        Echo {
            hub: Arc::new(Hub::new(config)),
            limits: Arc::default(),
        }
    }

    /// Closes every connection with 1001 and waits up to the shutdown
    /// timeout: for an echo endpoint mounted in an app of one's own.
    pub async fn shutdown(&self) {
        self.hub.shutdown.cancel();
        self.hub.tasks.close();
        let _ = tokio::time::timeout(self.hub.config.shutdown_timeout, self.hub.tasks.wait()).await;
    }

    /// An axum `Router` with the echo endpoint at `/`.
    pub fn into_router(self) -> axum::Router {
        axum::Router::new().route("/", get(upgrade).with_state(self))
    }

    /// Serves until `signal` completes, then closes every connection with
    /// 1001 and waits up to the shutdown timeout.
    pub async fn serve_with_shutdown(
        self,
        listener: TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let hub = self.hub.clone();
        let stop = hub.shutdown.clone();
        let stopped = stop.clone();
        tokio::spawn(async move {
            signal.await;
            stop.cancel();
        });
        let config = hub.config.clone();
        crate::serve::serve_router(listener, self.into_router(), &config, async move {
            stopped.cancelled().await
        })
        .await?;
        hub.tasks.close();
        let _ = tokio::time::timeout(hub.config.shutdown_timeout, hub.tasks.wait()).await;
        Ok(())
    }
}

async fn upgrade(
    State(echo): State<Echo>,
    headers: HeaderMap,
    connect_info: Option<Extension<ConnectInfo<SocketAddr>>>,
    request: Request,
) -> Response {
    let (mut parts, _body) = request.into_parts();
    let peer_addr = connect_info.map(|Extension(ConnectInfo(addr))| addr);
    let compression = echo.hub.config.compression.as_ref();
    let accepted = match crate::server::Accepted::check(&mut parts, peer_addr, compression) {
        Ok(accepted) => accepted,
        Err(refused) => return *refused,
    };
    let permit = match crate::server::admit(&echo.hub, &echo.limits, &headers, peer_addr) {
        Ok(permit) => permit,
        Err(refused) => return refused.into_response(),
    };
    let config = &echo.hub.config;
    let peer = Peer::new(
        ClientId::generate(),
        config.max_queued_frames,
        config.max_queued_bytes,
    );
    let span = tracing::info_span!(
        "connection",
        client = %peer.id,
        peer = peer_addr.map(tracing::field::display),
    );
    let hub = echo.hub.clone();
    let tasks = hub.tasks.clone();
    accepted.respond(
        &tasks,
        move |upgraded| crate::conn::run_echo(upgraded, hub, peer, permit).instrument(span),
        std::future::ready(()),
    )
}
