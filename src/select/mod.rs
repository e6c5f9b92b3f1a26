//! The decision: which origin serves a request.
//!
//! [`Table::select`] runs the pipeline (Origin Rules, hostname, pool sets
//! and custom rules, pool steering with health, load shedding and the
//! fallback pool, origin steering) over a compiled table, a
//! [`HealthView`] and a [`RandomSource`]. It takes no lock and allocates
//! nothing. The result borrows the table: a [`Decision`] either names an
//! origin ([`Selection`]) or carries a fixed [`Response`].

pub(crate) mod decide;
mod origins;
mod pools;
mod rng;
mod shedding;

use alloc::vec::Vec;
use core::fmt;
use core::ops::Deref;

#[cfg(feature = "std")]
pub(crate) use decide::decide;
pub(crate) use origins::{HashRanking, build_cumulative_weights, build_hash_ranking};
pub(crate) use pools::Position;
#[cfg(feature = "std")]
pub(crate) use rng::wyrand_step;
pub use rng::{FastRng, RandomSource};

use crate::explain::{Explanation, NoTrace};
use crate::health::HealthView;
use crate::request::Request;
use crate::table::{
    FixedResponseEntry, LoadBalancerEntry, LoadBalancerId, OriginEntry, OriginId, PoolEntry, PoolId, Table,
};

/// Why no origin was selected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum SelectError {
    /// No load balancer serves the host: no exact name, wildcard or CNAME
    /// chain reaches one (or an Origin Rule re-targeted the request to such
    /// a host).
    #[error("no load balancer serves this host")]
    NoLoadBalancer,
    /// The load balancer that serves the host is disabled.
    #[error("the load balancer for this host is disabled")]
    LoadBalancerDisabled,
    /// No pool has a selectable origin, the fallback pool included (it is
    /// disabled, or has no enabled origin of weight > 0).
    #[error("no healthy origin, fallback pool included")]
    NoHealthyOrigin,
}

impl SelectError {
    /// The error's name in scenario files and traces: `no_load_balancer`,
    /// `load_balancer_disabled`, `no_healthy_origin`.
    pub const fn code(self) -> &'static str {
        match self {
            SelectError::NoLoadBalancer => "no_load_balancer",
            SelectError::LoadBalancerDisabled => "load_balancer_disabled",
            SelectError::NoHealthyOrigin => "no_healthy_origin",
        }
    }
}

/// Which fixed response answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Responder {
    /// Position in the load balancer's compiled (sorted) rules.
    Rule(u32),
    /// Position in the load balancer's compiled pool sets.
    PoolSet(u32),
}

/// What the decision settled, by index into the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Picked {
    Origin { pool: PoolId, origin: OriginId, fallback: bool, fail_open: bool },
    Respond(Responder),
}

/// The decision without the table it indexes: small and `Copy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) load_balancer: LoadBalancerId,
    pub(crate) picked: Picked,
    /// The DNS TTL in effect (after custom rules).
    pub(crate) ttl: u32,
    /// The Origin Rules whose fields apply, by position in the table's
    /// compiled (enabled) Origin Rules.
    pub(crate) host_header_rule: Option<u32>,
    pub(crate) sni_rule: Option<u32>,
    pub(crate) port_rule: Option<u32>,
}

/// What to do with a request: forward it to an origin, or answer it.
#[derive(Debug)]
pub enum Decision<'r, T: Deref<Target = Table>> {
    /// Forward to this origin.
    Origin(Selection<'r, T>),
    /// Answer with this fixed response.
    Respond(Response<T>),
}

impl<'r, T: Deref<Target = Table>> Decision<'r, T> {
    pub(crate) fn new(table: T, outcome: Outcome, request: &Request<'r>) -> Self {
        match outcome.picked {
            Picked::Origin { pool, origin, fallback, fail_open } => Decision::Origin(Selection {
                table,
                load_balancer: outcome.load_balancer,
                pool,
                origin,
                fallback,
                fail_open,
                host_header_rule: outcome.host_header_rule,
                sni_rule: outcome.sni_rule,
                port_rule: outcome.port_rule,
                ttl: outcome.ttl,
                request_host: request.host,
                default_port: request.scheme.default_port(),
            }),
            Picked::Respond(responder) => {
                Decision::Respond(Response { table, load_balancer: outcome.load_balancer, responder })
            }
        }
    }

    /// The selection, when the decision is to forward.
    pub fn origin(&self) -> Option<&Selection<'r, T>> {
        match self {
            Decision::Origin(selection) => Some(selection),
            Decision::Respond(_) => None,
        }
    }

    /// The response, when the decision is to answer.
    pub fn response(&self) -> Option<&Response<T>> {
        match self {
            Decision::Origin(_) => None,
            Decision::Respond(response) => Some(response),
        }
    }
}

/// The origin chosen for a request, and how to reach it.
///
/// Borrows the table it was decided with (through `T`: a `&Table`, or a
/// router's [`Snapshot`](crate::router::Snapshot) that keeps that table
/// generation alive), and the request's host.
pub struct Selection<'r, T: Deref<Target = Table>> {
    table: T,
    load_balancer: LoadBalancerId,
    pool: PoolId,
    origin: OriginId,
    fallback: bool,
    fail_open: bool,
    host_header_rule: Option<u32>,
    sni_rule: Option<u32>,
    port_rule: Option<u32>,
    ttl: u32,
    request_host: &'r str,
    default_port: u16,
}

impl<'r, T: Deref<Target = Table>> Selection<'r, T> {
    /// The table this decision was made with.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// How the table is held (for a router: the snapshot).
    #[cfg(feature = "std")]
    pub(crate) fn holder(&self) -> &T {
        &self.table
    }

    /// The load balancer that decided.
    pub fn load_balancer(&self) -> &LoadBalancerEntry {
        self.table.load_balancer(self.load_balancer)
    }

    /// The load balancer's id in [`table`](Self::table).
    pub fn load_balancer_id(&self) -> LoadBalancerId {
        self.load_balancer
    }

    /// The pool chosen.
    pub fn pool(&self) -> &PoolEntry {
        self.table.pool(self.pool)
    }

    /// The pool's id in [`table`](Self::table).
    pub fn pool_id(&self) -> PoolId {
        self.pool
    }

    /// The origin chosen.
    pub fn origin(&self) -> &OriginEntry {
        self.table.origin(self.origin)
    }

    /// The origin's id in [`table`](Self::table).
    pub fn origin_id(&self) -> OriginId {
        self.origin
    }

    /// The address to connect to: an IP address or a hostname.
    pub fn address(&self) -> &str {
        self.origin().address()
    }

    /// The port to connect to: the origin's own port, else an Origin Rule's
    /// destination port, else the request scheme's default.
    pub fn port(&self) -> u16 {
        match self.origin().port() {
            0 => match self.port_rule {
                Some(rule) => self.origin_rule(rule).port.unwrap_or(self.default_port),
                None => self.default_port,
            },
            port => port,
        }
    }

    /// The `Host` header to send: the origin's own `header.Host`, else an
    /// Origin Rule's `host_header`, else the request's host as given.
    pub fn host_header(&self) -> &str {
        if let Some(host) = self.origin().host_header() {
            return host;
        }
        if let Some(host) = self.host_header_rule.and_then(|r| self.origin_rule(r).host_header.as_deref()) {
            return host;
        }
        self.request_host
    }

    /// Whether the `Host` header differs from the request's: set by the
    /// origin or an Origin Rule.
    pub fn host_header_overridden(&self) -> bool {
        self.origin().host_header().is_some() || self.host_header_rule.is_some()
    }

    /// The TLS server name to send: an Origin Rule's `sni`, else the `Host`
    /// header without a port.
    pub fn sni(&self) -> &str {
        if let Some(sni) = self.sni_rule.and_then(|r| self.origin_rule(r).sni.as_deref()) {
            return sni;
        }
        host_without_port(self.host_header())
    }

    /// The DNS TTL in seconds for this answer, after custom rules (what a
    /// DNS-only load balancer answers with).
    pub fn ttl(&self) -> u32 {
        self.ttl
    }

    /// Whether the fallback pool served, every candidate pool having been
    /// passed over.
    pub fn is_fallback(&self) -> bool {
        self.fallback
    }

    /// Whether the fallback pool had no healthy origin and one was picked
    /// regardless of health.
    pub fn is_fail_open(&self) -> bool {
        self.fail_open
    }

    fn origin_rule(&self, at: u32) -> &crate::table::OriginRuleEntry {
        &self.table.origin_rules[at as usize]
    }
}

impl<T: Deref<Target = Table>> fmt::Debug for Selection<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Selection")
            .field("load_balancer", &self.load_balancer().name())
            .field("pool", &self.pool().id())
            .field("origin", &self.origin().name())
            .field("address", &self.address())
            .field("port", &self.port())
            .field("host_header", &self.host_header())
            .field("sni", &self.sni())
            .field("fallback", &self.fallback)
            .field("fail_open", &self.fail_open)
            .finish()
    }
}

/// A fixed response from a custom rule or a pool set.
pub struct Response<T: Deref<Target = Table>> {
    table: T,
    load_balancer: LoadBalancerId,
    responder: Responder,
}

impl<T: Deref<Target = Table>> Response<T> {
    fn entry(&self) -> &FixedResponseEntry {
        let lb = self.table.load_balancer(self.load_balancer);
        match self.responder {
            Responder::Rule(i) => match &lb.rules[i as usize].action {
                crate::table::RuleAction::Respond(fixed) => fixed,
                crate::table::RuleAction::Override(_) => unreachable!("a responder points at a fixed response"),
            },
            Responder::PoolSet(i) => match &lb.pool_sets[i as usize].action {
                crate::table::PoolSetAction::Respond(fixed) => fixed,
                crate::table::PoolSetAction::Steer { .. } => unreachable!("a responder points at a fixed response"),
            },
        }
    }

    /// The table this decision was made with.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The load balancer that answered.
    pub fn load_balancer(&self) -> &LoadBalancerEntry {
        self.table.load_balancer(self.load_balancer)
    }

    /// The status code.
    pub fn status_code(&self) -> u16 {
        self.entry().status_code()
    }

    /// The body, when set.
    pub fn body(&self) -> Option<&str> {
        self.entry().body()
    }

    /// The `Content-Type`, when set.
    pub fn content_type(&self) -> Option<&str> {
        self.entry().content_type()
    }

    /// The `Location`, when set.
    pub fn location(&self) -> Option<&str> {
        self.entry().location()
    }
}

impl<T: Deref<Target = Table>> fmt::Debug for Response<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("load_balancer", &self.load_balancer().name())
            .field("status_code", &self.status_code())
            .field("body", &self.body())
            .finish()
    }
}

/// `host` without a `:port` suffix, the brackets of an IPv6 literal, or a
/// trailing dot.
pub(crate) fn host_without_port(host: &str) -> &str {
    let host = crate::table::hosts::strip_port(host);
    host.strip_suffix('.').unwrap_or(host)
}

impl Table {
    /// Decides which origin serves `request`.
    ///
    /// Health comes from `health` (by this table's ids); weighted choices
    /// draw from `rng`. Takes no lock and allocates nothing.
    ///
    /// ```
    /// # #[cfg(feature = "std")] {
    /// use lbsteer::{Decision, FastRng, Request, Table, health::AllHealthy};
    /// let account = lbsteer::Account::from_json(r#"{
    ///     "pools": [{"id": "p", "name": "p", "origins": [{"name": "a", "address": "192.0.2.1"}]}],
    ///     "load_balancers": [{"name": "www.example.com", "default_pools": ["p"], "fallback_pool": "p"}]
    /// }"#).unwrap();
    /// let table = Table::compile(&account).unwrap();
    /// let mut rng = FastRng::new(1);
    /// let decision = table.select(&Request::new("WWW.example.com:443"), &AllHealthy, &mut rng).unwrap();
    /// let Decision::Origin(selection) = decision else { panic!("no fixed response here") };
    /// assert_eq!((selection.address(), selection.port()), ("192.0.2.1", 443));
    /// assert_eq!(selection.sni(), "WWW.example.com");
    /// # }
    /// ```
    pub fn select<'t, 'r, H, R>(
        &'t self,
        request: &Request<'r>,
        health: &H,
        rng: &mut R,
    ) -> Result<Decision<'r, &'t Table>, SelectError>
    where
        H: HealthView + ?Sized,
        R: RandomSource + ?Sized,
    {
        let outcome = decide::decide(self, request, health, rng, &mut NoTrace)?;
        Ok(Decision::new(self, outcome, request))
    }

    /// Decides like [`select`](Self::select), recording every step.
    pub fn explain<'t, 'r, H, R>(&'t self, request: &Request<'r>, health: &H, rng: &mut R) -> Explanation<'r, &'t Table>
    where
        H: HealthView + ?Sized,
        R: RandomSource + ?Sized,
    {
        let mut steps = Vec::new();
        let outcome = decide::decide(self, request, health, rng, &mut steps);
        Explanation::new(self, request, steps, outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::host_without_port;

    #[test]
    fn hosts_lose_their_port() {
        assert_eq!(host_without_port("a.example.com:8443"), "a.example.com");
        assert_eq!(host_without_port("a.example.com."), "a.example.com");
        assert_eq!(host_without_port("[2001:db8::1]:443"), "2001:db8::1");
        assert_eq!(host_without_port("2001:db8::1"), "2001:db8::1");
        assert_eq!(host_without_port("a"), "a");
    }
}
