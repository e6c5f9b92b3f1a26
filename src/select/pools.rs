//! Pool steering: the order in which a request tries the candidate pools.
//!
//! The order is produced lazily, one pool at a time, without allocating:
//! most requests need the first pool only. Pools that cannot take traffic
//! (disabled, or fewer healthy origins than `minimum_origins`) are passed
//! over. Once a pool is returned it is never returned again, so the same
//! order serves load shedding (pass on to the next pool) and retries.
//!
//! | policy | order |
//! |---|---|
//! | `off`, `geo` | list order |
//! | `random` | weighted draw among the remaining usable pools (`random_steering` or pool-set weights); weight-0 pools only when nothing else remains, in list order |
//! | `dynamic_latency` | pools with an RTT for the request's region (read through the [`HealthView`]), lowest first; then the rest in list order |
//! | `proximity` | pools with coordinates, nearest first (great-circle from the request's coordinates); then the rest in list order |
//! | `least_outstanding_requests`, `least_connections` | lowest `(count + 1) / weight` first (pool counts from the [`HealthView`]); weight-0 pools last; ties in list order |
//!
//! The request's region is the one the host set, else its country's region
//! from the bundled table ([`CountryCode::region`](crate::geo::CountryCode::region));
//! with neither, `dynamic_latency` has no data and keeps list order. A
//! request without coordinates leaves every pool unlocated: list order. An
//! RTT a host's view reports as NaN counts as no data.
//!
//! Proximity compares squared chord lengths between unit vectors, which
//! order exactly as great-circle distances do: pool positions become unit
//! vectors when the table is compiled, so a request costs four sines and
//! cosines once and a few multiplications per pool.

use super::decide::request_region;
use super::{RandomSource, rng::below};
use crate::explain::{Skip, Step, Tracer};
use crate::geo::Coordinates;
use crate::health::HealthView;
use crate::limits::POOLS_PER_LIST;
use crate::request::Request;
use crate::table::{PoolId, PoolPolicy, PoolWeights, Table};

/// A set of positions in a pool list, on the stack.
#[derive(Clone, Copy, Default)]
struct Positions([u64; POOLS_PER_LIST / 64]);

impl Positions {
    #[inline]
    fn contains(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
    #[inline]
    fn insert(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
}

/// The pools of one request, in steering order.
pub(crate) struct PoolOrder<'t> {
    pools: &'t [PoolId],
    policy: PoolPolicy,
    /// Returned already, found unusable, or passed over.
    done: Positions,
    /// List-order policies: the position to look at next (every position
    /// before it has been returned, found unusable or passed over).
    cursor: usize,
    /// Whether every pool's usability has been checked (policies other than
    /// failover need it up front, to draw among the usable pools only).
    screened: bool,
}

impl<'t> PoolOrder<'t> {
    pub(crate) fn new(pools: &'t [PoolId], policy: PoolPolicy) -> Self {
        debug_assert!(pools.len() <= POOLS_PER_LIST, "the compiler bounds pool lists");
        let pools = &pools[..pools.len().min(POOLS_PER_LIST)];
        PoolOrder { pools, policy, done: Positions::default(), cursor: 0, screened: false }
    }

    /// Leaves `pool` out of the order, as if it had been returned already:
    /// for a session whose pinned pool shed it (`session_percent`), which
    /// is then steered as new traffic everywhere but there.
    #[allow(dead_code, reason = "the hook session affinity uses with session shedding")]
    pub(crate) fn pass_over(&mut self, pool: PoolId) {
        for (i, _) in self.pools.iter().enumerate().filter(|&(_, &p)| p == pool) {
            self.done.insert(i);
        }
    }

    /// The next usable pool in steering order.
    pub(crate) fn next<H, R, T>(
        &mut self,
        table: &Table,
        weights: &PoolWeights,
        request: &Request<'_>,
        health: &H,
        rng: &mut R,
        trace: &mut T,
    ) -> Option<PoolId>
    where
        H: HealthView + ?Sized,
        R: RandomSource + ?Sized,
        T: Tracer,
    {
        if matches!(self.policy, PoolPolicy::Off | PoolPolicy::Geo) {
            while let Some(&pool) = self.pools.get(self.cursor) {
                let i = self.cursor;
                self.cursor += 1;
                if !self.done.contains(i) && usable(table, pool, health, trace) {
                    return Some(pool);
                }
            }
            return None;
        }
        if !self.screened {
            self.screened = true;
            for (i, &pool) in self.pools.iter().enumerate() {
                if !self.done.contains(i) && !usable(table, pool, health, trace) {
                    self.done.insert(i);
                }
            }
        }
        let at = match self.policy {
            PoolPolicy::Random => self.weighted(weights, rng),
            PoolPolicy::DynamicLatency => {
                let region = request_region(request);
                self.lowest(|pool| health.pool_rtt_ms(pool, region?))
            }
            PoolPolicy::Proximity => {
                let here = request.coordinates.map(Position::from);
                self.lowest(|pool| Some(chord_squared(here?, table.pool(pool).position?)))
            }
            PoolPolicy::LeastOutstandingRequests => {
                self.lowest(|pool| per_weight(health.pool_outstanding(pool), weights.of(pool)))
            }
            PoolPolicy::LeastConnections => {
                self.lowest(|pool| per_weight(health.pool_connections(pool), weights.of(pool)))
            }
            PoolPolicy::Off | PoolPolicy::Geo => None,
        }?;
        self.done.insert(at);
        Some(self.pools[at])
    }

    fn remaining(&self) -> impl Iterator<Item = (usize, PoolId)> + '_ {
        self.pools.iter().copied().enumerate().filter(|&(i, _)| !self.done.contains(i))
    }

    /// A weighted draw among the remaining pools; when every remaining
    /// pool weighs 0, the first of them.
    fn weighted<R: RandomSource + ?Sized>(&self, weights: &PoolWeights, rng: &mut R) -> Option<usize> {
        let total: u64 = self.remaining().map(|(_, pool)| u64::from(weights.of(pool))).sum();
        if total == 0 {
            return self.remaining().map(|(i, _)| i).next();
        }
        let mut draw = below(rng, total);
        for (i, pool) in self.remaining() {
            let weight = u64::from(weights.of(pool));
            if draw < weight {
                return Some(i);
            }
            draw -= weight;
        }
        None
    }

    /// The remaining pool with the lowest key; pools without a key (or
    /// with a NaN one, which a host's health view might report) come after
    /// every pool with one, in list order. Ties keep list order.
    fn lowest(&self, key: impl Fn(PoolId) -> Option<f64>) -> Option<usize> {
        let mut best: Option<(usize, f64)> = None;
        let mut first_without = None;
        for (i, pool) in self.remaining() {
            match key(pool).filter(|k| !k.is_nan()) {
                Some(k) if best.is_none_or(|(_, b)| k < b) => best = Some((i, k)),
                Some(_) => {}
                None => {
                    first_without.get_or_insert(i);
                }
            }
        }
        best.map(|(i, _)| i).or(first_without)
    }
}

/// `(count + 1) / weight`; `None` (last) for weight 0.
fn per_weight(count: u32, weight: u32) -> Option<f64> {
    (weight > 0).then(|| (f64::from(count) + 1.0) / f64::from(weight))
}

/// Whether a pool can take traffic: enabled, with at least
/// `minimum_origins` healthy enabled origins (all enabled origins count
/// when the pool has no monitor).
pub(crate) fn usable<H, T>(table: &Table, id: PoolId, health: &H, trace: &mut T) -> bool
where
    H: HealthView + ?Sized,
    T: Tracer,
{
    let pool = table.pool(id);
    if !pool.enabled {
        trace.step(Step::PoolSkipped { pool: id, reason: Skip::Disabled });
        return false;
    }
    let healthy = if pool.monitored() {
        health.healthy_origins(id).unwrap_or_else(|| {
            pool.origins().filter(|&o| table.origin(o).enabled && health.origin_healthy(o)).count() as u32
        })
    } else {
        pool.enabled_origins
    };
    if healthy < pool.minimum_origins {
        trace.step(Step::PoolSkipped { pool: id, reason: Skip::Unhealthy { healthy, minimum: pool.minimum_origins } });
        return false;
    }
    true
}

/// A point prepared for distance comparisons: its unit vector from the
/// Earth's center (computed once per pool, when compiling).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Position {
    x: f64,
    y: f64,
    z: f64,
}

impl From<Coordinates> for Position {
    fn from(c: Coordinates) -> Self {
        let (latitude, longitude) = (c.latitude.to_radians(), c.longitude.to_radians());
        let cos_latitude = libm::cos(latitude);
        Position {
            x: cos_latitude * libm::cos(longitude),
            y: cos_latitude * libm::sin(longitude),
            z: libm::sin(latitude),
        }
    }
}

/// The squared length of the chord between two points of the unit sphere,
/// from 0 (the same point) to 4 (antipodes). The chord is `2 sin(θ / 2)`
/// for the central angle `θ`, so it grows with the great-circle distance:
/// ordering pools by it orders them nearest first, with no trigonometry
/// per pool.
#[inline]
pub(crate) fn chord_squared(a: Position, b: Position) -> f64 {
    let (dx, dy, dz) = (a.x - b.x, a.y - b.y, a.z - b.z);
    dx * dx + dy * dy + dz * dz
}

/// Great-circle distance in kilometres (haversine, mean Earth radius): the
/// reference the chord ordering is tested against.
#[cfg(test)]
pub(crate) fn great_circle_km(a: Coordinates, b: Coordinates) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6_371.008_8;
    let (lat1, lat2) = (a.latitude.to_radians(), b.latitude.to_radians());
    let s = libm::sin((lat2 - lat1) / 2.0);
    let t = libm::sin((b.longitude - a.longitude).to_radians() / 2.0);
    let h = s * s + libm::cos(lat1) * libm::cos(lat2) * t * t;
    2.0 * EARTH_RADIUS_KM * libm::asin(libm::sqrt(h.clamp(0.0, 1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::NoTrace;

    #[test]
    fn distances() {
        let sfo = Coordinates::new(37.62, -122.38).unwrap();
        let jfk = Coordinates::new(40.64, -73.78).unwrap();
        let d = great_circle_km(sfo, jfk);
        assert!((4_130.0..4_170.0).contains(&d), "{d}");
        assert_eq!(great_circle_km(sfo, sfo), 0.0);
        let antipode = great_circle_km(Coordinates::new(0.0, 0.0).unwrap(), Coordinates::new(0.0, 180.0).unwrap());
        assert!((antipode - 20_015.0).abs() < 5.0, "{antipode}");
    }

    #[test]
    fn ordering_by_chord_is_ordering_by_distance() {
        let mut rng = crate::select::FastRng::new(5);
        let mut unit = move || (crate::select::RandomSource::next_u64(&mut rng) >> 11) as f64 / (1u64 << 53) as f64;
        for spread in [180.0, 1.0, 0.01] {
            for _ in 0..10_000 {
                // A point anywhere, and two within `spread` degrees of it
                // (or anywhere, for 180).
                let here = Coordinates::new(unit() * 180.0 - 90.0, unit() * 360.0 - 180.0).unwrap();
                let mut near = || {
                    let lat = (here.latitude + (unit() - 0.5) * 2.0 * spread).clamp(-90.0, 90.0);
                    let lon = (here.longitude + (unit() - 0.5) * 4.0 * spread + 540.0).rem_euclid(360.0) - 180.0;
                    Coordinates::new(lat, lon).unwrap()
                };
                let (a, b) = (near(), near());
                let (da, db) = (great_circle_km(here, a), great_circle_km(here, b));
                let by_chord = chord_squared(here.into(), a.into()).partial_cmp(&chord_squared(here.into(), b.into()));
                // Distances within a metre of each other may round either way.
                if (da - db).abs() > 1e-3 {
                    assert_eq!(da.partial_cmp(&db), by_chord, "{here:?} {a:?} {b:?}");
                }
            }
        }
    }

    #[test]
    fn a_pool_passed_over_is_never_returned() {
        let account = crate::Account::from_json(
            r#"{"pools": [{"id": "a", "name": "a", "origins": [{"name": "a1", "address": "192.0.2.1"}]},
                          {"id": "b", "name": "b", "origins": [{"name": "b1", "address": "192.0.2.2"}]},
                          {"id": "c", "name": "c", "origins": [{"name": "c1", "address": "192.0.2.3"}]}]}"#,
        )
        .unwrap();
        let table = Table::compile(&account).unwrap();
        let ids: std::vec::Vec<PoolId> = ["a", "b", "c"].iter().map(|id| table.pool_id(id).unwrap()).collect();
        let weights = PoolWeights::uniform();
        let request = Request::new("x");
        let mut rng = crate::select::FastRng::new(1);
        for policy in [PoolPolicy::Off, PoolPolicy::Random, PoolPolicy::LeastOutstandingRequests] {
            for _ in 0..50 {
                let mut order = PoolOrder::new(&ids, policy);
                order.pass_over(ids[1]);
                let mut seen = std::vec::Vec::new();
                while let Some(pool) =
                    order.next(&table, &weights, &request, &crate::health::AllHealthy, &mut rng, &mut NoTrace)
                {
                    seen.push(pool);
                }
                seen.sort();
                assert_eq!(seen, [ids[0], ids[2]], "{policy}");
            }
        }
    }

    #[test]
    fn per_weight_orders_by_load() {
        assert!(per_weight(0, 10_000) < per_weight(1, 10_000));
        assert!(per_weight(3, 10_000) < per_weight(1, 2_500), "(3+1)/1 < (1+1)/0.25");
        assert_eq!(per_weight(0, 0), None);
    }
}
