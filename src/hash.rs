//! Stable hashing: the same input gives the same 64 bits on every node,
//! every platform and every run, so that consistent hashing agrees across a
//! fleet and survives reloads. (Maps keyed by untrusted input use a seeded
//! hasher instead; see the hostname index.)
//!
//! These functions are part of the routing contract: changing them moves
//! `hash`-steered clients to other origins.

/// FNV-1a over `bytes`, folded into `state`.
#[inline]
pub(crate) const fn fnv1a(mut state: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        state ^= bytes[i] as u64;
        state = state.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    state
}

/// A hash map keyed by untrusted input: the hasher is seeded per map
/// (randomly under `std`), which resists hash flooding.
pub(crate) type Map<K, V> = hashbrown::HashMap<K, V, ahash::RandomState>;

/// An empty [`Map`] with a freshly seeded hasher.
pub(crate) fn map<K, V>() -> Map<K, V> {
    Map::with_hasher(ahash::RandomState::new())
}

/// An empty [`Map`] with room for `capacity` entries.
pub(crate) fn map_with_capacity<K, V>(capacity: usize) -> Map<K, V> {
    Map::with_capacity_and_hasher(capacity, ahash::RandomState::new())
}

/// The FNV-1a offset basis.
pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// The splitmix64 finaliser: a bijection that spreads every input bit over
/// every output bit.
#[inline]
pub(crate) const fn mix64(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A stable hash of the identity of an origin: its pool's id and its name.
pub(crate) fn origin_key(pool_id: &str, origin_name: &str) -> u64 {
    let state = fnv1a(FNV_OFFSET, pool_id.as_bytes());
    // A separator byte that cannot occur in UTF-8 keeps ("ab", "c") and
    // ("a", "bc") apart.
    let state = fnv1a(state, &[0xff]);
    mix64(fnv1a(state, origin_name.as_bytes()))
}

/// A stable hash of a load balancer's (normalised) name: its identity in
/// affinity tokens and header sessions.
pub(crate) fn load_balancer_key(name: &str) -> u64 {
    mix64(fnv1a(FNV_OFFSET ^ 0x6c62, name.as_bytes()))
}

/// A stable hash of a client IP address.
pub(crate) fn ip_key(ip: core::net::IpAddr) -> u64 {
    match ip {
        core::net::IpAddr::V4(v4) => mix64(fnv1a(FNV_OFFSET ^ 4, &v4.octets())),
        core::net::IpAddr::V6(v6) => mix64(fnv1a(FNV_OFFSET ^ 6, &v6.octets())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_pinned() {
        // These values are the contract: a change here moves hashed clients.
        assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(origin_key("pool", "origin"), origin_key("pool", "origin"));
        assert_ne!(origin_key("ab", "c"), origin_key("a", "bc"));
        assert_eq!(load_balancer_key("lb.example.com"), load_balancer_key("lb.example.com"));
        assert_ne!(load_balancer_key("a.example.com"), load_balancer_key("b.example.com"));
        assert_ne!(ip_key("10.0.0.1".parse().unwrap()), ip_key("10.0.0.2".parse().unwrap()));
        assert_ne!(ip_key("::a00:1".parse().unwrap()), ip_key("10.0.0.1".parse().unwrap()));
    }
}
