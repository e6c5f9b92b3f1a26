//! The built-in health checks run by a `Router`, on a virtual clock: probes
//! steer decisions, reloads keep what is known, reads stay allocation-free.

use core::time::Duration;

use lbsteer::geo::Region;
use lbsteer::health::{CheckerConfig, HealthEvent, Outcome, PoolStatus, Probe, Status, Timestamp};
use lbsteer::{Decision, Request, Router};

const ACCOUNT: &str = r#"{
    "monitors": [{"id": "http", "path": "/health", "expected_codes": "2xx", "interval": 10,
                  "consecutive_down": 2}],
    "pools": [
        {"id": "primary", "name": "primary", "monitor": "http", "origins": [
            {"name": "p1", "address": "192.0.2.1"}, {"name": "p2", "address": "192.0.2.2"}]},
        {"id": "backup", "name": "backup", "monitor": "http", "origins": [
            {"name": "b1", "address": "198.51.100.1"}]}
    ],
    "load_balancers": [{"name": "www.example.com", "default_pools": ["primary", "backup"],
                        "fallback_pool": "backup", "steering_policy": "off"}]
}"#;

/// Drives the router's checker up to `until` ms, answering with `answer`.
fn run(
    router: &Router,
    now: &mut Timestamp,
    until: u64,
    answer: &dyn Fn(&Probe) -> Outcome<'static>,
) -> Vec<HealthEvent> {
    let mut events = Vec::new();
    loop {
        while let Some(probe) = router.poll_probe(*now) {
            router.handle_probe_result(probe.id(), answer(&probe), *now).unwrap();
        }
        while let Some(event) = router.poll_health_event() {
            events.push(event);
        }
        match router.poll_timeout() {
            Some(next) if next.as_millis() <= until => *now = (*now).max(next),
            _ => break,
        }
    }
    events
}

fn pool_of(router: &Router) -> String {
    match router.select_origin(&Request::new("www.example.com")).unwrap() {
        Decision::Origin(selection) => {
            format!("{}{}", selection.pool().id(), if selection.is_fail_open() { " (fail open)" } else { "" })
        }
        Decision::Respond(_) => unreachable!(),
    }
}

#[test]
fn probes_steer_decisions() {
    let router = Router::from_json(ACCOUNT).unwrap();
    assert!(!router.health_checks_enabled());
    assert_eq!(router.poll_timeout(), None);
    router.enable_health_checks(CheckerConfig::default());
    assert_eq!(router.pool_status("primary"), Some(PoolStatus::Unknown));
    assert_eq!(pool_of(&router), "backup (fail open)", "everything unknown");

    let mut now = Timestamp::ZERO;
    let primary_down =
        |down: bool| move |p: &Probe| Outcome::http(if down && p.pool() == "primary" { 503 } else { 200 });
    run(&router, &mut now, 0, &primary_down(false));
    assert_eq!(pool_of(&router), "primary");
    assert_eq!(router.pool_status("primary"), Some(PoolStatus::Healthy));

    // One failure is not enough (consecutive_down = 2).
    let events = run(&router, &mut now, 10_000, &primary_down(true));
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(pool_of(&router), "primary");
    let events = run(&router, &mut now, 20_000, &primary_down(true));
    assert_eq!(pool_of(&router), "backup");
    assert_eq!(router.pool_status("primary"), Some(PoolStatus::Critical));
    let lines: Vec<String> = events.iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert!(lines[3].starts_with("pool \"primary\": degraded -> critical"), "{lines:#?}");
}

#[test]
fn reloads_keep_what_is_known() {
    let router = Router::from_json(ACCOUNT).unwrap();
    router.enable_health_checks(CheckerConfig::default());
    let mut now = Timestamp::ZERO;
    run(&router, &mut now, 0, &|_| Outcome::http(200).with_rtt(Duration::from_millis(7)));
    assert_eq!(pool_of(&router), "primary");

    // p2 is renamed p3: p1 keeps its status, p3 starts unknown.
    router.reload_json(&ACCOUNT.replace("\"p2\"", "\"p3\"")).unwrap();
    let snapshot = router.snapshot();
    let health = snapshot.health();
    assert_eq!(health.status(snapshot.origin_id("primary", "p1").unwrap()), Status::Healthy);
    assert_eq!(health.status(snapshot.origin_id("primary", "p3").unwrap()), Status::Unknown);
    assert_eq!(router.pool_status("primary"), Some(PoolStatus::Degraded));
    assert_eq!(pool_of(&router), "primary", "minimum_origins 1 is still met");
    use lbsteer::health::HealthView;
    assert_eq!(health.pool_rtt_ms(snapshot.pool_id("primary").unwrap(), Region::Weu), Some(7.0), "RTT kept");

    // Only the new origin is probed at once.
    let probe = router.poll_probe(now).unwrap();
    assert_eq!((probe.pool(), probe.origin()), ("primary", "p3"));
    assert!(router.poll_probe(now).is_none());
    router.handle_probe_result(probe.id(), Outcome::http(204), now).unwrap();
    assert_eq!(router.pool_status("primary"), Some(PoolStatus::Healthy));

    // A reload that fails changes nothing.
    assert!(router.reload_json(r#"{"pools": [{"id": ""}]}"#).is_err());
    assert_eq!(router.poll_timeout(), Some(Timestamp::from_millis(10_000)));

    router.disable_health_checks();
    assert!(router.poll_probe(Timestamp::from_millis(10_000)).is_none());
    assert!(router.handle_probe_result(probe.id(), Outcome::http(200), now).is_err());
}

#[test]
fn regional_vantage_points() {
    let router = Router::from_json(&ACCOUNT.replace(
        r#""id": "backup", "name": "backup","#,
        r#""id": "backup", "name": "backup", "check_regions": ["NEAS"],"#,
    ))
    .unwrap();
    router.enable_health_checks(CheckerConfig::new().vantage_points(Region::Weu, 3).vantage_points(Region::Neas, 2));
    let mut now = Timestamp::ZERO;
    let mut seen = Vec::new();
    while let Some(probe) = router.poll_probe(now) {
        seen.push((probe.pool().to_string(), probe.vantage().to_string()));
        // NEAS is far away; WEU close.
        let rtt = if probe.vantage().region() == Some(Region::Neas) { 180 } else { 20 };
        router.handle_probe_result(probe.id(), Outcome::http(200).with_rtt(Duration::from_millis(rtt)), now).unwrap();
    }
    assert_eq!(seen.iter().filter(|(pool, _)| pool == "primary").count(), 2 * 5);
    assert!(seen.iter().filter(|(pool, _)| pool == "backup").all(|(_, v)| v.starts_with("NEAS#")));
    let snapshot = router.snapshot();
    use lbsteer::health::HealthView;
    let primary = snapshot.pool_id("primary").unwrap();
    assert_eq!(snapshot.health().pool_rtt_ms(primary, Region::Weu), Some(20.0));
    assert_eq!(snapshot.health().pool_rtt_ms(primary, Region::Neas), Some(180.0));
    assert_eq!(snapshot.health().pool_rtt_ms(primary, Region::Enam), None);
    now = now + Duration::from_secs(10);
    assert!(router.poll_probe(now).is_some());
}

#[test]
fn decisions_stay_allocation_free_with_checks_running() {
    let router = Router::from_json(ACCOUNT).unwrap();
    router.enable_health_checks(CheckerConfig::default());
    let mut now = Timestamp::ZERO;
    run(&router, &mut now, 0, &|_| Outcome::http(200));
    let request = Request::new("www.example.com");
    drop(router.select_origin(&request));
    let allocations = allocation_counter::measure(|| {
        for _ in 0..64 {
            drop(std::hint::black_box(router.select_origin(&request)));
        }
    })
    .count_total;
    assert_eq!(allocations, 0);
}
