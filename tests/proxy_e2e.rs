//! End to end: the proxy example (`examples/proxy/`) in front of real HTTP
//! backends, all on 127.0.0.1 ephemeral ports, driven with real HTTP
//! requests. Health checks run for real, every second.
//!
//! Covered: the weighted split, rule-based routing and fixed responses,
//! a killed backend marked down after `consecutive_down` probes with
//! traffic moving away and coming back on recovery, config reloads (one
//! accepted, one rejected) in the middle of a steady request stream with no
//! failed request, cookie affinity (sessions stay on their origin while it
//! is healthy and move, with a new cookie, when it is killed), and
//! zero-downtime failover (a refused connection is retried elsewhere).

#[path = "../examples/proxy/app.rs"]
mod app;
#[path = "../examples/proxy/demo.rs"]
mod demo;
#[path = "../examples/proxy/probes.rs"]
mod probes;
#[path = "../examples/proxy/proxy.rs"]
mod proxy;
#[path = "../examples/proxy/reload.rs"]
mod reload;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use lbsteer::health::Status;

use app::{Options, Running};
use demo::Backend;

/// The longest any condition may take to come true (health checks run
/// every second).
const PATIENCE: Duration = Duration::from_secs(15);

/// The test account: pool `web` (alpha and beta, weighted, with an HTTP
/// monitor), pool `api` (gamma, also the fallback, with a TCP monitor), an
/// unmonitored pool whose origin refuses connections, another that mixes it
/// with gamma, custom rules and fixed responses; `sticky.example.com` uses
/// cookie affinity.
fn account(ports: &BTreeMap<&str, u16>, alpha_weight: f64, beta_weight: f64) -> String {
    format!(
        r#"{{
        "monitors": [{{"id": "http", "type": "http", "path": "/health", "expected_codes": "2xx",
                       "interval": 1, "timeout": 1, "retries": 0, "consecutive_up": 1, "consecutive_down": 2}},
                     {{"id": "tcp", "type": "tcp", "interval": 1, "timeout": 1}}],
        "pools": [
            {{"id": "web", "name": "web", "monitor": "http", "origins": [
                {{"name": "alpha", "address": "127.0.0.1", "port": {alpha}, "weight": {alpha_weight}}},
                {{"name": "beta", "address": "127.0.0.1", "port": {beta}, "weight": {beta_weight}}}]}},
            {{"id": "api", "name": "api", "monitor": "tcp", "origins": [
                {{"name": "gamma", "address": "127.0.0.1", "port": {gamma}}}]}},
            {{"id": "closed", "name": "closed", "origins": [
                {{"name": "nobody", "address": "127.0.0.1", "port": {closed}}}]}},
            {{"id": "mixed", "name": "mixed", "origins": [
                {{"name": "nobody", "address": "127.0.0.1", "port": {closed}}},
                {{"name": "gamma", "address": "127.0.0.1", "port": {gamma}}}]}}
        ],
        "load_balancers": [
            {{"name": "www.example.com", "proxied": true, "default_pools": ["web"], "fallback_pool": "api",
              "rules": [
                {{"name": "api path", "priority": 1, "condition": "starts_with(http.request.uri.path, \"/api/\")",
                  "overrides": {{"default_pools": ["api"]}}}},
                {{"name": "api header", "priority": 2, "condition": "any(http.request.headers[\"x-pool\"][*] == \"api\")",
                  "overrides": {{"default_pools": ["api"]}}}},
                {{"name": "api cookie", "priority": 3, "condition": "any(http.request.cookies[\"pool\"][*] == \"api\")",
                  "overrides": {{"default_pools": ["api"]}}}},
                {{"name": "maintenance", "priority": 4, "condition": "http.request.uri.path eq \"/maintenance\"",
                  "fixed_response": {{"status_code": 503, "content_type": "text/plain", "message_body": "back soon"}}}},
                {{"name": "moved", "priority": 5, "condition": "http.request.uri.path eq \"/old\" and http.request.method eq \"GET\"",
                  "fixed_response": {{"status_code": 302, "location": "https://www.example.com/new"}}}}
              ]}},
            {{"name": "broken.example.com", "proxied": true, "default_pools": ["closed"], "fallback_pool": "closed"}},
            {{"name": "sticky.example.com", "proxied": true, "default_pools": ["web"], "fallback_pool": "api",
              "session_affinity": "cookie", "session_affinity_ttl": 3600,
              "session_affinity_attributes": {{"zero_downtime_failover": "sticky"}}}},
            {{"name": "retry.example.com", "proxied": true, "default_pools": ["mixed"], "fallback_pool": "mixed"}}
        ],
        "dns_records": [{{"type": "CNAME", "name": "example.com", "content": "www.example.com"}}]
    }}"#,
        alpha = ports["alpha"],
        beta = ports["beta"],
        gamma = ports["gamma"],
        closed = ports["closed"],
    )
}

/// Three backends, the proxy in front of them, a client.
struct Harness {
    backends: BTreeMap<&'static str, Backend>,
    ports: BTreeMap<&'static str, u16>,
    dir: PathBuf,
    config: PathBuf,
    running: Running,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// What came back.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    /// The backend that answered (`x-backend`), if one did.
    fn backend(&self) -> Option<&str> {
        self.headers.get("x-backend").and_then(|v| v.to_str().ok())
    }

    /// The table generation that decided (from the proxy's debug header).
    fn generation(&self) -> Option<u64> {
        let header = self.headers.get("x-lbsteer")?.to_str().ok()?;
        header.split("; ").find_map(|part| part.strip_prefix("generation="))?.parse().ok()
    }
}

impl Harness {
    async fn start(name: &str) -> Harness {
        let mut backends = BTreeMap::new();
        let mut ports = BTreeMap::new();
        for name in demo::BACKENDS {
            let backend = Backend::start(name, loopback(0)).await.expect("a backend starts");
            ports.insert(name, backend.addr().port());
            backends.insert(name, backend);
        }
        // A port nobody listens on: bound, then released.
        let closed = std::net::TcpListener::bind(loopback(0)).unwrap().local_addr().unwrap().port();
        ports.insert("closed", closed);

        let dir = std::env::temp_dir().join(format!("lbsteer-e2e-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("account.json");
        write_atomically(&config, &account(&ports, 0.75, 0.25));

        let options = Options {
            listen: loopback(0),
            debug_headers: true,
            access_log: false,
            watch_interval: Duration::from_millis(100),
            ..Options::default()
        };
        let running = app::start(config.clone(), options).await.expect("the proxy starts");
        let client = Client::builder(TokioExecutor::new()).build_http();
        let harness = Harness { backends, ports, dir, config, running, client };
        for origin in [("web", "alpha"), ("web", "beta"), ("api", "gamma")] {
            harness.wait_for_status(origin, Status::Healthy).await;
        }
        harness
    }

    /// One request through the proxy.
    async fn send(&self, method: Method, host: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.running.local_addr))
            .header("host", host);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(Bytes::from(body.to_owned()))).unwrap();
        let response = tokio::time::timeout(PATIENCE, self.client.request(request))
            .await
            .expect("the proxy answers in time")
            .expect("the proxy answers");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("a whole body").to_bytes();
        Reply { status: parts.status, headers: parts.headers, body: String::from_utf8_lossy(&body).into_owned() }
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, "www.example.com", path, &[], "").await
    }

    fn status(&self, (pool, origin): (&str, &str)) -> Status {
        self.running.router.with_health(|health| health.status(pool, origin)).expect("a known origin")
    }

    /// Waits until the monitors give `origin` this status; returns how long
    /// it took.
    async fn wait_for_status(&self, origin: (&str, &str), status: Status) -> Duration {
        let what = format!("{}/{} to become {status}", origin.0, origin.1);
        wait_until(&what, || self.status(origin) == status).await
    }

    /// Rewrites the config file; the proxy's watcher picks it up.
    fn write_config(&self, text: &str) {
        write_atomically(&self.config, text);
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Writes `path` so that a reader sees the old file or the new one, never
/// half of it.
fn write_atomically(path: &Path, text: &str) {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, text).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

/// Polls `condition` until it holds; fails the test after [`PATIENCE`].
async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < PATIENCE, "waited {PATIENCE:?} for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weighted_split_rules_and_fixed_responses() {
    let h = Arc::new(Harness::start("split").await);

    // The weighted split: 0.75 / 0.25 over 600 requests, from 4 clients.
    let mut clients = Vec::new();
    for _ in 0..4 {
        let h = Arc::clone(&h);
        clients.push(tokio::spawn(async move {
            let mut served = Vec::new();
            for _ in 0..150 {
                let reply = h.get("/").await;
                assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
                served.push(reply.backend().unwrap().to_owned());
            }
            served
        }));
    }
    let mut counts = BTreeMap::<String, usize>::new();
    for client in clients {
        for backend in client.await.unwrap() {
            *counts.entry(backend).or_default() += 1;
        }
    }
    let alpha = counts.get("alpha").copied().unwrap_or(0);
    assert_eq!(alpha + counts.get("beta").copied().unwrap_or(0), 600, "only pool web serves: {counts:?}");
    // Binomial(600, 0.75): mean 450, standard deviation 10.6; this band is
    // more than 5 deviations wide on each side.
    assert!((390..=510).contains(&alpha), "alpha served {alpha} of 600: {counts:?}");

    // The request reaches the origin as sent, with the Host header the
    // selection says (here the request's own).
    let reply = h.get("/hello?x=1").await;
    assert!(reply.body.ends_with(": GET /hello?x=1 (Host: www.example.com)\n"), "{}", reply.body);
    assert!(reply.headers.get("x-lbsteer").unwrap().to_str().unwrap().starts_with("pool=web; origin="));
    let reply = h.send(Method::POST, "www.example.com", "/form", &[("content-type", "text/plain")], "a=1").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(matches!(reply.backend(), Some("alpha" | "beta")));

    // Custom rules: by path, by header, by cookie; a CNAME reaches the
    // same load balancer.
    assert_eq!(h.get("/api/users").await.backend(), Some("gamma"));
    assert_eq!(h.send(Method::GET, "www.example.com", "/", &[("x-pool", "api")], "").await.backend(), Some("gamma"));
    let cookie = [("cookie", "theme=dark; pool=api")];
    assert_eq!(h.send(Method::GET, "www.example.com", "/", &cookie, "").await.backend(), Some("gamma"));
    assert_eq!(h.send(Method::GET, "example.com", "/api/x", &[], "").await.backend(), Some("gamma"));

    // Fixed responses: status, content type, location, body.
    let reply = h.get("/maintenance").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.headers["content-type"], "text/plain");
    assert_eq!(reply.body, "back soon");
    assert_eq!(reply.backend(), None);
    let reply = h.get("/old").await;
    assert_eq!(reply.status, StatusCode::FOUND);
    assert_eq!(reply.headers["location"], "https://www.example.com/new");

    // No route, and an origin that refuses connections.
    let reply = h.send(Method::GET, "nowhere.example", "/", &[], "").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.body.contains("no load balancer serves host \"nowhere.example\""), "{}", reply.body);
    let reply = h.send(Method::GET, "broken.example.com", "/", &[], "").await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(reply.body, "the origin could not be reached\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_backend_is_marked_down_and_traffic_moves_until_it_recovers() {
    let mut h = Harness::start("failover").await;
    let beta = h.backends["beta"].addr();

    // Kill beta: the monitor marks it down after two failed probes
    // (`consecutive_down: 2`), one interval (1 s) apart.
    h.backends.get_mut("beta").unwrap().kill().await;
    let killed = Instant::now();
    let took = h.wait_for_status(("web", "beta"), Status::Unhealthy).await;
    assert!(took >= Duration::from_millis(900), "marked down after {took:?}: before the second probe");

    // Traffic moved: every request is served, by alpha.
    for _ in 0..100 {
        let reply = h.get("/").await;
        assert_eq!((reply.status, reply.backend()), (StatusCode::OK, Some("alpha")), "{}", reply.body);
    }

    // Recovery: beta comes back on its port; one passing probe
    // (`consecutive_up: 1`) brings it back into the split.
    let restarted = loop {
        match Backend::start("beta", beta).await {
            Ok(backend) => break backend,
            // The old listener may take a moment to close.
            Err(err) if err.kind() == std::io::ErrorKind::AddrInUse && killed.elapsed() < PATIENCE => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(err) => panic!("restarting beta: {err}"),
        }
    };
    h.backends.insert("beta", restarted);
    h.wait_for_status(("web", "beta"), Status::Healthy).await;
    let mut served_by_beta = 0;
    for _ in 0..200 {
        let reply = h.get("/").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        served_by_beta += usize::from(reply.backend() == Some("beta"));
    }
    assert!(served_by_beta > 0, "beta is back in the split");
    assert_eq!(h.running.router.pool_status("web").map(|s| s.as_str()), Some("healthy"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_reloads_under_a_steady_stream_fail_no_request() {
    let h = Arc::new(Harness::start("reload").await);
    let mut reloads = h.running.reloads.clone();
    assert_eq!(reloads.borrow().generation, 1);

    // Four clients send requests back to back until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let replies = Arc::new(std::sync::Mutex::new(Vec::<(u16, Option<u64>, Option<String>)>::new()));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (h, stop, replies) = (Arc::clone(&h), Arc::clone(&stop), Arc::clone(&replies));
        clients.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let reply = h.get("/").await;
                let record = (reply.status.as_u16(), reply.generation(), reply.backend().map(str::to_owned));
                replies.lock().unwrap().push(record);
            }
        }));
    }
    let count = || replies.lock().unwrap().len();
    wait_until("requests before the reload", || count() >= 100).await;

    // An accepted reload: beta takes all of pool web.
    h.write_config(&account(&h.ports, 0.0, 1.0));
    tokio::time::timeout(PATIENCE, reloads.wait_for(|status| status.generation == 2)).await.unwrap().unwrap();
    let after_reload = count();
    wait_until("requests after the reload", || count() >= after_reload + 100).await;

    // A rejected reload: every error is reported with its path, and
    // generation 2 keeps serving.
    let broken = account(&h.ports, 0.0, 1.0)
        .replace(r#""default_pools": ["web"]"#, r#""default_pools": ["web", "nope"]"#)
        .replace(r#""monitor": "http""#, r#""monitor": "missing""#);
    h.write_config(&broken);
    let status =
        tokio::time::timeout(PATIENCE, reloads.wait_for(|status| status.rejected == 1)).await.unwrap().unwrap().clone();
    assert_eq!(status.generation, 2);
    assert_eq!(
        status.last_errors,
        [
            r#"pools[0].monitor: unknown monitor "missing""#,
            r#"load_balancers[0].default_pools[1]: unknown pool "nope""#,
            r#"load_balancers[2].default_pools[1]: unknown pool "nope""#,
        ]
    );
    let after_rejection = count();
    wait_until("requests after the rejected reload", || count() >= after_rejection + 100).await;

    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }
    let replies = replies.lock().unwrap();
    let failed: Vec<_> = replies.iter().filter(|(status, ..)| *status != 200).collect();
    assert!(failed.is_empty(), "{} of {} requests failed: {failed:?}", failed.len(), replies.len());
    for (_, generation, backend) in replies.iter() {
        match generation {
            Some(1) => assert!(matches!(backend.as_deref(), Some("alpha" | "beta"))),
            Some(2) => assert_eq!(backend.as_deref(), Some("beta"), "generation 2 gives alpha weight 0"),
            other => panic!("generation {other:?}"),
        }
    }
    assert_eq!(h.running.router.snapshot().generation(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_starts_and_answers() {
    let demo = demo::start(Options { listen: loopback(0), ..Options::default() }).await.expect("the demo starts");
    let config = std::fs::read_to_string(&demo.config).unwrap();
    for backend in &demo.backends {
        assert!(config.contains(&format!("\"port\": {}", backend.addr().port())), "{config}");
    }
    let instructions = demo.instructions();
    assert!(instructions.contains(&format!("curl -H 'Host: www.example.com' http://{}/", demo.running.local_addr)));

    // Before the first health checks pass the fallback pool answers; after,
    // the weighted pool. Either way a backend answers.
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = Request::get(format!("http://{}/api/users", demo.running.local_addr))
        .header("host", "www.example.com")
        .body(Full::default())
        .unwrap();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-backend"], "gamma");
}

/// The affinity cookie a reply sets, as `name=value` to send back.
fn affinity_cookie(reply: &Reply) -> Option<String> {
    let set_cookie = reply.headers.get("set-cookie")?.to_str().ok()?;
    let pair = set_cookie.split(';').next()?.trim();
    pair.starts_with("__cflb=").then(|| pair.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_affinity_keeps_a_session_on_its_origin_until_it_goes_down() {
    let mut h = Harness::start("affinity").await;
    let first = h.send(Method::GET, "sticky.example.com", "/", &[], "").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let set_cookie =
        first.headers.get("set-cookie").and_then(|v| v.to_str().ok()).expect("a session cookie").to_owned();
    assert!(set_cookie.contains("Max-Age=3600") && set_cookie.contains("HttpOnly"), "{set_cookie}");
    let cookie = affinity_cookie(&first).expect("the __cflb cookie");
    let pinned = first.backend().expect("a backend").to_owned();

    // The session sticks, whatever the weights say, and is not re-issued.
    for _ in 0..40 {
        let reply = h.send(Method::GET, "sticky.example.com", "/", &[("cookie", &cookie)], "").await;
        assert_eq!(reply.backend(), Some(pinned.as_str()), "{}", reply.body);
        assert!(affinity_cookie(&reply).is_none(), "a honoured session gets no new cookie");
    }
    // A tampered cookie is no session: a new one is issued.
    // Change the token's last character (to one it is not).
    let last = if cookie.ends_with('x') { 'y' } else { 'x' };
    let tampered = format!("{}{last}", &cookie[..cookie.len() - 1]);
    let reply = h.send(Method::GET, "sticky.example.com", "/", &[("cookie", &tampered)], "").await;
    assert!(affinity_cookie(&reply).is_some(), "a tampered token is treated as absent");

    // The pinned origin goes down: the session moves, with a new cookie,
    // and then sticks to its new origin.
    h.backends.get_mut(pinned.as_str()).unwrap().kill().await;
    h.wait_for_status(("web", pinned.as_str()), Status::Unhealthy).await;
    let moved = h.send(Method::GET, "sticky.example.com", "/", &[("cookie", &cookie)], "").await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    let new_origin = moved.backend().expect("a backend").to_owned();
    assert_ne!(new_origin, pinned);
    let new_cookie = affinity_cookie(&moved).expect("a new cookie for the new origin");
    for _ in 0..20 {
        let reply = h.send(Method::GET, "sticky.example.com", "/", &[("cookie", &new_cookie)], "").await;
        assert_eq!(reply.backend(), Some(new_origin.as_str()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_retried_on_another_origin() {
    let h = Harness::start("retry").await;
    // Half the decisions pick the origin that refuses connections (the pool
    // has no monitor); zero-downtime failover retries them on gamma.
    let mut retried = 0;
    for _ in 0..60 {
        let reply = h.send(Method::GET, "retry.example.com", "/", &[], "").await;
        assert_eq!((reply.status, reply.backend()), (StatusCode::OK, Some("gamma")), "{}", reply.body);
        let debug = reply.headers.get("x-lbsteer").and_then(|v| v.to_str().ok()).unwrap_or("");
        retried += usize::from(debug.ends_with("; retry"));
    }
    assert!(retried > 5, "{retried} of 60 requests were retried");
    // A request with a body is not replayed: it fails when it meets the
    // refusing origin, and succeeds otherwise.
    let mut failed = 0;
    for _ in 0..40 {
        let reply = h.send(Method::POST, "retry.example.com", "/form", &[], "a=1").await;
        failed += usize::from(reply.status == StatusCode::BAD_GATEWAY);
    }
    assert!(failed > 0 && failed < 40, "{failed} of 40 requests with a body failed");
}
