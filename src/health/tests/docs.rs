//! The health checker against cloudflare-lb.md §1.1, §1.2, §2.1, §2.2, and
//! against DESIGN.md / `guide::semantics` where the documentation leaves a
//! choice (those tests say so in their names).

use alloc::vec::Vec;
use core::time::Duration;

use super::{Sim, pass};
use crate::geo::Region;
use crate::health::{
    Cause, CheckerConfig, DEFAULT_RTT_ALPHA, Failure, HealthEvent, Outcome, PoolStatus, Probe, Status, Timestamp,
};

fn first<'a>(sim: &'a Sim, pool: &str) -> &'a Probe {
    sim.probes.iter().find(|p| p.pool() == pool).unwrap()
}

// (1) The probe spec.

/// §1.1 `method` "GET" for HTTP(S), `path` "/", `port` 0 = protocol default
/// (HTTP 80, HTTPS 443), `timeout` 5, `allow_insecure` and
/// `follow_redirects` false, no headers.
#[test]
fn probe_defaults_of_an_http_monitor() {
    let mut sim = Sim::new(
        r#"{
        "monitors": [{"id": "h"}, {"id": "s", "type": "https"}],
        "pools": [
            {"id": "h", "name": "h", "monitor": "h", "origins": [{"name": "a", "address": "192.0.2.1"}]},
            {"id": "s", "name": "s", "monitor": "s", "origins": [{"name": "a", "address": "192.0.2.2"}]}]
    }"#,
    );
    sim.step(&mut |_| None);
    let h = first(&sim, "h");
    assert_eq!((h.method(), h.path(), h.port(), h.timeout()), ("GET", "/", 80, Duration::from_secs(5)));
    assert!(!h.allow_insecure() && !h.follow_redirects());
    assert_eq!(h.headers().len(), 0);
    assert_eq!((h.host_header(), h.sni()), ("192.0.2.1", None), "the address stands in; no server name");
    assert_eq!(h.body_limit(), 0, "no expected_body: no body needed");
    let s = first(&sim, "s");
    assert_eq!((s.method(), s.path(), s.port()), ("GET", "/", 443));
}

/// §1.1 Host header: origin `header.Host` > monitor `header.Host` > origin
/// `address`; a monitor's `host` key (any case) is the Host header, not an
/// extra header sent twice; the other headers pass through with every
/// value.
#[test]
fn host_header_precedence_and_no_duplicate_host() {
    let mut sim = Sim::new(
        r#"{
        "monitors": [{"id": "m", "header": {"hOsT": ["mon.example.com"], "X-A": ["1"], "Accept": ["a", "b"]}},
                     {"id": "bare"}],
        "pools": [
            {"id": "p", "name": "p", "monitor": "m", "origins": [
                {"name": "own", "address": "192.0.2.1", "header": {"Host": ["own.example.com"]}},
                {"name": "mon", "address": "192.0.2.2"}]},
            {"id": "q", "name": "q", "monitor": "bare", "origins": [
                {"name": "own", "address": "192.0.2.3", "header": {"Host": ["own.example.com"]}},
                {"name": "addr", "address": "origin.example.net"}]}]
    }"#,
    );
    sim.step(&mut |_| None);
    let find = |pool: &str, origin: &str| sim.probes.iter().find(|p| p.pool() == pool && p.origin() == origin).unwrap();
    assert_eq!(find("p", "own").host_header(), "own.example.com");
    assert_eq!(find("p", "mon").host_header(), "mon.example.com");
    assert_eq!(find("q", "own").host_header(), "own.example.com", "origin Host without a monitor Host");
    assert_eq!(find("q", "addr").host_header(), "origin.example.net");
    assert_eq!(find("q", "addr").sni(), None, "no Host set: no server name");
    let mut headers: Vec<_> = find("p", "mon").headers().collect();
    headers.sort();
    assert_eq!(headers, [("Accept", "a"), ("Accept", "b"), ("X-A", "1")]);
    assert!(find("p", "own").headers().all(|(n, _)| !n.eq_ignore_ascii_case("host")));
}

/// §1.1 `port`: the monitor's port, else the origin's, else the protocol
/// default. Docs give HTTP 80 and HTTPS 443 and call the port "required for
/// TCP, UDP, SMTP"; lbsteer compiles a portless TCP/UDP/SMTP monitor with a
/// warning and falls back to TCP 80, SMTP 25, UDP-ICMP none (0): that
/// choice is pinned here.
#[test]
fn port_precedence_and_lbsteer_defaults_for_tcp_smtp_udp() {
    let mut sim = Sim::new(
        r#"{
        "monitors": [{"id": "https", "type": "https", "port": 8443}, {"id": "https0", "type": "https"},
                     {"id": "tcp", "type": "tcp"}, {"id": "smtp", "type": "smtp"},
                     {"id": "udp", "type": "udp_icmp"}],
        "pools": [
            {"id": "mon", "name": "mon", "monitor": "https", "origins": [{"name": "a", "address": "192.0.2.1", "port": 9000}]},
            {"id": "org", "name": "org", "monitor": "https0", "origins": [{"name": "a", "address": "192.0.2.2", "port": 9000}]},
            {"id": "tcp", "name": "tcp", "monitor": "tcp", "origins": [{"name": "a", "address": "192.0.2.3"}]},
            {"id": "tcp-origin", "name": "tcp-origin", "monitor": "tcp", "origins": [{"name": "a", "address": "192.0.2.3", "port": 5432}]},
            {"id": "smtp", "name": "smtp", "monitor": "smtp", "origins": [{"name": "a", "address": "192.0.2.4"}]},
            {"id": "udp", "name": "udp", "monitor": "udp", "origins": [{"name": "a", "address": "192.0.2.5"}]}]
    }"#,
    );
    sim.step(&mut |_| None);
    assert_eq!(first(&sim, "mon").port(), 8443, "the monitor's port beats the origin's");
    assert_eq!(first(&sim, "org").port(), 9000, "the origin's port beats the protocol default");
    assert_eq!(first(&sim, "tcp").port(), 80);
    assert_eq!(first(&sim, "tcp-origin").port(), 5432);
    assert_eq!(first(&sim, "smtp").port(), 25);
    assert_eq!(first(&sim, "udp").port(), 0);
}

/// §1.1 `method` defaults to `connection_established` for TCP; `path` is
/// "HTTP(S) only": a TCP monitor carrying the API's `"path": "/"` probes no
/// path (as `Probe::path` documents).
#[test]
fn tcp_probe_has_connection_established_and_no_path() {
    let mut sim = Sim::new(
        r#"{
        "monitors": [{"id": "tcp", "type": "tcp", "port": 22, "path": "/", "method": "connection_established"},
                     {"id": "icmp", "type": "icmp_ping", "path": "/health"}],
        "pools": [
            {"id": "t", "name": "t", "monitor": "tcp", "origins": [{"name": "a", "address": "192.0.2.1"}]},
            {"id": "i", "name": "i", "monitor": "icmp", "origins": [{"name": "a", "address": "192.0.2.2"}]}]
    }"#,
    );
    sim.step(&mut |_| None);
    let t = first(&sim, "t");
    assert_eq!((t.method(), t.path(), t.is_http()), ("connection_established", "", false));
    assert_eq!(first(&sim, "i").path(), "");
}

// (2) Scheduling.

const SLOW: &str = r#"{
    "monitors": [{"id": "m", "interval": 10, "timeout": 10, "retries": 3}],
    "pools": [{"id": "p", "name": "p", "monitor": "m", "origins": [{"name": "a", "address": "192.0.2.1"}]}]
}"#;

/// §1.1 `retries`: "in case of a timeout"; a wrong status code fails at
/// once, without a retry.
#[test]
fn wrong_status_is_not_retried() {
    let mut sim = Sim::new(SLOW);
    assert_eq!(sim.step(&mut |_| Some(Outcome::http(500))), 1);
    assert_eq!(sim.status("p", "a"), Status::Unhealthy);
    assert_eq!(sim.checker.poll_timeout(), Some(Timestamp::from_millis(10_000)), "next round, not a retry");
    let [HealthEvent::Origin(e), ..] = &sim.events[..] else { panic!("{:?}", sim.events) };
    let Cause::Probe(report) = &e.cause else { panic!() };
    assert_eq!((report.attempts, report.failure, report.code), (1, Some(Failure::ResponseCode), Some(500)));
}

/// `interval` between probes: a probe still in flight when the next round
/// is due is not handed out again; its round follows its report at once.
#[test]
fn a_probe_in_flight_is_not_reissued() {
    let mut sim = Sim::new(SLOW);
    sim.step(&mut |_| None);
    sim.now = Timestamp::from_millis(10_000);
    assert_eq!(sim.step(&mut |_| None), 0, "due, but still in flight");
    assert_eq!(sim.checker.in_flight(), 1);
    sim.now = Timestamp::from_millis(10_500);
    let probe = sim.pending[0].clone();
    sim.answer(&probe, Outcome::http(200));
    assert_eq!(sim.checker.poll_timeout(), Some(Timestamp::from_millis(10_000)), "overdue: now");
    assert_eq!(sim.step(&mut pass), 1);
    assert_eq!(sim.probes.len(), 2);
}

/// Retries are immediate (§1.1) and the round still counts from its first
/// attempt: three timeouts of 10 s with `interval` 10 leave the next round
/// due at once.
#[test]
fn retries_are_immediate_and_keep_the_round() {
    let mut sim = Sim::new(SLOW);
    sim.step(&mut |_| None);
    for at in [10_000u64, 20_000, 30_000] {
        sim.now = Timestamp::from_millis(at);
        let probe = sim.pending.pop().unwrap();
        sim.answer(&probe, Outcome::timeout());
        assert_eq!(sim.checker.poll_timeout(), Some(sim.now), "retry due immediately");
        sim.step(&mut |_| None);
        assert_eq!(sim.probes.last().unwrap().sent(), sim.now);
    }
    assert_eq!(sim.probes.iter().map(|p| p.attempt()).collect::<Vec<_>>(), [0, 1, 2, 3]);
    assert_eq!(sim.status("p", "a"), Status::Unknown, "no verdict before the last retry");
}

/// Reload: changed monitor settings (path, headers, method, timeout) apply
/// on the next probe; the origin keeps its status.
#[test]
fn reload_applies_changed_probe_settings_on_the_next_probe() {
    let mut sim = Sim::new(SLOW);
    sim.step(&mut pass);
    assert_eq!(sim.status("p", "a"), Status::Healthy);
    sim.reload(
        &SLOW
            .replace(r#""retries": 3}"#, r#""retries": 3, "path": "/v2", "method": "HEAD", "header": {"X-V": ["2"]}}"#),
    );
    assert_eq!(sim.status("p", "a"), Status::Healthy);
    assert_eq!(sim.checker.poll_timeout(), Some(Timestamp::from_millis(10_000)), "schedule kept");
    sim.now = Timestamp::from_millis(10_000);
    sim.step(&mut pass);
    let next = sim.probes.last().unwrap();
    assert_eq!((next.method(), next.path()), ("HEAD", "/v2"));
    assert_eq!(next.headers().collect::<Vec<_>>(), [("X-V", "2")]);
}

/// Reload: an origin whose probe endpoint changed (a new address, port or
/// `Host`, same name) is not the endpoint that was judged healthy: it
/// starts unknown and is probed at once. Issue 5: "a reload keeps the state
/// of unchanged origins, starts new ones as unknown".
#[test]
fn reload_with_a_changed_endpoint_starts_over() {
    for (what, changed) in [
        ("address", SLOW.replace("192.0.2.1", "192.0.2.9")),
        ("port", SLOW.replace(r#""address": "192.0.2.1""#, r#""address": "192.0.2.1", "port": 8080"#)),
        (
            "Host",
            SLOW.replace(r#""address": "192.0.2.1""#, r#""address": "192.0.2.1", "header": {"Host": ["b.example"]}"#),
        ),
    ] {
        let mut sim = Sim::new(SLOW);
        sim.step(&mut pass);
        assert_eq!(sim.status("p", "a"), Status::Healthy);
        sim.reload(&changed);
        assert_eq!(sim.status("p", "a"), Status::Unknown, "{what}");
        assert_eq!(sim.checker.poll_timeout(), Some(sim.now), "{what}: due at once");
        sim.step(&mut pass);
        assert_eq!(sim.status("p", "a"), Status::Healthy, "{what}");
        assert_eq!(sim.probes.last().unwrap().address(), if what == "address" { "192.0.2.9" } else { "192.0.2.1" });
    }
}

// (3) Monitor groups.

fn group(members: &str) -> alloc::string::String {
    alloc::format!(
        r#"{{
        "monitors": [{{"id": "a", "interval": 10}}, {{"id": "b", "interval": 10}}, {{"id": "c", "interval": 10}},
                     {{"id": "d", "interval": 10}}],
        "monitor_groups": [{{"id": "g", "members": [{members}]}}],
        "pools": [{{"id": "p", "name": "p", "monitor_group": "g", "origins": [{{"name": "o", "address": "192.0.2.1"}}]}}]
    }}"#
    )
}

fn by_monitor(failing: &'static [&'static str]) -> impl FnMut(&Probe) -> Option<Outcome<'static>> {
    move |p| Some(Outcome::http(if failing.contains(&p.monitor()) { 500 } else { 200 }))
}

/// §1.2 "unhealthy only if more than 50% of the voting monitors report it
/// unhealthy": 2 of 4 is a tie, not more than half.
#[test]
fn group_tie_is_healthy() {
    let json = group(r#"{"monitor_id": "a"}, {"monitor_id": "b"}, {"monitor_id": "c"}, {"monitor_id": "d"}"#);
    let mut sim = Sim::new(&json);
    sim.step(&mut by_monitor(&["a", "b"]));
    assert_eq!(sim.status("p", "o"), Status::Healthy, "2 of 4");
    let mut sim = Sim::new(&json);
    sim.step(&mut by_monitor(&["a", "b", "c"]));
    assert_eq!(sim.status("p", "o"), Status::Unhealthy, "3 of 4");
}

/// §1.2: `monitoring_only` and disabled members do not vote; the majority
/// is of the voters only (1 voter failing of 2 voters is a tie).
#[test]
fn group_majority_counts_voters_only() {
    let json = group(
        r#"{"monitor_id": "a"}, {"monitor_id": "b"},
           {"monitor_id": "c", "monitoring_only": true}, {"monitor_id": "d", "enabled": false}"#,
    );
    let mut sim = Sim::new(&json);
    assert_eq!(sim.checker.targets(), 3, "the disabled member does not probe");
    sim.step(&mut by_monitor(&["a", "c", "d"]));
    assert_eq!(sim.status("p", "o"), Status::Healthy);
    assert!(sim.probes.iter().all(|p| p.monitor() != "d"));
}

/// §1.2 `must_be_healthy`: one failing critical member makes the origin
/// unhealthy although every other voter passes; a disabled critical member
/// vetoes nothing.
#[test]
fn must_be_healthy_vetoes_unless_disabled() {
    let json = group(
        r#"{"monitor_id": "a"}, {"monitor_id": "b"}, {"monitor_id": "c", "must_be_healthy": true},
           {"monitor_id": "d", "must_be_healthy": true, "enabled": false}"#,
    );
    let mut sim = Sim::new(&json);
    sim.step(&mut by_monitor(&["c"]));
    assert_eq!(sim.status("p", "o"), Status::Unhealthy);
    let [HealthEvent::Origin(e), ..] = &sim.events[..] else { panic!("{:?}", sim.events) };
    let Cause::Probe(report) = &e.cause else { panic!() };
    assert_eq!(&*report.monitor, "c", "the event names the vetoing monitor");
    let mut sim = Sim::new(&json);
    sim.step(&mut by_monitor(&["d"]));
    assert_eq!(sim.status("p", "o"), Status::Healthy);
}

/// The documentation is silent on a group with no voter; the guide
/// (`semantics`, Health) says it "never marks an origin unhealthy". Pinned
/// for a group whose members are all disabled (nothing is probed).
#[test]
fn guide_choice_group_without_voters_is_healthy_even_when_all_disabled() {
    let json = group(r#"{"monitor_id": "a", "enabled": false}, {"monitor_id": "b", "enabled": false}"#);
    let mut sim = Sim::new(&json);
    assert_eq!(sim.checker.targets(), 0);
    assert_eq!(sim.step(&mut pass), 0, "nothing to probe");
    assert_eq!(sim.status("p", "o"), Status::Healthy);
    assert_eq!(sim.checker.pool_status("p"), Some(PoolStatus::Healthy));
}

// (4) Pool status.

/// §2.2: Critical when fewer than `minimum_origins` are healthy, even when
/// every enabled origin is; `minimum_origins: 0` never goes critical.
#[test]
fn pool_status_follows_minimum_origins() {
    let json = r#"{
        "monitors": [{"id": "m", "interval": 10}],
        "pools": [
            {"id": "three", "name": "three", "monitor": "m", "minimum_origins": 3, "origins": [
                {"name": "a", "address": "192.0.2.1"}, {"name": "b", "address": "192.0.2.2"},
                {"name": "c", "address": "192.0.2.3", "enabled": false}]},
            {"id": "zero", "name": "zero", "monitor": "m", "minimum_origins": 0, "origins": [
                {"name": "a", "address": "192.0.2.4"}]}]
    }"#;
    let mut sim = Sim::new(json);
    sim.step(&mut pass);
    assert_eq!(sim.checker.pool_status("three"), Some(PoolStatus::Critical), "2 healthy, 3 needed");
    let mut sim = Sim::new(json);
    sim.step(&mut super::fail);
    assert_eq!(sim.checker.pool_status("zero"), Some(PoolStatus::Degraded), "0 of 0 needed: still serves");
    assert!(PoolStatus::Degraded.serves());
}

// (5) Events.

/// Every transition is an event with its reason: failure, code and RTT of
/// the deciding probe, and the pool's change with the same cause.
#[test]
fn every_transition_has_its_reason() {
    let mut sim = Sim::new(
        r#"{
        "monitors": [{"id": "m", "interval": 10, "timeout": 2, "retries": 1, "expected_body": "ok"}],
        "pools": [{"id": "p", "name": "p", "monitor": "m", "origins": [{"name": "a", "address": "192.0.2.1"}]}]
    }"#,
    );
    let outcomes = [
        Outcome::http(200).with_body(b"ok").with_rtt(Duration::from_millis(7)),
        Outcome::http(200).with_body(b"nope").with_rtt(Duration::from_millis(8)),
        Outcome::http(200).with_body(b"OK").with_rtt(Duration::from_millis(9)),
        Outcome::failed(Failure::Tls),
    ];
    for (round, outcome) in outcomes.into_iter().enumerate() {
        sim.now = Timestamp::from_millis(round as u64 * 10_000);
        sim.step(&mut |_| Some(outcome));
    }
    let origins: Vec<_> = sim
        .events
        .iter()
        .filter_map(|e| match e {
            HealthEvent::Origin(e) => match &e.cause {
                Cause::Probe(r) => Some((e.previous, e.status, r.failure, r.code, r.rtt.map(|d| d.as_millis()))),
                Cause::Reconfigured => None,
            },
            _ => None,
        })
        .collect();
    use Status::*;
    assert_eq!(
        origins,
        [
            (Unknown, Healthy, None, Some(200), Some(7)),
            (Healthy, Unhealthy, Some(Failure::ResponseBody), Some(200), Some(8)),
            (Unhealthy, Healthy, None, Some(200), Some(9)),
            (Healthy, Unhealthy, Some(Failure::Tls), None, None),
        ]
    );
    let pools = sim.events.iter().filter(|e| matches!(e, HealthEvent::Pool(p) if matches!(p.cause, Cause::Probe(_))));
    assert_eq!(pools.count(), 4, "the pool follows each time, with the probe as cause");
}

// (6) RTT.

/// DESIGN / guide: α = 0.2 by default; the first sample is taken as is.
#[test]
fn guide_choice_rtt_ewma_alpha_is_0_2() {
    assert_eq!(DEFAULT_RTT_ALPHA, 0.2);
    let mut sim = Sim::new(SLOW);
    for (round, rtt) in [(0u64, 100u64), (10_000, 200)] {
        sim.now = Timestamp::from_millis(round);
        sim.step(&mut |_| Some(Outcome::http(200).with_rtt(Duration::from_millis(rtt))));
    }
    let got = sim.checker.pool_rtt_ms("p", Region::Weu).unwrap();
    assert!((got - 120.0).abs() < 1e-9, "{got}");
}

/// §1.3 `check_regions`: `ALL_REGIONS` means every region, even listed with
/// others ("All Regions", §2.1.3): the pool is probed from every vantage
/// point, not only those of the other regions listed.
#[test]
fn all_regions_in_check_regions_means_every_region() {
    let config = CheckerConfig::new().vantage_points(Region::Weu, 1).vantage_points(Region::Enam, 1);
    let mut sim = Sim::with_config(
        r#"{
        "monitors": [{"id": "m"}],
        "pools": [{"id": "p", "name": "p", "monitor": "m", "check_regions": ["WEU", "ALL_REGIONS"],
                   "origins": [{"name": "a", "address": "192.0.2.1"}]}]
    }"#,
        config,
    );
    sim.step(&mut pass);
    let mut regions: Vec<_> = sim.probes.iter().filter_map(|p| p.vantage().region()).collect();
    regions.sort();
    assert_eq!(regions.len(), 2);
    assert!(regions.contains(&Region::Enam) && regions.contains(&Region::Weu));
    assert!(sim.table.pool(sim.table.pool_id("p").unwrap()).check_regions().is_empty());
}

/// Single-vantage hosts need no setup: `check_regions` is ignored and the
/// one local probe's RTT stands for every region.
#[test]
fn single_vantage_host_ignores_check_regions() {
    let mut sim = Sim::new(
        r#"{
        "monitors": [{"id": "m"}],
        "pools": [{"id": "p", "name": "p", "monitor": "m", "check_regions": ["SAF"],
                   "origins": [{"name": "a", "address": "192.0.2.1"}]}]
    }"#,
    );
    assert_eq!(sim.step(&mut pass), 1);
    assert_eq!(sim.probes[0].vantage(), crate::health::Vantage::LOCAL);
    assert_eq!(sim.status("p", "a"), Status::Healthy);
    assert_eq!(sim.checker.pool_rtt_ms("p", Region::Wnam), Some(10.0));
}
