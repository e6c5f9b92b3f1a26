//! The evaluation tree and its evaluation.
//!
//! Evaluation borrows everything from the [`Context`] and the compiled tree:
//! it never allocates. Recursion follows the tree, whose depth the parser
//! bounds. Values that are one slice (most fields, array elements, header
//! values lent by a [`HeaderSource`](crate::HeaderSource)) are
//! tested in place; transformed values are produced into a stack buffer, or
//! streamed through the test when longer than [`INLINE_VALUE`].

use alloc::boxed::Box;

use super::Context;
use super::decode::DecodeSink;
use super::fields::{self, BytesField, Slot};
use super::matchers::{BytesTest, INLINE_VALUE, IntTest, IpTest};
use super::stream::{CountSink, MapSink, RangeSink, RemoveSink, Sink, push_int};
use crate::request::{Scheme, cookie_pairs};

/// A compiled boolean expression.
#[derive(Clone, Debug)]
pub(crate) enum Node {
    And(Box<[Node]>),
    Or(Box<[Node]>),
    Xor(Box<[Node]>),
    Not(Box<Node>),
    Ssl,
    /// A test on a string; `negate` is `ne` (false when the value is missing).
    Bytes {
        value: BytesExpr,
        test: BytesTest,
        negate: bool,
    },
    Int {
        value: IntExpr,
        test: IntTest,
        negate: bool,
    },
    /// A test on `ip.src`.
    Ip {
        test: IpTest,
        negate: bool,
    },
    /// `any`/`all` of `pred` over the elements of `array`.
    Quantified {
        all: bool,
        array: ArrayExpr,
        pred: Box<Node>,
    },
}

/// A string value.
#[derive(Clone, Debug)]
pub(crate) enum BytesExpr {
    Field(BytesField),
    Literal(Box<[u8]>),
    /// The current element of the enclosing `any`/`all`.
    Elem,
    /// `array[n]`.
    At(ArrayExpr, u32),
    Lower(Box<BytesExpr>),
    Upper(Box<BytesExpr>),
    UrlDecode {
        inner: Box<BytesExpr>,
        recursive: bool,
        unicode: bool,
    },
    Substring {
        inner: Box<BytesExpr>,
        start: i64,
        end: Option<i64>,
    },
    RemoveBytes {
        inner: Box<BytesExpr>,
        remove: Box<[bool; 256]>,
    },
    Concat(Box<[Part]>),
}

/// A `concat` argument.
#[derive(Clone, Debug)]
pub(crate) enum Part {
    Bytes(BytesExpr),
    Int(IntExpr),
}

/// An integer value.
#[derive(Clone, Debug)]
pub(crate) enum IntExpr {
    Timestamp,
    Literal(i64),
    /// `len()` of a string.
    Len(Box<BytesExpr>),
    /// `len()` of an array.
    Count(ArrayExpr),
}

/// An array of strings from the request.
#[derive(Clone, Debug)]
pub(crate) enum ArrayExpr {
    /// `http.request.headers["name"]`; the name is lower-case.
    HeaderValues(Box<str>),
    /// `http.request.headers.names`: the names as the request has them
    /// (Cloudflare's field reference: "not pre-processed and retain the
    /// original case used in the request").
    HeaderNames,
    AllHeaderValues,
    ArgValues(Box<[u8]>),
    ArgNames,
    AllArgValues,
    CookieValues(Box<[u8]>),
    /// A key that cannot exist (a header key with upper-case letters).
    Missing,
}

impl Node {
    /// Evaluates the node; `elem` is the current element inside `any`/`all`.
    pub(crate) fn eval(&self, cx: &Context<'_, '_>, elem: Option<&[u8]>) -> bool {
        match self {
            Node::And(items) => items.iter().all(|n| n.eval(cx, elem)),
            Node::Or(items) => items.iter().any(|n| n.eval(cx, elem)),
            Node::Xor(items) => items.iter().fold(false, |acc, n| acc ^ n.eval(cx, elem)),
            Node::Not(inner) => !inner.eval(cx, elem),
            Node::Ssl => cx.request.scheme == Scheme::Https,
            Node::Bytes { value, test, negate } => value.test(test, cx, elem).is_some_and(|r| r != *negate),
            Node::Int { value, test, negate } => value.eval(cx, elem).is_some_and(|n| test.matches(n) != *negate),
            Node::Ip { test, negate } => fields::client_ip(cx).is_some_and(|ip| test.matches(ip) != *negate),
            Node::Quantified { all, array, pred } => {
                let mut result = *all;
                array.for_each(cx, &mut |e| {
                    if pred.eval(cx, Some(e)) == *all {
                        true
                    } else {
                        result = !*all;
                        false
                    }
                });
                result
            }
        }
    }
}

impl BytesExpr {
    /// Tests the value; `None` when it is missing.
    #[inline]
    pub(crate) fn test(&self, test: &BytesTest, cx: &Context<'_, '_>, elem: Option<&[u8]>) -> Option<bool> {
        let mut result = false;
        match self {
            BytesExpr::Field(field) => match field.slot(cx) {
                Slot::Borrowed(value) => return Some(test.matches(value)),
                Slot::Missing => return None,
                Slot::Lent => return field.visit_slice(cx, &mut |v| result = test.matches(v)).map(|_| result),
                Slot::Split => {}
            },
            BytesExpr::Literal(lit) => return Some(test.matches(lit)),
            BytesExpr::Elem => return elem.map(|e| test.matches(e)),
            BytesExpr::At(array, index) => {
                return array.nth(cx, *index, &mut |v| result = test.matches(v)).then_some(result);
            }
            _ => {}
        }
        let mut sink = test.sink();
        self.emit(cx, elem, &mut sink).then(|| sink.finish())
    }

    /// Produces the value into `sink`; `false` when it is missing.
    pub(crate) fn emit(&self, cx: &Context<'_, '_>, elem: Option<&[u8]>, sink: &mut dyn Sink) -> bool {
        match self {
            BytesExpr::Field(field) => field.visit_pieces(cx, &mut |v| sink.push(v)),
            BytesExpr::Literal(lit) => {
                sink.push(lit);
                true
            }
            BytesExpr::Elem => elem.map(|e| sink.push(e)).is_some(),
            BytesExpr::At(array, index) => array.nth(cx, *index, &mut |v| sink.push(v)),
            BytesExpr::Lower(inner) => inner.emit(cx, elem, &mut MapSink { out: sink, map: u8::to_ascii_lowercase }),
            BytesExpr::Upper(inner) => inner.emit(cx, elem, &mut MapSink { out: sink, map: u8::to_ascii_uppercase }),
            BytesExpr::UrlDecode { inner, recursive, unicode } => {
                let mut decode = DecodeSink::new(sink, *recursive, *unicode);
                let present = inner.emit(cx, elem, &mut decode);
                decode.finish();
                present
            }
            BytesExpr::Substring { inner, start, end } => {
                let (skip, take) = if *start >= 0 && end.is_none_or(|e| e >= 0) {
                    // Both from the front: no need to know the length.
                    let (start, end) = (start.unsigned_abs(), end.map_or(u64::MAX, i64::unsigned_abs));
                    (start, end.saturating_sub(start))
                } else {
                    let Some(len) = inner.len(cx, elem) else {
                        return false;
                    };
                    substring_range(len, *start, *end)
                };
                inner.emit(cx, elem, &mut RangeSink { out: sink, skip, take })
            }
            BytesExpr::RemoveBytes { inner, remove } => inner.emit(cx, elem, &mut RemoveSink { out: sink, remove }),
            BytesExpr::Concat(parts) => parts.iter().all(|part| match part {
                Part::Bytes(bytes) => bytes.emit(cx, elem, sink),
                Part::Int(int) => int.eval(cx, elem).map(|n| push_int(sink, n)).is_some(),
            }),
        }
    }

    /// The value's length in bytes; `None` when it is missing. Computed
    /// from the structure where possible, so that only `url_decode` and
    /// `remove_bytes` results are produced to be counted.
    fn len(&self, cx: &Context<'_, '_>, elem: Option<&[u8]>) -> Option<u64> {
        let mut len = 0;
        match self {
            BytesExpr::Field(field) => field.visit_pieces(cx, &mut |v| len += v.len() as u64).then_some(len),
            BytesExpr::Literal(lit) => Some(lit.len() as u64),
            BytesExpr::Elem => elem.map(|e| e.len() as u64),
            BytesExpr::At(array, index) => array.nth(cx, *index, &mut |v| len = v.len() as u64).then_some(len),
            BytesExpr::Lower(inner) | BytesExpr::Upper(inner) => inner.len(cx, elem),
            BytesExpr::Substring { inner, start, end } => {
                inner.len(cx, elem).map(|len| substring_range(len, *start, *end).1)
            }
            BytesExpr::Concat(parts) => parts.iter().try_fold(0u64, |total, part| {
                let len = match part {
                    Part::Bytes(bytes) => bytes.len(cx, elem)?,
                    Part::Int(int) => decimal_len(int.eval(cx, elem)?),
                };
                Some(total.saturating_add(len))
            }),
            BytesExpr::UrlDecode { .. } | BytesExpr::RemoveBytes { .. } => {
                let mut count = CountSink::default();
                self.emit(cx, elem, &mut count).then_some(count.0)
            }
        }
    }

    /// How many times evaluating this value reads the request values in it
    /// (a negative `substring` index needs the inner length first, which
    /// means reading a `url_decode` or `remove_bytes` result twice).
    pub(crate) fn reads(&self) -> u64 {
        match self {
            BytesExpr::Field(_) | BytesExpr::Literal(_) | BytesExpr::Elem | BytesExpr::At(..) => 1,
            BytesExpr::Lower(inner)
            | BytesExpr::Upper(inner)
            | BytesExpr::UrlDecode { inner, .. }
            | BytesExpr::RemoveBytes { inner, .. } => inner.reads(),
            BytesExpr::Substring { inner, start, end } => {
                let counted = *start < 0 || end.is_some_and(|e| e < 0);
                inner.reads().saturating_add(if counted { inner.len_reads() } else { 0 })
            }
            BytesExpr::Concat(parts) => parts.iter().map(Part::reads).max().unwrap_or(0),
        }
    }

    /// How many reads computing the length takes (see [`reads`](Self::reads));
    /// the length of a request value is known without reading it.
    fn len_reads(&self) -> u64 {
        match self {
            BytesExpr::Field(_) | BytesExpr::Literal(_) | BytesExpr::Elem | BytesExpr::At(..) => 0,
            BytesExpr::Lower(inner) | BytesExpr::Upper(inner) | BytesExpr::Substring { inner, .. } => inner.len_reads(),
            BytesExpr::Concat(parts) => parts
                .iter()
                .map(|part| match part {
                    Part::Bytes(bytes) => bytes.len_reads(),
                    Part::Int(int) => int.reads(),
                })
                .max()
                .unwrap_or(0),
            BytesExpr::UrlDecode { .. } | BytesExpr::RemoveBytes { .. } => self.reads(),
        }
    }
}

impl Part {
    fn reads(&self) -> u64 {
        match self {
            Part::Bytes(bytes) => bytes.reads(),
            Part::Int(int) => int.reads(),
        }
    }
}

/// The length of `n` in decimal.
fn decimal_len(n: i64) -> u64 {
    let digits = n.unsigned_abs().checked_ilog10().map_or(1, |d| u64::from(d) + 1);
    digits + u64::from(n < 0)
}

/// `substring(…, start, end)` as bytes to skip and to take, for a value of
/// `len` bytes: negative indexes count from the end, out-of-range ones clamp.
pub(crate) fn substring_range(len: u64, start: i64, end: Option<i64>) -> (u64, u64) {
    let len = i128::from(len);
    let at = |i: i64| {
        let i = i128::from(i);
        if i < 0 { (len + i).max(0) } else { i.min(len) }
    };
    let start = at(start);
    let end = end.map_or(len, at);
    // Both are within 0..=len, which came from a u64.
    (start as u64, (end - start).max(0) as u64)
}

impl IntExpr {
    /// See [`BytesExpr::reads`].
    pub(crate) fn reads(&self) -> u64 {
        match self {
            IntExpr::Len(bytes) => bytes.len_reads(),
            _ => 0,
        }
    }

    pub(crate) fn eval(&self, cx: &Context<'_, '_>, elem: Option<&[u8]>) -> Option<i64> {
        match self {
            IntExpr::Timestamp => fields::timestamp(cx),
            IntExpr::Literal(n) => Some(*n),
            IntExpr::Len(bytes) => bytes.len(cx, elem).map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
            IntExpr::Count(array) => array.count(cx),
        }
    }
}

impl ArrayExpr {
    /// Calls `visit` with each element until it returns `false`.
    pub(crate) fn for_each(&self, cx: &Context<'_, '_>, visit: &mut dyn FnMut(&[u8]) -> bool) {
        let request = cx.request;
        match self {
            ArrayExpr::HeaderValues(name) => request.visit_header_values(name, visit),
            ArrayExpr::HeaderNames => request.visit_headers(&mut |name, _| visit(name.as_bytes())),
            ArrayExpr::AllHeaderValues => request.visit_headers(&mut |_, value| visit(value)),
            ArrayExpr::ArgValues(key) => {
                for (name, value) in request.query_args() {
                    if name.as_bytes() == &**key && !visit(value.as_bytes()) {
                        return;
                    }
                }
            }
            ArrayExpr::ArgNames => {
                for (name, _) in request.query_args() {
                    if !visit(name.as_bytes()) {
                        return;
                    }
                }
            }
            ArrayExpr::AllArgValues => {
                for (_, value) in request.query_args() {
                    if !visit(value.as_bytes()) {
                        return;
                    }
                }
            }
            ArrayExpr::CookieValues(key) => request.visit_cookie_headers(&mut |header| {
                for (name, value) in cookie_pairs(header) {
                    if cookie_name_is(name, key) && !visit(value) {
                        return false;
                    }
                }
                true
            }),
            ArrayExpr::Missing => {}
        }
    }

    /// Calls `visit` with element `index`; `false` when there is none.
    pub(crate) fn nth(&self, cx: &Context<'_, '_>, index: u32, visit: &mut dyn FnMut(&[u8])) -> bool {
        let mut i = 0;
        let mut found = false;
        self.for_each(cx, &mut |value| {
            if i == index {
                visit(value);
                found = true;
                false
            } else {
                i += 1;
                true
            }
        });
        found
    }

    /// The number of elements; a map lookup that finds nothing is missing.
    fn count(&self, cx: &Context<'_, '_>) -> Option<i64> {
        let mut n = 0i64;
        self.for_each(cx, &mut |_| {
            n += 1;
            true
        });
        let keyed = matches!(
            self,
            ArrayExpr::HeaderValues(_) | ArrayExpr::ArgValues(_) | ArrayExpr::CookieValues(_) | ArrayExpr::Missing
        );
        if n == 0 && keyed { None } else { Some(n) }
    }
}

/// Whether a raw cookie name, percent-decoded, equals `key`
/// (`http.request.cookies` keys are URL-decoded names).
fn cookie_name_is(raw: &[u8], key: &[u8]) -> bool {
    if !raw.contains(&b'%') {
        return raw == key;
    }
    let hex = |b: u8| (b as char).to_digit(16);
    let (mut i, mut k) = (0, 0);
    while i < raw.len() {
        let decoded = match (raw[i], raw.get(i + 1).and_then(|&b| hex(b)), raw.get(i + 2).and_then(|&b| hex(b))) {
            (b'%', Some(high), Some(low)) => {
                i += 3;
                (high << 4 | low) as u8
            }
            (b, _, _) => {
                i += 1;
                b
            }
        };
        if key.get(k) != Some(&decoded) {
            return false;
        }
        k += 1;
    }
    k == key.len()
}

// The stack buffer must hold typical paths and hosts.
const _: () = assert!(INLINE_VALUE >= 128);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substring_ranges() {
        assert_eq!(substring_range(8, 3, Some(6)), (3, 3));
        assert_eq!(substring_range(8, -2, None), (6, 2));
        assert_eq!(substring_range(8, 0, Some(-2)), (0, 6));
        assert_eq!(substring_range(8, 6, Some(3)), (6, 0));
        assert_eq!(substring_range(8, i64::MIN, Some(i64::MAX)), (0, 8));
        assert_eq!(substring_range(8, i64::MAX, Some(i64::MIN)), (8, 0));
        assert_eq!(substring_range(u64::MAX, -1, None), (u64::MAX - 1, 1));
    }

    #[test]
    fn decimal_lengths() {
        for n in [0, 9, 10, -1, -10, 99, 100, i64::MAX, i64::MIN] {
            assert_eq!(decimal_len(n), alloc::format!("{n}").len() as u64, "{n}");
        }
    }

    #[test]
    fn cookie_names_are_url_decoded() {
        assert!(cookie_name_is(b"app", b"app"));
        assert!(cookie_name_is(b"my%20app", b"my app"));
        assert!(cookie_name_is(b"a%2", b"a%2"));
        assert!(!cookie_name_is(b"my%20app", b"my%20app"));
        assert!(!cookie_name_is(b"ab%41", b"abAx"));
    }
}
