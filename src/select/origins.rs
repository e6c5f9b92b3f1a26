//! Origin steering: which origin of the chosen pool serves.
//!
//! Candidates are the pool's enabled origins of weight > 0 that are healthy
//! (health only counts in a monitored pool; the fallback pool may fail open
//! and ignore it).
//!
//! | policy | choice |
//! |---|---|
//! | `random` | weighted random |
//! | `hash` | weighted rendezvous hashing of the client IP (random when none is known) |
//! | `least_outstanding_requests` | lowest `(in-flight + 1) / weight`; ties in config order |
//! | `least_connections` | lowest `(open connections + 1) / weight`; ties in config order |
//!
//! `hash` first maps the client IP to one of 16,384 buckets, then
//! ranks the origins for that bucket by weighted rendezvous (highest random
//! weight): each origin draws `-ln(u) / weight` from a hash of its stable
//! identity and the bucket, and the lowest draw wins. The same client gets
//! the same origin on every node and across reloads while the origin set is
//! unchanged; removing an origin moves only the buckets it won, and adding
//! one moves only the buckets it now wins.

use super::RandomSource;
use super::rng::below;
use crate::hash;
use crate::health::HealthView;
use crate::request::Request;
use crate::table::{OriginId, OriginPolicy, PoolId, Table};

/// The client-IP space is divided into `2^HASH_BUCKET_BITS` buckets for
/// `hash` steering.
const HASH_BUCKET_BITS: u32 = 14;

/// Whether origin health counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HealthMode {
    /// Only healthy origins (in a monitored pool).
    Respect,
    /// Any enabled origin: the fallback pool failing open.
    Ignore,
}

/// Picks an origin of `pool`; `None` when no origin is eligible. Also
/// returns the policy that decided (`hash` without a client IP is random).
pub(crate) fn pick_origin<H, R>(
    table: &Table,
    pool: PoolId,
    request: &Request<'_>,
    health: &H,
    rng: &mut R,
    mode: HealthMode,
) -> Option<(OriginId, OriginPolicy)>
where
    H: HealthView + ?Sized,
    R: RandomSource + ?Sized,
{
    let entry = table.pool(pool);
    // Health only narrows the candidates when some enabled origin of a
    // monitored pool is not healthy; otherwise every enabled origin is a
    // candidate and their summed weight is known. (A registry counts the
    // origins enabled in the table bound last; while a reload that changes
    // which origins are enabled is in flight, a decision on the older table
    // checks every origin, since the counts may not match it.)
    let check = mode == HealthMode::Respect
        && entry.monitored()
        && health.healthy_origins(pool).is_none_or(|healthy| healthy < entry.enabled_origins);
    let origins = &table.origins[entry.origins.start as usize..entry.origins.end as usize];
    let first = entry.origins.start;
    let eligible = move |i: usize| {
        let origin = &origins[i];
        origin.selectable() && (!check || health.origin_healthy(OriginId(first + i as u32)))
    };
    let weight = |i: usize| origins[i].weight;
    let id = |i: usize| OriginId(first + i as u32);
    let total = if check { None } else { Some(entry.enabled_weight) };
    match entry.origin_policy {
        OriginPolicy::Random => {
            weighted_random(origins.len(), eligible, weight, total, rng).map(|i| (id(i), OriginPolicy::Random))
        }
        OriginPolicy::Hash => match request.client_ip {
            Some(ip) => {
                let bucket = hash::ip_key(ip) >> (64 - HASH_BUCKET_BITS);
                rendezvous(bucket, origins.len(), eligible, |i| (origins[i].key, origins[i].weight))
                    .map(|i| (id(i), OriginPolicy::Hash))
            }
            None => weighted_random(origins.len(), eligible, weight, total, rng).map(|i| (id(i), OriginPolicy::Random)),
        },
        OriginPolicy::LeastOutstandingRequests => {
            least(origins.len(), eligible, |i| (health.origin_outstanding(id(i)), weight(i)))
                .map(|i| (id(i), OriginPolicy::LeastOutstandingRequests))
        }
        OriginPolicy::LeastConnections => {
            least(origins.len(), eligible, |i| (health.origin_connections(id(i)), weight(i)))
                .map(|i| (id(i), OriginPolicy::LeastConnections))
        }
    }
}

/// Weighted random over the eligible positions `0..n`; `total` is their
/// summed weight when already known.
fn weighted_random<R: RandomSource + ?Sized>(
    n: usize,
    eligible: impl Fn(usize) -> bool,
    weight: impl Fn(usize) -> u32,
    total: Option<u64>,
    rng: &mut R,
) -> Option<usize> {
    let total = total.unwrap_or_else(|| (0..n).filter(|&i| eligible(i)).map(|i| u64::from(weight(i))).sum());
    if total == 0 {
        return None;
    }
    let mut draw = below(rng, total);
    let mut last = None;
    for i in (0..n).filter(|&i| eligible(i)) {
        let w = u64::from(weight(i));
        if draw < w {
            return Some(i);
        }
        draw -= w;
        last = Some(i);
    }
    // Only reachable if health changed between the two passes.
    last
}

/// Weighted rendezvous hashing for one bucket: the eligible position with
/// the lowest `-ln(u) / weight`. Ties (practically impossible) keep
/// config order.
pub(crate) fn rendezvous(
    bucket: u64,
    n: usize,
    eligible: impl Fn(usize) -> bool,
    key_and_weight: impl Fn(usize) -> (u64, u32),
) -> Option<usize> {
    let seed = hash::mix64(bucket ^ 0x6a09_e667_f3bc_c908);
    let mut best: Option<(usize, f64)> = None;
    for i in (0..n).filter(|&i| eligible(i)) {
        let (key, weight) = key_and_weight(i);
        let score = rendezvous_score(key, seed, weight);
        if best.is_none_or(|(_, b)| score < b) {
            best = Some((i, score));
        }
    }
    best.map(|(i, _)| i)
}

/// `-ln(u) / weight` with `u` in (0, 1) drawn from the origin's key and the
/// bucket seed: an exponential variate of rate `weight`, so an origin wins
/// a bucket with probability `weight / Σ weights`.
#[inline]
pub(crate) fn rendezvous_score(key: u64, seed: u64, weight: u32) -> f64 {
    let bits = hash::mix64(key ^ seed);
    let unit = ((bits >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64);
    -libm::log(unit) / f64::from(weight)
}

/// The eligible position with the lowest `(count + 1) / weight`.
fn least(n: usize, eligible: impl Fn(usize) -> bool, load: impl Fn(usize) -> (u32, u32)) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for i in (0..n).filter(|&i| eligible(i)) {
        let (count, weight) = load(i);
        let score = (f64::from(count) + 1.0) / f64::from(weight);
        if best.is_none_or(|(_, b)| score < b) {
            best = Some((i, score));
        }
    }
    best.map(|(i, _)| i)
}
