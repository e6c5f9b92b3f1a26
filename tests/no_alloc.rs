//! `select_origin` allocates nothing, on every path (session affinity's
//! included: token verify and issue, header sessions, retries): a counting allocator
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

const AFFINITY_ACCOUNT: &str = r#"{
    "monitors": [{"id": "m"}],
    "pools": [
        {"id": "p", "name": "p", "monitor": "m", "origins": [
            {"name": "a", "address": "192.0.2.1"}, {"name": "b", "address": "192.0.2.2"},
            {"name": "gone", "address": "192.0.2.3", "enabled": false}]},
        {"id": "q", "name": "q", "monitor": "m", "load_shedding": {"session_percent": 100},
         "origins": [{"name": "q1", "address": "198.51.100.1"}, {"name": "q2", "address": "198.51.100.2"}]},
        {"id": "fb", "name": "fb", "origins": [{"name": "f", "address": "203.0.113.1"}]}
    ],
    "load_balancers": [
        {"name": "cookie.example.com", "default_pools": ["p", "q"], "fallback_pool": "fb", "session_affinity": "cookie",
         "adaptive_routing": {"failover_across_pools": true},
         "session_affinity_attributes": {"zero_downtime_failover": "temporary", "drain_duration": 600}},
        {"name": "sticky.example.com", "default_pools": ["p", "q"], "fallback_pool": "fb", "session_affinity": "ip_cookie",
         "session_affinity_attributes": {"zero_downtime_failover": "sticky"}},
        {"name": "shed.example.com", "default_pools": ["q", "p"], "fallback_pool": "fb", "session_affinity": "cookie"},
        {"name": "header.example.com", "default_pools": ["p"], "fallback_pool": "fb", "session_affinity": "header",
         "session_affinity_attributes": {"headers": ["x-session", "cookie:sid"], "zero_downtime_failover": "temporary"}}
    ]
}"#;

/// The affinity cookie a new session on `host` gets.
fn token(router: &Router, host: &str, now: u64) -> String {
    let request = Request::new(host).timestamp(now).client_ip("203.0.113.9".parse().unwrap());
    let Ok(Decision::Origin(s)) = router.select_origin(&request) else { panic!("{host}") };
    format!("__cflb={}", s.set_cookie().expect("a token").value())
}

#[test]
fn affinity_paths_never_allocate() {
    use lbsteer::affinity::{AffinityConfig, SessionStatus, TokenKey};
    let router = Router::from_json(AFFINITY_ACCOUNT).unwrap();
    router.with_health(|registry| registry.set_all(Status::Healthy));
    let now = 1_764_000_000;
    router.set_affinity_config(AffinityConfig::new(TokenKey::from_bytes([7; 16])));
    let ip = "203.0.113.9".parse().unwrap();

    let cookie = token(&router, "cookie.example.com", now);
    let sticky = token(&router, "sticky.example.com", now);
    let shed = token(&router, "shed.example.com", now);
    let other_lb = token(&router, "sticky.example.com", now);
    let forged = format!("{}A", &cookie[..cookie.len() - 1]);
    let old = {
        let previous = router.affinity_config();
        router.set_affinity_config(AffinityConfig::new(TokenKey::from_bytes([9; 16])));
        let old = token(&router, "cookie.example.com", now);
        router.set_affinity_config(previous.previous_key(TokenKey::from_bytes([9; 16])));
        old
    };
    let garbage = format!("__cflb={}; other=1; __cflb=\u{e9}\u{e9}", "x".repeat(300));
    let header_pairs = [("x-session", "user-1")];
    let cookie_pairs = [("cookie", "sid=s-9")];

    let requests: Vec<(&str, Request<'_>)> = vec![
        ("cookie, new session (token issued)", Request::new("cookie.example.com").timestamp(now)),
        (
            "cookie, pinned (token verified)",
            Request::new("cookie.example.com").timestamp(now + 9).cookie_header(&cookie),
        ),
        ("cookie, expired", Request::new("cookie.example.com").timestamp(now + 90_000).cookie_header(&cookie)),
        ("cookie, forged", Request::new("cookie.example.com").timestamp(now).cookie_header(&forged)),
        ("cookie, other load balancer", Request::new("cookie.example.com").timestamp(now).cookie_header(&other_lb)),
        ("cookie, garbage", Request::new("cookie.example.com").timestamp(now).cookie_header(&garbage)),
        ("cookie, previous key (re-issued)", Request::new("cookie.example.com").timestamp(now).cookie_header(&old)),
        ("cookie, system clock", Request::new("cookie.example.com").cookie_header(&cookie)),
        ("ip_cookie, new session", Request::new("sticky.example.com").timestamp(now).client_ip(ip)),
        ("ip_cookie, pinned", Request::new("sticky.example.com").timestamp(now).client_ip(ip).cookie_header(&sticky)),
        ("session shed", Request::new("shed.example.com").timestamp(now).cookie_header(&shed)),
        ("header, session", Request::new("header.example.com").timestamp(now).headers(&header_pairs)),
        ("header, cookie: entry", Request::new("header.example.com").timestamp(now).headers(&cookie_pairs)),
        ("header, no key", Request::new("header.example.com").timestamp(now)),
    ];
    // Each path does what its name says.
    let expected = [
        "new",
        "pinned",
        "new:expired",
        "new:forged",
        "new:other_load_balancer",
        "new:malformed",
        "pinned+cookie",
        "",
        "new",
        "pinned",
        "new:shed",
        "",
        "",
        "no_key",
    ];
    let mut failures = Vec::new();
    for ((name, request), expected) in requests.iter().zip(expected) {
        let Ok(Decision::Origin(s)) = router.select_origin(request) else { panic!("{name}") };
        let got = match s.session() {
            SessionStatus::New { rejected: Some(why) } => format!("new:{}", why.code()),
            SessionStatus::Pinned { .. } if s.set_cookie().is_some() => "pinned+cookie".to_string(),
            status => status.code().to_string(),
        };
        drop(s);
        if !expected.is_empty() && got != expected {
            failures.push(format!("{name}: {got}, expected {expected}"));
        }
        let allocations = measure(|| router.select_origin(request));
        if allocations != 0 {
            failures.push(format!("{name}: {allocations} allocations"));
        }
    }
    // A new header session per call (the store records each).
    let sessions: Vec<String> = (0..65).map(|i| format!("user-{i}")).collect();
    let pairs: Vec<[(&str, &str); 1]> = sessions.iter().map(|s| [("x-session", s.as_str())]).collect();
    let mut i = 0;
    let allocations = measure(|| {
        i += 1;
        router.select_origin(&Request::new("header.example.com").timestamp(now).headers(&pairs[i % pairs.len()]))
    });
    assert_eq!(allocations, 0, "new header sessions");

    // Retries: temporary, sticky, across pools, a new header session moved.
    let pinned = Request::new("cookie.example.com").timestamp(now + 9).cookie_header(&cookie);
    let allocations = measure(|| match router.select_origin(&pinned) {
        Ok(Decision::Origin(s)) => router.retry(&pinned, &s, 522).is_ok(),
        _ => false,
    });
    assert_eq!(allocations, 0, "retry, temporary");
    let sticky_request = Request::new("sticky.example.com").timestamp(now).client_ip(ip).cookie_header(&sticky);
    let allocations = measure(|| match router.select_origin(&sticky_request) {
        Ok(Decision::Origin(s)) => router.retry(&sticky_request, &s, 526).map(|r| r.set_cookie().is_some()),
        _ => Ok(false),
    });
    assert_eq!(allocations, 0, "retry, sticky");
    let header = Request::new("header.example.com").timestamp(now).headers(&header_pairs);
    let allocations = measure(|| match router.select_origin(&header) {
        Ok(Decision::Origin(s)) => router.retry(&header, &s, 521).is_ok(),
        _ => false,
    });
    assert_eq!(allocations, 0, "retry, header");
    router.with_health(|registry| registry.set_status("p", "b", Status::Unhealthy).unwrap());
    let allocations = measure(|| match router.select_origin(&pinned) {
        Ok(Decision::Origin(s)) => router.retry(&pinned, &s, 523).map(|r| r.pool().id() == "q"),
        _ => Ok(false),
    });
    assert_eq!(allocations, 0, "retry across pools");
    router.with_health(|registry| registry.set_status("p", "b", Status::Healthy).unwrap());

    // A draining origin keeps its session.
    let mut drained: lbsteer::Account = lbsteer::Account::from_json(AFFINITY_ACCOUNT).unwrap();
    let Ok(Decision::Origin(first)) = router.select_origin(&pinned) else { panic!() };
    let pinned_origin = first.origin().name().to_string();
    drop(first);
    for origin in &mut drained.pools[0].origins {
        origin.enabled = origin.name != pinned_origin;
    }
    router.reload_at(&drained, now + 10).unwrap();
    router.with_health(|registry| registry.set_all(Status::Healthy));
    let Ok(Decision::Origin(s)) = router.select_origin(&pinned) else { panic!() };
    assert_eq!(s.session(), SessionStatus::Pinned { draining: true });
    drop(s);
    assert_eq!(measure(|| router.select_origin(&pinned)), 0, "draining");
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn table_select_with_affinity_never_allocates() {
    use lbsteer::affinity::{AffinityConfig, AffinityContext, MemorySessionStore, SessionStatus, TokenKey};
    let table = Table::compile(&lbsteer::Account::from_json(AFFINITY_ACCOUNT).unwrap()).unwrap();
    let mut registry = HealthRegistry::new();
    let health = registry.bind(&table);
    registry.set_all(Status::Healthy);
    let config = AffinityConfig::new(TokenKey::from_bytes([3; 16]));
    let store = MemorySessionStore::new(256);
    let ctx = AffinityContext::new(&config).sessions(&store);
    let mut rng = FastRng::new(5);
    let now = 1_764_000_000;
    let first = Request::new("cookie.example.com").timestamp(now);
    let cookie = match table.select_with(&first, &health, &mut rng, &ctx) {
        Ok(Decision::Origin(s)) => format!("__cflb={}", s.set_cookie().unwrap().value()),
        _ => panic!(),
    };
    let pinned = Request::new("cookie.example.com").timestamp(now + 1).cookie_header(&cookie);
    let Ok(Decision::Origin(s)) = table.select_with(&pinned, &health, &mut rng, &ctx) else { panic!() };
    assert_eq!(s.session(), SessionStatus::Pinned { draining: false });
    assert_eq!(measure(|| table.select_with(&first, &health, &mut rng, &ctx).is_ok()), 0, "issue");
    assert_eq!(measure(|| table.select_with(&pinned, &health, &mut rng, &ctx).is_ok()), 0, "verify and pin");
    let headers = [("x-session", "u")];
    let header = Request::new("header.example.com").timestamp(now).headers(&headers);
    assert_eq!(measure(|| table.select_with(&header, &health, &mut rng, &ctx).is_ok()), 0, "header session");
    assert_eq!(
        measure(|| match table.select_with(&pinned, &health, &mut rng, &ctx) {
            Ok(Decision::Origin(s)) => table.retry(&pinned, &s, 522, &health, &mut rng, &ctx).is_ok(),
            _ => false,
        }),
        0,
        "retry"
    );
    // Rendering the cookie into a caller's buffer.
    let Ok(Decision::Origin(s)) = table.select_with(&first, &health, &mut rng, &ctx) else { panic!() };
    let mut buffer = [0u8; 256];
    let allocations = measure(|| {
        use std::io::Write;
        let cookie = s.set_cookie().unwrap();
        let mut out = &mut buffer[..];
        write!(out, "{cookie}").unwrap();
        out.len()
    });
    assert_eq!(allocations, 0, "Set-Cookie rendering");
}
