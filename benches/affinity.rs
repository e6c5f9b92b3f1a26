//! Criterion benchmarks of session affinity: `cargo bench --bench affinity`.
//!
//! `token/*` measures reading a cookie value as a token (base64url decode
//! and the SipHash-2-4 MAC, with the constant-time comparison): the
//! budget is 100 ns. `router/*` measures `Router::select_origin` on a
//! load balancer with affinity: a new session (a token issued), a request
//! with a valid token (verified and pinned), a header session, and, as the
//! baseline, the same load balancer without affinity.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lbsteer::affinity::{AffinityConfig, SessionStatus, TokenKey};
use lbsteer::health::Status;
use lbsteer::{Decision, Request, Router};

#[path = "support/accounts.rs"]
mod accounts;

const ACCOUNT: &str = accounts::AFFINITY;

const NOW: u64 = 1_764_000_000;

fn router() -> Router {
    let router = Router::from_json(ACCOUNT).unwrap();
    router.with_health(|registry| registry.set_all(Status::Healthy));
    router.set_affinity_config(AffinityConfig::new(TokenKey::from_bytes(*b"bench-affinity-k")));
    router
}

fn token(router: &Router) -> String {
    let Ok(Decision::Origin(s)) = router.select_origin(&Request::new("cookie.example.com").timestamp(NOW)) else {
        panic!()
    };
    s.set_cookie().unwrap().value().to_string()
}

fn bench_token(c: &mut Criterion) {
    let router = router();
    let config = router.affinity_config();
    let valid = token(&router);
    let mut forged = valid.clone().into_bytes();
    forged[40] = if forged[40] == b'A' { b'B' } else { b'A' };
    assert!(config.read_token(valid.as_bytes()).is_some());
    assert!(config.read_token(&forged).is_none());
    let mut group = c.benchmark_group("token");
    group.bench_function("verify", |b| b.iter(|| black_box(config.read_token(black_box(valid.as_bytes())))));
    group.bench_function("verify_forged", |b| b.iter(|| black_box(config.read_token(black_box(&forged)))));
    group.bench_function("verify_malformed", |b| b.iter(|| black_box(config.read_token(black_box(b"not-a-token")))));
    group.finish();
}

fn bench_router(c: &mut Criterion) {
    let router = router();
    let cookie = format!("__cflb={}", token(&router));
    let headers = [("x-session", "user-42")];
    let plain = Request::new("plain.example.com").timestamp(NOW);
    let new = Request::new("cookie.example.com").timestamp(NOW);
    let pinned = Request::new("cookie.example.com").timestamp(NOW + 60).cookie_header(&cookie);
    let header = Request::new("header.example.com").timestamp(NOW).headers(&headers);
    let status = |request: &Request<'_>| match router.select_origin(request) {
        Ok(Decision::Origin(s)) => s.session(),
        _ => panic!(),
    };
    assert_eq!(status(&plain), SessionStatus::Off);
    assert!(matches!(status(&new), SessionStatus::New { rejected: None }));
    assert_eq!(status(&pinned), SessionStatus::Pinned { draining: false });
    status(&header);
    assert_eq!(status(&header), SessionStatus::Pinned { draining: false });

    let mut group = c.benchmark_group("router");
    for (name, request) in [
        ("no_affinity", &plain),
        ("cookie_new_session", &new),
        ("cookie_valid_token", &pinned),
        ("header_session", &header),
    ] {
        group.bench_function(name, |b| b.iter(|| black_box(router.select_origin(black_box(request))).is_ok()));
    }
    group.bench_function("retry_pinned", |b| {
        b.iter(|| match router.select_origin(black_box(&pinned)) {
            Ok(Decision::Origin(s)) => black_box(router.retry(&pinned, &s, 522)).is_err(),
            _ => false,
        })
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2))
}

criterion_group! { name = benches; config = config(); targets = bench_token, bench_router }
criterion_main!(benches);
