//! `--demo`: three small HTTP backends on loopback, the bundled account
//! (`examples/demo.json`) with their ports filled in, and the proxy in front.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use crate::app::{self, Options, Running};

/// The bundled account: two pools (`web`: alpha and beta, weighted 3:1;
/// `api`: gamma, also the fallback), custom rules (`/api/` to the api
/// pool, a maintenance page, a redirect), a CNAME and an HTTP monitor.
/// Its origins listen on 127.0.0.1:8081-8083; the demo replaces the ports.
pub const DEMO_CONFIG: &str = include_str!("../demo.json");

/// The demo's backends, by origin name in [`DEMO_CONFIG`].
pub const BACKENDS: [&str; 3] = ["alpha", "beta", "gamma"];

/// A small HTTP server standing in for an origin. It answers every request
/// with its own name (also in an `x-backend` header), `/health` with 200
/// (or 503 after `POST /admin/fail`, until `POST /admin/recover`).
pub struct Backend {
    name: String,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Backend {
    /// Starts a backend on `addr` (port 0: any free port).
    pub async fn start(name: &str, addr: SocketAddr) -> std::io::Result<Backend> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(serve_backend(listener, Arc::from(name)));
        Ok(Backend { name: name.to_owned(), addr, task })
    }

    /// The origin name it answers with.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops it as a crash would: the listener closes (new connections are
    /// refused) and every open connection is dropped.
    #[allow(dead_code, reason = "used by tests/proxy_e2e.rs")]
    pub async fn kill(&mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_backend(listener: TcpListener, name: Arc<str>) {
    let healthy = Arc::new(AtomicBool::new(true));
    // Owning the connections here means aborting this task drops them all.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let (name, healthy) = (Arc::clone(&name), Arc::clone(&healthy));
                let service = service_fn(move |request| {
                    let response = answer(&name, &healthy, &request);
                    async move { Ok::<_, Infallible>(response) }
                });
                connections.spawn(async move {
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

fn answer(name: &str, healthy: &AtomicBool, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let (status, body) = match (request.method(), request.uri().path()) {
        (_, "/health") if healthy.load(Ordering::Relaxed) => (StatusCode::OK, "ok\n".to_owned()),
        (_, "/health") => (StatusCode::SERVICE_UNAVAILABLE, "failing on purpose\n".to_owned()),
        (&Method::POST, "/admin/fail") => {
            healthy.store(false, Ordering::Relaxed);
            (StatusCode::OK, format!("{name}: /health now answers 503\n"))
        }
        (&Method::POST, "/admin/recover") => {
            healthy.store(true, Ordering::Relaxed);
            (StatusCode::OK, format!("{name}: /health now answers 200\n"))
        }
        (method, _) => (StatusCode::OK, format!("{name}: {method} {target} (Host: {host})\n")),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(name) {
        response.headers_mut().insert("x-backend", value);
    }
    response
}

/// [`DEMO_CONFIG`] with each origin's port replaced by `ports[name]`.
pub fn config_with_ports<'a>(ports: impl IntoIterator<Item = (&'a str, u16)>) -> Result<String, String> {
    let ports: Vec<(&str, u16)> = ports.into_iter().collect();
    let mut account: serde_json::Value =
        serde_json::from_str(DEMO_CONFIG).map_err(|err| format!("examples/demo.json: {err}"))?;
    let pools = account.get_mut("pools").and_then(|p| p.as_array_mut()).into_iter().flatten();
    for origin in pools.filter_map(|pool| pool.get_mut("origins")?.as_array_mut()).flatten() {
        let name = origin.get("name").and_then(|n| n.as_str()).unwrap_or_default();
        if let Some(&(_, port)) = ports.iter().find(|(n, _)| *n == name) {
            origin["port"] = port.into();
        }
    }
    serde_json::to_string_pretty(&account).map_err(|err| err.to_string())
}

/// A running demo: backends, the config file it wrote, the proxy.
pub struct Demo {
    /// The backends, in [`BACKENDS`] order.
    pub backends: Vec<Backend>,
    /// The config file the proxy loaded and watches.
    pub config: PathBuf,
    /// The proxy.
    pub running: Running,
}

/// Starts the backends, writes the demo config to a temporary directory,
/// starts the proxy with access logs and debug headers.
pub async fn start(mut options: Options) -> Result<Demo, String> {
    let mut backends = Vec::new();
    for name in BACKENDS {
        let backend = Backend::start(name, SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(|err| format!("backend {name}: {err}"))?;
        backends.push(backend);
    }
    let config = config_with_ports(backends.iter().map(|b| (b.name(), b.addr().port())))?;
    let dir = std::env::temp_dir().join(format!("lbsteer-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    let path = dir.join("demo.json");
    std::fs::write(&path, config).map_err(|err| format!("{}: {err}", path.display()))?;

    options.access_log = true;
    options.debug_headers = true;
    let running = app::start(path.clone(), options).await?;
    Ok(Demo { backends, config: path, running })
}

impl Demo {
    /// What to try, with the ports chosen.
    pub fn instructions(&self) -> String {
        let proxy = self.running.local_addr;
        let www = format!("curl -H 'Host: www.example.com' http://{proxy}");
        let alpha = self.backends[0].addr();
        let mut out = format!("\nlbsteer proxy demo\n  proxy     http://{proxy}\n");
        for (backend, role) in self.backends.iter().zip(["pool web, weight 0.75", "pool web, weight 0.25", "pool api"])
        {
            out += &format!("  backend   {:<6} http://{}  ({role})\n", backend.name(), backend.addr());
        }
        out += &format!("  config    {}  (edit it: the proxy reloads it)\n", self.config.display());
        out += &format!(
            "
Try (the first health checks take 2 s; until then the fallback pool answers):
  # pool \"web\" splits by weight: about 3 requests in 4 go to alpha
  for i in $(seq 20); do {www}/ -s; done | sort | uniq -c
  # the x-lbsteer header says which pool and origin served
  {www}/ -si
  # a custom rule sends /api/ to pool \"api\"
  {www}/api/users -s
  # fixed responses from custom rules: a maintenance page, a redirect
  {www}/maintenance -si
  {www}/blog/2024 -si
  # example.com is a CNAME to the load balancer
  curl -H 'Host: example.com' http://{proxy}/ -s
  # shop.example.com keeps a session (cookie __cflb) on one origin
  for i in $(seq 5); do curl -c jar.txt -b jar.txt -H 'Host: shop.example.com' http://{proxy}/ -s; done
  # no load balancer for this host: 404
  curl -H 'Host: nowhere.example' http://{proxy}/ -si
  # make alpha fail its health checks: after 2 probes (~4 s) beta takes all of web
  curl -X POST http://{alpha}/admin/fail
  curl -X POST http://{alpha}/admin/recover
  # reload: edit the config file, or
  kill -HUP {pid}

Ctrl-C stops.
",
            pid = std::process::id()
        );
        out
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Some(dir) = self.config.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
