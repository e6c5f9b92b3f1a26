//! Criterion benchmarks of the decision: `cargo bench --bench select`.
//!
//! Each benchmark routes the same request repeatedly through a compiled
//! account with every origin healthy. `router/*` measures what a host
//! calls (`Router::select_origin`: a snapshot guard, the per-thread random
//! source, the decision); `table/*` measures `Table::select` alone.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use lbsteer::health::{HealthRegistry, Status};
use lbsteer::{Decision, FastRng, Request, Router, Table};

const ACCOUNT: &str = r#"{
    "monitors": [{"id": "m", "type": "http", "path": "/health"}],
    "pools": [
        {"id": "primary", "name": "primary", "monitor": "m", "origins": [
            {"name": "a", "address": "192.0.2.1"}, {"name": "b", "address": "192.0.2.2"},
            {"name": "c", "address": "192.0.2.3"}, {"name": "d", "address": "192.0.2.4"}]},
        {"id": "secondary", "name": "secondary", "monitor": "m", "origins": [
            {"name": "e", "address": "198.51.100.1"}]},
        {"id": "fallback", "name": "fallback", "origins": [{"name": "f", "address": "203.0.113.1"}]}
    ],
    "load_balancers": [
        {"name": "www.example.com", "default_pools": ["primary", "secondary"], "fallback_pool": "fallback",
         "steering_policy": "off"},
        {"name": "*.apps.example.com", "default_pools": ["primary", "secondary"], "fallback_pool": "fallback",
         "steering_policy": "off"}
    ],
    "dns_records": [
        {"type": "CNAME", "name": "shop.example.com", "content": "alias.example.com"},
        {"type": "CNAME", "name": "alias.example.com", "content": "www.example.com"}
    ]
}"#;

fn router() -> Router {
    let router = Router::from_json(ACCOUNT).unwrap();
    router.with_health(|registry| registry.set_all(Status::Healthy));
    router
}

fn bench_router(c: &mut Criterion) {
    let router = router();
    let mut group = c.benchmark_group("router");
    for (name, host) in [
        ("exact_failover_4_origins", "www.example.com"),
        ("wildcard", "api.apps.example.com"),
        ("cname_chain", "shop.example.com"),
    ] {
        let request = Request::new(host).path("/index.html");
        assert!(matches!(router.select_origin(&request), Ok(Decision::Origin(_))));
        group.bench_function(name, |b| b.iter(|| black_box(router.select_origin(black_box(&request))).is_ok()));
    }
    group.finish();
}

fn bench_table(c: &mut Criterion) {
    let table = Table::compile(&lbsteer::Account::from_json(ACCOUNT).unwrap()).unwrap();
    let mut registry = HealthRegistry::new();
    let health = registry.bind(&table);
    registry.set_all(Status::Healthy);
    let mut rng = FastRng::new(1);
    let request = Request::new("www.example.com");
    let mut group = c.benchmark_group("table");
    group.bench_function("exact_failover_4_origins", |b| {
        b.iter(|| black_box(table.select(black_box(&request), &health, &mut rng)).is_ok())
    });
    group.finish();
}

criterion_group!(benches, bench_router, bench_table);
criterion_main!(benches);
