//! Hostnames: validation, and routes resolved at compile time.
//!
//! Precedence, per name and then per wildcard level (most specific first):
//! an enabled load balancer, then a CNAME record, then an `A` or `AAAA`
//! record, then a disabled load balancer. An exact name beats any wildcard,
//! so a CNAME, `A` or `AAAA` record for `shop.example.com` beats a load
//! balancer for `*.example.com` ("DNS record takes precedence because it is
//! more specific", Cloudflare's "DNS records for load balancing" page), and a
//! disabled load balancer yields to the DNS records of its name (they are
//! served again). An `A` or `AAAA` record routes nowhere: it only keeps a
//! less specific load balancer from serving its name. CNAME chains are
//! followed to [`crate::limits::CNAME_DEPTH`] records; a loop is an
//! error.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::hash::Map;

use super::error::{ConfigPath, Diagnostics, ErrorKind};
use crate::limits;
use crate::table::{HostIndex, LoadBalancerId, MAX_HOSTNAME_LEN, Route};

/// A validated hostname: lower-case, without a trailing dot.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Hostname {
    /// The name; for a wildcard, without the leading `*.`.
    pub(crate) domain: String,
    pub(crate) wildcard: bool,
}

impl Hostname {
    pub(crate) fn display(&self) -> String {
        if self.wildcard { alloc::format!("*.{}", self.domain) } else { self.domain.clone() }
    }
}

/// Validates and normalises a hostname.
pub(crate) fn parse_hostname(name: &str, allow_wildcard: bool) -> Result<Hostname, &'static str> {
    if !name.is_ascii() {
        return Err("not ASCII: write an internationalised name in its xn-- form");
    }
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if name.is_empty() {
        return Err("empty");
    }
    if name.len() > MAX_HOSTNAME_LEN {
        return Err("longer than 253 bytes");
    }
    let (domain, wildcard) = match name.strip_prefix("*.") {
        Some(_) if !allow_wildcard => return Err("a wildcard is not allowed here"),
        Some(domain) => (domain.to_string(), true),
        None => (name, false),
    };
    for label in domain.split('.') {
        if label.is_empty() {
            return Err("empty label");
        }
        if label.len() > 63 {
            return Err("a label is longer than 63 bytes");
        }
        if label == "*" {
            return Err("`*` is only allowed as the whole first label");
        }
        if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err("only letters, digits, `-` and `_` are allowed");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a label starts or ends with `-`");
        }
    }
    Ok(Hostname { domain, wildcard })
}

/// One record that can answer for a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    LoadBalancer {
        id: LoadBalancerId,
        enabled: bool,
    },
    Cname(usize),
    /// An `A` or `AAAA` record: answered by DNS, not by a load balancer.
    Address,
}

#[derive(Default)]
struct Level {
    enabled_lb: Option<LoadBalancerId>,
    cname: Option<usize>,
    address: bool,
    disabled_lb: Option<LoadBalancerId>,
}

impl Level {
    fn node(&self) -> Option<Node> {
        if let Some(id) = self.enabled_lb {
            Some(Node::LoadBalancer { id, enabled: true })
        } else if let Some(record) = self.cname {
            Some(Node::Cname(record))
        } else if self.address {
            Some(Node::Address)
        } else {
            self.disabled_lb.map(|id| Node::LoadBalancer { id, enabled: false })
        }
    }
}

/// A CNAME record, validated.
pub(crate) struct Cname {
    pub(crate) name: Hostname,
    pub(crate) target: String,
    pub(crate) path: ConfigPath,
}

#[derive(Clone, Copy)]
enum State {
    Unvisited,
    /// The route at the end of the record's chain, and how many CNAME
    /// records the chain has from this one on (`usize::MAX` in a loop).
    Done(Option<Route>, usize),
}

/// Resolves names to routes over the account's load balancers and CNAMEs.
pub(crate) struct Resolver {
    exact: Map<String, Level>,
    wildcard: Map<String, Level>,
    cnames: Vec<Cname>,
    state: Vec<State>,
}

impl Resolver {
    /// `load_balancers` are (name, enabled) for every load balancer whose
    /// name is valid; `cnames` every valid CNAME record; `addresses` the
    /// names of the valid `A` and `AAAA` records.
    pub(crate) fn new(load_balancers: &[(Hostname, bool)], cnames: Vec<Cname>, addresses: &[Hostname]) -> Self {
        let mut resolver = Resolver {
            exact: crate::hash::map(),
            wildcard: crate::hash::map(),
            state: alloc::vec![State::Unvisited; cnames.len()],
            cnames,
        };
        for (i, (name, enabled)) in load_balancers.iter().enumerate() {
            let id = LoadBalancerId(i as u32);
            let level = resolver.level_mut(name);
            let slot = if *enabled { &mut level.enabled_lb } else { &mut level.disabled_lb };
            slot.get_or_insert(id);
        }
        for i in 0..resolver.cnames.len() {
            let name = resolver.cnames[i].name.clone();
            resolver.level_mut(&name).cname.get_or_insert(i);
        }
        for name in addresses {
            resolver.level_mut(name).address = true;
        }
        resolver
    }

    fn level_mut(&mut self, name: &Hostname) -> &mut Level {
        let map = if name.wildcard { &mut self.wildcard } else { &mut self.exact };
        map.entry(name.domain.clone()).or_default()
    }

    /// The record answering for a concrete name: its own, else the most
    /// specific wildcard's.
    fn node_for(&self, name: &str) -> Option<Node> {
        if let Some(node) = self.exact.get(name).and_then(Level::node) {
            return Some(node);
        }
        self.wildcard_above(name)
    }

    /// The record of the most specific wildcard strictly above `name`
    /// (`*.example.com` and `*.com` for `a.example.com`).
    fn wildcard_above(&self, name: &str) -> Option<Node> {
        let mut rest = name;
        while let Some(dot) = rest.find('.') {
            rest = &rest[dot + 1..];
            if let Some(node) = self.wildcard.get(rest).and_then(Level::node) {
                return Some(node);
            }
        }
        None
    }

    /// Where a concrete hostname routes.
    pub(crate) fn resolve_name(&mut self, name: &str, diags: &mut Diagnostics) -> Option<Route> {
        let node = self.node_for(name)?;
        self.resolve_node(node, diags)
    }

    fn resolve_node(&mut self, node: Node, diags: &mut Diagnostics) -> Option<Route> {
        match node {
            Node::LoadBalancer { id, enabled } => Some(Route { load_balancer: id, enabled, via_cname: false }),
            Node::Cname(record) => self.resolve_record(record, diags),
            Node::Address => None,
        }
    }

    /// Follows a CNAME chain iteratively (a hostile chain cannot exhaust the
    /// stack), memoising every record it passes with the exact length of its
    /// own chain, so that each name is judged against the depth limit from
    /// where it starts.
    fn resolve_record(&mut self, start: usize, diags: &mut Diagnostics) -> Option<Route> {
        if let State::Done(route, _) = self.state[start] {
            return route;
        }
        let mut walk = alloc::vec![start];
        let (mut route, mut length) = loop {
            let current = walk[walk.len() - 1];
            match self.node_for(&self.cnames[current].target) {
                None | Some(Node::Address) => break (None, 0),
                Some(Node::LoadBalancer { id, enabled }) => {
                    break (Some(Route { load_balancer: id, enabled, via_cname: true }), 0);
                }
                Some(Node::Cname(next)) => {
                    if let State::Done(route, length) = self.state[next] {
                        break (route, length);
                    }
                    if let Some(at) = walk.iter().position(|&r| r == next) {
                        let mut chain: Vec<String> =
                            walk[at..].iter().map(|&r| self.cnames[r].name.display()).collect();
                        chain.push(self.cnames[next].name.display());
                        diags.error(self.cnames[current].path.field("content"), ErrorKind::CnameLoop { chain });
                        for &r in &walk[at..] {
                            self.state[r] = State::Done(None, usize::MAX);
                        }
                        walk.truncate(at);
                        break (None, usize::MAX);
                    }
                    walk.push(next);
                }
            }
        };
        for (i, &record) in walk.iter().enumerate().rev() {
            length = length.saturating_add(1);
            if length == limits::CNAME_DEPTH + 1 {
                let mut chain: Vec<String> = walk[i..].iter().map(|&r| self.cnames[r].name.display()).collect();
                chain.push(self.cnames[walk[walk.len() - 1]].target.clone());
                diags.error(
                    self.cnames[record].path.field("content"),
                    ErrorKind::CnameTooDeep { chain, limit: limits::CNAME_DEPTH },
                );
            }
            if length > limits::CNAME_DEPTH {
                route = None;
            }
            self.state[record] = State::Done(route, length);
        }
        match self.state[start] {
            State::Done(route, _) => route,
            State::Unvisited => None,
        }
    }

    /// Builds the runtime index: every exact name and wildcard domain that
    /// routes somewhere, with its route resolved.
    pub(crate) fn build_index(mut self, diags: &mut Diagnostics) -> HostIndex {
        let mut index = HostIndex::new();
        let exact: Vec<(String, Node)> =
            self.exact.iter().filter_map(|(name, level)| Some((name.clone(), level.node()?))).collect();
        let wildcard: Vec<(String, Node)> =
            self.wildcard.iter().filter_map(|(name, level)| Some((name.clone(), level.node()?))).collect();
        // Visit CNAME records in document order so that errors come out in
        // document order and loops are reported at a stable record.
        for record in 0..self.cnames.len() {
            self.resolve_record(record, diags);
        }
        for (name, node) in exact {
            if node == Node::Address && !self.shadows(&name, diags) {
                continue;
            }
            let route = self.resolve_node(node, diags);
            index.insert_exact(&name, route);
        }
        for (domain, node) in wildcard {
            if node == Node::Address && !self.shadows(&domain, diags) {
                continue;
            }
            let route = self.resolve_node(node, diags);
            index.insert_wildcard(&domain, route);
        }
        index
    }

    /// Whether an `A` or `AAAA` record at `name` (or at `*.name`, for a
    /// wildcard's domain) keeps a less specific wildcard from routing: only
    /// then does the index need an entry without a route for it.
    fn shadows(&mut self, name: &str, diags: &mut Diagnostics) -> bool {
        self.wildcard_above(name).is_some_and(|node| self.resolve_node(node, diags).is_some())
    }

    /// CNAME records, name → target, for explaining routes.
    pub(crate) fn cname_targets(&self) -> impl Iterator<Item = (String, &str)> {
        self.cnames.iter().map(|c| (c.name.display(), c.target.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames_are_validated() {
        assert_eq!(parse_hostname("WWW.Example.com.", false).unwrap().domain, "www.example.com");
        let wild = parse_hostname("*.Example.com", true).unwrap();
        assert!(wild.wildcard);
        assert_eq!(wild.domain, "example.com");
        assert_eq!(wild.display(), "*.example.com");
        assert!(parse_hostname("*.example.com", false).is_err());
        assert!(parse_hostname("a.*.example.com", true).is_err());
        assert!(parse_hostname("*", true).is_err());
        assert!(parse_hostname("", false).is_err());
        assert!(parse_hostname("a..b", false).is_err());
        assert!(parse_hostname("-a.b", false).is_err());
        assert!(parse_hostname("a b.c", false).is_err());
        assert!(parse_hostname("bücher.de", false).is_err());
        assert!(parse_hostname(&"a".repeat(64), false).is_err());
        assert!(parse_hostname("_dmarc.example.com", false).is_ok());
    }

    fn host(name: &str) -> Hostname {
        parse_hostname(name, true).unwrap()
    }

    fn cname(i: usize, name: &str, target: &str) -> Cname {
        Cname { name: host(name), target: target.into(), path: ConfigPath::root("dns_records").index(i) }
    }

    #[test]
    fn precedence_and_chains() {
        let lbs = [(host("lb.example.com"), true), (host("*.example.com"), true), (host("off.example.com"), false)];
        let cnames = alloc::vec![
            cname(0, "www.example.com", "lb.example.com"),
            cname(1, "shop.example.com", "www.example.com"),
            cname(2, "off.example.com", "lb.example.com"),
            cname(3, "lb.example.com", "elsewhere.example.org"),
            cname(4, "away.example.com", "nowhere.example.org"),
        ];
        let mut diags = Diagnostics::default();
        let mut resolver = Resolver::new(&lbs, cnames, &[]);
        let lb0 = |via_cname| Some(Route { load_balancer: LoadBalancerId(0), enabled: true, via_cname });
        assert_eq!(resolver.resolve_name("lb.example.com", &mut diags), lb0(false), "the LB beats its CNAME");
        assert_eq!(resolver.resolve_name("www.example.com", &mut diags), lb0(true));
        assert_eq!(resolver.resolve_name("shop.example.com", &mut diags), lb0(true));
        assert_eq!(resolver.resolve_name("off.example.com", &mut diags), lb0(true), "a CNAME beats a disabled LB");
        assert_eq!(resolver.resolve_name("away.example.com", &mut diags), None, "an exact CNAME beats a wildcard LB");
        assert_eq!(resolver.resolve_name("x.example.com", &mut diags).unwrap().load_balancer, LoadBalancerId(1));
        assert_eq!(resolver.resolve_name("example.com", &mut diags), None);
        assert!(diags.errors.is_empty());
    }

    #[test]
    fn address_records_shadow_less_specific_load_balancers() {
        // Cloudflare's "DNS records for load balancing": an A/AAAA/CNAME
        // record for y.example.com beats an LB for *.example.com; an LB wins
        // over a record as specific as it (same name, or same wildcard).
        let lbs = [
            (host("*.example.com"), true),
            (host("www.example.com"), true),
            (host("*.example.net"), true),
            (host("off.example.com"), false),
        ];
        let addresses = [
            host("static.example.com"),
            host("www.example.com"),
            host("*.example.net"),
            host("*.legacy.example.com"),
            host("off.example.com"),
            host("alone.example.org"),
        ];
        let cnames = alloc::vec![cname(0, "to-static.example.org", "static.example.com")];
        let mut diags = Diagnostics::default();
        let mut resolver = Resolver::new(&lbs, cnames, &addresses);
        let lb = |i| Some(Route { load_balancer: LoadBalancerId(i), enabled: true, via_cname: false });
        assert_eq!(resolver.resolve_name("static.example.com", &mut diags), None, "an exact A beats a wildcard LB");
        assert_eq!(resolver.resolve_name("www.example.com", &mut diags), lb(1), "an LB beats an A of its name");
        assert_eq!(resolver.resolve_name("x.example.net", &mut diags), lb(2), "a wildcard LB beats a wildcard A");
        assert_eq!(resolver.resolve_name("a.legacy.example.com", &mut diags), None, "a deeper wildcard A wins");
        assert_eq!(resolver.resolve_name("off.example.com", &mut diags), None, "a disabled LB yields to an A");
        assert_eq!(resolver.resolve_name("to-static.example.org", &mut diags), None, "a CNAME to an A");
        assert_eq!(resolver.resolve_name("other.example.com", &mut diags), lb(0));
        let index = resolver.build_index(&mut diags);
        assert!(diags.errors.is_empty());
        assert_eq!(index.lookup(b"static.example.com"), None);
        assert_eq!(index.lookup(b"a.legacy.example.com"), None);
        assert_eq!(index.lookup(b"off.example.com"), None);
        assert!(index.lookup(b"other.example.com").is_some());
        assert!(index.lookup(b"www.example.com").is_some());
        assert_eq!(index.len(), 3, "routes: www.example.com, *.example.com, *.example.net");
    }

    #[test]
    fn loops_are_reported_once_and_depth_is_bounded() {
        let mut cnames =
            alloc::vec![cname(0, "a.example.com", "b.example.com"), cname(1, "b.example.com", "a.example.com")];
        cnames.push(cname(2, "c.example.com", "a.example.com"));
        let mut diags = Diagnostics::default();
        let index = Resolver::new(&[], cnames, &[]).build_index(&mut diags);
        assert_eq!(index.len(), 0, "nothing routes");
        assert_eq!(diags.errors.len(), 1, "{:?}", diags.errors);
        assert_eq!(diags.errors[0].path.to_string(), "dns_records[1].content");
        assert_eq!(diags.errors[0].kind.to_string(), "CNAME loop: a.example.com -> b.example.com -> a.example.com");

        // n0 -> n1 -> ... -> n17 -> the load balancer at n18: from n0 the
        // chain has 18 records, from n2 exactly the limit. Listing the
        // records in either order gives the same result.
        for reversed in [false, true] {
            let mut chain = Vec::new();
            for i in 0..=limits::CNAME_DEPTH + 1 {
                chain.push(cname(i, &alloc::format!("n{i}.example.com"), &alloc::format!("n{}.example.com", i + 1)));
            }
            if reversed {
                chain.reverse();
            }
            let lbs = [(host(&alloc::format!("n{}.example.com", limits::CNAME_DEPTH + 2)), true)];
            let mut diags = Diagnostics::default();
            let mut resolver = Resolver::new(&lbs, chain, &[]);
            assert!(resolver.resolve_name("n0.example.com", &mut diags).is_none());
            assert!(resolver.resolve_name("n1.example.com", &mut diags).is_none());
            assert!(resolver.resolve_name("n2.example.com", &mut diags).is_some());
            assert_eq!(diags.errors.len(), 1, "{:?}", diags.errors);
            assert!(matches!(diags.errors[0].kind, ErrorKind::CnameTooDeep { .. }), "{:?}", diags.errors);
            assert!(diags.errors[0].to_string().contains("n1.example.com -> n2.example.com"), "{}", diags.errors[0]);
        }
    }
}
