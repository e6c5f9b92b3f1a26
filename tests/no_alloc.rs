//! `select_origin` allocates nothing, on every path: a counting allocator
//! measures each decision after one warm-up call (which may set up the
//! thread's arc-swap slot and random generator once).

use lbsteer::health::{HealthRegistry, Status};
use lbsteer::{Decision, FastRng, HeaderSource, Request, Router, Table};

const ACCOUNT: &str = r#"{
    "monitors": [{"id": "m"}],
    "pools": [
        {"id": "a", "name": "a", "monitor": "m", "latitude": 40.7, "longitude": -74.0, "origins": [
            {"name": "a1", "address": "192.0.2.1"}, {"name": "a2", "address": "192.0.2.2", "weight": 0.5}]},
        {"id": "b", "name": "b", "monitor": "m", "latitude": 51.5, "longitude": -0.1,
         "origin_steering": {"policy": "hash"}, "origins": [
            {"name": "b1", "address": "198.51.100.1"}, {"name": "b2", "address": "198.51.100.2"}]},
        {"id": "c", "name": "c", "origin_steering": {"policy": "least_outstanding_requests"},
         "load_shedding": {"default_percent": 50, "default_policy": "hash"}, "origins": [
            {"name": "c1", "address": "203.0.113.1"}, {"name": "c2", "address": "203.0.113.2"}]},
        {"id": "d", "name": "d", "origin_steering": {"policy": "least_connections"},
         "load_shedding": {"default_percent": 30}, "origins": [
            {"name": "d1", "address": "203.0.113.11", "port": 8080}]},
        {"id": "fb", "name": "fb", "monitor": "m", "origins": [{"name": "f1", "address": "192.0.2.99"}]}
    ],
    "load_balancers": [
        {"name": "off.example.com", "steering_policy": "off", "default_pools": ["a", "b"], "fallback_pool": "fb"},
        {"name": "*.wild.example.com", "default_pools": ["a"], "fallback_pool": "fb"},
        {"name": "geo.example.com", "default_pools": ["a"], "fallback_pool": "fb",
         "region_pools": {"WEU": ["b"]}, "country_pools": {"FR": ["c"]}, "pop_pools": {"SJC": ["d"]}},
        {"name": "random.example.com", "steering_policy": "random", "default_pools": ["a", "b", "c"],
         "fallback_pool": "fb", "random_steering": {"default_weight": 0.3, "pool_weights": {"a": 0.9}}},
        {"name": "latency.example.com", "steering_policy": "dynamic_latency", "default_pools": ["a", "b"], "fallback_pool": "fb"},
        {"name": "near.example.com", "steering_policy": "proximity", "default_pools": ["a", "b"], "fallback_pool": "fb"},
        {"name": "lor.example.com", "steering_policy": "least_outstanding_requests", "default_pools": ["a", "b", "c"], "fallback_pool": "fb"},
        {"name": "lc.example.com", "steering_policy": "least_connections", "default_pools": ["c", "d"], "fallback_pool": "fb"},
        {"name": "sets.example.com", "default_pools": ["a"], "fallback_pool": "fb", "pool_sets": [
            {"name": "us", "match": {"topology": {"countries": ["US"]}}, "fixed_response": {"status_code": 451}},
            {"name": "eu", "match": {"topology": {"regions": ["WEU"]}}, "overrides": {"pools": ["b", "c"], "steering_policy": "random"}}]},
        {"name": "down.example.com", "default_pools": ["a"], "fallback_pool": "fb"},
        {"name": "off-lb.example.com", "enabled": false, "default_pools": ["a"], "fallback_pool": "fb"},
        {"name": "rules.example.com", "default_pools": ["a"], "fallback_pool": "fb", "rules": [
            {"name": "tier", "condition": "any(lower(http.request.headers[\"x-tier\"][*])[*] == \"gold\")",
             "overrides": {"default_pools": ["b"], "steering_policy": "random"}},
            {"name": "api", "priority": 1, "condition": "starts_with(http.request.uri.path, \"/api/\") and ip.src in {203.0.113.0/24}",
             "overrides": {"region_pools": {"WEU": ["c"]}, "steering_policy": "geo"}},
            {"name": "maintenance", "priority": 2, "condition": "http.request.uri.path matches \"^/old/[0-9]+$\"",
             "fixed_response": {"status_code": 503, "message_body": "down"}}]}
    ],
    "origin_rules": [
        {"expression": "http.host eq \"legacy.example.com\"", "action": "route",
         "action_parameters": {"origin": {"host": "rules.example.com", "port": 8443}, "host_header": "legacy.internal"}},
        {"expression": "url_decode(http.request.uri.query) contains \"debug=1\"", "action": "route",
         "action_parameters": {"sni": {"value": "debug.internal"}}}
    ],
    "dns_records": [
        {"type": "CNAME", "name": "www.example.com", "content": "alias.example.com"},
        {"type": "CNAME", "name": "alias.example.com", "content": "off.example.com"}
    ]
}"#;

struct Headers;
impl HeaderSource for Headers {
    fn visit(&self, visit: &mut dyn FnMut(&str, &[u8]) -> bool) {
        let _ = visit("x-tier", b"gold") && visit("cookie", b"a=1");
    }
}

fn requests() -> Vec<(&'static str, Request<'static>)> {
    let ip = "203.0.113.7".parse().unwrap();
    vec![
        ("exact name, failover", Request::new("off.example.com")),
        ("upper case and a port", Request::new("OFF.Example.COM:8443")),
        ("wildcard", Request::new("api.wild.example.com")),
        ("CNAME chain", Request::new("www.example.com")),
        ("no route", Request::new("nowhere.example.org")),
        ("disabled load balancer", Request::new("off-lb.example.com")),
        ("geo by PoP", Request::new("geo.example.com").pop("SJC")),
        ("geo by country", Request::new("geo.example.com").country("FR").client_ip(ip)),
        ("geo by region", Request::new("geo.example.com").region("WEU").client_ip(ip)),
        ("geo default", Request::new("geo.example.com").region("OC")),
        ("geo, region from the country", Request::new("geo.example.com").country("DE").client_ip(ip)),
        ("geo, split country", Request::new("geo.example.com").country("US")),
        ("random pools", Request::new("random.example.com")),
        ("dynamic latency", Request::new("latency.example.com").region("WNAM")),
        ("dynamic latency, region from the country", Request::new("latency.example.com").country("MX")),
        ("dynamic latency, no data for the region", Request::new("latency.example.com").region("SAS")),
        ("proximity", Request::new("near.example.com").coordinates(48.8, 2.3)),
        ("proximity without coordinates", Request::new("near.example.com")),
        ("least outstanding pools", Request::new("lor.example.com")),
        ("least connections pools", Request::new("lc.example.com")),
        ("hash origins with an IP", Request::new("geo.example.com").region("WEU").client_ip(ip)),
        ("hash origins without an IP", Request::new("geo.example.com").region("WEU")),
        ("pool set response", Request::new("sets.example.com").country("US")),
        ("pool set steering", Request::new("sets.example.com").region("WEU").client_ip(ip)),
        ("pool set, region from the country", Request::new("sets.example.com").country("FR")),
        ("shedding by hash", Request::new("lc.example.com").client_ip(ip)),
        ("shedding by hash without a client IP", Request::new("lc.example.com")),
        ("fallback, failing open", Request::new("down.example.com")),
        ("header source", Request::new("off.example.com").header_source(&Headers)),
        ("rule on a lent header", Request::new("rules.example.com").header_source(&Headers)),
        ("rule on a path and an IP", Request::new("rules.example.com").uri("/api/v1").client_ip(ip).region("WEU")),
        ("rule with a fixed response", Request::new("rules.example.com").path("/old/42")),
        ("no rule matches", Request::new("rules.example.com").path("/")),
        ("origin rule re-target", Request::new("legacy.example.com").query("debug=%31")),
    ]
}

fn measure<T>(mut f: impl FnMut() -> T) -> u64 {
    drop(f());
    allocation_counter::measure(|| {
        for _ in 0..64 {
            drop(std::hint::black_box(f()));
        }
    })
    .count_total
}

#[test]
fn router_select_origin_never_allocates() {
    let router = Router::from_json(ACCOUNT).unwrap();
    router.with_health(|registry| {
        registry.set_all(Status::Healthy);
        registry.set_status("a", "a1", Status::Unhealthy).unwrap();
        registry.set_pool_rtt("a", lbsteer::geo::Region::Wnam, Some(40.0));
        registry.set_pool_rtt("b", lbsteer::geo::Region::Wnam, Some(20.0));
        registry.set_origin_outstanding("c", "c1", 4).unwrap();
    });
    let mut failures = Vec::new();
    for (name, request) in requests() {
        let allocations = measure(|| router.select_origin(&request));
        if allocations != 0 {
            failures.push(format!("{name}: {allocations} allocations"));
        }
    }
    // A decision that fails over pool by pool, and one held across a
    // counted request.
    router.with_health(|registry| {
        registry.set_status("a", "a2", Status::Unhealthy).unwrap();
        registry.set_status("fb", "f1", Status::Unhealthy).unwrap();
    });
    let request = Request::new("down.example.com");
    assert!(matches!(router.select_origin(&request), Ok(Decision::Origin(ref s)) if s.is_fail_open()));
    let allocations = measure(|| router.select_origin(&request));
    assert_eq!(allocations, 0, "fail-open");
    let allocations = measure(|| match router.select_origin(&Request::new("off.example.com")) {
        Ok(Decision::Origin(selection)) => Some(selection.begin_request()),
        _ => None,
    });
    assert_eq!(allocations, 0, "in-flight guard");
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn table_select_never_allocates() {
    let table = Table::compile(&lbsteer::Account::from_json(ACCOUNT).unwrap()).unwrap();
    let mut registry = HealthRegistry::new();
    let health = registry.bind(&table);
    registry.set_all(Status::Healthy);
    let mut rng = FastRng::new(9);
    for (name, request) in requests() {
        assert_eq!(measure(|| table.select(&request, &health, &mut rng).is_ok()), 0, "{name}");
        let plain = [true; 16];
        assert_eq!(measure(|| table.select(&request, &plain[..], &mut rng).is_ok()), 0, "{name} with bool health");
    }
}

/// An account with pools large enough for the precomputed `hash` ranking
/// and cumulative weights (more than 16 origins).
fn large_account() -> String {
    let origins = |prefix: &str| {
        (0..40)
            .map(|i| {
                let weight = [1.0, 0.5, 0.25][i % 3];
                format!(r#"{{"name":"{prefix}{i}","address":"10.{}.0.{i}","weight":{weight}}}"#, prefix.len())
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    format!(
        r#"{{"monitors":[{{"id":"m"}}],
            "pools":[{{"id":"h","name":"h","monitor":"m","origin_steering":{{"policy":"hash"}},"origins":[{}]}},
                     {{"id":"r","name":"r","monitor":"m","origins":[{}]}},
                     {{"id":"fb","name":"fb","origins":[{{"name":"f","address":"192.0.2.99"}}]}}],
            "load_balancers":[{{"name":"hash.example.com","default_pools":["h"],"fallback_pool":"fb"}},
                              {{"name":"random.example.com","default_pools":["r"],"fallback_pool":"fb"}}]}}"#,
        origins("h"),
        origins("rr")
    )
}

#[test]
fn large_pools_never_allocate() {
    let table = Table::compile(&lbsteer::Account::from_json(&large_account()).unwrap()).unwrap();
    assert!(table.pools().iter().take(2).all(|p| p.precomputed_bytes() > 0), "precomputed");
    let mut registry = HealthRegistry::new();
    let health = registry.bind(&table);
    registry.set_all(Status::Healthy);
    let mut rng = FastRng::new(3);
    let clients: Vec<std::net::IpAddr> = (0..64u32).map(|i| std::net::IpAddr::from((i * 7919).to_be_bytes())).collect();
    let mut check = |what: &str| {
        for (i, client) in clients.iter().enumerate() {
            let hash = Request::new("hash.example.com").client_ip(*client);
            assert_eq!(measure(|| table.select(&hash, &health, &mut rng).is_ok()), 0, "hash, {what}, client {i}");
        }
        let random = Request::new("random.example.com");
        assert_eq!(measure(|| table.select(&random, &health, &mut rng).is_ok()), 0, "random, {what}");
        let no_ip = Request::new("hash.example.com");
        assert_eq!(measure(|| table.select(&no_ip, &health, &mut rng).is_ok()), 0, "hash without IP, {what}");
    };
    check("all healthy");
    // Some origins down: the ranking walks past them, random draws reject them.
    for i in (0..40).step_by(3) {
        registry.set_status("h", &format!("h{i}"), Status::Unhealthy).unwrap();
        registry.set_status("r", &format!("rr{i}"), Status::Unhealthy).unwrap();
    }
    check("a third down");
    // Nearly all down: whole-pool ranking and the exact scan after rejections.
    for i in 0..39 {
        registry.set_status("h", &format!("h{i}"), Status::Unhealthy).unwrap();
        registry.set_status("r", &format!("rr{i}"), Status::Unhealthy).unwrap();
    }
    check("all but one down");
}

#[test]
fn the_counter_counts() {
    // The proof is only as good as the counter: it must see an allocation.
    assert_eq!(measure(|| vec![1u8; 16]), 64);
}
