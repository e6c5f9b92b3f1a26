//! The request path: build lbsteer's view of each request, ask the router,
//! then forward to the chosen origin or answer with a fixed response.
//!
//! This is the part to copy into your own proxy. The decision itself takes
//! no lock and allocates nothing; everything around it (URIs, header maps,
//! the upstream client) is ordinary hyper code.

use std::convert::Infallible;
use std::error::Error as _;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, Uri, Version};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use lbsteer::geo::Region;
use lbsteer::health::InFlight;
use lbsteer::{Decision, HeaderSource, Router, Scheme, SelectError, Selection, Snapshot};
use tokio::net::TcpListener;

use crate::app::{Options, log};

/// How long to wait for a TCP connection to an origin (Cloudflare answers
/// 522 after 15 s; a proxy on a LAN can be quicker to give up).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long to wait for an origin's response headers (Cloudflare's 524
/// comes after 100 s).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(100);

/// The body of every response the proxy sends: an origin's, streamed, or
/// one the proxy makes up.
pub type ProxyBody = UnsyncBoxBody<Bytes, hyper::Error>;

/// The proxy: a router, and a pooled HTTP/1.1 client to reach origins.
pub struct Proxy {
    router: Arc<Router>,
    client: Client<HttpConnector, ProxyBody>,
    region: Option<Region>,
    access_log: bool,
    debug_headers: bool,
}

/// Accepts connections until the task is aborted; one task per connection.
pub async fn serve(listener: TcpListener, proxy: Arc<Proxy>) {
    loop {
        let (stream, client) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // Usually out of file descriptors: back off rather than spin.
                log!("accept: {err}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let proxy = Arc::clone(&proxy);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let proxy = Arc::clone(&proxy);
                async move { Ok::<_, Infallible>(proxy.handle(request, client).await) }
            });
            // hyper answers malformed requests with 400 by itself; the timer
            // bounds how long a client may take to send its headers.
            let connection =
                http1::Builder::new().timer(TokioTimer::new()).serve_connection(TokioIo::new(stream), service);
            if let Err(err) = connection.await
                && !err.is_incomplete_message()
            {
                log!("connection from {client}: {err}");
            }
        });
    }
}

impl Proxy {
    /// A proxy deciding with `router`.
    pub fn new(router: Arc<Router>, options: &Options) -> Proxy {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.set_nodelay(true);
        Proxy {
            router,
            client: Client::builder(TokioExecutor::new()).build(connector),
            region: options.region,
            access_log: options.access_log,
            debug_headers: options.debug_headers,
        }
    }

    /// Serves one request from `client`. Never fails: every problem becomes
    /// a response with a status and a plain-text body.
    async fn handle(&self, request: Request<Incoming>, client: SocketAddr) -> Response<ProxyBody> {
        let started = Instant::now();
        let (parts, body) = request.into_parts();
        let (response, served_by) = self.route(&parts, body, client.ip().to_canonical()).await;
        if self.access_log {
            let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("-");
            log!(
                "{client} \"{} {host} {}\" {} {served_by} {}ms",
                parts.method,
                parts.uri,
                response.status().as_u16(),
                started.elapsed().as_millis()
            );
        }
        response
    }

    /// Decides and forwards; returns the response and who served it (for
    /// the access log).
    async fn route(&self, parts: &Parts, body: Incoming, client_ip: IpAddr) -> (Response<ProxyBody>, String) {
        // A request can be sent again only if nothing is lost by doing so:
        // an idempotent method and no body (this proxy streams bodies and
        // does not keep a copy).
        let replayable = is_idempotent(&parts.method) && body.is_end_stream();
        let mut body = (!replayable).then_some(body);

        // 1. Decide. The selection borrows the request view, which borrows
        //    hyper's headers through this wrapper.
        let headers = HeaderMapSource(&parts.headers);
        let mut target = match self.decide(parts, &headers, client_ip) {
            Step::Forward(target) => target,
            Step::Respond(response, label) => return (response, label),
        };
        loop {
            // 2. Forward. The target holds the in-flight guard from here
            //    until the response body is done (least outstanding requests).
            let upstream_body = body.take().map_or_else(empty_body, BodyExt::boxed_unsync);
            match self.forward(parts, client_ip, &target, upstream_body).await {
                Ok(response) => {
                    let label = target.label();
                    return (self.finish(response, target), label);
                }
                // 3. Zero-downtime failover: nothing reached the origin, so
                //    the library may send the request elsewhere: another
                //    origin of the pool, or of the next pools with
                //    `failover_across_pools`. One retry per request; a
                //    pinned session follows `zero_downtime_failover`.
                Err(ForwardError::Connect(err)) if replayable && !target.selection.is_retry() => {
                    let status = connect_failure_status(&err);
                    let failed = target.label();
                    match self.retry(parts, &headers, client_ip, &target, status) {
                        Ok(next) => {
                            log!("{failed}: {}; retrying on {}", ForwardError::Connect(err), next.label());
                            target = next;
                        }
                        Err(why) => {
                            log!("{failed}: {}; no retry: {why}", ForwardError::Connect(err));
                            return (text(StatusCode::BAD_GATEWAY, "the origin could not be reached\n"), failed);
                        }
                    }
                }
                Err(err) => {
                    log!("{}: {err}", target.label());
                    return (err.response(), target.label());
                }
            }
        }
    }

    /// Builds lbsteer's view of the request: the host, and everything rules
    /// and affinity may read (method, path, query, headers, cookies, client
    /// IP, time). The view borrows hyper's parts; building it allocates
    /// nothing.
    fn view<'p>(
        &self,
        parts: &'p Parts,
        headers: &'p HeaderMapSource<'p>,
        host: &'p str,
        client_ip: IpAddr,
    ) -> lbsteer::Request<'p> {
        let mut view = lbsteer::Request::new(host)
            .scheme(Scheme::Http)
            .method(parts.method.as_str())
            .path(parts.uri.path())
            .query(parts.uri.query().unwrap_or(""))
            .version(version_name(parts.version))
            .header_source(headers)
            .client_ip(client_ip)
            .timestamp(unix_seconds());
        if let Some(region) = self.region {
            view = view.region_code(region);
        }
        view
    }

    /// Decides where the request goes.
    fn decide<'p>(&self, parts: &'p Parts, headers: &'p HeaderMapSource<'p>, client_ip: IpAddr) -> Step<'p> {
        let Some(host) = request_host(parts) else {
            return Step::Respond(text(StatusCode::BAD_REQUEST, "missing or invalid Host header\n"), "-".into());
        };
        if parts.method == Method::CONNECT {
            return Step::Respond(text(StatusCode::METHOD_NOT_ALLOWED, "CONNECT is not supported\n"), "-".into());
        }
        match self.router.select_origin(&self.view(parts, headers, host, client_ip)) {
            Ok(Decision::Origin(selection)) => match Target::new(selection) {
                Ok(target) => Step::Forward(target),
                Err((label, why)) => {
                    log!("{label}: {why}");
                    Step::Respond(text(StatusCode::BAD_GATEWAY, "the origin's address is not usable\n"), label)
                }
            },
            Ok(Decision::Respond(fixed)) => Step::Respond(fixed_response(&fixed), "fixed-response".into()),
            Err(err) => Step::Respond(no_route(err, host), err.code().into()),
        }
    }

    /// Asks the library for another origin after `previous` failed with
    /// `status` (decided with the same table generation).
    fn retry<'p>(
        &self,
        parts: &'p Parts,
        headers: &'p HeaderMapSource<'p>,
        client_ip: IpAddr,
        previous: &Target<'p>,
        status: u16,
    ) -> Result<Target<'p>, String> {
        let host = request_host(parts).ok_or("missing Host header")?;
        let view = self.view(parts, headers, host, client_ip);
        let selection = self.router.retry(&view, &previous.selection, status).map_err(|err| err.to_string())?;
        Target::new(selection).map_err(|(label, why)| format!("{label}: {why}"))
    }

    /// Sends the request to `target`.
    async fn forward(
        &self,
        parts: &Parts,
        client_ip: IpAddr,
        target: &Target<'_>,
        body: ProxyBody,
    ) -> Result<Response<Incoming>, ForwardError> {
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let uri: Uri = format!("http://{}{path}", target.authority)
            .parse()
            .map_err(|err| ForwardError::Invalid(format!("request target {path:?}: {err}")))?;
        let mut request = Request::new(body);
        *request.method_mut() = parts.method.clone();
        *request.uri_mut() = uri;
        *request.version_mut() = Version::HTTP_11;
        let headers = request.headers_mut();
        *headers = parts.headers.clone();
        strip_hop_by_hop(headers);
        // The selection's Host header: the origin's own, an Origin Rule's,
        // or the request's.
        headers.insert(header::HOST, target.host_header.clone());
        if let Ok(ip) = HeaderValue::from_str(&client_ip.to_string()) {
            headers.append(X_FORWARDED_FOR, ip);
        }
        if let Some(host) = parts.headers.get(header::HOST) {
            headers.insert(X_FORWARDED_HOST, host.clone());
        }
        headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));

        match tokio::time::timeout(RESPONSE_TIMEOUT, self.client.request(request)).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(err)) if err.is_connect() => Err(ForwardError::Connect(err)),
            Ok(Err(err)) => Err(ForwardError::Exchange(err)),
            Err(_) => Err(ForwardError::Timeout),
        }
    }

    /// The origin's response, on its way back to the client.
    fn finish(&self, response: Response<Incoming>, target: Target<'_>) -> Response<ProxyBody> {
        let (mut parts, body) = response.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        if self.debug_headers
            && let Ok(value) = HeaderValue::from_str(&target.debug_header())
        {
            parts.headers.insert(X_LBSTEER, value);
        }
        // Session affinity: the cookie the selection asks for (a new or
        // moved session), next to the origin's own cookies.
        if let Some(cookie) = target.set_cookie {
            parts.headers.append(header::SET_COOKIE, cookie);
        }
        // The request stays "outstanding" until the body is streamed; the
        // table generation is released now.
        let body = Guarded { inner: body, _in_flight: target.in_flight };
        Response::from_parts(parts, body.boxed_unsync())
    }
}

/// The status Cloudflare would give a connection that failed this way: 521
/// when the origin refused it, 522 when it timed out (or anything else
/// kept it from connecting). Both are retried by zero-downtime failover.
fn connect_failure_status(err: &hyper_util::client::legacy::Error) -> u16 {
    let mut source = err.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return 521;
        }
        source = cause.source();
    }
    522
}

/// What the decision says to do with a request.
enum Step<'p> {
    Forward(Target<'p>),
    /// A response made here, and a label for the access log.
    Respond(Response<ProxyBody>, String),
}

/// Where one attempt goes: the selection (kept for a failover retry, and
/// holding its table generation until the response headers arrive), and
/// what forwarding needs, prepared once.
struct Target<'p> {
    selection: Selection<'p, Snapshot>,
    /// `address:port`, brackets around an IPv6 address.
    authority: String,
    host_header: HeaderValue,
    /// The affinity cookie to set, when the selection asks for one.
    set_cookie: Option<HeaderValue>,
    /// Counts the request against the origin and its pool until dropped
    /// (feeds `least_outstanding_requests` steering).
    in_flight: InFlight,
}

impl<'p> Target<'p> {
    /// Prepares an attempt; on error, a label for the log and why.
    fn new(selection: Selection<'p, Snapshot>) -> Result<Target<'p>, (String, String)> {
        let label = || format!("{}/{}", selection.pool().id(), selection.origin().name());
        let host_header = HeaderValue::from_str(selection.host_header())
            .map_err(|_| (label(), format!("Host header {:?} is not a valid header value", selection.host_header())))?;
        let (address, port) = (selection.address(), selection.port());
        let authority = match address.parse::<Ipv6Addr>() {
            Ok(_) => format!("[{address}]:{port}"),
            Err(_) => format!("{address}:{port}"),
        };
        // `SetCookie` displays as the header value; it holds only
        // cookie-safe characters.
        let set_cookie = selection.set_cookie().and_then(|cookie| HeaderValue::from_str(&cookie.to_string()).ok());
        // Plain HTTP to origins: `selection.sni()` is the server name a TLS
        // connector would send. `least_connections` steering would also
        // want `selection.open_connection()` held per upstream connection;
        // the pooled client hides its connections, so this example feeds
        // only `least_outstanding_requests` (through `begin_request`).
        let in_flight = selection.begin_request();
        Ok(Target { selection, authority, host_header, set_cookie, in_flight })
    }

    /// `pool/origin address:port`.
    fn label(&self) -> String {
        format!("{}/{} {}", self.selection.pool().id(), self.selection.origin().name(), self.authority)
    }

    fn debug_header(&self) -> String {
        let s = &self.selection;
        let fail_open = if s.is_fail_open() { "; fail-open" } else { "" };
        let retry = if s.is_retry() { "; retry" } else { "" };
        format!("pool={}; origin={}; generation={}{fail_open}{retry}", s.pool().id(), s.origin().name(), s.generation())
    }
}

/// Why forwarding failed.
#[derive(Debug)]
enum ForwardError {
    /// No connection: refused, unreachable, timed out, or the address did
    /// not resolve. Nothing was sent.
    Connect(hyper_util::client::legacy::Error),
    /// The connection failed during the exchange, or the response was not
    /// HTTP. The origin may have seen the request.
    Exchange(hyper_util::client::legacy::Error),
    /// No response headers within [`RESPONSE_TIMEOUT`].
    Timeout,
    /// The upstream request could not be built.
    Invalid(String),
}

impl ForwardError {
    fn response(&self) -> Response<ProxyBody> {
        match self {
            ForwardError::Connect(_) => text(StatusCode::BAD_GATEWAY, "the origin could not be reached\n"),
            ForwardError::Exchange(_) => text(StatusCode::BAD_GATEWAY, "the origin did not answer properly\n"),
            ForwardError::Timeout => text(StatusCode::GATEWAY_TIMEOUT, "the origin did not answer in time\n"),
            ForwardError::Invalid(_) => text(StatusCode::BAD_REQUEST, "the request cannot be forwarded\n"),
        }
    }
}

impl std::fmt::Display for ForwardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (what, err) = match self {
            ForwardError::Connect(err) => ("cannot connect", err),
            ForwardError::Exchange(err) => ("exchange failed", err),
            ForwardError::Timeout => return write!(f, "no response within {}s", RESPONSE_TIMEOUT.as_secs()),
            ForwardError::Invalid(why) => return write!(f, "cannot forward: {why}"),
        };
        // The useful part is at the end of the chain ("Connection refused").
        f.write_str(what)?;
        let mut source = err.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// A fixed response from a custom rule or a pool set: status, content
/// type, location, body.
fn fixed_response(fixed: &lbsteer::Response<Snapshot>) -> Response<ProxyBody> {
    let status = StatusCode::from_u16(fixed.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Response::new(full_body(fixed.body().unwrap_or_default().to_owned()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Some(content_type) = fixed.content_type().and_then(|v| HeaderValue::from_str(v).ok()) {
        headers.insert(header::CONTENT_TYPE, content_type);
    }
    if let Some(location) = fixed.location().and_then(|v| HeaderValue::from_str(v).ok()) {
        headers.insert(header::LOCATION, location);
    }
    response
}

/// No origin: 404 when no load balancer serves the host, 503 when one does
/// but has no usable pool (the fallback pool included).
fn no_route(err: SelectError, host: &str) -> Response<ProxyBody> {
    match err {
        SelectError::NoLoadBalancer => text(StatusCode::NOT_FOUND, format!("no load balancer serves host {host:?}\n")),
        SelectError::LoadBalancerDisabled => {
            text(StatusCode::NOT_FOUND, format!("the load balancer for host {host:?} is disabled\n"))
        }
        _ => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "no origin can serve host {host:?}: every pool, the fallback pool included, is disabled or empty\n"
            ),
        ),
    }
}

/// The host the client asked for: the authority of an absolute-form
/// request target, else the `Host` header.
fn request_host(parts: &Parts) -> Option<&str> {
    if let Some(authority) = parts.uri.authority() {
        return Some(authority.host());
    }
    parts.headers.get(header::HOST)?.to_str().ok().filter(|host| !host.is_empty())
}

/// lbsteer reads headers through [`HeaderSource`]; this lends it hyper's
/// header map without copying.
struct HeaderMapSource<'a>(&'a HeaderMap);

impl HeaderSource for HeaderMapSource<'_> {
    fn visit(&self, visit: &mut dyn FnMut(&str, &[u8]) -> bool) {
        for (name, value) in self.0 {
            if !visit(name.as_str(), value.as_bytes()) {
                return;
            }
        }
    }

    fn visit_values(&self, name: &str, visit: &mut dyn FnMut(&[u8]) -> bool) {
        // `HeaderMap` looks names up ignoring case.
        for value in self.0.get_all(name) {
            if !visit(value.as_bytes()) {
                return;
            }
        }
    }
}

/// A response body that keeps the in-flight guard until it is dropped:
/// once streamed to the client, or when the client goes away.
struct Guarded {
    inner: Incoming,
    _in_flight: InFlight,
}

impl Body for Guarded {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_LBSTEER: HeaderName = HeaderName::from_static("x-lbsteer");

/// Removes the headers that describe one connection rather than the
/// message (RFC 9110 §7.6.1), and those the `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        HeaderName::from_static("keep-alive"),
        HeaderName::from_static("proxy-connection"),
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
    ] {
        headers.remove(name);
    }
}

fn is_idempotent(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE)
}

/// The HTTP version as the Rules language writes it (`http.request.version`).
fn version_name(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/1.1",
    }
}

fn unix_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs())
}

fn text(status: StatusCode, body: impl Into<String>) -> Response<ProxyBody> {
    let mut response = Response::new(full_body(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

fn full_body(body: String) -> ProxyBody {
    Full::new(Bytes::from(body)).map_err(|never: Infallible| match never {}).boxed_unsync()
}

fn empty_body() -> ProxyBody {
    Empty::new().map_err(|never: Infallible| match never {}).boxed_unsync()
}
