//! The node registry in Redis: `{prefix}:room:<room>` hashes map client id
//! → node, `{prefix}:alive:<node>` keys expire unless the node's heartbeat
//! renews them, `{prefix}:owned:<node>` lists what a node wrote so it can
//! be removed in one script. Membership queries keep only members of live
//! nodes, so a crashed node's members vanish within the node timeout.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{Pipeline, RedisResult};
use zocket_core::ClientId;
use zocket_runtime::adapter::NodeId;

use crate::keys::Keys;
use crate::scripts::{COLLECT_DEAD, DROP_NODE, MEMBERS};

fn owned_entry(client: &ClientId, room: &str) -> String {
    // Client ids never contain a space; room names may.
    format!("{client} {room}")
}

fn millis(timeout: Duration) -> u64 {
    u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)
}

/// Removes every entry of `node`, and its liveness key.
pub(crate) async fn clear(
    conn: &mut MultiplexedConnection,
    keys: &Keys,
    node: &NodeId,
) -> RedisResult<()> {
    DROP_NODE
        .arg(&keys.base)
        .arg(node.as_str())
        .invoke_async::<i64>(conn)
        .await?;
    Ok(())
}

/// Adds to `pipe` the node itself (alive for `node_timeout`) and every
/// member of `rooms`.
pub(crate) fn write_node(
    pipe: &mut Pipeline,
    keys: &Keys,
    node: &NodeId,
    node_timeout: Duration,
    rooms: &[(String, Vec<ClientId>)],
) {
    pipe.sadd(&keys.nodes, node.as_str()).ignore();
    pipe.cmd("SET")
        .arg(keys.alive(node))
        .arg(1)
        .arg("PX")
        .arg(millis(node_timeout))
        .ignore();
    for (room, members) in rooms {
        for client in members {
            join(pipe, keys, node, room, client);
        }
    }
}

/// Adds to `pipe` that `client` of `node` is in `room`.
pub(crate) fn join(pipe: &mut Pipeline, keys: &Keys, node: &NodeId, room: &str, client: &ClientId) {
    pipe.hset(keys.room(room), client.as_str(), node.as_str())
        .ignore();
    pipe.sadd(keys.owned(node), owned_entry(client, room))
        .ignore();
}

/// Adds to `pipe` that `client` of `node` left `room`.
pub(crate) fn leave(
    pipe: &mut Pipeline,
    keys: &Keys,
    node: &NodeId,
    room: &str,
    client: &ClientId,
) {
    pipe.hdel(keys.room(room), client.as_str()).ignore();
    pipe.srem(keys.owned(node), owned_entry(client, room))
        .ignore();
}

/// Renews `node`'s liveness. False when it had already expired (a long
/// stall): others may have dropped its entries, so it must register again.
pub(crate) async fn renew(
    conn: &mut MultiplexedConnection,
    keys: &Keys,
    node: &NodeId,
    node_timeout: Duration,
) -> RedisResult<bool> {
    let previous: Option<String> = redis::cmd("SET")
        .arg(keys.alive(node))
        .arg(1)
        .arg("PX")
        .arg(millis(node_timeout))
        .arg("GET")
        .query_async(conn)
        .await?;
    Ok(previous.is_some())
}

/// Drops every node whose liveness expired; how many.
pub(crate) async fn collect_dead(
    conn: &mut MultiplexedConnection,
    keys: &Keys,
) -> RedisResult<i64> {
    COLLECT_DEAD.arg(&keys.base).invoke_async(conn).await
}

/// Leaves the registry: this node's entries, then those of crashed nodes,
/// so the last node to leave an abandoned prefix leaves nothing behind.
pub(crate) async fn deregister(
    conn: &mut MultiplexedConnection,
    keys: &Keys,
    node: &NodeId,
) -> RedisResult<()> {
    clear(conn, keys, node).await?;
    collect_dead(conn, keys).await?;
    Ok(())
}

/// Members of `room` on live nodes other than `node`.
pub(crate) async fn members(
    conn: &mut MultiplexedConnection,
    keys: &Keys,
    node: &NodeId,
    room: &str,
) -> RedisResult<Vec<ClientId>> {
    let mut invocation = MEMBERS.prepare_invoke();
    invocation
        .key(keys.room(room))
        .arg(keys.alive_prefix())
        .arg(node.as_str());
    let ids: Vec<String> = invocation.invoke_async(conn).await?;
    Ok(ids.into_iter().map(ClientId::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The machine's Redis, or `None` (the test then says it skipped).
    async fn redis() -> Option<MultiplexedConnection> {
        let client = redis::Client::open("redis://127.0.0.1:6379").ok()?;
        let connect = client.get_multiplexed_async_connection();
        match tokio::time::timeout(Duration::from_secs(2), connect).await {
            Ok(Ok(conn)) => Some(conn),
            _ => {
                eprintln!("skipped: no Redis on 127.0.0.1:6379");
                None
            }
        }
    }

    fn sorted(mut ids: Vec<ClientId>) -> Vec<String> {
        let mut out: Vec<String> = ids.drain(..).map(|c| c.as_str().to_owned()).collect();
        out.sort();
        out
    }

    #[tokio::test]
    async fn queries_see_live_nodes_only_and_dead_ones_are_collected() {
        let Some(mut conn) = redis().await else {
            return;
        };
        let keys = Keys::new(&format!("registry-test-{}", std::process::id()));
        let (a, b, asker) = (NodeId::generate(), NodeId::generate(), NodeId::generate());
        let alive = Duration::from_secs(30);
        let mut pipe = redis::pipe();
        write_node(
            &mut pipe,
            &keys,
            &a,
            alive,
            &[(
                "a room".into(),
                vec![ClientId::from("client_a1"), ClientId::from("client_a2")],
            )],
        );
        // `b` crashed: registered with a member, its liveness key gone.
        pipe.sadd(&keys.nodes, b.as_str()).ignore();
        join(&mut pipe, &keys, &b, "a room", &ClientId::from("client_b"));
        pipe.exec_async(&mut conn).await.expect("written");

        let seen = members(&mut conn, &keys, &asker, "a room")
            .await
            .expect("query");
        assert_eq!(sorted(seen), ["client_a1", "client_a2"]);
        // The asker's own members are not reported.
        let own = members(&mut conn, &keys, &a, "a room")
            .await
            .expect("query");
        assert!(own.is_empty());

        assert_eq!(collect_dead(&mut conn, &keys).await.expect("collected"), 1);
        let room: Vec<String> = redis::cmd("HKEYS")
            .arg(keys.room("a room"))
            .query_async(&mut conn)
            .await
            .expect("hkeys");
        assert!(!room.contains(&"client_b".to_owned()));

        let mut pipe = redis::pipe();
        leave(&mut pipe, &keys, &a, "a room", &ClientId::from("client_a2"));
        pipe.exec_async(&mut conn).await.expect("left");
        assert!(renew(&mut conn, &keys, &a, alive).await.expect("renewed"));
        let seen = members(&mut conn, &keys, &asker, "a room")
            .await
            .expect("query");
        assert_eq!(sorted(seen), ["client_a1"]);

        deregister(&mut conn, &keys, &a)
            .await
            .expect("deregistered");
        let left: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", keys.base))
            .query_async(&mut conn)
            .await
            .expect("keys");
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}
