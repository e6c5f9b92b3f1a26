//! Compile errors: a byte offset into the expression and what went wrong there.

use alloc::string::String;

/// Why an expression was rejected: where, and what kind of problem.
///
/// The offset is a byte offset into the source and always lies on a UTF-8
/// character boundary, so `&source[err.offset()..]` is the text from the
/// problem onwards. `Display` reads like `at 14: expected a value after "eq"`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at {offset}: {kind}")]
pub struct ExprError {
    offset: usize,
    kind: ErrorKind,
}

impl ExprError {
    pub(crate) fn new(offset: usize, kind: ErrorKind) -> Self {
        ExprError { offset, kind }
    }

    /// The byte offset in the expression where the problem starts.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

/// What went wrong while compiling an expression. The `Display` form is the
/// message without the position.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The expression is empty or only whitespace.
    #[error("the expression is empty")]
    Empty,
    /// The expression is longer than [`MAX_EXPRESSION_LEN`](super::MAX_EXPRESSION_LEN).
    #[error("the expression is longer than {limit} characters")]
    TooLong {
        /// The limit, in characters.
        limit: usize,
    },
    /// Parentheses, `not`, function calls and `any`/`all` nest deeper than
    /// [`MAX_NESTING_DEPTH`](super::MAX_NESTING_DEPTH).
    #[error("the expression nests deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// A token other than the one the grammar allows here.
    #[error("expected {expected}, found {found}")]
    Unexpected {
        /// What the grammar allows here.
        expected: &'static str,
        /// What was there instead (a quoted excerpt, or "the end of the expression").
        found: String,
    },
    /// A comparison operator with nothing after it.
    #[error("expected a value after \"{op}\"")]
    MissingValue {
        /// The operator as written.
        op: &'static str,
    },
    /// A field this engine does not provide (including Rules-language fields
    /// of other phases, such as `http.request.full_uri`).
    #[error("unknown field \"{0}\"")]
    UnknownField(String),
    /// A function name nobody defines.
    #[error("unknown function \"{0}\"")]
    UnknownFunction(String),
    /// A Rules-language function that load-balancer rules and Origin Rules
    /// cannot use (such as `regex_replace`).
    #[error("function \"{0}\" is not available in load-balancer rules or Origin Rules")]
    UnsupportedFunction(String),
    /// A Rules-language feature this engine deliberately leaves out.
    #[error("{0}")]
    Unsupported(&'static str),
    /// A value of the wrong type, or a construct that does not type-check.
    #[error("{0}")]
    Type(String),
    /// A malformed literal: string escape, integer, IP address, CIDR or range.
    #[error("{0}")]
    Literal(String),
    /// The regular expression does not parse, or uses something a DFA cannot do.
    #[error("invalid regex: {0}")]
    Regex(String),
    /// The regular expression compiles to a DFA larger than the limit.
    #[error("the regex is too large once compiled (limit {limit} bytes)")]
    RegexTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A malformed wildcard pattern.
    #[error("invalid wildcard pattern: {0}")]
    Wildcard(&'static str),
    /// More than a limit's worth of something: set items, `[*]`, regexes.
    #[error("too many {what} (limit {limit})")]
    TooMany {
        /// What there are too many of.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
}
