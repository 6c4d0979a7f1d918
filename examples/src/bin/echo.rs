//! Echo server on zocket's connection layer: every text or binary message
//! comes back unchanged, with the same admission checks, frame limits,
//! bounded queue, heartbeat and shutdown as a router server. Used for
//! WebSocket conformance runs (`.ci/hardening.sh`).
//!
//! `cargo run -p zocket-examples --bin echo -- --addr 127.0.0.1:0`
//! prints `LISTENING <port>` once bound; stops gracefully on Ctrl-C or
//! SIGTERM.

use clap::Parser;
use zocket::Config;

#[derive(Parser)]
#[command(about = "zocket echo server (WebSocket conformance target)")]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:9002")]
    addr: String,
    /// Largest incoming message in bytes (default: the server default,
    /// 64 KiB). Conformance runs raise it: the suite's 9.* cases send
    /// messages of up to 16 MiB.
    #[arg(long)]
    max_message_size: Option<usize>,
    /// Outgoing queue bound in bytes per connection (default 1 MiB); must
    /// hold at least one echoed message.
    #[arg(long)]
    max_queued_bytes: Option<usize>,
    /// Turn off the per-connection message rate limit (the suite sends
    /// thousands of messages per second on one connection).
    #[arg(long)]
    no_rate_limit: bool,
    /// Serve the endpoint mounted in an axum `Router` under plain
    /// `axum::serve` instead of zocket's accept loop: CI runs the
    /// conformance suite both ways, since a connection must behave the same
    /// whatever serves its HTTP.
    #[arg(long)]
    axum: bool,
    /// Answer permessage-deflate offers (RFC 7692) with the default
    /// settings; CI runs the compression cases (12.*, 13.*) against this.
    #[arg(long)]
    compression: bool,
    /// With `--compression`: messages under this many bytes go
    /// uncompressed (default: the library's, 128).
    #[arg(long, requires = "compression")]
    compression_min_size: Option<usize>,
    /// With `--compression`: zlib level, 0-9 (default: the library's, 6).
    #[arg(long, requires = "compression")]
    compression_level: Option<u32>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    zocket_examples::init_tracing();
    let args = Args::parse();
    let shutdown = zocket_examples::shutdown_signal();
    let mut config = Config::default();
    if let Some(max) = args.max_message_size {
        config = config.max_message_size(max);
    }
    if let Some(max) = args.max_queued_bytes {
        config = config.max_queued_bytes(max);
    }
    if args.no_rate_limit {
        config = config.rate_limit(None);
    }
    if args.compression {
        let mut settings = zocket::Compression::default();
        if let Some(min) = args.compression_min_size {
            settings = settings.min_size(min);
        }
        if let Some(level) = args.compression_level {
            settings = settings.level(level);
        }
        config = config.compression(Some(settings));
    }
    let listener = tokio::net::TcpListener::bind(&args.addr).await?;
    let addr = listener.local_addr()?;
    // Scripts read the port from this line.
    println!("LISTENING {}", addr.port());
    tracing::info!("echo server on ws://{addr}/");
    let echo = zocket::Echo::new(config);
    if !args.axum {
        return echo.serve_with_shutdown(listener, shutdown).await;
    }
    let app = echo.clone().into_router();
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        echo.shutdown().await;
    })
    .await
}
