//! Origin Rules: zone-level `route` rules of the Rulesets API
//! (`http_request_origin` phase), evaluated on the incoming request before
//! the hostname is looked up.

use alloc::string::String;

use serde::{Deserialize, Serialize};

use super::de::yes;

/// One rule of an `http_request_origin` ruleset.
///
/// Rules are evaluated in order; every matching rule applies, and a later
/// rule's fields override an earlier rule's, field by field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OriginRule {
    /// The API's id, when the document came from the API.
    pub id: Option<String>,
    /// Free text.
    pub description: String,
    /// A Rules-language expression over the incoming request.
    pub expression: String,
    /// The action; only `route` exists in this phase. Unset means `route`.
    pub action: Option<String>,
    /// What the rule changes.
    pub action_parameters: RouteParameters,
    /// A disabled rule is skipped (default enabled).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The rule's stable reference, when the document came from the API.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
}

impl Default for OriginRule {
    fn default() -> Self {
        Self {
            id: None,
            description: String::new(),
            expression: String::new(),
            action: None,
            action_parameters: RouteParameters::default(),
            enabled: true,
            reference: None,
        }
    }
}

/// `action_parameters` of a `route` rule.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RouteParameters {
    /// Host header sent to the origin; also the SNI unless `sni` is set.
    pub host_header: Option<String>,
    /// Destination overrides.
    pub origin: Option<RouteOrigin>,
    /// TLS server name sent to the origin.
    pub sni: Option<RouteSni>,
}

/// `action_parameters.origin`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RouteOrigin {
    /// Resolve the request as this hostname instead (a DNS record override):
    /// a load balancer's name, or a name whose CNAME chain reaches one.
    pub host: Option<String>,
    /// Destination port, 1 to 65535.
    pub port: Option<u16>,
}

/// `action_parameters.sni`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RouteSni {
    /// The server name.
    pub value: String,
}
