//! Throughput of 1 and 2 threads selecting while a writer reloads every
//! millisecond: `cargo bench --bench concurrency`.
//!
//! The DESIGN budget: no failed or mixed decision, and 2 threads ≥ 1.8 × the
//! throughput of 1. Each sample runs `iters` decisions on every reader
//! thread, started together; criterion reports decisions per second of wall
//! time (`thrpt`, elements = decisions). `reload_1ms` runs a writer thread
//! that reloads one of four accounts every millisecond for the whole group;
//! `no_writer` is the same without it, for the scaling the machine allows.
//!
//! The account is the budget's shape: an exact host, failover over two pools
//! of four origins. Generation `g` of the router uses account `(g - 1) % 4`,
//! whose origins are at `10.{tag}.…`: every decision is checked to come
//! from one generation (its address carries its generation's tag), and the
//! counts of failed and mixed decisions are printed and must be zero.
//!
//! On a 2-core machine the writer (compiling every millisecond) and anything
//! else running take time from the readers: check `uptime` first.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lbsteer::{Account, Decision, Request, Router};

fn account(tag: u64) -> Account {
    let pool = |p: u64| {
        let origins: Vec<String> =
            (0..4).map(|o| format!(r#"{{"name": "o{o}", "address": "10.{tag}.{p}.{o}"}}"#)).collect();
        format!(r#"{{"id": "g{tag}-p{p}", "name": "p{p}", "origins": [{}]}}"#, origins.join(","))
    };
    Account::from_json(&format!(
        r#"{{"pools": [{}, {}, {}],
            "load_balancers": [{{"name": "www.example.com", "steering_policy": "off",
                "default_pools": ["g{tag}-p0", "g{tag}-p1"], "fallback_pool": "g{tag}-p2"}}]}}"#,
        pool(0),
        pool(1),
        pool(2)
    ))
    .unwrap()
}

/// Failed and mixed decisions, over the whole run.
#[derive(Default)]
struct Faults {
    failed: AtomicU64,
    mixed: AtomicU64,
    decisions: AtomicU64,
}

/// `iters` decisions; checks each one comes from a single generation.
fn select_many(router: &Router, iters: u64, faults: &Faults) {
    let request = Request::new("www.example.com");
    let (mut failed, mut mixed) = (0, 0);
    for _ in 0..iters {
        match router.select_origin(black_box(&request)) {
            Ok(Decision::Origin(selection)) => {
                let tag = b'0' + ((selection.generation() - 1) % 4) as u8;
                if selection.address().as_bytes()[3] != tag {
                    mixed += 1;
                }
            }
            _ => failed += 1,
        }
    }
    faults.failed.fetch_add(failed, Ordering::Relaxed);
    faults.mixed.fetch_add(mixed, Ordering::Relaxed);
    faults.decisions.fetch_add(iters, Ordering::Relaxed);
}

/// Reloads every millisecond until `stop`; returns the number of reloads.
fn writer(router: Arc<Router>, accounts: Arc<Vec<Account>>, stop: Arc<AtomicBool>) -> thread::JoinHandle<u64> {
    thread::spawn(move || {
        let mut reloads = 0u64;
        let mut next = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            reloads += 1;
            router.reload(&accounts[(reloads % 4) as usize]).unwrap();
            next += Duration::from_millis(1);
            let now = Instant::now();
            if next > now {
                thread::sleep(next - now);
            } else {
                next = now;
            }
        }
        reloads
    })
}

fn bench_concurrency(c: &mut Criterion) {
    let accounts = Arc::new((0..4).map(account).collect::<Vec<_>>());
    for with_writer in [true, false] {
        let router = Arc::new(Router::new(&accounts[0]).unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let faults = Arc::new(Faults::default());
        let started = Instant::now();
        let writer = with_writer.then(|| writer(Arc::clone(&router), Arc::clone(&accounts), Arc::clone(&stop)));
        let name = if with_writer { "concurrency/reload_1ms" } else { "concurrency/no_writer" };
        let mut group = c.benchmark_group(name);
        for threads in [1u64, 2] {
            group.throughput(Throughput::Elements(threads));
            group.bench_function(BenchmarkId::new("threads", threads), |b| {
                b.iter_custom(|iters| {
                    let barrier = Barrier::new(threads as usize + 1);
                    thread::scope(|scope| {
                        for _ in 0..threads {
                            scope.spawn(|| {
                                barrier.wait();
                                select_many(&router, iters, &faults);
                            });
                        }
                        barrier.wait();
                        let start = Instant::now();
                        // The scope joins the readers before returning.
                        start
                    })
                    .elapsed()
                })
            });
        }
        group.finish();
        stop.store(true, Ordering::Relaxed);
        let elapsed = started.elapsed();
        let reloads = writer.map(|w| w.join().unwrap());
        let (failed, mixed, decisions) = (
            faults.failed.load(Ordering::Relaxed),
            faults.mixed.load(Ordering::Relaxed),
            faults.decisions.load(Ordering::Relaxed),
        );
        match reloads {
            Some(reloads) => eprintln!(
                "{name}: {decisions} decisions, {failed} failed, {mixed} mixed; {reloads} reloads in {:.1} s ({:.0} per second)",
                elapsed.as_secs_f64(),
                reloads as f64 / elapsed.as_secs_f64()
            ),
            None => eprintln!("{name}: {decisions} decisions, {failed} failed, {mixed} mixed"),
        }
        assert_eq!((failed, mixed), (0, 0), "failed or mixed decisions");
    }
}

criterion_group!(benches, bench_concurrency);
criterion_main!(benches);
