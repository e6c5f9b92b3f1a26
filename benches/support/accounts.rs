//! The small accounts of the decision benchmarks, shared with the
//! instruction-count driver (included with `#[path]` by `benches/select.rs`,
//! `benches/rules.rs`, `benches/affinity.rs` and
//! `examples/select_callgrind.rs`), so that timings and instruction counts
//! measure the same configuration.
#![allow(dead_code)]

/// A monitored pool of 4 origins, then a monitored pool of 1, then an
/// unmonitored fallback pool: the DESIGN budget's "failover, 4 origins".
macro_rules! failover_pools {
    () => {
        r#"
    "monitors": [{"id": "m", "type": "http", "path": "/health"}],
    "pools": [
        {"id": "primary", "name": "primary", "monitor": "m", "origins": [
            {"name": "a", "address": "192.0.2.1"}, {"name": "b", "address": "192.0.2.2"},
            {"name": "c", "address": "192.0.2.3"}, {"name": "d", "address": "192.0.2.4"}]},
        {"id": "secondary", "name": "secondary", "monitor": "m", "origins": [
            {"name": "e", "address": "198.51.100.1"}]},
        {"id": "fallback", "name": "fallback", "origins": [{"name": "f", "address": "203.0.113.1"}]}
    ],"#
    };
}

/// `www.example.com` fails over between the pools; `*.apps.example.com`
/// does the same; `shop.example.com` reaches `www` through two CNAMEs.
pub const SELECT: &str = concat!(
    "{",
    failover_pools!(),
    r#"
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
}"#
);

/// The same pools behind three load balancers: no affinity, `cookie` and
/// `header` affinity.
pub const AFFINITY: &str = concat!(
    "{",
    failover_pools!(),
    r#"
    "load_balancers": [
        {"name": "plain.example.com", "default_pools": ["primary", "secondary"], "fallback_pool": "fallback",
         "steering_policy": "off"},
        {"name": "cookie.example.com", "default_pools": ["primary", "secondary"], "fallback_pool": "fallback",
         "steering_policy": "off", "session_affinity": "cookie"},
        {"name": "header.example.com", "default_pools": ["primary", "secondary"], "fallback_pool": "fallback",
         "steering_policy": "off", "session_affinity": "header",
         "session_affinity_attributes": {"headers": ["x-session"]}}
    ]
}"#
);

/// 10 custom rules (paths, headers, client IP ranges, methods, regions, a
/// regex, a cookie, a wildcard) and 2 Origin Rules.
pub const RULES: &str = r#"{
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
