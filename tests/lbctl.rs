//! `lbctl` (examples/lbctl.rs), run in-process: its exit statuses, what it
//! prints, and the documents it writes.

#[path = "../examples/lbctl.rs"]
#[allow(dead_code)]
mod lbctl;

use std::path::PathBuf;

/// Runs `lbctl ARGS`: the exit code (0, 1, or 2 for `Err`), the output, and
/// the error message.
fn lbctl(args: &[&str]) -> (u8, String, String) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let mut out = String::new();
    match lbctl::run(&args, &mut out) {
        Ok(true) => (0, out, String::new()),
        Ok(false) => (1, out, String::new()),
        Err(err) => (2, out, err),
    }
}

/// Writes `text` to a fresh file named `name` and returns its path.
fn file(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("lbctl-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn repo(path: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path).to_string_lossy().into_owned()
}

const ACCOUNT: &str = r#"{
  "pools": [{"id": "p", "origins": [{"name": "a", "address": "192.0.2.1"}]}],
  "load_balancers": [{"name": "lb.example.com", "default_pools": ["p"], "fallback_pool": "p"}]
}"#;

fn scenario(cases: &str) -> String {
    format!(r#"{{"account": {ACCOUNT}, "cases": {cases}}}"#)
}

#[test]
fn check_counts_an_unreadable_file_as_a_failure_and_goes_on() {
    let good = file(
        "good.json",
        &scenario(r#"[{"name": "routes", "request": {"host": "lb.example.com"}, "expect": {"origin": "a"}}]"#),
    );
    let missing = repo("tests/no-such-scenario.json");
    let (code, out, err) = lbctl(&["check", &missing, &good]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("cannot be read"), "{out}");
    assert!(out.contains("ok   routes"), "{out}");
    assert_eq!(out.lines().last(), Some("1 passed, 1 failed"), "{out}");
}

#[test]
fn check_reports_a_file_that_does_not_parse() {
    let bad = file("unparsable.json", "{\"account\": {}, \"cases\": [");
    let typo = file("typo.json", &scenario(r#"[{"name": "x", "request": {"host": "lb.example.com"}, "expcet": {}}]"#));
    let (code, out, _) = lbctl(&["check", &bad, &typo]);
    assert_eq!(code, 1);
    assert!(out.contains("does not parse"), "{out}");
    assert!(out.contains("expcet"), "an unknown key is named: {out}");
    assert_eq!(out.lines().last(), Some("0 passed, 2 failed"), "{out}");
}

#[test]
fn check_shows_every_case_line_and_what_was_expected() {
    // A case whose name ends in " failed" is still listed.
    let cases = r#"[
        {"name": "login failed", "request": {"host": "lb.example.com"}, "expect": {"origin": "a"}},
        {"name": "wrong origin", "request": {"host": "lb.example.com"}, "expect": {"origin": "b", "port": 8080}}
    ]"#;
    let path = file("show.json", &scenario(cases));
    let (code, out, _) = lbctl(&["check", &path]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("ok   login failed"), "{out}");
    assert!(out.contains("FAIL wrong origin"), "{out}");
    assert!(out.contains(r#"origin: expected "b", got "a""#), "{out}");
    assert!(out.contains("port: expected 8080, got 443"), "{out}");
    assert_eq!(out.lines().last(), Some("1 passed, 1 failed"), "{out}");
}

#[test]
fn check_exits_zero_only_when_every_case_passes() {
    let path = file(
        "pass.json",
        &scenario(r#"[{"name": "ok", "request": {"host": "lb.example.com"}, "expect": {"pool": "p"}}]"#),
    );
    let (code, out, _) = lbctl(&["check", &path, &repo("tests/scenarios/affinity_cookie.json")]);
    assert_eq!(code, 0, "{out}");
    assert!(out.lines().last().unwrap().ends_with(" passed, 0 failed"), "{out}");
}

#[test]
fn a_scenario_that_checks_nothing_or_is_ambiguous_fails() {
    for (name, text, why) in [
        ("nocases.json", format!(r#"{{"account": {ACCOUNT}}}"#), "nothing is checked"),
        ("emptycases.json", scenario("[]"), "nothing is checked"),
        (
            "both.json",
            format!(
                r#"{{"account": {ACCOUNT}, "expect_config_error": ["pools"], "cases": [{{"name": "x", "request": {{"host": "h"}}}}]}}"#
            ),
            "both",
        ),
        (
            "vary.json",
            scenario(r#"[{"name": "x", "request": {"host": "lb.example.com"}, "vary": "client_ip"}]"#),
            "`vary` needs `samples`",
        ),
        (
            "tol.json",
            scenario(r#"[{"name": "x", "request": {"host": "lb.example.com"}, "tolerance": 0.1}]"#),
            "`tolerance` needs `samples`",
        ),
        (
            "seq.json",
            scenario(
                r#"[{"name": "x", "request": {"host": "lb.example.com"}, "expect": {"origin": "zzz"}, "sequence": [{"request": {"host": "lb.example.com"}}]}]"#,
            ),
            "not read in a case with a `sequence`",
        ),
    ] {
        let path = file(name, &text);
        let (code, out, _) = lbctl(&["check", &path]);
        assert_eq!(code, 1, "{name}: {out}");
        assert!(out.contains(why), "{name}: {out}");
        assert!(out.lines().last().unwrap().ends_with("1 failed"), "{name}: {out}");
    }
}

fn fixture(name: &str) -> String {
    repo(&format!("tests/fixtures/cloudflare-api/{name}"))
}

#[test]
fn import_of_list_responses_validates() {
    let (code, account, err) = lbctl(&[
        "import",
        "--monitors",
        &fixture("go-12-listlbmonitors-response-body.json"),
        "--pools",
        &fixture("go-05-listlbpools-response-body.json"),
    ]);
    assert_eq!(code, 0, "{err}");
    let path = file("imported.json", &account);
    let (code, out, _) = lbctl(&["validate", &path]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(": ok: 0 load balancers, 1 pools, 1 origins"), "{out}");
}

#[test]
fn import_of_inconsistent_responses_prints_the_account_and_exits_one() {
    // cloudflare-go's load balancer list names pools its pool list lacks.
    let (code, account, _) = lbctl(&[
        "import",
        "--monitors",
        &fixture("go-12-listlbmonitors-response-body.json"),
        "--pools",
        &fixture("go-05-listlbpools-response-body.json"),
        "--load-balancers",
        &fixture("go-20-listlbs-response-body.json"),
    ]);
    assert_eq!(code, 1);
    let path = file("inconsistent.json", &account);
    let (code, out, _) = lbctl(&["validate", &path]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("load_balancers[0].default_pools[0]: unknown pool"), "{out}");
}

#[test]
fn import_names_the_file_of_a_malformed_input() {
    let not_json = file("notjson.json", "{\"result\": [");
    let single = fixture("go-06-getlbpool-response-body.json");
    let wrong_type = file("wrongtype.json", r#"{"result": [{"id": "p", "origins": [{"name": "a", "port": "x"}]}]}"#);
    let (code, _, err) = lbctl(&["import", "--pools", &not_json]);
    assert_eq!(code, 2);
    assert!(err.starts_with(&format!("{not_json}: not JSON")), "{err}");
    let (code, _, err) = lbctl(&["import", "--pools", &single]);
    assert_eq!(code, 2);
    assert!(err.contains("single-object response") && err.starts_with(&single), "{err}");
    let (code, _, err) = lbctl(&["import", "--pools", &wrong_type]);
    assert_eq!(code, 2);
    assert!(err.starts_with(&format!("{wrong_type}: pools.result[0].origins[0].port: invalid type")), "{err}");
    assert!(!err.contains("line 1"), "no position in the rewritten document: {err}");
}

/// The quoted strings of a DOT document, unescaped as far as `\"` and
/// `\\`; panics on an unterminated string or a raw line break inside one.
fn dot_strings(dot: &str) -> Vec<String> {
    let mut strings = Vec::new();
    let mut chars = dot.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut s = String::new();
        loop {
            match chars.next().expect("unterminated DOT string") {
                '"' => break,
                '\n' => panic!("raw line break in a DOT string: {s}"),
                '\\' => match chars.next().expect("unterminated escape") {
                    c @ ('"' | '\\') => s.push(c),
                    c => {
                        s.push('\\');
                        s.push(c);
                    }
                },
                c => s.push(c),
            }
        }
        strings.push(s);
    }
    strings
}

#[test]
fn graph_is_valid_dot_with_every_edge_kind() {
    let account = r#"{
      "pools": [{"id": "p", "origins": [{"name": "a\"b\\c-é", "address": "192.0.2.1"}]},
                {"id": "q", "origins": [{"name": "b", "address": "192.0.2.2"}]}],
      "load_balancers": [{"name": "LB.example.com", "default_pools": ["p"], "fallback_pool": "q",
        "rules": [
          {"name": "say \"hi\" ✓", "condition": "http.request.uri.path eq \"/x\"", "overrides": {"default_pools": ["q"]}},
          {"name": "", "condition": "http.request.uri.path eq \"/a\"", "fixed_response": {"status_code": 503}},
          {"name": "", "condition": "http.request.uri.path eq \"/b\"", "fixed_response": {"status_code": 404}}
        ]}],
      "dns_records": [{"type": "CNAME", "name": "www.example.com", "content": "lb.example.com"}],
      "origin_rules": [{"expression": "http.host eq \"api.example.com\"", "action": "route", "enabled": true,
                        "action_parameters": {"origin": {"host": "lb.EXAMPLE.com"}}}]
    }"#;
    let path = file("graph.json", account);
    let (code, dot, err) = lbctl(&["graph", &path]);
    assert_eq!(code, 0, "{err}");
    assert!(dot.starts_with("digraph account {") && dot.trim_end().ends_with('}'), "{dot}");
    let strings = dot_strings(&dot);
    assert!(strings.iter().any(|s| s == "origin:p/a\"b\\c-é"), "{dot}");
    assert!(strings.iter().any(|s| s.starts_with("rule: say \"hi\" ✓")), "{dot}");
    // Line breaks in labels are `\n` escapes.
    assert!(dot.contains(r"b\\c-é\n192.0.2.1"), "{dot}");
    // Hostnames -> load balancer, whatever the case of the CNAME target.
    assert!(dot.contains(r#""host:www.example.com" -> "lb:LB.example.com" [label="CNAME"]"#), "{dot}");
    assert!(dot.contains(r#"-> "lb:LB.example.com" [label="resolve override"]"#), "{dot}");
    assert!(!dot.contains(r#""lb:lb.example.com""#), "no second node for the load balancer: {dot}");
    // Load balancer -> pools, by failover order, fallback and rule.
    assert!(dot.contains(r#""lb:LB.example.com" -> "pool:p" [label="1"]"#), "{dot}");
    assert!(dot.contains(r#""lb:LB.example.com" -> "pool:q" [label="fallback", style=dashed]"#), "{dot}");
    assert!(dot.contains(r#""lb:LB.example.com" -> "pool:q" [label="rule: say \"hi\" ✓", style=dotted]"#), "{dot}");
    // Two unnamed fixed-response rules get a node each.
    assert!(dot.contains(r#""fixed:LB.example.com:1" [label="503""#), "{dot}");
    assert!(dot.contains(r#""fixed:LB.example.com:2" [label="404""#), "{dot}");
    // Pools -> origins.
    assert!(dot.contains(r#""pool:p" -> "origin:p/a\"b\\c-é";"#), "{dot}");
}

#[test]
fn validate_reads_the_account_of_a_scenario_file() {
    let (code, out, _) = lbctl(&["validate", &repo("tests/bad/03-missing-fallback-pool.json")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("a scenario file; validating its account"), "{out}");
    assert!(out.contains("load_balancers[0].fallback_pool: fallback pool is required"), "{out}");
    let (code, out, _) = lbctl(&["validate", &repo("tests/scenarios/failover.json")]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok: 1 load balancers"), "{out}");
    // A plain account is read as before.
    let (code, out, _) = lbctl(&["validate", &repo("examples/account.json")]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("scenario"), "{out}");
}
