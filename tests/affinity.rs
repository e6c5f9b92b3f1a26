//! Session affinity through the public API: what a client can do to its
//! token (flip any bit, truncate it, extend it, replay it on another load
//! balancer, keep it past expiry, send garbage) is treated as no token,
//! never as an error or a panic; key rotation; tokens and header sessions
//! shared by nodes; the trace of affinity steps.

use std::sync::Arc;

use lbsteer::affinity::{
    AffinityConfig, AffinityContext, CookieName, CookieSameSite, MemorySessionStore, Rejection, RetryError,
    RetryStatuses, SessionStatus, TokenKey,
};
use lbsteer::explain::{ReportStep, Step};
use lbsteer::health::AllHealthy;
use lbsteer::{Decision, FastRng, HeaderSource, Request, Router, Table};
use proptest::prelude::*;

const ACCOUNT: &str = r#"{
    "pools": [
        {"id": "p", "name": "p", "origins": [
            {"name": "a", "address": "192.0.2.1"}, {"name": "b", "address": "192.0.2.2"},
            {"name": "c", "address": "192.0.2.3"}, {"name": "d", "address": "192.0.2.4"}]},
        {"id": "fb", "name": "fb", "origins": [{"name": "f", "address": "203.0.113.1"}]}
    ],
    "load_balancers": [
        {"name": "one.example.com", "default_pools": ["p"], "fallback_pool": "fb", "session_affinity": "cookie"},
        {"name": "two.example.com", "default_pools": ["p"], "fallback_pool": "fb", "session_affinity": "cookie"},
        {"name": "headers.example.com", "default_pools": ["p"], "fallback_pool": "fb", "session_affinity": "header",
         "session_affinity_attributes": {"headers": ["x-session"]}}
    ]
}"#;

const NOW: u64 = 1_764_000_000;
const TTL: u64 = 82_800;

fn table() -> Table {
    Table::compile(&lbsteer::Account::from_json(ACCOUNT).unwrap()).unwrap()
}

fn config() -> AffinityConfig {
    AffinityConfig::new(TokenKey::from_bytes(*b"0123456789abcdef"))
}

/// A header map that lends a `Cookie` header of arbitrary bytes.
struct CookieBytes(Vec<u8>);

impl HeaderSource for CookieBytes {
    fn visit(&self, visit: &mut dyn FnMut(&str, &[u8]) -> bool) {
        visit("cookie", &self.0);
    }
}

/// The session status, origin and whether a cookie was set, for a request
/// to `host` at `now` with `cookie` as the whole `Cookie` header.
fn decide(
    table: &Table,
    config: &AffinityConfig,
    host: &str,
    now: u64,
    cookie: &[u8],
) -> (SessionStatus, String, bool) {
    let ctx = AffinityContext::new(config);
    let headers = CookieBytes(cookie.to_vec());
    let request = Request::new(host).timestamp(now).header_source(&headers);
    let mut rng = FastRng::new(now ^ cookie.len() as u64);
    match table.select_with(&request, &AllHealthy, &mut rng, &ctx) {
        Ok(Decision::Origin(s)) => (s.session(), s.origin().name().to_string(), s.set_cookie().is_some()),
        other => panic!("{other:?}"),
    }
}

/// A fresh token for `host`, and the origin it names.
fn issue(table: &Table, config: &AffinityConfig, host: &str, now: u64) -> (String, String) {
    let ctx = AffinityContext::new(config);
    let request = Request::new(host).timestamp(now);
    let Ok(Decision::Origin(s)) = table.select_with(&request, &AllHealthy, &mut FastRng::new(now), &ctx) else {
        panic!()
    };
    let cookie = s.set_cookie().expect("a new session gets a token");
    assert_eq!(cookie.value().len(), 48);
    (cookie.value().to_string(), s.origin().name().to_string())
}

fn with_token(token: &[u8]) -> Vec<u8> {
    let mut header = b"__cflb=".to_vec();
    header.extend_from_slice(token);
    header
}

fn rejected(status: SessionStatus) -> Option<Rejection> {
    match status {
        SessionStatus::New { rejected } => rejected,
        other => panic!("expected a new session, got {other:?}"),
    }
}

#[test]
fn a_valid_token_pins_until_it_expires() {
    let (table, config) = (table(), config());
    let (token, origin) = issue(&table, &config, "one.example.com", NOW);
    for now in [NOW, NOW + 1, NOW + TTL / 2, NOW + TTL - 1] {
        let (status, chosen, set) = decide(&table, &config, "one.example.com", now, &with_token(token.as_bytes()));
        assert_eq!(status, SessionStatus::Pinned { draining: false }, "at {now}");
        assert_eq!(chosen, origin);
        assert!(!set, "a pinned session gets no new cookie");
    }
    for now in [NOW + TTL, NOW + TTL + 1, u64::MAX] {
        let (status, _, set) = decide(&table, &config, "one.example.com", now, &with_token(token.as_bytes()));
        assert_eq!(rejected(status), Some(Rejection::Expired), "at {now}");
        assert!(set, "a new token replaces it");
    }
    // Issued in the future beyond the allowed skew.
    let (status, ..) = decide(&table, &config, "one.example.com", NOW - 300, &with_token(token.as_bytes()));
    assert_eq!(status, SessionStatus::Pinned { draining: false }, "within the skew");
    let (status, ..) = decide(&table, &config, "one.example.com", NOW - 301, &with_token(token.as_bytes()));
    assert_eq!(rejected(status), Some(Rejection::FromTheFuture));
    let (status, ..) = decide(&table, &config, "one.example.com", 0, &with_token(token.as_bytes()));
    assert_eq!(rejected(status), Some(Rejection::FromTheFuture));
}

#[test]
fn every_single_bit_flip_is_treated_as_no_token() {
    let (table, config) = (table(), config());
    let (token, _) = issue(&table, &config, "one.example.com", NOW);
    let mut seen = std::collections::HashSet::new();
    for i in 0..token.len() {
        for bit in 0..8 {
            let mut bad = token.clone().into_bytes();
            bad[i] ^= 1 << bit;
            let (status, _, set) = decide(&table, &config, "one.example.com", NOW + 1, &with_token(&bad));
            let why = rejected(status).unwrap_or_else(|| panic!("byte {i} bit {bit}: no rejection"));
            assert!(matches!(why, Rejection::Malformed | Rejection::Forged), "byte {i} bit {bit}: {why:?}");
            assert!(set, "byte {i} bit {bit}: a new token is issued");
            seen.insert(why);
        }
    }
    // Flips that stay inside the alphabet reach the MAC check.
    assert!(seen.contains(&Rejection::Forged) && seen.contains(&Rejection::Malformed), "{seen:?}");
}

#[test]
fn truncations_and_extensions_are_treated_as_no_token() {
    let (table, config) = (table(), config());
    let (token, _) = issue(&table, &config, "one.example.com", NOW);
    for len in 0..token.len() {
        let (status, ..) = decide(&table, &config, "one.example.com", NOW, &with_token(&token.as_bytes()[..len]));
        assert_eq!(rejected(status), Some(Rejection::Malformed), "length {len}");
    }
    for extended in [format!("{token}A"), format!("{token}="), format!("{token}=="), format!("A{token}")] {
        let (status, ..) = decide(&table, &config, "one.example.com", NOW, &with_token(extended.as_bytes()));
        assert_eq!(rejected(status), Some(Rejection::Malformed), "{extended}");
    }
    // Surrounding spaces and quotes are cookie syntax, not part of the value.
    let (status, ..) = decide(&table, &config, "one.example.com", NOW, format!("__cflb= \"{token}\" ").as_bytes());
    assert_eq!(status, SessionStatus::Pinned { draining: false });
}

#[test]
fn a_token_replayed_on_another_load_balancer_is_ignored() {
    let (table, config) = (table(), config());
    let (token, _) = issue(&table, &config, "one.example.com", NOW);
    let (status, _, set) = decide(&table, &config, "two.example.com", NOW + 5, &with_token(token.as_bytes()));
    assert_eq!(rejected(status), Some(Rejection::OtherLoadBalancer));
    assert!(set);
    // And back on its own load balancer it still pins.
    let (status, ..) = decide(&table, &config, "one.example.com", NOW + 5, &with_token(token.as_bytes()));
    assert_eq!(status, SessionStatus::Pinned { draining: false });
}

#[test]
fn another_key_is_a_forgery_and_a_rotation_reissues() {
    let table = table();
    let old = AffinityConfig::new(TokenKey::from_bytes([1; 16]));
    let (token, origin) = issue(&table, &old, "one.example.com", NOW);
    let new = AffinityConfig::new(TokenKey::from_bytes([2; 16]));
    let (status, ..) = decide(&table, &new, "one.example.com", NOW + 10, &with_token(token.as_bytes()));
    assert_eq!(rejected(status), Some(Rejection::Forged));

    // During a rotation the old key's tokens are honoured and re-issued
    // under the new key, keeping their expiry.
    let rotating = new.clone().previous_key(TokenKey::from_bytes([1; 16]));
    let ctx = AffinityContext::new(&rotating);
    let header = format!("__cflb={token}");
    let request = Request::new("one.example.com").timestamp(NOW + 1_000).cookie_header(&header);
    let Ok(Decision::Origin(s)) = table.select_with(&request, &AllHealthy, &mut FastRng::new(3), &ctx) else {
        panic!()
    };
    assert_eq!(s.session(), SessionStatus::Pinned { draining: false });
    assert_eq!(s.origin().name(), origin);
    let reissued = s.set_cookie().expect("re-issued under the current key");
    assert_eq!(reissued.max_age() as u64, TTL - 1_000);
    let (status, chosen, set) =
        decide(&table, &new, "one.example.com", NOW + 2_000, &with_token(reissued.value().as_bytes()));
    assert_eq!((status, chosen, set), (SessionStatus::Pinned { draining: false }, origin, false));
}

#[test]
fn garbage_of_every_kind_is_no_token() {
    let (table, config) = (table(), config());
    let (token, origin) = issue(&table, &config, "one.example.com", NOW);
    let huge = "A".repeat(64 * 1024);
    let cases: Vec<Vec<u8>> = vec![
        b"__cflb=".to_vec(),
        b"__cflb".to_vec(),
        b"__cflb=;__cflb=;".to_vec(),
        with_token(huge.as_bytes()),
        with_token("é".repeat(24).as_bytes()),
        with_token(&[0xff; 48]),
        with_token(&[0; 48]),
        with_token(b"\r\n\t\x00\x7f"),
        with_token(&"=".repeat(48).into_bytes()),
        with_token(&"+/+/".repeat(12).into_bytes()),
        // Version 2, otherwise well-formed.
        with_token(&{
            let mut t = token.clone().into_bytes();
            t[0] = b'A';
            t[1] = b'g';
            t
        }),
        vec![0xff; 100],
        huge.clone().into_bytes(),
    ];
    for cookie in &cases {
        let (status, _, set) = decide(&table, &config, "one.example.com", NOW + 1, cookie);
        assert!(matches!(status, SessionStatus::New { .. }), "{:?}: {status:?}", String::from_utf8_lossy(cookie));
        assert!(set);
    }
    // A valid token after garbage ones (of the same name) still counts.
    let header = format!("__cflb=junk; other=1; __cflb={token}");
    let (status, chosen, _) = decide(&table, &config, "one.example.com", NOW + 1, header.as_bytes());
    assert_eq!((status, chosen), (SessionStatus::Pinned { draining: false }, origin));
}

#[test]
fn set_cookie_renders_as_a_header_value() {
    let (table, config) = (table(), config().cookie_name(CookieName::new("lb_session").unwrap()));
    let ctx = AffinityContext::new(&config);
    let request = Request::new("one.example.com").timestamp(NOW).scheme(lbsteer::Scheme::Http);
    let Ok(Decision::Origin(s)) = table.select_with(&request, &AllHealthy, &mut FastRng::new(1), &ctx) else {
        panic!()
    };
    let cookie = s.set_cookie().unwrap();
    assert_eq!(cookie.name(), "lb_session");
    assert_eq!((cookie.max_age(), cookie.secure(), cookie.same_site()), (82_800, false, CookieSameSite::Lax));
    assert_eq!(
        cookie.to_string(),
        format!("lb_session={}; Max-Age=82800; Path=/; HttpOnly; SameSite=Lax", cookie.value())
    );
    // Read back under that name.
    let header = format!("lb_session={}", cookie.value());
    let again = Request::new("one.example.com").timestamp(NOW + 1).cookie_header(&header);
    let Ok(Decision::Origin(pinned)) = table.select_with(&again, &AllHealthy, &mut FastRng::new(9), &ctx) else {
        panic!()
    };
    assert_eq!(pinned.session(), SessionStatus::Pinned { draining: false });
}

#[test]
fn without_a_context_or_a_clock_affinity_does_not_apply() {
    let table = table();
    let request = Request::new("one.example.com").timestamp(NOW);
    let Ok(Decision::Origin(s)) = table.select(&request, &AllHealthy, &mut FastRng::new(1)) else { panic!() };
    assert_eq!((s.session(), s.set_cookie()), (SessionStatus::Off, None));
    let explanation = table.explain(&request, &AllHealthy, &mut FastRng::new(1));
    assert!(explanation.steps().iter().any(|step| matches!(step, Step::AffinityUnavailable { .. })));

    let config = config();
    let ctx = AffinityContext::new(&config);
    let no_time = Request::new("one.example.com");
    let explanation = table.explain_with(&no_time, &AllHealthy, &mut FastRng::new(1), &ctx);
    let report = explanation.report();
    assert!(report.steps.contains(&ReportStep::AffinityUnavailable { reason: "no_clock" }), "{report}");
    let with_clock = ctx.clock(|| NOW);
    let Ok(Decision::Origin(s)) = table.select_with(&no_time, &AllHealthy, &mut FastRng::new(1), &with_clock) else {
        panic!()
    };
    assert!(matches!(s.session(), SessionStatus::New { rejected: None }));
}

#[test]
fn explanations_show_the_affinity_steps() {
    let (table, config) = (table(), config());
    let ctx = AffinityContext::new(&config);
    let (token, origin) = issue(&table, &config, "one.example.com", NOW);
    let header = format!("__cflb={token}");
    let request = Request::new("one.example.com").timestamp(NOW + 1).cookie_header(&header);
    let report = table.explain_with(&request, &AllHealthy, &mut FastRng::new(1), &ctx).report();
    assert!(report.steps.contains(&ReportStep::AffinityToken { valid: true, rejected: None }), "{report}");
    assert!(report.steps.contains(&ReportStep::AffinityPinned { origin: format!("p/{origin}"), draining: false }));
    let text = report.to_string();
    assert!(text.contains("session pinned to"), "{text}");

    let forged = "__cflb=AWkkgQAAAQIDBAUGBwgJCgsMDQ4PWlpaWlpaWlpaWlpaWlpa";
    let request = Request::new("one.example.com").timestamp(NOW + 1).cookie_header(forged);
    let report = table.explain_with(&request, &AllHealthy, &mut FastRng::new(1), &ctx).report();
    assert!(report.steps.contains(&ReportStep::AffinityToken { valid: false, rejected: Some("forged") }));
    assert!(report.steps.iter().any(|s| matches!(s, ReportStep::AffinityIssued { .. })), "{report}");
    assert!(report.to_string().contains("Set-Cookie: __cflb="), "{report}");
}

#[test]
fn nodes_with_the_same_key_honour_each_others_tokens() {
    let (one, two, other) =
        (Router::from_json(ACCOUNT).unwrap(), Router::from_json(ACCOUNT).unwrap(), Router::from_json(ACCOUNT).unwrap());
    one.set_affinity_config(config());
    two.set_affinity_config(config());
    let request = Request::new("one.example.com").timestamp(NOW);
    let Ok(Decision::Origin(first)) = one.select_origin(&request) else { panic!() };
    let header = format!("__cflb={}", first.set_cookie().unwrap().value());
    let again = Request::new("one.example.com").timestamp(NOW + 60).cookie_header(&header);
    for _ in 0..20 {
        let Ok(Decision::Origin(s)) = two.select_origin(&again) else { panic!() };
        assert_eq!(
            (s.session(), s.origin().name()),
            (SessionStatus::Pinned { draining: false }, first.origin().name())
        );
    }
    // A router left with its own random key does not.
    let Ok(Decision::Origin(s)) = other.select_origin(&again) else { panic!() };
    assert_eq!(rejected(s.session()), Some(Rejection::Forged));
}

#[test]
fn a_shared_session_store_shares_header_sessions() {
    let store = Arc::new(MemorySessionStore::new(1_024));
    let (one, two) = (Router::from_json(ACCOUNT).unwrap(), Router::from_json(ACCOUNT).unwrap());
    for router in [&one, &two] {
        router.set_affinity_config(config());
        router.set_session_store(store.clone());
    }
    let headers = [("x-session", "user-42")];
    let request = Request::new("headers.example.com").headers(&headers).timestamp(NOW);
    let Ok(Decision::Origin(first)) = one.select_origin(&request) else { panic!() };
    assert!(matches!(first.session(), SessionStatus::New { rejected: None }));
    assert!(first.set_cookie().is_none(), "header sessions set no cookie");
    for _ in 0..20 {
        let Ok(Decision::Origin(s)) = two.select_origin(&request) else { panic!() };
        assert_eq!(
            (s.session(), s.origin().name()),
            (SessionStatus::Pinned { draining: false }, first.origin().name())
        );
    }
    assert_eq!(store.live(NOW), 1);
    // The built-in store of a router nobody gave one.
    let alone = Router::from_json(ACCOUNT).unwrap();
    assert!(alone.session_store().is_some(), "created for a table with header affinity");
}

#[test]
fn retry_statuses_are_configurable_and_retries_are_single() {
    let router = Router::from_json(ACCOUNT).unwrap();
    router.set_affinity_config(config().retry_statuses(RetryStatuses::from_codes(&[502])));
    let request = Request::new("one.example.com").timestamp(NOW);
    let Ok(Decision::Origin(first)) = router.select_origin(&request) else { panic!() };
    assert_eq!(router.retry(&request, &first, 522).unwrap_err(), RetryError::NotRetryable { status: 522 });
    let second = router.retry(&request, &first, 502).unwrap();
    assert_ne!(second.origin().name(), first.origin().name());
    assert_eq!(second.pool().id(), "p");
    assert!(matches!(second.session(), SessionStatus::New { .. }), "a new session moves with the retry");
    assert!(second.set_cookie().is_some());
    assert_eq!(router.retry(&request, &second, 502).unwrap_err(), RetryError::AlreadyRetried);
    // A selection of another table is refused, not misread.
    let table = table();
    let Ok(Decision::Origin(other)) = table.select(&request, &AllHealthy, &mut FastRng::new(1)) else { panic!() };
    let ctx = AffinityContext::NONE;
    let snapshot = router.snapshot();
    let (result, steps) = snapshot.explain_retry(&request, &other, 522, &AllHealthy, &mut FastRng::new(1), &ctx);
    assert_eq!(result.unwrap_err(), RetryError::OtherTable);
    assert!(steps.is_empty());
    let (result, steps) = table.explain_retry(&request, &other, 522, &AllHealthy, &mut FastRng::new(1), &ctx);
    assert!(result.is_ok());
    assert!(matches!(steps[0], Step::Retry { status: 522, .. }), "{steps:?}");
}

/// A valid token, changed somewhere: any change is caught.
fn mutated_token() -> impl Strategy<Value = (usize, u8, bool)> {
    (0usize..48, 1u8..=255, any::<bool>())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever bytes a client sends as its cookie header, the decision
    /// succeeds, is a new session (a forgery is 2^-120), and never panics.
    #[test]
    fn arbitrary_cookie_bytes_are_never_a_session(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let (table, config) = (table(), config());
        let (status, _, set) = decide(&table, &config, "one.example.com", NOW, &bytes);
        prop_assert!(matches!(status, SessionStatus::New { .. }), "{:?}", status);
        prop_assert!(set);
        let (status, ..) = decide(&table, &config, "one.example.com", NOW, &with_token(&bytes));
        prop_assert!(matches!(status, SessionStatus::New { .. }), "{:?}", status);
    }

    /// Any byte of a valid token replaced (or the token cut there) is
    /// rejected.
    #[test]
    fn any_change_to_a_valid_token_is_rejected((at, xor, cut) in mutated_token()) {
        let (table, config) = (table(), config());
        let (token, _) = issue(&table, &config, "one.example.com", NOW);
        let mut bad = token.into_bytes();
        if cut {
            bad.truncate(at);
        } else {
            bad[at] ^= xor;
        }
        let (status, ..) = decide(&table, &config, "one.example.com", NOW + 1, &with_token(&bad));
        prop_assert!(matches!(status, SessionStatus::New { rejected: Some(_) }), "{:?}", status);
    }

    /// Alphabet-preserving substitutions reach the MAC, which rejects them.
    #[test]
    fn in_alphabet_substitutions_fail_the_mac(at in 0usize..48, with in 0usize..64) {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let (table, config) = (table(), config());
        let (token, _) = issue(&table, &config, "one.example.com", NOW);
        let mut bad = token.into_bytes();
        prop_assume!(bad[at] != ALPHABET[with]);
        bad[at] = ALPHABET[with];
        let (status, ..) = decide(&table, &config, "one.example.com", NOW + 1, &with_token(&bad));
        let why = rejected(status);
        prop_assert!(matches!(why, Some(Rejection::Forged) | Some(Rejection::Malformed)), "{:?}", why);
    }
}

#[test]
fn the_registry_records_when_an_origin_was_disabled() {
    use lbsteer::health::{HealthRegistry, HealthView};
    let account = |enabled: bool| {
        lbsteer::Account::from_json(&format!(
            r#"{{"pools": [{{"id": "p", "name": "p", "origins": [
                {{"name": "a", "address": "192.0.2.1", "enabled": {enabled}}},
                {{"name": "b", "address": "192.0.2.2", "enabled": false}}]}}]}}"#
        ))
        .unwrap()
    };
    let (on, off) = (Table::compile(&account(true)).unwrap(), Table::compile(&account(false)).unwrap());
    let mut registry = HealthRegistry::new();
    let first = registry.bind_at(&on, 100);
    let (a, b) = (on.origin_id("p", "a").unwrap(), on.origin_id("p", "b").unwrap());
    assert_eq!(first.origin_disabled_since(a), None, "enabled");
    assert_eq!(first.origin_disabled_since(b), None, "never enabled: nothing to drain");
    let second = registry.bind_at(&off, 200);
    assert_eq!(second.origin_disabled_since(a), Some(200), "disabled by this reload");
    let third = registry.bind_at(&off, 300);
    assert_eq!(third.origin_disabled_since(a), Some(200), "still draining from the first reload that disabled it");
    let fourth = registry.bind_at(&on, 400);
    assert_eq!(fourth.origin_disabled_since(a), None, "enabled again");
    assert_eq!(fourth.origin_disabled_since(b), None);
}

#[test]
fn a_token_in_a_later_cookie_header_is_honoured() {
    // HTTP/2 clients may split their cookies over several `Cookie` fields
    // (RFC 9113 §8.2.3); the token can be in any of them.
    let (table, config) = (table(), config());
    let ctx = AffinityContext::new(&config);
    let first = Request::new("one.example.com").timestamp(NOW);
    let Ok(Decision::Origin(s)) = table.select_with(&first, &AllHealthy, &mut FastRng::new(1), &ctx) else { panic!() };
    let token = format!("__cflb={}", s.set_cookie().unwrap().value());
    let headers = [("cookie", "theme=dark; lang=en"), ("cookie", token.as_str())];
    for seed in 0..16 {
        let again = Request::new("one.example.com").timestamp(NOW + 1).headers(&headers);
        let Ok(Decision::Origin(pinned)) = table.select_with(&again, &AllHealthy, &mut FastRng::new(seed), &ctx) else {
            panic!()
        };
        assert_eq!(pinned.session(), SessionStatus::Pinned { draining: false });
        assert_eq!(pinned.origin().name(), s.origin().name());
    }
}
