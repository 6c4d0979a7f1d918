//! Helpers for the integration tests: a server on 127.0.0.1 port 0 and a
//! raw WebSocket client that speaks the wire format byte for byte.

pub mod fixture;
pub mod proxy;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use zocket::Zocket;

/// How long any single expected event may take before a test fails.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// A running server; shuts down when dropped.
pub struct TestServer<R> {
    pub addr: SocketAddr,
    pub handle: zocket::Handle<R>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl<R> TestServer<R> {
    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// Stops the server and waits for it to finish shutting down.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(TIMEOUT * 2, task)
                .await
                .expect("server did not shut down in time")
                .expect("server task panicked")
                .expect("server failed");
        }
    }
}

impl<R> Drop for TestServer<R> {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves `zocket` on 127.0.0.1, port 0.
pub async fn serve<R, S>(zocket: Zocket<R, S>) -> TestServer<R>
where
    R: zocket::__private::server::Dispatch<S>,
    S: Send + Sync + 'static,
{
    serve_on(zocket, "127.0.0.1:0".parse().expect("addr")).await
}

/// How the integration suite serves routers, from `ZOCKET_TEST_SERVE`:
/// every test runs the same way against each (CI runs the suite once per
/// mode), since a connection must behave the same whatever serves the HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServeMode {
    /// `Zocket::serve_with_shutdown`: zocket's own accept loop (default).
    Zocket,
    /// The router mounted with `method_router()` under plain `axum::serve`.
    Axum,
    /// hyper-util's server over a stream that is not a `TcpStream`, so the
    /// connection runs on the generic `AsyncRead + AsyncWrite` transport
    /// (as behind TLS).
    Io,
}

pub fn serve_mode() -> ServeMode {
    match std::env::var("ZOCKET_TEST_SERVE").as_deref() {
        Ok("axum") => ServeMode::Axum,
        Ok("io") => ServeMode::Io,
        Ok("zocket") | Err(_) => ServeMode::Zocket,
        Ok(other) => panic!("ZOCKET_TEST_SERVE={other}: expected zocket, axum or io"),
    }
}

/// Serves `zocket` on `listener` the way [`serve_mode`] says, until
/// `signal`; then shuts it down (every connection closed with 1001).
pub fn spawn_server<R, S>(
    zocket: Zocket<R, S>,
    listener: TcpListener,
    signal: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<std::io::Result<()>>
where
    R: zocket::__private::server::Dispatch<S>,
    S: Send + Sync + 'static,
{
    match serve_mode() {
        ServeMode::Zocket => tokio::spawn(zocket.serve_with_shutdown(listener, signal)),
        ServeMode::Axum => {
            let handle = zocket.handle();
            let app = axum::Router::new().route("/", zocket.method_router());
            tokio::spawn(async move {
                axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(async move {
                    signal.await;
                    handle.shutdown().await;
                })
                .await
            })
        }
        ServeMode::Io => {
            let handle = zocket.handle();
            let app = axum::Router::new().route("/", zocket.method_router());
            tokio::spawn(serve_io(listener, app, signal, async move {
                handle.shutdown().await;
            }))
        }
    }
}

/// A TCP stream hidden behind a type of its own, as a TLS stream would be:
/// hyper's upgraded connection can't be turned back into a `TcpStream`.
struct NotTcp(TcpStream);

impl tokio::io::AsyncRead for NotTcp {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for NotTcp {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

async fn serve_io(
    listener: TcpListener,
    app: axum::Router,
    signal: impl std::future::Future<Output = ()> + Send + 'static,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;
    let mut signal = std::pin::pin!(signal);
    loop {
        let (stream, remote) = tokio::select! {
            _ = &mut signal => break,
            accepted = listener.accept() => accepted?,
        };
        let app = app
            .clone()
            .layer(axum::Extension(axum::extract::ConnectInfo(remote)));
        tokio::spawn(async move {
            let _ = Builder::new(TokioExecutor::new())
                .serve_connection_with_upgrades(
                    TokioIo::new(NotTcp(stream)),
                    TowerToHyperService::new(app),
                )
                .await;
        });
    }
    shutdown.await;
    Ok(())
}

/// Serves `zocket` on a given loopback address (to restart a server on the
/// port a client knows).
pub async fn serve_on<R, S>(zocket: Zocket<R, S>, addr: SocketAddr) -> TestServer<R>
where
    R: zocket::__private::server::Dispatch<S>,
    S: Send + Sync + 'static,
{
    let listener = TcpListener::bind(addr).await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let handle = zocket.handle();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = spawn_server(zocket, listener, async {
        let _ = stopped.await;
    });
    TestServer {
        addr,
        handle,
        stop: Some(stop),
        task: Some(task),
    }
}

/// A WebSocket client that sends and checks raw JSON frames.
pub struct RawClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl RawClient {
    pub async fn connect(url: &str) -> RawClient {
        let (ws, _) = tokio::time::timeout(TIMEOUT, tokio_tungstenite::connect_async(url))
            .await
            .expect("connect timed out")
            .expect("connect failed");
        RawClient { ws }
    }

    /// Connects to a server that keeps sessions (`Config::resume`, as the
    /// chat example does) and checks its first frame: a fresh
    /// `zocket.session`. Returns the client and that frame's payload.
    pub async fn connect_session(url: &str) -> (RawClient, Value) {
        let mut client = RawClient::connect(url).await;
        let first = client.recv_json().await;
        assert_eq!(first["type"], "zocket.session", "first frame: {first}");
        assert_eq!(first["payload"]["recovered"], false, "first frame: {first}");
        let payload = first["payload"].clone();
        (client, payload)
    }

    pub fn from_stream(ws: WebSocketStream<MaybeTlsStream<TcpStream>>) -> RawClient {
        RawClient { ws }
    }

    /// Connects and expects an HTTP error; returns its status and body.
    pub async fn connect_err(url: &str) -> (u16, String) {
        match tokio::time::timeout(TIMEOUT, tokio_tungstenite::connect_async(url))
            .await
            .expect("connect timed out")
        {
            Ok(_) => panic!("connection to {url} was accepted"),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => (
                resp.status().as_u16(),
                resp.body()
                    .as_deref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default(),
            ),
            Err(other) => panic!("expected an HTTP error, got {other}"),
        }
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::text(text.to_owned()))
            .await
            .expect("send");
    }

    pub async fn send_json(&mut self, value: Value) {
        self.send_text(&value.to_string()).await;
    }

    /// The next text frame, as sent by the server.
    pub async fn recv_text(&mut self) -> String {
        loop {
            let frame = tokio::time::timeout(TIMEOUT, self.ws.next())
                .await
                .expect("no frame within the timeout")
                .expect("connection ended")
                .expect("read error");
            match frame {
                Message::Text(t) => return t.to_string(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    pub async fn recv_json(&mut self) -> Value {
        let text = self.recv_text().await;
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }

    /// Waits for the server's close frame; returns its code.
    pub async fn recv_close(&mut self) -> Option<u16> {
        loop {
            let frame = tokio::time::timeout(TIMEOUT, self.ws.next())
                .await
                .expect("no close within the timeout");
            match frame {
                Some(Ok(Message::Close(f))) => return f.map(|f| f.code.into()),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
        // Read until the server's close arrives or the stream ends.
        let _ = tokio::time::timeout(TIMEOUT, async {
            while let Some(Ok(m)) = self.ws.next().await {
                if m.is_close() {
                    break;
                }
            }
        })
        .await;
    }
}

/// The next item of a typed message stream, or a failed test.
pub async fn next<T>(stream: &mut zocket::client::Messages<T>) -> T::Outgoing
where
    T: zocket::Router,
{
    tokio::time::timeout(TIMEOUT, stream.next())
        .await
        .expect("no message within the timeout")
        .expect("client dropped")
}
