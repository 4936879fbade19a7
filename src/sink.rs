//! Writing straight into a `BytesMut`'s spare capacity.
//!
//! The hot loops write each output byte once, into memory reserved up front,
//! instead of zero-filling first or checking capacity per byte. This is the
//! crate's only `unsafe`: a `set_len` over bytes [`Sink`] has initialised.

use core::mem::MaybeUninit;

use bytes::BytesMut;

use crate::case::ascii_upper;

/// Bytes uppercased per block in the ASCII fast path: wide enough for
/// LLVM to vectorise the test and the map, small enough to stop early.
const BLOCK: usize = 16;

/// An append-only cursor over reserved, uninitialised memory.
pub(crate) struct Sink<'a> {
    buf: &'a mut [MaybeUninit<u8>],
    len: usize,
}

impl Sink<'_> {
    /// Appends `bytes`. Panics (never writes out of bounds) if the caller
    /// reserved too little, which would be a broken `max_output_len` bound.
    #[inline]
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        let dst = &mut self.buf[self.len..self.len + bytes.len()];
        for (d, &s) in dst.iter_mut().zip(bytes) {
            d.write(s);
        }
        self.len += bytes.len();
    }

    /// Appends the ASCII uppercase of all of `src` (non-ASCII bytes unchanged).
    pub(crate) fn push_ascii_upper(&mut self, src: &[u8]) {
        let dst = &mut self.buf[self.len..self.len + src.len()];
        for (d, &s) in dst.iter_mut().zip(src) {
            d.write(ascii_upper(s));
        }
        self.len += src.len();
    }

    /// Uppercases the ASCII run at the start of `src` until the first
    /// non-ASCII byte or the end, and returns how many bytes it took.
    #[inline]
    pub(crate) fn ascii_run(&mut self, src: &[u8]) -> usize {
        let dst = &mut self.buf[self.len..];
        assert!(dst.len() >= src.len(), "sink reserved too little");
        let mut n = 0;
        for (s, d) in src.chunks_exact(BLOCK).zip(dst.chunks_exact_mut(BLOCK)) {
            let s: &[u8; BLOCK] = s.try_into().unwrap();
            if s.iter().fold(0, |acc, &b| acc | b) >= 0x80 {
                break;
            }
            for (d, &s) in d.iter_mut().zip(s) {
                d.write(ascii_upper(s));
            }
            n += BLOCK;
        }
        for (&s, d) in src[n..].iter().zip(&mut dst[n..]) {
            if s >= 0x80 {
                break;
            }
            d.write(ascii_upper(s));
            n += 1;
        }
        self.len += n;
        n
    }
}

/// Reserves `max` bytes at the end of `out`, lets `f` write up to that many
/// through a [`Sink`], and keeps exactly what it wrote.
pub(crate) fn with_sink<R>(out: &mut BytesMut, max: usize, f: impl FnOnce(&mut Sink<'_>) -> R) -> R {
    out.reserve(max);
    let mut sink = Sink {
        buf: &mut out.spare_capacity_mut()[..max],
        len: 0,
    };
    let result = f(&mut sink);
    let written = sink.len;
    // SAFETY: `Sink` only advances `len` over slots of `buf` it has just
    // initialised with `MaybeUninit::write`, and `buf` lies within `out`'s
    // spare capacity, so the first `written` spare bytes are initialised.
    unsafe { out.set_len(out.len() + written) };
    result
}
