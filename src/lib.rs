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
//! 4. **Pool steering** orders the candidate pools by the policy, passes over
//!    pools that are disabled or below `minimum_origins`, lets load shedding
//!    pass a request on, and ends at the fallback pool.
//! 5. **Origin steering** picks an enabled, healthy origin of weight > 0.
//!
//! `select` takes no lock and allocates nothing; a counting allocator proves
//! it in the test suite.
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
