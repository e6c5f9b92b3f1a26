//! Load balancers: their settings, custom rules and pool sets.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::hash::Map;

use super::error::{ConfigPath, Diagnostics, ErrorKind};
use super::names::{Hostname, parse_hostname};
use crate::config::{
    FixedResponse, GeoPools, LoadBalancer, LocationMode, LocationStrategy, PoolSet, PreferEcs, RandomSteering, Rule,
    RuleOverrides, SameSite, Secure, SessionAffinity, SessionAffinityAttributes, SteeringPolicy, ZeroDowntimeFailover,
};
use crate::expr::Condition;
use crate::geo::{CountryCode, PopCode, Region};
use crate::limits;
use crate::table::{
    AffinityAttributes, AffinityMode, FailoverPolicy, FixedResponseEntry, LoadBalancerEntry, Overrides, PoolId,
    PoolList, PoolPolicy, PoolSetAction, PoolSetEntry, PoolWeights, RuleAction, RuleEntry, SameSitePolicy,
    SecurePolicy, Settings, Topology, scale_weight,
};

const REGION_CODES: &[&str] =
    &["WNAM", "ENAM", "WEU", "EEU", "NSAM", "SSAM", "OC", "ME", "NAF", "SAF", "SAS", "SEAS", "NEAS"];

/// The most `session_affinity_attributes.headers` (Enterprise's limit).
const MAX_AFFINITY_HEADERS: usize = 5;

/// Resolves pool references against the account's pools.
pub(super) struct PoolRefs<'a> {
    pub(super) ids: &'a Map<&'a str, PoolId>,
}

impl PoolRefs<'_> {
    fn one(&self, path: impl FnOnce() -> ConfigPath, id: &str, diags: &mut Diagnostics) -> Option<PoolId> {
        let found = self.ids.get(id).copied();
        if found.is_none() {
            diags.error(path(), ErrorKind::UnknownPool(id.into()));
        }
        found
    }

    /// A non-empty list of distinct, known pools.
    fn list(&self, path: &ConfigPath, ids: &[String], what: &'static str, diags: &mut Diagnostics) -> PoolList {
        if ids.is_empty() {
            diags.error(path.clone(), ErrorKind::Missing(what));
        }
        if ids.len() > limits::POOLS_PER_LIST {
            diags.error(
                path.clone(),
                ErrorKind::TooMany { what: "pools in a list", count: ids.len(), limit: limits::POOLS_PER_LIST },
            );
        }
        let mut pools = Vec::with_capacity(ids.len().min(limits::POOLS_PER_LIST));
        for (i, id) in ids.iter().enumerate().take(limits::POOLS_PER_LIST) {
            let Some(pool) = self.one(|| path.index(i), id, diags) else { continue };
            if let Some(first) = pools.iter().position(|&p| p == pool) {
                diags.error(
                    path.index(i),
                    ErrorKind::Duplicate { what: "pool in this list", value: id.clone(), first: path.index(first) },
                );
            } else {
                pools.push(pool);
            }
        }
        pools.into()
    }

    fn geo<K: Ord + Copy>(
        &self,
        path: &ConfigPath,
        map: &GeoPools,
        parse: impl Fn(&str) -> Option<K>,
        bad_key: &dyn Fn(&str) -> ErrorKind,
        diags: &mut Diagnostics,
    ) -> Box<[(K, PoolList)]> {
        let mut out: Vec<(K, PoolList)> = Vec::with_capacity(map.len());
        for (key, ids) in map {
            let list = self.list(&path.key(key), ids, "a pool list", diags);
            match parse(key) {
                Some(k) if out.iter().any(|(seen, _)| *seen == k) => {
                    diags.invalid(path.key(key), "the same code appears twice in different case");
                }
                Some(k) => out.push((k, list)),
                None => diags.error(path.key(key), bad_key(key)),
            }
        }
        out.sort_by_key(|(k, _)| *k);
        out.into()
    }

    fn weights(
        &self,
        path: &ConfigPath,
        default: f64,
        by_pool: &BTreeMap<String, f64>,
        diags: &mut Diagnostics,
    ) -> PoolWeights {
        let mut out = Vec::with_capacity(by_pool.len());
        for (id, &weight) in by_pool {
            diags.check_range(|| path.key(id), weight, 0.0..=1.0, "0 to 1");
            if let Some(pool) = self.one(|| path.key(id), id, diags) {
                out.push((pool, scale_weight(weight)));
            }
        }
        out.sort_by_key(|&(p, _)| p);
        PoolWeights { default: scale_weight(default), by_pool: out.into() }
    }
}

/// Compiles every load balancer; returns them with their parsed names (for
/// the hostname index), in document order.
pub(super) fn compile_load_balancers(
    lbs: &[LoadBalancer],
    refs: &PoolRefs<'_>,
    diags: &mut Diagnostics,
) -> (Vec<LoadBalancerEntry>, Vec<Option<Hostname>>) {
    let mut entries = Vec::with_capacity(lbs.len());
    let mut names = Vec::with_capacity(lbs.len());
    let mut first: Map<Hostname, usize> = crate::hash::map();
    for (i, lb) in lbs.iter().enumerate() {
        let path = ConfigPath::root("load_balancers").index(i);
        let name = if lb.name.is_empty() {
            diags.error(path.field("name"), ErrorKind::Missing("load balancer name"));
            None
        } else {
            match parse_hostname(&lb.name, true) {
                Ok(name) => match first.get(&name) {
                    Some(&at) => {
                        diags.error(
                            path.field("name"),
                            ErrorKind::Duplicate {
                                what: "load balancer hostname",
                                value: name.display(),
                                first: ConfigPath::root("load_balancers").index(at).field("name"),
                            },
                        );
                        None
                    }
                    None => {
                        first.insert(name.clone(), i);
                        Some(name)
                    }
                },
                Err(reason) => {
                    diags.error(path.field("name"), ErrorKind::InvalidHostname { name: lb.name.clone(), reason });
                    None
                }
            }
        };
        entries.push(compile_load_balancer(lb, &path, name.as_ref(), refs, diags));
        names.push(name);
    }
    (entries, names)
}

fn compile_load_balancer(
    lb: &LoadBalancer,
    path: &ConfigPath,
    name: Option<&Hostname>,
    refs: &PoolRefs<'_>,
    diags: &mut Diagnostics,
) -> LoadBalancerEntry {
    super::pools::check_description(|| path.field("description"), &lb.description, diags);
    let default_pools = refs.list(&path.field("default_pools"), &lb.default_pools, "at least one default pool", diags);
    let fallback_pool = match lb.fallback_pool.as_deref() {
        None | Some("") => {
            diags.error(path.field("fallback_pool"), ErrorKind::Missing("fallback pool"));
            None
        }
        Some(id) => refs.one(|| path.field("fallback_pool"), id, diags),
    };
    let overrides_shape = RuleOverrides {
        adaptive_routing: lb.adaptive_routing.clone(),
        country_pools: Some(lb.country_pools.clone()),
        default_pools: None,
        fallback_pool: None,
        location_strategy: lb.location_strategy.clone(),
        pop_pools: Some(lb.pop_pools.clone()),
        random_steering: lb.random_steering.clone(),
        region_pools: Some(lb.region_pools.clone()),
        session_affinity: Some(lb.session_affinity.clone()),
        session_affinity_attributes: lb.session_affinity_attributes.clone(),
        session_affinity_ttl: lb.session_affinity_ttl,
        steering_policy: Some(lb.steering_policy.clone()),
        ttl: lb.ttl,
    };
    // The top level shares every field's checks with rule overrides.
    let top = compile_overrides(path, &overrides_shape, refs, diags);
    let settings = Settings {
        default_pools,
        fallback_pool: fallback_pool.unwrap_or(PoolId(0)),
        region_pools: top.region_pools.unwrap_or_default(),
        country_pools: top.country_pools.unwrap_or_default(),
        pop_pools: top.pop_pools.unwrap_or_default(),
        policy: top.policy.flatten(),
        weights: top.weights.unwrap_or_else(PoolWeights::uniform),
        affinity: top.affinity.unwrap_or_default(),
        affinity_ttl: top.affinity_ttl,
        affinity_attributes: top.affinity_attributes.unwrap_or_default(),
        failover_across_pools: top.failover_across_pools.unwrap_or(false),
        ttl: top.ttl.unwrap_or(30),
    };

    if lb.rules.len() > limits::RULES_PER_LOAD_BALANCER {
        diags.error(
            path.field("rules"),
            ErrorKind::TooMany { what: "custom rules", count: lb.rules.len(), limit: limits::RULES_PER_LOAD_BALANCER },
        );
    }
    let mut rules: Vec<(u32, RuleEntry)> = Vec::new();
    for (r, rule) in lb.rules.iter().enumerate().take(limits::RULES_PER_LOAD_BALANCER) {
        let rule_path = path.field("rules").index(r);
        if rule.fixed_response.is_none() {
            check_rule_affinity(lb, &rule.overrides, &rule_path.field("overrides"), diags);
        }
        if let Some(entry) = compile_rule(rule, r, &rule_path, refs, diags)
            && !rule.disabled
        {
            rules.push((rule.priority, entry));
        }
    }
    // Lower priority first; equal priorities keep array order (a stable sort).
    rules.sort_by_key(|(priority, _)| *priority);

    if lb.pool_sets.len() > limits::POOL_SETS_PER_LOAD_BALANCER {
        diags.error(
            path.field("pool_sets"),
            ErrorKind::TooMany {
                what: "pool sets",
                count: lb.pool_sets.len(),
                limit: limits::POOL_SETS_PER_LOAD_BALANCER,
            },
        );
    }
    let mut pool_sets = Vec::new();
    for (s, set) in lb.pool_sets.iter().enumerate().take(limits::POOL_SETS_PER_LOAD_BALANCER) {
        if let Some(entry) = compile_pool_set(set, s, &path.field("pool_sets").index(s), refs, diags)
            && !set.disabled
        {
            pool_sets.push(entry);
        }
    }

    let name: Box<str> = name.map(Hostname::display).unwrap_or_default().into();
    LoadBalancerEntry {
        key: crate::hash::load_balancer_key(&name),
        name,
        enabled: lb.enabled,
        proxied: lb.proxied,
        settings,
        pool_sets: pool_sets.into(),
        rules: rules.into_iter().map(|(_, rule)| rule).collect(),
    }
}

fn compile_rule(
    rule: &Rule,
    index: usize,
    path: &ConfigPath,
    refs: &PoolRefs<'_>,
    diags: &mut Diagnostics,
) -> Option<RuleEntry> {
    let errors_before = diags.errors.len();
    check_chars(&path.field("name"), &rule.name, "characters in a rule name", 200, diags);
    let condition = compile_condition(&path.field("condition"), &rule.condition, true, diags);
    let action = match &rule.fixed_response {
        Some(fixed) => {
            if rule.overrides != RuleOverrides::default() {
                diags.warning(
                    path.field("overrides"),
                    ErrorKind::Invalid("ignored: the rule has a fixed response, which ends the decision".into()),
                );
            }
            RuleAction::Respond(compile_fixed_response(&path.field("fixed_response"), fixed, diags))
        }
        None => {
            let overrides = compile_overrides(&path.field("overrides"), &rule.overrides, refs, diags);
            RuleAction::Override(Box::new(overrides))
        }
    };
    (diags.errors.len() == errors_before).then(|| RuleEntry {
        index: index as u32,
        name: rule.name.as_str().into(),
        condition: condition.flatten(),
        terminates: rule.terminates || rule.fixed_response.is_some(),
        action,
    })
}

/// Compiles a condition; `Some(None)` is the empty condition (always true)
/// where that is allowed.
pub(super) fn compile_condition(
    path: &ConfigPath,
    source: &str,
    empty_is_true: bool,
    diags: &mut Diagnostics,
) -> Option<Option<Condition>> {
    if source.trim().is_empty() {
        if empty_is_true {
            return Some(None);
        }
        diags.error(path.clone(), ErrorKind::Missing("expression"));
        return None;
    }
    // (Counted in characters, as Cloudflare does; a text of at most that
    // many bytes cannot be over.)
    if source.len() > limits::EXPRESSION_LEN {
        let count = source.chars().count();
        if count > limits::EXPRESSION_LEN {
            diags.error(
                path.clone(),
                ErrorKind::TooMany { what: "characters in an expression", count, limit: limits::EXPRESSION_LEN },
            );
            return None;
        }
    }
    match Condition::compile(source) {
        Ok(condition) => Some(Some(condition)),
        Err(err) => {
            diags.error(path.clone(), ErrorKind::Expression(err));
            None
        }
    }
}

fn compile_fixed_response(path: &ConfigPath, fixed: &FixedResponse, diags: &mut Diagnostics) -> FixedResponseEntry {
    let status_code = fixed.status_code.unwrap_or(200);
    if !(100..=599).contains(&status_code) {
        diags.error(
            path.field("status_code"),
            ErrorKind::OutOfRange { value: status_code.to_string(), expected: "100 to 599" },
        );
    }
    let mut text = |field: &'static str, value: &Option<String>, limit: usize| -> Option<Box<str>> {
        let value = value.as_deref()?;
        check_chars(&path.field(field), value, "characters", limit, diags);
        if field != "message_body" && value.bytes().any(|b| b.is_ascii_control()) {
            diags.invalid(path.field(field), "control characters are not allowed in a header value");
        }
        Some(value.into())
    };
    FixedResponseEntry {
        status_code,
        body: text("message_body", &fixed.message_body, limits::FIXED_RESPONSE_BODY),
        content_type: text("content_type", &fixed.content_type, 32),
        location: text("location", &fixed.location, 2048),
    }
}

/// A length limit of the API's schema (`maxLength`), which counts
/// characters, not bytes (as for expressions).
fn check_chars(path: &ConfigPath, value: &str, what: &'static str, limit: usize, diags: &mut Diagnostics) {
    if value.len() > limit {
        let count = value.chars().count();
        if count > limit {
            diags.error(path.clone(), ErrorKind::TooMany { what, count, limit });
        }
    }
}

fn policy(path: impl FnOnce() -> ConfigPath, policy: &SteeringPolicy, diags: &mut Diagnostics) -> Option<PoolPolicy> {
    Some(match policy {
        SteeringPolicy::Unset => return None,
        SteeringPolicy::Off => PoolPolicy::Off,
        SteeringPolicy::Geo => PoolPolicy::Geo,
        SteeringPolicy::Random => PoolPolicy::Random,
        SteeringPolicy::DynamicLatency => PoolPolicy::DynamicLatency,
        SteeringPolicy::Proximity => PoolPolicy::Proximity,
        SteeringPolicy::LeastOutstandingRequests => PoolPolicy::LeastOutstandingRequests,
        SteeringPolicy::LeastConnections => PoolPolicy::LeastConnections,
        SteeringPolicy::Unknown(value) => {
            diags.error(path(), ErrorKind::UnknownValue { value: value.clone(), expected: SteeringPolicy::VALUES });
            return None;
        }
    })
}

fn compile_overrides(path: &ConfigPath, o: &RuleOverrides, refs: &PoolRefs<'_>, diags: &mut Diagnostics) -> Overrides {
    let region = |k: &str| Region::parse(k).filter(|r| r.code() == k);
    let bad_region = |k: &str| ErrorKind::UnknownValue { value: k.into(), expected: REGION_CODES };
    let country = |k: &str| CountryCode::parse(k).filter(|c| c.as_str() == k);
    let bad_country = |_: &str| ErrorKind::Invalid("not an upper-case ISO 3166-1 alpha-2 country code".into());
    let pop = |k: &str| PopCode::parse(k).filter(|p| p.as_str() == k);
    let bad_pop = |_: &str| ErrorKind::Invalid("not an upper-case PoP code of 3 or 4 letters or digits".into());

    let affinity = o.session_affinity.as_ref().map(|mode| {
        diags.check_known(|| path.field("session_affinity"), mode.as_str(), mode.is_known(), SessionAffinity::VALUES);
        match mode {
            SessionAffinity::Cookie => AffinityMode::Cookie,
            SessionAffinity::IpCookie => AffinityMode::IpCookie,
            SessionAffinity::Header => AffinityMode::Header,
            SessionAffinity::None | SessionAffinity::Unknown(_) => AffinityMode::None,
        }
    });
    if let (Some(ttl), Some(mode)) = (o.session_affinity_ttl, affinity) {
        check_affinity_ttl(path, ttl, mode, diags);
    }
    let affinity_attributes = o
        .session_affinity_attributes
        .as_ref()
        .map(|a| compile_affinity_attributes(&path.field("session_affinity_attributes"), a, affinity, diags));

    if let Some(LocationStrategy { prefer_ecs, mode }) = &o.location_strategy {
        let lpath = || path.field("location_strategy");
        diags.check_known(
            || lpath().field("prefer_ecs"),
            prefer_ecs.as_str(),
            prefer_ecs.is_known(),
            PreferEcs::VALUES,
        );
        diags.check_known(|| lpath().field("mode"), mode.as_str(), mode.is_known(), LocationMode::VALUES);
    }

    Overrides {
        default_pools: o
            .default_pools
            .as_ref()
            .map(|ids| refs.list(&path.field("default_pools"), ids, "at least one default pool", diags)),
        fallback_pool: o.fallback_pool.as_deref().and_then(|id| refs.one(|| path.field("fallback_pool"), id, diags)),
        region_pools: o
            .region_pools
            .as_ref()
            .map(|m| refs.geo(&path.field("region_pools"), m, region, &bad_region, diags)),
        country_pools: o
            .country_pools
            .as_ref()
            .map(|m| refs.geo(&path.field("country_pools"), m, country, &bad_country, diags)),
        pop_pools: o.pop_pools.as_ref().map(|m| refs.geo(&path.field("pop_pools"), m, pop, &bad_pop, diags)),
        policy: o.steering_policy.as_ref().map(|p| policy(|| path.field("steering_policy"), p, diags)),
        weights: o.random_steering.as_ref().map(|RandomSteering { default_weight, pool_weights }| {
            let rpath = path.field("random_steering");
            diags.check_range(|| rpath.field("default_weight"), *default_weight, 0.0..=1.0, "0 to 1");
            refs.weights(&rpath.field("pool_weights"), *default_weight, pool_weights, diags)
        }),
        affinity,
        affinity_ttl: o.session_affinity_ttl,
        affinity_attributes,
        failover_across_pools: o.adaptive_routing.as_ref().map(|a| a.failover_across_pools),
        ttl: o.ttl,
    }
}

/// `session_affinity_ttl`'s range for `mode` (cloudflare-lb.md §1.4:
/// cookie and ip_cookie 1,800 to 604,800 s, header 30 to 3,600 s).
fn check_affinity_ttl(path: &ConfigPath, ttl: u32, mode: AffinityMode, diags: &mut Diagnostics) {
    let (range, expected) = match mode {
        AffinityMode::Cookie | AffinityMode::IpCookie => (1800..=604_800, "1800 to 604800 seconds for cookie affinity"),
        AffinityMode::Header => (30..=3600, "30 to 3600 seconds for header affinity"),
        AffinityMode::None => (0..=u32::MAX, ""),
    };
    if !range.contains(&ttl) {
        diags.error(path.field("session_affinity_ttl"), ErrorKind::OutOfRange { value: ttl.to_string(), expected });
    }
}

/// A rule's session settings combined with the load balancer's: each field
/// the rule sets replaces the load balancer's, so a rule that sets only the
/// mode, only the attributes or only the TTL makes a combination neither
/// checks alone. Header affinity does not support `sticky` failover
/// (cloudflare-lb.md §2.10), and the TTL's range depends on the mode (§1.4).
/// Combinations the rule sets whole are checked by `compile_overrides`.
fn check_rule_affinity(lb: &LoadBalancer, o: &RuleOverrides, path: &ConfigPath, diags: &mut Diagnostics) {
    let mode = o.session_affinity.as_ref().unwrap_or(&lb.session_affinity);
    if o.session_affinity.is_some() != o.session_affinity_attributes.is_some() && *mode == SessionAffinity::Header {
        let attributes = o.session_affinity_attributes.as_ref().or(lb.session_affinity_attributes.as_ref());
        if attributes.is_some_and(|a| a.zero_downtime_failover == ZeroDowntimeFailover::Sticky) {
            let at = match o.session_affinity {
                Some(_) => path.field("session_affinity"),
                None => path.field("session_affinity_attributes").field("zero_downtime_failover"),
            };
            diags.invalid(at, "`sticky` is not supported with header affinity");
        }
    }
    if let (None, Some(ttl)) = (&o.session_affinity, o.session_affinity_ttl) {
        let mode = match mode {
            SessionAffinity::Cookie => AffinityMode::Cookie,
            SessionAffinity::IpCookie => AffinityMode::IpCookie,
            SessionAffinity::Header => AffinityMode::Header,
            SessionAffinity::None | SessionAffinity::Unknown(_) => AffinityMode::None,
        };
        check_affinity_ttl(path, ttl, mode, diags);
    }
}

fn compile_affinity_attributes(
    path: &ConfigPath,
    a: &SessionAffinityAttributes,
    mode: Option<AffinityMode>,
    diags: &mut Diagnostics,
) -> AffinityAttributes {
    diags.check_known(|| path.field("samesite"), a.samesite.as_str(), a.samesite.is_known(), SameSite::VALUES);
    diags.check_known(|| path.field("secure"), a.secure.as_str(), a.secure.is_known(), Secure::VALUES);
    diags.check_known(
        || path.field("zero_downtime_failover"),
        a.zero_downtime_failover.as_str(),
        a.zero_downtime_failover.is_known(),
        ZeroDowntimeFailover::VALUES,
    );
    if a.samesite == SameSite::None && a.secure == Secure::Never {
        diags.invalid(path.field("secure"), "SameSite=None requires a secure cookie; `Never` is not allowed");
    }
    if mode == Some(AffinityMode::Header) && a.zero_downtime_failover == ZeroDowntimeFailover::Sticky {
        diags.invalid(path.field("zero_downtime_failover"), "`sticky` is not supported with header affinity");
    }
    let drain_duration = a.drain_duration.unwrap_or(0);
    if drain_duration > 86_400 {
        diags.error(
            path.field("drain_duration"),
            ErrorKind::OutOfRange { value: drain_duration.to_string(), expected: "0 to 86400 seconds" },
        );
    }
    let mut headers: Vec<Box<str>> = Vec::with_capacity(a.headers.len());
    for (h, header) in a.headers.iter().enumerate() {
        let valid_name = |n: &str| {
            (1..=100).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        let valid = match header.strip_prefix("cookie:") {
            Some(cookies) => cookies.split(',').all(|c| !c.is_empty() && valid_name(c)),
            None => valid_name(header),
        };
        if !valid {
            diags.invalid(
                path.field("headers").index(h),
                "expected a header name (letters, digits, `-`, `_`, up to 100) or `cookie:<name>,<name>`",
            );
        }
        if headers.iter().any(|seen| seen.eq_ignore_ascii_case(header)) {
            diags.invalid(path.field("headers").index(h), "duplicate header");
        }
        headers.push(header.as_str().into());
    }
    // cloudflare-lb.md §1.4: "max 1 (non-Ent) / 5 (Ent)".
    if headers.len() > MAX_AFFINITY_HEADERS {
        diags.error(
            path.field("headers"),
            ErrorKind::TooMany { what: "affinity headers", count: headers.len(), limit: MAX_AFFINITY_HEADERS },
        );
    }
    if mode == Some(AffinityMode::Header) && headers.is_empty() {
        diags.invalid(path.field("headers"), "header affinity needs at least one header");
    }
    // Unknown values were reported above; the defaults stand in for them
    // in a table that is never built.
    AffinityAttributes {
        samesite: match a.samesite {
            SameSite::Lax => SameSitePolicy::Lax,
            SameSite::None => SameSitePolicy::None,
            SameSite::Strict => SameSitePolicy::Strict,
            SameSite::Auto | SameSite::Unknown(_) => SameSitePolicy::Auto,
        },
        secure: match a.secure {
            Secure::Always => SecurePolicy::Always,
            Secure::Never => SecurePolicy::Never,
            Secure::Auto | Secure::Unknown(_) => SecurePolicy::Auto,
        },
        drain_duration,
        zero_downtime_failover: match a.zero_downtime_failover {
            ZeroDowntimeFailover::Temporary => FailoverPolicy::Temporary,
            ZeroDowntimeFailover::Sticky => FailoverPolicy::Sticky,
            ZeroDowntimeFailover::None | ZeroDowntimeFailover::Unknown(_) => FailoverPolicy::None,
        },
        headers: headers.into(),
        require_all_headers: a.require_all_headers,
    }
}

fn compile_pool_set(
    set: &PoolSet,
    index: usize,
    path: &ConfigPath,
    refs: &PoolRefs<'_>,
    diags: &mut Diagnostics,
) -> Option<PoolSetEntry> {
    let errors_before = diags.errors.len();
    check_chars(&path.field("name"), &set.name, "characters in a pool set name", 200, diags);
    let mut topology = Topology::default();
    if let Some(matches) = &set.matches {
        let mpath = path.field("match");
        match (matches.default, &matches.topology) {
            (Some(_), Some(_)) => diags.invalid(mpath.clone(), "`default` and `topology` cannot both be set"),
            (None, None) => diags.invalid(mpath.clone(), "an empty match: set `default` or `topology`"),
            (Some(false), None) => diags.invalid(mpath.field("default"), "`default` can only be true"),
            (Some(true), None) => {}
            (None, Some(t)) => {
                let tpath = mpath.field("topology");
                let lists = [t.pops.as_ref(), t.countries.as_ref(), t.regions.as_ref()];
                if lists.iter().all(|l| l.is_none_or(|l| l.is_empty())) {
                    diags.invalid(tpath.clone(), "an empty topology: list pops, countries or regions");
                }
                let mut codes =
                    |field: &'static str, list: &Option<Vec<String>>, what: &'static str| -> Option<Vec<String>> {
                        let list = list.as_ref().filter(|l| !l.is_empty())?;
                        if list.len() > limits::TOPOLOGY_ENTRIES {
                            diags.error(
                                tpath.field(field),
                                ErrorKind::TooMany { what, count: list.len(), limit: limits::TOPOLOGY_ENTRIES },
                            );
                        }
                        Some(list.clone())
                    };
                let pops = codes("pops", &t.pops, "PoPs");
                let countries = codes("countries", &t.countries, "countries");
                let regions = codes("regions", &t.regions, "regions");
                topology.pops =
                    pops.map(|l| parse_codes(&tpath.field("pops"), &l, PopCode::parse, "not a PoP code", diags));
                topology.countries = countries.map(|l| {
                    parse_codes(&tpath.field("countries"), &l, CountryCode::parse, "not a country code", diags)
                });
                topology.regions = regions
                    .map(|l| parse_codes(&tpath.field("regions"), &l, Region::parse, "not a region code", diags));
            }
        }
    }
    let action = match (&set.fixed_response, &set.overrides) {
        (Some(fixed), _) => PoolSetAction::Respond(compile_fixed_response(&path.field("fixed_response"), fixed, diags)),
        (None, Some(o)) => {
            let opath = path.field("overrides");
            let pools = refs.list(&opath.field("pools"), &o.pools, "at least one pool", diags);
            let default_weight = o.pool_default_weight.unwrap_or(1.0);
            if o.pool_default_weight.is_some() {
                diags.check_range(|| opath.field("pool_default_weight"), default_weight, 0.0..=1.0, "0 to 1");
            }
            let weights = refs.weights(&opath.field("pool_weights"), default_weight, &o.pool_weights, diags);
            let fallback_pool =
                o.fallback_pool.as_deref().and_then(|id| refs.one(|| opath.field("fallback_pool"), id, diags));
            let policy = match &o.steering_policy {
                None => PoolPolicy::Off,
                Some(SteeringPolicy::Geo) => {
                    diags.invalid(opath.field("steering_policy"), "`geo` is not available in a pool set");
                    PoolPolicy::Off
                }
                Some(p) => policy(|| opath.field("steering_policy"), p, diags).unwrap_or(PoolPolicy::Off),
            };
            PoolSetAction::Steer { pools, weights, fallback_pool, policy }
        }
        (None, None) => {
            diags.invalid(path.clone(), "a pool set needs `overrides` or `fixed_response`");
            return None;
        }
    };
    (diags.errors.len() == errors_before).then_some(PoolSetEntry { index: index as u32, topology, action })
}

fn parse_codes<T>(
    path: &ConfigPath,
    list: &[String],
    parse: impl Fn(&str) -> Option<T>,
    what: &'static str,
    diags: &mut Diagnostics,
) -> Box<[T]> {
    let mut out = Vec::with_capacity(list.len());
    for (i, code) in list.iter().enumerate().take(limits::TOPOLOGY_ENTRIES) {
        match parse(code) {
            Some(value) => out.push(value),
            None => diags.invalid(path.index(i), what),
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use crate::Table;

    fn errors(load_balancer: &str) -> Option<alloc::string::String> {
        let json = alloc::format!(
            r#"{{"pools": [{{"id": "p", "name": "p", "origins": [{{"name": "a", "address": "192.0.2.1"}}]}}],
                "load_balancers": [{load_balancer}]}}"#
        );
        let account = crate::Account::from_json(&json).unwrap();
        Table::compile(&account).err().map(|e| alloc::string::ToString::to_string(&e))
    }

    #[test]
    fn the_expression_limit_counts_characters() {
        // 4,096 characters (rules-language.md 1.8), here 8,000+ bytes.
        let rule = |n: usize| {
            alloc::format!(
                r#"{{"name": "a.example.com", "default_pools": ["p"], "fallback_pool": "p",
                    "rules": [{{"name": "r", "condition": "http.host eq \"{}\"", "overrides": {{"ttl": 30}}}}]}}"#,
                "é".repeat(n)
            )
        };
        let fits = crate::limits::EXPRESSION_LEN - "http.host eq \"\"".len();
        assert_eq!(errors(&rule(fits)), None);
        let err = errors(&rule(fits + 1)).expect("rejected");
        assert!(err.contains("rules[0].condition") && err.contains("4097"), "{err}");
    }

    #[test]
    fn a_rule_combines_its_session_settings_with_the_load_balancers() {
        // cloudflare-lb.md §2.10: sticky is not supported for header affinity.
        let header_lb_sticky_rule = r#"{"name": "a.example.com", "default_pools": ["p"], "fallback_pool": "p",
            "session_affinity": "header", "session_affinity_attributes": {"headers": ["x-a"]},
            "rules": [{"name": "r", "overrides": {"session_affinity_attributes": {"headers": ["x-a"], "zero_downtime_failover": "sticky"}}}]}"#;
        let err = errors(header_lb_sticky_rule).expect("rejected");
        assert!(err.contains("rules[0].overrides.session_affinity_attributes.zero_downtime_failover"), "{err}");
        let sticky_lb_header_rule = r#"{"name": "a.example.com", "default_pools": ["p"], "fallback_pool": "p",
            "session_affinity": "cookie", "session_affinity_attributes": {"zero_downtime_failover": "sticky"},
            "rules": [{"name": "r", "overrides": {"session_affinity": "header"}}]}"#;
        let err = errors(sticky_lb_header_rule).expect("rejected");
        assert!(err.contains("rules[0].overrides.session_affinity"), "{err}");
        // A rule replacing both with a valid pair is fine.
        let fine = r#"{"name": "a.example.com", "default_pools": ["p"], "fallback_pool": "p",
            "session_affinity": "cookie", "session_affinity_attributes": {"zero_downtime_failover": "sticky"},
            "rules": [{"name": "r", "overrides": {"session_affinity": "header",
                       "session_affinity_attributes": {"headers": ["x-a"], "zero_downtime_failover": "temporary"}}}]}"#;
        assert_eq!(errors(fine), None);
        // §1.4: a TTL alone is checked against the load balancer's mode.
        let header_ttl = r#"{"name": "a.example.com", "default_pools": ["p"], "fallback_pool": "p",
            "session_affinity": "header", "session_affinity_attributes": {"headers": ["x-a"]},
            "rules": [{"name": "r", "overrides": {"session_affinity_ttl": 7200}}]}"#;
        let err = errors(header_ttl).expect("rejected");
        assert!(err.contains("rules[0].overrides.session_affinity_ttl"), "{err}");
        let cookie_ttl = r#"{"name": "a.example.com", "default_pools": ["p"], "fallback_pool": "p",
            "session_affinity": "cookie", "rules": [{"name": "r", "overrides": {"session_affinity_ttl": 7200}}]}"#;
        assert_eq!(errors(cookie_ttl), None);
    }
}
