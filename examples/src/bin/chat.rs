//! The Chat Rooms server: `cargo run -p zocket-examples --bin chat`.

use clap::Parser;
use zocket_examples::chat;
use zocket_examples::server::Chat;

#[derive(Parser)]
#[command(about = "zocket chat rooms server")]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: String,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(&args.addr).await?;
    let addr = listener.local_addr()?;
    // Scripts (benchmarks, tests) read the port from this line.
    println!("LISTENING {}", addr.port());
    tracing::info!("chat server on ws://{addr}/");
    chat::Router::server(Chat)
        .serve_with_shutdown(listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
