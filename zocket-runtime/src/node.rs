//! This server as its cluster adapter sees it ([`LocalNode`]), and the
//! cluster-wide membership query.

use std::collections::HashSet;
use std::sync::Arc;

use zocket_core::ClientId;

use crate::adapter::{AdapterError, Inbound, Local, LocalNode};
use crate::delivery::Delivery;
use crate::hub::Hub;
use crate::send;

impl Local for Hub {
    fn deliver(&self, inbound: &Inbound) -> Delivery {
        send::deliver_inbound(self, inbound)
    }

    fn members(&self, room: &str) -> Vec<ClientId> {
        self.rooms.members(room)
    }

    fn has_room(&self, room: &str) -> bool {
        self.rooms.len(room) > 0
    }

    fn snapshot(&self) -> Vec<(String, Vec<ClientId>)> {
        let mut rooms = Vec::new();
        self.rooms.for_each_room(|name, members| {
            rooms.push((name.to_owned(), members));
        });
        rooms
    }
}

/// The adapter's view of `hub`.
pub(crate) fn local_node(hub: &Arc<Hub>) -> LocalNode {
    let local: Arc<dyn Local> = hub.clone();
    LocalNode::new(Arc::downgrade(&local))
}

/// Local members plus the adapter's remote members, without duplicates
/// (a client id is unique to one node, but a registry may lag a move).
pub(crate) async fn members_all(hub: &Hub, room: &str) -> Result<Vec<ClientId>, AdapterError> {
    let mut members = hub.rooms.members(room);
    let Some(adapter) = hub.adapter.get() else {
        return Ok(members);
    };
    let remote = adapter.remote_members(room).await?;
    if !remote.is_empty() {
        let local: HashSet<ClientId> = members.iter().cloned().collect();
        members.extend(remote.into_iter().filter(|id| !local.contains(id)));
    }
    Ok(members)
}
