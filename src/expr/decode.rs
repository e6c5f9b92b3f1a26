//! `url_decode()` as a streaming sink adapter.
//!
//! Decoding turns `%HH` into the byte `0xHH`, `+` into a space and, with the
//! `u` option, `%uHHHH` into the UTF-8 encoding of that code point
//! (surrogates are left as they are). Malformed escapes pass through
//! unchanged.
//!
//! With the `r` option decoding is *recursive*: the result is what repeated
//! decoding converges to (`%2541` → `%41` → `A`). Because an escape can
//! never overlap another (`%` is not a hex digit), that fixed point is
//! unique, and one left-to-right pass reaches it by treating the output as a
//! stack: every decoded byte is pushed back and may complete an escape that
//! was waiting below it (`%%341` → `%41` → `A`). Only `%`-prefixed partial
//! escapes ever wait on the stack, so it is small; an input with more than
//! [`STACK`] bytes of nested partial escapes has its oldest ones passed
//! through undecoded.

use super::stream::Sink;

/// Capacity of the pending-escape stack.
pub(crate) const STACK: usize = 64;

/// Decodes what is pushed into it and passes the result on.
pub(crate) struct DecodeSink<'s> {
    out: &'s mut dyn Sink,
    recursive: bool,
    unicode: bool,
    stack: [u8; STACK],
    len: usize,
}

enum Step {
    /// The partial escape grew and may still complete.
    Prefix,
    /// The escape completed; the decoded bytes (1 to 4).
    Done([u8; 4], usize),
    /// The partial escape can never complete.
    Dead,
}

const fn hex(b: u8) -> Option<u32> {
    match b {
        b'0'..=b'9' => Some((b - b'0') as u32),
        b'a'..=b'f' => Some((b - b'a' + 10) as u32),
        b'A'..=b'F' => Some((b - b'A' + 10) as u32),
        _ => None,
    }
}

impl<'s> DecodeSink<'s> {
    pub(crate) fn new(out: &'s mut dyn Sink, recursive: bool, unicode: bool) -> Self {
        DecodeSink { out, recursive, unicode, stack: [0; STACK], len: 0 }
    }

    /// Passes on whatever is still pending, undecoded.
    pub(crate) fn finish(&mut self) {
        self.flush();
    }

    fn flush(&mut self) {
        if self.len > 0 {
            self.out.push(&self.stack[..self.len]);
            self.len = 0;
        }
    }

    /// Gives up on the oldest partial escape to make room.
    fn flush_bottom(&mut self) {
        let next = self.stack[1..self.len].iter().position(|&b| b == b'%').map_or(self.len, |i| i + 1);
        self.out.push(&self.stack[..next]);
        self.stack.copy_within(next..self.len, 0);
        self.len -= next;
    }

    /// What `b` does to the partial escape `partial` (which starts with `%`).
    fn step(&self, partial: &[u8], b: u8) -> Step {
        let Some(digit) = hex(b) else {
            return if partial.len() == 1 && b == b'u' && self.unicode { Step::Prefix } else { Step::Dead };
        };
        match partial {
            [_] => Step::Prefix,
            [_, high] if *high != b'u' => {
                // `high` is a hex digit: only those and `u` get onto the stack.
                let byte = (hex(*high).unwrap_or(0) << 4 | digit) as u8;
                Step::Done([byte, 0, 0, 0], 1)
            }
            [_, b'u', digits @ ..] if digits.len() < 3 => Step::Prefix,
            [_, b'u', digits @ ..] => {
                let code = digits.iter().fold(0, |acc, &d| acc << 4 | hex(d).unwrap_or(0)) << 4 | digit;
                match char::from_u32(code) {
                    Some(c) => {
                        let mut buf = [0; 4];
                        let n = c.encode_utf8(&mut buf).len();
                        Step::Done(buf, n)
                    }
                    None => Step::Dead,
                }
            }
            _ => Step::Dead,
        }
    }

    /// Handles one byte of input.
    fn feed(&mut self, mut b: u8) {
        loop {
            if b == b'+' {
                b = b' ';
            }
            if b == b'%' {
                if !self.recursive {
                    self.flush();
                }
                if self.len == STACK {
                    self.flush_bottom();
                }
                self.stack[self.len] = b'%';
                self.len += 1;
                return;
            }
            if self.len == 0 {
                self.out.push(&[b]);
                return;
            }
            let top = self.stack[..self.len].iter().rposition(|&c| c == b'%').unwrap_or(0);
            match self.step(&self.stack[top..self.len], b) {
                Step::Prefix => {
                    if self.len == STACK {
                        self.flush_bottom();
                    }
                    self.stack[self.len] = b;
                    self.len += 1;
                    return;
                }
                Step::Done(bytes, n) => {
                    self.len = top;
                    if self.recursive && n == 1 {
                        // The decoded byte may complete an escape below it.
                        b = bytes[0];
                        continue;
                    }
                    // Multi-byte UTF-8 cannot be part of an escape, so it
                    // settles everything still pending.
                    self.flush();
                    self.out.push(&bytes[..n]);
                    return;
                }
                Step::Dead => {
                    self.flush();
                    self.out.push(&[b]);
                    return;
                }
            }
        }
    }
}

impl Sink for DecodeSink<'_> {
    fn push(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.len == 0 {
                let plain = memchr::memchr2(b'%', b'+', bytes).unwrap_or(bytes.len());
                if plain > 0 {
                    self.out.push(&bytes[..plain]);
                    bytes = &bytes[plain..];
                    continue;
                }
            }
            self.feed(bytes[0]);
            bytes = &bytes[1..];
        }
    }

    fn full(&self) -> bool {
        self.out.full()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::expr::stream::tests::VecSink;
    use alloc::boxed::Box;
    use alloc::vec::Vec;
    use proptest::prelude::*;
    use proptest::test_runner::FileFailurePersistence;

    /// One left-to-right decoding pass.
    fn decode_once(s: &[u8], unicode: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < s.len() {
            let h = |j: usize| s.get(j).and_then(|&b| hex(b));
            if s[i] == b'%' {
                if let (Some(a), Some(b)) = (h(i + 1), h(i + 2)) {
                    out.push((a << 4 | b) as u8);
                    i += 3;
                    continue;
                }
                if unicode && s.get(i + 1) == Some(&b'u') {
                    let digits: Option<Vec<u32>> = (i + 2..i + 6).map(h).collect();
                    if let Some(c) = digits.and_then(|d| char::from_u32(d.iter().fold(0, |a, &x| a << 4 | x))) {
                        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                        i += 6;
                        continue;
                    }
                }
            }
            out.push(if s[i] == b'+' { b' ' } else { s[i] });
            i += 1;
        }
        out
    }

    /// The specification: one pass, or passes until nothing changes.
    pub(crate) fn reference(s: &[u8], recursive: bool, unicode: bool) -> Vec<u8> {
        let mut cur = decode_once(s, unicode);
        if recursive {
            loop {
                let next = decode_once(&cur, unicode);
                if next == cur {
                    break;
                }
                cur = next;
            }
        }
        cur
    }

    pub(crate) fn decode(pieces: &[&[u8]], recursive: bool, unicode: bool) -> Vec<u8> {
        let mut out = VecSink::default();
        let mut sink = DecodeSink::new(&mut out, recursive, unicode);
        for piece in pieces {
            sink.push(piece);
        }
        sink.finish();
        out.0
    }

    #[test]
    fn examples() {
        assert_eq!(decode(&[b"a%20b+c%2"], false, false), b"a b c%2");
        assert_eq!(decode(&[b"%2541"], false, false), b"%41");
        assert_eq!(decode(&[b"%2541"], true, false), b"A");
        assert_eq!(decode(&[b"%252541"], true, false), b"A");
        assert_eq!(decode(&[b"%%341"], true, false), b"A");
        assert_eq!(decode(&[b"%2B"], false, false), b"+");
        assert_eq!(decode(&[b"%2B"], true, false), b" ");
        assert_eq!(decode(&[b"%u0041%uD55C%uD800"], false, true), "A한%uD800".as_bytes());
        assert_eq!(decode(&[b"%u0041"], false, false), b"%u0041");
        assert_eq!(decode(&[b"%ED%95%9C%EA%B8%80"], false, false), "한글".as_bytes());
        assert_eq!(decode(&[b"%", b"4", b"1%"], false, false), b"A%");
    }

    #[test]
    fn deep_nesting_degrades_gracefully() {
        let mut input = Vec::new();
        input.resize(1000, b'%');
        input.extend_from_slice(b"2541");
        let out = decode(&[&input], true, false);
        assert_eq!(out.len(), 1000);
        assert!(out.ends_with(b"%A"));
    }

    proptest! {
        // Failure seeds live next to this file.
        #![proptest_config(ProptestConfig {
            failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
            ..ProptestConfig::default()
        })]
        #[test]
        fn streaming_matches_the_reference(
            input in proptest::collection::vec(proptest::sample::select(b"%%%2545aAuU+Fz0D8".to_vec()), 0..40),
            split in 0usize..40,
            recursive: bool,
            unicode: bool,
        ) {
            let split = split.min(input.len());
            let got = decode(&[&input[..split], &input[split..]], recursive, unicode);
            prop_assert_eq!(got, reference(&input, recursive, unicode));
        }
    }
}
