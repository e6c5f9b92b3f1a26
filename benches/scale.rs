//! Compile, reload and select at scale: `cargo bench --bench scale`.
//!
//! Generated accounts of 1,000, 10,000 and 100,000 hostnames, with 20 % as
//! many pools and as many origins as hostnames (see
//! `benches/support/generated.rs`: exact names, wildcards and CNAME
//! chains). Measures:
//!
//! - `load_json/N`: JSON text → `Account` (serde), for reference;
//! - `compile/N`: `Table::compile` (the DESIGN budget: ≤ 1 s at 100,000);
//! - `reload/N`: `Router::reload` of the same account (compile, rebind the
//!   health registry, publish, drop the old generation);
//! - `select/N/exact_same_host`: `select_origin` of one exact host, every
//!   origin healthy (the DESIGN budget: ≤ 1.5 × the small-table figure of
//!   `cargo bench --bench select`);
//! - `select/N/mixed_1024_hosts`: 1,024 different hosts in turn (exact,
//!   wildcard and CNAME, in the account's proportions), so the hostname
//!   index is not all in cache.
//!
//! Table memory (`Table::heap_bytes`, per hostname) is printed once per size.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use lbsteer::health::Status;
use lbsteer::{Account, Decision, Request, Router, Table};

#[path = "support/generated.rs"]
mod generated;

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

fn bench_build(c: &mut Criterion) {
    let mut group = c.benchmark_group("scale");
    group.sample_size(10).warm_up_time(Duration::from_secs(1));
    for n in SIZES {
        let json = generated::account_json(n);
        group.bench_with_input(BenchmarkId::new("load_json", n), &json, |b, json| {
            b.iter(|| Account::from_json(black_box(json)).unwrap())
        });
        let account = Account::from_json(&json).unwrap();
        drop(json);
        let table = Table::compile(&account).unwrap();
        assert_eq!(table.hostname_count(), n);
        eprintln!(
            "scale/{n}: {} load balancers, {} pools, {} origins, {} hostnames; table heap {} bytes = {:.0} bytes per hostname",
            table.load_balancers().len(),
            table.pools().len(),
            table.origins().len(),
            table.hostname_count(),
            table.heap_bytes(),
            table.heap_bytes() as f64 / n as f64
        );
        drop(table);
        group.bench_with_input(BenchmarkId::new("compile", n), &account, |b, account| {
            b.iter(|| Table::compile(black_box(account)).unwrap())
        });
        let router = Router::new(&account).unwrap();
        group.bench_with_input(BenchmarkId::new("reload", n), &account, |b, account| {
            b.iter(|| router.reload(black_box(account)).unwrap())
        });
    }
    group.finish();
}

fn bench_select(c: &mut Criterion) {
    let mut group = c.benchmark_group("scale/select");
    for n in SIZES {
        let router = Router::new(&Account::from_json(&generated::account_json(n)).unwrap()).unwrap();
        router.with_health(|registry| registry.set_all(Status::Healthy));
        let names = generated::hostnames(n);
        let host = names.exact[names.exact.len() / 2].clone();
        let request = Request::new(&host);
        assert!(matches!(router.select_origin(&request), Ok(Decision::Origin(_))));
        group.bench_function(BenchmarkId::new("exact_same_host", n), |b| {
            b.iter(|| black_box(router.select_origin(black_box(&request))).is_ok())
        });

        // 1,024 hosts spread over the whole account, in its proportions.
        let mut hosts = Vec::with_capacity(1024);
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..1024 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let pick = |list: &Vec<String>| list[(x >> 33) as usize % list.len()].clone();
            hosts.push(match i % 20 {
                0 => format!("api.{}", pick(&names.wildcard)),
                1 | 2 => pick(&names.cname),
                _ => pick(&names.exact),
            });
        }
        let requests: Vec<Request<'_>> = hosts.iter().map(|h| Request::new(h)).collect();
        for (request, host) in requests.iter().zip(&hosts) {
            assert!(matches!(router.select_origin(request), Ok(Decision::Origin(_))), "{host}");
        }
        let mut i = 0;
        group.bench_function(BenchmarkId::new("mixed_1024_hosts", n), |b| {
            b.iter(|| {
                i = (i + 1) & 1023;
                black_box(router.select_origin(black_box(&requests[i]))).is_ok()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_build, bench_select);
criterion_main!(benches);
