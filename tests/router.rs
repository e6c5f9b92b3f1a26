//! The router's contract: reloads are atomic and keep what is known about
//! unchanged origins; a rejected configuration changes nothing.

use lbsteer::health::Status;
use lbsteer::{Account, Decision, Request, Router};

fn account(extra_origin: bool, weight_b: f64) -> Account {
    let mut text = String::from(
        r#"{"monitors": [{"id": "m"}],
            "pools": [{"id": "p", "name": "p", "monitor": "m", "origins": [
                {"name": "a", "address": "192.0.2.1"}"#,
    );
    text.push_str(&format!(r#", {{"name": "b", "address": "192.0.2.2", "weight": {weight_b}}}"#));
    if extra_origin {
        text.push_str(r#", {"name": "c", "address": "192.0.2.3"}"#);
    }
    text.push_str(
        r#"]}, {"id": "f", "name": "f", "origins": [{"name": "z", "address": "203.0.113.1"}]}],
            "load_balancers": [{"name": "www.example.com", "default_pools": ["p"], "fallback_pool": "f"}]}"#,
    );
    Account::from_json(&text).unwrap()
}

fn origin(router: &Router) -> String {
    match router.select_origin(&Request::new("www.example.com")) {
        Ok(Decision::Origin(s)) => format!("{}/{}", s.pool().id(), s.origin().name()),
        other => format!("{other:?}"),
    }
}

#[test]
fn new_origins_start_unknown_which_counts_as_down() {
    let router = Router::new(&account(false, 1.0)).unwrap();
    assert_eq!(origin(&router), "f/z", "every monitored origin is unknown: the fallback serves");
    router.set_status("p", "a", Status::Healthy).unwrap();
    assert_eq!(origin(&router), "p/a");
}

#[test]
fn a_reload_keeps_the_health_of_unchanged_origins() {
    let router = Router::new(&account(false, 1.0)).unwrap();
    router.set_status("p", "a", Status::Unhealthy).unwrap();
    router.set_status("p", "b", Status::Healthy).unwrap();
    assert_eq!(router.snapshot().generation(), 1);

    // A changed weight keeps the identity (pool id + name), so the status.
    let generation = router.reload(&account(true, 0.5)).unwrap();
    assert_eq!(generation, 2);
    router.with_health(|registry| {
        assert_eq!(registry.status("p", "a").unwrap(), Status::Unhealthy);
        assert_eq!(registry.status("p", "b").unwrap(), Status::Healthy);
        assert_eq!(registry.status("p", "c").unwrap(), Status::Unknown, "a new origin starts unknown");
    });
    assert_eq!(origin(&router), "p/b");

    // A removed origin is forgotten.
    router.reload(&account(false, 0.5)).unwrap();
    assert!(router.with_health(|registry| registry.status("p", "c").is_err()));
}

#[test]
fn a_rejected_reload_changes_nothing() {
    let router = Router::new(&account(false, 1.0)).unwrap();
    router.set_status("p", "b", Status::Healthy).unwrap();
    let mut bad = account(true, 1.0);
    bad.load_balancers[0].default_pools.push("nope".into());
    let err = router.reload(&bad).unwrap_err();
    assert!(err.mentions("load_balancers[0].default_pools[1]"), "{err}");
    assert_eq!(router.snapshot().generation(), 1);
    assert_eq!(router.snapshot().origins().len(), 3, "the old table still serves");
    assert_eq!(origin(&router), "p/b");
    assert!(router.reload_json("{not json").is_err());
    assert_eq!(router.snapshot().generation(), 1);
}

#[test]
fn a_decision_keeps_its_generation_alive() {
    let router = Router::new(&account(false, 1.0)).unwrap();
    router.set_status("p", "a", Status::Healthy).unwrap();
    let Ok(Decision::Origin(before)) = router.select_origin(&Request::new("www.example.com")) else { panic!() };
    router.reload(&account(true, 1.0)).unwrap();
    // The selection made before the reload still reads its own table.
    assert_eq!(before.generation(), 1);
    assert_eq!(before.table().origins().len(), 3);
    assert_eq!(before.address(), "192.0.2.1");
    assert_eq!(router.snapshot().generation(), 2);
    assert_eq!(router.snapshot().origins().len(), 4);
}

#[test]
fn in_flight_requests_are_counted_across_reloads() {
    let router = Router::new(&account(false, 1.0)).unwrap();
    router.set_status("p", "a", Status::Healthy).unwrap();
    let Ok(Decision::Origin(selection)) = router.select_origin(&Request::new("www.example.com")) else { panic!() };
    let guard = selection.begin_request();
    router.reload(&account(true, 1.0)).unwrap();
    let snapshot = router.snapshot();
    let a = snapshot.origin_id("p", "a").unwrap();
    use lbsteer::health::HealthView;
    assert_eq!(snapshot.health().origin_outstanding(a), 1);
    assert_eq!(snapshot.health().pool_outstanding(snapshot.pool_id("p").unwrap()), 1);
    drop(guard);
    assert_eq!(snapshot.health().origin_outstanding(a), 0);
}
