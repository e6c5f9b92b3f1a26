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

#[path = "support/accounts.rs"]
mod accounts;

const ACCOUNT: &str = accounts::SELECT;

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
