//! Session affinity and zero-downtime failover.
//!
//! A load balancer (or a custom rule's override) with `session_affinity`
//! pins a client to the origin first chosen for it, ahead of pool and
//! origin steering, for as long as that origin stays eligible.
//!
//! | mode | the session | where it lives |
//! |---|---|---|
//! | `cookie` | an affinity token in a cookie (default `__cflb`) | the client: no server state |
//! | `ip_cookie` | as `cookie`; a new session's first choice is stable per client IP | the client |
//! | `header` | the values of the configured `headers` (`cookie:<names>` entries read cookies) | a [`SessionStore`] |
//!
//! # What the host supplies
//!
//! An [`AffinityConfig`]: the [`TokenKey`] (128 bits) that authenticates
//! tokens and keys header sessions, optionally the previous key during a
//! rotation, the cookie name, and the statuses that trigger a failover
//! retry. A [`Router`](crate::Router) starts with a random key of its own
//! ([`TokenKey::random`]): its tokens then hold on that node only, until
//! [`Router::set_affinity_config`](crate::Router::set_affinity_config)
//! gives every node of a fleet the same key. The router also keeps a
//! [`MemorySessionStore`] for header affinity (replace it with a shared
//! store with [`Router::set_session_store`](crate::Router::set_session_store)).
//!
//! Without `std`, pass an [`AffinityContext`] to
//! [`Table::select_with`](crate::Table::select_with); the request's
//! [`timestamp`](crate::Request::timestamp) is the clock.
//! [`Table::select`](crate::Table::select) decides without affinity.
//!
//! # Tokens
//!
//! A token (36 bytes, 48 base64url characters) names the load balancer and
//! the origin by stable identity, and its issue time, under a SipHash-2-4
//! tag keyed with the host's key (see [Token format](#token-format) below
//! for the format and what it guarantees). A token that is malformed,
//! forged or tampered with, made for another load balancer, expired, or
//! issued in the future is treated as absent: the request is steered as a
//! new session and gets a new token. Verification never allocates and
//! never panics, whatever the cookie holds.
//!
//! ## Token format
//!
//! | bytes | field |
//! |---|---|
//! | 0 | version, `1` |
//! | 1..5 | issue time, Unix seconds, big-endian `u32` (until 2106) |
//! | 5..13 | the load balancer: a stable hash of its name |
//! | 13..21 | the origin's identity: a stable hash of its pool id and name |
//! | 21..36 | the tag: SipHash-2-4 (128-bit output) keyed with the [`TokenKey`] over bytes 0..21, first 15 bytes |
//!
//! Security properties: a forgery succeeds with probability 2⁻¹²⁰ per
//! try; tags are compared in constant time; 36 bytes encode to exactly one
//! spelling, so any changed, truncated, padded or non-ASCII value fails
//! before the MAC; a token is honoured while `now < issued + ttl` (the
//! `session_affinity_ttl` in effect after custom rules, default 82,800 s)
//! and not if issued more than [`MAX_CLOCK_SKEW`] seconds ahead. The
//! fields are authenticated, not encrypted (the origin's address never
//! appears). A token verified with the previous key of a rotation is
//! honoured and re-issued under the current key with its original issue
//! time. SipHash-2-4 rather than HMAC-SHA256: verification (base64 decode,
//! one SipHash of 21 bytes) fits well inside the 100 ns budget on any CPU,
//! where HMAC-SHA256 needs two SHA-256 blocks (about 150 ns even with SHA
//! extensions); both work without `std`.
//!
//! # When a session is honoured
//!
//! A session's origin is used when all of these hold, checked in this
//! order (the first that fails is the [`Rejection`]):
//!
//! 1. the origin exists in the table (by identity);
//! 2. its pool is one the load balancer's effective settings name (default,
//!    region, country or PoP pools, a pool set's pools, or the fallback
//!    pool, after custom rules);
//! 3. the pool is enabled, and, unless it is the fallback pool, has at least
//!    `minimum_origins` healthy origins;
//! 4. the origin is enabled, or was disabled less than `drain_duration`
//!    seconds ago (draining);
//! 5. its weight is above 0;
//! 6. it is healthy (in a monitored pool; a draining origin, which is no
//!    longer probed, is exempt);
//! 7. its pool does not shed the session (`load_shedding.session_percent`,
//!    by client-IP hash, else by a hash of the session).
//!
//! Otherwise the request is steered anew (a shed session avoids the pool
//! that shed it) and a new session replaces the old one: a new token, or
//! the header session recorded to the new origin. New sessions never land
//! on a disabled (draining) origin: steering never picks one.
//!
//! # Header sessions
//!
//! The session key is a keyed 128-bit hash (SipHash-2-4 under the
//! [`TokenKey`], so nodes with the same key agree) of the load balancer
//! and, in configuration order, every value of each configured header and
//! the first value of each `cookie:` name, length-framed; computed on the
//! stack. Sessions live in a [`SessionStore`]: a trait with `&self`
//! methods, so that a fleet can plug in a shared store. The built-in
//! [`MemorySessionStore`] is a fixed array of 4-slot buckets (bounded
//! memory, allocated once), each slot a small seqlock: reads never wait
//! and never lock, a writer takes a slot with one compare-and-swap and
//! never waits either (under contention it takes another slot, or drops
//! the write: the next request simply starts the session again). Per-shard
//! locks were the alternative; they would make a decision wait behind
//! another thread's write, which the decision path must never do. Idle
//! sessions expire after `session_affinity_ttl` (default 1,800 s), renewed
//! by every hit; a full bucket evicts the session closest to expiry.
//!
//! # Cookie attributes
//!
//! `Max-Age` is the TTL in effect, `Path=/`, always `HttpOnly`. `Secure`
//! per `secure`: `Always`, `Never`, or `Auto`, set on `https` requests.
//! `SameSite` per `samesite`: `Lax`, `Strict`, `None` (which also sets
//! `Secure`, since browsers drop `SameSite=None` cookies without it), or
//! `Auto`: `None` when the cookie is `Secure`, else `Lax`. See
//! [`SetCookie`].
//!
//! # Drain
//!
//! An origin whose `enabled` turns false in a reload starts draining at
//! that moment: the health registry records when ([`HealthView::origin_disabled_since`]).
//! For `drain_duration` seconds its existing sessions keep going to it;
//! then they are steered anew. New sessions never choose it.
//!
//! # Zero-downtime failover
//!
//! After a connection-level failure (by default 521, 522, 523, 525, 526;
//! see [`RetryStatuses`]) the host asks
//! [`Router::retry`](crate::Router::retry) (or
//! [`Table::retry`](crate::Table::retry)) for another origin: a healthy one
//! in the same pool, else (with `adaptive_routing.failover_across_pools`)
//! in the next pools in steering order, then the fallback pool. One retry
//! per request. For a request whose session was honoured,
//! `zero_downtime_failover` decides: `none`, no retry; `temporary`, retry
//! and keep the session; `sticky`, retry and move the session (a new token).
//! A request that started a new session moves it to the retried origin.
//!
//! [`HealthView::origin_disabled_since`]: crate::health::HealthView::origin_disabled_since

use core::fmt;

use siphasher::sip128::Hasher128;

pub use super::retry::{RetryError, RetryStatuses};
pub use super::sessions::{MemorySessionStore, SLOT_BYTES, SessionKey, SessionStore};
use super::token::TAG_BYTES as TOKEN_TAG_BYTES;
pub use super::token::{MAX_CLOCK_SKEW, TOKEN_CHARS, TokenKey};

use super::RandomSource;
use super::decide::Effective;
use super::pools::usable;
use super::shedding::{Traffic, sheds};
use super::token::{Token, TokenError};
use crate::explain::{NoTrace, Step, Tracer};
use crate::hash;
use crate::health::HealthView;
use crate::request::{Request, Scheme};
use crate::table::{
    AffinityAttributes, AffinityMode, LoadBalancerEntry, OriginId, PoolId, SameSitePolicy, SecurePolicy, Table,
};

/// Default `session_affinity_ttl` of cookie affinity: 23 hours.
pub const DEFAULT_COOKIE_TTL: u32 = 82_800;

/// Default `session_affinity_ttl` (idle timeout) of header affinity.
pub const DEFAULT_HEADER_TTL: u32 = 1_800;

/// `__cflb` cookies tried per request (a client may send several).
const MAX_COOKIES_TRIED: usize = 4;

/// The longest cookie name.
pub const MAX_COOKIE_NAME: usize = 32;

/// The name of the affinity cookie: 1 to 32 characters of an RFC 6265
/// token (visible ASCII except separators). Default `__cflb`.
///
/// The name is `&'static`, so that a selection can carry it without
/// allocating: a name read from a configuration file at startup can be
/// leaked once (`Box::leak(name.into_boxed_str())`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CookieName {
    name: &'static str,
}

/// A cookie name that is empty, too long, or has a character a cookie name
/// cannot have.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a cookie name (1 to 32 letters, digits or !#$%&'*+-.^_`|~)")]
pub struct InvalidCookieName;

impl CookieName {
    /// `__cflb`, Cloudflare's name.
    pub const DEFAULT: CookieName = CookieName { name: "__cflb" };

    /// Checks a cookie name.
    pub const fn new(name: &'static str) -> Result<CookieName, InvalidCookieName> {
        let b = name.as_bytes();
        if b.is_empty() || b.len() > MAX_COOKIE_NAME {
            return Err(InvalidCookieName);
        }
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            let token = c.is_ascii_alphanumeric()
                || matches!(c, b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_')
                || matches!(c, b'`' | b'|' | b'~');
            if !token {
                return Err(InvalidCookieName);
            }
            i += 1;
        }
        Ok(CookieName { name })
    }

    /// The name.
    pub const fn as_str(&self) -> &'static str {
        self.name
    }
}

impl Default for CookieName {
    fn default() -> Self {
        CookieName::DEFAULT
    }
}

impl fmt::Debug for CookieName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for CookieName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `SameSite` attribute an affinity cookie is set with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CookieSameSite {
    /// `SameSite=Lax`.
    Lax,
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=None` (always with `Secure`).
    None,
}

impl CookieSameSite {
    /// The attribute's value: `Lax`, `Strict` or `None`.
    pub const fn as_str(self) -> &'static str {
        match self {
            CookieSameSite::Lax => "Lax",
            CookieSameSite::Strict => "Strict",
            CookieSameSite::None => "None",
        }
    }
}

/// A cookie to set on the response: the affinity token of a new session.
///
/// Held inline (no allocation). Its `Display` is the `Set-Cookie` header
/// value: `__cflb=TOKEN; Max-Age=82800; Path=/; HttpOnly; Secure; SameSite=None`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SetCookie {
    name: CookieName,
    value: [u8; TOKEN_CHARS],
    max_age: u32,
    secure: bool,
    same_site: CookieSameSite,
}

/// An issued token as a selection carries it: what the [`SetCookie`]
/// needs beyond the load balancer and origin the selection names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IssuedCookie {
    name: CookieName,
    issued: u32,
    max_age: u32,
    tag: [u8; TOKEN_TAG_BYTES],
    /// `Secure` (bit 0) and `SameSite` (bits 1-2): one byte, so that the
    /// whole fits in 40 and a selection stays small to move.
    attributes: u8,
}

impl IssuedCookie {
    fn new(
        name: CookieName,
        token: &Token,
        key: &TokenKey,
        max_age: u32,
        secure: bool,
        same_site: CookieSameSite,
    ) -> Self {
        let same_site_bits = match same_site {
            CookieSameSite::Lax => 0,
            CookieSameSite::Strict => 1,
            CookieSameSite::None => 2,
        };
        IssuedCookie {
            name,
            issued: token.issued,
            max_age,
            tag: token.sign(key),
            attributes: u8::from(secure) | same_site_bits << 1,
        }
    }

    /// The cookie, for the token naming `load_balancer` and `origin`
    /// (identities).
    pub(crate) fn to_set_cookie(self, load_balancer: u64, origin: u64) -> SetCookie {
        let token = Token { issued: self.issued, load_balancer, origin };
        SetCookie {
            name: self.name,
            value: token.encode_with_tag(&self.tag),
            max_age: self.max_age,
            secure: self.attributes & 1 == 1,
            same_site: match self.attributes >> 1 {
                0 => CookieSameSite::Lax,
                1 => CookieSameSite::Strict,
                _ => CookieSameSite::None,
            },
        }
    }
}

impl SetCookie {
    /// The cookie's name.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// The token: 48 base64url characters.
    pub fn value(&self) -> &str {
        // base64url output is ASCII.
        core::str::from_utf8(&self.value).unwrap_or("")
    }

    /// `Max-Age`, in seconds.
    pub fn max_age(&self) -> u32 {
        self.max_age
    }

    /// Whether `Secure` is set.
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// Always `true`: the token is for the load balancer, not for scripts.
    pub fn http_only(&self) -> bool {
        true
    }

    /// The `SameSite` attribute.
    pub fn same_site(&self) -> CookieSameSite {
        self.same_site
    }

    /// The `Path` attribute: `/`.
    pub fn path(&self) -> &'static str {
        "/"
    }
}

impl fmt::Display for SetCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}; Max-Age={}; Path=/; HttpOnly", self.name(), self.value(), self.max_age)?;
        if self.secure {
            f.write_str("; Secure")?;
        }
        write!(f, "; SameSite={}", self.same_site.as_str())
    }
}

impl fmt::Debug for SetCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetCookie")
            .field("name", &self.name())
            .field("value", &self.value())
            .field("max_age", &self.max_age)
            .field("secure", &self.secure)
            .field("same_site", &self.same_site)
            .finish()
    }
}

/// The `Secure` and `SameSite` of a cookie set on `request`.
fn cookie_attributes(attributes: &AffinityAttributes, scheme: Scheme) -> (bool, CookieSameSite) {
    let mut secure = match attributes.secure {
        SecurePolicy::Always => true,
        SecurePolicy::Never => false,
        SecurePolicy::Auto => scheme == Scheme::Https,
    };
    let same_site = match attributes.samesite {
        SameSitePolicy::Lax => CookieSameSite::Lax,
        SameSitePolicy::Strict => CookieSameSite::Strict,
        SameSitePolicy::None => CookieSameSite::None,
        SameSitePolicy::Auto if secure => CookieSameSite::None,
        SameSitePolicy::Auto => CookieSameSite::Lax,
    };
    if same_site == CookieSameSite::None {
        secure = true;
    }
    (secure, same_site)
}

/// The host's affinity settings (none of which is in the account): the
/// token key, the previous key during a rotation, the cookie name, and the
/// statuses that trigger a zero-downtime failover retry.
#[derive(Clone, Debug)]
pub struct AffinityConfig {
    key: TokenKey,
    previous_key: Option<TokenKey>,
    cookie_name: CookieName,
    retry_statuses: RetryStatuses,
}

impl AffinityConfig {
    /// Settings with `key`, the cookie name `__cflb` and the default retry
    /// statuses.
    pub fn new(key: TokenKey) -> Self {
        AffinityConfig {
            key,
            previous_key: None,
            cookie_name: CookieName::DEFAULT,
            retry_statuses: RetryStatuses::DEFAULT,
        }
    }

    /// Settings with a fresh random key ([`TokenKey::random`]).
    #[cfg(feature = "std")]
    pub fn random() -> Self {
        Self::new(TokenKey::random())
    }

    /// Also honours tokens made with `key` (re-issuing them under the
    /// current key), for a rotation.
    pub fn previous_key(mut self, key: TokenKey) -> Self {
        self.previous_key = Some(key);
        self
    }

    /// Sets the cookie name.
    pub fn cookie_name(mut self, name: CookieName) -> Self {
        self.cookie_name = name;
        self
    }

    /// Sets the statuses that trigger a failover retry.
    pub fn retry_statuses(mut self, statuses: RetryStatuses) -> Self {
        self.retry_statuses = statuses;
        self
    }

    /// The current key.
    pub fn key(&self) -> &TokenKey {
        &self.key
    }

    /// The cookie name.
    pub fn cookie(&self) -> CookieName {
        self.cookie_name
    }

    /// The statuses that trigger a failover retry.
    pub fn retry_on(&self) -> &RetryStatuses {
        &self.retry_statuses
    }

    /// Reads a cookie value as a token: `Some` when it is well-formed and
    /// its tag verifies under the current (or previous) key. The decision
    /// then also checks the load balancer, the expiry and the origin.
    /// Allocates nothing; never panics.
    pub fn read_token(&self, value: &[u8]) -> Option<TokenInfo> {
        let (token, previous_key) = Token::verify(value, &self.key, self.previous_key.as_ref()).ok()?;
        Some(TokenInfo {
            issued: u64::from(token.issued),
            load_balancer: token.load_balancer,
            origin: token.origin,
            previous_key,
        })
    }
}

/// What a verified token says (see [`AffinityConfig::read_token`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenInfo {
    /// When it was issued, Unix seconds.
    pub issued: u64,
    /// The load balancer's identity: a stable hash of its name
    /// ([`LoadBalancerEntry::identity`](crate::table::LoadBalancerEntry::identity)).
    pub load_balancer: u64,
    /// The origin's identity ([`OriginEntry::identity`](crate::table::OriginEntry::identity)).
    pub origin: u64,
    /// Whether the previous key of a rotation verified it.
    pub previous_key: bool,
}

/// What one decision needs for session affinity: the host's
/// [`AffinityConfig`], the [`SessionStore`] of header affinity, and a
/// clock for requests without a [`timestamp`](crate::Request::timestamp).
///
/// Borrowed and `Copy`: build one per decision, or keep one around.
#[derive(Clone, Copy)]
pub struct AffinityContext<'a> {
    pub(crate) config: Option<&'a AffinityConfig>,
    pub(crate) sessions: Option<&'a dyn SessionStore>,
    pub(crate) clock: Option<fn() -> u64>,
}

impl<'a> AffinityContext<'a> {
    /// No affinity: what [`Table::select`](crate::Table::select) uses.
    /// Load balancers with affinity are steered as if they had none.
    pub const NONE: AffinityContext<'static> = AffinityContext { config: None, sessions: None, clock: None };

    /// Affinity with `config`; header affinity also needs
    /// [`sessions`](Self::sessions).
    pub fn new(config: &'a AffinityConfig) -> Self {
        AffinityContext { config: Some(config), sessions: None, clock: None }
    }

    /// The store of header affinity sessions.
    pub fn sessions(mut self, store: &'a dyn SessionStore) -> Self {
        self.sessions = Some(store);
        self
    }

    /// The clock (Unix seconds) for requests without a timestamp; without
    /// one, such requests are decided without affinity.
    pub fn clock(mut self, now: fn() -> u64) -> Self {
        self.clock = Some(now);
        self
    }

    /// The retry statuses in effect.
    pub(crate) fn retry_statuses(&self) -> &RetryStatuses {
        self.config.map_or(&RetryStatuses::DEFAULT, |c| &c.retry_statuses)
    }
}

impl fmt::Debug for AffinityContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AffinityContext")
            .field("config", &self.config)
            .field("sessions", &self.sessions.is_some())
            .field("clock", &self.clock.is_some())
            .finish()
    }
}

/// What affinity did for a selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionStatus {
    /// No affinity: the load balancer has none for this request, or the
    /// decision had no [`AffinityContext`] (or no clock).
    Off,
    /// Header affinity, but the request lacks the headers a session needs:
    /// steered with no session.
    NoKey,
    /// A new session: steered, and a token issued (or the session
    /// recorded). `rejected` says why a session the request presented was
    /// not honoured.
    New {
        /// Why the presented session, if any, was not honoured.
        rejected: Option<Rejection>,
    },
    /// The request's session was honoured.
    Pinned {
        /// The origin is disabled and within its drain window.
        draining: bool,
    },
    /// A failover retry (`zero_downtime_failover: temporary`) of a pinned
    /// session: another origin serves this request, the session stays.
    Temporary,
}

impl SessionStatus {
    /// The status's name in scenario files: `off`, `no_key`, `new`,
    /// `pinned`, `temporary`.
    pub const fn code(self) -> &'static str {
        match self {
            SessionStatus::Off => "off",
            SessionStatus::NoKey => "no_key",
            SessionStatus::New { .. } => "new",
            SessionStatus::Pinned { .. } => "pinned",
            SessionStatus::Temporary => "temporary",
        }
    }
}

/// Why a session the request presented was not honoured.
///
/// The first five are about the token itself, which is then treated as
/// absent; the others about the origin it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rejection {
    /// Not a token of this format (wrong length or characters, unknown
    /// version).
    Malformed,
    /// The tag does not verify: forged, tampered with, or another key's.
    Forged,
    /// A valid token of another load balancer.
    OtherLoadBalancer,
    /// Older than the TTL in effect.
    Expired,
    /// Issued further in the future than the allowed clock skew.
    FromTheFuture,
    /// No origin of this identity in the table (removed or renamed).
    UnknownOrigin,
    /// The origin's pool is not among the load balancer's effective pools.
    NotInLoadBalancer,
    /// The origin's pool is disabled.
    PoolDisabled,
    /// The origin's pool has fewer healthy origins than `minimum_origins`.
    PoolUnhealthy,
    /// The origin is disabled, and not (or no longer) draining.
    OriginDisabled,
    /// The origin's weight is 0.
    ZeroWeight,
    /// The origin is unhealthy.
    Unhealthy,
    /// The pool sheds the session (`session_percent`).
    Shed,
    /// A zero-downtime failover retry moved the session (`sticky`).
    Failover,
}

impl Rejection {
    /// The reason's name in traces and scenario files.
    pub const fn code(self) -> &'static str {
        match self {
            Rejection::Malformed => "malformed",
            Rejection::Forged => "forged",
            Rejection::OtherLoadBalancer => "other_load_balancer",
            Rejection::Expired => "expired",
            Rejection::FromTheFuture => "from_the_future",
            Rejection::UnknownOrigin => "unknown_origin",
            Rejection::NotInLoadBalancer => "not_in_load_balancer",
            Rejection::PoolDisabled => "pool_disabled",
            Rejection::PoolUnhealthy => "pool_unhealthy",
            Rejection::OriginDisabled => "origin_disabled",
            Rejection::ZeroWeight => "zero_weight",
            Rejection::Unhealthy => "unhealthy",
            Rejection::Shed => "shed",
            Rejection::Failover => "failover",
        }
    }

    /// Whether the token itself was at fault (and was treated as absent).
    pub const fn is_token_problem(self) -> bool {
        matches!(
            self,
            Rejection::Malformed
                | Rejection::Forged
                | Rejection::OtherLoadBalancer
                | Rejection::Expired
                | Rejection::FromTheFuture
        )
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Why affinity could not apply to a request (a trace step).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unavailable {
    /// No [`AffinityConfig`] (plain [`Table::select`](crate::Table::select)).
    NoConfig,
    /// Neither a request timestamp nor a clock.
    NoClock,
    /// Header affinity without a [`SessionStore`].
    NoSessionStore,
}

impl Unavailable {
    /// The reason's name in traces.
    pub const fn code(self) -> &'static str {
        match self {
            Unavailable::NoConfig => "no_config",
            Unavailable::NoClock => "no_clock",
            Unavailable::NoSessionStore => "no_session_store",
        }
    }
}

/// The affinity part of a decision: small and `Copy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SessionOutcome {
    pub(crate) status: SessionStatus,
    pub(crate) cookie: Option<IssuedCookie>,
}

impl SessionOutcome {
    pub(crate) const OFF: SessionOutcome = SessionOutcome { status: SessionStatus::Off, cookie: None };
}

/// How a request's session is to be continued once steering has chosen.
#[derive(Clone, Copy)]
pub(crate) struct Pending<'a> {
    config: &'a AffinityConfig,
    sessions: Option<&'a dyn SessionStore>,
    mode: AffinityMode,
    now: u64,
    ttl: u32,
    /// Header affinity: the session, when the request has its headers.
    session: Option<SessionKey>,
    pub(crate) rejected: Option<Rejection>,
    /// A session shed by its pool steers around that pool.
    pub(crate) shed_pool: Option<PoolId>,
    /// `ip_cookie` with a client IP: the seed of a new session's draws and
    /// the client's hash for origin choice.
    pub(crate) ip_seed: Option<(u64, u64)>,
}

/// The start of affinity, before steering.
pub(crate) enum Begin<'a> {
    /// No affinity for this request.
    Off,
    /// The session is honoured.
    Pinned { pool: PoolId, origin: OriginId, outcome: SessionOutcome },
    /// Steer, then [`finish`].
    Steer(Pending<'a>),
}

/// Looks up the request's session and decides whether it is honoured.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn begin<'a, H, R, T>(
    table: &Table,
    lb: &LoadBalancerEntry,
    effective: &Effective<'_>,
    request: &Request<'_>,
    health: &H,
    rng: &mut R,
    trace: &mut T,
    ctx: &AffinityContext<'a>,
) -> Begin<'a>
where
    H: HealthView + ?Sized,
    R: RandomSource + ?Sized,
    T: Tracer,
{
    let mode = effective.affinity;
    if mode == AffinityMode::None {
        return Begin::Off;
    }
    let Some(config) = ctx.config else {
        trace.step(Step::AffinityUnavailable { reason: Unavailable::NoConfig });
        return Begin::Off;
    };
    let Some(now) = request.timestamp.or_else(|| ctx.clock.map(|clock| clock())) else {
        trace.step(Step::AffinityUnavailable { reason: Unavailable::NoClock });
        return Begin::Off;
    };
    let attributes = effective.affinity_attributes;
    let mut pending = Pending {
        config,
        sessions: None,
        mode,
        now,
        ttl: 0,
        session: None,
        rejected: None,
        shed_pool: None,
        ip_seed: None,
    };
    // The presented session: its origin and a stable key for shedding.
    let presented: Option<(u64, u64, Option<Token>)> = match mode {
        AffinityMode::Cookie | AffinityMode::IpCookie => {
            pending.ttl = effective.affinity_ttl.unwrap_or(DEFAULT_COOKIE_TTL);
            if mode == AffinityMode::IpCookie
                && let Some(ip) = request.client_ip
            {
                let ip_key = hash::ip_key(ip);
                pending.ip_seed = Some((hash::mix64(ip_key ^ lb.key), ip_key));
            }
            match read_token(request, config, lb.key, now, pending.ttl) {
                TokenRead::Absent => {
                    trace.step(Step::AffinityToken { valid: false, rejected: None });
                    None
                }
                TokenRead::Rejected(reason) => {
                    trace.step(Step::AffinityToken { valid: false, rejected: Some(reason) });
                    pending.rejected = Some(reason);
                    None
                }
                TokenRead::Valid(token, by_previous) => {
                    trace.step(Step::AffinityToken { valid: true, rejected: None });
                    let shed_key = hash::mix64(token.origin ^ u64::from(token.issued) ^ token.load_balancer);
                    Some((token.origin, shed_key, by_previous.then_some(token)))
                }
            }
        }
        AffinityMode::Header => {
            pending.ttl = effective.affinity_ttl.unwrap_or(DEFAULT_HEADER_TTL);
            let Some(store) = ctx.sessions else {
                trace.step(Step::AffinityUnavailable { reason: Unavailable::NoSessionStore });
                return Begin::Off;
            };
            pending.sessions = Some(store);
            let key = session_key(&config.key, lb.key, attributes, request);
            trace.step(Step::AffinitySessionKey { complete: key.is_some() });
            let Some(key) = key else {
                return Begin::Steer(pending);
            };
            pending.session = Some(key);
            let found = store.lookup(&key, now, pending.ttl);
            trace.step(Step::AffinitySessionFound { found: found.is_some() });
            found.map(|origin| (origin, key.low(), None))
        }
        AffinityMode::None => None,
    };
    let Some((identity, shed_key, reissue)) = presented else {
        return Begin::Steer(pending);
    };
    match check_pin(table, effective, identity, now, attributes.drain_duration, health) {
        Ok((pool, origin, draining)) => {
            if sheds(table.pool(pool), request, Traffic::Session { key: shed_key }, rng) {
                trace.step(Step::AffinityPinRejected { origin: Some(origin), reason: Rejection::Shed });
                pending.rejected = Some(Rejection::Shed);
                pending.shed_pool = Some(pool);
                return Begin::Steer(pending);
            }
            trace.step(Step::AffinityPinned { origin, draining });
            // A token of the previous key is re-issued under the current
            // one, keeping its issue time (and so its expiry).
            let cookie = reissue.map(|token| {
                let age = now.saturating_sub(u64::from(token.issued));
                let max_age = u64::from(pending.ttl).saturating_sub(age) as u32;
                trace.step(Step::AffinityIssued { origin });
                make_cookie(config, &token, max_age, attributes, request.scheme)
            });
            Begin::Pinned {
                pool,
                origin,
                outcome: SessionOutcome { status: SessionStatus::Pinned { draining }, cookie },
            }
        }
        Err((origin, reason)) => {
            trace.step(Step::AffinityPinRejected { origin, reason });
            pending.rejected = Some(reason);
            Begin::Steer(pending)
        }
    }
}

/// Starts (or moves) the session to the origin steering chose.
pub(crate) fn finish<T: Tracer>(
    pending: &Pending<'_>,
    table: &Table,
    lb: &LoadBalancerEntry,
    attributes: &AffinityAttributes,
    origin: OriginId,
    request: &Request<'_>,
    trace: &mut T,
) -> SessionOutcome {
    let identity = table.origin(origin).key;
    match pending.mode {
        AffinityMode::Cookie | AffinityMode::IpCookie => {
            let issued = u32::try_from(pending.now).unwrap_or(u32::MAX);
            let token = Token { issued, load_balancer: lb.key, origin: identity };
            trace.step(Step::AffinityIssued { origin });
            let cookie = make_cookie(pending.config, &token, pending.ttl, attributes, request.scheme);
            SessionOutcome { status: SessionStatus::New { rejected: pending.rejected }, cookie: Some(cookie) }
        }
        AffinityMode::Header => match (pending.session, pending.sessions) {
            (Some(key), Some(store)) => {
                store.record(&key, identity, pending.now, pending.ttl);
                trace.step(Step::AffinityIssued { origin });
                SessionOutcome { status: SessionStatus::New { rejected: pending.rejected }, cookie: None }
            }
            _ => SessionOutcome { status: SessionStatus::NoKey, cookie: None },
        },
        AffinityMode::None => SessionOutcome::OFF,
    }
}

/// The session of a failover retry that moves it (`sticky`, or a session
/// that began with the failed request) to `origin`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finish_retry<T: Tracer>(
    table: &Table,
    lb: &LoadBalancerEntry,
    effective: &Effective<'_>,
    origin: OriginId,
    request: &Request<'_>,
    trace: &mut T,
    ctx: &AffinityContext<'_>,
    rejected: Option<Rejection>,
) -> SessionOutcome {
    let Some(config) = ctx.config else { return SessionOutcome::OFF };
    let Some(now) = request.timestamp.or_else(|| ctx.clock.map(|clock| clock())) else {
        return SessionOutcome::OFF;
    };
    let mode = effective.affinity;
    let mut pending = Pending {
        config,
        sessions: ctx.sessions,
        mode,
        now,
        ttl: effective.affinity_ttl.unwrap_or(DEFAULT_COOKIE_TTL),
        session: None,
        rejected,
        shed_pool: None,
        ip_seed: None,
    };
    if mode == AffinityMode::Header {
        if ctx.sessions.is_none() {
            return SessionOutcome::OFF;
        }
        pending.ttl = effective.affinity_ttl.unwrap_or(DEFAULT_HEADER_TTL);
        pending.session = session_key(&config.key, lb.key, effective.affinity_attributes, request);
    }
    finish(&pending, table, lb, effective.affinity_attributes, origin, request, trace)
}

fn make_cookie(
    config: &AffinityConfig,
    token: &Token,
    max_age: u32,
    attributes: &AffinityAttributes,
    scheme: Scheme,
) -> IssuedCookie {
    let (secure, same_site) = cookie_attributes(attributes, scheme);
    IssuedCookie::new(config.cookie_name, token, &config.key, max_age, secure, same_site)
}

enum TokenRead {
    Absent,
    Rejected(Rejection),
    Valid(Token, bool),
}

/// The first valid token among the request's affinity cookies (at most
/// [`MAX_COOKIES_TRIED`]), else why the first one was rejected.
fn read_token(request: &Request<'_>, config: &AffinityConfig, lb: u64, now: u64, ttl: u32) -> TokenRead {
    let mut read = TokenRead::Absent;
    let mut tried = 0;
    request.visit_cookie(config.cookie_name.as_str(), &mut |value| {
        tried += 1;
        let checked = match Token::verify(value, &config.key, config.previous_key.as_ref()) {
            Err(TokenError::Malformed) => Err(Rejection::Malformed),
            Err(TokenError::Forged) => Err(Rejection::Forged),
            Ok((token, _)) if token.load_balancer != lb => Err(Rejection::OtherLoadBalancer),
            Ok((token, _)) if u64::from(token.issued) > now.saturating_add(MAX_CLOCK_SKEW) => {
                Err(Rejection::FromTheFuture)
            }
            Ok((token, _)) if now >= u64::from(token.issued) + u64::from(ttl) => Err(Rejection::Expired),
            Ok((token, by_previous)) => Ok((token, by_previous)),
        };
        match checked {
            Ok((token, by_previous)) => {
                read = TokenRead::Valid(token, by_previous);
                false
            }
            Err(reason) => {
                if matches!(read, TokenRead::Absent) {
                    read = TokenRead::Rejected(reason);
                }
                tried < MAX_COOKIES_TRIED
            }
        }
    });
    read
}

/// Whether the origin of identity `identity` may serve the session; see
/// the module docs for the checks, in order.
fn check_pin<H>(
    table: &Table,
    effective: &Effective<'_>,
    identity: u64,
    now: u64,
    drain_duration: u32,
    health: &H,
) -> Result<(PoolId, OriginId, bool), (Option<OriginId>, Rejection)>
where
    H: HealthView + ?Sized,
{
    let origin = table.origin_by_identity(identity).ok_or((None, Rejection::UnknownOrigin))?;
    let reject = |reason| (Some(origin), reason);
    let entry = table.origin(origin);
    let pool = entry.pool;
    if !effective.references(pool) {
        return Err(reject(Rejection::NotInLoadBalancer));
    }
    let pool_entry = table.pool(pool);
    if !pool_entry.enabled {
        return Err(reject(Rejection::PoolDisabled));
    }
    if pool != effective.fallback_pool && !usable(table, pool, health, &mut NoTrace) {
        return Err(reject(Rejection::PoolUnhealthy));
    }
    let draining = !entry.enabled;
    if draining {
        let within = health
            .origin_disabled_since(origin)
            .is_some_and(|since| now < since.saturating_add(u64::from(drain_duration)));
        if !within {
            return Err(reject(Rejection::OriginDisabled));
        }
    }
    if entry.weight == 0 {
        return Err(reject(Rejection::ZeroWeight));
    }
    // A disabled origin is no longer probed (its status turns unknown):
    // while it drains, its last health does not end its sessions.
    if !draining && pool_entry.monitored() && !health.origin_healthy(origin) {
        return Err(reject(Rejection::Unhealthy));
    }
    Ok((pool, origin, draining))
}

/// The session key of a header-affinity request: `None` when it lacks the
/// headers (all of them with `require_all_headers`, else at least one).
///
/// Each configured entry is a header name, whose every value counts, or
/// `cookie:<n1>,<n2>`, each name of which is one item: the first cookie of
/// that name. The hash covers the load balancer and, for each item in
/// configuration order, whether it is present and its bytes, framed with
/// their lengths so that no two different requests hash alike by
/// construction.
pub(crate) fn session_key(
    key: &TokenKey,
    lb: u64,
    attributes: &AffinityAttributes,
    request: &Request<'_>,
) -> Option<SessionKey> {
    use core::hash::Hasher;
    let mut hasher = key.session_hasher();
    // A token body starts with its version (1): a distinct first byte
    // keeps session hashes and token tags apart.
    hasher.write(b"S");
    hasher.write(&lb.to_be_bytes());
    let (mut items, mut present) = (0usize, 0usize);
    for entry in attributes.headers.iter() {
        match entry.strip_prefix("cookie:") {
            Some(names) => {
                for name in names.split(',') {
                    items += 1;
                    let mut found = false;
                    request.visit_cookie(name, &mut |value| {
                        hasher.write(&[1]);
                        hasher.write(&(value.len() as u64).to_le_bytes());
                        hasher.write(value);
                        found = true;
                        false
                    });
                    if !found {
                        hasher.write(&[0]);
                    }
                    present += usize::from(found);
                }
            }
            None => {
                items += 1;
                let mut found = false;
                request.visit_header_values(entry, &mut |value| {
                    hasher.write(&[1]);
                    hasher.write(&(value.len() as u64).to_le_bytes());
                    hasher.write(value);
                    found = true;
                    true
                });
                hasher.write(&[0]);
                present += usize::from(found);
            }
        }
    }
    let complete = if attributes.require_all_headers { present == items } else { present > 0 };
    if !complete || items == 0 {
        return None;
    }
    let h = hasher.finish128();
    Some(SessionKey::from_bytes(h.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_names() {
        assert_eq!(CookieName::DEFAULT.as_str(), "__cflb");
        assert!(CookieName::new("").is_err());
        assert!(CookieName::new("a b").is_err());
        assert!(CookieName::new("a=b").is_err());
        assert!(CookieName::new("é").is_err());
        assert!(CookieName::new("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx").is_err(), "33");
        assert_eq!(CookieName::new("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx").unwrap().as_str().len(), 32);
    }

    #[test]
    fn secure_and_samesite() {
        let attrs = |samesite, secure| AffinityAttributes { samesite, secure, ..AffinityAttributes::default() };
        use CookieSameSite as C;
        use SameSitePolicy as S;
        use SecurePolicy as Sec;
        let cases = [
            (S::Auto, Sec::Auto, Scheme::Https, (true, C::None)),
            (S::Auto, Sec::Auto, Scheme::Http, (false, C::Lax)),
            (S::Auto, Sec::Never, Scheme::Https, (false, C::Lax)),
            (S::Auto, Sec::Always, Scheme::Http, (true, C::None)),
            (S::Strict, Sec::Auto, Scheme::Https, (true, C::Strict)),
            (S::Lax, Sec::Always, Scheme::Http, (true, C::Lax)),
            (S::None, Sec::Auto, Scheme::Http, (true, C::None)),
        ];
        for (samesite, secure, scheme, expected) in cases {
            assert_eq!(cookie_attributes(&attrs(samesite, secure), scheme), expected);
        }
    }
}
