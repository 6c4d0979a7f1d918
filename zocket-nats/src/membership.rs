//! `members_all` over NATS: a request on `<prefix>.q` that each node
//! answers with its local members. The asker waits for the nodes it knows
//! to be alive only, and at most the query timeout: a crashed node cannot
//! answer, so its members are never reported, and once its heartbeat
//! expires queries stop waiting for it.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use async_nats::{Client, Subscriber};
use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use zocket_core::ClientId;
use zocket_runtime::adapter::{AdapterError, AdapterMetrics, NodeId};
use zocket_runtime::cluster::Context;

use crate::Nats;

/// One node's answer.
#[derive(Serialize, Deserialize)]
struct Answer {
    n: String,
    m: Vec<ClientId>,
}

fn unavailable(error: impl std::fmt::Display) -> AdapterError {
    AdapterError::Unavailable(error.to_string())
}

/// Members of `room` on the other live nodes. A query that times out
/// returns what it got (logged, counted in
/// [`Nats::partial_queries`]) instead of failing.
pub(crate) async fn query(cx: &Context<Nats>, room: &str) -> Result<Vec<ClientId>, AdapterError> {
    let nats = cx.bus();
    let Some(client) = nats.client.lock().clone() else {
        return Err(unavailable("not connected to NATS"));
    };
    if client.connection_state() != async_nats::connection::State::Connected {
        return Err(unavailable("not connected to NATS"));
    }
    let mut expected = nats
        .alive
        .lock()
        .live(cx.config().node_timeout, Instant::now());
    tracing::debug!(room, ?expected, "membership query");
    if expected.is_empty() {
        return Ok(Vec::new());
    }
    let inbox = client.new_inbox();
    let mut answers = client.subscribe(inbox.clone()).await.map_err(unavailable)?;
    client
        .publish_with_reply(
            nats.subjects.query.clone(),
            inbox,
            Bytes::copy_from_slice(room.as_bytes()),
        )
        .await
        .map_err(unavailable)?;
    let deadline = tokio::time::Instant::now() + cx.config().query_timeout;
    let mut members = Vec::new();
    while !expected.is_empty() {
        let answer = match tokio::time::timeout_at(deadline, answers.next()).await {
            Ok(Some(message)) => message,
            Ok(None) => return Err(unavailable("subscription closed")),
            Err(_) => {
                nats.partial_queries.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    room,
                    missing = ?expected,
                    "membership query: some live nodes did not answer in time; returning the members of those that did"
                );
                break;
            }
        };
        let Ok(answer) = serde_json::from_slice::<Answer>(&answer.payload) else {
            AdapterMetrics::incr(&cx.metrics().bad_messages);
            continue;
        };
        let node = NodeId::from(answer.n.as_str());
        if &node == cx.node() {
            continue;
        }
        tracing::debug!(room, %node, members = answer.m.len(), "membership answer");
        expected.remove(&node);
        members.extend(answer.m);
    }
    Ok(members)
}

/// What this node answers to a query for the room named by `payload`.
fn answer(
    node: &NodeId,
    members: impl FnOnce(&str) -> Vec<ClientId>,
    payload: &[u8],
) -> Option<Bytes> {
    let room = std::str::from_utf8(payload).ok()?;
    let answer = Answer {
        n: node.to_string(),
        m: members(room),
    };
    // Strings only: always serialises.
    Some(serde_json::to_vec(&answer).unwrap_or_default().into())
}

/// Answers other nodes' queries with this node's members.
pub(crate) async fn serve(cx: Arc<Context<Nats>>, client: Client, mut subscriber: Subscriber) {
    while let Some(message) = subscriber.next().await {
        let Some(reply) = message.reply else {
            continue;
        };
        let Some(payload) = answer(cx.node(), |room| cx.local().members(room), &message.payload)
        else {
            AdapterMetrics::incr(&cx.metrics().bad_messages);
            continue;
        };
        let _ = client.publish(reply, payload).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_names_the_node_and_its_members() {
        let node = NodeId::from("node_1");
        let payload = answer(
            &node,
            |room| {
                assert_eq!(room, "a room");
                vec![ClientId::from("client_1")]
            },
            b"a room",
        )
        .expect("answered");
        let back: Answer = serde_json::from_slice(&payload).expect("json");
        assert_eq!(back.n, "node_1");
        assert_eq!(back.m, vec![ClientId::from("client_1")]);
    }

    #[test]
    fn a_room_name_that_is_not_utf8_gets_no_answer() {
        assert!(answer(&NodeId::from("n"), |_| Vec::new(), b"\xff").is_none());
    }
}
