//! Admission and rate limits: the global and per-IP connection caps checked
//! before the upgrade, and the per-connection token bucket checked for every
//! incoming message.

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
        let burst = f64::from(limit.burst.max(1));
        TokenBucket {
            rate: f64::from(limit.per_second),
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
