//! Token-level reading of the source, driven by the parser.
//!
//! The Rules language is context-sensitive (`1.2.3.4` is an IP after
//! `ip.src eq`, a string after `matches` follows regex escaping rules), so
//! there is no separate token stream: the parser asks the [`Cursor`] for the
//! token it expects next, the way wirefilter's `LexWith` does.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;

use super::MAX_RAW_STRING_HASHES;
use super::error::{ErrorKind, ExprError};

/// A position in the source.
#[derive(Clone, Debug)]
pub(crate) struct Cursor<'s> {
    src: &'s str,
    pos: usize,
}

pub(crate) const fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl<'s> Cursor<'s> {
    pub(crate) fn new(src: &'s str) -> Self {
        Cursor { src, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    fn bytes(&self) -> &'s [u8] {
        self.src.as_bytes()
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    pub(crate) fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.bytes().get(self.pos + ahead).copied()
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    /// Skips ASCII whitespace (space, tab, CR, LF, form feed).
    pub(crate) fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    /// Consumes `token` if the source continues with it.
    pub(crate) fn eat(&mut self, token: &str) -> bool {
        if self.src[self.pos..].starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    /// Consumes the keyword `word` if it is not the start of a longer
    /// identifier (`not` but not `nothing`).
    pub(crate) fn eat_keyword(&mut self, word: &str) -> bool {
        let rest = &self.src[self.pos..];
        let boundary = rest.as_bytes().get(word.len()).is_none_or(|&b| !is_ident_byte(b) && b != b'.');
        if rest.starts_with(word) && boundary {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    /// Reads a dotted identifier such as `http.request.uri.path`.
    pub(crate) fn ident(&mut self) -> Option<&'s str> {
        let start = self.pos;
        let bytes = self.bytes();
        let mut end = start;
        loop {
            let seg = end;
            while bytes.get(end).is_some_and(|&b| is_ident_byte(b)) {
                end += 1;
            }
            if end == seg {
                break;
            }
            if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(|&b| is_ident_byte(b)) {
                end += 1;
            } else {
                break;
            }
        }
        if end == start {
            return None;
        }
        self.pos = end;
        Some(&self.src[start..end])
    }

    /// Describes the token at the cursor, for "expected …, found …" errors.
    pub(crate) fn found(&self) -> String {
        let rest = &self.src[self.pos..];
        let Some(first) = rest.chars().next() else {
            return String::from("the end of the expression");
        };
        let len = if first.is_ascii_alphanumeric() || first == '_' {
            rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')).unwrap_or(rest.len())
        } else {
            let symbols = rest.find(|c: char| !"=!<>&|^~".contains(c)).unwrap_or(rest.len());
            symbols.max(first.len_utf8())
        };
        let snippet: String = rest[..len].chars().take(40).collect();
        format!("{:?}", snippet)
    }

    /// An error at the cursor.
    pub(crate) fn error(&self, kind: ErrorKind) -> ExprError {
        ExprError::new(self.pos, kind)
    }

    /// An "expected …, found …" error at the cursor.
    pub(crate) fn unexpected(&self, expected: &'static str) -> ExprError {
        self.error(ErrorKind::Unexpected { expected, found: self.found() })
    }

    /// Whether a string literal (quoted or raw) starts here.
    pub(crate) fn at_string(&self) -> bool {
        match self.peek() {
            Some(b'"') => true,
            Some(b'r') => matches!(self.peek_at(1), Some(b'"' | b'#')),
            _ => false,
        }
    }

    /// Reads a raw string's opening `r#…#"`, returning the number of `#`.
    fn raw_open(&mut self) -> Result<usize, ExprError> {
        let start = self.pos;
        self.pos += 1; // the `r`
        let hashes = self.bytes()[self.pos..].iter().take_while(|&&b| b == b'#').count();
        if hashes > MAX_RAW_STRING_HASHES {
            return Err(ExprError::new(
                start,
                ErrorKind::Literal(format!("a raw string may use at most {MAX_RAW_STRING_HASHES} '#'")),
            ));
        }
        self.pos += hashes;
        if !self.eat("\"") {
            return Err(self.unexpected("'\"' to open the raw string"));
        }
        Ok(hashes)
    }

    /// Reads the body of a raw string after its opening, through its closing.
    fn raw_body(&mut self, start: usize, hashes: usize) -> Result<&'s str, ExprError> {
        let body_start = self.pos;
        let bytes = self.bytes();
        let mut i = body_start;
        while let Some(off) = memchr::memchr(b'"', &bytes[i..]) {
            let quote = i + off;
            let closing = bytes[quote + 1..].iter().take(hashes).take_while(|&&b| b == b'#').count();
            if closing == hashes {
                self.pos = quote + 1 + hashes;
                return Ok(&self.src[body_start..quote]);
            }
            i = quote + 1;
        }
        Err(ExprError::new(start, ErrorKind::Literal(String::from("unterminated raw string"))))
    }

    /// Reads a string literal: `"…"` with `\"`, `\\`, `\xHH` and `\OOO`
    /// escapes, or a raw string `r"…"`, `r#"…"#`, ….
    pub(crate) fn string(&mut self) -> Result<Vec<u8>, ExprError> {
        let start = self.pos;
        match self.peek() {
            Some(b'r') => {
                let hashes = self.raw_open()?;
                Ok(self.raw_body(start, hashes)?.as_bytes().to_vec())
            }
            Some(b'"') => self.quoted(start),
            _ => Err(self.unexpected("a string")),
        }
    }

    fn quoted(&mut self, start: usize) -> Result<Vec<u8>, ExprError> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let bytes = self.bytes();
            let rest = &bytes[self.pos..];
            let Some(special) = memchr::memchr2(b'"', b'\\', rest) else {
                return Err(ExprError::new(start, ErrorKind::Literal(String::from("unterminated string"))));
            };
            out.extend_from_slice(&rest[..special]);
            self.pos += special;
            if rest[special] == b'"' {
                self.pos += 1;
                return Ok(out);
            }
            let escape = self.pos;
            let bad = |what: &str| ExprError::new(escape, ErrorKind::Literal(String::from(what)));
            match bytes.get(escape + 1) {
                Some(b'"') | Some(b'\\') => {
                    out.push(bytes[escape + 1]);
                    self.pos += 2;
                }
                Some(b'x') => {
                    let hex = bytes.get(escape + 2..escape + 4).filter(|h| h.iter().all(u8::is_ascii_hexdigit));
                    let Some(hex) = hex else {
                        return Err(bad("\\x must be followed by two hex digits"));
                    };
                    out.push(hex_value(hex[0]) << 4 | hex_value(hex[1]));
                    self.pos += 4;
                }
                Some(b'0'..=b'7') => {
                    let oct = bytes.get(escape + 1..escape + 4).filter(|o| o.iter().all(|b| (b'0'..=b'7').contains(b)));
                    let value = oct.map(|o| o.iter().fold(0u32, |acc, &d| acc * 8 + u32::from(d - b'0')));
                    match value.and_then(|v| u8::try_from(v).ok()) {
                        Some(v) => out.push(v),
                        None => return Err(bad("an octal escape is three digits from \\000 to \\377")),
                    }
                    self.pos += 4;
                }
                None => {
                    return Err(ExprError::new(start, ErrorKind::Literal(String::from("unterminated string"))));
                }
                Some(_) => return Err(bad("invalid escape: use \\\", \\\\, \\xHH or \\OOO")),
            }
        }
    }

    /// Reads a regex literal: a raw string, or a quoted string under regex
    /// rules (only `\"` is unescaped; every other `\c` reaches the regex
    /// parser as written).
    pub(crate) fn regex(&mut self) -> Result<String, ExprError> {
        let start = self.pos;
        match self.peek() {
            Some(b'r') => {
                let hashes = self.raw_open()?;
                Ok(String::from(self.raw_body(start, hashes)?))
            }
            Some(b'"') => {
                self.pos += 1;
                let mut out = String::new();
                loop {
                    let rest = &self.src[self.pos..];
                    let Some(special) = memchr::memchr2(b'"', b'\\', rest.as_bytes()) else {
                        return Err(ExprError::new(start, ErrorKind::Literal(String::from("unterminated string"))));
                    };
                    out.push_str(&rest[..special]);
                    self.pos += special;
                    if rest.as_bytes()[special] == b'"' {
                        self.pos += 1;
                        return Ok(out);
                    }
                    let Some(next) = rest[special + 1..].chars().next() else {
                        return Err(ExprError::new(start, ErrorKind::Literal(String::from("unterminated string"))));
                    };
                    if next != '"' {
                        out.push('\\');
                    }
                    out.push(next);
                    self.pos += 1 + next.len_utf8();
                }
            }
            _ => Err(self.unexpected("a regex string")),
        }
    }

    /// Reads an integer: decimal with an optional `-`, or `0x` hex. A
    /// leading zero is an error (wirefilter reads `010` as octal 8; this
    /// engine refuses to guess).
    pub(crate) fn int(&mut self) -> Result<i64, ExprError> {
        let start = self.pos;
        let negative = self.eat("-");
        let bytes = self.bytes();
        let hex = bytes.get(self.pos) == Some(&b'0') && matches!(bytes.get(self.pos + 1), Some(b'x' | b'X'));
        let digits_start = self.pos + if hex { 2 } else { 0 };
        let radix = if hex { 16 } else { 10 };
        let count = bytes[digits_start..].iter().take_while(|b| (**b as char).is_digit(radix)).count();
        if count == 0 {
            self.pos = start;
            return Err(self.unexpected("an integer"));
        }
        let digits = &self.src[digits_start..digits_start + count];
        if !hex && count > 1 && digits.starts_with('0') {
            return Err(ExprError::new(
                start,
                ErrorKind::Literal(String::from("an integer cannot have leading zeros (write 8, not 010)")),
            ));
        }
        let magnitude = u64::from_str_radix(digits, radix).ok();
        let value = magnitude.and_then(|m| if negative { 0i64.checked_sub_unsigned(m) } else { i64::try_from(m).ok() });
        let Some(value) = value else {
            return Err(ExprError::new(start, ErrorKind::Literal(String::from("the integer does not fit in 64 bits"))));
        };
        self.pos = digits_start + count;
        Ok(value)
    }

    /// Whether an integer starts here.
    pub(crate) fn at_int(&self) -> bool {
        match self.peek() {
            Some(b'-') => self.peek_at(1).is_some_and(|b| b.is_ascii_digit()),
            Some(b) => b.is_ascii_digit(),
            None => false,
        }
    }

    /// Reads an IPv4 or IPv6 address (stopping before a `..` range marker).
    pub(crate) fn ip(&mut self) -> Result<IpAddr, ExprError> {
        let start = self.pos;
        let bytes = self.bytes();
        let mut end = start;
        while bytes.get(end).is_some_and(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.') {
            if bytes[end] == b'.' && bytes.get(end + 1) == Some(&b'.') {
                break;
            }
            end += 1;
        }
        if end == start {
            return Err(self.unexpected("an IP address"));
        }
        let text = &self.src[start..end];
        match text.parse::<IpAddr>() {
            Ok(ip) => {
                self.pos = end;
                Ok(ip)
            }
            Err(_) => Err(ExprError::new(start, ErrorKind::Literal(format!("invalid IP address {text:?}")))),
        }
    }

    /// Reads the decimal prefix length after a `/`.
    pub(crate) fn prefix_len(&mut self, max: u8) -> Result<u8, ExprError> {
        let start = self.pos;
        let count = self.bytes()[start..].iter().take_while(|b| b.is_ascii_digit()).count();
        let value = self.src[start..start + count].parse::<u8>().ok().filter(|&v| v <= max && count <= 3);
        match value {
            Some(v) => {
                self.pos += count;
                Ok(v)
            }
            None if count == 0 => Err(self.unexpected("a prefix length")),
            None => Err(ExprError::new(start, ErrorKind::Literal(format!("a prefix length is at most {max}")))),
        }
    }
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

/// Maps an offset inside a regex pattern back to the source, given where the
/// literal starts (its `"` or `r`).
pub(crate) fn regex_source_offset(src: &str, literal: usize, pattern_offset: usize) -> usize {
    let bytes = src.as_bytes();
    let mut i = literal;
    if bytes.get(i) == Some(&b'r') {
        i += 1;
        while bytes.get(i) == Some(&b'#') {
            i += 1;
        }
        i += 1;
        i += pattern_offset;
    } else {
        i += 1;
        for _ in 0..pattern_offset {
            i += if bytes.get(i) == Some(&b'\\') && bytes.get(i + 1) == Some(&b'"') { 2 } else { 1 };
        }
    }
    let mut i = i.min(src.len());
    while !src.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(src: &str) -> Result<Vec<u8>, usize> {
        Cursor::new(src).string().map_err(|e| e.offset())
    }

    #[test]
    fn quoted_strings_unescape() {
        assert_eq!(string(r#""a\"b\\c""#).unwrap(), b"a\"b\\c");
        assert_eq!(string(r#""\x41\x7a\101\377""#).unwrap(), b"AzA\xff");
        assert_eq!(string(r#""é""#).unwrap(), "é".as_bytes());
        assert_eq!(string(r#""a\nb""#), Err(2));
        assert_eq!(string(r#""\x4""#), Err(1));
        assert_eq!(string(r#""\400""#), Err(1));
        assert_eq!(string(r#""abc"#), Err(0));
        assert_eq!(string(r#""abc\"#), Err(0));
    }

    #[test]
    fn raw_strings() {
        assert_eq!(string(r####"r"a\b""####).unwrap(), b"a\\b");
        assert_eq!(string(r####"r#"a"b"#"####).unwrap(), b"a\"b");
        assert_eq!(string(r####"r##"a"#b"##"####).unwrap(), b"a\"#b");
        assert_eq!(string(r####"r#"a"##"####).unwrap(), b"a");
        assert_eq!(string(r####"r#"a""####), Err(0));
        let many = alloc::format!("r{0}\"x\"{0}", "#".repeat(255));
        assert_eq!(string(&many).unwrap(), b"x");
        let too_many = alloc::format!("r{0}\"x\"{0}", "#".repeat(256));
        assert_eq!(string(&too_many), Err(0));
    }

    #[test]
    fn regex_literals_keep_escapes() {
        let mut c = Cursor::new(r#""a\"b\.c\\" rest"#);
        assert_eq!(c.regex().unwrap(), r#"a"b\.c\\"#);
        assert_eq!(&r#""a\"b\.c\\" rest"#[c.pos()..], " rest");
        assert_eq!(Cursor::new(r#""(?u)\p{Hangul}+""#).regex().unwrap(), r"(?u)\p{Hangul}+");
        assert_eq!(Cursor::new(r##"r#"a"b"#"##).regex().unwrap(), r#"a"b"#);
        let src = r#"x ~ "a\"\"(""#;
        assert_eq!(regex_source_offset(src, 4, 3), 10);
    }

    #[test]
    fn integers() {
        let int = |s: &str| Cursor::new(s).int().map_err(|e| e.offset());
        assert_eq!(int("0"), Ok(0));
        assert_eq!(int("-12"), Ok(-12));
        assert_eq!(int("0x1F"), Ok(31));
        assert_eq!(int("9223372036854775807"), Ok(i64::MAX));
        assert_eq!(int("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(int("9223372036854775808"), Err(0));
        assert_eq!(int("99999999999999999999999"), Err(0));
        assert_eq!(int("010"), Err(0));
        assert_eq!(int("-"), Err(0));
    }

    #[test]
    fn ips_and_idents() {
        let mut c = Cursor::new("198.51.100.3..198.51.100.7");
        assert_eq!(c.ip().unwrap().to_string(), "198.51.100.3");
        assert!(c.eat(".."));
        assert_eq!(c.ip().unwrap().to_string(), "198.51.100.7");
        assert_eq!(Cursor::new("2001:0db8::/32").ip().unwrap().to_string(), "2001:db8::");
        assert!(Cursor::new("1.2.3").ip().is_err());
        let mut c = Cursor::new("http.request.uri.path.[0]");
        assert_eq!(c.ident(), Some("http.request.uri.path"));
        assert_eq!(c.pos(), 21);
        assert_eq!(Cursor::new("a.b c").found(), "\"a.b\"");
        assert_eq!(Cursor::new("== 1").found(), "\"==\"");
        assert_eq!(Cursor::new("").found(), "the end of the expression");
    }

    use alloc::string::ToString;
}
