//! Load balancers, their custom rules and pool sets, as the API writes them.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::de::{api_enum, null_default};

/// A map from a region code, country code or PoP code to pool ids, in
/// failover order (`region_pools`, `country_pools`, `pop_pools`).
pub type GeoPools = BTreeMap<String, Vec<String>>;

/// A load balancer: the routing decision for one hostname.
///
/// `name` is the hostname it serves (`*.example.com` serves the
/// subdomains of `example.com`). Other hostnames reach it through a CNAME
/// record or an Origin Rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoadBalancer {
    /// The API's id, when the document came from the API.
    pub id: Option<String>,
    /// The hostname this load balancer serves.
    pub name: String,
    /// Free text.
    pub description: String,
    /// A disabled load balancer routes nothing.
    pub enabled: bool,
    /// Proxied (layer 7) rather than DNS-only.
    pub proxied: bool,
    /// DNS TTL in seconds, for DNS-only load balancers (default 30).
    pub ttl: Option<u32>,
    /// The pool of last resort: used when every other pool is unhealthy, its
    /// own health ignored. Required.
    pub fallback_pool: Option<String>,
    /// Pool ids in failover order. Required, at least one.
    #[serde(deserialize_with = "null_default")]
    pub default_pools: Vec<String>,
    /// Pools per region code (`WNAM`, `WEU`, …), for geo steering.
    #[serde(deserialize_with = "null_default")]
    pub region_pools: GeoPools,
    /// Pools per ISO country code (`US`, `FR`, …), for geo steering.
    #[serde(deserialize_with = "null_default")]
    pub country_pools: GeoPools,
    /// Pools per Cloudflare PoP code (`LAX`, `LHR`, …), for geo steering.
    #[serde(deserialize_with = "null_default")]
    pub pop_pools: GeoPools,
    /// How a pool is chosen. Empty means `geo` when any geo map is set,
    /// otherwise `off`.
    pub steering_policy: SteeringPolicy,
    /// Pool weights for `random`, `least_outstanding_requests` and
    /// `least_connections` steering.
    pub random_steering: Option<RandomSteering>,
    /// Zero-downtime failover settings.
    pub adaptive_routing: Option<AdaptiveRouting>,
    /// Which location DNS-only steering uses.
    pub location_strategy: Option<LocationStrategy>,
    /// Session affinity mode (default none).
    pub session_affinity: SessionAffinity,
    /// Session lifetime in seconds: from creation for `cookie` and
    /// `ip_cookie` (default 82,800), idle time for `header` (default 1,800).
    pub session_affinity_ttl: Option<u32>,
    /// Cookie attributes, headers and failover behaviour of affinity.
    pub session_affinity_attributes: Option<SessionAffinityAttributes>,
    /// Custom rules, run before steering in `priority` order.
    #[serde(deserialize_with = "null_default")]
    pub rules: Vec<Rule>,
    /// Pool sets: the first matching set replaces the pool selection.
    #[serde(deserialize_with = "null_default")]
    pub pool_sets: Vec<PoolSet>,
    /// Networks the load balancer is served on.
    #[serde(deserialize_with = "null_default")]
    pub networks: Vec<String>,
    /// Tunnel of an account load balancer (informational).
    pub tunnel_id: Option<String>,
    /// Zone the load balancer belongs to (read-only in API responses).
    pub zone_name: Option<String>,
}

impl Default for LoadBalancer {
    /// The API's defaults: the same value as deserializing `{}`.
    fn default() -> Self {
        Self {
            id: None,
            name: String::new(),
            description: String::new(),
            enabled: true,
            proxied: false,
            ttl: None,
            fallback_pool: None,
            default_pools: Vec::new(),
            region_pools: GeoPools::new(),
            country_pools: GeoPools::new(),
            pop_pools: GeoPools::new(),
            steering_policy: SteeringPolicy::Unset,
            random_steering: None,
            adaptive_routing: None,
            location_strategy: None,
            session_affinity: SessionAffinity::None,
            session_affinity_ttl: None,
            session_affinity_attributes: None,
            rules: Vec::new(),
            pool_sets: Vec::new(),
            networks: Vec::new(),
            tunnel_id: None,
            zone_name: None,
        }
    }
}

api_enum! {
    /// How a load balancer chooses among its pools (`steering_policy`).
    pub enum SteeringPolicy {
        /// Empty: `geo` when any of `region_pools`, `country_pools` or
        /// `pop_pools` is set, otherwise `off`.
        Unset => "",
        /// Failover: the first healthy pool of `default_pools`.
        Off => "off",
        /// The pools of the request's PoP, else country, else region, else the
        /// default pools, in failover order.
        Geo => "geo",
        /// Weighted random over the healthy pools (`random_steering`).
        Random => "random",
        /// The pool with the lowest health-probe round-trip time from the
        /// request's region.
        DynamicLatency => "dynamic_latency",
        /// The pool closest to the request's location.
        Proximity => "proximity",
        /// The pool with the fewest in-flight requests relative to its weight.
        LeastOutstandingRequests => "least_outstanding_requests",
        /// The pool with the fewest open connections relative to its weight.
        LeastConnections => "least_connections",
    }
    default = Unset;
}

/// `random_steering`: pool weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RandomSteering {
    /// Weight of pools missing from `pool_weights`, 0 to 1 (default 1).
    pub default_weight: f64,
    /// Weight per pool id, 0 to 1.
    #[serde(deserialize_with = "null_default")]
    pub pool_weights: BTreeMap<String, f64>,
}

impl Default for RandomSteering {
    /// The API's defaults: every pool weighs 1.
    fn default() -> Self {
        Self { default_weight: 1.0, pool_weights: BTreeMap::new() }
    }
}

/// `adaptive_routing`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AdaptiveRouting {
    /// Let zero-downtime failover retry on other pools, in steering order,
    /// when the current pool has no other healthy origin.
    pub failover_across_pools: bool,
}

api_enum! {
    /// When DNS-only steering prefers the EDNS client subnet's location.
    pub enum PreferEcs {
        /// Always.
        Always => "always",
        /// Never.
        Never => "never",
        /// Only for proximity steering.
        Proximity => "proximity",
        /// Only for geo steering.
        Geo => "geo",
    }
    default = Proximity;
}

api_enum! {
    /// The location used when the client subnet is not.
    pub enum LocationMode {
        /// The Cloudflare PoP's location.
        Pop => "pop",
        /// The resolver's location, else the PoP's.
        ResolverIp => "resolver_ip",
    }
    default = Pop;
}

/// `location_strategy` (DNS-only load balancers).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LocationStrategy {
    /// When to prefer the client subnet.
    pub prefer_ecs: PreferEcs,
    /// What to use otherwise.
    pub mode: LocationMode,
}

api_enum! {
    /// Session affinity mode (`session_affinity`).
    pub enum SessionAffinity {
        /// No affinity. The API also writes it as an empty string.
        None => "none" | "",
        /// A `__cflb` cookie pins the client to the origin first chosen.
        Cookie => "cookie",
        /// As `cookie`, with the first choice stable per client IP.
        IpCookie => "ip_cookie",
        /// The values of configured headers key a server-side session.
        Header => "header",
    }
    default = None;
}

api_enum! {
    /// `SameSite` attribute of the affinity cookie.
    pub enum SameSite {
        /// `Lax`, or `None` when the cookie is `Secure`.
        Auto => "Auto",
        /// `Lax`.
        Lax => "Lax",
        /// `None`; requires a secure cookie.
        None => "None",
        /// `Strict`.
        Strict => "Strict",
    }
    default = Auto;
}

api_enum! {
    /// `Secure` attribute of the affinity cookie.
    pub enum Secure {
        /// Set on HTTPS requests.
        Auto => "Auto",
        /// Always set.
        Always => "Always",
        /// Never set.
        Never => "Never",
    }
    default = Auto;
}

api_enum! {
    /// What zero-downtime failover does to an affinity session.
    pub enum ZeroDowntimeFailover {
        /// No failover for pinned sessions.
        None => "none",
        /// Fail over while the pinned origin is down; keep the session.
        Temporary => "temporary",
        /// Fail over and move the session to the new origin.
        Sticky => "sticky",
    }
    default = None;
}

/// `session_affinity_attributes`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionAffinityAttributes {
    /// Cookie `SameSite`.
    pub samesite: SameSite,
    /// Cookie `Secure`.
    pub secure: Secure,
    /// Seconds an origin being drained keeps its existing sessions.
    pub drain_duration: Option<u32>,
    /// Failover behaviour for pinned sessions.
    pub zero_downtime_failover: ZeroDowntimeFailover,
    /// Header names (or `cookie:<names>`) that key `header` affinity.
    #[serde(deserialize_with = "null_default")]
    pub headers: Vec<String>,
    /// Require every configured header, rather than at least one.
    pub require_all_headers: bool,
}

/// A custom rule (`rules[]`): when its condition matches, its overrides
/// replace the load balancer's fields for this request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Rule {
    /// Free text.
    pub name: String,
    /// A Rules-language expression; empty is always true.
    pub condition: String,
    /// A disabled rule is skipped.
    pub disabled: bool,
    /// Lower runs first; equal priorities keep array order.
    pub priority: u32,
    /// Stop evaluating further rules after this one matches.
    pub terminates: bool,
    /// Fields that replace the load balancer's, each wholesale.
    pub overrides: RuleOverrides,
    /// Respond directly instead of routing; implies `terminates`.
    pub fixed_response: Option<FixedResponse>,
}

/// `rules[].overrides`: each present field replaces the top-level field of
/// the same name wholesale (nested objects are never merged).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuleOverrides {
    /// Replaces `adaptive_routing`.
    pub adaptive_routing: Option<AdaptiveRouting>,
    /// Replaces `country_pools`.
    pub country_pools: Option<GeoPools>,
    /// Replaces `default_pools`.
    pub default_pools: Option<Vec<String>>,
    /// Replaces `fallback_pool`.
    pub fallback_pool: Option<String>,
    /// Replaces `location_strategy`.
    pub location_strategy: Option<LocationStrategy>,
    /// Replaces `pop_pools`.
    pub pop_pools: Option<GeoPools>,
    /// Replaces `random_steering`.
    pub random_steering: Option<RandomSteering>,
    /// Replaces `region_pools`.
    pub region_pools: Option<GeoPools>,
    /// Replaces `session_affinity`.
    pub session_affinity: Option<SessionAffinity>,
    /// Replaces `session_affinity_attributes`.
    pub session_affinity_attributes: Option<SessionAffinityAttributes>,
    /// Replaces `session_affinity_ttl`.
    pub session_affinity_ttl: Option<u32>,
    /// Replaces `steering_policy`.
    pub steering_policy: Option<SteeringPolicy>,
    /// Replaces `ttl`.
    pub ttl: Option<u32>,
}

/// A response served instead of routing (`fixed_response`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FixedResponse {
    /// Response body (at most 1,024 bytes).
    pub message_body: Option<String>,
    /// HTTP status code (default 200).
    pub status_code: Option<u16>,
    /// `Content-Type` (at most 32 bytes).
    pub content_type: Option<String>,
    /// `Location`, for redirects (at most 2,048 bytes).
    pub location: Option<String>,
}

/// A pool set (`pool_sets[]`): for requests matching its topology, it
/// replaces the pools, weights, fallback pool and policy, or answers with a
/// fixed response.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolSet {
    /// Name (at most 200 bytes).
    pub name: String,
    /// A disabled set is skipped.
    pub disabled: bool,
    /// Which requests the set applies to; unset matches every request.
    #[serde(rename = "match")]
    pub matches: Option<PoolSetMatch>,
    /// The pool selection that replaces the load balancer's.
    pub overrides: Option<PoolSetOverrides>,
    /// A response served instead of routing.
    pub fixed_response: Option<FixedResponse>,
}

/// `pool_sets[].match`: either `{"default": true}` or a topology.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolSetMatch {
    /// Matches every request.
    pub default: Option<bool>,
    /// Matches requests from these places.
    pub topology: Option<Topology>,
}

/// `pool_sets[].match.topology`: entries within a list are alternatives;
/// the lists that are present must all match.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Topology {
    /// PoP codes.
    pub pops: Option<Vec<String>>,
    /// Country codes.
    pub countries: Option<Vec<String>>,
    /// Region codes.
    pub regions: Option<Vec<String>>,
}

/// `pool_sets[].overrides`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolSetOverrides {
    /// Pool ids, in failover order.
    #[serde(deserialize_with = "null_default")]
    pub pools: Vec<String>,
    /// Weight per pool id for weighted policies.
    #[serde(deserialize_with = "null_default")]
    pub pool_weights: BTreeMap<String, f64>,
    /// Weight of pools missing from `pool_weights` (default 1).
    pub pool_default_weight: Option<f64>,
    /// Replaces the load balancer's fallback pool.
    pub fallback_pool: Option<String>,
    /// The policy; unset means failover order (`off`). `geo` is not allowed.
    pub steering_policy: Option<SteeringPolicy>,
}
