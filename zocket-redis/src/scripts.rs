//! The registry's Lua scripts, kept as `.lua` files next to this one. Each
//! runs atomically in Redis, so a query never sees half a node.

use std::sync::LazyLock;

use redis::Script;

/// Members of a room whose node is alive, other than the asking node's.
pub(crate) static MEMBERS: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/members.lua")));

/// Removes one node's registry entries and its liveness key.
pub(crate) static DROP_NODE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        include_str!("scripts/drop_node_fn.lua"),
        include_str!("scripts/drop_node.lua")
    ))
});

/// Drops every registered node whose liveness key expired.
pub(crate) static COLLECT_DEAD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        include_str!("scripts/drop_node_fn.lua"),
        include_str!("scripts/collect_dead.lua")
    ))
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_scripts_share_one_drop_function() {
        let shared = include_str!("scripts/drop_node_fn.lua");
        assert!(shared.trim_end().ends_with("end"));
        // Distinct scripts, so distinct hashes for EVALSHA.
        let hashes = [
            MEMBERS.get_hash(),
            DROP_NODE.get_hash(),
            COLLECT_DEAD.get_hash(),
        ];
        assert_ne!(hashes[0], hashes[1]);
        assert_ne!(hashes[1], hashes[2]);
        assert_ne!(hashes[0], hashes[2]);
    }
}
