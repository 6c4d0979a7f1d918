//! State one server shares between its connections: the room map, the
//! connected clients by id, the configuration and the shutdown signal; and
//! the one place membership changes (join, leave, leave all), so that the
//! connection's own room set, the room map and the cluster adapter never
//! disagree.

use std::any::Any;
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
use crate::metrics;
use crate::peer::Peer;
use crate::room::RoomMap;
use crate::session::Sessions;

const CLIENT_SHARDS: usize = 16;

/// Why a join was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RoomError {
    /// The name is longer than `Config::max_room_name_len`.
    #[error("room name is {len} bytes; the limit is {max}")]
    NameTooLong {
        /// The name's length, in bytes.
        len: usize,
        /// The limit, in bytes.
        max: usize,
    },
    /// The connection is in `Config::max_rooms_per_connection` rooms already.
    #[error("a connection may be in at most {max} rooms")]
    TooManyRooms {
        /// The limit.
        max: usize,
    },
}

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
    /// The router's message types as metric labels.
    pub types: metrics::Types,
    /// Resumable sessions, each a connection's `Ctx` (empty unless
    /// `Config::resume` is set).
    pub sessions: Sessions<dyn Any + Send + Sync>,
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
            types: metrics::Types::default(),
            sessions: Sessions::default(),
        }
    }

    /// Labels metrics with the router's message types (see [`metrics`]).
    pub fn with_types(mut self, types: metrics::Types) -> Self {
        self.types = types;
        self
    }

    fn client_shard(&self, id: &str) -> &ClientShard {
        &self.clients[self.hasher.hash_one(id) as usize & (CLIENT_SHARDS - 1)]
    }

    pub fn register(&self, peer: &Arc<Peer>) {
        self.client_shard(peer.id.as_str())
            .write()
            .insert(peer.id.clone(), peer.clone());
        self.connections.send_modify(|n| *n += 1);
        metrics::connection_opened();
    }

    /// Adds `peer` to `room`: `Ok(false)` if it was a member already.
    /// Refused past the caps on room-name length and rooms per connection.
    pub fn join(&self, peer: &Arc<Peer>, room: &str) -> Result<bool, RoomError> {
        let config = &self.config;
        if room.len() > config.max_room_name_len {
            return Err(RoomError::NameTooLong {
                len: room.len(),
                max: config.max_room_name_len,
            });
        }
        let mut mine = peer.rooms.lock();
        if mine.contains(room) {
            return Ok(false);
        }
        if mine.len() >= config.max_rooms_per_connection {
            return Err(RoomError::TooManyRooms {
                max: config.max_rooms_per_connection,
            });
        }
        let room: Arc<str> = room.into();
        mine.insert(room.clone());
        self.rooms.join(&room, peer);
        if let Some(adapter) = self.adapter.get() {
            adapter.joined(&room, &peer.id);
        }
        Ok(true)
    }

    /// Removes `peer` from `room`; false if it was not a member.
    pub fn leave(&self, peer: &Peer, room: &str) -> bool {
        if !peer.rooms.lock().remove(room) {
            return false;
        }
        self.rooms.leave(room, &peer.id);
        if let Some(adapter) = self.adapter.get() {
            adapter.left(room, &peer.id);
        }
        true
    }

    /// Removes `peer` from every room it is in.
    pub fn leave_all(&self, peer: &Peer) {
        let rooms = std::mem::take(&mut *peer.rooms.lock());
        let adapter = self.adapter.get();
        for room in rooms {
            self.rooms.leave(&room, &peer.id);
            if let Some(adapter) = adapter {
                adapter.left(&room, &peer.id);
            }
        }
    }

    /// Removes a connection from every room and from the client map.
    pub fn unregister(&self, peer: &Peer) {
        self.leave_all(peer);
        if self
            .client_shard(peer.id.as_str())
            .write()
            .remove(&peer.id)
            .is_some()
        {
            self.connections.send_modify(|n| *n -= 1);
            metrics::connection_closed();
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
