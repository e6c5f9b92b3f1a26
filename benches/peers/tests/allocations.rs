//! Heap allocations per pick, lbsteer against pingora, on the benchmark's
//! set-ups: `cargo test --manifest-path benches/peers/Cargo.toml -- --nocapture`.

use lbsteer::health::Status;
use lbsteer::{Request, Router};
use lbsteer_peers::{SIZES, addresses, client_ips, lbsteer_account};
use pingora_load_balancing::LoadBalancer;
use pingora_load_balancing::selection::{Consistent, RoundRobin};

const PICKS: u64 = 1_000;

fn per_pick(mut pick: impl FnMut(usize) -> bool) -> f64 {
    assert!(pick(0));
    let counts = allocation_counter::measure(|| {
        for i in 0..PICKS as usize {
            assert!(pick(i));
        }
    });
    counts.count_total as f64 / PICKS as f64
}

#[test]
fn allocations_per_pick() {
    let ips = client_ips();
    let keys: Vec<String> = ips.iter().map(ToString::to_string).collect();
    for n in SIZES {
        let random = Router::from_json(&lbsteer_account(n, "random")).unwrap();
        let hash = Router::from_json(&lbsteer_account(n, "hash")).unwrap();
        for router in [&random, &hash] {
            router.with_health(|registry| registry.set_all(Status::Healthy));
        }
        let requests: Vec<Request<'_>> = ips.iter().map(|&ip| Request::new("www.example.com").client_ip(ip)).collect();
        let round_robin: LoadBalancer<RoundRobin> = LoadBalancer::try_from_iter(addresses(n)).unwrap();
        let consistent: LoadBalancer<Consistent> = LoadBalancer::try_from_iter(addresses(n)).unwrap();

        let lbsteer_random = per_pick(|i| random.select_origin(&requests[i % 1024]).is_ok());
        let lbsteer_hash = per_pick(|i| hash.select_origin(&requests[i % 1024]).is_ok());
        let pingora_rr = per_pick(|_| round_robin.select(b"", 256).is_some());
        let pingora_consistent = per_pick(|i| consistent.select(keys[i % 1024].as_bytes(), 256).is_some());
        println!(
            "n = {n}: allocations per pick: lbsteer random {lbsteer_random}, lbsteer hash {lbsteer_hash}, \
             pingora RoundRobin {pingora_rr}, pingora Consistent {pingora_consistent}"
        );
        assert_eq!(lbsteer_random, 0.0);
        assert_eq!(lbsteer_hash, 0.0);
    }
}
