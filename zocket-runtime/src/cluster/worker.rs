//! The loop one task per node runs: connect, serve a session, reconnect
//! with backoff, until closed or aborted.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::context::Context;
use super::queue::{Op, Overflow, Queued};
use super::{Bus, Failure, Session};

/// Ops taken from the queue at once: consecutive ones can go out together
/// (one pipeline, one flush).
const BATCH: usize = 256;

pub(crate) async fn run<B: Bus>(cx: Arc<Context<B>>, mut rx: mpsc::Receiver<Queued>) {
    let backoff = cx.config().reconnect_backoff();
    let mut attempt: u32 = 0;
    let mut was_connected = false;
    loop {
        if cx.is_closed() && rx.is_empty() {
            return;
        }
        // A new session registers everything from local state.
        cx.queue.clear_resync();
        let error = match serve(&cx, &mut rx).await {
            Ok(()) => return,
            Err(Failure::Fatal(error)) => {
                tracing::error!(node = %cx.node(), %error, "cannot use {}; cluster disabled for this node", B::NAME);
                return;
            }
            Err(Failure::Lost(error)) => error,
        };
        cx.bus().disconnect();
        let connected = cx.set_disconnected();
        if connected {
            attempt = 0;
        }
        let wait = backoff.delay(attempt);
        if connected {
            tracing::warn!(node = %cx.node(), %error, "lost {}; serving local clients only, reconnecting", B::NAME);
        } else if was_connected || attempt > 0 {
            tracing::warn!(node = %cx.node(), %error, retry_in = ?wait, "{} still unreachable", B::NAME);
        } else {
            tracing::warn!(node = %cx.node(), %error, "cannot reach {}; retrying", B::NAME);
        }
        was_connected |= connected;
        tokio::time::sleep(wait).await;
        attempt = attempt.saturating_add(1);
    }
}

/// One session: `Ok` when the adapter closed.
async fn serve<B: Bus>(
    cx: &Arc<Context<B>>,
    rx: &mut mpsc::Receiver<Queued>,
) -> Result<(), Failure> {
    let mut session = B::connect(cx).await?;
    let mut heartbeat = tokio::time::interval(cx.config().heartbeat);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Connecting registered the node: the first beat is one interval away.
    heartbeat.reset();
    let mut batch = Vec::with_capacity(BATCH);
    let mut ops = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            biased;
            received = session.recv(cx) => received?,
            count = rx.recv_many(&mut batch, BATCH) => {
                if count == 0 {
                    return Ok(());
                }
                if apply(cx, &mut session, &mut batch, &mut ops).await? {
                    return Ok(());
                }
            }
            _ = heartbeat.tick() => session.heartbeat(cx).await?,
        }
    }
}

/// Runs a batch in order; true when it held the close (what follows it is
/// not run: nothing is queued after a close but a racing send).
async fn apply<B: Bus>(
    cx: &Arc<Context<B>>,
    session: &mut B::Session,
    batch: &mut Vec<Queued>,
    ops: &mut Vec<Op>,
) -> Result<bool, Failure> {
    let mut close = None;
    for queued in batch.drain(..) {
        match queued {
            Queued::Op(op) if close.is_none() => ops.push(op),
            Queued::Op(_) => {}
            Queued::Close(done) => {
                close.get_or_insert(done);
            }
        }
    }
    let published = if ops.is_empty() {
        0
    } else {
        session.apply(cx, ops).await?
    };
    ops.clear();
    cx.metrics().count_published(published);
    if let Some(done) = close {
        session.leave(cx).await?;
        tracing::info!(node = %cx.node(), "left the {} cluster", B::NAME);
        let _ = done.send(());
        return Ok(true);
    }
    if B::OVERFLOW == Overflow::Resync && cx.queue.take_resync() {
        tracing::warn!(
            bus = B::NAME,
            "membership updates were dropped while the buffer was full; re-registering"
        );
        session.resync(cx).await?;
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use zocket_core::ClientId;

    use crate::adapter::Adapter;
    use crate::cluster::test_bus::{next, room_send, start, Probe};

    #[tokio::test]
    async fn ops_run_in_order_and_sends_are_counted() {
        let probe = Probe::default();
        let (cluster, mut events) = start(&probe);
        assert_eq!(next(&mut events).await, "connect");
        assert!(cluster.ready(Duration::from_secs(5)).await);
        let client = ClientId::from("client_1");
        cluster.joined("lobby", &client);
        cluster.forward(&room_send(&["lobby"]));
        cluster.forward(&room_send(&["lobby", "ops"]));
        cluster.left("lobby", &client);
        assert_eq!(next(&mut events).await, "join lobby client_1");
        assert_eq!(next(&mut events).await, "publish lobby");
        assert_eq!(next(&mut events).await, "publish all");
        assert_eq!(next(&mut events).await, "leave lobby client_1");
        cluster.close().await;
        assert_eq!(next(&mut events).await, "bye");
        let stats = cluster.stats();
        assert_eq!(stats.published, 2);
        assert!(!stats.connected);
        assert_eq!(
            cluster.remote_members("lobby").await.expect("answered"),
            vec![ClientId::from("lobby")]
        );
    }

    #[tokio::test]
    async fn a_broken_link_reconnects_and_counts_one_outage() {
        let probe = Probe::default();
        let (cluster, mut events) = start(&probe);
        assert_eq!(next(&mut events).await, "connect");
        probe.0.break_link.notify_one();
        assert_eq!(next(&mut events).await, "disconnect");
        assert_eq!(next(&mut events).await, "connect");
        assert!(cluster.ready(Duration::from_secs(5)).await);
        let stats = cluster.stats();
        assert_eq!(stats.outages, 1);
        assert!(stats.connected);
        cluster.forward(&room_send(&["lobby"]));
        assert_eq!(next(&mut events).await, "publish lobby");
        cluster.close().await;
    }

    #[tokio::test]
    async fn failed_connects_are_retried_without_counting_outages() {
        let probe = Probe::default();
        probe.0.failing.store(2, Ordering::SeqCst);
        let (cluster, mut events) = start(&probe);
        for _ in 0..2 {
            assert_eq!(next(&mut events).await, "connect");
            assert_eq!(next(&mut events).await, "disconnect");
        }
        assert_eq!(next(&mut events).await, "connect");
        assert!(cluster.ready(Duration::from_secs(5)).await);
        assert_eq!(cluster.stats().outages, 0);
        cluster.close().await;
    }

    #[tokio::test]
    async fn a_fatal_error_stops_the_worker() {
        let probe = Probe::default();
        probe.0.fatal.store(true, Ordering::SeqCst);
        let (cluster, mut events) = start(&probe);
        assert_eq!(next(&mut events).await, "connect");
        // The worker is gone: close finds no one to run it and returns
        // without a goodbye.
        cluster.close().await;
        assert_eq!(next(&mut events).await, "disconnect");
        assert!(events.try_recv().is_err(), "no reconnect, no bye");
        assert!(!cluster.stats().connected);
    }

    #[tokio::test]
    async fn after_close_nothing_is_queued() {
        let probe = Probe::default();
        let (cluster, mut events) = start(&probe);
        assert_eq!(next(&mut events).await, "connect");
        cluster.close().await;
        assert_eq!(next(&mut events).await, "bye");
        cluster.forward(&room_send(&["lobby"]));
        assert_eq!(cluster.stats().dropped, 0);
        assert_eq!(next(&mut events).await, "disconnect");
        assert!(events.try_recv().is_err());
    }
}
