//! A reference model of the documented decision, written plainly from the
//! configuration (no compiled table, no precomputation), compared with the
//! engine on random accounts, health and requests.
//!
//! Deterministic policies must agree exactly: the same pool and origin, the
//! same fixed response, or the same error. Where the engine draws at random
//! (`random` pools, `random` and IP-less `hash` origins) the model gives the
//! set of acceptable answers, and the engine's must be in it; `hash` with a
//! client IP is checked for stability instead (its exact mapping is the
//! rendezvous hashing tested in `hash_consistency.rs`).

use std::collections::BTreeMap;

use lbsteer::config::{
    FixedResponse, LoadBalancer, Monitor, Origin, OriginSteering, OriginSteeringPolicy, Pool, PoolSet, PoolSetMatch,
    PoolSetOverrides, RandomSteering, Rule, RuleOverrides, SteeringPolicy, Topology,
};
use lbsteer::geo::{Coordinates, CountryCode, Region};
use lbsteer::health::HealthView;
use lbsteer::table::{OriginId, PoolId};
use lbsteer::{Account, Decision, FastRng, Request, Table};
use proptest::prelude::*;

const REGIONS: [&str; 4] = ["WNAM", "ENAM", "WEU", "OC"];
const COUNTRIES: [&str; 4] = ["US", "FR", "AU", "JP"];
const POPS: [&str; 3] = ["SJC", "CDG", "SYD"];
const PATHS: [&str; 3] = ["/", "/a", "/b"];
/// Well-separated places: no two are nearly equidistant from another.
const PLACES: [(f64, f64); 6] =
    [(37.4, -122.1), (40.7, -74.0), (51.5, -0.1), (-33.9, 151.2), (35.7, 139.7), (-23.5, -46.6)];
const POLICIES: [&str; 8] =
    ["", "off", "geo", "random", "dynamic_latency", "proximity", "least_outstanding_requests", "least_connections"];
const WEIGHTS: [f64; 4] = [0.0, 0.25, 0.5, 1.0];

// ----- generated inputs -----

#[derive(Clone, Debug)]
struct GenOrigin {
    enabled: bool,
    weight: usize,
}

#[derive(Clone, Debug)]
struct GenPool {
    enabled: bool,
    monitored: bool,
    minimum: u32,
    policy: usize,
    place: Option<usize>,
    origins: Vec<GenOrigin>,
}

#[derive(Clone, Debug)]
enum GenAction {
    Pools(Vec<usize>),
    Policy(usize),
    Fallback(usize),
    Fixed(u16),
}

#[derive(Clone, Debug)]
struct GenRule {
    path: usize,
    priority: u32,
    disabled: bool,
    terminates: bool,
    action: GenAction,
}

#[derive(Clone, Debug)]
struct GenPoolSet {
    region: Option<usize>,
    country: Option<usize>,
    pools: Vec<usize>,
    policy: usize,
    fixed: Option<u16>,
}

#[derive(Clone, Debug)]
struct GenLb {
    enabled: bool,
    policy: usize,
    defaults: Vec<usize>,
    fallback: usize,
    region_pools: Option<(usize, Vec<usize>)>,
    country_pools: Option<(usize, Vec<usize>)>,
    pop_pools: Option<(usize, Vec<usize>)>,
    weights: Vec<(usize, usize)>,
    default_weight: usize,
    rules: Vec<GenRule>,
    pool_sets: Vec<GenPoolSet>,
}

#[derive(Clone, Debug)]
struct GenRequest {
    lb: usize,
    region: Option<usize>,
    country: Option<usize>,
    pop: Option<usize>,
    place: Option<usize>,
    ip: Option<u32>,
    path: usize,
}

#[derive(Clone, Debug)]
struct Gen {
    pools: Vec<GenPool>,
    lbs: Vec<GenLb>,
    healthy: Vec<bool>,
    rtt: Vec<Option<u16>>,
    counts: Vec<u8>,
    requests: Vec<GenRequest>,
}

fn pool_list() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..5, 1..4)
}

fn inputs() -> impl Strategy<Value = Gen> {
    let origin = (prop::bool::weighted(0.85), 0usize..4).prop_map(|(enabled, weight)| GenOrigin { enabled, weight });
    let pool = (
        prop::bool::weighted(0.85),
        any::<bool>(),
        0u32..3,
        0usize..4,
        prop::option::of(0usize..PLACES.len()),
        prop::collection::vec(origin, 0..5),
    )
        .prop_map(|(enabled, monitored, minimum, policy, place, origins)| GenPool {
            enabled,
            monitored,
            minimum,
            policy,
            place,
            origins,
        });
    let action = prop_oneof![
        pool_list().prop_map(GenAction::Pools),
        (0usize..POLICIES.len()).prop_map(GenAction::Policy),
        (0usize..5).prop_map(GenAction::Fallback),
        (200u16..600).prop_map(GenAction::Fixed),
    ];
    let rule = (0usize..PATHS.len(), 0u32..3, prop::bool::weighted(0.2), any::<bool>(), action).prop_map(
        |(path, priority, disabled, terminates, action)| GenRule { path, priority, disabled, terminates, action },
    );
    let pool_set = (
        prop::option::of(0usize..REGIONS.len()),
        prop::option::of(0usize..COUNTRIES.len()),
        pool_list(),
        0usize..POLICIES.len(),
        prop::option::weighted(0.2, 200u16..600),
    )
        .prop_map(|(region, country, pools, policy, fixed)| GenPoolSet { region, country, pools, policy, fixed });
    let geo = |n: usize| prop::option::weighted(0.4, (0..n, pool_list()));
    let lb = (
        (prop::bool::weighted(0.9), 0usize..POLICIES.len(), pool_list(), 0usize..5),
        (geo(REGIONS.len()), geo(COUNTRIES.len()), geo(POPS.len())),
        (prop::collection::vec((0usize..5, 0usize..4), 0..3), 1usize..4),
        (prop::collection::vec(rule, 0..4), prop::collection::vec(pool_set, 0..3)),
    )
        .prop_map(
            |(
                (enabled, policy, defaults, fallback),
                (region_pools, country_pools, pop_pools),
                (weights, default_weight),
                (rules, pool_sets),
            )| GenLb {
                enabled,
                policy,
                defaults,
                fallback,
                region_pools,
                country_pools,
                pop_pools,
                weights,
                default_weight,
                rules,
                pool_sets,
            },
        );
    let request = (
        0usize..4,
        prop::option::of(0usize..REGIONS.len()),
        prop::option::of(0usize..COUNTRIES.len()),
        prop::option::weighted(0.3, 0usize..POPS.len()),
        prop::option::of(0usize..PLACES.len()),
        prop::option::of(any::<u32>()),
        0usize..PATHS.len(),
    )
        .prop_map(|(lb, region, country, pop, place, ip, path)| GenRequest {
            lb,
            region,
            country,
            pop,
            place,
            ip,
            path,
        });
    (
        prop::collection::vec(pool, 1..6),
        prop::collection::vec(lb, 1..4),
        prop::collection::vec(prop::bool::weighted(0.7), 32),
        prop::collection::vec(prop::option::weighted(0.6, 1u16..500), 32),
        prop::collection::vec(0u8..8, 64),
        prop::collection::vec(request, 1..8),
    )
        .prop_map(|(pools, lbs, healthy, rtt, counts, requests)| Gen {
            pools,
            lbs,
            healthy,
            rtt,
            counts,
            requests,
        })
}

// ----- the account the inputs describe -----

fn ids(list: &[usize], pools: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for &p in list {
        let id = format!("p{}", p % pools);
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

fn account(g: &Gen) -> Account {
    let n = g.pools.len();
    let policy = |i: usize| SteeringPolicy::parse(POLICIES[i]);
    let pools = g
        .pools
        .iter()
        .enumerate()
        .map(|(i, p)| Pool {
            id: format!("p{i}"),
            name: format!("p{i}"),
            enabled: p.enabled,
            monitor: p.monitored.then(|| "m".into()),
            minimum_origins: p.minimum,
            latitude: p.place.map(|k| PLACES[k].0),
            longitude: p.place.map(|k| PLACES[k].1),
            origin_steering: Some(OriginSteering {
                policy: [
                    OriginSteeringPolicy::Random,
                    OriginSteeringPolicy::Hash,
                    OriginSteeringPolicy::LeastOutstandingRequests,
                    OriginSteeringPolicy::LeastConnections,
                ][p.policy]
                    .clone(),
            }),
            origins: p
                .origins
                .iter()
                .enumerate()
                .map(|(o, origin)| Origin {
                    name: format!("o{o}"),
                    address: format!("10.{i}.0.{o}"),
                    enabled: origin.enabled,
                    weight: WEIGHTS[origin.weight],
                    ..Origin::default()
                })
                .collect(),
            ..Pool::default()
        })
        .collect();
    let geo = |map: &Option<(usize, Vec<usize>)>, keys: &[&str]| {
        map.iter().map(|(k, list)| (keys[*k].to_string(), ids(list, n))).collect::<BTreeMap<_, _>>()
    };
    let load_balancers = g
        .lbs
        .iter()
        .enumerate()
        .map(|(i, lb)| LoadBalancer {
            name: format!("lb{i}.example.com"),
            enabled: lb.enabled,
            default_pools: ids(&lb.defaults, n),
            fallback_pool: Some(format!("p{}", lb.fallback % n)),
            steering_policy: policy(lb.policy),
            region_pools: geo(&lb.region_pools, &REGIONS),
            country_pools: geo(&lb.country_pools, &COUNTRIES),
            pop_pools: geo(&lb.pop_pools, &POPS),
            random_steering: Some(RandomSteering {
                default_weight: WEIGHTS[lb.default_weight],
                pool_weights: lb.weights.iter().map(|&(p, w)| (format!("p{}", p % n), WEIGHTS[w])).collect(),
            }),
            rules: lb
                .rules
                .iter()
                .map(|r| {
                    let mut rule = Rule {
                        name: String::new(),
                        condition: format!("http.request.uri.path eq \"{}\"", PATHS[r.path]),
                        disabled: r.disabled,
                        priority: r.priority,
                        terminates: r.terminates,
                        ..Rule::default()
                    };
                    match &r.action {
                        GenAction::Pools(list) => {
                            rule.overrides = RuleOverrides { default_pools: Some(ids(list, n)), ..Default::default() }
                        }
                        GenAction::Policy(p) => {
                            rule.overrides = RuleOverrides { steering_policy: Some(policy(*p)), ..Default::default() }
                        }
                        GenAction::Fallback(p) => {
                            rule.overrides =
                                RuleOverrides { fallback_pool: Some(format!("p{}", p % n)), ..Default::default() }
                        }
                        GenAction::Fixed(status) => {
                            rule.fixed_response =
                                Some(FixedResponse { status_code: Some(*status), ..Default::default() })
                        }
                    }
                    rule
                })
                .collect(),
            pool_sets: lb
                .pool_sets
                .iter()
                .map(|s| {
                    let topology = (s.region.is_some() || s.country.is_some()).then(|| Topology {
                        regions: s.region.map(|r| vec![REGIONS[r].to_string()]),
                        countries: s.country.map(|c| vec![COUNTRIES[c].to_string()]),
                        pops: None,
                    });
                    PoolSet {
                        name: String::new(),
                        disabled: false,
                        matches: topology.map(|t| PoolSetMatch { default: None, topology: Some(t) }),
                        overrides: Some(PoolSetOverrides {
                            pools: ids(&s.pools, n),
                            steering_policy: Some(if POLICIES[s.policy] == "geo" {
                                policy(1)
                            } else {
                                policy(s.policy)
                            }),
                            ..Default::default()
                        }),
                        fixed_response: s
                            .fixed
                            .map(|status| FixedResponse { status_code: Some(status), ..Default::default() }),
                    }
                })
                .collect(),
            ..LoadBalancer::default()
        })
        .collect();
    Account {
        monitors: vec![Monitor { id: "m".into(), ..Monitor::default() }],
        pools,
        load_balancers,
        ..Account::default()
    }
}

// ----- health, as the engine sees it and as the model sees it -----

struct Health {
    healthy: Vec<bool>,
    rtt: Vec<Option<f64>>,
    counts: Vec<u32>,
}

impl Health {
    fn origin_index(pool: usize, origin: usize) -> usize {
        (pool * 5 + origin) % 32
    }
    fn rtt_index(pool: usize, region: Region) -> usize {
        (pool * Region::COUNT + region.index()) % 32
    }
    fn origin_healthy(&self, pool: usize, origin: usize) -> bool {
        self.healthy[Self::origin_index(pool, origin)]
    }
    fn pool_rtt(&self, pool: usize, region: Region) -> Option<f64> {
        self.rtt[Self::rtt_index(pool, region)]
    }
    /// Outstanding (0) or connections (1) for a pool or an origin.
    fn count(&self, kind: usize, pool: usize, origin: Option<usize>) -> u32 {
        self.counts[(kind * 31 + pool * 7 + origin.map_or(0, |o| o + 1) * 3) % 64]
    }
}

/// The engine's view: the same health, by the table's dense ids.
struct View<'a> {
    health: &'a Health,
    table: &'a Table,
}

impl View<'_> {
    fn pool_index(&self, pool: PoolId) -> usize {
        self.table.pool(pool).id()[1..].parse().unwrap()
    }
    fn origin_index(&self, origin: OriginId) -> (usize, usize) {
        let entry = self.table.origin(origin);
        (self.pool_index(entry.pool()), entry.name()[1..].parse().unwrap())
    }
}

impl HealthView for View<'_> {
    fn origin_healthy(&self, origin: OriginId) -> bool {
        let (p, o) = self.origin_index(origin);
        self.health.origin_healthy(p, o)
    }
    fn pool_rtt_ms(&self, pool: PoolId, region: Region) -> Option<f64> {
        self.health.pool_rtt(self.pool_index(pool), region)
    }
    fn pool_outstanding(&self, pool: PoolId) -> u32 {
        self.health.count(0, self.pool_index(pool), None)
    }
    fn origin_outstanding(&self, origin: OriginId) -> u32 {
        let (p, o) = self.origin_index(origin);
        self.health.count(0, p, Some(o))
    }
    fn pool_connections(&self, pool: PoolId) -> u32 {
        self.health.count(1, self.pool_index(pool), None)
    }
    fn origin_connections(&self, origin: OriginId) -> u32 {
        let (p, o) = self.origin_index(origin);
        self.health.count(1, p, Some(o))
    }
}

// ----- the model -----

#[derive(Debug, PartialEq)]
enum Expected {
    Error(&'static str),
    Fixed(u16),
    /// Any of these (pool, origin) pairs; `fallback`, `fail_open`.
    Origin {
        choices: Vec<(String, String)>,
        fallback: bool,
        fail_open: bool,
    },
}

struct Settings<'a> {
    defaults: Vec<String>,
    fallback: String,
    region: BTreeMap<String, Vec<String>>,
    country: BTreeMap<String, Vec<String>>,
    pop: BTreeMap<String, Vec<String>>,
    policy: SteeringPolicy,
    default_weight: f64,
    weights: BTreeMap<String, f64>,
    _lb: &'a LoadBalancer,
}

fn model(account: &Account, health: &Health, g: &GenRequest, host: &str) -> Expected {
    let Some(lb) = account.load_balancers.iter().find(|lb| lb.name == host) else {
        return Expected::Error("no_load_balancer");
    };
    if !lb.enabled {
        return Expected::Error("load_balancer_disabled");
    }
    let region = g
        .region
        .map(|r| Region::parse(REGIONS[r]).unwrap())
        .or_else(|| g.country.and_then(|c| CountryCode::parse(COUNTRIES[c]).unwrap().region()));
    let country = g.country.map(|c| COUNTRIES[c]);
    let rs = lb.random_steering.clone().unwrap_or_default();
    let mut s = Settings {
        defaults: lb.default_pools.clone(),
        fallback: lb.fallback_pool.clone().unwrap(),
        region: lb.region_pools.clone(),
        country: lb.country_pools.clone(),
        pop: lb.pop_pools.clone(),
        policy: lb.steering_policy.clone(),
        default_weight: rs.default_weight,
        weights: rs.pool_weights.clone(),
        _lb: lb,
    };
    // Pool sets: the first whose topology matches.
    for set in &lb.pool_sets {
        let topology = set.matches.as_ref().and_then(|m| m.topology.as_ref());
        let matched = topology.is_none_or(|t| {
            t.regions.as_ref().is_none_or(|l| region.is_some_and(|r| l.iter().any(|x| x == r.code())))
                && t.countries.as_ref().is_none_or(|l| country.is_some_and(|c| l.iter().any(|x| x == c)))
        });
        if matched {
            if let Some(fixed) = &set.fixed_response {
                return Expected::Fixed(fixed.status_code.unwrap());
            }
            let o = set.overrides.as_ref().unwrap();
            s.defaults = o.pools.clone();
            s.region.clear();
            s.country.clear();
            s.pop.clear();
            s.default_weight = o.pool_default_weight.unwrap_or(1.0);
            s.weights = o.pool_weights.clone();
            s.policy = o.steering_policy.clone().unwrap_or(SteeringPolicy::Off);
            if let Some(f) = &o.fallback_pool {
                s.fallback = f.clone();
            }
            break;
        }
    }
    // Custom rules by priority, ties in array order.
    let mut rules: Vec<&Rule> = lb.rules.iter().filter(|r| !r.disabled).collect();
    rules.sort_by_key(|r| r.priority);
    for rule in rules {
        if rule.condition != format!("http.request.uri.path eq \"{}\"", PATHS[g.path]) {
            continue;
        }
        if let Some(fixed) = &rule.fixed_response {
            return Expected::Fixed(fixed.status_code.unwrap());
        }
        let o = &rule.overrides;
        if let Some(p) = &o.default_pools {
            s.defaults = p.clone();
        }
        if let Some(p) = &o.steering_policy {
            s.policy = p.clone();
        }
        if let Some(f) = &o.fallback_pool {
            s.fallback = f.clone();
        }
        if rule.terminates {
            break;
        }
    }
    let has_geo = !(s.region.is_empty() && s.country.is_empty() && s.pop.is_empty());
    let policy = match s.policy {
        SteeringPolicy::Unset if has_geo => SteeringPolicy::Geo,
        SteeringPolicy::Unset => SteeringPolicy::Off,
        ref p => p.clone(),
    };
    let candidates: Vec<String> = if policy == SteeringPolicy::Geo {
        g.pop
            .and_then(|p| s.pop.get(POPS[p]))
            .or_else(|| country.and_then(|c| s.country.get(c)))
            .or_else(|| region.and_then(|r| s.region.get(r.code())))
            .unwrap_or(&s.defaults)
            .clone()
    } else {
        s.defaults.clone()
    };
    let pool_of = |id: &str| -> (usize, &Pool) {
        let i: usize = id[1..].parse().unwrap();
        (i, &account.pools[i])
    };
    let usable = |id: &String| {
        let (i, pool) = pool_of(id);
        let healthy = pool
            .origins
            .iter()
            .enumerate()
            .filter(|(o, origin)| origin.enabled && (pool.monitor.is_none() || health.origin_healthy(i, *o)))
            .count() as u32;
        pool.enabled && healthy >= pool.minimum_origins
    };
    let weight = |id: &String| s.weights.get(id).copied().unwrap_or(s.default_weight);
    let mut order: Vec<String> = candidates.into_iter().filter(usable).collect();
    // A stable sort keeps list order among equal keys; pools without a key
    // (no RTT, no coordinates, weight 0) go last.
    let sort = |order: &mut Vec<String>, key: &dyn Fn(&String) -> Option<f64>| {
        order.sort_by(|a, b| match (key(a), key(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap(),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
    };
    let here = g.place.map(|k| Coordinates::new(PLACES[k].0, PLACES[k].1).unwrap());
    match policy {
        SteeringPolicy::DynamicLatency => {
            sort(&mut order, &|id| region.and_then(|r| health.pool_rtt(pool_of(id).0, r)))
        }
        SteeringPolicy::Proximity => sort(&mut order, &|id| {
            let pool = pool_of(id).1;
            Some(haversine(here?, Coordinates::new(pool.latitude?, pool.longitude?)?))
        }),
        SteeringPolicy::LeastOutstandingRequests | SteeringPolicy::LeastConnections => {
            let kind = usize::from(policy == SteeringPolicy::LeastConnections);
            sort(&mut order, &|id| {
                let w = weight(id);
                (w > 0.0).then(|| (f64::from(health.count(kind, pool_of(id).0, None)) + 1.0) / w)
            })
        }
        _ => {}
    }
    let pick = |id: &String, respect: bool| -> Vec<String> {
        let (i, pool) = pool_of(id);
        let eligible: Vec<usize> = pool
            .origins
            .iter()
            .enumerate()
            .filter(|(o, origin)| {
                origin.enabled
                    && origin.weight > 0.0
                    && (!respect || pool.monitor.is_none() || health.origin_healthy(i, *o))
            })
            .map(|(o, _)| o)
            .collect();
        let policy = &pool.origin_steering.as_ref().unwrap().policy;
        let least = |kind: usize| {
            let score = |o: usize| (f64::from(health.count(kind, i, Some(o))) + 1.0) / pool.origins[o].weight;
            let best = eligible.iter().copied().fold(None, |best: Option<usize>, o| match best {
                Some(b) if score(b) <= score(o) => Some(b),
                _ => Some(o),
            });
            best.into_iter().collect::<Vec<_>>()
        };
        let chosen = match policy {
            OriginSteeringPolicy::LeastOutstandingRequests => least(0),
            OriginSteeringPolicy::LeastConnections => least(1),
            _ => eligible,
        };
        chosen.into_iter().map(|o| pool.origins[o].name.clone()).collect()
    };
    if policy == SteeringPolicy::Random {
        // Any usable pool with a candidate origin, weighted (weight 0 only
        // when nothing else remains).
        let with_origin: Vec<&String> = order.iter().filter(|p| !pick(p, true).is_empty()).collect();
        let positive: Vec<&&String> = with_origin.iter().filter(|p| weight(p) > 0.0).collect();
        let pools: Vec<&String> = if positive.is_empty() {
            with_origin.into_iter().take(1).collect()
        } else {
            positive.into_iter().copied().collect()
        };
        if !pools.is_empty() {
            let choices = pools.iter().flat_map(|p| pick(p, true).into_iter().map(|o| ((*p).clone(), o))).collect();
            return Expected::Origin { choices, fallback: false, fail_open: false };
        }
    } else {
        for id in &order {
            let origins = pick(id, true);
            if !origins.is_empty() {
                return Expected::Origin {
                    choices: origins.into_iter().map(|o| (id.clone(), o)).collect(),
                    fallback: false,
                    fail_open: false,
                };
            }
        }
    }
    let (_, fallback) = pool_of(&s.fallback);
    if !fallback.enabled {
        return Expected::Error("no_healthy_origin");
    }
    for (respect, fail_open) in [(true, false), (false, true)] {
        let origins = pick(&s.fallback, respect);
        if !origins.is_empty() {
            return Expected::Origin {
                choices: origins.into_iter().map(|o| (s.fallback.clone(), o)).collect(),
                fallback: true,
                fail_open,
            };
        }
    }
    Expected::Error("no_healthy_origin")
}

fn haversine(a: Coordinates, b: Coordinates) -> f64 {
    let (lat1, lat2) = (a.latitude.to_radians(), b.latitude.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((b.longitude - a.longitude).to_radians() / 2.0).sin().powi(2);
    2.0 * 6_371.0 * h.sqrt().asin()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_engine_agrees_with_the_model(g in inputs()) {
        let account = account(&g);
        let table = Table::compile(&account).unwrap_or_else(|err| panic!("{err}"));
        let health = Health {
            healthy: g.healthy.clone(),
            rtt: g.rtt.iter().map(|r| r.map(f64::from)).collect(),
            counts: g.counts.iter().map(|&c| u32::from(c)).collect(),
        };
        let view = View { health: &health, table: &table };
        let mut rng = FastRng::new(7);
        for r in &g.requests {
            let host = if r.lb < g.lbs.len() { format!("lb{}.example.com", r.lb) } else { "unknown.example.org".into() };
            let mut request = Request::new(&host).path(PATHS[r.path]);
            if let Some(region) = r.region { request = request.region(REGIONS[region]); }
            if let Some(country) = r.country { request = request.country(COUNTRIES[country]); }
            if let Some(pop) = r.pop { request = request.pop(POPS[pop]); }
            if let Some(k) = r.place { request = request.coordinates(PLACES[k].0, PLACES[k].1); }
            if let Some(ip) = r.ip { request = request.client_ip(std::net::Ipv4Addr::from(ip).into()); }
            let expected = model(&account, &health, r, &host);
            let got = table.select(&request, &view, &mut rng);
            match (&expected, got) {
                (Expected::Error(code), Err(err)) => prop_assert_eq!(*code, err.code()),
                (Expected::Fixed(status), Ok(Decision::Respond(response))) => prop_assert_eq!(*status, response.status_code()),
                (Expected::Origin { choices, fallback, fail_open }, Ok(Decision::Origin(s))) => {
                    let pair = (s.pool().id().to_string(), s.origin().name().to_string());
                    prop_assert!(choices.contains(&pair), "engine chose {pair:?}, model allows {choices:?} for {r:?}");
                    prop_assert_eq!(*fallback, s.is_fallback(), "fallback for {:?}", r);
                    prop_assert_eq!(*fail_open, s.is_fail_open(), "fail-open for {:?}", r);
                    // hash steering with a client IP is stable.
                    if r.ip.is_some() && s.pool().origin_policy() == lbsteer::table::OriginPolicy::Hash {
                        let again = table.select(&request, &view, &mut FastRng::new(99));
                        if let Ok(Decision::Origin(again)) = again
                            && again.pool_id() == s.pool_id()
                        {
                            prop_assert_eq!(again.origin_id(), s.origin_id());
                        }
                    }
                }
                (expected, got) => prop_assert!(false, "model {expected:?}, engine {got:?} for {r:?}"),
            }
        }
    }
}
