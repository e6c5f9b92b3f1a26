//! What an HTTP(S) monitor expects of a response: `expected_codes` and
//! `expected_body`.

use alloc::boxed::Box;
use alloc::vec::Vec;

/// How much of a response body `expected_body` is searched in: the first
/// 10 KB (10,240 bytes). Cloudflare's troubleshooting pages say 10 KB; one
/// settings page says 100 MB; a probe that must read 100 MB is no health
/// check, so lbsteer takes 10 KB.
pub const BODY_LIMIT: usize = 10 * 1024;

/// `expected_codes`: exact codes (`200`) and classes (`2xx`), separated by
/// commas or spaces. Unset means `200`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ExpectedCodes {
    /// Exact codes.
    codes: Box<[u16]>,
    /// Classes, as the hundreds digit (`2` for `2xx`).
    classes: u8,
}

impl ExpectedCodes {
    /// Reads the API value. Tokens that are neither a code nor a class are
    /// skipped (the compiler rejects them); nothing usable means `200`.
    pub(crate) fn parse(value: Option<&str>) -> ExpectedCodes {
        let mut codes = Vec::new();
        let mut classes = 0u8;
        for token in value.unwrap_or("").split([',', ' ']).filter(|t| !t.is_empty()) {
            match token.as_bytes() {
                [d @ b'1'..=b'5', x, y] if x.eq_ignore_ascii_case(&b'x') && y.eq_ignore_ascii_case(&b'x') => {
                    classes |= 1 << (d - b'0');
                }
                _ => {
                    if let Ok(code) = token.parse::<u16>()
                        && (100..=599).contains(&code)
                    {
                        codes.push(code);
                    }
                }
            }
        }
        if codes.is_empty() && classes == 0 {
            codes.push(200);
        }
        codes.sort_unstable();
        codes.dedup();
        ExpectedCodes { codes: codes.into(), classes }
    }

    /// Whether `code` is expected.
    pub(crate) fn matches(&self, code: u16) -> bool {
        let class = code / 100;
        (1..=5).contains(&class) && self.classes & (1 << class) != 0 || self.codes.binary_search(&code).is_ok()
    }
}

/// `expected_body`, folded to ASCII lower case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ExpectedBody(Box<[u8]>);

impl ExpectedBody {
    /// `None` for an unset or empty `expected_body`.
    pub(crate) fn new(value: Option<&str>) -> Option<ExpectedBody> {
        let value = value.filter(|v| !v.is_empty())?;
        Some(ExpectedBody(value.bytes().map(|b| b.to_ascii_lowercase()).collect()))
    }

    /// Whether the first [`BODY_LIMIT`] bytes of `body` contain the expected
    /// text, ignoring ASCII case (other bytes compare exactly).
    pub(crate) fn found_in(&self, body: &[u8]) -> bool {
        let body = &body[..body.len().min(BODY_LIMIT)];
        let needle = &self.0[..];
        if needle.len() > body.len() {
            return false;
        }
        body.windows(needle.len()).any(|w| w.iter().zip(needle).all(|(a, b)| a.to_ascii_lowercase() == *b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_classes() {
        let default = ExpectedCodes::parse(None);
        assert!(default.matches(200));
        assert!(!default.matches(204) && !default.matches(302));
        let class = ExpectedCodes::parse(Some("2xx"));
        assert!(class.matches(200) && class.matches(204) && class.matches(299));
        assert!(!class.matches(300) && !class.matches(199));
        let list = ExpectedCodes::parse(Some("200, 302 4XX"));
        assert!(list.matches(200) && list.matches(302) && list.matches(404));
        assert!(!list.matches(301) && !list.matches(500));
        assert!(!ExpectedCodes::parse(Some("5xx")).matches(600));
        assert!(ExpectedCodes::parse(Some("")).matches(200), "nothing usable means 200");
        assert!(!ExpectedCodes::parse(Some("2xx")).matches(0));
    }

    #[test]
    fn body_is_case_insensitive_within_the_limit() {
        let expected = ExpectedBody::new(Some("Status: OK")).unwrap();
        assert!(expected.found_in(b"<html>status: ok</html>"));
        assert!(expected.found_in(b"STATUS: OK"));
        assert!(!expected.found_in(b"status: fail"));
        assert!(!expected.found_in(b"sta"));
        let mut late = alloc::vec![b' '; BODY_LIMIT - 4];
        late.extend_from_slice(b"status: ok");
        assert!(!expected.found_in(&late), "past the first 10 KB");
        let mut early = alloc::vec![b' '; BODY_LIMIT - 10];
        early.extend_from_slice(b"status: ok");
        assert!(expected.found_in(&early), "ends exactly at the limit");
        assert!(ExpectedBody::new(Some("")).is_none());
        assert!(ExpectedBody::new(None).is_none());
    }
}
