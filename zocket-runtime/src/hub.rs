//! State one server shares between its connections: the room map, the
//! connected clients by id, the configuration and the shutdown signal.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use zocket_core::ClientId;

use crate::adapter::Adapter;
use crate::config::Config;
use crate::peer::Peer;
use crate::room::RoomMap;

const CLIENT_SHARDS: usize = 16;

type ClientShard = RwLock<HashMap<ClientId, Arc<Peer>>>;

pub(crate) struct Hub {
    pub rooms: RoomMap,
    clients: Box<[ClientShard]>,
    hasher: RandomState,
    pub config: Config,
    /// Cancelled when the server shuts down; every connection watches it.
    pub shutdown: CancellationToken,
    /// Tracks connection tasks so shutdown can wait for them.
    pub tasks: TaskTracker,
    /// The number of registered connections, for [`Handle::wait_connections`](crate::Handle::wait_connections).
    pub connections: watch::Sender<usize>,
    /// The cluster adapter, if any. A `OnceLock` so the single-node send
    /// path pays one atomic load to learn there is none.
    pub adapter: OnceLock<Arc<dyn Adapter>>,
}

impl Hub {
    pub fn new(config: Config) -> Self {
        Hub {
            rooms: RoomMap::default(),
            clients: (0..CLIENT_SHARDS).map(|_| RwLock::default()).collect(),
            hasher: RandomState::new(),
            config,
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            connections: watch::Sender::new(0),
            adapter: OnceLock::new(),
        }
    }

    fn client_shard(&self, id: &str) -> &ClientShard {
        &self.clients[self.hasher.hash_one(id) as usize & (CLIENT_SHARDS - 1)]
    }

    pub fn register(&self, peer: &Arc<Peer>) {
        self.client_shard(peer.id.as_str())
            .write()
            .insert(peer.id.clone(), peer.clone());
        self.connections.send_modify(|n| *n += 1);
    }

    /// Removes a connection from every room and from the client map.
    pub fn unregister(&self, peer: &Peer) {
        let rooms = std::mem::take(&mut *peer.rooms.lock());
        let adapter = self.adapter.get();
        for room in rooms {
            self.rooms.leave(&room, &peer.id);
            if let Some(adapter) = adapter {
                adapter.left(&room, &peer.id);
            }
        }
        if self
            .client_shard(peer.id.as_str())
            .write()
            .remove(&peer.id)
            .is_some()
        {
            self.connections.send_modify(|n| *n -= 1);
        }
    }

    pub fn client(&self, id: &str) -> Option<Arc<Peer>> {
        self.client_shard(id).read().get(id).cloned()
    }

    pub fn for_each_client(&self, mut f: impl FnMut(&Arc<Peer>)) {
        for shard in self.clients.iter() {
            shard.read().values().for_each(&mut f);
        }
    }

    pub fn client_count(&self) -> usize {
        self.clients.iter().map(|s| s.read().len()).sum()
    }
}
