//! The request being routed: a borrowed, allocation-free view of what the
//! host knows about it.

use core::fmt;
use core::net::IpAddr;

use crate::geo::{Coordinates, CountryCode, PopCode, Region};

/// The URL scheme of the incoming request. It sets the default destination
/// port (443 or 80) and the `Secure` attribute of `Auto` affinity cookies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `http`, default port 80.
    Http,
    /// `https`, default port 443.
    #[default]
    Https,
}

impl Scheme {
    /// The scheme's default port.
    pub const fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    /// Reads `http` or `https`, ignoring ASCII case.
    pub fn parse(text: &str) -> Option<Scheme> {
        if text.eq_ignore_ascii_case("https") {
            Some(Scheme::Https)
        } else if text.eq_ignore_ascii_case("http") {
            Some(Scheme::Http)
        } else {
            None
        }
    }
}

/// Read access to a request's headers, for hosts that keep them in their
/// own map type (an `http::HeaderMap`, a parser's buffer).
///
/// Implement [`visit`](Self::visit); override [`visit_values`](Self::visit_values)
/// when the map can look a name up faster than a scan. Names are compared
/// ignoring ASCII case. Values are bytes: header values need not be UTF-8.
pub trait HeaderSource {
    /// Calls `visit` with each header's name and value, in order, until it
    /// returns `false`.
    fn visit(&self, visit: &mut dyn FnMut(&str, &[u8]) -> bool);

    /// Calls `visit` with each value of the header `name`, in order, until it
    /// returns `false`.
    fn visit_values(&self, name: &str, visit: &mut dyn FnMut(&[u8]) -> bool) {
        self.visit(&mut |n, v| if n.eq_ignore_ascii_case(name) { visit(v) } else { true });
    }
}

#[derive(Clone, Copy)]
enum Headers<'a> {
    Pairs(&'a [(&'a str, &'a str)]),
    Source(&'a (dyn HeaderSource + Sync)),
}

/// What the host knows about one request, borrowed for the duration of a
/// decision. Building one does not allocate.
///
/// Only the host is required; everything else defaults to "unknown" or to
/// the HTTP defaults (`https`, `GET`, path `/`).
///
/// ```
/// use lbsteer::Request;
/// let headers = [("x-tier", "gold"), ("cookie", "session=abc")];
/// let request = Request::new("www.example.com")
///     .path("/api/v1")
///     .query("page=2")
///     .headers(&headers)
///     .client_ip("203.0.113.9".parse().unwrap())
///     .region("WNAM")
///     .country("US")
///     .pop("SJC");
/// assert_eq!(request.cookie("session"), Some(&b"abc"[..]));
/// ```
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct Request<'a> {
    /// The host as the client sent it (`Host` header or URL authority).
    pub host: &'a str,
    /// The scheme (default `https`).
    pub scheme: Scheme,
    /// The method (default `GET`).
    pub method: &'a str,
    /// The path, without the query (default `/`).
    pub path: &'a str,
    /// The query string, without the `?`.
    pub query: &'a str,
    /// The HTTP version, as the Rules language writes it (default `HTTP/1.1`).
    pub version: &'a str,
    headers: Headers<'a>,
    cookie: Option<&'a str>,
    /// The client's IP address, when known.
    pub client_ip: Option<IpAddr>,
    /// The region of the data center handling the request, when known.
    pub region: Option<Region>,
    /// The client's country, when known.
    pub country: Option<CountryCode>,
    /// The PoP handling the request, when known.
    pub pop: Option<PopCode>,
    /// The location for proximity steering, when known.
    pub coordinates: Option<Coordinates>,
    /// The request time in seconds since the Unix epoch, when known.
    pub timestamp: Option<u64>,
}

impl<'a> Request<'a> {
    /// A request for `host`, as the client sent it: the `Host` header or the
    /// URL authority. Case, a trailing dot and a `:port` suffix do not matter.
    pub fn new(host: &'a str) -> Self {
        Request {
            host,
            scheme: Scheme::Https,
            method: "GET",
            path: "/",
            query: "",
            version: "HTTP/1.1",
            headers: Headers::Pairs(&[]),
            cookie: None,
            client_ip: None,
            region: None,
            country: None,
            pop: None,
            coordinates: None,
            timestamp: None,
        }
    }

    /// Sets the scheme (default `https`).
    pub fn scheme(mut self, scheme: Scheme) -> Self {
        self.scheme = scheme;
        self
    }

    /// Sets the method (default `GET`).
    pub fn method(mut self, method: &'a str) -> Self {
        self.method = method;
        self
    }

    /// Sets the path, without the query (default `/`).
    pub fn path(mut self, path: &'a str) -> Self {
        self.path = path;
        self
    }

    /// Sets the query string, without the `?`.
    pub fn query(mut self, query: &'a str) -> Self {
        self.query = query;
        self
    }

    /// Sets the path and query from a request target such as `/a/b?x=1`.
    pub fn uri(mut self, target: &'a str) -> Self {
        match target.split_once('?') {
            Some((path, query)) => {
                self.path = path;
                self.query = query;
            }
            None => {
                self.path = target;
                self.query = "";
            }
        }
        self
    }

    /// Sets the HTTP version as the Rules language writes it, such as
    /// `HTTP/2` (default `HTTP/1.1`).
    pub fn version(mut self, version: &'a str) -> Self {
        self.version = version;
        self
    }

    /// Sets the headers from name/value pairs. Names are matched ignoring
    /// ASCII case. The `Cookie` header supplies the cookies.
    pub fn headers(mut self, headers: &'a [(&'a str, &'a str)]) -> Self {
        self.headers = Headers::Pairs(headers);
        self
    }

    /// Sets the headers from the host's own header map. It must be `Sync`
    /// (header maps are), so that a `Request` is `Send + Sync` and can be
    /// held across an `.await`.
    pub fn header_source(mut self, headers: &'a (dyn HeaderSource + Sync)) -> Self {
        self.headers = Headers::Source(headers);
        self
    }

    /// Sets the `Cookie` header value explicitly, for hosts that hold it
    /// apart from the other headers or have joined several `Cookie`
    /// headers into one. Otherwise the first `Cookie` header is used.
    pub fn cookie_header(mut self, cookie: &'a str) -> Self {
        self.cookie = Some(cookie);
        self
    }

    /// Sets the client's IP address (used by `hash` steering, IP-based
    /// affinity and shedding, and `ip.src`).
    pub fn client_ip(mut self, ip: IpAddr) -> Self {
        self.client_ip = Some(ip);
        self
    }

    /// Sets the region of the data center handling the request, by code
    /// (`WNAM`). An unknown code leaves the region unknown.
    pub fn region(mut self, code: &str) -> Self {
        self.region = Region::parse(code);
        self
    }

    /// Sets the region of the data center handling the request.
    pub fn region_code(mut self, region: Region) -> Self {
        self.region = Some(region);
        self
    }

    /// Sets the client's country, by ISO code (`US`). An invalid code leaves
    /// the country unknown.
    pub fn country(mut self, code: &str) -> Self {
        self.country = CountryCode::parse(code);
        self
    }

    /// Sets the PoP (data center) handling the request (`SJC`). An invalid
    /// code leaves the PoP unknown.
    pub fn pop(mut self, code: &str) -> Self {
        self.pop = PopCode::parse(code);
        self
    }

    /// Sets the location used by proximity steering. Out-of-range or
    /// non-finite values leave it unknown.
    pub fn coordinates(mut self, latitude: f64, longitude: f64) -> Self {
        self.coordinates = Coordinates::new(latitude, longitude);
        self
    }

    /// Sets the request time in seconds since the Unix epoch
    /// (`http.request.timestamp.sec`, affinity token expiry).
    pub fn timestamp(mut self, unix_seconds: u64) -> Self {
        self.timestamp = Some(unix_seconds);
        self
    }

    /// Calls `visit` with each header, in order, until it returns `false`.
    pub fn visit_headers(&self, visit: &mut dyn FnMut(&str, &[u8]) -> bool) {
        match self.headers {
            Headers::Pairs(pairs) => {
                for (name, value) in pairs {
                    if !visit(name, value.as_bytes()) {
                        return;
                    }
                }
            }
            Headers::Source(source) => source.visit(visit),
        }
    }

    /// Calls `visit` with each value of header `name` (any ASCII case), in
    /// order, until it returns `false`.
    pub fn visit_header_values(&self, name: &str, visit: &mut dyn FnMut(&[u8]) -> bool) {
        match self.headers {
            Headers::Pairs(pairs) => {
                for (n, value) in pairs {
                    if n.eq_ignore_ascii_case(name) && !visit(value.as_bytes()) {
                        return;
                    }
                }
            }
            Headers::Source(source) => source.visit_values(name, visit),
        }
    }

    /// The first value of header `name`, if it is present and borrowable.
    ///
    /// Values from a [`HeaderSource`] are only lent to a callback; use
    /// [`visit_header_values`](Self::visit_header_values) for those.
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        match self.headers {
            Headers::Pairs(pairs) => {
                pairs.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_bytes())
            }
            Headers::Source(_) => None,
        }
    }

    /// Calls `visit` with the `Cookie` header value (`http.cookie`): the one
    /// set by [`cookie_header`](Self::cookie_header), else the first
    /// `Cookie` header. A host whose client split its cookies over several
    /// headers (HTTP/2) joins them with `"; "` into `cookie_header` for
    /// `http.cookie` to see them all; named cookies are found in any of them
    /// ([`visit_cookie_headers`](Self::visit_cookie_headers)).
    pub fn visit_cookie_header(&self, visit: &mut dyn FnMut(&[u8])) {
        if let Some(cookie) = self.cookie {
            visit(cookie.as_bytes());
            return;
        }
        self.visit_header_values("cookie", &mut |value| {
            visit(value);
            false
        });
    }

    /// Calls `visit` with every `Cookie` header value, in order, until it
    /// returns `false`: the one set by [`cookie_header`](Self::cookie_header)
    /// alone, else each `Cookie` header. HTTP/2 clients may send their
    /// cookies in several `Cookie` fields (RFC 9113 §8.2.3), so a named
    /// cookie is looked for in all of them.
    pub fn visit_cookie_headers(&self, visit: &mut dyn FnMut(&[u8]) -> bool) {
        match self.cookie {
            Some(cookie) => {
                visit(cookie.as_bytes());
            }
            None => self.visit_header_values("cookie", visit),
        }
    }

    /// The value of cookie `name`, when the cookie headers are borrowable
    /// (set explicitly, or from header pairs); the first in order when
    /// several `Cookie` headers carry it. Cookie names are case-sensitive.
    pub fn cookie(&self, name: &str) -> Option<&'a [u8]> {
        let find = |header: &'a [u8]| cookie_pairs(header).find(|(n, _)| *n == name.as_bytes()).map(|(_, v)| v);
        match (self.cookie, self.headers) {
            (Some(cookie), _) => find(cookie.as_bytes()),
            (None, Headers::Pairs(pairs)) => pairs
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
                .find_map(|(_, value)| find(value.as_bytes())),
            (None, Headers::Source(_)) => None,
        }
    }

    /// Calls `visit` with the value of every cookie named `name`, from every
    /// cookie header (borrowed or lent by a [`HeaderSource`]), until it
    /// returns `false`.
    pub fn visit_cookie(&self, name: &str, visit: &mut dyn FnMut(&[u8]) -> bool) {
        self.visit_cookie_headers(&mut |header| {
            for (n, v) in cookie_pairs(header) {
                if n == name.as_bytes() && !visit(v) {
                    return false;
                }
            }
            true
        });
    }

    /// The query arguments as raw (not percent-decoded) name/value pairs, in
    /// order. An argument without `=` has an empty value.
    pub fn query_args(&self) -> impl Iterator<Item = (&'a str, &'a str)> + use<'a> {
        self.query.split('&').filter(|arg| !arg.is_empty()).map(|arg| arg.split_once('=').unwrap_or((arg, "")))
    }
}

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Request<'static>>();
};

/// Splits a `Cookie` header value into `(name, value)` pairs, trimming the
/// spaces around each pair and a pair of double quotes around a value.
/// Malformed pieces (no `=`) are skipped.
pub(crate) fn cookie_pairs(header: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    header.split(|&b| b == b';').filter_map(|piece| {
        let piece = piece.trim_ascii();
        let eq = piece.iter().position(|&b| b == b'=')?;
        let (name, value) = (piece[..eq].trim_ascii(), piece[eq + 1..].trim_ascii());
        let value = match value {
            [b'"', inner @ .., b'"'] => inner,
            other => other,
        };
        (!name.is_empty()).then_some((name, value))
    })
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Request");
        s.field("host", &self.host)
            .field("scheme", &self.scheme)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("version", &self.version);
        match self.headers {
            Headers::Pairs(pairs) => s.field("headers", &pairs),
            Headers::Source(_) => s.field("headers", &"<HeaderSource>"),
        };
        s.field("client_ip", &self.client_ip)
            .field("region", &self.region)
            .field("country", &self.country)
            .field("pop", &self.pop)
            .field("coordinates", &self.coordinates)
            .field("timestamp", &self.timestamp)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_setters() {
        let r = Request::new("Example.COM:8443").uri("/a/b?x=1&y");
        assert_eq!(r.method, "GET");
        assert_eq!(r.scheme.default_port(), 443);
        assert_eq!(r.path, "/a/b");
        assert_eq!(r.query, "x=1&y");
        let args: alloc::vec::Vec<_> = r.query_args().collect();
        assert_eq!(args, [("x", "1"), ("y", "")]);
        assert_eq!(r.region("nowhere").region, None);
        assert_eq!(r.region("weu").region, Some(Region::Weu));
    }

    #[test]
    fn cookies_are_parsed_leniently() {
        let headers = [("Cookie", " a=1;b = \"two\" ; junk; =x; c=")];
        let r = Request::new("h").headers(&headers);
        assert_eq!(r.cookie("a"), Some(&b"1"[..]));
        assert_eq!(r.cookie("b"), Some(&b"two"[..]));
        assert_eq!(r.cookie("c"), Some(&b""[..]));
        assert_eq!(r.cookie("junk"), None);
        assert_eq!(r.cookie("A"), None);
        let explicit = r.cookie_header("a=9");
        assert_eq!(explicit.cookie("a"), Some(&b"9"[..]));
    }

    #[test]
    fn named_cookies_are_found_in_every_cookie_header() {
        // HTTP/2 clients split cookies over several fields (RFC 9113 §8.2.3).
        let headers = [("cookie", "a=1"), ("x-other", "b=0"), ("Cookie", "b=2; a=3")];
        let r = Request::new("h").headers(&headers);
        assert_eq!(r.cookie("a"), Some(&b"1"[..]), "the first in order");
        assert_eq!(r.cookie("b"), Some(&b"2"[..]));
        let mut seen = alloc::vec::Vec::new();
        r.visit_cookie("a", &mut |v| {
            seen.push(v.to_vec());
            true
        });
        assert_eq!(seen, [b"1".to_vec(), b"3".to_vec()]);
        let mut first = alloc::vec::Vec::new();
        r.visit_cookie("a", &mut |v| {
            first.push(v.to_vec());
            false
        });
        assert_eq!(first, [b"1".to_vec()], "stops when asked");
        // An explicit cookie header stands alone.
        assert_eq!(r.cookie_header("c=4").cookie("b"), None);
    }

    struct Map;
    impl HeaderSource for Map {
        fn visit(&self, visit: &mut dyn FnMut(&str, &[u8]) -> bool) {
            let _ = visit("x-one", b"1") && visit("cookie", b"s=\xff") && visit("X-One", b"2");
        }
    }

    #[test]
    fn header_sources_lend_values() {
        let r = Request::new("h").header_source(&Map);
        let mut seen = alloc::vec::Vec::new();
        r.visit_header_values("x-ONE", &mut |v| {
            seen.push(v.to_vec());
            true
        });
        assert_eq!(seen, [b"1".to_vec(), b"2".to_vec()]);
        assert_eq!(r.header("x-one"), None, "a source lends, it does not borrow out");
        let mut cookie = None;
        r.visit_cookie("s", &mut |v| {
            cookie = Some(v.to_vec());
            false
        });
        assert_eq!(cookie, Some(b"\xff".to_vec()));
    }
}
