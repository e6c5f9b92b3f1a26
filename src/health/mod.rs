//! Health: what the decision reads about origins and pools, the registry
//! that keeps it across reloads, and the monitors that produce it.
//!
//! # Reading health
//!
//! The decision reads health through [`HealthView`], by the dense ids of the
//! table it is deciding with. Implement it over your own state, use a slice
//! of `bool` (one per origin), or use the [`HealthRegistry`], which keeps
//! state per stable identity (pool id + origin name) so that a reload keeps
//! what is known about unchanged origins.
//!
//! Health only matters for pools that have a monitor (or monitor group): a
//! pool without one treats its enabled origins as healthy, whatever is
//! reported. Where a monitor exists, an origin whose status is still
//! [`Status::Unknown`] counts as down.
//!
//! # Producing health: the [`HealthChecker`]
//!
//! The library owns every health decision; the host only performs probes
//! and reports what happened, and supplies the time (a [`Timestamp`] on its
//! own monotonic clock: there is no clock in the library). This is the
//! sans-IO shape of quinn-proto: `poll_timeout`, `poll_probe`,
//! `handle_result`, `poll_event`.
//!
//! **Targets.** Every enabled origin of an enabled pool with a monitor is
//! probed by that monitor; with a monitor group, by each enabled member.
//! Each (monitor, origin) is probed from every vantage point of the pool's
//! `check_regions` (see below), and each (monitor, origin, vantage point)
//! is one state machine:
//!
//! - **Schedule.** The first probe is due at once; the next one `interval`
//!   after the previous round began. A probe that times out is retried at
//!   once (the retry is due immediately), up to the monitor's `retries`;
//!   only then does it count as one failure. Only timeouts are retried: a
//!   refused connection or a wrong status code fails at once. A probe the
//!   host never reports counts as timed out [`PROBE_GRACE`] after its
//!   deadline.
//! - **Judging.** The host reports what it saw ([`Outcome`]): an HTTP
//!   status with the first bytes of the body, "connected", a timeout, or a
//!   [`Failure`]. The library applies `expected_codes` (`200`, `2xx`, lists
//!   of both; `200` when unset), `expected_body` (ASCII case-insensitive,
//!   within the first 10 KB: [`BODY_LIMIT`]) and `follow_redirects` (a host
//!   that followed redirects the monitor does not allow fails the probe;
//!   without `follow_redirects` a redirect is judged by its own status code,
//!   so `expected_codes: "302"` accepts it).
//! - **Hysteresis.** The status flips to healthy after `consecutive_up`
//!   passes in a row, to unhealthy after `consecutive_down` failures in a
//!   row (0 acts as 1), starting from unknown.
//!
//! **Aggregation.** A region's vantage points elect the region's status, the
//! regions elect the monitor's verdict on the origin (each by a [`Quorum`],
//! more than half by default). A monitor group's members then vote: a
//! failing `must_be_healthy` member vetoes; otherwise the origin is
//! unhealthy when more than half of the voting members (enabled, not
//! `monitoring_only`) say so. At every level the verdict stays
//! [`Status::Unknown`] while the votes still missing could change it. A
//! pool's [`PoolStatus`] follows from its enabled origins and
//! `minimum_origins`: healthy, degraded, critical (or unknown, unmonitored,
//! disabled).
//!
//! **Vantage points.** With the default [`CheckerConfig`] the host probes
//! from where it runs: one implicit vantage point ([`Vantage::LOCAL`]), no
//! setup, and `check_regions` does not matter. A host that runs probes from
//! several places (agents in several regions) configures
//! [`CheckerConfig::vantage_points`] per region; each probe then names its
//! vantage point, and a pool is probed from the vantage points of its
//! `check_regions` (all of them when it names none, or none that are
//! configured).
//!
//! **RTT.** Passing probes of voting monitors feed an exponentially
//! weighted moving average per pool and region (α = 0.2 by default: a
//! sample's weight halves about every three samples), read by
//! `dynamic_latency` steering. The local vantage point's average stands for
//! every region.
//!
//! **Publishing.** [`HealthChecker::publish`] writes changed verdicts and
//! RTTs into a [`HealthRegistry`], where the decision reads them lock-free.
//! [`HealthChecker::poll_event`] reports every origin and pool transition
//! with its cause (the probe, its failure, status code and RTT; or a
//! reload). The [`Router`](crate::Router) can run a checker for you and
//! does all of this on each call.
//!
//! **Reloads.** [`HealthChecker::reconfigure`] keeps the state of every
//! (monitor id, pool id, origin name, vantage point) that is still there,
//! starts new ones unknown, drops removed ones; changed monitor settings
//! apply from the next probe.
//!
//! # The host loop, on a virtual clock
//!
//! ```
//! use core::time::Duration;
//! use lbsteer::health::{CheckerConfig, HealthChecker, HealthEvent, HealthRegistry, HealthView, Outcome, Status, Timestamp};
//! # #[cfg(feature = "std")] {
//! let account = lbsteer::Account::from_json(r#"{
//!     "monitors": [{"id": "http", "path": "/health", "expected_codes": "2xx",
//!                   "interval": 10, "consecutive_up": 2}],
//!     "pools": [{"id": "web", "name": "web", "monitor": "http", "origins": [
//!         {"name": "a", "address": "192.0.2.1"},
//!         {"name": "b", "address": "192.0.2.2"}]}]
//! }"#).unwrap();
//! let table = lbsteer::Table::compile(&account).unwrap();
//! let mut registry = HealthRegistry::new();
//! let health = registry.bind(&table); // what the decision reads
//! let mut checker = HealthChecker::new(&table, CheckerConfig::default());
//!
//! // Pretend origin "b" answers 503.
//! let probe_origin = |address: &str| if address == "192.0.2.1" { 200 } else { 503 };
//!
//! let mut now = Timestamp::ZERO;
//! while now < Timestamp::from_millis(30_000) {
//!     // 1. Start every probe that is due.
//!     while let Some(probe) = checker.poll_probe(now) {
//!         assert_eq!((probe.method(), probe.path(), probe.port()), ("GET", "/health", 80));
//!         // 2. Perform it (here: at once) and report what happened.
//!         let code = probe_origin(probe.address());
//!         let outcome = Outcome::http(code).with_rtt(Duration::from_millis(20));
//!         checker.handle_result(probe.id(), outcome, now).unwrap();
//!     }
//!     // 3. Publish verdicts and look at the transitions.
//!     checker.publish(&mut registry);
//!     while let Some(event) = checker.poll_event() {
//!         println!("{now}: {event}");
//!     }
//!     // 4. Sleep until the next probe is due.
//!     now = checker.poll_timeout().unwrap();
//! }
//!
//! let (a, b) = (table.origin_id("web", "a").unwrap(), table.origin_id("web", "b").unwrap());
//! assert!(health.origin_healthy(a), "two passes in a row");
//! assert_eq!(health.status(b), Status::Unhealthy);
//! assert_eq!(checker.pool_status("web"), Some(lbsteer::health::PoolStatus::Degraded));
//! # }
//! ```

mod checker;
mod expected;
mod probe;
mod quorum;
mod registry;
#[cfg(all(test, feature = "std"))]
mod tests;
mod time;

pub use checker::{
    Cause, CheckerConfig, DEFAULT_RTT_ALPHA, HealthChecker, HealthEvent, MAX_EVENTS, MAX_VANTAGE_POINTS_PER_REGION,
    OriginEvent, PROBE_GRACE, PoolEvent, ProbeError, ProbeReport,
};
pub use expected::BODY_LIMIT;
pub use probe::{Failure, Outcome, Probe, ProbeId, Vantage};
pub use quorum::{PoolStatus, Quorum};
pub use registry::{BoundHealth, HealthRegistry, InFlight, UnknownOrigin};
pub use time::Timestamp;

use crate::geo::Region;
use crate::table::{OriginId, PoolId};

/// What is known about an origin's health.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Status {
    /// No verdict yet; counts as down where the pool has a monitor.
    #[default]
    Unknown = 0,
    /// Passing its health checks.
    Healthy = 1,
    /// Failing its health checks.
    Unhealthy = 2,
}

impl Status {
    pub(crate) fn from_u8(value: u8) -> Status {
        match value {
            1 => Status::Healthy,
            2 => Status::Unhealthy,
            _ => Status::Unknown,
        }
    }

    /// `Healthy` for `true`, `Unhealthy` for `false`.
    pub fn from_healthy(healthy: bool) -> Status {
        if healthy { Status::Healthy } else { Status::Unhealthy }
    }

    /// Whether this status lets an origin of a monitored pool take traffic.
    pub fn is_healthy(self) -> bool {
        self == Status::Healthy
    }

    /// The status as a word: `unknown`, `healthy`, `unhealthy`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Healthy => "healthy",
            Status::Unhealthy => "unhealthy",
        }
    }
}

impl core::fmt::Display for Status {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The read side of health, as the decision sees it.
///
/// Ids are those of the [`Table`](crate::Table) being decided with. Every
/// method is called on the request path: implementations must be cheap and
/// must not block. Only [`origin_healthy`](Self::origin_healthy) is
/// required; the others default to "no data".
pub trait HealthView {
    /// Whether the origin passes its health checks. Asked only for origins
    /// of monitored pools.
    fn origin_healthy(&self, origin: OriginId) -> bool;

    /// How many of the pool's enabled origins are healthy, when the view
    /// keeps that count (`None`: the decision counts them itself).
    fn healthy_origins(&self, pool: PoolId) -> Option<u32> {
        let _ = pool;
        None
    }

    /// The pool's smoothed health-probe round-trip time in milliseconds, as
    /// measured from `region` (`dynamic_latency` steering).
    fn pool_rtt_ms(&self, pool: PoolId, region: Region) -> Option<f64> {
        let _ = (pool, region);
        None
    }

    /// Requests in flight to the pool (`least_outstanding_requests`).
    fn pool_outstanding(&self, pool: PoolId) -> u32 {
        let _ = pool;
        0
    }

    /// Requests in flight to the origin.
    fn origin_outstanding(&self, origin: OriginId) -> u32 {
        let _ = origin;
        0
    }

    /// Open connections to the pool (`least_connections`).
    fn pool_connections(&self, pool: PoolId) -> u32 {
        let _ = pool;
        0
    }

    /// Open connections to the origin.
    fn origin_connections(&self, origin: OriginId) -> u32 {
        let _ = origin;
        0
    }

    /// When (Unix seconds) the origin, now disabled, was disabled: the start
    /// of its drain window (`session_affinity_attributes.drain_duration`).
    /// `None` (the default) when unknown, which ends every drain at once.
    fn origin_disabled_since(&self, origin: OriginId) -> Option<u64> {
        let _ = origin;
        None
    }
}

impl<H: HealthView + ?Sized> HealthView for &H {
    fn origin_healthy(&self, origin: OriginId) -> bool {
        (**self).origin_healthy(origin)
    }
    fn healthy_origins(&self, pool: PoolId) -> Option<u32> {
        (**self).healthy_origins(pool)
    }
    fn pool_rtt_ms(&self, pool: PoolId, region: Region) -> Option<f64> {
        (**self).pool_rtt_ms(pool, region)
    }
    fn pool_outstanding(&self, pool: PoolId) -> u32 {
        (**self).pool_outstanding(pool)
    }
    fn origin_outstanding(&self, origin: OriginId) -> u32 {
        (**self).origin_outstanding(origin)
    }
    fn pool_connections(&self, pool: PoolId) -> u32 {
        (**self).pool_connections(pool)
    }
    fn origin_connections(&self, origin: OriginId) -> u32 {
        (**self).origin_connections(origin)
    }
    fn origin_disabled_since(&self, origin: OriginId) -> Option<u64> {
        (**self).origin_disabled_since(origin)
    }
}

/// Health as one `bool` per origin, indexed by [`OriginId`]; an origin past
/// the end counts as down. The simplest view for hosts without `std`.
impl HealthView for [bool] {
    fn origin_healthy(&self, origin: OriginId) -> bool {
        self.get(origin.index()).copied().unwrap_or(false)
    }
}

/// A view in which every origin is healthy and nothing else is known.
#[derive(Clone, Copy, Debug, Default)]
pub struct AllHealthy;

impl HealthView for AllHealthy {
    fn origin_healthy(&self, _: OriginId) -> bool {
        true
    }
}
