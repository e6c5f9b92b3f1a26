//! Pools and their origins (endpoints), as the API writes them.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::de::{api_enum, null_default, yes};

/// A pool of origins shared by the load balancers of an account
/// (`/accounts/{id}/load_balancers/pools`).
///
/// Traffic sent to a pool is spread over its healthy, enabled origins by
/// [`origin_steering`](Self::origin_steering). A pool is healthy while at
/// least [`minimum_origins`](Self::minimum_origins) of its origins are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pool {
    /// The pool's id, referenced by load balancers. Required in an account.
    pub id: String,
    /// A short tag: letters, digits, `-` and `_`.
    pub name: String,
    /// Free text.
    pub description: String,
    /// A disabled pool receives no traffic and is not health checked.
    pub enabled: bool,
    /// How many origins must be healthy for the pool to take traffic
    /// (default 1; 0 keeps the pool healthy whatever its origins report).
    pub minimum_origins: u32,
    /// The id of the monitor that checks this pool's origins. Without a
    /// monitor (or monitor group) origin health is not considered.
    pub monitor: Option<String>,
    /// The id of a monitor group, as an alternative to `monitor`.
    pub monitor_group: Option<String>,
    /// Regions the monitor probes from; unset or empty means all.
    pub check_regions: Option<Vec<String>>,
    /// How probe results become steering decisions (`["regional",
    /// "global"]`); unset means local, then global.
    pub health_sources: Option<Vec<String>>,
    /// Latitude of the pool, for proximity steering.
    pub latitude: Option<f64>,
    /// Longitude of the pool, for proximity steering.
    pub longitude: Option<f64>,
    /// The pool's origins. The API returns them sorted by name.
    #[serde(deserialize_with = "null_default")]
    pub origins: Vec<Origin>,
    /// How an origin is picked inside the pool (default `random`).
    pub origin_steering: Option<OriginSteering>,
    /// Shares of traffic this pool passes on to the next pool.
    pub load_shedding: Option<LoadShedding>,
    /// Deprecated notification addresses, kept for round trips.
    pub notification_email: Option<String>,
    /// Notification settings; no effect on routing.
    pub notification_filter: Option<NotificationFilter>,
    /// Networks the pool is served on (`cloudflare`, `jdcloud`).
    #[serde(deserialize_with = "null_default")]
    pub networks: Vec<String>,
}

impl Default for Pool {
    /// The API's defaults: the same value as deserializing `{}`.
    fn default() -> Self {
        Self {
            id: String::new(),
            name: String::new(),
            description: String::new(),
            enabled: true,
            minimum_origins: 1,
            monitor: None,
            monitor_group: None,
            check_regions: None,
            health_sources: None,
            latitude: None,
            longitude: None,
            origins: Vec::new(),
            origin_steering: None,
            load_shedding: None,
            notification_email: None,
            notification_filter: None,
            networks: Vec::new(),
        }
    }
}

/// One origin (endpoint) of a pool.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Origin {
    /// The origin's name, unique within its pool. With the pool id it is the
    /// origin's stable identity: health state follows it across reloads.
    pub name: String,
    /// An IPv4 or IPv6 address, or a hostname that resolves to the origin.
    pub address: String,
    /// A disabled origin receives no traffic and is not health checked.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Share of the pool's traffic, from 0 to 1 (default 1). An origin of
    /// weight 0 receives no traffic but is still health checked.
    pub weight: f64,
    /// Header overrides; only `Host` is allowed.
    pub header: Option<OriginHeader>,
    /// Port to connect to; 0 means the protocol's default.
    pub port: u16,
    /// Virtual network of a private address.
    pub virtual_network_id: Option<String>,
    /// For DNS-only load balancers: answer with A/AAAA records (default)
    /// instead of a CNAME to a hostname address.
    #[serde(default = "yes")]
    pub flatten_cname: bool,
}

impl Default for Origin {
    /// The API's defaults: the same value as deserializing `{}`.
    fn default() -> Self {
        Self {
            name: String::new(),
            address: String::new(),
            enabled: true,
            weight: 1.0,
            header: None,
            port: 0,
            virtual_network_id: None,
            flatten_cname: true,
        }
    }
}

/// `origins[].header`: the Host header used towards this origin, for
/// requests and health probes alike.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OriginHeader {
    /// One value at most. The API spells it `Host`; `host` is accepted.
    #[serde(rename = "Host", alias = "host", deserialize_with = "null_default")]
    pub host: Vec<String>,
}

api_enum! {
    /// How an origin is picked inside a pool (`origin_steering.policy`).
    pub enum OriginSteeringPolicy {
        /// Weighted random: each origin gets `weight / Σ weights` of the traffic.
        Random => "random" | "",
        /// A hash of the client IP, weighted: a client keeps its origin while
        /// the pool's origin set is unchanged.
        Hash => "hash",
        /// The origin with the fewest in-flight requests relative to its weight.
        LeastOutstandingRequests => "least_outstanding_requests",
        /// The origin with the fewest open connections relative to its weight.
        LeastConnections => "least_connections",
    }
    default = Random;
}

/// `origin_steering`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OriginSteering {
    /// The policy.
    pub policy: OriginSteeringPolicy,
}

api_enum! {
    /// How load shedding picks the requests it sheds.
    pub enum SheddingPolicy {
        /// Each request independently, with the configured probability.
        Random => "random" | "",
        /// A share of the client-IP hash space: a client is shed consistently.
        Hash => "hash",
    }
    default = Random;
}

/// `load_shedding`: shares of this pool's traffic passed on to the next pool
/// in steering order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoadShedding {
    /// Percent (0–100) of new-session and non-affinity traffic to shed.
    pub default_percent: f64,
    /// How `default_percent` picks requests (default `random`).
    pub default_policy: SheddingPolicy,
    /// Percent (0–100) of existing affinity sessions to shed.
    pub session_percent: f64,
    /// How `session_percent` picks sessions; only `hash` is allowed.
    /// `null` and `""` read as the default, `hash`.
    #[serde(deserialize_with = "session_policy")]
    pub session_policy: SheddingPolicy,
}

impl Default for LoadShedding {
    /// The API's defaults: nothing shed.
    fn default() -> Self {
        Self {
            default_percent: 0.0,
            default_policy: SheddingPolicy::Random,
            session_percent: 0.0,
            session_policy: SheddingPolicy::Hash,
        }
    }
}

/// `load_shedding.session_policy`: its default is `hash`, not the enum's
/// `random`, so `null` and `""` (the API's "unset") read as `hash`.
fn session_policy<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<SheddingPolicy, D::Error> {
    let text = Option::<alloc::borrow::Cow<'de, str>>::deserialize(deserializer)?;
    Ok(match text.as_deref() {
        None | Some("") => SheddingPolicy::Hash,
        Some(text) => SheddingPolicy::parse(text),
    })
}

/// `notification_filter` (no effect on routing).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotificationFilter {
    /// Filter for origin events.
    pub origin: Option<NotificationFilterOptions>,
    /// Filter for pool events.
    pub pool: Option<NotificationFilterOptions>,
}

/// One side of a [`NotificationFilter`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotificationFilterOptions {
    /// Suppress these notifications.
    pub disable: bool,
    /// Only notify on this health state, when set.
    pub healthy: Option<bool>,
}
