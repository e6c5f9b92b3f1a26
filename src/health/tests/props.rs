//! Property tests: hysteresis and quorum tables, through the whole checker.

use alloc::format;
use alloc::vec::Vec;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

use super::Sim;
use crate::geo::Region;
use crate::health::{CheckerConfig, Outcome, Status, Timestamp};

fn one_origin(up: u32, down: u32) -> alloc::string::String {
    format!(
        r#"{{"monitors": [{{"id": "m", "interval": 10, "consecutive_up": {up}, "consecutive_down": {down}}}],
            "pools": [{{"id": "p", "name": "p", "monitor": "m",
                        "origins": [{{"name": "a", "address": "192.0.2.1"}}]}}]}}"#
    )
}

proptest! {
    // Failure seeds live next to this file (the crate's top level holds
    // only what the layout names).
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(alloc::boxed::Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    /// A status never flips before the configured number of consecutive
    /// results, and flips as soon as it is reached.
    #[test]
    fn hysteresis(up in 0u32..6, down in 0u32..6, results in proptest::collection::vec(any::<bool>(), 1..40)) {
        let mut sim = Sim::new(&one_origin(up, down));
        let (up, down) = (up.max(1) as usize, down.max(1) as usize);
        let mut previous = Status::Unknown;
        for (i, &passed) in results.iter().enumerate() {
            sim.now = Timestamp::from_millis(i as u64 * 10_000);
            let handed = sim.step(&mut |_| Some(if passed { Outcome::http(200) } else { Outcome::http(500) }));
            prop_assert_eq!(handed, 1);
            let status = sim.status("p", "a");
            let run = results[..=i].iter().rev().take_while(|&&r| r == passed).count();
            if status != previous {
                // A flip: towards this result, after enough of them in a row.
                prop_assert_eq!(status, Status::from_healthy(passed));
                let needed = if passed { up } else { down };
                prop_assert!(run >= needed, "flipped to {:?} after {} in a row, needs {}", status, run, needed);
            }
            // And no later than that.
            if passed && run >= up {
                prop_assert_eq!(status, Status::Healthy);
            }
            if !passed && run >= down {
                prop_assert_eq!(status, Status::Unhealthy);
            }
            previous = status;
        }
    }

    /// Quorum tables for 1–13 regions × 1–5 vantage points: a region is
    /// healthy when most of its vantage points pass, the origin when most
    /// regions are healthy; unknown while the missing answers could still
    /// tip either way.
    #[test]
    fn quorum_tables(
        regions in 1usize..=13,
        vantages in 1u16..=5,
        cells in proptest::collection::vec(proptest::option::weighted(0.8, any::<bool>()), 13 * 5),
    ) {
        let mut config = CheckerConfig::new();
        for &region in &Region::ALL[..regions] {
            config = config.vantage_points(region, vantages);
        }
        let mut sim = Sim::with_config(&one_origin(0, 0), config);
        let cell = |region: Region, index: u16| cells[region.index() * 5 + usize::from(index)];
        let handed = sim.step(&mut |p| {
            let region = p.vantage().region().unwrap();
            cell(region, p.vantage().index()).map(|pass| if pass { Outcome::http(200) } else { Outcome::http(500) })
        });
        prop_assert_eq!(handed, regions * usize::from(vantages));

        // The reference: plain counting, tri-state.
        fn majority(healthy: usize, unknown: usize, total: usize) -> Status {
            if healthy * 2 > total {
                Status::Healthy
            } else if (healthy + unknown) * 2 <= total {
                Status::Unhealthy
            } else {
                Status::Unknown
            }
        }
        let region_status: Vec<Status> = Region::ALL[..regions]
            .iter()
            .map(|&region| {
                let answers: Vec<_> = (0..vantages).map(|i| cell(region, i)).collect();
                let healthy = answers.iter().filter(|a| **a == Some(true)).count();
                let unknown = answers.iter().filter(|a| a.is_none()).count();
                majority(healthy, unknown, answers.len())
            })
            .collect();
        let healthy = region_status.iter().filter(|s| **s == Status::Healthy).count();
        let unknown = region_status.iter().filter(|s| **s == Status::Unknown).count();
        let expected = majority(healthy, unknown, regions);
        prop_assert_eq!(sim.status("p", "a"), expected, "regions {:?}", region_status);
    }
}

/// The same tables, exhaustively for full answers: `k` of `v` vantage
/// points pass in each of `h` of `r` regions (the others all fail).
#[test]
fn quorum_table_exhaustive() {
    for regions in 1..=13usize {
        for vantages in 1..=5u16 {
            for passing in 0..=vantages {
                for healthy_regions in 0..=regions {
                    let mut config = CheckerConfig::new();
                    for &region in &Region::ALL[..regions] {
                        config = config.vantage_points(region, vantages);
                    }
                    let mut sim = Sim::with_config(&one_origin(0, 0), config);
                    sim.step(&mut |p| {
                        let region = p.vantage().region().unwrap().index();
                        let pass = region < healthy_regions && p.vantage().index() < passing;
                        Some(if pass { Outcome::http(200) } else { Outcome::http(500) })
                    });
                    let region_healthy = usize::from(passing) * 2 > usize::from(vantages);
                    let healthy = region_healthy && healthy_regions * 2 > regions;
                    assert_eq!(
                        sim.status("p", "a"),
                        Status::from_healthy(healthy),
                        "{regions} regions × {vantages} vantage points, {passing} passing in {healthy_regions} regions"
                    );
                }
            }
        }
    }
}
