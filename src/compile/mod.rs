//! Validation and compilation of an [`Account`] into a [`Table`].
//!
//! The compiler walks the whole account, collects every problem with its
//! path ([`BuildError`]), and only builds a table when there is none: a
//! table is never partial.

mod error;
mod load_balancers;
mod names;
mod origin_rules;
mod pools;

use alloc::vec::Vec;

use crate::hash::Map;

pub(crate) use error::Diagnostics;
pub use error::{BuildError, ConfigPath, Diagnostic, ErrorKind, Segment};

use crate::config::Account;
use crate::limits;
use crate::table::Table;

impl Table {
    /// Checks `account` and compiles it.
    ///
    /// On success the table is ready to route; [`Table::warnings`] lists
    /// what compiled but looks unintended. On failure every problem is
    /// reported with its path, in document order.
    ///
    /// ```
    /// # #[cfg(feature = "std")] {
    /// let account = lbsteer::Account::from_json(r#"{
    ///     "pools": [{"id": "p", "name": "p", "origins": [{"name": "a", "address": "192.0.2.1"}]}],
    ///     "load_balancers": [{"name": "www.example.com", "default_pools": ["p"], "fallback_pool": "p"}]
    /// }"#).unwrap();
    /// let table = lbsteer::Table::compile(&account).unwrap();
    /// assert_eq!(table.load_balancers()[0].name(), "www.example.com");
    /// # }
    /// ```
    pub fn compile(account: &Account) -> Result<Table, BuildError> {
        let mut diags = Diagnostics::default();
        let monitors = pools::compile_monitors(&account.monitors, &account.monitor_groups, &mut diags);
        let pools = pools::compile_pools(&account.pools, &monitors, &mut diags);
        let refs = load_balancers::PoolRefs { ids: &pools.ids };
        let (load_balancers, lb_names) =
            load_balancers::compile_load_balancers(&account.load_balancers, &refs, &mut diags);

        let mut cnames = Vec::new();
        let mut addresses = Vec::new();
        let mut first_cname: Map<names::Hostname, usize> = crate::hash::map();
        for (i, record) in account.dns_records.iter().enumerate() {
            if record.is_address() {
                // An `A` or `AAAA` record routes nowhere, but takes its name
                // from a less specific (wildcard) load balancer. A name that
                // is not a valid hostname matches no request: ignored.
                if let Ok(name) = names::parse_hostname(&record.name, true) {
                    addresses.push(name);
                }
                continue;
            }
            if !record.is_cname() {
                continue;
            }
            let path = ConfigPath::root("dns_records").index(i);
            let name = match names::parse_hostname(&record.name, true) {
                Ok(name) => name,
                Err(reason) => {
                    diags.error(path.field("name"), ErrorKind::InvalidHostname { name: record.name.clone(), reason });
                    continue;
                }
            };
            let target = match names::parse_hostname(&record.content, false) {
                Ok(target) => target,
                Err(reason) => {
                    diags.error(
                        path.field("content"),
                        ErrorKind::InvalidHostname { name: record.content.clone(), reason },
                    );
                    continue;
                }
            };
            if let Some(&first) = first_cname.get(&name) {
                diags.error(
                    path.field("name"),
                    ErrorKind::Duplicate {
                        what: "CNAME record",
                        value: name.display(),
                        first: ConfigPath::root("dns_records").index(first).field("name"),
                    },
                );
                continue;
            }
            first_cname.insert(name.clone(), i);
            cnames.push(names::Cname { name, target: target.domain, path });
        }
        let routable = lb_names.iter().flatten().count() + cnames.len();
        if routable > limits::HOSTNAMES {
            diags.error(
                ConfigPath::root("load_balancers"),
                ErrorKind::TooMany { what: "hostnames", count: routable, limit: limits::HOSTNAMES },
            );
        }

        // Load balancers whose name is invalid or duplicated cannot be routed
        // to; they are reported already, and the table is not built.
        let named: Vec<(names::Hostname, bool)> = lb_names
            .iter()
            .zip(&account.load_balancers)
            .map(|(name, lb)| match name {
                Some(name) => (name.clone(), lb.enabled),
                None => (names::Hostname { domain: alloc::string::String::new(), wildcard: false }, false),
            })
            .collect();
        let mut resolver = names::Resolver::new(&named, cnames, &addresses);
        let origin_rules = origin_rules::compile_origin_rules(&account.origin_rules, &mut resolver, &mut diags);
        let cname_targets = resolver.cname_targets().map(|(n, t)| (n.into(), t.into())).collect::<Vec<_>>();
        let hosts = resolver.build_index(&mut diags);

        if account.load_balancers.is_empty() {
            // Loading ignores unknown keys, so a document of the wrong shape
            // loads as an empty account: say so rather than nothing.
            diags.warning(
                ConfigPath::root("load_balancers"),
                ErrorKind::Invalid("no load balancers: nothing routes (is this an account document?)".into()),
            );
        }
        if !diags.errors.is_empty() {
            return Err(BuildError::new(diags.errors));
        }
        let mut pool_ids = hashbrown::HashMap::with_capacity_and_hasher(pools.ids.len(), ahash::RandomState::new());
        pool_ids.extend(pools.ids.iter().map(|(&id, &pool)| (id.into(), pool)));
        let mut origin_identities =
            hashbrown::HashMap::with_capacity_and_hasher(pools.origins.len(), ahash::RandomState::new());
        for (i, origin) in pools.origins.iter().enumerate() {
            origin_identities.entry(origin.key).or_insert(crate::table::OriginId(i as u32));
        }
        let uses = |wanted: fn(crate::table::AffinityMode) -> bool| {
            load_balancers.iter().any(|lb| {
                wanted(lb.settings.affinity)
                    || lb.rules.iter().any(|rule| match &rule.action {
                        crate::table::RuleAction::Override(o) => o.affinity.is_some_and(wanted),
                        crate::table::RuleAction::Respond(_) => false,
                    })
            })
        };
        let uses_affinity = uses(|mode| mode != crate::table::AffinityMode::None);
        let uses_header_affinity = uses(|mode| mode == crate::table::AffinityMode::Header);
        let mut cname_map =
            hashbrown::HashMap::with_capacity_and_hasher(cname_targets.len(), ahash::RandomState::new());
        cname_map.extend(cname_targets);
        Ok(Table {
            monitors: monitors.entries.into(),
            monitor_groups: monitors.group_entries.into(),
            pools: pools.entries.into(),
            origins: pools.origins.into(),
            load_balancers: load_balancers.into(),
            hosts,
            origin_rules: origin_rules.into(),
            pool_ids,
            origin_identities,
            uses_affinity,
            uses_header_affinity,
            cnames: cname_map,
            warnings: diags.warnings.into(),
        })
    }
}
