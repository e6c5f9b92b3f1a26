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
