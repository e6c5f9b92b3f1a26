//! The health checker: every monitor × origin × vantage point as a sans-IO
//! state machine, aggregated into origin and pool health.

use alloc::boxed::Box;
use alloc::collections::{BinaryHeap, VecDeque};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cmp::Reverse;
use core::fmt;
use core::ops::Range;
use core::time::Duration;

use super::probe::{MonitorSpec, Outcome, Probe, ProbeId, ProbeSpec, Vantage};
use super::quorum::{PoolStatus, Quorum, Tally, Vote, group_verdict};
use super::time::Timestamp;
use super::{Failure, HealthRegistry, Status};
use crate::geo::Region;
use crate::hash::Map;
use crate::table::{MonitorId, Table};

/// The EWMA weight of a new RTT sample, unless configured otherwise.
pub const DEFAULT_RTT_ALPHA: f64 = 0.2;

/// How long after a probe's deadline (`sent + timeout`) the checker waits
/// for its report before counting it as timed out by itself.
pub const PROBE_GRACE: Duration = Duration::from_secs(1);

/// How many events are kept for [`HealthChecker::poll_event`]; when a host
/// does not poll, the oldest are dropped first.
pub const MAX_EVENTS: usize = 16_384;

/// The most vantage points a region can have (Cloudflare uses three).
pub const MAX_VANTAGE_POINTS_PER_REGION: u16 = 1_000;

/// How a [`HealthChecker`] probes and aggregates: vantage points, quorums,
/// RTT smoothing.
///
/// The default suits a host that probes from where it runs: one implicit
/// vantage point ([`Vantage::LOCAL`]), majority quorums, α = 0.2.
///
/// ```
/// use lbsteer::geo::Region;
/// use lbsteer::health::{CheckerConfig, Quorum};
/// // Three data centers in each of two regions, like Cloudflare's probes.
/// let config = CheckerConfig::new()
///     .vantage_points(Region::Weu, 3)
///     .vantage_points(Region::Enam, 3)
///     .origin_quorum(Quorum::at_least(70));
/// assert_eq!(config.vantages().count(), 6);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CheckerConfig {
    /// Vantage points per region, sorted by region.
    regions: Vec<(Region, u16)>,
    region_quorum: Quorum,
    origin_quorum: Quorum,
    rtt_alpha: f64,
}

impl Default for CheckerConfig {
    fn default() -> Self {
        CheckerConfig::new()
    }
}

impl CheckerConfig {
    /// One implicit vantage point, majority quorums, α =
    /// [`DEFAULT_RTT_ALPHA`].
    pub fn new() -> CheckerConfig {
        CheckerConfig {
            regions: Vec::new(),
            region_quorum: Quorum::MAJORITY,
            origin_quorum: Quorum::MAJORITY,
            rtt_alpha: DEFAULT_RTT_ALPHA,
        }
    }

    /// Probes from `count` vantage points in `region` (replacing an earlier
    /// count for it; 0 removes the region; at most
    /// [`MAX_VANTAGE_POINTS_PER_REGION`]). Once any region has vantage
    /// points, the implicit local one is gone: every probe names the vantage
    /// point it is for.
    #[must_use]
    pub fn vantage_points(mut self, region: Region, count: u16) -> CheckerConfig {
        let count = count.min(MAX_VANTAGE_POINTS_PER_REGION);
        self.regions.retain(|&(r, _)| r != region);
        if count > 0 {
            self.regions.push((region, count));
            self.regions.sort_unstable_by_key(|&(r, _)| r);
        }
        self
    }

    /// The share of a region's vantage points that must pass for the region
    /// to be healthy (default: more than half).
    #[must_use]
    pub fn region_quorum(mut self, quorum: Quorum) -> CheckerConfig {
        self.region_quorum = quorum;
        self
    }

    /// The share of check regions that must be healthy for the origin to be
    /// healthy (default: more than half).
    #[must_use]
    pub fn origin_quorum(mut self, quorum: Quorum) -> CheckerConfig {
        self.origin_quorum = quorum;
        self
    }

    /// Both quorums at once.
    #[must_use]
    pub fn quorum(self, quorum: Quorum) -> CheckerConfig {
        self.region_quorum(quorum).origin_quorum(quorum)
    }

    /// The weight of a new sample in the pools' RTT averages
    /// (`rtt = α·sample + (1 − α)·rtt`), clamped to `0.01..=1`; a value that
    /// is not a number keeps the default.
    #[must_use]
    pub fn rtt_alpha(mut self, alpha: f64) -> CheckerConfig {
        self.rtt_alpha = if alpha.is_nan() { DEFAULT_RTT_ALPHA } else { alpha.clamp(0.01, 1.0) };
        self
    }

    /// Every vantage point, by region then number; just
    /// [`Vantage::LOCAL`] when none is configured.
    pub fn vantages(&self) -> impl Iterator<Item = Vantage> + '_ {
        let local = self.regions.is_empty().then_some(Vantage::LOCAL);
        let configured = self
            .regions
            .iter()
            .flat_map(|&(region, count)| (0..count).map(move |index| Vantage { region: Some(region), index }));
        local.into_iter().chain(configured)
    }
}

/// A probe result the checker cannot take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// No probe with this id is in flight: it was never handed out, was
    /// reported already, timed out by itself (no report by `deadline +`
    /// [`PROBE_GRACE`]), or its origin left the configuration.
    #[error("{0} is not in flight")]
    UnknownProbe(ProbeId),
}

/// A health transition, for logs, metrics and dashboards.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum HealthEvent {
    /// An origin's status changed.
    Origin(OriginEvent),
    /// A pool's status changed.
    Pool(PoolEvent),
}

/// An origin's status changed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct OriginEvent {
    /// The pool's id.
    pub pool: Arc<str>,
    /// The origin's name.
    pub origin: Arc<str>,
    /// The status before.
    pub previous: Status,
    /// The status now.
    pub status: Status,
    /// What caused the change.
    pub cause: Cause,
}

/// A pool's status changed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PoolEvent {
    /// The pool's id.
    pub pool: Arc<str>,
    /// The status before.
    pub previous: PoolStatus,
    /// The status now.
    pub status: PoolStatus,
    /// Enabled origins now healthy.
    pub healthy: u32,
    /// The pool's `minimum_origins`.
    pub minimum_origins: u32,
    /// What caused the change.
    pub cause: Cause,
}

/// Why a status changed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Cause {
    /// A probe result (the one that tipped the balance).
    Probe(ProbeReport),
    /// A reload: a monitor or origin was added, removed, enabled or
    /// disabled, or settings such as `minimum_origins` changed.
    Reconfigured,
}

/// One judged probe result.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ProbeReport {
    /// The monitor's id.
    pub monitor: Arc<str>,
    /// Where the probe ran from.
    pub vantage: Vantage,
    /// Attempts made: 1, or more after timeouts.
    pub attempts: u32,
    /// Why it failed; `None` when it passed.
    pub failure: Option<Failure>,
    /// The HTTP status code, when there was a response.
    pub code: Option<u16>,
    /// The round-trip time, when there was an answer.
    pub rtt: Option<Duration>,
}

impl ProbeReport {
    /// Whether the probe passed.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

impl fmt::Display for HealthEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cause = match self {
            HealthEvent::Origin(e) => {
                write!(f, "origin {:?} of pool {:?}: {} -> {}", e.origin, e.pool, e.previous, e.status)?;
                &e.cause
            }
            HealthEvent::Pool(e) => {
                write!(
                    f,
                    "pool {:?}: {} -> {} ({} healthy, minimum_origins {})",
                    e.pool, e.previous, e.status, e.healthy, e.minimum_origins
                )?;
                &e.cause
            }
        };
        match cause {
            Cause::Reconfigured => f.write_str(", after a reload"),
            Cause::Probe(report) => {
                write!(f, ", monitor {:?} from {}: ", report.monitor, report.vantage)?;
                match (report.failure, report.code) {
                    (None, Some(code)) => write!(f, "passed ({code})")?,
                    (None, None) => f.write_str("passed")?,
                    (Some(failure), Some(code)) => write!(f, "{failure} ({code})")?,
                    (Some(failure), None) => write!(f, "{failure}")?,
                }
                if let Some(rtt) = report.rtt {
                    write!(f, " in {}ms", rtt.as_millis())?;
                }
                if report.attempts > 1 {
                    write!(f, " after {} attempts", report.attempts)?;
                }
                Ok(())
            }
        }
    }
}

#[derive(Debug)]
enum Phase {
    /// Waiting for `due`; `attempt` > 0 is a retry after a timeout.
    Idle { due: Timestamp, attempt: u32 },
    /// Handed out; judged with the settings it was sent with.
    InFlight { id: ProbeId, spec: Arc<ProbeSpec>, sent: Timestamp, attempt: u32 },
}

/// One monitor probing one origin from one vantage point.
#[derive(Debug)]
struct Slot {
    member: u32,
    vantage: u16,
    status: Status,
    passes: u32,
    fails: u32,
    phase: Phase,
    /// Bumped on every phase change: heap entries with another value are
    /// stale.
    seq: u32,
    /// When the current round's first attempt was sent.
    round_start: Option<Timestamp>,
}

impl Slot {
    fn new(member: u32, vantage: u16) -> Slot {
        Slot {
            member,
            vantage,
            status: Status::Unknown,
            passes: 0,
            fails: 0,
            phase: Phase::Idle { due: Timestamp::ZERO, attempt: 0 },
            seq: 0,
            round_start: None,
        }
    }

    /// Hysteresis: the status flips only after `up` consecutive passes (to
    /// healthy) or `down` consecutive failures (to unhealthy). Returns
    /// whether it flipped.
    fn record(&mut self, passed: bool, up: u32, down: u32) -> bool {
        let before = self.status;
        if passed {
            self.passes = self.passes.saturating_add(1);
            self.fails = 0;
            if self.passes >= up.max(1) {
                self.status = Status::Healthy;
            }
        } else {
            self.fails = self.fails.saturating_add(1);
            self.passes = 0;
            if self.fails >= down.max(1) {
                self.status = Status::Unhealthy;
            }
        }
        self.status != before
    }
}

/// The stable identity of a monitor checking an origin: pool id, origin
/// name, monitor id.
type TargetKey = (Arc<str>, Arc<str>, Arc<str>);

/// Where a probe goes: address, port and `Host`.
type Endpoint = (Box<str>, u16, Box<str>);

fn endpoint(spec: &ProbeSpec) -> Endpoint {
    (spec.address.clone(), spec.port, spec.host.clone())
}

/// One monitor checking one origin.
#[derive(Debug)]
struct Member {
    origin: u32,
    spec: Arc<ProbeSpec>,
    votes: bool,
    veto: bool,
    slots: Range<u32>,
    status: Status,
}

#[derive(Debug)]
struct OriginState {
    pool: u32,
    name: Arc<str>,
    /// Enabled in an enabled, monitored pool: probed, and counted in the
    /// pool's status.
    probed: bool,
    /// Enabled: counted in the pool's status.
    enabled: bool,
    members: Range<u32>,
    status: Status,
    dirty: bool,
}

#[derive(Debug)]
struct PoolState {
    id: Arc<str>,
    enabled: bool,
    monitored: bool,
    minimum_origins: u32,
    origins: Range<u32>,
    status: PoolStatus,
    rtt: [Option<f64>; Region::COUNT],
    /// Regions whose RTT changed since the last publication.
    rtt_dirty: u16,
}

/// Health checks for every monitored origin of a [`Table`], as a sans-IO
/// state machine: the checker says which probe is due and when, the host
/// performs it and reports the outcome, the checker decides health.
///
/// The host loop:
///
/// 1. [`poll_probe(now)`](Self::poll_probe) until it returns `None`, and
///    start each probe (concurrently, as the host likes);
/// 2. when a probe finishes, [`handle_result(id, outcome, now)`](Self::handle_result);
/// 3. [`publish`](Self::publish) verdicts into the [`HealthRegistry`] the
///    decision reads, and drain [`poll_event`](Self::poll_event) for logs;
/// 4. sleep until [`poll_timeout`](Self::poll_timeout) or the next probe
///    result, whichever comes first.
///
/// On reload, [`reconfigure`](Self::reconfigure) with the new table.
/// The [module docs](super) show the loop on a virtual clock.
pub struct HealthChecker {
    config: CheckerConfig,
    points: Box<[Vantage]>,
    pools: Vec<PoolState>,
    pool_index: Map<Arc<str>, u32>,
    origins: Vec<OriginState>,
    members: Vec<Member>,
    slots: Vec<Slot>,
    /// (when, slot, seq): a probe due, or a probe's report overdue.
    heap: BinaryHeap<Reverse<(Timestamp, u32, u32)>>,
    in_flight: Map<ProbeId, u32>,
    next_id: u64,
    events: VecDeque<HealthEvent>,
    dirty_origins: Vec<u32>,
    dirty_pools: Vec<u32>,
}

impl fmt::Debug for HealthChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HealthChecker")
            .field("vantage_points", &self.points.len())
            .field("pools", &self.pools.len())
            .field("origins", &self.origins.len())
            .field("targets", &self.slots.len())
            .field("in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

impl HealthChecker {
    /// A checker for `table`'s monitored origins. Every origin starts
    /// [`Status::Unknown`] and every first probe is due at once.
    pub fn new(table: &Table, config: CheckerConfig) -> HealthChecker {
        let points: Box<[Vantage]> = config.vantages().collect();
        let mut checker = HealthChecker {
            config,
            points,
            pools: Vec::new(),
            pool_index: crate::hash::map(),
            origins: Vec::new(),
            members: Vec::new(),
            slots: Vec::new(),
            heap: BinaryHeap::new(),
            in_flight: crate::hash::map(),
            next_id: 1,
            events: VecDeque::new(),
            dirty_origins: Vec::new(),
            dirty_pools: Vec::new(),
        };
        checker.reconfigure(table);
        checker
    }

    /// The configuration.
    pub fn config(&self) -> &CheckerConfig {
        &self.config
    }

    /// Takes a new table (after a reload). State is kept by identity: a
    /// monitor (by id) probing an origin (by pool id and name) from a
    /// vantage point keeps its status, consecutive counts, schedule and
    /// probe in flight; new ones start unknown and due at once; removed ones
    /// are dropped (a late result for them is an
    /// [`UnknownProbe`](ProbeError::UnknownProbe) error). An origin whose
    /// probe endpoint changed (its address, the port probed, or the `Host`
    /// sent) counts as new: what was known was about another endpoint.
    ///
    /// Changed monitor settings apply from the next probe: a probe in
    /// flight is judged by the settings it was sent with; the next probe is
    /// due no later than one new `interval` after the current round began.
    /// Pools keep their RTT averages. Resulting status changes are reported
    /// as events with [`Cause::Reconfigured`], and every monitored origin is
    /// published again by the next [`publish`](Self::publish).
    pub fn reconfigure(&mut self, table: &Table) {
        // What to keep, by identity.
        // Each with where it probed: a target whose address, port or Host
        // changed starts over (unknown, due at once), since what was learnt
        // was about another endpoint.
        let mut kept: Map<TargetKey, (Endpoint, Vec<(Vantage, Slot)>)> =
            crate::hash::map_with_capacity(self.members.len());
        let mut old_slots: Vec<Option<Slot>> = core::mem::take(&mut self.slots).into_iter().map(Some).collect();
        for member in &self.members {
            let spec = &member.spec;
            let slots = member
                .slots
                .clone()
                .filter_map(|s| {
                    let slot = old_slots[s as usize].take()?;
                    Some((self.points[usize::from(slot.vantage)], slot))
                })
                .collect();
            kept.insert((spec.pool.clone(), spec.origin.clone(), spec.monitor.id.clone()), (endpoint(spec), slots));
        }
        let mut old_origins: Map<(Arc<str>, Arc<str>), Status> = crate::hash::map_with_capacity(self.origins.len());
        for origin in &self.origins {
            old_origins.insert((self.pools[origin.pool as usize].id.clone(), origin.name.clone()), origin.status);
        }
        let mut old_pools: Map<Arc<str>, ([Option<f64>; Region::COUNT], PoolStatus)> =
            crate::hash::map_with_capacity(self.pools.len());
        for pool in self.pools.drain(..) {
            old_pools.insert(pool.id, (pool.rtt, pool.status));
        }
        self.origins.clear();
        self.members.clear();
        self.pool_index = crate::hash::map_with_capacity(table.pools().len());
        self.in_flight.clear();
        self.dirty_origins.clear();
        self.dirty_pools.clear();

        let monitors: Vec<Arc<MonitorSpec>> =
            table.monitors().iter().map(|m| Arc::new(MonitorSpec::new(m.config()))).collect();
        let mut pool_members: Vec<(MonitorId, bool, bool)> = Vec::new();
        let mut pool_points: Vec<u16> = Vec::new();
        for pool in table.pools() {
            let pool_idx = self.pools.len() as u32;
            let pool_id: Arc<str> = Arc::from(pool.id());
            pool_members.clear();
            if pool.enabled() {
                if let Some(monitor) = pool.monitor() {
                    pool_members.push((monitor, true, false));
                } else if let Some(group) = pool.monitor_group() {
                    pool_members.extend(
                        table
                            .monitor_group(group)
                            .members()
                            .iter()
                            .filter(|m| m.enabled())
                            .map(|m| (m.monitor(), !m.monitoring_only(), m.must_be_healthy())),
                    );
                }
            }
            // Vantage points for the pool's check regions; all of them when
            // it names none, or none the checker has.
            pool_points.clear();
            let regions = pool.check_regions();
            pool_points.extend(
                self.points
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.region.is_some_and(|r| regions.contains(&r)))
                    .map(|(i, _)| i as u16),
            );
            if pool_points.is_empty() {
                pool_points.extend(0..self.points.len() as u16);
            }

            let first_origin = self.origins.len() as u32;
            for origin_id in pool.origins() {
                let origin = table.origin(origin_id);
                let origin_idx = self.origins.len() as u32;
                let name: Arc<str> = Arc::from(origin.name());
                let probed = pool.enabled() && pool.monitored() && origin.enabled();
                let first_member = self.members.len() as u32;
                if probed {
                    for &(monitor, votes, veto) in &pool_members {
                        let monitor = &monitors[monitor.index()];
                        let spec = Arc::new(ProbeSpec::new(pool_id.clone(), name.clone(), origin, Arc::clone(monitor)));
                        let member_idx = self.members.len() as u32;
                        let mut previous = match kept.remove(&(pool_id.clone(), name.clone(), monitor.id.clone())) {
                            Some((was, slots)) if was == endpoint(&spec) => slots,
                            _ => Vec::new(),
                        };
                        let first_slot = self.slots.len() as u32;
                        for &point in &pool_points {
                            let vantage = self.points[usize::from(point)];
                            let mut slot = match previous.iter().position(|(v, _)| *v == vantage) {
                                Some(at) => previous.swap_remove(at).1,
                                None => Slot::new(member_idx, point),
                            };
                            slot.member = member_idx;
                            slot.vantage = point;
                            if let (Phase::Idle { due, attempt: 0 }, Some(start)) = (&mut slot.phase, slot.round_start)
                            {
                                *due = (*due).min(start + monitor.interval);
                            }
                            self.slots.push(slot);
                        }
                        self.members.push(Member {
                            origin: origin_idx,
                            spec,
                            votes,
                            veto,
                            slots: first_slot..self.slots.len() as u32,
                            status: Status::Unknown,
                        });
                    }
                }
                self.origins.push(OriginState {
                    pool: pool_idx,
                    name,
                    probed,
                    enabled: origin.enabled(),
                    members: first_member..self.members.len() as u32,
                    status: Status::Unknown,
                    dirty: false,
                });
            }
            let (rtt, previous_status) =
                old_pools.remove(&pool_id).map_or(([None; Region::COUNT], None), |(r, s)| (r, Some(s)));
            self.pool_index.insert(pool_id.clone(), pool_idx);
            self.pools.push(PoolState {
                id: pool_id,
                enabled: pool.enabled(),
                monitored: pool.monitored(),
                minimum_origins: pool.minimum_origins(),
                origins: first_origin..self.origins.len() as u32,
                status: previous_status.unwrap_or(PoolStatus::Unknown),
                rtt,
                rtt_dirty: if rtt.iter().any(Option::is_some) { u16::MAX } else { 0 },
            });
            if rtt.iter().any(Option::is_some) {
                self.dirty_pools.push(pool_idx);
            }

            // Statuses, and events for what existed before.
            for o in first_origin..self.origins.len() as u32 {
                for m in self.origins[o as usize].members.clone() {
                    self.members[m as usize].status = self.member_status(m);
                }
                let status = self.origin_status_of(o);
                let origin = &mut self.origins[o as usize];
                origin.status = status;
                if let Some(previous) =
                    old_origins.get(&(self.pools[pool_idx as usize].id.clone(), origin.name.clone()))
                    && *previous != status
                {
                    let event = OriginEvent {
                        pool: self.pools[pool_idx as usize].id.clone(),
                        origin: origin.name.clone(),
                        previous: *previous,
                        status,
                        cause: Cause::Reconfigured,
                    };
                    self.push_event(HealthEvent::Origin(event));
                }
                if self.pools[pool_idx as usize].monitored {
                    self.mark_dirty(o);
                }
            }
            let (status, healthy) = self.pool_status_of(pool_idx);
            let state = &mut self.pools[pool_idx as usize];
            let previous = core::mem::replace(&mut state.status, status);
            if previous_status.is_some() && previous != status {
                let event = PoolEvent {
                    pool: state.id.clone(),
                    previous,
                    status,
                    healthy,
                    minimum_origins: state.minimum_origins,
                    cause: Cause::Reconfigured,
                };
                self.push_event(HealthEvent::Pool(event));
            }
        }

        // The schedule.
        self.heap = BinaryHeap::with_capacity(self.slots.len());
        for (idx, slot) in self.slots.iter().enumerate() {
            let at = match &slot.phase {
                Phase::Idle { due, .. } => *due,
                Phase::InFlight { id, spec, sent, .. } => {
                    self.in_flight.insert(*id, idx as u32);
                    *sent + spec.monitor.timeout + PROBE_GRACE
                }
            };
            self.heap.push(Reverse((at, idx as u32, slot.seq)));
        }
    }

    /// When the next probe is due (or a probe in flight is overdue): call
    /// [`poll_probe`](Self::poll_probe) then. `None` when nothing is
    /// monitored. A time in the past means now.
    ///
    /// Call again after [`poll_probe`](Self::poll_probe),
    /// [`handle_result`](Self::handle_result) and
    /// [`reconfigure`](Self::reconfigure). An early wake-up is harmless.
    pub fn poll_timeout(&mut self) -> Option<Timestamp> {
        while let Some(&Reverse((at, slot, seq))) = self.heap.peek() {
            if self.slots[slot as usize].seq == seq {
                return Some(at);
            }
            self.heap.pop();
        }
        None
    }

    /// The next probe due at `now`, if any; call until it returns `None`.
    ///
    /// Also counts probes whose report is overdue (past their deadline and
    /// [`PROBE_GRACE`]) as timed out.
    pub fn poll_probe(&mut self, now: Timestamp) -> Option<Probe> {
        while let Some(&Reverse((at, idx, seq))) = self.heap.peek() {
            if at > now {
                return None;
            }
            self.heap.pop();
            let slot = &mut self.slots[idx as usize];
            if slot.seq != seq {
                continue;
            }
            match slot.phase {
                Phase::Idle { attempt, .. } => return Some(self.launch(idx, attempt, now)),
                Phase::InFlight { id, .. } => {
                    self.in_flight.remove(&id);
                    self.conclude(idx, Outcome::timeout(), now);
                }
            }
        }
        None
    }

    /// Reports what happened to a probe. The checker judges it (status
    /// code, body, redirects, timeout), schedules a retry at once after a
    /// timeout while the monitor's `retries` allow, and otherwise counts it
    /// towards the origin's health.
    ///
    /// Without an RTT in the outcome, the time since the probe was handed
    /// out is used.
    pub fn handle_result(&mut self, id: ProbeId, outcome: Outcome<'_>, now: Timestamp) -> Result<(), ProbeError> {
        let idx = self.in_flight.remove(&id).ok_or(ProbeError::UnknownProbe(id))?;
        self.conclude(idx, outcome, now);
        Ok(())
    }

    /// The next health transition, oldest first.
    pub fn poll_event(&mut self) -> Option<HealthEvent> {
        self.events.pop_front()
    }

    /// Writes what changed since the last call (origin statuses of
    /// monitored pools, pool RTT averages) into `registry`, which should be
    /// bound to the same table as this checker. Identities the registry
    /// does not know are skipped.
    pub fn publish(&mut self, registry: &mut HealthRegistry) {
        for o in self.dirty_origins.drain(..) {
            let origin = &mut self.origins[o as usize];
            origin.dirty = false;
            let _ = registry.set_status(&self.pools[origin.pool as usize].id, &origin.name, origin.status);
        }
        for p in self.dirty_pools.drain(..) {
            let pool = &mut self.pools[p as usize];
            for region in Region::ALL {
                if pool.rtt_dirty & (1 << region.index()) != 0 {
                    registry.set_pool_rtt(&pool.id, region, pool.rtt[region.index()]);
                }
            }
            pool.rtt_dirty = 0;
        }
    }

    /// An origin's status, by pool id and origin name. Origins of pools
    /// without a monitor, and disabled ones, are [`Status::Unknown`] here.
    pub fn origin_status(&self, pool: &str, origin: &str) -> Option<Status> {
        let pool = &self.pools[*self.pool_index.get(pool)? as usize];
        self.origins[pool.origins.start as usize..pool.origins.end as usize]
            .iter()
            .find(|o| &*o.name == origin)
            .map(|o| o.status)
    }

    /// A pool's status, by id.
    pub fn pool_status(&self, pool: &str) -> Option<PoolStatus> {
        Some(self.pools[*self.pool_index.get(pool)? as usize].status)
    }

    /// Every pool's id and status, in table order.
    pub fn pool_statuses(&self) -> impl ExactSizeIterator<Item = (&str, PoolStatus)> + '_ {
        self.pools.iter().map(|p| (&*p.id, p.status))
    }

    /// A pool's smoothed probe RTT from `region`, in milliseconds.
    pub fn pool_rtt_ms(&self, pool: &str, region: Region) -> Option<f64> {
        self.pools[*self.pool_index.get(pool)? as usize].rtt[region.index()]
    }

    /// Probes handed out and not yet reported.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// How many (monitor, origin, vantage point) targets are checked.
    pub fn targets(&self) -> usize {
        self.slots.len()
    }

    fn launch(&mut self, idx: u32, attempt: u32, now: Timestamp) -> Probe {
        let id = ProbeId(self.next_id);
        self.next_id += 1;
        let slot = &mut self.slots[idx as usize];
        let spec = Arc::clone(&self.members[slot.member as usize].spec);
        if attempt == 0 {
            slot.round_start = Some(now);
        }
        let deadline = now + spec.monitor.timeout + PROBE_GRACE;
        slot.phase = Phase::InFlight { id, spec: Arc::clone(&spec), sent: now, attempt };
        slot.seq = slot.seq.wrapping_add(1);
        self.heap.push(Reverse((deadline, idx, slot.seq)));
        self.in_flight.insert(id, idx);
        Probe { id, vantage: self.points[usize::from(slot.vantage)], attempt, sent: now, spec }
    }

    /// A probe of slot `idx` ended with `outcome` (its id is out of
    /// `in_flight` already).
    fn conclude(&mut self, idx: u32, outcome: Outcome<'_>, now: Timestamp) {
        let slot = &mut self.slots[idx as usize];
        let Phase::InFlight { spec: sent_spec, sent, attempt, .. } =
            core::mem::replace(&mut slot.phase, Phase::Idle { due: now, attempt: 0 })
        else {
            return;
        };
        slot.seq = slot.seq.wrapping_add(1);
        let member = &self.members[slot.member as usize];
        let monitor = &member.spec.monitor;
        if outcome.is_timeout() && attempt < monitor.retries {
            slot.phase = Phase::Idle { due: now, attempt: attempt + 1 };
            self.heap.push(Reverse((now, idx, slot.seq)));
            return;
        }
        let judgement = outcome.judge(&sent_spec.monitor);
        let passed = judgement.failure.is_none();
        let flipped = slot.record(passed, monitor.consecutive_up, monitor.consecutive_down);
        let due = slot.round_start.unwrap_or(now) + monitor.interval;
        slot.phase = Phase::Idle { due, attempt: 0 };
        self.heap.push(Reverse((due, idx, slot.seq)));

        let answered = !matches!(judgement.failure, Some(Failure::Timeout)) && (passed || judgement.code.is_some());
        let rtt = answered.then(|| outcome.rtt().unwrap_or_else(|| now.saturating_duration_since(sent)));
        let vantage = self.points[usize::from(slot.vantage)];
        let (member_idx, votes) = (slot.member, member.votes);
        let (origin_idx, pool_idx) = (member.origin, self.origins[member.origin as usize].pool);
        if passed
            && votes
            && let Some(rtt) = rtt
        {
            self.sample_rtt(pool_idx, vantage.region, rtt);
        }
        if !flipped {
            return;
        }
        let member_status = self.member_status(member_idx);
        let member = &mut self.members[member_idx as usize];
        if member.status == member_status {
            return;
        }
        member.status = member_status;
        let status = self.origin_status_of(origin_idx);
        let origin = &mut self.origins[origin_idx as usize];
        if origin.status == status {
            return;
        }
        let previous = core::mem::replace(&mut origin.status, status);
        let report = ProbeReport {
            monitor: sent_spec.monitor.id.clone(),
            vantage,
            attempts: attempt + 1,
            failure: judgement.failure,
            code: judgement.code,
            rtt,
        };
        let event = OriginEvent {
            pool: self.pools[pool_idx as usize].id.clone(),
            origin: origin.name.clone(),
            previous,
            status,
            cause: Cause::Probe(report.clone()),
        };
        self.push_event(HealthEvent::Origin(event));
        self.mark_dirty(origin_idx);
        let (status, healthy) = self.pool_status_of(pool_idx);
        let pool = &mut self.pools[pool_idx as usize];
        if pool.status != status {
            let previous = core::mem::replace(&mut pool.status, status);
            let event = PoolEvent {
                pool: pool.id.clone(),
                previous,
                status,
                healthy,
                minimum_origins: pool.minimum_origins,
                cause: Cause::Probe(report),
            };
            self.push_event(HealthEvent::Pool(event));
        }
    }

    fn sample_rtt(&mut self, pool_idx: u32, region: Option<Region>, rtt: Duration) {
        let alpha = self.config.rtt_alpha;
        let sample = rtt.as_secs_f64() * 1000.0;
        let pool = &mut self.pools[pool_idx as usize];
        let was_dirty = pool.rtt_dirty != 0;
        let mut update = |r: Region| {
            let slot = &mut pool.rtt[r.index()];
            *slot = Some(match *slot {
                Some(avg) => avg + alpha * (sample - avg),
                None => sample,
            });
            pool.rtt_dirty |= 1 << r.index();
        };
        match region {
            Some(region) => update(region),
            // The local vantage point measures for requests from anywhere.
            None => Region::ALL.into_iter().for_each(update),
        }
        if !was_dirty {
            self.dirty_pools.push(pool_idx);
        }
    }

    /// Vantage points → regions → monitor verdict.
    fn member_status(&self, member: u32) -> Status {
        let range = self.members[member as usize].slots.clone();
        let mut regions = Tally::default();
        let mut current: Option<Option<Region>> = None;
        let mut tally = Tally::default();
        for slot in &self.slots[range.start as usize..range.end as usize] {
            let region = self.points[usize::from(slot.vantage)].region;
            if current != Some(region) {
                if current.is_some() {
                    regions.add(tally.verdict(self.config.region_quorum));
                }
                current = Some(region);
                tally = Tally::default();
            }
            tally.add(slot.status);
        }
        if current.is_some() {
            regions.add(tally.verdict(self.config.region_quorum));
        }
        regions.verdict(self.config.origin_quorum)
    }

    /// Monitors → origin verdict.
    fn origin_status_of(&self, origin: u32) -> Status {
        let origin = &self.origins[origin as usize];
        if !origin.probed {
            return Status::Unknown;
        }
        group_verdict(self.members[origin.members.start as usize..origin.members.end as usize].iter().map(|m| Vote {
            status: m.status,
            votes: m.votes,
            veto: m.veto,
        }))
    }

    /// Origins → pool status, and the healthy count.
    fn pool_status_of(&self, pool: u32) -> (PoolStatus, u32) {
        let pool = &self.pools[pool as usize];
        let origins = &self.origins[pool.origins.start as usize..pool.origins.end as usize];
        let enabled = origins.iter().filter(|o| o.enabled);
        let healthy = enabled.clone().filter(|o| o.status.is_healthy()).count() as u32;
        let status =
            PoolStatus::evaluate(pool.enabled, pool.monitored, pool.minimum_origins, enabled.map(|o| o.status));
        (status, healthy)
    }

    fn mark_dirty(&mut self, origin: u32) {
        let state = &mut self.origins[origin as usize];
        if !state.dirty {
            state.dirty = true;
            self.dirty_origins.push(origin);
        }
    }

    fn push_event(&mut self, event: HealthEvent) {
        crate::telemetry::event!(info, %event, "health");
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }
}

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<HealthChecker>();
    send_sync::<Probe>();
    send_sync::<HealthEvent>();
};
