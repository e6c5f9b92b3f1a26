//! The canonical printer: English operators, single spaces, parentheses
//! only where precedence needs them, strings escaped so that re-parsing the
//! output gives the same tree.

use core::fmt::{self, Display, Formatter, Write};

use super::ast::{Arg, Comparison, Expr, Index, IntItem, IpItem, Quantifier, Rhs, Value};

/// Precedence of `not` and of simple expressions: above every binary operator.
const NOT_PRECEDENCE: u8 = 4;

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_expr(f, self, 0)
    }
}

fn write_expr(f: &mut Formatter<'_>, expr: &Expr, parent: u8) -> fmt::Result {
    match expr {
        Expr::Logical(op, items) => {
            let own = op.precedence();
            let paren = own <= parent;
            if paren {
                f.write_char('(')?;
            }
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    write!(f, " {} ", op.keyword())?;
                }
                write_expr(f, item, own)?;
            }
            if paren {
                f.write_char(')')?;
            }
            Ok(())
        }
        Expr::Not(inner) => {
            f.write_str("not ")?;
            write_expr(f, inner, NOT_PRECEDENCE)
        }
        Expr::Quantified(quantifier, cmp) => {
            let name = match quantifier {
                Quantifier::Any => "any",
                Quantifier::All => "all",
            };
            write!(f, "{name}({cmp})")
        }
        Expr::Compare(cmp) => cmp.fmt(f),
    }
}

impl Display for Comparison {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.lhs.fmt(f)?;
        if let Some(test) = &self.test {
            write!(f, " {} ", test.op.keyword())?;
            test.rhs.fmt(f)?;
        }
        Ok(())
    }
}

impl Display for Value {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Value::Field(field, _) => f.write_str(field.name()),
            Value::Index(base, index, _) => {
                base.fmt(f)?;
                match index {
                    Index::Elem(n) => write!(f, "[{n}]"),
                    Index::Key(key) => {
                        f.write_char('[')?;
                        write_string(f, key)?;
                        f.write_char(']')
                    }
                    Index::Each => f.write_str("[*]"),
                }
            }
            Value::Call(call) => {
                write!(f, "{}(", call.func.name())?;
                for (i, arg) in call.args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    match arg {
                        Arg::Value(value) => value.fmt(f)?,
                        Arg::Bytes(bytes) => write_string(f, bytes)?,
                        Arg::Int(n) => write!(f, "{n}")?,
                    }
                }
                f.write_char(')')
            }
        }
    }
}

impl Display for Rhs {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Rhs::Bytes(bytes) => write_string(f, bytes),
            Rhs::Regex(pattern) => write_regex(f, pattern),
            Rhs::Int(n) => write!(f, "{n}"),
            Rhs::Ip(ip) => write!(f, "{ip}"),
            Rhs::BytesSet(items) => write_set(f, items, |f, item| write_string(f, item)),
            Rhs::IntSet(items) => write_set(f, items, |f, item| match item {
                IntItem::One(n) => write!(f, "{n}"),
                IntItem::Range(a, b) => write!(f, "{a}..{b}"),
            }),
            Rhs::IpSet(items) => write_set(f, items, |f, item| match item {
                IpItem::One(ip) => write!(f, "{ip}"),
                IpItem::Cidr(ip, len) => write!(f, "{ip}/{len}"),
                IpItem::Range(a, b) => write!(f, "{a}..{b}"),
            }),
        }
    }
}

fn write_set<T>(
    f: &mut Formatter<'_>,
    items: &[T],
    mut item: impl FnMut(&mut Formatter<'_>, &T) -> fmt::Result,
) -> fmt::Result {
    f.write_char('{')?;
    for (i, value) in items.iter().enumerate() {
        if i > 0 {
            f.write_char(' ')?;
        }
        item(f, value)?;
    }
    f.write_char('}')
}

/// Writes bytes as a quoted string: `"` and `\` escaped, control characters
/// and bytes that are not UTF-8 as `\xHH`.
fn write_string(f: &mut Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    f.write_char('"')?;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                c if c.is_control() => {
                    let mut buf = [0; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        write!(f, "\\x{b:02x}")?;
                    }
                }
                c => f.write_char(c)?,
            }
        }
        for b in chunk.invalid() {
            write!(f, "\\x{b:02x}")?;
        }
    }
    f.write_char('"')
}

/// Writes a regex pattern as a quoted string when regex-literal rules can
/// express it (only `\"` is special there), else as a raw string.
fn write_regex(f: &mut Formatter<'_>, pattern: &str) -> fmt::Result {
    let bytes = pattern.as_bytes();
    let mut quotable = true;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if matches!(bytes.get(i + 1), None | Some(b'"')) {
                quotable = false;
                break;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    if quotable {
        f.write_char('"')?;
        let mut rest = pattern;
        while let Some(quote) = rest.find('"') {
            f.write_str(&rest[..quote])?;
            f.write_str("\\\"")?;
            rest = &rest[quote + 1..];
        }
        f.write_str(rest)?;
        return f.write_char('"');
    }
    // The fewest `#` such that no `"` inside is followed by that many.
    let mut hashes = 0;
    for (i, _) in pattern.match_indices('"') {
        let run = bytes[i + 1..].iter().take_while(|&&b| b == b'#').count();
        hashes = hashes.max(run + 1);
    }
    f.write_char('r')?;
    for _ in 0..hashes {
        f.write_char('#')?;
    }
    write!(f, "\"{pattern}\"")?;
    for _ in 0..hashes {
        f.write_char('#')?;
    }
    Ok(())
}
