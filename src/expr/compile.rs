//! Lowering the type-checked tree to the evaluation tree: resolving fields
//! to accessors, building every matcher (regex DFAs, wildcards, sets,
//! substring searchers) and fusing `lower(x) == "lit"` into a
//! case-insensitive comparison.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;

use super::ast::{
    Arg, CmpOp, Comparison, Expr, Function, Index, IntItem, IpItem, LogicalOp, Quantifier, Rhs, Scalar, Test, Ty, Value,
};
use super::error::{ErrorKind, ExprError};
use super::eval::{ArrayExpr, BytesExpr, IntExpr, Node, Part};
use super::fields::{BytesField, Field};
use super::lexer::regex_source_offset;
use super::matchers::{BytesTest, Contains, IntTest, IpSet, IpTest, Kmp, OrderOp, RangeSet, StrSet};
use super::regex::{Regex, RegexError};
use super::wildcard::Wildcard;
use super::{MAX_REGEX_SIZE, MAX_REGEX_TOTAL, MAX_VALUE_READS};

/// Lowers a parsed expression.
pub(crate) fn compile(src: &str, expr: &Expr) -> Result<Node, ExprError> {
    Compiler { src, regex_bytes: 0 }.expr(expr)
}

struct Compiler<'s> {
    src: &'s str,
    /// Memory held by the regexes built so far.
    regex_bytes: usize,
}

/// An internal inconsistency between parser and compiler; reported as an
/// error rather than a panic.
fn internal(at: usize) -> ExprError {
    ExprError::new(at, ErrorKind::Type(String::from("internal error: unexpected expression shape")))
}

impl Compiler<'_> {
    fn expr(&mut self, expr: &Expr) -> Result<Node, ExprError> {
        Ok(match expr {
            Expr::Logical(op, items) => {
                let nodes = items.iter().map(|item| self.expr(item)).collect::<Result<Box<[Node]>, _>>()?;
                match op {
                    LogicalOp::And => Node::And(nodes),
                    LogicalOp::Or => Node::Or(nodes),
                    LogicalOp::Xor => Node::Xor(nodes),
                }
            }
            Expr::Not(inner) => Node::Not(Box::new(self.expr(inner)?)),
            Expr::Quantified(quantifier, cmp) => {
                let mut each = None;
                let pred = self.comparison(cmp, &mut each)?;
                let Some(array) = each else {
                    return Err(internal(cmp.span.0));
                };
                Node::Quantified { all: *quantifier == Quantifier::All, array, pred: Box::new(pred) }
            }
            Expr::Compare(cmp) => self.comparison(cmp, &mut None)?,
        })
    }

    /// `each` receives the array that a `[*]` in the comparison iterates.
    fn comparison(&mut self, cmp: &Comparison, each: &mut Option<ArrayExpr>) -> Result<Node, ExprError> {
        let Some(test) = &cmp.test else {
            return self.boolean(&cmp.lhs, each);
        };
        let negate = test.op == CmpOp::Ne;
        match &test.rhs {
            Rhs::Bytes(_) | Rhs::Regex(_) | Rhs::BytesSet(_) => {
                let value = self.bytes(&cmp.lhs, each)?;
                check_reads(value.reads(), cmp.span.0)?;
                let test = self.bytes_test(test)?;
                let (value, test) = fuse(value, test);
                Ok(Node::Bytes { value, test, negate })
            }
            Rhs::Int(_) | Rhs::IntSet(_) => {
                let value = self.int(&cmp.lhs, each)?;
                check_reads(value.reads(), cmp.span.0)?;
                let test = match (&test.rhs, order(test.op)) {
                    (Rhs::Int(n), Some(op)) => IntTest::Order(op, *n),
                    (Rhs::Int(n), None) => IntTest::Eq(*n),
                    (Rhs::IntSet(items), _) => IntTest::In(int_set(items)),
                    _ => return Err(internal(test.span.0)),
                };
                Ok(Node::Int { value, test, negate })
            }
            Rhs::Ip(_) | Rhs::IpSet(_) => {
                if !matches!(cmp.lhs, Value::Field(Field::IpSrc, _)) {
                    return Err(internal(cmp.span.0));
                }
                let test = match (&test.rhs, order(test.op)) {
                    (Rhs::Ip(ip), Some(op)) => IpTest::Order(op, *ip),
                    (Rhs::Ip(ip), None) => IpTest::Eq(*ip),
                    (Rhs::IpSet(items), _) => IpTest::In(Box::new(ip_set(items))),
                    _ => return Err(internal(test.span.0)),
                };
                Ok(Node::Ip { test, negate })
            }
        }
    }

    /// A `Bool` value used as a condition.
    fn boolean(&mut self, value: &Value, each: &mut Option<ArrayExpr>) -> Result<Node, ExprError> {
        match value {
            Value::Field(Field::Ssl, _) => Ok(Node::Ssl),
            Value::Index(base, Index::Each, _) => self.boolean(base, each),
            Value::Call(call) => {
                let (Some(source), Some(Arg::Bytes(lit))) = (call.args.first(), call.args.get(1)) else {
                    return Err(internal(call.span.0));
                };
                let test = match call.func {
                    Function::StartsWith => BytesTest::StartsWith(lit.as_slice().into()),
                    Function::EndsWith => BytesTest::EndsWith(Kmp::new(lit)),
                    _ => return Err(internal(call.span.0)),
                };
                let value = self.bytes_arg(source, each)?;
                check_reads(value.reads(), call.span.0)?;
                Ok(Node::Bytes { value, test, negate: false })
            }
            _ => Err(internal(value.span().0)),
        }
    }

    fn bytes_test(&mut self, test: &Test) -> Result<BytesTest, ExprError> {
        let at = test.span.0;
        Ok(match (&test.rhs, test.op) {
            (Rhs::Bytes(lit), CmpOp::Eq | CmpOp::Ne) => BytesTest::Eq(lit.as_slice().into()),
            (Rhs::Bytes(lit), CmpOp::Contains) => BytesTest::Contains(Box::new(Contains::new(lit))),
            (Rhs::Bytes(lit), CmpOp::Wildcard | CmpOp::StrictWildcard) => {
                match Wildcard::new(lit, test.op == CmpOp::Wildcard) {
                    Ok(w) => BytesTest::Wildcard(Box::new(w)),
                    Err(message) => return Err(ExprError::new(at, ErrorKind::Wildcard(message))),
                }
            }
            (Rhs::Bytes(lit), op) => match order(op) {
                Some(op) => BytesTest::Order(op, lit.as_slice().into()),
                None => return Err(internal(at)),
            },
            (Rhs::Regex(pattern), _) => BytesTest::Regex(Box::new(self.regex(pattern, at)?)),
            (Rhs::BytesSet(items), _) => BytesTest::In(StrSet::new(items)),
            _ => return Err(internal(at)),
        })
    }

    fn regex(&mut self, pattern: &str, at: usize) -> Result<Regex, ExprError> {
        let re = Regex::new(pattern).map_err(|err| match err {
            RegexError::Syntax(offset, message) => {
                ExprError::new(regex_source_offset(self.src, at, offset), ErrorKind::Regex(message))
            }
            RegexError::TooLarge => ExprError::new(at, ErrorKind::RegexTooLarge { limit: MAX_REGEX_SIZE }),
            RegexError::Unsupported(message) => ExprError::new(at, ErrorKind::Regex(message)),
        })?;
        self.regex_bytes += re.memory_usage();
        if self.regex_bytes > MAX_REGEX_TOTAL {
            return Err(ExprError::new(
                at,
                ErrorKind::TooMany { what: "bytes of compiled regexes", limit: MAX_REGEX_TOTAL },
            ));
        }
        Ok(re)
    }

    /// A `String` value.
    fn bytes(&mut self, value: &Value, each: &mut Option<ArrayExpr>) -> Result<BytesExpr, ExprError> {
        let at = value.span().0;
        match value {
            Value::Field(field, _) => BytesField::of(*field).map(BytesExpr::Field).ok_or_else(|| internal(at)),
            Value::Index(base, Index::Elem(n), _) => Ok(BytesExpr::At(self.array(base)?, *n)),
            Value::Index(base, Index::Each, _) => {
                if let Value::Call(_) = **base {
                    // `f(x[*])[*]`: the call already works element-wise.
                    return self.bytes(base, each);
                }
                *each = Some(self.array(base)?);
                Ok(BytesExpr::Elem)
            }
            Value::Index(..) => Err(internal(at)),
            Value::Call(call) => {
                let args = &call.args;
                if call.func == Function::Concat {
                    let mut parts = Vec::with_capacity(args.len());
                    for arg in args {
                        parts.push(match arg {
                            Arg::Int(n) => Part::Int(IntExpr::Literal(*n)),
                            Arg::Value(v) if matches!(v.ty(), Ty::Scalar(Scalar::Int) | Ty::Each(Scalar::Int)) => {
                                Part::Int(self.int(v, each)?)
                            }
                            other => Part::Bytes(self.bytes_arg(other, each)?),
                        });
                    }
                    return Ok(BytesExpr::Concat(parts.into()));
                }
                let Some(first) = args.first() else {
                    return Err(internal(at));
                };
                let inner = Box::new(self.bytes_arg(first, each)?);
                Ok(match call.func {
                    Function::Lower => match *inner {
                        BytesExpr::Lower(x) | BytesExpr::Upper(x) => BytesExpr::Lower(x),
                        other => BytesExpr::Lower(Box::new(other)),
                    },
                    Function::Upper => match *inner {
                        BytesExpr::Lower(x) | BytesExpr::Upper(x) => BytesExpr::Upper(x),
                        other => BytesExpr::Upper(Box::new(other)),
                    },
                    Function::UrlDecode => {
                        let options = match args.get(1) {
                            Some(Arg::Bytes(options)) => options.as_slice(),
                            _ => b"",
                        };
                        BytesExpr::UrlDecode {
                            inner,
                            recursive: options.contains(&b'r'),
                            unicode: options.contains(&b'u'),
                        }
                    }
                    Function::Substring => {
                        let int = |i: usize| match args.get(i) {
                            Some(Arg::Int(n)) => Some(*n),
                            _ => None,
                        };
                        let Some(start) = int(1) else {
                            return Err(internal(at));
                        };
                        BytesExpr::Substring { inner, start, end: int(2) }
                    }
                    Function::RemoveBytes => {
                        let mut remove = Box::new([false; 256]);
                        if let Some(Arg::Bytes(bytes)) = args.get(1) {
                            for &b in bytes {
                                remove[usize::from(b)] = true;
                            }
                        }
                        BytesExpr::RemoveBytes { inner, remove }
                    }
                    _ => return Err(internal(at)),
                })
            }
        }
    }

    /// A function argument used as a `String`.
    fn bytes_arg(&mut self, arg: &Arg, each: &mut Option<ArrayExpr>) -> Result<BytesExpr, ExprError> {
        match arg {
            Arg::Value(value) => self.bytes(value, each),
            Arg::Bytes(bytes) => Ok(BytesExpr::Literal(bytes.as_slice().into())),
            Arg::Int(_) => Err(internal(0)),
        }
    }

    /// An `Int` value.
    fn int(&mut self, value: &Value, each: &mut Option<ArrayExpr>) -> Result<IntExpr, ExprError> {
        let at = value.span().0;
        match value {
            Value::Field(Field::Timestamp, _) => Ok(IntExpr::Timestamp),
            Value::Index(base, Index::Each, _) => self.int(base, each),
            Value::Call(call) if call.func == Function::Len => match call.args.first() {
                Some(Arg::Value(v)) if matches!(v.ty(), Ty::Array(_)) => Ok(IntExpr::Count(self.array(v)?)),
                Some(arg) => Ok(IntExpr::Len(Box::new(self.bytes_arg(arg, each)?))),
                None => Err(internal(at)),
            },
            _ => Err(internal(at)),
        }
    }

    /// An `Array<String>` value: an array field or a map lookup.
    fn array(&mut self, value: &Value) -> Result<ArrayExpr, ExprError> {
        let at = value.span().0;
        Ok(match value {
            Value::Field(Field::HeadersNames, _) => ArrayExpr::HeaderNames,
            Value::Field(Field::HeadersValues, _) => ArrayExpr::AllHeaderValues,
            Value::Field(Field::UriArgsNames, _) => ArrayExpr::ArgNames,
            Value::Field(Field::UriArgsValues, _) => ArrayExpr::AllArgValues,
            Value::Index(map, Index::Key(key), _) => match **map {
                // Header map keys are lower-cased names: a key with an
                // upper-case letter (or not UTF-8) never matches.
                Value::Field(Field::Headers, _) => match core::str::from_utf8(key) {
                    Ok(name) if !name.bytes().any(|b| b.is_ascii_uppercase()) => ArrayExpr::HeaderValues(name.into()),
                    _ => ArrayExpr::Missing,
                },
                Value::Field(Field::UriArgs, _) => ArrayExpr::ArgValues(key.as_slice().into()),
                Value::Field(Field::Cookies, _) => ArrayExpr::CookieValues(key.as_slice().into()),
                _ => return Err(internal(at)),
            },
            _ => return Err(internal(at)),
        })
    }
}

/// Bounds the work of one comparison: nested negative `substring` indexes
/// over `url_decode` would otherwise double it at every level.
fn check_reads(reads: u64, at: usize) -> Result<(), ExprError> {
    if reads > MAX_VALUE_READS as u64 {
        return Err(ExprError::new(
            at,
            ErrorKind::TooMany {
                what: "reads of one value (nested negative substring indexes)",
                limit: MAX_VALUE_READS,
            },
        ));
    }
    Ok(())
}

fn order(op: CmpOp) -> Option<OrderOp> {
    Some(match op {
        CmpOp::Lt => OrderOp::Lt,
        CmpOp::Le => OrderOp::Le,
        CmpOp::Gt => OrderOp::Gt,
        CmpOp::Ge => OrderOp::Ge,
        _ => return None,
    })
}

/// Whether a value is tested in place (no stack buffer, no stream).
fn is_direct(value: &BytesExpr) -> bool {
    matches!(value, BytesExpr::Field(f) if *f != BytesField::Uri)
        || matches!(value, BytesExpr::Literal(_) | BytesExpr::Elem | BytesExpr::At(..))
}

/// Fuses `lower(x) == "lit"` / `upper(x) == "LIT"` over an in-place value
/// into one case-insensitive comparison.
fn fuse(value: BytesExpr, test: BytesTest) -> (BytesExpr, BytesTest) {
    match (value, test) {
        (BytesExpr::Lower(inner), BytesTest::Eq(lit)) if is_direct(&inner) => {
            let test = if lit.iter().any(u8::is_ascii_uppercase) { BytesTest::Never } else { BytesTest::EqFold(lit) };
            (*inner, test)
        }
        (BytesExpr::Upper(inner), BytesTest::Eq(lit)) if is_direct(&inner) => {
            let test = if lit.iter().any(u8::is_ascii_lowercase) { BytesTest::Never } else { BytesTest::EqFold(lit) };
            (*inner, test)
        }
        (value, test) => (value, test),
    }
}

fn int_set(items: &[IntItem]) -> RangeSet<i64> {
    RangeSet::new(
        items
            .iter()
            .map(|item| match *item {
                IntItem::One(n) => (n, n),
                IntItem::Range(a, b) => (a, b),
            })
            .collect(),
    )
}

fn ip_set(items: &[IpItem]) -> IpSet {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for item in items {
        let (start, end) = match *item {
            IpItem::One(ip) => (ip, ip),
            IpItem::Range(a, b) => (a, b),
            IpItem::Cidr(ip, len) => match ip {
                IpAddr::V4(a) => {
                    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
                    let base = u32::from(a) & mask;
                    v4.push((base, base | !mask));
                    continue;
                }
                IpAddr::V6(a) => {
                    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
                    let base = u128::from(a) & mask;
                    v6.push((base, base | !mask));
                    continue;
                }
            },
        };
        match (start, end) {
            (IpAddr::V4(a), IpAddr::V4(b)) => v4.push((u32::from(a), u32::from(b))),
            (IpAddr::V6(a), IpAddr::V6(b)) => v6.push((u128::from(a), u128::from(b))),
            _ => {}
        }
    }
    IpSet { v4: RangeSet::new(v4), v6: RangeSet::new(v6) }
}
