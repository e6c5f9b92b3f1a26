//! Monitors (health checks) and monitor groups, as the API writes them.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::de::{api_enum, null_default, yes};

api_enum! {
    /// The protocol a monitor probes with (`type`).
    pub enum MonitorType {
        /// An HTTP request; healthy when the response matches `expected_codes`
        /// and `expected_body`.
        Http => "http",
        /// An HTTPS request, with the same criteria as `http`.
        Https => "https",
        /// A TCP connection; healthy when it is established within the timeout.
        Tcp => "tcp",
        /// A UDP probe after a successful ICMP ping; an ICMP port-unreachable
        /// answer marks the origin unhealthy.
        UdpIcmp => "udp_icmp",
        /// An ICMP echo request.
        IcmpPing => "icmp_ping",
        /// An SMTP conversation (`HELO` answered by 250, `QUIT` by 221).
        Smtp => "smtp",
    }
    default = Http;
}

/// A health monitor shared by the pools of an account
/// (`/accounts/{id}/load_balancers/monitors`).
///
/// Fields keep the API's names and defaults. Read-only fields of API
/// responses (`created_on`, `modified_on`) and fields this library does not
/// model are accepted and ignored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Monitor {
    /// The monitor's id, referenced by `pools[].monitor`.
    pub id: String,
    /// The probe protocol.
    #[serde(rename = "type")]
    pub kind: MonitorType,
    /// Free text.
    pub description: String,
    /// HTTP method (`GET` when unset), or the TCP mode
    /// (`connection_established`).
    pub method: Option<String>,
    /// HTTP path, `/` when unset.
    pub path: Option<String>,
    /// Request headers for HTTP(S) probes, each with a list of values.
    #[serde(deserialize_with = "null_default")]
    pub header: BTreeMap<String, Vec<String>>,
    /// Port to probe; `0` or unset means the origin's port, else the
    /// protocol's default.
    pub port: Option<u16>,
    /// Seconds to wait for a probe before it counts as timed out (default 5).
    pub timeout: u32,
    /// Immediate retries after a timeout before the probe fails (default 2).
    pub retries: u32,
    /// Seconds between probes (default 60).
    pub interval: u32,
    /// Accepted HTTP status codes: `200`, `2xx`, or a list of them.
    /// `200` when unset.
    pub expected_codes: Option<String>,
    /// A case-insensitive substring the response body must contain.
    pub expected_body: Option<String>,
    /// Follow redirects instead of judging the redirect response.
    pub follow_redirects: bool,
    /// Skip TLS certificate verification.
    pub allow_insecure: bool,
    /// Consecutive passing probes needed to become healthy (0 acts as 1).
    pub consecutive_up: u32,
    /// Consecutive failing probes needed to become unhealthy (0 acts as 1).
    pub consecutive_down: u32,
    /// Zone whose egress settings the probe emulates.
    pub probe_zone: Option<String>,
}

impl Default for Monitor {
    /// The API's defaults: the same value as deserializing `{}`.
    fn default() -> Self {
        Self {
            id: String::new(),
            kind: MonitorType::Http,
            description: String::new(),
            method: None,
            path: None,
            header: BTreeMap::new(),
            port: None,
            timeout: 5,
            retries: 2,
            interval: 60,
            expected_codes: None,
            expected_body: None,
            follow_redirects: false,
            allow_insecure: false,
            consecutive_up: 0,
            consecutive_down: 0,
            probe_zone: None,
        }
    }
}

/// A monitor group: several monitors voting on one pool's health
/// (`pools[].monitor_group`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MonitorGroup {
    /// The group's id, referenced by `pools[].monitor_group`.
    pub id: String,
    /// Free text.
    pub description: String,
    /// The monitors in the group.
    #[serde(deserialize_with = "null_default")]
    pub members: Vec<MonitorGroupMember>,
}

/// One monitor's place in a [`MonitorGroup`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MonitorGroupMember {
    /// The member monitor's id.
    pub monitor_id: String,
    /// A disabled member neither probes nor votes.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The member probes and reports, but does not vote.
    pub monitoring_only: bool,
    /// A failure of this member alone makes the origin unhealthy.
    pub must_be_healthy: bool,
}

impl Default for MonitorGroupMember {
    fn default() -> Self {
        Self { monitor_id: String::new(), enabled: true, monitoring_only: false, must_be_healthy: false }
    }
}
