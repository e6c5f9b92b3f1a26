//! Bad input that is not a configuration error but a document, request or
//! header problem: each yields an error or a decision, never a panic, a
//! stack overflow or a partial table. (Invalid configurations, with the
//! paths of their errors, are in `tests/bad/`.)

use lbsteer::{Account, ErrorKind, Request, Router, Table};

#[test]
fn text_that_is_not_utf8_is_a_load_error() {
    for bytes in [&b"{\"pools\": [{\"id\": \"\xff\xfe\"}]}"[..], b"\xef\xbb\xbf{}", b"{\"pools\": \"\xc3\x28\"}"] {
        let err = Account::from_json_slice(bytes).unwrap_err();
        assert!(!err.message.is_empty());
    }
}

#[test]
fn deeply_nested_json_is_an_error_not_a_stack_overflow() {
    for depth in [200, 10_000, 100_000] {
        let text = format!("{{\"pools\": {}{}}}", "[".repeat(depth), "]".repeat(depth));
        let err = Account::from_json(&text).unwrap_err();
        assert!(err.message.contains("recursion") || err.message.contains("invalid type"), "{err}");
        let text = format!("{}{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        assert!(Account::from_json(&text).is_err());
    }
}

#[test]
fn truncated_and_garbage_documents_are_load_errors() {
    let valid = r#"{"pools": [{"id": "p", "name": "p", "origins": [{"name": "a", "address": "192.0.2.1"}]}]}"#;
    for cut in 0..valid.len() - 1 {
        assert!(Account::from_json(&valid[..cut]).is_err(), "a prefix of {cut} bytes loaded");
    }
    for garbage in ["", "42", "\"x\"", "{\"pools\": 1}", "{\"load_balancers\": {\"result\": 3}}", "{} {}", "null"] {
        assert!(Account::from_json(garbage).is_err(), "{garbage:?} loaded");
    }
    // `[]` (serde's positional form of a struct) loads as an empty
    // account; compiling it says that nothing routes.
    for empty in ["[]", "{}"] {
        let table = Table::compile(&Account::from_json(empty).unwrap()).unwrap();
        assert!(table.warnings().iter().any(|w| w.to_string().contains("no load balancers")));
    }
}

#[test]
fn huge_arrays_are_rejected_by_the_limits_not_by_exhausting_memory() {
    // 70,000 origins in one pool: over limits::ORIGINS_PER_POOL.
    let origins: Vec<String> = (0..70_000)
        .map(|i| format!(r#"{{"name": "o{i}", "address": "10.{}.{}.{}"}}"#, i >> 16, (i >> 8) & 255, i & 255))
        .collect();
    let text = format!(
        r#"{{"pools": [{{"id": "p", "name": "p", "origins": [{}]}}],
            "load_balancers": [{{"name": "www.example.com", "default_pools": ["p"], "fallback_pool": "p"}}]}}"#,
        origins.join(",")
    );
    let account = Account::from_json(&text).unwrap();
    let err = Table::compile(&account).unwrap_err();
    assert!(err.diagnostics().iter().any(|d| matches!(d.kind, ErrorKind::TooMany { what: "origins", .. })), "{err}");
    assert!(err.mentions("pools[0].origins"));

    // 2,000 custom rules on one load balancer: over the rule limit.
    let rules: Vec<String> = (0..2_000).map(|i| format!(r#"{{"name": "r{i}", "condition": ""}}"#)).collect();
    let text = format!(
        r#"{{"pools": [{{"id": "p", "name": "p", "origins": [{{"name": "a", "address": "192.0.2.1"}}]}}],
            "load_balancers": [{{"name": "www.example.com", "default_pools": ["p"], "fallback_pool": "p", "rules": [{}]}}]}}"#,
        rules.join(",")
    );
    let err = Table::compile(&Account::from_json(&text).unwrap()).unwrap_err();
    assert!(err.mentions("load_balancers[0].rules"), "{err}");

    // 300 pools in one list: over limits::POOLS_PER_LIST.
    let pools: Vec<String> = (0..300).map(|i| format!(r#"{{"id": "p{i}", "name": "p{i}", "origins": []}}"#)).collect();
    let ids: Vec<String> = (0..300).map(|i| format!("\"p{i}\"")).collect();
    let text = format!(
        r#"{{"pools": [{}], "load_balancers": [{{"name": "www.example.com", "default_pools": [{}], "fallback_pool": "p0"}}]}}"#,
        pools.join(","),
        ids.join(",")
    );
    let err = Table::compile(&Account::from_json(&text).unwrap()).unwrap_err();
    assert!(err.mentions("load_balancers[0].default_pools"), "{err}");
}

#[test]
fn hostile_requests_get_an_answer() {
    let router = Router::from_json(
        r#"{"pools": [{"id": "p", "name": "p", "origins": [{"name": "a", "address": "192.0.2.1"}]}],
            "load_balancers": [{"name": "www.example.com", "default_pools": ["p"], "fallback_pool": "p",
              "session_affinity": "header", "session_affinity_attributes": {"headers": ["x-session", "cookie:sid"]},
              "rules": [{"name": "r", "condition": "any(lower(http.request.headers.values[*])[*] contains \"evil\") or url_decode(http.request.uri.query, \"ru\") matches \"^a+$\""}]}]}"#,
    )
    .unwrap();
    let long = "a".repeat(1 << 20);
    let cookie = format!("sid={}; {}", "%".repeat(10_000), "x=; ".repeat(10_000));
    let many: Vec<(&str, &str)> = (0..10_000).map(|_| ("x-session", "v")).collect();
    let weird_hosts =
        ["", ".", ":", "[", "[::1", "www.example.com:", "www.example.com.:99999", "\u{fffd}.example.com", &long];
    for host in weird_hosts {
        let _ = router.select_origin(&Request::new(host));
    }
    let headers = [("cookie", cookie.as_str()), ("x-session", long.as_str()), ("user-agent", "\u{0}\u{1}")];
    let requests = [
        Request::new("www.example.com").query(&long).headers(&headers),
        Request::new("www.example.com").path(&long).query("%u%%%2%zz&&&==="),
        Request::new("WWW.EXAMPLE.COM.").headers(&many),
    ];
    for request in requests {
        assert!(router.select_origin(&request).is_ok());
    }
}
