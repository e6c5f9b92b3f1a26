//! One peer case in a loop, for instruction counts under callgrind:
//!
//! ```text
//! cargo build --release --manifest-path benches/peers/Cargo.toml --bin peers-callgrind
//! valgrind --tool=callgrind --toggle-collect='*pick_loop*' \
//!     benches/peers/target/release/peers-callgrind CASE N [PICKS]
//! ```
//!
//! CASE is `lbsteer-random`, `pingora-round-robin`, `lbsteer-hash` or
//! `pingora-consistent`; N the number of backends. Instructions per pick are
//! the collected total divided by PICKS (default 100,000): set-up is not
//! collected.

use std::hint::black_box;

use lbsteer::health::Status;
use lbsteer::{Request, Router};
use lbsteer_peers::{addresses, client_ips, lbsteer_account};
use pingora_load_balancing::LoadBalancer;
use pingora_load_balancing::selection::{Consistent, RoundRobin};

#[inline(never)]
fn pick_loop(picks: usize, mut pick: impl FnMut(usize) -> bool) -> usize {
    (0..picks).filter(|&i| pick(black_box(i))).count()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: peers-callgrind lbsteer-random|pingora-round-robin|lbsteer-hash|pingora-consistent N [PICKS]";
    let (case, n) = match (args.get(1), args.get(2).and_then(|n| n.parse::<usize>().ok())) {
        (Some(case), Some(n)) => (case.as_str(), n),
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    let picks = args.get(3).and_then(|p| p.parse().ok()).unwrap_or(100_000);
    let ips = client_ips();
    let keys: Vec<String> = ips.iter().map(ToString::to_string).collect();
    let requests: Vec<Request<'_>> = ips.iter().map(|&ip| Request::new("www.example.com").client_ip(ip)).collect();
    let router = |policy| {
        let router = Router::from_json(&lbsteer_account(n, policy)).unwrap();
        router.with_health(|registry| registry.set_all(Status::Healthy));
        router
    };
    let found = match case {
        "lbsteer-random" => {
            let router = router("random");
            let request = Request::new("www.example.com");
            pick_loop(picks, |_| router.select_origin(&request).is_ok())
        }
        "lbsteer-hash" => {
            let router = router("hash");
            pick_loop(picks, |i| router.select_origin(&requests[i % 1024]).is_ok())
        }
        "pingora-round-robin" => {
            let lb: LoadBalancer<RoundRobin> = LoadBalancer::try_from_iter(addresses(n)).unwrap();
            pick_loop(picks, |_| lb.select(b"", 256).is_some())
        }
        "pingora-consistent" => {
            let lb: LoadBalancer<Consistent> = LoadBalancer::try_from_iter(addresses(n)).unwrap();
            pick_loop(picks, |i| lb.select(keys[i % 1024].as_bytes(), 256).is_some())
        }
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    assert_eq!(found, picks);
    println!("{case} n={n}: {picks} picks");
}
