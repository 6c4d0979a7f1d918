//! The Chat Rooms server: `cargo run -p zocket-examples --bin chat`, then
//! open http://127.0.0.1:3000/ for the web page. WebSocket clients connect
//! to the same address (`ws://127.0.0.1:3000/`); Prometheus scrapes
//! `/metrics` and health checks ask `/healthz` there too
//! (docs/operations.md). Stops gracefully on Ctrl-C or SIGTERM. To host
//! the same chat inside an axum app of your own, see `chat-axum`.

use clap::Parser;
use zocket_examples::cli::ChatFlags;

#[derive(Parser)]
#[command(about = "zocket chat rooms server: web page and WebSocket on one port")]
struct Args {
    #[command(flatten)]
    chat: ChatFlags,
    /// Install no metrics recorder (and serve no `/metrics`): zocket's
    /// metrics calls then cost nothing, which the benchmarks compare.
    #[arg(long)]
    no_metrics: bool,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    zocket_examples::init_tracing();
    let args = Args::parse();
    let shutdown = zocket_examples::shutdown_signal();
    let metrics = if args.no_metrics {
        None
    } else {
        Some(zocket_examples::ops::install_metrics().map_err(std::io::Error::other)?)
    };
    let server = args.chat.server()?;
    let listener = tokio::net::TcpListener::bind(&args.chat.addr).await?;
    let addr = listener.local_addr()?;
    // Scripts (benchmarks, tests) read the port from this line.
    println!("LISTENING {}", addr.port());
    tracing::info!(
        "chat on http://{addr}/ (WebSocket: ws://{addr}/, metrics: /metrics, health: /healthz)"
    );

    // The web page at `/`, the WebSocket on the same path by upgrade, and
    // `/metrics` and `/healthz` for operators.
    zocket_examples::web::serve(listener, server, metrics, shutdown).await
}
