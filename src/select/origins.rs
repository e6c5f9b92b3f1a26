//! Origin steering: which origin of the chosen pool serves.
//!
//! Candidates are the pool's enabled origins of weight > 0 that are healthy
//! (health only counts in a monitored pool; the fallback pool may fail open
//! and ignore it).
//!
//! | policy | choice |
//! |---|---|
//! | `random` | weighted random: probability `weight / Σ weights` of the candidates |
//! | `hash` | weighted rendezvous hashing of the client IP (weighted random when none is known) |
//! | `least_outstanding_requests` | lowest `(in-flight + 1) / weight`; ties in config order |
//! | `least_connections` | lowest `(open connections + 1) / weight`; ties in config order |
//!
//! # `hash`
//!
//! The client IP's stable hash picks one of 16,384 buckets; the origins
//! are ranked for that bucket by weighted rendezvous (highest random
//! weight): each origin draws `-ln(u) / weight` from a hash of its stable
//! identity (pool id and origin name) and the bucket, and the lowest draw
//! wins, so an origin wins a share `weight / Σ weights` of the buckets. The
//! same client gets the same origin on every node and across reloads while
//! the origin set is unchanged; removing an origin (or its going down)
//! moves only the buckets it won, and adding one moves only the buckets it
//! now wins.
//!
//! Ranking every origin costs a logarithm per origin per request, so for
//! pools of more than [`RANKING_MIN_ORIGINS`] selectable origins the
//! compiler stores each bucket's best [`RANKING_DEPTH`] origins (positions
//! as `u16`: 16,384 × 4 × 2 bytes = 128 KiB per such pool). A request walks
//! its bucket's row and takes the first candidate; only when all four are
//! down does it rank the whole pool. The row is the head of the very order
//! the full ranking produces (ties by config order), so both paths give the
//! same origin, and consistency holds whatever the pool's size.
//!
//! A pool whose origins are all selectable and of one weight
//! ([`uniform_weights`]) needs no logarithm at all: with one weight,
//! `-ln(u) / weight` orders exactly as `u` does, reversed, so the origin
//! with the largest 53-bit draw wins. Both paths rank such pools by the
//! draw.
//!
//! # `random` over large pools
//!
//! Pools of more than [`CUMULATIVE_MIN_ORIGINS`] origins keep the running
//! sums of their selectable origins' weights: a draw is a binary search.
//! When some origins are down, a draw that lands on one is rejected and
//! redrawn (at most [`MAX_REJECTIONS`] times, then an exact scan of the
//! candidates): the result is still exactly `weight / Σ weights` of the
//! candidates.
//!
//! # `random` over equal weights
//!
//! When every origin of the pool is a candidate (none is disabled, weighs
//! 0, or is down) and they all weigh the same `w`, the weighted draw is
//! `below(n·w)` and lands on position `⌊below(n·w) / w⌋`. With the
//! multiply-shift `below(m) = ⌊x·m / 2⁶⁴⌋` of one 64-bit draw `x`, that is
//! `⌊⌊x·n·w / 2⁶⁴⌋ / w⌋ = ⌊x·n / 2⁶⁴⌋ = below(n)`: the same origin from
//! the same draw, without walking the weights. The pool records at compile
//! time whether its weights allow it ([`uniform_weights`]).

use alloc::boxed::Box;
use alloc::vec;

use super::RandomSource;
use super::rng::below;
use crate::hash;
use crate::health::HealthView;
use crate::request::Request;
use crate::table::{OriginEntry, OriginId, OriginPolicy, PoolId, Table};

/// The client-IP space is divided into `2^HASH_BUCKET_BITS` buckets for
/// `hash` steering.
const HASH_BUCKET_BITS: u32 = 14;

/// The number of client-IP buckets of `hash` steering.
pub(crate) const HASH_BUCKETS: usize = 1 << HASH_BUCKET_BITS;

/// Origins kept per bucket in a precomputed `hash` ranking.
pub(crate) const RANKING_DEPTH: usize = 4;

/// `hash` pools with more selectable (enabled, weight > 0) origins than
/// this get a precomputed ranking; smaller ones rank on the fly.
pub(crate) const RANKING_MIN_ORIGINS: usize = 16;

/// Pools with more origins than this keep cumulative weights for `random`.
pub(crate) const CUMULATIVE_MIN_ORIGINS: usize = 8;

/// Rejected draws (landing on an origin that is down) before an exact scan.
pub(crate) const MAX_REJECTIONS: usize = 8;

/// An empty slot in a ranking row (a pool with fewer selectable origins
/// than [`RANKING_DEPTH`]).
const NO_ORIGIN: u16 = u16::MAX;

/// Each bucket's best-ranked selectable origins, by position in the pool,
/// best first.
pub(crate) type HashRanking = Box<[[u16; RANKING_DEPTH]]>;

/// Whether origin health counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HealthMode {
    /// Only healthy origins (in a monitored pool).
    Respect,
    /// Any enabled origin: the fallback pool failing open.
    Ignore,
}

/// How [`pick_origin`] chooses, beyond the pool's own policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pick {
    /// Hash this client key (`ip_key`) whatever the pool's policy: the
    /// first choice of an `ip_cookie` session.
    pub(crate) hash_key: Option<u64>,
    /// Never this origin: the one a failover retry moves away from.
    pub(crate) exclude: Option<OriginId>,
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
    pick: Pick,
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
    // checks every origin, since the counts may not match it.) An excluded
    // origin narrows the candidates too.
    let respect = mode == HealthMode::Respect
        && entry.monitored()
        && health.healthy_origins(pool).is_none_or(|healthy| healthy < entry.enabled_origins);
    let check = respect || pick.exclude.is_some();
    let origins = &table.origins[entry.origins.start as usize..entry.origins.end as usize];
    let first = entry.origins.start;
    let excluded = pick.exclude.map_or(u32::MAX, |o| o.0);
    let eligible = move |i: usize| {
        let origin = &origins[i];
        let id = first + i as u32;
        origin.selectable() && id != excluded && (!respect || health.origin_healthy(OriginId(id)))
    };
    let id = |i: usize| OriginId(first + i as u32);
    // A client hash decides `hash` with a client IP, and the first choice
    // of an `ip_cookie` session whatever the policy.
    let client = match (pick.hash_key, entry.origin_policy) {
        (Some(key), _) => Some(key),
        (None, OriginPolicy::Hash) => request.client_ip.map(hash::ip_key),
        (None, _) => None,
    };
    if let Some(key) = client {
        let bucket = bucket_of(key);
        let ranking = entry.hash_ranking.as_deref();
        return hashed(origins, ranking, entry.uniform, bucket, eligible).map(|i| (id(i), OriginPolicy::Hash));
    }
    match entry.origin_policy {
        // `hash` without a client IP is random.
        OriginPolicy::Random | OriginPolicy::Hash => {
            let at = if entry.uniform && !check {
                // Every origin is a candidate and all weigh the same: the
                // weighted draw's origin, from the same one draw (module
                // docs).
                Some(below(rng, origins.len() as u64) as usize)
            } else {
                let total = if check { None } else { Some(entry.enabled_weight) };
                weighted_random(origins, entry.cumulative_weights.as_deref(), eligible, total, rng)
            };
            at.map(|i| (id(i), OriginPolicy::Random))
        }
        OriginPolicy::LeastOutstandingRequests => {
            least(origins, eligible, |i| health.origin_outstanding(id(i))).map(|i| (id(i), entry.origin_policy))
        }
        OriginPolicy::LeastConnections => {
            least(origins, eligible, |i| health.origin_connections(id(i))).map(|i| (id(i), entry.origin_policy))
        }
    }
}

/// The bucket of a client whose IP hashes to `ip_key`.
#[inline]
pub(crate) fn bucket_of(ip_key: u64) -> usize {
    (ip_key >> (64 - HASH_BUCKET_BITS)) as usize
}

/// `hash` steering for one bucket: the precomputed row when the pool has
/// one and a candidate is in it, else the full ranking. Both give the
/// eligible origin that ranks first.
#[inline]
pub(crate) fn hashed(
    origins: &[OriginEntry],
    ranking: Option<&[[u16; RANKING_DEPTH]]>,
    uniform: bool,
    bucket: usize,
    eligible: impl Fn(usize) -> bool,
) -> Option<usize> {
    if let Some(row) = ranking.and_then(|r| r.get(bucket)) {
        for &at in row {
            if at == NO_ORIGIN {
                // The row lists every selectable origin: none is eligible.
                return None;
            }
            if eligible(usize::from(at)) {
                return Some(usize::from(at));
            }
        }
    }
    rendezvous(origins, uniform, bucket, eligible)
}

/// Weighted random over the eligible positions of `origins`; `total` is
/// their summed weight when every selectable origin is eligible.
fn weighted_random<R: RandomSource + ?Sized>(
    origins: &[OriginEntry],
    cumulative: Option<&[u32]>,
    eligible: impl Fn(usize) -> bool,
    total: Option<u64>,
    rng: &mut R,
) -> Option<usize> {
    if let Some(cumulative) = cumulative {
        // Draw over every selectable origin; with health narrowing the
        // candidates, reject a draw that lands on one that is down. An
        // accepted draw is `weight / Σ candidates' weights`, exactly.
        let all = u64::from(cumulative.last().copied().unwrap_or(0));
        if all == 0 {
            return None;
        }
        let attempts = if total.is_some() { 1 } else { MAX_REJECTIONS };
        for _ in 0..attempts {
            let draw = below(rng, all);
            let at = cumulative.partition_point(|&sum| u64::from(sum) <= draw);
            if total.is_some() || eligible(at) {
                return Some(at);
            }
        }
    }
    let n = origins.len();
    let weight = |i: usize| u64::from(origins[i].weight);
    let total = total.unwrap_or_else(|| (0..n).filter(|&i| eligible(i)).map(weight).sum());
    if total == 0 {
        return None;
    }
    let mut draw = below(rng, total);
    let mut last = None;
    for i in (0..n).filter(|&i| eligible(i)) {
        let w = weight(i);
        if draw < w {
            return Some(i);
        }
        draw -= w;
        last = Some(i);
    }
    // Only reachable if health changed between the two passes.
    last
}

/// The seed of a bucket's rendezvous draws.
#[inline]
fn bucket_seed(bucket: usize) -> u64 {
    hash::mix64(bucket as u64 ^ 0x6a09_e667_f3bc_c908)
}

/// The origin's 53-bit draw for a bucket.
#[inline]
fn draw_bits(key: u64, seed: u64) -> u64 {
    hash::mix64(key ^ seed) >> 11
}

/// The origin's uniform draw in (0, 1) for a bucket: its 53-bit draw, as
/// a fraction.
#[inline]
fn unit(key: u64, seed: u64) -> f64 {
    (draw_bits(key, seed) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// `-ln(unit) / weight`: an exponential variate of rate `weight`, so an
/// origin ranks first with probability `weight / Σ weights`.
#[inline]
fn score(unit: f64, weight: u32) -> f64 {
    -libm::log(unit) / f64::from(weight)
}

/// `-ln(u) ≥ 1 - u`, so a score is at least `(1 - u) / weight`: an origin
/// whose bound exceeds the best score so far times this margin cannot win,
/// and its logarithm is skipped. The margin covers rounding (the logarithm
/// is within an ulp), so skipping never changes the result.
const BOUND_MARGIN: f64 = 1.0 + 1e-9;

/// Weighted rendezvous hashing for one bucket: the eligible position with
/// the lowest score. Ties (practically impossible) keep config order.
///
/// `uniform` pools ([`uniform_weights`]) rank by the draw itself: with one
/// weight for all, `-ln(u) / w` orders exactly as `u` does, reversed, so
/// the origin with the largest draw wins and no logarithm is needed.
pub(crate) fn rendezvous(
    origins: &[OriginEntry],
    uniform: bool,
    bucket: usize,
    eligible: impl Fn(usize) -> bool,
) -> Option<usize> {
    let seed = bucket_seed(bucket);
    if uniform {
        let mut best: Option<(usize, u64)> = None;
        for i in (0..origins.len()).filter(|&i| eligible(i)) {
            let draw = draw_bits(origins[i].key, seed);
            if best.is_none_or(|(_, b)| draw > b) {
                best = Some((i, draw));
            }
        }
        return best.map(|(i, _)| i);
    }
    let mut best: Option<(usize, f64)> = None;
    let mut bound = f64::INFINITY;
    for i in (0..origins.len()).filter(|&i| eligible(i)) {
        let origin = &origins[i];
        let u = unit(origin.key, seed);
        if 1.0 - u > bound * f64::from(origin.weight) {
            continue;
        }
        let score = score(u, origin.weight);
        if best.is_none_or(|(_, b)| score < b) {
            best = Some((i, score));
            bound = score * BOUND_MARGIN;
        }
    }
    best.map(|(i, _)| i)
}

/// The precomputed `hash` ranking of a pool: for every bucket, the
/// [`RANKING_DEPTH`] selectable origins that rank first, in rendezvous
/// order (ties by position). `None` for pools small enough to rank on the
/// fly.
pub(crate) fn build_hash_ranking(origins: &[OriginEntry]) -> Option<HashRanking> {
    let selectable = origins.iter().filter(|o| o.selectable()).count();
    if selectable <= RANKING_MIN_ORIGINS || origins.len() > usize::from(NO_ORIGIN) {
        return None;
    }
    // An origin whose score cannot beat the current last of the row is
    // skipped without its logarithm (see `BOUND_MARGIN`): no origin that
    // would enter the row is skipped, so the row is exactly the head of the
    // full ranking. A uniform pool ranks by the draw, as `rendezvous` does:
    // its score is the negated 53-bit draw, exact in an `f64`.
    let uniform = uniform_weights(origins);
    let mut ranking = vec![[NO_ORIGIN; RANKING_DEPTH]; HASH_BUCKETS].into_boxed_slice();
    for (bucket, row) in ranking.iter_mut().enumerate() {
        let seed = bucket_seed(bucket);
        let mut scores = [f64::INFINITY; RANKING_DEPTH];
        let mut len = 0;
        let mut bound = f64::INFINITY;
        for (at, origin) in origins.iter().enumerate() {
            if !origin.selectable() {
                continue;
            }
            let s = if uniform {
                -(draw_bits(origin.key, seed) as f64)
            } else {
                let u = unit(origin.key, seed);
                if (1.0 - u) > bound * f64::from(origin.weight) {
                    continue;
                }
                score(u, origin.weight)
            };
            if len == RANKING_DEPTH && s >= scores[RANKING_DEPTH - 1] {
                // A later position loses a tie.
                continue;
            }
            // Insert, keeping (score, position) ascending.
            let mut j = len.min(RANKING_DEPTH - 1);
            while j > 0 && scores[j - 1] > s {
                scores[j] = scores[j - 1];
                row[j] = row[j - 1];
                j -= 1;
            }
            scores[j] = s;
            row[j] = at as u16;
            len = (len + 1).min(RANKING_DEPTH);
            if len == RANKING_DEPTH && !uniform {
                bound = scores[RANKING_DEPTH - 1] * BOUND_MARGIN;
            }
        }
    }
    Some(ranking)
}

/// Whether a pool's origins are all selectable (enabled, weight > 0) and
/// of one weight, and there is at least one: `random` over all of them
/// then needs one uniform draw, no walk.
pub(crate) fn uniform_weights(origins: &[OriginEntry]) -> bool {
    match origins.first() {
        Some(first) => origins.iter().all(|o| o.selectable() && o.weight == first.weight),
        None => false,
    }
}

/// The running sums of a pool's origin weights for weighted random draws,
/// counting only selectable origins (the others weigh 0, so a draw never
/// lands on them). `None` for pools small enough to scan.
pub(crate) fn build_cumulative_weights(origins: &[OriginEntry]) -> Option<Box<[u32]>> {
    if origins.len() <= CUMULATIVE_MIN_ORIGINS {
        return None;
    }
    let mut sum: u32 = 0;
    let sums = origins.iter().map(|o| {
        // At most 65,535 origins of weight ≤ 10,000: no overflow.
        sum = sum.saturating_add(if o.selectable() { o.weight } else { 0 });
        sum
    });
    Some(sums.collect())
}

/// The eligible position with the lowest `(count + 1) / weight`; ties keep
/// config order.
fn least(origins: &[OriginEntry], eligible: impl Fn(usize) -> bool, count: impl Fn(usize) -> u32) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for i in (0..origins.len()).filter(|&i| eligible(i)) {
        let score = (f64::from(count(i)) + 1.0) / f64::from(origins[i].weight);
        if best.is_none_or(|(_, b)| score < b) {
            best = Some((i, score));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::FastRng;
    use alloc::boxed::Box;
    use alloc::format;
    use alloc::vec::Vec;
    use proptest::prelude::*;
    use proptest::test_runner::FileFailurePersistence;

    fn origin(pool: &str, name: &str, weight: u32, enabled: bool) -> OriginEntry {
        OriginEntry {
            pool: PoolId(0),
            name: name.into(),
            address: "192.0.2.1".into(),
            port: 0,
            weight,
            enabled,
            host_header: None,
            key: hash::origin_key(pool, name),
        }
    }

    fn pool(n: usize, weight: impl Fn(usize) -> u32) -> Vec<OriginEntry> {
        (0..n).map(|i| origin("p", &format!("o{i}"), weight(i), true)).collect()
    }

    /// The full ranking of a bucket: selectable positions by (score, position).
    fn full_ranking(origins: &[OriginEntry], bucket: usize) -> Vec<usize> {
        let seed = bucket_seed(bucket);
        let mut ranked: Vec<(f64, usize)> = (0..origins.len())
            .filter(|&i| origins[i].selectable())
            .map(|i| (score(unit(origins[i].key, seed), origins[i].weight), i))
            .collect();
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        ranked.into_iter().map(|(_, i)| i).collect()
    }

    #[test]
    fn buckets_are_shared_by_weight() {
        // Over all 16,384 buckets, an origin wins `weight / Σ weights` of
        // them, within 5σ of the bucket spread; on both paths.
        let small = pool(4, |i| [2_000, 3_000, 5_000, 0][i]);
        let large = pool(40, |i| [2_000, 3_000, 5_000, 10_000][i % 4]);
        let ranking = build_hash_ranking(&large).unwrap();
        let mut wins = [vec![0u32; 4], vec![0u32; 40]];
        for bucket in 0..HASH_BUCKETS {
            wins[0][rendezvous(&small, uniform_weights(&small), bucket, |i| small[i].selectable()).unwrap()] += 1;
            wins[1][hashed(&large, Some(&ranking), uniform_weights(&large), bucket, |_| true).unwrap()] += 1;
        }
        for (origins, wins) in [(&small, &wins[0]), (&large, &wins[1])] {
            let total: f64 = origins.iter().map(|o| f64::from(o.weight)).sum();
            for (origin, &won) in origins.iter().zip(wins) {
                let p = f64::from(origin.weight) / total;
                let observed = f64::from(won) / HASH_BUCKETS as f64;
                let sigma = (p * (1.0 - p) / HASH_BUCKETS as f64).sqrt();
                assert!((observed - p).abs() <= 5.0 * sigma, "{}: {observed} against {p}", origin.name);
            }
        }
    }

    #[test]
    fn small_pools_rank_on_the_fly() {
        assert!(build_hash_ranking(&pool(RANKING_MIN_ORIGINS, |_| 10_000)).is_none());
        let mut with_disabled = pool(RANKING_MIN_ORIGINS + 3, |_| 10_000);
        for o in &mut with_disabled[..3] {
            o.enabled = false;
        }
        assert!(build_hash_ranking(&with_disabled).is_none(), "only selectable origins count");
        let ranking = build_hash_ranking(&pool(RANKING_MIN_ORIGINS + 1, |_| 10_000)).unwrap();
        assert_eq!(ranking.len(), HASH_BUCKETS);
        assert_eq!(core::mem::size_of_val(&*ranking), 128 * 1024);
    }

    #[test]
    fn rows_are_the_head_of_the_full_ranking_in_every_bucket() {
        let mut origins = pool(200, |i| [10_000, 5_000, 1, 2_500, 10_000, 7_777][i % 6]);
        origins[3].enabled = false;
        origins[10].weight = 0;
        let ranking = build_hash_ranking(&origins).unwrap();
        for (bucket, row) in ranking.iter().enumerate() {
            let full = full_ranking(&origins, bucket);
            let head: Vec<usize> = row.iter().map(|&p| usize::from(p)).collect();
            assert_eq!(head, full[..RANKING_DEPTH], "bucket {bucket}");
            assert!(!head.contains(&3) && !head.contains(&10));
        }
    }

    #[test]
    fn equal_scores_keep_config_order() {
        // Two origins with the same identity draw the same score in every
        // bucket: the earlier position ranks first, on both paths.
        let mut origins = pool(RANKING_MIN_ORIGINS + 4, |_| 10_000);
        origins[7].key = origins[2].key;
        let ranking = build_hash_ranking(&origins).unwrap();
        for bucket in 0..HASH_BUCKETS {
            let row = ranking[bucket];
            if let (Some(a), Some(b)) = (row.iter().position(|&p| p == 2), row.iter().position(|&p| p == 7)) {
                assert_eq!(a + 1, b, "bucket {bucket}");
            }
            assert_eq!(rendezvous(&origins, uniform_weights(&origins), bucket, |_| true), Some(usize::from(row[0])));
            assert_ne!(rendezvous(&origins, uniform_weights(&origins), bucket, |i| i != 2), Some(2));
        }
    }

    #[test]
    fn uniform_pools_rank_by_the_draw_as_the_scores_would() {
        // Equal weights: ranking by the largest draw, without logarithms,
        // is the score ranking, in every bucket and for every candidate set.
        for n in [1, 2, 4, 16, 40] {
            let origins = pool(n, |_| 7_500);
            assert!(uniform_weights(&origins));
            for bucket in 0..HASH_BUCKETS {
                for down in [usize::MAX, bucket % n] {
                    let eligible = |i: usize| i != down;
                    assert_eq!(
                        rendezvous(&origins, true, bucket, eligible),
                        rendezvous(&origins, false, bucket, eligible),
                        "{n} origins, bucket {bucket}"
                    );
                }
            }
        }
    }

    #[test]
    fn all_down_in_the_row_ranks_the_whole_pool() {
        let origins = pool(50, |_| 10_000);
        let ranking = build_hash_ranking(&origins).unwrap();
        for bucket in [0, 1, 77, HASH_BUCKETS - 1] {
            let row = ranking[bucket];
            let down = |i: usize| row.contains(&(i as u16));
            let picked = hashed(&origins, Some(&ranking), uniform_weights(&origins), bucket, |i| !down(i));
            assert_eq!(picked, Some(full_ranking(&origins, bucket)[RANKING_DEPTH]));
            assert_eq!(hashed(&origins, Some(&ranking), uniform_weights(&origins), bucket, |_| false), None);
        }
    }

    #[test]
    fn cumulative_weights_skip_unselectable_origins() {
        let mut origins = pool(10, |i| (i as u32 + 1) * 100);
        origins[0].enabled = false;
        origins[4].weight = 0;
        let sums = build_cumulative_weights(&origins).unwrap();
        assert_eq!(sums[0], 0);
        assert_eq!(sums[1], 200);
        assert_eq!(sums[4], sums[3]);
        assert_eq!(*sums.last().unwrap(), (1..=10).map(|w| w * 100).sum::<u32>() - 100 - 500);
        assert!(build_cumulative_weights(&pool(CUMULATIVE_MIN_ORIGINS, |_| 1)).is_none());
    }

    /// Draws `n` times; returns the count per position.
    fn draw_counts(origins: &[OriginEntry], healthy: &[bool], n: u32, seed: u64) -> Vec<u32> {
        let cumulative = build_cumulative_weights(origins);
        let mut rng = FastRng::new(seed);
        let mut counts = vec![0u32; origins.len()];
        let eligible = |i: usize| origins[i].selectable() && healthy[i];
        let all_healthy = healthy.iter().all(|&h| h);
        for _ in 0..n {
            let total = all_healthy.then(|| origins.iter().map(|o| u64::from(o.weight)).sum());
            let at = weighted_random(origins, cumulative.as_deref(), eligible, total, &mut rng).unwrap();
            counts[at] += 1;
        }
        counts
    }

    #[test]
    fn rejection_sampling_keeps_the_weights_exact() {
        // 40 origins, weights 1..=4 (×2,500); every third one down. Each
        // candidate's share must be weight / Σ candidates' weights: a
        // chi-square test at p = 0.001 over 200,000 draws.
        let origins = pool(40, |i| (i as u32 % 4 + 1) * 2_500);
        let healthy: Vec<bool> = (0..40).map(|i| i % 3 != 0).collect();
        let n = 200_000;
        let counts = draw_counts(&origins, &healthy, n, 42);
        let total: f64 = (0..40).filter(|&i| healthy[i]).map(|i| f64::from(origins[i].weight)).sum();
        let mut chi2 = 0.0;
        let mut df = 0;
        for i in 0..40 {
            if !healthy[i] {
                assert_eq!(counts[i], 0, "origin {i} is down");
                continue;
            }
            let expected = f64::from(n) * f64::from(origins[i].weight) / total;
            chi2 += (f64::from(counts[i]) - expected).powi(2) / expected;
            df += 1;
        }
        // Critical value of chi-square with 25 degrees of freedom at 0.001.
        assert_eq!(df - 1, 25);
        assert!(chi2 < 52.62, "chi-square {chi2:.1} over {df} cells");
    }

    #[test]
    fn uniform_pools_are_recognised() {
        assert!(uniform_weights(&pool(1, |_| 1)));
        assert!(uniform_weights(&pool(20, |_| 2_500)));
        assert!(!uniform_weights(&[]), "no origin: no draw");
        assert!(!uniform_weights(&pool(4, |i| if i == 3 { 5_000 } else { 10_000 })));
        assert!(!uniform_weights(&pool(4, |_| 0)), "weight 0 is not selectable");
        let mut disabled = pool(4, |_| 10_000);
        disabled[2].enabled = false;
        assert!(!uniform_weights(&disabled));
    }

    #[test]
    fn a_uniform_draw_is_the_weighted_draw_at_the_boundaries() {
        // Draws on and next to every boundary between two origins, where
        // a rounding difference would show.
        struct Fixed(u64);
        impl RandomSource for Fixed {
            fn next_u64(&mut self) -> u64 {
                self.0
            }
        }
        for n in [1u64, 2, 3, 4, 7, 8, 9, 16, 100, 1_000] {
            for weight in [1u32, 3, 2_500, 9_999, 10_000] {
                let origins = pool(n as usize, |_| weight);
                let cumulative = build_cumulative_weights(&origins);
                let total = Some(n * u64::from(weight));
                let boundaries =
                    (0..=n).map(|k| ((u128::from(k) << 64) / u128::from(n)).min(u128::from(u64::MAX)) as u64);
                for x in boundaries.flat_map(|b| [b.saturating_sub(1), b, b.saturating_add(1)]) {
                    let expected = weighted_random(&origins, cumulative.as_deref(), |_| true, total, &mut Fixed(x));
                    assert_eq!(Some(below(&mut Fixed(x), n) as usize), expected, "n {n} weight {weight} draw {x:#x}");
                }
            }
        }
    }

    #[test]
    fn mostly_down_pools_fall_back_to_an_exact_scan() {
        let origins = pool(100, |_| 10_000);
        let healthy: Vec<bool> = (0..100).map(|i| i == 37 || i == 80).collect();
        let counts = draw_counts(&origins, &healthy, 20_000, 7);
        assert_eq!(counts[37] + counts[80], 20_000);
        let share = f64::from(counts[37]) / 20_000.0;
        assert!((share - 0.5).abs() < 0.02, "{share}");
    }

    proptest! {
        // Failure seeds live next to this file.
        #![proptest_config(ProptestConfig {
            failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
            cases: 48,
            ..ProptestConfig::default()
        })]

        /// `random` over a uniform pool (the fast path of `pick_origin`):
        /// `below(n)` is the origin the weighted draw picks, from the same
        /// draw, on the scan (up to 8 origins) and the cumulative path.
        #[test]
        fn a_uniform_draw_is_the_weighted_draw(
            n in 1usize..40,
            weight in prop_oneof![Just(1u32), 1u32..=10_000, Just(10_000u32)],
            seed in any::<u64>(),
        ) {
            let origins = pool(n, |_| weight);
            prop_assert!(uniform_weights(&origins));
            let cumulative = build_cumulative_weights(&origins);
            let total = Some(n as u64 * u64::from(weight));
            let (mut weighted, mut uniform) = (FastRng::new(seed), FastRng::new(seed));
            for _ in 0..64 {
                let expected = weighted_random(&origins, cumulative.as_deref(), |_| true, total, &mut weighted);
                prop_assert_eq!(Some(below(&mut uniform, n as u64) as usize), expected);
            }
            prop_assert_eq!(weighted.next_u64(), uniform.next_u64(), "the same draws consumed");
        }

        /// Whatever the weights, disabled origins, health and client, the
        /// precomputed path picks what the on-the-fly ranking picks.
        #[test]
        fn precomputed_ranking_equals_on_the_fly(
            weights in proptest::collection::vec(
                prop_oneof![1 => Just(0u32), 4 => 1u32..=10_000, 1 => Just(10_000u32)],
                RANKING_MIN_ORIGINS..150,
            ),
            disabled in proptest::collection::vec(proptest::bool::weighted(0.15), 150),
            uniform in proptest::bool::weighted(0.3),
            down in proptest::collection::vec(any::<u8>(), 150),
            down_per_256 in 0u8..=255,
            clients in proptest::collection::vec(any::<u64>(), 64),
        ) {
            // A uniform pool (every origin enabled, one weight) ranks by
            // the draw; the scores must agree.
            let origins: Vec<OriginEntry> = weights
                .iter()
                .enumerate()
                .map(|(i, &w)| match uniform {
                    true => origin("pool", &format!("origin-{i}"), 5_000, true),
                    false => origin("pool", &format!("origin-{i}"), w, !disabled[i]),
                })
                .collect();
            prop_assert!(!uniform || uniform_weights(&origins));
            let Some(ranking) = build_hash_ranking(&origins) else {
                return Err(TestCaseError::reject("small enough to rank on the fly"));
            };
            let eligible = |i: usize| origins[i].selectable() && down[i] >= down_per_256;
            for client in clients {
                let bucket = bucket_of(hash::mix64(client));
                // The on-the-fly ranking (which skips hopeless logarithms)
                // picks the first eligible origin of the full ranking.
                prop_assert_eq!(
                    rendezvous(&origins, uniform_weights(&origins), bucket, eligible),
                    full_ranking(&origins, bucket).into_iter().find(|&i| eligible(i))
                );
                prop_assert_eq!(
                    hashed(&origins, Some(&ranking), uniform_weights(&origins), bucket, eligible),
                    rendezvous(&origins, uniform_weights(&origins), bucket, eligible)
                );
                prop_assert_eq!(
                    &ranking[bucket].iter().map(|&p| usize::from(p)).collect::<Vec<_>>()[..],
                    &full_ranking(&origins, bucket)[..RANKING_DEPTH]
                );
            }
        }
    }
}
