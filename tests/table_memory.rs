//! `Table::heap_bytes` is honest: it matches what a counting allocator sees
//! the table hold, on a generated account with every kind of hostname.

use lbsteer::{Account, Table};

#[path = "../benches/support/generated.rs"]
mod generated;

/// Heap bytes still allocated after `make` returns what it built (the
/// requested sizes, without the allocator's own overhead).
fn held_bytes<T>(make: impl FnOnce() -> T) -> (T, u64) {
    let mut out = None;
    let info = allocation_counter::measure(|| out = Some(make()));
    (out.unwrap(), info.bytes_current as u64)
}

#[test]
fn heap_bytes_matches_a_counting_allocator() {
    for n in [1_000, 10_000] {
        let account = Account::from_json(&generated::account_json(n)).unwrap();
        let (table, held) = held_bytes(|| Table::compile(&account).unwrap());
        let reported = table.heap_bytes() as u64;
        println!(
            "{n} hostnames: heap_bytes {reported}, counted {held} ({:.0} bytes per hostname)",
            held as f64 / n as f64
        );
        let error = reported.abs_diff(held) as f64 / held as f64;
        assert!(error < 0.01, "{n} hostnames: heap_bytes {reported} but the table holds {held} bytes");
    }
}

#[test]
fn heap_bytes_counts_what_steering_precomputes() {
    // A `hash` pool large enough for a precomputed ranking and a `random`
    // one with cumulative weights, beside the generated account's shapes.
    let origins = |n: usize, p: &str| {
        (0..n).map(|i| format!(r#"{{"name": "{p}{i}", "address": "10.9.{i}.1"}}"#)).collect::<Vec<_>>().join(",")
    };
    let json = format!(
        r#"{{"pools": [
            {{"id": "h", "name": "h", "origin_steering": {{"policy": "hash"}}, "origins": [{}]}},
            {{"id": "r", "name": "r", "origin_steering": {{"policy": "random"}}, "origins": [{}]}}],
          "load_balancers": [{{"name": "www.example.com", "default_pools": ["h", "r"], "fallback_pool": "r"}}]}}"#,
        origins(40, "h"),
        origins(12, "r")
    );
    let account = Account::from_json(&json).unwrap();
    let (table, held) = held_bytes(|| Table::compile(&account).unwrap());
    let precomputed: usize = table.pools().iter().map(|p| p.precomputed_bytes()).sum();
    assert!(precomputed > 100_000, "the hash pool has its ranking: {precomputed} bytes");
    let reported = table.heap_bytes() as u64;
    println!("precomputed steering: heap_bytes {reported}, counted {held}");
    assert!(reported.abs_diff(held) as f64 / (held as f64) < 0.01, "heap_bytes {reported}, held {held}");
}
