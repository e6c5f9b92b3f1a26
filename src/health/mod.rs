//! Health: what the decision reads about origins and pools, and the
//! built-in registry that keeps it across reloads.
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

mod registry;

pub use registry::{BoundHealth, HealthRegistry, InFlight, UnknownOrigin};

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
