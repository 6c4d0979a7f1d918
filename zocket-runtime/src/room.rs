//! The room map: room name → members, sharded by a hash of the room name so
//! that rooms on different shards never contend.
//!
//! Each room keeps its members in a flat `Vec` (fan-out walks a slice) plus
//! an index from client id to position (join and leave are O(1) with
//! `swap_remove`). Locks are never held across an `.await`; an empty room is
//! removed at once.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use parking_lot::RwLock;
use zocket_core::ClientId;

use crate::peer::Peer;

const SHARDS: usize = 64;

type Shard = RwLock<HashMap<Arc<str>, Room>>;

#[derive(Default)]
struct Room {
    members: Vec<Arc<Peer>>,
    index: HashMap<ClientId, usize>,
}

pub(crate) struct RoomMap {
    shards: Box<[Shard]>,
    hasher: RandomState,
}

impl Default for RoomMap {
    fn default() -> Self {
        RoomMap {
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            hasher: RandomState::new(),
        }
    }
}

impl RoomMap {
    fn shard(&self, room: &str) -> &Shard {
        let h = self.hasher.hash_one(room) as usize;
        &self.shards[h & (SHARDS - 1)]
    }

    /// Adds `peer` to `room`; false if it was already a member.
    pub fn join(&self, room: &Arc<str>, peer: &Arc<Peer>) -> bool {
        let mut shard = self.shard(room).write();
        let entry = shard.entry(room.clone()).or_insert_with(|| {
            crate::metrics::room_opened();
            Room::default()
        });
        if entry.index.contains_key(&peer.id) {
            return false;
        }
        entry.index.insert(peer.id.clone(), entry.members.len());
        entry.members.push(peer.clone());
        true
    }

    /// Removes the member `id` from `room`; false if it was not a member.
    pub fn leave(&self, room: &str, id: &ClientId) -> bool {
        let mut shard = self.shard(room).write();
        let Some(entry) = shard.get_mut(room) else {
            return false;
        };
        let Some(pos) = entry.index.remove(id) else {
            return false;
        };
        entry.members.swap_remove(pos);
        if let Some(moved) = entry.members.get(pos) {
            entry.index.insert(moved.id.clone(), pos);
        }
        if entry.members.is_empty() {
            shard.remove(room);
            crate::metrics::room_closed();
        }
        true
    }

    /// Calls `f` for every member of `room` under the shard's read lock.
    /// `f` must not block or await; pushing onto a peer's queue is fine.
    pub fn for_each_member(&self, room: &str, mut f: impl FnMut(&Arc<Peer>)) {
        let shard = self.shard(room).read();
        if let Some(entry) = shard.get(room) {
            entry.members.iter().for_each(&mut f);
        }
    }

    pub fn members(&self, room: &str) -> Vec<ClientId> {
        let mut ids = Vec::new();
        self.for_each_member(room, |p| ids.push(p.id.clone()));
        ids
    }

    pub fn len(&self, room: &str) -> usize {
        self.shard(room)
            .read()
            .get(room)
            .map_or(0, |r| r.members.len())
    }

    /// Calls `f` with each non-empty room and its members, one shard at a
    /// time (for an adapter re-registering this node's rooms).
    pub fn for_each_room(&self, mut f: impl FnMut(&str, Vec<ClientId>)) {
        for shard in self.shards.iter() {
            let rooms: Vec<(Arc<str>, Vec<ClientId>)> = shard
                .read()
                .iter()
                .map(|(name, room)| {
                    let ids = room.members.iter().map(|p| p.id.clone()).collect();
                    (name.clone(), ids)
                })
                .collect();
            for (name, ids) in rooms {
                f(&name, ids);
            }
        }
    }

    /// Number of non-empty rooms.
    pub fn room_count(&self) -> usize {
        self.shards.iter().map(|s| s.read().len()).sum()
    }

    /// Checks that every room's index matches its member list and that no
    /// room is empty. For tests.
    #[cfg(test)]
    pub fn assert_consistent(&self) {
        for shard in self.shards.iter() {
            for (name, room) in shard.read().iter() {
                assert!(!room.members.is_empty(), "empty room {name} kept");
                assert_eq!(room.members.len(), room.index.len(), "room {name}");
                for (i, p) in room.members.iter().enumerate() {
                    assert_eq!(room.index.get(&p.id), Some(&i), "room {name}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    fn peer(n: usize) -> Arc<Peer> {
        Peer::new(ClientId::from(format!("c{n}")), 16, 1 << 16)
    }

    #[test]
    fn join_leave_and_free_empty_rooms() {
        let map = RoomMap::default();
        let (a, b) = (peer(1), peer(2));
        let room: Arc<str> = "general".into();
        assert!(map.join(&room, &a));
        assert!(!map.join(&room, &a));
        assert!(map.join(&room, &b));
        assert_eq!(map.len("general"), 2);
        assert!(map.leave("general", &a.id));
        assert!(!map.leave("general", &a.id));
        assert_eq!(map.members("general"), vec![b.id.clone()]);
        assert!(map.leave("general", &b.id));
        assert_eq!(map.room_count(), 0);
        map.assert_consistent();
    }

    /// Many threads join and leave overlapping rooms with a fixed seed each;
    /// the map must end equal to the model built from the same operations.
    #[test]
    fn concurrent_joins_and_leaves_match_a_model() {
        let map = Arc::new(RoomMap::default());
        let threads = 8;
        let peers: Vec<Arc<Peer>> = (0..threads * 4).map(peer).collect();
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let map = map.clone();
                let mine: Vec<Arc<Peer>> = peers[t * 4..t * 4 + 4].to_vec();
                std::thread::spawn(move || {
                    // Each thread owns its peers, as each connection task
                    // owns its own membership; rooms are shared.
                    let mut model: BTreeMap<String, BTreeSet<ClientId>> = BTreeMap::new();
                    let mut seed = 0x9e37_79b9_u64 + t as u64;
                    for _ in 0..20_000 {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        let p = &mine[(seed % 4) as usize];
                        let room = format!("r{}", (seed >> 8) % 10);
                        let arc: Arc<str> = room.as_str().into();
                        let set = model.entry(room.clone()).or_default();
                        if seed & 0x10000 == 0 {
                            assert_eq!(map.join(&arc, p), set.insert(p.id.clone()));
                        } else {
                            assert_eq!(map.leave(&room, &p.id), set.remove(&p.id));
                        }
                    }
                    model
                })
            })
            .collect();
        let mut expected: BTreeMap<String, BTreeSet<ClientId>> = BTreeMap::new();
        for h in handles {
            for (room, ids) in h.join().unwrap() {
                expected.entry(room).or_default().extend(ids);
            }
        }
        map.assert_consistent();
        for r in 0..10 {
            let room = format!("r{r}");
            let got: BTreeSet<ClientId> = map.members(&room).into_iter().collect();
            assert_eq!(
                got,
                expected.get(&room).cloned().unwrap_or_default(),
                "{room}"
            );
        }
    }
}

/// Property tests: the room map, driven through the same calls the runtime
/// makes (`Rooms::join`/`leave`, `Hub::unregister`, `Sender::to_room`),
/// against a model of plain sets.
#[cfg(test)]
mod properties {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Arc;

    use proptest::prelude::*;
    use zocket_core::ClientId;

    use crate::config::Config;
    use crate::hub::Hub;
    use crate::peer::Peer;
    use crate::send::Sender;
    use crate::ws::WireFrame;

    const ROOMS: usize = 4;

    #[derive(Debug, Clone)]
    enum Op {
        Join(usize, usize),
        Leave(usize, usize),
        Disconnect(usize),
        /// Send to these rooms (possibly overlapping, possibly repeated).
        Send(Vec<usize>),
    }

    fn op(peers: usize) -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..peers, 0..ROOMS).prop_map(|(p, r)| Op::Join(p, r)),
            2 => (0..peers, 0..ROOMS).prop_map(|(p, r)| Op::Leave(p, r)),
            1 => (0..peers).prop_map(Op::Disconnect),
            3 => prop::collection::vec(0..ROOMS, 1..4).prop_map(Op::Send),
        ]
    }

    fn room(r: usize) -> String {
        format!("room-{r}")
    }

    fn new_peer(name: String) -> Arc<Peer> {
        Peer::new(ClientId::from(name), 1 << 20, 1 << 30)
    }

    /// What `Rooms::join` does, minus the caps.
    fn join(hub: &Hub, peer: &Arc<Peer>, r: &str) -> bool {
        let mut mine = peer.rooms.lock();
        if mine.contains(r) {
            return false;
        }
        let r: Arc<str> = r.into();
        mine.insert(r.clone());
        hub.rooms.join(&r, peer)
    }

    /// What `Rooms::leave` does.
    fn leave(hub: &Hub, peer: &Peer, r: &str) -> bool {
        let mut mine = peer.rooms.lock();
        mine.remove(r) && hub.rooms.leave(r, &peer.id)
    }

    type Model = BTreeMap<String, BTreeSet<ClientId>>;

    fn model_join(model: &mut Model, r: String, id: &ClientId) -> bool {
        model.entry(r).or_default().insert(id.clone())
    }

    fn model_leave(model: &mut Model, r: &str, id: &ClientId) -> bool {
        let removed = model.get_mut(r).is_some_and(|s| s.remove(id));
        if model.get(r).is_some_and(BTreeSet::is_empty) {
            model.remove(r);
        }
        removed
    }

    fn frames_text(frames: Vec<WireFrame>) -> Vec<String> {
        frames
            .into_iter()
            .map(|m| String::from_utf8(m.payload().to_vec()).expect("text frame"))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// One thread: after every operation the map equals the model, and
        /// every send reaches exactly the members of the union of its rooms
        /// at that moment, once each.
        #[test]
        fn sequential_ops_match_the_model(ops in prop::collection::vec(op(6), 1..120)) {
            let hub = Hub::new(Config::default());
            let peers: Vec<Arc<Peer>> = (0..6).map(|i| new_peer(format!("p{i}"))).collect();
            let mut model = Model::new();
            for (n, op) in ops.into_iter().enumerate() {
                match op {
                    Op::Join(p, r) => {
                        let joined = join(&hub, &peers[p], &room(r));
                        prop_assert_eq!(joined, model_join(&mut model, room(r), &peers[p].id));
                    }
                    Op::Leave(p, r) => {
                        let left = leave(&hub, &peers[p], &room(r));
                        prop_assert_eq!(left, model_leave(&mut model, &room(r), &peers[p].id));
                    }
                    Op::Disconnect(p) => {
                        hub.unregister(&peers[p]);
                        for r in 0..ROOMS {
                            model_leave(&mut model, &room(r), &peers[p].id);
                        }
                    }
                    Op::Send(rooms) => {
                        let names: Vec<String> = rooms.iter().map(|r| room(*r)).collect();
                        let expected: BTreeSet<ClientId> = names
                            .iter()
                            .filter_map(|r| model.get(r))
                            .flatten()
                            .cloned()
                            .collect();
                        let delivery = Sender::new(&hub, None).raw("t", n).to_room(&names);
                        prop_assert_eq!(delivery.queued, expected.len());
                        for peer in &peers {
                            let got = frames_text(peer.take_queued());
                            let want = if expected.contains(&peer.id) {
                                vec![format!(r#"{{"type":"t","payload":{n}}}"#)]
                            } else {
                                vec![]
                            };
                            prop_assert_eq!(got, want, "peer {}", peer.id);
                        }
                    }
                }
                hub.rooms.assert_consistent();
                for r in 0..ROOMS {
                    let got: BTreeSet<ClientId> = hub.rooms.members(&room(r)).into_iter().collect();
                    prop_assert_eq!(&got, &model.get(&room(r)).cloned().unwrap_or_default());
                }
                prop_assert_eq!(hub.rooms.room_count(), model.len());
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Several threads, each owning its connections (as each connection
        /// task owns its membership), on shared rooms. Every send reaches
        /// exactly the sending thread's own members of those rooms (their
        /// membership cannot change during the send), at most once anyone
        /// else, and the final map equals the union of the threads' models.
        #[test]
        fn concurrent_ops_match_the_models(
            plans in prop::collection::vec(prop::collection::vec(op(2), 1..150), 3)
        ) {
            let hub = Hub::new(Config::default());
            let threads = plans.len();
            let peers: Vec<Vec<Arc<Peer>>> = (0..threads)
                .map(|t| (0..2).map(|i| new_peer(format!("t{t}p{i}"))).collect())
                .collect();
            let results: Vec<Result<Model, TestCaseError>> = std::thread::scope(|scope| {
                let handles: Vec<_> = plans
                    .iter()
                    .enumerate()
                    .map(|(t, plan)| {
                        let hub = &hub;
                        let mine = &peers[t];
                        scope.spawn(move || -> Result<Model, TestCaseError> {
                            let mut model = Model::new();
                            // Frames from this thread's sends, per own peer.
                            let mut foreign: Vec<Vec<String>> = vec![Vec::new(); mine.len()];
                            for (n, op) in plan.iter().enumerate() {
                                match op {
                                    Op::Join(p, r) => {
                                        let joined = join(hub, &mine[*p], &room(*r));
                                        prop_assert_eq!(joined, model_join(&mut model, room(*r), &mine[*p].id));
                                    }
                                    Op::Leave(p, r) => {
                                        let left = leave(hub, &mine[*p], &room(*r));
                                        prop_assert_eq!(left, model_leave(&mut model, &room(*r), &mine[*p].id));
                                    }
                                    Op::Disconnect(p) => {
                                        hub.unregister(&mine[*p]);
                                        for r in 0..ROOMS {
                                            model_leave(&mut model, &room(r), &mine[*p].id);
                                        }
                                    }
                                    Op::Send(rooms) => {
                                        let names: Vec<String> = rooms.iter().map(|r| room(*r)).collect();
                                        let tag = format!("t{t}-{n}");
                                        Sender::new(hub, None).raw("t", &tag).to_room(&names);
                                        let frame = format!(r#"{{"type":"t","payload":"{tag}"}}"#);
                                        for (i, peer) in mine.iter().enumerate() {
                                            let member = names
                                                .iter()
                                                .any(|r| model.get(r).is_some_and(|s| s.contains(&peer.id)));
                                            let got = frames_text(peer.take_queued());
                                            let mine_count = got.iter().filter(|f| **f == frame).count();
                                            prop_assert_eq!(mine_count, usize::from(member), "{} {}", peer.id, tag);
                                            foreign[i].extend(got.into_iter().filter(|f| *f != frame));
                                        }
                                    }
                                }
                            }
                            for (i, frames) in foreign.into_iter().enumerate() {
                                let mut frames = frames;
                                frames.extend(frames_text(mine[i].take_queued()));
                                let unique: BTreeSet<&String> = frames.iter().collect();
                                prop_assert_eq!(unique.len(), frames.len(), "a send delivered twice");
                            }
                            Ok(model)
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().expect("thread panicked")).collect()
            });
            let mut expected = Model::new();
            for model in results {
                for (r, ids) in model? {
                    expected.entry(r).or_default().extend(ids);
                }
            }
            hub.rooms.assert_consistent();
            for r in 0..ROOMS {
                let got: BTreeSet<ClientId> = hub.rooms.members(&room(r)).into_iter().collect();
                prop_assert_eq!(&got, &expected.get(&room(r)).cloned().unwrap_or_default());
            }
            prop_assert_eq!(hub.rooms.room_count(), expected.len());
        }
    }
}
