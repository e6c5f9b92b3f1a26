//! Aggregation: vantage points → regions → origin (quorum), monitors →
//! origin (monitor groups), origins → pool (`minimum_origins`).
//!
//! Every level is tri-state. A verdict is given as soon as the votes still
//! missing (unknown) could not change it, and stays [`Status::Unknown`]
//! while they could.

use core::fmt;

use super::Status;

/// The share of voters that must be healthy for the group to be healthy.
///
/// Used twice: the vantage points of a region elect the region's status,
/// the regions elect the origin's. The default is a strict majority
/// (`more_than(50)`), as Cloudflare documents; an older Cloudflare text
/// mentions a 70 % quorum: `Quorum::at_least(70)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Quorum {
    percent: u8,
    strict: bool,
}

impl Default for Quorum {
    fn default() -> Self {
        Quorum::MAJORITY
    }
}

impl Quorum {
    /// More than half.
    pub const MAJORITY: Quorum = Quorum { percent: 50, strict: true };

    /// Healthy when more than `percent` % of the voters are (`percent` is
    /// capped at 100, which no group reaches).
    pub const fn more_than(percent: u8) -> Quorum {
        Quorum { percent: if percent > 100 { 100 } else { percent }, strict: true }
    }

    /// Healthy when at least `percent` % of the voters are (capped at 100:
    /// all of them).
    pub const fn at_least(percent: u8) -> Quorum {
        Quorum { percent: if percent > 100 { 100 } else { percent }, strict: false }
    }

    /// Whether `yes` out of `total` voters meet the quorum.
    pub const fn reached(self, yes: u32, total: u32) -> bool {
        let (yes, total) = (yes as u64 * 100, total as u64 * self.percent as u64);
        if self.strict { yes > total } else { yes >= total }
    }

    /// The verdict of `healthy`, `unhealthy` and `unknown` voters: healthy
    /// once the healthy ones reach the quorum, unhealthy once they could not
    /// reach it even if every unknown voter turned healthy, unknown in
    /// between (and with no voter at all).
    pub const fn verdict(self, healthy: u32, unhealthy: u32, unknown: u32) -> Status {
        let total = healthy + unhealthy + unknown;
        if total == 0 {
            Status::Unknown
        } else if self.reached(healthy, total) {
            Status::Healthy
        } else if !self.reached(healthy + unknown, total) {
            Status::Unhealthy
        } else {
            Status::Unknown
        }
    }
}

impl fmt::Display for Quorum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = if self.strict { "more than" } else { "at least" };
        write!(f, "{op} {}%", self.percent)
    }
}

/// Counts of statuses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) healthy: u32,
    pub(crate) unhealthy: u32,
    pub(crate) unknown: u32,
}

impl Tally {
    pub(crate) fn add(&mut self, status: Status) {
        match status {
            Status::Healthy => self.healthy += 1,
            Status::Unhealthy => self.unhealthy += 1,
            Status::Unknown => self.unknown += 1,
        }
    }

    pub(crate) fn verdict(self, quorum: Quorum) -> Status {
        quorum.verdict(self.healthy, self.unhealthy, self.unknown)
    }
}

/// One monitor's place in a vote on an origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Vote {
    pub(crate) status: Status,
    /// Counts towards the majority (enabled and not `monitoring_only`).
    pub(crate) votes: bool,
    /// `must_be_healthy`: its failure alone is enough.
    pub(crate) veto: bool,
}

/// The monitor-group rule (a single monitor is a group of one voter): an
/// origin is unhealthy as soon as a `must_be_healthy` member is, or when
/// more than half of the voters are; healthy when neither can happen any
/// more (every `must_be_healthy` member healthy, and too few voters left
/// unknown to make a majority); unknown otherwise. A group with no voter
/// and no `must_be_healthy` member never marks an origin unhealthy.
pub(crate) fn group_verdict(votes: impl IntoIterator<Item = Vote>) -> Status {
    let (mut voters, mut unhealthy, mut unknown, mut veto_pending) = (0u32, 0u32, 0u32, false);
    for vote in votes {
        if vote.veto {
            match vote.status {
                Status::Unhealthy => return Status::Unhealthy,
                Status::Unknown => veto_pending = true,
                Status::Healthy => {}
            }
        }
        if vote.votes {
            voters += 1;
            match vote.status {
                Status::Unhealthy => unhealthy += 1,
                Status::Unknown => unknown += 1,
                Status::Healthy => {}
            }
        }
    }
    let more_than_half = |n: u32| u64::from(n) * 2 > u64::from(voters);
    if more_than_half(unhealthy) {
        Status::Unhealthy
    } else if veto_pending || more_than_half(unhealthy + unknown) {
        Status::Unknown
    } else {
        Status::Healthy
    }
}

/// A pool's health as a dashboard shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PoolStatus {
    /// Every enabled origin is healthy (and at least `minimum_origins` are).
    Healthy,
    /// Enough origins are healthy to take traffic, but some are not.
    Degraded,
    /// Fewer than `minimum_origins` origins are healthy, and the origins
    /// still unknown could not make up the difference: no traffic (unless
    /// it is the fallback pool).
    Critical,
    /// Not yet determined: too few healthy origins so far, but enough are
    /// still unknown to reach `minimum_origins`. Takes no traffic meanwhile.
    Unknown,
    /// No monitor: origin health is not considered.
    Unmonitored,
    /// The pool is disabled: no traffic, no health checks.
    Disabled,
}

impl PoolStatus {
    /// The status of a pool from its enabled origins' statuses.
    ///
    /// ```
    /// use lbsteer::health::{PoolStatus, Status::*};
    /// assert_eq!(PoolStatus::evaluate(true, true, 1, [Healthy, Healthy]), PoolStatus::Healthy);
    /// assert_eq!(PoolStatus::evaluate(true, true, 1, [Healthy, Unhealthy]), PoolStatus::Degraded);
    /// assert_eq!(PoolStatus::evaluate(true, true, 2, [Healthy, Unhealthy]), PoolStatus::Critical);
    /// assert_eq!(PoolStatus::evaluate(true, true, 2, [Healthy, Unknown]), PoolStatus::Unknown);
    /// assert_eq!(PoolStatus::evaluate(true, false, 1, [Unhealthy]), PoolStatus::Unmonitored);
    /// ```
    pub fn evaluate(
        enabled: bool,
        monitored: bool,
        minimum_origins: u32,
        enabled_origins: impl IntoIterator<Item = Status>,
    ) -> PoolStatus {
        if !enabled {
            return PoolStatus::Disabled;
        }
        if !monitored {
            return PoolStatus::Unmonitored;
        }
        let mut tally = Tally::default();
        for status in enabled_origins {
            tally.add(status);
        }
        PoolStatus::from_counts(minimum_origins, tally)
    }

    pub(crate) fn from_counts(minimum_origins: u32, tally: Tally) -> PoolStatus {
        if tally.healthy >= minimum_origins {
            if tally.unhealthy == 0 && tally.unknown == 0 { PoolStatus::Healthy } else { PoolStatus::Degraded }
        } else if tally.healthy.saturating_add(tally.unknown) >= minimum_origins {
            PoolStatus::Unknown
        } else {
            PoolStatus::Critical
        }
    }

    /// Whether the pool takes traffic (in its own right, not as a fallback).
    pub fn serves(self) -> bool {
        matches!(self, PoolStatus::Healthy | PoolStatus::Degraded | PoolStatus::Unmonitored)
    }

    /// The status as a word: `healthy`, `degraded`, `critical`, `unknown`,
    /// `unmonitored`, `disabled`.
    pub const fn as_str(self) -> &'static str {
        match self {
            PoolStatus::Healthy => "healthy",
            PoolStatus::Degraded => "degraded",
            PoolStatus::Critical => "critical",
            PoolStatus::Unknown => "unknown",
            PoolStatus::Unmonitored => "unmonitored",
            PoolStatus::Disabled => "disabled",
        }
    }
}

impl fmt::Display for PoolStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::ToString;

    use super::Status::*;
    use super::*;

    #[test]
    fn majority() {
        let q = Quorum::MAJORITY;
        assert_eq!(q.verdict(2, 1, 0), Healthy);
        assert_eq!(q.verdict(1, 1, 0), Unhealthy, "a tie is no majority");
        assert_eq!(q.verdict(1, 0, 1), Unknown);
        assert_eq!(q.verdict(2, 0, 1), Healthy, "the unknown one cannot change it");
        assert_eq!(q.verdict(0, 2, 1), Unhealthy);
        assert_eq!(q.verdict(0, 0, 0), Unknown);
        assert_eq!(q.verdict(1, 0, 0), Healthy);
    }

    #[test]
    fn thresholds() {
        assert!(Quorum::at_least(70).reached(7, 10));
        assert!(!Quorum::more_than(70).reached(7, 10));
        assert!(Quorum::at_least(200).reached(3, 3), "capped at 100 %: all");
        assert!(!Quorum::more_than(200).reached(3, 3));
        assert_eq!(Quorum::at_least(0).verdict(0, 3, 0), Healthy);
        assert_eq!(Quorum::MAJORITY.to_string(), "more than 50%");
    }

    fn vote(status: Status, votes: bool, veto: bool) -> Vote {
        Vote { status, votes, veto }
    }

    #[test]
    fn groups() {
        let v = |s| vote(s, true, false);
        assert_eq!(group_verdict([v(Healthy), v(Healthy), v(Unhealthy)]), Healthy);
        assert_eq!(group_verdict([v(Healthy), v(Unhealthy)]), Healthy, "half is not more than half");
        assert_eq!(group_verdict([v(Unhealthy), v(Unhealthy), v(Healthy)]), Unhealthy);
        assert_eq!(group_verdict([v(Unknown), v(Healthy), v(Unhealthy)]), Unknown);
        assert_eq!(group_verdict([v(Unknown)]), Unknown);
        assert_eq!(group_verdict([v(Healthy)]), Healthy);
        assert_eq!(group_verdict([v(Unhealthy)]), Unhealthy);
        // must_be_healthy vetoes.
        assert_eq!(group_verdict([v(Healthy), v(Healthy), vote(Unhealthy, true, true)]), Unhealthy);
        assert_eq!(group_verdict([v(Healthy), v(Healthy), vote(Unknown, true, true)]), Unknown);
        assert_eq!(group_verdict([v(Healthy), vote(Unhealthy, false, true)]), Unhealthy, "veto without vote");
        // monitoring_only does not vote.
        assert_eq!(group_verdict([v(Healthy), vote(Unhealthy, false, false), vote(Unhealthy, false, false)]), Healthy);
        assert_eq!(group_verdict([vote(Unhealthy, false, false)]), Healthy, "nobody votes");
    }

    #[test]
    fn pools() {
        let t = |healthy, unhealthy, unknown| Tally { healthy, unhealthy, unknown };
        assert_eq!(PoolStatus::from_counts(1, t(3, 0, 0)), PoolStatus::Healthy);
        assert_eq!(PoolStatus::from_counts(1, t(2, 1, 0)), PoolStatus::Degraded);
        assert_eq!(PoolStatus::from_counts(1, t(2, 0, 1)), PoolStatus::Degraded);
        assert_eq!(PoolStatus::from_counts(2, t(1, 2, 0)), PoolStatus::Critical);
        assert_eq!(PoolStatus::from_counts(2, t(1, 1, 1)), PoolStatus::Unknown);
        assert_eq!(PoolStatus::from_counts(1, t(0, 0, 3)), PoolStatus::Unknown);
        assert_eq!(PoolStatus::from_counts(0, t(0, 3, 0)), PoolStatus::Degraded);
        assert_eq!(PoolStatus::from_counts(0, t(0, 0, 0)), PoolStatus::Healthy);
        assert!(!PoolStatus::Unknown.serves() && PoolStatus::Degraded.serves());
    }
}
