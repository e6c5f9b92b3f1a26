//! Header affinity sessions: the [`SessionStore`] trait and the built-in
//! [`MemorySessionStore`].

use alloc::boxed::Box;
use core::fmt;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use crate::sync::{AtomicU64, fence};

/// The key of a header affinity session: a 128-bit keyed hash (SipHash-2-4
/// under the [`TokenKey`](crate::affinity::TokenKey)) of the load balancer and the
/// values of its configured headers and cookies. Nodes with the same key
/// derive the same session key from the same request.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionKey {
    hi: u64,
    lo: u64,
}

impl SessionKey {
    /// A session key from its 128 bits (for stores that keep keys as
    /// bytes: see [`to_bytes`](Self::to_bytes)).
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        let v = u128::from_be_bytes(bytes);
        SessionKey { hi: (v >> 64) as u64, lo: v as u64 }
    }

    /// The key's 128 bits, big-endian: a fixed-size key for a shared store.
    pub const fn to_bytes(self) -> [u8; 16] {
        ((self.hi as u128) << 64 | self.lo as u128).to_be_bytes()
    }

    /// 64 bits of the key, as a stable per-session value (load shedding of
    /// sessions without a client IP).
    pub(crate) const fn low(self) -> u64 {
        self.lo
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKey({:016x}{:016x})", self.hi, self.lo)
    }
}

/// Where `header` affinity keeps its sessions: session key → origin
/// identity, with an idle timeout.
///
/// The decision calls it synchronously, on the request path, without a
/// lock of its own: an implementation should answer from memory and never
/// block for long (a store shared by a fleet typically keeps a local copy
/// and replicates in the background). Methods take `&self`; a store shared
/// by threads synchronizes inside. A store that fails answers `None` and
/// drops writes: the request is then steered as a new session.
///
/// Origins are named by identity ([`OriginEntry::identity`]), which is
/// the same on every node and across reloads.
///
/// [`OriginEntry::identity`]: crate::table::OriginEntry::identity
pub trait SessionStore {
    /// The origin of a live session (one used less than its idle timeout
    /// ago), refreshing its timer so that it lives until `now + idle_ttl`;
    /// `None` when the session is unknown or idle for too long.
    fn lookup(&self, session: &SessionKey, now: u64, idle_ttl: u32) -> Option<u64>;

    /// Records a session (new, or moved to another origin), live until
    /// `now + idle_ttl` unless used again.
    fn record(&self, session: &SessionKey, origin: u64, now: u64, idle_ttl: u32);

    /// Forgets a session.
    fn remove(&self, session: &SessionKey);
}

impl<S: SessionStore + ?Sized> SessionStore for &S {
    fn lookup(&self, session: &SessionKey, now: u64, idle_ttl: u32) -> Option<u64> {
        (**self).lookup(session, now, idle_ttl)
    }
    fn record(&self, session: &SessionKey, origin: u64, now: u64, idle_ttl: u32) {
        (**self).record(session, origin, now, idle_ttl)
    }
    fn remove(&self, session: &SessionKey) {
        (**self).remove(session)
    }
}

#[cfg(feature = "std")]
impl<S: SessionStore + ?Sized> SessionStore for std::sync::Arc<S> {
    fn lookup(&self, session: &SessionKey, now: u64, idle_ttl: u32) -> Option<u64> {
        (**self).lookup(session, now, idle_ttl)
    }
    fn record(&self, session: &SessionKey, origin: u64, now: u64, idle_ttl: u32) {
        (**self).record(session, origin, now, idle_ttl)
    }
    fn remove(&self, session: &SessionKey) {
        (**self).remove(session)
    }
}

/// Slots per bucket.
const WAYS: usize = 4;

/// Bytes one session slot takes.
pub const SLOT_BYTES: usize = core::mem::size_of::<Slot>();

/// One session: `meta` packs the expiry (low 32 bits, Unix seconds; 0 is
/// an empty slot) and a sequence number (high 32 bits, odd while a writer
/// holds the slot).
struct Slot {
    meta: AtomicU64,
    tag: AtomicU64,
    origin: AtomicU64,
}

#[inline]
fn seq(meta: u64) -> u32 {
    (meta >> 32) as u32
}

#[inline]
fn expiry(meta: u64) -> u32 {
    meta as u32
}

#[inline]
fn pack(seq: u32, expiry: u32) -> u64 {
    u64::from(seq) << 32 | u64::from(expiry)
}

/// `now + ttl` in 32-bit Unix seconds (saturating: until 2106), never 0.
#[inline]
fn deadline(now: u64, ttl: u32) -> u32 {
    u32::try_from(now.saturating_add(u64::from(ttl))).unwrap_or(u32::MAX).max(1)
}

impl Slot {
    fn new() -> Self {
        Slot { meta: AtomicU64::new(0), tag: AtomicU64::new(0), origin: AtomicU64::new(0) }
    }

    /// A consistent `(meta, tag, origin)`, or `None` while a writer holds
    /// the slot or when one came and went during the read (a seqlock read:
    /// no waiting).
    #[inline]
    fn read(&self) -> Option<(u64, u64, u64)> {
        let before = self.meta.load(Acquire);
        if seq(before) & 1 == 1 {
            return None;
        }
        let tag = self.tag.load(Relaxed);
        let origin = self.origin.load(Relaxed);
        fence(Acquire);
        let after = self.meta.load(Relaxed);
        (seq(after) == seq(before)).then_some((after, tag, origin))
    }

    /// Takes the slot for writing if its meta is still `seen`; then writes
    /// and releases. `false` when another writer got there first (the
    /// caller moves on: a store that drops a write under contention only
    /// costs a session).
    #[inline]
    fn write(&self, seen: u64, tag: u64, origin: u64, expiry: u32) -> bool {
        let s = seq(seen);
        if s & 1 == 1 || self.meta.compare_exchange(seen, pack(s.wrapping_add(1), 0), Acquire, Relaxed).is_err() {
            return false;
        }
        fence(Release);
        self.tag.store(tag, Relaxed);
        self.origin.store(origin, Relaxed);
        self.meta.store(pack(s.wrapping_add(2), expiry), Release);
        true
    }
}

/// The built-in [`SessionStore`]: bounded, idle-timed, lock-free.
///
/// A fixed array of buckets of four slots, allocated once
/// ([`capacity`](Self::capacity) sessions, [`SLOT_BYTES`] each); a session
/// lives in the bucket its key hashes to. Every bucket is its own shard:
/// threads contend only when their sessions share a bucket.
///
/// - **Reads are lock-free** and never wait: each slot is a small seqlock
///   (a sequence number packed with the expiry), read optimistically; a
///   read that races a writer of the same slot misses (the request is then
///   steered as a new session, and recorded again).
/// - **Writes never wait either**: a writer takes a slot with one
///   compare-and-swap, and moves on to another slot (or drops the write)
///   when it loses the race.
/// - **Idle timeout**: every hit moves the session's expiry to
///   `now + idle_ttl` (at most one write per session per second); an
///   expired slot is free.
/// - **Bounded memory, eviction under pressure**: a new session takes its
///   bucket's slot with the same key, else a free (or expired) slot, else
///   the slot that would expire first.
///
/// Nothing is allocated after construction.
pub struct MemorySessionStore {
    buckets: Box<[[Slot; WAYS]]>,
    mask: usize,
}

impl MemorySessionStore {
    /// The capacity of [`Default`]: 65,536 sessions (1.5 MiB).
    pub const DEFAULT_CAPACITY: usize = 65_536;

    /// A store for at least `capacity` sessions (rounded up to a power of
    /// two, at least 4).
    pub fn new(capacity: usize) -> Self {
        let buckets = capacity.div_ceil(WAYS).max(1).next_power_of_two();
        let buckets: Box<[[Slot; WAYS]]> = (0..buckets).map(|_| core::array::from_fn(|_| Slot::new())).collect();
        let mask = buckets.len() - 1;
        MemorySessionStore { buckets, mask }
    }

    /// How many sessions fit.
    pub fn capacity(&self) -> usize {
        self.buckets.len() * WAYS
    }

    /// Heap bytes the store holds.
    pub fn heap_bytes(&self) -> usize {
        core::mem::size_of_val(&*self.buckets)
    }

    /// Live sessions at `now` (a scan: for tests and metrics).
    pub fn live(&self, now: u64) -> usize {
        self.buckets
            .iter()
            .flatten()
            .filter_map(Slot::read)
            .filter(|&(meta, _, _)| u64::from(expiry(meta)) > now)
            .count()
    }

    /// Forgets every session.
    pub fn clear(&self) {
        for slot in self.buckets.iter().flatten() {
            if let Some((meta, _, _)) = slot.read()
                && expiry(meta) != 0
            {
                slot.write(meta, 0, 0, 0);
            }
        }
    }

    #[inline]
    fn bucket(&self, session: &SessionKey) -> &[Slot; WAYS] {
        &self.buckets[session.lo as usize & self.mask]
    }
}

impl Default for MemorySessionStore {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

impl SessionStore for MemorySessionStore {
    fn lookup(&self, session: &SessionKey, now: u64, idle_ttl: u32) -> Option<u64> {
        for slot in self.bucket(session) {
            let Some((meta, tag, origin)) = slot.read() else { continue };
            if tag != session.hi || expiry(meta) == 0 {
                continue;
            }
            if u64::from(expiry(meta)) <= now {
                return None;
            }
            let renewed = deadline(now, idle_ttl);
            if renewed > expiry(meta) {
                // Only the expiry changes, under the same sequence number:
                // a concurrent reader's pair stays valid. Losing this race
                // to a writer or another refresh is harmless.
                let _ = slot.meta.compare_exchange(meta, pack(seq(meta), renewed), Relaxed, Relaxed);
            }
            return Some(origin);
        }
        None
    }

    fn record(&self, session: &SessionKey, origin: u64, now: u64, idle_ttl: u32) {
        let bucket = self.bucket(session);
        let expires = deadline(now, idle_ttl);
        // The session's own slot, if it has one.
        for slot in bucket {
            if let Some((meta, tag, _)) = slot.read()
                && tag == session.hi
                && u64::from(expiry(meta)) > now
            {
                if slot.write(meta, session.hi, origin, expires) {
                    return;
                }
                break;
            }
        }
        // Else free slots first, then the one that expires soonest.
        let mut order: [(u32, usize, u64); WAYS] = [(u32::MAX, 0, 0); WAYS];
        for (i, slot) in bucket.iter().enumerate() {
            let meta = slot.meta.load(Relaxed);
            let rank = if u64::from(expiry(meta)) <= now { 0 } else { expiry(meta) };
            order[i] = (rank, i, meta);
        }
        order.sort_unstable_by_key(|&(rank, i, _)| (rank, i));
        for (_, i, meta) in order {
            if bucket[i].write(meta, session.hi, origin, expires) {
                return;
            }
        }
    }

    fn remove(&self, session: &SessionKey) {
        for slot in self.bucket(session) {
            if let Some((meta, tag, _)) = slot.read()
                && tag == session.hi
                && expiry(meta) != 0
            {
                slot.write(meta, 0, 0, 0);
            }
        }
    }
}

impl fmt::Debug for MemorySessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemorySessionStore").field("capacity", &self.capacity()).finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn key(i: u64) -> SessionKey {
        SessionKey { hi: crate::hash::mix64(i ^ 0xabc), lo: crate::hash::mix64(i) }
    }

    #[test]
    fn sessions_live_while_used_and_expire_when_idle() {
        let store = MemorySessionStore::new(64);
        let k = key(1);
        assert_eq!(store.lookup(&k, 1_000, 30), None);
        store.record(&k, 77, 1_000, 30);
        assert_eq!(store.lookup(&k, 1_029, 30), Some(77), "used within 30 s");
        assert_eq!(store.lookup(&k, 1_058, 30), Some(77), "the hit at 1029 renewed it");
        assert_eq!(store.lookup(&k, 1_088, 30), None, "idle for 30 s");
        store.record(&k, 78, 2_000, 30);
        store.record(&k, 79, 2_001, 30);
        assert_eq!(store.lookup(&k, 2_002, 30), Some(79), "moved, not duplicated");
        assert_eq!(store.live(2_002), 1);
        store.remove(&k);
        assert_eq!(store.lookup(&k, 2_002, 30), None);
    }

    #[test]
    fn memory_is_bounded_and_the_oldest_sessions_go_first() {
        let store = MemorySessionStore::new(1_000);
        assert_eq!(store.capacity(), 1_024);
        assert_eq!(store.heap_bytes(), 1_024 * SLOT_BYTES);
        for i in 0..100_000u64 {
            store.record(&key(i), i, 10_000 + i / 100, 3_600);
        }
        assert!(store.live(11_000) <= 1_024);
        // The most recent sessions are there; the first ones were evicted.
        let recent = (99_000..100_000).filter(|&i| store.lookup(&key(i), 11_000, 3_600) == Some(i)).count();
        let old = (0..1_000).filter(|&i| store.lookup(&key(i), 11_000, 3_600).is_some()).count();
        assert!(recent > 600, "{recent}");
        assert_eq!(old, 0);
    }

    #[test]
    fn keys_round_trip_through_bytes() {
        let k = key(5);
        assert_eq!(SessionKey::from_bytes(k.to_bytes()), k);
    }

    #[test]
    fn threads_never_see_another_sessions_origin() {
        let store = std::sync::Arc::new(MemorySessionStore::new(8));
        let threads: std::vec::Vec<_> = (0..2u64)
            .map(|t| {
                let store = std::sync::Arc::clone(&store);
                std::thread::spawn(move || {
                    for i in 0..50_000u64 {
                        let s = i % 40 + t * 40;
                        store.record(&key(s), s, 1_000, 60);
                        if let Some(origin) = store.lookup(&key(s), 1_000, 60) {
                            assert_eq!(origin, s);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
}
