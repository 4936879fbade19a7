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

use crate::case::{upper_four_byte, upper_three_byte, upper_two_byte};
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
pub(crate) fn three_byte_run(sink: &mut Sink<'_>, src: &[u8]) -> usize {
    run_of::<3>(sink, src, |bytes| {
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
pub(crate) fn four_byte_run(sink: &mut Sink<'_>, src: &[u8]) -> usize {
    run_of::<4>(sink, src, |bytes| {
        if u32::from_le_bytes(bytes) & FOUR_MASK == FOUR {
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
fn run_of<const LEN: usize>(
    sink: &mut Sink<'_>,
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

/// The lead byte of every scalar in U+00C0..U+00FF, the Latin-1 letters.
const LATIN1_LEAD: u8 = 0xC3;

/// Bytes per step of [`latin1_run`].
const LATIN1_BLOCK: usize = 64;

/// Uppercases the stretch of ASCII and U+00C0..U+00FF characters at the
/// start of `src`, a whole block per step, and returns how many bytes it
/// took: up to the first byte that is anything else, or up to the last
/// character boundary before the end of the blocks it could see.
///
/// Every such character keeps its UTF-8 length when uppercased (`é` C3 A9
/// → `É` C3 89, `ß` C3 9F → `SS`, `ÿ` C3 BF → `Ÿ` C5 B8), so each output
/// byte depends only on the input byte and its two neighbours, a rule the
/// compiler turns into vector code.
#[inline(always)]
pub(crate) fn latin1_run(sink: &mut Sink<'_>, src: &[u8]) -> usize {
    let mut n = 0;
    while let Some(block) = src[n..].first_chunk::<LATIN1_BLOCK>() {
        let (upper, taken) = latin1_block(block);
        sink.push_array(upper, taken);
        n += taken;
        // Short of the block (less a lead at its end): something else is next.
        if taken < LATIN1_BLOCK - 1 {
            break;
        }
    }
    n
}

/// The uppercase of `block` (which starts on a character boundary) and how
/// many of its bytes that covers: up to its first byte that is not part of
/// an ASCII or U+00C0..U+00FF character within the block. (A lead in the
/// last byte counts as such a byte: its character belongs to the next
/// block.)
#[inline(always)]
fn latin1_block(block: &[u8; LATIN1_BLOCK]) -> ([u8; LATIN1_BLOCK], usize) {
    // Each byte with its neighbours: window[k], [k + 1], [k + 2].
    let mut window = [0u8; LATIN1_BLOCK + 2];
    window[1..=LATIN1_BLOCK].copy_from_slice(block);
    let mut upper = [0u8; LATIN1_BLOCK];
    let mut bad = [0u8; LATIN1_BLOCK];
    // Branch-free per byte, with all-ones / all-zero byte masks, so the
    // loop vectorises.
    let all = |b: bool| 0u8.wrapping_sub(u8::from(b));
    let is_cont = |b: u8| all(b & 0xC0 == 0x80);
    for k in 0..LATIN1_BLOCK {
        let (before, byte, next) = (window[k], window[k + 1], window[k + 2]);
        let lead = all(byte == LATIN1_LEAD);
        let after_lead = all(before == LATIN1_LEAD);
        let ascii = all(byte < 0x80);
        bad[k] = !(ascii | lead & is_cont(next) | after_lead & is_cont(byte));
        // a..z, and à..þ except ÷ (U+00F7) after a lead, lose bit 5.
        let ascii_lower = all(byte.wrapping_sub(b'a') < 26);
        let latin1_lower = after_lead & all(byte.wrapping_sub(0xA0) < 0x1F) & !all(byte == 0xB7);
        let mut out = byte ^ ((ascii_lower | latin1_lower) & 0x20);
        // ß C3 9F → S S; ÿ C3 BF → Ÿ C5 B8.
        let sharp_s = lead & all(next == 0x9F) | after_lead & all(byte == 0x9F);
        out = out & !sharp_s | b'S' & sharp_s;
        let y_lead = lead & all(next == 0xBF);
        out = out & !y_lead | 0xC5 & y_lead;
        let y_cont = after_lead & all(byte == 0xBF);
        out = out & !y_cont | 0xB8 & y_cont;
        upper[k] = out;
    }
    let any_bad = bad.iter().fold(0, |any, &b| any | b);
    let first_bad = if any_bad == 0 {
        None
    } else {
        bad.iter().position(|&b| b != 0)
    };
    (upper, first_bad.unwrap_or(LATIN1_BLOCK))
}
