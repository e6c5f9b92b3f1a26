//! The bundled example account (`examples/account.json`) compiles without
//! warnings, and the README's request decides as the README shows.

use lbsteer::health::Status;
use lbsteer::{Account, Decision, Request, Router};

fn router() -> Router {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/account.json")).unwrap();
    let account = Account::from_json(&text).unwrap();
    let router = Router::new(&account).unwrap();
    assert!(router.snapshot().warnings().is_empty(), "{:?}", router.snapshot().warnings());
    router.with_health(|registry| registry.set_all(Status::Healthy));
    router
}

#[test]
fn the_readme_request() {
    let router = router();
    let request = Request::new("shop.example.com").region("WEU").client_ip("203.0.113.77".parse().unwrap());
    let Ok(Decision::Origin(selection)) = router.select_origin(&request) else { panic!("no origin") };
    assert_eq!((selection.pool().id(), selection.origin().name()), ("eu-west", "dub-2"));
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let explained = router.explain(&request).to_string();
    assert!(readme.contains(&explained), "README's example output is stale; it should read:\n{explained}");
}

#[test]
fn the_example_rules_apply() {
    let router = router();
    let old = Request::new("www.example.com").path("/old-shop/cart");
    assert!(matches!(router.select_origin(&old), Ok(Decision::Respond(r)) if r.status_code() == 503));
    let legacy = Request::new("legacy-api.example.com").path("/v1/items");
    let Ok(Decision::Origin(selection)) = router.select_origin(&legacy) else { panic!() };
    assert_eq!((selection.load_balancer().name(), selection.host_header()), ("api.example.com", "api.example.com"));
    let checkout = Request::new("www.example.com").path("/checkout").method("POST").region("WEU");
    let Ok(Decision::Origin(selection)) = router.select_origin(&checkout) else { panic!() };
    assert_eq!(selection.pool().id(), "us-east");
}
