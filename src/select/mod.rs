//! The decision: which origin serves a request.
//!
//! [`Table::select`] runs the pipeline (Origin Rules, hostname, pool sets
//! and custom rules, pool steering with health, load shedding and the
//! fallback pool, origin steering) over a compiled table, a
//! [`HealthView`] and a [`RandomSource`]. It takes no lock and allocates
//! nothing. The result borrows the table: a [`Decision`] either names an
//! origin ([`Selection`]) or carries a fixed [`Response`].
//!
//! [`Table::select_with`] adds session affinity (an [`AffinityContext`]:
//! the token key, the header session store, a clock), and
//! [`Table::retry`] is zero-downtime failover; see [`affinity`].

pub mod affinity;
pub(crate) mod decide;
mod origins;
mod pools;
mod retry;
mod rng;
mod sessions;
mod shedding;
mod token;

use alloc::vec::Vec;
use core::fmt;
use core::ops::Deref;

#[cfg(feature = "std")]
pub(crate) use decide::decide_with;
pub(crate) use origins::{HashRanking, build_cumulative_weights, build_hash_ranking, uniform_weights};
pub(crate) use pools::Position;
#[cfg(feature = "std")]
pub(crate) use retry::retry;
#[cfg(feature = "std")]
pub(crate) use rng::wyrand_step;
pub use rng::{FastRng, RandomSource};

use crate::explain::{Explanation, NoTrace};
use crate::health::HealthView;
use crate::request::Request;
use crate::table::{
    FixedResponseEntry, LoadBalancerEntry, LoadBalancerId, OriginEntry, OriginId, PoolEntry, PoolId, Table,
};
use affinity::{AffinityContext, RetryError, SessionOutcome, SessionStatus, SetCookie};

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
    /// What session affinity did.
    pub(crate) session: SessionOutcome,
    /// Whether this is a failover retry.
    pub(crate) retried: bool,
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
                session: outcome.session,
                retried: outcome.retried,
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
    session: SessionOutcome,
    retried: bool,
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

    /// What session affinity did: no affinity, a new session, the
    /// request's session honoured, …
    pub fn session(&self) -> SessionStatus {
        self.session.status
    }

    /// The affinity cookie to set on the response, when a token was issued
    /// (a new session, or one re-issued under a rotated key). Add it as a
    /// `Set-Cookie` header: its `Display` is the header value. Built on
    /// each call (base64 of 36 bytes), without allocating.
    pub fn set_cookie(&self) -> Option<SetCookie> {
        let issued = self.session.cookie?;
        Some(issued.to_set_cookie(self.load_balancer().key, self.origin().key))
    }

    /// Whether this selection is a zero-downtime failover retry.
    pub fn is_retry(&self) -> bool {
        self.retried
    }

    pub(crate) fn previous(&self) -> retry::Previous {
        retry::Previous {
            load_balancer: self.load_balancer,
            pool: self.pool,
            origin: self.origin,
            session: self.session.status,
            retried: self.retried,
        }
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
            .field("session", &self.session.status)
            .field("set_cookie", &self.set_cookie())
            .field("retried", &self.retried)
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
    /// draw from `rng`. Takes no lock and allocates nothing. Session
    /// affinity does not apply (there is no key to verify tokens with):
    /// use [`select_with`](Self::select_with) for it.
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
        self.select_with(request, health, rng, &AffinityContext::NONE)
    }

    /// Decides like [`select`](Self::select), with session affinity: the
    /// context holds the token key, the header session store and a clock
    /// (the request's [`timestamp`](Request::timestamp) comes first). Takes
    /// no lock and allocates nothing (the built-in session store included).
    ///
    /// ```
    /// # #[cfg(feature = "std")] {
    /// use lbsteer::affinity::{AffinityConfig, AffinityContext, SessionStatus, TokenKey};
    /// use lbsteer::{Decision, FastRng, Request, Table, health::AllHealthy};
    /// let account = lbsteer::Account::from_json(r#"{
    ///     "pools": [{"id": "p", "name": "p", "origins": [
    ///         {"name": "a", "address": "192.0.2.1"}, {"name": "b", "address": "192.0.2.2"}]}],
    ///     "load_balancers": [{"name": "www.example.com", "default_pools": ["p"], "fallback_pool": "p",
    ///                         "session_affinity": "cookie"}]
    /// }"#).unwrap();
    /// let table = Table::compile(&account).unwrap();
    /// let config = AffinityConfig::new(TokenKey::from_bytes(*b"a 16-byte secret"));
    /// let ctx = AffinityContext::new(&config);
    /// let mut rng = FastRng::new(1);
    ///
    /// let first = Request::new("www.example.com").timestamp(1_764_000_000);
    /// let Ok(Decision::Origin(new)) = table.select_with(&first, &AllHealthy, &mut rng, &ctx) else { panic!() };
    /// let cookie = new.set_cookie().expect("a new session gets a token");
    /// assert!(cookie.to_string().ends_with("; Max-Age=82800; Path=/; HttpOnly; Secure; SameSite=None"));
    ///
    /// // The client sends it back: the same origin, whatever the draw.
    /// let header = format!("__cflb={}", cookie.value());
    /// let again = Request::new("www.example.com").timestamp(1_764_000_600).cookie_header(&header);
    /// let Ok(Decision::Origin(pinned)) = table.select_with(&again, &AllHealthy, &mut rng, &ctx) else { panic!() };
    /// assert_eq!(pinned.origin().name(), new.origin().name());
    /// assert_eq!(pinned.session(), SessionStatus::Pinned { draining: false });
    /// assert!(pinned.set_cookie().is_none());
    /// # }
    /// ```
    pub fn select_with<'t, 'r, H, R>(
        &'t self,
        request: &Request<'r>,
        health: &H,
        rng: &mut R,
        affinity: &AffinityContext<'_>,
    ) -> Result<Decision<'r, &'t Table>, SelectError>
    where
        H: HealthView + ?Sized,
        R: RandomSource + ?Sized,
    {
        let outcome = decide::decide_with(self, request, health, rng, &mut NoTrace, affinity)?;
        Ok(Decision::new(self, outcome, request))
    }

    /// Decides like [`select`](Self::select), recording every step.
    pub fn explain<'t, 'r, H, R>(&'t self, request: &Request<'r>, health: &H, rng: &mut R) -> Explanation<'r, &'t Table>
    where
        H: HealthView + ?Sized,
        R: RandomSource + ?Sized,
    {
        self.explain_with(request, health, rng, &AffinityContext::NONE)
    }

    /// Decides like [`select_with`](Self::select_with), recording every
    /// step (affinity's included).
    pub fn explain_with<'t, 'r, H, R>(
        &'t self,
        request: &Request<'r>,
        health: &H,
        rng: &mut R,
        affinity: &AffinityContext<'_>,
    ) -> Explanation<'r, &'t Table>
    where
        H: HealthView + ?Sized,
        R: RandomSource + ?Sized,
    {
        let mut steps = Vec::new();
        let outcome = decide::decide_with(self, request, health, rng, &mut steps, affinity);
        Explanation::new(self, request, steps, outcome)
    }

    /// Zero-downtime failover: after `previous` (a selection of this table
    /// for `request`) failed with `status`, another origin for the same
    /// request. See [`affinity`](crate::affinity#zero-downtime-failover) for
    /// what is retried and what becomes of the session. Takes no lock and
    /// allocates nothing.
    ///
    /// ```
    /// # #[cfg(feature = "std")] {
    /// use lbsteer::affinity::{AffinityContext, RetryError};
    /// use lbsteer::{Decision, FastRng, Request, Table, health::AllHealthy};
    /// let account = lbsteer::Account::from_json(r#"{
    ///     "pools": [{"id": "p", "name": "p", "origins": [
    ///         {"name": "a", "address": "192.0.2.1"}, {"name": "b", "address": "192.0.2.2"}]}],
    ///     "load_balancers": [{"name": "www.example.com", "default_pools": ["p"], "fallback_pool": "p"}]
    /// }"#).unwrap();
    /// let table = Table::compile(&account).unwrap();
    /// let mut rng = FastRng::new(1);
    /// let request = Request::new("www.example.com");
    /// let Ok(Decision::Origin(first)) = table.select(&request, &AllHealthy, &mut rng) else { panic!() };
    /// // Connecting failed: 522.
    /// let ctx = AffinityContext::NONE;
    /// let second = table.retry(&request, &first, 522, &AllHealthy, &mut rng, &ctx).unwrap();
    /// assert_ne!(second.origin().name(), first.origin().name());
    /// // One retry per request, and only on connection-level failures.
    /// assert_eq!(table.retry(&request, &second, 522, &AllHealthy, &mut rng, &ctx).unwrap_err(), RetryError::AlreadyRetried);
    /// assert_eq!(table.retry(&request, &first, 503, &AllHealthy, &mut rng, &ctx).unwrap_err(), RetryError::NotRetryable { status: 503 });
    /// # }
    /// ```
    pub fn retry<'t, 'r, H, R, T>(
        &'t self,
        request: &Request<'r>,
        previous: &Selection<'_, T>,
        status: u16,
        health: &H,
        rng: &mut R,
        affinity: &AffinityContext<'_>,
    ) -> Result<Selection<'r, &'t Table>, RetryError>
    where
        H: HealthView + ?Sized,
        R: RandomSource + ?Sized,
        T: Deref<Target = Table>,
    {
        if !core::ptr::eq(previous.table(), self) {
            return Err(RetryError::OtherTable);
        }
        let outcome = retry::retry(self, request, previous.previous(), status, health, rng, &mut NoTrace, affinity)?;
        match Decision::new(self, outcome, request) {
            Decision::Origin(selection) => Ok(selection),
            Decision::Respond(_) => Err(RetryError::NoOtherOrigin),
        }
    }

    /// Retries like [`retry`](Self::retry), returning the steps taken too.
    #[allow(clippy::too_many_arguments)]
    pub fn explain_retry<'t, 'r, H, R, T>(
        &'t self,
        request: &Request<'r>,
        previous: &Selection<'_, T>,
        status: u16,
        health: &H,
        rng: &mut R,
        affinity: &AffinityContext<'_>,
    ) -> (Result<Selection<'r, &'t Table>, RetryError>, Vec<crate::explain::Step>)
    where
        H: HealthView + ?Sized,
        R: RandomSource + ?Sized,
        T: Deref<Target = Table>,
    {
        let mut steps = Vec::new();
        if !core::ptr::eq(previous.table(), self) {
            return (Err(RetryError::OtherTable), steps);
        }
        let result = retry::retry(self, request, previous.previous(), status, health, rng, &mut steps, affinity)
            .and_then(|outcome| match Decision::new(self, outcome, request) {
                Decision::Origin(selection) => Ok(selection),
                Decision::Respond(_) => Err(RetryError::NoOtherOrigin),
            });
        (result, steps)
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
