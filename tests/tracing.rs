//! With the `tracing` feature, reloads, rejected configurations, decisions
//! and health transitions are emitted as events.
//!
//! Run with `cargo test --features tracing --test tracing`.
#![cfg(feature = "tracing")]

use std::io::Write;
use std::sync::{Arc, Mutex};

use lbsteer::health::{CheckerConfig, Outcome, Timestamp};
use lbsteer::{Account, Request, Router};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const ACCOUNT: &str = r#"{
    "monitors": [{"id": "m", "type": "tcp", "port": 443}],
    "pools": [{"id": "p", "name": "p", "monitor": "m", "minimum_origins": 2,
               "origins": [{"name": "a", "address": "192.0.2.1"}]}],
    "load_balancers": [{"name": "www.example.com", "default_pools": ["p"], "fallback_pool": "p"}]
}"#;

#[test]
fn reloads_decisions_and_health_transitions_are_logged() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let router = Router::from_json(ACCOUNT).unwrap();
        router.enable_health_checks(CheckerConfig::default());
        let now = Timestamp::ZERO;
        while let Some(probe) = router.poll_probe(now) {
            router.handle_probe_result(probe.id(), Outcome::success(), now).unwrap();
        }
        let _ = router.select_origin(&Request::new("www.example.com"));
        let _ = router.select_origin(&Request::new("nowhere.example"));
        let mut bad = Account::from_json(ACCOUNT).unwrap();
        bad.load_balancers[0].default_pools.push("nope".into());
        assert!(router.reload(&bad).is_err());
        router.reload(&Account::from_json(ACCOUNT).unwrap()).unwrap();
    });
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for expected in [
        "health",
        "unknown -> healthy",
        "decision",
        "load_balancer=\"www.example.com\"",
        "error=\"no_load_balancer\"",
        "configuration rejected",
        "load_balancers[0].default_pools[1]: unknown pool \"nope\"",
        "generation=1",
        "table installed",
        "generation=2",
        "configuration warning",
    ] {
        assert!(log.contains(expected), "no {expected:?} in the log:\n{log}");
    }
}
