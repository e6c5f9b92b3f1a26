//! `select_origin` with 10 custom rules and 2 Origin Rules (the DESIGN
//! budget: ≤ 200 ns median): `cargo bench --bench rules`.
//!
//! The rules are typical load-balancer conditions (paths, headers, client
//! IP ranges, methods, regions); the request matches two of them, so the
//! benchmark pays for evaluating all ten and applying two overrides.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use lbsteer::health::Status;
use lbsteer::{Decision, Request, Router};

#[path = "support/accounts.rs"]
mod accounts;

const ACCOUNT: &str = accounts::RULES;

fn bench_rules(c: &mut Criterion) {
    let router = Router::from_json(ACCOUNT).unwrap();
    router.with_health(|registry| registry.set_all(Status::Healthy));
    let headers = [("x-tier", "gold"), ("user-agent", "Mozilla/5.0"), ("cookie", "session=abc")];
    let request = Request::new("www.example.com")
        .uri("/api/v1/users?page=2")
        .method("GET")
        .headers(&headers)
        .client_ip("203.0.113.9".parse().unwrap())
        .region("WNAM");
    let Ok(Decision::Origin(selection)) = router.select_origin(&request) else { panic!("no origin") };
    assert_eq!((selection.pool().id(), selection.host_header()), ("gold", "api.internal"));
    drop(selection);
    c.bench_function("router/rules_10_origin_rules_2", |b| {
        b.iter(|| black_box(router.select_origin(black_box(&request))).is_ok())
    });
}

criterion_group!(benches, bench_rules);
criterion_main!(benches);
