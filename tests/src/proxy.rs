//! A TCP proxy between a client and a test server that cuts its
//! connections on command: what a flaky network does to a client, without
//! restarting the server (whose rooms would go with it). It also counts
//! the bytes it forwards each way, which shows what a connection's wire
//! format costs (compressed or not).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Forwards 127.0.0.1:`addr` to the upstream address while open; stops
/// when dropped.
pub struct Proxy {
    pub addr: SocketAddr,
    open: Arc<AtomicBool>,
    counts: Arc<Counts>,
    /// Bumped by [`cut`](Self::cut): every forwarding task ends its
    /// connection.
    cuts: watch::Sender<u64>,
    task: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let open = Arc::new(AtomicBool::new(true));
        let (cuts, _) = watch::channel(0u64);
        let counts = Arc::new(Counts::default());
        let task = tokio::spawn(accept(
            listener,
            upstream,
            open.clone(),
            cuts.clone(),
            counts.clone(),
        ));
        Proxy {
            addr,
            open,
            counts,
            cuts,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// Drops every connection through the proxy (no close frame: the TCP
    /// connection just ends), and refuses new ones until
    /// [`open`](Self::open).
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    /// Forwards new connections again.
    pub fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    /// Bytes forwarded so far, over all connections: (client to server,
    /// server to client). A byte is counted before it is passed on, so
    /// once the other end has it, it is in the count.
    pub fn bytes(&self) -> (u64, u64) {
        (
            self.counts.up.load(Ordering::SeqCst),
            self.counts.down.load(Ordering::SeqCst),
        )
    }
}

#[derive(Default)]
struct Counts {
    up: AtomicU64,
    down: AtomicU64,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cuts.send_modify(|n| *n += 1);
    }
}

async fn accept(
    listener: TcpListener,
    upstream: SocketAddr,
    open: Arc<AtomicBool>,
    cuts: watch::Sender<u64>,
    counts: Arc<Counts>,
) {
    while let Ok((mut client, _)) = listener.accept().await {
        // Accepted and dropped: the client's connection attempt fails.
        if !open.load(Ordering::SeqCst) {
            continue;
        }
        let mut cut = cuts.subscribe();
        let counts = counts.clone();
        tokio::spawn(async move {
            let Ok(mut server) = TcpStream::connect(upstream).await else {
                return;
            };
            let (mut client_read, mut client_write) = client.split();
            let (mut server_read, mut server_write) = server.split();
            let up = pump(&mut client_read, &mut server_write, &counts.up);
            let down = pump(&mut server_read, &mut client_write, &counts.down);
            tokio::select! {
                _ = async { tokio::join!(up, down) } => {}
                _ = cut.changed() => {}
            }
        });
    }
}

/// Copies `from` to `to`, counting, until EOF (then shuts `to` down, as
/// `copy_bidirectional` does) or an error.
async fn pump(
    from: &mut (impl AsyncRead + Unpin),
    to: &mut (impl AsyncWrite + Unpin),
    count: &AtomicU64,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                count.fetch_add(n as u64, Ordering::SeqCst);
                if to.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown().await;
}
