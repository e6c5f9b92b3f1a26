//! What the compiler reports: every problem of a configuration, each with
//! the path of the value it is about.

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// The location of a value in an [`Account`](crate::Account), written the
/// way a JSON path reads: `load_balancers[1].default_pools[0]`,
/// `load_balancers[0].region_pools.WNAM[2]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConfigPath {
    segments: Vec<Segment>,
}

/// One step of a [`ConfigPath`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A named field: `.name`.
    Field(&'static str),
    /// A position in a list: `[3]`.
    Index(usize),
    /// A key of a map, such as a region code or a pool id: `.WNAM`.
    Key(Box<str>),
}

impl ConfigPath {
    /// The path of a top-level field of the account.
    pub fn root(field: &'static str) -> Self {
        ConfigPath { segments: alloc::vec![Segment::Field(field)] }
    }

    /// This path, then `.field`.
    pub fn field(&self, field: &'static str) -> Self {
        self.with(Segment::Field(field))
    }

    /// This path, then `[index]`.
    pub fn index(&self, index: usize) -> Self {
        self.with(Segment::Index(index))
    }

    /// This path, then the map key `key`.
    pub fn key(&self, key: &str) -> Self {
        self.with(Segment::Key(key.into()))
    }

    fn with(&self, segment: Segment) -> Self {
        let mut segments = Vec::with_capacity(self.segments.len() + 1);
        segments.extend_from_slice(&self.segments);
        segments.push(segment);
        ConfigPath { segments }
    }

    /// The steps of the path.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Whether `prefix` is this path or an ancestor of it.
    pub fn starts_with(&self, prefix: &ConfigPath) -> bool {
        self.segments.starts_with(&prefix.segments)
    }
}

impl fmt::Display for ConfigPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Field(name) if i == 0 => f.write_str(name)?,
                Segment::Field(name) => write!(f, ".{name}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) if is_plain_key(key) => write!(f, ".{key}")?,
                Segment::Key(key) => write!(f, "[{key:?}]")?,
            }
        }
        Ok(())
    }
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// What is wrong with a value.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A reference to a pool id that no pool has.
    #[error("unknown pool {0:?}")]
    UnknownPool(String),
    /// A reference to a monitor id that no monitor has.
    #[error("unknown monitor {0:?}")]
    UnknownMonitor(String),
    /// A reference to a monitor group id that no group has.
    #[error("unknown monitor group {0:?}")]
    UnknownMonitorGroup(String),
    /// An id, name or hostname that must be unique appears twice.
    #[error("duplicate {what} {value:?}, first at {first}")]
    Duplicate {
        /// What is duplicated (`pool id`, `hostname`, …).
        what: &'static str,
        /// The duplicated value.
        value: String,
        /// Where it first appears.
        first: ConfigPath,
    },
    /// A required value is missing or empty.
    #[error("{0} is required")]
    Missing(&'static str),
    /// A number outside its range.
    #[error("{value} is out of range, expected {expected}")]
    OutOfRange {
        /// The value, as written.
        value: String,
        /// The accepted range.
        expected: &'static str,
    },
    /// A string that is not one of the values the API accepts.
    #[error("unknown value {value:?}, expected one of {}", Expected(expected))]
    UnknownValue {
        /// The value, as written.
        value: String,
        /// The accepted values.
        expected: &'static [&'static str],
    },
    /// A hostname that is not a valid DNS name.
    #[error("invalid hostname {name:?}: {reason}")]
    InvalidHostname {
        /// The name, as written.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A CNAME chain that comes back to a name it already passed.
    #[error("CNAME loop: {}", Chain(chain))]
    CnameLoop {
        /// The names of the loop, starting and ending with the same name.
        chain: Vec<String>,
    },
    /// A CNAME chain longer than [`limits::CNAME_DEPTH`](crate::limits::CNAME_DEPTH).
    #[error("CNAME chain longer than {limit} records: {}", Chain(chain))]
    CnameTooDeep {
        /// The names followed.
        chain: Vec<String>,
        /// The limit.
        limit: usize,
    },
    /// A value that breaks one of the documented limits.
    #[error("{what}: {count} exceeds the limit of {limit}")]
    TooMany {
        /// What is counted.
        what: &'static str,
        /// How many there are.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A Rules-language expression that does not compile; the error carries
    /// the byte offset in the expression.
    #[error("invalid expression: {0}")]
    Expression(crate::expr::ExprError),
    /// Any other invalid value; the text says why.
    #[error("{0}")]
    Invalid(Cow<'static, str>),
}

struct Expected(&'static [&'static str]);

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, value) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{value:?}")?;
        }
        Ok(())
    }
}

struct Chain<'a>(&'a [String]);

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, name) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" -> ")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

/// One problem found in a configuration, with the path of the value it is
/// about. Displays as `path: message`.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{path}: {kind}")]
pub struct Diagnostic {
    /// Where the problem is.
    pub path: ConfigPath,
    /// What the problem is.
    pub kind: ErrorKind,
}

/// A configuration that does not compile, with every problem found.
///
/// The compiler does not stop at the first problem: it checks the whole
/// account and reports them all, in document order.
///
/// ```
/// let account = lbsteer::Account {
///     load_balancers: vec![lbsteer::config::LoadBalancer {
///         name: "www.example.com".into(),
///         default_pools: vec!["nope".into()],
///         ..Default::default()
///     }],
///     ..Default::default()
/// };
/// let err = lbsteer::Table::compile(&account).unwrap_err();
/// let text = err.to_string();
/// assert!(text.contains("load_balancers[0].default_pools[0]: unknown pool \"nope\""), "{text}");
/// assert!(text.contains("load_balancers[0].fallback_pool: fallback pool is required"), "{text}");
/// ```
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct BuildError {
    diagnostics: Vec<Diagnostic>,
}

impl BuildError {
    pub(crate) fn new(diagnostics: Vec<Diagnostic>) -> Self {
        debug_assert!(!diagnostics.is_empty());
        BuildError { diagnostics }
    }

    /// Every problem, in document order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Whether some problem is at `path` or inside it. `path` is written as
    /// [`ConfigPath`] displays (`load_balancers[0].default_pools`).
    pub fn mentions(&self, path: &str) -> bool {
        use alloc::string::ToString;
        self.diagnostics.iter().any(|d| {
            let text = d.path.to_string();
            text == path || text.strip_prefix(path).is_some_and(|rest| rest.starts_with(['.', '[']))
        })
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.diagnostics.len();
        write!(f, "{count} configuration error{}", if count == 1 { "" } else { "s" })?;
        for diagnostic in &self.diagnostics {
            write!(f, "\n  {diagnostic}")?;
        }
        Ok(())
    }
}

/// Collects diagnostics while the compiler walks the account.
#[derive(Default)]
pub(crate) struct Diagnostics {
    pub(crate) errors: Vec<Diagnostic>,
    pub(crate) warnings: Vec<Diagnostic>,
}

impl Diagnostics {
    pub(crate) fn error(&mut self, path: ConfigPath, kind: ErrorKind) {
        self.errors.push(Diagnostic { path, kind });
    }

    pub(crate) fn invalid(&mut self, path: ConfigPath, why: impl Into<Cow<'static, str>>) {
        self.error(path, ErrorKind::Invalid(why.into()));
    }

    pub(crate) fn warning(&mut self, path: ConfigPath, kind: ErrorKind) {
        self.warnings.push(Diagnostic { path, kind });
    }

    /// Checks that a finite number lies in `range`.
    pub(crate) fn check_range(
        &mut self,
        path: impl FnOnce() -> ConfigPath,
        value: f64,
        range: core::ops::RangeInclusive<f64>,
        expected: &'static str,
    ) -> bool {
        if value.is_finite() && range.contains(&value) {
            return true;
        }
        use alloc::string::ToString;
        self.error(path(), ErrorKind::OutOfRange { value: value.to_string(), expected });
        false
    }

    /// Checks that an API enum holds a documented value.
    pub(crate) fn check_known(
        &mut self,
        path: impl FnOnce() -> ConfigPath,
        value: &str,
        known: bool,
        expected: &'static [&'static str],
    ) -> bool {
        if !known {
            self.error(path(), ErrorKind::UnknownValue { value: value.into(), expected });
        }
        known
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn paths_read_like_json() {
        let path = ConfigPath::root("load_balancers").index(1).field("region_pools").key("WNAM").index(0);
        assert_eq!(path.to_string(), "load_balancers[1].region_pools.WNAM[0]");
        let odd = ConfigPath::root("load_balancers").index(0).field("random_steering").key("a b");
        assert_eq!(odd.to_string(), "load_balancers[0].random_steering[\"a b\"]");
        assert!(path.starts_with(&ConfigPath::root("load_balancers").index(1)));
    }

    #[test]
    fn errors_list_every_diagnostic() {
        let err = BuildError::new(alloc::vec![
            Diagnostic { path: ConfigPath::root("pools").index(0).field("id"), kind: ErrorKind::Missing("pool id") },
            Diagnostic {
                path: ConfigPath::root("pools").index(1).field("origin_steering").field("policy"),
                kind: ErrorKind::UnknownValue { value: "x".into(), expected: &["random", "hash"] },
            },
        ]);
        assert_eq!(
            err.to_string(),
            "2 configuration errors\n  pools[0].id: pool id is required\n  \
             pools[1].origin_steering.policy: unknown value \"x\", expected one of \"random\", \"hash\""
        );
        assert!(err.mentions("pools[1]"));
        assert!(err.mentions("pools[0].id"));
        assert!(!err.mentions("pools[0].i"));
        assert!(!err.mentions("pools[2]"));
    }
}
