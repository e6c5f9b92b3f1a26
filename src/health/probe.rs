//! Probes: what the host is asked to do, and what it reports back.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use super::expected::{BODY_LIMIT, ExpectedBody, ExpectedCodes};
use super::time::Timestamp;
use crate::config::{Monitor, MonitorType};
use crate::geo::Region;
use crate::table::OriginEntry;

/// Names one probe handed out by [`HealthChecker::poll_probe`]; the host
/// passes it back with the outcome.
///
/// Ids are never reused by a checker.
///
/// [`HealthChecker::poll_probe`]: super::HealthChecker::poll_probe
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProbeId(pub(crate) u64);

impl ProbeId {
    /// The id as a number, for logs and maps.
    pub const fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ProbeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "probe#{}", self.0)
    }
}

/// Where a probe runs from: one of the vantage points configured on the
/// checker ([`CheckerConfig::vantage_points`]), or the host itself when
/// none are configured.
///
/// [`CheckerConfig::vantage_points`]: super::CheckerConfig::vantage_points
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vantage {
    pub(crate) region: Option<Region>,
    pub(crate) index: u16,
}

impl Vantage {
    /// The implicit vantage point of a checker configured with none: the
    /// host itself, in no particular region.
    pub const LOCAL: Vantage = Vantage { region: None, index: 0 };

    /// The check region this vantage point belongs to; `None` for
    /// [`Vantage::LOCAL`].
    pub const fn region(self) -> Option<Region> {
        self.region
    }

    /// The vantage point's number within its region, from 0.
    pub const fn index(self) -> u16 {
        self.index
    }
}

impl fmt::Display for Vantage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.region {
            Some(region) => write!(f, "{region}#{}", self.index),
            None => f.write_str("local"),
        }
    }
}

/// A monitor's settings, compiled once per configuration.
#[derive(Debug)]
pub(crate) struct MonitorSpec {
    pub(crate) id: Arc<str>,
    pub(crate) kind: MonitorType,
    pub(crate) method: Box<str>,
    pub(crate) path: Box<str>,
    /// Request headers other than `Host`, one entry per value.
    pub(crate) headers: Box<[(Box<str>, Box<str>)]>,
    /// The monitor's own `Host` header.
    pub(crate) host: Option<Box<str>>,
    /// 0: none.
    pub(crate) port: u16,
    pub(crate) timeout: Duration,
    pub(crate) retries: u32,
    pub(crate) interval: Duration,
    pub(crate) codes: ExpectedCodes,
    pub(crate) body: Option<ExpectedBody>,
    pub(crate) follow_redirects: bool,
    pub(crate) allow_insecure: bool,
    /// At least 1.
    pub(crate) consecutive_up: u32,
    /// At least 1.
    pub(crate) consecutive_down: u32,
    pub(crate) probe_zone: Option<Box<str>>,
}

impl MonitorSpec {
    pub(crate) fn new(monitor: &Monitor) -> MonitorSpec {
        let is_http = is_http(&monitor.kind);
        let method = match (&monitor.method, is_http, &monitor.kind) {
            (Some(m), _, _) if !m.is_empty() => m.as_str(),
            (_, true, _) => "GET",
            (_, false, MonitorType::Tcp) => "connection_established",
            _ => "",
        };
        // `path` is "HTTP(S) only" (cloudflare-lb.md §1.1).
        let path = match monitor.path.as_deref() {
            _ if !is_http => "",
            Some(p) if !p.is_empty() => p,
            _ => "/",
        };
        let mut host = None;
        let mut headers = Vec::new();
        for (name, values) in &monitor.header {
            if name.eq_ignore_ascii_case("host") {
                host = values.iter().map(|v| v.trim()).find(|v| !v.is_empty()).map(Box::from);
            } else {
                headers.extend(values.iter().map(|v| (Box::from(name.as_str()), Box::from(v.as_str()))));
            }
        }
        MonitorSpec {
            id: Arc::from(monitor.id.as_str()),
            kind: monitor.kind.clone(),
            method: method.into(),
            path: path.into(),
            headers: headers.into(),
            host,
            port: monitor.port.unwrap_or(0),
            timeout: Duration::from_secs(u64::from(monitor.timeout.max(1))),
            retries: monitor.retries,
            interval: Duration::from_secs(u64::from(monitor.interval.max(1))),
            codes: ExpectedCodes::parse(monitor.expected_codes.as_deref()),
            body: ExpectedBody::new(monitor.expected_body.as_deref()),
            follow_redirects: monitor.follow_redirects,
            allow_insecure: monitor.allow_insecure,
            consecutive_up: monitor.consecutive_up.max(1),
            consecutive_down: monitor.consecutive_down.max(1),
            probe_zone: monitor.probe_zone.as_deref().filter(|z| !z.is_empty()).map(Box::from),
        }
    }

    pub(crate) fn is_http(&self) -> bool {
        is_http(&self.kind)
    }
}

fn is_http(kind: &MonitorType) -> bool {
    matches!(kind, MonitorType::Http | MonitorType::Https)
}

/// The default port of a protocol: HTTP 80, HTTPS 443, TCP 80, SMTP 25;
/// 0 (none) for ICMP ping and UDP-ICMP.
pub(crate) fn default_port(kind: &MonitorType) -> u16 {
    match kind {
        MonitorType::Http | MonitorType::Tcp => 80,
        MonitorType::Https => 443,
        MonitorType::Smtp => 25,
        _ => 0,
    }
}

/// One monitor probing one origin: everything a probe needs but its id,
/// vantage point and attempt.
#[derive(Debug)]
pub(crate) struct ProbeSpec {
    pub(crate) pool: Arc<str>,
    pub(crate) origin: Arc<str>,
    pub(crate) monitor: Arc<MonitorSpec>,
    pub(crate) address: Box<str>,
    pub(crate) port: u16,
    pub(crate) host: Box<str>,
    /// Whether `host` was configured (origin or monitor `Host`), rather than
    /// the address standing in for it.
    pub(crate) host_set: bool,
}

impl ProbeSpec {
    pub(crate) fn new(pool: Arc<str>, name: Arc<str>, origin: &OriginEntry, monitor: Arc<MonitorSpec>) -> ProbeSpec {
        let port = match (monitor.port, origin.port()) {
            (0, 0) => default_port(&monitor.kind),
            (0, port) | (port, _) => port,
        };
        let configured = origin.host_header().or(monitor.host.as_deref());
        ProbeSpec {
            pool,
            origin: name,
            address: origin.address().into(),
            port,
            host: configured.unwrap_or(origin.address()).into(),
            host_set: configured.is_some(),
            monitor,
        }
    }
}

/// A health probe the host should perform now: send it, wait at most
/// [`timeout`](Self::timeout), and report what happened with
/// [`HealthChecker::handle_result`](super::HealthChecker::handle_result).
///
/// For HTTP(S) probes: send `method path` to `address:port` with the
/// `Host` header [`host_header`](Self::host_header) and the extra
/// [`headers`](Self::headers); for HTTPS use [`sni`](Self::sni) as the TLS
/// server name and skip certificate checks when
/// [`allow_insecure`](Self::allow_insecure); follow redirects only when
/// [`follow_redirects`](Self::follow_redirects); read at most
/// [`body_limit`](Self::body_limit) bytes of the body. For TCP: connect.
/// For ICMP ping: an echo request. For UDP-ICMP: a UDP datagram after a
/// successful ping (an ICMP port-unreachable answer fails). For SMTP:
/// `HELO` answered by 250, `QUIT` by 221. The library judges the result.
#[derive(Clone)]
pub struct Probe {
    pub(crate) id: ProbeId,
    pub(crate) vantage: Vantage,
    pub(crate) attempt: u32,
    pub(crate) sent: Timestamp,
    pub(crate) spec: Arc<ProbeSpec>,
}

impl Probe {
    /// The id to report the outcome with.
    pub fn id(&self) -> ProbeId {
        self.id
    }
    /// The id of the pool whose origin is probed.
    pub fn pool(&self) -> &str {
        &self.spec.pool
    }
    /// The name of the origin probed (unique within its pool).
    pub fn origin(&self) -> &str {
        &self.spec.origin
    }
    /// The id of the monitor this probe is for.
    pub fn monitor(&self) -> &str {
        &self.spec.monitor.id
    }
    /// Where to probe from.
    pub fn vantage(&self) -> Vantage {
        self.vantage
    }
    /// 0 for a scheduled probe, then 1, 2, … for immediate retries after a
    /// timeout (up to the monitor's `retries`).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
    /// The protocol (`type`).
    pub fn kind(&self) -> &MonitorType {
        &self.spec.monitor.kind
    }
    /// Whether this is an HTTP or HTTPS probe.
    pub fn is_http(&self) -> bool {
        self.spec.monitor.is_http()
    }
    /// The origin's address: an IP address or a hostname.
    pub fn address(&self) -> &str {
        &self.spec.address
    }
    /// The port: the monitor's `port`, else the origin's, else the
    /// protocol's default (HTTP 80, HTTPS 443, TCP 80, SMTP 25; 0 = none,
    /// for ICMP).
    pub fn port(&self) -> u16 {
        self.spec.port
    }
    /// The `Host` header: the origin's `header.Host`, else the monitor's
    /// `Host` header, else the origin's address.
    pub fn host_header(&self) -> &str {
        &self.spec.host
    }
    /// The TLS server name for HTTPS: the configured `Host` (origin's, else
    /// monitor's); `None` when only the address stands in for it, in which
    /// case no server name is sent.
    pub fn sni(&self) -> Option<&str> {
        self.spec.host_set.then_some(&*self.spec.host)
    }
    /// The HTTP method (`GET` by default); `connection_established` for
    /// TCP; empty for other protocols.
    pub fn method(&self) -> &str {
        &self.spec.monitor.method
    }
    /// The HTTP path (`/` by default); empty for non-HTTP protocols.
    pub fn path(&self) -> &str {
        &self.spec.monitor.path
    }
    /// The monitor's request headers other than `Host`, one pair per value.
    pub fn headers(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.spec.monitor.headers.iter().map(|(n, v)| (&**n, &**v))
    }
    /// How long to wait for an answer.
    pub fn timeout(&self) -> Duration {
        self.spec.monitor.timeout
    }
    /// When the probe was handed out.
    pub fn sent(&self) -> Timestamp {
        self.sent
    }
    /// `sent + timeout`: report [`Outcome::timeout`] if no answer came by
    /// then.
    pub fn deadline(&self) -> Timestamp {
        self.sent + self.timeout()
    }
    /// Skip TLS certificate verification.
    pub fn allow_insecure(&self) -> bool {
        self.spec.monitor.allow_insecure
    }
    /// Follow 301/302 redirects and report the final response; otherwise
    /// report the redirect response itself.
    pub fn follow_redirects(&self) -> bool {
        self.spec.monitor.follow_redirects
    }
    /// How many bytes of the response body the library needs: 10 KB when
    /// the monitor has an `expected_body`, else 0.
    pub fn body_limit(&self) -> usize {
        if self.spec.monitor.body.is_some() { BODY_LIMIT } else { 0 }
    }
    /// The zone whose egress settings the probe should emulate.
    pub fn probe_zone(&self) -> Option<&str> {
        self.spec.monitor.probe_zone.as_deref()
    }
}

impl fmt::Debug for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Probe")
            .field("id", &self.id)
            .field("pool", &self.pool())
            .field("origin", &self.origin())
            .field("monitor", &self.monitor())
            .field("vantage", &self.vantage)
            .field("attempt", &self.attempt)
            .field("kind", &self.kind().as_str())
            .field("address", &self.address())
            .field("port", &self.port())
            .field("host_header", &self.host_header())
            .field("method", &self.method())
            .field("path", &self.path())
            .finish_non_exhaustive()
    }
}

/// Why a probe failed: what the host saw (a transport failure), or what the
/// library judged (a response that does not match the monitor).
///
/// [`as_str`](Self::as_str) gives the wording of Cloudflare's health
/// details.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Failure {
    /// No answer within the timeout (after every retry).
    Timeout,
    /// The connection was refused or could not be made.
    ConnectionRefused,
    /// The connection was reset.
    ConnectionReset,
    /// No route to the host, or the network is unreachable.
    Unreachable,
    /// The address did not resolve.
    Dns,
    /// The TLS handshake failed (untrusted or mismatched certificate,
    /// protocol error).
    Tls,
    /// The answer was not valid for the protocol (a malformed HTTP
    /// response, an SMTP server that did not answer 250/221).
    InvalidResponse,
    /// UDP-ICMP: an ICMP port-unreachable answer.
    PortUnreachable,
    /// The status code is not in `expected_codes`.
    ResponseCode,
    /// The body does not contain `expected_body`.
    ResponseBody,
    /// The host followed a redirect that the monitor does not allow
    /// (`follow_redirects` is off).
    Redirected,
    /// Any other failure.
    Other,
}

impl Failure {
    /// A short description, in the words of Cloudflare's health details
    /// where there are some.
    pub const fn as_str(self) -> &'static str {
        match self {
            Failure::Timeout => "timeout",
            Failure::ConnectionRefused => "TCP connection failed",
            Failure::ConnectionReset => "connection reset by peer",
            Failure::Unreachable => "no route to host",
            Failure::Dns => "DNS unknown host",
            Failure::Tls => "TLS handshake failure",
            Failure::InvalidResponse => "invalid response",
            Failure::PortUnreachable => "ICMP port unreachable",
            Failure::ResponseCode => "response code mismatch",
            Failure::ResponseBody => "response body mismatch",
            Failure::Redirected => "redirect not followed by the monitor",
            Failure::Other => "other failure",
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug)]
enum Answer<'a> {
    Http { status: u16, body: &'a [u8], redirected: bool },
    Success,
    Failed(Failure),
}

/// What happened to a probe, as the host reports it. The library decides
/// whether it passes.
///
/// ```
/// use core::time::Duration;
/// use lbsteer::health::{Failure, Outcome};
///
/// let ok = Outcome::http(200).with_body(b"<html>OK</html>").with_rtt(Duration::from_millis(12));
/// let connected = Outcome::success(); // TCP connected, ICMP echo reply, SMTP conversation done
/// let timed_out = Outcome::timeout();
/// let refused = Outcome::failed(Failure::ConnectionRefused);
/// # let _ = (ok, connected, timed_out, refused);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Outcome<'a> {
    answer: Answer<'a>,
    rtt: Option<Duration>,
}

impl<'a> Outcome<'a> {
    /// An HTTP(S) response with this status code. For a TCP, ICMP, UDP or
    /// SMTP monitor any response counts as [`success`](Self::success).
    pub fn http(status: u16) -> Outcome<'a> {
        Outcome { answer: Answer::Http { status, body: &[], redirected: false }, rtt: None }
    }

    /// The protocol's success criterion was met: TCP connected, ICMP echo
    /// answered, UDP probe without port-unreachable, SMTP `HELO`/`QUIT`
    /// answered. For an HTTP(S) monitor this is not enough (no status code):
    /// it fails as [`Failure::InvalidResponse`].
    pub fn success() -> Outcome<'a> {
        Outcome { answer: Answer::Success, rtt: None }
    }

    /// No answer within the probe's timeout. Retried immediately while the
    /// monitor's `retries` allow.
    pub fn timeout() -> Outcome<'a> {
        Outcome::failed(Failure::Timeout)
    }

    /// The probe failed.
    pub fn failed(failure: Failure) -> Outcome<'a> {
        Outcome { answer: Answer::Failed(failure), rtt: None }
    }

    /// The first bytes of the HTTP response body (at least
    /// [`Probe::body_limit`] when available; more is ignored).
    #[must_use]
    pub fn with_body(mut self, body: &'a [u8]) -> Outcome<'a> {
        if let Answer::Http { body: b, .. } = &mut self.answer {
            *b = body;
        }
        self
    }

    /// The HTTP response is the end of redirects the host followed.
    #[must_use]
    pub fn after_redirects(mut self) -> Outcome<'a> {
        if let Answer::Http { redirected, .. } = &mut self.answer {
            *redirected = true;
        }
        self
    }

    /// The measured round-trip time. Without it the library takes the time
    /// from [`Probe::sent`] to the report.
    #[must_use]
    pub fn with_rtt(mut self, rtt: Duration) -> Outcome<'a> {
        self.rtt = Some(rtt);
        self
    }

    /// Whether this reports a timeout.
    pub(crate) fn is_timeout(&self) -> bool {
        matches!(self.answer, Answer::Failed(Failure::Timeout))
    }

    pub(crate) fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// Judges the outcome against the monitor.
    pub(crate) fn judge(&self, monitor: &MonitorSpec) -> Judgement {
        let (failure, code) = match self.answer {
            Answer::Failed(failure) => (Some(failure), None),
            Answer::Success if monitor.is_http() => (Some(Failure::InvalidResponse), None),
            Answer::Success => (None, None),
            Answer::Http { status, .. } if !monitor.is_http() => (None, Some(status)),
            Answer::Http { status, body, redirected } => {
                let failure = if redirected && !monitor.follow_redirects {
                    Some(Failure::Redirected)
                } else if !monitor.codes.matches(status) {
                    Some(Failure::ResponseCode)
                } else if monitor.body.as_ref().is_some_and(|expected| !expected.found_in(body)) {
                    Some(Failure::ResponseBody)
                } else {
                    None
                };
                (failure, Some(status))
            }
        };
        Judgement { failure, code }
    }
}

/// The library's verdict on one outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Judgement {
    pub(crate) failure: Option<Failure>,
    pub(crate) code: Option<u16>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn monitor(json: &str) -> MonitorSpec {
        MonitorSpec::new(&serde_json::from_str::<Monitor>(json).unwrap())
    }

    #[test]
    fn defaults_per_protocol() {
        let http = monitor(r#"{"id": "m"}"#);
        assert_eq!((&*http.method, &*http.path), ("GET", "/"));
        assert_eq!((http.consecutive_up, http.consecutive_down), (1, 1), "0 acts as 1");
        assert_eq!(http.timeout, Duration::from_secs(5));
        assert_eq!(http.interval, Duration::from_secs(60));
        let tcp = monitor(r#"{"id": "m", "type": "tcp"}"#);
        assert_eq!((&*tcp.method, &*tcp.path), ("connection_established", ""));
        // cloudflare-lb.md §1.1: `path` is "HTTP(S) only", even when the API
        // echoes its default `/` on a TCP monitor.
        let tcp_path = monitor(r#"{"id": "m", "type": "tcp", "path": "/"}"#);
        assert_eq!(&*tcp_path.path, "");
        assert_eq!(default_port(&tcp.kind), 80);
        assert_eq!(default_port(&MonitorType::Https), 443);
        assert_eq!(default_port(&MonitorType::Smtp), 25);
        assert_eq!(default_port(&MonitorType::IcmpPing), 0);
    }

    #[test]
    fn host_header_is_split_from_the_others() {
        let m = monitor(r#"{"id": "m", "header": {"host": ["mon.example.com"], "X-A": ["1", "2"]}}"#);
        assert_eq!(m.host.as_deref(), Some("mon.example.com"));
        assert_eq!(m.headers.len(), 2);
    }

    #[test]
    fn judging_http() {
        let m = monitor(r#"{"id": "m", "expected_codes": "2xx", "expected_body": "ok"}"#);
        let pass = |o: Outcome<'_>| o.judge(&m).failure;
        assert_eq!(pass(Outcome::http(204).with_body(b"All OK")), None);
        assert_eq!(pass(Outcome::http(204).with_body(b"nope")), Some(Failure::ResponseBody));
        assert_eq!(pass(Outcome::http(500).with_body(b"ok")), Some(Failure::ResponseCode));
        assert_eq!(pass(Outcome::http(200).with_body(b"ok").after_redirects()), Some(Failure::Redirected));
        assert_eq!(pass(Outcome::success()), Some(Failure::InvalidResponse));
        assert_eq!(pass(Outcome::timeout()), Some(Failure::Timeout));
        assert_eq!(Outcome::http(500).judge(&m).code, Some(500));

        let follow = monitor(r#"{"id": "m", "follow_redirects": true}"#);
        assert_eq!(Outcome::http(200).after_redirects().judge(&follow).failure, None);
        assert_eq!(Outcome::http(302).judge(&follow).failure, Some(Failure::ResponseCode));
        let redirect_ok = monitor(r#"{"id": "m", "expected_codes": "302"}"#);
        assert_eq!(Outcome::http(302).judge(&redirect_ok).failure, None);
    }

    #[test]
    fn judging_other_protocols() {
        let tcp = monitor(r#"{"id": "m", "type": "tcp"}"#);
        assert_eq!(Outcome::success().judge(&tcp).failure, None);
        assert_eq!(Outcome::http(500).judge(&tcp).failure, None, "any response means connected");
        assert_eq!(Outcome::failed(Failure::ConnectionRefused).judge(&tcp).failure, Some(Failure::ConnectionRefused));
    }
}
