//! Admission and rate limits: the global and per-IP connection caps checked
//! before the upgrade, the per-connection token bucket checked for every
//! incoming message, and the per-type buckets of messages declared with
//! `#[incoming(rate = "..")]`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::time::Instant;

/// A per-connection message rate: `per_second` tokens refill continuously up
/// to `burst`; each incoming text or binary message takes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Tokens added per second.
    pub per_second: u32,
    /// Most tokens held, and so the largest burst accepted at once.
    pub burst: u32,
}

/// A token bucket owned by one connection's reader (no locking needed).
///
/// Written here rather than taken from a crate: it is a dozen lines, uses
/// tokio's clock (so tests can pause time), and is never shared.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(limit: RateLimit) -> Self {
        Self::refilling(f64::from(limit.per_second), limit.burst)
    }

    /// A full bucket of `burst` tokens refilling at `rate` per second.
    fn refilling(rate: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        TokenBucket {
            rate,
            burst,
            tokens: burst,
            last: Instant::now(),
        }
    }

    /// Takes a token if one is available.
    pub fn try_take(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The rate of one incoming message type, from
/// `#[incoming(rate = "5/s", burst = 10)]`: `count` messages per `per_secs`
/// seconds per connection, at most `burst` at once. The router macro writes
/// these; applications do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeRate {
    /// Messages allowed per period.
    pub count: u32,
    /// The period, in seconds (1, 60 or 3600).
    pub per_secs: u32,
    /// Tokens the bucket holds; a fresh connection may send this many at
    /// once.
    pub burst: u32,
}

/// One connection's buckets for the rate-limited message types, indexed by
/// the type's position in the router's `Incoming::TYPES` (the table the
/// macro generates is in that order). Types without a rate have no bucket.
#[derive(Debug)]
pub(crate) struct TypeBuckets {
    buckets: Box<[Option<TokenBucket>]>,
}

impl TypeBuckets {
    /// The buckets for `rates`, or `None` for a router that declares no
    /// rate (nothing is allocated for it).
    pub fn new(rates: &[Option<TypeRate>]) -> Option<Self> {
        if rates.iter().all(Option::is_none) {
            return None;
        }
        let buckets = rates
            .iter()
            .map(|rate| {
                rate.map(|r| {
                    TokenBucket::refilling(
                        f64::from(r.count) / f64::from(r.per_secs.max(1)),
                        r.burst,
                    )
                })
            })
            .collect();
        Some(TypeBuckets { buckets })
    }

    /// Takes a token for the message type at `index`; true when it may be
    /// handled (always for a type without a rate).
    pub fn try_take(&mut self, index: usize) -> bool {
        match self.buckets.get_mut(index) {
            Some(Some(bucket)) => bucket.try_take(),
            _ => true,
        }
    }
}

/// Why a connection was not admitted (answered with HTTP 503).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CapError {
    #[error("server is at its connection limit ({max})")]
    Global { max: usize },
    #[error("too many connections from this address (limit {max})")]
    PerIp { max: usize },
}

/// Counts open connections, in total and per IP address.
#[derive(Debug, Default)]
pub(crate) struct ConnectionLimits {
    total: AtomicUsize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
}

impl ConnectionLimits {
    /// Reserves a slot for one connection; the slot is released when the
    /// returned permit is dropped (when the connection task ends, or when
    /// the upgrade never completes).
    pub fn acquire(
        self: &Arc<Self>,
        ip: Option<IpAddr>,
        max_total: usize,
        max_per_ip: usize,
    ) -> Result<ConnectionPermit, CapError> {
        let reserved = self
            .total
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max_total).then_some(n + 1)
            });
        if reserved.is_err() {
            return Err(CapError::Global { max: max_total });
        }
        if let Some(ip) = ip {
            let mut per_ip = self.per_ip.lock();
            let count = per_ip.entry(ip).or_insert(0);
            if *count >= max_per_ip {
                if *count == 0 {
                    per_ip.remove(&ip);
                }
                drop(per_ip);
                self.total.fetch_sub(1, Ordering::AcqRel);
                return Err(CapError::PerIp { max: max_per_ip });
            }
            *count += 1;
        }
        Ok(ConnectionPermit {
            limits: self.clone(),
            ip,
        })
    }

    #[cfg(test)]
    fn open(&self) -> (usize, usize) {
        (self.total.load(Ordering::Acquire), self.per_ip.lock().len())
    }
}

/// One admitted connection's slot.
#[derive(Debug)]
pub(crate) struct ConnectionPermit {
    limits: Arc<ConnectionLimits>,
    ip: Option<IpAddr>,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        if let Some(ip) = self.ip {
            let mut per_ip = self.limits.per_ip.lock();
            if let Some(count) = per_ip.get_mut(&ip) {
                *count -= 1;
                if *count == 0 {
                    per_ip.remove(&ip);
                }
            }
        }
        self.limits.total.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn bucket_allows_burst_then_refills_at_rate() {
        let mut b = TokenBucket::new(RateLimit {
            per_second: 10,
            burst: 3,
        });
        assert!(b.try_take() && b.try_take() && b.try_take());
        assert!(!b.try_take());
        tokio::time::advance(Duration::from_millis(100)).await;
        assert!(b.try_take());
        assert!(!b.try_take());
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(
            (0..10).filter(|_| b.try_take()).count(),
            3,
            "capped at burst"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn type_buckets_limit_only_their_type() {
        let rates = [
            None,
            Some(TypeRate {
                count: 1,
                per_secs: 60,
                burst: 2,
            }),
        ];
        let mut b = TypeBuckets::new(&rates).unwrap();
        assert!((0..5).all(|_| b.try_take(0)), "no rate: no limit");
        assert!(b.try_take(1) && b.try_take(1));
        assert!(!b.try_take(1));
        tokio::time::advance(Duration::from_secs(59)).await;
        assert!(!b.try_take(1), "1/m has not refilled a token in 59 s");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(b.try_take(1));
        assert!(b.try_take(7), "an index past the table is not limited");
        assert!(TypeBuckets::new(&[None, None]).is_none());
    }

    #[test]
    fn caps_are_enforced_and_released_on_drop() {
        let limits = Arc::new(ConnectionLimits::default());
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let p1 = limits.acquire(Some(a), 3, 1).unwrap();
        assert_eq!(
            limits.acquire(Some(a), 3, 1).unwrap_err(),
            CapError::PerIp { max: 1 }
        );
        let p2 = limits.acquire(Some(b), 3, 1).unwrap();
        let p3 = limits.acquire(None, 3, 1).unwrap();
        assert_eq!(
            limits.acquire(None, 3, 1).unwrap_err(),
            CapError::Global { max: 3 }
        );
        drop((p1, p2, p3));
        assert_eq!(limits.open(), (0, 0));
        let _again = limits.acquire(Some(a), 3, 1).unwrap();
    }
}
