//! Compiled comparisons: everything is built at compile time, and testing a
//! value neither allocates nor locks.
//!
//! A string test works on a whole slice (the fast path) or consumes a value
//! streamed in pieces ([`TestStream`]); both give the same answer.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cmp::Ordering;
use core::net::IpAddr;

use memchr::memmem;

use super::regex::{Regex, RegexStream};
use super::stream::Sink;
use super::wildcard::{WildStream, Wildcard};

/// ASCII case-insensitive equality, branch-free so that it vectorises
/// (the standard `eq_ignore_ascii_case` stops at the first difference).
#[inline]
pub(crate) fn eq_fold(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).fold(0, |diff, (x, y)| diff | (x.to_ascii_lowercase() ^ y.to_ascii_lowercase())) == 0
}

/// `lt`, `le`, `gt`, `ge`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OrderOp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl OrderOp {
    #[inline]
    pub(crate) fn holds(self, ord: Ordering) -> bool {
        match self {
            OrderOp::Lt => ord.is_lt(),
            OrderOp::Le => ord.is_le(),
            OrderOp::Gt => ord.is_gt(),
            OrderOp::Ge => ord.is_ge(),
        }
    }
}

/// How many bytes of a produced value are gathered on the stack to be
/// tested as one slice; longer values are streamed through the test.
pub(crate) const INLINE_VALUE: usize = 256;

/// Knuth–Morris–Pratt matching of one pattern, one byte at a time: the
/// state is how much of the pattern the input currently ends with.
#[derive(Clone, Debug)]
pub(crate) struct Kmp {
    pat: Box<[u8]>,
    fail: Box<[u32]>,
}

impl Kmp {
    pub(crate) fn new(pat: &[u8]) -> Kmp {
        let mut fail = Vec::with_capacity(pat.len());
        let mut k = 0usize;
        for (i, &b) in pat.iter().enumerate() {
            if i == 0 {
                fail.push(0);
                continue;
            }
            while k > 0 && pat[k] != b {
                k = fail[k - 1] as usize;
            }
            if pat[k] == b {
                k += 1;
            }
            // Pattern lengths are bounded by the expression length.
            fail.push(k as u32);
        }
        Kmp { pat: pat.into(), fail: fail.into() }
    }

    pub(crate) fn len(&self) -> usize {
        self.pat.len()
    }

    /// The state after `b`, from state `s`. A full match (`len()`) keeps
    /// going, so that after the last byte the state says whether the input
    /// ends with the pattern.
    #[inline]
    pub(crate) fn step(&self, mut s: usize, b: u8) -> usize {
        if s == self.pat.len() {
            if s == 0 {
                return 0;
            }
            s = self.fail[s - 1] as usize;
        }
        while s > 0 && self.pat[s] != b {
            s = self.fail[s - 1] as usize;
        }
        if self.pat[s] == b { s + 1 } else { 0 }
    }

    /// Where the first match in `hay` ends, lower-casing `hay` on the fly
    /// if `fold` (the pattern is then lower-case already).
    pub(crate) fn find_end(&self, hay: &[u8], fold: bool) -> Option<usize> {
        if self.pat.is_empty() {
            return Some(0);
        }
        let mut s = 0;
        for (i, &b) in hay.iter().enumerate() {
            s = self.step(s, if fold { b.to_ascii_lowercase() } else { b });
            if s == self.pat.len() {
                return Some(i + 1);
            }
        }
        None
    }
}

/// Up to this many strings, a linear scan beats a binary search.
const SMALL_SET: usize = 16;

/// A sorted set of strings. Membership of a slice is a binary search; a
/// streamed value narrows the range of candidates byte by byte (strings
/// sharing a prefix are contiguous in sorted order).
#[derive(Clone, Debug)]
pub(crate) struct StrSet {
    items: Box<[Box<[u8]>]>,
}

impl StrSet {
    pub(crate) fn new(items: &[Vec<u8>]) -> StrSet {
        let mut items: Vec<Box<[u8]>> = items.iter().map(|i| i.as_slice().into()).collect();
        items.sort_unstable();
        items.dedup();
        StrSet { items: items.into() }
    }

    #[inline]
    pub(crate) fn contains(&self, value: &[u8]) -> bool {
        if self.items.len() <= SMALL_SET {
            // Comparing lengths first rejects most items without a memcmp.
            self.items.iter().any(|item| item.len() == value.len() && **item == *value)
        } else {
            self.items.binary_search_by(|item| (**item).cmp(value)).is_ok()
        }
    }

    /// Narrows `lo..hi`, the candidates sharing the first `pos` bytes, by
    /// the byte at `pos`.
    fn narrow(&self, lo: &mut usize, hi: &mut usize, pos: usize, b: u8) {
        let range = &self.items[*lo..*hi];
        let below = |item: &[u8], inclusive: bool| match item.get(pos) {
            None => true,
            Some(&c) => c < b || (inclusive && c == b),
        };
        let start = range.partition_point(|item| below(item, false));
        let end = range.partition_point(|item| below(item, true));
        *hi = *lo + end;
        *lo += start;
    }
}

/// Inclusive ranges, sorted and merged, for `in {…}` over integers and IPs.
#[derive(Clone, Debug)]
pub(crate) struct RangeSet<T> {
    ranges: Box<[(T, T)]>,
}

/// The successor, where there is one (for merging adjacent ranges).
pub(crate) trait Successor: Copy + Ord {
    fn successor(self) -> Option<Self>;
}

impl Successor for i64 {
    fn successor(self) -> Option<i64> {
        self.checked_add(1)
    }
}

impl Successor for u32 {
    fn successor(self) -> Option<u32> {
        self.checked_add(1)
    }
}

impl Successor for u128 {
    fn successor(self) -> Option<u128> {
        self.checked_add(1)
    }
}

impl<T: Successor> RangeSet<T> {
    pub(crate) fn new(mut ranges: Vec<(T, T)>) -> RangeSet<T> {
        ranges.sort_unstable();
        let mut merged: Vec<(T, T)> = Vec::with_capacity(ranges.len());
        for (start, end) in ranges {
            match merged.last_mut() {
                Some(last) if last.1.successor().is_none_or(|next| start <= next) => {
                    last.1 = last.1.max(end);
                }
                _ => merged.push((start, end)),
            }
        }
        RangeSet { ranges: merged.into() }
    }

    #[inline]
    pub(crate) fn contains(&self, value: T) -> bool {
        let i = self.ranges.partition_point(|r| r.1 < value);
        self.ranges.get(i).is_some_and(|r| r.0 <= value)
    }
}

/// A test on a string value.
#[derive(Clone, Debug)]
pub(crate) enum BytesTest {
    Eq(Box<[u8]>),
    /// Equality ignoring ASCII case; the literal is already in the case the
    /// fused `lower()`/`upper()` produces.
    EqFold(Box<[u8]>),
    /// Never true for a present value (a fused `lower(x) == "Abc"`).
    Never,
    Order(OrderOp, Box<[u8]>),
    Contains(Box<Contains>),
    StartsWith(Box<[u8]>),
    EndsWith(Kmp),
    Regex(Box<Regex>),
    Wildcard(Box<Wildcard>),
    In(StrSet),
}

/// A substring search: a SIMD searcher for slices, KMP for streams.
#[derive(Clone, Debug)]
pub(crate) struct Contains {
    finder: memmem::Finder<'static>,
    kmp: Kmp,
}

impl Contains {
    pub(crate) fn new(needle: &[u8]) -> Contains {
        Contains { finder: memmem::Finder::new(needle).into_owned(), kmp: Kmp::new(needle) }
    }
}

impl BytesTest {
    /// Tests a whole value.
    #[inline]
    pub(crate) fn matches(&self, value: &[u8]) -> bool {
        match self {
            BytesTest::Eq(lit) => value == &**lit,
            BytesTest::EqFold(lit) => eq_fold(value, lit),
            BytesTest::Never => false,
            BytesTest::Order(op, lit) => op.holds(value.cmp(lit)),
            BytesTest::Contains(c) => c.finder.find(value).is_some(),
            BytesTest::StartsWith(lit) => value.starts_with(lit),
            BytesTest::EndsWith(kmp) => value.ends_with(&kmp.pat),
            BytesTest::Regex(re) => re.is_match(value),
            BytesTest::Wildcard(w) => w.is_match(value),
            BytesTest::In(set) => set.contains(value),
        }
    }

    /// A sink that tests the value pushed into it: short values are
    /// gathered and tested as one slice, longer ones streamed.
    pub(crate) fn sink(&self) -> TestSink<'_> {
        TestSink { test: self, buf: [0; INLINE_VALUE], len: 0, stream: None }
    }

    /// Starts testing a value that arrives in pieces.
    pub(crate) fn stream(&self) -> TestStream<'_> {
        let state = match self {
            BytesTest::Eq(_) | BytesTest::EqFold(_) | BytesTest::StartsWith(_) => State::Prefix { pos: 0, ok: true },
            BytesTest::Never => State::Never,
            BytesTest::Order(..) => State::Order { pos: 0, ord: None },
            BytesTest::Contains(c) => State::Kmp { s: 0, found: c.kmp.len() == 0 },
            BytesTest::EndsWith(_) => State::Kmp { s: 0, found: false },
            BytesTest::Regex(re) => State::Regex(re.stream()),
            BytesTest::Wildcard(w) => State::Wildcard(w.stream()),
            BytesTest::In(set) => State::Set { lo: 0, hi: set.items.len(), pos: 0 },
        };
        TestStream { test: self, state }
    }
}

enum State {
    Prefix { pos: usize, ok: bool },
    Never,
    Order { pos: usize, ord: Option<Ordering> },
    Kmp { s: usize, found: bool },
    Regex(RegexStream),
    Wildcard(WildStream),
    Set { lo: usize, hi: usize, pos: usize },
}

/// A [`BytesTest`] consuming a streamed value.
pub(crate) struct TestStream<'t> {
    test: &'t BytesTest,
    state: State,
}

impl TestStream<'_> {
    /// The outcome, once the whole value has been pushed.
    pub(crate) fn finish(&self) -> bool {
        match (&self.state, self.test) {
            (State::Prefix { pos, ok }, BytesTest::Eq(lit) | BytesTest::EqFold(lit)) => *ok && *pos == lit.len(),
            (State::Prefix { pos, ok }, BytesTest::StartsWith(lit)) => *ok && *pos >= lit.len(),
            (State::Order { pos, ord }, BytesTest::Order(op, lit)) => {
                op.holds(ord.unwrap_or(if *pos == lit.len() { Ordering::Equal } else { Ordering::Less }))
            }
            (State::Kmp { found, .. }, BytesTest::Contains(_)) => *found,
            (State::Kmp { s, .. }, BytesTest::EndsWith(kmp)) => *s == kmp.len(),
            (State::Regex(stream), BytesTest::Regex(re)) => stream.finish(re),
            (State::Wildcard(stream), BytesTest::Wildcard(w)) => stream.finish(w),
            (State::Set { lo, hi, pos }, BytesTest::In(set)) => lo < hi && set.items[*lo].len() == *pos,
            _ => false,
        }
    }
}

impl Sink for TestStream<'_> {
    fn push(&mut self, bytes: &[u8]) {
        match (&mut self.state, self.test) {
            (State::Prefix { pos, ok }, BytesTest::Eq(lit) | BytesTest::EqFold(lit) | BytesTest::StartsWith(lit)) => {
                if !*ok {
                    return;
                }
                let fold = matches!(self.test, BytesTest::EqFold(_));
                let prefix = matches!(self.test, BytesTest::StartsWith(_));
                let rest = &lit[(*pos).min(lit.len())..];
                let n = if prefix { bytes.len().min(rest.len()) } else { bytes.len() };
                let same = match rest.get(..n) {
                    Some(expected) if fold => eq_fold(expected, &bytes[..n]),
                    Some(expected) => expected == &bytes[..n],
                    None => false,
                };
                *ok = same;
                *pos += n;
            }
            (State::Order { pos, ord }, BytesTest::Order(_, lit)) => {
                if ord.is_some() {
                    return;
                }
                let rest = &lit[*pos..];
                let n = rest.len().min(bytes.len());
                match bytes[..n].cmp(&rest[..n]) {
                    Ordering::Equal if bytes.len() > n => *ord = Some(Ordering::Greater),
                    Ordering::Equal => *pos += n,
                    other => *ord = Some(other),
                }
            }
            (State::Kmp { s, found }, BytesTest::Contains(c)) => {
                if *found {
                    return;
                }
                for &b in bytes {
                    *s = c.kmp.step(*s, b);
                    if *s == c.kmp.len() {
                        *found = true;
                        return;
                    }
                }
            }
            (State::Kmp { s, .. }, BytesTest::EndsWith(kmp)) => {
                for &b in bytes {
                    *s = kmp.step(*s, b);
                }
            }
            (State::Regex(stream), BytesTest::Regex(re)) => stream.push(re, bytes),
            (State::Wildcard(stream), BytesTest::Wildcard(w)) => stream.push(w, bytes),
            (State::Set { lo, hi, pos }, BytesTest::In(set)) => {
                for &b in bytes {
                    if lo == hi {
                        return;
                    }
                    set.narrow(lo, hi, *pos, b);
                    *pos += 1;
                }
            }
            _ => {}
        }
    }

    fn full(&self) -> bool {
        match &self.state {
            State::Prefix { pos, ok } => !*ok || matches!(self.test, BytesTest::StartsWith(lit) if *pos >= lit.len()),
            State::Never => true,
            State::Order { ord, .. } => ord.is_some(),
            State::Kmp { found, .. } => *found,
            State::Regex(stream) => stream.decided(),
            State::Wildcard(stream) => stream.failed(),
            State::Set { lo, hi, .. } => lo == hi,
        }
    }
}

/// Tests a value produced in pieces, reading it only once.
pub(crate) struct TestSink<'t> {
    test: &'t BytesTest,
    buf: [u8; INLINE_VALUE],
    len: usize,
    /// Set once the value outgrows `buf`.
    stream: Option<TestStream<'t>>,
}

impl TestSink<'_> {
    /// The outcome, once the whole value has been pushed.
    pub(crate) fn finish(&self) -> bool {
        match &self.stream {
            Some(stream) => stream.finish(),
            None => self.test.matches(&self.buf[..self.len]),
        }
    }
}

impl Sink for TestSink<'_> {
    #[inline]
    fn push(&mut self, bytes: &[u8]) {
        if let Some(stream) = &mut self.stream {
            stream.push(bytes);
        } else if let Some(dst) = self.buf.get_mut(self.len..self.len + bytes.len()) {
            dst.copy_from_slice(bytes);
            self.len += bytes.len();
        } else {
            let mut stream = self.test.stream();
            stream.push(&self.buf[..self.len]);
            stream.push(bytes);
            self.stream = Some(stream);
        }
    }

    fn full(&self) -> bool {
        self.stream.as_ref().is_some_and(Sink::full)
    }
}

/// A test on an integer.
#[derive(Clone, Debug)]
pub(crate) enum IntTest {
    Eq(i64),
    Order(OrderOp, i64),
    In(RangeSet<i64>),
}

impl IntTest {
    #[inline]
    pub(crate) fn matches(&self, n: i64) -> bool {
        match self {
            IntTest::Eq(m) => n == *m,
            IntTest::Order(op, m) => op.holds(n.cmp(m)),
            IntTest::In(set) => set.contains(n),
        }
    }
}

/// Sets of IPv4 and IPv6 ranges.
#[derive(Clone, Debug)]
pub(crate) struct IpSet {
    pub(crate) v4: RangeSet<u32>,
    pub(crate) v6: RangeSet<u128>,
}

/// A test on an IP address.
#[derive(Clone, Debug)]
pub(crate) enum IpTest {
    Eq(IpAddr),
    /// Ordering only within one address family; across families it is false.
    Order(OrderOp, IpAddr),
    In(Box<IpSet>),
}

impl IpTest {
    #[inline]
    pub(crate) fn matches(&self, ip: IpAddr) -> bool {
        match self {
            IpTest::Eq(other) => ip == *other,
            IpTest::Order(op, other) => match (ip, other) {
                (IpAddr::V4(a), IpAddr::V4(b)) => op.holds(a.cmp(b)),
                (IpAddr::V6(a), IpAddr::V6(b)) => op.holds(a.cmp(b)),
                _ => false,
            },
            IpTest::In(set) => match ip {
                IpAddr::V4(v4) => set.v4.contains(u32::from(v4)),
                IpAddr::V6(v6) => set.v6.contains(u128::from(v6)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmp_tracks_suffixes() {
        let kmp = Kmp::new(b"abab");
        let mut s = 0;
        for &b in b"xababab" {
            s = kmp.step(s, b);
        }
        assert_eq!(s, 4);
        assert_eq!(kmp.find_end(b"xxABABx", true), Some(6));
        assert_eq!(Kmp::new(b"").find_end(b"x", false), Some(0));
        assert_eq!(Kmp::new(b"aab").find_end(b"aaab", false), Some(4));
    }

    #[test]
    fn range_sets_merge() {
        let set = RangeSet::new(alloc::vec![(5i64, 9), (1, 2), (3, 4), (20, 20), (i64::MAX, i64::MAX)]);
        assert_eq!(&*set.ranges, &[(1, 9), (20, 20), (i64::MAX, i64::MAX)]);
        assert!(set.contains(1) && set.contains(9) && set.contains(20) && set.contains(i64::MAX));
        assert!(!set.contains(0) && !set.contains(10) && !set.contains(i64::MIN));
    }

    #[test]
    fn string_sets_narrow() {
        let set = StrSet::new(&[b"b".to_vec(), b"ab".to_vec(), b"abc".to_vec(), b"a".to_vec(), b"ab".to_vec()]);
        for (probe, expected) in [(&b"ab"[..], true), (b"a", true), (b"abc", true), (b"abd", false), (b"", false)] {
            assert_eq!(set.contains(probe), expected);
            let test = BytesTest::In(set.clone());
            let mut stream = test.stream();
            for &b in probe {
                stream.push(&[b]);
            }
            assert_eq!(stream.finish(), expected, "{probe:?}");
        }
        let many: Vec<Vec<u8>> = (0..40u8).map(|i| alloc::vec![b'a' + i % 20; usize::from(i / 20) + 1]).collect();
        let big = StrSet::new(&many);
        assert!(many.iter().all(|item| big.contains(item)));
        assert!(!big.contains(b"aaa") && !big.contains(b"") && !big.contains(b"z"));
    }
}
