//! Readers select while a writer reloads every millisecond and flips
//! health: no panic, no failed decision, and no decision that mixes two
//! table generations.
//!
//! Each generation tags everything it contains: generation `g` names its
//! pools `g{g % 4}-...` and gives its origins addresses `10.{g % 4}.x.y`.
//! A decision reads pool, origin and address through one snapshot; the test
//! checks that all three carry the snapshot's tag.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use lbsteer::health::Status;
use lbsteer::{Account, Decision, Request, Router};

fn account(tag: u64) -> Account {
    let pools: Vec<String> = (0..3)
        .map(|p| {
            let origins: Vec<String> = (0..4)
                .map(|o| {
                    format!(
                        r#"{{"name": "o{o}", "address": "10.{tag}.{p}.{o}", "weight": {}}}"#,
                        0.25 + 0.25 * f64::from(o)
                    )
                })
                .collect();
            let monitor = if p < 2 { r#""monitor": "m","# } else { "" };
            format!(r#"{{"id": "g{tag}-p{p}", "name": "p{p}", {monitor} "origins": [{}]}}"#, origins.join(","))
        })
        .collect();
    let policy = ["off", "random", "least_outstanding_requests", "geo"][tag as usize % 4];
    Account::from_json(&format!(
        r#"{{"monitors": [{{"id": "m"}}], "pools": [{}],
            "load_balancers": [{{"name": "www.example.com", "steering_policy": "{policy}",
                "default_pools": ["g{tag}-p0", "g{tag}-p1"], "fallback_pool": "g{tag}-p2",
                "region_pools": {{"WEU": ["g{tag}-p1", "g{tag}-p0"]}}}}],
            "dns_records": [{{"type": "CNAME", "name": "alias.example.com", "content": "www.example.com"}}]}}"#,
        pools.join(",")
    ))
    .unwrap()
}

#[test]
fn readers_never_see_a_mixed_generation_while_a_writer_reloads() {
    let accounts: Vec<Account> = (0..4).map(account).collect();
    let router = Arc::new(Router::new(&accounts[0]).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let decisions = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..3)
        .map(|r| {
            let (router, stop, decisions) = (Arc::clone(&router), Arc::clone(&stop), Arc::clone(&decisions));
            thread::spawn(move || {
                let hosts = ["www.example.com", "alias.example.com"];
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let request = Request::new(hosts[(n % 2) as usize]).region(if r % 2 == 0 { "WEU" } else { "ENAM" });
                    match router.select_origin(&request) {
                        Ok(Decision::Origin(s)) => {
                            // Generation g uses the tag (g - 1) % 4: the first
                            // table is generation 1 with tag 0.
                            let tag = (s.generation() - 1) % 4;
                            let pool_tag = format!("g{tag}-");
                            let address_tag = format!("10.{tag}.");
                            assert!(
                                s.pool().id().starts_with(&pool_tag),
                                "pool {} in generation {}",
                                s.pool().id(),
                                s.generation()
                            );
                            assert!(
                                s.address().starts_with(&address_tag),
                                "address {} in generation {}",
                                s.address(),
                                s.generation()
                            );
                            assert_eq!(s.table().pool(s.origin().pool()).id(), s.pool().id());
                            let _in_flight = s.begin_request();
                        }
                        other => panic!("a decision failed: {other:?}"),
                    }
                    n += 1;
                }
                decisions.fetch_add(n, Ordering::Relaxed);
            })
        })
        .collect();

    let started = Instant::now();
    let mut reloads = 0u64;
    let mut flip = 0u64;
    while started.elapsed() < Duration::from_millis(1500) {
        reloads += 1;
        let tag = reloads % 4;
        router.reload(&accounts[tag as usize]).unwrap();
        router.with_health(|registry| {
            for p in 0..2 {
                for o in 0..4 {
                    flip = flip.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let status = if flip >> 62 == 0 { Status::Unhealthy } else { Status::Healthy };
                    let _ = registry.set_status(&format!("g{tag}-p{p}"), &format!("o{o}"), status);
                }
            }
        });
        thread::sleep(Duration::from_millis(1));
    }
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.join().expect("a reader panicked");
    }
    let decisions = decisions.load(Ordering::Relaxed);
    println!("{reloads} reloads, {decisions} decisions");
    assert!(reloads > 100, "the writer reloaded {reloads} times");
    assert!(decisions > reloads, "readers made {decisions} decisions");
    // Every request counted in flight was released.
    let snapshot = router.snapshot();
    use lbsteer::health::HealthView;
    for pool in snapshot.pools() {
        assert_eq!(snapshot.health().pool_outstanding(snapshot.pool_id(pool.id()).unwrap()), 0);
    }
}
