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

const ACCOUNT: &str = r#"{
    "pools": [
        {"id": "web", "name": "web", "origins": [
            {"name": "a", "address": "192.0.2.1"}, {"name": "b", "address": "192.0.2.2"},
            {"name": "c", "address": "192.0.2.3"}, {"name": "d", "address": "192.0.2.4"}]},
        {"id": "api", "name": "api", "origins": [{"name": "e", "address": "198.51.100.1"}]},
        {"id": "gold", "name": "gold", "origins": [{"name": "f", "address": "198.51.100.2"}]},
        {"id": "eu", "name": "eu", "origins": [{"name": "g", "address": "203.0.113.1"}]}
    ],
    "load_balancers": [{"name": "www.example.com", "default_pools": ["web"], "fallback_pool": "web", "rules": [
        {"name": "1", "priority": 1, "condition": "http.request.uri.path eq \"/healthz\"", "fixed_response": {"status_code": 200}},
        {"name": "2", "priority": 2, "condition": "starts_with(http.request.uri.path, \"/api/\")", "overrides": {"default_pools": ["api"]}},
        {"name": "3", "priority": 3, "condition": "any(http.request.headers[\"x-tier\"][*] == \"gold\")", "overrides": {"default_pools": ["gold"]}},
        {"name": "4", "priority": 4, "condition": "ip.src in {10.0.0.0/8 192.168.0.0/16 172.16.0.0/12}", "overrides": {"default_pools": ["web"]}},
        {"name": "5", "priority": 5, "condition": "http.request.method in {\"PUT\" \"DELETE\" \"PATCH\"}", "overrides": {"default_pools": ["api"]}},
        {"name": "6", "priority": 6, "condition": "cf.load_balancer.region in {\"WEU\" \"EEU\"}", "overrides": {"default_pools": ["eu", "web"]}},
        {"name": "7", "priority": 7, "condition": "http.request.uri.path matches \"^/static/.*\\\\.(css|js)$\"", "overrides": {"ttl": 300}},
        {"name": "8", "priority": 8, "condition": "http.cookie contains \"beta=1\"", "overrides": {"default_pools": ["gold"]}},
        {"name": "9", "priority": 9, "condition": "http.user_agent wildcard \"*bot*\"", "overrides": {"default_pools": ["web"]}},
        {"name": "10", "priority": 10, "condition": "ends_with(http.request.uri.path, \".php\")", "fixed_response": {"status_code": 404}}
    ]}],
    "origin_rules": [
        {"expression": "http.host eq \"www.example.com\" and starts_with(http.request.uri.path, \"/api/\")", "action": "route",
         "action_parameters": {"host_header": "api.internal"}},
        {"expression": "http.request.uri.query contains \"debug=1\"", "action": "route",
         "action_parameters": {"sni": {"value": "debug.internal"}}}
    ]
}"#;

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
