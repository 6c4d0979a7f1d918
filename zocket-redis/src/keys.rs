//! Names of the registry keys and pub/sub channels under one prefix.

use zocket_runtime::adapter::NodeId;
use zocket_runtime::cluster::Route;

pub(crate) struct Keys {
    prefix: String,
    /// `{prefix}:` — every registry key starts with it: one hash tag, so
    /// the registry lives in one slot and its scripts are valid on Redis
    /// Cluster.
    pub(crate) base: String,
    /// The set of registered nodes.
    pub(crate) nodes: String,
    /// The channel for multi-room sends, client ids and broadcasts.
    pub(crate) all: String,
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Self {
        let base = format!("{{{prefix}}}:");
        Keys {
            prefix: prefix.to_owned(),
            nodes: format!("{base}nodes"),
            all: format!("{prefix}:all"),
            base,
        }
    }

    /// A room's hash: client id → node.
    pub(crate) fn room(&self, room: &str) -> String {
        format!("{}room:{room}", self.base)
    }

    /// Prefix of the liveness keys, as the membership script takes it.
    pub(crate) fn alive_prefix(&self) -> String {
        format!("{}alive:", self.base)
    }

    /// A node's liveness key, expiring unless its heartbeat renews it.
    pub(crate) fn alive(&self, node: &NodeId) -> String {
        format!("{}alive:{node}", self.base)
    }

    /// The set of `"<client> <room>"` entries a node wrote, so its entries
    /// can be removed without scanning every room.
    pub(crate) fn owned(&self, node: &NodeId) -> String {
        format!("{}owned:{node}", self.base)
    }

    /// A room's channel. Not under the `{prefix}` hash tag: in Redis
    /// Cluster, room channels spread over the shards.
    pub(crate) fn room_channel(&self, room: &str) -> String {
        format!("{}:r:{room}", self.prefix)
    }

    /// Where a publish goes.
    pub(crate) fn channel(&self, route: &Route) -> String {
        match route {
            Route::Room(room) => self.room_channel(room),
            Route::All => self.all.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_keys_share_the_hash_tag_and_channels_do_not() {
        let keys = Keys::new("app");
        let node = NodeId::from("node_1");
        assert_eq!(keys.base, "{app}:");
        assert_eq!(keys.nodes, "{app}:nodes");
        assert_eq!(keys.room("lobby"), "{app}:room:lobby");
        assert_eq!(keys.alive(&node), "{app}:alive:node_1");
        assert_eq!(keys.alive_prefix(), "{app}:alive:");
        assert_eq!(keys.owned(&node), "{app}:owned:node_1");
        assert_eq!(keys.channel(&Route::Room("a b".into())), "app:r:a b");
        assert_eq!(keys.channel(&Route::All), "app:all");
    }
}
