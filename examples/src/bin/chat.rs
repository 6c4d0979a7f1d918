//! The Chat Rooms server: `cargo run -p zocket-examples --bin chat`, then
//! open http://127.0.0.1:3000/ for the web page. WebSocket clients connect
//! to the same address (`ws://127.0.0.1:3000/`).

use clap::Parser;
use zocket_examples::chat;
use zocket_examples::server::Chat;

#[derive(Parser)]
#[command(about = "zocket chat rooms server: web page and WebSocket on one port")]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: String,
    /// Share rooms with other chat servers through this Redis
    /// (`redis://127.0.0.1:6379`).
    #[arg(long, value_name = "URL", conflicts_with = "nats")]
    redis: Option<String>,
    /// Share rooms with other chat servers through this NATS
    /// (`nats://127.0.0.1:4222`).
    #[arg(long, value_name = "URL")]
    nats: Option<String>,
    /// Key / subject prefix on the bus: servers with the same prefix share
    /// rooms.
    #[arg(long, default_value = "zocket-chat")]
    prefix: String,
    /// Connections one IP address may hold (default 1024). Load tests that
    /// open thousands of connections from 127.0.0.1 raise it.
    #[arg(long)]
    max_connections_per_ip: Option<usize>,
    /// Messages per second one connection may send (burst: twice that);
    /// 0 turns the limit off (load tests publishing fast on one connection).
    #[arg(long)]
    rate_limit: Option<u32>,
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
    tracing::info!("chat on http://{addr}/ (WebSocket: ws://{addr}/)");
    let mut config = zocket::Config::default();
    if let Some(max) = args.max_connections_per_ip {
        config = config.max_connections_per_ip(max);
    }
    if let Some(rate) = args.rate_limit {
        config = config.rate_limit((rate > 0).then(|| zocket::RateLimit {
            per_second: rate,
            burst: rate.saturating_mul(2),
        }));
    }
    let server = zocket::Zocket::<chat::Router, Chat>::with_config(Chat, config);
    // Without --redis or --nats the server runs alone, in memory.
    let server = if let Some(url) = &args.redis {
        let config = zocket_redis::RedisConfig::new(url.as_str()).prefix(args.prefix.as_str());
        let adapter = zocket_redis::RedisAdapter::new(config).map_err(std::io::Error::other)?;
        tracing::info!(node = %adapter.node_id(), %url, "sharing rooms through Redis");
        server.with_adapter(adapter)
    } else if let Some(url) = &args.nats {
        let config = zocket_nats::NatsConfig::new(url.as_str()).prefix(args.prefix.as_str());
        let adapter = zocket_nats::NatsAdapter::new(config).map_err(std::io::Error::other)?;
        tracing::info!(node = %adapter.node_id(), %url, "sharing rooms through NATS");
        server.with_adapter(adapter)
    } else {
        server
    };

    // The web page at `/`, and the WebSocket on the same path by upgrade.
    zocket_examples::web::serve(listener, server, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
