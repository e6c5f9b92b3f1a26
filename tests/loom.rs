//! Model checks, with loom, of the atomics the project writes itself: the
//! health registry's cells, the in-flight guards, and the seqlock slots of
//! the built-in session store. Every interleaving of the threads below is
//! explored.
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

/// Session keys that land in the same bucket of a one-bucket store.
fn session(i: u8) -> lbsteer::affinity::SessionKey {
    lbsteer::affinity::SessionKey::from_bytes([i; 16])
}

#[test]
fn a_session_lookup_never_sees_another_sessions_origin() {
    use lbsteer::affinity::{MemorySessionStore, SessionStore};
    model(|| {
        // Four slots: A's slot is freed and reused by B while a reader
        // looks both up. A torn read (B's tag with A's origin, or the
        // reverse) would pair a session with the wrong origin.
        let store = loom::sync::Arc::new(MemorySessionStore::new(4));
        store.record(&session(1), 10, 1_000, 60);
        let reader = {
            let store = store.clone();
            loom::thread::spawn(move || {
                let a = store.lookup(&session(1), 1_000, 60);
                assert!(a.is_none() || a == Some(10), "{a:?}");
                let b = store.lookup(&session(2), 1_000, 60);
                assert!(b.is_none() || b == Some(20), "{b:?}");
            })
        };
        store.remove(&session(1));
        store.record(&session(2), 20, 1_000, 60);
        reader.join().unwrap();
        assert_eq!(store.lookup(&session(2), 1_000, 60), Some(20));
        assert_eq!(store.lookup(&session(1), 1_000, 60), None);
    });
}

#[test]
fn concurrent_writers_of_one_session_leave_one_of_their_origins() {
    use lbsteer::affinity::{MemorySessionStore, SessionStore};
    model(|| {
        let store = loom::sync::Arc::new(MemorySessionStore::new(4));
        let writer = {
            let store = store.clone();
            loom::thread::spawn(move || store.record(&session(3), 30, 1_000, 60))
        };
        store.record(&session(3), 31, 1_000, 60);
        writer.join().unwrap();
        // A write that loses a race is dropped, never half-applied.
        let seen = store.lookup(&session(3), 1_000, 60);
        assert!(seen == Some(30) || seen == Some(31), "{seen:?}");
    });
}
