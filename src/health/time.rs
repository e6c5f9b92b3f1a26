//! Time as the host supplies it.

use core::fmt;
use core::ops::Add;
use core::time::Duration;

/// A point in time on the host's monotonic clock, in milliseconds since an
/// epoch of the host's choosing (process start, boot, zero in a test).
///
/// The library never reads a clock: every call that needs the time takes a
/// `Timestamp`, and every deadline it returns is one. Use one epoch for the
/// life of a [`HealthChecker`](super::HealthChecker). Arithmetic saturates
/// instead of overflowing.
///
/// Under `std`, [`from_instant`](Self::from_instant) and
/// [`to_instant`](Self::to_instant) convert from and to
/// [`std::time::Instant`] against a fixed epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The epoch itself; also "as soon as possible" when returned as a
    /// deadline.
    pub const ZERO: Timestamp = Timestamp(0);

    /// The time `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: u64) -> Timestamp {
        Timestamp(millis)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + duration`, saturating (sub-millisecond parts are dropped).
    pub fn saturating_add(self, duration: Duration) -> Timestamp {
        let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(millis))
    }

    /// The time from `earlier` to `self`, or zero when `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// The time from `epoch` to `instant` (zero when `instant` is earlier).
    #[cfg(feature = "std")]
    pub fn from_instant(epoch: std::time::Instant, instant: std::time::Instant) -> Timestamp {
        Timestamp::ZERO.saturating_add(instant.saturating_duration_since(epoch))
    }

    /// The [`Instant`](std::time::Instant) this timestamp stands for, given
    /// the epoch it counts from (saturating at the epoch's far future).
    #[cfg(feature = "std")]
    pub fn to_instant(self, epoch: std::time::Instant) -> std::time::Instant {
        let offset = Duration::from_millis(self.0);
        epoch.checked_add(offset).unwrap_or(epoch + Duration::from_secs(u64::from(u32::MAX)))
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;

    /// Saturating, like [`Timestamp::saturating_add`].
    fn add(self, duration: Duration) -> Timestamp {
        self.saturating_add(duration)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Timestamp::from_millis(1_000);
        assert_eq!((t + Duration::from_millis(500)).as_millis(), 1_500);
        assert_eq!(Timestamp::from_millis(u64::MAX) + Duration::from_secs(1), Timestamp::from_millis(u64::MAX));
        assert_eq!(t.saturating_duration_since(Timestamp::from_millis(2_000)), Duration::ZERO);
        assert_eq!(Timestamp::from_millis(2_500).saturating_duration_since(t), Duration::from_millis(1_500));
    }

    #[cfg(feature = "std")]
    #[test]
    fn instants_round_trip() {
        let epoch = std::time::Instant::now();
        let later = epoch + Duration::from_millis(1_234);
        let t = Timestamp::from_instant(epoch, later);
        assert_eq!(t.as_millis(), 1_234);
        assert_eq!(t.to_instant(epoch), later);
        assert_eq!(Timestamp::from_instant(later, epoch), Timestamp::ZERO);
    }
}
