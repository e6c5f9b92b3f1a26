//! Arbitrary cookie headers, and arbitrary changes to a valid affinity
//! token: the decision never panics, and nothing but the token as issued
//! pins a session.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use lbsteer::affinity::{AffinityConfig, AffinityContext, SessionStatus, TokenKey};
use lbsteer::health::AllHealthy;
use lbsteer::{Account, Decision, FastRng, Request, Table};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    /// A whole `Cookie` header.
    header: Vec<u8>,
    /// Changes to a valid token: (position, xor).
    changes: Vec<(u8, u8)>,
    /// Seconds after the token's issue time.
    age: u32,
}

struct Fixture {
    table: Table,
    config: AffinityConfig,
    token: String,
}

const NOW: u64 = 1_764_000_000;

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let account = Account::from_json(
            r#"{"pools": [{"id": "p", "name": "p", "origins": [
                    {"name": "a", "address": "192.0.2.1"}, {"name": "b", "address": "192.0.2.2"}]}],
                "load_balancers": [{"name": "www.example.com", "default_pools": ["p"], "fallback_pool": "p",
                                    "session_affinity": "cookie"}]}"#,
        )
        .unwrap();
        let table = Table::compile(&account).unwrap();
        let config = AffinityConfig::new(TokenKey::from_bytes(*b"fuzzing-the-key!"));
        let ctx = AffinityContext::new(&config);
        let request = Request::new("www.example.com").timestamp(NOW);
        let token = match table.select_with(&request, &AllHealthy, &mut FastRng::new(1), &ctx) {
            Ok(Decision::Origin(s)) => s.set_cookie().unwrap().value().to_string(),
            _ => unreachable!(),
        };
        Fixture { table, config, token }
    })
}

fn status(f: &Fixture, header: &str, now: u64) -> SessionStatus {
    let ctx = AffinityContext::new(&f.config);
    let request = Request::new("www.example.com").timestamp(now).cookie_header(header);
    match f.table.select_with(&request, &AllHealthy, &mut FastRng::new(now), &ctx) {
        Ok(Decision::Origin(s)) => s.session(),
        other => panic!("{other:?}"),
    }
}

fuzz_target!(|input: Input| {
    let f = fixture();
    let now = NOW + u64::from(input.age % 90_000);
    // Arbitrary bytes (lossily text, as a host would hand them over).
    let header = String::from_utf8_lossy(&input.header);
    if !header.contains(&f.token) {
        assert!(!matches!(status(f, &header, now), SessionStatus::Pinned { .. }), "{header:?}");
    }
    // A changed token.
    let mut token = f.token.clone().into_bytes();
    for &(at, xor) in input.changes.iter().take(8) {
        let at = usize::from(at) % token.len();
        token[at] ^= xor;
    }
    let changed = String::from_utf8_lossy(&token);
    let header = format!("__cflb={changed}");
    let pinned = matches!(status(f, &header, now), SessionStatus::Pinned { .. });
    if changed != f.token.as_str() {
        assert!(!pinned, "{changed}");
    } else {
        assert_eq!(pinned, now < NOW + 82_800);
    }
});
