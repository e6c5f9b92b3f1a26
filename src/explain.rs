//! Why a request went where it went: the decision, step by step.
//!
//! [`Table::explain`](crate::Table::explain) (and
//! [`Router::explain`](crate::Router::explain)) runs the very code path of
//! `select`, recording each step: Origin Rules tried, how the host matched,
//! pool sets and custom rules, the steering policy and its candidate pools,
//! every pool passed over and why, session affinity (the token or session
//! found, whether it was honoured and why not, a new token issued), the
//! origin chosen; and the steps of a failover retry. Selecting without a
//! trace records nothing and costs nothing.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Deref;

use crate::geo::{CountryCode, PopCode, Region};
use crate::request::Request;
use crate::select::affinity::{Rejection, RetryError, Unavailable};
use crate::select::{Decision, SelectError};
use crate::table::{HostMatch, LoadBalancerId, OriginId, OriginPolicy, PoolId, PoolPolicy, Table};

/// Where the candidate pools came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Candidates {
    /// The (possibly overridden) `default_pools`.
    DefaultPools,
    /// `pop_pools` for this PoP.
    Pop(PopCode),
    /// `country_pools` for this country.
    Country(CountryCode),
    /// `region_pools` for this region.
    Region(Region),
    /// The pools of the pool set at this position.
    PoolSet(usize),
}

/// Why a pool was passed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Skip {
    /// The pool is disabled.
    Disabled,
    /// Fewer healthy origins than `minimum_origins`.
    Unhealthy {
        /// Healthy enabled origins.
        healthy: u32,
        /// The pool's `minimum_origins`.
        minimum: u32,
    },
    /// Load shedding passed the request on.
    Shed,
    /// Healthy by count, but no enabled, healthy origin of weight > 0.
    NoSelectableOrigin,
}

/// One step of a decision.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Step {
    /// An Origin Rule was evaluated.
    OriginRule {
        /// Position in `origin_rules`.
        rule: usize,
        /// Whether its expression matched.
        matched: bool,
    },
    /// The host was looked up.
    Route {
        /// How it matched; `None` when an Origin Rule's resolve override
        /// chose the load balancer.
        matched: Option<HostMatch>,
        /// The load balancer reached.
        load_balancer: LoadBalancerId,
        /// Whether CNAME records were followed.
        via_cname: bool,
        /// The Origin Rule whose resolve override was used.
        origin_rule: Option<usize>,
    },
    /// No route for the host.
    NoRoute,
    /// The load balancer reached is disabled.
    Disabled(LoadBalancerId),
    /// A pool set was tested against the request's location.
    PoolSet {
        /// Position in `pool_sets`.
        set: usize,
        /// Whether it matched (the first match ends the search).
        matched: bool,
    },
    /// A custom rule was evaluated.
    Rule {
        /// Position in `rules`.
        rule: usize,
        /// Whether its condition matched.
        matched: bool,
        /// Whether it stopped rule evaluation.
        terminated: bool,
    },
    /// The steering policy in effect.
    Policy {
        /// The policy.
        policy: PoolPolicy,
        /// `false` when `steering_policy` was empty and this was derived.
        configured: bool,
    },
    /// The candidate pools.
    Candidates {
        /// Where they came from.
        from: Candidates,
        /// How many.
        count: usize,
    },
    /// A pool was passed over.
    PoolSkipped {
        /// The pool.
        pool: PoolId,
        /// Why.
        reason: Skip,
    },
    /// A pool was chosen by the policy.
    PoolChosen {
        /// The pool.
        pool: PoolId,
    },
    /// An origin was chosen inside the pool.
    OriginChosen {
        /// The origin.
        origin: OriginId,
        /// By which policy (`hash` without a client IP falls back to
        /// `random`).
        policy: OriginPolicy,
    },
    /// Every candidate pool was passed over: the fallback pool serves.
    Fallback {
        /// The fallback pool.
        pool: PoolId,
        /// No origin of it is healthy: an enabled one is used regardless.
        fail_open: bool,
    },
    /// The fallback pool is disabled or has no enabled origin.
    FallbackUnavailable {
        /// The fallback pool.
        pool: PoolId,
    },
    /// Session affinity is configured but cannot apply to this decision.
    AffinityUnavailable {
        /// What is missing.
        reason: Unavailable,
    },
    /// The request's affinity cookie was read.
    AffinityToken {
        /// A token of this load balancer, made with the key, not expired.
        valid: bool,
        /// Why a token present was treated as absent (`None`: no cookie).
        rejected: Option<Rejection>,
    },
    /// Header affinity: the session key from the configured headers.
    AffinitySessionKey {
        /// Whether the request has the headers a session needs.
        complete: bool,
    },
    /// Header affinity: the session store was asked.
    AffinitySessionFound {
        /// Whether a live session was found.
        found: bool,
    },
    /// The session was honoured.
    AffinityPinned {
        /// Its origin.
        origin: OriginId,
        /// The origin is disabled and within its drain window.
        draining: bool,
    },
    /// The session's origin could not serve it: steered anew.
    AffinityPinRejected {
        /// The origin, when it is in the table.
        origin: Option<OriginId>,
        /// Why.
        reason: Rejection,
    },
    /// A new session: a token issued, or the header session recorded.
    AffinityIssued {
        /// The origin it names.
        origin: OriginId,
    },
    /// A failover retry after `status` from `origin`.
    Retry {
        /// The status that failed the request.
        status: u16,
        /// The origin that failed.
        origin: OriginId,
    },
    /// No other origin in the same pool: the other pools are tried
    /// (`failover_across_pools`).
    RetryAcrossPools,
    /// The retry was refused.
    RetryRefused {
        /// Why.
        error: RetryError,
    },
}

/// Receives the steps of a decision.
pub(crate) trait Tracer {
    fn step(&mut self, step: Step);
}

/// Records nothing; selecting uses it, and the calls compile away.
pub(crate) struct NoTrace;

impl Tracer for NoTrace {
    #[inline(always)]
    fn step(&mut self, _: Step) {}
}

impl Tracer for Vec<Step> {
    fn step(&mut self, step: Step) {
        self.push(step);
    }
}

/// A decision with the steps that led to it.
///
/// `T` is how the table is held: a `&Table`, or a router's
/// [`Snapshot`](crate::router::Snapshot); the explanation keeps it even when
/// the decision fails, so that every step can be named. Displays as a
/// numbered, human-readable trace; [`report`](Self::report) gives the same
/// content as data (serializable, e.g. to JSON).
pub struct Explanation<'r, T: Deref<Target = Table>> {
    host: String,
    steps: Vec<Step>,
    outcome: Result<Decision<'r, T>, (T, SelectError)>,
}

impl<'r, T: Deref<Target = Table>> Explanation<'r, T> {
    pub(crate) fn new(
        table: T,
        request: &Request<'r>,
        steps: Vec<Step>,
        outcome: Result<crate::select::Outcome, SelectError>,
    ) -> Self {
        Explanation {
            host: String::from(request.host),
            steps,
            outcome: match outcome {
                Ok(outcome) => Ok(Decision::new(table, outcome, request)),
                Err(err) => Err((table, err)),
            },
        }
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The decision, as `select` would have made it with the same random
    /// draws.
    pub fn decision(&self) -> Result<&Decision<'r, T>, SelectError> {
        self.outcome.as_ref().map_err(|(_, err)| *err)
    }

    /// Takes the decision out.
    pub fn into_decision(self) -> Result<Decision<'r, T>, SelectError> {
        self.outcome.map_err(|(_, err)| err)
    }

    /// The table the decision was made with.
    pub fn table(&self) -> &Table {
        match &self.outcome {
            Ok(Decision::Origin(selection)) => selection.table(),
            Ok(Decision::Respond(response)) => response.table(),
            Err((table, _)) => table,
        }
    }

    /// The explanation as data, every id resolved to its name.
    pub fn report(&self) -> Report {
        let table = self.table();
        let pool = |id: PoolId| String::from(table.pools().get(id.index()).map_or("?", |p| p.id()));
        let lb = |id: LoadBalancerId| String::from(table.load_balancers().get(id.index()).map_or("?", |l| l.name()));
        let origin_name = |id: OriginId| {
            let o = table.origins().get(id.index());
            alloc::format!(
                "{}/{}",
                o.map_or("?", |o| table.pools().get(o.pool().index()).map_or("?", |p| p.id())),
                o.map_or("?", |o| o.name())
            )
        };
        let mut current_lb = None;
        let steps = self
            .steps
            .iter()
            .map(|step| match *step {
                Step::OriginRule { rule, matched } => ReportStep::OriginRule { rule, matched },
                Step::Route { matched, load_balancer, via_cname, origin_rule } => {
                    current_lb = Some(load_balancer);
                    ReportStep::Route {
                        load_balancer: lb(load_balancer),
                        matched: match (matched, origin_rule) {
                            (_, Some(_)) => "origin_rule",
                            (Some(HostMatch::Exact), None) => "exact",
                            (Some(HostMatch::Wildcard { .. }), None) => "wildcard",
                            (None, None) => "",
                        },
                        cname_chain: if via_cname { cname_chain(table, &self.host) } else { Vec::new() },
                        origin_rule,
                    }
                }
                Step::NoRoute => no_route(table, &self.host, &self.steps),
                Step::Disabled(id) => ReportStep::Disabled { load_balancer: lb(id) },
                Step::PoolSet { set, matched } => ReportStep::PoolSet { set, matched },
                Step::Rule { rule, matched, terminated } => ReportStep::Rule {
                    rule,
                    name: current_lb
                        .and_then(|id| table.load_balancers().get(id.index()))
                        .and_then(|l| l.rules.iter().find(|r| r.index as usize == rule))
                        .map_or_else(String::new, |r| String::from(&*r.name)),
                    matched,
                    terminated,
                },
                Step::Policy { policy, configured } => ReportStep::Policy { policy: policy.as_str(), configured },
                Step::Candidates { from, count } => ReportStep::Candidates {
                    from: match from {
                        Candidates::DefaultPools => String::from("default_pools"),
                        Candidates::Pop(pop) => alloc::format!("pop_pools.{pop}"),
                        Candidates::Country(country) => alloc::format!("country_pools.{country}"),
                        Candidates::Region(region) => alloc::format!("region_pools.{region}"),
                        Candidates::PoolSet(set) => alloc::format!("pool_sets[{set}]"),
                    },
                    count,
                },
                Step::PoolSkipped { pool: p, reason } => {
                    let (reason, healthy, minimum) = match reason {
                        Skip::Disabled => ("disabled", None, None),
                        Skip::Unhealthy { healthy, minimum } => ("unhealthy", Some(healthy), Some(minimum)),
                        Skip::Shed => ("shed", None, None),
                        Skip::NoSelectableOrigin => ("no_selectable_origin", None, None),
                    };
                    ReportStep::PoolSkipped { pool: pool(p), reason, healthy, minimum }
                }
                Step::PoolChosen { pool: p } => ReportStep::PoolChosen { pool: pool(p) },
                Step::OriginChosen { origin, policy } => {
                    let o = table.origins().get(origin.index());
                    ReportStep::OriginChosen {
                        origin: String::from(o.map_or("?", |o| o.name())),
                        address: String::from(o.map_or("?", |o| o.address())),
                        policy: policy.as_str(),
                    }
                }
                Step::Fallback { pool: p, fail_open } => ReportStep::Fallback { pool: pool(p), fail_open },
                Step::FallbackUnavailable { pool: p } => ReportStep::FallbackUnavailable { pool: pool(p) },
                Step::AffinityUnavailable { reason } => ReportStep::AffinityUnavailable { reason: reason.code() },
                Step::AffinityToken { valid, rejected } => {
                    ReportStep::AffinityToken { valid, rejected: rejected.map(Rejection::code) }
                }
                Step::AffinitySessionKey { complete } => ReportStep::AffinitySessionKey { complete },
                Step::AffinitySessionFound { found } => ReportStep::AffinitySessionFound { found },
                Step::AffinityPinned { origin, draining } => {
                    ReportStep::AffinityPinned { origin: origin_name(origin), draining }
                }
                Step::AffinityPinRejected { origin, reason } => {
                    ReportStep::AffinityPinRejected { origin: origin.map(origin_name), reason: reason.code() }
                }
                Step::AffinityIssued { origin } => ReportStep::AffinityIssued { origin: origin_name(origin) },
                Step::Retry { status, origin } => ReportStep::Retry { status, origin: origin_name(origin) },
                Step::RetryAcrossPools => ReportStep::RetryAcrossPools,
                Step::RetryRefused { error } => ReportStep::RetryRefused { error: error.code() },
            })
            .collect();
        let result = match &self.outcome {
            Ok(Decision::Origin(s)) => ReportResult::Origin {
                load_balancer: String::from(s.load_balancer().name()),
                pool: String::from(s.pool().id()),
                origin: String::from(s.origin().name()),
                address: String::from(s.address()),
                port: s.port(),
                host_header: String::from(s.host_header()),
                sni: String::from(s.sni()),
                ttl: s.ttl(),
                fallback: s.is_fallback(),
                fail_open: s.is_fail_open(),
                session: s.session().code(),
                set_cookie: s.set_cookie().map(|c| alloc::format!("{c}")),
            },
            Ok(Decision::Respond(r)) => ReportResult::FixedResponse {
                load_balancer: String::from(r.load_balancer().name()),
                status_code: r.status_code(),
                message_body: r.body().map(String::from),
                content_type: r.content_type().map(String::from),
                location: r.location().map(String::from),
            },
            Err((_, err)) => ReportResult::Error { error: err.code(), message: alloc::format!("{err}") },
        };
        Report { host: self.host.clone(), steps, result }
    }
}

impl<T: Deref<Target = Table>> fmt::Display for Explanation<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.report(), f)
    }
}

impl<T: Deref<Target = Table>> fmt::Debug for Explanation<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Explanation").field("host", &self.host).field("steps", &self.steps).finish_non_exhaustive()
    }
}

/// Why no load balancer serves `host`: an Origin Rule's resolve override
/// that leads nowhere, or a DNS record that answers for the host in place
/// of a less specific load balancer.
fn no_route(table: &Table, host: &str, steps: &[Step]) -> ReportStep {
    // The last matching Origin Rule with a resolve override decided the
    // target (later matches override earlier ones).
    let origin_rule = steps
        .iter()
        .rev()
        .filter_map(|step| match *step {
            Step::OriginRule { rule, matched: true } => Some(rule),
            _ => None,
        })
        .find(|&rule| table.origin_rules.iter().any(|r| r.index as usize == rule && r.target.is_some()));
    if origin_rule.is_some() {
        return ReportStep::NoRoute { record: None, cname_chain: Vec::new(), origin_rule };
    }
    let key = crate::table::HostKey::new(host);
    let record = key.as_ref().and_then(|key| match table.hosts.entry(key.as_bytes())? {
        (Some(_), _) => None,
        (None, HostMatch::Exact) => Some(String::from(key.as_str())),
        (None, HostMatch::Wildcard { suffix_len }) => {
            let name = key.as_str();
            Some(alloc::format!("*.{}", &name[name.len() - suffix_len..]))
        }
    });
    let cname_chain = match &record {
        Some(name) if table.cnames.contains_key(name.as_str()) => walk_cnames(table, name.clone()),
        _ => Vec::new(),
    };
    ReportStep::NoRoute { record, cname_chain, origin_rule: None }
}

/// The CNAME chain from `host`, as far as exact records go.
fn cname_chain(table: &Table, host: &str) -> Vec<String> {
    let Some(key) = crate::table::HostKey::new(host) else { return Vec::new() };
    walk_cnames(table, String::from(key.as_str()))
}

/// `name`, then the target of each CNAME record in turn.
fn walk_cnames(table: &Table, name: String) -> Vec<String> {
    let mut chain = alloc::vec![name];
    for _ in 0..crate::limits::CNAME_DEPTH {
        match table.cnames.get(chain[chain.len() - 1].as_str()) {
            Some(target) => chain.push(String::from(&**target)),
            None => break,
        }
    }
    chain
}

/// An [`Explanation`] as data: every step with names, and the result.
/// Serializes to JSON as `{"host", "steps": [{"step": "route", ...}],
/// "result": {"origin": {...}}}`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Report {
    /// The request's host, as given.
    pub host: String,
    /// The steps, in order.
    pub steps: Vec<ReportStep>,
    /// The decision.
    pub result: ReportResult,
}

/// One step of a [`Report`]; see [`Step`] for the meaning of each.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum ReportStep {
    OriginRule {
        rule: usize,
        matched: bool,
    },
    /// `matched` is `exact`, `wildcard` or `origin_rule`.
    Route {
        load_balancer: String,
        matched: &'static str,
        cname_chain: Vec<String>,
        origin_rule: Option<usize>,
    },
    /// `record` is the DNS record that answers for the host instead of a
    /// load balancer (`*.example.com` for a wildcard), when there is one:
    /// then `cname_chain` is its chain out of the account, or empty for an
    /// `A` or `AAAA` record. `origin_rule` is the Origin Rule whose resolve
    /// override named a host no load balancer serves.
    NoRoute {
        record: Option<String>,
        cname_chain: Vec<String>,
        origin_rule: Option<usize>,
    },
    Disabled {
        load_balancer: String,
    },
    PoolSet {
        set: usize,
        matched: bool,
    },
    Rule {
        rule: usize,
        name: String,
        matched: bool,
        terminated: bool,
    },
    Policy {
        policy: &'static str,
        configured: bool,
    },
    Candidates {
        from: String,
        count: usize,
    },
    /// `reason` is `disabled`, `unhealthy`, `shed` or `no_selectable_origin`.
    PoolSkipped {
        pool: String,
        reason: &'static str,
        healthy: Option<u32>,
        minimum: Option<u32>,
    },
    PoolChosen {
        pool: String,
    },
    OriginChosen {
        origin: String,
        address: String,
        policy: &'static str,
    },
    Fallback {
        pool: String,
        fail_open: bool,
    },
    FallbackUnavailable {
        pool: String,
    },
    /// `reason` is `no_config`, `no_clock` or `no_session_store`.
    AffinityUnavailable {
        reason: &'static str,
    },
    /// `rejected` is a [`Rejection::code`].
    AffinityToken {
        valid: bool,
        rejected: Option<&'static str>,
    },
    AffinitySessionKey {
        complete: bool,
    },
    AffinitySessionFound {
        found: bool,
    },
    /// Origins are written `POOL/ORIGIN`.
    AffinityPinned {
        origin: String,
        draining: bool,
    },
    AffinityPinRejected {
        origin: Option<String>,
        reason: &'static str,
    },
    AffinityIssued {
        origin: String,
    },
    Retry {
        status: u16,
        origin: String,
    },
    RetryAcrossPools,
    /// `error` is a [`RetryError::code`].
    RetryRefused {
        error: &'static str,
    },
}

/// The result of a [`Report`].
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum ReportResult {
    /// Forward to an origin.
    Origin {
        load_balancer: String,
        pool: String,
        origin: String,
        address: String,
        port: u16,
        host_header: String,
        sni: String,
        ttl: u32,
        fallback: bool,
        fail_open: bool,
        /// A [`SessionStatus::code`](crate::affinity::SessionStatus::code).
        session: &'static str,
        /// The `Set-Cookie` value, when a token was issued.
        set_cookie: Option<String>,
    },
    /// Answer with a fixed response.
    FixedResponse {
        load_balancer: String,
        status_code: u16,
        message_body: Option<String>,
        content_type: Option<String>,
        location: Option<String>,
    },
    /// No origin: `error` is the [`SelectError::code`].
    Error { error: &'static str, message: String },
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "request for {:?}", self.host)?;
        for (i, step) in self.steps.iter().enumerate() {
            write!(f, "{:>3}. ", i + 1)?;
            match step {
                ReportStep::OriginRule { rule, matched } => {
                    write!(f, "origin rule #{rule} {}", if *matched { "matched" } else { "did not match" })?
                }
                ReportStep::Route { load_balancer, matched, cname_chain, origin_rule } => {
                    write!(f, "load balancer {load_balancer:?}")?;
                    match (*matched, origin_rule) {
                        ("origin_rule", Some(rule)) => write!(f, ", by origin rule #{rule}'s resolve override")?,
                        ("exact", _) => f.write_str(", exact name")?,
                        ("wildcard", _) => f.write_str(", wildcard")?,
                        _ => {}
                    }
                    if !cname_chain.is_empty() {
                        write!(f, " through CNAME {}", cname_chain.join(" -> "))?;
                    }
                }
                ReportStep::NoRoute { origin_rule: Some(rule), .. } => {
                    write!(f, "origin rule #{rule}'s resolve override reaches no load balancer")?
                }
                ReportStep::NoRoute { record: Some(record), cname_chain, .. } if !cname_chain.is_empty() => write!(
                    f,
                    "no load balancer serves this host: the CNAME record of {record} answers for it, and its chain {} \
                     leaves the account",
                    cname_chain.join(" -> ")
                )?,
                ReportStep::NoRoute { record: Some(record), .. } => write!(
                    f,
                    "no load balancer serves this host: a DNS record of {record} (A or AAAA) answers for it, and \
                     takes precedence over a less specific load balancer"
                )?,
                ReportStep::NoRoute { .. } => f.write_str("no load balancer serves this host")?,
                ReportStep::Disabled { load_balancer } => write!(f, "load balancer {load_balancer:?} is disabled")?,
                ReportStep::PoolSet { set, matched } => {
                    write!(f, "pool set #{set} {}", if *matched { "matched" } else { "did not match" })?
                }
                ReportStep::Rule { rule, name, matched, terminated } => {
                    write!(f, "custom rule #{rule}")?;
                    if !name.is_empty() {
                        write!(f, " {name:?}")?;
                    }
                    f.write_str(if *matched { " matched" } else { " did not match" })?;
                    if *terminated {
                        f.write_str(", stop")?;
                    }
                }
                ReportStep::Policy { policy, configured } => {
                    write!(f, "steering policy {policy}")?;
                    if !configured {
                        f.write_str(" (steering_policy is empty)")?;
                    }
                }
                ReportStep::Candidates { from, count } => {
                    write!(f, "{count} candidate pool{} from {from}", if *count == 1 { "" } else { "s" })?
                }
                ReportStep::PoolSkipped { pool, reason, healthy, minimum } => {
                    write!(f, "pool {pool:?} passed over: ")?;
                    match (*reason, healthy, minimum) {
                        ("unhealthy", Some(healthy), Some(minimum)) => {
                            write!(f, "unhealthy ({healthy} healthy, minimum_origins {minimum})")?
                        }
                        ("shed", _, _) => f.write_str("load shedding")?,
                        ("no_selectable_origin", _, _) => f.write_str("no enabled, healthy origin with weight > 0")?,
                        (reason, _, _) => f.write_str(reason)?,
                    }
                }
                ReportStep::PoolChosen { pool } => write!(f, "pool {pool:?} chosen")?,
                ReportStep::OriginChosen { origin, address, policy } => {
                    write!(f, "origin {origin:?} ({address}) chosen by {policy} steering")?
                }
                ReportStep::Fallback { pool, fail_open } => {
                    write!(f, "fallback pool {pool:?}")?;
                    if *fail_open {
                        f.write_str(": no healthy origin, failing open")?;
                    }
                }
                ReportStep::FallbackUnavailable { pool } => {
                    write!(f, "fallback pool {pool:?} is disabled or has no enabled origin")?
                }
                ReportStep::AffinityUnavailable { reason } => write!(f, "session affinity cannot apply: {reason}")?,
                ReportStep::AffinityToken { valid: true, .. } => f.write_str("affinity token valid")?,
                ReportStep::AffinityToken { valid: false, rejected: None } => f.write_str("no affinity token")?,
                ReportStep::AffinityToken { valid: false, rejected: Some(why) } => {
                    write!(f, "affinity token ignored ({why}): treated as absent")?
                }
                ReportStep::AffinitySessionKey { complete } => f.write_str(if *complete {
                    "session key from the configured headers"
                } else {
                    "no session: the request lacks the configured headers"
                })?,
                ReportStep::AffinitySessionFound { found } => {
                    f.write_str(if *found { "session found" } else { "no live session" })?
                }
                ReportStep::AffinityPinned { origin, draining } => {
                    write!(f, "session pinned to {origin:?}")?;
                    if *draining {
                        f.write_str(" (draining)")?;
                    }
                }
                ReportStep::AffinityPinRejected { origin, reason } => match origin {
                    Some(origin) => write!(f, "session's origin {origin:?} not used ({reason}): steering anew")?,
                    None => write!(f, "session's origin not used ({reason}): steering anew")?,
                },
                ReportStep::AffinityIssued { origin } => write!(f, "new session for {origin:?}")?,
                ReportStep::Retry { status, origin } => write!(f, "retry after {status} from {origin:?}")?,
                ReportStep::RetryAcrossPools => {
                    f.write_str("no other healthy origin in the pool: trying other pools")?
                }
                ReportStep::RetryRefused { error } => write!(f, "no retry: {error}")?,
            }
            f.write_str("\n")?;
        }
        match &self.result {
            ReportResult::Origin { pool, origin, address, port, host_header, sni, set_cookie, .. } => {
                write!(
                    f,
                    "result: origin {origin:?} in pool {pool:?}: {address} port {port}, Host {host_header:?}, SNI {sni:?}"
                )?;
                match set_cookie {
                    Some(cookie) => write!(f, "; Set-Cookie: {cookie}"),
                    None => Ok(()),
                }
            }
            ReportResult::FixedResponse { status_code, .. } => write!(f, "result: fixed response {status_code}"),
            ReportResult::Error { error, message } => write!(f, "result: {error} ({message})"),
        }
    }
}
