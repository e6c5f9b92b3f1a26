//! Explanations: the same decision as `select`, with every step, as text
//! and as data.

use lbsteer::explain::{ReportResult, ReportStep};
use lbsteer::health::Status;
use lbsteer::{FastRng, Request, Router};

const ACCOUNT: &str = r#"{
    "monitors": [{"id": "m"}],
    "pools": [
        {"id": "primary", "name": "primary", "monitor": "m", "minimum_origins": 2,
         "origins": [{"name": "a", "address": "192.0.2.1"}, {"name": "b", "address": "192.0.2.2"}]},
        {"id": "backup", "name": "backup", "monitor": "m", "origins": [{"name": "c", "address": "192.0.2.3"}]}
    ],
    "load_balancers": [
        {"name": "www.example.com", "default_pools": ["primary"], "fallback_pool": "backup",
         "rules": [{"name": "gone", "condition": "http.request.uri.path eq \"/gone\"", "fixed_response": {"status_code": 410}}]},
        {"name": "off.example.com", "enabled": false, "default_pools": ["primary"], "fallback_pool": "backup"}
    ],
    "dns_records": [{"type": "CNAME", "name": "alias.example.com", "content": "www.example.com"}]
}"#;

fn router() -> Router {
    let router = Router::from_json(ACCOUNT).unwrap();
    router.with_health(|registry| registry.set_all(Status::Healthy));
    router
}

#[test]
fn an_explanation_matches_the_selection() {
    let router = router();
    for path in ["/", "/gone"] {
        let request = Request::new("alias.example.com").path(path);
        let explained = router.explain_with(&request, &mut FastRng::new(3)).report();
        let selected = router.select_origin_with(&request, &mut FastRng::new(3)).unwrap();
        match (&explained.result, selected) {
            (ReportResult::Origin { origin, .. }, lbsteer::Decision::Origin(s)) => {
                assert_eq!(origin, s.origin().name())
            }
            (ReportResult::FixedResponse { status_code, .. }, lbsteer::Decision::Respond(r)) => {
                assert_eq!(*status_code, r.status_code())
            }
            (report, _) => panic!("explain and select disagree: {report:?}"),
        }
    }
}

#[test]
fn a_failover_is_explained_step_by_step() {
    let router = router();
    router.set_status("primary", "a", Status::Unhealthy).unwrap();
    router.set_status("backup", "c", Status::Unhealthy).unwrap();
    let explanation = router.explain(&Request::new("alias.example.com"));
    let report = explanation.report();
    assert_eq!(
        report.steps[0],
        ReportStep::Route {
            load_balancer: "www.example.com".into(),
            matched: "exact",
            cname_chain: vec!["alias.example.com".into(), "www.example.com".into()],
            origin_rule: None
        }
    );
    assert!(report.steps.contains(&ReportStep::PoolSkipped {
        pool: "primary".into(),
        reason: "unhealthy",
        healthy: Some(1),
        minimum: Some(2)
    }));
    assert!(report.steps.contains(&ReportStep::Fallback { pool: "backup".into(), fail_open: true }));
    let text = explanation.to_string();
    assert!(text.contains("pool \"primary\" passed over: unhealthy (1 healthy, minimum_origins 2)"), "{text}");
    assert!(text.contains("fallback pool \"backup\": no healthy origin, failing open"), "{text}");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["result"]["origin"]["fail_open"], true);
    assert_eq!(json["steps"][0]["step"], "route");
}

#[test]
fn errors_are_explained_with_names() {
    let router = router();
    let report = router.explain(&Request::new("off.example.com")).report();
    assert_eq!(report.steps.last(), Some(&ReportStep::Disabled { load_balancer: "off.example.com".into() }));
    assert!(matches!(report.result, ReportResult::Error { error: "load_balancer_disabled", .. }));
    let text = router.explain(&Request::new("nowhere.example")).to_string();
    assert!(text.ends_with("result: no_load_balancer (no load balancer serves this host)"), "{text}");
}

#[test]
fn a_missing_route_says_which_record_or_rule_took_the_host() {
    let router = Router::from_json(
        r#"{
        "pools": [{"id": "p", "name": "p", "origins": [{"name": "a", "address": "192.0.2.1"}]}],
        "load_balancers": [{"name": "*.example.com", "default_pools": ["p"], "fallback_pool": "p"}],
        "dns_records": [
            {"type": "A", "name": "static.example.com", "content": "192.0.2.50"},
            {"type": "AAAA", "name": "*.legacy.example.com", "content": "2001:db8::51"},
            {"type": "CNAME", "name": "away.example.com", "content": "elsewhere.example.org"}
        ],
        "origin_rules": [{"expression": "http.request.uri.path eq \"/x\"", "action": "route",
                          "action_parameters": {"origin": {"host": "nowhere.example.org"}}}]
    }"#,
    )
    .unwrap();
    let no_route = |request: &Request<'_>| {
        let report = router.explain(request).report();
        assert!(matches!(report.result, ReportResult::Error { error: "no_load_balancer", .. }));
        report.steps.into_iter().last().unwrap()
    };
    let step = |record: Option<&str>, chain: &[&str], origin_rule| ReportStep::NoRoute {
        record: record.map(String::from),
        cname_chain: chain.iter().map(|s| s.to_string()).collect(),
        origin_rule,
    };
    assert_eq!(no_route(&Request::new("Static.example.com:443")), step(Some("static.example.com"), &[], None));
    assert_eq!(no_route(&Request::new("a.b.legacy.example.com")), step(Some("*.legacy.example.com"), &[], None));
    assert_eq!(
        no_route(&Request::new("away.example.com")),
        step(Some("away.example.com"), &["away.example.com", "elsewhere.example.org"], None)
    );
    assert_eq!(no_route(&Request::new("www.example.com").path("/x")), step(None, &[], Some(0)));
    assert_eq!(no_route(&Request::new("nothing.example.org")), step(None, &[], None));
    // The wildcard still serves the names no record takes.
    assert!(router.select_origin(&Request::new("www.example.com")).is_ok());
    let text = router.explain(&Request::new("static.example.com")).to_string();
    assert!(text.contains("a DNS record of static.example.com (A or AAAA) answers for it"), "{text}");
}
