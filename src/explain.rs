//! Why a request went where it went: the decision, step by step.
//!
//! [`Table::explain`](crate::Table::explain) (and
//! [`Router::explain`](crate::Router::explain)) runs the very code path of
//! `select`, recording each step: Origin Rules tried, how the host matched,
//! pool sets and custom rules, the steering policy and its candidate pools,
//! every pool passed over and why, the origin chosen. Selecting without a
//! trace records nothing and costs nothing.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Deref;

use crate::geo::{CountryCode, PopCode, Region};
use crate::request::Request;
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
/// [`Snapshot`](crate::router::Snapshot). Displays as a numbered,
/// human-readable trace.
pub struct Explanation<'r, T: Deref<Target = Table>> {
    pub(crate) host: String,
    pub(crate) steps: Vec<Step>,
    pub(crate) decision: Result<Decision<'r, T>, SelectError>,
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
            decision: outcome.map(|outcome| Decision::new(table, outcome, request)),
        }
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The decision, as `select` would have made it with the same random
    /// draws.
    pub fn decision(&self) -> &Result<Decision<'r, T>, SelectError> {
        &self.decision
    }

    /// Takes the decision out.
    pub fn into_decision(self) -> Result<Decision<'r, T>, SelectError> {
        self.decision
    }

    fn table(&self) -> Option<&Table> {
        match &self.decision {
            Ok(Decision::Origin(selection)) => Some(selection.table()),
            Ok(Decision::Respond(response)) => Some(response.table()),
            Err(_) => None,
        }
    }

    /// Renders the trace against `table` (needed when the decision is an
    /// error and holds no table).
    pub fn display<'a>(&'a self, table: &'a Table) -> impl fmt::Display + 'a {
        Rendered { explanation: self, table }
    }
}

struct Rendered<'a, 'r, T: Deref<Target = Table>> {
    explanation: &'a Explanation<'r, T>,
    table: &'a Table,
}

impl<T: Deref<Target = Table>> fmt::Display for Rendered<'_, '_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        render(self.explanation, self.table, f)
    }
}

impl<T: Deref<Target = Table>> fmt::Display for Explanation<'_, T> {
    /// Renders with the decision's own table; a failed decision renders its
    /// steps by id only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.table() {
            Some(table) => render(self, table, f),
            None => {
                writeln!(f, "request for {:?}", self.host)?;
                for (i, step) in self.steps.iter().enumerate() {
                    writeln!(f, "{:>3}. {step:?}", i + 1)?;
                }
                write!(f, "result: {}", self.decision.as_ref().err().map(|e| e.code()).unwrap_or(""))
            }
        }
    }
}

impl<T: Deref<Target = Table>> fmt::Debug for Explanation<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Explanation").field("host", &self.host).field("steps", &self.steps).finish_non_exhaustive()
    }
}

/// Writes the CNAME chain from `host` as far as exact records go.
fn write_cname_chain(f: &mut fmt::Formatter<'_>, table: &Table, host: &str) -> fmt::Result {
    let Some(key) = crate::table::HostKey::new(host) else { return Ok(()) };
    let mut name: &str = key.as_str();
    f.write_str(name)?;
    for _ in 0..crate::limits::CNAME_DEPTH {
        match table.cnames.get(name) {
            Some(target) => {
                write!(f, " -> {target}")?;
                name = target;
            }
            None => break,
        }
    }
    Ok(())
}

fn render<T: Deref<Target = Table>>(e: &Explanation<'_, T>, table: &Table, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let pool = |id: PoolId| table.pools().get(id.index()).map_or("?", |p| p.id());
    let lb = |id: LoadBalancerId| table.load_balancers().get(id.index()).map_or("?", |l| l.name());
    writeln!(f, "request for {:?}", e.host)?;
    let mut current_lb = None;
    for (i, step) in e.steps.iter().enumerate() {
        write!(f, "{:>3}. ", i + 1)?;
        match *step {
            Step::OriginRule { rule, matched } => {
                write!(f, "origin rule #{rule} {}", if matched { "matched" } else { "did not match" })?
            }
            Step::Route { matched, load_balancer, via_cname, origin_rule } => {
                current_lb = Some(load_balancer);
                write!(f, "load balancer {:?}", lb(load_balancer))?;
                match (matched, origin_rule) {
                    (_, Some(rule)) => write!(f, ", by origin rule #{rule}'s resolve override")?,
                    (Some(HostMatch::Exact), _) => f.write_str(", exact name")?,
                    (Some(HostMatch::Wildcard { .. }), _) => f.write_str(", wildcard")?,
                    (None, None) => {}
                }
                if via_cname {
                    f.write_str(" through CNAME ")?;
                    write_cname_chain(f, table, &e.host)?;
                }
            }
            Step::NoRoute => f.write_str("no load balancer serves this host")?,
            Step::Disabled(id) => write!(f, "load balancer {:?} is disabled", lb(id))?,
            Step::PoolSet { set, matched } => {
                write!(f, "pool set #{set} {}", if matched { "matched" } else { "did not match" })?
            }
            Step::Rule { rule, matched, terminated } => {
                let name = current_lb
                    .and_then(|id| table.load_balancers().get(id.index()))
                    .and_then(|l| l.rules.iter().find(|r| r.index as usize == rule))
                    .map_or("", |r| &*r.name);
                write!(f, "custom rule #{rule}")?;
                if !name.is_empty() {
                    write!(f, " {name:?}")?;
                }
                f.write_str(if matched { " matched" } else { " did not match" })?;
                if terminated {
                    f.write_str(", stop")?;
                }
            }
            Step::Policy { policy, configured } => {
                write!(f, "steering policy {policy}")?;
                if !configured {
                    f.write_str(" (steering_policy is empty)")?;
                }
            }
            Step::Candidates { from, count } => {
                write!(f, "{count} candidate pool{} from ", if count == 1 { "" } else { "s" })?;
                match from {
                    Candidates::DefaultPools => f.write_str("default_pools")?,
                    Candidates::Pop(pop) => write!(f, "pop_pools.{pop}")?,
                    Candidates::Country(country) => write!(f, "country_pools.{country}")?,
                    Candidates::Region(region) => write!(f, "region_pools.{region}")?,
                    Candidates::PoolSet(set) => write!(f, "pool set #{set}")?,
                }
            }
            Step::PoolSkipped { pool: p, reason } => {
                write!(f, "pool {:?} passed over: ", pool(p))?;
                match reason {
                    Skip::Disabled => f.write_str("disabled")?,
                    Skip::Unhealthy { healthy, minimum } => {
                        write!(f, "unhealthy ({healthy} healthy, minimum_origins {minimum})")?
                    }
                    Skip::Shed => f.write_str("load shedding")?,
                    Skip::NoSelectableOrigin => f.write_str("no enabled, healthy origin with weight > 0")?,
                }
            }
            Step::PoolChosen { pool: p } => write!(f, "pool {:?} chosen", pool(p))?,
            Step::OriginChosen { origin, policy } => {
                let o = table.origins().get(origin.index());
                write!(
                    f,
                    "origin {:?} ({}) chosen by {policy} steering",
                    o.map_or("?", |o| o.name()),
                    o.map_or("?", |o| o.address())
                )?
            }
            Step::Fallback { pool: p, fail_open } => {
                write!(f, "fallback pool {:?}", pool(p))?;
                if fail_open {
                    f.write_str(": no healthy origin, failing open")?;
                }
            }
            Step::FallbackUnavailable { pool: p } => {
                write!(f, "fallback pool {:?} is disabled or has no enabled origin", pool(p))?
            }
        }
        f.write_str("\n")?;
    }
    match &e.decision {
        Ok(Decision::Origin(s)) => write!(
            f,
            "result: origin {:?} in pool {:?}: {} port {}, Host {:?}, SNI {:?}",
            s.origin().name(),
            s.pool().id(),
            s.address(),
            s.port(),
            s.host_header(),
            s.sni()
        ),
        Ok(Decision::Respond(r)) => write!(f, "result: fixed response {}", r.status_code()),
        Err(err) => write!(f, "result: {} ({err})", err.code()),
    }
}
