//! The Rules-language expression engine: load-balancer custom-rule
//! conditions and Origin Rule expressions, compiled once and evaluated on
//! every request without allocating.
//!
//! ```
//! use lbsteer::Request;
//! use lbsteer::expr::{Condition, Context};
//!
//! let rule = Condition::compile(
//!     r#"http.host eq "api.example.com" and starts_with(http.request.uri.path, "/v2/")"#,
//! )?;
//! let request = Request::new("api.example.com").uri("/v2/users?page=2");
//! assert!(rule.matches(&Context::new(&request, "api.example.com")));
//! # Ok::<(), lbsteer::expr::ExprError>(())
//! ```
//!
//! The language is Cloudflare's Rules language (wirefilter syntax).
//! wirefilter's behaviour is the reference; where it is quirky, the choice
//! made here is listed under [Decisions](#decisions).
//!
//! # Grammar
//!
//! ```ebnf
//! expr       = or ;
//! or         = xor { ("or" | "||") xor } ;
//! xor        = and { ("xor" | "^^") and } ;
//! and        = simple { ("and" | "&&") simple } ;
//! simple     = ("not" | "!") simple | "(" expr ")"
//!            | ("any" | "all") "(" comparison ")"      (* comparison over [*] *)
//!            | comparison ;
//! comparison = value [ op rhs ] ;                    (* no op: a Bool value *)
//! value      = (field | call) { "[" (uint | string | "*") "]" } ;
//! call       = function "(" [ arg { "," arg } ] ")" ;
//! arg        = string | int | value ;
//! op         = "eq" | "==" | "ne" | "!=" | "lt" | "<" | "le" | "<=" | "gt" | ">" | "ge" | ">="
//!            | "contains" | "matches" | "~" | "wildcard" | "strict" "wildcard" | "in" ;
//! rhs        = string | int | ip | "{" { set_item } "}" ;
//! set_item   = string | int [ ".." int ] | ip [ "/" uint | ".." ip ] ;
//! ```
//!
//! Precedence, tightest first: `not`, `and`, `xor`, `or`; so `not a and b
//! or c` is `((not a) and b) or c`. English keywords are lower-case only.
//! Whitespace is any ASCII whitespace (see [Decisions](#decisions)). There
//! are no comments and no `true`/`false` literals.
//!
//! **Literals.** Strings are `"…"` with the escapes `\"`, `\\`, `\xHH` and
//! `\OOO` (three octal digits), or raw `r"…"`, `r#"…"#`, … with up to 255
//! `#`. The string after `matches` follows regex rules: only `\"` is
//! unescaped and every other `\c` reaches the regex parser as written
//! (`"\d+\."` is the regex `\d+\.`). Integers are decimal with an optional
//! `-`, or `0x` hex. IP addresses are IPv4 or IPv6; sets may also hold CIDRs
//! (`192.0.2.0/24`) and ranges (`192.0.2.3..192.0.2.7`, `1..5`), and all
//! items of a set share the left side's type.
//!
//! # Types and fields
//!
//! Values are `String` (bytes, not necessarily UTF-8), `Int` (`i64`), `IP`,
//! `Bool`, `Array<String>` and `Map<Array<String>>`. Fields are resolved and
//! type-checked at compile time; any other name, including fields of other
//! Rules-language phases (`http.request.full_uri`, `raw.http.request.uri.path`,
//! `cf.edge.server_port`, `ip.geoip.asnum`, `dns.*`…), is an "unknown field"
//! error at its position.
//!
//! | Field | Type | Value |
//! |---|---|---|
//! | `http.host` | String | [`Context::host`]: lower-case, no port, no trailing dot |
//! | `http.request.method` | String | [`Request::method`] |
//! | `http.request.uri` | String | path, plus `?query` when the query is non-empty |
//! | `http.request.uri.path` | String | [`Request::path`] |
//! | `http.request.uri.query` | String | [`Request::query`], without `?` |
//! | `http.request.uri.args` | `Map<Array<String>>` | query arguments by raw name, raw values, in order |
//! | `http.request.uri.args.names` / `.values` | `Array<String>` | every argument's raw name / value |
//! | `http.request.headers` | `Map<Array<String>>` | values by lower-case header name |
//! | `http.request.headers.names` / `.values` | `Array<String>` | every header's name as the request has it (not lower-cased; `lower()` for a case-insensitive test) / value |
//! | `http.cookie` | String | the `Cookie` header; empty when absent |
//! | `http.request.cookies` | `Map<Array<String>>` | cookie values by percent-decoded name |
//! | `http.referer`, `http.user_agent` | String | first `Referer` / `User-Agent` header; empty when absent |
//! | `http.request.version` | String | [`Request::version`], e.g. `HTTP/1.1` |
//! | `http.request.timestamp.sec` | Int | [`Request::timestamp`]; missing when unknown |
//! | `ip.src` | IP | [`Request::client_ip`]; missing when unknown |
//! | `ip.src.country`, `ip.geoip.country` | String | [`Request::country`] (`US`); missing when unknown |
//! | `cf.load_balancer.name` | String | [`Context::load_balancer`]; missing when `None` (Origin Rules) |
//! | `cf.load_balancer.region` | String | [`Request::region`]'s code (`WEU`); missing when unknown |
//! | `ssl` | Bool | the scheme is `https` |
//!
//! Header map keys are lower-case names, exactly as in Cloudflare: since
//! request header names are matched ignoring ASCII case,
//! `http.request.headers["content-type"]` finds `Content-Type`, while a key
//! written with an upper-case letter can never match.
//!
//! **Indexing.** `array[n]` is the n-th element, `map["key"]` the array
//! under a key, and `array[*]` each element in turn. A comparison over
//! `[*]` gives `Array<Bool>` and must be reduced by `any(…)` or `all(…)`:
//! `any(http.request.headers["accept"][*] contains "json")`. `[*]` may
//! appear only in a function's first argument or on the left of a
//! comparison, and a function applied to `x[*]` works element-wise and gives
//! an array to be used with `[*]` again:
//! `any(lower(http.request.headers.names[*])[*] == "x-debug")`.
//!
//! # Functions
//!
//! | Function | Signature | Notes |
//! |---|---|---|
//! | `any`, `all` | `(comparison over [*]) → Bool` | over an empty or missing array: `any` is false, `all` is true |
//! | `lower`, `upper` | `(String) → String` | ASCII only; other bytes unchanged |
//! | `starts_with`, `ends_with` | `(String, "literal") → Bool` | the source cannot be a literal |
//! | `len` | `(String \| Array) → Int` | bytes, or elements |
//! | `concat` | `(String \| Int, …) → String` | integers in decimal; arrays are not supported |
//! | `url_decode` | `(String[, "options"]) → String` | `%HH` and `+`; options `r` (recursive) and `u` (`%uHHHH`), see below |
//! | `substring` | `(String, start[, end]) → String` | byte indexes, end exclusive, negative ones from the end, clamped |
//! | `remove_bytes` | `(String, "bytes") → String` | drops every byte that occurs in the literal |
//!
//! Arguments are checked at compile time. Other Rules-language functions
//! (`regex_replace`, `to_string`, `lookup_json_string`, …) are rejected as
//! not available in these phases. `url_decode(x, "r")` decodes to the fixed
//! point of repeated decoding (`%2541` gives `A`), computed in one streaming
//! pass; see `decode.rs` for the one pathological limit.
//!
//! # Semantics
//!
//! - **Missing values.** An absent header, cookie or argument, an
//!   out-of-range index, an unknown client IP, country, region or timestamp,
//!   and `cf.load_balancer.name` outside LB rules are *missing*, and so is a
//!   function result computed from a missing value. Every comparison with a
//!   missing value is false, `ne` included (Cloudflare's documented
//!   behaviour, which wirefilter only gives with
//!   `set_nil_not_equal_behavior(false)`); `not` then makes it true. So
//!   `not len(http.request.uri.args["order"]) >= 0` is true when there is
//!   no `order` argument.
//! - **Comparisons.** `eq`, `contains`, `lt` … on strings are byte-wise and
//!   case-sensitive. `wildcard` matches the whole value, ignoring ASCII
//!   case; `strict wildcard` is case-sensitive; `*` is any run of bytes, `\*`
//!   and `\\` escape, `**` is an error and `?` is literal. `matches` is a
//!   Rust regex, found anywhere in the value (anchor with `^` and `$`),
//!   byte-oriented (`.` is any byte but `\n`) unless `(?u)` turns Unicode on.
//! - **Evaluation** short-circuits `and` and `or`, left to right.
//!
//! # Decisions
//!
//! Where wirefilter is quirky or silent:
//!
//! - **Whitespace**: any ASCII whitespace separates tokens, tabs included
//!   (wirefilter rejects tabs; rules copied from documentation often carry
//!   them).
//! - **Integers with a leading zero** (`010`) are an error; wirefilter reads
//!   them as octal. `0x` hex is accepted.
//! - **IP addresses** are ordered (`ip.src lt 10.0.0.1`, as wirefilter
//!   allows) within one family; comparing an IPv4 with an IPv6 address by
//!   order is false. An IPv4-mapped client address (`::ffff:192.0.2.1`, as
//!   dual-stack sockets report IPv4 peers) is matched as IPv4. CIDR host bits
//!   are ignored (`192.0.2.9/24` is `192.0.2.0/24`). `ip.src == 192.0.2.0/24`
//!   is an error: CIDRs need `in {…}`.
//! - **Not supported**, with a clear error: named lists (`$name`, which LB
//!   rules do not support either), the bitwise `&` operator, byte-string
//!   literals (`01:02:03`), `[*]` directly over a map, and arrays in
//!   `concat`.
//! - `http.cookie`, `http.referer` and `http.user_agent` are the empty
//!   string when the header is absent (as in Cloudflare, where
//!   `http.user_agent eq ""` finds requests without one).
//!
//! # Limits
//!
//! Every input yields a [`Condition`] or an [`ExprError`] with a position;
//! nothing panics and nothing recurses without bound.
//!
//! | Limit | Value |
//! |---|---|
//! | expression length | [`MAX_EXPRESSION_LEN`] characters (Unicode scalar values, as Cloudflare counts; at most four bytes each) |
//! | nesting of `(`, `not`, calls, `any`/`all` | [`MAX_NESTING_DEPTH`] |
//! | items in one set | [`MAX_SET_ITEMS`] |
//! | `[*]` in one expression | [`MAX_EACH`] |
//! | `#` around a raw string | [`MAX_RAW_STRING_HASHES`] |
//! | compiled size of one regex | [`MAX_REGEX_SIZE`] bytes |
//! | compiled size of all regexes of one expression | [`MAX_REGEX_TOTAL`] bytes |
//! | reads of one value by one comparison | [`MAX_VALUE_READS`] |
//!
//! # Design
//!
//! Compiling parses with a hand-written recursive-descent parser
//! (`parser.rs`, reading tokens on demand from `lexer.rs` because literals
//! depend on context), type-checks against the field registry
//! (`fields.rs`) into a tree (`ast.rs`) that [`Condition`]'s `Display` prints
//! back canonically (`print.rs`), then lowers it (`compile.rs`) into an
//! evaluation tree (`eval.rs`) where every matcher is prebuilt: regexes as
//! dense DFAs (`regex.rs`), wildcards as segment searchers (`wildcard.rs`),
//! sets as sorted arrays and merged ranges, substrings as SIMD searchers
//! (`matchers.rs`).
//!
//! Evaluation never allocates. Header values are only lent to callbacks by a
//! [`HeaderSource`](crate::HeaderSource), so tests run inside those
//! callbacks. A value that is one slice is tested in place; a transformed
//! value (`lower`, `url_decode`, `concat`, …) is produced through sink
//! adapters into a 256-byte stack buffer and tested as a slice, or, when
//! longer, streamed byte by byte through the test itself: every test (DFA,
//! KMP, prefix, ordering, set narrowing) can consume a stream
//! (`stream.rs`). `lower(x) == "lit"` compiles to an ASCII case-insensitive
//! comparison of `x`.
//!
//! [`Request::method`]: crate::Request::method
//! [`Request::path`]: crate::Request::path
//! [`Request::query`]: crate::Request::query
//! [`Request::version`]: crate::Request::version
//! [`Request::timestamp`]: crate::Request::timestamp
//! [`Request::client_ip`]: crate::Request::client_ip
//! [`Request::country`]: crate::Request::country
//! [`Request::region`]: crate::Request::region

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::fmt;

use crate::request::Request;

mod ast;
mod compile;
mod decode;
mod error;
mod eval;
mod fields;
mod lexer;
mod matchers;
mod parser;
mod print;
mod regex;
mod stream;
mod wildcard;

#[cfg(test)]
mod tests;

pub use error::{ErrorKind, ExprError};

/// The longest accepted expression, in characters (Cloudflare's limit;
/// at most four times as many bytes).
pub const MAX_EXPRESSION_LEN: usize = 4096;
/// How deeply parentheses, `not`, function calls and `any`/`all` may nest.
pub const MAX_NESTING_DEPTH: usize = 64;
/// The most items one `{…}` set may hold.
pub const MAX_SET_ITEMS: usize = 1024;
/// The most `[*]` one expression may use.
pub const MAX_EACH: usize = 32;
/// The most `#` a raw string may use (`r#"…"#`).
pub const MAX_RAW_STRING_HASHES: usize = 255;
/// The largest compiled form of one regex, in bytes.
pub const MAX_REGEX_SIZE: usize = 1 << 20;
/// The largest compiled form of all regexes of one expression, in bytes.
pub const MAX_REGEX_TOTAL: usize = 4 << 20;
/// How many times evaluating one comparison may read the same request
/// value. Only a `substring` with a negative index over `url_decode` or
/// `remove_bytes` reads twice (once to measure); nesting those multiplies.
pub const MAX_VALUE_READS: usize = 16;

/// A compiled expression: immutable, cheap to clone, shareable between
/// threads.
///
/// `Display` prints the expression in canonical form (English operators,
/// minimal parentheses), which compiles to the same condition.
#[derive(Clone)]
pub struct Condition(Arc<Inner>);

struct Inner {
    source: Box<str>,
    ast: ast::Expr,
    root: eval::Node,
}

impl Condition {
    /// Parses, type-checks and compiles an expression.
    ///
    /// An empty or all-whitespace source is an error: callers that treat an
    /// empty LB rule condition as "always true" do so themselves.
    pub fn compile(source: &str) -> Result<Condition, ExprError> {
        let ast = parser::parse(source)?;
        let root = compile::compile(source, &ast)?;
        Ok(Condition(Arc::new(Inner { source: source.into(), ast, root })))
    }

    /// Evaluates the condition against a request. Never allocates.
    #[inline]
    pub fn matches(&self, cx: &Context<'_, '_>) -> bool {
        self.0.root.eval(cx, None)
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.0.source
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Condition").field(&self.source()).finish()
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.ast, f)
    }
}

/// What an expression is evaluated against.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a, 'r> {
    /// The request.
    pub request: &'a Request<'r>,
    /// `http.host`: the request host already normalised by the caller
    /// (lower-case, no port, no trailing dot).
    pub host: &'a str,
    /// `cf.load_balancer.name`: the load balancer's name in LB custom rules,
    /// `None` for Origin Rules (where the field is then missing).
    pub load_balancer: Option<&'a str>,
}

impl<'a, 'r> Context<'a, 'r> {
    /// A context for `request` with its normalised host, outside any load
    /// balancer.
    pub fn new(request: &'a Request<'r>, host: &'a str) -> Self {
        Context { request, host, load_balancer: None }
    }

    /// Sets `cf.load_balancer.name`.
    pub fn with_load_balancer(mut self, name: &'a str) -> Self {
        self.load_balancer = Some(name);
        self
    }
}
