//! Affinity tokens: the value of the `__cflb` cookie.
//!
//! # Format (version 1)
//!
//! 36 bytes, written as 48 characters of unpadded base64url (RFC 4648 §5):
//!
//! | bytes | field |
//! |---|---|
//! | 0 | version, `1` |
//! | 1..5 | issue time, Unix seconds, big-endian `u32` (until 2106) |
//! | 5..13 | the load balancer: a stable hash of its name, big-endian |
//! | 13..21 | the origin: a stable hash of its pool id and name (the origin's identity), big-endian |
//! | 21..36 | the tag: SipHash-2-4 with 128-bit output, keyed with the host's 128-bit key, over bytes 0..21, first 15 bytes |
//!
//! # Security properties
//!
//! - **Authenticity.** Only a holder of the key can make a tag that
//!   verifies: SipHash-2-4 is a pseudorandom function keyed with 128 bits,
//!   designed as a MAC for short messages. A forgery succeeds with
//!   probability 2⁻¹²⁰ per attempt. Tags are compared in constant time.
//! - **No server state.** Everything needed to honour a token is in it and
//!   in the compiled table, so any node with the key honours any node's
//!   tokens.
//! - **Binding.** A token names one load balancer; presented to another it
//!   is ignored. It names the origin by identity (pool id and origin
//!   name), never by a table index, so it survives reloads and differs
//!   between origins of the same address.
//! - **Expiry.** A token is honoured while `now < issued + ttl`, with the
//!   `session_affinity_ttl` in effect for the request (after custom rules);
//!   a token issued more than [`MAX_CLOCK_SKEW`] seconds in the future is
//!   ignored, so a stolen key's clock cannot mint long-lived tokens beyond
//!   that.
//! - **Canonical encoding.** 36 bytes is a multiple of 3: every valid token
//!   has exactly one spelling, and any other cookie value (a flipped bit, a
//!   truncation, padding, whitespace, non-ASCII) is rejected before the MAC
//!   is computed.
//! - **What it does not hide.** The fields are not encrypted: a client can
//!   see when its token was issued, and compare origin hashes. Neither is
//!   secret; the origin's address never appears.
//!
//! Whatever a client sends, verification returns an error value: it never
//! panics and never allocates.

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use siphasher::sip128::{Hasher128, SipHasher24};
use subtle::ConstantTimeEq;

/// The token format this build writes and reads.
pub(crate) const VERSION: u8 = 1;

/// Bytes in a token.
pub(crate) const TOKEN_BYTES: usize = 36;

/// Characters of a token in a cookie.
pub const TOKEN_CHARS: usize = 48;

/// Bytes covered by the tag.
const BODY_BYTES: usize = 21;

/// Bytes of the tag kept.
pub(crate) const TAG_BYTES: usize = TOKEN_BYTES - BODY_BYTES;

/// Seconds a token's issue time may lie ahead of the verifier's clock
/// (clock skew between the nodes of a fleet).
pub const MAX_CLOCK_SKEW: u64 = 300;

/// The secret that authenticates affinity tokens (and keys header
/// sessions): 128 bits.
///
/// Every node that should honour the same tokens needs the same key. Its
/// `Debug` output does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenKey([u8; 16]);

impl TokenKey {
    /// A key from 16 secret bytes (from a secret store, or
    /// [`random`](Self::random) on one node).
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        TokenKey(bytes)
    }

    /// A fresh random key from the operating system's generator. Tokens
    /// made with it hold only where the same key is configured.
    #[cfg(feature = "std")]
    pub fn random() -> Self {
        let mut bytes = [0u8; 16];
        if getrandom::fill(&mut bytes).is_err() {
            // No OS generator answered: fall back to the standard library's
            // OS-seeded hasher keys (128 bits of entropy per process).
            use std::hash::{BuildHasher, Hasher};
            for (i, half) in bytes.chunks_exact_mut(8).enumerate() {
                let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
                hasher.write_usize(i);
                half.copy_from_slice(&hasher.finish().to_le_bytes());
            }
        }
        TokenKey(bytes)
    }

    /// The key's bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    fn mac(&self, body: &[u8; BODY_BYTES]) -> [u8; 16] {
        let mut hasher = SipHasher24::new_with_key(&self.0);
        core::hash::Hasher::write(&mut hasher, body);
        hasher.finish128().as_bytes()
    }

    /// A fresh keyed hasher for header session keys; the caller writes a
    /// domain byte first that a token body (which starts with the version)
    /// never starts with.
    pub(crate) fn session_hasher(&self) -> SipHasher24 {
        SipHasher24::new_with_key(&self.0)
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

/// What a token says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    /// Unix seconds.
    pub(crate) issued: u32,
    /// The load balancer's stable hash.
    pub(crate) load_balancer: u64,
    /// The origin's identity.
    pub(crate) origin: u64,
}

/// Why a cookie value is not a token made with the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenError {
    /// Not 48 base64url characters of a version-1 token.
    Malformed,
    /// The tag does not match: forged, tampered with, or made with another
    /// key.
    Forged,
}

impl Token {
    fn body(&self) -> [u8; BODY_BYTES] {
        let mut body = [0u8; BODY_BYTES];
        body[0] = VERSION;
        body[1..5].copy_from_slice(&self.issued.to_be_bytes());
        body[5..13].copy_from_slice(&self.load_balancer.to_be_bytes());
        body[13..21].copy_from_slice(&self.origin.to_be_bytes());
        body
    }

    /// The token's tag under `key`.
    pub(crate) fn sign(&self, key: &TokenKey) -> [u8; TAG_BYTES] {
        let mut tag = [0u8; TAG_BYTES];
        tag.copy_from_slice(&key.mac(&self.body())[..TAG_BYTES]);
        tag
    }

    /// The token, signed with `key`, as cookie characters.
    #[cfg(test)]
    pub(crate) fn encode(&self, key: &TokenKey) -> [u8; TOKEN_CHARS] {
        self.encode_with_tag(&self.sign(key))
    }

    /// The token with its tag, as cookie characters.
    pub(crate) fn encode_with_tag(&self, tag: &[u8; TAG_BYTES]) -> [u8; TOKEN_CHARS] {
        let mut raw = [0u8; TOKEN_BYTES];
        raw[..BODY_BYTES].copy_from_slice(&self.body());
        raw[BODY_BYTES..].copy_from_slice(tag);
        let mut text = [0u8; TOKEN_CHARS];
        let written = URL_SAFE_NO_PAD.encode_slice(raw, &mut text);
        debug_assert_eq!(written, Ok(TOKEN_CHARS));
        text
    }

    /// Reads a cookie value: the token and whether `previous` (not `key`)
    /// verified it.
    pub(crate) fn verify(
        text: &[u8],
        key: &TokenKey,
        previous: Option<&TokenKey>,
    ) -> Result<(Token, bool), TokenError> {
        if text.len() != TOKEN_CHARS {
            return Err(TokenError::Malformed);
        }
        let mut raw = [0u8; TOKEN_BYTES];
        // Rejects characters outside the URL-safe alphabet, padding, and
        // (with 48 characters, a whole number of 4-character groups) any
        // second spelling of the same bytes.
        match URL_SAFE_NO_PAD.decode_slice_unchecked(text, &mut raw) {
            Ok(TOKEN_BYTES) => {}
            _ => return Err(TokenError::Malformed),
        }
        if raw[0] != VERSION {
            return Err(TokenError::Malformed);
        }
        let mut body = [0u8; BODY_BYTES];
        body.copy_from_slice(&raw[..BODY_BYTES]);
        let tag = &raw[BODY_BYTES..];
        let by_previous = if bool::from(key.mac(&body)[..TAG_BYTES].ct_eq(tag)) {
            false
        } else if previous.is_some_and(|p| bool::from(p.mac(&body)[..TAG_BYTES].ct_eq(tag))) {
            true
        } else {
            return Err(TokenError::Forged);
        };
        let u64_at = |at: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&body[at..at + 8]);
            u64::from_be_bytes(bytes)
        };
        let token = Token {
            issued: u32::from_be_bytes([body[1], body[2], body[3], body[4]]),
            load_balancer: u64_at(5),
            origin: u64_at(13),
        };
        Ok((token, by_previous))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> TokenKey {
        TokenKey::from_bytes(*b"0123456789abcdef")
    }

    fn token() -> Token {
        Token { issued: 1_764_000_000, load_balancer: 0x1122_3344_5566_7788, origin: 0x99aa_bbcc_ddee_ff00 }
    }

    #[test]
    fn round_trip() {
        let text = token().encode(&key());
        assert!(text.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_'));
        assert_eq!(Token::verify(&text, &key(), None), Ok((token(), false)));
    }

    #[test]
    fn the_previous_key_still_verifies_and_says_so() {
        let old = TokenKey::from_bytes([7; 16]);
        let text = token().encode(&old);
        assert_eq!(Token::verify(&text, &key(), None), Err(TokenError::Forged));
        assert_eq!(Token::verify(&text, &key(), Some(&old)), Ok((token(), true)));
    }

    #[test]
    fn every_single_bit_flip_is_rejected() {
        let text = token().encode(&key());
        for i in 0..text.len() {
            for bit in 0..8 {
                let mut bad = text;
                bad[i] ^= 1 << bit;
                assert!(Token::verify(&bad, &key(), None).is_err(), "byte {i} bit {bit}");
            }
        }
        // And of the decoded bytes: re-encoded without a fresh tag.
        let mut raw = [0u8; TOKEN_BYTES];
        URL_SAFE_NO_PAD.decode_slice(text, &mut raw).unwrap();
        for i in 0..TOKEN_BYTES {
            for bit in 0..8 {
                let mut bad = raw;
                bad[i] ^= 1 << bit;
                let mut bad_text = [0u8; TOKEN_CHARS];
                URL_SAFE_NO_PAD.encode_slice(bad, &mut bad_text).unwrap();
                assert!(Token::verify(&bad_text, &key(), None).is_err(), "raw byte {i} bit {bit}");
            }
        }
    }

    #[test]
    fn key_debug_is_redacted() {
        assert_eq!(alloc::format!("{:?}", key()), "TokenKey(..)");
    }
}
