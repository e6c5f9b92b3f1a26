//! Account-level load balancing, as Cloudflare documents it, in a library:
//! decide which origin serves each request, inside your own proxy, gateway
//! or DNS server.
//!
//! ```
//! use lbsteer::{Decision, Request, Router};
//! use lbsteer::health::Status;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The Cloudflare API's own JSON shapes: monitors and pools shared by the
//! // account, one load balancer per hostname, CNAMEs to reach them.
//! let router = Router::from_json(r#"{
//!     "monitors": [{"id": "http", "type": "http", "path": "/health", "expected_codes": "2xx"}],
//!     "pools": [
//!         {"id": "us", "name": "us", "monitor": "http", "origins": [
//!             {"name": "us-1", "address": "198.51.100.1", "weight": 0.7},
//!             {"name": "us-2", "address": "198.51.100.2", "weight": 0.3}]},
//!         {"id": "eu", "name": "eu", "monitor": "http", "origins": [
//!             {"name": "eu-1", "address": "203.0.113.1"}]}
//!     ],
//!     "load_balancers": [{"name": "lb.example.com", "default_pools": ["us", "eu"], "fallback_pool": "eu"}],
//!     "dns_records": [{"type": "CNAME", "name": "www.example.com", "content": "lb.example.com"}]
//! }"#)?;
//!
//! // Health comes from your own checks, or from the built-in monitors
//! // (`router.enable_health_checks(..)`: see the `health` module).
//! router.set_status("us", "us-1", Status::Healthy)?;
//! router.set_status("us", "us-2", Status::Unhealthy)?;
//!
//! let request = Request::new("www.example.com").path("/cart").client_ip("192.0.2.7".parse()?);
//! match router.select_origin(&request)? {
//!     Decision::Origin(selection) => {
//!         assert_eq!(selection.pool().id(), "us");
//!         assert_eq!((selection.address(), selection.port()), ("198.51.100.1", 443));
//!         assert_eq!(selection.host_header(), "www.example.com");
//!     }
//!     Decision::Respond(response) => unreachable!("no fixed response here: {response:?}"),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # How a request is decided
//!
//! Data flows one way: an [`Account`] (the configuration, in [`config`]) is
//! checked and compiled by [`Table::compile`] (in [`compile`]) into an
//! immutable [`Table`] (in [`table`]); [`Table::select`] (in [`select`])
//! decides with it. The [`Router`] publishes tables lock-free and keeps
//! [`health`] across reloads; [`explain`] shows why a decision came out as
//! it did.
//!
//! 1. **Origin Rules** run on the incoming request, in order; later matches
//!    override earlier ones field by field: `host_header`, `sni`,
//!    `origin.port`, and `origin.host`, which resolves the request as
//!    another hostname.
//! 2. **Hostname → load balancer**: an exact name, then the most specific
//!    wildcard (`*.example.com` covers subdomains, never the apex); CNAME
//!    chains are resolved when compiling. Case, a trailing dot and a
//!    `:port` do not matter.
//! 3. **Pool sets** (first match by PoP, country or region) and **custom
//!    rules** (by `priority`, then array order) override the load
//!    balancer's settings, or answer with a fixed response.
//! 4. **Session affinity** (`cookie`, `ip_cookie`, `header`): a valid
//!    session pins its origin while that origin stays eligible (healthy,
//!    enabled or draining, in the load balancer's pools, not shed); else
//!    the request is steered and a new session begins (an `__cflb` token to
//!    set, or a record in the session store). See [`affinity`].
//! 5. **Pool steering** orders the candidate pools by the policy, passes over
//!    pools that are disabled or below `minimum_origins`, lets load shedding
//!    pass a request on, and ends at the fallback pool.
//! 6. **Origin steering** picks an enabled, healthy origin of weight > 0.
//!
//! After a connection-level failure, [`Router::retry`] (zero-downtime
//! failover) picks another origin for the same request.
//!
//! `select` takes no lock and allocates nothing, affinity and retries
//! included; a counting allocator proves it in the test suite.
//!
//! # Where the documentation is silent
//!
//! Cloudflare's documentation leaves some behaviour open; lbsteer decides
//! it here, and tests it.
//!
//! | question | lbsteer's rule |
//! |---|---|
//! | custom rules with equal `priority` | array order |
//! | nested override objects (`random_steering`, `session_affinity_attributes`, …) | replaced wholesale, never merged |
//! | healthy origins of weight 0 | count towards `minimum_origins`, are never selected; a pool whose only healthy origins weigh 0 is passed over like an unhealthy one |
//! | the fallback pool with no healthy origin | one of its enabled origins of weight > 0 is used regardless of health ("fail open"), and the selection says so |
//! | a pool without a monitor | origin health is not considered: its enabled origins count as healthy |
//! | an origin whose health is still unknown | down, where its pool has a monitor |
//! | `consecutive_up` / `consecutive_down` of 0 | act as 1: the first differing result flips the status |
//! | health quorum | a region is healthy when more than half of its vantage points pass, an origin when more than half of its check regions are healthy; both thresholds are settings ([`health::Quorum`]) |
//! | `expected_body` | ASCII case-insensitive, searched within the first 10 KB of the body |
//! | a monitor group with no voting member | never marks an origin unhealthy |
//! | probe RTT for `dynamic_latency` | an exponentially weighted moving average per pool and region, α = 0.2, from passing probes of voting monitors |
//! | a request with a country but no region | the region comes from a bundled country → region table ([`geo`]); the United States and Canada, split between WNAM and ENAM, count as ENAM; a region the host sets always wins |
//! | `random` pool steering when only weight-0 pools remain | they serve, in list order (weight 0 is never drawn while a weighted pool remains) |
//! | `dynamic_latency` with partial RTT data | pools with an RTT for the request's region first, lowest first; then the others in failover order |
//! | `proximity` distance | great-circle; pools without coordinates come after every located pool, in list order; a request without coordinates uses list order |
//! | least outstanding requests / connections | lowest `(count + 1) / weight`; ties in list order; weight-0 pools last |
//! | `hash` origin steering | weighted rendezvous hashing of the client IP over 16,384 buckets: the same client gets the same origin on every node and across reloads while the origin set is unchanged; removing an origin (or its going down) moves only its clients; no client IP: weighted random |
//! | load shedding `hash` | a share of the client-IP hash space, salted per pool; without a client IP, a random draw; `session_percent` (existing affinity sessions) tests the same hash, so equal percentages shed the same clients |
//! | a request shed by every candidate pool | the fallback pool, which never sheds |
//! | `Host` header: origin `header.Host` against an Origin Rule's `host_header` | the origin's setting wins |
//! | port: origin `port` against an Origin Rule's `origin.port` | a non-zero origin port wins, then the rule's port, then the scheme's default |
//! | a load balancer and a CNAME record of the same name | the load balancer, unless it is disabled |
//! | several origins with one address | allowed when their ports differ |
//! | where session affinity sits | after pool sets and custom rules (whose overrides of `session_affinity`, its TTL and attributes apply), ahead of pool and origin steering |
//! | session affinity on a load balancer with `proxied: false` | applies all the same: the host embedding lbsteer is the proxy |
//! | the affinity token | 36 bytes, 48 base64url characters: version, issue time, the load balancer's and the origin's stable identities, a SipHash-2-4 tag (120 bits) under the host's 128-bit key; no server state ([`affinity`]) |
//! | a token malformed, forged, of another load balancer, expired, or issued more than 300 s ahead | treated as absent: steered as a new session, a new token |
//! | the pools a session may stay in | any pool the effective settings name: default, region, country and PoP pools, a pool set's pools, the fallback pool |
//! | when a session is honoured | its pool is enabled and, unless it is the fallback pool, has `minimum_origins` healthy origins; the origin is enabled (or draining), of weight > 0, healthy (a draining origin, no longer probed, is exempt); the pool does not shed the session |
//! | a session moved off an unhealthy origin, which then recovers | it stays on the origin it moved to |
//! | token renewal | none on use (the TTL runs from creation); a new token only for a new session, or to re-issue one made with the previous key of a rotation (same issue time) |
//! | cookie `Secure: Auto` | set on `https` requests |
//! | cookie `SameSite: Auto` | `None` when the cookie is `Secure`, else `Lax`; `SameSite=None` always sets `Secure` |
//! | `ip_cookie`'s first choice | draws seeded by the client IP, the origin by weighted rendezvous hashing of it whatever the pool's origin steering; without a client IP, as `cookie` |
//! | the header session key | a keyed 128-bit hash of the load balancer and, in configuration order, each header's values (all of them) or each `cookie:` name's first value; `require_all_headers` counts those items |
//! | where header sessions live | a [`SessionStore`](affinity::SessionStore); the router's built-in one holds 65,536 sessions in 4-way buckets, reads lock-free, evicts the session closest to expiry |
//! | when a drain starts | when a reload first binds the origin disabled, after one that had it enabled; a `HealthView` without that time drains nothing |
//! | zero-downtime failover | one retry per request; another healthy origin of the same pool (by its origin steering), then with `failover_across_pools` the other candidate pools in steering order and the fallback pool, healthy origins only, no load shedding |
//! | a new session whose first request fails over | the session moves to the retried origin (a new token), whatever `zero_downtime_failover` |
//! | statuses that fail over | 521, 522, 523, 525, 526; a setting ([`affinity::RetryStatuses`]) |
//! | no key configured | a [`Router`] starts with a random key of its own: its tokens hold on that node only |
//!
//! # Crate features
//!
//! - `std` (default): the [`Router`], JSON loading with error paths
//!   ([`Account::from_json`]), scenario files ([`scenario`]), OS-seeded
//!   hashing. Without it the crate is `#![no_std]` with `alloc`: compile
//!   with [`Table::compile`], decide with [`Table::select`], keep health in
//!   a [`health::HealthRegistry`] (or any [`health::HealthView`]), and
//!   publish tables however your platform shares memory.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod compile;
pub mod config;
pub mod explain;
pub mod expr;
pub mod geo;
mod hash;
pub mod health;
pub mod limits;
mod request;
#[cfg(feature = "std")]
pub mod router;
#[cfg(feature = "std")]
pub mod scenario;
pub mod select;
mod sync;
pub mod table;

pub use select::affinity;

pub use compile::{BuildError, ConfigPath, Diagnostic, ErrorKind};
pub use config::Account;
pub use explain::Explanation;
pub use request::{HeaderSource, Request, Scheme};
#[cfg(feature = "std")]
pub use router::{ConfigError, Router, SharedSessionStore, Snapshot};
pub use select::{Decision, FastRng, RandomSource, Response, SelectError, Selection};
pub use table::Table;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
