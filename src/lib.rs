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
//! Cloudflare's documentation leaves some behaviour open: equal rule
//! priorities, merging of override objects, weight-0 origins and
//! `minimum_origins`, the fallback pool with no healthy origin, partial RTT
//! data, proximity without coordinates, the hash function, `Host` and port
//! precedence between an origin and an Origin Rule, token format and
//! renewal, drain start, failover scope… lbsteer decides each, tests it,
//! and lists it in [`guide::semantics`]. The [`guide`] also covers
//! [embedding](guide::embedding) in a proxy,
//! [operations](guide::operations) and [`no_std`](guide::no_std) use.
//!
//! # Crate features
//!
//! - `tracing`: decisions (`trace`), reloads (`info`, `warn` with every
//!   error path) and health transitions (`info`) as `tracing` events. Off
//!   by default; without it nothing is emitted or compiled in.
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
pub mod guide;
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
mod telemetry;

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
