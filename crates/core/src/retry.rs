//! The one retry policy: exponential backoff from a base delay, capped, with
//! optional full jitter (a uniform delay between zero and the capped exponential,
//! as AWS recommends for contended writes: aws.amazon.com/blogs/architecture/
//! exponential-backoff-and-jitter). The loops that retry (DynamoDB batch writes,
//! Firehose records, X API searches) decide what to retry; this decides how long
//! to wait.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait before the first retry (without jitter).
    pub base: Duration,
    /// No wait is longer.
    pub cap: Duration,
    /// Full jitter: a uniform wait in `[0, capped exponential]`.
    pub jitter: bool,
}

impl Backoff {
    /// Doubling from `base`, no jitter, capped at an hour.
    pub const fn exponential(base: Duration) -> Self {
        Self {
            base,
            cap: Duration::from_secs(3600),
            jitter: false,
        }
    }

    /// The wait before retry number `retry` (0 for the first retry).
    pub fn delay(&self, retry: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(2u32.saturating_pow(retry.min(31)))
            .min(self.cap);
        if !self.jitter {
            return exp;
        }
        let millis = u64::try_from(exp.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(random(retry) % (millis.saturating_add(1)))
    }
}

/// A cheap random number for jitter (xorshift over the clock's nanoseconds): the
/// waits of concurrent writers need only differ, not be unpredictable.
fn random(salt: u32) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    let mut x = nanos ^ (u64::from(salt) << 32) ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_the_base_up_to_the_cap() {
        let b = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
            jitter: false,
        };
        let waits: Vec<u128> = (0..6).map(|r| b.delay(r).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(
            Backoff::exponential(Duration::from_secs(1)).delay(u32::MAX),
            Duration::from_secs(3600)
        );
    }

    #[test]
    fn full_jitter_stays_within_the_capped_exponential() {
        let b = Backoff {
            base: Duration::from_millis(50),
            cap: Duration::from_secs(5),
            jitter: true,
        };
        for r in 0..40 {
            let limit = Duration::from_millis(50)
                .saturating_mul(2u32.saturating_pow(r.min(31)))
                .min(Duration::from_secs(5));
            assert!(b.delay(r) <= limit, "retry {r}");
        }
    }
}
