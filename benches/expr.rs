//! Evaluation cost of compiled conditions (the request view is pre-built):
//! `cargo bench --bench expr`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lbsteer::Request;
use lbsteer::expr::{Condition, Context};

const CASES: &[(&str, &str)] = &[
    ("host_eq", r#"http.host eq "a.com""#),
    ("not_host_eq", r#"not http.host eq "b.com""#),
    ("path_starts_with", r#"starts_with(http.request.uri.path, "/api")"#),
    ("path_contains", r#"http.request.uri.path contains "/api""#),
    ("ip_in_cidrs", "ip.src in {10.0.0.0/8 192.168.0.0/16 172.16.0.0/12}"),
    ("host_in_8_strings", r#"http.host in {"a.com" "b.com" "c.com" "d.com" "e.com" "f.com" "g.com" "h.com"}"#),
    ("header_index_eq", r#"http.request.headers["x-foo"][0] == "Bar""#),
    ("header_any_eq", r#"any(http.request.headers["x-foo"][*] == "Bar")"#),
    ("header_any_lower_eq", r#"any(lower(http.request.headers["x-foo"][*])[*] == "bar")"#),
    ("lower_host_eq", r#"lower(http.host) == "a.com""#),
    ("path_regex", r#"http.request.uri.path matches "^/api/v[0-9]+/users""#),
    ("path_wildcard", r#"http.request.uri.path wildcard "/API/*""#),
    ("url_decode_contains", r#"url_decode(http.request.uri.path) contains "/users/""#),
    (
        "typical_lb",
        r#"http.host eq "a.com" and starts_with(http.request.uri.path, "/api") and ip.src in {10.0.0.0/8 192.168.0.0/16} and not any(http.request.headers["x-debug"][*] eq "1")"#,
    ),
    (
        "or_of_ands",
        r#"(http.host in {"x.com" "y.com"} and http.request.uri.path contains "/static") or (http.request.uri.path wildcard "/img/*" and ssl) or (http.host eq "a.com" and http.request.uri.path contains "/api")"#,
    ),
];

fn bench(c: &mut Criterion) {
    let headers = [("x-foo", "Bar"), ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) bench/1.0")];
    let request =
        Request::new("a.com").path("/api/v2/users/42").headers(&headers).client_ip("10.1.2.3".parse().unwrap());
    let cx = Context::new(&request, "a.com").with_load_balancer("lb.a.com");
    let mut group = c.benchmark_group("eval");
    for (name, source) in CASES {
        let condition = Condition::compile(source).unwrap();
        group.bench_function(*name, |b| b.iter(|| black_box(&condition).matches(black_box(&cx))));
    }
    group.finish();
    c.bench_function("compile/typical_lb", |b| b.iter(|| Condition::compile(black_box(CASES[13].1)).unwrap()));
    c.bench_function("compile/path_regex", |b| b.iter(|| Condition::compile(black_box(CASES[10].1)).unwrap()));
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
