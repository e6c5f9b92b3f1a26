//! `select_origin` in a loop, for instruction counts under callgrind
//! (repeatable where timings on a shared machine are not):
//!
//! ```text
//! cargo build --profile bench --example select_callgrind
//! valgrind --tool=callgrind --toggle-collect='*pick_loop*' \
//!     target/release/examples/select_callgrind CASE [PICKS]
//! callgrind_annotate --inclusive=yes callgrind.out.<pid>
//! ```
//!
//! Instructions per decision are the collected total divided by PICKS
//! (default 100,000); set-up is not collected. CASE is one of:
//!
//! - `exact`, `wildcard`, `cname`: the account of `benches/select.rs`
//!   (failover over two monitored pools of 4 and 1 origins, all healthy);
//! - `rules`: the account of `benches/rules.rs` (10 custom rules, 2 Origin
//!   Rules);
//! - `scale-1000`, `scale-100000`: one exact host of the generated accounts
//!   of `benches/scale.rs`;
//! - `mixed-1000`, `mixed-100000`: 1,024 hosts of those accounts in turn
//!   (exact, wildcard and CNAME); with `--cache-sim=yes`, the cache misses
//!   of a table that does not fit in cache.
//!
//! Single-host cases measure the decision and the loop; `mixed-*` adds an
//! index into the 1,024 requests.

use std::hint::black_box;

use lbsteer::health::Status;
use lbsteer::{Account, Request, Router};

#[path = "../benches/support/generated.rs"]
mod generated;

const SELECT: &str = r#"{
    "monitors": [{"id": "m", "type": "http", "path": "/health"}],
    "pools": [
        {"id": "primary", "name": "primary", "monitor": "m", "origins": [
            {"name": "a", "address": "192.0.2.1"}, {"name": "b", "address": "192.0.2.2"},
            {"name": "c", "address": "192.0.2.3"}, {"name": "d", "address": "192.0.2.4"}]},
        {"id": "secondary", "name": "secondary", "monitor": "m", "origins": [
            {"name": "e", "address": "198.51.100.1"}]},
        {"id": "fallback", "name": "fallback", "origins": [{"name": "f", "address": "203.0.113.1"}]}
    ],
    "load_balancers": [
        {"name": "www.example.com", "default_pools": ["primary", "secondary"], "fallback_pool": "fallback",
         "steering_policy": "off"},
        {"name": "*.apps.example.com", "default_pools": ["primary", "secondary"], "fallback_pool": "fallback",
         "steering_policy": "off"}
    ],
    "dns_records": [
        {"type": "CNAME", "name": "shop.example.com", "content": "alias.example.com"},
        {"type": "CNAME", "name": "alias.example.com", "content": "www.example.com"}
    ]
}"#;

const RULES: &str = r#"{
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

#[inline(never)]
fn pick_loop(router: &Router, request: &Request<'_>, picks: usize) -> usize {
    (0..picks).filter(|_| router.select_origin(black_box(request)).is_ok()).count()
}

/// 1,024 requests in turn (`--toggle-collect='*pick_loop*'` covers it too).
#[inline(never)]
fn pick_loop_mixed(router: &Router, requests: &[Request<'_>], picks: usize) -> usize {
    (0..picks).filter(|i| router.select_origin(black_box(&requests[i & 1023])).is_ok()).count()
}

/// 1,024 hosts spread over a generated account, in its proportions.
fn mixed_hosts(names: &generated::Hostnames) -> Vec<String> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..1024)
        .map(|i| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let pick = |list: &Vec<String>| list[(x >> 33) as usize % list.len()].clone();
            match i % 20 {
                0 => format!("api.{}", pick(&names.wildcard)),
                1 | 2 => pick(&names.cname),
                _ => pick(&names.exact),
            }
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let case = args.get(1).map_or("exact", String::as_str);
    let picks = args.get(2).and_then(|p| p.parse().ok()).unwrap_or(100_000);
    let headers = [("x-tier", "gold"), ("user-agent", "Mozilla/5.0"), ("cookie", "session=abc")];
    let hosts: Vec<String>;
    let (json, requests) = match case {
        "exact" => (SELECT.to_string(), vec![Request::new("www.example.com").path("/index.html")]),
        "wildcard" => (SELECT.to_string(), vec![Request::new("api.apps.example.com").path("/index.html")]),
        "cname" => (SELECT.to_string(), vec![Request::new("shop.example.com").path("/index.html")]),
        "rules" => (
            RULES.to_string(),
            vec![
                Request::new("www.example.com")
                    .uri("/api/v1/users?page=2")
                    .method("GET")
                    .headers(&headers)
                    .client_ip("203.0.113.9".parse().unwrap())
                    .region("WNAM"),
            ],
        ),
        _ => {
            let (mixed, n) = match (case.strip_prefix("scale-"), case.strip_prefix("mixed-")) {
                (Some(n), _) => (false, n.parse::<usize>().ok()),
                (_, Some(n)) => (true, n.parse::<usize>().ok()),
                _ => (false, None),
            };
            let Some(n) = n else {
                eprintln!("usage: select_callgrind exact|wildcard|cname|rules|scale-N|mixed-N [PICKS]");
                std::process::exit(2);
            };
            let names = generated::hostnames(n);
            hosts = if mixed { mixed_hosts(&names) } else { vec![names.exact[names.exact.len() / 2].clone()] };
            (generated::account_json(n), hosts.iter().map(|h| Request::new(h)).collect())
        }
    };
    let router = Router::new(&Account::from_json(&json).unwrap()).unwrap();
    router.with_health(|registry| registry.set_all(Status::Healthy));
    let decided = match &requests[..] {
        [request] => pick_loop(&router, request, picks),
        _ => pick_loop_mixed(&router, &requests, picks),
    };
    assert_eq!(decided, picks, "every decision succeeds");
    println!("{case}: {picks} decisions");
}
