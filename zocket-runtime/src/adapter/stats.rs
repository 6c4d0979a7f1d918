//! Counters about an adapter's bus connection, and the lock-free cells
//! adapters keep them in.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

/// What an adapter reports about its bus connection: counters since start,
/// for logs, health checks and metrics exporters
/// ([`Handle::cluster_stats`](crate::Handle::cluster_stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdapterStats {
    /// Connected to the bus right now.
    pub connected: bool,
    /// Sends published to the bus.
    pub published: u64,
    /// Sends dropped because the bus was unreachable for longer than the
    /// adapter's buffer lasts.
    pub dropped: u64,
    /// Sends received from other nodes and delivered locally.
    pub received: u64,
    /// Bus messages that could not be decoded (ignored).
    pub bad_messages: u64,
    /// Times the bus connection was lost.
    pub outages: u64,
}

/// Lock-free counters behind [`AdapterStats`], for adapter crates.
#[derive(Debug, Default)]
pub struct AdapterMetrics {
    /// See [`AdapterStats::connected`].
    pub connected: AtomicBool,
    /// See [`AdapterStats::published`].
    pub published: AtomicU64,
    /// See [`AdapterStats::dropped`].
    pub dropped: AtomicU64,
    /// See [`AdapterStats::received`].
    pub received: AtomicU64,
    /// See [`AdapterStats::bad_messages`].
    pub bad_messages: AtomicU64,
    /// See [`AdapterStats::outages`].
    pub outages: AtomicU64,
}

impl AdapterMetrics {
    /// The counters as they are now (each read on its own, relaxed).
    pub fn snapshot(&self) -> AdapterStats {
        AdapterStats {
            connected: self.connected.load(Relaxed),
            published: self.published.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
            received: self.received.load(Relaxed),
            bad_messages: self.bad_messages.load(Relaxed),
            outages: self.outages.load(Relaxed),
        }
    }

    /// Counts one of the counters up by one.
    pub fn incr(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    /// Counts `sends` published to the bus, here and as the
    /// [`CLUSTER_PUBLISHED`](crate::metrics::CLUSTER_PUBLISHED) metric.
    pub fn count_published(&self, sends: u64) {
        self.published.fetch_add(sends, Relaxed);
        crate::metrics::cluster_published(sends);
    }

    /// Counts a send dropped, here and as the
    /// [`CLUSTER_DROPPED`](crate::metrics::CLUSTER_DROPPED) metric; the
    /// count before this one (for logging every so many).
    pub fn count_dropped(&self) -> u64 {
        crate::metrics::cluster_dropped();
        self.dropped.fetch_add(1, Relaxed)
    }

    /// Counts a send received from another node, here and as the
    /// [`CLUSTER_RECEIVED`](crate::metrics::CLUSTER_RECEIVED) metric.
    pub fn count_received(&self) {
        Self::incr(&self.received);
        crate::metrics::cluster_received();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_reads_every_counter() {
        let metrics = AdapterMetrics::default();
        metrics.connected.store(true, Relaxed);
        metrics.count_published(3);
        assert_eq!(metrics.count_dropped(), 0);
        assert_eq!(metrics.count_dropped(), 1);
        metrics.count_received();
        AdapterMetrics::incr(&metrics.bad_messages);
        AdapterMetrics::incr(&metrics.outages);
        AdapterMetrics::incr(&metrics.outages);
        assert_eq!(
            metrics.snapshot(),
            AdapterStats {
                connected: true,
                published: 3,
                dropped: 2,
                received: 1,
                bad_messages: 1,
                outages: 2,
            }
        );
    }
}
