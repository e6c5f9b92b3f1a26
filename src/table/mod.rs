//! The compiled, immutable lookup table.
//!
//! [`Table::compile`] checks an [`Account`](crate::Account) and turns it
//! into flat arrays addressed by dense ids ([`PoolId`], [`OriginId`],
//! [`LoadBalancerId`]), a hostname index with CNAME chains already
//! resolved, and compiled rule conditions. Nothing in a table changes after
//! it is built and nothing in it needs a lock: share it behind an `Arc`,
//! swap whole tables to reload (the [`Router`](crate::Router) does both).

pub(crate) mod hosts;
mod memory;

use alloc::boxed::Box;
use core::fmt;
use core::ops::Range;

use hashbrown::HashMap;

use crate::compile::Diagnostic;
use crate::config::Monitor;
use crate::geo::{Coordinates, CountryCode, PopCode, Region};
use crate::select::{HashRanking, Position};

pub(crate) use hosts::{HostIndex, HostKey, Route};
pub use hosts::{HostMatch, MAX_HOSTNAME_LEN};

macro_rules! dense_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub(crate) u32);

        impl $name {
            /// The position in the table's array of these items.
            pub const fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

dense_id! {
    /// A pool's position in a [`Table`]. Ids are dense (`0..table.pools().len()`)
    /// and belong to one table: a reload may renumber them. The stable
    /// identity of a pool is its config id.
    PoolId
}
dense_id! {
    /// An origin's position in a [`Table`]. Ids are dense and belong to one
    /// table; the stable identity of an origin is its pool's id and its name.
    OriginId
}
dense_id! {
    /// A load balancer's position in a [`Table`].
    LoadBalancerId
}
dense_id! {
    /// A monitor's position in a [`Table`].
    MonitorId
}
dense_id! {
    /// A monitor group's position in a [`Table`].
    MonitorGroupId
}

/// Weights are kept as integers: `weight × WEIGHT_SCALE`.
pub(crate) const WEIGHT_SCALE: f64 = 10_000.0;

/// A weight in 0..=1 as an integer in `0..=WEIGHT_SCALE`; out-of-range and
/// non-finite values (rejected by the compiler) clamp. A positive weight
/// never becomes 0 (which would mean "no traffic"): below one unit it
/// rounds up to 1.
pub(crate) fn scale_weight(weight: f64) -> u32 {
    if !weight.is_finite() || weight <= 0.0 {
        return 0;
    }
    (libm::round(weight.min(1.0) * WEIGHT_SCALE) as u32).max(1)
}

/// How a pool is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PoolPolicy {
    /// Failover order: the first usable pool.
    Off,
    /// The pools mapped to the request's PoP, country or region, else the
    /// default pools, in failover order.
    Geo,
    /// Weighted random over the usable pools.
    Random,
    /// Lowest probe round-trip time from the request's region first.
    DynamicLatency,
    /// Nearest to the request's location first.
    Proximity,
    /// Fewest in-flight requests relative to weight.
    LeastOutstandingRequests,
    /// Fewest open connections relative to weight.
    LeastConnections,
}

impl PoolPolicy {
    /// The policy's API spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            PoolPolicy::Off => "off",
            PoolPolicy::Geo => "geo",
            PoolPolicy::Random => "random",
            PoolPolicy::DynamicLatency => "dynamic_latency",
            PoolPolicy::Proximity => "proximity",
            PoolPolicy::LeastOutstandingRequests => "least_outstanding_requests",
            PoolPolicy::LeastConnections => "least_connections",
        }
    }
}

impl fmt::Display for PoolPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an origin is chosen inside a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OriginPolicy {
    /// Weighted random.
    Random,
    /// Weighted consistent hashing of the client IP.
    Hash,
    /// Fewest in-flight requests relative to weight.
    LeastOutstandingRequests,
    /// Fewest open connections relative to weight.
    LeastConnections,
}

impl OriginPolicy {
    /// The policy's API spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            OriginPolicy::Random => "random",
            OriginPolicy::Hash => "hash",
            OriginPolicy::LeastOutstandingRequests => "least_outstanding_requests",
            OriginPolicy::LeastConnections => "least_connections",
        }
    }
}

impl fmt::Display for OriginPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Session affinity mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AffinityMode {
    /// No affinity.
    #[default]
    None,
    /// A cookie pins the origin.
    Cookie,
    /// A cookie pins the origin; the first choice hashes the client IP.
    IpCookie,
    /// Configured headers key a server-side session.
    Header,
}

/// A pool, as compiled.
#[derive(Clone, Debug)]
pub struct PoolEntry {
    pub(crate) id: Box<str>,
    pub(crate) name: Box<str>,
    pub(crate) enabled: bool,
    pub(crate) monitor: Option<MonitorId>,
    pub(crate) monitor_group: Option<Box<str>>,
    /// The compiled monitor group named by `monitor_group`.
    pub(crate) group: Option<MonitorGroupId>,
    pub(crate) minimum_origins: u32,
    pub(crate) origins: Range<u32>,
    /// Origins that are enabled: a pool without a monitor is healthy while
    /// this reaches `minimum_origins`.
    pub(crate) enabled_origins: u32,
    /// The summed weight of the enabled origins, which are all candidates
    /// when every one of them is healthy (or health does not count).
    pub(crate) enabled_weight: u64,
    /// Every origin is selectable (enabled, weight > 0) and they all weigh
    /// the same (and there is at least one): a weighted draw over all of
    /// them is one uniform draw (see `select::origins`).
    pub(crate) uniform: bool,
    pub(crate) origin_policy: OriginPolicy,
    pub(crate) shedding: Shedding,
    pub(crate) coordinates: Option<Coordinates>,
    /// `coordinates`, prepared for proximity steering.
    pub(crate) position: Option<Position>,
    pub(crate) check_regions: Box<[Region]>,
    /// `hash` steering over a large pool: each client-IP bucket's
    /// best-ranked selectable origins (see `select::origins`).
    pub(crate) hash_ranking: Option<HashRanking>,
    /// Weighted random over a large pool: running sums of the selectable
    /// origins' weights.
    pub(crate) cumulative_weights: Option<Box<[u32]>>,
}

impl PoolEntry {
    /// The pool's id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Whether the pool is enabled.
    pub fn enabled(&self) -> bool {
        self.enabled
    }
    /// Whether a monitor or monitor group checks the pool. Reported origin
    /// health only matters for monitored pools.
    pub fn monitored(&self) -> bool {
        self.monitor.is_some() || self.monitor_group.is_some()
    }
    /// The pool's monitor.
    pub fn monitor(&self) -> Option<MonitorId> {
        self.monitor
    }
    /// The pool's monitor group, when it has one instead of a monitor.
    pub fn monitor_group(&self) -> Option<MonitorGroupId> {
        self.group
    }
    /// How many origins must be healthy for the pool to take traffic.
    pub fn minimum_origins(&self) -> u32 {
        self.minimum_origins
    }
    /// The ids of the pool's origins, in configuration order.
    pub fn origins(&self) -> impl ExactSizeIterator<Item = OriginId> + use<> {
        self.origins.clone().map(OriginId)
    }
    /// How an origin is picked in this pool.
    pub fn origin_policy(&self) -> OriginPolicy {
        self.origin_policy
    }
    /// The pool's location, when configured.
    pub fn coordinates(&self) -> Option<Coordinates> {
        self.coordinates
    }
    /// The regions the pool's monitor probes from; empty means all.
    pub fn check_regions(&self) -> &[Region] {
        &self.check_regions
    }
    /// Heap bytes of what the compiler precomputed for origin steering: the
    /// ranking of a `hash` pool of more than 16 selectable origins (128 KiB:
    /// 16,384 client-IP buckets × 4 origins × 2 bytes), and the cumulative
    /// weights of a `random` or `hash` pool of more than 8 origins (4 bytes
    /// per origin).
    pub fn precomputed_bytes(&self) -> usize {
        self.hash_ranking.as_ref().map_or(0, |r| core::mem::size_of_val(&**r))
            + self.cumulative_weights.as_ref().map_or(0, |c| core::mem::size_of_val(&**c))
    }
}

/// Load shedding of a pool, as thresholds on a 32-bit draw: a request is
/// shed when its draw is below the threshold (`0..=2^32`, so that 100 %
/// sheds every draw).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Shedding {
    pub(crate) default_threshold: u64,
    pub(crate) default_by_hash: bool,
    pub(crate) session_threshold: u64,
    /// Mixed into client-IP hashes, so that pools shed different clients.
    pub(crate) salt: u64,
}

impl Shedding {
    pub(crate) fn threshold(percent: f64) -> u64 {
        ((percent.clamp(0.0, 100.0) / 100.0) * 4_294_967_296.0) as u64
    }
}

/// An origin, as compiled.
#[derive(Clone, Debug)]
pub struct OriginEntry {
    pub(crate) pool: PoolId,
    pub(crate) name: Box<str>,
    pub(crate) address: Box<str>,
    pub(crate) port: u16,
    pub(crate) weight: u32,
    pub(crate) enabled: bool,
    pub(crate) host_header: Option<Box<str>>,
    /// A hash of the stable identity (pool id, origin name), for consistent
    /// hashing that survives reloads and agrees across nodes.
    pub(crate) key: u64,
}

impl OriginEntry {
    /// The origin's pool.
    pub fn pool(&self) -> PoolId {
        self.pool
    }
    /// The origin's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The address: an IP address or a hostname.
    pub fn address(&self) -> &str {
        &self.address
    }
    /// The configured port; 0 means none.
    pub fn port(&self) -> u16 {
        self.port
    }
    /// The weight, 0 to 1.
    pub fn weight(&self) -> f64 {
        f64::from(self.weight) / WEIGHT_SCALE
    }
    /// Whether the origin is enabled.
    pub fn enabled(&self) -> bool {
        self.enabled
    }
    /// The origin's stable identity: a hash of its pool's id and its name,
    /// the same on every node and across reloads. Affinity tokens and
    /// session stores name origins by it.
    pub fn identity(&self) -> u64 {
        self.key
    }
    /// The origin's own Host header, when set.
    pub fn host_header(&self) -> Option<&str> {
        self.host_header.as_deref()
    }
    /// Whether steering may pick the origin at all (enabled, weight > 0).
    pub(crate) fn selectable(&self) -> bool {
        self.enabled && self.weight > 0
    }
}

/// A monitor, as compiled: the API object with its defaults applied.
#[derive(Clone, Debug)]
pub struct MonitorEntry {
    pub(crate) config: Monitor,
}

impl MonitorEntry {
    /// The monitor's id.
    pub fn id(&self) -> &str {
        &self.config.id
    }
    /// The monitor as configured.
    pub fn config(&self) -> &Monitor {
        &self.config
    }
}

/// A monitor group, as compiled: its members in configuration order.
#[derive(Clone, Debug)]
pub struct MonitorGroupEntry {
    pub(crate) id: Box<str>,
    pub(crate) members: Box<[MonitorGroupMemberEntry]>,
}

impl MonitorGroupEntry {
    /// The group's id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The members, in configuration order (disabled ones included).
    pub fn members(&self) -> &[MonitorGroupMemberEntry] {
        &self.members
    }
}

/// One monitor's place in a compiled monitor group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MonitorGroupMemberEntry {
    pub(crate) monitor: MonitorId,
    pub(crate) enabled: bool,
    pub(crate) monitoring_only: bool,
    pub(crate) must_be_healthy: bool,
}

impl MonitorGroupMemberEntry {
    /// The member monitor.
    pub fn monitor(&self) -> MonitorId {
        self.monitor
    }
    /// A disabled member neither probes nor votes.
    pub fn enabled(&self) -> bool {
        self.enabled
    }
    /// The member probes and reports but does not vote.
    pub fn monitoring_only(&self) -> bool {
        self.monitoring_only
    }
    /// A failure of this member alone makes the origin unhealthy.
    pub fn must_be_healthy(&self) -> bool {
        self.must_be_healthy
    }
}

/// Pool ids in failover order.
pub(crate) type PoolList = Box<[PoolId]>;

/// Pool weights for weighted pool policies, in `WEIGHT_SCALE` units.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PoolWeights {
    pub(crate) default: u32,
    /// Sorted by pool id.
    pub(crate) by_pool: Box<[(PoolId, u32)]>,
}

impl PoolWeights {
    pub(crate) fn uniform() -> Self {
        PoolWeights { default: WEIGHT_SCALE as u32, by_pool: Box::new([]) }
    }

    #[inline]
    pub(crate) fn of(&self, pool: PoolId) -> u32 {
        match self.by_pool.binary_search_by_key(&pool, |&(p, _)| p) {
            Ok(at) => self.by_pool[at].1,
            Err(_) => self.default,
        }
    }
}

/// Cookie and session attributes of affinity. The three settings are
/// one byte each here: compiling rejects the values the API does not
/// document, so the configuration's enums (which keep such values as
/// text) are not needed at run time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct AffinityAttributes {
    pub(crate) samesite: SameSitePolicy,
    pub(crate) secure: SecurePolicy,
    pub(crate) drain_duration: u32,
    pub(crate) zero_downtime_failover: FailoverPolicy,
    pub(crate) headers: Box<[Box<str>]>,
    pub(crate) require_all_headers: bool,
}

/// `session_affinity_attributes.samesite`, compiled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum SameSitePolicy {
    /// `Lax`, or `None` when the cookie is `Secure`.
    #[default]
    Auto,
    Lax,
    None,
    Strict,
}

/// `session_affinity_attributes.secure`, compiled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum SecurePolicy {
    /// Secure on HTTPS requests.
    #[default]
    Auto,
    Always,
    Never,
}

/// `session_affinity_attributes.zero_downtime_failover`, compiled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum FailoverPolicy {
    /// No retry for a pinned session.
    #[default]
    None,
    /// Retry; the session keeps its origin.
    Temporary,
    /// Retry; the session moves to the new origin.
    Sticky,
}

/// Every field a custom rule may override, as compiled.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) default_pools: PoolList,
    pub(crate) fallback_pool: PoolId,
    pub(crate) region_pools: Box<[(Region, PoolList)]>,
    pub(crate) country_pools: Box<[(CountryCode, PoolList)]>,
    pub(crate) pop_pools: Box<[(PopCode, PoolList)]>,
    /// `None`: unset, which means geo when a geo map is set, else off.
    pub(crate) policy: Option<PoolPolicy>,
    pub(crate) weights: PoolWeights,
    pub(crate) affinity: AffinityMode,
    pub(crate) affinity_ttl: Option<u32>,
    pub(crate) affinity_attributes: AffinityAttributes,
    pub(crate) failover_across_pools: bool,
    pub(crate) ttl: u32,
}

/// The fields a rule overrides; each present one replaces the base field.
#[derive(Clone, Debug, Default)]
pub(crate) struct Overrides {
    pub(crate) default_pools: Option<PoolList>,
    pub(crate) fallback_pool: Option<PoolId>,
    pub(crate) region_pools: Option<Box<[(Region, PoolList)]>>,
    pub(crate) country_pools: Option<Box<[(CountryCode, PoolList)]>>,
    pub(crate) pop_pools: Option<Box<[(PopCode, PoolList)]>>,
    pub(crate) policy: Option<Option<PoolPolicy>>,
    pub(crate) weights: Option<PoolWeights>,
    pub(crate) affinity: Option<AffinityMode>,
    pub(crate) affinity_ttl: Option<u32>,
    pub(crate) affinity_attributes: Option<AffinityAttributes>,
    pub(crate) failover_across_pools: Option<bool>,
    pub(crate) ttl: Option<u32>,
}

/// A response served instead of routing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixedResponseEntry {
    pub(crate) status_code: u16,
    pub(crate) body: Option<Box<str>>,
    pub(crate) content_type: Option<Box<str>>,
    pub(crate) location: Option<Box<str>>,
}

impl FixedResponseEntry {
    /// The status code.
    pub fn status_code(&self) -> u16 {
        self.status_code
    }
    /// The body, when set.
    pub fn body(&self) -> Option<&str> {
        self.body.as_deref()
    }
    /// The `Content-Type`, when set.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }
    /// The `Location`, when set.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }
}

/// What a matching custom rule does.
#[derive(Clone, Debug)]
pub(crate) enum RuleAction {
    Override(Box<Overrides>),
    Respond(FixedResponseEntry),
}

/// A custom rule, as compiled. Rules are stored in evaluation order.
#[derive(Clone, Debug)]
pub(crate) struct RuleEntry {
    /// Position in the load balancer's `rules` list.
    pub(crate) index: u32,
    pub(crate) name: Box<str>,
    /// `None`: the empty condition, always true.
    pub(crate) condition: Option<crate::expr::Condition>,
    pub(crate) terminates: bool,
    pub(crate) action: RuleAction,
}

/// Which requests a pool set applies to: every present list must contain
/// the request's value. No lists at all matches every request.
#[derive(Clone, Debug, Default)]
pub(crate) struct Topology {
    pub(crate) pops: Option<Box<[PopCode]>>,
    pub(crate) countries: Option<Box<[CountryCode]>>,
    pub(crate) regions: Option<Box<[Region]>>,
}

/// What a matching pool set does.
#[derive(Clone, Debug)]
pub(crate) enum PoolSetAction {
    Steer { pools: PoolList, weights: PoolWeights, fallback_pool: Option<PoolId>, policy: PoolPolicy },
    Respond(FixedResponseEntry),
}

/// A pool set, as compiled; disabled sets are left out.
#[derive(Clone, Debug)]
pub(crate) struct PoolSetEntry {
    pub(crate) index: u32,
    pub(crate) topology: Topology,
    pub(crate) action: PoolSetAction,
}

/// A load balancer, as compiled.
#[derive(Clone, Debug)]
pub struct LoadBalancerEntry {
    pub(crate) name: Box<str>,
    /// A stable hash of the name: the load balancer's identity in affinity
    /// tokens and header sessions.
    pub(crate) key: u64,
    pub(crate) enabled: bool,
    pub(crate) proxied: bool,
    pub(crate) settings: Settings,
    pub(crate) pool_sets: Box<[PoolSetEntry]>,
    pub(crate) rules: Box<[RuleEntry]>,
}

impl LoadBalancerEntry {
    /// The hostname the load balancer serves.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Whether the load balancer is enabled.
    pub fn enabled(&self) -> bool {
        self.enabled
    }
    /// The load balancer's stable identity: a hash of its name, the same
    /// on every node. Affinity tokens name load balancers by it.
    pub fn identity(&self) -> u64 {
        self.key
    }
    /// Whether the load balancer is proxied (layer 7) rather than DNS-only.
    pub fn proxied(&self) -> bool {
        self.proxied
    }
    /// The default pools, in failover order.
    pub fn default_pools(&self) -> &[PoolId] {
        &self.settings.default_pools
    }
    /// The fallback pool.
    pub fn fallback_pool(&self) -> PoolId {
        self.settings.fallback_pool
    }
    /// DNS TTL in seconds.
    pub fn ttl(&self) -> u32 {
        self.settings.ttl
    }
}

/// An Origin Rule, as compiled; disabled rules are left out.
#[derive(Clone, Debug)]
pub(crate) struct OriginRuleEntry {
    /// Position in the account's `origin_rules` list.
    pub(crate) index: u32,
    pub(crate) condition: crate::expr::Condition,
    pub(crate) host_header: Option<Box<str>>,
    pub(crate) sni: Option<Box<str>>,
    pub(crate) port: Option<u16>,
    /// The resolve override: the hostname, and where it routes.
    pub(crate) target: Option<(Box<str>, Option<Route>)>,
}

/// The compiled account: immutable, `Send + Sync`, cheap to share.
///
/// Build one with [`Table::compile`]; decide with
/// [`Table::select`](crate::Table::select), or let a
/// [`Router`](crate::Router) own tables and health for you.
pub struct Table {
    pub(crate) monitors: Box<[MonitorEntry]>,
    pub(crate) monitor_groups: Box<[MonitorGroupEntry]>,
    pub(crate) pools: Box<[PoolEntry]>,
    pub(crate) origins: Box<[OriginEntry]>,
    pub(crate) load_balancers: Box<[LoadBalancerEntry]>,
    pub(crate) hosts: HostIndex,
    pub(crate) origin_rules: Box<[OriginRuleEntry]>,
    pub(crate) pool_ids: HashMap<Box<str>, PoolId, ahash::RandomState>,
    /// Origins by identity ([`OriginEntry::identity`]), for affinity.
    pub(crate) origin_identities: HashMap<u64, OriginId, ahash::RandomState>,
    /// Whether any load balancer or custom rule sets session affinity.
    pub(crate) uses_affinity: bool,
    /// Whether any sets `header` affinity.
    pub(crate) uses_header_affinity: bool,
    /// CNAME records (name → target), for explaining routes.
    pub(crate) cnames: HashMap<Box<str>, Box<str>, ahash::RandomState>,
    pub(crate) warnings: Box<[Diagnostic]>,
}

impl Table {
    /// The pools, indexed by [`PoolId`].
    pub fn pools(&self) -> &[PoolEntry] {
        &self.pools
    }

    /// A pool.
    ///
    /// # Panics
    /// When `id` belongs to another table and is out of range.
    pub fn pool(&self, id: PoolId) -> &PoolEntry {
        &self.pools[id.index()]
    }

    /// The pool with config id `id`.
    pub fn pool_id(&self, id: &str) -> Option<PoolId> {
        self.pool_ids.get(id).copied()
    }

    /// The origins, indexed by [`OriginId`].
    pub fn origins(&self) -> &[OriginEntry] {
        &self.origins
    }

    /// An origin.
    ///
    /// # Panics
    /// When `id` belongs to another table and is out of range.
    pub fn origin(&self, id: OriginId) -> &OriginEntry {
        &self.origins[id.index()]
    }

    /// The origin with identity `identity` ([`OriginEntry::identity`]).
    pub fn origin_by_identity(&self, identity: u64) -> Option<OriginId> {
        self.origin_identities.get(&identity).copied()
    }

    /// Whether any load balancer (or custom rule) sets session affinity.
    pub fn uses_affinity(&self) -> bool {
        self.uses_affinity
    }

    /// Whether any load balancer (or custom rule) sets `header` affinity,
    /// which needs a session store.
    pub fn uses_header_affinity(&self) -> bool {
        self.uses_header_affinity
    }

    /// The origin named `name` in the pool with config id `pool`.
    pub fn origin_id(&self, pool: &str, name: &str) -> Option<OriginId> {
        let pool = self.pool(self.pool_id(pool)?);
        pool.origins().find(|&o| &*self.origin(o).name == name)
    }

    /// The load balancers, indexed by [`LoadBalancerId`].
    pub fn load_balancers(&self) -> &[LoadBalancerEntry] {
        &self.load_balancers
    }

    /// A load balancer.
    ///
    /// # Panics
    /// When `id` belongs to another table and is out of range.
    pub fn load_balancer(&self, id: LoadBalancerId) -> &LoadBalancerEntry {
        &self.load_balancers[id.index()]
    }

    /// The monitors, indexed by [`MonitorId`].
    pub fn monitors(&self) -> &[MonitorEntry] {
        &self.monitors
    }

    /// A monitor.
    ///
    /// # Panics
    /// When `id` belongs to another table and is out of range.
    pub fn monitor(&self, id: MonitorId) -> &MonitorEntry {
        &self.monitors[id.index()]
    }

    /// The monitor groups, indexed by [`MonitorGroupId`].
    pub fn monitor_groups(&self) -> &[MonitorGroupEntry] {
        &self.monitor_groups
    }

    /// A monitor group.
    ///
    /// # Panics
    /// When `id` belongs to another table and is out of range.
    pub fn monitor_group(&self, id: MonitorGroupId) -> &MonitorGroupEntry {
        &self.monitor_groups[id.index()]
    }

    /// Things that compile but are probably not what was meant (a pool
    /// that can never be healthy, an Origin Rule that routes nowhere).
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// The load balancer that serves `host`, and whether it is enabled,
    /// following exact names, wildcards and CNAME chains.
    pub fn route(&self, host: &str) -> Option<(LoadBalancerId, bool)> {
        let key = HostKey::new(host)?;
        self.hosts.lookup(key.as_bytes()).map(|(route, _)| (route.load_balancer, route.enabled))
    }

    /// How many hostnames (exact names and wildcard domains) route somewhere.
    pub fn hostname_count(&self) -> usize {
        self.hosts.len()
    }
}

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table")
            .field("load_balancers", &self.load_balancers.len())
            .field("pools", &self.pools.len())
            .field("origins", &self.origins.len())
            .field("hostnames", &self.hosts.len())
            .field("origin_rules", &self.origin_rules.len())
            .finish_non_exhaustive()
    }
}

/// The pools a geo map lists for `key`. Maps are sorted by key.
pub(crate) fn find_geo<K: Ord>(map: &[(K, PoolList)], key: K) -> Option<&[PoolId]> {
    map.binary_search_by(|(k, _)| k.cmp(&key)).ok().map(|at| &map[at].1[..])
}

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Table>();
};

#[cfg(test)]
mod tests {
    use super::scale_weight;

    #[test]
    fn weights_scale_and_positive_ones_stay_positive() {
        assert_eq!(scale_weight(1.0), 10_000);
        assert_eq!(scale_weight(0.25), 2_500);
        assert_eq!(scale_weight(0.01), 100);
        assert_eq!(scale_weight(0.0), 0);
        assert_eq!(scale_weight(0.000_01), 1, "tiny, but not 0: it still gets traffic");
        assert_eq!(scale_weight(-1.0), 0);
        assert_eq!(scale_weight(2.0), 10_000);
        assert_eq!(scale_weight(f64::NAN), 0);
    }
}
/// The table's per-entry sizes on 64-bit targets, so that a field added
/// inline (or a configuration enum kept with its text) shows up as a
/// failing test rather than as memory per hostname (BENCHMARKS.md).
#[cfg(all(test, target_pointer_width = "64"))]
mod entry_sizes {
    use super::*;

    #[test]
    fn entries_stay_small() {
        assert_eq!(size_of::<AffinityAttributes>(), 24);
        assert!(size_of::<Settings>() <= 136, "Settings: {}", size_of::<Settings>());
        assert!(size_of::<LoadBalancerEntry>() <= 200, "LoadBalancerEntry: {}", size_of::<LoadBalancerEntry>());
        assert!(size_of::<OriginEntry>() <= 72, "OriginEntry: {}", size_of::<OriginEntry>());
    }
}
