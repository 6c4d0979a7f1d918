//! The multi-node scenarios, run on each bus by `tests/redis.rs` and
//! `tests/nats.rs`.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use tokio::time::Instant;

use crate::{app, converge, eventually, BusKind, Node, OwnedBroker, Peer, WAIT};

fn ids(peers: &[Peer]) -> BTreeSet<String> {
    peers.iter().map(|p| p.id.clone()).collect()
}

/// `n` nodes, two members of one room on each: exactly-once in-order room
/// delivery per publisher, `except_self`, `.to(id)` across nodes,
/// `broadcast()`, and cluster-wide membership.
pub async fn rooms_span_nodes(kind: &BusKind, n: usize) {
    let room = "lobby";
    let mut nodes = Vec::new();
    for _ in 0..n {
        nodes.push(Node::start(kind).await);
    }
    let mut peers = Vec::new();
    for node in &nodes {
        for _ in 0..2 {
            peers.push(Peer::join(&node.url, room).await);
        }
    }
    let everyone = ids(&peers);
    let node_refs: Vec<&Node> = nodes.iter().collect();
    assert!(
        converge(&node_refs, room, &everyone).await,
        "members_all did not converge to every member on every node"
    );
    for node in &nodes {
        assert_eq!(node.handle.len_all(room).await.ok(), Some(everyone.len()));
        assert_eq!(node.handle.len(room), 2, "local members stay local");
    }

    // Every member receives every room message exactly once, in order per
    // publisher: each publisher's sequence must arrive as 0, 1, 2, … (a
    // duplicate, a gap or a reordering breaks it).
    const K: u64 = 40;
    for peer in &peers {
        for seq in 0..K {
            peer.say(room, seq, false);
        }
    }
    let total = K * peers.len() as u64;
    for peer in &mut peers {
        let mut next: HashMap<String, u64> = everyone.iter().map(|id| (id.clone(), 0)).collect();
        for _ in 0..total {
            let said = peer
                .next_said()
                .await
                .expect("a room message within the wait");
            let expected = next
                .get_mut(&said.from)
                .unwrap_or_else(|| panic!("message from unknown sender {}", said.from));
            assert_eq!(
                said.seq, *expected,
                "{} got seq {} from {} (expected {})",
                peer.id, said.seq, said.from, expected
            );
            *expected += 1;
        }
    }
    // A fence from one publisher: if anything had been delivered twice, it
    // would arrive before this.
    peers[0].say(room, K, false);
    let first = peers[0].id.clone();
    for peer in &mut peers {
        let said = peer.next_said().await.expect("fence");
        assert_eq!((said.from.as_str(), said.seq), (first.as_str(), K));
    }

    // except_self holds on every node: the speaker's next room message is
    // the one after.
    peers[0].say(room, K + 1, true);
    peers[0].say(room, K + 2, false);
    for (i, peer) in peers.iter_mut().enumerate() {
        let said = peer.next_said().await.expect("room message");
        let want = if i == 0 { K + 2 } else { K + 1 };
        assert_eq!(said.seq, want, "peer {i} (except_self)");
        if i != 0 {
            assert_eq!(peer.next_said().await.expect("room message").seq, K + 2);
        }
    }

    // .to(id) reaches a client on another node, and only it.
    let last = peers.len() - 1;
    let target = peers[last].id.clone();
    peers[0].whisper(&target, 7);
    match peers[last].next().await {
        Some(app::Outgoing::Room(app::room::Outgoing::Whispered(w))) => {
            assert_eq!((w.from.as_str(), w.seq), (first.as_str(), 7));
        }
        other => panic!("expected the whisper, got {other:?}"),
    }
    // broadcast() reaches every client of every node; nobody else got the
    // whisper (their next message is the broadcast).
    peers[1].shout(9);
    let shouter = peers[1].id.clone();
    for peer in &mut peers {
        match peer.next().await {
            Some(app::Outgoing::Room(app::room::Outgoing::Shouted(s))) => {
                assert_eq!((s.from.as_str(), s.seq), (shouter.as_str(), 9));
            }
            other => panic!("{}: expected the broadcast, got {other:?}", peer.id),
        }
    }

    // Leaving shows on every node.
    peers[last].leave(room);
    let mut remaining = everyone.clone();
    remaining.remove(&target);
    assert!(
        converge(&node_refs, room, &remaining).await,
        "a leave did not reach every node's membership"
    );
    drop(peers);
    for node in nodes {
        node.shutdown().await;
    }
}

/// A node dies without shutting down: its members leave the other nodes'
/// membership within the heartbeat window; the survivors keep delivering.
pub async fn node_crash(kind: &BusKind) {
    let room = "crash";
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(Node::start(kind).await);
    }
    let mut peers = Vec::new();
    for node in &nodes {
        peers.push(Peer::join(&node.url, room).await);
    }
    let everyone = ids(&peers);
    {
        let refs: Vec<&Node> = nodes.iter().collect();
        assert!(converge(&refs, room, &everyone).await, "initial membership");
    }
    let dead = nodes.pop().expect("three nodes");
    let dead_peer = peers.pop().expect("three peers");
    let crashed_at = Instant::now();
    dead.crash().await;
    let survivors: BTreeSet<String> = ids(&peers);
    let refs: Vec<&Node> = nodes.iter().collect();
    assert!(
        converge(&refs, room, &survivors).await,
        "the crashed node's members were still listed after {WAIT:?}"
    );
    let took = crashed_at.elapsed();
    eprintln!("crashed node's members gone from membership after {took:?}");
    assert!(
        took < Duration::from_secs(5),
        "membership took {took:?} to forget a dead node (node timeout is 1 s)"
    );
    drop(dead_peer);

    for seq in 0..5 {
        peers[0].say(room, seq, false);
    }
    for peer in &mut peers {
        for seq in 0..5 {
            let said = peer.next_said().await.expect("survivors keep delivering");
            assert_eq!(said.seq, seq);
        }
    }
    drop(peers);
    for node in nodes {
        node.shutdown().await;
    }
}

/// The broker is killed and restarted on its port during traffic: local
/// delivery goes on meanwhile, the nodes reconnect by themselves, register
/// again and room traffic between them resumes.
pub async fn broker_restart(mut broker: OwnedBroker, kind: &BusKind) {
    let room = "restart";
    let a_node = Node::start(kind).await;
    let b_node = Node::start(kind).await;
    let mut a = Peer::join(&a_node.url, room).await;
    let mut b = Peer::join(&b_node.url, room).await;
    let both: BTreeSet<String> = [a.id.clone(), b.id.clone()].into();
    assert!(converge(&[&a_node, &b_node], room, &both).await);
    a.say(room, 0, false);
    assert_eq!(b.next_said().await.map(|s| s.seq), Some(0));
    assert_eq!(a.next_said().await.map(|s| s.seq), Some(0));

    broker.kill().await;
    assert!(
        eventually(WAIT, || async {
            !a_node.bus.stats().connected && !b_node.bus.stats().connected
        })
        .await,
        "nodes did not notice the broker going away"
    );
    // The server keeps serving its local clients.
    a.say(room, 1, false);
    assert_eq!(a.next_said().await.map(|s| s.seq), Some(1));

    let restarted = OwnedBroker::start(broker_kind(kind), broker.port)
        .await
        .expect("broker restarts on its port");
    assert!(a_node.bus.ready(WAIT).await, "node a did not reconnect");
    assert!(b_node.bus.ready(WAIT).await, "node b did not reconnect");
    assert!(a_node.bus.stats().outages >= 1 && b_node.bus.stats().outages >= 1);
    assert!(
        converge(&[&a_node, &b_node], room, &both).await,
        "membership not rebuilt after the restart"
    );

    // Traffic resumes: send until b sees one of the new messages (bounded),
    // then the rest must follow in order.
    let mut seq = 100;
    let mut first_seen = None;
    for _ in 0..40 {
        a.say(room, seq, false);
        seq += 1;
        let got = tokio::time::timeout(Duration::from_millis(250), async {
            loop {
                match b.next_said().await {
                    Some(s) if s.seq >= 100 => return Some(s.seq),
                    Some(_) => continue, // sent during the outage
                    None => return None,
                }
            }
        })
        .await;
        if let Ok(Some(s)) = got {
            first_seen = Some(s);
            break;
        }
    }
    let first_seen = first_seen.expect("room traffic did not resume after the broker restart");
    for next in seq..seq + 10 {
        a.say(room, next, false);
    }
    let mut expected = first_seen + 1;
    while expected < seq + 10 {
        let said = b.next_said().await.expect("traffic after restart");
        assert_eq!(said.seq, expected, "order after restart");
        expected += 1;
    }
    drop((a, b));
    a_node.shutdown().await;
    b_node.shutdown().await;
    drop(restarted);
}

fn broker_kind(kind: &BusKind) -> &'static str {
    match kind {
        BusKind::Redis { .. } => "redis",
        BusKind::Nats { .. } => "nats",
    }
}

/// Joins lost to a full op buffer (one slot, many joins at once) must not
/// leave rooms unsubscribed: the adapter rebuilds its subscriptions from
/// the local rooms, so every room's traffic from another node arrives.
pub async fn lost_joins_resync(kind: &BusKind) {
    const ROOMS: usize = 48;
    let tiny = Node::start_on(kind.adapter_with_buffer(Some(1))).await;
    let other = Node::start(kind).await;
    let speaker = Peer::join(&other.url, "speakers").await;
    let mut listener = Peer::join(&tiny.url, "r0").await;
    // Every join at once: the handlers queue them faster than the worker
    // subscribes (a round trip each), so the one-slot buffer overflows.
    for i in 1..ROOMS {
        listener
            .client
            .send()
            .room()
            .join(app::room::Join {
                room: format!("r{i}"),
            })
            .expect("send join");
    }
    let mut joined = 1;
    while joined < ROOMS {
        listener
            .next_where(|m| match m {
                app::Outgoing::Room(app::room::Outgoing::Joined(_)) => Some(()),
                _ => None,
            })
            .await
            .expect("every join acknowledged");
        joined += 1;
    }
    // A room's subscription has no event to wait on: the speaker says the
    // same thing again, once a second (within its rate limit), until it
    // arrives; a room left unsubscribed never hears it.
    let mut heard = BTreeSet::new();
    let deadline = Instant::now() + WAIT;
    while heard.len() < ROOMS && Instant::now() < deadline {
        for i in 0..ROOMS {
            let room = format!("r{i}");
            if !heard.contains(&room) {
                speaker.say(&room, i as u64, false);
            }
        }
        let round = Instant::now() + Duration::from_secs(1);
        while heard.len() < ROOMS {
            let left = round.saturating_duration_since(Instant::now());
            let Some(message) = listener.next_within(left).await else {
                break;
            };
            if let app::Outgoing::Room(app::room::Outgoing::Said(said)) = message {
                assert_eq!(said.from, speaker.id, "only the speaker talks");
                heard.insert(said.room);
            }
        }
    }
    let deaf: Vec<String> = (0..ROOMS)
        .map(|i| format!("r{i}"))
        .filter(|room| !heard.contains(room))
        .collect();
    assert!(
        deaf.is_empty(),
        "rooms whose traffic from the other node never arrived: {deaf:?}"
    );
    tiny.shutdown().await;
    other.shutdown().await;
}
