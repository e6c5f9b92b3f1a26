//! The atomics and `Arc` of the health registry and the session store, swapped for loom's under
//! `--cfg loom` so that `tests/loom.rs` can model-check every interleaving
//! of the code the project writes itself (arc-swap has its own tests).

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, fence};

#[cfg(not(loom))]
pub(crate) use alloc::sync::Arc;
#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, fence};
