//! Per-token rate limits on writes: a token bucket per token id, in this process's memory.
//! A token may make `burst` writes at once; the bucket refills at `per_second`. A write that
//! finds it empty is answered 429 `rate_limited` with `Retry-After` (whole seconds, rounded
//! up) before anything is read or written. Reads are never limited.
//!
//! Hand-written rather than a crate: it is forty lines, and the one lock is held for a
//! hash-map lookup and a few float operations. Several servers on one database each keep
//! their own buckets, so the limit holds per server.

use crate::config::WriteLimits;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets above which full (idle) ones are dropped, so the map stays small.
const PRUNE_ABOVE: usize = 10_000;

pub struct WriteLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl WriteLimiter {
    /// None when the limit is off (`per_second` 0).
    pub fn new(limits: WriteLimits) -> Option<Self> {
        (limits.per_second > 0).then(|| Self {
            per_second: f64::from(limits.per_second),
            burst: f64::from(if limits.burst == 0 {
                limits.per_second
            } else {
                limits.burst
            }),
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// Takes one write from `token_id`'s bucket, or says how long until one is there.
    pub fn take(&self, token_id: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, b| self.level(b, now) < self.burst);
        }
        let bucket = buckets.entry(token_id.to_string()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        bucket.tokens = self.level(bucket, now);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        }
    }

    fn level(&self, b: &Bucket, now: Instant) -> f64 {
        let refill = now.saturating_duration_since(b.at).as_secs_f64() * self.per_second;
        (b.tokens + refill).min(self.burst)
    }
}

/// `Retry-After` in whole seconds: rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_second: u32, burst: u32) -> WriteLimiter {
        WriteLimiter::new(WriteLimits { per_second, burst }).expect("on")
    }

    #[test]
    fn off_by_default() {
        assert!(WriteLimiter::new(WriteLimits::default()).is_none());
    }

    #[test]
    fn burst_then_refill_per_token() {
        let l = limiter(2, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.take("a", t0).is_ok());
        }
        let wait = l.take("a", t0).expect_err("bucket empty");
        assert_eq!(wait, Duration::from_millis(500));
        assert_eq!(retry_after_secs(wait), 1);
        assert!(l.take("b", t0).is_ok(), "another token has its own bucket");
        assert!(l.take("a", t0 + Duration::from_millis(499)).is_err());
        assert!(l.take("a", t0 + Duration::from_millis(1000)).is_ok());
        // Idle for long, the bucket holds no more than the burst.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(l.take("a", later).is_ok());
        }
        assert!(l.take("a", later).is_err());
    }

    #[test]
    fn burst_zero_is_one_seconds_worth() {
        let l = limiter(4, 0);
        let t0 = Instant::now();
        for _ in 0..4 {
            assert!(l.take("a", t0).is_ok());
        }
        assert!(l.take("a", t0).is_err());
    }

    #[test]
    fn slow_rate_waits_whole_seconds() {
        let l = limiter(1, 1);
        let t0 = Instant::now();
        assert!(l.take("a", t0).is_ok());
        let wait = l
            .take("a", t0 + Duration::from_millis(100))
            .expect_err("empty");
        assert_eq!(retry_after_secs(wait), 1);
    }
}
