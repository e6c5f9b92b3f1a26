//! Zero-downtime failover: one retry after a connection-level failure.

use core::fmt;

use super::affinity::{AffinityContext, Rejection, SessionOutcome, SessionStatus, finish_retry};
use super::decide::{Steering, route, steer};
use super::origins::{HealthMode, Pick, pick_origin};
use super::pools::PoolOrder;
use super::{Outcome, Picked, RandomSource};
use crate::explain::{Step, Tracer};
use crate::health::HealthView;
use crate::request::Request;
use crate::table::{AffinityMode, FailoverPolicy, LoadBalancerId, OriginId, PoolId, Table};

/// The HTTP statuses after which a request may be retried on another
/// origin: a set of codes from 100 to 599.
///
/// The default is Cloudflare's: 521 (origin down), 522 (connection timed
/// out), 523 (origin unreachable), 525 (TLS handshake failed), 526
/// (invalid origin certificate).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RetryStatuses {
    bits: [u64; 10],
}

impl RetryStatuses {
    /// 521, 522, 523, 525 and 526.
    pub const DEFAULT: RetryStatuses = RetryStatuses::from_codes(&[521, 522, 523, 525, 526]);

    /// No status: failover off.
    pub const NONE: RetryStatuses = RetryStatuses { bits: [0; 10] };

    /// A set of statuses; codes outside 100..=599 are ignored.
    pub const fn from_codes(codes: &[u16]) -> Self {
        let mut bits = [0u64; 10];
        let mut i = 0;
        while i < codes.len() {
            let code = codes[i] as usize;
            if code >= 100 && code < 600 {
                bits[code / 64] |= 1 << (code % 64);
            }
            i += 1;
        }
        RetryStatuses { bits }
    }

    /// Whether `status` is in the set.
    pub const fn contains(&self, status: u16) -> bool {
        let code = status as usize;
        code >= 100 && code < 600 && self.bits[code / 64] & (1 << (code % 64)) != 0
    }

    /// The statuses, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (100..600).filter(|&code| self.contains(code))
    }
}

impl Default for RetryStatuses {
    fn default() -> Self {
        RetryStatuses::DEFAULT
    }
}

impl fmt::Debug for RetryStatuses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// Why a failover retry found no origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum RetryError {
    /// The status is not a connection-level failure that is retried.
    #[error("status {status} is not retried")]
    NotRetryable {
        /// The status reported.
        status: u16,
    },
    /// The selection is a retry already: one retry per request.
    #[error("this request was retried already")]
    AlreadyRetried,
    /// The request's session was honoured and `zero_downtime_failover` is
    /// `none`: no failover for pinned sessions.
    #[error("the session is pinned and zero_downtime_failover is none")]
    PinnedSession,
    /// No other healthy origin: in the same pool, or (with
    /// `failover_across_pools`) in any other pool.
    #[error("no other healthy origin")]
    NoOtherOrigin,
    /// The selection was made with another table, or for another load
    /// balancer than the request now reaches.
    #[error("the selection belongs to another table or load balancer")]
    OtherTable,
}

impl RetryError {
    /// The error's name in traces and scenario files: `not_retryable`,
    /// `already_retried`, `pinned_session`, `no_other_origin`,
    /// `other_table`.
    pub const fn code(self) -> &'static str {
        match self {
            RetryError::NotRetryable { .. } => "not_retryable",
            RetryError::AlreadyRetried => "already_retried",
            RetryError::PinnedSession => "pinned_session",
            RetryError::NoOtherOrigin => "no_other_origin",
            RetryError::OtherTable => "other_table",
        }
    }
}

/// What a retry needs to know of the selection that failed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Previous {
    pub(crate) load_balancer: LoadBalancerId,
    pub(crate) pool: PoolId,
    pub(crate) origin: OriginId,
    pub(crate) session: SessionStatus,
    pub(crate) retried: bool,
}

/// Another origin for `request` after `previous` failed with `status`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn retry<H, R, T>(
    table: &Table,
    request: &Request<'_>,
    previous: Previous,
    status: u16,
    health: &H,
    rng: &mut R,
    trace: &mut T,
    ctx: &AffinityContext<'_>,
) -> Result<Outcome, RetryError>
where
    H: HealthView + ?Sized,
    R: RandomSource + ?Sized,
    T: Tracer,
{
    let refuse = |trace: &mut T, error: RetryError| {
        trace.step(Step::RetryRefused { error });
        Err(error)
    };
    trace.step(Step::Retry { status, origin: previous.origin });
    if previous.retried {
        return refuse(trace, RetryError::AlreadyRetried);
    }
    if !ctx.retry_statuses().contains(status) {
        return refuse(trace, RetryError::NotRetryable { status });
    }
    let routed = match route(table, request, &mut crate::explain::NoTrace) {
        Ok(routed) if routed.respond.is_none() && routed.load_balancer == previous.load_balancer => routed,
        _ => return refuse(trace, RetryError::OtherTable),
    };
    let effective = &routed.effective;
    let pinned = matches!(previous.session, SessionStatus::Pinned { .. } | SessionStatus::Temporary);
    let zdf = match effective.affinity_attributes.zero_downtime_failover {
        // Header affinity has no `sticky` failover (the compiler rejects the
        // pair in one object; two matching rules can still make it): such a
        // retry keeps the session, as `temporary` does.
        FailoverPolicy::Sticky if effective.affinity == AffinityMode::Header => FailoverPolicy::Temporary,
        zdf => zdf,
    };
    if pinned && effective.affinity != AffinityMode::None && zdf == FailoverPolicy::None {
        return refuse(trace, RetryError::PinnedSession);
    }

    // Another healthy origin of the same pool, else the other pools.
    let pick = Pick { hash_key: None, exclude: Some(previous.origin) };
    let picked = match pick_origin(table, previous.pool, request, health, rng, HealthMode::Respect, pick) {
        Some((origin, policy)) => {
            trace.step(Step::PoolChosen { pool: previous.pool });
            trace.step(Step::OriginChosen { origin, policy });
            Picked::Origin { pool: previous.pool, origin, fallback: false, fail_open: false }
        }
        None if effective.failover_across_pools => {
            trace.step(Step::RetryAcrossPools);
            let (policy, _) = effective.policy();
            let (candidates, _) = effective.candidates(policy, request);
            let mut order = PoolOrder::new(candidates, policy);
            order.pass_over(previous.pool);
            let steering = Steering { pick, shedding: false, fail_open: false };
            match steer(table, effective, &mut order, request, health, rng, trace, steering) {
                Ok(picked) => picked,
                Err(_) => return refuse(trace, RetryError::NoOtherOrigin),
            }
        }
        None => return refuse(trace, RetryError::NoOtherOrigin),
    };
    let Picked::Origin { origin, .. } = picked else {
        return refuse(trace, RetryError::NoOtherOrigin);
    };

    // The session: kept (`temporary`), moved (`sticky`, or a session that
    // began with the failed request), or none.
    let session = if effective.affinity == AffinityMode::None {
        SessionOutcome::OFF
    } else if pinned && zdf != FailoverPolicy::Sticky {
        SessionOutcome { status: SessionStatus::Temporary, cookie: None }
    } else {
        let rejected = if pinned {
            Some(Rejection::Failover)
        } else {
            match previous.session {
                SessionStatus::New { rejected } => rejected,
                _ => None,
            }
        };
        finish_retry(table, routed.lb, effective, origin, request, trace, ctx, rejected)
    };
    let mut outcome = routed.outcome(picked, session);
    outcome.retried = true;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let d = RetryStatuses::DEFAULT;
        assert!(d.contains(522) && d.contains(526) && !d.contains(524) && !d.contains(503));
        assert!(!d.contains(0) && !d.contains(65_535));
        assert_eq!(alloc::format!("{d:?}"), "{521, 522, 523, 525, 526}");
        let custom = RetryStatuses::from_codes(&[502, 599, 600, 99]);
        assert_eq!(custom.iter().collect::<alloc::vec::Vec<_>>(), [502, 599]);
        assert!(!RetryStatuses::NONE.contains(522));
    }
}
