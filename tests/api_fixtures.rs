//! Every valid Cloudflare API document in `tests/fixtures/cloudflare-api/`
//! (bodies from cloudflare-go's tests and Cloudflare's documentation) loads
//! as it is, into the type it describes.

use std::fs;
use std::path::{Path, PathBuf};

use lbsteer::config::{
    self, LoadBalancer, Monitor, OriginRule, Pool, PoolHealthDetails, SessionAffinity, SteeringPolicy,
};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cloudflare-api");
    let mut files: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

#[derive(Debug)]
enum Kind {
    Monitor,
    Monitors,
    Pool,
    Pools,
    LoadBalancer,
    LoadBalancers,
    OriginRules,
    PoolHealth,
}

fn kind_of(name: &str) -> Kind {
    match name {
        n if n.contains("origin-rules") => Kind::OriginRules,
        n if n.contains("listlbmonitors") => Kind::Monitors,
        n if n.contains("listlbpools") => Kind::Pools,
        n if n.contains("listlbs") || n.contains("listaccountlbs") => Kind::LoadBalancers,
        n if n.contains("poolhealthdetails") => Kind::PoolHealth,
        n if n.contains("monitor") => Kind::Monitor,
        n if n.contains("pool-sets") || n.contains("load-balancer") => Kind::LoadBalancer,
        n if n.contains("lbpool") || n.contains("create-pool") || n.contains("load-shedding") => Kind::Pool,
        n if n.contains("regional-health") => Kind::Pool,
        n if n.contains("-lb-") || n.contains("getlb") || n.contains("deletelb") || n.contains("account-lb") => {
            Kind::LoadBalancer
        }
        n if n.contains("updatelb") || n.contains("getaccountlb") || n.contains("updateaccountlb") => {
            Kind::LoadBalancer
        }
        // The two least-outstanding-requests bodies: one is a pool patch
        // (origin_steering), one a load balancer patch (steering_policy).
        "docs-36-least-outstanding-requests.json" => Kind::LoadBalancer,
        "docs-37-least-outstanding-requests.json" => Kind::Pool,
        other => panic!("no kind for fixture {other}: add it to kind_of"),
    }
}

#[test]
fn every_valid_fixture_loads_as_what_it_is() {
    let mut loaded = 0;
    for path in fixtures() {
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let text = fs::read_to_string(&path).unwrap();
        if name.ends_with(".invalid.json") {
            assert!(serde_json::from_str::<serde_json::Value>(&text).is_err(), "{name} is marked invalid but parses");
            continue;
        }
        let kind = kind_of(&name);
        let result = match kind {
            Kind::Monitor => config::from_api_json::<Monitor>(&text).map(drop),
            Kind::Pool => config::from_api_json::<Pool>(&text).map(drop),
            Kind::LoadBalancer => config::from_api_json::<LoadBalancer>(&text).map(drop),
            Kind::PoolHealth => config::from_api_json::<PoolHealthDetails>(&text).map(drop),
            // List responses and rulesets load as the lists of an account.
            Kind::Monitors => account_list(&text, "monitors").map(|a| assert!(!a.monitors.is_empty())),
            Kind::Pools => account_list(&text, "pools").map(|a| assert!(!a.pools.is_empty())),
            Kind::LoadBalancers => account_list(&text, "load_balancers").map(|a| assert!(!a.load_balancers.is_empty())),
            Kind::OriginRules => account_list(&text, "origin_rules").map(|a| assert!(!a.origin_rules.is_empty())),
        };
        if let Err(err) = result {
            panic!("{name} ({kind:?}) does not load: {err}");
        }
        loaded += 1;
    }
    assert_eq!(loaded, 46, "every valid fixture was loaded");
}

fn account_list(text: &str, key: &str) -> Result<lbsteer::Account, config::LoadError> {
    lbsteer::Account::from_json(&format!("{{\"{key}\": {text}}}"))
}

fn read(name: &str) -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cloudflare-api").join(name)).unwrap()
}

#[test]
fn a_pool_keeps_its_values_and_defaults() {
    let pool: Pool = config::from_api_json(&read("go-02-create-lbpool-response-body.json")).unwrap();
    assert_eq!(pool.id, "17b5962d775c646f3f9725cbc7a53df4");
    assert_eq!(pool.minimum_origins, 1);
    assert_eq!(pool.latitude, Some(55.0));
    let shedding = pool.load_shedding.unwrap();
    assert_eq!(shedding.default_percent, 50.0);
    assert_eq!(pool.origins[0].header.as_ref().unwrap().host, ["example.com"]);
    assert_eq!(pool.check_regions.unwrap(), ["WEU"]);

    let zero: Pool = config::from_api_json(&read("go-03-create-lbpool-minimumoriginszero-request-body.json")).unwrap();
    assert_eq!(zero.minimum_origins, 0);
    assert!(zero.origins.is_empty(), "\"origins\": null reads as none");
    assert!(zero.check_regions.is_none());
}

#[test]
fn a_monitor_keeps_its_values() {
    let monitor: Monitor = config::from_api_json(&read("docs-34-create-monitor.json")).unwrap();
    assert_eq!(monitor.kind, config::MonitorType::Https);
    assert_eq!(monitor.port, Some(8080));
    assert_eq!((monitor.timeout, monitor.retries, monitor.interval), (3, 0, 90));
    assert_eq!((monitor.consecutive_up, monitor.consecutive_down), (3, 2));
    assert_eq!(monitor.header["X-App-ID"], ["abc123"]);
}

#[test]
fn a_load_balancer_keeps_unknown_enum_values_for_the_compiler() {
    // Cloudflare's own example writes "random_steering", which is not a
    // steering policy: loading keeps it, compiling rejects it.
    let lb: LoadBalancer = config::from_api_json(&read("docs-31-create-load-balancer.json")).unwrap();
    assert_eq!(lb.steering_policy, SteeringPolicy::Unknown("random_steering".into()));
    assert_eq!(lb.session_affinity, SessionAffinity::Cookie);
    assert_eq!(lb.random_steering.unwrap().pool_weights["9290f38c5d07c2e2f4df57b1f61d4196"], 0.5);

    let account_lb: LoadBalancer = config::from_api_json(&read("go-18-create-account-lb-request-body.json")).unwrap();
    assert_eq!(account_lb.rules.len(), 1);
    assert_eq!(account_lb.rules[0].condition, "cf.load_balancer.region == \"SAF\"");
    assert!(account_lb.rules[0].overrides.region_pools.as_ref().unwrap().contains_key("SAF"));
    assert!(account_lb.adaptive_routing.unwrap().failover_across_pools);

    let pool_sets: LoadBalancer = config::from_api_json(&read("docs-40-pool-sets.json")).unwrap();
    assert_eq!(pool_sets.pool_sets.len(), 3);
    let first = &pool_sets.pool_sets[0];
    assert_eq!(
        first.matches.as_ref().unwrap().topology.as_ref().unwrap().regions.as_deref(),
        Some(&["WNAM".to_owned()][..])
    );
    assert_eq!(first.overrides.as_ref().unwrap().steering_policy, Some(SteeringPolicy::Random));
}

#[test]
fn origin_rules_load_from_rulesets_and_responses() {
    let account =
        account_list(&read("docs-45-origin-rules-ruleset-api-phase-http-request-origin.json"), "origin_rules").unwrap();
    let rule: &OriginRule = &account.origin_rules[0];
    assert_eq!(rule.action.as_deref(), Some("route"));
    assert_eq!(rule.action_parameters.origin.as_ref().unwrap().host.as_deref(), Some("hr-server.example.com"));
    assert!(rule.enabled);

    let account =
        account_list(&read("docs-43-origin-rules-ruleset-api-phase-http-request-origin.json"), "origin_rules").unwrap();
    assert_eq!(account.origin_rules[0].action_parameters.origin.as_ref().unwrap().port, Some(8081));
}

#[test]
fn decode_errors_carry_a_path() {
    let err = lbsteer::Account::from_json(r#"{"pools": [{"id": "p", "origins": [{"name": "a", "port": 70000}]}]}"#)
        .unwrap_err();
    assert_eq!(err.path, "pools[0].origins[0].port");
    assert!(err.to_string().starts_with("pools[0].origins[0].port: "), "{err}");
    let err = lbsteer::Account::from_json("{\"pools\": [").unwrap_err();
    assert!(err.line > 0);
    let err = lbsteer::Account::from_json_slice(b"{\"pools\": [{\"id\": \"\xff\"}]}").unwrap_err();
    assert!(!err.message.is_empty());
}

#[test]
fn null_means_the_default_for_every_field() {
    // The API writes `null` for what is not set: numbers and flags read it
    // as their defaults too, as if the member were absent.
    let account = lbsteer::Account::from_json(
        r#"{"monitors": [{"id": "m", "type": "http", "interval": null, "timeout": null, "retries": null,
                          "consecutive_up": null, "follow_redirects": null, "port": null}],
            "pools": [{"id": "p", "name": "p", "monitor": "m", "minimum_origins": null, "enabled": null,
                       "latitude": null, "load_shedding": {"default_percent": null, "session_policy": null},
                       "origins": [{"name": "a", "address": "192.0.2.1", "weight": null, "enabled": null, "port": null}]}],
            "load_balancers": [{"name": "www.example.com", "default_pools": ["p"], "fallback_pool": "p",
                                "ttl": null, "proxied": null, "enabled": null, "session_affinity_ttl": null,
                                "adaptive_routing": {"failover_across_pools": null}}]}"#,
    )
    .expect("nulls read as defaults");
    let (monitor, pool) = (&account.monitors[0], &account.pools[0]);
    assert_eq!((monitor.interval, monitor.timeout, monitor.retries), (60, 5, 2));
    assert!(pool.enabled && pool.origins[0].enabled);
    assert_eq!((pool.minimum_origins, pool.origins[0].weight), (1, 1.0));
    assert!(account.load_balancers[0].enabled);
    lbsteer::Table::compile(&account).expect("compiles");
    // A wrong value next to a null is still reported, with its place.
    let err = lbsteer::Account::from_json(r#"{"monitors": [{"id": "m", "interval": "often", "timeout": null}]}"#)
        .unwrap_err();
    assert_eq!(err.path, "monitors[0].interval");
    assert!(err.line > 0, "{err}");
    // `null` as a list element is not a default: it is reported.
    assert!(lbsteer::Account::from_json(r#"{"load_balancers": [{"name": "x", "default_pools": [null]}]}"#).is_err());
}
