//! The cluster counters through a real recorder, on both adapters: a room
//! message from one node to a member on another is published once,
//! received once and delivered to both members, and nothing is dropped.
//! Its own test binary: a process has one metrics recorder.

use std::collections::HashMap;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use zocket_cluster_tests::{broker, converge, eventually, prefix, BusKind, Node, Peer, WAIT};

/// The counters of interest, `0` for one not rendered yet.
fn counters(metrics: &PrometheusHandle) -> HashMap<String, f64> {
    metrics
        .render()
        .lines()
        .filter(|l| l.starts_with("zocket_"))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

fn delta(before: &HashMap<String, f64>, after: &HashMap<String, f64>, series: &str) -> f64 {
    after.get(series).copied().unwrap_or(0.0) - before.get(series).copied().unwrap_or(0.0)
}

/// Two nodes on `kind`'s bus, a member of one room on each; the first
/// says something in it.
async fn one_message_across(kind: &BusKind, metrics: &PrometheusHandle) {
    let a = Node::start(kind).await;
    let b = Node::start(kind).await;
    let mut on_a = Peer::join(&a.url, "r").await;
    let mut on_b = Peer::join(&b.url, "r").await;
    let both = [on_a.id.clone(), on_b.id.clone()].into_iter().collect();
    assert!(
        converge(&[&a, &b], "r", &both).await,
        "membership converges"
    );

    let before = counters(metrics);
    on_a.say("r", 7, false);
    assert_eq!(on_a.next_said().await.map(|s| s.seq), Some(7));
    assert_eq!(on_b.next_said().await.map(|s| s.seq), Some(7));
    // The publishing node counts its publish once the bus has taken it,
    // which may be after the other node delivered: poll until it shows.
    let expected = [
        ("zocket_cluster_published_total", 1.0),
        ("zocket_cluster_received_total", 1.0),
        ("zocket_cluster_dropped_total", 0.0),
        ("zocket_deliveries_total", 2.0),
        (r#"zocket_messages_sent_total{type="room.said"}"#, 1.0),
    ];
    let matches = || async {
        let after = counters(metrics);
        expected
            .iter()
            .all(|(series, want)| delta(&before, &after, series) == *want)
    };
    assert!(
        eventually(WAIT, matches).await,
        "counters did not move as expected: before {before:?}, after {:?}",
        counters(metrics)
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_counters_on_redis_and_nats() {
    let metrics = PrometheusBuilder::new()
        .install_recorder()
        .expect("the only recorder");
    zocket::metrics::describe();
    if let Some(redis) = broker("redis").await {
        let kind = BusKind::Redis {
            url: redis.url.clone(),
            prefix: prefix("metrics"),
        };
        one_message_across(&kind, &metrics).await;
    }
    if let Some(nats) = broker("nats").await {
        let kind = BusKind::Nats {
            url: nats.url.clone(),
            prefix: prefix("metrics"),
        };
        one_message_across(&kind, &metrics).await;
    }
}
