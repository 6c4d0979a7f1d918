//! What an adapter sees of its own node: local delivery and local
//! membership, behind a weak handle so the adapter never keeps a dropped
//! server alive.

use std::sync::Weak;

use zocket_core::ClientId;

use super::Inbound;
use crate::delivery::Delivery;

/// What a node offers its adapter; implemented by the server (see
/// `node.rs`), so that this seam depends on nothing of the server's.
pub(crate) trait Local: Send + Sync + 'static {
    fn deliver(&self, inbound: &Inbound) -> Delivery;
    fn members(&self, room: &str) -> Vec<ClientId>;
    fn has_room(&self, room: &str) -> bool;
    fn snapshot(&self) -> Vec<(String, Vec<ClientId>)>;
}

/// Never instantiated: the type behind [`LocalNode::detached`]'s empty
/// weak handle.
struct Detached;

impl Local for Detached {
    fn deliver(&self, _: &Inbound) -> Delivery {
        Delivery::default()
    }
    fn members(&self, _: &str) -> Vec<ClientId> {
        Vec::new()
    }
    fn has_room(&self, _: &str) -> bool {
        false
    }
    fn snapshot(&self) -> Vec<(String, Vec<ClientId>)> {
        Vec::new()
    }
}

/// The local side of a node, as its adapter sees it. Holds the server
/// weakly: a dropped server makes every call a no-op.
#[derive(Clone)]
pub struct LocalNode {
    local: Weak<dyn Local>,
}

impl LocalNode {
    pub(crate) fn new(local: Weak<dyn Local>) -> Self {
        LocalNode { local }
    }

    /// A node that is not (or no longer) there: what an adapter sees
    /// before it is bound.
    pub(crate) fn detached() -> Self {
        LocalNode {
            local: Weak::<Detached>::new(),
        }
    }

    /// Delivers a send from another node to this node's connections only
    /// (never forwarded again).
    pub fn deliver(&self, inbound: &Inbound) -> Delivery {
        self.local
            .upgrade()
            .map(|local| local.deliver(inbound))
            .unwrap_or_default()
    }

    /// Members of `room` on this node.
    pub fn members(&self, room: &str) -> Vec<ClientId> {
        self.local
            .upgrade()
            .map(|local| local.members(room))
            .unwrap_or_default()
    }

    /// Whether this node has members in `room`.
    pub fn has_room(&self, room: &str) -> bool {
        self.local
            .upgrade()
            .is_some_and(|local| local.has_room(room))
    }

    /// Every non-empty room of this node with its members: what an adapter
    /// re-registers after the bus lost its state.
    pub fn snapshot(&self) -> Vec<(String, Vec<ClientId>)> {
        self.local
            .upgrade()
            .map(|local| local.snapshot())
            .unwrap_or_default()
    }

    /// Whether the server is still alive.
    pub fn is_alive(&self) -> bool {
        self.local.strong_count() > 0
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::adapter::{Forward, ForwardTarget, NodeId};

    struct OneRoom;

    impl Local for OneRoom {
        fn deliver(&self, inbound: &Inbound) -> Delivery {
            Delivery {
                queued: inbound.except.len() + 1,
                ..Delivery::default()
            }
        }
        fn members(&self, room: &str) -> Vec<ClientId> {
            if room == "lobby" {
                vec![ClientId::from("client_1")]
            } else {
                Vec::new()
            }
        }
        fn has_room(&self, room: &str) -> bool {
            room == "lobby"
        }
        fn snapshot(&self) -> Vec<(String, Vec<ClientId>)> {
            vec![("lobby".into(), self.members("lobby"))]
        }
    }

    fn inbound() -> Inbound {
        let bytes = Forward {
            target: ForwardTarget::All,
            except: &[],
            except_origin: None,
            volatile: false,
            frame: "{}",
        }
        .encode(&NodeId::from("node_b"));
        Inbound::decode(&bytes).expect("decodes")
    }

    #[test]
    fn a_live_server_answers_through_the_handle() {
        let server: Arc<dyn Local> = Arc::new(OneRoom);
        let node = LocalNode::new(Arc::downgrade(&server));
        assert!(node.is_alive());
        assert_eq!(node.deliver(&inbound()).queued, 1);
        assert_eq!(node.members("lobby"), vec![ClientId::from("client_1")]);
        assert!(node.has_room("lobby"));
        assert!(!node.has_room("attic"));
        assert_eq!(node.snapshot().len(), 1);
    }

    #[test]
    fn a_dropped_server_makes_every_call_a_no_op() {
        let server: Arc<dyn Local> = Arc::new(OneRoom);
        let node = LocalNode::new(Arc::downgrade(&server));
        drop(server);
        assert!(!node.is_alive());
        assert_eq!(node.deliver(&inbound()), Delivery::default());
        assert!(node.members("lobby").is_empty());
        assert!(!node.has_room("lobby"));
        assert!(node.snapshot().is_empty());
    }

    #[test]
    fn a_detached_node_is_not_alive() {
        let node = LocalNode::detached();
        assert!(!node.is_alive());
        assert!(node.members("lobby").is_empty());
    }
}
