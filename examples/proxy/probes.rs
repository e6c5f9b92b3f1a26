//! Health probes, for real: the router's checker says which probe is due
//! and when; this module performs it over the network and reports what it
//! saw. The library judges the outcome (expected codes and body, retries,
//! `consecutive_up` / `consecutive_down`) and publishes the verdicts the
//! decisions read.
//!
//! - `http` monitors: one request on a fresh connection (hyper's
//!   connection API, no pool), with the monitor's method, path, headers and
//!   `Host`; the first bytes of the body when the monitor has an
//!   `expected_body`; redirects followed when `follow_redirects` is set.
//! - `tcp` monitors: a connection, then nothing.
//! - Other types are not implemented by this example: `https` (it has no
//!   TLS client), `icmp_ping`, `udp_icmp` and `smtp`. Their probes are
//!   reported as failed ([`Failure::Other`]), with a warning logged once per
//!   monitor, so the origins they watch count as down.
//!
//! Every probe runs in its own task, bounded by the monitor's `timeout`.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, Uri};
use hyper_util::rt::TokioIo;
use lbsteer::Router;
use lbsteer::config::MonitorType;
use lbsteer::health::{Failure, Outcome, Probe, Timestamp};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::app::log;

/// At most this many redirects are followed for `follow_redirects`.
const MAX_REDIRECTS: usize = 5;

/// Starts the probe loop. `wake` interrupts its sleep: notify it after a
/// reload (new origins are due at once).
pub fn spawn(router: Arc<Router>, wake: Arc<Notify>) -> JoinHandle<()> {
    tokio::spawn(run(router, wake))
}

/// The sans-IO loop: start every probe that is due, log the transitions,
/// sleep until the next probe is due or something wakes us.
async fn run(router: Arc<Router>, wake: Arc<Notify>) {
    // The checker's clock: milliseconds since this epoch.
    let epoch = Instant::now();
    let now = move || Timestamp::from_instant(epoch, Instant::now());
    let mut warned: HashSet<String> = HashSet::new();
    loop {
        while let Some(probe) = router.poll_probe(now()) {
            if let Some(why) = unsupported(probe.kind()) {
                if warned.insert(probe.monitor().to_owned()) {
                    log!("monitor {:?}: {why}; its probes are reported as failed", probe.monitor());
                }
                report(&router, &probe, Observed::Failed(Failure::Other), None, now());
                continue;
            }
            let (router, wake) = (Arc::clone(&router), Arc::clone(&wake));
            tokio::spawn(async move {
                let (observed, rtt) = match tokio::time::timeout(probe.timeout(), perform(&probe)).await {
                    Ok(Ok((observed, rtt))) => (observed, Some(rtt)),
                    Ok(Err(failure)) => (Observed::Failed(failure), None),
                    Err(_) => (Observed::Failed(Failure::Timeout), None),
                };
                report(&router, &probe, observed, rtt, now());
                // A timeout may have made a retry due at once; and there
                // may be a transition to log.
                wake.notify_one();
            });
        }
        while let Some(event) = router.poll_health_event() {
            log!("health: {event}");
        }
        match router.poll_timeout() {
            Some(next) => {
                let deadline = tokio::time::Instant::from_std(next.to_instant(epoch));
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => {}
                    () = wake.notified() => {}
                }
            }
            // Nothing is monitored: wait for a reload.
            None => wake.notified().await,
        }
    }
}

/// What a probe saw, owned (an [`Outcome`] borrows the body).
enum Observed {
    Http { status: u16, body: Vec<u8>, redirected: bool },
    Connected,
    Failed(Failure),
}

fn report(router: &Router, probe: &Probe, observed: Observed, rtt: Option<Duration>, now: Timestamp) {
    let mut outcome = match &observed {
        Observed::Http { status, body, redirected } => {
            let outcome = Outcome::http(*status).with_body(body);
            if *redirected { outcome.after_redirects() } else { outcome }
        }
        Observed::Connected => Outcome::success(),
        Observed::Failed(failure) => Outcome::failed(*failure),
    };
    if let Some(rtt) = rtt {
        outcome = outcome.with_rtt(rtt);
    }
    // An unknown probe is not an error here: its origin left the
    // configuration in a reload while the probe ran.
    let _ = router.handle_probe_result(probe.id(), outcome, now);
}

/// Why this example cannot run a monitor type, if it cannot.
fn unsupported(kind: &MonitorType) -> Option<&'static str> {
    match kind {
        MonitorType::Http | MonitorType::Tcp => None,
        MonitorType::Https => Some("https probes need a TLS client, which this example does not have"),
        _ => Some("this example runs http and tcp probes only"),
    }
}

/// Runs one probe; the caller bounds it by the monitor's timeout.
async fn perform(probe: &Probe) -> Result<(Observed, Duration), Failure> {
    let started = Instant::now();
    if !probe.is_http() {
        connect(probe.address(), probe.port()).await?;
        return Ok((Observed::Connected, started.elapsed()));
    }
    let method = Method::from_bytes(probe.method().as_bytes()).map_err(|_| Failure::Other)?;
    let (mut address, mut port) = (probe.address().to_owned(), probe.port());
    let (mut host, mut path) = (probe.host_header().to_owned(), probe.path().to_owned());
    let mut redirects = 0;
    loop {
        let response = exchange(probe, &method, &address, port, &host, &path).await?;
        let rtt = started.elapsed();
        let status = response.status();
        if probe.follow_redirects()
            && status.is_redirection()
            && redirects < MAX_REDIRECTS
            && let Some(next) = redirect_target(&response, &address, port)
        {
            (address, port, host, path) = next;
            redirects += 1;
            continue;
        }
        let body = read_body(response.into_body(), probe.body_limit()).await;
        return Ok((Observed::Http { status: status.as_u16(), body, redirected: redirects > 0 }, rtt));
    }
}

/// One HTTP/1.1 exchange on a new connection.
async fn exchange(
    probe: &Probe,
    method: &Method,
    address: &str,
    port: u16,
    host: &str,
    path: &str,
) -> Result<Response<Incoming>, Failure> {
    let stream = connect(address, port).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|err| hyper_failure(&err))?;
    tokio::spawn(async move {
        // Ends once the response is read and the sender dropped.
        let _ = connection.await;
    });

    let mut request = Request::new(Empty::<Bytes>::new());
    *request.method_mut() = method.clone();
    *request.uri_mut() = path.parse::<Uri>().map_err(|_| Failure::Other)?;
    let headers = request.headers_mut();
    headers.insert(header::HOST, HeaderValue::from_str(host).map_err(|_| Failure::Other)?);
    for (name, value) in probe.headers() {
        let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) else {
            return Err(Failure::Other);
        };
        headers.append(name, value);
    }
    if !headers.contains_key(header::USER_AGENT) {
        headers.insert(header::USER_AGENT, HeaderValue::from_static("lbsteer-proxy-example health check"));
    }
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    sender.send_request(request).await.map_err(|err| hyper_failure(&err))
}

/// Resolves and connects.
async fn connect(address: &str, port: u16) -> Result<TcpStream, Failure> {
    let target: SocketAddr = match address.parse() {
        Ok(ip) => SocketAddr::new(ip, port),
        Err(_) => {
            let mut addresses = tokio::net::lookup_host((address, port)).await.map_err(|_| Failure::Dns)?;
            addresses.next().ok_or(Failure::Dns)?
        }
    };
    TcpStream::connect(target).await.map_err(|err| io_failure(&err))
}

/// Where a redirect points, when this probe can follow it: a path on the
/// same origin, or an `http://` URL.
fn redirect_target(response: &Response<Incoming>, address: &str, port: u16) -> Option<(String, u16, String, String)> {
    let location = response.headers().get(header::LOCATION)?.to_str().ok()?;
    if location.starts_with('/') {
        return Some((address.to_owned(), port, address.to_owned(), location.to_owned()));
    }
    let uri: Uri = location.parse().ok()?;
    if uri.scheme_str() != Some("http") {
        return None;
    }
    let authority = uri.authority()?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    Some((authority.host().to_owned(), authority.port_u16().unwrap_or(80), authority.to_string(), path.to_owned()))
}

/// The first `limit` bytes of the body (none when the monitor has no
/// `expected_body`); a body cut short keeps what arrived.
async fn read_body(mut body: Incoming, limit: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < limit {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    out.extend_from_slice(&data[..data.len().min(limit - out.len())]);
                }
            }
            Some(Err(_)) | None => break,
        }
    }
    out
}

fn io_failure(err: &std::io::Error) -> Failure {
    use std::io::ErrorKind;
    match err.kind() {
        ErrorKind::ConnectionRefused => Failure::ConnectionRefused,
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => Failure::ConnectionReset,
        ErrorKind::TimedOut => Failure::Timeout,
        ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => Failure::Unreachable,
        _ => Failure::Other,
    }
}

fn hyper_failure(err: &hyper::Error) -> Failure {
    if err.is_parse() || err.is_parse_status() {
        return Failure::InvalidResponse;
    }
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return io_failure(io);
        }
        source = cause.source();
    }
    if err.is_incomplete_message() || err.is_closed() { Failure::ConnectionReset } else { Failure::InvalidResponse }
}
