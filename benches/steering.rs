//! Criterion benchmarks per steering policy: `cargo bench --bench steering`.
//!
//! Every benchmark decides one request with `Table::select` (the decision
//! alone: no router snapshot), seeded randomness and a bound health
//! registry. `pool/*` steers between four pools of four origins;
//! `origin/*` picks inside one pool (4 or 1,000 origins, all healthy or
//! with every tenth one down); `shed/*` passes a request over a shedding
//! pool. `compile/*` measures building the `hash` ranking of a large pool.
#![allow(missing_docs)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lbsteer::health::{BoundHealth, HealthRegistry, Status};
use lbsteer::{Account, Decision, FastRng, Request, Table};

/// `n` origins named `o0`..: JSON array.
fn origins(n: usize) -> String {
    let mut out = String::from("[");
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        let weight = [1.0, 0.5, 0.25, 0.75][i % 4];
        write!(out, r#"{{"name":"o{i}","address":"10.{}.{}.{}","weight":{weight}}}"#, i >> 16, (i >> 8) & 255, i & 255)
            .unwrap();
    }
    out.push(']');
    out
}

fn account() -> String {
    let four = origins(4);
    let thousand = origins(1_000);
    let pool = |id: &str, extra: &str, origins: &str| {
        format!(r#"{{"id":"{id}","name":"{id}","monitor":"m",{extra}"origins":{origins}}}"#)
    };
    let pools = [
        pool("a", r#""latitude":37.4,"longitude":-122.1,"#, &four),
        pool("b", r#""latitude":40.7,"longitude":-74.0,"#, &four),
        pool("c", r#""latitude":51.5,"longitude":-0.1,"#, &four),
        pool("d", r#""latitude":1.35,"longitude":103.8,"#, &four),
        pool("hash4", r#""origin_steering":{"policy":"hash"},"#, &four),
        pool("hash1000", r#""origin_steering":{"policy":"hash"},"#, &thousand),
        pool("hash1000down", r#""origin_steering":{"policy":"hash"},"#, &thousand),
        pool("random1000", "", &thousand),
        pool("random1000down", "", &thousand),
        pool("lor4", r#""origin_steering":{"policy":"least_outstanding_requests"},"#, &four),
        pool("lc4", r#""origin_steering":{"policy":"least_connections"},"#, &four),
        pool("shedrandom", r#""load_shedding":{"default_percent":50,"default_policy":"random"},"#, &four),
        pool("shedhash", r#""load_shedding":{"default_percent":50,"default_policy":"hash"},"#, &four),
    ]
    .join(",");
    let lb = |name: &str, rest: &str| format!(r#"{{"name":"{name}.example.com","fallback_pool":"d",{rest}}}"#);
    let lbs = [
        lb("off", r#""steering_policy":"off","default_pools":["a","b","c","d"]"#),
        lb(
            "geo",
            r#""default_pools":["a"],"region_pools":{"WEU":["c","b"],"WNAM":["a"]},"country_pools":{"DE":["c"]},"pop_pools":{"SIN":["d"]}"#,
        ),
        lb(
            "random",
            r#""steering_policy":"random","default_pools":["a","b","c","d"],"random_steering":{"default_weight":0.5,"pool_weights":{"a":1}}"#,
        ),
        lb("latency", r#""steering_policy":"dynamic_latency","default_pools":["a","b","c","d"]"#),
        lb("proximity", r#""steering_policy":"proximity","default_pools":["a","b","c","d"]"#),
        lb("lor", r#""steering_policy":"least_outstanding_requests","default_pools":["a","b","c","d"]"#),
        lb("lc", r#""steering_policy":"least_connections","default_pools":["a","b","c","d"]"#),
        lb(
            "sets",
            r#""default_pools":["a"],"pool_sets":[{"name":"asia","match":{"topology":{"regions":["SEAS"]}},"overrides":{"pools":["d"]}},{"name":"eu","match":{"topology":{"countries":["DE","FR"]}},"overrides":{"pools":["c","b"],"steering_policy":"random"}}]"#,
        ),
        lb("hash4", r#""default_pools":["hash4"]"#),
        lb("hash1000", r#""default_pools":["hash1000"]"#),
        lb("hash1000down", r#""default_pools":["hash1000down"]"#),
        lb("random1000", r#""default_pools":["random1000"]"#),
        lb("random1000down", r#""default_pools":["random1000down"]"#),
        lb("lor4", r#""default_pools":["lor4"]"#),
        lb("lc4", r#""default_pools":["lc4"]"#),
        lb("shedrandom", r#""default_pools":["shedrandom","a"]"#),
        lb("shedhash", r#""default_pools":["shedhash","a"]"#),
    ]
    .join(",");
    format!(r#"{{"monitors":[{{"id":"m"}}],"pools":[{pools}],"load_balancers":[{lbs}]}}"#)
}

fn setup() -> (Table, HealthRegistry, BoundHealth) {
    let table = Table::compile(&Account::from_json(&account()).unwrap()).unwrap();
    let mut registry = HealthRegistry::new();
    let health = registry.bind(&table);
    registry.set_all(Status::Healthy);
    for pool in ["hash1000down", "random1000down"] {
        for i in (0..1_000).step_by(10) {
            registry.set_status(pool, &format!("o{i}"), Status::Unhealthy).unwrap();
        }
    }
    for (pool, rtt) in [("a", 80.0), ("b", 30.0), ("c", 12.0), ("d", 150.0)] {
        registry.set_pool_rtt(pool, lbsteer::geo::Region::Weu, Some(rtt));
    }
    for (pool, count) in [("a", 40), ("b", 7), ("c", 19), ("d", 3)] {
        registry.set_pool_outstanding(pool, count);
        registry.set_pool_connections(pool, count * 3);
    }
    for (origin, count) in [("o0", 5), ("o1", 2), ("o2", 9), ("o3", 1)] {
        registry.set_origin_outstanding("lor4", origin, count).unwrap();
        registry.set_origin_connections("lc4", origin, count).unwrap();
    }
    (table, registry, health)
}

fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(40)
}

fn bench(c: &mut Criterion, group: &str, cases: &[(&str, Request<'_>)]) {
    let (table, _registry, health) = setup();
    let mut rng = FastRng::new(7);
    let mut g = c.benchmark_group(group);
    for (name, request) in cases {
        assert!(matches!(table.select(request, &health, &mut rng), Ok(Decision::Origin(_))), "{name}");
        g.bench_function(*name, |b| b.iter(|| black_box(table.select(black_box(request), &health, &mut rng)).is_ok()));
    }
    g.finish();
}

fn bench_pools(c: &mut Criterion) {
    let host = |name: &'static str| -> &'static str { Box::leak(format!("{name}.example.com").into_boxed_str()) };
    let ip = "203.0.113.9".parse().unwrap();
    bench(
        c,
        "pool",
        &[
            ("off", Request::new(host("off"))),
            ("geo_pop", Request::new(host("geo")).pop("SIN").country("SG").region("SEAS")),
            ("geo_country", Request::new(host("geo")).country("DE").region("WEU")),
            ("geo_region", Request::new(host("geo")).region("WEU")),
            ("geo_region_from_country", Request::new(host("geo")).country("FR")),
            ("random", Request::new(host("random"))),
            ("dynamic_latency", Request::new(host("latency")).region("WEU")),
            ("proximity", Request::new(host("proximity")).coordinates(48.9, 2.35)),
            ("least_outstanding_requests", Request::new(host("lor"))),
            ("least_connections", Request::new(host("lc"))),
            ("pool_set", Request::new(host("sets")).country("DE").client_ip(ip)),
        ],
    );
}

fn bench_origins(c: &mut Criterion) {
    let host = |name: &'static str| -> &'static str { Box::leak(format!("{name}.example.com").into_boxed_str()) };
    let ip = "198.51.100.77".parse().unwrap();
    bench(
        c,
        "origin",
        &[
            ("random_4", Request::new(host("off"))),
            ("random_1000", Request::new(host("random1000"))),
            ("random_1000_tenth_down", Request::new(host("random1000down"))),
            ("hash_4", Request::new(host("hash4")).client_ip(ip)),
            ("hash_1000", Request::new(host("hash1000")).client_ip(ip)),
            ("hash_1000_tenth_down", Request::new(host("hash1000down")).client_ip(ip)),
            ("hash_no_client_ip", Request::new(host("hash4"))),
            ("least_outstanding_requests_4", Request::new(host("lor4"))),
            ("least_connections_4", Request::new(host("lc4"))),
        ],
    );
}

/// `hash` with a different client per iteration: the bucket rows are not
/// all in cache.
fn bench_hash_clients(c: &mut Criterion) {
    let (table, _registry, health) = setup();
    let mut rng = FastRng::new(7);
    let mut g = c.benchmark_group("origin");
    for (name, host) in [
        ("hash_1000_varying_clients", "hash1000.example.com"),
        ("hash_1000_tenth_down_varying_clients", "hash1000down.example.com"),
    ] {
        let mut client: u32 = 0x0a00_0001;
        g.bench_function(name, |b| {
            b.iter(|| {
                client = client.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let request = Request::new(host).client_ip(std::net::IpAddr::from(client.to_be_bytes()));
                black_box(table.select(black_box(&request), &health, &mut rng)).is_ok()
            })
        });
    }
    g.finish();
}

fn bench_shedding(c: &mut Criterion) {
    let ip = "198.51.100.77".parse().unwrap();
    bench(
        c,
        "shed",
        &[
            ("random_50_percent", Request::new("shedrandom.example.com")),
            ("hash_50_percent", Request::new("shedhash.example.com").client_ip(ip)),
        ],
    );
}

fn bench_compile(c: &mut Criterion) {
    let mut g = c.benchmark_group("compile");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    for n in [100, 1_000] {
        let json = format!(
            r#"{{"pools":[{{"id":"p","name":"p","origin_steering":{{"policy":"hash"}},"origins":{}}}],
                "load_balancers":[{{"name":"x.example.com","default_pools":["p"],"fallback_pool":"p"}}]}}"#,
            origins(n)
        );
        let account = Account::from_json(&json).unwrap();
        g.bench_function(format!("hash_pool_{n}_origins"), |b| b.iter(|| Table::compile(black_box(&account)).unwrap()));
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = bench_pools, bench_origins, bench_hash_clients, bench_shedding, bench_compile
}
criterion_main!(benches);
