//! Load shedding: whether a pool passes a request on to the next pool in
//! steering order.
//!
//! A pool's `load_shedding` sheds two kinds of traffic:
//!
//! | traffic | setting | how a request is picked |
//! |---|---|---|
//! | new: no affinity session, or a new one | `default_percent` | `random`: a fresh draw per request; `hash`: a share of the client-IP hash space (the same client is always shed, or never) |
//! | an existing affinity session | `session_percent` | always by hash: the client IP's, else the session's own key |
//!
//! Both hash tests read the same 32 bits of a stable hash of the client IP,
//! salted with the pool's id (so that pools shed different clients): a
//! client is shed when those bits fall below the percentage of 2³². With
//! `default_percent` and `session_percent` equal, the clients whose new
//! requests are shed are the clients whose sessions are shed. `hash`
//! without a client IP falls back to a random draw for new traffic.
//!
//! A shed request goes on to the next pool in steering order; when every
//! candidate sheds it (or is down) the fallback pool serves, which never
//! sheds.

use super::RandomSource;
use crate::hash;
use crate::request::Request;
use crate::table::{PoolEntry, Shedding};

/// Which shedding setting applies to a request.
///
/// The decision passes [`Traffic::New`] for every request it steers.
/// Session affinity, when it is about to honour a session pinned to a
/// pool, asks with [`Traffic::Session`] first: a shed session is steered as
/// new traffic, with the pinned pool left out of the order
/// ([`PoolOrder::pass_over`](super::pools::PoolOrder::pass_over)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(dead_code, reason = "Session is for session affinity, which builds on this")]
pub(crate) enum Traffic {
    /// No affinity session, or one being created: `default_percent`.
    New,
    /// A request of an existing affinity session: `session_percent`, by
    /// hash. `key` is a stable hash of the session (its token), used when
    /// the request has no client IP.
    Session {
        /// The session's stable key.
        key: u64,
    },
}

/// Whether `pool` sheds this request. A pool that sheds nothing (most of
/// them) answers without a call.
#[inline(always)]
pub(crate) fn sheds<R: RandomSource + ?Sized>(
    pool: &PoolEntry,
    request: &Request<'_>,
    traffic: Traffic,
    rng: &mut R,
) -> bool {
    let shedding = &pool.shedding;
    if shedding.default_threshold == 0 && shedding.session_threshold == 0 {
        return false;
    }
    sheds_some(shedding, request, traffic, rng)
}

/// [`sheds`] for a pool with a shedding percentage.
fn sheds_some<R: RandomSource + ?Sized>(
    shedding: &Shedding,
    request: &Request<'_>,
    traffic: Traffic,
    rng: &mut R,
) -> bool {
    let (threshold, draw) = match traffic {
        Traffic::New => {
            if shedding.default_threshold == 0 {
                return false;
            }
            let draw = match (shedding.default_by_hash, request.client_ip) {
                (true, Some(ip)) => client_draw(hash::ip_key(ip), shedding.salt),
                _ => rng.next_u64() >> 32,
            };
            (shedding.default_threshold, draw)
        }
        Traffic::Session { key } => {
            if shedding.session_threshold == 0 {
                return false;
            }
            let key = request.client_ip.map_or(key, hash::ip_key);
            (shedding.session_threshold, client_draw(key, shedding.salt))
        }
    };
    draw < threshold
}

/// The 32-bit draw of a client (or session) key in a pool's hash space.
#[inline]
fn client_draw(key: u64, salt: u64) -> u64 {
    hash::mix64(key ^ salt) >> 32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::FastRng;
    use crate::table::Shedding;

    fn pool(shedding: Shedding) -> PoolEntry {
        PoolEntry {
            id: "p".into(),
            name: "p".into(),
            enabled: true,
            monitor: None,
            monitor_group: None,
            group: None,
            minimum_origins: 1,
            origins: 0..0,
            enabled_origins: 0,
            enabled_weight: 0,
            uniform: false,
            origin_policy: crate::table::OriginPolicy::Random,
            shedding,
            coordinates: None,
            position: None,
            check_regions: alloc::boxed::Box::new([]),
            hash_ranking: None,
            cumulative_weights: None,
        }
    }

    fn ip(i: u32) -> core::net::IpAddr {
        core::net::IpAddr::from(i.wrapping_mul(2_654_435_761).to_be_bytes())
    }

    #[test]
    fn zero_and_hundred_percent() {
        let mut rng = FastRng::new(1);
        let none = pool(Shedding { salt: 7, ..Shedding::default() });
        let all = pool(Shedding {
            default_threshold: Shedding::threshold(100.0),
            session_threshold: Shedding::threshold(100.0),
            salt: 7,
            ..Shedding::default()
        });
        for i in 0..1_000 {
            let request = Request::new("x").client_ip(ip(i));
            for traffic in [Traffic::New, Traffic::Session { key: u64::from(i) }] {
                assert!(!sheds(&none, &request, traffic, &mut rng));
                assert!(sheds(&all, &request, traffic, &mut rng));
            }
        }
    }

    #[test]
    fn sessions_shed_by_hash_only_with_session_percent() {
        let mut rng = FastRng::new(2);
        let p = pool(Shedding {
            default_threshold: Shedding::threshold(30.0),
            default_by_hash: true,
            session_threshold: Shedding::threshold(30.0),
            salt: 99,
        });
        let only_new = pool(Shedding { session_threshold: 0, ..p.shedding });
        let (mut shed, n) = (0, 20_000);
        for i in 0..n {
            let request = Request::new("x").client_ip(ip(i));
            let new = sheds(&p, &request, Traffic::New, &mut rng);
            let session = sheds(&p, &request, Traffic::Session { key: 5 }, &mut rng);
            // The same hash space: the same clients.
            assert_eq!(new, session, "client {i}");
            assert!(!sheds(&only_new, &request, Traffic::Session { key: 5 }, &mut rng));
            shed += u32::from(session);
        }
        let share = f64::from(shed) / f64::from(n);
        assert!((share - 0.30).abs() < 0.02, "{share}");
    }

    #[test]
    fn shedding_never_allocates() {
        let p = pool(Shedding {
            default_threshold: Shedding::threshold(40.0),
            default_by_hash: true,
            session_threshold: Shedding::threshold(40.0),
            salt: 1,
        });
        let mut rng = FastRng::new(4);
        let (with_ip, without) = (Request::new("x").client_ip(ip(9)), Request::new("x"));
        let allocations = allocation_counter::measure(|| {
            for key in 0..64 {
                for request in [&with_ip, &without] {
                    for traffic in [Traffic::New, Traffic::Session { key }] {
                        core::hint::black_box(sheds(&p, request, traffic, &mut rng));
                    }
                }
            }
        });
        assert_eq!(allocations.count_total, 0);
        let counted = allocation_counter::measure(|| drop(core::hint::black_box(alloc::vec![1u8; 8])));
        assert_eq!(counted.count_total, 1, "the counter sees allocations in this binary");
    }

    #[test]
    fn sessions_without_a_client_ip_hash_their_key() {
        let mut rng = FastRng::new(3);
        let p = pool(Shedding { session_threshold: Shedding::threshold(50.0), salt: 11, ..Shedding::default() });
        let request = Request::new("x");
        let (mut shed, n) = (0, 20_000u32);
        for key in 0..n {
            let key = hash::mix64(u64::from(key));
            let first = sheds(&p, &request, Traffic::Session { key }, &mut rng);
            assert_eq!(first, sheds(&p, &request, Traffic::Session { key }, &mut rng), "stable per session");
            shed += u32::from(first);
        }
        let share = f64::from(shed) / f64::from(n);
        assert!((share - 0.50).abs() < 0.02, "{share}");
    }
}
