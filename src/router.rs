//! The [`Router`]: compiled tables published lock-free, with health.
//!
//! A router holds the current table generation (the compiled [`Table`] and
//! its [`BoundHealth`]) in an [`ArcSwap`]. Readers take a guard for the
//! length of a decision (no lock, no reference-count traffic on the fast
//! path); a reload compiles a new table, binds it to the health registry so
//! that unchanged origins keep their state, and swaps it in. A decision is
//! always made with one generation, never a mix, and a configuration that
//! fails to compile changes nothing.

use core::cell::Cell;
use core::fmt;
use core::ops::Deref;
use core::sync::atomic::{AtomicU64, Ordering};
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use std::vec::Vec;

use arc_swap::ArcSwap;

use crate::compile::BuildError;
use crate::config::{Account, LoadError};
use crate::explain::{Explanation, NoTrace};
use crate::health::{
    BoundHealth, CheckerConfig, HealthChecker, HealthEvent, HealthRegistry, InFlight, Outcome, PoolStatus, Probe,
    ProbeError, ProbeId, Status, Timestamp, UnknownOrigin,
};
use crate::request::Request;
use crate::select::affinity::{AffinityConfig, AffinityContext, MemorySessionStore, RetryError, SessionStore};
use crate::select::{Decision, RandomSource, SelectError, Selection, decide_with, retry};
use crate::table::Table;

/// One published table and the health bound to it.
struct Generation {
    table: Table,
    health: BoundHealth,
    number: u64,
}

/// A table generation kept alive for as long as it is held: what a router's
/// decisions borrow. Dereferences to the [`Table`].
///
/// Hold it for the length of a decision or a request; a snapshot held
/// forever keeps an old generation in memory.
pub struct Snapshot {
    guard: arc_swap::Guard<Arc<Generation>>,
}

impl Snapshot {
    /// The health the decision reads, bound to this generation's table.
    pub fn health(&self) -> &BoundHealth {
        &self.guard.health
    }

    /// The generation number: 1 for the first table, then one more per
    /// reload.
    pub fn generation(&self) -> u64 {
        self.guard.number
    }
}

impl Deref for Snapshot {
    type Target = Table;

    #[inline]
    fn deref(&self) -> &Table {
        &self.guard.table
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot").field("generation", &self.guard.number).field("table", &self.guard.table).finish()
    }
}

impl Selection<'_, Snapshot> {
    /// Counts a request in flight to the chosen origin until the guard is
    /// dropped (feeds `least_outstanding_requests`). Hold it for the life
    /// of the proxied request.
    pub fn begin_request(&self) -> InFlight {
        self.holder().health().begin_request(self.origin_id())
    }

    /// Counts an open connection to the chosen origin until the guard is
    /// dropped (feeds `least_connections`).
    pub fn open_connection(&self) -> InFlight {
        self.holder().health().open_connection(self.origin_id())
    }

    /// The generation the decision was made with.
    pub fn generation(&self) -> u64 {
        self.holder().generation()
    }
}

/// A configuration that could not be loaded: not valid JSON, or rejected by
/// the compiler.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The document is not valid JSON, or a value has the wrong type.
    #[error("{0}")]
    Load(#[from] LoadError),
    /// The configuration does not compile.
    #[error("{0}")]
    Build(#[from] BuildError),
}

/// A store of header sessions that threads share.
pub type SharedSessionStore = Arc<dyn SessionStore + Send + Sync>;

/// The router's session affinity: the host's settings and the store of
/// header sessions.
struct AffinityState {
    config: AffinityConfig,
    store: Option<SharedSessionStore>,
}

/// The system clock, Unix seconds.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The writer side of health: the registry, and the checker that feeds it.
struct HealthState {
    registry: HealthRegistry,
    checker: Option<HealthChecker>,
}

impl HealthState {
    /// Runs `f` on the checker, then publishes what changed.
    fn checker<T>(&mut self, f: impl FnOnce(&mut HealthChecker) -> T) -> Option<T> {
        let checker = self.checker.as_mut()?;
        let out = f(checker);
        checker.publish(&mut self.registry);
        Some(out)
    }
}

/// Routes requests with the current table and health; reloads atomically.
///
/// `Router` is `Send + Sync`: share it (in an `Arc`) across every thread
/// that decides.
///
/// ```
/// use lbsteer::{Decision, Request, Router, health::Status};
/// let router = Router::from_json(r#"{
///     "monitors": [{"id": "m", "type": "http", "path": "/health"}],
///     "pools": [
///         {"id": "primary", "name": "primary", "monitor": "m",
///          "origins": [{"name": "a", "address": "192.0.2.1"}]},
///         {"id": "backup", "name": "backup",
///          "origins": [{"name": "b", "address": "192.0.2.2"}]}
///     ],
///     "load_balancers": [{"name": "www.example.com", "default_pools": ["primary"],
///                         "fallback_pool": "backup"}]
/// }"#).unwrap();
///
/// // New origins of a monitored pool are unknown, which counts as down.
/// let Ok(Decision::Origin(sel)) = router.select_origin(&Request::new("www.example.com")) else { panic!() };
/// assert_eq!(sel.pool().id(), "backup");
///
/// router.set_status("primary", "a", Status::Healthy).unwrap();
/// let Ok(Decision::Origin(sel)) = router.select_origin(&Request::new("www.example.com")) else { panic!() };
/// assert_eq!(sel.address(), "192.0.2.1");
/// ```
///
/// # Health checks
///
/// Health comes from [`set_status`](Self::set_status) (health decided
/// elsewhere), or from the built-in monitors:
/// [`enable_health_checks`](Self::enable_health_checks) starts a
/// [`HealthChecker`] that the router keeps behind its writer-side lock,
/// reconfigures on every reload and publishes from on every call. The host
/// performs the probes: [`poll_probe`](Self::poll_probe),
/// [`handle_probe_result`](Self::handle_probe_result),
/// [`poll_timeout`](Self::poll_timeout),
/// [`poll_health_event`](Self::poll_health_event). None of this touches the
/// decision path: `select_origin` stays lock-free.
///
/// # Session affinity and failover
///
/// Load balancers with `session_affinity` are decided with the router's
/// [`AffinityConfig`] (a random key of this process until
/// [`set_affinity_config`](Self::set_affinity_config) gives the fleet's),
/// its session store for header affinity (the built-in
/// [`MemorySessionStore`], or [`set_session_store`](Self::set_session_store)),
/// and the system clock for requests without a
/// [`timestamp`](Request::timestamp). A selection that starts a session
/// carries the cookie to set ([`Selection::set_cookie`]).
/// [`retry`](Self::retry) is zero-downtime failover. Reloads record when
/// origins turn disabled, which starts their drain
/// ([`reload_at`](Self::reload_at) states that time). See
/// [`affinity`](crate::affinity).
pub struct Router {
    current: ArcSwap<Generation>,
    health: Mutex<HealthState>,
    generations: AtomicU64,
    affinity: ArcSwap<AffinityState>,
}

impl Router {
    /// Compiles `account` into a router. Every origin starts with an
    /// unknown health status.
    pub fn new(account: &Account) -> Result<Router, BuildError> {
        Ok(Router::from_table(Table::compile(account)?))
    }

    /// Parses and compiles a JSON account.
    pub fn from_json(text: &str) -> Result<Router, ConfigError> {
        Ok(Router::new(&Account::from_json(text)?)?)
    }

    /// A router over an already compiled table.
    ///
    /// Session affinity starts with a random key of this process
    /// ([`AffinityConfig::random`]): its tokens hold on this node only until
    /// [`set_affinity_config`](Self::set_affinity_config) sets the fleet's
    /// key.
    pub fn from_table(table: Table) -> Router {
        let mut registry = HealthRegistry::new();
        let health = registry.bind_at(&table, unix_now());
        let affinity = AffinityState { config: AffinityConfig::random(), store: None };
        let router = Router {
            current: ArcSwap::from_pointee(Generation { table, health, number: 1 }),
            health: Mutex::new(HealthState { registry, checker: None }),
            generations: AtomicU64::new(1),
            affinity: ArcSwap::from_pointee(affinity),
        };
        router.prepare_sessions(&router.current.load().table);
        crate::telemetry::event!(info, generation = 1, "table installed");
        router
    }

    /// Compiles `account` and, if it compiles, makes it current. On error
    /// nothing changes: the current table keeps serving.
    ///
    /// Origins whose identity (pool id, origin name) is unchanged keep their
    /// health status and request counts; new ones start unknown.
    pub fn reload(&self, account: &Account) -> Result<u64, BuildError> {
        let table = Table::compile(account).inspect_err(log_rejected)?;
        Ok(self.install(table))
    }

    /// Parses and compiles a JSON account and makes it current; on error
    /// nothing changes.
    pub fn reload_json(&self, text: &str) -> Result<u64, ConfigError> {
        Ok(self.reload(&Account::from_json(text)?)?)
    }

    /// Reloads like [`reload`](Self::reload), at `now` (Unix seconds): the
    /// moment origins this reload disables start draining (see
    /// [`HealthRegistry::bind_at`]).
    pub fn reload_at(&self, account: &Account, now: u64) -> Result<u64, BuildError> {
        let table = Table::compile(account).inspect_err(log_rejected)?;
        Ok(self.install_at(table, now))
    }

    /// Makes an already compiled table current; returns its generation.
    pub fn install(&self, table: Table) -> u64 {
        self.install_at(table, unix_now())
    }

    /// Installs like [`install`](Self::install), at `now` (Unix seconds):
    /// the moment origins this table disables start draining.
    pub fn install_at(&self, table: Table, now: u64) -> u64 {
        self.prepare_sessions(&table);
        let mut state = self.health();
        let HealthState { registry, checker } = &mut *state;
        let health = registry.bind_at(&table, now);
        if let Some(checker) = checker {
            checker.reconfigure(&table);
            checker.publish(registry);
        }
        let number = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
        crate::telemetry::event!(
            info,
            generation = number,
            load_balancers = table.load_balancers().len(),
            pools = table.pools().len(),
            origins = table.origins().len(),
            hostnames = table.hostname_count(),
            "table installed"
        );
        #[cfg(feature = "tracing")]
        for warning in table.warnings() {
            tracing::warn!(generation = number, %warning, "configuration warning");
        }
        self.current.store(Arc::new(Generation { table, health, number }));
        number
    }

    /// The current generation. Decisions made with it see one table, even
    /// if a reload happens meanwhile.
    #[inline]
    pub fn snapshot(&self) -> Snapshot {
        Snapshot { guard: self.current.load() }
    }

    /// Decides which origin serves `request`, with the current table, its
    /// health and a per-thread random generator. Takes no lock and
    /// allocates nothing.
    #[inline]
    pub fn select_origin<'r>(&self, request: &Request<'r>) -> Result<Decision<'r, Snapshot>, SelectError> {
        self.select_origin_with(request, &mut ThreadRng)
    }

    /// Decides with the caller's random source (seed it to reproduce
    /// decisions).
    #[inline]
    pub fn select_origin_with<'r, R: RandomSource + ?Sized>(
        &self,
        request: &Request<'r>,
        rng: &mut R,
    ) -> Result<Decision<'r, Snapshot>, SelectError> {
        let snapshot = self.snapshot();
        let generation = &*snapshot.guard;
        // Affinity settings are read only for tables that use them.
        let outcome = if generation.table.uses_affinity() {
            let affinity = self.affinity.load();
            let ctx = affinity.context();
            decide_with(&generation.table, request, &generation.health, rng, &mut NoTrace, &ctx)
        } else {
            decide_with(&generation.table, request, &generation.health, rng, &mut NoTrace, &AffinityContext::NONE)
        };
        #[cfg(feature = "tracing")]
        log_decision(&generation.table, request, &outcome);
        Ok(Decision::new(snapshot, outcome?, request))
    }

    /// Zero-downtime failover: after `previous` failed with `status` (by
    /// default 521, 522, 523, 525 or 526), another origin for the same
    /// request, decided with the same table generation. See
    /// [`affinity`](crate::affinity#zero-downtime-failover). Takes no lock
    /// and allocates nothing.
    ///
    /// ```
    /// use lbsteer::{Decision, Request, Router};
    /// let router = Router::from_json(r#"{
    ///     "pools": [{"id": "p", "name": "p", "origins": [
    ///         {"name": "a", "address": "192.0.2.1"}, {"name": "b", "address": "192.0.2.2"}]}],
    ///     "load_balancers": [{"name": "www.example.com", "default_pools": ["p"], "fallback_pool": "p"}]
    /// }"#).unwrap();
    /// let request = Request::new("www.example.com");
    /// let Ok(Decision::Origin(first)) = router.select_origin(&request) else { panic!() };
    /// // … connecting to first.address() fails: Cloudflare's 522.
    /// let second = router.retry(&request, &first, 522).unwrap();
    /// assert_ne!(second.address(), first.address());
    /// assert!(second.is_retry());
    /// ```
    pub fn retry<'r>(
        &self,
        request: &Request<'r>,
        previous: &Selection<'_, Snapshot>,
        status: u16,
    ) -> Result<Selection<'r, Snapshot>, RetryError> {
        self.retry_with(request, previous, status, &mut ThreadRng)
    }

    /// Retries like [`retry`](Self::retry), with the caller's random source.
    pub fn retry_with<'r, R: RandomSource + ?Sized>(
        &self,
        request: &Request<'r>,
        previous: &Selection<'_, Snapshot>,
        status: u16,
        rng: &mut R,
    ) -> Result<Selection<'r, Snapshot>, RetryError> {
        let snapshot = Snapshot { guard: arc_swap::Guard::from_inner(Arc::clone(&previous.holder().guard)) };
        let generation = &*snapshot.guard;
        let affinity = self.affinity.load();
        let ctx = affinity.context();
        let outcome = retry(
            &generation.table,
            request,
            previous.previous(),
            status,
            &generation.health,
            rng,
            &mut NoTrace,
            &ctx,
        )?;
        match Decision::new(snapshot, outcome, request) {
            Decision::Origin(selection) => Ok(selection),
            Decision::Respond(_) => Err(RetryError::NoOtherOrigin),
        }
    }

    /// Sets the host's affinity settings: the token key (give every node of
    /// a fleet the same one), the previous key during a rotation, the
    /// cookie name, the statuses that trigger a failover retry. Applies to
    /// the next decision.
    pub fn set_affinity_config(&self, config: AffinityConfig) {
        self.affinity.rcu(|state| AffinityState { config: config.clone(), store: state.store.clone() });
    }

    /// The affinity settings in effect.
    pub fn affinity_config(&self) -> AffinityConfig {
        self.affinity.load().config.clone()
    }

    /// Sets the store of header affinity sessions, replacing the built-in
    /// [`MemorySessionStore`]: a store shared by a fleet makes its nodes
    /// share sessions (with the same key, see
    /// [`set_affinity_config`](Self::set_affinity_config)).
    pub fn set_session_store(&self, store: SharedSessionStore) {
        self.affinity.rcu(|state| AffinityState { config: state.config.clone(), store: Some(Arc::clone(&store)) });
    }

    /// The store of header affinity sessions: the one set, else the
    /// built-in store, created when a table with header affinity is first
    /// installed (`None` before that).
    pub fn session_store(&self) -> Option<SharedSessionStore> {
        self.affinity.load().store.clone()
    }

    /// Creates the built-in session store when `table` needs one and none
    /// is set (on the writer side, so that decisions never allocate).
    fn prepare_sessions(&self, table: &Table) {
        if table.uses_header_affinity() && self.affinity.load().store.is_none() {
            self.affinity.rcu(|state| AffinityState {
                config: state.config.clone(),
                store: Some(state.store.clone().unwrap_or_else(|| Arc::new(MemorySessionStore::default()))),
            });
        }
    }

    /// Decides like [`select_origin`](Self::select_origin) and records every
    /// step.
    pub fn explain<'r>(&self, request: &Request<'r>) -> Explanation<'r, Snapshot> {
        self.explain_with(request, &mut ThreadRng)
    }

    /// Explains with the caller's random source.
    pub fn explain_with<'r, R: RandomSource + ?Sized>(
        &self,
        request: &Request<'r>,
        rng: &mut R,
    ) -> Explanation<'r, Snapshot> {
        let snapshot = self.snapshot();
        let mut steps = Vec::new();
        let affinity = self.affinity.load();
        let ctx = affinity.context();
        let outcome = decide_with(&snapshot.guard.table, request, &snapshot.guard.health, rng, &mut steps, &ctx);
        Explanation::new(snapshot, request, steps, outcome)
    }

    /// Records an origin's health status (by pool id and origin name);
    /// returns the previous status.
    ///
    /// With health checks running, the checker's next verdict on a
    /// monitored origin replaces what is set here.
    pub fn set_status(&self, pool: &str, origin: &str, status: Status) -> Result<Status, UnknownOrigin> {
        self.health().registry.set_status(pool, origin, status)
    }

    /// Runs `f` with the health registry locked, for several updates at
    /// once. Decisions do not wait for the lock.
    pub fn with_health<T>(&self, f: impl FnOnce(&mut HealthRegistry) -> T) -> T {
        f(&mut self.health().registry)
    }

    /// Starts the built-in health checks on the current table (replacing a
    /// checker already running, whose state is dropped): every monitored
    /// origin becomes unknown until probed, and every first probe is due at
    /// once. Reloads reconfigure the checker, keeping the state of
    /// unchanged origins.
    ///
    /// The host loop, on a virtual clock (a real host sleeps until
    /// [`poll_timeout`](Self::poll_timeout) and runs probes concurrently):
    ///
    /// ```
    /// use lbsteer::health::{CheckerConfig, Outcome, Timestamp};
    /// use lbsteer::{Decision, Request, Router};
    ///
    /// let router = Router::from_json(r#"{
    ///     "monitors": [{"id": "m", "type": "tcp", "port": 443, "interval": 15}],
    ///     "pools": [{"id": "p", "name": "p", "monitor": "m",
    ///                "origins": [{"name": "a", "address": "192.0.2.1"}]}],
    ///     "load_balancers": [{"name": "www.example.com", "default_pools": ["p"], "fallback_pool": "p"}]
    /// }"#).unwrap();
    /// router.enable_health_checks(CheckerConfig::default());
    ///
    /// let mut now = Timestamp::ZERO;
    /// for _ in 0..3 {
    ///     while let Some(probe) = router.poll_probe(now) {
    ///         // Connect to probe.address():probe.port() within probe.timeout() …
    ///         router.handle_probe_result(probe.id(), Outcome::success(), now).unwrap();
    ///     }
    ///     while let Some(event) = router.poll_health_event() {
    ///         println!("{event}");
    ///     }
    ///     now = router.poll_timeout().unwrap();
    /// }
    /// assert_eq!(now, Timestamp::from_millis(45_000));
    /// assert_eq!(router.pool_status("p"), Some(lbsteer::health::PoolStatus::Healthy));
    /// let Ok(Decision::Origin(selection)) = router.select_origin(&Request::new("www.example.com")) else { panic!() };
    /// assert!(!selection.is_fail_open());
    /// ```
    pub fn enable_health_checks(&self, config: CheckerConfig) {
        let mut state = self.health();
        let current = self.current.load();
        let mut checker = HealthChecker::new(&current.table, config);
        checker.publish(&mut state.registry);
        state.checker = Some(checker);
    }

    /// Stops the built-in health checks. Statuses stay as they were; probes
    /// in flight are forgotten.
    pub fn disable_health_checks(&self) {
        self.health().checker = None;
    }

    /// Whether built-in health checks are running.
    pub fn health_checks_enabled(&self) -> bool {
        self.health().checker.is_some()
    }

    /// When the next health probe is due (or a probe in flight is overdue):
    /// call [`poll_probe`](Self::poll_probe) then. `None` when health checks
    /// are off or nothing is monitored. See [`HealthChecker::poll_timeout`].
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.health().checker.as_mut()?.poll_timeout()
    }

    /// The next health probe due at `now`; call until `None`. See
    /// [`HealthChecker::poll_probe`].
    pub fn poll_probe(&self, now: Timestamp) -> Option<Probe> {
        self.health().checker(|checker| checker.poll_probe(now)).flatten()
    }

    /// Reports a probe's outcome; the verdict is published at once. See
    /// [`HealthChecker::handle_result`].
    pub fn handle_probe_result(&self, id: ProbeId, outcome: Outcome<'_>, now: Timestamp) -> Result<(), ProbeError> {
        self.health()
            .checker(|checker| checker.handle_result(id, outcome, now))
            .unwrap_or(Err(ProbeError::UnknownProbe(id)))
    }

    /// The next health transition (origin or pool), oldest first.
    pub fn poll_health_event(&self) -> Option<HealthEvent> {
        self.health().checker.as_mut()?.poll_event()
    }

    /// Runs `f` with the health checker, if running, and publishes its
    /// verdicts afterwards.
    pub fn with_checker<T>(&self, f: impl FnOnce(&mut HealthChecker) -> T) -> Option<T> {
        self.health().checker(f)
    }

    /// A pool's status for display (healthy, degraded, critical, …), by
    /// pool id, from the current table and health.
    pub fn pool_status(&self, pool: &str) -> Option<PoolStatus> {
        let snapshot = self.snapshot();
        let id = snapshot.pool_id(pool)?;
        Some(snapshot.guard.health.pool_status(&snapshot.guard.table, id))
    }

    fn health(&self) -> MutexGuard<'_, HealthState> {
        // The registry stays consistent even if a writer panicked: every
        // update is a single atomic store or a rebind.
        self.health.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl AffinityState {
    fn context(&self) -> AffinityContext<'_> {
        let ctx = AffinityContext::new(&self.config).clock(unix_now);
        match &self.store {
            Some(store) => ctx.sessions(&**store),
            None => ctx,
        }
    }
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let current = self.current.load();
        f.debug_struct("Router").field("generation", &current.number).field("table", &current.table).finish()
    }
}

/// Logs a rejected configuration, every error with its path.
fn log_rejected(err: &BuildError) {
    crate::telemetry::event!(
        warn,
        errors = err.diagnostics().len(),
        "configuration rejected; the current table keeps serving"
    );
    #[cfg(feature = "tracing")]
    for diagnostic in err.diagnostics() {
        tracing::warn!(%diagnostic, "configuration error");
    }
    let _ = err;
}

/// Logs a decision at `trace` level (fields are only computed when that
/// level is enabled).
#[cfg(feature = "tracing")]
fn log_decision(table: &Table, request: &Request<'_>, outcome: &Result<crate::select::Outcome, SelectError>) {
    use crate::select::Picked;
    match outcome {
        Ok(outcome) => {
            let lb = table.load_balancer(outcome.load_balancer).name();
            match outcome.picked {
                Picked::Origin { pool, origin, fallback, fail_open, .. } => tracing::trace!(
                    host = request.host,
                    load_balancer = lb,
                    pool = table.pool(pool).id(),
                    origin = table.origin(origin).name(),
                    address = table.origin(origin).address(),
                    fallback,
                    fail_open,
                    "decision"
                ),
                Picked::Respond(_) => tracing::trace!(host = request.host, load_balancer = lb, "fixed response"),
            }
        }
        Err(err) => tracing::trace!(host = request.host, error = err.code(), "no origin"),
    }
}

/// The per-thread random source of [`Router::select_origin`]: wyrand,
/// seeded once per thread from the standard library's random hasher keys.
struct ThreadRng;

std::thread_local! {
    static THREAD_RNG_STATE: Cell<u64> = Cell::new({
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_usize(&hasher as *const _ as usize);
        hasher.finish()
    });
}

impl RandomSource for ThreadRng {
    #[inline]
    fn next_u64(&mut self) -> u64 {
        THREAD_RNG_STATE.with(|state| {
            let (next, value) = crate::select::wyrand_step(state.get());
            state.set(next);
            value
        })
    }
}

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Snapshot>();
};
