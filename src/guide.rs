//! The guide: how lbsteer decides, how to embed it, how to run it.
//!
//! This module holds no code, only the longer documentation:
//!
//! - [`semantics`]: every choice lbsteer makes where Cloudflare's
//!   documentation leaves the behaviour open, grouped by stage.
//! - [`embedding`]: putting lbsteer in a proxy: the request view, the
//!   decision, in-flight guards, affinity cookies, failover retries,
//!   reloads, the health-check loop, fleet-wide settings.
//! - [`operations`]: checking configurations before they ship, explaining
//!   decisions, conformance scenarios, limits, performance.
//! - [`security`]: what a hostile configuration, request or client can and
//!   cannot do.
//! - [`no_std`]: using the core without the standard library.

/// Where Cloudflare's documentation is silent: lbsteer's rules.
///
/// Each rule here is tested (in `tests/scenarios/`, unit tests or property
/// tests); the table is the contract.
///
/// # Hostnames and Origin Rules
///
/// | question | lbsteer's rule |
/// |---|---|
/// | a load balancer and a CNAME record of the same name | the load balancer, unless it is disabled |
/// | a wildcard load balancer and an exact CNAME record | the exact record, even when its chain leaves the account |
/// | a wildcard load balancer and a more specific `A` or `AAAA` record (exact, or a deeper wildcard) | the record, as Cloudflare documents: the name is not load balanced (`no_load_balancer`); a disabled load balancer yields to an `A` or `AAAA` record of its name alike; other record types are ignored |
/// | a CNAME chain | followed at compile time, up to [`limits::CNAME_DEPTH`](crate::limits::CNAME_DEPTH) records; a loop is a configuration error |
/// | the request host | compared without case, a trailing dot or a `:port` |
/// | `Host` header: origin `header.Host` against an Origin Rule's `host_header` | the origin's setting wins |
/// | SNI | an Origin Rule's `sni`, else the `Host` header sent, without its port |
/// | port: origin `port` against an Origin Rule's `origin.port` | a non-zero origin port wins, then the rule's port, then the scheme's default |
/// | an Origin Rule resolve override to a host without a load balancer | `no_load_balancer` (and a compile-time warning) |
/// | several origins with one address | allowed when their ports differ |
///
/// # Custom rules and pool sets
///
/// | question | lbsteer's rule |
/// |---|---|
/// | custom rules with equal `priority` | array order |
/// | nested override objects (`random_steering`, `session_affinity_attributes`, …) | replaced wholesale, never merged |
/// | a rule with both `overrides` and `fixed_response` | the fixed response; the overrides are ignored (a warning) |
/// | pool sets and custom rules | the first matching pool set applies, then the rules, over it |
/// | a pool set without `steering_policy` | failover order (`off`) |
///
/// # Health
///
/// | question | lbsteer's rule |
/// |---|---|
/// | a pool without a monitor | origin health is not considered: its enabled origins count as healthy |
/// | an origin whose health is still unknown | down, where its pool has a monitor |
/// | healthy origins of weight 0 | count towards `minimum_origins`, are never selected; a pool whose only healthy origins weigh 0 is passed over like an unhealthy one |
/// | `consecutive_up` / `consecutive_down` of 0 | act as 1: the first differing result flips the status |
/// | health quorum | a region is healthy when more than half of its vantage points pass, an origin when more than half of its check regions are healthy; both thresholds are settings ([`health::Quorum`](crate::health::Quorum)) |
/// | `expected_body` | ASCII case-insensitive, searched within the first 10 KB of the body |
/// | a monitor group with no voting member | never marks an origin unhealthy |
/// | a reload | monitored origins keep their status, counts and schedule by identity (pool id, origin name, monitor id); a new origin, or one whose probe endpoint changed (address, port probed or `Host` sent), starts unknown and is probed at once; changed probe settings (path, method, headers, timeout) apply from the next probe |
/// | probe RTT for `dynamic_latency` | an exponentially weighted moving average per pool and region, α = 0.2, from passing probes of voting monitors |
///
/// # Steering
///
/// | question | lbsteer's rule |
/// |---|---|
/// | an empty `steering_policy` | `geo` when a region, country or PoP map is set, else `off` |
/// | a request with a country but no region | the region comes from a bundled country → region table ([`geo`](crate::geo)); the United States and Canada, split between WNAM and ENAM, count as ENAM; a region the host sets always wins |
/// | a geo area whose pools are all down | the fallback pool, not the default pools |
/// | `random` pool steering when only weight-0 pools remain | they serve, in list order (weight 0 is never drawn while a weighted pool remains) |
/// | `dynamic_latency` with partial RTT data | pools with an RTT for the request's region first, lowest first; then the others in failover order |
/// | `proximity` distance | great-circle; pools without coordinates come after every located pool, in list order; a request without coordinates uses list order |
/// | least outstanding requests / connections | lowest `(count + 1) / weight`; ties in list order; weight-0 pools last |
/// | `hash` origin steering | weighted rendezvous hashing of the client IP over 16,384 buckets: the same client gets the same origin on every node and across reloads while the origin set is unchanged; removing an origin (or its going down) moves only its clients; no client IP: weighted random |
/// | load shedding `hash` | a share of the client-IP hash space, salted per pool; without a client IP, a random draw; `session_percent` tests the same hash, so equal percentages shed the same clients |
/// | a request shed by every candidate pool | the fallback pool, which never sheds |
/// | the fallback pool with no healthy origin | one of its enabled origins of weight > 0 is used regardless of health ("fail open"), and the selection says so |
///
/// # Session affinity and failover
///
/// | question | lbsteer's rule |
/// |---|---|
/// | where session affinity sits | after pool sets and custom rules (whose overrides of `session_affinity`, its TTL and attributes apply), ahead of pool and origin steering |
/// | session affinity on a load balancer with `proxied: false` | applies all the same: the host embedding lbsteer is the proxy |
/// | the affinity token | 36 bytes, 48 base64url characters: version, issue time, the load balancer's and the origin's stable identities, a SipHash-2-4 tag (120 bits) under the host's 128-bit key; no server state ([`affinity`](crate::affinity)) |
/// | a token malformed, forged, of another load balancer, expired, or issued more than 300 s ahead | treated as absent: steered as a new session, a new token |
/// | the pools a session may stay in | any pool the effective settings name: default, region, country and PoP pools, a pool set's pools, the fallback pool |
/// | when a session is honoured | its pool is enabled and, unless it is the fallback pool, has `minimum_origins` healthy origins; the origin is enabled (or draining), of weight > 0, healthy (a draining origin, no longer probed, is exempt); the pool does not shed the session |
/// | a session moved off an unhealthy origin, which then recovers | it stays on the origin it moved to |
/// | token renewal | none on use (the TTL runs from creation); a new token only for a new session, or to re-issue one made with the previous key of a rotation (same issue time) |
/// | cookie `Secure: Auto` | set on `https` requests |
/// | cookie `SameSite: Auto` | `None` when the cookie is `Secure`, else `Lax`; `SameSite=None` always sets `Secure` |
/// | `ip_cookie`'s first choice | draws seeded by the client IP, the origin by weighted rendezvous hashing of it whatever the pool's origin steering; without a client IP, as `cookie` |
/// | the header session key | a keyed 128-bit hash of the load balancer and, in configuration order, each header's values (all of them) or each `cookie:` name's first value; `require_all_headers` counts those items |
/// | where header sessions live | a [`SessionStore`](crate::affinity::SessionStore); the router's built-in one holds 65,536 sessions in 4-way buckets, reads lock-free, evicts the session closest to expiry |
/// | when a drain starts | when a reload first binds the origin disabled, after one that had it enabled; a `HealthView` without that time drains nothing |
/// | zero-downtime failover | one retry per request; another healthy origin of the same pool (by its origin steering), then with `failover_across_pools` the other candidate pools in steering order and the fallback pool, healthy origins only, no load shedding |
/// | a new session whose first request fails over | the session moves to the retried origin (a new token), whatever `zero_downtime_failover` |
/// | cookies split over several `Cookie` headers (HTTP/2, RFC 9113 §8.2.3) | a named cookie (the affinity token, a `cookie:` session key, `http.request.cookies`) is looked for in every `Cookie` header, first match first; `http.cookie` is the first header, or what the host joined into [`Request::cookie_header`](crate::Request::cookie_header) |
/// | `sticky` failover with header affinity | a configuration error when one object or one rule makes the pair; when two matching rules make it at request time, the retry keeps the session, as `temporary` |
/// | statuses that fail over | 521, 522, 523, 525, 526; a setting ([`affinity::RetryStatuses`](crate::affinity::RetryStatuses)) |
/// | no key configured | a [`Router`](crate::Router) starts with a random key of its own: its tokens hold on that node only |
pub mod semantics {}

/// Embedding lbsteer in a proxy.
///
/// `examples/proxy/` is a complete hyper 1 reverse proxy built this way
/// (`cargo run --example proxy -- --demo`); `tests/proxy_e2e.rs` drives it
/// with real HTTP.
///
/// # One router, shared
///
/// Build a [`Router`](crate::Router) once and share it (`Arc<Router>`):
/// decisions take no lock and allocate nothing, from any number of
/// threads. A reload ([`Router::reload`](crate::Router::reload)) compiles
/// the new account first and changes nothing when it is rejected; the
/// error lists every problem with its path, for your logs.
///
/// # Per request
///
/// 1. Build a [`Request`](crate::Request) view: the `Host`, method, path,
///    query, headers (a slice of pairs, or your own map through
///    [`HeaderSource`](crate::HeaderSource)), the client IP, and when you
///    know them the region, country, PoP and coordinates of the request.
///    The view borrows; building it allocates nothing, and it is
///    `Send + Sync`.
/// 2. [`Router::select_origin`](crate::Router::select_origin):
///    [`Decision::Origin`](crate::Decision::Origin) gives the address,
///    port, `Host` header and SNI to use;
///    [`Decision::Respond`](crate::Decision::Respond) a fixed response to
///    send; an error means no route (answer 404 or 530) or no origin (503).
/// 3. Hold [`Selection::begin_request`](crate::Selection::begin_request)'s
///    guard for the life of the proxied request: it feeds
///    `least_outstanding_requests` steering. Hold
///    [`Selection::open_connection`](crate::Selection::open_connection)'s
///    per upstream connection if you use `least_connections`.
/// 4. Send the `Set-Cookie` value of
///    [`Selection::set_cookie`](crate::Selection::set_cookie) when there is
///    one (cookie session affinity).
/// 5. When connecting fails (refused: 521, timed out: 522), ask
///    [`Router::retry`](crate::Router::retry) for another origin, once, for
///    requests you can replay.
///
/// A selection keeps its table generation alive; hold it while you forward
/// (a retry needs it), drop it when the response headers are in.
///
/// # Health
///
/// Either report health you decide elsewhere
/// ([`Router::set_status`](crate::Router::set_status)), or let the
/// built-in monitors decide and perform their probes:
///
/// ```text
/// router.enable_health_checks(CheckerConfig::default());
/// loop {
///     now = clock();
///     while let Some(probe) = router.poll_probe(now) { spawn(run(probe)) }   // HTTP, TCP, …
///     // as probes finish: router.handle_probe_result(probe.id(), outcome, now)
///     while let Some(event) = router.poll_health_event() { log(event) }
///     sleep_until(router.poll_timeout());
/// }
/// ```
///
/// Every probe carries what to send (address, port, `Host`, method, path,
/// headers, timeout); the library judges the outcome (`expected_codes`,
/// `expected_body`, redirects), applies hysteresis, quorum and monitor
/// groups, and publishes the result to the decision. See
/// [`health`](crate::health) for a runnable loop on a virtual clock and
/// `examples/health_checks.rs` for real TCP probes.
///
/// # A fleet
///
/// Nodes decide independently and agree where it matters:
///
/// - `hash` steering and hash shedding use stable hashes of the client IP
///   and of each origin's identity: every node maps a client alike.
/// - Affinity cookies verify on any node holding the same key: give every
///   node [`AffinityConfig::new`](crate::affinity::AffinityConfig::new)
///   with one [`TokenKey`](crate::affinity::TokenKey) through
///   [`Router::set_affinity_config`](crate::Router::set_affinity_config)
///   (and the previous key during a rotation).
/// - Header affinity shares sessions through a store you plug in
///   ([`Router::set_session_store`](crate::Router::set_session_store)).
pub mod embedding {}

/// Checking, explaining and testing configurations.
///
/// # Before a configuration ships
///
/// `cargo run --example lbctl -- validate account.json` prints every error
/// with its path (`load_balancers[1].default_pools[0]: unknown pool "x"`)
/// and warnings for what compiles but looks unintended; it exits 1 on
/// error. In code: [`Table::compile`](crate::Table::compile) and
/// [`BuildError::diagnostics`](crate::BuildError::diagnostics).
///
/// # Why a request went where it went
///
/// `lbctl explain account.json --request '{"host": "www.example.com",
/// "path": "/api"}' [--health '{"origins": {"pool/origin": false}}'] [--json]`
/// prints each step: Origin Rules tried, how the host matched (and the
/// CNAME chain), pool sets and custom rules, the steering policy and its
/// candidates, every pool passed over and why, the origin chosen, the
/// session. In code: [`Router::explain`](crate::Router::explain) gives an
/// [`Explanation`](crate::Explanation), text or
/// [`Report`](crate::explain::Report) (serializable).
///
/// `lbctl graph account.json | dot -Tsvg > account.svg` draws hostnames,
/// load balancers, pools, origins, rule and Origin Rule edges.
/// `lbctl import --pools pools.json --load-balancers lbs.json ...`
/// assembles an account file from Cloudflare API list responses.
///
/// # Conformance scenarios
///
/// A scenario file states an account, health, and requests with the
/// decision each must get ([`scenario`](crate::scenario)); `lbctl check
/// FILE...` runs them (exit 0 when every case passes). Keep one per
/// behaviour you rely on, next to your configuration.
///
/// # Limits and performance
///
/// [`limits`](crate::limits) lists what the compiler enforces (CNAME depth,
/// pools per list, rules per load balancer, expression and regex sizes,
/// hostnames per account). `BENCHMARKS.md` has the measured costs and how
/// to reproduce them.
pub mod operations {}

/// What hostile input can and cannot do.
///
/// - **Hash flooding.** Every map keyed by input (hostnames, pool ids,
///   session keys) uses a hasher seeded per map (randomly under `std`):
///   nobody can precompute colliding names. The stable hashes that must
///   agree across nodes (`hash` steering, hash shedding, origin identities)
///   key no map.
/// - **Regular expressions** compile to fully built DFAs: matching is linear
///   in the input, never backtracks, and takes no lock; a regex whose DFA
///   would exceed [`expr::MAX_REGEX_SIZE`](crate::expr::MAX_REGEX_SIZE)
///   bytes is a configuration error, as are expressions over 4,096 characters or
///   nested deeper than [`expr::MAX_NESTING_DEPTH`](crate::expr::MAX_NESTING_DEPTH).
/// - **Affinity tokens** carry a 120-bit SipHash-2-4 tag under the host's
///   128-bit key, compared in constant time; a token that is forged,
///   tampered with, truncated, of another load balancer, expired or issued
///   in the future is treated as absent (tested for every bit flip and every
///   truncation, and fuzzed).
/// - **Headers, cookies and query strings** are read in place, in one pass
///   each, without allocating: their cost is linear in their size, and a
///   rule reading them reads each value a bounded number of times
///   ([`expr::MAX_VALUE_READS`](crate::expr::MAX_VALUE_READS)).
/// - **Configurations** are checked whole before anything is built: every
///   problem is reported with its path, limits bound every list
///   ([`limits`](crate::limits)), CNAME chains are followed iteratively (a
///   hostile chain cannot exhaust the stack), deeply nested JSON is a load
///   error, and a rejected configuration changes nothing.
///
/// `tests/bad/`, `tests/bad_input.rs`, the fuzz targets (`fuzz/`) and the
/// property tests hold the evidence.
pub mod security {}

/// The core without the standard library.
///
/// With `default-features = false` the crate is `#![no_std]` with `alloc`
/// and builds for targets such as `x86_64-unknown-none`:
///
/// - load the [`Account`](crate::Account) with any serde format (its types
///   implement `Deserialize`);
/// - compile with [`Table::compile`](crate::Table::compile);
/// - keep health in a [`HealthRegistry`](crate::health::HealthRegistry)
///   (bind each table with `bind_at`, giving the time so drains work), or
///   implement [`HealthView`](crate::health::HealthView) over your own
///   state — even a `[bool]` per origin;
/// - decide with [`Table::select`](crate::Table::select), or
///   [`Table::select_with`](crate::Table::select_with) for affinity, with
///   any [`RandomSource`](crate::RandomSource);
/// - publish new tables however your platform shares memory (the `std`
///   [`Router`](crate::Router) uses an `ArcSwap`);
/// - drive the [`HealthChecker`](crate::health::HealthChecker) on your own
///   clock.
pub mod no_std {}
