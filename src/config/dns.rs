//! DNS records of the account. Only `CNAME` records route: a hostname whose
//! CNAME chain reaches a load balancer's name is served by that load
//! balancer. `A` and `AAAA` records route nowhere, but a record more
//! specific than a load balancer wins over it (Cloudflare's "DNS records
//! for load balancing": an `A`, `AAAA` or `CNAME` record for
//! `y.example.com` beats a load balancer for `*.example.com`), so they keep
//! a wildcard load balancer, or a disabled one of their name, from serving
//! their name.

use alloc::string::String;

use serde::{Deserialize, Serialize};

/// A DNS record (`/zones/{id}/dns_records`). `CNAME`, `A` and `AAAA`
/// records count; records of other types are accepted and ignored.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DnsRecord {
    /// The API's id, when the document came from the API.
    pub id: Option<String>,
    /// Record type: `CNAME` routes, `A` and `AAAA` shadow less specific load
    /// balancers, other types are ignored.
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

    /// Whether this is an `A` or `AAAA` record (the type is
    /// case-insensitive).
    pub fn is_address(&self) -> bool {
        self.kind.eq_ignore_ascii_case("A") || self.kind.eq_ignore_ascii_case("AAAA")
    }
}
