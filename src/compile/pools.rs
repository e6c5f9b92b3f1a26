//! Monitors, monitor groups, pools and origins.

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::net::IpAddr;

use crate::hash::Map;

use super::error::{ConfigPath, Diagnostics, ErrorKind};
use super::names::parse_hostname;
use crate::config::{Monitor, MonitorGroup, MonitorType, OriginSteeringPolicy, Pool, SheddingPolicy};
use crate::geo::{Coordinates, Region};
use crate::select::{build_cumulative_weights, build_hash_ranking, uniform_weights};
use crate::table::{
    MonitorEntry, MonitorGroupEntry, MonitorGroupId, MonitorGroupMemberEntry, MonitorId, OriginEntry, OriginPolicy,
    PoolEntry, PoolId, Shedding, scale_weight,
};
use crate::{hash, limits};

/// Values accepted in `check_regions`.
const CHECK_REGIONS: &[&str] =
    &["WNAM", "ENAM", "WEU", "EEU", "NSAM", "SSAM", "OC", "ME", "NAF", "SAF", "SAS", "SEAS", "NEAS", "ALL_REGIONS"];

/// Values accepted in `health_sources`.
const HEALTH_SOURCES: &[&str] = &["local", "regional", "global"];

pub(super) struct Monitors<'a> {
    pub(super) entries: Vec<MonitorEntry>,
    pub(super) ids: Map<&'a str, MonitorId>,
    pub(super) groups: Map<&'a str, MonitorGroupId>,
    pub(super) group_entries: Vec<MonitorGroupEntry>,
}

pub(super) fn compile_monitors<'a>(
    monitors: &'a [Monitor],
    groups: &'a [MonitorGroup],
    diags: &mut Diagnostics,
) -> Monitors<'a> {
    let mut out = Monitors {
        entries: Vec::with_capacity(monitors.len()),
        ids: crate::hash::map(),
        groups: crate::hash::map(),
        group_entries: Vec::with_capacity(groups.len()),
    };
    let mut first_path: Map<&str, usize> = crate::hash::map();
    for (i, monitor) in monitors.iter().enumerate() {
        let path = || ConfigPath::root("monitors").index(i);
        if monitor.id.is_empty() {
            diags.error(path().field("id"), ErrorKind::Missing("monitor id"));
        } else if let Some(&first) = first_path.get(monitor.id.as_str()) {
            diags.error(
                path().field("id"),
                ErrorKind::Duplicate {
                    what: "monitor id",
                    value: monitor.id.clone(),
                    first: ConfigPath::root("monitors").index(first).field("id"),
                },
            );
        } else {
            first_path.insert(&monitor.id, i);
            out.ids.insert(&monitor.id, MonitorId(out.entries.len() as u32));
        }
        check_monitor(monitor, &path, diags);
        out.entries.push(MonitorEntry { config: monitor.clone() });
    }
    let mut first_group: Map<&str, usize> = crate::hash::map();
    for (i, group) in groups.iter().enumerate() {
        let path = || ConfigPath::root("monitor_groups").index(i);
        if group.id.is_empty() {
            diags.error(path().field("id"), ErrorKind::Missing("monitor group id"));
        } else if let Some(&first) = first_group.get(group.id.as_str()) {
            diags.error(
                path().field("id"),
                ErrorKind::Duplicate {
                    what: "monitor group id",
                    value: group.id.clone(),
                    first: ConfigPath::root("monitor_groups").index(first).field("id"),
                },
            );
        } else {
            first_group.insert(&group.id, i);
            out.groups.insert(&group.id, MonitorGroupId(i as u32));
        }
        if group.members.is_empty() {
            diags.invalid(path().field("members"), "a monitor group needs at least one member");
        }
        for (m, member) in group.members.iter().enumerate() {
            if !out.ids.contains_key(member.monitor_id.as_str()) {
                diags.error(
                    path().field("members").index(m).field("monitor_id"),
                    ErrorKind::UnknownMonitor(member.monitor_id.clone()),
                );
            }
        }
        // One entry per listed group, so that ids are list positions; a
        // group with an unknown member fails the build and is never used.
        let members = group
            .members
            .iter()
            .filter_map(|member| {
                Some(MonitorGroupMemberEntry {
                    monitor: *out.ids.get(member.monitor_id.as_str())?,
                    enabled: member.enabled,
                    monitoring_only: member.monitoring_only,
                    must_be_healthy: member.must_be_healthy,
                })
            })
            .collect();
        out.group_entries.push(MonitorGroupEntry { id: group.id.as_str().into(), members });
    }
    out
}

fn check_monitor(monitor: &Monitor, path: &dyn Fn() -> ConfigPath, diags: &mut Diagnostics) {
    check_description(|| path().field("description"), &monitor.description, diags);
    diags.check_known(|| path().field("type"), monitor.kind.as_str(), monitor.kind.is_known(), MonitorType::VALUES);
    if monitor.timeout == 0 || monitor.timeout > 10 {
        diags.error(
            path().field("timeout"),
            ErrorKind::OutOfRange { value: monitor.timeout.to_string(), expected: "1 to 10 seconds" },
        );
    }
    if monitor.retries > 5 {
        diags.error(
            path().field("retries"),
            ErrorKind::OutOfRange { value: monitor.retries.to_string(), expected: "0 to 5" },
        );
    }
    if monitor.interval == 0 || monitor.interval > 3600 {
        diags.error(
            path().field("interval"),
            ErrorKind::OutOfRange { value: monitor.interval.to_string(), expected: "1 to 3600 seconds" },
        );
    }
    // `""` is the API's "unset" (the Terraform v5 default), i.e. `200`.
    if let Some(codes) = &monitor.expected_codes
        && !codes.trim().is_empty()
        && let Err(why) = check_expected_codes(codes)
    {
        diags.invalid(path().field("expected_codes"), why);
    }
    if let Some(path_value) = &monitor.path
        && !path_value.is_empty()
        && !path_value.starts_with('/')
    {
        diags.invalid(path().field("path"), "a monitor path starts with `/`");
    }
    let is_http = matches!(monitor.kind, MonitorType::Http | MonitorType::Https);
    if let Some(method) = &monitor.method {
        let valid = if is_http {
            !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase())
        } else {
            method == "connection_established" || method.is_empty()
        };
        if !valid {
            let expected = if is_http { "an upper-case HTTP method" } else { "connection_established" };
            diags.invalid(path().field("method"), alloc::format!("method {method:?}: expected {expected}"));
        }
    }
    for (name, values) in &monitor.header {
        let valid_name = !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
        if !valid_name {
            diags.invalid(path().field("header").key(name), "not a valid header name");
        }
        if name.eq_ignore_ascii_case("user-agent") {
            diags.invalid(path().field("header").key(name), "the User-Agent header cannot be overridden");
        }
        if values.iter().any(|v| v.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)) {
            diags.invalid(path().field("header").key(name), "a header value contains a line break or NUL");
        }
    }
    if matches!(monitor.kind, MonitorType::Tcp | MonitorType::UdpIcmp | MonitorType::Smtp)
        && monitor.port.unwrap_or(0) == 0
    {
        diags.warning(
            path().field("port"),
            ErrorKind::Invalid("no port: the origin's port, or the protocol's default, is probed".into()),
        );
    }
}

/// Checks a `description`: at most 1,024 characters (cloudflare-lb.md
/// §1.1, §1.3, §1.4, from the Terraform v4 provider's validators).
pub(super) fn check_description(path: impl FnOnce() -> ConfigPath, text: &str, diags: &mut Diagnostics) {
    if text.len() > DESCRIPTION_LEN {
        let count = text.chars().count();
        if count > DESCRIPTION_LEN {
            diags.error(
                path(),
                ErrorKind::TooMany { what: "characters in a description", count, limit: DESCRIPTION_LEN },
            );
        }
    }
}

/// The longest `description`, in characters.
const DESCRIPTION_LEN: usize = 1024;

/// Checks `expected_codes`: codes (`200`) and classes (`2xx`), separated by
/// commas or spaces.
pub(crate) fn check_expected_codes(codes: &str) -> Result<(), String> {
    let mut any = false;
    for code in codes.split([',', ' ']).filter(|c| !c.is_empty()) {
        any = true;
        let bytes = code.as_bytes();
        let valid = match bytes {
            [d @ b'1'..=b'5', rest @ ..] if rest.len() == 2 => {
                let _ = d;
                rest.iter().all(u8::is_ascii_digit) || rest.eq_ignore_ascii_case(b"xx")
            }
            _ => false,
        };
        if !valid {
            return Err(alloc::format!("{code:?} is not a status code (`200`) or class (`2xx`)"));
        }
    }
    if any { Ok(()) } else { Err("no status code".into()) }
}

pub(super) struct Pools<'a> {
    pub(super) entries: Vec<PoolEntry>,
    pub(super) origins: Vec<OriginEntry>,
    pub(super) ids: Map<&'a str, PoolId>,
}

pub(super) fn compile_pools<'a>(pools: &'a [Pool], monitors: &Monitors<'_>, diags: &mut Diagnostics) -> Pools<'a> {
    let mut out = Pools { entries: Vec::with_capacity(pools.len()), origins: Vec::new(), ids: crate::hash::map() };
    let mut first_path: Map<&str, usize> = crate::hash::map();
    for (i, pool) in pools.iter().enumerate() {
        let path = || ConfigPath::root("pools").index(i);
        let id = PoolId(out.entries.len() as u32);
        if pool.id.is_empty() {
            diags.error(path().field("id"), ErrorKind::Missing("pool id"));
        } else if let Some(&first) = first_path.get(pool.id.as_str()) {
            diags.error(
                path().field("id"),
                ErrorKind::Duplicate {
                    what: "pool id",
                    value: pool.id.clone(),
                    first: ConfigPath::root("pools").index(first).field("id"),
                },
            );
        } else {
            first_path.insert(&pool.id, i);
            out.ids.insert(&pool.id, id);
        }
        check_description(|| path().field("description"), &pool.description, diags);
        if !pool.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            diags.invalid(path().field("name"), "only letters, digits, `-` and `_` are allowed in a pool name");
        }

        let monitor = match pool.monitor.as_deref() {
            None | Some("") => None,
            Some(monitor) => {
                let found = monitors.ids.get(monitor).copied();
                if found.is_none() {
                    diags.error(path().field("monitor"), ErrorKind::UnknownMonitor(monitor.into()));
                }
                found
            }
        };
        let (monitor_group, group) = match pool.monitor_group.as_deref() {
            None | Some("") => (None, None),
            Some(group) => {
                let found = monitors.groups.get(group).copied();
                if found.is_none() {
                    diags.error(path().field("monitor_group"), ErrorKind::UnknownMonitorGroup(group.into()));
                }
                (Some(Box::from(group)), found)
            }
        };
        if monitor.is_some() && monitor_group.is_some() {
            diags.invalid(path().field("monitor_group"), "set `monitor` or `monitor_group`, not both");
        }

        let mut check_regions = Vec::new();
        let mut all_regions = false;
        for (r, region) in pool.check_regions.iter().flatten().enumerate() {
            // Codes are upper case, as in `region_pools` (§2.13).
            match Region::parse(region).filter(|r| r.code() == region) {
                Some(region) => check_regions.push(region),
                None if region == "ALL_REGIONS" => all_regions = true,
                None => diags.error(
                    path().field("check_regions").index(r),
                    ErrorKind::UnknownValue { value: region.clone(), expected: CHECK_REGIONS },
                ),
            }
        }
        // `ALL_REGIONS` names every region (cloudflare-lb.md §1.3
        // `check_regions`, §2.1.3 "All Regions"), whatever else is listed:
        // stored as the empty list, which means all.
        if all_regions {
            check_regions.clear();
        }
        let mut known_sources = true;
        for (s, source) in pool.health_sources.iter().flatten().enumerate() {
            known_sources &= diags.check_known(
                || path().field("health_sources").index(s),
                source,
                HEALTH_SOURCES.contains(&source.as_str()),
                HEALTH_SOURCES,
            );
        }
        // cloudflare-lb.md §2.1.5: unset (≡ `["local","global"]`) is the
        // default; "only other accepted value `["regional","global"]`".
        if let Some(sources) = pool.health_sources.as_deref()
            && known_sources
            && !match sources {
                [] => true,
                [first, last] => first != "global" && last == "global",
                _ => false,
            }
        {
            diags.invalid(
                path().field("health_sources"),
                "expected unset, [\"local\", \"global\"] or [\"regional\", \"global\"]",
            );
        }

        let coordinates = match (pool.latitude, pool.longitude) {
            (None, None) => None,
            (Some(lat), Some(lon)) => {
                let lat_ok = diags.check_range(|| path().field("latitude"), lat, -90.0..=90.0, "-90 to 90");
                let lon_ok = diags.check_range(|| path().field("longitude"), lon, -180.0..=180.0, "-180 to 180");
                if lat_ok && lon_ok { Coordinates::new(lat, lon) } else { None }
            }
            (Some(_), None) => {
                diags.invalid(path().field("longitude"), "latitude is set, so longitude is required");
                None
            }
            (None, Some(_)) => {
                diags.invalid(path().field("latitude"), "longitude is set, so latitude is required");
                None
            }
        };

        let origin_policy = match &pool.origin_steering {
            None => OriginPolicy::Random,
            Some(steering) => {
                let policy = &steering.policy;
                diags.check_known(
                    || path().field("origin_steering").field("policy"),
                    policy.as_str(),
                    policy.is_known(),
                    OriginSteeringPolicy::VALUES,
                );
                match policy {
                    OriginSteeringPolicy::Hash => OriginPolicy::Hash,
                    OriginSteeringPolicy::LeastOutstandingRequests => OriginPolicy::LeastOutstandingRequests,
                    OriginSteeringPolicy::LeastConnections => OriginPolicy::LeastConnections,
                    OriginSteeringPolicy::Random | OriginSteeringPolicy::Unknown(_) => OriginPolicy::Random,
                }
            }
        };

        let shedding = match &pool.load_shedding {
            None => Shedding::default(),
            Some(shed) => {
                let shed_path = || path().field("load_shedding");
                diags.check_range(
                    || shed_path().field("default_percent"),
                    shed.default_percent,
                    0.0..=100.0,
                    "0 to 100",
                );
                diags.check_range(
                    || shed_path().field("session_percent"),
                    shed.session_percent,
                    0.0..=100.0,
                    "0 to 100",
                );
                diags.check_known(
                    || shed_path().field("default_policy"),
                    shed.default_policy.as_str(),
                    shed.default_policy.is_known(),
                    SheddingPolicy::VALUES,
                );
                if shed.session_policy != SheddingPolicy::Hash {
                    diags.error(
                        shed_path().field("session_policy"),
                        ErrorKind::UnknownValue { value: shed.session_policy.as_str().into(), expected: &["hash"] },
                    );
                }
                let percent = |p: f64| if p.is_finite() { p.clamp(0.0, 100.0) } else { 0.0 };
                Shedding {
                    default_threshold: Shedding::threshold(percent(shed.default_percent)),
                    default_by_hash: shed.default_policy == SheddingPolicy::Hash,
                    session_threshold: Shedding::threshold(percent(shed.session_percent)),
                    salt: hash::origin_key(&pool.id, ""),
                }
            }
        };

        if pool.origins.len() > limits::ORIGINS_PER_POOL {
            diags.error(
                path().field("origins"),
                ErrorKind::TooMany { what: "origins", count: pool.origins.len(), limit: limits::ORIGINS_PER_POOL },
            );
        }
        let first_origin = out.origins.len() as u32;
        let mut names: Map<&str, usize> = crate::hash::map();
        let mut endpoints: Map<(&str, u16), usize> = crate::hash::map();
        let mut enabled_origins = 0;
        let mut enabled_weight = 0;
        for (o, origin) in pool.origins.iter().enumerate().take(limits::ORIGINS_PER_POOL) {
            let opath = || path().field("origins").index(o);
            if origin.name.is_empty() {
                diags.error(opath().field("name"), ErrorKind::Missing("origin name"));
            } else if let Some(&first) = names.get(origin.name.as_str()) {
                diags.error(
                    opath().field("name"),
                    ErrorKind::Duplicate {
                        what: "origin name",
                        value: origin.name.clone(),
                        first: path().field("origins").index(first).field("name"),
                    },
                );
            } else {
                names.insert(&origin.name, o);
            }
            let address = origin.address.trim();
            if address.is_empty() {
                diags.error(opath().field("address"), ErrorKind::Missing("origin address"));
            } else if address.parse::<IpAddr>().is_err()
                && let Err(reason) = parse_hostname(address, false)
            {
                diags.error(opath().field("address"), ErrorKind::InvalidHostname { name: address.into(), reason });
            }
            if !address.is_empty() {
                // Cloudflare wants addresses unique within a pool; the same
                // address on different ports is allowed here (several
                // services on one host).
                if let Some(&first) = endpoints.get(&(address, origin.port)) {
                    diags.error(
                        opath().field("address"),
                        ErrorKind::Duplicate {
                            what: "origin address and port",
                            value: alloc::format!("{address} port {}", origin.port),
                            first: path().field("origins").index(first).field("address"),
                        },
                    );
                } else {
                    endpoints.insert((address, origin.port), o);
                }
            }
            // cloudflare-lb.md §1.3: 0..1, multipleOf 0.01.
            if diags.check_range(|| opath().field("weight"), origin.weight, 0.0..=1.0, "0 to 1") {
                let hundredths = origin.weight * 100.0;
                if libm::fabs(hundredths - libm::round(hundredths)) > 1e-6 {
                    diags.invalid(
                        opath().field("weight"),
                        alloc::format!("{} is not a multiple of 0.01", origin.weight),
                    );
                }
            }
            let host_header = match &origin.header {
                None => None,
                Some(header) => match header.host.as_slice() {
                    [] => None,
                    [host] if !host.trim().is_empty() && !host.bytes().any(|b| b.is_ascii_control()) => {
                        Some(Box::from(host.trim()))
                    }
                    [_] => {
                        diags.invalid(opath().field("header").field("Host").index(0), "not a valid Host header value");
                        None
                    }
                    _ => {
                        diags.invalid(opath().field("header").field("Host"), "at most one Host value is allowed");
                        None
                    }
                },
            };
            if origin.enabled {
                enabled_origins += 1;
                enabled_weight += u64::from(scale_weight(origin.weight));
            }
            out.origins.push(OriginEntry {
                pool: id,
                name: origin.name.as_str().into(),
                address: address.into(),
                port: origin.port,
                weight: scale_weight(origin.weight),
                enabled: origin.enabled,
                host_header,
                key: hash::origin_key(&pool.id, &origin.name),
            });
        }
        let origin_count = out.origins.len() as u32 - first_origin;
        if pool.minimum_origins > origin_count {
            diags.warning(
                path().field("minimum_origins"),
                ErrorKind::Invalid(
                    alloc::format!(
                        "{} exceeds the pool's {origin_count} origins: the pool is never healthy and only serves as a fallback",
                        pool.minimum_origins
                    )
                    .into(),
                ),
            );
        }
        out.entries.push(PoolEntry {
            id: pool.id.as_str().into(),
            name: pool.name.as_str().into(),
            enabled: pool.enabled,
            monitor,
            monitor_group,
            group,
            minimum_origins: pool.minimum_origins,
            origins: first_origin..out.origins.len() as u32,
            enabled_origins,
            enabled_weight,
            uniform: uniform_weights(&out.origins[first_origin as usize..]),
            origin_policy,
            shedding,
            coordinates,
            position: coordinates.map(Into::into),
            check_regions: check_regions.into(),
            // Precomputed for origin steering (`select::origins`): `hash`
            // ranks large pools ahead of time; weighted random (also `hash`
            // without a client IP) draws from running sums.
            hash_ranking: match origin_policy {
                OriginPolicy::Hash => build_hash_ranking(&out.origins[first_origin as usize..]),
                _ => None,
            },
            cumulative_weights: match origin_policy {
                OriginPolicy::Random | OriginPolicy::Hash => {
                    build_cumulative_weights(&out.origins[first_origin as usize..])
                }
                _ => None,
            },
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(pool: &str) -> Option<alloc::string::String> {
        let json = alloc::format!(
            r#"{{"monitors": [{{"id": "m", "expected_codes": ""}}], "pools": [{pool}],
                "load_balancers": [{{"name": "a.example.com", "default_pools": ["p"], "fallback_pool": "p"}}]}}"#
        );
        let account = crate::Account::from_json(&json).unwrap();
        crate::Table::compile(&account).err().map(|e| alloc::string::ToString::to_string(&e))
    }

    #[test]
    fn unset_values_read_as_the_api_defaults() {
        // cloudflare-lb.md §1.3: session_policy defaults to `hash`; `null`
        // and `""` are unset. §1.1: expected_codes `""` is the Terraform v5
        // default (unset, i.e. 200).
        for policy in ["null", "\"\"", "\"hash\""] {
            let pool = alloc::format!(
                r#"{{"id": "p", "name": "p", "monitor": "m", "load_shedding": {{"session_policy": {policy}}},
                    "origins": [{{"name": "a", "address": "192.0.2.1"}}]}}"#
            );
            assert_eq!(errors(&pool), None, "{policy}");
        }
    }

    #[test]
    fn weights_are_hundredths() {
        // cloudflare-lb.md §1.3: origin weight 0..1, multipleOf 0.01.
        let pool = |w: &str| {
            alloc::format!(
                r#"{{"id": "p", "name": "p", "origins": [{{"name": "a", "address": "192.0.2.1", "weight": {w}}}]}}"#
            )
        };
        for ok in ["0", "0.01", "0.07", "0.29", "0.57", "0.99", "1"] {
            assert_eq!(errors(&pool(ok)), None, "{ok}");
        }
        for bad in ["0.001", "0.555", "0.999"] {
            let err = errors(&pool(bad)).expect(bad);
            assert!(err.contains("pools[0].origins[0].weight") && err.contains("multiple of 0.01"), "{err}");
        }
    }

    #[test]
    fn all_regions_means_every_region_even_with_others() {
        // cloudflare-lb.md §1.3 `check_regions`: `ALL_REGIONS`; §2.1.3 "All
        // Regions" = every region. Empty is the table's "all".
        for regions in [r#"["ALL_REGIONS"]"#, r#"["WEU", "ALL_REGIONS"]"#, r#"["ALL_REGIONS", "ENAM"]"#] {
            let json = alloc::format!(
                r#"{{"pools": [{{"id": "p", "name": "p", "check_regions": {regions},
                    "origins": [{{"name": "a", "address": "192.0.2.1"}}]}}]}}"#
            );
            let table = crate::Table::compile(&crate::Account::from_json(&json).unwrap()).unwrap();
            assert!(table.pool(table.pool_id("p").unwrap()).check_regions().is_empty(), "{regions}");
        }
    }

    #[test]
    fn expected_codes() {
        for ok in ["200", "2xx", "200,301", "200, 302 3XX", "5xx"] {
            assert!(check_expected_codes(ok).is_ok(), "{ok}");
        }
        for bad in ["", "2x", "600", "20", "2000", "abc", "099", ","] {
            assert!(check_expected_codes(bad).is_err(), "{bad}");
        }
    }
}
