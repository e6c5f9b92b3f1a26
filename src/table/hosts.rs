//! The hostname index: which load balancer serves a request's host.
//!
//! CNAME chains and record precedence are resolved when the table is
//! compiled, so a lookup is one hash probe for the exact name, then one per
//! parent domain for wildcards, most specific first.

use alloc::boxed::Box;

use hashbrown::HashMap;

use super::LoadBalancerId;

/// The longest hostname DNS allows, in bytes (without the trailing dot).
pub const MAX_HOSTNAME_LEN: usize = 253;

/// How a hostname reaches a load balancer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Route {
    /// The load balancer at the end of the chain.
    pub(crate) load_balancer: LoadBalancerId,
    /// Whether it is enabled; a disabled one is reported, not routed to.
    pub(crate) enabled: bool,
    /// Whether at least one CNAME record was followed.
    pub(crate) via_cname: bool,
}

/// How the request's host matched the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostMatch {
    /// The host is a load balancer's name or a CNAME record's name.
    Exact,
    /// A wildcard record (`*.example.com`) matched; `suffix_len` bytes of
    /// the host after the wildcard's label are its domain.
    Wildcard {
        /// Length of the wildcard's domain (`example.com`) in the host.
        suffix_len: usize,
    },
}

/// A request host, normalised without allocating: lower-case, without a
/// `:port` suffix or a trailing dot. A host that is already normalised (the
/// common case) is borrowed, not copied.
// The key lives on the stack for one decision; boxing the buffer would
// allocate on the hot path.
#[allow(clippy::large_enum_variant)]
pub(crate) enum HostKey<'a> {
    Borrowed(&'a str),
    Lowered { bytes: [u8; MAX_HOSTNAME_LEN], len: usize },
}

impl<'a> HostKey<'a> {
    /// Normalises `host`; `None` when nothing valid remains or it is longer
    /// than a DNS name can be (no such host can have a route).
    #[inline]
    pub(crate) fn new(host: &'a str) -> Option<HostKey<'a>> {
        // The common case: already lower-case, no port. Checked eight bytes
        // at a time.
        if !has_colon_or_upper(host.as_bytes()) {
            let host = host.strip_suffix('.').unwrap_or(host);
            if host.is_empty() || host.len() > MAX_HOSTNAME_LEN {
                return None;
            }
            return Some(HostKey::Borrowed(host));
        }
        Self::new_slow(host)
    }

    /// A host with a port or upper-case letters.
    #[cold]
    #[inline(never)]
    fn new_slow(host: &'a str) -> Option<HostKey<'a>> {
        // One pass finds the port's colon and any upper-case letter. Only
        // ASCII bytes are cut off, so what remains is valid UTF-8.
        let (mut colons, mut last_colon, mut upper) = (0u32, 0, false);
        for (i, &b) in host.as_bytes().iter().enumerate() {
            if b == b':' {
                colons += 1;
                last_colon = i;
            }
            upper |= b.is_ascii_uppercase();
        }
        let host = match colons {
            0 => host,
            1 => &host[..last_colon],
            _ => strip_port(host),
        };
        let host = host.strip_suffix('.').unwrap_or(host);
        if host.is_empty() || host.len() > MAX_HOSTNAME_LEN {
            return None;
        }
        if !upper {
            return Some(HostKey::Borrowed(host));
        }
        let mut bytes = [0; MAX_HOSTNAME_LEN];
        for (to, from) in bytes.iter_mut().zip(host.bytes()) {
            *to = from.to_ascii_lowercase();
        }
        Some(HostKey::Lowered { bytes, len: host.len() })
    }

    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            HostKey::Borrowed(host) => host.as_bytes(),
            HostKey::Lowered { bytes, len } => &bytes[..*len],
        }
    }

    /// The normalised host as text.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            HostKey::Borrowed(host) => host,
            // ASCII lower-casing keeps UTF-8 valid, so this never fails.
            HostKey::Lowered { bytes, len } => core::str::from_utf8(&bytes[..*len]).unwrap_or(""),
        }
    }
}

/// Whether `bytes` holds a `:` or an ASCII upper-case letter, eight bytes at
/// a time (SWAR). Bytes of 0x80 and above (UTF-8) are neither.
#[inline]
fn has_colon_or_upper(bytes: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    /// The high bit of each byte of `word` that is `:` or in `A..=Z`.
    #[inline(always)]
    fn flags(word: u64) -> u64 {
        // A zero byte of `word ^ "::::::::"` is a colon.
        let colon = word ^ (LO * u64::from(b':'));
        let colon = colon.wrapping_sub(LO) & !colon;
        // Seven-bit bytes cannot carry into their neighbours: `b + 0x3f`
        // sets the high bit from 0x41 (`A`), `b + 0x25` from 0x5b (past `Z`).
        let low = word & !HI;
        let upper = (low + LO * 0x3f) & !(low + LO * 0x25);
        (colon | upper) & !word & HI
    }
    let word = |chunk: &[u8]| u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
    if bytes.len() < 8 {
        return bytes.iter().any(|&b| b == b':' || b.is_ascii_uppercase());
    }
    let mut found = 0;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        found |= flags(word(chunk));
    }
    if !chunks.remainder().is_empty() {
        // The last eight bytes, overlapping what was checked already.
        found |= flags(word(&bytes[bytes.len() - 8..]));
    }
    found != 0
}

/// Strips a `:port` suffix, and the brackets of an IPv6 literal.
#[inline]
pub(crate) fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return match rest.find(']') {
            Some(end) => &rest[..end],
            None => rest,
        };
    }
    let bytes = host.as_bytes();
    match bytes.iter().rposition(|&b| b == b':') {
        // More than one colon without brackets: a bare IPv6 address.
        Some(colon) if !bytes[..colon].contains(&b':') => &host[..colon],
        _ => host,
    }
}

/// Exact names and wildcard domains, each mapped to its resolved route.
///
/// A name whose record leads nowhere (a CNAME to a host outside the
/// account) is kept with no route: it still shadows less specific
/// wildcards, as the DNS record it stands for would.
pub(crate) struct HostIndex {
    exact: HashMap<Box<[u8]>, Option<Route>, ahash::RandomState>,
    /// Keyed by the wildcard's domain: `*.example.com` is `example.com`.
    wildcard: HashMap<Box<[u8]>, Option<Route>, ahash::RandomState>,
}

impl HostIndex {
    pub(crate) fn new() -> Self {
        HostIndex {
            exact: HashMap::with_hasher(ahash::RandomState::new()),
            wildcard: HashMap::with_hasher(ahash::RandomState::new()),
        }
    }

    pub(crate) fn insert_exact(&mut self, name: &str, route: Option<Route>) {
        self.exact.insert(name.as_bytes().into(), route);
    }

    pub(crate) fn insert_wildcard(&mut self, domain: &str, route: Option<Route>) {
        self.wildcard.insert(domain.as_bytes().into(), route);
    }

    /// The route for a normalised host: its exact entry, else the most
    /// specific wildcard covering it. A wildcard never covers its own
    /// domain (`*.example.com` does not serve `example.com`).
    #[inline]
    pub(crate) fn lookup(&self, host: &[u8]) -> Option<(Route, HostMatch)> {
        if let Some(route) = self.exact.get(host) {
            return route.map(|route| (route, HostMatch::Exact));
        }
        if self.wildcard.is_empty() {
            return None;
        }
        let mut rest = host;
        while let Some(dot) = rest.iter().position(|&b| b == b'.') {
            rest = &rest[dot + 1..];
            if let Some(route) = self.wildcard.get(rest) {
                return route.map(|route| (route, HostMatch::Wildcard { suffix_len: rest.len() }));
            }
        }
        None
    }

    /// The entry that answers for a normalised host, whether or not it
    /// routes: `(None, how)` is a DNS record that takes the name from any
    /// less specific load balancer (a CNAME whose chain leaves the account,
    /// or an `A`/`AAAA` record). For explaining a missing route; decisions
    /// use [`lookup`](Self::lookup), which walks the same way but stays a
    /// separate function: written as `entry` plus a filter, the decision
    /// cost 20 more instructions (812 against 792, callgrind).
    pub(crate) fn entry(&self, host: &[u8]) -> Option<(Option<Route>, HostMatch)> {
        if let Some(&route) = self.exact.get(host) {
            return Some((route, HostMatch::Exact));
        }
        let mut rest = host;
        while let Some(dot) = rest.iter().position(|&b| b == b'.') {
            rest = &rest[dot + 1..];
            if let Some(&route) = self.wildcard.get(rest) {
                return Some((route, HostMatch::Wildcard { suffix_len: rest.len() }));
            }
        }
        None
    }

    /// Names and wildcard domains that route to a load balancer.
    pub(crate) fn len(&self) -> usize {
        self.exact.values().chain(self.wildcard.values()).filter(|route| route.is_some()).count()
    }

    /// Bytes held by the index: both maps' bucket arrays and the keys.
    pub(crate) fn heap_bytes(&self) -> usize {
        use super::memory::HeapSize;
        self.exact.heap_size() + self.wildcard.heap_size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(host: &str) -> Option<alloc::string::String> {
        HostKey::new(host).map(|k| k.as_str().into())
    }

    #[test]
    fn hosts_are_normalised() {
        assert_eq!(key("WWW.Example.COM").as_deref(), Some("www.example.com"));
        assert_eq!(key("www.example.com.").as_deref(), Some("www.example.com"));
        assert_eq!(key("www.example.com:8443").as_deref(), Some("www.example.com"));
        assert_eq!(key("www.example.com.:80").as_deref(), Some("www.example.com"));
        assert_eq!(key("[2001:db8::1]:443").as_deref(), Some("2001:db8::1"));
        assert_eq!(key("2001:db8::1").as_deref(), Some("2001:db8::1"));
        assert_eq!(key(""), None);
        assert_eq!(key(":80"), None);
        assert_eq!(key(&"a".repeat(254)), None);
        assert!(key(&"a".repeat(253)).is_some());
    }

    #[test]
    fn the_word_scan_agrees_with_a_byte_scan() {
        let reference = |bytes: &[u8]| bytes.iter().any(|&b| b == b':' || b.is_ascii_uppercase());
        // Every byte value at every position of every length up to 24, in a
        // background of ordinary and of non-ASCII bytes.
        for background in [b'a', b'.', 0x80, 0xff, b'@', b'[', b'9', b';'] {
            for len in 0..=24 {
                for at in 0..len {
                    for value in 0..=255u8 {
                        let mut bytes = alloc::vec![background; len];
                        bytes[at] = value;
                        assert_eq!(has_colon_or_upper(&bytes), reference(&bytes), "{bytes:?}");
                    }
                }
            }
        }
        // Random strings over the bytes at the edges of the ranges.
        let alphabet = [b'a', b'z', b'A', b'Z', b'@', b'[', b':', b';', b'9', b'.', 0x80, 0xc1, 0xda, 0xba, 0xff, 0];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 40) as usize;
            let bytes: alloc::vec::Vec<u8> =
                (0..len).map(|i| alphabet[((x >> (i % 16 * 4)) as usize + i) % alphabet.len()]).collect();
            let bytes = if x & (1 << 63) != 0 {
                bytes.into_iter().filter(|&b| b != b':' && !b.is_ascii_uppercase()).collect()
            } else {
                bytes
            };
            assert_eq!(has_colon_or_upper(&bytes), reference(&bytes), "{bytes:?}");
        }
        assert!(!has_colon_or_upper(b"www.example.com"));
        assert!(has_colon_or_upper(b"www.example.com:443"));
        assert!(has_colon_or_upper(b"www.example.coM"));
        assert!(has_colon_or_upper(b"Www.example.com"));
    }

    #[test]
    fn exact_beats_wildcard_and_specific_wildcards_win() {
        let lb = |i| Route { load_balancer: LoadBalancerId(i), enabled: true, via_cname: false };
        let mut index = HostIndex::new();
        index.insert_exact("www.example.com", Some(lb(0)));
        index.insert_exact("nowhere.example.com", None);
        index.insert_wildcard("example.com", Some(lb(1)));
        index.insert_wildcard("b.example.com", Some(lb(2)));
        assert_eq!(index.lookup(b"nowhere.example.com"), None, "a record leading nowhere shadows the wildcard");
        assert_eq!(index.lookup(b"www.example.com"), Some((lb(0), HostMatch::Exact)));
        assert_eq!(index.lookup(b"x.example.com").unwrap().0, lb(1));
        assert_eq!(index.lookup(b"a.b.example.com").unwrap().0, lb(2));
        assert_eq!(index.lookup(b"deep.a.b.example.com").unwrap().0, lb(2));
        assert_eq!(index.lookup(b"example.com"), None, "a wildcard does not cover its apex");
        assert_eq!(index.lookup(b"com"), None);
        assert_eq!(index.lookup(b"example.org"), None);
    }
}
