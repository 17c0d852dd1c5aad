//! Request rates, per client address: a token bucket per IP address, so one
//! client cannot take the server's time, its nonce table or its database
//! from everyone else. Beyond the rate a request answers `429
//! rate_limited` with `retry-after`, before anything else is done for it
//! (no signature checked, no nonce claimed).
//!
//! Loopback peers are not limited unless asked (`--limit-loopback`): behind
//! a proxy on the same machine every request comes from loopback, and the
//! proxy is where to limit then.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The most addresses tracked at once; beyond, the buckets that are full
/// again (their clients idle) are forgotten first.
const MAX_TRACKED: usize = 100_000;

/// How fast each address may send requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Requests per second, sustained.
    pub per_second: f64,
    /// Requests at once, after an idle time.
    pub burst: f64,
    /// Whether loopback peers are limited too.
    pub loopback: bool,
}

impl Default for RateLimit {
    /// 100 requests per second per address, bursts of 400, loopback not
    /// limited.
    fn default() -> Self {
        Self {
            per_second: 100.0,
            burst: 400.0,
            loopback: false,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of every address seen lately.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    /// A limiter with `limit`.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `ip` at `now`: `Err(wait)` if there is none, with
    /// how long until there is.
    pub fn take(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        if (ip.is_loopback() && !self.limit.loopback) || self.limit.per_second <= 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&ip) {
            let (rate, burst) = (self.limit.per_second, self.limit.burst);
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst
            });
            if buckets.len() >= MAX_TRACKED {
                // Every tracked client is busy: the newcomer waits a second.
                return Err(Duration::from_secs(1));
            }
        }
        let bucket = buckets.entry(ip).or_insert(Bucket {
            tokens: self.limit.burst,
            at: now,
        });
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * self.limit.per_second;
        bucket.tokens = (bucket.tokens + refill).min(self.limit.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.limit.per_second,
            ))
        }
    }
}

/// The middleware: refuses a request beyond its address's rate. Requests
/// without a peer address (the router used in-process) are not limited.
pub async fn limit_requests(
    State(limiter): State<Arc<RateLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if let Some(ip) = peer
        && let Err(wait) = limiter.take(ip, Instant::now())
    {
        let seconds = wait.as_secs().max(1);
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests from this address: try again in {seconds} s"),
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return response;
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let limiter = RateLimiter::new(RateLimit {
            per_second: 10.0,
            burst: 5.0,
            loopback: false,
        });
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t = Instant::now();
        for _ in 0..5 {
            limiter.take(ip, t).unwrap();
        }
        let wait = limiter.take(ip, t).unwrap_err();
        assert!(wait <= Duration::from_millis(100), "{wait:?}");
        // A tenth of a second later, one more.
        limiter.take(ip, t + Duration::from_millis(100)).unwrap();
        assert!(limiter.take(ip, t + Duration::from_millis(100)).is_err());
        // Another address has its own bucket; loopback is not limited.
        limiter.take("192.0.2.2".parse().unwrap(), t).unwrap();
        for _ in 0..100 {
            limiter.take("127.0.0.1".parse().unwrap(), t).unwrap();
        }
    }
}
