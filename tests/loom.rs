//! Model checks, with loom, of the atomics the project writes itself: the
//! health registry's cells and the in-flight guards. Every interleaving of
//! the threads below is explored.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release --test loom`.
#![cfg(loom)]

use lbsteer::health::{HealthRegistry, HealthView, Status};
use lbsteer::{Account, Table};

/// Explores interleavings with at most two preemptions per execution: the
/// bound loom's authors recommend, which finds the usual ordering bugs
/// while keeping the run to seconds.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(f);
}

fn table(origins: &[&str]) -> Table {
    let list: Vec<String> = origins
        .iter()
        .enumerate()
        .map(|(i, name)| format!(r#"{{"name": "{name}", "address": "192.0.2.{i}"}}"#))
        .collect();
    let account = Account::from_json(&format!(
        r#"{{"monitors": [{{"id": "m"}}],
            "pools": [{{"id": "p", "name": "p", "monitor": "m", "origins": [{}]}}],
            "load_balancers": [{{"name": "www.example.com", "default_pools": ["p"], "fallback_pool": "p"}}]}}"#,
        list.join(",")
    ))
    .unwrap();
    Table::compile(&account).unwrap()
}

#[test]
fn in_flight_guards_balance() {
    model(|| {
        let table = table(&["a", "b"]);
        let mut registry = HealthRegistry::new();
        let health = registry.bind(&table);
        let (a, pool) = (table.origin_id("p", "a").unwrap(), table.pool_id("p").unwrap());
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let health = health.clone();
                loom::thread::spawn(move || {
                    let guard = health.begin_request(a);
                    let seen = health.origin_outstanding(a);
                    assert!((1..=2).contains(&seen), "{seen} in flight");
                    drop(guard);
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(health.origin_outstanding(a), 0);
        assert_eq!(health.pool_outstanding(pool), 0);
    });
}

#[test]
fn a_reader_never_sees_a_torn_healthy_count() {
    model(|| {
        let table = table(&["a", "b"]);
        let mut registry = HealthRegistry::new();
        let health = registry.bind(&table);
        let pool = table.pool_id("p").unwrap();
        let reader = {
            let health = health.clone();
            loom::thread::spawn(move || {
                for _ in 0..2 {
                    let count = health.healthy_origins(pool).expect("the current binding's count");
                    assert!(count <= 2, "a torn count: {count}");
                }
            })
        };
        // The writer flips statuses; the count follows, never underflowing.
        registry.set_status("p", "a", Status::Healthy).unwrap();
        registry.set_status("p", "b", Status::Healthy).unwrap();
        registry.set_status("p", "a", Status::Unhealthy).unwrap();
        reader.join().unwrap();
        assert_eq!(health.healthy_origins(pool), Some(1));
    });
}

#[test]
fn an_older_binding_never_trusts_a_newer_count() {
    model(|| {
        let old_table = table(&["a", "b"]);
        let new_table = table(&["a", "b", "c"]);
        let mut registry = HealthRegistry::new();
        let old = registry.bind(&old_table);
        registry.set_status("p", "a", Status::Healthy).unwrap();
        let pool = old_table.pool_id("p").unwrap();
        let reader = {
            let old = old.clone();
            loom::thread::spawn(move || {
                // Before the rebind: the old count; after it: none (the
                // decision then counts the old table's origins itself).
                let seen = old.healthy_origins(pool);
                assert!(seen == Some(1) || seen.is_none(), "{seen:?}");
            })
        };
        let new = registry.bind(&new_table);
        registry.set_status("p", "c", Status::Healthy).unwrap();
        reader.join().unwrap();
        assert_eq!(old.healthy_origins(pool), None);
        assert_eq!(new.healthy_origins(new_table.pool_id("p").unwrap()), Some(2));
    });
}
