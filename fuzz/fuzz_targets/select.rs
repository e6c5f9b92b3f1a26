//! An arbitrary account (pools, origins, load balancers with every policy),
//! arbitrary health and arbitrary requests: `select` never panics, and
//! every decision keeps the invariants of the model:
//! - the origin is enabled, of weight > 0, and belongs to the chosen pool;
//! - a pool chosen before the fallback is enabled, and its origin is healthy
//!   when the pool has a monitor;
//! - only the fallback pool fails open, and only when none of its selectable
//!   origins is healthy.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use lbsteer::config::{
    LoadBalancer, LoadShedding, Monitor, Origin, OriginSteering, OriginSteeringPolicy, Pool, RandomSteering,
    SheddingPolicy, SteeringPolicy,
};
use lbsteer::{Account, Decision, FastRng, Request, SelectError, Table};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct OriginIn {
    enabled: bool,
    weight: u8,
    port: u8,
}

#[derive(Arbitrary, Debug)]
struct PoolIn {
    enabled: bool,
    monitored: bool,
    minimum: u8,
    policy: u8,
    shed_percent: u8,
    shed_hash: bool,
    coordinates: Option<(i8, u8)>,
    origins: Vec<OriginIn>,
}

#[derive(Arbitrary, Debug)]
struct LbIn {
    enabled: bool,
    policy: u8,
    defaults: Vec<u8>,
    fallback: u8,
    region: Option<(u8, Vec<u8>)>,
    weights: Vec<(u8, u8)>,
}

#[derive(Arbitrary, Debug)]
struct RequestIn {
    lb: u8,
    ip: Option<[u8; 4]>,
    region: u8,
    coordinates: Option<(i8, u8)>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    pools: Vec<PoolIn>,
    lbs: Vec<LbIn>,
    health: Vec<bool>,
    requests: Vec<RequestIn>,
    seed: u64,
}

const REGIONS: [&str; 4] = ["WNAM", "ENAM", "WEU", "OC"];
const POLICIES: [&str; 8] =
    ["", "off", "geo", "random", "dynamic_latency", "proximity", "least_outstanding_requests", "least_connections"];

fn account(input: &Input) -> Option<Account> {
    let pools = input.pools.iter().take(8).collect::<Vec<_>>();
    if pools.is_empty() {
        return None;
    }
    let pool_id = |i: u8| format!("p{}", usize::from(i) % pools.len());
    let mut account =
        Account { monitors: vec![Monitor { id: "m".into(), ..Monitor::default() }], ..Account::default() };
    for (i, p) in pools.iter().enumerate() {
        let policy = [
            OriginSteeringPolicy::Random,
            OriginSteeringPolicy::Hash,
            OriginSteeringPolicy::LeastOutstandingRequests,
            OriginSteeringPolicy::LeastConnections,
        ][usize::from(p.policy) % 4]
            .clone();
        account.pools.push(Pool {
            id: format!("p{i}"),
            name: format!("p{i}"),
            enabled: p.enabled,
            monitor: p.monitored.then(|| "m".into()),
            minimum_origins: u32::from(p.minimum % 4),
            latitude: p.coordinates.map(|(lat, _)| f64::from(lat) * 0.7),
            longitude: p.coordinates.map(|(_, lon)| f64::from(lon) - 128.0),
            origin_steering: Some(OriginSteering { policy }),
            load_shedding: Some(LoadShedding {
                default_percent: f64::from(p.shed_percent % 101),
                default_policy: if p.shed_hash { SheddingPolicy::Hash } else { SheddingPolicy::Random },
                ..LoadShedding::default()
            }),
            origins: p
                .origins
                .iter()
                .take(12)
                .enumerate()
                .map(|(o, origin)| Origin {
                    name: format!("o{o}"),
                    address: format!("10.{i}.0.{o}"),
                    enabled: origin.enabled,
                    weight: f64::from(origin.weight % 101) / 100.0,
                    port: u16::from(origin.port),
                    ..Origin::default()
                })
                .collect(),
            ..Pool::default()
        });
    }
    for (i, lb) in input.lbs.iter().take(4).enumerate() {
        let mut defaults: Vec<String> = Vec::new();
        for &d in lb.defaults.iter().take(6) {
            let id = pool_id(d);
            if !defaults.contains(&id) {
                defaults.push(id);
            }
        }
        if defaults.is_empty() {
            defaults.push(pool_id(0));
        }
        let mut load_balancer = LoadBalancer {
            name: format!("lb{i}.example.com"),
            enabled: lb.enabled,
            default_pools: defaults,
            fallback_pool: Some(pool_id(lb.fallback)),
            steering_policy: SteeringPolicy::parse(POLICIES[usize::from(lb.policy) % POLICIES.len()]),
            random_steering: Some(RandomSteering {
                default_weight: 0.5,
                pool_weights: lb
                    .weights
                    .iter()
                    .take(4)
                    .map(|&(p, w)| (pool_id(p), f64::from(w % 101) / 100.0))
                    .collect(),
            }),
            ..LoadBalancer::default()
        };
        if let Some((region, pools)) = &lb.region {
            let mut list: Vec<String> = Vec::new();
            for &p in pools.iter().take(4) {
                let id = pool_id(p);
                if !list.contains(&id) {
                    list.push(id);
                }
            }
            if !list.is_empty() {
                load_balancer.region_pools.insert(REGIONS[usize::from(*region) % REGIONS.len()].into(), list);
            }
        }
        account.load_balancers.push(load_balancer);
    }
    Some(account)
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = Input::arbitrary(&mut Unstructured::new(data)) else { return };
    let Some(account) = account(&input) else { return };
    if account.load_balancers.is_empty() {
        return;
    }
    let table = match Table::compile(&account) {
        Ok(table) => table,
        // Generated accounts are valid by construction.
        Err(err) => panic!("a generated account does not compile: {err}"),
    };
    let health: Vec<bool> = (0..table.origins().len()).map(|i| input.health.get(i).copied().unwrap_or(true)).collect();
    let mut rng = FastRng::new(input.seed);
    for r in input.requests.iter().take(16) {
        let host = format!("lb{}.example.com", usize::from(r.lb) % account.load_balancers.len());
        let mut request = Request::new(&host).region(REGIONS[usize::from(r.region) % REGIONS.len()]);
        if let Some(ip) = r.ip {
            request = request.client_ip(ip.into());
        }
        if let Some((lat, lon)) = r.coordinates {
            request = request.coordinates(f64::from(lat) * 0.7, f64::from(lon) - 128.0);
        }
        match table.select(&request, &health[..], &mut rng) {
            Ok(Decision::Origin(s)) => {
                let origin = s.origin();
                assert!(origin.enabled() && origin.weight() > 0.0, "{s:?}");
                assert_eq!(origin.pool(), s.pool_id());
                let pool = s.pool();
                if !s.is_fallback() {
                    assert!(pool.enabled(), "{s:?}");
                    assert!(
                        !pool.monitored() || health[s.origin_id().index()],
                        "an unhealthy origin before the fallback: {s:?}"
                    );
                }
                if s.is_fail_open() {
                    assert!(s.is_fallback());
                    let any_healthy = pool.origins().any(|o| {
                        let e = table.origin(o);
                        e.enabled() && e.weight() > 0.0 && (!pool.monitored() || health[o.index()])
                    });
                    assert!(!any_healthy, "failed open although a selectable origin is healthy: {s:?}");
                } else if pool.monitored() {
                    assert!(health[s.origin_id().index()], "{s:?}");
                }
            }
            Ok(Decision::Respond(_)) => panic!("no fixed responses are configured"),
            Err(SelectError::LoadBalancerDisabled) => {
                assert!(table.load_balancers().iter().any(|lb| lb.name() == host && !lb.enabled()));
            }
            Err(SelectError::NoHealthyOrigin) => {
                let lb = table.load_balancers().iter().find(|lb| lb.name() == host).unwrap();
                let fallback = table.pool(lb.fallback_pool());
                let selectable =
                    fallback.origins().any(|o| table.origin(o).enabled() && table.origin(o).weight() > 0.0);
                assert!(!fallback.enabled() || !selectable, "nothing selected although the fallback pool can serve");
            }
            Err(err) => panic!("{err:?} for {host}"),
        }
    }
});
