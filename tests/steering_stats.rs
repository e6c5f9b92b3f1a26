//! Statistical tests of every weighted choice: at least 10,000 decisions
//! each, with seeded randomness (so a run is reproducible), and shares
//! checked against the configured weights.
//!
//! Tolerances: a share `p` observed over `n` independent draws has
//! standard deviation `σ = √(p(1-p)/n)`; each share must be within 5σ
//! (a correct implementation fails with probability under 10⁻⁶ per share,
//! while a weighting error of a few percent fails at these sample sizes).
//! `hash` shares also carry the spread of the 16,384 buckets among the
//! origins, so their σ adds `p(1-p)/16,384`. Where every cell matters, a
//! chi-square test at p = 0.001 backs the per-share check.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use lbsteer::health::{HealthRegistry, Status};
use lbsteer::{Account, Decision, FastRng, RandomSource, Request, Table};

fn table(json: &str) -> Table {
    Table::compile(&Account::from_json(json).unwrap()).unwrap()
}

/// Decides `n` times; counts `pool` and `pool/origin` keys.
fn sample(
    table: &Table,
    health: &HealthRegistry,
    bound: &lbsteer::health::BoundHealth,
    n: u32,
    seed: u64,
    request: impl Fn(u32) -> Request<'static>,
) -> BTreeMap<String, u32> {
    let _ = health;
    let mut rng = FastRng::new(seed);
    let mut counts = BTreeMap::new();
    for i in 0..n {
        match table.select(&request(i), bound, &mut rng) {
            Ok(Decision::Origin(s)) => {
                *counts.entry(s.pool().id().to_string()).or_insert(0) += 1;
                *counts.entry(format!("{}/{}", s.pool().id(), s.origin().name())).or_insert(0) += 1;
            }
            other => panic!("no origin: {other:?}"),
        }
    }
    counts
}

/// A client IP per sample, spread over the whole IPv4 space.
fn client(i: u32) -> IpAddr {
    let mut rng = FastRng::new(u64::from(i) ^ 0x5eed);
    IpAddr::from((rng.next_u64() as u32).to_be_bytes())
}

/// Checks each expected share within `sigmas` standard deviations, with
/// `extra_variance` added to the binomial one (the bucket spread of
/// `hash`).
fn assert_shares(counts: &BTreeMap<String, u32>, n: u32, expected: &[(&str, f64)], extra_variance: f64) {
    let mut report = String::new();
    let mut failed = false;
    for &(key, p) in expected {
        let observed = f64::from(counts.get(key).copied().unwrap_or(0)) / f64::from(n);
        let sigma = (p * (1.0 - p) / f64::from(n) + p * (1.0 - p) * extra_variance).sqrt();
        let ok = if p == 0.0 { observed == 0.0 } else { (observed - p).abs() <= 5.0 * sigma };
        failed |= !ok;
        writeln!(
            report,
            "{key}: expected {p:.4} ± {:.4}, observed {observed:.4}{}",
            5.0 * sigma,
            if ok { "" } else { "  <-- off" }
        )
        .unwrap();
    }
    assert!(!failed, "shares off:\n{report}");
}

/// Pearson's chi-square statistic over the listed cells, and its critical
/// value at p = 0.001 (Wilson–Hilferty).
fn assert_chi_square(counts: &BTreeMap<String, u32>, n: u32, expected: &[(&str, f64)]) {
    let chi2: f64 = expected
        .iter()
        .map(|&(key, p)| {
            let e = p * f64::from(n);
            (f64::from(counts.get(key).copied().unwrap_or(0)) - e).powi(2) / e
        })
        .sum();
    let df = (expected.len() - 1) as f64;
    let z = 3.090_2; // the 0.999 quantile of the standard normal
    let critical = df * (1.0 - 2.0 / (9.0 * df) + z * (2.0 / (9.0 * df)).sqrt()).powi(3);
    assert!(chi2 < critical, "chi-square {chi2:.1} ≥ {critical:.1} (df {df})");
}

const WEIGHTED_POOLS: &str = r#"{
    "monitors": [{"id": "m"}],
    "pools": [
        {"id": "p", "name": "p", "monitor": "m", "origins": [
            {"name": "a", "address": "192.0.2.1", "weight": 0.25},
            {"name": "b", "address": "192.0.2.2", "weight": 0.25},
            {"name": "c", "address": "192.0.2.3", "weight": 0.5},
            {"name": "zero", "address": "192.0.2.4", "weight": 0}]},
        {"id": "h", "name": "h", "monitor": "m", "origin_steering": {"policy": "hash"}, "origins": [
            {"name": "a", "address": "192.0.2.11", "weight": 0.2},
            {"name": "b", "address": "192.0.2.12", "weight": 0.3},
            {"name": "c", "address": "192.0.2.13", "weight": 0.5},
            {"name": "zero", "address": "192.0.2.14", "weight": 0}]},
        {"id": "x", "name": "x", "monitor": "m", "origins": [{"name": "x1", "address": "198.51.100.1"}]},
        {"id": "y", "name": "y", "monitor": "m", "origins": [{"name": "y1", "address": "198.51.100.2"}]},
        {"id": "z", "name": "z", "monitor": "m", "origins": [{"name": "z1", "address": "198.51.100.3"}]},
        {"id": "w0", "name": "w0", "monitor": "m", "origins": [{"name": "w", "address": "198.51.100.4"}]},
        {"id": "shed-random", "name": "shed-random", "load_shedding": {"default_percent": 30},
         "origins": [{"name": "s", "address": "203.0.113.1"}]},
        {"id": "shed-hash", "name": "shed-hash", "load_shedding": {"default_percent": 40, "default_policy": "hash"},
         "origins": [{"name": "s", "address": "203.0.113.2"}]},
        {"id": "shed-all", "name": "shed-all", "load_shedding": {"default_percent": 100},
         "origins": [{"name": "s", "address": "203.0.113.3"}]},
        {"id": "next", "name": "next", "origins": [{"name": "n", "address": "203.0.113.4"}]},
        {"id": "fb", "name": "fb", "origins": [{"name": "f", "address": "192.0.2.99"}]}
    ],
    "load_balancers": [
        {"name": "origins.example.com", "default_pools": ["p"], "fallback_pool": "fb"},
        {"name": "hash.example.com", "default_pools": ["h"], "fallback_pool": "fb"},
        {"name": "pools.example.com", "steering_policy": "random", "default_pools": ["x", "y", "z", "w0"],
         "fallback_pool": "fb", "random_steering": {"default_weight": 0.2, "pool_weights": {"x": 0.6, "w0": 0}}},
        {"name": "set.example.com", "default_pools": ["x"], "fallback_pool": "fb", "pool_sets": [
            {"name": "all", "match": {"default": true},
             "overrides": {"pools": ["x", "y", "z"], "steering_policy": "random",
                           "pool_default_weight": 0.1, "pool_weights": {"z": 0.3}}}]},
        {"name": "shed-random.example.com", "default_pools": ["shed-random", "next"], "fallback_pool": "fb"},
        {"name": "shed-hash.example.com", "default_pools": ["shed-hash", "next"], "fallback_pool": "fb"},
        {"name": "shed-all.example.com", "default_pools": ["shed-all", "shed-random"], "fallback_pool": "fb"}
    ]
}"#;

fn weighted() -> (Table, HealthRegistry, lbsteer::health::BoundHealth) {
    let table = table(WEIGHTED_POOLS);
    let mut registry = HealthRegistry::new();
    let bound = registry.bind(&table);
    registry.set_all(Status::Healthy);
    (table, registry, bound)
}

const N: u32 = 20_000;

#[test]
fn random_origins_follow_weights() {
    let (table, registry, bound) = weighted();
    let counts = sample(&table, &registry, &bound, N, 1, |_| Request::new("origins.example.com"));
    let expected = [("p/a", 0.25), ("p/b", 0.25), ("p/c", 0.5), ("p/zero", 0.0)];
    assert_shares(&counts, N, &expected, 0.0);
    assert_chi_square(&counts, N, &expected[..3]);
}

#[test]
fn random_origins_renormalise_when_one_is_down() {
    let (table, mut registry, bound) = weighted();
    registry.set_status("p", "c", Status::Unhealthy).unwrap();
    let counts = sample(&table, &registry, &bound, N, 2, |_| Request::new("origins.example.com"));
    assert_shares(&counts, N, &[("p/a", 0.5), ("p/b", 0.5), ("p/c", 0.0), ("p/zero", 0.0)], 0.0);
}

#[test]
fn random_pools_follow_random_steering_weights() {
    // x 0.6, y and z the default 0.2, w0 0: shares 0.6, 0.2, 0.2, 0.
    let (table, registry, bound) = weighted();
    let counts = sample(&table, &registry, &bound, N, 3, |_| Request::new("pools.example.com"));
    let expected = [("x", 0.6), ("y", 0.2), ("z", 0.2), ("w0", 0.0)];
    assert_shares(&counts, N, &expected, 0.0);
    assert_chi_square(&counts, N, &expected[..3]);
}

#[test]
fn random_pools_renormalise_over_the_healthy_ones() {
    // x down: y and z share evenly; the weight-0 pool still gets nothing.
    let (table, mut registry, bound) = weighted();
    registry.set_status("x", "x1", Status::Unhealthy).unwrap();
    let counts = sample(&table, &registry, &bound, N, 4, |_| Request::new("pools.example.com"));
    assert_shares(&counts, N, &[("x", 0.0), ("y", 0.5), ("z", 0.5), ("w0", 0.0)], 0.0);
}

#[test]
fn a_weight_zero_pool_serves_only_when_nothing_else_remains() {
    let (table, mut registry, bound) = weighted();
    for (pool, origin) in [("x", "x1"), ("y", "y1"), ("z", "z1")] {
        registry.set_status(pool, origin, Status::Unhealthy).unwrap();
    }
    let counts = sample(&table, &registry, &bound, 10_000, 5, |_| Request::new("pools.example.com"));
    assert_eq!(counts.get("w0"), Some(&10_000));
}

#[test]
fn pool_set_weights_replace_random_steering() {
    // pool_default_weight 0.1 for x and y, z 0.3: 0.2, 0.2, 0.6.
    let (table, registry, bound) = weighted();
    let counts = sample(&table, &registry, &bound, N, 6, |_| Request::new("set.example.com"));
    let expected = [("x", 0.2), ("y", 0.2), ("z", 0.6)];
    assert_shares(&counts, N, &expected, 0.0);
    assert_chi_square(&counts, N, &expected);
}

#[test]
fn hash_origins_follow_weights_over_clients() {
    let (table, registry, bound) = weighted();
    let counts = sample(&table, &registry, &bound, N, 7, |i| Request::new("hash.example.com").client_ip(client(i)));
    let buckets = 1.0 / 16_384.0;
    assert_shares(&counts, N, &[("h/a", 0.2), ("h/b", 0.3), ("h/c", 0.5), ("h/zero", 0.0)], buckets);
}

#[test]
fn hash_origins_renormalise_when_one_is_down() {
    let (table, mut registry, bound) = weighted();
    registry.set_status("h", "c", Status::Unhealthy).unwrap();
    let counts = sample(&table, &registry, &bound, N, 8, |i| Request::new("hash.example.com").client_ip(client(i)));
    let buckets = 1.0 / 16_384.0;
    assert_shares(&counts, N, &[("h/a", 0.4), ("h/b", 0.6), ("h/c", 0.0), ("h/zero", 0.0)], buckets);
}

#[test]
fn hash_without_a_client_ip_is_weighted_random() {
    let (table, registry, bound) = weighted();
    let counts = sample(&table, &registry, &bound, N, 9, |_| Request::new("hash.example.com"));
    assert_shares(&counts, N, &[("h/a", 0.2), ("h/b", 0.3), ("h/c", 0.5), ("h/zero", 0.0)], 0.0);
}

/// A pool of `n` origins with weights cycling 1, 0.5, 0.25, 0.75 (and
/// `zero_every`th one weighing 0); returns the table and each origin's
/// weight.
fn large_pool(policy: &str, n: usize) -> (Table, Vec<f64>) {
    let mut origins = String::new();
    let mut weights = Vec::new();
    for i in 0..n {
        let weight = if i % 17 == 16 { 0.0 } else { [1.0, 0.5, 0.25, 0.75][i % 4] };
        weights.push(weight);
        if i > 0 {
            origins.push(',');
        }
        write!(origins, r#"{{"name":"o{i}","address":"10.0.{}.{}","weight":{weight}}}"#, i / 256, i % 256).unwrap();
    }
    let json = format!(
        r#"{{"monitors":[{{"id":"m"}}],
            "pools":[{{"id":"big","name":"big","monitor":"m","origin_steering":{{"policy":"{policy}"}},"origins":[{origins}]}},
                     {{"id":"fb","name":"fb","origins":[{{"name":"f","address":"192.0.2.99"}}]}}],
            "load_balancers":[{{"name":"big.example.com","default_pools":["big"],"fallback_pool":"fb"}}]}}"#
    );
    (table(&json), weights)
}

/// Shares of a large pool, every fifth origin down: each candidate's share
/// is its weight over the candidates' summed weight.
fn large_pool_shares(policy: &str, n: u32, seed: u64, vary_client: bool) {
    let (table, weights) = large_pool(policy, 40);
    assert!(table.pools()[0].precomputed_bytes() > 0, "a large pool has precomputed tables");
    let mut registry = HealthRegistry::new();
    let bound = registry.bind(&table);
    registry.set_all(Status::Healthy);
    let down = |i: usize| i % 5 == 2;
    for i in (0..weights.len()).filter(|&i| down(i)) {
        registry.set_status("big", &format!("o{i}"), Status::Unhealthy).unwrap();
    }
    let counts = sample(&table, &registry, &bound, n, seed, |i| {
        let request = Request::new("big.example.com");
        if vary_client { request.client_ip(client(i)) } else { request }
    });
    let total: f64 = (0..weights.len()).filter(|&i| !down(i)).map(|i| weights[i]).sum();
    let keys: Vec<String> = (0..weights.len()).map(|i| format!("big/o{i}")).collect();
    let expected: Vec<(&str, f64)> =
        (0..weights.len()).map(|i| (keys[i].as_str(), if down(i) { 0.0 } else { weights[i] / total })).collect();
    let extra = if vary_client { 1.0 / 16_384.0 } else { 0.0 };
    assert_shares(&counts, n, &expected, extra);
    if !vary_client {
        let cells: Vec<(&str, f64)> = expected.iter().copied().filter(|&(_, p)| p > 0.0).collect();
        assert_chi_square(&counts, n, &cells);
    }
}

#[test]
fn random_over_a_large_pool_with_origins_down_is_exact() {
    // The cumulative table with rejection of origins that are down.
    large_pool_shares("random", 100_000, 10, false);
}

#[test]
fn hash_over_a_large_pool_with_origins_down_follows_weights() {
    // The precomputed ranking, walking past origins that are down.
    large_pool_shares("hash", 100_000, 11, true);
}

#[test]
fn random_shedding_passes_its_share_to_the_next_pool() {
    let (table, registry, bound) = weighted();
    let counts = sample(&table, &registry, &bound, N, 12, |_| Request::new("shed-random.example.com"));
    assert_shares(&counts, N, &[("shed-random", 0.7), ("next", 0.3), ("fb", 0.0)], 0.0);
}

#[test]
fn hash_shedding_sheds_a_share_of_the_client_space() {
    let (table, registry, bound) = weighted();
    let counts =
        sample(&table, &registry, &bound, N, 13, |i| Request::new("shed-hash.example.com").client_ip(client(i)));
    assert_shares(&counts, N, &[("shed-hash", 0.6), ("next", 0.4), ("fb", 0.0)], 0.0);
    // The same client is shed every time (or never).
    let mut rng = FastRng::new(14);
    for i in 0..2_000 {
        let request = Request::new("shed-hash.example.com").client_ip(client(i));
        let first = table.select(&request, &bound, &mut rng).unwrap().origin().unwrap().pool().id().to_string();
        for _ in 0..3 {
            let again = table.select(&request, &bound, &mut rng).unwrap();
            assert_eq!(again.origin().unwrap().pool().id(), first, "client {i}");
        }
    }
}

#[test]
fn hash_shedding_without_a_client_ip_sheds_at_random() {
    let (table, registry, bound) = weighted();
    let counts = sample(&table, &registry, &bound, N, 15, |_| Request::new("shed-hash.example.com"));
    assert_shares(&counts, N, &[("shed-hash", 0.6), ("next", 0.4)], 0.0);
}

#[test]
fn when_every_pool_sheds_the_fallback_pool_serves() {
    // shed-all sheds everything, shed-random 30 %: 30 % reach the fallback.
    let (table, registry, bound) = weighted();
    let counts = sample(&table, &registry, &bound, N, 16, |_| Request::new("shed-all.example.com"));
    assert_shares(&counts, N, &[("shed-all", 0.0), ("shed-random", 0.7), ("fb", 0.3)], 0.0);
}
