//! Generated accounts for the scale benchmarks and the memory tests
//! (included with `#[path]` by `benches/scale.rs` and `tests/table_memory.rs`).
//!
//! An account of `n` hostnames has `n / 5` pools of 5 origins each (as many
//! origins as hostnames), one HTTP monitor per 1,000 pools, and its
//! hostnames are, like a real account's, mostly load balancers named for
//! the exact host:
//!
//! - 85 % load balancers on exact names, `h{i}.z{zone}.example.com` (100
//!   hostnames per zone), failover over two pools plus a fallback pool;
//! - 5 % load balancers on wildcards, `*.w{i}.z{zone}.example.com`;
//! - 10 % CNAME records, `c{i}.z{zone}.example.com`, each to a load
//!   balancer's name (a third of them through a second CNAME).
#![allow(dead_code)]

use std::fmt::Write;

/// The hostnames of an account of `n`: exact load balancer names, the
/// wildcard domains (a request host is `x.` + domain), CNAME names.
pub struct Hostnames {
    pub exact: Vec<String>,
    pub wildcard: Vec<String>,
    pub cname: Vec<String>,
}

fn zone(i: usize) -> usize {
    i / 100
}

/// Which kind hostname `i` is: 0 exact, 1 wildcard, 2 CNAME.
fn kind(i: usize) -> u8 {
    match i % 20 {
        0 => 1,
        1 | 2 => 2,
        _ => 0,
    }
}

pub fn hostnames(n: usize) -> Hostnames {
    let mut names = Hostnames { exact: Vec::new(), wildcard: Vec::new(), cname: Vec::new() };
    for i in 0..n {
        let z = zone(i);
        match kind(i) {
            0 => names.exact.push(format!("h{i}.z{z}.example.com")),
            1 => names.wildcard.push(format!("w{i}.z{z}.example.com")),
            _ => names.cname.push(format!("c{i}.z{z}.example.com")),
        }
    }
    names
}

/// The account as JSON, in the API's shapes.
pub fn account_json(n: usize) -> String {
    assert!(n >= 100 && n.is_multiple_of(100), "n is a multiple of 100");
    let pools = n / 5;
    let mut out = String::with_capacity(n * 400);
    out.push_str(r#"{"monitors": ["#);
    let monitors = pools.div_ceil(1000);
    for m in 0..monitors {
        if m > 0 {
            out.push(',');
        }
        write!(out, r#"{{"id": "m{m}", "type": "http", "path": "/health", "interval": 60}}"#).unwrap();
    }
    out.push_str(r#"], "pools": ["#);
    for p in 0..pools {
        if p > 0 {
            out.push(',');
        }
        write!(out, r#"{{"id": "pool-{p:06}", "name": "pool_{p}", "monitor": "m{}", "origins": ["#, p / 1000).unwrap();
        for o in 0..5 {
            let id = p * 5 + o;
            if o > 0 {
                out.push(',');
            }
            write!(
                out,
                r#"{{"name": "origin-{id}", "address": "10.{}.{}.{}", "weight": 1}}"#,
                id >> 16,
                (id >> 8) & 255,
                id & 255
            )
            .unwrap();
        }
        out.push_str("]}");
    }
    out.push_str(r#"], "load_balancers": ["#);
    let mut first = true;
    let mut exact = Vec::new();
    for i in 0..n {
        let z = zone(i);
        let name = match kind(i) {
            0 => format!("h{i}.z{z}.example.com"),
            1 => format!("*.w{i}.z{z}.example.com"),
            _ => continue,
        };
        if kind(i) == 0 {
            exact.push(i);
        }
        if !first {
            out.push(',');
        }
        first = false;
        let (a, b, f) = (i % pools, (i + 1) % pools, (i + 2) % pools);
        write!(
            out,
            r#"{{"name": "{name}", "steering_policy": "off", "default_pools": ["pool-{a:06}", "pool-{b:06}"], "fallback_pool": "pool-{f:06}"}}"#
        )
        .unwrap();
    }
    out.push_str(r#"], "dns_records": ["#);
    let mut first = true;
    let mut previous_cname: Option<String> = None;
    for i in 0..n {
        if kind(i) != 2 {
            continue;
        }
        let z = zone(i);
        let name = format!("c{i}.z{z}.example.com");
        // Every third CNAME points at the previous one (a chain of two).
        let target = match (&previous_cname, i % 3) {
            (Some(previous), 0) => previous.clone(),
            _ => {
                let e = exact[(i * 7) % exact.len()];
                format!("h{e}.z{}.example.com", zone(e))
            }
        };
        if !first {
            out.push(',');
        }
        first = false;
        write!(out, r#"{{"type": "CNAME", "name": "{name}", "content": "{target}", "proxied": true}}"#).unwrap();
        previous_cname = Some(name);
    }
    out.push_str("]}");
    out
}
