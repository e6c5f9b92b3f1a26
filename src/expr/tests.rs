//! Corpus, error-position and evaluation tests for the expression engine.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::*;
use crate::request::HeaderSource;

mod props;

/// `rules-language.md` §5, verbatim, with the offset of the first field this
/// engine does not provide (`None`: LB-usable, must compile).
const CORPUS: &[(&str, Option<usize>)] = &[
    (r#"http.request.uri.path eq "/articles/2008/""#, None),
    (r#"ip.src ne 203.0.113.0"#, None),
    (r#"http.request.uri.path contains "/articles/""#, None),
    (r#"http.request.uri.path wildcard "/articles/*""#, None),
    (r#"http.request.uri.path strict wildcard "/AdminTeam/*""#, None),
    (r#"http.request.uri.path matches "^/articles/200[7-8]/$""#, None),
    (r#"ip.src in { 203.0.113.0 203.0.113.1 }"#, None),
    (r#"lower(http.request.uri.path) contains "/wp-login.php""#, None),
    (r#"ends_with(http.request.uri.path, ".html")"#, None),
    (r#"http.request.full_uri wildcard "https://example.com/a/*""#, Some(0)),
    (r#"http.request.full_uri wildcard "*.example.com/*/page.html""#, Some(0)),
    (r#"http.request.full_uri wildcard "*.example.com/*" or http.request.full_uri wildcard "example.com/*""#, Some(0)),
    (r#"not ( http.host eq "www.cloudflare.com" and ip.src in {203.0.113.0/24} )"#, None),
    (r#"http.host eq "www.cloudflare.com" xor ip.src in {203.0.113.0/24}"#, None),
    (
        "(\n (http.host eq \"api.example.com\" and http.request.uri.path eq \"/api/v2/auth\") or\n (http.host matches \"^(www|store|blog)\\.example\\.com\" and http.request.uri.path contains \"wp-login.php\") or\n ip.geoip.country in {\"CN\" \"TH\" \"US\" \"ID\" \"KR\" \"MY\" \"IT\" \"SG\" \"GB\"} or ip.geoip.asnum in {12345 54321 11111}\n) and not ip.src in {11.22.33.0/24}",
        Some(262),
    ),
    (r#"http.request.uri.path matches "a\"b""#, None),
    (r##"http.request.uri.path matches r#"a"b"#"##, None),
    (r###"http.request.uri.path matches r##"a"#b"##"###, None),
    (r#"http.request.uri.path matches r"/api/login\.aspx$""#, None),
    (r#"not ssl"#, None),
    (r#"any(lower(http.request.headers.names[*])[*] == "content-type")"#, None),
    (r#"all(len(http.request.uri.args["filter"][*])[*] in {3 4})"#, None),
    (r#"not len(http.request.uri.args["order"]) >= 0"#, None),
    (r#"http.host in {"example.com" "example.net"}"#, None),
    (r#"ip.src in {198.51.100.1 198.51.100.3..198.51.100.7 192.0.2.0/24 2001:0db8::/32}"#, None),
    // Item 26 uses a named list; it is checked separately below.
    (r#"lower(http.host) == "www.cloudflare.com""#, None),
    (r#"all(http.request.headers["content-type"][*] == "application/json")"#, None),
    (r#"url_decode(http.request.uri.path) matches "(?u)\p{Hangul}+""#, None),
    (r#"http.request.uri.path matches "/autodiscover\.(xml|src)$""#, None),
    (r#"any(http.request.headers["content-type"][*] == "application/json")"#, None),
    (r#"any(http.request.uri.args["search"][*] == "red+apples")"#, None),
    (r#"any(http.request.uri.args.names[*] == "search")"#, None),
    (r#"any(http.request.uri.args.values[*] == "red+apples")"#, None),
    (r#"(http.request.uri.path contains "/content")"#, None),
    ("(http.request.uri.path contains \"/content\")\nand (http.request.uri.query contains \"webserver\")", None),
    (r#"http.request.uri.query contains "/eu/""#, None),
    (r#"http.host eq "admin.example.com""#, None),
    (r#"starts_with(http.request.uri.path, "/team/calendar/")"#, None),
    (r#"(starts_with(http.request.uri.path, "/hr-app/"))"#, None),
    (r#"(http.request.uri.path wildcard "/blog/*")"#, None),
    (r#"raw.http.request.uri.path matches "^/uploads/.*""#, Some(0)),
    (
        r#"not any(lower(http.request.headers.names[*])[*] eq "x-csrf-token") and (http.request.full_uri eq "https://www.example.com/somepath")"#,
        Some(72),
    ),
    (
        r#"(not ip.src in {10.20.30.40 192.168.1.0/24} and starts_with(lower(http.request.uri.path), "/wp-admin"))"#,
        None,
    ),
    (r#"(http.host eq "www.example.com" and not cf.edge.server_port in {80 443})"#, Some(40)),
    (r#"(ip.src.country in {"KN" "SY"})"#, None),
    (r#"(not ip.src.country in {"US" "MX"})"#, None),
    (
        r#"not (http.referer contains "example.com" or http.referer eq "www.example.net" or http.referer eq "www.cloudflare.com")"#,
        None,
    ),
    (
        r#"(http.cookie contains "devaccess=james" or http.cookie contains "devaccess=matt" or http.cookie contains "devaccess=michael") and http.host eq "dev.www.example.com""#,
        None,
    ),
    (
        r#"(ends_with(http.request.uri.path, "/autodiscover.xml") or ends_with(http.request.uri.path, "/autodiscover.src"))"#,
        None,
    ),
    (r#"(http.user_agent wildcard "*BadBot/*")"#, None),
    (r#"(ip.src eq 203.0.113.1 and http.host eq "example.com")"#, None),
    (r#"any(http.request.cookies["app"][*] == "test")"#, None),
];

#[test]
fn corpus_compiles_or_names_the_unknown_field() {
    assert_eq!(CORPUS.len(), 52, "53 items minus the named-list one");
    for &(source, unknown) in CORPUS {
        let result = Condition::compile(source);
        match unknown {
            None => {
                let condition = result.unwrap_or_else(|e| panic!("{source}: {e}"));
                // The canonical form compiles too, and prints the same.
                let canonical = condition.to_string();
                let again = Condition::compile(&canonical).unwrap_or_else(|e| panic!("{canonical}: {e}"));
                assert_eq!(again.to_string(), canonical);
            }
            Some(offset) => {
                let err = result.expect_err(source);
                assert_eq!(err.offset(), offset, "{source}: {err}");
                let ErrorKind::UnknownField(name) = err.kind() else { panic!("{source}: {err}") };
                assert!(source[offset..].starts_with(name.as_str()), "{source}: {err}");
            }
        }
    }
    let err = Condition::compile("(ip.src in $office_network)").unwrap_err();
    assert_eq!(err.offset(), 11);
    assert!(matches!(err.kind(), ErrorKind::Unsupported(_)));
}

#[test]
fn corpus_negative_examples_are_rejected_with_positions() {
    let cases: &[(&str, usize, &str)] = &[
        (r#"http.request.headers.names[*] == "Content-Type""#, 0, "any(…) or all(…)"),
        (r#"host eq www.example.com and not cf.edge.server_port in {80 443}"#, 0, "unknown field \"host\""),
        (r#"http.host eq "www.cloudflare.com" or ip.src in 203.0.113.0/24"#, 47, "expected \"{\""),
        (r#"http.request.uri.path ends_with ".html""#, 22, "expected a comparison operator, found \"ends_with\""),
        (r#"ip.src == 192.0.2.0/24"#, 19, "CIDR"),
    ];
    for &(source, offset, message) in cases {
        let err = Condition::compile(source).expect_err(source);
        assert_eq!(err.offset(), offset, "{source}: {err}");
        assert!(err.to_string().contains(message), "{source}: {err}");
    }
}

#[test]
fn errors_carry_positions_and_messages() {
    let cases: &[(&str, usize, &str)] = &[
        ("", 0, "the expression is empty"),
        (" \t\r\n ", 0, "the expression is empty"),
        ("http.host eq ", 13, "expected a value after \"eq\""),
        ("http.host == ", 13, "expected a value after \"==\""),
        (r#"http.host eq "a" and"#, 20, "expected a condition"),
        (r#"http.host eq "a" or (ssl"#, 24, "expected \")\""),
        ("http.host contains 5", 19, "expected a quoted string, found \"5\""),
        ("http.request.timestamp.sec contains 5", 27, "\"contains\" does not apply to Int values"),
        ("ip.src in {1.2.3.4/33}", 19, "prefix length is at most 32"),
        ("ip.src in {1.2.3.4..::1}", 11, "cannot mix IPv4 and IPv6"),
        ("ip.src in {1.2.3.300}", 11, "invalid IP address"),
        ("ip.src eq 1.2.3.4.5", 10, "invalid IP address"),
        ("len(http.host) in {5..1}", 19, "start is greater than its end"),
        (r#"http.request.uri.path matches "(a""#, 31, "invalid regex: unclosed group"),
        (r#"http.request.uri.path matches "a\"b)""#, 35, "invalid regex: unopened group"),
        (r#"http.request.uri.path matches "(?u)\bx""#, 30, "Unicode word boundaries"),
        (r#"http.host wildcard "a**""#, 19, "\"**\" is not allowed"),
        (r#"http.host wildcard "a\\b""#, 19, "a backslash must escape"),
        ("foo(http.host) eq \"a\"", 0, "unknown function \"foo\""),
        (r#"regex_replace(http.host, "a", "b") eq "x""#, 0, "not available in load-balancer rules"),
        (r#"lower(http.host, http.host) eq "a""#, 0, "lower() takes 1 argument, got 2"),
        (r#"starts_with("abc", "a")"#, 12, "must be a field or a function call"),
        ("starts_with(http.host, http.host)", 23, "must be a string literal"),
        ("any(concat(http.host, http.request.headers.names[*])[*] eq \"a\")", 22, "first argument"),
        (r#"http.request.headers[0] eq "a""#, 20, "indexed by a quoted key"),
        (r#"http.request.headers.names["a"] eq "a""#, 26, "indexed by a number"),
        (r#"http.host[0] eq "a""#, 9, "a String value cannot be indexed"),
        (r#"http.request.headers[*][0] eq "a""#, 20, "[*] over a map"),
        (r#"http.request.headers["a"] eq "b""#, 0, "Array<String> cannot be compared"),
        (r#"lower(http.request.headers.names[*]) eq "b""#, 0, "cannot be compared"),
        ("ssl eq 1", 0, "a Bool value cannot be compared"),
        (r#"http.host eq "a" http.host"#, 17, "expected \"and\", \"or\", \"xor\" or the end"),
        (r#"http.host EQ "a""#, 10, "expected a comparison operator, found \"EQ\""),
        (r#"http.host eq "a\q""#, 15, "invalid escape"),
        ("len(http.host) eq 010", 18, "leading zeros"),
        ("len(http.host) eq 99999999999999999999", 18, "does not fit in 64 bits"),
        ("len(http.host) eq -9223372036854775809", 18, "does not fit in 64 bits"),
        (r#"http.host eq "unterminated"#, 13, "unterminated string"),
        (r###"http.host eq r#"unterminated"###, 13, "unterminated raw string"),
        ("len(http.host) & 1", 15, "bitwise"),
        (r#""abc" eq "a""#, 0, "expected a field or a function call"),
        (r#"any(http.host eq "a")"#, 4, "takes a comparison over the elements"),
        (r#"any(http.request.headers.names[*])"#, 33, "expected a comparison operator"),
        (r#"url_decode(http.host, "x") eq "a""#, 22, "options are"),
        (r#"substring(http.host, "1") eq "a""#, 21, "integer literals"),
        (r#"len(http.request.headers) eq 1"#, 4, "len() expects a String or an array"),
        (r#"concat(http.request.headers.names) eq "a""#, 7, "concat() of arrays"),
        (r#"http.request.uri.path strict "a""#, 29, "expected \"wildcard\" after \"strict\""),
        (r#"http.host eq "é" é"#, 18, "found \"é\""),
        (r#"http.request.headers["a"][4294967296] eq "x""#, 26, "index too large"),
        (r#"any(http.request.headers["a"][*] eq "x") eq "y""#, 41, "expected \"and\""),
        ("http.host.x eq \"a\"", 0, "unknown field \"http.host.x\""),
        ("ip.geoip.asnum in {1}", 0, "unknown field \"ip.geoip.asnum\""),
        ("dns.qry.name eq \"a\"", 0, "unknown field \"dns.qry.name\""),
    ];
    for &(source, offset, message) in cases {
        let err = Condition::compile(source).expect_err(source);
        assert!(err.to_string().contains(message), "{source}: {err}");
        assert_eq!(err.offset(), offset, "{source}: {err}");
        assert!(source.is_char_boundary(err.offset()));
    }
    let err = Condition::compile("http.host eq ").unwrap_err();
    assert_eq!(err.to_string(), "at 13: expected a value after \"eq\"");
    assert_eq!(err.kind(), &ErrorKind::MissingValue { op: "eq" });
}

#[test]
fn limits_are_enforced() {
    let long = format!("http.host eq \"{}\"", "a".repeat(MAX_EXPRESSION_LEN));
    let err = Condition::compile(&long).unwrap_err();
    assert_eq!((err.offset(), err.kind()), (MAX_EXPRESSION_LEN, &ErrorKind::TooLong { limit: MAX_EXPRESSION_LEN }));
    // Over by characters, in multi-byte text: the offset is on a boundary.
    let wide = format!("http.host eq \"{}\"", "é".repeat(5000));
    assert!(wide.is_char_boundary(Condition::compile(&wide).unwrap_err().offset()));

    let set = format!("len(http.host) in {{{}}}", "1 ".repeat(MAX_SET_ITEMS + 1));
    assert!(matches!(Condition::compile(&set).unwrap_err().kind(), ErrorKind::TooMany { what: "set items", .. }));
    let set = format!("len(http.host) in {{{}}}", "1 ".repeat(MAX_SET_ITEMS));
    assert!(Condition::compile(&set).is_ok());

    let each = r#"any(http.request.headers.names[*] eq "a") or "#.repeat(MAX_EACH + 1) + "ssl";
    assert!(matches!(Condition::compile(&each).unwrap_err().kind(), ErrorKind::TooMany { what: "[*]", .. }));

    let err = Condition::compile(r#"http.host matches "(?u)\w{100}[a-z]{100}""#).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::RegexTooLarge { limit: MAX_REGEX_SIZE });

    let deep = format!("{}ssl{}", "(".repeat(MAX_NESTING_DEPTH + 1), ")".repeat(MAX_NESTING_DEPTH + 1));
    assert!(matches!(Condition::compile(&deep).unwrap_err().kind(), ErrorKind::TooDeep { .. }));
    let deep = format!("{}ssl", "not ".repeat(MAX_NESTING_DEPTH + 1));
    assert!(matches!(Condition::compile(&deep).unwrap_err().kind(), ErrorKind::TooDeep { .. }));
    let deep = format!("{}ssl", "!".repeat(3000));
    assert!(matches!(Condition::compile(&deep).unwrap_err().kind(), ErrorKind::TooDeep { .. }));
    let deep = format!("{}http.host{} eq \"a\"", "lower(".repeat(500), ")".repeat(500));
    assert!(matches!(Condition::compile(&deep).unwrap_err().kind(), ErrorKind::TooDeep { .. }));
    let ok = format!("{}ssl", "not ".repeat(MAX_NESTING_DEPTH));
    assert!(Condition::compile(&ok).is_ok());

    // Negative substring indexes over url_decode read the value twice per
    // level; the work stays bounded.
    let nest = |levels: usize| {
        let open = "substring(url_decode(".repeat(levels);
        format!("{open}http.request.uri.path{} eq \"a\"", "), -1)".repeat(levels))
    };
    assert!(Condition::compile(&nest(3)).is_ok());
    let err = Condition::compile(&nest(5)).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::TooMany { limit: MAX_VALUE_READS, .. }), "{err}");
    // Without url_decode the length is computed from the structure.
    let plain = format!("{}http.request.uri.path{} eq \"a\"", "substring(".repeat(30), ", -1)".repeat(30));
    assert!(Condition::compile(&plain).is_ok());
}

#[test]
fn decisions() {
    // Tabs and other ASCII whitespace separate tokens.
    assert!(Condition::compile("http.host\teq\t\"a\"\r\nand\x0cssl").is_ok());
    // `0x` hex integers.
    assert!(Condition::compile("len(http.host) eq 0x1f").is_ok());
    // IP ordering.
    assert!(Condition::compile("ip.src lt 10.0.0.1").is_ok());
    // Byte-string literals are not supported.
    assert!(Condition::compile("http.host eq 01:02:03").is_err());
}

#[test]
fn api_traits() {
    fn assert_traits<T: Send + Sync + Clone + core::fmt::Debug + core::fmt::Display>() {}
    assert_traits::<Condition>();
    fn assert_error<T: core::error::Error + Send + Sync + Clone + PartialEq>() {}
    assert_error::<ExprError>();
    let c = Condition::compile("http.host   ==  \"a\" &&!ssl").unwrap();
    assert_eq!(c.source(), "http.host   ==  \"a\" &&!ssl");
    assert_eq!(c.to_string(), "http.host eq \"a\" and not ssl");
    assert_eq!(format!("{c:?}"), "Condition(\"http.host   ==  \\\"a\\\" &&!ssl\")");
    let c = Condition::compile(r#"(ssl or ssl) and (ssl xor (ssl and ssl)) or not (ssl or ssl)"#).unwrap();
    assert_eq!(c.to_string(), "(ssl or ssl) and (ssl xor ssl and ssl) or not (ssl or ssl)");
    let c = Condition::compile(r##"http.request.uri.path matches "a\"b" and http.host matches r#"x\""#"##).unwrap();
    assert_eq!(c.to_string(), r##"http.request.uri.path matches "a\"b" and http.host matches r#"x\""#"##);
}

const HEADERS: &[(&str, &str)] = &[
    ("Host", "www.example.com"),
    ("Content-Type", "application/json"),
    ("X-Multi", "one"),
    ("x-multi", "two"),
    ("User-Agent", "Mozilla/5.0 BadBot/1.0"),
    ("Referer", "https://www.example.net/page"),
    ("Cookie", "devaccess=james; app=test; my%20app=x; app=second"),
    ("Accept-Language", "en-US"),
];

const URI: &str = "/api/v2/users/42?filter=waf&filter=botm&filter=cdn&search=red+apples&empty&enc=%2541";

fn request() -> Request<'static> {
    Request::new("WWW.example.com:443")
        .method("POST")
        .uri(URI)
        .version("HTTP/2")
        .headers(HEADERS)
        .client_ip("203.0.113.7".parse().unwrap())
        .region("WEU")
        .country("de")
        .timestamp(1_700_000_000)
}

/// Compiles `source` and evaluates it.
fn eval_in(source: &str, cx: &Context<'_, '_>) -> bool {
    let condition = Condition::compile(source).unwrap_or_else(|e| panic!("{source}: {e}"));
    let result = condition.matches(cx);
    // The canonical form means the same.
    let canonical = Condition::compile(&condition.to_string()).unwrap();
    assert_eq!(canonical.matches(cx), result, "{source} vs {canonical}");
    result
}

fn check(cases: &[(&str, bool)], cx: &Context<'_, '_>) {
    let failures: Vec<String> = cases
        .iter()
        .filter(|(source, expected)| eval_in(source, cx) != *expected)
        .map(|(source, expected)| format!("{source} should be {expected}"))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn fields() {
    let request = request();
    let cx = Context::new(&request, "www.example.com").with_load_balancer("lb.example.com");
    check(
        &[
            (r#"http.host eq "www.example.com""#, true),
            (r#"http.host eq "WWW.example.com""#, false),
            (r#"http.request.method eq "POST""#, true),
            (&format!("http.request.uri eq {URI:?}"), true),
            (r#"http.request.uri.path eq "/api/v2/users/42""#, true),
            (r#"http.request.uri.query contains "search=red+apples""#, true),
            (r#"http.request.uri.query contains "?""#, false),
            (r#"http.request.version eq "HTTP/2""#, true),
            ("http.request.timestamp.sec eq 1700000000", true),
            ("http.request.timestamp.sec gt 1699999999", true),
            ("http.request.timestamp.sec in {1..1700000000}", true),
            ("ip.src eq 203.0.113.7", true),
            ("ip.src ne 203.0.113.7", false),
            ("ip.src in {203.0.113.0/24}", true),
            ("ip.src in {203.0.113.9/24}", true),
            ("ip.src in {203.0.113.8..203.0.113.255 ::/0}", false),
            ("ip.src lt 203.0.113.8", true),
            ("ip.src ge 203.0.113.8", false),
            ("ip.src lt ::1", false),
            ("ip.src gt ::1", false),
            (r#"ip.src.country eq "DE""#, true),
            (r#"ip.geoip.country in {"FR" "DE"}"#, true),
            (r#"cf.load_balancer.name eq "lb.example.com""#, true),
            (r#"cf.load_balancer.region eq "WEU""#, true),
            ("ssl", true),
            ("not ssl", false),
            (r#"http.cookie contains "app=test""#, true),
            (r#"http.referer contains "example.net""#, true),
            (r#"http.user_agent wildcard "*badbot/*""#, true),
            (r#"http.user_agent strict wildcard "*badbot/*""#, false),
            (r#"http.request.headers["content-type"][0] eq "application/json""#, true),
            (r#"http.request.headers["x-multi"][1] eq "two""#, true),
            (r#"http.request.headers["x-multi"][2] eq "two""#, false),
            (r#"http.request.headers["X-Multi"][0] eq "one""#, false),
            (r#"any(http.request.headers["x-multi"][*] eq "two")"#, true),
            (r#"all(http.request.headers["x-multi"][*] eq "two")"#, false),
            (r#"all(http.request.headers["x-multi"][*] contains "o")"#, true),
            (r#"len(http.request.headers["x-multi"]) eq 2"#, true),
            // Names keep the request's case (Cloudflare's field reference);
            // `lower()` makes a test case-insensitive.
            (r#"any(http.request.headers.names[*] eq "content-type")"#, false),
            (r#"any(http.request.headers.names[*] eq "Content-Type")"#, true),
            (r#"http.request.headers.names[1] eq "Content-Type""#, true),
            (r#"http.request.headers.names[3] eq "x-multi""#, true),
            (r#"any(lower(http.request.headers.names[*])[*] eq "content-type")"#, true),
            (r#"any(http.request.headers.values[*] eq "application/json")"#, true),
            ("len(http.request.headers.values) eq 8", true),
            ("len(http.request.headers.names) eq 8", true),
            (r#"any(http.request.uri.args["search"][*] == "red+apples")"#, true),
            (r#"any(http.request.uri.args.names[*] == "search")"#, true),
            (r#"any(http.request.uri.args.values[*] == "red+apples")"#, true),
            (r#"http.request.uri.args["empty"][0] eq """#, true),
            (r#"http.request.uri.args.names[4] eq "empty""#, true),
            (r#"len(http.request.uri.args["filter"]) eq 3"#, true),
            (r#"all(len(http.request.uri.args["filter"][*])[*] in {3 4})"#, true),
            (r#"not len(http.request.uri.args["order"]) >= 0"#, true),
            (r#"any(http.request.cookies["app"][*] == "test")"#, true),
            (r#"http.request.cookies["app"][1] eq "second""#, true),
            (r#"http.request.cookies["my app"][0] eq "x""#, true),
            (r#"http.request.cookies["App"][0] eq "test""#, false),
        ],
        &cx,
    );
}

#[test]
fn missing_values_make_comparisons_false() {
    let request = request();
    let cx = Context::new(&request, "www.example.com");
    check(
        &[
            (r#"http.request.headers["x-missing"][0] ne "a""#, false),
            (r#"http.request.headers["x-missing"][0] eq """#, false),
            (r#"not http.request.headers["x-missing"][0] eq "a""#, true),
            (r#"any(http.request.headers["x-missing"][*] eq "a")"#, false),
            (r#"all(http.request.headers["x-missing"][*] eq "a")"#, true),
            (r#"not any(http.request.headers["x-missing"][*] ne "a")"#, true),
            (r#"lower(http.request.headers["x-missing"][0]) ne "a""#, false),
            (r#"url_decode(http.request.headers["x-missing"][0]) ne "a""#, false),
            (r#"substring(http.request.headers["x-missing"][0], -1) ne "a""#, false),
            (r#"len(http.request.headers["x-missing"][0]) ge 0"#, false),
            (r#"len(http.request.headers["x-missing"]) ge 0"#, false),
            (r#"concat(http.host, http.request.headers["x-missing"][0]) ne "x""#, false),
            (r#"concat(http.host, len(http.request.headers["x-missing"])) ne "x""#, false),
            (r#"starts_with(http.request.headers["x-missing"][0], "")"#, false),
            (r#"not ends_with(http.request.headers["x-missing"][0], "")"#, true),
            (r#"http.request.headers["x-multi"][5] ne "x""#, false),
            (r#"http.request.uri.args["filter"][3] ne "x""#, false),
            (r#"http.request.cookies["nope"][0] ne "x""#, false),
            (r#"cf.load_balancer.name ne "x""#, false),
            (r#"cf.load_balancer.name wildcard "*""#, false),
        ],
        &cx,
    );
    let bare = Request::new("h");
    let cx = Context::new(&bare, "h");
    check(
        &[
            ("ip.src ne 1.2.3.4", false),
            ("ip.src in {0.0.0.0/0 ::/0}", false),
            (r#"ip.src.country ne "US""#, false),
            (r#"cf.load_balancer.region ne "WEU""#, false),
            ("http.request.timestamp.sec ne 0", false),
            ("not http.request.timestamp.sec ne 0", true),
            (r#"http.cookie eq """#, true),
            (r#"http.referer eq """#, true),
            (r#"http.user_agent eq """#, true),
            (r#"http.request.uri eq "/""#, true),
            (r#"http.request.uri.query eq """#, true),
            ("len(http.request.headers.names) eq 0", true),
            (r#"all(http.request.headers.names[*] eq "x")"#, true),
            (r#"any(http.request.uri.args.values[*] ne "x")"#, false),
        ],
        &cx,
    );
    let far = Request::new("h").timestamp(u64::MAX);
    assert!(!eval_in("http.request.timestamp.sec ne 0", &Context::new(&far, "h")));
}

#[test]
fn operators() {
    let request = request();
    let cx = Context::new(&request, "www.example.com");
    check(
        &[
            (r#"http.request.method lt "PUT""#, true),
            (r#"http.request.method < "POST""#, false),
            (r#"http.request.method le "POST""#, true),
            (r#"http.request.method le "POS""#, false),
            (r#"http.request.method gt "POS""#, true),
            (r#"http.request.method > "POSTA""#, false),
            (r#"http.request.method ge "POST""#, true),
            (r#"http.request.method >= "POSTA""#, false),
            (r#"http.request.method != "POST""#, false),
            (r#"http.request.uri.path contains "/v2/""#, true),
            (r#"http.request.uri.path contains "/V2/""#, false),
            (r#"http.request.uri.path contains """#, true),
            (r#"http.request.uri.path matches "^/api/v[0-9]+/users""#, true),
            (r#"http.request.uri.path ~ "^/API""#, false),
            (r#"http.request.uri.path matches "(?i)^/API""#, true),
            (r#"http.request.uri.path matches "\d\d$""#, true),
            (r#"http.request.uri.path wildcard "/API/*""#, true),
            (r#"http.request.uri.path strict wildcard "/API/*""#, false),
            (r#"http.request.uri.path wildcard "/api/*/42""#, true),
            (r#"http.request.uri.path wildcard "/api""#, false),
            (r#"http.host in {"example.com" "www.example.com"}"#, true),
            (r#"http.host in {"example.com" "www.example.co"}"#, false),
            (r#"http.host in {}"#, false),
            ("len(http.host) eq 15", true),
            ("len(http.host) == 15", true),
            ("len(http.host) lt 15", false),
            ("len(http.host) le 15", true),
            ("len(http.host) gt 14", true),
            ("len(http.host) ge 16", false),
            ("len(http.host) ne 15", false),
            ("len(http.host) in {1..10 15}", true),
            ("len(http.host) in {-5..-1 16..20}", false),
            ("ssl and not ssl", false),
            ("ssl && !ssl", false),
            ("ssl or not ssl", true),
            ("ssl || !ssl", true),
            ("ssl xor ssl", false),
            ("ssl ^^ not ssl", true),
            ("ssl xor ssl xor ssl", true),
            ("not ssl and ssl or ssl", true),
            ("not (ssl and ssl or ssl)", false),
            ("not not ssl", true),
        ],
        &cx,
    );
}

#[test]
fn functions() {
    let request = request();
    let cx = Context::new(&request, "www.example.com");
    check(
        &[
            (r#"lower(http.host) == "www.example.com""#, true),
            (r#"lower(http.request.method) == "post""#, true),
            (r#"lower(http.request.method) == "POST""#, false),
            (r#"lower(http.request.method) ne "POST""#, true),
            (r#"lower(lower(upper(http.request.method))) eq "post""#, true),
            (r#"upper(http.request.uri.path) contains "/API/V2""#, true),
            (r#"upper(http.host) eq "WWW.EXAMPLE.COM""#, true),
            (r#"upper(http.host) eq "www.EXAMPLE.COM""#, false),
            (r#"lower("ÀB") eq "Àb""#, true),
            (r#"starts_with(http.request.uri.path, "/api/")"#, true),
            (r#"starts_with(http.request.uri.path, "/API/")"#, false),
            (r#"ends_with(http.request.uri.path, "/42")"#, true),
            (r#"ends_with(http.request.uri.path, "/4")"#, false),
            (r#"starts_with(lower(http.request.headers["content-type"][0]), "application/")"#, true),
            (r#"ends_with(http.request.uri, "%2541")"#, true),
            (r#"concat(http.request.method, " ", http.request.uri.path) eq "POST /api/v2/users/42""#, true),
            (r#"concat("a", 1, -2) eq "a1-2""#, true),
            (r#"concat(http.host, len(http.host)) eq "www.example.com15""#, true),
            (r#"concat(http.host) eq "www.example.com""#, true),
            (r#"url_decode(http.request.uri.args["enc"][0]) eq "%41""#, true),
            (r#"url_decode(http.request.uri.args["enc"][0], "r") eq "A""#, true),
            (r#"url_decode(http.request.uri.args["search"][0]) eq "red apples""#, true),
            (r#"url_decode(http.request.uri.query) contains "enc=%41""#, true),
            (r#"substring(http.request.uri.path, 1, 4) eq "api""#, true),
            (r#"substring(http.request.uri.path, -2) eq "42""#, true),
            (r#"substring(http.request.uri.path, 0, -3) eq "/api/v2/users""#, true),
            (r#"substring(http.request.uri.path, 100) eq """#, true),
            (r#"substring(http.request.uri.path, 5, 2) eq """#, true),
            (
                r#"substring(http.request.uri.path, -9223372036854775808, 9223372036854775807) eq "/api/v2/users/42""#,
                true,
            ),
            (r#"remove_bytes(http.host, ".w") eq "examplecom""#, true),
            (r#"len(remove_bytes(http.host, "w")) eq 12"#, true),
            (r#"len(url_decode(http.request.uri.args["search"][0])) eq 10"#, true),
            (r#"any(lower(http.request.headers.names[*])[*] == "content-type")"#, true),
            (r#"any(starts_with(http.request.headers.names[*], "x-"))"#, true),
            (r#"all(starts_with(http.request.headers.names[*], "x-"))"#, false),
            (r#"any(ends_with(http.request.headers.names[*], "-Type")[*])"#, true),
            (r#"any(ends_with(http.request.headers.names[*], "-type")[*])"#, false),
            (r#"any(url_decode(http.request.uri.args.values[*])[*] eq "red apples")"#, true),
            (r#"any(concat(http.request.uri.args.names[*], "!")[*] eq "search!")"#, true),
            (r#"any(substring(http.request.headers.names[*], 0, 2)[*] eq "x-")"#, true),
            (r#"any(len(http.request.headers.values[*])[*] eq 3)"#, true),
            (r#"any(upper(lower(http.request.headers.names[*])[*])[*] eq "HOST")"#, true),
            (r#"any(concat(len(http.request.uri.args.values[*])[*], "x")[*] eq "10x")"#, true),
        ],
        &cx,
    );
}

#[test]
fn long_values_are_streamed() {
    let path = format!("/{}/API/{}", "a".repeat(500), "b".repeat(500));
    let query = format!("x={}%41", "%25".repeat(200));
    let request = Request::new("h").path(&path).query(&query);
    let cx = Context::new(&request, "h");
    let lowered = path.to_ascii_lowercase();
    check(
        &[
            (r#"lower(http.request.uri.path) contains "/api/""#, true),
            (r#"lower(http.request.uri.path) contains "/API/""#, false),
            (r#"lower(http.request.uri.path) matches "/api/b+$""#, true),
            (r#"lower(http.request.uri.path) matches "^b""#, false),
            (r#"lower(http.request.uri.path) wildcard "/*/API/*""#, true),
            (r#"lower(http.request.uri.path) strict wildcard "/*/API/*""#, false),
            (&format!("concat(lower(http.request.uri.path)) eq {lowered:?}"), true),
            (&format!("concat(lower(http.request.uri.path)) eq \"{}x\"", &lowered[..lowered.len() - 1]), false),
            (&format!("lower(http.request.uri.path) in {{\"x\" {lowered:?}}}"), true),
            (r#"lower(http.request.uri.path) in {"x" "y"}"#, false),
            (&format!("lower(http.request.uri.path) ge {lowered:?}"), true),
            (&format!("lower(http.request.uri.path) gt {lowered:?}"), false),
            (r#"lower(http.request.uri.path) lt "/b""#, true),
            (r#"starts_with(lower(http.request.uri.path), "/aaa")"#, true),
            (r#"ends_with(lower(http.request.uri.path), "bbb")"#, true),
            (r#"ends_with(lower(http.request.uri.path), "abb")"#, false),
            (r#"len(lower(http.request.uri.path)) eq 1006"#, true),
            (r#"substring(lower(http.request.uri.path), -4) eq "bbbb""#, true),
            (r#"substring(http.request.uri, 501, 506) eq "/API/""#, true),
            (r#"url_decode(http.request.uri.query, "r") eq "x=A""#, false),
            (r#"ends_with(url_decode(http.request.uri.query), "%%A")"#, true),
            (r#"ends_with(url_decode(http.request.uri.query, "r"), "A")"#, true),
            (r#"http.request.uri contains "/API/""#, true),
            (r#"http.request.uri matches "\?x=%25""#, true),
        ],
        &cx,
    );
}

#[test]
fn hangul_regex_needs_unicode_mode() {
    for (uri, expected) in [("/%ED%95%9C%EA%B8%80", true), ("/abc", false), ("/%ED%95", false)] {
        let request = Request::new("h").uri(uri);
        let cx = Context::new(&request, "h");
        assert_eq!(eval_in(r#"url_decode(http.request.uri.path) matches "(?u)\p{Hangul}+""#, &cx), expected, "{uri}");
    }
    let request = Request::new("h").path("/\u{e9}");
    let cx = Context::new(&request, "h");
    assert!(!eval_in(r#"http.request.uri.path matches "^/.$""#, &cx));
    assert!(eval_in(r#"http.request.uri.path matches "^/..$""#, &cx));
    assert!(eval_in(r#"http.request.uri.path matches "(?u)^/.$""#, &cx));
}

/// A host's own header map, lending values (not all UTF-8) to callbacks.
struct Lender;

impl HeaderSource for Lender {
    fn visit(&self, visit: &mut dyn FnMut(&str, &[u8]) -> bool) {
        let headers: [(&str, &[u8]); 6] = [
            ("X-One", b"1"),
            ("X-Bin", b"\xff\x00"),
            ("Cookie", b"s=\xfe; t=2"),
            ("x-one", b"2"),
            ("User-Agent", b"UA/1"),
            ("X-Long", &[b'Z'; 300]),
        ];
        for (name, value) in headers {
            if !visit(name, value) {
                return;
            }
        }
    }
}

#[test]
fn header_sources_lend_values() {
    let request = Request::new("h").header_source(&Lender);
    let cx = Context::new(&request, "h");
    check(
        &[
            (r#"any(http.request.headers["x-bin"][*] eq "\xff\x00")"#, true),
            (r#"http.request.headers["x-one"][1] eq "2""#, true),
            (r#"lower(http.request.headers["x-one"][0]) eq "1""#, true),
            (r#"http.request.headers.names[0] eq "X-One""#, true),
            (r#"http.request.headers.names[3] eq "x-one""#, true),
            (r#"any(http.request.headers.names[*] eq "User-Agent")"#, true),
            (r#"any(lower(http.request.headers.names[*])[*] eq "user-agent")"#, true),
            (r#"http.cookie contains "t=2""#, true),
            (r#"any(http.request.cookies["s"][*] eq "\xfe")"#, true),
            (r#"http.user_agent eq "UA/1""#, true),
            (r#"http.referer eq """#, true),
            (r#"len(http.request.headers["x-one"]) eq 2"#, true),
            (r#"len(lower(http.request.headers["x-long"][0])) eq 300"#, true),
            (r#"lower(http.request.headers["x-long"][0]) matches "^z+$""#, true),
            (r#"concat(http.request.headers["x-one"][0], http.request.headers["x-one"][1]) eq "12""#, true),
            (r#"any(concat(http.request.headers.values[*], http.request.headers["x-one"][1])[*] eq "12")"#, true),
            (r#"http.request.headers["x-bin"][0] matches "^\xff\x00$""#, true),
        ],
        &cx,
    );
}

#[test]
fn ipv6_and_mapped_clients() {
    let v6 = Request::new("h").client_ip("2001:db8::42".parse().unwrap());
    let cx = Context::new(&v6, "h");
    check(
        &[
            ("ip.src in {2001:0db8::/32}", true),
            ("ip.src in {2001:db8::40..2001:db8::50}", true),
            ("ip.src in {2001:db8::/127 10.0.0.0/8}", false),
            ("ip.src eq 2001:db8::42", true),
            ("ip.src gt 2001:db8::41", true),
            ("ip.src lt 10.0.0.1", false),
            ("ip.src in {::/0}", true),
        ],
        &cx,
    );
    let mapped = Request::new("h").client_ip("::ffff:192.0.2.9".parse().unwrap());
    let cx = Context::new(&mapped, "h");
    check(&[("ip.src in {192.0.2.0/24}", true), ("ip.src eq 192.0.2.9", true), ("ip.src in {::/0}", false)], &cx);
}

#[test]
fn typical_lb_conditions() {
    let request = request();
    let cx = Context::new(&request, "www.example.com").with_load_balancer("lb.example.com");
    check(
        &[
            (r#"(http.request.uri.path contains "/content") and (http.request.uri.query contains "webserver")"#, false),
            (r#"cf.load_balancer.region == "SAF""#, false),
            (
                r#"http.host eq "www.example.com" and starts_with(http.request.uri.path, "/api") and ip.src in {203.0.113.0/24 10.0.0.0/8} and not any(http.request.headers["x-debug"][*] eq "1")"#,
                true,
            ),
            (r#"not (http.referer contains "example.com" or http.referer eq "www.example.net")"#, true),
        ],
        &cx,
    );
}

#[test]
fn canonical_strings_are_stable() {
    for &(source, unknown) in CORPUS {
        if unknown.is_some() {
            continue;
        }
        let once = Condition::compile(source).unwrap().to_string();
        let twice = Condition::compile(&once).unwrap().to_string();
        assert_eq!(once, twice);
        assert_eq!(parser::parse(source).unwrap(), parser::parse(&once).unwrap(), "{source}");
    }
    let c = Condition::compile(r#"http.host eq "\x00\"\\é\xff" and len(http.host) in {-1 1..2}"#).unwrap();
    assert_eq!(c.to_string(), r#"http.host eq "\x00\"\\é\xff" and len(http.host) in {-1 1..2}"#);
}

/// Audit: behaviours of rules-language.md that no other test pinned.
#[test]
fn audit_limits_at_their_edges() {
    // 4,096 characters are accepted, 4,097 are not (rules-language.md 1.8).
    let pad = MAX_EXPRESSION_LEN - "http.host eq \"\"".len();
    let exact = format!("http.host eq \"{}\"", "a".repeat(pad));
    assert_eq!(exact.len(), MAX_EXPRESSION_LEN);
    assert!(Condition::compile(&exact).is_ok());
    let over = format!("http.host eq \"{}\"", "a".repeat(pad + 1));
    assert_eq!(Condition::compile(&over).unwrap_err().kind(), &ErrorKind::TooLong { limit: MAX_EXPRESSION_LEN });
    // Characters, not bytes: 4,096 two-byte characters are accepted, and
    // the error for 4,097 is at the byte where the 4,097th begins.
    let pad = MAX_EXPRESSION_LEN - "http.host eq \"\"".len();
    let wide = format!("http.host eq \"{}\"", "é".repeat(pad));
    assert_eq!(wide.chars().count(), MAX_EXPRESSION_LEN);
    assert!(Condition::compile(&wide).is_ok());
    let over = format!("http.host eq \"{}\"", "é".repeat(pad + 1));
    let err = Condition::compile(&over).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::TooLong { limit: MAX_EXPRESSION_LEN });
    assert_eq!(err.offset(), over.char_indices().nth(MAX_EXPRESSION_LEN).unwrap().0);
    // Parentheses nested exactly to the limit are accepted.
    let deep = format!("{}ssl{}", "(".repeat(MAX_NESTING_DEPTH), ")".repeat(MAX_NESTING_DEPTH));
    assert!(Condition::compile(&deep).is_ok());
}

/// Audit: literal and keyword rules of rules-language.md 1.2 and 1.4,
/// each rejected at its position.
#[test]
fn audit_literals_and_keywords_are_checked_with_positions() {
    let cases: &[(&str, usize, &str)] = &[
        // `\OOO` is one byte: at most \377.
        (r#"http.host eq "\777""#, 14, "octal escape"),
        (r#"http.host eq "\x4""#, 14, "two hex digits"),
        (r#"http.host eq "\n""#, 14, "invalid escape"),
        // A raw string closes only with as many `#` as it opened with.
        (r###"http.host eq r#"a"##"###, 19, "expected \"and\""),
        // English operators are lower case only.
        ("ssl AND ssl", 4, "found \"AND\""),
        ("NOT ssl", 0, "unknown field \"NOT\""),
        (r#"http.host strictwildcard "a""#, 10, "expected a comparison operator"),
        (r#"http.host wildcard strict "a""#, 19, "expected a quoted string"),
        // Set items share the left side's type; sets are space-separated.
        (r#"ip.src in {192.0.2.1 "x"}"#, 21, "expected an IP address"),
        (r#"http.host in {"a","b"}"#, 17, "found \",\""),
        ("ip.src in {2001:db8::/129}", 22, "prefix length is at most 128"),
        ("len(http.host) in {1..}", 22, "expected an integer"),
        // Type errors.
        (r#"ip.src matches "a""#, 7, "does not apply to IP address"),
        (r#"len(http.host) wildcard "1""#, 15, "does not apply to Int"),
        (r#"len(http.host) eq "1""#, 18, "expected an integer"),
        (r#"http.host in {1}"#, 14, "expected a quoted string"),
        (r#"lower(1) eq "1""#, 6, "lower() expects a String"),
        ("len(concat()) eq 0", 4, "at least 1 argument"),
        (r#"http.request.headers["a"][-1] eq "x""#, 26, "expected an index"),
    ];
    for &(source, offset, message) in cases {
        let err = Condition::compile(source).expect_err(source);
        assert!(err.to_string().contains(message), "{source}: {err}");
        assert_eq!(err.offset(), offset, "{source}: {err}");
    }
    // Byte-oriented regexes accept byte escapes (wirefilter: utf8(false)).
    let request = Request::new("h").path("/\u{e9}");
    let cx = Context::new(&request, "h");
    assert!(eval_in(r#"http.request.uri.path matches "\xc3\xa9$""#, &cx));
    assert!(!eval_in(r#"http.request.uri.path matches "^/\xe9""#, &cx));
}
