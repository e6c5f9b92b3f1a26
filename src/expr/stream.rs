//! String values as byte streams.
//!
//! A string value that is not one borrowed slice (a function result, the URI
//! with its query, a header name that must be lower-cased) is produced piece
//! by piece into a [`Sink`]: transformations are sink adapters that rewrite
//! the bytes on the fly through small stack buffers, and comparisons are
//! sinks that consume the bytes. Nothing here allocates.

/// Something that consumes a string value piece by piece.
pub(crate) trait Sink {
    /// Takes the next piece of the value.
    fn push(&mut self, bytes: &[u8]);

    /// Whether further pieces cannot change the outcome; producers may stop
    /// early (they must still report whether the value is present).
    fn full(&self) -> bool {
        false
    }
}

/// Counts bytes (`len()` of a transformed value).
#[derive(Default)]
pub(crate) struct CountSink(pub(crate) u64);

impl Sink for CountSink {
    #[inline]
    fn push(&mut self, bytes: &[u8]) {
        self.0 += bytes.len() as u64;
    }
}

/// Size of the scratch buffer byte-mapping adapters rewrite through.
const CHUNK: usize = 64;

/// Applies a byte-to-byte map (ASCII lower or upper case).
pub(crate) struct MapSink<'s> {
    pub(crate) out: &'s mut dyn Sink,
    pub(crate) map: fn(&u8) -> u8,
}

impl Sink for MapSink<'_> {
    fn push(&mut self, bytes: &[u8]) {
        let mut buf = [0u8; CHUNK];
        for piece in bytes.chunks(CHUNK) {
            if self.out.full() {
                return;
            }
            for (dst, src) in buf.iter_mut().zip(piece) {
                *dst = (self.map)(src);
            }
            self.out.push(&buf[..piece.len()]);
        }
    }

    fn full(&self) -> bool {
        self.out.full()
    }
}

/// Drops the bytes of a set (`remove_bytes`).
pub(crate) struct RemoveSink<'s> {
    pub(crate) out: &'s mut dyn Sink,
    pub(crate) remove: &'s [bool; 256],
}

impl Sink for RemoveSink<'_> {
    fn push(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && !self.out.full() {
            let keep = bytes.iter().position(|&b| self.remove[usize::from(b)]).unwrap_or(bytes.len());
            if keep > 0 {
                self.out.push(&bytes[..keep]);
            }
            let drop = bytes[keep..].iter().take_while(|&&b| self.remove[usize::from(b)]).count();
            bytes = &bytes[keep + drop..];
        }
    }

    fn full(&self) -> bool {
        self.out.full()
    }
}

/// Passes on bytes `skip..skip + take` of the value (`substring`).
pub(crate) struct RangeSink<'s> {
    pub(crate) out: &'s mut dyn Sink,
    pub(crate) skip: u64,
    pub(crate) take: u64,
}

impl Sink for RangeSink<'_> {
    fn push(&mut self, bytes: &[u8]) {
        let len = bytes.len() as u64;
        if self.skip >= len {
            self.skip -= len;
            return;
        }
        // Both fit in usize: `skip < len` and `take` is clamped to the rest.
        let start = self.skip as usize;
        let rest = &bytes[start..];
        let n = (rest.len() as u64).min(self.take) as usize;
        self.skip = 0;
        self.take -= n as u64;
        if n > 0 {
            self.out.push(&rest[..n]);
        }
    }

    fn full(&self) -> bool {
        self.take == 0 || self.out.full()
    }
}

/// Writes an integer in decimal (`concat` of an `Int`).
pub(crate) fn push_int(sink: &mut dyn Sink, n: i64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut m = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    if n < 0 {
        sink.push(b"-");
    }
    sink.push(&buf[i..]);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Collects everything (tests only).
    #[derive(Default)]
    pub(crate) struct VecSink(pub(crate) Vec<u8>);

    impl Sink for VecSink {
        fn push(&mut self, bytes: &[u8]) {
            self.0.extend_from_slice(bytes);
        }
    }

    #[test]
    fn adapters() {
        let mut out = VecSink::default();
        let long: Vec<u8> = (0..200u8).map(|i| b'A' + i % 26).collect();
        MapSink { out: &mut out, map: u8::to_ascii_lowercase }.push(&long);
        assert_eq!(out.0, long.to_ascii_lowercase());

        let mut out = VecSink::default();
        let mut remove = [false; 256];
        remove[usize::from(b'.')] = true;
        remove[usize::from(b'w')] = true;
        let mut sink = RemoveSink { out: &mut out, remove: &remove };
        sink.push(b"www.exa");
        sink.push(b"mple.com.");
        assert_eq!(out.0, b"examplecom");

        let mut out = VecSink::default();
        let mut sink = RangeSink { out: &mut out, skip: 3, take: 4 };
        for piece in [&b"as"[..], b"dfg", b"", b"hjk"] {
            sink.push(piece);
        }
        assert!(sink.full());
        assert_eq!(out.0, b"fghj");

        for n in [0, 7, -7, i64::MAX, i64::MIN] {
            let mut out = VecSink::default();
            push_int(&mut out, n);
            assert_eq!(out.0, alloc::format!("{n}").into_bytes());
        }
    }
}
