//! DNS records of the account. Only `CNAME` records route: a hostname whose
//! CNAME chain reaches a load balancer's name is served by that load
//! balancer.

use alloc::string::String;

use serde::{Deserialize, Serialize};

/// A DNS record (`/zones/{id}/dns_records`). Records of other types are
/// accepted and ignored.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DnsRecord {
    /// The API's id, when the document came from the API.
    pub id: Option<String>,
    /// Record type: `CNAME` routes, other types are ignored.
    #[serde(rename = "type")]
    pub kind: String,
    /// The hostname the record is for (`*.example.com` for a wildcard).
    pub name: String,
    /// For a CNAME, the target hostname.
    pub content: String,
    /// Proxied through Cloudflare (informational).
    pub proxied: Option<bool>,
    /// TTL in seconds (informational).
    pub ttl: Option<u32>,
}

impl DnsRecord {
    /// A `CNAME` record from `name` to `target`.
    pub fn cname(name: impl Into<String>, target: impl Into<String>) -> Self {
        Self { kind: "CNAME".into(), name: name.into(), content: target.into(), ..Self::default() }
    }

    /// Whether this is a `CNAME` record (the type is case-insensitive).
    pub fn is_cname(&self) -> bool {
        self.kind.eq_ignore_ascii_case("CNAME")
    }
}
