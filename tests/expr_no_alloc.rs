//! Evaluation never allocates: every field, function, operator and the
//! streaming path, under a counting global allocator.

use lbsteer::expr::{Condition, Context};
use lbsteer::{HeaderSource, Request};

const CONDITIONS: &[&str] = &[
    // Every field.
    r#"http.host eq "www.example.com""#,
    r#"http.request.method in {"GET" "POST"}"#,
    r#"http.request.uri contains "?filter=""#,
    r#"http.request.uri.path wildcard "/api/*""#,
    r#"http.request.uri.query matches "search=[a-z]+""#,
    r#"any(http.request.uri.args["filter"][*] eq "cdn")"#,
    r#"all(http.request.uri.args.names[*] ne "x")"#,
    r#"any(http.request.uri.args.values[*] strict wildcard "*apples")"#,
    r#"http.request.headers["content-type"][0] eq "application/json""#,
    r#"any(http.request.headers.names[*] eq "content-type")"#,
    r#"any(http.request.headers.values[*] contains "json")"#,
    r#"http.cookie contains "app=test""#,
    r#"any(http.request.cookies["app"][*] == "test")"#,
    r#"http.referer eq """#,
    r#"http.user_agent wildcard "*badbot*""#,
    r#"http.request.version ge "HTTP/1""#,
    "http.request.timestamp.sec in {1..1700000000}",
    "ip.src in {203.0.113.0/24 2001:db8::/32 10.0.0.1..10.0.0.9}",
    "ip.src lt 203.0.113.8",
    r#"ip.src.country eq "DE" and ip.geoip.country ne "US""#,
    r#"cf.load_balancer.name eq "lb.example.com""#,
    r#"cf.load_balancer.region eq "WEU""#,
    "ssl or not ssl",
    "ssl xor ssl",
    // Every function, element-wise too.
    r#"lower(http.host) eq "www.example.com""#,
    r#"upper(http.request.uri.path) contains "/API/""#,
    r#"starts_with(lower(http.request.uri.path), "/api/")"#,
    r#"ends_with(http.request.uri, "%2541")"#,
    "len(http.request.uri.path) gt 3 and len(http.request.headers.names) eq 6",
    r#"concat(http.request.method, " ", http.request.uri.path, len(http.host)) eq "GET /x 15""#,
    r#"url_decode(http.request.uri.args["enc"][0], "ru") eq "A""#,
    r#"url_decode(http.request.uri.path) matches "(?u)\p{Hangul}+""#,
    r#"substring(http.request.uri.path, -2) eq "42" and substring(http.host, 0, 3) eq "www""#,
    r#"remove_bytes(http.host, ".w") eq "examplecom""#,
    r#"any(lower(http.request.headers.names[*])[*] == "content-type")"#,
    r#"all(len(http.request.uri.args["filter"][*])[*] in {3 4})"#,
    r#"not len(http.request.uri.args["order"]) >= 0"#,
    r#"any(starts_with(http.request.headers.names[*], "x-"))"#,
    r#"any(url_decode(http.request.uri.args.values[*], "r")[*] eq "red apples")"#,
    r#"any(concat(http.request.uri.args.names[*], "=", http.request.headers["x-one"][0])[*] eq "search=1")"#,
    r#"any(substring(upper(http.request.headers.values[*])[*], 0, 2)[*] in {"AP" "ON"})"#,
    // Values longer than the stack buffer are streamed through each test.
    r#"lower(http.request.headers["x-long"][0]) contains "zz""#,
    r#"lower(http.request.headers["x-long"][0]) matches "^z+$""#,
    r#"lower(http.request.headers["x-long"][0]) wildcard "z*z""#,
    r#"concat(http.request.headers["x-long"][0]) in {"a" "b"}"#,
    r#"upper(http.request.headers["x-long"][0]) ge "Z""#,
    r#"ends_with(lower(http.request.headers["x-long"][0]), "zzz")"#,
    r#"url_decode(http.request.headers["x-long"][0], "r") eq "x""#,
    r#"substring(lower(http.request.headers["x-long"][0]), -3) eq "zzz""#,
    // Missing values.
    r#"http.request.headers["x-missing"][0] ne "a""#,
    r#"any(http.request.headers["x-missing"][*] eq "a")"#,
];

const HEADERS: &[(&str, &str)] = &[
    ("Host", "www.example.com"),
    ("Content-Type", "application/json"),
    ("X-One", "1"),
    ("User-Agent", "Mozilla/5.0 BadBot/1.0"),
    ("Cookie", "devaccess=james; app=test; my%20app=x"),
    ("X-Long", LONG),
];

const LONG: &str = "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ\
ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ\
ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ";

/// Headers lent one at a time, as a host's own header map would.
struct Lender;

impl HeaderSource for Lender {
    fn visit(&self, visit: &mut dyn FnMut(&str, &[u8]) -> bool) {
        for (name, value) in HEADERS {
            if !visit(name, value.as_bytes()) {
                return;
            }
        }
    }
}

#[test]
fn evaluation_does_not_allocate() {
    let conditions: Vec<Condition> =
        CONDITIONS.iter().map(|c| Condition::compile(c).unwrap_or_else(|e| panic!("{c}: {e}"))).collect();
    let uri = "/api/v2/users/42?filter=waf&filter=botm&filter=cdn&search=red+apples&enc=%2541";
    let base = Request::new("www.example.com")
        .uri(uri)
        .version("HTTP/2")
        .client_ip("203.0.113.7".parse().unwrap())
        .region("WEU")
        .country("DE")
        .timestamp(1_700_000_000);
    let pairs = base.headers(HEADERS);
    let lent = base.header_source(&Lender);
    let hangul = Request::new("h").uri("/%ED%95%9C");
    let requests = [pairs, lent, hangul, Request::new("bare")];

    let mut trues = 0usize;
    let allocations = allocation_counter::measure(|| {
        for request in &requests {
            let cx = Context::new(request, "www.example.com").with_load_balancer("lb.example.com");
            for condition in &conditions {
                trues += usize::from(std::hint::black_box(condition).matches(std::hint::black_box(&cx)));
            }
        }
    });
    assert_eq!(allocations.count_total, 0, "{allocations:?}");
    assert!(trues > 2 * CONDITIONS.len() / 2, "most conditions hold for the first two requests: {trues}");
}
