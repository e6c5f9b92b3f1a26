//! Property tests: printer round trip over generated trees, robustness of
//! the parser on arbitrary input, and evaluation of random conditions over
//! random requests.

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::FileFailurePersistence;

use crate::expr::ast::{
    Arg, Call, CmpOp, Comparison, Expr, Function, Index, IntItem, IpItem, LogicalOp, Quantifier, Rhs, Span, Test, Value,
};
use crate::expr::fields::Field;
use crate::expr::matchers::{BytesTest, Contains, Kmp, OrderOp, StrSet};
use crate::expr::parser::parse;
use crate::expr::stream::Sink;
use crate::expr::{Condition, Context};
use crate::request::Request;

const S: Span = Span(0);

fn field(f: Field) -> Value {
    Value::Field(f, S)
}

fn index(base: Value, index: Index) -> Value {
    Value::Index(Box::new(base), index, S)
}

fn call(func: Function, args: Vec<Arg>) -> Value {
    Value::Call(Call { func, args, span: S })
}

/// Short byte strings, often with characters the printer must escape.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[a-zA-Z0-9/*.%+-]{0,6}".prop_map(String::into_bytes),
        "[\"\\\\a*#\\t\n é]{0,5}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..5),
    ]
}

const BYTES_FIELDS: [Field; 13] = [
    Field::Host,
    Field::Method,
    Field::Uri,
    Field::UriPath,
    Field::UriQuery,
    Field::Cookie,
    Field::Referer,
    Field::UserAgent,
    Field::Version,
    Field::IpSrcCountry,
    Field::IpGeoipCountry,
    Field::LbName,
    Field::LbRegion,
];

/// An `Array<String>`: an array field or a map lookup.
fn array() -> impl Strategy<Value = Value> {
    prop_oneof![
        select(vec![Field::HeadersNames, Field::HeadersValues, Field::UriArgsNames, Field::UriArgsValues])
            .prop_map(field),
        (select(vec![Field::Headers, Field::UriArgs, Field::Cookies]), prop_oneof![bytes(), Just(b"x-a".to_vec())])
            .prop_map(|(map, key)| index(field(map), Index::Key(key))),
    ]
}

/// Wraps a `String` value (scalar or element-wise) in a random function.
fn bytes_call(inner: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop_oneof![
        inner.clone().prop_map(|v| call(Function::Lower, vec![Arg::Value(v)])),
        inner.clone().prop_map(|v| call(Function::Upper, vec![Arg::Value(v)])),
        (inner.clone(), select(vec!["", "r", "u", "ru"]), any::<bool>()).prop_map(|(v, opts, with)| {
            let mut args = vec![Arg::Value(v)];
            if with {
                args.push(Arg::Bytes(opts.as_bytes().to_vec()));
            }
            call(Function::UrlDecode, args)
        }),
        (inner.clone(), any::<i64>(), proptest::option::of(-20i64..20)).prop_map(|(v, start, end)| {
            let mut args = vec![Arg::Value(v), Arg::Int(start % 30)];
            args.extend(end.map(Arg::Int));
            call(Function::Substring, args)
        }),
        (inner.clone(), bytes()).prop_map(|(v, set)| call(Function::RemoveBytes, vec![Arg::Value(v), Arg::Bytes(set)])),
        (
            inner,
            proptest::collection::vec(prop_oneof![bytes().prop_map(Arg::Bytes), any::<i64>().prop_map(Arg::Int)], 0..3)
        )
            .prop_map(|(v, rest)| {
                let mut args = vec![Arg::Value(v)];
                args.extend(rest);
                call(Function::Concat, args)
            }),
    ]
    .boxed()
}

/// A scalar `String` value.
fn bytes_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        select(BYTES_FIELDS.to_vec()).prop_map(field),
        (array(), 0u32..3).prop_map(|(a, n)| index(a, Index::Elem(n))),
    ];
    leaf.prop_recursive(3, 12, 2, |inner| bytes_call(inner.boxed())).boxed()
}

/// `x[*]`, possibly through functions: each element of an array, as a `String`.
fn each_value() -> BoxedStrategy<Value> {
    let leaf = array().prop_map(|a| index(a, Index::Each));
    leaf.prop_recursive(2, 6, 1, |inner| bytes_call(inner.boxed()).prop_map(|c| index(c, Index::Each))).boxed()
}

fn int_value() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(field(Field::Timestamp)),
        bytes_value().prop_map(|v| call(Function::Len, vec![Arg::Value(v)])),
        array().prop_map(|a| call(Function::Len, vec![Arg::Value(a)])),
    ]
    .boxed()
}

fn regex() -> impl Strategy<Value = String> {
    select(vec!["^/api", "a\"b", r"\d+\.", r"(?u)\p{Hangul}+", r"a\\", r#"\""#, "x\"#y", "[a-z]+$", "\"##", "(?i)X|y"])
        .prop_map(String::from)
}

fn bytes_test() -> impl Strategy<Value = Test> {
    prop_oneof![
        (
            select(vec![
                CmpOp::Eq,
                CmpOp::Ne,
                CmpOp::Lt,
                CmpOp::Le,
                CmpOp::Gt,
                CmpOp::Ge,
                CmpOp::Contains,
                CmpOp::Wildcard,
                CmpOp::StrictWildcard
            ]),
            bytes()
        )
            .prop_map(|(op, b)| Test { op, rhs: Rhs::Bytes(b), span: S }),
        regex().prop_map(|r| Test { op: CmpOp::Matches, rhs: Rhs::Regex(r), span: S }),
        proptest::collection::vec(bytes(), 0..4).prop_map(|items| Test {
            op: CmpOp::In,
            rhs: Rhs::BytesSet(items),
            span: S
        }),
    ]
}

fn order_op() -> impl Strategy<Value = CmpOp> {
    select(vec![CmpOp::Eq, CmpOp::Ne, CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge])
}

fn int_test() -> impl Strategy<Value = Test> {
    let item = prop_oneof![
        any::<i64>().prop_map(IntItem::One),
        (any::<i64>(), any::<i64>()).prop_map(|(a, b)| IntItem::Range(a.min(b), a.max(b))),
    ];
    prop_oneof![
        (order_op(), any::<i64>()).prop_map(|(op, n)| Test { op, rhs: Rhs::Int(n), span: S }),
        proptest::collection::vec(item, 0..4).prop_map(|items| Test {
            op: CmpOp::In,
            rhs: Rhs::IntSet(items),
            span: S
        }),
    ]
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|n| IpAddr::V4(Ipv4Addr::from(n))),
        any::<u128>().prop_map(|n| IpAddr::V6(Ipv6Addr::from(n))),
        any::<u32>().prop_map(|n| IpAddr::V6(Ipv4Addr::from(n).to_ipv6_mapped())),
    ]
}

fn ip_test() -> impl Strategy<Value = Test> {
    let item = prop_oneof![
        ip().prop_map(IpItem::One),
        (ip(), any::<u8>()).prop_map(|(ip, len)| IpItem::Cidr(ip, len % if ip.is_ipv4() { 33 } else { 129 })),
        (any::<u32>(), any::<u32>()).prop_map(|(a, b)| IpItem::Range(
            IpAddr::V4(Ipv4Addr::from(a.min(b))),
            IpAddr::V4(Ipv4Addr::from(a.max(b)))
        )),
        (any::<u128>(), any::<u128>()).prop_map(|(a, b)| IpItem::Range(
            IpAddr::V6(Ipv6Addr::from(a.min(b))),
            IpAddr::V6(Ipv6Addr::from(a.max(b)))
        )),
    ];
    prop_oneof![
        (order_op(), ip()).prop_map(|(op, ip)| Test { op, rhs: Rhs::Ip(ip), span: S }),
        proptest::collection::vec(item, 0..4).prop_map(|items| Test { op: CmpOp::In, rhs: Rhs::IpSet(items), span: S }),
    ]
}

fn compare(lhs: Value, test: Option<Test>) -> Comparison {
    Comparison { lhs, test, span: S }
}

fn bool_call(source: Value, lit: Vec<u8>, starts: bool) -> Value {
    let func = if starts { Function::StartsWith } else { Function::EndsWith };
    call(func, vec![Arg::Value(source), Arg::Bytes(lit)])
}

/// A leaf condition: a comparison or an `any`/`all`.
fn leaf() -> BoxedStrategy<Expr> {
    let quantifier = select(vec![Quantifier::Any, Quantifier::All]);
    prop_oneof![
        (bytes_value(), bytes_test()).prop_map(|(v, t)| Expr::Compare(compare(v, Some(t)))),
        (int_value(), int_test()).prop_map(|(v, t)| Expr::Compare(compare(v, Some(t)))),
        ip_test().prop_map(|t| Expr::Compare(compare(field(Field::IpSrc), Some(t)))),
        Just(Expr::Compare(compare(field(Field::Ssl), None))),
        (bytes_value(), bytes(), any::<bool>()).prop_map(|(v, b, s)| Expr::Compare(compare(bool_call(v, b, s), None))),
        (quantifier.clone(), each_value(), bytes_test())
            .prop_map(|(q, v, t)| Expr::Quantified(q, Box::new(compare(v, Some(t))))),
        (quantifier.clone(), each_value(), int_test()).prop_map(|(q, v, t)| {
            let len = index(call(Function::Len, vec![Arg::Value(v)]), Index::Each);
            Expr::Quantified(q, Box::new(compare(len, Some(t))))
        }),
        (quantifier, each_value(), bytes(), any::<bool>(), any::<bool>()).prop_map(|(q, v, b, s, star)| {
            let mapped = bool_call(v, b, s);
            let lhs = if star { index(mapped, Index::Each) } else { mapped };
            Expr::Quantified(q, Box::new(compare(lhs, None)))
        }),
    ]
    .boxed()
}

fn expr() -> BoxedStrategy<Expr> {
    leaf()
        .prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
                (select(vec![LogicalOp::And, LogicalOp::Xor, LogicalOp::Or]), proptest::collection::vec(inner, 2..4))
                    .prop_map(|(op, items)| Expr::Logical(op, items)),
            ]
        })
        .boxed()
}

/// A random request over small alphabets, so that tests sometimes match.
fn request_parts() -> impl Strategy<Value = RequestParts> {
    let text = || "[a-zA-Z/%2541+.=&*-]{0,12}";
    (
        (text(), select(vec!["GET", "POST"]), text(), text()),
        proptest::collection::vec((select(vec!["X-A", "x-a", "Cookie", "Referer", "User-Agent", "B"]), text()), 0..5),
        (proptest::option::of(ip()), proptest::option::of(select(vec!["US", "DE"]))),
        (proptest::option::of(select(vec!["WEU", "ENAM"])), proptest::option::of(any::<u64>()), any::<bool>()),
        proptest::option::of(text()),
    )
        .prop_map(|((host, method, path, query), headers, (ip, country), (region, timestamp, https), lb)| {
            RequestParts { host, method, path, query, headers, ip, country, region, timestamp, https, lb }
        })
}

#[derive(Debug, Clone)]
struct RequestParts {
    host: String,
    method: &'static str,
    path: String,
    query: String,
    headers: Vec<(&'static str, String)>,
    ip: Option<IpAddr>,
    country: Option<&'static str>,
    region: Option<&'static str>,
    timestamp: Option<u64>,
    https: bool,
    lb: Option<String>,
}

fn with_request<R>(parts: &RequestParts, f: impl FnOnce(&Context<'_, '_>) -> R) -> R {
    let headers: Vec<(&str, &str)> = parts.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let mut request = Request::new(&parts.host).method(parts.method).path(&parts.path).query(&parts.query);
    request = request.headers(&headers);
    if let Some(ip) = parts.ip {
        request = request.client_ip(ip);
    }
    if let Some(country) = parts.country {
        request = request.country(country);
    }
    if let Some(region) = parts.region {
        request = request.region(region);
    }
    if let Some(timestamp) = parts.timestamp {
        request = request.timestamp(timestamp);
    }
    if !parts.https {
        request = request.scheme(crate::request::Scheme::Http);
    }
    let mut cx = Context::new(&request, &parts.host);
    cx.load_balancer = parts.lb.as_deref();
    f(&cx)
}

const TOKENS: &[&str] = &[
    "http.host",
    "ip.src",
    "ssl",
    "http.request.headers",
    "http.request.uri.args.names",
    "[",
    "]",
    "[*]",
    "[0]",
    "(",
    ")",
    "{",
    "}",
    "\"a\"",
    "r#\"x\"#",
    "1",
    "-1",
    "..",
    "1.2.3.4",
    "::1",
    "/24",
    "eq",
    "==",
    "!=",
    "<",
    "in",
    "contains",
    "matches",
    "wildcard",
    "strict",
    "and",
    "or",
    "xor",
    "not",
    "!",
    "&&",
    "||",
    "^^",
    "any",
    "all",
    "lower",
    "len",
    "concat",
    "url_decode",
    "substring",
    ",",
    "\"",
    "\\",
    "$x",
    "&",
    "é",
    "\t",
    "0x",
    "010",
];

proptest! {
    // Failure seeds live next to this file (the crate's top level holds
    // only what the layout names).
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(alloc::boxed::Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    /// Printing a tree and parsing the output gives the same tree.
    #[test]
    fn print_then_parse_is_identity(tree in expr()) {
        let printed = tree.to_string();
        match parse(&printed) {
            Ok(parsed) => prop_assert_eq!(parsed, tree, "{}", printed),
            Err(err) => return Err(TestCaseError::fail(alloc::format!("{printed}: {err}"))),
        }
    }

    /// Arbitrary text never panics the compiler.
    #[test]
    fn arbitrary_input_never_panics(input in proptest::collection::vec(any::<u8>(), 0..200)) {
        let text = String::from_utf8_lossy(&input);
        if let Ok(condition) = Condition::compile(&text) {
            let reprinted = condition.to_string();
            prop_assert!(Condition::compile(&reprinted).is_ok(), "{}", reprinted);
        }
    }

    /// Soups of real tokens never panic the compiler either.
    #[test]
    fn token_soup_never_panics(tokens in proptest::collection::vec(select(TOKENS.to_vec()), 0..24), spaced: bool) {
        let text = tokens.join(if spaced { " " } else { "" });
        if let Ok(condition) = Condition::compile(&text) {
            prop_assert!(Condition::compile(&condition.to_string()).is_ok());
        }
    }

    /// Random conditions over random requests evaluate without panicking,
    /// `not` is the complement, and the canonical form agrees.
    #[test]
    fn evaluation_never_panics(tree in expr(), parts in request_parts()) {
        let printed = tree.to_string();
        // Some generated patterns are invalid regexes or wildcards.
        let Ok(condition) = Condition::compile(&printed) else { return Ok(()) };
        let negated = Condition::compile(&alloc::format!("not ({printed})")).unwrap();
        let canonical = Condition::compile(&condition.to_string()).unwrap();
        with_request(&parts, |cx| {
            let result = condition.matches(cx);
            prop_assert_eq!(negated.matches(cx), !result);
            prop_assert_eq!(canonical.matches(cx), result);
            Ok(())
        })?;
    }

    /// Every string test gives the same answer on a slice and on the same
    /// bytes streamed in arbitrary pieces.
    #[test]
    fn streaming_agrees_with_slices(
        lit in "[ab]{0,4}",
        items in proptest::collection::vec("[ab]{0,3}", 0..4),
        value in "[abAB]{0,10}",
        cuts in proptest::collection::vec(0usize..11, 0..4),
    ) {
        let lit = lit.as_bytes();
        let set: Vec<Vec<u8>> = items.iter().map(|i| i.as_bytes().to_vec()).collect();
        let tests = [
            BytesTest::Eq(lit.into()),
            BytesTest::EqFold(lit.into()),
            BytesTest::Never,
            BytesTest::Order(OrderOp::Lt, lit.into()),
            BytesTest::Order(OrderOp::Ge, lit.into()),
            BytesTest::Contains(Box::new(Contains::new(lit))),
            BytesTest::StartsWith(lit.into()),
            BytesTest::EndsWith(Kmp::new(lit)),
            BytesTest::In(StrSet::new(&set)),
        ];
        let value = value.as_bytes();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(value.len())).collect();
        cuts.sort_unstable();
        for test in &tests {
            let mut stream = test.stream();
            let mut at = 0;
            for &cut in cuts.iter().chain([value.len()].iter()) {
                stream.push(&value[at..cut]);
                at = cut;
            }
            prop_assert_eq!(stream.finish(), test.matches(value), "{:?} on {:?}", test, value);
        }
    }
}

#[test]
fn generated_trees_are_printable() {
    // A fixed tree exercising every printer path once, outside proptest.
    let tree = Expr::Logical(
        LogicalOp::Or,
        vec![
            Expr::Not(Box::new(Expr::Logical(
                LogicalOp::And,
                vec![Expr::Compare(compare(field(Field::Ssl), None)), Expr::Compare(compare(field(Field::Ssl), None))],
            ))),
            Expr::Compare(compare(
                field(Field::UriPath),
                Some(Test { op: CmpOp::Matches, rhs: Rhs::Regex(String::from("\\\"")), span: S }),
            )),
        ],
    );
    let printed = tree.to_string();
    assert_eq!(printed, "not (ssl and ssl) or http.request.uri.path matches r#\"\\\"\"#");
    assert_eq!(parse(&printed).unwrap(), tree);
}
