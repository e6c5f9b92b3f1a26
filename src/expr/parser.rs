//! A recursive-descent parser with one level per logical operator
//! (precedence climbing over `or` < `xor` < `and` < `not`), type-checking as
//! it goes so that every error carries the position of its cause.
//!
//! Recursion is bounded: every construct that nests (`(`, `not`/`!`,
//! function calls, `any(`/`all(`) counts against
//! [`MAX_NESTING_DEPTH`] levels, so no input can exhaust
//! the stack.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::net::IpAddr;

use super::ast::{
    Arg, Call, CmpOp, Comparison, Expr, Function, Index, IntItem, IpItem, LogicalOp, Quantifier, Rhs, Scalar, Span,
    Test, Ty, UNSUPPORTED_FUNCTIONS, Value,
};
use super::error::{ErrorKind, ExprError};
use super::fields::Field;
use super::lexer::Cursor;
use super::{MAX_EACH, MAX_EXPRESSION_LEN, MAX_NESTING_DEPTH, MAX_SET_ITEMS};

/// Parses and type-checks an expression.
pub(crate) fn parse(src: &str) -> Result<Expr, ExprError> {
    // The limit counts characters, as Cloudflare's does; no text of at
    // most that many bytes can be over it.
    if src.len() > MAX_EXPRESSION_LEN
        && let Some((at, _)) = src.char_indices().nth(MAX_EXPRESSION_LEN)
    {
        return Err(ExprError::new(at, ErrorKind::TooLong { limit: MAX_EXPRESSION_LEN }));
    }
    if src.trim_ascii().is_empty() {
        return Err(ExprError::new(0, ErrorKind::Empty));
    }
    let mut parser = Parser { cur: Cursor::new(src), depth: 0, each: 0 };
    let expr = parser.logical(LogicalOp::Or)?;
    parser.cur.skip_ws();
    if !parser.cur.at_end() {
        return Err(parser.cur.unexpected("\"and\", \"or\", \"xor\" or the end of the expression"));
    }
    Ok(expr)
}

/// The comparison operators, longest spelling first where one is a prefix
/// of another.
const OPERATORS: &[(&str, CmpOp)] = &[
    ("==", CmpOp::Eq),
    ("!=", CmpOp::Ne),
    ("<=", CmpOp::Le),
    (">=", CmpOp::Ge),
    ("<", CmpOp::Lt),
    (">", CmpOp::Gt),
    ("~", CmpOp::Matches),
    ("eq", CmpOp::Eq),
    ("ne", CmpOp::Ne),
    ("lt", CmpOp::Lt),
    ("le", CmpOp::Le),
    ("gt", CmpOp::Gt),
    ("ge", CmpOp::Ge),
    ("contains", CmpOp::Contains),
    ("matches", CmpOp::Matches),
    ("wildcard", CmpOp::Wildcard),
    ("in", CmpOp::In),
];

struct Parser<'s> {
    cur: Cursor<'s>,
    depth: usize,
    each: usize,
}

fn type_error(at: usize, message: String) -> ExprError {
    ExprError::new(at, ErrorKind::Type(message))
}

impl Parser<'_> {
    fn enter(&mut self, at: usize) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_NESTING_DEPTH {
            return Err(ExprError::new(at, ErrorKind::TooDeep { limit: MAX_NESTING_DEPTH }));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn expect(&mut self, token: &'static str, expected: &'static str) -> Result<(), ExprError> {
        self.cur.skip_ws();
        if self.cur.eat(token) { Ok(()) } else { Err(self.cur.unexpected(expected)) }
    }

    fn eat_logical(&mut self, op: LogicalOp) -> bool {
        let (word, symbol) = match op {
            LogicalOp::And => ("and", "&&"),
            LogicalOp::Xor => ("xor", "^^"),
            LogicalOp::Or => ("or", "||"),
        };
        self.cur.eat_keyword(word) || self.cur.eat(symbol)
    }

    fn operand(&mut self, op: LogicalOp) -> Result<Expr, ExprError> {
        match op {
            LogicalOp::Or => self.logical(LogicalOp::Xor),
            LogicalOp::Xor => self.logical(LogicalOp::And),
            LogicalOp::And => self.simple(),
        }
    }

    /// `operand { op operand }`, flattened into one n-ary node.
    fn logical(&mut self, op: LogicalOp) -> Result<Expr, ExprError> {
        let first = self.operand(op)?;
        self.cur.skip_ws();
        if !self.eat_logical(op) {
            return Ok(first);
        }
        let mut items = vec![first];
        loop {
            items.push(self.operand(op)?);
            self.cur.skip_ws();
            if !self.eat_logical(op) {
                return Ok(Expr::Logical(op, items));
            }
        }
    }

    fn simple(&mut self) -> Result<Expr, ExprError> {
        self.cur.skip_ws();
        let start = self.cur.pos();
        let bang = self.cur.peek() == Some(b'!') && self.cur.peek_at(1) != Some(b'=');
        if self.cur.eat_keyword("not") || (bang && self.cur.eat("!")) {
            self.enter(start)?;
            let inner = self.simple()?;
            self.leave();
            return Ok(Expr::Not(Box::new(inner)));
        }
        if self.cur.eat("(") {
            self.enter(start)?;
            let inner = self.logical(LogicalOp::Or)?;
            self.expect(")", "\")\"")?;
            self.leave();
            return Ok(inner);
        }
        if self.cur.at_end() {
            return Err(self.cur.unexpected("a condition"));
        }
        let save = self.cur.clone();
        if let Some(word @ ("any" | "all")) = self.cur.ident() {
            self.cur.skip_ws();
            if self.cur.eat("(") {
                let quantifier = if word == "any" { Quantifier::Any } else { Quantifier::All };
                self.enter(start)?;
                let cmp = self.comparison()?;
                if !yields_array(&cmp) {
                    return Err(type_error(
                        cmp.span.0,
                        format!(
                            "{word}() takes a comparison over the elements of an array, \
                             as in {word}(http.request.headers[\"accept\"][*] contains \"json\")"
                        ),
                    ));
                }
                self.expect(")", "\")\"")?;
                self.leave();
                return Ok(Expr::Quantified(quantifier, Box::new(cmp)));
            }
        }
        self.cur = save;
        let cmp = self.comparison()?;
        if yields_array(&cmp) {
            return Err(type_error(
                cmp.span.0,
                String::from("a comparison over [*] gives Array<Bool>: reduce it with any(…) or all(…)"),
            ));
        }
        Ok(Expr::Compare(cmp))
    }

    fn operator(&mut self) -> Result<Option<(CmpOp, &'static str)>, ExprError> {
        let at = self.cur.pos();
        if self.cur.eat_keyword("strict") {
            self.cur.skip_ws();
            if self.cur.eat_keyword("wildcard") {
                return Ok(Some((CmpOp::StrictWildcard, "strict wildcard")));
            }
            return Err(self.cur.unexpected("\"wildcard\" after \"strict\""));
        }
        for &(spelling, op) in OPERATORS {
            let symbolic = !spelling.as_bytes()[0].is_ascii_alphabetic();
            if (symbolic && self.cur.eat(spelling)) || (!symbolic && self.cur.eat_keyword(spelling)) {
                return Ok(Some((op, spelling)));
            }
        }
        let single_amp = self.cur.peek() == Some(b'&') && self.cur.peek_at(1) != Some(b'&');
        if single_amp || self.cur.eat_keyword("bitwise_and") {
            return Err(ExprError::new(
                at,
                ErrorKind::Unsupported("the bitwise operator (& or bitwise_and) is not supported"),
            ));
        }
        Ok(None)
    }

    fn comparison(&mut self) -> Result<Comparison, ExprError> {
        self.cur.skip_ws();
        let start = self.cur.pos();
        let lhs = self.value()?;
        let ty = lhs.ty();
        self.cur.skip_ws();
        let op_at = self.cur.pos();
        let Some((op, spelled)) = self.operator()? else {
            if matches!(ty, Ty::Scalar(Scalar::Bool) | Ty::Mapped(Scalar::Bool) | Ty::Each(Scalar::Bool)) {
                return Ok(Comparison { lhs, test: None, span: Span(start) });
            }
            return Err(self.cur.unexpected("a comparison operator"));
        };
        let scalar = match ty {
            Ty::Scalar(Scalar::Bool) | Ty::Each(Scalar::Bool) => {
                return Err(type_error(
                    start,
                    String::from("a Bool value cannot be compared: use it on its own, as in `ssl` or `not ssl`"),
                ));
            }
            Ty::Scalar(s) | Ty::Each(s) => s,
            Ty::Array(_) | Ty::Map(_) | Ty::Mapped(_) => {
                return Err(type_error(
                    start,
                    format!(
                        "a value of type {} cannot be compared: index it ([0], [\"key\"]) \
                         or compare its elements with any(…[*] …)",
                        ty.describe()
                    ),
                ));
            }
        };
        let allowed = match scalar {
            Scalar::Bytes => true,
            _ => matches!(op, CmpOp::Eq | CmpOp::Ne | CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge | CmpOp::In),
        };
        if !allowed {
            return Err(type_error(op_at, format!("\"{spelled}\" does not apply to {} values", scalar.name())));
        }
        self.cur.skip_ws();
        let rhs_at = self.cur.pos();
        if self.cur.at_end() {
            return Err(self.cur.error(ErrorKind::MissingValue { op: spelled }));
        }
        let rhs = match (scalar, op) {
            (_, CmpOp::In) => self.set(scalar)?,
            (Scalar::Bytes, CmpOp::Matches) => {
                if !self.cur.at_string() {
                    return Err(self.cur.unexpected("a regex string"));
                }
                Rhs::Regex(self.cur.regex()?)
            }
            (Scalar::Bytes, _) => {
                if !self.cur.at_string() {
                    return Err(self.cur.unexpected("a quoted string"));
                }
                Rhs::Bytes(self.cur.string()?)
            }
            (Scalar::Int, _) => Rhs::Int(self.cur.int()?),
            _ => {
                let ip = self.cur.ip()?;
                if self.cur.peek() == Some(b'/') {
                    return Err(self.cur.error(ErrorKind::Literal(String::from(
                        "a CIDR range needs a set: write `ip.src in {192.0.2.0/24}`",
                    ))));
                }
                Rhs::Ip(ip)
            }
        };
        Ok(Comparison { lhs, test: Some(Test { op, rhs, span: Span(rhs_at) }), span: Span(start) })
    }

    /// `{ item … }` for `in`.
    fn set(&mut self, scalar: Scalar) -> Result<Rhs, ExprError> {
        let open = self.cur.pos();
        if self.cur.peek() == Some(b'$') {
            return Err(self.cur.error(ErrorKind::Unsupported(
                "named lists ($name) are not supported in load-balancer rules or Origin Rules",
            )));
        }
        if !self.cur.eat("{") {
            return Err(self.cur.unexpected("\"{\" to open a set"));
        }
        let mut bytes = Vec::new();
        let mut ints = Vec::new();
        let mut ips = Vec::new();
        let mut count = 0usize;
        loop {
            self.cur.skip_ws();
            if self.cur.eat("}") {
                break;
            }
            if self.cur.at_end() {
                return Err(ExprError::new(open, ErrorKind::Literal(String::from("unclosed set: missing \"}\""))));
            }
            count += 1;
            if count > MAX_SET_ITEMS {
                return Err(self.cur.error(ErrorKind::TooMany { what: "set items", limit: MAX_SET_ITEMS }));
            }
            let item_at = self.cur.pos();
            match scalar {
                Scalar::Bytes => {
                    if !self.cur.at_string() {
                        return Err(self.cur.unexpected("a quoted string or \"}\""));
                    }
                    bytes.push(self.cur.string()?);
                }
                Scalar::Int => {
                    if !self.cur.at_int() {
                        return Err(self.cur.unexpected("an integer or \"}\""));
                    }
                    let start = self.cur.int()?;
                    if self.cur.eat("..") {
                        let end = self.cur.int()?;
                        if start > end {
                            return Err(ExprError::new(
                                item_at,
                                ErrorKind::Literal(String::from("the range's start is greater than its end")),
                            ));
                        }
                        ints.push(IntItem::Range(start, end));
                    } else {
                        ints.push(IntItem::One(start));
                    }
                }
                _ => ips.push(self.ip_item(item_at)?),
            }
        }
        Ok(match scalar {
            Scalar::Bytes => Rhs::BytesSet(bytes),
            Scalar::Int => Rhs::IntSet(ints),
            _ => Rhs::IpSet(ips),
        })
    }

    fn ip_item(&mut self, at: usize) -> Result<IpItem, ExprError> {
        let ip = self.cur.ip()?;
        if self.cur.eat("/") {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            return Ok(IpItem::Cidr(ip, self.cur.prefix_len(max)?));
        }
        if self.cur.eat("..") {
            let end = self.cur.ip()?;
            let ordered = match (ip, end) {
                (IpAddr::V4(a), IpAddr::V4(b)) => a <= b,
                (IpAddr::V6(a), IpAddr::V6(b)) => a <= b,
                _ => {
                    return Err(ExprError::new(
                        at,
                        ErrorKind::Literal(String::from("an IP range cannot mix IPv4 and IPv6")),
                    ));
                }
            };
            if !ordered {
                return Err(ExprError::new(
                    at,
                    ErrorKind::Literal(String::from("the range's start is greater than its end")),
                ));
            }
            return Ok(IpItem::Range(ip, end));
        }
        Ok(IpItem::One(ip))
    }

    /// A field or function call, with indexes.
    fn value(&mut self) -> Result<Value, ExprError> {
        self.cur.skip_ws();
        let start = self.cur.pos();
        let Some(name) = self.cur.ident() else {
            return Err(self.cur.unexpected("a field or a function call"));
        };
        let after_name = self.cur.clone();
        self.cur.skip_ws();
        let mut value = if self.cur.peek() == Some(b'(') {
            let Some(func) = Function::lookup(name) else {
                let kind = if UNSUPPORTED_FUNCTIONS.contains(&name) {
                    ErrorKind::UnsupportedFunction(String::from(name))
                } else if name == "any" || name == "all" {
                    ErrorKind::Type(format!("{name}(…) is a condition and cannot be used as a value"))
                } else {
                    ErrorKind::UnknownFunction(String::from(name))
                };
                return Err(ExprError::new(start, kind));
            };
            self.cur.eat("(");
            self.enter(start)?;
            let call = self.call(func, start)?;
            self.leave();
            Value::Call(call)
        } else {
            self.cur = after_name;
            match Field::lookup(name) {
                Some(field) => Value::Field(field, Span(start)),
                None => return Err(ExprError::new(start, ErrorKind::UnknownField(String::from(name)))),
            }
        };
        loop {
            let save = self.cur.clone();
            self.cur.skip_ws();
            let at = self.cur.pos();
            if !self.cur.eat("[") {
                self.cur = save;
                break;
            }
            self.cur.skip_ws();
            let index = if self.cur.eat("*") {
                Index::Each
            } else if self.cur.at_string() {
                Index::Key(self.cur.string()?)
            } else if self.cur.peek().is_some_and(|b| b.is_ascii_digit()) {
                let n = self.cur.int()?;
                match u32::try_from(n) {
                    Ok(n) => Index::Elem(n),
                    Err(_) => return Err(ExprError::new(at + 1, ErrorKind::Literal(String::from("index too large")))),
                }
            } else {
                return Err(self.cur.unexpected("an index: a number, a quoted key or *"));
            };
            self.expect("]", "\"]\"")?;
            check_index(&value, &index, at)?;
            if index == Index::Each {
                self.each += 1;
                if self.each > MAX_EACH {
                    return Err(ExprError::new(at, ErrorKind::TooMany { what: "[*]", limit: MAX_EACH }));
                }
            }
            value = Value::Index(Box::new(value), index, Span(at));
        }
        Ok(value)
    }

    /// The arguments of a call, after its `(`, through its `)`.
    fn call(&mut self, func: Function, start: usize) -> Result<Call, ExprError> {
        let mut args = Vec::new();
        let mut spans = Vec::new();
        self.cur.skip_ws();
        if !self.cur.eat(")") {
            loop {
                self.cur.skip_ws();
                spans.push(self.cur.pos());
                let arg = if self.cur.at_string() {
                    Arg::Bytes(self.cur.string()?)
                } else if self.cur.at_int() {
                    Arg::Int(self.cur.int()?)
                } else {
                    Arg::Value(self.value()?)
                };
                args.push(arg);
                self.cur.skip_ws();
                if self.cur.eat(",") {
                    continue;
                }
                if self.cur.eat(")") {
                    break;
                }
                return Err(self.cur.unexpected("\",\" or \")\""));
            }
        }
        check_call(func, &args, &spans, start)?;
        Ok(Call { func, args, span: Span(start) })
    }
}

/// Whether a comparison yields `Array<Bool>` (it maps over `[*]`).
fn yields_array(cmp: &Comparison) -> bool {
    match cmp.lhs.ty() {
        Ty::Each(_) => true,
        Ty::Mapped(Scalar::Bool) => cmp.test.is_none(),
        _ => false,
    }
}

fn check_index(value: &Value, index: &Index, at: usize) -> Result<(), ExprError> {
    let ty = value.ty();
    let message = match (ty, index) {
        (Ty::Array(_), Index::Elem(_)) | (Ty::Map(_), Index::Key(_)) | (Ty::Array(_) | Ty::Mapped(_), Index::Each) => {
            return Ok(());
        }
        (Ty::Map(_), Index::Each) => {
            String::from("[*] over a map is not supported: use its .names or .values field, or look a key up first")
        }
        (Ty::Map(_), Index::Elem(_)) => String::from("a map is indexed by a quoted key, as in [\"content-type\"]"),
        (Ty::Array(_), Index::Key(_)) => String::from("an array is indexed by a number, as in [0]"),
        (Ty::Mapped(_), _) => String::from("an array made with [*] can only be used with [*]"),
        (Ty::Each(_), _) => String::from("the elements of [*] cannot be indexed"),
        (Ty::Scalar(s), _) => format!("a {} value cannot be indexed", s.name()),
    };
    Err(type_error(at, message))
}

/// Checks a call's arguments against the function's signature.
fn check_call(func: Function, args: &[Arg], spans: &[usize], start: usize) -> Result<(), ExprError> {
    let name = func.name();
    let (min, max) = match func {
        Function::Lower | Function::Upper | Function::Len => (1, 1),
        Function::StartsWith | Function::EndsWith | Function::RemoveBytes => (2, 2),
        Function::UrlDecode => (1, 2),
        Function::Substring => (2, 3),
        Function::Concat => (1, usize::MAX),
    };
    if args.len() < min || args.len() > max {
        let expected = match (min, max) {
            (1, 1) => String::from("1 argument"),
            (a, b) if a == b => format!("{a} arguments"),
            (a, usize::MAX) => format!("at least {a} argument{}", if a == 1 { "" } else { "s" }),
            (a, b) => format!("{a} to {b} arguments"),
        };
        return Err(type_error(start, format!("{name}() takes {expected}, got {}", args.len())));
    }
    for (i, arg) in args.iter().enumerate().skip(1) {
        if matches!(arg.ty(), Ty::Each(_)) {
            return Err(type_error(spans[i], String::from("[*] is only allowed in a function's first argument")));
        }
    }
    let expect_bytes = |i: usize| -> Result<(), ExprError> {
        match args[i].ty() {
            Ty::Scalar(Scalar::Bytes) | Ty::Each(Scalar::Bytes) => Ok(()),
            ty => Err(type_error(
                spans[i],
                format!("{name}() expects a String as argument {}, found {}", i + 1, ty.describe()),
            )),
        }
    };
    let not_literal = |i: usize| -> Result<(), ExprError> {
        match args[i] {
            Arg::Value(_) => Ok(()),
            _ => {
                Err(type_error(spans[i], format!("the first argument of {name}() must be a field or a function call")))
            }
        }
    };
    let string_literal = |i: usize, what: &str| -> Result<(), ExprError> {
        match args[i] {
            Arg::Bytes(_) => Ok(()),
            _ => Err(type_error(spans[i], format!("{what} of {name}() must be a string literal"))),
        }
    };
    let int_literal = |i: usize| -> Result<(), ExprError> {
        match args[i] {
            Arg::Int(_) => Ok(()),
            _ => Err(type_error(spans[i], format!("the indexes of {name}() must be integer literals"))),
        }
    };
    match func {
        Function::Lower | Function::Upper => expect_bytes(0),
        Function::StartsWith | Function::EndsWith => {
            not_literal(0)?;
            expect_bytes(0)?;
            string_literal(1, "the second argument")
        }
        Function::RemoveBytes => {
            expect_bytes(0)?;
            string_literal(1, "the second argument")
        }
        Function::Len => match args[0].ty() {
            Ty::Scalar(Scalar::Bytes) | Ty::Each(Scalar::Bytes) | Ty::Array(_) => Ok(()),
            Ty::Mapped(_) => {
                Err(type_error(spans[0], String::from("an array made with [*] can only be used with [*]")))
            }
            ty => Err(type_error(spans[0], format!("len() expects a String or an array, found {}", ty.describe()))),
        },
        Function::Concat => {
            for (i, arg) in args.iter().enumerate() {
                match arg.ty() {
                    Ty::Scalar(Scalar::Bytes | Scalar::Int) | Ty::Each(Scalar::Bytes | Scalar::Int) => {}
                    Ty::Array(_) | Ty::Mapped(_) | Ty::Map(_) => {
                        return Err(type_error(spans[i], String::from("concat() of arrays is not supported")));
                    }
                    ty => {
                        return Err(type_error(
                            spans[i],
                            format!("concat() expects Strings or Ints, found {}", ty.describe()),
                        ));
                    }
                }
            }
            Ok(())
        }
        Function::UrlDecode => {
            not_literal(0)?;
            expect_bytes(0)?;
            if args.len() == 2 {
                string_literal(1, "the options")?;
                if let Arg::Bytes(options) = &args[1]
                    && !options.iter().all(|b| matches!(b, b'r' | b'u'))
                {
                    return Err(ExprError::new(
                        spans[1],
                        ErrorKind::Literal(String::from(
                            "url_decode() options are \"r\" (recursive) and \"u\" (%uXXXX)",
                        )),
                    ));
                }
            }
            Ok(())
        }
        Function::Substring => {
            expect_bytes(0)?;
            int_literal(1)?;
            if args.len() == 3 { int_literal(2) } else { Ok(()) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_not_and_xor_or() {
        let e = parse("ssl or ssl xor ssl and not ssl").unwrap();
        let Expr::Logical(LogicalOp::Or, items) = &e else { panic!("{e:?}") };
        assert_eq!(items.len(), 2);
        let Expr::Logical(LogicalOp::Xor, items) = &items[1] else { panic!() };
        let Expr::Logical(LogicalOp::And, items) = &items[1] else { panic!() };
        assert!(matches!(items[1], Expr::Not(_)));
        let e = parse("ssl && ssl && ssl || !ssl ^^ ssl").unwrap();
        let Expr::Logical(LogicalOp::Or, items) = &e else { panic!() };
        assert!(matches!(&items[0], Expr::Logical(LogicalOp::And, v) if v.len() == 3));
        assert!(matches!(&items[1], Expr::Logical(LogicalOp::Xor, v) if v.len() == 2));
    }

    #[test]
    fn nesting_is_limited_without_overflow() {
        let deep = format!("{}ssl{}", "(".repeat(10_000), ")".repeat(10_000));
        let err = parse(&deep[..4000]).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::TooDeep { limit: MAX_NESTING_DEPTH });
        assert_eq!(err.offset(), MAX_NESTING_DEPTH);
        let nots = "not ".repeat(1000) + "ssl";
        assert!(matches!(parse(&nots).unwrap_err().kind(), ErrorKind::TooDeep { .. }));
        let ok = format!("{}ssl{}", "(".repeat(MAX_NESTING_DEPTH), ")".repeat(MAX_NESTING_DEPTH));
        assert!(parse(&ok).is_ok());
        let calls = format!("{}http.host{} eq \"a\"", "lower(".repeat(100), ")".repeat(100));
        assert!(matches!(parse(&calls).unwrap_err().kind(), ErrorKind::TooDeep { .. }));
    }
}
