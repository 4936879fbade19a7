//! Tight loops over the common shapes of non-ASCII text: runs of same-length
//! UTF-8 sequences (a Cyrillic or Greek word is a run of 2-byte sequences,
//! a CJK sentence a run of 3-byte ones, emoji come in runs of 4-byte ones),
//! and Western European text, ASCII
//! with letters from U+0080..U+00FF (`é`, `ß`), 64 bytes at a time.
//!
//! Each loop looks at one little-endian 4-byte word per step, checks the
//! well-formedness of the sequences in it with a mask, and stores each
//! sequence's uppercase (or its own bytes) with one fixed-size store. It
//! stops at anything else (ASCII, another length, ill-formed bytes, fewer
//! than four bytes left) and the codec's general loop takes over there, so
//! a run loop never has to be right about anything but its own case.

use super::case::{upper_four_byte, upper_three_byte, upper_two_byte};
use super::sink::{Sink, Slot};

/// Bytes 0–1 of a word are a 2-byte lead (C0..=DF) and a continuation byte.
const TWO_MASK: u32 = 0xC0E0;
const TWO: u32 = 0x80C0;
/// Bits of a 2-byte lead that are all zero only for C0 and C1, which
/// would encode overlongs.
const NOT_OVERLONG: u32 = 0x1E;

/// Bytes 0–2 of a word are a 3-byte lead (E0..=EF) and two continuation
/// bytes.
const THREE_MASK: u32 = 0x00C0_C0F0;
const THREE: u32 = 0x0080_80E0;

/// Bytes 0–3 of a word are a 4-byte lead (F0..=F7) and three continuation
/// bytes.
const FOUR_MASK: u32 = 0xC0C0_C0F8;
const FOUR: u32 = 0x8080_80F0;

/// Whether bytes 0–1 of `word` are a well-formed 2-byte sequence.
#[inline(always)]
pub(crate) fn is_two_byte(word: u32) -> bool {
    word & TWO_MASK == TWO && word & NOT_OVERLONG != 0
}

/// Whether bytes 0–2 of `word` have the shape of a 3-byte sequence (an
/// overlong or a surrogate still needs [`upper_three_byte`] to tell).
#[inline(always)]
pub(crate) fn is_three_byte(word: u32) -> bool {
    word & THREE_MASK == THREE
}

/// Whether bytes 0–3 of `word` have the shape of a 4-byte sequence (an
/// overlong or a value past U+10FFFF still needs [`upper_four_byte`] to
/// tell).
#[inline(always)]
pub(crate) fn is_four_byte(word: u32) -> bool {
    word & FOUR_MASK == FOUR
}

/// Uppercases the run of well-formed 2-byte sequences at the start of
/// `src` and returns how many bytes it took (even). Unrolled by two: one
/// word load and mask serve both sequences it holds.
#[inline(always)]
pub(crate) fn two_byte_run<S: Slot>(sink: &mut Sink<'_, S>, src: &[u8]) -> usize {
    let mut n = 0;
    while let Some(&bytes) = src[n..].first_chunk::<4>() {
        let word = u32::from_le_bytes(bytes);
        if !is_two_byte(word) {
            break;
        }
        let (upper, len) = upper_two_byte(bytes[0], bytes[1]);
        sink.push_array(upper, len);
        n += 2;
        if !is_two_byte(word >> 16) {
            break;
        }
        let (upper, len) = upper_two_byte(bytes[2], bytes[3]);
        sink.push_array(upper, len);
        n += 2;
    }
    n
}

/// Uppercases the run of well-formed 3-byte sequences at the start of
/// `src` (with at least one byte after each) and returns how many bytes it
/// took (a multiple of 3).
#[inline(always)]
pub(crate) fn three_byte_run<S: Slot>(sink: &mut Sink<'_, S>, src: &[u8]) -> usize {
    run_of::<S, 3>(sink, src, |bytes| {
        if is_three_byte(u32::from_le_bytes(bytes)) {
            upper_three_byte(bytes)
        } else {
            None
        }
    })
}

/// Uppercases the run of well-formed 4-byte sequences (emoji, historic
/// scripts) at the start of `src` and returns how many bytes it took (a
/// multiple of 4).
#[inline(always)]
pub(crate) fn four_byte_run<S: Slot>(sink: &mut Sink<'_, S>, src: &[u8]) -> usize {
    run_of::<S, 4>(sink, src, |bytes| {
        if is_four_byte(u32::from_le_bytes(bytes)) {
            upper_four_byte(bytes)
        } else {
            None
        }
    })
}

/// The loop of [`three_byte_run`] and [`four_byte_run`]: while the four
/// bytes in view start a `LEN`-byte sequence that `upper` accepts, store
/// what it returns and step over the sequence.
#[inline(always)]
fn run_of<S: Slot, const LEN: usize>(
    sink: &mut Sink<'_, S>,
    src: &[u8],
    upper: impl Fn([u8; 4]) -> Option<([u8; 8], usize)>,
) -> usize {
    let mut n = 0;
    while let Some(&bytes) = src[n..].first_chunk::<4>() {
        let Some((upper, len)) = upper(bytes) else {
            break;
        };
        sink.push_array(upper, len);
        n += LEN;
    }
    n
}
