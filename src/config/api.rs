//! Loading API documents: envelopes, decode errors with paths, and the
//! read-only pool health shape.

use alloc::collections::BTreeMap;
use alloc::string::String;
#[cfg(feature = "std")]
use alloc::string::ToString;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::de::null_default;

/// A JSON document that could not be loaded: not JSON, or a value of the
/// wrong type. `path` names the value (`pools[0].origins[1].port`).
#[cfg(feature = "std")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// Where in the document, in the same notation as compile errors.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// 1-based line of the error (0 when unknown).
    pub line: usize,
    /// 1-based column of the error (0 when unknown).
    pub column: usize,
}

#[cfg(feature = "std")]
impl core::fmt::Display for LoadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if !self.path.is_empty() && self.path != "." {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if self.line > 0 {
            write!(f, " (line {}, column {})", self.line, self.column)?;
        }
        Ok(())
    }
}

#[cfg(feature = "std")]
impl core::error::Error for LoadError {}

#[cfg(feature = "std")]
impl LoadError {
    fn new(path: String, err: &serde_json::Error) -> Self {
        // serde_json appends " at line L column C" to its messages; keep
        // the position in its own fields.
        let text = err.to_string();
        let message = match text.rfind(" at line ") {
            Some(at) if err.line() > 0 => text[..at].into(),
            _ => text,
        };
        Self { path, message, line: err.line(), column: err.column() }
    }
}

#[cfg(feature = "std")]
pub(crate) fn from_json_text<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, LoadError> {
    let mut de = serde_json::Deserializer::from_str(text);
    decode(&mut de).or_else(|first| retry_without_nulls(text.as_bytes(), first))
}

#[cfg(feature = "std")]
pub(super) fn from_json_bytes<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, LoadError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    decode(&mut de).or_else(|first| retry_without_nulls(bytes, first))
}

/// The API writes `null` for a field that is not set, and means its
/// default, as when the field is absent. Most fields read `null` so
/// already; when a document fails to load and has a `null` somewhere, it is
/// read again with every `null` member of every object removed. If that
/// fails too, the first error stands (it has the line and column).
#[cfg(feature = "std")]
fn retry_without_nulls<T: serde::de::DeserializeOwned>(bytes: &[u8], first: LoadError) -> Result<T, LoadError> {
    if !bytes.windows(4).any(|w| w == b"null") {
        return Err(first);
    }
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Err(first);
    };
    remove_null_members(&mut value);
    serde_path_to_error::deserialize(value).map_err(|_| first)
}

/// Removes every `null` member of every object in `value` (`null` array
/// elements stay: a list of nothing is an error to report).
#[cfg(feature = "std")]
fn remove_null_members(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|_, member| !member.is_null());
            map.values_mut().for_each(remove_null_members);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(remove_null_members),
        _ => {}
    }
}

#[cfg(feature = "std")]
fn decode<'de, R: serde_json::de::Read<'de>, T: Deserialize<'de>>(
    de: &mut serde_json::Deserializer<R>,
) -> Result<T, LoadError> {
    let value = serde_path_to_error::deserialize(&mut *de)
        .map_err(|err| LoadError::new(err.path().to_string(), err.inner()))?;
    de.end().map_err(|err| LoadError::new(String::new(), &err))?;
    Ok(value)
}

/// Parses one API object, bare or inside its response envelope
/// (`{"success": true, "result": {...}}`).
///
/// This reads what the Cloudflare API sends for a single monitor, pool or
/// load balancer, and what its documentation shows as request bodies.
///
/// ```
/// let pool: lbsteer::config::Pool = lbsteer::config::from_api_json(
///     r#"{"success": true, "errors": [], "result": {"id": "p", "name": "p", "origins": null}}"#,
/// ).unwrap();
/// assert_eq!(pool.id, "p");
/// assert!(pool.origins.is_empty());
/// ```
#[cfg(feature = "std")]
pub fn from_api_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, LoadError> {
    let value: serde_json::Value = from_json_text(text)?;
    let value = match value {
        serde_json::Value::Object(mut map)
            if map.contains_key("result") && (map.contains_key("success") || map.contains_key("errors")) =>
        {
            map.remove("result").unwrap_or_default()
        }
        other => other,
    };
    let mut value = value;
    remove_null_members(&mut value);
    serde_path_to_error::deserialize(value).map_err(|err| LoadError::new(err.path().to_string(), err.inner()))
}

/// Health of a pool as the API reports it
/// (`GET /accounts/{id}/load_balancers/pools/{pool_id}/health`): per PoP,
/// per origin address. Read-only; useful to seed or compare health state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolHealthDetails {
    /// The pool's id.
    pub pool_id: String,
    /// Health as seen from each PoP, keyed by the PoP's name.
    #[serde(deserialize_with = "null_default")]
    pub pop_health: BTreeMap<String, PopHealthDetails>,
}

/// One PoP's view of a pool.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PopHealthDetails {
    /// Whether the pool is healthy from this PoP.
    pub healthy: bool,
    /// Per origin, keyed by address (one single-key object per origin).
    #[serde(deserialize_with = "null_default")]
    pub origins: Vec<BTreeMap<String, OriginHealthDetails>>,
}

/// One origin's health in [`PopHealthDetails`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OriginHealthDetails {
    /// Whether the origin is healthy.
    pub healthy: bool,
    /// Round-trip time as text, such as `12.1ms`.
    pub rtt: Option<String>,
    /// Why the last probe failed, or `No failures`.
    pub failure_reason: Option<String>,
    /// Status code of the last HTTP probe.
    pub response_code: Option<u16>,
}
