//! Shared set-up of the peer comparison: the same backends for lbsteer and
//! pingora-load-balancing. The benchmarks are in `benches/peers.rs`; the
//! per-pick allocation counts in `tests/allocations.rs`; a single-shot
//! driver for callgrind in `src/bin/peers-callgrind.rs`.

use std::net::{IpAddr, Ipv4Addr};

/// Backend counts compared.
pub const SIZES: [usize; 3] = [4, 16, 100];

/// `n` backend addresses, `10.0.x.y:443`.
pub fn addresses(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("10.0.{}.{}:443", i / 250, 1 + i % 250)).collect()
}

/// 1,024 client addresses, for the consistent-hashing keys.
pub fn client_ips() -> Vec<IpAddr> {
    (0..1024u32).map(|i| IpAddr::V4(Ipv4Addr::from(0xcb00_7100 ^ (i.wrapping_mul(2_654_435_761) >> 8)))).collect()
}

/// An lbsteer account routing `www.example.com` to pool `p` of `n` origins
/// (the same addresses as [`addresses`], monitored, steered by
/// `origin_policy`) with a one-origin fallback pool.
pub fn lbsteer_account(n: usize, origin_policy: &str) -> String {
    let origins: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"name": "o{i}", "address": "10.0.{}.{}", "port": 443}}"#, i / 250, 1 + i % 250))
        .collect();
    format!(
        r#"{{
        "monitors": [{{"id": "m", "type": "tcp", "port": 443}}],
        "pools": [
            {{"id": "p", "name": "p", "monitor": "m", "origin_steering": {{"policy": "{origin_policy}"}},
              "origins": [{}]}},
            {{"id": "fallback", "name": "fallback", "origins": [{{"name": "f", "address": "192.0.2.1", "port": 443}}]}}
        ],
        "load_balancers": [{{"name": "www.example.com", "steering_policy": "off",
            "default_pools": ["p"], "fallback_pool": "fallback"}}]
    }}"#,
        origins.join(",")
    )
}
