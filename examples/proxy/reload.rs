//! Config reloads: when the file changes (its modification time, size or
//! inode, looked at every half second) or on `SIGHUP`, read it and hand it
//! to [`Router::reload_json`].
//!
//! A reload is atomic: requests being decided finish with the table they
//! started with, the next ones use the new table, and no request is
//! dropped. Origins that keep their pool id and name keep their health. A
//! configuration that does not load changes nothing: every problem is
//! logged with its path, and the current table keeps serving.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use lbsteer::{ConfigError, Router};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::app::log;

/// What the watcher has done so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReloadStatus {
    /// The generation serving now.
    pub generation: u64,
    /// Reloads accepted.
    pub accepted: u64,
    /// Reloads rejected.
    pub rejected: u64,
    /// Every problem of the last rejected configuration, one per line.
    pub last_errors: Vec<String>,
}

/// Starts watching `path`; notifies `probes_wake` after each accepted
/// reload (new origins are due for a probe at once).
pub fn spawn(
    path: PathBuf,
    router: Arc<Router>,
    probes_wake: Arc<Notify>,
    interval: Duration,
) -> (JoinHandle<()>, watch::Receiver<ReloadStatus>) {
    let initial = ReloadStatus { generation: router.snapshot().generation(), ..ReloadStatus::default() };
    let (status, receiver) = watch::channel(initial);
    let task = tokio::spawn(run(path, router, probes_wake, interval, status));
    (task, receiver)
}

async fn run(
    path: PathBuf,
    router: Arc<Router>,
    probes_wake: Arc<Notify>,
    interval: Duration,
    status: watch::Sender<ReloadStatus>,
) {
    let mut hangup = Hangup::new();
    let mut seen = stamp(&path);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let signalled = tokio::select! {
            _ = ticker.tick() => false,
            () = hangup.recv() => true,
        };
        let now = stamp(&path);
        if !signalled && now == seen {
            continue;
        }
        seen = now;
        if signalled {
            log!("SIGHUP: reloading {}", path.display());
        }
        if reload(&path, &router, &status).await {
            probes_wake.notify_one();
        }
    }
}

/// Reads and compiles the file off the async workers (a large account
/// takes a while to compile), then swaps it in. Returns whether it did.
async fn reload(path: &Path, router: &Arc<Router>, status: &watch::Sender<ReloadStatus>) -> bool {
    let (file, router_) = (path.to_owned(), Arc::clone(router));
    let result = tokio::task::spawn_blocking(move || {
        let text = std::fs::read_to_string(&file).map_err(|err| vec![err.to_string()])?;
        router_.reload_json(&text).map_err(|err| describe(&err))
    })
    .await
    .unwrap_or_else(|join| Err(vec![format!("the reload task failed: {join}")]));
    match result {
        Ok(generation) => {
            log!("{}: reloaded, generation {generation}", path.display());
            log_warnings(router);
            status.send_modify(|s| {
                s.generation = generation;
                s.accepted += 1;
            });
            true
        }
        Err(errors) => {
            let serving = router.snapshot().generation();
            log!(
                "{}: rejected with {} error{}; generation {serving} keeps serving",
                path.display(),
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            );
            for error in &errors {
                log!("  {}: {error}", path.display());
            }
            status.send_modify(|s| {
                s.rejected += 1;
                s.last_errors = errors;
            });
            false
        }
    }
}

/// Every problem of a configuration that did not load, each with its path
/// (`load_balancers[0].default_pools[1]: unknown pool "x"`).
pub fn describe(err: &ConfigError) -> Vec<String> {
    match err {
        // Not JSON, or a value of the wrong type: the first such problem,
        // with its line and column.
        ConfigError::Load(err) => vec![err.to_string()],
        // Compiled: every problem at once.
        ConfigError::Build(err) => err.diagnostics().iter().map(ToString::to_string).collect(),
    }
}

/// Logs what compiles but is probably not what was meant.
pub fn log_warnings(router: &Router) {
    for warning in router.snapshot().warnings() {
        log!("warning: {warning}");
    }
}

/// What identifies a version of the file; `None` when it cannot be read.
type Stamp = Option<(Option<SystemTime>, u64, u64)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some((meta.modified().ok(), meta.len(), inode))
}

/// `SIGHUP`, where there is such a thing.
struct Hangup {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangup {
    fn new() -> Hangup {
        #[cfg(unix)]
        {
            let signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
                .map_err(|err| log!("cannot listen for SIGHUP: {err}"))
                .ok();
            Hangup { signal }
        }
        #[cfg(not(unix))]
        Hangup {}
    }

    /// Waits for the next signal (forever, without one).
    async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = &mut self.signal
            && signal.recv().await.is_some()
        {
            return;
        }
        std::future::pending::<()>().await
    }
}
