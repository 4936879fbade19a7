//! Writing straight into output space: a `BytesMut`'s spare capacity
//! (`feed`) or a caller's slice (`feed_into`).
//!
//! The hot loops write each output byte once, into memory reserved up front,
//! instead of zero-filling first or checking capacity per byte. They also
//! write whole blocks and words past the bytes they keep (into [`SLACK`]),
//! which turns variable-length copies into fixed-size stores. Its one
//! `unsafe` is a `set_len` over bytes [`Sink`] has initialised; the codec's
//! others are the CPU dispatch (`dispatch.rs`) and the intrinsics kernels
//! (`x86.rs`).
//!
//! [`Sink`] is generic over its [`Slot`] type: `MaybeUninit<u8>` for spare
//! capacity, `u8` for a caller's `&mut [u8]` (which cannot be viewed as
//! uninitialised memory safely). Either way a write is one inlined store.

use core::mem::MaybeUninit;

#[cfg(feature = "alloc")]
use bytes::BytesMut;

use super::block::{high_bits, prefetch, BLOCK};
use super::case::ascii_upper;

/// Bytes uppercased per step in the ASCII fast path: one word for the short
/// runs of mixed text, then long (vectorised) blocks for long runs.
const WORD: usize = 8;
const LONG_BLOCK: usize = 2 * BLOCK;

/// How far ahead of a long block the ASCII run [`prefetch`]es its input:
/// farther than the block path, as it runs faster.
const PREFETCH: usize = 4096;

/// Scratch room past the output bound for the fixed-size stores of
/// [`Sink::push_array`] (up to a whole block of the block path) and of
/// ASCII words.
pub(crate) const SLACK: usize = 64;

/// A byte of output space the hot loops can store into. Crate-private, so
/// sealed: only the two impls below exist.
pub(crate) trait Slot {
    /// Stores `byte` in this slot.
    fn set(&mut self, byte: u8);
}

impl Slot for u8 {
    #[inline(always)]
    fn set(&mut self, byte: u8) {
        *self = byte;
    }
}

impl Slot for MaybeUninit<u8> {
    #[inline(always)]
    fn set(&mut self, byte: u8) {
        self.write(byte);
    }
}

/// An append-only cursor over reserved output slots (by default
/// uninitialised memory).
pub(crate) struct Sink<'a, S: Slot = MaybeUninit<u8>> {
    buf: &'a mut [S],
    len: usize,
}

impl<'a, S: Slot> Sink<'a, S> {
    /// A cursor at the start of `buf`. Writers need [`SLACK`] slots past
    /// the most they keep (see `Codec::max_output_len`).
    #[inline(always)]
    pub(crate) fn new(buf: &'a mut [S]) -> Self {
        Sink { buf, len: 0 }
    }

    /// Bytes kept so far: the first `len()` slots are written.
    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Moves the cursor out, leaving `self` empty until it is assigned back.
    ///
    /// A hot loop works on the moved-out copy, a local whose fields can live
    /// in registers: through `&mut Sink`, every byte stored into the output
    /// may alias the cursor itself, and the compiler reloads it after each.
    #[inline(always)]
    pub(crate) fn take(&mut self) -> Sink<'a, S> {
        Sink {
            buf: core::mem::take(&mut self.buf),
            len: self.len,
        }
    }

    /// Appends `bytes` (1 to 4 of them: an ill-formed subpart, U+FFFD, a
    /// character without case) with one fixed-size store, without the
    /// `memcpy` call a variable-length copy costs.
    #[inline(always)]
    pub(crate) fn push_short(&mut self, bytes: &[u8]) {
        debug_assert!((1..=4).contains(&bytes.len()));
        let at = |k: usize| bytes.get(k).copied().unwrap_or(0);
        self.push_array([bytes[0], at(1), at(2), at(3)], bytes.len());
    }

    /// Appends the first `len` (at most `N`) bytes of `bytes`, storing all
    /// `N` (the rest lands in the slack and is overwritten later).
    #[inline(always)]
    pub(crate) fn push_array<const N: usize>(&mut self, bytes: [u8; N], len: usize) {
        debug_assert!(len <= N && N <= SLACK);
        let dst = self.buf[self.len..].first_chunk_mut::<N>().unwrap();
        for k in 0..N {
            dst[k].set(bytes[k]);
        }
        self.len += len;
    }

    /// Appends the ASCII uppercase of all of `src` (non-ASCII bytes unchanged).
    #[inline(always)]
    pub(crate) fn push_ascii_upper(&mut self, src: &[u8]) {
        let dst = &mut self.buf[self.len..self.len + src.len()];
        for (d, &s) in dst.iter_mut().zip(src) {
            d.set(ascii_upper(s));
        }
        self.len += src.len();
    }

    /// Uppercases the ASCII run at the start of `src` until the first
    /// non-ASCII byte or the end, and returns how many bytes it took.
    ///
    /// Works a block at a time: each block is uppercased and stored whole,
    /// then only its ASCII prefix is kept. A short first block serves the
    /// short runs of mixed text; long blocks then serve long runs.
    #[inline(always)]
    pub(crate) fn ascii_run(&mut self, src: &[u8]) -> usize {
        let mut n = 0;
        // One word first, so a short run costs one small step.
        if let Some(stop) = self.ascii_word(src, &mut n) {
            return stop;
        }
        // A long run: its stores start on a cache line, so that none is
        // split across two (at AVX-512 a block's store is a whole line).
        // One block, of which only the bytes up to the line are kept.
        let to_line = (self.buf[self.len + n..].as_ptr() as usize).wrapping_neg() % BLOCK;
        if to_line != 0 && src.len() - n >= 2 * LONG_BLOCK {
            let block = src[n..].first_chunk::<BLOCK>().unwrap();
            let dst = self.buf[self.len + n..].first_chunk_mut::<BLOCK>().unwrap();
            if !ascii_block::<S, BLOCK>(block, dst) {
                let n = n + high_bits(block).trailing_zeros() as usize;
                self.len += n;
                return n;
            }
            n += to_line;
        }
        // Input and output blocks side by side, bounds checked once.
        let dst = &mut self.buf[self.len + n..self.len + src.len()];
        let blocks = src[n..].chunks_exact(LONG_BLOCK);
        for (block, dst) in blocks.zip(dst.chunks_exact_mut(LONG_BLOCK)) {
            prefetch::<PREFETCH>(block);
            if !ascii_block::<S, LONG_BLOCK>(block.try_into().unwrap(), dst.try_into().unwrap()) {
                // Keep the block's ASCII prefix. (A free function: passing
                // `self` to a call would pin the cursor in memory.)
                let n = n + ascii_prefix_len(block.try_into().unwrap());
                self.len += n;
                return n;
            }
            n += LONG_BLOCK;
        }
        while src.len() - n >= WORD {
            if let Some(stop) = self.ascii_word(src, &mut n) {
                return stop;
            }
        }
        for &s in &src[n..] {
            if s >= 0x80 {
                break;
            }
            self.buf[self.len + n].set(ascii_upper(s));
            n += 1;
        }
        self.len += n;
        n
    }

    /// Uppercases the word at `src[*n..]`: returns the run's length if the
    /// run ends in it, else advances `*n` past it (or leaves it when fewer
    /// than a word's bytes are left).
    #[inline(always)]
    fn ascii_word(&mut self, src: &[u8], n: &mut usize) -> Option<usize> {
        let word = u64::from_le_bytes(*src[*n..].first_chunk::<WORD>()?);
        let at = self.len + *n;
        let dst = self.buf[at..].first_chunk_mut::<WORD>().unwrap();
        for (d, s) in dst.iter_mut().zip(swar_ascii_upper(word).to_le_bytes()) {
            d.set(s);
        }
        let high = word & 0x8080_8080_8080_8080;
        if high != 0 {
            // The lowest set bit marks the first non-ASCII byte.
            *n += high.trailing_zeros() as usize / 8;
            self.len += *n;
            return Some(*n);
        }
        *n += WORD;
        None
    }
}

/// Stores the ASCII uppercase of `block` in `dst`, and says whether the
/// whole block was ASCII.
#[inline(always)]
fn ascii_block<S: Slot, const B: usize>(block: &[u8; B], dst: &mut [S; B]) -> bool {
    let mut any = 0;
    for k in 0..B {
        any |= block[k];
        dst[k].set(ascii_upper(block[k]));
    }
    any < 0x80
}

/// How many bytes of `block` come before its first non-ASCII byte (which
/// it has): from one bit per byte, with no branch per word, as the runs of
/// mixed text end anywhere in a long block and a chain of branches would
/// guess wrong at almost every run's end.
#[inline(always)]
fn ascii_prefix_len(block: &[u8; LONG_BLOCK]) -> usize {
    let (low, high) = block.split_at(BLOCK);
    let bits = |half: &[u8]| u128::from(high_bits(half.try_into().unwrap()));
    ((bits(high) << BLOCK) | bits(low)).trailing_zeros() as usize
}

/// Uppercases the ASCII bytes of a little-endian word, 8 at a time.
///
/// Exact for every byte before the first non-ASCII one: a byte of 0x80 or
/// more can carry into the bytes after it, never into those before, and
/// only the prefix before it is kept.
#[inline(always)]
const fn swar_ascii_upper(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let from_a = word.wrapping_add(ONES * (0x80 - b'a' as u64)); // high bit: b >= 'a'
    let past_z = word.wrapping_add(ONES * (0x80 - b'z' as u64 - 1)); // high bit: b > 'z'
    let lower = from_a & !past_z & (ONES * 0x80);
    word ^ (lower >> 2)
}

/// Reserves room for `max` bytes at the end of `out`, lets `f` append up to
/// that many through a [`Sink`], and keeps exactly what it appended.
#[cfg(feature = "alloc")]
pub(crate) fn with_sink<R>(
    out: &mut BytesMut,
    max: usize,
    f: impl FnOnce(&mut Sink<'_>) -> R,
) -> R {
    out.reserve(max + SLACK);
    let mut sink = Sink::new(&mut out.spare_capacity_mut()[..max + SLACK]);
    let result = f(&mut sink);
    let kept = sink.len;
    debug_assert!(kept <= max, "output bound exceeded");
    // SAFETY: `Sink` only advances `len` over slots of `buf` it has already
    // initialised with `Slot::set`, that is `MaybeUninit::write` (stores
    // past `len` are scratch),
    // and `buf` lies within `out`'s spare capacity, so the first `kept`
    // spare bytes are initialised.
    unsafe { out.set_len(out.len() + kept) };
    result
}
