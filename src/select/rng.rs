//! Randomness for weighted choices. The host may supply its own source; the
//! decision only ever asks for 64 random bits at a time.

/// A source of uniformly random 64-bit values.
///
/// Implement it over your own generator, or use [`FastRng`]. Seed it
/// deterministically in tests to make every random choice reproducible.
pub trait RandomSource {
    /// The next 64 random bits.
    fn next_u64(&mut self) -> u64;
}

impl<R: RandomSource + ?Sized> RandomSource for &mut R {
    fn next_u64(&mut self) -> u64 {
        (**self).next_u64()
    }
}

/// A small, fast, seedable generator (wyrand). Not cryptographic: it decides
/// load spreading, never anything secret.
#[derive(Clone, Debug)]
pub struct FastRng {
    state: u64,
}

impl FastRng {
    /// A generator seeded with `seed`; the same seed gives the same sequence.
    pub const fn new(seed: u64) -> Self {
        FastRng { state: seed }
    }
}

impl RandomSource for FastRng {
    #[inline]
    fn next_u64(&mut self) -> u64 {
        let (state, value) = wyrand_step(self.state);
        self.state = state;
        value
    }
}

/// One wyrand step: the next state and the value it yields.
#[inline]
pub(crate) fn wyrand_step(state: u64) -> (u64, u64) {
    let state = state.wrapping_add(0xa076_1d64_78bd_642f);
    let t = u128::from(state) * u128::from(state ^ 0xe703_7ed1_a0b4_28db);
    (state, (t >> 64) as u64 ^ t as u64)
}

/// A uniform value in `0..n` (`n > 0`), by multiply-shift: the bias is at
/// most `n / 2^64`, far below anything measurable.
#[inline]
pub(crate) fn below<R: RandomSource + ?Sized>(rng: &mut R, n: u64) -> u64 {
    debug_assert!(n > 0);
    ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_and_uniform_enough() {
        let mut a = FastRng::new(7);
        let mut b = FastRng::new(7);
        assert_eq!(a.next_u64(), b.next_u64());
        let mut counts = [0u32; 4];
        for _ in 0..40_000 {
            counts[below(&mut a, 4) as usize] += 1;
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "{counts:?}");
        }
    }
}
