//! The limits the compiler enforces.
//!
//! Each bounds the memory or time something can cost, and a configuration
//! that breaks one is rejected with a path, never truncated. Cloudflare's
//! own plan limits are far lower (20 pools, one custom rule per load
//! balancer outside Enterprise); these are the library's ceilings.

/// CNAME records followed from a hostname to a load balancer.
pub const CNAME_DEPTH: usize = 16;

/// Pools in one list (`default_pools`, a geo entry, a rule override, a pool
/// set). Steering keeps its per-request bookkeeping for a list on the stack.
pub const POOLS_PER_LIST: usize = 256;

/// Origins in one pool.
pub const ORIGINS_PER_POOL: usize = 65_535;

/// Custom rules on one load balancer.
pub const RULES_PER_LOAD_BALANCER: usize = 1_000;

/// Pool sets on one load balancer (Cloudflare's own limit).
pub const POOL_SETS_PER_LOAD_BALANCER: usize = 1_000;

/// Entries in one pool-set topology list (Cloudflare's own limit).
pub const TOPOLOGY_ENTRIES: usize = 1_000;

/// Origin Rules in an account.
pub const ORIGIN_RULES: usize = 1_000;

/// Hostnames that route: load balancer names plus CNAME records.
pub const HOSTNAMES: usize = 1_000_000;

/// Characters in one Rules-language expression (Cloudflare's own limit). The
/// expression engine's other limits (nesting, set sizes, regex sizes) are
/// listed in [`expr`](crate::expr#limits).
pub const EXPRESSION_LEN: usize = crate::expr::MAX_EXPRESSION_LEN;

/// Characters in a fixed response body (Cloudflare's own limit).
pub const FIXED_RESPONSE_BODY: usize = 1_024;
