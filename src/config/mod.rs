//! The account configuration, in the Cloudflare API's JSON shapes.
//!
//! Every type here deserializes from what the API sends and what its
//! documentation shows, as they are: field names and defaults are the
//! API's, read-only and unknown fields are ignored, `null` reads as the
//! default, and lists may be wrapped in API envelopes
//! (`{"success": true, "result": [...]}`). Loading is deliberately lenient:
//! an unknown enum value or a dangling reference loads fine and is reported,
//! with every other problem and its path, by [`Table::compile`].
//!
//! [`Table::compile`]: crate::Table::compile
//!
//! ```
//! # #[cfg(feature = "std")] {
//! let account = lbsteer::Account::from_json(r#"{
//!     "pools": {"success": true, "result": [
//!         {"id": "p1", "name": "p1", "origins": [{"name": "a", "address": "192.0.2.1"}]}
//!     ]},
//!     "load_balancers": [
//!         {"name": "www.example.com", "default_pools": ["p1"], "fallback_pool": "p1"}
//!     ]
//! }"#).unwrap();
//! assert_eq!(account.pools[0].origins[0].weight, 1.0);
//! # }
//! ```

pub(crate) mod api;
pub(crate) mod de;
mod dns;
mod load_balancer;
mod monitor;
mod origin_rules;
mod pool;

use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

#[cfg(feature = "std")]
pub use api::{LoadError, from_api_json};
pub use api::{OriginHealthDetails, PoolHealthDetails, PopHealthDetails};
pub use dns::DnsRecord;
pub use load_balancer::{
    AdaptiveRouting, FixedResponse, GeoPools, LoadBalancer, LocationMode, LocationStrategy, PoolSet, PoolSetMatch,
    PoolSetOverrides, PreferEcs, RandomSteering, Rule, RuleOverrides, SameSite, Secure, SessionAffinity,
    SessionAffinityAttributes, SteeringPolicy, Topology, ZeroDowntimeFailover,
};
pub use monitor::{Monitor, MonitorGroup, MonitorGroupMember, MonitorType};
pub use origin_rules::{OriginRule, RouteOrigin, RouteParameters, RouteSni};
pub use pool::{
    LoadShedding, NotificationFilter, NotificationFilterOptions, Origin, OriginHeader, OriginSteering,
    OriginSteeringPolicy, Pool, SheddingPolicy,
};

/// Everything one account configures: monitors and pools shared by all its
/// load balancers, the load balancers (one per hostname), the DNS records
/// that route other hostnames to them, and the Origin Rules.
///
/// Each list may be written bare or as the API's list response (an envelope
/// with `result`); `origin_rules` also accepts a whole ruleset
/// (`{"rules": [...]}`, or the Rulesets API response).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Account {
    /// Health monitors.
    #[serde(deserialize_with = "de::api_list")]
    pub monitors: Vec<Monitor>,
    /// Monitor groups.
    #[serde(deserialize_with = "de::api_list")]
    pub monitor_groups: Vec<MonitorGroup>,
    /// Pools of origins.
    #[serde(deserialize_with = "de::api_list")]
    pub pools: Vec<Pool>,
    /// Load balancers, one per hostname.
    #[serde(deserialize_with = "de::api_list")]
    pub load_balancers: Vec<LoadBalancer>,
    /// DNS records; `CNAME` records route hostnames to load balancers.
    #[serde(deserialize_with = "de::api_list")]
    pub dns_records: Vec<DnsRecord>,
    /// Origin Rules (`route` rules), in evaluation order.
    #[serde(deserialize_with = "de::api_list")]
    pub origin_rules: Vec<OriginRule>,
}

#[cfg(feature = "std")]
impl Account {
    /// Parses an account from JSON text.
    ///
    /// A document that is not valid JSON, or whose values have the wrong
    /// type, fails with the path of the offending value. A document that
    /// parses may still be rejected by [`Table::compile`](crate::Table::compile),
    /// which checks references, ranges and enum values.
    pub fn from_json(text: &str) -> Result<Self, LoadError> {
        api::from_json_text(text)
    }

    /// Parses an account from JSON bytes, which must be UTF-8.
    pub fn from_json_slice(bytes: &[u8]) -> Result<Self, LoadError> {
        api::from_json_bytes(bytes)
    }
}
