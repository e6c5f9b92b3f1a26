//! The parsed, type-checked expression tree.
//!
//! The parser produces it, the printer ([`print`](super::print)) writes it
//! back as canonical source, and [`compile`](super::compile) lowers it to the
//! evaluation tree. Source positions are kept for compile-time errors but do
//! not take part in equality, so a tree equals the tree parsed from its
//! printed form.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;

use super::fields::Field;

/// A byte offset into the source. Every `Span` equals every other, so that
/// trees compare by structure only.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Span(pub(crate) usize);

impl PartialEq for Span {
    fn eq(&self, _: &Span) -> bool {
        true
    }
}

impl Eq for Span {}

/// A scalar type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scalar {
    Bytes,
    Int,
    Ip,
    Bool,
}

impl Scalar {
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Scalar::Bytes => "String",
            Scalar::Int => "Int",
            Scalar::Ip => "IP address",
            Scalar::Bool => "Bool",
        }
    }
}

/// The type of a value expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    /// One value (possibly missing at run time).
    Scalar(Scalar),
    /// `Array<T>`, from a field or a map lookup.
    Array(Scalar),
    /// `Map<Array<T>>`.
    Map(Scalar),
    /// `Array<T>` made by a function applied to `x[*]`; usable only with `[*]`
    /// or, for `Bool`, by `any`/`all`.
    Mapped(Scalar),
    /// The elements of an array, one at a time (`x[*]`).
    Each(Scalar),
}

impl Ty {
    /// A human-readable type name for error messages.
    pub(crate) fn describe(self) -> String {
        use alloc::format;
        match self {
            Ty::Scalar(s) => String::from(s.name()),
            Ty::Array(s) | Ty::Mapped(s) => format!("Array<{}>", s.name()),
            Ty::Map(s) => format!("Map<Array<{}>>", s.name()),
            Ty::Each(s) => format!("{} (each element of [*])", s.name()),
        }
    }
}

/// `and`, `xor`, `or`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LogicalOp {
    And,
    Xor,
    Or,
}

impl LogicalOp {
    /// Binding strength: higher binds tighter.
    pub(crate) const fn precedence(self) -> u8 {
        match self {
            LogicalOp::Or => 1,
            LogicalOp::Xor => 2,
            LogicalOp::And => 3,
        }
    }

    pub(crate) const fn keyword(self) -> &'static str {
        match self {
            LogicalOp::And => "and",
            LogicalOp::Xor => "xor",
            LogicalOp::Or => "or",
        }
    }
}

/// `any(…)` or `all(…)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Quantifier {
    Any,
    All,
}

/// A boolean expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Expr {
    /// Two or more operands joined by one operator.
    Logical(LogicalOp, Vec<Expr>),
    Not(Box<Expr>),
    /// `any(cmp)` / `all(cmp)` over a comparison of type `Array<Bool>`.
    Quantified(Quantifier, Box<Comparison>),
    Compare(Comparison),
}

/// `lhs [op rhs]`: without an operator the left side is a `Bool` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Comparison {
    pub(crate) lhs: Value,
    pub(crate) test: Option<Test>,
    pub(crate) span: Span,
}

/// The operator and right-hand side of a comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Test {
    pub(crate) op: CmpOp,
    pub(crate) rhs: Rhs,
    /// Where the right-hand side starts.
    pub(crate) span: Span,
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    Matches,
    Wildcard,
    StrictWildcard,
    In,
}

impl CmpOp {
    /// The English spelling, used by the printer.
    pub(crate) const fn keyword(self) -> &'static str {
        match self {
            CmpOp::Eq => "eq",
            CmpOp::Ne => "ne",
            CmpOp::Lt => "lt",
            CmpOp::Le => "le",
            CmpOp::Gt => "gt",
            CmpOp::Ge => "ge",
            CmpOp::Contains => "contains",
            CmpOp::Matches => "matches",
            CmpOp::Wildcard => "wildcard",
            CmpOp::StrictWildcard => "strict wildcard",
            CmpOp::In => "in",
        }
    }
}

/// The right-hand side of a comparison, typed by the left-hand side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Rhs {
    /// A string (for `eq` … `ge`, `contains`, and the wildcard operators).
    Bytes(Vec<u8>),
    /// A regex pattern, as handed to the regex parser.
    Regex(String),
    Int(i64),
    Ip(IpAddr),
    BytesSet(Vec<Vec<u8>>),
    IntSet(Vec<IntItem>),
    IpSet(Vec<IpItem>),
}

/// An item of an integer set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IntItem {
    One(i64),
    /// Inclusive, `start <= end`.
    Range(i64, i64),
}

/// An item of an IP set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IpItem {
    One(IpAddr),
    /// An address and a prefix length; host bits may be set (they are ignored).
    Cidr(IpAddr, u8),
    /// Inclusive, same family, `start <= end`.
    Range(IpAddr, IpAddr),
}

/// A value: a field or a function call, with indexes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    Field(Field, Span),
    Index(Box<Value>, Index, Span),
    Call(Call),
}

/// `[n]`, `["key"]` or `[*]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Index {
    Elem(u32),
    Key(Vec<u8>),
    Each,
}

/// A function call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Call {
    pub(crate) func: Function,
    pub(crate) args: Vec<Arg>,
    pub(crate) span: Span,
}

/// A function argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Arg {
    Value(Value),
    Bytes(Vec<u8>),
    Int(i64),
}

/// A function the engine provides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Function {
    Lower,
    Upper,
    StartsWith,
    EndsWith,
    Len,
    Concat,
    UrlDecode,
    Substring,
    RemoveBytes,
}

impl Function {
    pub(crate) const ALL: [Function; 9] = [
        Function::Lower,
        Function::Upper,
        Function::StartsWith,
        Function::EndsWith,
        Function::Len,
        Function::Concat,
        Function::UrlDecode,
        Function::Substring,
        Function::RemoveBytes,
    ];

    pub(crate) const fn name(self) -> &'static str {
        match self {
            Function::Lower => "lower",
            Function::Upper => "upper",
            Function::StartsWith => "starts_with",
            Function::EndsWith => "ends_with",
            Function::Len => "len",
            Function::Concat => "concat",
            Function::UrlDecode => "url_decode",
            Function::Substring => "substring",
            Function::RemoveBytes => "remove_bytes",
        }
    }

    pub(crate) fn lookup(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// Rules-language functions that exist but are not available in these
/// phases; naming one gives a clearer error than "unknown function".
pub(crate) const UNSUPPORTED_FUNCTIONS: &[&str] = &[
    "regex_replace",
    "wildcard_replace",
    "to_string",
    "uuidv4",
    "decode_base64",
    "encode_base64",
    "sha256",
    "cidr",
    "cidr6",
    "lookup_json_string",
    "lookup_json_integer",
    "is_timed_hmac_valid_v0",
    "bit_slice",
    "has_key",
    "has_value",
    "join",
    "split",
];

impl Value {
    /// Where the value starts in the source.
    pub(crate) fn span(&self) -> Span {
        match self {
            Value::Field(_, span) => *span,
            Value::Index(base, _, _) => base.span(),
            Value::Call(call) => call.span,
        }
    }

    /// The value's type. The parser only builds well-typed values, so this
    /// cannot fail on a parsed tree; ill-typed shapes yield `Scalar(Bool)`.
    pub(crate) fn ty(&self) -> Ty {
        match self {
            Value::Field(field, _) => field.ty(),
            Value::Index(base, index, _) => match (base.ty(), index) {
                (Ty::Array(s), Index::Elem(_)) => Ty::Scalar(s),
                (Ty::Map(s), Index::Key(_)) => Ty::Array(s),
                (Ty::Array(s) | Ty::Mapped(s), Index::Each) => Ty::Each(s),
                _ => Ty::Scalar(Scalar::Bool),
            },
            Value::Call(call) => {
                let each = matches!(call.args.first(), Some(Arg::Value(v)) if matches!(v.ty(), Ty::Each(_)));
                let out = match call.func {
                    Function::StartsWith | Function::EndsWith => Scalar::Bool,
                    Function::Len => Scalar::Int,
                    _ => Scalar::Bytes,
                };
                if each { Ty::Mapped(out) } else { Ty::Scalar(out) }
            }
        }
    }
}

impl Arg {
    pub(crate) fn ty(&self) -> Ty {
        match self {
            Arg::Value(v) => v.ty(),
            Arg::Bytes(_) => Ty::Scalar(Scalar::Bytes),
            Arg::Int(_) => Ty::Scalar(Scalar::Int),
        }
    }
}
