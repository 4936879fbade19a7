//! Tight loops over runs of same-length UTF-8 sequences: the common shape
//! of non-ASCII text (a Cyrillic or Greek word is a run of 2-byte
//! sequences, a CJK sentence a run of 3-byte ones).
//!
//! Each loop looks at one little-endian 4-byte word per step, checks the
//! well-formedness of the sequences in it with a mask, and stores each
//! sequence's uppercase (or its own bytes) with one fixed-size store. It
//! stops at anything else (ASCII, another length, ill-formed bytes, fewer
//! than four bytes left) and the codec's general loop takes over there, so
//! a run loop never has to be right about anything but its own case.

use crate::case::{upper_three_byte, upper_two_byte};
use crate::sink::Sink;

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

/// Uppercases the run of well-formed 2-byte sequences at the start of
/// `src` and returns how many bytes it took (even). Unrolled by two: one
/// word load and mask serve both sequences it holds.
#[inline(always)]
pub(crate) fn two_byte_run(sink: &mut Sink<'_>, src: &[u8]) -> usize {
    let mut n = 0;
    while let Some(&bytes) = src[n..].first_chunk::<4>() {
        let word = u32::from_le_bytes(bytes);
        if !is_two_byte(word) {
            break;
        }
        let (upper, len) = upper_two_byte(bytes[0], bytes[1]);
        sink.push_word(upper, len);
        n += 2;
        if !is_two_byte(word >> 16) {
            break;
        }
        let (upper, len) = upper_two_byte(bytes[2], bytes[3]);
        sink.push_word(upper, len);
        n += 2;
    }
    n
}

/// Uppercases the run of well-formed 3-byte sequences at the start of
/// `src` (with at least one byte after each) and returns how many bytes it
/// took (a multiple of 3).
#[inline(always)]
pub(crate) fn three_byte_run(sink: &mut Sink<'_>, src: &[u8]) -> usize {
    let mut n = 0;
    while let Some(&bytes) = src[n..].first_chunk::<4>() {
        if !is_three_byte(u32::from_le_bytes(bytes)) {
            break;
        }
        let Some((upper, len)) = upper_three_byte(bytes) else {
            break;
        };
        sink.push_word(upper, len);
        n += 3;
    }
    n
}
