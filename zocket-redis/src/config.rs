//! The Redis adapter's settings: the shared cluster ones plus the pub/sub
//! flavour, and what makes them invalid.

use std::time::Duration;

use redis::{IntoConnectionInfo, ProtocolVersion};
use zocket_runtime::cluster::{BusOptions, ClusterConfig};

/// Settings of a [`RedisAdapter`](crate::RedisAdapter): `url` is
/// `redis://[user:pass@]host:port[/db]`; the prefix must not contain `{`
/// or `}` (keys are `{prefix}:...`, a hash tag keeping the registry in one
/// slot); the query timeout (default 2 s) bounds every Redis reply.
pub type RedisConfig = ClusterConfig<RedisOptions>;

/// What only Redis has, set with
/// `RedisConfig::new(url).options(|o| o.sharded(true))`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedisOptions {
    /// Force sharded (`true`) or plain (`false`) pub/sub; `None` picks
    /// sharded when the server is Redis 7 or later.
    pub sharded: Option<bool>,
}

impl RedisOptions {
    /// Forces sharded (`SSUBSCRIBE`/`SPUBLISH`) or plain pub/sub.
    #[must_use]
    pub fn sharded(mut self, sharded: bool) -> Self {
        self.sharded = Some(sharded);
        self
    }
}

impl BusOptions for RedisOptions {
    const QUERY_TIMEOUT: Duration = Duration::from_secs(2);
}

/// Why a [`RedisAdapter`](crate::RedisAdapter) could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RedisAdapterError {
    /// The URL does not parse as a Redis connection.
    #[error("invalid Redis URL: {0}")]
    Url(#[source] redis::RedisError),
    /// The prefix would break the registry's hash tag.
    #[error("the prefix must not contain '{{' or '}}'")]
    Prefix,
    /// A node would be dead between two of its own heartbeats.
    #[error("the node timeout must be longer than the heartbeat interval")]
    Heartbeat,
}

/// Checks `config` and builds the client (RESP3, so subscriptions and
/// commands share one connection).
pub(crate) fn client(config: &RedisConfig) -> Result<redis::Client, RedisAdapterError> {
    if config.prefix.contains(['{', '}']) {
        return Err(RedisAdapterError::Prefix);
    }
    if !config.heartbeat_is_valid() {
        return Err(RedisAdapterError::Heartbeat);
    }
    let info = config
        .url
        .as_str()
        .into_connection_info()
        .map_err(RedisAdapterError::Url)?;
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    redis::Client::open(info.set_redis_settings(settings)).map_err(RedisAdapterError::Url)
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "redis://127.0.0.1:6379";

    #[test]
    fn defaults_are_redis_ones() {
        let config = RedisConfig::new(URL);
        assert_eq!(config.query_timeout, Duration::from_secs(2));
        assert_eq!(config.sharded, None);
        assert!(client(&config).is_ok());
        let forced = config.options(|o| o.sharded(false));
        assert_eq!(forced.sharded, Some(false));
    }

    #[test]
    fn bad_settings_are_refused_with_their_reason() {
        assert!(matches!(
            client(&RedisConfig::new(URL).prefix("a{b")),
            Err(RedisAdapterError::Prefix)
        ));
        assert!(matches!(
            client(
                &RedisConfig::new(URL).heartbeat(Duration::from_secs(2), Duration::from_secs(1))
            ),
            Err(RedisAdapterError::Heartbeat)
        ));
        assert!(matches!(
            client(&RedisConfig::new("http://nowhere")),
            Err(RedisAdapterError::Url(_))
        ));
    }
}
