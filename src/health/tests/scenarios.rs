//! Monitors driven on a virtual clock: schedule, probe spec, judging,
//! retries, hysteresis, quorum, groups, pools, RTT, events, reloads.

use alloc::string::ToString;
use alloc::vec::Vec;
use core::time::Duration;

use super::{Sim, fail, pass};
use crate::geo::Region;
use crate::health::{
    Cause, CheckerConfig, Failure, HealthEvent, HealthView, Outcome, PROBE_GRACE, PoolStatus, ProbeError, ProbeId,
    Status, Timestamp, Vantage,
};

const ONE: &str = r#"{
    "monitors": [{"id": "m", "interval": 10, "timeout": 2, "retries": 2}],
    "pools": [{"id": "p", "name": "p", "monitor": "m", "origins": [{"name": "a", "address": "192.0.2.1"}]}]
}"#;

#[test]
fn probe_spec_from_monitor_and_origin() {
    let mut sim = Sim::new(
        r#"{
        "monitors": [{"id": "m", "type": "https", "method": "HEAD", "path": "/hc", "timeout": 3,
                      "header": {"Host": ["mon.example.com"], "X-Probe": ["1", "2"]},
                      "allow_insecure": true, "follow_redirects": true, "expected_body": "ok",
                      "probe_zone": "example.com"},
                     {"id": "tcp", "type": "tcp", "port": 2222},
                     {"id": "icmp", "type": "icmp_ping"}],
        "pools": [
            {"id": "p", "name": "p", "monitor": "m", "origins": [
                {"name": "own-host", "address": "192.0.2.1", "header": {"Host": ["origin.example.com"]}},
                {"name": "mon-host", "address": "192.0.2.2", "port": 8443},
                {"name": "off", "address": "192.0.2.3", "enabled": false}]},
            {"id": "t", "name": "t", "monitor": "tcp", "origins": [{"name": "a", "address": "db.example.net", "port": 5432}]},
            {"id": "i", "name": "i", "monitor": "icmp", "origins": [{"name": "a", "address": "2001:db8::1"}]},
            {"id": "u", "name": "u", "origins": [{"name": "a", "address": "192.0.2.9"}]},
            {"id": "d", "name": "d", "monitor": "m", "enabled": false, "origins": [{"name": "a", "address": "192.0.2.10"}]}
        ]}"#,
    );
    assert_eq!(sim.checker.targets(), 4, "disabled origins and pools, and unmonitored pools, are not probed");
    sim.step(&mut |_| None);
    let probes = &sim.probes;
    assert_eq!(probes.len(), 4, "every first probe is due at once");
    let own = probes.iter().find(|p| p.origin() == "own-host").unwrap();
    assert_eq!((own.pool(), own.monitor(), own.kind().as_str()), ("p", "m", "https"));
    assert_eq!((own.method(), own.path(), own.port()), ("HEAD", "/hc", 443));
    assert_eq!(own.host_header(), "origin.example.com", "the origin's Host wins");
    assert_eq!(own.sni(), Some("origin.example.com"));
    assert_eq!(own.headers().collect::<Vec<_>>(), [("X-Probe", "1"), ("X-Probe", "2")]);
    assert_eq!(own.timeout(), Duration::from_secs(3));
    assert_eq!(own.deadline(), Timestamp::from_millis(3_000));
    assert!(own.allow_insecure() && own.follow_redirects() && own.is_http());
    assert_eq!(own.body_limit(), crate::health::BODY_LIMIT);
    assert_eq!(own.probe_zone(), Some("example.com"));
    assert_eq!((own.vantage(), own.attempt()), (Vantage::LOCAL, 0));

    let mon = probes.iter().find(|p| p.origin() == "mon-host").unwrap();
    assert_eq!(mon.host_header(), "mon.example.com", "then the monitor's Host");
    assert_eq!(mon.port(), 8443, "the origin's port when the monitor has none");

    let tcp = probes.iter().find(|p| p.pool() == "t").unwrap();
    assert_eq!((tcp.port(), tcp.method(), tcp.path()), (2222, "connection_established", ""), "the monitor's port wins");
    assert_eq!(tcp.host_header(), "db.example.net", "then the address");
    assert_eq!(tcp.sni(), None);
    assert_eq!(tcp.body_limit(), 0);

    let icmp = probes.iter().find(|p| p.pool() == "i").unwrap();
    assert_eq!((icmp.port(), icmp.method()), (0, ""));
    assert!(!alloc::format!("{icmp:?}").is_empty());
}

#[test]
fn probes_follow_the_interval() {
    let mut sim = Sim::new(ONE);
    sim.run_until(35_000, &mut pass);
    let times: Vec<u64> = sim.probes.iter().map(|p| p.sent().as_millis()).collect();
    assert_eq!(times, [0, 10_000, 20_000, 30_000]);
    assert_eq!(sim.checker.poll_timeout(), Some(Timestamp::from_millis(40_000)));
    // A slow answer does not shift the schedule: the next round is due one
    // interval after the previous one began.
    sim.now = Timestamp::from_millis(40_000);
    sim.step(&mut |_| None);
    let probe = sim.pending[0].clone();
    sim.now = Timestamp::from_millis(41_500);
    sim.answer(&probe, Outcome::http(200));
    assert_eq!(sim.checker.poll_timeout(), Some(Timestamp::from_millis(50_000)));
}

#[test]
fn timeouts_are_retried_at_once_and_count_once() {
    let mut sim = Sim::new(ONE);
    sim.run_until(0, &mut pass);
    assert_eq!(sim.status("p", "a"), Status::Healthy);
    sim.events.clear();

    // Round 2: every attempt times out; retries=2 means three attempts.
    sim.now = Timestamp::from_millis(10_000);
    let mut attempts = Vec::new();
    sim.step(&mut |p| {
        attempts.push(p.attempt());
        Some(Outcome::timeout())
    });
    assert_eq!(attempts, [0, 1, 2], "retried immediately, up to `retries`");
    assert_eq!(sim.status("p", "a"), Status::Unhealthy, "only the exhausted retries fail");
    let [HealthEvent::Origin(event), HealthEvent::Pool(pool)] = &sim.events[..] else { panic!("{:?}", sim.events) };
    let Cause::Probe(report) = &event.cause else { panic!() };
    assert_eq!((report.failure, report.attempts, report.rtt), (Some(Failure::Timeout), 3, None));
    assert_eq!((pool.previous, pool.status), (PoolStatus::Healthy, PoolStatus::Critical));
    assert_eq!(sim.checker.poll_timeout(), Some(Timestamp::from_millis(20_000)), "from the round's start");

    // Round 3: a timeout, then the retry passes: healthy again.
    sim.now = Timestamp::from_millis(20_000);
    let mut first = true;
    sim.step(&mut |_| Some(if core::mem::take(&mut first) { Outcome::timeout() } else { Outcome::http(200) }));
    assert_eq!(sim.status("p", "a"), Status::Healthy);

    // Other failures are not retried.
    sim.now = Timestamp::from_millis(30_000);
    let handed = sim.step(&mut |_| Some(Outcome::failed(Failure::ConnectionRefused)));
    assert_eq!(handed, 1);
    assert_eq!(sim.status("p", "a"), Status::Unhealthy);
}

#[test]
fn lost_probes_time_out_by_themselves() {
    let mut sim = Sim::new(
        r#"{
        "monitors": [{"id": "m", "interval": 10, "timeout": 2, "retries": 1}],
        "pools": [{"id": "p", "name": "p", "monitor": "m", "origins": [{"name": "a", "address": "192.0.2.1"}]}]
    }"#,
    );
    sim.step(&mut |_| None);
    let lost = sim.pending[0].clone();
    let overdue = lost.deadline() + PROBE_GRACE;
    assert_eq!(sim.checker.poll_timeout(), Some(overdue));
    assert_eq!(sim.checker.in_flight(), 1);
    sim.now = overdue;
    sim.step(&mut |_| None);
    assert_eq!(sim.probes.last().unwrap().attempt(), 1, "the lost probe counted as a timeout and is retried");
    assert_eq!(
        sim.checker.handle_result(lost.id(), Outcome::http(200), sim.now),
        Err(ProbeError::UnknownProbe(lost.id())),
        "a late report is refused"
    );
    let retry = sim.probes.last().unwrap().clone();
    sim.now = retry.deadline() + PROBE_GRACE;
    sim.step(&mut |_| None);
    assert_eq!(sim.status("p", "a"), Status::Unhealthy);
}

#[test]
fn bad_reports_are_errors() {
    let mut sim = Sim::new(ONE);
    let bogus = ProbeId(999);
    assert_eq!(sim.checker.handle_result(bogus, Outcome::http(200), sim.now), Err(ProbeError::UnknownProbe(bogus)));
    assert_eq!(ProbeError::UnknownProbe(bogus).to_string(), "probe#999 is not in flight");
    sim.step(&mut pass);
    let done = sim.probes[0].id();
    assert!(sim.checker.handle_result(done, Outcome::http(200), sim.now).is_err(), "reported twice");
    // Time going backwards does no harm.
    sim.now = Timestamp::ZERO;
    assert!(sim.checker.poll_probe(sim.now).is_none());
}

#[test]
fn hysteresis_counts_consecutive_results() {
    let mut sim = Sim::new(
        r#"{
        "monitors": [{"id": "m", "interval": 10, "consecutive_up": 3, "consecutive_down": 2}],
        "pools": [{"id": "p", "name": "p", "monitor": "m", "origins": [{"name": "a", "address": "192.0.2.1"}]}]
    }"#,
    );
    let mut results = [true, true, false, true, true, true, false, true, false, false].into_iter();
    let mut seen = Vec::new();
    for round in 0..10u64 {
        sim.now = Timestamp::from_millis(round * 10_000);
        let passed = results.next().unwrap();
        sim.step(&mut |_| Some(if passed { Outcome::http(200) } else { Outcome::http(500) }));
        seen.push(sim.status("p", "a"));
    }
    use Status::*;
    assert_eq!(seen, [Unknown, Unknown, Unknown, Unknown, Unknown, Healthy, Healthy, Healthy, Healthy, Unhealthy]);
}

#[test]
fn consecutive_zero_acts_as_one() {
    // cloudflare-lb.md §1.1: consecutive_up / consecutive_down default to 0;
    // §2.1.2 (inferred) and guide.rs: 0 acts as 1, the first differing
    // result flips the status.
    let mut sim = Sim::new(
        r#"{
        "monitors": [{"id": "m", "interval": 10, "consecutive_up": 0, "consecutive_down": 0}],
        "pools": [{"id": "p", "name": "p", "monitor": "m", "origins": [{"name": "a", "address": "192.0.2.1"}]}]
    }"#,
    );
    let results = [true, false, true, true, false, false, true];
    let mut seen = Vec::new();
    for (round, passed) in results.into_iter().enumerate() {
        sim.now = Timestamp::from_millis(round as u64 * 10_000);
        sim.step(&mut |_| Some(if passed { Outcome::http(200) } else { Outcome::http(500) }));
        seen.push(sim.status("p", "a"));
    }
    use Status::*;
    assert_eq!(seen, [Healthy, Unhealthy, Healthy, Healthy, Unhealthy, Unhealthy, Healthy]);
}

#[test]
fn expected_code_lists_in_the_checker() {
    // cloudflare-lb.md §1.1: expected_codes is an individual code or an
    // `Nxx` range; the default is 200.
    for (codes, code, healthy) in [
        (r#""expected_codes": "2xx","#, 204, true),
        (r#""expected_codes": "2xx","#, 301, false),
        (r#""expected_codes": "200,302","#, 302, true),
        (r#""expected_codes": "200,302","#, 301, false),
        ("", 200, true),
        ("", 204, false),
    ] {
        let mut sim = Sim::new(&alloc::format!(
            r#"{{"monitors": [{{"id": "m", {codes} "interval": 10}}],
                "pools": [{{"id": "p", "name": "p", "monitor": "m", "origins": [{{"name": "a", "address": "192.0.2.1"}}]}}]}}"#
        ));
        sim.step(&mut |_| Some(Outcome::http(code)));
        let expected = if healthy { Status::Healthy } else { Status::Unhealthy };
        assert_eq!(sim.status("p", "a"), expected, "{codes} {code}");
    }
}

#[test]
fn judging_in_the_checker() {
    let mut sim = Sim::new(
        r#"{
        "monitors": [{"id": "m", "interval": 10, "expected_codes": "2xx", "expected_body": "alive"}],
        "pools": [{"id": "p", "name": "p", "monitor": "m", "origins": [{"name": "a", "address": "192.0.2.1"}]}]
    }"#,
    );
    sim.step(&mut |_| Some(Outcome::http(204).with_body(b"I am ALIVE")));
    assert_eq!(sim.status("p", "a"), Status::Healthy);
    sim.now = Timestamp::from_millis(10_000);
    sim.step(&mut |_| Some(Outcome::http(204).with_body(b"I am dead")));
    assert_eq!(sim.status("p", "a"), Status::Unhealthy);
    let HealthEvent::Origin(event) = &sim.events[sim.events.len() - 2] else { panic!("{:?}", sim.events) };
    let Cause::Probe(report) = &event.cause else { panic!() };
    assert_eq!((report.failure, report.code), (Some(Failure::ResponseBody), Some(204)));
    assert!(sim.event_lines()[2].contains("response body mismatch (204)"), "{:?}", sim.event_lines());
}

const REGIONS: &str = r#"{
    "monitors": [{"id": "m", "interval": 10}],
    "pools": [
        {"id": "all", "name": "all", "monitor": "m", "origins": [{"name": "a", "address": "192.0.2.1"}]},
        {"id": "eu", "name": "eu", "monitor": "m", "check_regions": ["WEU", "EEU"],
         "origins": [{"name": "a", "address": "192.0.2.2"}]},
        {"id": "elsewhere", "name": "elsewhere", "monitor": "m", "check_regions": ["SAF"],
         "origins": [{"name": "a", "address": "192.0.2.3"}]}
    ]
}"#;

fn three_regions() -> CheckerConfig {
    CheckerConfig::new().vantage_points(Region::Weu, 3).vantage_points(Region::Enam, 3).vantage_points(Region::Seas, 3)
}

#[test]
fn check_regions_choose_vantage_points() {
    let mut sim = Sim::with_config(REGIONS, three_regions());
    sim.step(&mut |_| None);
    let regions = |pool: &str| {
        let mut r: Vec<_> = sim.probes.iter().filter(|p| p.pool() == pool).map(|p| p.vantage()).collect();
        r.sort();
        r
    };
    assert_eq!(regions("all").len(), 9);
    let eu = regions("eu");
    assert_eq!(eu.len(), 3, "only WEU is configured of WEU and EEU");
    assert!(eu.iter().all(|v| v.region() == Some(Region::Weu)));
    assert_eq!(eu.iter().map(|v| v.index()).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(regions("elsewhere").len(), 9, "no configured vantage point in SAF: all of them");
    assert_eq!(eu[1].to_string(), "WEU#1");
}

#[test]
fn quorum_of_vantage_points_and_regions() {
    let mut sim = Sim::with_config(REGIONS, three_regions());
    // WEU: 2 of 3 pass (healthy); ENAM: 1 of 3 (unhealthy); SEAS: 2 of 3.
    let verdict = |p: &crate::health::Probe| {
        let v = p.vantage();
        let pass = match v.region() {
            Some(Region::Weu) | Some(Region::Seas) => v.index() < 2,
            _ => v.index() < 1,
        };
        Some(if pass { Outcome::http(200) } else { Outcome::http(500) })
    };
    sim.step(&mut { verdict });
    assert_eq!(sim.status("all", "a"), Status::Healthy, "2 of 3 regions");
    assert_eq!(sim.status("eu", "a"), Status::Healthy, "WEU alone");

    // Stricter: every region must be healthy.
    let mut strict = Sim::with_config(REGIONS, three_regions().origin_quorum(crate::health::Quorum::at_least(100)));
    strict.step(&mut { verdict });
    assert_eq!(strict.status("all", "a"), Status::Unhealthy);
}

#[test]
fn quorum_waits_for_enough_votes() {
    let mut sim = Sim::with_config(REGIONS, CheckerConfig::new().vantage_points(Region::Weu, 3));
    sim.step(&mut |_| None);
    let eu: Vec<_> = sim.pending.iter().filter(|p| p.pool() == "eu").cloned().collect();
    sim.answer(&eu[0], Outcome::http(200));
    assert_eq!(sim.status("eu", "a"), Status::Unknown, "1 of 3");
    sim.answer(&eu[1], Outcome::http(500));
    assert_eq!(sim.status("eu", "a"), Status::Unknown, "1 of 3 passed, 1 failed, 1 still out");
    sim.answer(&eu[2], Outcome::http(200));
    assert_eq!(sim.status("eu", "a"), Status::Healthy);
}

const GROUP: &str = r#"{
    "monitors": [{"id": "web", "interval": 10}, {"id": "api", "interval": 30},
                 {"id": "db", "type": "tcp", "port": 5432, "interval": 10},
                 {"id": "watch", "interval": 10}, {"id": "off", "interval": 10}],
    "monitor_groups": [{"id": "g", "members": [
        {"monitor_id": "web"},
        {"monitor_id": "api"},
        {"monitor_id": "db", "must_be_healthy": true},
        {"monitor_id": "watch", "monitoring_only": true},
        {"monitor_id": "off", "enabled": false}]}],
    "pools": [{"id": "p", "name": "p", "monitor_group": "g", "origins": [{"name": "a", "address": "192.0.2.1"}]}]
}"#;

#[test]
fn monitor_groups_vote() {
    let mut sim = Sim::new(GROUP);
    assert_eq!(sim.checker.targets(), 4, "the disabled member does not probe");
    let answer = |web: bool, api: bool, db: bool, watch: bool| {
        move |p: &crate::health::Probe| {
            let pass = match p.monitor() {
                "web" => web,
                "api" => api,
                "db" => db,
                _ => watch,
            };
            Some(match (pass, p.is_http()) {
                (true, true) => Outcome::http(200),
                (true, false) => Outcome::success(),
                (false, _) => Outcome::failed(Failure::ConnectionRefused),
            })
        }
    };
    sim.step(&mut answer(true, false, true, false));
    assert_eq!(sim.status("p", "a"), Status::Healthy, "1 of 3 voters failing is no majority; watch does not vote");

    sim.now = Timestamp::from_millis(10_000);
    sim.step(&mut answer(true, false, false, true));
    assert_eq!(sim.status("p", "a"), Status::Unhealthy, "db must be healthy");
    assert_eq!(sim.probes_at(10_000).len(), 3, "api runs every 30 s; its last result stands meanwhile");

    sim.now = Timestamp::from_millis(20_000);
    sim.step(&mut answer(false, true, true, true));
    assert_eq!(sim.status("p", "a"), Status::Unhealthy, "web and (still) api: 2 of 3 voters");

    sim.now = Timestamp::from_millis(30_000);
    sim.step(&mut answer(false, true, true, true));
    assert_eq!(sim.status("p", "a"), Status::Healthy, "api recovered: 1 of 3");
}

#[test]
fn pool_status_and_events() {
    let mut sim = Sim::new(
        r#"{
        "monitors": [{"id": "m", "interval": 10}],
        "pools": [{"id": "p", "name": "p", "monitor": "m", "minimum_origins": 2, "origins": [
            {"name": "a", "address": "192.0.2.1"}, {"name": "b", "address": "192.0.2.2"},
            {"name": "c", "address": "192.0.2.3"}, {"name": "off", "address": "192.0.2.4", "enabled": false}]},
                  {"id": "u", "name": "u", "origins": [{"name": "a", "address": "192.0.2.9"}]}]
    }"#,
    );
    assert_eq!(sim.checker.pool_status("p"), Some(PoolStatus::Unknown));
    assert_eq!(sim.checker.pool_status("u"), Some(PoolStatus::Unmonitored));
    assert_eq!(sim.checker.pool_status("nope"), None);
    let down = |bad: &'static [&'static str]| {
        move |p: &crate::health::Probe| Some(Outcome::http(if bad.contains(&p.origin()) { 500 } else { 200 }))
    };
    sim.step(&mut down(&[]));
    assert_eq!(sim.checker.pool_status("p"), Some(PoolStatus::Healthy), "the disabled origin does not count");
    sim.now = Timestamp::from_millis(10_000);
    sim.step(&mut down(&["a"]));
    assert_eq!(sim.checker.pool_status("p"), Some(PoolStatus::Degraded));
    sim.now = Timestamp::from_millis(20_000);
    sim.step(&mut down(&["a", "b"]));
    assert_eq!(sim.checker.pool_status("p"), Some(PoolStatus::Critical));
    let snapshot = sim.table.pool_id("p").unwrap();
    assert_eq!(sim.health.healthy_origins(snapshot), Some(1));

    let pools: Vec<_> = sim
        .events
        .iter()
        .filter_map(|e| match e {
            HealthEvent::Pool(p) => Some((p.previous, p.status, p.healthy)),
            _ => None,
        })
        .collect();
    use PoolStatus::*;
    assert_eq!(
        pools,
        [(Unknown, Degraded, 2), (Degraded, Healthy, 3), (Healthy, Degraded, 2), (Degraded, Critical, 1)]
    );
    let lines = sim.event_lines();
    assert!(lines.iter().any(|l| l == "origin \"b\" of pool \"p\": healthy -> unhealthy, monitor \"m\" from local: response code mismatch (500) in 0ms"), "{lines:#?}");
    assert!(
        lines.iter().any(|l| l.starts_with("pool \"p\": degraded -> critical (1 healthy, minimum_origins 2)")),
        "{lines:#?}"
    );
    assert_eq!(sim.checker.pool_statuses().count(), 2);
}

#[test]
fn rtt_is_averaged_per_pool_and_region() {
    let mut sim = Sim::with_config(REGIONS, three_regions().rtt_alpha(0.5));
    let pool = sim.table.pool_id("eu").unwrap();
    for (round, rtt) in [(0u64, 40u64), (10_000, 20), (20_000, 100)] {
        sim.now = Timestamp::from_millis(round);
        sim.step(&mut |_| Some(Outcome::http(200).with_rtt(Duration::from_millis(rtt))));
    }
    let weu = sim.health.pool_rtt_ms(pool, Region::Weu).unwrap();
    // Samples: 40,40,40, 20,20,20, 100,100,100 with α = 0.5.
    let mut avg = 40.0;
    for sample in [40.0, 40.0, 20.0, 20.0, 20.0, 100.0, 100.0, 100.0] {
        avg = 0.5 * sample + 0.5 * avg;
    }
    assert!((weu - avg).abs() < 1e-9, "{weu} vs {avg}");
    assert_eq!(sim.checker.pool_rtt_ms("eu", Region::Weu), Some(weu));
    assert_eq!(sim.health.pool_rtt_ms(pool, Region::Enam), None, "eu is only probed from WEU");
    let all = sim.table.pool_id("all").unwrap();
    assert!(sim.health.pool_rtt_ms(all, Region::Seas).is_some());
    assert_eq!(sim.health.pool_rtt_ms(all, Region::Saf), None);

    // Failing probes do not feed the average.
    sim.now = Timestamp::from_millis(30_000);
    sim.step(&mut |_| Some(Outcome::http(500).with_rtt(Duration::from_millis(1))));
    assert_eq!(sim.health.pool_rtt_ms(pool, Region::Weu), Some(weu));
}

#[test]
fn local_rtt_stands_for_every_region() {
    let mut sim = Sim::new(ONE);
    sim.step(&mut pass);
    let pool = sim.table.pool_id("p").unwrap();
    for region in Region::ALL {
        assert_eq!(sim.health.pool_rtt_ms(pool, region), Some(10.0));
    }
}

#[test]
fn rtt_without_a_measurement_is_the_time_to_report() {
    let mut sim = Sim::new(ONE);
    sim.step(&mut |_| None);
    let probe = sim.pending[0].clone();
    sim.advance(35);
    sim.answer(&probe, Outcome::http(200));
    let pool = sim.table.pool_id("p").unwrap();
    assert_eq!(sim.health.pool_rtt_ms(pool, Region::Weu), Some(35.0));
}

// Reloads.

const BEFORE: &str = r#"{
    "monitors": [{"id": "m", "interval": 60, "expected_codes": "200"}, {"id": "other", "interval": 60}],
    "pools": [
        {"id": "p", "name": "p", "monitor": "m", "origins": [
            {"name": "keep", "address": "192.0.2.1"}, {"name": "drop", "address": "192.0.2.2"}]},
        {"id": "q", "name": "q", "monitor": "m", "origins": [{"name": "x", "address": "192.0.2.5"}]}
    ]
}"#;

#[test]
fn reload_keeps_unchanged_state() {
    let mut sim = Sim::new(BEFORE);
    sim.step(&mut pass);
    assert_eq!(sim.status("p", "keep"), Status::Healthy);
    sim.now = Timestamp::from_millis(60_000);
    sim.step(&mut |_| None);
    let drop_probe = sim.pending.iter().find(|p| p.origin() == "drop").unwrap().clone();
    let keep_probe = sim.pending.iter().find(|p| p.origin() == "keep").unwrap().clone();
    sim.events.clear();

    // `drop` goes, `new` comes, `m` now wants 2xx and probes every 10 s.
    sim.reload(
        r#"{
        "monitors": [{"id": "m", "interval": 10, "expected_codes": "2xx"}, {"id": "other", "interval": 60}],
        "pools": [
            {"id": "p", "name": "p", "monitor": "m", "origins": [
                {"name": "new", "address": "192.0.2.3"}, {"name": "keep", "address": "192.0.2.1"}]},
            {"id": "q", "name": "q", "monitor": "other", "origins": [{"name": "x", "address": "192.0.2.5"}]}
        ]
    }"#,
    );
    assert_eq!(sim.status("p", "keep"), Status::Healthy, "kept");
    assert_eq!(sim.status("p", "new"), Status::Unknown, "new ones start unknown");
    assert_eq!(sim.status("q", "x"), Status::Unknown, "another monitor: a new target");
    assert_eq!(
        sim.checker.handle_result(drop_probe.id(), Outcome::http(200), sim.now),
        Err(ProbeError::UnknownProbe(drop_probe.id()))
    );
    assert_eq!(sim.checker.in_flight(), 1, "the kept probe is still in flight");
    assert_eq!(
        sim.event_lines(),
        [
            "pool \"p\": healthy -> degraded (1 healthy, minimum_origins 1), after a reload",
            "origin \"x\" of pool \"q\": healthy -> unknown, after a reload",
            "pool \"q\": healthy -> unknown (0 healthy, minimum_origins 1), after a reload",
        ]
    );

    // The probe in flight is judged by the settings it was sent with (200).
    sim.answer(&keep_probe, Outcome::http(204));
    assert_eq!(sim.status("p", "keep"), Status::Unhealthy);
    // The new interval applies from the round in flight: due at 60 + 10 s.
    sim.step(&mut |_| None);
    let new = sim.probes.iter().filter(|p| p.origin() == "new").count();
    assert_eq!(new, 1, "the new origin is probed at once");
    sim.run_until(70_000, &mut |_| Some(Outcome::http(204)));
    assert_eq!(sim.status("p", "keep"), Status::Healthy, "the next probe uses 2xx");
    assert!(sim.probes_at(70_000).iter().any(|p| p.origin() == "keep"));
}

#[test]
fn reload_shortens_a_long_wait() {
    let mut sim = Sim::new(BEFORE);
    sim.step(&mut pass);
    assert_eq!(sim.checker.poll_timeout(), Some(Timestamp::from_millis(60_000)));
    sim.reload(&BEFORE.replace("\"interval\": 60, \"expected_codes\"", "\"interval\": 15, \"expected_codes\""));
    assert_eq!(sim.checker.poll_timeout(), Some(Timestamp::from_millis(15_000)));
}

#[test]
fn reload_disabling_and_reenabling() {
    let mut sim = Sim::new(BEFORE);
    sim.step(&mut pass);
    sim.events.clear();
    sim.reload(&BEFORE.replace(r#""id": "q", "name": "q","#, r#""id": "q", "name": "q", "enabled": false,"#));
    assert_eq!(sim.checker.pool_status("q"), Some(PoolStatus::Disabled));
    assert_eq!(sim.status("q", "x"), Status::Unknown, "not checked any more");
    assert!(
        matches!(&sim.events[..], [HealthEvent::Origin(_), HealthEvent::Pool(e)] if e.status == PoolStatus::Disabled && e.cause == Cause::Reconfigured),
        "{:?}",
        sim.events
    );
    sim.reload(BEFORE);
    assert_eq!(sim.status("q", "x"), Status::Unknown, "starts over");
    sim.step(&mut pass);
    assert_eq!(sim.status("q", "x"), Status::Healthy);
    assert_eq!(sim.status("p", "keep"), Status::Healthy);
}

#[test]
fn reload_keeps_rtt_and_vantage_state() {
    let mut sim = Sim::with_config(REGIONS, three_regions());
    sim.step(&mut pass);
    let before = sim.checker.pool_rtt_ms("all", Region::Weu);
    assert!(before.is_some());
    // eu now also checks from ENAM: 3 new vantage points, unknown; WEU kept.
    sim.reload(&REGIONS.replace(r#"["WEU", "EEU"]"#, r#"["WEU", "ENAM"]"#));
    assert_eq!(sim.checker.pool_rtt_ms("all", Region::Weu), before);
    assert_eq!(sim.status("eu", "a"), Status::Unknown, "WEU healthy, ENAM unknown: 1 of 2 regions");
    let handed = sim.step(&mut pass);
    assert_eq!(handed, 3, "only the new vantage points are due");
    assert_eq!(sim.status("eu", "a"), Status::Healthy);
}

#[test]
fn manual_and_checker_statuses_meet_in_the_registry() {
    let mut sim = Sim::new(ONE);
    sim.registry.set_status("p", "a", Status::Healthy).unwrap();
    sim.reload(ONE);
    assert_eq!(sim.status("p", "a"), Status::Unknown, "the checker owns monitored origins");
}

#[test]
fn a_group_of_observers_never_fails_an_origin() {
    let mut sim = Sim::new(
        r#"{
        "monitors": [{"id": "watch"}],
        "monitor_groups": [{"id": "g", "members": [{"monitor_id": "watch", "monitoring_only": true}]}],
        "pools": [{"id": "p", "name": "p", "monitor_group": "g", "origins": [{"name": "a", "address": "192.0.2.1"}]}]
    }"#,
    );
    sim.step(&mut fail);
    assert_eq!(sim.status("p", "a"), Status::Healthy);
    let pool = sim.table.pool_id("p").unwrap();
    assert_eq!(sim.health.pool_rtt_ms(pool, Region::Weu), None, "monitoring-only members do not feed RTT");
}

#[test]
fn events_are_bounded() {
    let mut sim = Sim::new(ONE);
    for round in 0..(crate::health::MAX_EVENTS as u64 + 10) {
        sim.now = Timestamp::from_millis(round * 10_000);
        while let Some(p) = sim.checker.poll_probe(sim.now) {
            let code = if round % 2 == 0 { 200 } else { 500 };
            sim.checker.handle_result(p.id(), Outcome::http(code), sim.now).unwrap();
        }
    }
    let mut count = 0;
    while sim.checker.poll_event().is_some() {
        count += 1;
    }
    assert_eq!(count, crate::health::MAX_EVENTS);
}

#[test]
fn nothing_monitored_means_no_wakeups() {
    let mut sim =
        Sim::new(r#"{"pools": [{"id": "u", "name": "u", "origins": [{"name": "a", "address": "192.0.2.9"}]}]}"#);
    assert_eq!(sim.checker.poll_timeout(), None);
    assert_eq!(sim.step(&mut pass), 0);
    assert!(!alloc::format!("{:?}", sim.checker).is_empty());
}
