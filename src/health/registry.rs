//! The health registry: state per stable identity, bound to each table.

use alloc::boxed::Box;
use core::fmt;
use core::sync::atomic::Ordering::Relaxed;

use super::{HealthView, PoolStatus, Status};
use crate::geo::Region;
use crate::hash::Map;
use crate::sync::{Arc, AtomicBool, AtomicU8, AtomicU32, AtomicU64};
use crate::table::{OriginId, PoolId, Table};

/// "No measurement" in an RTT slot.
const NO_RTT: u64 = u64::MAX;

/// "Not draining" in an origin's disabled-since slot.
const NOT_DISABLED: u64 = u64::MAX;

/// What is known about one origin, shared by every table generation that
/// contains it.
pub(crate) struct OriginCell {
    status: AtomicU8,
    /// Enabled in the most recently bound table: only enabled origins count
    /// towards the pool's healthy count.
    enabled: AtomicBool,
    outstanding: AtomicU32,
    connections: AtomicU32,
    /// When a binding found the origin disabled after one that had it
    /// enabled (Unix seconds): its drain window starts then.
    /// [`NOT_DISABLED`] otherwise.
    disabled_since: AtomicU64,
    pool: Arc<PoolCell>,
}

/// What is known about one pool, shared by every table generation that
/// contains it.
pub(crate) struct PoolCell {
    /// Enabled origins whose status is healthy (low 32 bits), counted for
    /// the binding numbered in the high 32 bits: a view bound to an older
    /// table, whose origins may be enabled differently, does not trust it.
    healthy: AtomicU64,
    outstanding: AtomicU32,
    connections: AtomicU32,
    /// Smoothed RTT in milliseconds (`f64` bits) per region.
    rtt: [AtomicU64; Region::COUNT],
}

impl PoolCell {
    fn new() -> Self {
        PoolCell {
            healthy: AtomicU64::new(0),
            outstanding: AtomicU32::new(0),
            connections: AtomicU32::new(0),
            rtt: core::array::from_fn(|_| AtomicU64::new(NO_RTT)),
        }
    }
}

struct PoolSlot {
    cell: Arc<PoolCell>,
    origins: Map<Box<str>, Arc<OriginCell>>,
}

/// An origin the registry does not know: not in the most recently bound
/// table.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no origin {origin:?} in pool {pool:?}")]
pub struct UnknownOrigin {
    /// The pool id asked for.
    pub pool: alloc::string::String,
    /// The origin name asked for.
    pub origin: alloc::string::String,
}

/// Health state keyed by stable identity: a pool's id, an origin's pool id
/// and name.
///
/// [`bind`](Self::bind) attaches the state to a compiled table: unchanged
/// origins keep their status and counters, new origins start
/// [`Status::Unknown`], removed ones are dropped (once no table in use
/// refers to them). Reads through the returned [`BoundHealth`] are
/// lock-free and allocation-free.
///
/// Writers need `&mut self`; a host that writes from several threads wraps
/// the registry in a lock (the [`Router`](crate::Router) does). Request
/// counters ([`InFlight`]) are atomics and need no lock.
///
/// ```
/// use lbsteer::health::{HealthRegistry, HealthView, Status};
/// # #[cfg(feature = "std")] {
/// let account = lbsteer::Account::from_json(r#"{
///     "monitors": [{"id": "m"}],
///     "pools": [{"id": "p", "name": "p", "monitor": "m",
///                "origins": [{"name": "a", "address": "192.0.2.1"}]}]
/// }"#).unwrap();
/// let table = lbsteer::Table::compile(&account).unwrap();
/// let mut registry = HealthRegistry::new();
/// let health = registry.bind(&table);
/// let a = table.origin_id("p", "a").unwrap();
/// assert!(!health.origin_healthy(a), "unknown until a verdict comes in");
/// registry.set_status("p", "a", Status::Healthy).unwrap();
/// assert!(health.origin_healthy(a));
/// # }
/// ```
pub struct HealthRegistry {
    pools: Map<Box<str>, PoolSlot>,
    /// Number of the latest binding.
    binding: u32,
}

impl Default for HealthRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl HealthRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        HealthRegistry { pools: crate::hash::map(), binding: 0 }
    }

    /// Attaches the registry to `table` and returns the view the decision
    /// reads for that table. State of identities the table no longer has is
    /// released from the registry (a previous [`BoundHealth`] still in use
    /// keeps its own references).
    ///
    /// Origins this binding finds disabled, where the previous binding had
    /// them enabled, start draining now: with `std`, the system clock's
    /// now; without, the time is unknown and drain windows end at once (use
    /// [`bind_at`](Self::bind_at)).
    pub fn bind(&mut self, table: &Table) -> BoundHealth {
        #[cfg(feature = "std")]
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        #[cfg(not(feature = "std"))]
        let now = NOT_DISABLED;
        self.bind_at(table, now)
    }

    /// Binds like [`bind`](Self::bind), at `now` (Unix seconds): the
    /// moment origins that turn disabled start draining.
    pub fn bind_at(&mut self, table: &Table, now: u64) -> BoundHealth {
        self.binding = self.binding.wrapping_add(1);
        let stamp = u64::from(self.binding) << 32;
        let mut pools = crate::hash::map_with_capacity(table.pools().len());
        let mut origin_cells = alloc::vec::Vec::with_capacity(table.origins().len());
        let mut pool_cells = alloc::vec::Vec::with_capacity(table.pools().len());
        for pool in table.pools() {
            let (cell, mut previous) = match self.pools.remove(pool.id()) {
                Some(slot) => (slot.cell, slot.origins),
                None => (Arc::new(PoolCell::new()), crate::hash::map()),
            };
            let mut origins = crate::hash::map_with_capacity(pool.origins().len());
            let mut healthy: u32 = 0;
            for id in pool.origins() {
                let origin = table.origin(id);
                let origin_cell = previous.remove(origin.name()).unwrap_or_else(|| {
                    Arc::new(OriginCell {
                        status: AtomicU8::new(Status::Unknown as u8),
                        enabled: AtomicBool::new(false),
                        outstanding: AtomicU32::new(0),
                        connections: AtomicU32::new(0),
                        disabled_since: AtomicU64::new(NOT_DISABLED),
                        pool: Arc::clone(&cell),
                    })
                });
                let was_enabled = origin_cell.enabled.swap(origin.enabled(), Relaxed);
                if origin.enabled() {
                    origin_cell.disabled_since.store(NOT_DISABLED, Relaxed);
                } else if was_enabled {
                    origin_cell.disabled_since.store(now, Relaxed);
                }
                if origin.enabled() && origin_cell.status.load(Relaxed) == Status::Healthy as u8 {
                    healthy += 1;
                }
                origin_cells.push(Arc::clone(&origin_cell));
                origins.insert(Box::from(origin.name()), origin_cell);
            }
            cell.healthy.store(stamp | u64::from(healthy), Relaxed);
            pool_cells.push(Arc::clone(&cell));
            pools.insert(Box::from(pool.id()), PoolSlot { cell, origins });
        }
        self.pools = pools;
        BoundHealth { origins: origin_cells.into(), pools: pool_cells.into(), binding: self.binding }
    }

    fn cell(&self, pool: &str, origin: &str) -> Result<(&PoolSlot, &Arc<OriginCell>), UnknownOrigin> {
        self.pools
            .get(pool)
            .and_then(|slot| Some((slot, slot.origins.get(origin)?)))
            .ok_or_else(|| UnknownOrigin { pool: pool.into(), origin: origin.into() })
    }

    /// Records an origin's status; returns the previous one.
    pub fn set_status(&mut self, pool: &str, origin: &str, status: Status) -> Result<Status, UnknownOrigin> {
        let (slot, cell) = self.cell(pool, origin)?;
        let previous = Status::from_u8(cell.status.swap(status as u8, Relaxed));
        if cell.enabled.load(Relaxed) && previous.is_healthy() != status.is_healthy() {
            if status.is_healthy() {
                slot.cell.healthy.fetch_add(1, Relaxed);
            } else {
                slot.cell.healthy.fetch_sub(1, Relaxed);
            }
        }
        Ok(previous)
    }

    /// Records the same status for every origin the registry knows.
    pub fn set_all(&mut self, status: Status) {
        for slot in self.pools.values() {
            let mut healthy: u64 = 0;
            for cell in slot.origins.values() {
                cell.status.store(status as u8, Relaxed);
                if status.is_healthy() && cell.enabled.load(Relaxed) {
                    healthy += 1;
                }
            }
            let stamp = u64::from(self.binding) << 32;
            slot.cell.healthy.store(stamp | healthy, Relaxed);
        }
    }

    /// An origin's status.
    pub fn status(&self, pool: &str, origin: &str) -> Result<Status, UnknownOrigin> {
        let (_, cell) = self.cell(pool, origin)?;
        Ok(Status::from_u8(cell.status.load(Relaxed)))
    }

    /// Every origin the registry knows, as (pool id, origin name, status).
    pub fn statuses(&self) -> impl Iterator<Item = (&str, &str, Status)> {
        self.pools.iter().flat_map(|(pool, slot)| {
            slot.origins.iter().map(move |(name, cell)| (&**pool, &**name, Status::from_u8(cell.status.load(Relaxed))))
        })
    }

    /// Records a pool's smoothed round-trip time from `region`, in
    /// milliseconds, or clears it. Returns `false` for an unknown pool.
    pub fn set_pool_rtt(&mut self, pool: &str, region: Region, rtt_ms: Option<f64>) -> bool {
        let Some(slot) = self.pools.get(pool) else { return false };
        let bits = match rtt_ms {
            Some(ms) if ms.is_finite() && ms >= 0.0 => ms.to_bits(),
            _ => NO_RTT,
        };
        slot.cell.rtt[region.index()].store(bits, Relaxed);
        true
    }

    /// Sets a pool's in-flight request count, for hosts (and tests) that
    /// count requests themselves instead of using [`InFlight`] guards.
    pub fn set_pool_outstanding(&self, pool: &str, count: u32) -> bool {
        self.pools.get(pool).map(|slot| slot.cell.outstanding.store(count, Relaxed)).is_some()
    }

    /// Sets an origin's in-flight request count.
    pub fn set_origin_outstanding(&self, pool: &str, origin: &str, count: u32) -> Result<(), UnknownOrigin> {
        self.cell(pool, origin).map(|(_, cell)| cell.outstanding.store(count, Relaxed))
    }

    /// Sets a pool's open-connection count.
    pub fn set_pool_connections(&self, pool: &str, count: u32) -> bool {
        self.pools.get(pool).map(|slot| slot.cell.connections.store(count, Relaxed)).is_some()
    }

    /// Sets an origin's open-connection count.
    pub fn set_origin_connections(&self, pool: &str, origin: &str, count: u32) -> Result<(), UnknownOrigin> {
        self.cell(pool, origin).map(|(_, cell)| cell.connections.store(count, Relaxed))
    }
}

impl fmt::Debug for HealthRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origins: usize = self.pools.values().map(|slot| slot.origins.len()).sum();
        f.debug_struct("HealthRegistry").field("pools", &self.pools.len()).field("origins", &origins).finish()
    }
}

/// Health state bound to one table: what [`HealthRegistry::bind`] returns.
///
/// Indexed by that table's ids. Cloning is cheap (the state is shared).
#[derive(Clone)]
pub struct BoundHealth {
    origins: Box<[Arc<OriginCell>]>,
    pools: Box<[Arc<PoolCell>]>,
    binding: u32,
}

impl BoundHealth {
    /// Counts a request in flight to `origin` (and its pool) until the
    /// returned guard is dropped. Feeds `least_outstanding_requests`.
    ///
    /// # Panics
    /// When `origin` is not an id of the table this view was bound to.
    pub fn begin_request(&self, origin: OriginId) -> InFlight {
        InFlight::new(Arc::clone(&self.origins[origin.index()]), Counter::Requests)
    }

    /// Counts an open connection to `origin` (and its pool) until the
    /// returned guard is dropped. Feeds `least_connections`.
    ///
    /// # Panics
    /// When `origin` is not an id of the table this view was bound to.
    pub fn open_connection(&self, origin: OriginId) -> InFlight {
        InFlight::new(Arc::clone(&self.origins[origin.index()]), Counter::Connections)
    }

    /// An origin's status.
    ///
    /// # Panics
    /// When `origin` is not an id of the table this view was bound to.
    pub fn status(&self, origin: OriginId) -> Status {
        Status::from_u8(self.origins[origin.index()].status.load(Relaxed))
    }

    /// A pool's status for display (healthy, degraded, critical, …), from
    /// the statuses of its enabled origins; `table` is the table this view
    /// was bound to (origins it does not know count as unknown).
    pub fn pool_status(&self, table: &Table, pool: PoolId) -> PoolStatus {
        let entry = table.pool(pool);
        let statuses = entry
            .origins()
            .filter(|&o| table.origin(o).enabled())
            .map(|o| self.origins.get(o.index()).map_or(Status::Unknown, |c| Status::from_u8(c.status.load(Relaxed))));
        PoolStatus::evaluate(entry.enabled(), entry.monitored(), entry.minimum_origins(), statuses)
    }
}

impl HealthView for BoundHealth {
    #[inline]
    fn origin_healthy(&self, origin: OriginId) -> bool {
        self.origins.get(origin.index()).is_some_and(|c| c.status.load(Relaxed) == Status::Healthy as u8)
    }
    #[inline]
    fn healthy_origins(&self, pool: PoolId) -> Option<u32> {
        let packed = self.pools.get(pool.index())?.healthy.load(Relaxed);
        ((packed >> 32) as u32 == self.binding).then_some(packed as u32)
    }
    fn pool_rtt_ms(&self, pool: PoolId, region: Region) -> Option<f64> {
        let bits = self.pools.get(pool.index())?.rtt[region.index()].load(Relaxed);
        (bits != NO_RTT).then(|| f64::from_bits(bits))
    }
    fn pool_outstanding(&self, pool: PoolId) -> u32 {
        self.pools.get(pool.index()).map_or(0, |c| c.outstanding.load(Relaxed))
    }
    fn origin_outstanding(&self, origin: OriginId) -> u32 {
        self.origins.get(origin.index()).map_or(0, |c| c.outstanding.load(Relaxed))
    }
    fn pool_connections(&self, pool: PoolId) -> u32 {
        self.pools.get(pool.index()).map_or(0, |c| c.connections.load(Relaxed))
    }
    fn origin_connections(&self, origin: OriginId) -> u32 {
        self.origins.get(origin.index()).map_or(0, |c| c.connections.load(Relaxed))
    }
    #[inline]
    fn origin_disabled_since(&self, origin: OriginId) -> Option<u64> {
        let since = self.origins.get(origin.index())?.disabled_since.load(Relaxed);
        (since != NOT_DISABLED).then_some(since)
    }
}

impl fmt::Debug for BoundHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundHealth").field("origins", &self.origins.len()).field("pools", &self.pools.len()).finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Counter {
    Requests,
    Connections,
}

/// Counts one request (or connection) to an origin and its pool for as long
/// as it lives. It keeps counting across reloads: the count belongs to the
/// origin's identity, not to a table.
#[must_use = "the request stops being counted when the guard is dropped"]
pub struct InFlight {
    cell: Arc<OriginCell>,
    counter: Counter,
}

impl InFlight {
    fn new(cell: Arc<OriginCell>, counter: Counter) -> Self {
        let (origin, pool) = match counter {
            Counter::Requests => (&cell.outstanding, &cell.pool.outstanding),
            Counter::Connections => (&cell.connections, &cell.pool.connections),
        };
        origin.fetch_add(1, Relaxed);
        pool.fetch_add(1, Relaxed);
        InFlight { cell, counter }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let (origin, pool) = match self.counter {
            Counter::Requests => (&self.cell.outstanding, &self.cell.pool.outstanding),
            Counter::Connections => (&self.cell.connections, &self.cell.pool.connections),
        };
        // Saturating: a host that also sets counts by hand must not wrap them.
        let _ = origin.fetch_update(Relaxed, Relaxed, |n| Some(n.saturating_sub(1)));
        let _ = pool.fetch_update(Relaxed, Relaxed, |n| Some(n.saturating_sub(1)));
    }
}

impl fmt::Debug for InFlight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InFlight").field("counter", &self.counter).finish_non_exhaustive()
    }
}
