//! The health checker on a virtual clock.

mod docs;
mod props;
mod scenarios;

use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use super::{
    BoundHealth, CheckerConfig, HealthChecker, HealthEvent, HealthRegistry, Outcome, Probe, Status, Timestamp,
};
use crate::{Account, Table};

/// A host on a virtual clock: it answers every probe at once (or keeps it
/// pending), publishes after every step, and records what it saw.
pub(crate) struct Sim {
    pub(crate) table: Table,
    pub(crate) checker: HealthChecker,
    pub(crate) registry: HealthRegistry,
    pub(crate) health: BoundHealth,
    pub(crate) now: Timestamp,
    /// Every probe handed out, in order.
    pub(crate) probes: Vec<Probe>,
    /// Probes the responder left unanswered.
    pub(crate) pending: Vec<Probe>,
    pub(crate) events: Vec<HealthEvent>,
}

pub(crate) fn compile(json: &str) -> Table {
    let account = Account::from_json(json).unwrap();
    Table::compile(&account).unwrap()
}

impl Sim {
    pub(crate) fn new(json: &str) -> Sim {
        Sim::with_config(json, CheckerConfig::default())
    }

    pub(crate) fn with_config(json: &str, config: CheckerConfig) -> Sim {
        let table = compile(json);
        let mut registry = HealthRegistry::new();
        let health = registry.bind(&table);
        let checker = HealthChecker::new(&table, config);
        Sim {
            table,
            checker,
            registry,
            health,
            now: Timestamp::ZERO,
            probes: Vec::new(),
            pending: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Hands out every probe due now; `answer` returns the outcome, or
    /// `None` to leave the probe pending. Returns how many were handed out.
    pub(crate) fn step(&mut self, answer: &mut dyn FnMut(&Probe) -> Option<Outcome<'static>>) -> usize {
        let mut count = 0;
        while let Some(probe) = self.checker.poll_probe(self.now) {
            count += 1;
            self.probes.push(probe.clone());
            match answer(&probe) {
                Some(outcome) => self.checker.handle_result(probe.id(), outcome, self.now).unwrap(),
                None => self.pending.push(probe),
            }
        }
        self.sync();
        count
    }

    /// Publishes and collects events.
    pub(crate) fn sync(&mut self) {
        self.checker.publish(&mut self.registry);
        while let Some(event) = self.checker.poll_event() {
            self.events.push(event);
        }
    }

    /// Steps at every wake-up up to and including `until`.
    pub(crate) fn run_until(&mut self, until: u64, answer: &mut dyn FnMut(&Probe) -> Option<Outcome<'static>>) {
        let until = Timestamp::from_millis(until);
        loop {
            self.step(answer);
            match self.checker.poll_timeout() {
                Some(next) if next <= until => self.now = self.now.max(next),
                _ => break,
            }
        }
        self.now = self.now.max(until);
    }

    /// Answers a pending probe.
    pub(crate) fn answer(&mut self, probe: &Probe, outcome: Outcome<'_>) {
        self.pending.retain(|p| p.id() != probe.id());
        self.checker.handle_result(probe.id(), outcome, self.now).unwrap();
        self.sync();
    }

    pub(crate) fn advance(&mut self, millis: u64) {
        self.now = self.now + Duration::from_millis(millis);
    }

    pub(crate) fn reload(&mut self, json: &str) {
        self.table = compile(json);
        self.health = self.registry.bind(&self.table);
        self.checker.reconfigure(&self.table);
        self.sync();
    }

    pub(crate) fn status(&self, pool: &str, origin: &str) -> Status {
        let checker = self.checker.origin_status(pool, origin).unwrap();
        let published = self.health.status(self.table.origin_id(pool, origin).unwrap());
        assert_eq!(checker, published, "{pool}/{origin}: the registry has what the checker decided");
        checker
    }

    /// The probes handed out at `at` (milliseconds).
    pub(crate) fn probes_at(&self, at: u64) -> Vec<&Probe> {
        self.probes.iter().filter(|p| p.sent().as_millis() == at).collect()
    }

    pub(crate) fn event_lines(&self) -> Vec<String> {
        self.events.iter().map(alloc::string::ToString::to_string).collect()
    }
}

/// Every probe passes (HTTP 200, 10 ms).
pub(crate) fn pass(_: &Probe) -> Option<Outcome<'static>> {
    Some(Outcome::http(200).with_rtt(Duration::from_millis(10)))
}

/// Every probe fails (HTTP 503).
pub(crate) fn fail(_: &Probe) -> Option<Outcome<'static>> {
    Some(Outcome::http(503))
}
