//! The command-line flags shared by the chat servers (`chat` and
//! `chat-axum`), so both take the same flags and the benchmark kit and the
//! tests can start either one the same way.

use crate::chat;
use crate::server::Chat;

/// Flattened into each chat binary's own `clap::Parser` (which keeps its
/// own `about` text) with `#[command(flatten)]`.
#[derive(clap::Args, Debug, Clone)]
pub struct ChatFlags {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub addr: String,
    /// Share rooms with other chat servers through this Redis
    /// (`redis://127.0.0.1:6379`).
    #[arg(long, value_name = "URL", conflicts_with = "nats")]
    pub redis: Option<String>,
    /// Share rooms with other chat servers through this NATS
    /// (`nats://127.0.0.1:4222`).
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,
    /// Key / subject prefix on the bus: servers with the same prefix share
    /// rooms.
    #[arg(long, default_value = "zocket-chat")]
    pub prefix: String,
    /// Connections one IP address may hold (default 1024). Load tests that
    /// open thousands of connections from 127.0.0.1 raise it.
    #[arg(long)]
    pub max_connections_per_ip: Option<usize>,
    /// Messages per second one connection may send (burst: twice that);
    /// 0 turns the limit off (load tests publishing fast on one connection).
    #[arg(long)]
    pub rate_limit: Option<u32>,
    /// Answer permessage-deflate offers (RFC 7692): browsers offer it, so
    /// chat text travels compressed. Off by default, as in zocket.
    #[arg(long)]
    pub compression: bool,
    /// Forget a client the moment its connection drops (its rooms see it
    /// leave) instead of keeping its session (id, rooms) for 2 minutes and
    /// replaying what it missed when it comes back (PROTOCOL.md, section
    /// 12), which the chat does by default.
    #[arg(long)]
    pub no_resume: bool,
}

impl ChatFlags {
    /// zocket's production defaults, with the limits these flags lift.
    pub fn config(&self) -> zocket::Config {
        let mut config = zocket::Config::default();
        if let Some(max) = self.max_connections_per_ip {
            config = config.max_connections_per_ip(max);
        }
        if self.compression {
            config = config.compression(Some(zocket::Compression::default()));
        }
        if !self.no_resume {
            config = config.resume(Some(zocket::Resume::default()));
        }
        if let Some(rate) = self.rate_limit {
            config = config.rate_limit((rate > 0).then(|| zocket::RateLimit {
                per_second: rate,
                burst: rate.saturating_mul(2),
            }));
        }
        config
    }

    /// The chat server these flags describe: alone and in memory, or
    /// sharing rooms through `--redis` / `--nats`. Fails only when the bus
    /// URL is malformed; an unreachable bus is retried by the adapter.
    pub fn server(&self) -> std::io::Result<zocket::Zocket<chat::Router, Chat>> {
        let server = zocket::Zocket::<chat::Router, Chat>::with_config(Chat, self.config());
        Ok(if let Some(url) = &self.redis {
            let config = zocket_redis::RedisConfig::new(url.as_str()).prefix(self.prefix.as_str());
            let adapter = zocket_redis::RedisAdapter::new(config).map_err(std::io::Error::other)?;
            tracing::info!(node = %adapter.node_id(), %url, "sharing rooms through Redis");
            server.with_adapter(adapter)
        } else if let Some(url) = &self.nats {
            let config = zocket_nats::NatsConfig::new(url.as_str()).prefix(self.prefix.as_str());
            let adapter = zocket_nats::NatsAdapter::new(config).map_err(std::io::Error::other)?;
            tracing::info!(node = %adapter.node_id(), %url, "sharing rooms through NATS");
            server.with_adapter(adapter)
        } else {
            server
        })
    }
}
