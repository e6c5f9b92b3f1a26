//! `wildcard` and `strict wildcard`: whole-value patterns where `*` matches
//! any run of bytes (including none).
//!
//! `\*` and `\\` are a literal star and backslash; any other backslash is an
//! error, and so is `**`. `?` is an ordinary character. `wildcard` ignores
//! ASCII case; `strict wildcard` does not.
//!
//! The pattern is split at its stars into segments: the first must be a
//! prefix, the last a suffix, and the middle ones are found left to right,
//! each leftmost (greedy leftmost is exact for `*`-only patterns). Middle
//! segments use a SIMD searcher on slices (case-sensitive) or KMP
//! (case-insensitive, and streams), so matching is linear.

use alloc::boxed::Box;
use alloc::vec::Vec;

use memchr::memmem;

use super::matchers::{Kmp, eq_fold};

/// A compiled wildcard pattern.
#[derive(Clone, Debug)]
pub(crate) struct Wildcard {
    /// Compare ignoring ASCII case (segments are stored lower-case).
    fold: bool,
    /// The pattern split at stars: one segment means no star.
    segs: Box<[Box<[u8]>]>,
    /// Searchers for the middle segments, when case-sensitive.
    finders: Box<[memmem::Finder<'static>]>,
    /// KMP matchers for every segment after the first.
    kmps: Box<[Kmp]>,
}

impl Wildcard {
    pub(crate) fn new(pattern: &[u8], fold: bool) -> Result<Wildcard, &'static str> {
        let mut segs: Vec<Box<[u8]>> = Vec::new();
        let mut seg = Vec::new();
        let mut bytes = pattern.iter();
        let mut after_star = false;
        while let Some(&b) = bytes.next() {
            match b {
                b'*' => {
                    if after_star {
                        return Err("\"**\" is not allowed");
                    }
                    segs.push(core::mem::take(&mut seg).into());
                    after_star = true;
                    continue;
                }
                b'\\' => match bytes.next() {
                    Some(&escaped @ (b'*' | b'\\')) => seg.push(escaped),
                    _ => return Err("a backslash must escape \"*\" or \"\\\""),
                },
                _ => seg.push(if fold { b.to_ascii_lowercase() } else { b }),
            }
            after_star = false;
        }
        segs.push(seg.into());
        let n = segs.len();
        let finders = if fold || n < 3 {
            Box::default()
        } else {
            segs[1..n - 1].iter().map(|s| memmem::Finder::new(s).into_owned()).collect()
        };
        let kmps = segs[1..].iter().map(|s| Kmp::new(s)).collect();
        Ok(Wildcard { fold, segs: segs.into(), finders, kmps })
    }

    #[inline]
    fn same(&self, value: &[u8], seg: &[u8]) -> bool {
        if self.fold { eq_fold(value, seg) } else { value == seg }
    }

    /// Whether the whole of `value` matches.
    pub(crate) fn is_match(&self, value: &[u8]) -> bool {
        let n = self.segs.len();
        let first = &self.segs[0];
        if n == 1 {
            return self.same(value, first);
        }
        let last = &self.segs[n - 1];
        let Some(middle_len) = value.len().checked_sub(first.len() + last.len()) else {
            return false;
        };
        let (head, rest) = value.split_at(first.len());
        let (mut hay, tail) = rest.split_at(middle_len);
        if !self.same(head, first) || !self.same(tail, last) {
            return false;
        }
        for i in 1..n - 1 {
            let end = if self.fold {
                self.kmps[i - 1].find_end(hay, true)
            } else {
                self.finders[i - 1].find(hay).map(|at| at + self.segs[i].len())
            };
            match end {
                Some(end) => hay = &hay[end..],
                None => return false,
            }
        }
        true
    }

    pub(crate) fn stream(&self) -> WildStream {
        let phase = usize::from(self.segs.len() > 1 && self.segs[0].is_empty());
        WildStream { phase, pos: 0, state: 0, ok: true }
    }
}

/// A match in progress over a streamed value.
#[derive(Clone, Debug)]
pub(crate) struct WildStream {
    /// The segment being matched.
    phase: usize,
    /// Bytes of the first segment matched so far.
    pos: usize,
    /// KMP state in a later segment.
    state: usize,
    ok: bool,
}

impl WildStream {
    pub(crate) fn push(&mut self, w: &Wildcard, bytes: &[u8]) {
        let n = w.segs.len();
        for &b in bytes {
            if !self.ok {
                return;
            }
            let b = if w.fold { b.to_ascii_lowercase() } else { b };
            if self.phase == 0 {
                let first = &w.segs[0];
                if first.get(self.pos) != Some(&b) {
                    self.ok = false;
                    return;
                }
                self.pos += 1;
                if self.pos == first.len() && n > 1 {
                    self.phase = 1;
                }
                continue;
            }
            let kmp = &w.kmps[self.phase - 1];
            self.state = kmp.step(self.state, b);
            if self.phase < n - 1 && self.state == kmp.len() {
                self.phase += 1;
                self.state = 0;
            }
        }
    }

    pub(crate) fn failed(&self) -> bool {
        !self.ok
    }

    pub(crate) fn finish(&self, w: &Wildcard) -> bool {
        let n = w.segs.len();
        if !self.ok {
            return false;
        }
        if n == 1 {
            return self.pos == w.segs[0].len();
        }
        self.phase == n - 1 && self.state == w.kmps[n - 2].len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::boxed::Box;
    use proptest::prelude::*;
    use proptest::test_runner::FileFailurePersistence;

    fn check(pattern: &str, fold: bool, value: &str) -> bool {
        let w = Wildcard::new(pattern.as_bytes(), fold).unwrap();
        let fast = w.is_match(value.as_bytes());
        let mut stream = w.stream();
        for b in value.bytes() {
            stream.push(&w, &[b]);
        }
        assert_eq!(fast, stream.finish(&w), "{pattern:?} on {value:?}");
        fast
    }

    #[test]
    fn documented_examples() {
        let p = "https://example.com/a/*";
        assert!(check(p, true, "https://example.com/a/"));
        assert!(check(p, true, "https://example.com/a/sub/folder/?name=value"));
        assert!(check(p, true, "HTTPS://EXAMPLE.COM/A/x"));
        assert!(!check(p, true, "https://example.com/ab/"));
        assert!(!check(p, true, "https://sub.example.com/a/"));
        assert!(!check(p, false, "HTTPS://EXAMPLE.COM/A/x"));
        assert!(check("*.example.com/*/page.html", true, "www.example.com/x/y/page.html"));
        assert!(!check("*.example.com/*/page.html", true, "example.com/x/page.html"));
        assert!(check("*BadBot/*", true, "Mozilla badbot/1.0"));
        assert!(check("a?c", false, "a?c"));
        assert!(!check("a?c", false, "abc"));
        assert!(check(r"a\*b", false, "a*b"));
        assert!(!check(r"a\*b", false, "axb"));
        assert!(check(r"a\\*", false, r"a\bc"));
        assert!(check("*", false, ""));
        assert!(check("", false, ""));
        assert!(!check("*ab*b", false, "ab"));
        assert!(check("*ab*b", false, "abb"));
    }

    #[test]
    fn malformed_patterns() {
        assert!(Wildcard::new(b"/a/**", true).is_err());
        assert!(Wildcard::new(br"\x", true).is_err());
        assert!(Wildcard::new(b"a\\", true).is_err());
        assert!(Wildcard::new(br"\**", true).is_ok());
    }

    /// A plain backtracking matcher, as the specification.
    fn reference(pattern: &[u8], value: &[u8]) -> bool {
        match pattern.split_first() {
            None => value.is_empty(),
            Some((b'*', rest)) => (0..=value.len()).any(|i| reference(rest, &value[i..])),
            Some((&c, rest)) => value.first() == Some(&c) && reference(rest, &value[1..]),
        }
    }

    proptest! {
        // Failure seeds live next to this file.
        #![proptest_config(ProptestConfig {
            failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
            ..ProptestConfig::default()
        })]
        #[test]
        fn agrees_with_backtracking(
            pattern in "[ab*]{0,8}".prop_filter("no **", |p| !p.contains("**")),
            value in "[abAB]{0,10}",
            fold: bool,
        ) {
            let expected = if fold {
                reference(pattern.as_bytes(), value.to_ascii_lowercase().as_bytes())
            } else {
                reference(pattern.as_bytes(), value.as_bytes())
            };
            prop_assert_eq!(check(&pattern, fold, &value), expected);
        }
    }
}
