//! The pipeline, in the order a request travels it.

use super::affinity::{self, AffinityContext, Begin, SessionOutcome};
use super::origins::{HealthMode, Pick, pick_origin};
use super::pools::PoolOrder;
use super::shedding::{Traffic, sheds};
use super::{FastRng, Outcome, Picked, RandomSource, Responder, SelectError};
use crate::explain::{Candidates, Skip, Step, Tracer};
use crate::expr::Context;
use crate::geo::{CountryCode, PopCode, Region};
use crate::health::HealthView;
use crate::request::Request;
use crate::table::{
    AffinityAttributes, AffinityMode, HostKey, LoadBalancerEntry, LoadBalancerId, Overrides, PoolId, PoolList,
    PoolPolicy, PoolSetAction, PoolSetEntry, PoolWeights, RuleAction, Settings, Table, Topology, find_geo,
};

/// The settings in effect for one request: the load balancer's, with the
/// matching pool set and custom rules applied. Borrowed, so applying an
/// override is a pointer copy.
#[derive(Clone, Copy)]
pub(crate) struct Effective<'t> {
    pub(crate) default_pools: &'t [PoolId],
    pub(crate) fallback_pool: PoolId,
    pub(crate) region_pools: &'t [(Region, PoolList)],
    pub(crate) country_pools: &'t [(CountryCode, PoolList)],
    pub(crate) pop_pools: &'t [(PopCode, PoolList)],
    pub(crate) policy: Option<PoolPolicy>,
    pub(crate) weights: &'t PoolWeights,
    pub(crate) affinity: AffinityMode,
    pub(crate) affinity_ttl: Option<u32>,
    pub(crate) affinity_attributes: &'t AffinityAttributes,
    pub(crate) failover_across_pools: bool,
    pub(crate) ttl: u32,
    /// The matching pool set, by position in the compiled list.
    pub(crate) pool_set: Option<usize>,
}

impl<'t> Effective<'t> {
    fn new(settings: &'t Settings) -> Self {
        Effective {
            default_pools: &settings.default_pools,
            fallback_pool: settings.fallback_pool,
            region_pools: &settings.region_pools,
            country_pools: &settings.country_pools,
            pop_pools: &settings.pop_pools,
            policy: settings.policy,
            weights: &settings.weights,
            affinity: settings.affinity,
            affinity_ttl: settings.affinity_ttl,
            affinity_attributes: &settings.affinity_attributes,
            failover_across_pools: settings.failover_across_pools,
            ttl: settings.ttl,
            pool_set: None,
        }
    }

    /// A pool set replaces the pool selection: its pools (geo maps no longer
    /// apply), weights, fallback pool (when set) and policy.
    fn apply_pool_set(&mut self, at: usize, set: &'t PoolSetEntry) {
        if let PoolSetAction::Steer { pools, weights, fallback_pool, policy } = &set.action {
            self.default_pools = pools;
            self.region_pools = &[];
            self.country_pools = &[];
            self.pop_pools = &[];
            self.weights = weights;
            self.fallback_pool = fallback_pool.unwrap_or(self.fallback_pool);
            self.policy = Some(*policy);
            self.pool_set = Some(at);
        }
    }

    /// Each present override replaces its field wholesale.
    fn apply(&mut self, o: &'t Overrides) {
        if let Some(pools) = &o.default_pools {
            self.default_pools = pools;
        }
        if let Some(pool) = o.fallback_pool {
            self.fallback_pool = pool;
        }
        if let Some(map) = &o.region_pools {
            self.region_pools = map;
        }
        if let Some(map) = &o.country_pools {
            self.country_pools = map;
        }
        if let Some(map) = &o.pop_pools {
            self.pop_pools = map;
        }
        if let Some(policy) = o.policy {
            self.policy = policy;
        }
        if let Some(weights) = &o.weights {
            self.weights = weights;
        }
        if let Some(mode) = o.affinity {
            self.affinity = mode;
        }
        if let Some(ttl) = o.affinity_ttl {
            self.affinity_ttl = Some(ttl);
        }
        if let Some(attributes) = &o.affinity_attributes {
            self.affinity_attributes = attributes;
        }
        if let Some(across) = o.failover_across_pools {
            self.failover_across_pools = across;
        }
        if let Some(ttl) = o.ttl {
            self.ttl = ttl;
        }
    }

    /// The policy in effect; an empty one means geo when a geo map is set.
    pub(crate) fn policy(&self) -> (PoolPolicy, bool) {
        match self.policy {
            Some(policy) => (policy, true),
            None if self.has_geo_maps() => (PoolPolicy::Geo, false),
            None => (PoolPolicy::Off, false),
        }
    }

    /// Whether the settings name `pool` anywhere: default pools (or a pool
    /// set's), a geo map, or the fallback pool. The pools a session may
    /// stay in.
    pub(crate) fn references(&self, pool: PoolId) -> bool {
        self.fallback_pool == pool
            || self.default_pools.contains(&pool)
            || self.pop_pools.iter().any(|(_, list)| list.contains(&pool))
            || self.country_pools.iter().any(|(_, list)| list.contains(&pool))
            || self.region_pools.iter().any(|(_, list)| list.contains(&pool))
    }

    fn has_geo_maps(&self) -> bool {
        !(self.region_pools.is_empty() && self.country_pools.is_empty() && self.pop_pools.is_empty())
    }

    /// The candidate pools. Geo steering takes the most specific area the
    /// request is in (PoP, then country, then region), else the default
    /// pools. A defined area whose pools are all down goes to the fallback
    /// pool, never to the default pools.
    #[inline]
    pub(crate) fn candidates(&self, policy: PoolPolicy, request: &Request<'_>) -> (&'t [PoolId], Candidates) {
        if policy == PoolPolicy::Geo {
            if let Some((pop, pools)) = request.pop.and_then(|pop| Some((pop, find_geo(self.pop_pools, pop)?))) {
                return (pools, Candidates::Pop(pop));
            }
            if let Some((country, pools)) =
                request.country.and_then(|country| Some((country, find_geo(self.country_pools, country)?)))
            {
                return (pools, Candidates::Country(country));
            }
            if let Some((region, pools)) =
                request_region(request).and_then(|region| Some((region, find_geo(self.region_pools, region)?)))
            {
                return (pools, Candidates::Region(region));
            }
        }
        let from = match self.pool_set {
            Some(at) => Candidates::PoolSet(at),
            None => Candidates::DefaultPools,
        };
        (self.default_pools, from)
    }
}

/// The request's region: as the host gave it, else the region of the
/// request's country from the bundled table (the United States and Canada,
/// split between two regions, count as ENAM).
#[inline]
pub(crate) fn request_region(request: &Request<'_>) -> Option<Region> {
    request.region.or_else(|| request.country.and_then(CountryCode::region))
}

impl Topology {
    /// Every list present must contain the request's value; an unknown
    /// value matches no list.
    pub(crate) fn matches(&self, request: &Request<'_>) -> bool {
        let pops = self.pops.as_deref().is_none_or(|list| request.pop.is_some_and(|p| list.contains(&p)));
        let countries = self.countries.as_deref().is_none_or(|list| request.country.is_some_and(|c| list.contains(&c)));
        let regions =
            self.regions.as_deref().is_none_or(|list| request_region(request).is_some_and(|r| list.contains(&r)));
        pops && countries && regions
    }
}

/// A request past custom rules: to be steered with `effective`, or
/// answered by `respond`.
pub(crate) struct Routed<'t> {
    pub(crate) load_balancer: LoadBalancerId,
    pub(crate) lb: &'t LoadBalancerEntry,
    pub(crate) effective: Effective<'t>,
    /// A pool set or custom rule with a fixed response matched.
    pub(crate) respond: Option<Responder>,
    host_header_rule: Option<u32>,
    sni_rule: Option<u32>,
    port_rule: Option<u32>,
}

impl Routed<'_> {
    pub(crate) fn outcome(&self, picked: Picked, session: SessionOutcome) -> Outcome {
        Outcome {
            load_balancer: self.load_balancer,
            picked,
            ttl: self.effective.ttl,
            host_header_rule: self.host_header_rule,
            sni_rule: self.sni_rule,
            port_rule: self.port_rule,
            session,
            retried: false,
        }
    }
}

/// The whole pipeline.
pub(crate) fn decide_with<H, R, T>(
    table: &Table,
    request: &Request<'_>,
    health: &H,
    rng: &mut R,
    trace: &mut T,
    ctx: &AffinityContext<'_>,
) -> Result<Outcome, SelectError>
where
    H: HealthView + ?Sized,
    R: RandomSource + ?Sized,
    T: Tracer,
{
    // (One `Routed` with an optional responder, rather than an enum of it
    // and an `Outcome`, leaves the compiler less to copy out of `route`.)
    let routed = route(table, request, trace)?;
    if let Some(responder) = routed.respond {
        return Ok(routed.outcome(Picked::Respond(responder), SessionOutcome::OFF));
    }
    let effective = &routed.effective;

    // Session affinity: a session honoured ends the decision here.
    let pending = match affinity::begin(table, routed.lb, effective, request, health, rng, trace, ctx) {
        Begin::Off => None,
        Begin::Pinned { pool, origin, outcome } => {
            let picked = Picked::Origin { pool, origin, fallback: false, fail_open: false };
            return Ok(routed.outcome(picked, outcome));
        }
        Begin::Steer(pending) => Some(pending),
    };

    // Pool steering, load shedding, origin steering.
    let (policy, configured) = effective.policy();
    trace.step(Step::Policy { policy, configured });
    let (candidates, from) = effective.candidates(policy, request);
    trace.step(Step::Candidates { from, count: candidates.len() });
    let mut order = PoolOrder::new(candidates, policy);
    if let Some(pool) = pending.as_ref().and_then(|p| p.shed_pool) {
        order.pass_over(pool);
    }
    let picked = match pending.as_ref().and_then(|p| p.ip_seed) {
        // `ip_cookie`: a new session's draws are seeded by the client IP,
        // and the origin is hashed from it, so the first choice is stable
        // per client.
        Some((seed, key)) => {
            let steering = Steering { pick: Pick { hash_key: Some(key), exclude: None }, ..Steering::NEW };
            steer(table, effective, &mut order, request, health, &mut FastRng::new(seed), trace, steering)
        }
        None => steer(table, effective, &mut order, request, health, rng, trace, Steering::NEW),
    }?;
    let session = match (&pending, picked) {
        (Some(pending), Picked::Origin { origin, .. }) => {
            affinity::finish(pending, table, routed.lb, effective.affinity_attributes, origin, request, trace)
        }
        _ => SessionOutcome::OFF,
    };
    Ok(routed.outcome(picked, session))
}

/// Origin Rules, hostname, pool sets and custom rules: the settings to
/// steer with, or a fixed response.
#[inline(always)]
pub(crate) fn route<'t, T: Tracer>(
    table: &'t Table,
    request: &Request<'_>,
    trace: &mut T,
) -> Result<Routed<'t>, SelectError> {
    let key = HostKey::new(request.host);
    // The normalised host, for rule conditions (`http.host`).
    let host = || key.as_ref().map_or("", HostKey::as_str);

    // Origin Rules, on the incoming request: later matches override earlier
    // ones field by field.
    let (mut host_header_rule, mut sni_rule, mut port_rule, mut target_rule) = (None, None, None, None);
    if !table.origin_rules.is_empty() {
        let cx = Context { request, host: host(), load_balancer: None };
        for (at, rule) in table.origin_rules.iter().enumerate() {
            let matched = rule.condition.matches(&cx);
            trace.step(Step::OriginRule { rule: rule.index as usize, matched });
            if matched {
                let at = at as u32;
                if rule.host_header.is_some() {
                    host_header_rule = Some(at);
                }
                if rule.sni.is_some() {
                    sni_rule = Some(at);
                }
                if rule.port.is_some() {
                    port_rule = Some(at);
                }
                if rule.target.is_some() {
                    target_rule = Some(at as usize);
                }
            }
        }
    }

    // Hostname → load balancer.
    let found = match target_rule {
        Some(at) => table.origin_rules[at].target.as_ref().and_then(|(_, route)| *route).map(|route| (route, None)),
        None => key.as_ref().and_then(|k| table.hosts.lookup(k.as_bytes())).map(|(route, how)| (route, Some(how))),
    };
    let Some((route, matched)) = found else {
        trace.step(Step::NoRoute);
        return Err(SelectError::NoLoadBalancer);
    };
    trace.step(Step::Route {
        matched,
        load_balancer: route.load_balancer,
        via_cname: route.via_cname,
        origin_rule: target_rule.map(|at| table.origin_rules[at].index as usize),
    });
    if !route.enabled {
        trace.step(Step::Disabled(route.load_balancer));
        return Err(SelectError::LoadBalancerDisabled);
    }
    let lb = table.load_balancer(route.load_balancer);
    let mut routed = Routed {
        load_balancer: route.load_balancer,
        lb,
        effective: Effective::new(&lb.settings),
        respond: None,
        host_header_rule,
        sni_rule,
        port_rule,
    };

    // Pool sets (first match wins), then custom rules in priority order.
    for (at, set) in lb.pool_sets.iter().enumerate() {
        let matched = set.topology.matches(request);
        trace.step(Step::PoolSet { set: set.index as usize, matched });
        if matched {
            if let PoolSetAction::Respond(_) = set.action {
                routed.respond = Some(Responder::PoolSet(at as u32));
                return Ok(routed);
            }
            routed.effective.apply_pool_set(at, set);
            break;
        }
    }
    if !lb.rules.is_empty() {
        let cx = Context { request, host: host(), load_balancer: Some(&lb.name) };
        for (at, rule) in lb.rules.iter().enumerate() {
            let matched = rule.condition.as_ref().is_none_or(|c| c.matches(&cx));
            trace.step(Step::Rule { rule: rule.index as usize, matched, terminated: matched && rule.terminates });
            if !matched {
                continue;
            }
            match &rule.action {
                RuleAction::Respond(_) => {
                    routed.respond = Some(Responder::Rule(at as u32));
                    return Ok(routed);
                }
                RuleAction::Override(overrides) => routed.effective.apply(overrides),
            }
            if rule.terminates {
                break;
            }
        }
    }
    Ok(routed)
}

/// What steering may do.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Steering {
    pub(crate) pick: Pick,
    /// Whether pools shed (`default_percent`); a failover retry does not.
    pub(crate) shedding: bool,
    /// Whether the fallback pool may fail open; a failover retry wants a
    /// healthy origin.
    pub(crate) fail_open: bool,
}

impl Steering {
    /// A request steered afresh.
    pub(crate) const NEW: Steering =
        Steering { pick: Pick { hash_key: None, exclude: None }, shedding: true, fail_open: true };
}

/// Pools in `order`, then the fallback pool: the first origin found.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn steer<H, R, T>(
    table: &Table,
    effective: &Effective<'_>,
    order: &mut PoolOrder<'_>,
    request: &Request<'_>,
    health: &H,
    rng: &mut R,
    trace: &mut T,
    steering: Steering,
) -> Result<Picked, SelectError>
where
    H: HealthView + ?Sized,
    R: RandomSource + ?Sized,
    T: Tracer,
{
    while let Some(pool) = order.next(table, effective.weights, request, health, rng, trace) {
        if steering.shedding && sheds(table.pool(pool), request, Traffic::New, rng) {
            trace.step(Step::PoolSkipped { pool, reason: Skip::Shed });
            continue;
        }
        match pick_origin(table, pool, request, health, rng, HealthMode::Respect, steering.pick) {
            Some((origin, policy)) => {
                trace.step(Step::PoolChosen { pool });
                trace.step(Step::OriginChosen { origin, policy });
                return Ok(Picked::Origin { pool, origin, fallback: false, fail_open: false });
            }
            None => trace.step(Step::PoolSkipped { pool, reason: Skip::NoSelectableOrigin }),
        }
    }

    // The fallback pool: its pool health is ignored; with no healthy origin
    // it fails open to its enabled origins.
    let pool = effective.fallback_pool;
    if table.pool(pool).enabled {
        let modes: &[(HealthMode, bool)] = if steering.fail_open {
            &[(HealthMode::Respect, false), (HealthMode::Ignore, true)]
        } else {
            &[(HealthMode::Respect, false)]
        };
        for &(mode, fail_open) in modes {
            if let Some((origin, policy)) = pick_origin(table, pool, request, health, rng, mode, steering.pick) {
                trace.step(Step::Fallback { pool, fail_open });
                trace.step(Step::OriginChosen { origin, policy });
                return Ok(Picked::Origin { pool, origin, fallback: true, fail_open });
            }
        }
    }
    trace.step(Step::FallbackUnavailable { pool });
    Err(SelectError::NoHealthyOrigin)
}
