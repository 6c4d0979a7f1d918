//! Which other nodes are alive: every node publishes a heartbeat on
//! `<prefix>.hb`; one not heard from within the node timeout is dead, one
//! that says goodbye is forgotten at once.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::{Client, Subscriber};
use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use zocket_runtime::adapter::{AdapterMetrics, NodeId};
use zocket_runtime::cluster::Context;

use crate::Nats;

#[derive(Serialize, Deserialize)]
struct Beat<'a> {
    #[serde(borrow)]
    n: &'a str,
    /// Leaving: forget this node now.
    #[serde(default)]
    bye: bool,
}

/// What `node` publishes on the heartbeat subject.
pub(crate) fn beat(node: &NodeId, bye: bool) -> Bytes {
    let beat = Beat {
        n: node.as_str(),
        bye,
    };
    // A struct of a string and a bool always serialises.
    serde_json::to_vec(&beat).unwrap_or_default().into()
}

/// Other nodes, by when they were last heard from.
#[derive(Default)]
pub(crate) struct Alive(HashMap<NodeId, Instant>);

impl Alive {
    /// Records a beat from `node` (not ours); true when it is new.
    fn heard(&mut self, node: NodeId, bye: bool, now: Instant) -> bool {
        if bye {
            self.0.remove(&node);
            false
        } else {
            self.0.insert(node, now).is_none()
        }
    }

    /// The nodes heard within `timeout`; forgets the others.
    pub(crate) fn live(&mut self, timeout: Duration, now: Instant) -> HashSet<NodeId> {
        self.0
            .retain(|_, seen| now.saturating_duration_since(*seen) < timeout);
        self.0.keys().cloned().collect()
    }
}

/// Tracks other nodes' heartbeats. A node heard for the first time gets
/// our heartbeat back at once, so a node that just started learns every
/// live node within a round trip instead of a heartbeat interval (its
/// membership queries would otherwise not wait for nodes it hasn't heard).
pub(crate) async fn read(cx: Arc<Context<Nats>>, client: Client, mut subscriber: Subscriber) {
    while let Some(message) = subscriber.next().await {
        let Ok(beat) = serde_json::from_slice::<Beat<'_>>(&message.payload) else {
            AdapterMetrics::incr(&cx.metrics().bad_messages);
            continue;
        };
        let node = NodeId::from(beat.n);
        if &node == cx.node() {
            continue;
        }
        tracing::trace!(me = %cx.node(), from = %node, "heartbeat");
        let new = cx
            .bus()
            .alive
            .lock()
            .heard(node.clone(), beat.bye, Instant::now());
        if new {
            tracing::info!(%node, "node joined the cluster");
            let _ = client
                .publish(
                    cx.bus().subjects.heartbeat.clone(),
                    self::beat(cx.node(), false),
                )
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beats_round_trip_with_and_without_goodbye() {
        let node = NodeId::from("node_1");
        let hello = beat(&node, false);
        let hello: Beat<'_> = serde_json::from_slice(&hello).expect("json");
        assert_eq!(hello.n, "node_1");
        assert!(!hello.bye);
        let bye = beat(&node, true);
        let bye: Beat<'_> = serde_json::from_slice(&bye).expect("json");
        assert!(bye.bye);
        // Older nodes' beats have no `bye`.
        let old: Beat<'_> = serde_json::from_slice(br#"{"n":"node_2"}"#).expect("json");
        assert!(!old.bye);
    }

    #[test]
    fn nodes_are_live_until_their_timeout_or_goodbye() {
        let mut alive = Alive::default();
        let start = Instant::now();
        let (a, b) = (NodeId::from("a"), NodeId::from("b"));
        assert!(alive.heard(a.clone(), false, start));
        assert!(!alive.heard(a.clone(), false, start), "heard before");
        assert!(alive.heard(b.clone(), false, start));
        let timeout = Duration::from_secs(4);
        assert_eq!(alive.live(timeout, start + Duration::from_secs(1)).len(), 2);
        assert!(!alive.heard(b.clone(), true, start));
        assert_eq!(
            alive.live(timeout, start + Duration::from_secs(1)),
            HashSet::from([a.clone()])
        );
        assert!(alive.live(timeout, start + timeout).is_empty());
        // Forgotten, so heard again as new.
        assert!(alive.heard(a, false, start + timeout));
    }
}
