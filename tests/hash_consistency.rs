//! Properties of `hash` origin steering, through the public API, for pools
//! small enough to rank on the fly and pools large enough to use the
//! precomputed ranking (and across that threshold):
//!
//! - the same client gets the same origin from a recompiled identical
//!   table, from a table whose origins are listed in another order, and
//!   from a table with other pools and load balancers around it;
//! - removing one origin moves only the clients it had;
//! - adding one moves clients only to it;
//! - an origin going down moves only its clients, and they come back when
//!   it recovers.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use lbsteer::health::AllHealthy;
use lbsteer::{Account, FastRng, Request, Table};
use proptest::prelude::*;

/// Origins by name and weight, in config order.
type Origins = Vec<(String, f64)>;

fn table(origins: &Origins, extra_pools: usize) -> Table {
    let mut list = String::new();
    for (i, (name, weight)) in origins.iter().enumerate() {
        if i > 0 {
            list.push(',');
        }
        write!(list, r#"{{"name":"{name}","address":"10.1.{}.{}","weight":{weight}}}"#, i / 256, i % 256).unwrap();
    }
    let mut pools = String::new();
    let mut lbs = String::new();
    for i in 0..extra_pools {
        write!(pools, r#"{{"id":"other{i}","name":"other{i}","origins":[{{"name":"o","address":"192.0.2.{i}"}}]}},"#)
            .unwrap();
        write!(lbs, r#"{{"name":"other{i}.example.com","default_pools":["other{i}"],"fallback_pool":"other{i}"}},"#)
            .unwrap();
    }
    let json = format!(
        r#"{{"monitors":[{{"id":"m"}}],
            "pools":[{pools}{{"id":"web","name":"web","monitor":"m","origin_steering":{{"policy":"hash"}},"origins":[{list}]}}],
            "load_balancers":[{lbs}{{"name":"www.example.com","default_pools":["web"],"fallback_pool":"web"}}]}}"#
    );
    Table::compile(&Account::from_json(&json).unwrap()).unwrap()
}

/// The origin each client gets, with every origin healthy except `down`.
fn assignment(table: &Table, clients: &[u32], down: Option<&str>) -> Vec<String> {
    let mut health = vec![true; table.origins().len()];
    if let Some(down) = down {
        health[table.origin_id("web", down).unwrap().index()] = false;
    }
    let mut rng = FastRng::new(1);
    clients
        .iter()
        .map(|&c| {
            let request = Request::new("www.example.com").client_ip(IpAddr::from(c.to_be_bytes()));
            let decision = table.select(&request, &health[..], &mut rng).unwrap();
            decision.origin().unwrap().origin().name().to_string()
        })
        .collect()
}

fn origins_strategy() -> impl Strategy<Value = Origins> {
    // 2 to 40 origins: below and above the 16 at which the ranking is
    // precomputed. Weights in (0, 1].
    proptest::collection::vec(1u32..=20, 2..40).prop_map(|weights| {
        weights.into_iter().enumerate().map(|(i, w)| (format!("origin-{i}"), f64::from(w) / 20.0)).collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn the_same_client_gets_the_same_origin_across_reloads(
        origins in origins_strategy(),
        clients in proptest::collection::vec(any::<u32>(), 300),
        extra_pools in 1usize..5,
        seed in any::<u64>(),
    ) {
        let first = assignment(&table(&origins, 0), &clients, None);
        prop_assert_eq!(&first, &assignment(&table(&origins, 0), &clients, None), "recompiled");
        prop_assert_eq!(&first, &assignment(&table(&origins, extra_pools), &clients, None), "other pools around");
        let mut shuffled = origins.clone();
        let mut rng = FastRng::new(seed);
        for i in (1..shuffled.len()).rev() {
            let j = (lbsteer::RandomSource::next_u64(&mut rng) % (i as u64 + 1)) as usize;
            shuffled.swap(i, j);
        }
        prop_assert_eq!(&first, &assignment(&table(&shuffled, 0), &clients, None), "config order");
    }

    #[test]
    fn removing_an_origin_moves_only_its_clients(
        origins in origins_strategy(),
        clients in proptest::collection::vec(any::<u32>(), 300),
        remove in any::<prop::sample::Index>(),
    ) {
        let before = assignment(&table(&origins, 0), &clients, None);
        let mut fewer = origins.clone();
        let (removed, _) = fewer.remove(remove.index(origins.len()));
        let after = assignment(&table(&fewer, 0), &clients, None);
        for (b, a) in before.iter().zip(&after) {
            if *b != removed {
                prop_assert_eq!(b, a, "a client of another origin moved");
            }
            prop_assert_ne!(a, &removed);
        }
    }

    #[test]
    fn adding_an_origin_moves_clients_only_to_it(
        origins in origins_strategy(),
        clients in proptest::collection::vec(any::<u32>(), 300),
        weight in 1u32..=20,
        at in any::<prop::sample::Index>(),
    ) {
        let before = assignment(&table(&origins, 0), &clients, None);
        let mut more = origins.clone();
        more.insert(at.index(origins.len() + 1), ("newcomer".into(), f64::from(weight) / 20.0));
        let after = assignment(&table(&more, 0), &clients, None);
        for (b, a) in before.iter().zip(&after) {
            if a != b {
                prop_assert_eq!(a, "newcomer", "a client moved to an old origin");
            }
        }
    }

    #[test]
    fn an_origin_going_down_moves_only_its_clients_and_they_come_back(
        origins in origins_strategy(),
        clients in proptest::collection::vec(any::<u32>(), 300),
        down in any::<prop::sample::Index>(),
    ) {
        let table = table(&origins, 0);
        let before = assignment(&table, &clients, None);
        let down = &origins[down.index(origins.len())].0;
        let during = assignment(&table, &clients, Some(down));
        for (b, d) in before.iter().zip(&during) {
            if b != down {
                prop_assert_eq!(b, d);
            }
            prop_assert_ne!(d, down);
        }
        // Going down is the same as being removed: the clients go where a
        // table without the origin sends them.
        let without: Origins = origins.iter().filter(|(n, _)| n != down).cloned().collect();
        prop_assert_eq!(&during, &assignment(&self::table(&without, 0), &clients, None));
        prop_assert_eq!(&before, &assignment(&table, &clients, None), "recovered");
    }
}

#[test]
fn consistency_holds_across_the_precomputation_threshold() {
    // 17 selectable origins use the precomputed ranking; removing one
    // leaves 16, ranked on the fly: only the removed origin's clients move.
    let origins: Origins = (0..17).map(|i| (format!("origin-{i}"), [1.0, 0.5, 0.25][i % 3])).collect();
    let large = table(&origins, 0);
    assert!(large.pools()[0].precomputed_bytes() >= 128 * 1024, "17 origins: precomputed");
    let mut fewer = origins.clone();
    fewer.remove(5);
    let small = table(&fewer, 0);
    assert!(small.pools()[0].precomputed_bytes() < 128 * 1024, "16 origins: on the fly");
    let clients: Vec<u32> = (0..20_000u32).map(|i| i.wrapping_mul(2_654_435_761)).collect();
    let (before, after) = (assignment(&large, &clients, None), assignment(&small, &clients, None));
    let mut moved: BTreeMap<&str, u32> = BTreeMap::new();
    for (b, a) in before.iter().zip(&after) {
        if b != a {
            *moved.entry(b.as_str()).or_default() += 1;
        }
    }
    assert_eq!(moved.keys().copied().collect::<Vec<_>>(), ["origin-5"], "{moved:?}");
    // And the large table agrees with the small one whenever origin-5 is
    // down: the ranking's fallback is the on-the-fly ranking.
    assert_eq!(assignment(&large, &clients, Some("origin-5")), after);
}

#[test]
fn without_a_client_ip_hash_is_random() {
    let origins: Origins = (0..3).map(|i| (format!("origin-{i}"), 1.0)).collect();
    let table = table(&origins, 0);
    let mut rng = FastRng::new(3);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let decision = table.select(&Request::new("www.example.com"), &AllHealthy, &mut rng).unwrap();
        seen.insert(decision.origin().unwrap().origin().name().to_string());
    }
    assert_eq!(seen.len(), 3, "every origin is drawn");
}
