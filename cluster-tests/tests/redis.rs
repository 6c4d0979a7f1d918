//! zocket-redis against a real Redis: see `zocket_cluster_tests` for how
//! the broker is found, started or skipped.

use zocket_cluster_tests::{broker, owned_broker, prefix, scenarios, BusKind};

async fn kind(test: &str) -> Option<(BusKind, zocket_cluster_tests::Broker)> {
    let broker = broker("redis").await?;
    let kind = BusKind::Redis {
        url: broker.url.clone(),
        prefix: prefix(test),
    };
    Some((kind, broker))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_rooms() {
    let Some((kind, _broker)) = kind("two").await else {
        return;
    };
    scenarios::rooms_span_nodes(&kind, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_share_rooms() {
    let Some((kind, _broker)) = kind("three").await else {
        return;
    };
    scenarios::rooms_span_nodes(&kind, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_lost_to_a_full_buffer_are_resynced() {
    let Some((kind, _broker)) = kind("resync").await else {
        return;
    };
    scenarios::lost_joins_resync(&kind).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashed_node_leaves_membership() {
    let Some((kind, _broker)) = kind("crash").await else {
        return;
    };
    scenarios::node_crash(&kind).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_during_traffic() {
    let Some(owned) = owned_broker("redis").await else {
        return;
    };
    let kind = BusKind::Redis {
        url: owned.url(),
        prefix: prefix("restart"),
    };
    scenarios::broker_restart(owned, &kind).await;
}
