//! Heap accounting of a compiled table: [`Table::heap_bytes`].
//!
//! Every allocation the table owns is counted at the size requested from
//! the allocator: boxed slices and strings by their length, hash maps by
//! their whole bucket array and control bytes
//! ([`hashbrown::HashMap::allocation_size`]). Two things are estimated
//! rather than walked: the compiled form of rule conditions (counted as
//! their source text and the regex automata they hold are not: both are
//! bounded by the expression limits, and an account's size is in its
//! hostnames, pools and origins, not its rules) and the messages of
//! warnings. `tests/table_memory.rs` checks the total against a counting
//! allocator.

use core::mem::{size_of, size_of_val};

use super::{
    AffinityAttributes, FixedResponseEntry, LoadBalancerEntry, MonitorEntry, MonitorGroupEntry, OriginEntry,
    OriginRuleEntry, Overrides, PoolEntry, PoolList, PoolSetAction, PoolSetEntry, PoolWeights, RuleAction, RuleEntry,
    Settings, Table, Topology,
};
use crate::compile::Diagnostic;

/// Heap bytes owned by a value (not counting the value itself).
pub(crate) trait HeapSize {
    fn heap_size(&self) -> usize;
}

/// A string's bytes belong to whatever holds it (a box counts them).
impl HeapSize for str {
    fn heap_size(&self) -> usize {
        0
    }
}

impl HeapSize for alloc::string::String {
    fn heap_size(&self) -> usize {
        self.capacity()
    }
}

impl<T: HeapSize + ?Sized> HeapSize for alloc::boxed::Box<T> {
    fn heap_size(&self) -> usize {
        size_of_val::<T>(self) + (**self).heap_size()
    }
}

impl<T: HeapSize> HeapSize for Option<T> {
    fn heap_size(&self) -> usize {
        self.as_ref().map_or(0, T::heap_size)
    }
}

/// The heap bytes inside the items of a slice (the slice's own bytes are
/// counted by its box).
impl<T: HeapSize> HeapSize for [T] {
    fn heap_size(&self) -> usize {
        self.iter().map(T::heap_size).sum()
    }
}

impl<T: HeapSize> HeapSize for alloc::vec::Vec<T> {
    fn heap_size(&self) -> usize {
        self.capacity() * size_of::<T>() + self[..].heap_size()
    }
}

/// Plain data: no heap of its own.
macro_rules! flat {
    ($($t:ty),* $(,)?) => {$(
        impl HeapSize for $t {
            #[inline]
            fn heap_size(&self) -> usize {
                0
            }
        }
    )*};
}

flat!(
    u8,
    u16,
    u32,
    super::PoolId,
    super::OriginId,
    super::Route,
    crate::geo::Region,
    crate::geo::CountryCode,
    crate::geo::PopCode,
    super::MonitorGroupMemberEntry,
    (super::PoolId, u32),
);

impl<K: HeapSize> HeapSize for (K, PoolList) {
    fn heap_size(&self) -> usize {
        self.0.heap_size() + self.1.heap_size()
    }
}

impl<K: HeapSize + Eq + core::hash::Hash + ?Sized, V: HeapSize, S: core::hash::BuildHasher> HeapSize
    for hashbrown::HashMap<alloc::boxed::Box<K>, V, S>
{
    fn heap_size(&self) -> usize {
        // The boxes' own bytes are in the bucket array: count what they
        // point to, and what the values hold.
        self.allocation_size()
            + self.iter().map(|(k, v)| size_of_val::<K>(k) + (**k).heap_size() + v.heap_size()).sum::<usize>()
    }
}

impl HeapSize for MonitorEntry {
    fn heap_size(&self) -> usize {
        let m = &self.config;
        let headers: usize = m
            .header
            .iter()
            .map(|(name, values)| {
                // A B-tree node per entry, roughly: the key and value inline.
                size_of::<(alloc::string::String, alloc::vec::Vec<alloc::string::String>)>()
                    + name.heap_size()
                    + values.heap_size()
            })
            .sum();
        m.id.heap_size()
            + m.description.heap_size()
            + m.method.heap_size()
            + m.path.heap_size()
            + m.expected_codes.heap_size()
            + m.expected_body.heap_size()
            + m.probe_zone.heap_size()
            + headers
    }
}

impl HeapSize for MonitorGroupEntry {
    fn heap_size(&self) -> usize {
        self.id.heap_size() + self.members.heap_size()
    }
}

impl HeapSize for PoolEntry {
    fn heap_size(&self) -> usize {
        self.id.heap_size()
            + self.name.heap_size()
            + self.monitor_group.heap_size()
            + self.check_regions.heap_size()
            // The hash ranking and cumulative weights: flat arrays.
            + self.precomputed_bytes()
    }
}

impl HeapSize for OriginEntry {
    fn heap_size(&self) -> usize {
        self.name.heap_size() + self.address.heap_size() + self.host_header.heap_size()
    }
}

impl HeapSize for PoolWeights {
    fn heap_size(&self) -> usize {
        self.by_pool.heap_size()
    }
}

impl HeapSize for AffinityAttributes {
    fn heap_size(&self) -> usize {
        self.headers.heap_size()
    }
}

impl HeapSize for Settings {
    fn heap_size(&self) -> usize {
        self.default_pools.heap_size()
            + self.region_pools.heap_size()
            + self.country_pools.heap_size()
            + self.pop_pools.heap_size()
            + self.weights.heap_size()
            + self.affinity_attributes.heap_size()
    }
}

impl HeapSize for Overrides {
    fn heap_size(&self) -> usize {
        self.default_pools.heap_size()
            + self.region_pools.heap_size()
            + self.country_pools.heap_size()
            + self.pop_pools.heap_size()
            + self.weights.heap_size()
            + self.affinity_attributes.heap_size()
    }
}

impl HeapSize for FixedResponseEntry {
    fn heap_size(&self) -> usize {
        self.body.heap_size() + self.content_type.heap_size() + self.location.heap_size()
    }
}

/// A compiled condition, estimated: its source text (see the module docs).
fn condition_estimate(condition: &crate::expr::Condition) -> usize {
    condition.source().len()
}

impl HeapSize for RuleEntry {
    fn heap_size(&self) -> usize {
        let action = match &self.action {
            RuleAction::Override(overrides) => overrides.heap_size(),
            RuleAction::Respond(fixed) => fixed.heap_size(),
        };
        self.name.heap_size() + self.condition.as_ref().map_or(0, condition_estimate) + action
    }
}

impl HeapSize for Topology {
    fn heap_size(&self) -> usize {
        self.pops.heap_size() + self.countries.heap_size() + self.regions.heap_size()
    }
}

impl HeapSize for PoolSetEntry {
    fn heap_size(&self) -> usize {
        let action = match &self.action {
            PoolSetAction::Steer { pools, weights, .. } => pools.heap_size() + weights.heap_size(),
            PoolSetAction::Respond(fixed) => fixed.heap_size(),
        };
        self.topology.heap_size() + action
    }
}

impl HeapSize for LoadBalancerEntry {
    fn heap_size(&self) -> usize {
        self.name.heap_size() + self.settings.heap_size() + self.pool_sets.heap_size() + self.rules.heap_size()
    }
}

impl HeapSize for OriginRuleEntry {
    fn heap_size(&self) -> usize {
        let target = self.target.as_ref().map_or(0, |(host, _)| host.heap_size());
        condition_estimate(&self.condition) + self.host_header.heap_size() + self.sni.heap_size() + target
    }
}

impl HeapSize for Diagnostic {
    fn heap_size(&self) -> usize {
        // The path's segments; the message's own strings are not counted.
        size_of_val(self.path.segments())
    }
}

impl Table {
    /// The heap memory the table holds, in bytes: every array, string and
    /// hash map it owns, at the sizes requested from the allocator (the
    /// allocator's own per-allocation overhead is not included).
    ///
    /// Compiled rule conditions count as their source text; their syntax
    /// trees and regex automata, bounded by the expression limits, are
    /// not counted. `tests/table_memory.rs` checks the figure against a
    /// counting allocator.
    pub fn heap_bytes(&self) -> usize {
        self.monitors.heap_size()
            + self.monitor_groups.heap_size()
            + self.pools.heap_size()
            + self.origins.heap_size()
            + self.load_balancers.heap_size()
            + self.hosts.heap_bytes()
            + self.origin_rules.heap_size()
            + self.pool_ids.heap_size()
            + self.origin_identities.allocation_size()
            + self.cnames.heap_size()
            + self.warnings.heap_size()
    }
}
