//! Optional `tracing` events (the `tracing` feature): the call sites stay
//! free of `cfg`, and without the feature they compile to nothing.
//!
//! | event | level | where |
//! |---|---|---|
//! | a table installed (generation, sizes), and each compile warning | `info`, `warn` | `lbsteer::router` |
//! | a configuration rejected, with every error and its path | `warn` | `lbsteer::router` |
//! | each decision (host, load balancer, pool, origin, address, port) | `trace` | `lbsteer::router` |
//! | each health transition of an origin or a pool, with its cause | `info` | `lbsteer::health::checker` |

/// Emits a `tracing` event at `$level` (`trace`, `debug`, `info`, `warn`,
/// `error`) with `tracing`'s own field syntax; nothing without the feature.
#[cfg(feature = "tracing")]
macro_rules! event {
    ($level:ident, $($arg:tt)*) => {
        tracing::$level!($($arg)*)
    };
}

#[cfg(not(feature = "tracing"))]
macro_rules! event {
    ($level:ident, $($arg:tt)*) => {};
}

pub(crate) use event;
