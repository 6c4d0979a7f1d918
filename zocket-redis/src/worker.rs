//! One connection to Redis as the cluster worker drives it: connect and
//! register, publish and (un)subscribe in order, heartbeat, leave.
//!
//! RESP3, so subscriptions and commands share the connection; messages
//! arrive as push frames, read here between batches of ops.

use std::collections::HashSet;
use std::sync::Arc;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, PushInfo, PushKind, RedisResult, Value};
use tokio::sync::mpsc;
use zocket_runtime::cluster::{Context, Failure, Op};

use crate::{registry, Redis};

/// A connection to Redis with this node registered on it.
pub struct Session {
    conn: MultiplexedConnection,
    pushes: mpsc::UnboundedReceiver<PushInfo>,
    /// `SSUBSCRIBE`/`SPUBLISH` (Redis 7+) or the plain commands.
    sharded: bool,
    /// Rooms whose channel this connection is subscribed to.
    subscribed: HashSet<String>,
}

/// Connects, registers this node with its rooms and subscribes to them.
pub(crate) async fn connect(cx: &Arc<Context<Redis>>) -> Result<Session, Failure> {
    let config = cx.config();
    let (push_tx, pushes) = mpsc::unbounded_channel::<PushInfo>();
    let conn_config = AsyncConnectionConfig::new()
        .set_push_sender(push_tx)
        .set_connection_timeout(Some(config.query_timeout))
        .set_response_timeout(Some(config.query_timeout));
    let mut conn = cx
        .bus()
        .client
        .get_multiplexed_async_connection_with_config(&conn_config)
        .await
        .map_err(Failure::lost)?;
    let sharded = match config.sharded {
        Some(sharded) => sharded,
        None => redis_major(&mut conn).await.map_err(Failure::lost)? >= 7,
    };
    let mut session = Session {
        conn: conn.clone(),
        pushes,
        sharded,
        subscribed: HashSet::new(),
    };
    // Redis may have restarted empty, or our entries may have been
    // collected while we were away.
    session.register(cx).await.map_err(Failure::lost)?;
    *cx.bus().conn.lock() = Some(conn);
    cx.set_connected();
    tracing::info!(node = %cx.node(), sharded, "connected to Redis");
    Ok(session)
}

async fn redis_major(conn: &mut MultiplexedConnection) -> RedisResult<u32> {
    let info: String = redis::cmd("INFO").arg("server").query_async(conn).await?;
    Ok(major_version(&info))
}

/// The major version in `INFO server`'s answer; 0 if it has none.
fn major_version(info: &str) -> u32 {
    info.lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .and_then(|v| v.split('.').next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// The payload of a pub/sub message push (`[channel, payload]`).
fn message_payload(push: &PushInfo) -> Option<&[u8]> {
    if !matches!(push.kind, PushKind::Message | PushKind::SMessage) {
        return None;
    }
    match push.data.get(1) {
        Some(Value::BulkString(payload)) => Some(payload),
        _ => None,
    }
}

impl Session {
    /// Clears this node's registry, then writes it again from local state
    /// and subscribes to the cluster channel and every local room (before
    /// the registry shows their members).
    async fn register(&mut self, cx: &Context<Redis>) -> RedisResult<()> {
        let keys = &cx.bus().keys;
        registry::clear(&mut self.conn, keys, cx.node()).await?;
        self.subscribed.clear();
        self.subscribe(&keys.all).await?;
        let rooms = cx.local().snapshot();
        let mut pipe = redis::pipe();
        registry::write_node(&mut pipe, keys, cx.node(), cx.config().node_timeout, &rooms);
        for (room, _) in rooms {
            self.subscribe(&keys.room_channel(&room)).await?;
            self.subscribed.insert(room);
        }
        pipe.exec_async(&mut self.conn).await
    }

    async fn subscribe(&mut self, channel: &str) -> RedisResult<()> {
        self.subscription(channel, true).await
    }

    async fn unsubscribe(&mut self, channel: &str) -> RedisResult<()> {
        self.subscription(channel, false).await
    }

    async fn subscription(&mut self, channel: &str, subscribe: bool) -> RedisResult<()> {
        let command = match (self.sharded, subscribe) {
            (true, true) => "SSUBSCRIBE",
            (true, false) => "SUNSUBSCRIBE",
            (false, true) => "SUBSCRIBE",
            (false, false) => "UNSUBSCRIBE",
        };
        redis::cmd(command)
            .arg(channel)
            .exec_async(&mut self.conn)
            .await
    }

    /// Runs ops in order: consecutive publishes and registry writes go out
    /// as one pipeline; a subscription change first flushes what precedes
    /// it, so order holds.
    async fn run(&mut self, cx: &Context<Redis>, ops: &mut Vec<Op>) -> RedisResult<u64> {
        let keys = &cx.bus().keys;
        let node = cx.node();
        let publish = if self.sharded { "SPUBLISH" } else { "PUBLISH" };
        let mut pipe = redis::pipe();
        let mut published = 0u64;
        let mut pending = false;
        for op in ops.drain(..) {
            match op {
                Op::Publish { route, payload } => {
                    pipe.cmd(publish)
                        .arg(keys.channel(&route))
                        .arg(payload)
                        .ignore();
                    published += 1;
                    pending = true;
                }
                Op::Join { room, client } => {
                    if !self.subscribed.contains(&room) {
                        if pending {
                            pipe.exec_async(&mut self.conn).await?;
                            pipe.clear();
                        }
                        self.subscribe(&keys.room_channel(&room)).await?;
                        self.subscribed.insert(room.clone());
                    }
                    registry::join(&mut pipe, keys, node, &room, &client);
                    pending = true;
                }
                Op::Leave { room, client } => {
                    registry::leave(&mut pipe, keys, node, &room, &client);
                    pending = true;
                    if !cx.local().has_room(&room) && self.subscribed.remove(&room) {
                        pipe.exec_async(&mut self.conn).await?;
                        pipe.clear();
                        pending = false;
                        self.unsubscribe(&keys.room_channel(&room)).await?;
                    }
                }
            }
        }
        if pending {
            pipe.exec_async(&mut self.conn).await?;
        }
        Ok(published)
    }

    /// Renews this node's liveness and collects dead nodes.
    async fn beat(&mut self, cx: &Context<Redis>) -> RedisResult<()> {
        let keys = &cx.bus().keys;
        let alive =
            registry::renew(&mut self.conn, keys, cx.node(), cx.config().node_timeout).await?;
        if !alive {
            tracing::warn!(node = %cx.node(), "our registration had expired; re-registering");
            self.register(cx).await?;
        }
        let removed = registry::collect_dead(&mut self.conn, keys).await?;
        if removed > 0 {
            tracing::info!(removed, "dropped dead nodes from the registry");
        }
        Ok(())
    }
}

impl zocket_runtime::cluster::Session<Redis> for Session {
    async fn recv(&mut self, cx: &Arc<Context<Redis>>) -> Result<(), Failure> {
        let Some(push) = self.pushes.recv().await else {
            return Err(Failure::lost("push channel closed"));
        };
        if push.kind == PushKind::Disconnection {
            return Err(Failure::lost("connection closed"));
        }
        if let Some(payload) = message_payload(&push) {
            cx.receive(payload);
        }
        Ok(())
    }

    async fn apply(&mut self, cx: &Arc<Context<Redis>>, ops: &mut Vec<Op>) -> Result<u64, Failure> {
        self.run(cx, ops).await.map_err(Failure::lost)
    }

    async fn heartbeat(&mut self, cx: &Arc<Context<Redis>>) -> Result<(), Failure> {
        self.beat(cx).await.map_err(Failure::lost)
    }

    async fn resync(&mut self, cx: &Arc<Context<Redis>>) -> Result<(), Failure> {
        self.register(cx).await.map_err(Failure::lost)
    }

    async fn leave(&mut self, cx: &Arc<Context<Redis>>) -> Result<(), Failure> {
        registry::deregister(&mut self.conn, &cx.bus().keys, cx.node())
            .await
            .map_err(Failure::lost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_major_version_is_read_from_info() {
        assert_eq!(
            major_version("# Server\r\nredis_version:7.2.4\r\nredis_mode:standalone\r\n"),
            7
        );
        assert_eq!(major_version("redis_version:6.0.16"), 6);
        assert_eq!(major_version("no version here"), 0);
        assert_eq!(major_version("redis_version:x.1"), 0);
    }

    #[test]
    fn only_message_pushes_carry_a_payload() {
        let message = PushInfo {
            kind: PushKind::SMessage,
            data: vec![
                Value::BulkString(b"chan".to_vec()),
                Value::BulkString(b"body".to_vec()),
            ],
        };
        assert_eq!(message_payload(&message), Some(&b"body"[..]));
        let subscribed = PushInfo {
            kind: PushKind::Subscribe,
            data: vec![Value::BulkString(b"chan".to_vec()), Value::Int(1)],
        };
        assert_eq!(message_payload(&subscribed), None);
        let short = PushInfo {
            kind: PushKind::Message,
            data: vec![Value::BulkString(b"chan".to_vec())],
        };
        assert_eq!(message_payload(&short), None);
    }
}
