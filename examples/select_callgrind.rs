//! `select_origin` in a loop, for instruction counts under callgrind
//! (repeatable where timings on a shared machine are not):
//!
//! ```text
//! cargo build --profile bench --example select_callgrind
//! valgrind --tool=callgrind --toggle-collect='*pick_loop*' \
//!     target/release/examples/select_callgrind CASE [PICKS]
//! callgrind_annotate --inclusive=yes callgrind.out.<pid>
//! ```
//!
//! Instructions per decision are the collected total divided by PICKS
//! (default 100,000); set-up is not collected. CASE is one of:
//!
//! - `exact`, `wildcard`, `cname`: the account of `benches/select.rs`
//!   (failover over two monitored pools of 4 and 1 origins, all healthy);
//! - `rules`: the account of `benches/rules.rs` (10 custom rules, 2 Origin
//!   Rules);
//! - `scale-1000`, `scale-100000`: one exact host of the generated accounts
//!   of `benches/scale.rs`;
//! - `mixed-1000`, `mixed-100000`: 1,024 hosts of those accounts in turn
//!   (exact, wildcard and CNAME); with `--cache-sim=yes`, the cache misses
//!   of a table that does not fit in cache.
//!
//! Single-host cases measure the decision and the loop; `mixed-*` adds an
//! index into the 1,024 requests.

use std::hint::black_box;

use lbsteer::health::Status;
use lbsteer::{Account, Request, Router};

#[path = "../benches/support/generated.rs"]
mod generated;

#[path = "../benches/support/accounts.rs"]
mod accounts;
use accounts::{RULES, SELECT};

#[inline(never)]
fn pick_loop(router: &Router, request: &Request<'_>, picks: usize) -> usize {
    (0..picks).filter(|_| router.select_origin(black_box(request)).is_ok()).count()
}

/// 1,024 requests in turn (`--toggle-collect='*pick_loop*'` covers it too).
#[inline(never)]
fn pick_loop_mixed(router: &Router, requests: &[Request<'_>], picks: usize) -> usize {
    (0..picks).filter(|i| router.select_origin(black_box(&requests[i & 1023])).is_ok()).count()
}

/// 1,024 hosts spread over a generated account, in its proportions.
fn mixed_hosts(names: &generated::Hostnames) -> Vec<String> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..1024)
        .map(|i| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let pick = |list: &Vec<String>| list[(x >> 33) as usize % list.len()].clone();
            match i % 20 {
                0 => format!("api.{}", pick(&names.wildcard)),
                1 | 2 => pick(&names.cname),
                _ => pick(&names.exact),
            }
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let case = args.get(1).map_or("exact", String::as_str);
    let picks = args.get(2).and_then(|p| p.parse().ok()).unwrap_or(100_000);
    let headers = [("x-tier", "gold"), ("user-agent", "Mozilla/5.0"), ("cookie", "session=abc")];
    let hosts: Vec<String>;
    let (json, requests) = match case {
        "exact" => (SELECT.to_string(), vec![Request::new("www.example.com").path("/index.html")]),
        "wildcard" => (SELECT.to_string(), vec![Request::new("api.apps.example.com").path("/index.html")]),
        "cname" => (SELECT.to_string(), vec![Request::new("shop.example.com").path("/index.html")]),
        "rules" => (
            RULES.to_string(),
            vec![
                Request::new("www.example.com")
                    .uri("/api/v1/users?page=2")
                    .method("GET")
                    .headers(&headers)
                    .client_ip("203.0.113.9".parse().unwrap())
                    .region("WNAM"),
            ],
        ),
        _ => {
            let (mixed, n) = match (case.strip_prefix("scale-"), case.strip_prefix("mixed-")) {
                (Some(n), _) => (false, n.parse::<usize>().ok()),
                (_, Some(n)) => (true, n.parse::<usize>().ok()),
                _ => (false, None),
            };
            let Some(n) = n else {
                eprintln!("usage: select_callgrind exact|wildcard|cname|rules|scale-N|mixed-N [PICKS]");
                std::process::exit(2);
            };
            let names = generated::hostnames(n);
            hosts = if mixed { mixed_hosts(&names) } else { vec![names.exact[names.exact.len() / 2].clone()] };
            (generated::account_json(n), hosts.iter().map(|h| Request::new(h)).collect())
        }
    };
    let router = Router::new(&Account::from_json(&json).unwrap()).unwrap();
    router.with_health(|registry| registry.set_all(Status::Healthy));
    let decided = match &requests[..] {
        [request] => pick_loop(&router, request, picks),
        _ => pick_loop_mixed(&router, &requests, picks),
    };
    assert_eq!(decided, picks, "every decision succeeds");
    println!("{case}: {picks} decisions");
}
