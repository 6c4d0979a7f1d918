//! The settings every bus adapter shares, with the builders, and the
//! bus-specific rest as a type parameter.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use zocket_core::Backoff;

/// What a bus adds to [`ClusterConfig`], and the defaults that differ
/// between buses.
pub trait BusOptions: Clone + fmt::Debug + Default + Send + Sync + 'static {
    /// The default of [`ClusterConfig::query_timeout`]: how long this bus
    /// waits for a membership query depends on how it answers one.
    const QUERY_TIMEOUT: Duration;
}

/// Settings of a cluster adapter. `O` holds what only one bus has (for
/// example Redis' choice of sharded pub/sub); it derefs to `O`, so those
/// fields read as if they were here.
#[derive(Debug, Clone)]
pub struct ClusterConfig<O> {
    /// Where the bus is (`redis://…`, `nats://…`).
    pub url: String,
    /// Prefix of every key, channel or subject, so several apps (or test
    /// runs) can share one bus. Each bus limits which characters it takes.
    pub prefix: String,
    /// How often a node says it is alive.
    pub heartbeat: Duration,
    /// A node not heard from for this long is dead: its members leave every
    /// membership query. A few heartbeats, so a slow tick isn't a death.
    pub node_timeout: Duration,
    /// Longest wait for a membership query (and, on Redis, for any reply).
    pub query_timeout: Duration,
    /// Operations (sends, joins, leaves) held while the bus is unreachable.
    pub buffer: usize,
    /// First and longest wait between reconnection attempts.
    pub backoff: (Duration, Duration),
    /// What only this bus has.
    pub options: O,
}

impl<O: BusOptions> ClusterConfig<O> {
    /// The defaults: prefix `zocket`, heartbeat 1 s, node timeout 4 s, the
    /// bus' query timeout, 16384 buffered operations, backoff 100 ms
    /// doubling to 5 s.
    pub fn new(url: impl Into<String>) -> Self {
        ClusterConfig {
            url: url.into(),
            prefix: "zocket".into(),
            heartbeat: Duration::from_secs(1),
            node_timeout: Duration::from_secs(4),
            query_timeout: O::QUERY_TIMEOUT,
            buffer: 16 * 1024,
            backoff: (Duration::from_millis(100), Duration::from_secs(5)),
            options: O::default(),
        }
    }

    /// Sets [`prefix`](Self::prefix).
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets the heartbeat interval and the node timeout together: one only
    /// means something against the other.
    #[must_use]
    pub fn heartbeat(mut self, interval: Duration, node_timeout: Duration) -> Self {
        self.heartbeat = interval;
        self.node_timeout = node_timeout;
        self
    }

    /// Sets [`query_timeout`](Self::query_timeout).
    #[must_use]
    pub fn query_timeout(mut self, timeout: Duration) -> Self {
        self.query_timeout = timeout;
        self
    }

    /// Sets [`buffer`](Self::buffer).
    #[must_use]
    pub fn buffer(mut self, operations: usize) -> Self {
        self.buffer = operations;
        self
    }

    /// Sets [`backoff`](Self::backoff).
    #[must_use]
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = (first, max);
        self
    }

    /// Changes the bus-specific options.
    #[must_use]
    pub fn options(mut self, change: impl FnOnce(O) -> O) -> Self {
        self.options = change(self.options);
        self
    }

    /// Whether the node timeout leaves room for at least one heartbeat.
    pub fn heartbeat_is_valid(&self) -> bool {
        self.node_timeout > self.heartbeat
    }

    /// The waits between reconnection attempts: doubling from the first to
    /// the longest, each drawn from the upper half of its step.
    pub fn reconnect_backoff(&self) -> Backoff {
        Backoff::doubling(self.backoff.0, self.backoff.1)
    }
}

impl<O> Deref for ClusterConfig<O> {
    type Target = O;

    fn deref(&self) -> &O {
        &self.options
    }
}

impl<O> DerefMut for ClusterConfig<O> {
    fn deref_mut(&mut self) -> &mut O {
        &mut self.options
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Default, PartialEq)]
    struct Extra {
        flag: bool,
    }

    impl BusOptions for Extra {
        const QUERY_TIMEOUT: Duration = Duration::from_millis(1500);
    }

    #[test]
    fn defaults_take_the_bus_query_timeout() {
        let config = ClusterConfig::<Extra>::new("bus://here");
        assert_eq!(config.url, "bus://here");
        assert_eq!(config.prefix, "zocket");
        assert_eq!(config.query_timeout, Duration::from_millis(1500));
        assert_eq!(config.buffer, 16 * 1024);
        assert!(config.heartbeat_is_valid());
        assert!(!config.flag);
    }

    #[test]
    fn builders_set_what_they_name() {
        let config = ClusterConfig::<Extra>::new("bus://here")
            .prefix("app")
            .heartbeat(Duration::from_millis(200), Duration::from_millis(900))
            .query_timeout(Duration::from_millis(300))
            .buffer(7)
            .backoff(Duration::from_millis(10), Duration::from_millis(80))
            .options(|_| Extra { flag: true });
        assert_eq!(config.prefix, "app");
        assert_eq!(config.heartbeat, Duration::from_millis(200));
        assert_eq!(config.node_timeout, Duration::from_millis(900));
        assert_eq!(config.query_timeout, Duration::from_millis(300));
        assert_eq!(config.buffer, 7);
        assert_eq!(
            config.backoff,
            (Duration::from_millis(10), Duration::from_millis(80))
        );
        assert!(config.flag);
    }

    #[test]
    fn a_node_timeout_within_one_heartbeat_is_invalid() {
        let config = ClusterConfig::<Extra>::new("bus://here")
            .heartbeat(Duration::from_secs(2), Duration::from_secs(2));
        assert!(!config.heartbeat_is_valid());
    }

    #[test]
    fn reconnect_waits_stay_within_the_configured_range() {
        let config = ClusterConfig::<Extra>::new("bus://here")
            .backoff(Duration::from_millis(100), Duration::from_secs(1));
        let backoff = config.reconnect_backoff();
        for attempt in 0..10 {
            let wait = backoff.delay(attempt);
            assert!(wait >= Duration::from_millis(50), "{attempt}: {wait:?}");
            assert!(wait <= Duration::from_secs(1), "{attempt}: {wait:?}");
        }
    }
}
