//! Wiring: load the configuration, start the health checks, the config
//! watcher and the HTTP server, and hand back what is running.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use lbsteer::Router;
use lbsteer::geo::Region;
use lbsteer::health::CheckerConfig;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::proxy::Proxy;
use crate::reload::{self, ReloadStatus};
use crate::{probes, proxy};

/// Writes one log line to stderr, prefixed with the seconds since the first
/// line: `    3.204s  health: origin "beta" of pool "web": healthy -> unhealthy, …`.
macro_rules! log {
    ($($arg:tt)*) => {
        $crate::app::log_line(format_args!($($arg)*))
    };
}
pub(crate) use log;

/// The body of [`log!`].
pub fn log_line(args: fmt::Arguments<'_>) {
    static START: OnceLock<Instant> = OnceLock::new();
    let elapsed = START.get_or_init(Instant::now).elapsed();
    eprintln!("{:>9.3}s  {args}", elapsed.as_secs_f64());
}

/// How to run the proxy.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where to listen (port 0: any free port; see [`Running::local_addr`]).
    pub listen: SocketAddr,
    /// The region of "this data center", for geo steering
    /// (`region_pools`) and `dynamic_latency`; unknown when `None`.
    pub region: Option<Region>,
    /// Log one line per request.
    pub access_log: bool,
    /// Add an `x-lbsteer` response header naming the pool and origin that
    /// served (handy in a demo; it exposes your topology in production).
    pub debug_headers: bool,
    /// How often to look at the config file's modification time.
    pub watch_interval: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            region: None,
            access_log: false,
            debug_headers: false,
            watch_interval: Duration::from_millis(500),
        }
    }
}

/// A running proxy. Dropping it stops every task (the listener, the health
/// checks, the config watcher); connections already accepted finish on
/// their own.
pub struct Running {
    /// The address the proxy listens on.
    pub local_addr: SocketAddr,
    /// The router every task shares: decisions, health, reloads.
    #[allow(dead_code, reason = "read by tests/proxy_e2e.rs")]
    pub router: Arc<Router>,
    /// The outcome of config reloads (generation, counts, last errors).
    #[allow(dead_code, reason = "read by tests/proxy_e2e.rs")]
    pub reloads: watch::Receiver<ReloadStatus>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Loads `config`, starts the health checks, the watcher and the server.
///
/// A configuration that does not load is an error with one line per
/// problem, each with its path in the document.
pub async fn start(config: PathBuf, options: Options) -> Result<Running, String> {
    let text = std::fs::read_to_string(&config).map_err(|err| format!("{}: {err}", config.display()))?;
    let router = Router::from_json(&text).map_err(|err| {
        let mut message = format!("{}: rejected", config.display());
        for line in reload::describe(&err) {
            message.push_str("\n  ");
            message.push_str(&line);
        }
        message
    })?;
    log!("{}: loaded, generation {}", config.display(), router.snapshot().generation());
    reload::log_warnings(&router);

    // The built-in monitors: every origin of a monitored pool starts
    // unknown (down) and every first probe is due at once. `probes` runs
    // them; decisions read the verdicts lock-free.
    router.enable_health_checks(CheckerConfig::default());
    let router = Arc::new(router);
    // Wakes the probe loop when something may have made a probe due
    // earlier than it planned: a probe finished, or a reload.
    let probes_wake = Arc::new(Notify::new());

    let listener =
        TcpListener::bind(options.listen).await.map_err(|err| format!("cannot listen on {}: {err}", options.listen))?;
    let local_addr = listener.local_addr().map_err(|err| err.to_string())?;

    let (watcher, reloads) =
        reload::spawn(config, Arc::clone(&router), Arc::clone(&probes_wake), options.watch_interval);
    let tasks = vec![
        probes::spawn(Arc::clone(&router), probes_wake),
        watcher,
        tokio::spawn(proxy::serve(listener, Arc::new(Proxy::new(Arc::clone(&router), &options)))),
    ];
    log!("listening on http://{local_addr}");
    Ok(Running { local_addr, router, reloads, tasks })
}
