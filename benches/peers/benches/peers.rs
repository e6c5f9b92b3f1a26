//! lbsteer against pingora-load-balancing 0.9 on the same backends, in one
//! criterion run: `cargo bench --manifest-path benches/peers/Cargo.toml`.
//!
//! For N = 4, 16 and 100 backends (`10.0.x.y:443`, all healthy, weight 1):
//!
//! | group | lbsteer | pingora |
//! |---|---|---|
//! | `random_vs_round_robin/N` | `Router::select_origin` of an exact host whose first pool (monitored, every origin healthy) steers origins `random` | `LoadBalancer<RoundRobin>::select(b"", 256)` |
//! | `hash_vs_consistent/N` | the same with origin steering `hash` on the request's client IP (1,024 different IPs in turn) | `LoadBalancer<Consistent>::select(ip, 256)` with the same IPs as text |
//!
//! lbsteer does more per pick: it normalises and looks up the hostname,
//! resolves the load balancer, checks the pool's health against
//! `minimum_origins`, steers, and returns a selection that keeps its table
//! generation alive. pingora picks from one flat backend set and clones the
//! `Backend` it returns.
#![allow(missing_docs)]

use std::hint::black_box;
use std::net::IpAddr;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use lbsteer::health::Status;
use lbsteer::{Decision, Request, Router};
use lbsteer_peers::{SIZES, addresses, client_ips, lbsteer_account};
use pingora_load_balancing::LoadBalancer;
use pingora_load_balancing::selection::{Consistent, RoundRobin};

/// What pingora's examples pass as `max_iterations`.
const MAX_ITERATIONS: usize = 256;

fn router(n: usize, policy: &str) -> Router {
    let router = Router::from_json(&lbsteer_account(n, policy)).unwrap();
    router.with_health(|registry| registry.set_all(Status::Healthy));
    router
}

fn bench_random_vs_round_robin(c: &mut Criterion) {
    let mut group = c.benchmark_group("random_vs_round_robin");
    for n in SIZES {
        let router = router(n, "random");
        let request = Request::new("www.example.com");
        assert!(matches!(router.select_origin(&request), Ok(Decision::Origin(ref s)) if s.pool().id() == "p"));
        group.bench_with_input(BenchmarkId::new("lbsteer", n), &n, |b, _| {
            b.iter(|| black_box(router.select_origin(black_box(&request))).is_ok())
        });

        let lb: LoadBalancer<RoundRobin> = LoadBalancer::try_from_iter(addresses(n)).unwrap();
        assert!(lb.select(b"", MAX_ITERATIONS).is_some());
        group.bench_with_input(BenchmarkId::new("pingora", n), &n, |b, _| {
            b.iter(|| black_box(lb.select(black_box(b""), MAX_ITERATIONS)).is_some())
        });
    }
    group.finish();
}

fn bench_hash_vs_consistent(c: &mut Criterion) {
    let ips: Vec<IpAddr> = client_ips();
    let keys: Vec<String> = ips.iter().map(ToString::to_string).collect();
    let mut group = c.benchmark_group("hash_vs_consistent");
    for n in SIZES {
        let router = router(n, "hash");
        let requests: Vec<Request<'_>> = ips.iter().map(|&ip| Request::new("www.example.com").client_ip(ip)).collect();
        assert!(matches!(router.select_origin(&requests[0]), Ok(Decision::Origin(ref s)) if s.pool().id() == "p"));
        let mut i = 0;
        group.bench_with_input(BenchmarkId::new("lbsteer", n), &n, |b, _| {
            b.iter(|| {
                i = (i + 1) % requests.len();
                black_box(router.select_origin(black_box(&requests[i]))).is_ok()
            })
        });

        let lb: LoadBalancer<Consistent> = LoadBalancer::try_from_iter(addresses(n)).unwrap();
        assert!(lb.select(keys[0].as_bytes(), MAX_ITERATIONS).is_some());
        let mut i = 0;
        group.bench_with_input(BenchmarkId::new("pingora", n), &n, |b, _| {
            b.iter(|| {
                i = (i + 1) % keys.len();
                black_box(lb.select(black_box(keys[i].as_bytes()), MAX_ITERATIONS)).is_some()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_random_vs_round_robin, bench_hash_vs_consistent);
criterion_main!(benches);
