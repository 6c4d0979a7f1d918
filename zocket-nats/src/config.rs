//! The NATS adapter's settings and what makes them invalid.

use std::time::Duration;

use zocket_runtime::cluster::{BusOptions, ClusterConfig};

/// Settings of a [`NatsAdapter`](crate::NatsAdapter): `url` is
/// `nats://host:port` (several comma-separated for a NATS cluster); the
/// prefix is the first subject token(s) of every subject: letters, digits,
/// `-`, `_` and `.` only; the query timeout (default 1 s) is how long a
/// membership query waits for the other nodes' answers.
pub type NatsConfig = ClusterConfig<NatsOptions>;

/// NATS has nothing beyond the shared settings but its own default query
/// timeout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NatsOptions {}

impl BusOptions for NatsOptions {
    const QUERY_TIMEOUT: Duration = Duration::from_secs(1);
}

/// Why a [`NatsAdapter`](crate::NatsAdapter) could not be made.
#[derive(Debug, thiserror::Error)]
pub enum NatsAdapterError {
    /// The prefix is not one or more valid subject tokens.
    #[error("the prefix may hold only letters, digits, '-', '_' and '.' (not at the ends)")]
    Prefix,
    /// A node would be dead between two of its own heartbeats.
    #[error("the node timeout must be longer than the heartbeat interval")]
    Heartbeat,
}

pub(crate) fn check(config: &NatsConfig) -> Result<(), NatsAdapterError> {
    let prefix = &config.prefix;
    let valid_prefix = !prefix.is_empty()
        && !prefix.starts_with('.')
        && !prefix.ends_with('.')
        && !prefix.contains("..")
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid_prefix {
        return Err(NatsAdapterError::Prefix);
    }
    if !config.heartbeat_is_valid() {
        return Err(NatsAdapterError::Heartbeat);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "nats://127.0.0.1:4222";

    #[test]
    fn defaults_are_valid_with_the_nats_query_timeout() {
        let config = NatsConfig::new(URL);
        assert_eq!(config.query_timeout, Duration::from_secs(1));
        assert!(check(&config).is_ok());
        assert!(check(&config.prefix("app.v2-test_1")).is_ok());
    }

    #[test]
    fn prefixes_that_are_not_subject_tokens_are_refused() {
        for prefix in ["", ".app", "app.", "a..b", "a b", "a*", "a>", "ä"] {
            assert!(
                matches!(
                    check(&NatsConfig::new(URL).prefix(prefix)),
                    Err(NatsAdapterError::Prefix)
                ),
                "{prefix:?}"
            );
        }
    }

    #[test]
    fn a_node_timeout_within_one_heartbeat_is_refused() {
        let config = NatsConfig::new(URL).heartbeat(Duration::from_secs(1), Duration::from_secs(1));
        assert!(matches!(check(&config), Err(NatsAdapterError::Heartbeat)));
    }
}
