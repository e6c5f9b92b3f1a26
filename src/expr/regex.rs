//! `matches`: regexes compiled ahead of time to a fully built dense DFA.
//!
//! A dense DFA searches with `&self` only (no cache, no lock, no
//! allocation), in time linear in the input, and can be fed one byte at a
//! time, so it also serves streamed values. Matching is byte-oriented as in
//! wirefilter: Unicode and UTF-8 modes are off unless the pattern turns them
//! on with `(?u)`. DFAs cannot do Unicode word boundaries; `(?u)\b` is
//! rejected (ASCII `\b` is fine).

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::nfa::thompson;
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::{Anchored, Input};

use super::{MAX_NESTING_DEPTH, MAX_REGEX_SIZE};

/// A compiled `matches` pattern.
#[derive(Clone, Debug)]
pub(crate) struct Regex {
    dfa: dense::DFA<Vec<u32>>,
    start: StateID,
}

/// Why a pattern did not compile.
#[derive(Debug)]
pub(crate) enum RegexError {
    /// A syntax error at a byte offset in the pattern.
    Syntax(usize, String),
    /// Over [`MAX_REGEX_SIZE`].
    TooLarge,
    /// Something a DFA cannot do.
    Unsupported(String),
}

impl Regex {
    pub(crate) fn new(pattern: &str) -> Result<Regex, RegexError> {
        let hir = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .nest_limit(MAX_NESTING_DEPTH as u32)
            .build()
            .parse(pattern)
            .map_err(|err| match err {
                regex_syntax::Error::Parse(e) => RegexError::Syntax(e.span().start.offset, e.kind().to_string()),
                regex_syntax::Error::Translate(e) => RegexError::Syntax(e.span().start.offset, e.kind().to_string()),
                other => RegexError::Syntax(0, other.to_string()),
            })?;
        let nfa = thompson::Compiler::new()
            .configure(
                thompson::Config::new()
                    .utf8(false)
                    .nfa_size_limit(Some(MAX_REGEX_SIZE))
                    .which_captures(thompson::WhichCaptures::None),
            )
            .build_from_hir(&hir)
            .map_err(|err| match err.size_limit() {
                Some(_) => RegexError::TooLarge,
                None => RegexError::Unsupported(err.to_string()),
            })?;
        let dfa = dense::Builder::new()
            .configure(
                dense::Config::new()
                    .start_kind(StartKind::Unanchored)
                    .dfa_size_limit(Some(MAX_REGEX_SIZE))
                    .determinize_size_limit(Some(MAX_REGEX_SIZE)),
            )
            .build_from_nfa(&nfa)
            .map_err(|err| {
                if err.is_size_limit_exceeded() {
                    RegexError::TooLarge
                } else {
                    RegexError::Unsupported(err.to_string())
                }
            })?;
        let start = dfa
            .start_state(&start::Config::new().anchored(Anchored::No))
            .map_err(|err| RegexError::Unsupported(err.to_string()))?;
        Ok(Regex { dfa, start })
    }

    /// Heap memory held by the DFA.
    pub(crate) fn memory_usage(&self) -> usize {
        self.dfa.memory_usage()
    }

    /// Whether the pattern matches anywhere in `hay`.
    #[inline]
    pub(crate) fn is_match(&self, hay: &[u8]) -> bool {
        matches!(self.dfa.try_search_fwd(&Input::new(hay).earliest(true)), Ok(Some(_)))
    }

    pub(crate) fn stream(&self) -> RegexStream {
        RegexStream { state: self.start, verdict: None }
    }
}

/// A search in progress over a streamed value.
#[derive(Clone, Debug)]
pub(crate) struct RegexStream {
    state: StateID,
    verdict: Option<bool>,
}

impl RegexStream {
    pub(crate) fn push(&mut self, re: &Regex, bytes: &[u8]) {
        if self.verdict.is_some() {
            return;
        }
        let dfa = &re.dfa;
        for &b in bytes {
            self.state = dfa.next_state(self.state, b);
            if dfa.is_special_state(self.state) {
                if dfa.is_match_state(self.state) {
                    self.verdict = Some(true);
                    return;
                }
                if dfa.is_dead_state(self.state) || dfa.is_quit_state(self.state) {
                    self.verdict = Some(false);
                    return;
                }
            }
        }
    }

    pub(crate) fn decided(&self) -> bool {
        self.verdict.is_some()
    }

    pub(crate) fn finish(&self, re: &Regex) -> bool {
        self.verdict.unwrap_or_else(|| re.dfa.is_match_state(re.dfa.next_eoi_state(self.state)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(pattern: &str, hay: &[u8]) -> bool {
        let re = Regex::new(pattern).unwrap();
        let fast = re.is_match(hay);
        let mut stream = re.stream();
        for &b in hay {
            stream.push(&re, &[b]);
        }
        assert_eq!(fast, stream.finish(&re), "{pattern} on {hay:?}");
        fast
    }

    #[test]
    fn byte_oriented_by_default() {
        assert!(both("^/articles/200[7-8]/$", b"/articles/2008/"));
        assert!(!both("^/articles/200[7-8]/$", b"/articles/2009/"));
        assert!(both(r"\xff", b"a\xffb"));
        assert!(both("^.$", b"\xe9"));
        assert!(!both("^.$", "é".as_bytes()));
        assert!(both("(?u)^.$", "é".as_bytes()));
        assert!(both(r"(?u)\p{Hangul}+", "ab한글".as_bytes()));
        assert!(!both(r"(?u)\p{Hangul}+", b"abc"));
        assert!(both("(?i)ABC", b"xabcx"));
        assert!(both("", b""));
        assert!(both("a$", b"ba"));
        assert!(!both("a$", b"ab"));
        assert!(both(r"\bfoo\b", b"a foo b"));
    }

    #[test]
    fn errors() {
        assert!(matches!(Regex::new("(a"), Err(RegexError::Syntax(0, _))));
        assert!(matches!(Regex::new("a)"), Err(RegexError::Syntax(1, _))));
        assert!(matches!(Regex::new(r"(?u)\bx"), Err(RegexError::Unsupported(_))));
        assert!(matches!(Regex::new(r"(?u)\w{50}[a-z]{20}\w{50}"), Err(RegexError::TooLarge)));
    }
}
