//! Scenario files: a configuration, a health snapshot, and requests with
//! the decision each must get. They are the project's conformance format
//! (`tests/scenarios/*.json`) and what `lbctl check` runs.
//!
//! A scenario is a JSON object:
//!
//! - `account`: the account, as [`Account`] reads it.
//! - `health` (optional): `origins` (`"POOL/ORIGIN": bool`), `pool_rtt_ms`
//!   (`"POOL": {"WNAM": 20.5}`), `outstanding` and `connections`
//!   (`"POOL"` or `"POOL/ORIGIN"`: count). Origins not listed are healthy.
//! - `now` (optional): Unix seconds, the request time.
//! - `cases`: each with a `name` and either a `request` and an `expect`, a
//!   `request` with `samples`, `vary` (`random` or `client_ip`),
//!   `expect_share` (`"POOL/ORIGIN"` or `"POOL"`: share) and `tolerance`,
//!   or a `sequence` of steps (`health` changes that persist, `now`,
//!   `origins_enabled`, `carry_affinity`, `request`, `expect`, `fail_with`,
//!   `expect_retry`).
//! - or, instead of `cases`, `expect_config_error`: paths that must each
//!   appear among the compile errors.
//!
//! In a sequence, `carry_affinity: true` sends the affinity token the
//! client holds: the last one a step issued (a browser's cookie jar).
//! `origins_enabled` (`"POOL/ORIGIN": bool`) reloads the account with those
//! origins enabled or disabled, at the step's time (a disabled origin starts
//! draining then); the changes persist into later steps. `fail_with: 522`
//! reports that the step's selection failed with that status and asks for a
//! zero-downtime failover retry, checked by `expect_retry` (whose `error`
//! may be a [`RetryError::code`](crate::affinity::RetryError::code)); the
//! client then holds the retry's token, if it issued one.
//!
//! `expect` checks only the keys present: `load_balancer`, `pool`, `origin`
//! (`"=previous"` in a sequence: the previous step's origin), `address`,
//! `port`, `host_header`, `sni`, `ttl`, `fallback`, `error` (`no_load_balancer`,
//! `load_balancer_disabled`, `no_healthy_origin`) and `fixed_response`
//! (`status_code`, `message_body`, `content_type`, `location`); for
//! session affinity `session` (a [`SessionStatus::code`]: `off`, `no_key`,
//! `new`, `pinned`, `temporary`), `rejected` (why the presented session was
//! not honoured: a [`Rejection::code`], or `none`), `draining`,
//! `set_cookie` (whether a token was issued), `cookie` (`name`, `max_age`,
//! `secure`, `samesite`: the issued cookie's attributes), `retried`.
//! Unknown keys are errors, so that a misspelt expectation cannot pass
//! silently. So is a file or case that checks nothing or is ambiguous: a
//! file with neither `cases` nor `expect_config_error`, or with both; a
//! `vary`, `tolerance` or `expect_share` without `samples`; a `request`,
//! `expect` or `samples` beside a `sequence`.
//!
//! Every case starts from the file's account and health, with no session
//! (an empty header session store and cookie jar), a random source seeded
//! from the case's name, and a fixed affinity key, so runs are
//! reproducible.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::net::IpAddr;

use serde::Deserialize;

use crate::config::{Account, LoadError};
use crate::geo::Region;
use crate::hash;
use crate::health::{HealthRegistry, Status};
use crate::request::{Request, Scheme};
use crate::router::Router;
use crate::select::affinity::{AffinityConfig, MemorySessionStore, Rejection, SessionStatus, TokenKey};
use crate::select::{Decision, FastRng, RandomSource, Selection};

/// The affinity key scenarios run with.
const SCENARIO_KEY: [u8; 16] = *b"lbsteer-scenario";

/// A parsed scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The configuration.
    pub account: Account,
    #[serde(default)]
    health: HealthSpec,
    #[serde(default)]
    now: Option<u64>,
    #[serde(default)]
    cases: Vec<Case>,
    #[serde(default)]
    expect_config_error: Option<Vec<String>>,
}

/// A health snapshot, as scenario files write it: `origins`
/// (`"POOL/ORIGIN": bool`), `pool_rtt_ms` (`"POOL": {"REGION": ms}`),
/// `outstanding` and `connections` (`"POOL"` or `"POOL/ORIGIN"`: count).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthSpec {
    #[serde(default)]
    origins: BTreeMap<String, bool>,
    #[serde(default)]
    pool_rtt_ms: BTreeMap<String, BTreeMap<String, f64>>,
    #[serde(default)]
    outstanding: BTreeMap<String, u32>,
    #[serde(default)]
    connections: BTreeMap<String, u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    request: Option<RequestSpec>,
    #[serde(default)]
    expect: Option<Expect>,
    #[serde(default)]
    samples: Option<u32>,
    #[serde(default)]
    vary: Option<String>,
    #[serde(default)]
    expect_share: Option<BTreeMap<String, f64>>,
    #[serde(default)]
    tolerance: Option<f64>,
    #[serde(default)]
    sequence: Option<Vec<SequenceStep>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SequenceStep {
    #[serde(default)]
    health: Option<HealthSpec>,
    #[serde(default)]
    origins_enabled: BTreeMap<String, bool>,
    #[serde(default)]
    carry_affinity: bool,
    #[serde(default)]
    now: Option<u64>,
    request: RequestSpec,
    #[serde(default)]
    expect: Option<Expect>,
    #[serde(default)]
    fail_with: Option<u16>,
    #[serde(default)]
    expect_retry: Option<Expect>,
}

/// A request, as scenario files write it: `host` (required), `scheme`,
/// `method`, `path`, `query`, `version`, `headers`, `cookies`,
/// `client_ip`, `region`, `country`, `pop`, `latitude`, `longitude`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    host: String,
    #[serde(default)]
    scheme: Option<String>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    cookies: BTreeMap<String, String>,
    #[serde(default)]
    client_ip: Option<IpAddr>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    pop: Option<String>,
    #[serde(default)]
    latitude: Option<f64>,
    #[serde(default)]
    longitude: Option<f64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    load_balancer: Option<String>,
    pool: Option<String>,
    origin: Option<String>,
    address: Option<String>,
    port: Option<u16>,
    host_header: Option<String>,
    sni: Option<String>,
    ttl: Option<u32>,
    fallback: Option<bool>,
    error: Option<String>,
    fixed_response: Option<ExpectFixed>,
    session: Option<String>,
    rejected: Option<String>,
    draining: Option<bool>,
    set_cookie: Option<bool>,
    cookie: Option<ExpectCookie>,
    retried: Option<bool>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectCookie {
    name: Option<String>,
    max_age: Option<u32>,
    secure: Option<bool>,
    samesite: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectFixed {
    status_code: Option<u16>,
    message_body: Option<String>,
    content_type: Option<String>,
    location: Option<String>,
}

/// The outcome of one case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// Why it failed; empty when it passed.
    pub failures: Vec<String>,
}

impl CaseResult {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The outcome of a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// One result per case (one for the whole file when it expects a
    /// configuration error).
    pub cases: Vec<CaseResult>,
}

impl Report {
    /// How many cases passed.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.passed()).count()
    }

    /// How many cases failed.
    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for case in &self.cases {
            if case.passed() {
                writeln!(f, "ok   {}", case.name)?;
            } else {
                writeln!(f, "FAIL {}", case.name)?;
                for failure in &case.failures {
                    writeln!(f, "       {failure}")?;
                }
            }
        }
        write!(f, "{} passed, {} failed", self.passed(), self.failed())
    }
}

impl Scenario {
    /// Parses a scenario file.
    pub fn from_json(text: &str) -> Result<Scenario, LoadError> {
        crate::config::api::from_json_text(text)
    }

    /// Whether the file expects its configuration to be rejected.
    pub fn expects_config_error(&self) -> bool {
        self.expect_config_error.is_some()
    }

    /// Runs every case.
    pub fn run(&self) -> Report {
        let router = match Router::new(&self.account) {
            Ok(router) => router,
            Err(err) => {
                let name = String::from("the configuration compiles");
                let failures = match &self.expect_config_error {
                    Some(paths) => paths
                        .iter()
                        .filter(|path| !err.mentions(path))
                        .map(|path| format!("no error at {path}; the errors were:\n{err}"))
                        .collect(),
                    None => alloc::vec![err.to_string()],
                };
                let name = if self.expect_config_error.is_some() {
                    String::from("the configuration is rejected")
                } else {
                    name
                };
                return Report { cases: alloc::vec![CaseResult { name, failures }] };
            }
        };
        if self.expect_config_error.is_some() && !self.cases.is_empty() {
            return Report {
                cases: alloc::vec![CaseResult {
                    name: "the configuration is rejected".into(),
                    failures: alloc::vec![
                        "the file has both `cases` and `expect_config_error`: a file whose configuration \
                         must be rejected has no cases"
                            .into()
                    ],
                }],
            };
        }
        if self.expect_config_error.is_some() {
            return Report {
                cases: alloc::vec![CaseResult {
                    name: "the configuration is rejected".into(),
                    failures: alloc::vec!["the configuration compiled".into()],
                }],
            };
        }
        if self.cases.is_empty() {
            return Report {
                cases: alloc::vec![CaseResult {
                    name: "the file has cases".into(),
                    failures: alloc::vec!["no `cases` and no `expect_config_error`: nothing is checked".into()],
                }],
            };
        }
        router.set_affinity_config(AffinityConfig::new(TokenKey::from_bytes(SCENARIO_KEY)));
        let cases = self
            .cases
            .iter()
            .map(|case| CaseResult { name: case.name.clone(), failures: self.run_case(&router, case) })
            .collect();
        Report { cases }
    }

    fn reset_health(&self, router: &Router) -> Vec<String> {
        router.with_health(|registry| {
            registry.set_all(Status::Healthy);
            // Counts a previous case set do not carry over.
            let origins: Vec<(String, String)> =
                registry.statuses().map(|(pool, origin, _)| (pool.to_string(), origin.to_string())).collect();
            for (pool, origin) in &origins {
                let _ = registry.set_origin_outstanding(pool, origin, 0);
                let _ = registry.set_origin_connections(pool, origin, 0);
                registry.set_pool_outstanding(pool, 0);
                registry.set_pool_connections(pool, 0);
            }
            apply_health(registry, &self.health)
        })
    }

    fn run_case(&self, router: &Router, case: &Case) -> Vec<String> {
        let mut failures = self.reset_health(router);
        router.set_session_store(alloc::sync::Arc::new(MemorySessionStore::new(4_096)));
        let mut rng = FastRng::new(hash::origin_key("scenario", &case.name));
        // Keys that would be ignored where they stand: the case would pass
        // while checking less than it says.
        let mut unread = |keys: [(&str, bool); 3], why: &str| {
            failures.extend(keys.iter().filter(|(_, given)| *given).map(|(key, _)| format!("`{key}` {why}")));
        };
        if case.samples.is_none() {
            let keys = [
                ("vary", case.vary.is_some()),
                ("tolerance", case.tolerance.is_some()),
                ("expect_share", case.expect_share.is_some()),
            ];
            unread(keys, "needs `samples`");
        }
        if case.sequence.is_some() {
            let keys = [
                ("request", case.request.is_some()),
                ("expect", case.expect.is_some()),
                ("samples", case.samples.is_some()),
            ];
            unread(keys, "is not read in a case with a `sequence` (each step has its own)");
        }
        if let Some(steps) = &case.sequence {
            failures.extend(self.run_sequence(router, steps, &mut rng));
            return failures;
        }
        let Some(spec) = &case.request else {
            failures.push("a case needs a `request` or a `sequence`".into());
            return failures;
        };
        let owned = OwnedRequest::new(spec);
        match case.samples {
            None => {
                let request = owned.request(self.now);
                let decision = router.select_origin_with(&request, &mut rng);
                failures.extend(check(&decision, case.expect.as_ref().unwrap_or(&Expect::default()), None));
            }
            Some(samples) => failures.extend(self.run_samples(router, case, &owned, samples, &mut rng)),
        }
        failures
    }

    fn run_sequence(&self, router: &Router, steps: &[SequenceStep], rng: &mut FastRng) -> Vec<String> {
        let mut failures = Vec::new();
        let mut previous: Option<String> = None;
        // The client's affinity cookie: the last token issued to it.
        let mut jar: Option<String> = None;
        let mut account: Option<Account> = None;
        for (i, step) in steps.iter().enumerate() {
            let now = step.now.or(self.now);
            if let Some(health) = &step.health {
                failures.extend(router.with_health(|registry| apply_health(registry, health)));
            }
            if !step.origins_enabled.is_empty() {
                let changed = account.get_or_insert_with(|| self.account.clone());
                for (key, &enabled) in &step.origins_enabled {
                    let origin = key.split_once('/').and_then(|(pool, name)| {
                        changed.pools.iter_mut().find(|p| p.id == pool)?.origins.iter_mut().find(|o| o.name == name)
                    });
                    match origin {
                        Some(origin) => origin.enabled = enabled,
                        None => failures.push(format!("step {i}: origins_enabled: no origin {key:?}")),
                    }
                }
                let at = now.unwrap_or_else(crate::router::unix_now);
                if let Err(err) = router.reload_at(changed, at) {
                    failures.push(format!("step {i}: origins_enabled: the account does not compile: {err}"));
                }
            }
            let carried = if step.carry_affinity { jar.as_deref() } else { None };
            if step.carry_affinity && carried.is_none() {
                failures.push(format!("step {i}: carry_affinity: no earlier step issued a token"));
            }
            let cookie_name = router.affinity_config().cookie();
            let owned = OwnedRequest::with_cookie(&step.request, carried.map(|token| (cookie_name.as_str(), token)));
            let request = owned.request(now);
            let decision = router.select_origin_with(&request, rng);
            let expect = step.expect.clone().unwrap_or_default();
            for failure in check(&decision, &expect, previous.as_deref()) {
                failures.push(format!("step {i}: {failure}"));
            }
            let Ok(Decision::Origin(selection)) = &decision else {
                previous = None;
                if step.fail_with.is_some() {
                    failures.push(format!("step {i}: fail_with: the step selected no origin"));
                }
                continue;
            };
            let mut origin = selection.origin().name().to_string();
            let mut issued = selection.set_cookie().map(|c| c.value().to_string());
            match (step.fail_with, &step.expect_retry) {
                (Some(status), expect_retry) => {
                    let retried = router.retry_with(&request, selection, status, rng);
                    let expect = expect_retry.clone().unwrap_or_default();
                    for failure in check_retry(&retried, &expect, Some(&origin)) {
                        failures.push(format!("step {i}: retry: {failure}"));
                    }
                    if let Ok(retry) = &retried {
                        origin = retry.origin().name().to_string();
                        // The response the client gets is the retry's.
                        issued = retry.set_cookie().map(|c| c.value().to_string());
                    }
                }
                (None, Some(_)) => failures.push(format!("step {i}: expect_retry needs fail_with")),
                (None, None) => {}
            }
            if let Some(token) = issued {
                jar = Some(token);
            }
            previous = Some(origin);
        }
        if account.is_some() {
            // Later cases start from the file's account.
            let _ = router.reload(&self.account);
        }
        failures
    }

    fn run_samples(
        &self,
        router: &Router,
        case: &Case,
        owned: &OwnedRequest,
        samples: u32,
        rng: &mut FastRng,
    ) -> Vec<String> {
        let mut failures = Vec::new();
        let vary_ip = match case.vary.as_deref() {
            None | Some("random") => false,
            Some("client_ip") => true,
            Some(other) => {
                return alloc::vec![format!("unknown `vary` {other:?}: expected \"random\" or \"client_ip\"")];
            }
        };
        let mut counts: BTreeMap<String, u32> = BTreeMap::new();
        let mut ips = FastRng::new(hash::origin_key("client_ip", &case.name));
        for _ in 0..samples {
            let mut request = owned.request(self.now);
            if vary_ip {
                request = request.client_ip(IpAddr::from((ips.next_u64() as u32).to_be_bytes()));
            }
            let decision = router.select_origin_with(&request, rng);
            if let Some(expect) = &case.expect
                && let Some(failure) = check(&decision, expect, None).into_iter().next()
            {
                failures.push(format!("a sample: {failure}"));
                return failures;
            }
            if let Ok(Decision::Origin(s)) = &decision {
                *counts.entry(s.pool().id().to_string()).or_default() += 1;
                *counts.entry(format!("{}/{}", s.pool().id(), s.origin().name())).or_default() += 1;
            }
        }
        let tolerance = case.tolerance.unwrap_or(0.02);
        for (key, expected) in case.expect_share.iter().flatten() {
            let observed = f64::from(counts.get(key).copied().unwrap_or(0)) / f64::from(samples.max(1));
            if (observed - expected).abs() > tolerance {
                failures.push(format!("share of {key}: expected {expected} ± {tolerance}, observed {observed:.4}"));
            }
        }
        failures
    }
}

impl HealthSpec {
    /// Parses a health snapshot.
    pub fn from_json(text: &str) -> Result<HealthSpec, LoadError> {
        crate::config::api::from_json_text(text)
    }

    /// Applies the snapshot to a registry; returns what could not be
    /// applied (unknown pools, origins or regions).
    pub fn apply(&self, registry: &mut HealthRegistry) -> Vec<String> {
        apply_health(registry, self)
    }
}

impl RequestSpec {
    /// Parses a request.
    pub fn from_json(text: &str) -> Result<RequestSpec, LoadError> {
        crate::config::api::from_json_text(text)
    }

    /// The request's strings, owned, ready to lend a [`Request`].
    pub fn to_owned_request(&self) -> OwnedRequest {
        OwnedRequest::new(self)
    }
}

fn apply_health(registry: &mut HealthRegistry, health: &HealthSpec) -> Vec<String> {
    let mut failures = Vec::new();
    for (key, &healthy) in &health.origins {
        let result = key
            .split_once('/')
            .ok_or(())
            .and_then(|(pool, origin)| registry.set_status(pool, origin, Status::from_healthy(healthy)).map_err(drop));
        if result.is_err() {
            failures.push(format!("health.origins: no origin {key:?} (write POOL_ID/ORIGIN_NAME)"));
        }
    }
    for (pool, regions) in &health.pool_rtt_ms {
        for (region, &rtt) in regions {
            match Region::parse(region) {
                Some(region) if registry.set_pool_rtt(pool, region, Some(rtt)) => {}
                Some(_) => failures.push(format!("health.pool_rtt_ms: no pool {pool:?}")),
                None => failures.push(format!("health.pool_rtt_ms.{pool}: no region {region:?}")),
            }
        }
    }
    for (counts, set_pool, set_origin) in [
        (
            &health.outstanding,
            HealthRegistry::set_pool_outstanding as fn(&HealthRegistry, &str, u32) -> bool,
            HealthRegistry::set_origin_outstanding as fn(&HealthRegistry, &str, &str, u32) -> _,
        ),
        (&health.connections, HealthRegistry::set_pool_connections, HealthRegistry::set_origin_connections),
    ] {
        for (key, &count) in counts {
            let ok = match key.split_once('/') {
                Some((pool, origin)) => set_origin(registry, pool, origin, count).is_ok(),
                None => set_pool(registry, key, count),
            };
            if !ok {
                failures.push(format!("health: no pool or origin {key:?}"));
            }
        }
    }
    failures
}

/// The strings a [`Request`] borrows, owned: see
/// [`RequestSpec::to_owned_request`].
#[derive(Debug)]
pub struct OwnedRequest {
    spec: RequestSpec,
    headers: Vec<(String, String)>,
}

impl OwnedRequest {
    fn new(spec: &RequestSpec) -> Self {
        Self::with_cookie(spec, None)
    }

    /// The request, with one more cookie (before the spec's own).
    fn with_cookie(spec: &RequestSpec, extra: Option<(&str, &str)>) -> Self {
        let mut headers: Vec<(String, String)> = spec.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let cookies: Vec<String> = extra
            .into_iter()
            .chain(spec.cookies.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !cookies.is_empty() {
            headers.push(("cookie".into(), cookies.join("; ")));
        }
        OwnedRequest { spec: spec.clone(), headers }
    }

    /// The request, at time `now` (Unix seconds) when given.
    pub fn request(&self, now: Option<u64>) -> Request<'_> {
        let spec = &self.spec;
        let mut request = Request::new(&spec.host)
            .scheme(spec.scheme.as_deref().and_then(Scheme::parse).unwrap_or(Scheme::Https))
            .method(spec.method.as_deref().unwrap_or("GET"))
            .path(spec.path.as_deref().unwrap_or("/"))
            .query(spec.query.as_deref().unwrap_or(""))
            .version(spec.version.as_deref().unwrap_or("HTTP/1.1"))
            .header_source(self);
        if let Some(ip) = spec.client_ip {
            request = request.client_ip(ip);
        }
        if let Some(region) = &spec.region {
            request = request.region(region);
        }
        if let Some(country) = &spec.country {
            request = request.country(country);
        }
        if let Some(pop) = &spec.pop {
            request = request.pop(pop);
        }
        if let (Some(lat), Some(lon)) = (spec.latitude, spec.longitude) {
            request = request.coordinates(lat, lon);
        }
        if let Some(now) = now {
            request = request.timestamp(now);
        }
        request
    }
}

impl crate::request::HeaderSource for OwnedRequest {
    fn visit(&self, visit: &mut dyn FnMut(&str, &[u8]) -> bool) {
        for (name, value) in &self.headers {
            if !visit(name, value.as_bytes()) {
                return;
            }
        }
    }
}

/// Records a failure when an expected value is given and differs.
fn expect_eq<T: PartialEq + fmt::Display>(failures: &mut Vec<String>, what: &str, expected: Option<T>, actual: T) {
    if let Some(expected) = expected
        && expected != actual
    {
        failures.push(format!("{what}: expected {expected}, got {actual}"));
    }
}

fn compare(failures: &mut Vec<String>, what: &str, expected: Option<&str>, actual: Option<&str>) {
    if let Some(expected) = expected
        && Some(expected) != actual
    {
        let actual = actual.map_or_else(|| "nothing".to_string(), |a| format!("{a:?}"));
        failures.push(format!("{what}: expected {expected:?}, got {actual}"));
    }
}

fn check<T: core::ops::Deref<Target = crate::table::Table>>(
    decision: &Result<Decision<'_, T>, crate::select::SelectError>,
    expect: &Expect,
    previous: Option<&str>,
) -> Vec<String> {
    let mut failures = Vec::new();
    let f = &mut failures;
    match decision {
        Err(err) => {
            match &expect.error {
                Some(code) if code == err.code() => {}
                Some(code) => failures.push(format!("error: expected {code}, got {}", err.code())),
                None => failures.push(format!("unexpected error {}", err.code())),
            }
            return failures;
        }
        Ok(_) if expect.error.is_some() => {
            failures.push(format!("error: expected {}, got a decision", expect.error.as_deref().unwrap_or("")));
            return failures;
        }
        Ok(Decision::Respond(response)) => {
            compare(f, "load_balancer", expect.load_balancer.as_deref(), Some(response.load_balancer().name()));
            let Some(fixed) = &expect.fixed_response else {
                f.push(format!("unexpected fixed response {}", response.status_code()));
                return failures;
            };
            expect_eq(f, "fixed_response.status_code", fixed.status_code, response.status_code());
            compare(f, "fixed_response.message_body", fixed.message_body.as_deref(), response.body());
            compare(f, "fixed_response.content_type", fixed.content_type.as_deref(), response.content_type());
            compare(f, "fixed_response.location", fixed.location.as_deref(), response.location());
            for (key, present) in [
                ("pool", expect.pool.is_some()),
                ("origin", expect.origin.is_some()),
                ("address", expect.address.is_some()),
                ("port", expect.port.is_some()),
            ] {
                if present {
                    f.push(format!("{key}: expected an origin, got a fixed response"));
                }
            }
        }
        Ok(Decision::Origin(s)) => {
            if expect.fixed_response.is_some() {
                f.push(format!("fixed_response: expected one, got origin {:?}", s.origin().name()));
            }
            compare(f, "load_balancer", expect.load_balancer.as_deref(), Some(s.load_balancer().name()));
            compare(f, "pool", expect.pool.as_deref(), Some(s.pool().id()));
            let expected_origin = match expect.origin.as_deref() {
                Some("=previous") => Some(previous.unwrap_or("(no previous origin)")),
                other => other,
            };
            compare(f, "origin", expected_origin, Some(s.origin().name()));
            compare(f, "address", expect.address.as_deref(), Some(s.address()));
            compare(f, "host_header", expect.host_header.as_deref(), Some(s.host_header()));
            compare(f, "sni", expect.sni.as_deref(), Some(s.sni()));
            expect_eq(f, "port", expect.port, s.port());
            expect_eq(f, "ttl", expect.ttl, s.ttl());
            expect_eq(f, "fallback", expect.fallback, s.is_fallback());
            check_session(f, s, expect);
        }
    }
    failures
}

fn check_session<T: core::ops::Deref<Target = crate::table::Table>>(
    f: &mut Vec<String>,
    s: &Selection<'_, T>,
    expect: &Expect,
) {
    let status = s.session();
    compare(f, "session", expect.session.as_deref(), Some(status.code()));
    let rejected = match status {
        SessionStatus::New { rejected } => rejected.map_or("none", Rejection::code),
        _ => "none",
    };
    compare(f, "rejected", expect.rejected.as_deref(), Some(rejected));
    expect_eq(f, "draining", expect.draining, matches!(status, SessionStatus::Pinned { draining: true }));
    let cookie = s.set_cookie();
    if let Some(set) = expect.set_cookie
        && set != cookie.is_some()
    {
        f.push(format!("set_cookie: expected {set}, got {}", cookie.map_or("none".to_string(), |c| c.to_string())));
    }
    if let Some(want) = &expect.cookie {
        match cookie {
            None => f.push("cookie: expected one, none was set".into()),
            Some(c) => {
                compare(f, "cookie.name", want.name.as_deref(), Some(c.name()));
                compare(f, "cookie.samesite", want.samesite.as_deref(), Some(c.same_site().as_str()));
                expect_eq(f, "cookie.max_age", want.max_age, c.max_age());
                expect_eq(f, "cookie.secure", want.secure, c.secure());
            }
        }
    }
    expect_eq(f, "retried", expect.retried, s.is_retry());
}

/// Checks a failover retry: `previous` is the origin that failed.
fn check_retry(
    retried: &Result<Selection<'_, crate::router::Snapshot>, crate::select::affinity::RetryError>,
    expect: &Expect,
    previous: Option<&str>,
) -> Vec<String> {
    let mut failures = Vec::new();
    match retried {
        Err(err) => match &expect.error {
            Some(code) if code == err.code() => {}
            Some(code) => failures.push(format!("error: expected {code}, got {}", err.code())),
            None => failures.push(format!("unexpected error {}", err.code())),
        },
        Ok(s) => {
            if let Some(code) = &expect.error {
                failures.push(format!("error: expected {code}, got origin {:?}", s.origin().name()));
            }
            let f = &mut failures;
            compare(f, "pool", expect.pool.as_deref(), Some(s.pool().id()));
            let expected_origin = match expect.origin.as_deref() {
                Some("=previous") => Some(previous.unwrap_or("(no previous origin)")),
                other => other,
            };
            compare(f, "origin", expected_origin, Some(s.origin().name()));
            compare(f, "address", expect.address.as_deref(), Some(s.address()));
            check_session(f, s, expect);
        }
    }
    failures
}
