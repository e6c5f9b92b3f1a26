//! The field registry: every field an expression may name, its type, and
//! where its value comes from in a [`Context`].

use core::net::IpAddr;

use super::Context;
use super::ast::{Scalar, Ty};

/// A field of the Rules language that this engine provides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Field {
    Host,
    Method,
    Uri,
    UriPath,
    UriQuery,
    UriArgs,
    UriArgsNames,
    UriArgsValues,
    Headers,
    HeadersNames,
    HeadersValues,
    Cookie,
    Cookies,
    Referer,
    UserAgent,
    Version,
    Timestamp,
    IpSrc,
    IpSrcCountry,
    IpGeoipCountry,
    LbName,
    LbRegion,
    Ssl,
}

impl Field {
    /// Every field, in the order of the table in the module docs.
    pub(crate) const ALL: [Field; 23] = [
        Field::Host,
        Field::Method,
        Field::Uri,
        Field::UriPath,
        Field::UriQuery,
        Field::UriArgs,
        Field::UriArgsNames,
        Field::UriArgsValues,
        Field::Headers,
        Field::HeadersNames,
        Field::HeadersValues,
        Field::Cookie,
        Field::Cookies,
        Field::Referer,
        Field::UserAgent,
        Field::Version,
        Field::Timestamp,
        Field::IpSrc,
        Field::IpSrcCountry,
        Field::IpGeoipCountry,
        Field::LbName,
        Field::LbRegion,
        Field::Ssl,
    ];

    /// The field's name in expressions.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Field::Host => "http.host",
            Field::Method => "http.request.method",
            Field::Uri => "http.request.uri",
            Field::UriPath => "http.request.uri.path",
            Field::UriQuery => "http.request.uri.query",
            Field::UriArgs => "http.request.uri.args",
            Field::UriArgsNames => "http.request.uri.args.names",
            Field::UriArgsValues => "http.request.uri.args.values",
            Field::Headers => "http.request.headers",
            Field::HeadersNames => "http.request.headers.names",
            Field::HeadersValues => "http.request.headers.values",
            Field::Cookie => "http.cookie",
            Field::Cookies => "http.request.cookies",
            Field::Referer => "http.referer",
            Field::UserAgent => "http.user_agent",
            Field::Version => "http.request.version",
            Field::Timestamp => "http.request.timestamp.sec",
            Field::IpSrc => "ip.src",
            Field::IpSrcCountry => "ip.src.country",
            Field::IpGeoipCountry => "ip.geoip.country",
            Field::LbName => "cf.load_balancer.name",
            Field::LbRegion => "cf.load_balancer.region",
            Field::Ssl => "ssl",
        }
    }

    /// Looks a field up by name (exact, case-sensitive).
    pub(crate) fn lookup(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The field's type.
    pub(crate) const fn ty(self) -> Ty {
        match self {
            Field::UriArgs | Field::Headers | Field::Cookies => Ty::Map(Scalar::Bytes),
            Field::UriArgsNames | Field::UriArgsValues | Field::HeadersNames | Field::HeadersValues => {
                Ty::Array(Scalar::Bytes)
            }
            Field::Timestamp => Ty::Scalar(Scalar::Int),
            Field::IpSrc => Ty::Scalar(Scalar::Ip),
            Field::Ssl => Ty::Scalar(Scalar::Bool),
            _ => Ty::Scalar(Scalar::Bytes),
        }
    }
}

/// A `String` field read straight from the context, as one or two slices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BytesField {
    Host,
    Method,
    /// Path, then `?` and the query when the query is non-empty.
    Uri,
    Path,
    Query,
    Version,
    /// The `Cookie` header; empty when absent.
    Cookie,
    /// The first `Referer` header; empty when absent.
    Referer,
    /// The first `User-Agent` header; empty when absent.
    UserAgent,
    /// Missing when the country is unknown.
    Country,
    /// Missing outside load-balancer rules.
    LbName,
    /// Missing when the region is unknown.
    LbRegion,
}

impl BytesField {
    pub(crate) fn of(field: Field) -> Option<BytesField> {
        Some(match field {
            Field::Host => BytesField::Host,
            Field::Method => BytesField::Method,
            Field::Uri => BytesField::Uri,
            Field::UriPath => BytesField::Path,
            Field::UriQuery => BytesField::Query,
            Field::Version => BytesField::Version,
            Field::Cookie => BytesField::Cookie,
            Field::Referer => BytesField::Referer,
            Field::UserAgent => BytesField::UserAgent,
            Field::IpSrcCountry | Field::IpGeoipCountry => BytesField::Country,
            Field::LbName => BytesField::LbName,
            Field::LbRegion => BytesField::LbRegion,
            _ => return None,
        })
    }

    /// Where the value is: borrowed from the context, missing, lent to a
    /// callback by the request's headers, or in two pieces.
    #[inline]
    pub(crate) fn slot<'c>(self, cx: &'c Context<'_, '_>) -> Slot<'c> {
        let request = cx.request;
        Slot::Borrowed(match self {
            BytesField::Host => cx.host.as_bytes(),
            BytesField::Method => request.method.as_bytes(),
            BytesField::Path => request.path.as_bytes(),
            BytesField::Query => request.query.as_bytes(),
            BytesField::Version => request.version.as_bytes(),
            BytesField::Uri if request.query.is_empty() => request.path.as_bytes(),
            BytesField::Uri => return Slot::Split,
            BytesField::Country => match &request.country {
                Some(country) => country.as_str().as_bytes(),
                None => return Slot::Missing,
            },
            BytesField::LbName => match cx.load_balancer {
                Some(name) => name.as_bytes(),
                None => return Slot::Missing,
            },
            BytesField::LbRegion => match request.region {
                Some(region) => region.code().as_bytes(),
                None => return Slot::Missing,
            },
            BytesField::Cookie | BytesField::Referer | BytesField::UserAgent => return Slot::Lent,
        })
    }

    /// Calls `visit` with the value as one slice, or returns `None` when the
    /// value is not one slice (a URI with a query). Returns `Some(false)`
    /// when the value is missing.
    pub(crate) fn visit_slice(self, cx: &Context<'_, '_>, visit: &mut dyn FnMut(&[u8])) -> Option<bool> {
        let request = cx.request;
        match self.slot(cx) {
            Slot::Borrowed(value) => visit(value),
            Slot::Missing => return Some(false),
            Slot::Split => return None,
            Slot::Lent if self == BytesField::Cookie => {
                let mut seen = false;
                request.visit_cookie_header(&mut |value| {
                    seen = true;
                    visit(value);
                });
                if !seen {
                    visit(b"");
                }
            }
            Slot::Lent => {
                let name = if self == BytesField::Referer { "referer" } else { "user-agent" };
                let mut seen = false;
                request.visit_header_values(name, &mut |value| {
                    seen = true;
                    visit(value);
                    false
                });
                if !seen {
                    visit(b"");
                }
            }
        }
        Some(true)
    }

    /// Calls `visit` with the value's pieces in order; returns `false` when
    /// the value is missing.
    pub(crate) fn visit_pieces(self, cx: &Context<'_, '_>, visit: &mut dyn FnMut(&[u8])) -> bool {
        match self.visit_slice(cx, visit) {
            Some(present) => present,
            None => {
                // Only the URI with a query gets here.
                visit(cx.request.path.as_bytes());
                visit(b"?");
                visit(cx.request.query.as_bytes());
                true
            }
        }
    }
}

/// Where a field's value is.
pub(crate) enum Slot<'c> {
    Borrowed(&'c [u8]),
    Missing,
    /// Only lent to a callback (a header value).
    Lent,
    /// Not one slice (the URI with a query).
    Split,
}

/// The client address as `ip.src` sees it: IPv4-mapped IPv6 addresses
/// (`::ffff:a.b.c.d`, as dual-stack sockets report IPv4 peers) become IPv4.
#[inline]
pub(crate) fn client_ip(cx: &Context<'_, '_>) -> Option<IpAddr> {
    cx.request.client_ip.map(|ip| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    })
}

/// `http.request.timestamp.sec`: missing when unknown or beyond `i64`.
#[inline]
pub(crate) fn timestamp(cx: &Context<'_, '_>) -> Option<i64> {
    cx.request.timestamp.and_then(|t| i64::try_from(t).ok())
}
