//! The host counts requests and connections with guards, and
//! `least_outstanding_requests` / `least_connections` steering (pool and
//! origin level) reads those counts.

use lbsteer::health::{HealthRegistry, Status};
use lbsteer::{Decision, FastRng, Request, Router, Table};

const ACCOUNT: &str = r#"{
    "pools": [
        {"id": "a", "name": "a", "origin_steering": {"policy": "least_outstanding_requests"}, "origins": [
            {"name": "a1", "address": "192.0.2.1"}, {"name": "a2", "address": "192.0.2.2"}]},
        {"id": "b", "name": "b", "origin_steering": {"policy": "least_connections"}, "origins": [
            {"name": "b1", "address": "192.0.2.11"}, {"name": "b2", "address": "192.0.2.12", "weight": 0.5}]}
    ],
    "load_balancers": [
        {"name": "lor.example.com", "steering_policy": "least_outstanding_requests",
         "default_pools": ["a", "b"], "fallback_pool": "a"},
        {"name": "lc.example.com", "steering_policy": "least_connections",
         "default_pools": ["b", "a"], "fallback_pool": "a"},
        {"name": "origins-lor.example.com", "default_pools": ["a"], "fallback_pool": "a"},
        {"name": "origins-lc.example.com", "default_pools": ["b"], "fallback_pool": "a"}
    ]
}"#;

fn pick(router: &Router, host: &str) -> (String, String) {
    match router.select_origin(&Request::new(host)).unwrap() {
        Decision::Origin(s) => (s.pool().id().to_string(), s.origin().name().to_string()),
        Decision::Respond(_) => panic!("no fixed response here"),
    }
}

#[test]
fn request_guards_steer_least_outstanding_origins() {
    let router = Router::from_json(ACCOUNT).unwrap();
    // Equal counts: config order.
    assert_eq!(pick(&router, "origins-lor.example.com").1, "a1");
    let first = match router.select_origin(&Request::new("origins-lor.example.com")).unwrap() {
        Decision::Origin(s) => s.begin_request(),
        Decision::Respond(_) => unreachable!(),
    };
    // a1 has one in flight: (1+1)/1 > (0+1)/1.
    assert_eq!(pick(&router, "origins-lor.example.com").1, "a2");
    let second = match router.select_origin(&Request::new("origins-lor.example.com")).unwrap() {
        Decision::Origin(s) => s.begin_request(),
        Decision::Respond(_) => unreachable!(),
    };
    assert_eq!(pick(&router, "origins-lor.example.com").1, "a1", "one each: a tie, config order");
    drop(first);
    assert_eq!(pick(&router, "origins-lor.example.com").1, "a1");
    drop(second);
    assert_eq!(pick(&router, "origins-lor.example.com").1, "a1");
}

#[test]
fn request_guards_steer_least_outstanding_pools_and_survive_a_reload() {
    let router = Router::from_json(ACCOUNT).unwrap();
    assert_eq!(pick(&router, "lor.example.com").0, "a");
    let guard = match router.select_origin(&Request::new("lor.example.com")).unwrap() {
        Decision::Origin(s) => s.begin_request(),
        Decision::Respond(_) => unreachable!(),
    };
    assert_eq!(pick(&router, "lor.example.com").0, "b", "pool a has a request in flight");
    // The count belongs to the origin's identity: a reload keeps it.
    router.reload_json(ACCOUNT).unwrap();
    assert_eq!(pick(&router, "lor.example.com").0, "b");
    drop(guard);
    assert_eq!(pick(&router, "lor.example.com").0, "a");
}

#[test]
fn connection_guards_steer_least_connections() {
    let router = Router::from_json(ACCOUNT).unwrap();
    // Origins: b1 (0+1)/1 beats b2 (0+1)/0.5.
    assert_eq!(pick(&router, "origins-lc.example.com").1, "b1");
    let connection = match router.select_origin(&Request::new("origins-lc.example.com")).unwrap() {
        Decision::Origin(s) => s.open_connection(),
        Decision::Respond(_) => unreachable!(),
    };
    // b1 (1+1)/1 = 2 ties b2 (0+1)/0.5 = 2: config order keeps b1.
    assert_eq!(pick(&router, "origins-lc.example.com").1, "b1");
    let another = match router.select_origin(&Request::new("origins-lc.example.com")).unwrap() {
        Decision::Origin(s) => s.open_connection(),
        Decision::Respond(_) => unreachable!(),
    };
    assert_eq!(pick(&router, "origins-lc.example.com").1, "b2");
    // Pools: b has two open connections, a none.
    assert_eq!(pick(&router, "lc.example.com").0, "a");
    drop((connection, another));
    assert_eq!(pick(&router, "lc.example.com").0, "b");
    // Requests in flight do not count as connections.
    let _request = match router.select_origin(&Request::new("lc.example.com")).unwrap() {
        Decision::Origin(s) => s.begin_request(),
        Decision::Respond(_) => unreachable!(),
    };
    assert_eq!(pick(&router, "lc.example.com").0, "b");
}

#[test]
fn without_a_router_the_bound_health_hands_out_guards() {
    let table = Table::compile(&lbsteer::Account::from_json(ACCOUNT).unwrap()).unwrap();
    let mut registry = HealthRegistry::new();
    let health = registry.bind(&table);
    registry.set_all(Status::Healthy);
    let mut rng = FastRng::new(1);
    let request = Request::new("origins-lor.example.com");
    let origin = table.select(&request, &health, &mut rng).unwrap().origin().unwrap().origin_id();
    assert_eq!(table.origin(origin).name(), "a1");
    let guard = health.begin_request(origin);
    let next = table.select(&request, &health, &mut rng).unwrap().origin().unwrap().origin_id();
    assert_eq!(table.origin(next).name(), "a2");
    drop(guard);
    let again = table.select(&request, &health, &mut rng).unwrap().origin().unwrap().origin_id();
    assert_eq!(table.origin(again).name(), "a1");
}
