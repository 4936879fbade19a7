//! The block path: 64 bytes per step, branch-free, for text in the scripts
//! whose characters keep their UTF-8 length when uppercased.
//!
//! A block is taken up to its first byte that is not part of a character
//! it knows:
//!
//! * ASCII;
//! * 2-byte sequences of Latin-1 (`é`, `ß` → `SS`, `ÿ` → `Ÿ`, `µ` → `Μ`),
//!   Latin Extended-A (`ł`, `š`), Greek (`ά`, `ς`), Cyrillic (`ж`, `ё`),
//!   spacing modifiers and combining marks, Hebrew, Arabic and the other
//!   caseless scripts up to U+07FF;
//! * 3- and 4-byte sequences in ranges of 64 (or 4096) scalars that have
//!   no case at all: CJK, kana, Hangul, Indic scripts, most punctuation
//!   and symbols, emoji.
//!
//! Turkish `ı` (C4 B1), which uppercases to the shorter `I`, is taken too:
//! the block drops its second byte from the output.
//!
//! Everything else (`ŉ`, `ſ`, `ΐ`, `ΰ`, which change length; the rest of
//! Latin Extended-B and Cyrillic; Armenian, Georgian, fullwidth Latin;
//! ill-formed bytes) stops the block, and the codec's run loops and general
//! decoder take over from there.
//!
//! Western text (ASCII, Latin-1, Latin Extended-A, caseless punctuation)
//! has a loop of its own at the levels with a kernel for it
//! (`western_run`), which leaves any other block to [`block_run`].
//!
//! Each output byte is a function of the input byte and its three
//! neighbours each side, written with byte masks rather than branches, a
//! rule the compiler turns into vector code. Every rule is checked against
//! std by the exhaustive tests (`codec::exhaustive`), which put every
//! scalar value, every byte pair and every class of 4-byte window at the
//! block's edges.

#[cfg(test)]
#[cfg(feature = "alloc")]
mod tests;

use super::case::{ascii_upper, upper_four_byte, upper_three_byte, upper_two_byte};
use super::dispatch::Simd;
use super::runs::{is_four_byte, is_three_byte, is_two_byte};
use super::sink::{Sink, Slot};

/// Bytes per step.
pub(crate) const BLOCK: usize = 64;

/// The byte indices of a block, 0..64, for masks by position.
pub(crate) const IOTA: [u8; BLOCK] = {
    let mut iota = [0u8; BLOCK];
    let mut k = 0;
    while k < BLOCK {
        iota[k] = k as u8;
        k += 1;
    }
    iota
};

/// The shortest input the block path copies into a block: below it, a
/// few characters one at a time cost less than a whole block.
const BLOCK_TAIL_MIN: usize = 16;

/// How far a byte's role can depend on its neighbours: the last byte of a
/// 4-byte sequence is 3 past its lead.
const REACH: usize = 3;

/// How far ahead of a block the block path [`prefetch`]es its input: far
/// enough for memory to answer in time, and well inside a read's buffer.
const PREFETCH: usize = 1024;

/// Asks the CPU to fetch the input `AHEAD` bytes past the start of `src`
/// into the cache. Text streamed from a large buffer (a file, a big read)
/// is otherwise waited for block after block: the vector loops run ahead
/// of the hardware prefetchers. A hint only: past the end of `src` it
/// fetches nothing useful, and never faults.
#[inline(always)]
pub(crate) fn prefetch<const AHEAD: usize>(src: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` (SSE, part of x86-64) reads nothing into a
    // register and never faults, whatever the address.
    unsafe {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(src.as_ptr().wrapping_add(AHEAD).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = src;
}

/// Uppercases the stretch of known characters at the start of `src`, a
/// whole block per step, and returns how many bytes it took: up to the
/// first byte that is anything else, or up to the last character boundary
/// before the end of `src`, or to where the text is ASCII again (for
/// [`Simd::ASCII_BLOCKS_TO_LEAVE`] blocks).
///
/// A well-formed character a block stops at (`ſ`, which uppercases to a
/// shorter one, `ΐ` or `ŉ` to longer ones, a cased letter outside the
/// block's rules) is taken by itself through the tables, and blocks go on
/// after it; two blocks in a row that stop at once (a script the block
/// does not know) end the run.
///
/// An input shorter than a block (but not very short) is copied into one,
/// so short messages take this path too.
#[inline(always)]
pub(crate) fn block_run<S: Slot, V: Simd>(simd: V, sink: &mut Sink<'_, S>, src: &[u8]) -> usize {
    let mut n = 0;
    let mut stopped_at_once = 0;
    let mut ascii_blocks = 0;
    let mut hint = GroupHint::default();
    loop {
        let rest = &src[n..];
        let (upper, len) = if let Some(block) = rest.first_chunk::<BLOCK>() {
            prefetch::<PREFETCH>(rest);
            let upper = upper_block(simd, block, &mut hint);
            // The usual case, every whole character known: the next block
            // starts after the last whole one, an address the CPU can
            // compute from the block's last bytes without waiting for the
            // rules (so several blocks are in flight at once).
            let whole = BLOCK - cut_at_end(block);
            if upper.taken >= whole {
                push_stretch(simd, sink, &upper, 0, whole);
                n += whole;
                // ASCII again (for long enough): the ASCII fast path is
                // faster at every level but AVX-512.
                if upper.ascii {
                    ascii_blocks += 1;
                    if ascii_blocks == V::ASCII_BLOCKS_TO_LEAVE {
                        return n;
                    }
                } else {
                    ascii_blocks = 0;
                }
                continue;
            }
            (upper, BLOCK)
        } else if rest.len() >= BLOCK_TAIL_MIN {
            // Zeros after the end are ASCII, so they would count as taken:
            // stop at the real end. A character cut by it is not taken.
            let mut block = [0u8; BLOCK];
            block[..rest.len()].copy_from_slice(rest);
            (upper_block(simd, &block, &mut hint), rest.len())
        } else {
            return n;
        };
        // The block's stretches of known text, and between them the
        // characters its rules do not know, one by one.
        let (mut at, mut stop) = (0, upper.taken.min(len));
        loop {
            push_stretch(simd, sink, &upper, at, stop);
            if stop == len {
                // All of it, with characters the rules do not know in it
                // (an ASCII block took the way above): not ASCII.
                n += len;
                if len < BLOCK {
                    return n;
                }
                ascii_blocks = 0;
                break;
            }
            if len == BLOCK && stop >= BLOCK - REACH {
                // A character the block's end cut: the next block.
                n += stop;
                break;
            }
            if stop == at {
                stopped_at_once += 1;
                if stopped_at_once == 2 {
                    return n + stop;
                }
            } else {
                stopped_at_once = 0;
            }
            let Some(char_len) = one_char(sink, &src[n + stop..]) else {
                return n + stop;
            };
            at = stop + char_len;
            if at >= len {
                n += at;
                break;
            }
            stop = first_bad_from(upper.bad, at).min(len);
        }
    }
}

/// The block path for Western text: uppercases the stretch of ASCII,
/// Latin-1, Latin Extended-A and caseless E2 characters (quotes, dashes,
/// arrows) at the start of `src` a block at a time with the level's
/// [`Simd::western_block`], and returns how many bytes it took: up to the
/// first block with anything else (which [`block_run`] then takes whole),
/// to the last block boundary before `src` ends, or to where the text is
/// ASCII again (for [`WESTERN_ASCII_BLOCKS_TO_LEAVE`] blocks). 0 where the
/// level has no such rules. `ext_a` (for text that starts with a Latin
/// Extended-A letter) runs those rules on every block. Only the AVX-512
/// level has them.
#[cfg(all(feature = "std", target_arch = "x86_64", not(upcase_portable)))]
#[inline(always)]
pub(crate) fn western_run<S: Slot, V: Simd>(
    simd: V,
    sink: &mut Sink<'_, S>,
    src: &[u8],
    ext_a: bool,
) -> usize {
    let mut n = 0;
    let mut ascii_blocks = 0;
    while let Some(block) = src[n..].first_chunk::<BLOCK>() {
        prefetch::<PREFETCH>(&src[n..]);
        let Some(upper) = simd.western_block(block, ext_a).map(Upper::from_kernel) else {
            return n;
        };
        let whole = BLOCK - cut_at_end(block);
        if upper.taken < whole {
            return n;
        }
        push_stretch(simd, sink, &upper, 0, whole);
        n += whole;
        // Counted without a branch, as ASCII blocks come and go at random.
        ascii_blocks = (ascii_blocks + 1) * usize::from(upper.ascii);
        if ascii_blocks == WESTERN_ASCII_BLOCKS_TO_LEAVE {
            return n;
        }
    }
    n
}

/// All-ASCII blocks in a row after which [`western_run`] goes back to the
/// ASCII fast path: more than the general block loop's, as its ASCII
/// blocks cost less, and text with an accent every few dozen bytes then
/// stays in it (German +8 % over 4, English unchanged).
#[cfg(all(feature = "std", target_arch = "x86_64", not(upcase_portable)))]
const WESTERN_ASCII_BLOCKS_TO_LEAVE: usize = 8;

/// How many bytes at the end of `block` belong to a character the end
/// cuts: 1 after a lead byte in the last place, 2 after a 3- or 4-byte
/// lead in the second last, 3 after a 4-byte lead in the third last.
///
/// Only a hint: a cut too small leaves the cut character's bytes to the
/// rules, which stop at them; one too large ends the block early. Neither
/// changes the output.
///
/// Branch-free, and from a load of its own: the compiler would otherwise
/// take the bytes out of the block's vector register, which puts the
/// vector load and two extracts on the path from one block to the next.
#[inline(always)]
fn cut_at_end(block: &[u8; BLOCK]) -> usize {
    // SAFETY: the pointer is to bytes 60..64 of the 64-byte `block`,
    // valid for reads, and `[u8; 4]` has alignment 1.
    let last = unsafe { core::ptr::read_volatile(block[60..].as_ptr().cast::<[u8; 4]>()) };
    let [_, a, b, c] = last;
    let one = usize::from(c >= 0xC0);
    let two = 2 * usize::from(b >= 0xE0);
    let three = 3 * usize::from(a >= 0xF0);
    one.max(two).max(three)
}

/// Appends the output of the block's bytes `at..stop` with one fixed-size
/// store: `upper.bytes[at..stop]`, less the bytes `upper.drop` leaves out.
#[inline(always)]
fn push_stretch<S: Slot>(
    simd: impl Simd,
    sink: &mut Sink<'_, S>,
    upper: &Upper,
    at: usize,
    stop: usize,
) {
    let bytes = if at == 0 {
        upper.bytes
    } else {
        simd.next_by(upper.bytes, at)
    };
    let len = stop - at;
    let drop = (upper.drop >> at) & low_bits(len);
    if drop == 0 {
        sink.push_array(bytes, len);
    } else {
        sink.push_array(
            simd.compress(bytes, !drop),
            len - drop.count_ones() as usize,
        );
    }
}

/// A mask of the low `n` (at most 64) bits.
#[inline(always)]
fn low_bits(n: usize) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1 << n) - 1
    }
}

/// Uppercases the one well-formed 2-, 3- or 4-byte sequence at the start of
/// `src` through the tables, and returns its length; `None` for anything
/// else (ill-formed bytes, fewer than four bytes in view).
#[inline(always)]
fn one_char<S: Slot>(sink: &mut Sink<'_, S>, src: &[u8]) -> Option<usize> {
    let &bytes = src.first_chunk::<4>()?;
    let word = u32::from_le_bytes(bytes);
    let (upper, len, src_len) = if is_two_byte(word) {
        let (upper, len) = upper_two_byte(bytes[0], bytes[1]);
        (upper, len, 2)
    } else if is_three_byte(word) {
        let (upper, len) = upper_three_byte(bytes)?;
        (upper, len, 3)
    } else if is_four_byte(word) {
        let (upper, len) = upper_four_byte(bytes)?;
        (upper, len, 4)
    } else {
        return None;
    };
    sink.push_array(upper, len);
    Some(src_len)
}

/// All ones if `b`, else all zeros: the byte masks of the branch-free rules.
#[inline(always)]
fn all(b: bool) -> u8 {
    0u8.wrapping_sub(u8::from(b))
}

/// Mask of `lo <= b <= hi` (for `hi - lo < 0x7F`), as one add and one
/// signed compare: vector units compare bytes signed in one instruction,
/// unsigned in two.
#[inline(always)]
fn within(b: u8, lo: u8, hi: u8) -> u8 {
    let shift = |x: u8| x.wrapping_sub(lo).wrapping_add(0x80) as i8;
    all(shift(b) <= shift(hi))
}

/// Mask of `b < x` for a continuation byte `b`, in one instruction: as
/// `i8`, 80..=BF are -128..=-65 in the same order. Only for masks later
/// anded with [`is_cont`]: other bytes compare wrongly.
#[inline(always)]
fn below(b: u8, x: u8) -> u8 {
    all((b as i8) < (x as i8))
}

/// Mask of `b >= x` for a continuation byte `b` and `x` past 0x80, as
/// [`below`] (a compare with `x - 1`, so there is no NOT to pay for).
#[inline(always)]
fn from(b: u8, x: u8) -> u8 {
    all((b as i8) > (x.wrapping_sub(1) as i8))
}

/// Mask of a continuation byte (80..=BF).
#[inline(always)]
fn is_cont(b: u8) -> u8 {
    all(b & 0xC0 == 0x80)
}

/// What the 2-byte sequence `lead`, `cont` (if it is one) becomes, as byte
/// masks: whether the block knows it, what to XOR into the lead, and what
/// to add to the continuation byte. `cont` is not checked here.
///
/// `LATIN1` enables the rules for Latin-1, spacing modifiers and
/// combining marks; `EXT_A` those for Latin Extended-A; `GREEK_CYRILLIC`
/// those for Greek, Cyrillic and the caseless scripts after them (Hebrew
/// to NKo); `EXTRA` those for the Latin Extended-B letters of Vietnamese
/// and Romanian, spacing modifier letters, Cyrillic past U+047F, Armenian
/// and Hebrew points.
#[inline(always)]
fn two_byte<
    const LATIN1: bool,
    const EXT_A: bool,
    const GREEK_CYRILLIC: bool,
    const EXTRA: bool,
>(
    lead: u8,
    cont: u8,
) -> (u8, u8, u8) {
    let is = |x: u8| all(lead == x);
    let at = |x: u8| all(cont == x);
    let odd = all(cont & 1 == 1);
    let (mut known, mut flip, mut add) = (0, 0, 0);
    if LATIN1 {
        let (c2, c3) = (is(0xC2), is(0xC3));
        known |= c2 | c3 | is(0xCB) | is(0xCC);
        add |= c2 & at(0xB5) & 0xE7 // µ → Μ (CE 9C)
            | c3 & (at(0x9F) & 0xB4 // ß → SS
                | within(cont, 0xA0, 0xBE) & !at(0xB7) & 0xE0 // à..þ, not ÷
                | at(0xBF) & 0xF9); // ÿ → Ÿ (C5 B8)
        flip |= c2 & at(0xB5) & (0xC2 ^ 0xCE)
            | c3 & (at(0x9F) & (0xC3 ^ b'S') | at(0xBF) & (0xC3 ^ 0xC5));
    }
    if EXT_A {
        let (c4, c5) = (is(0xC4), is(0xC5));
        // ſ (C5 BF) → S is shorter, ŉ (C5 89) → ʼN longer: `block_run`
        // takes them one by one. ı (C4 B1) → I is shorter too, but common
        // (Turkish): its lead becomes `I` here and `upper_block_with`
        // drops its second byte.
        known |= c4 | c5 & !(at(0x89) | at(0xBF));
        // The pairs: the lowercase of each is the odd one before U+0138
        // and from U+014A, the even one otherwise.
        add |= c4 & (below(cont, 0xB8) & odd | from(cont, 0xB9) & !odd)
            | c5 & ((within(cont, 0x81, 0x88) | within(cont, 0xB9, 0xBE)) & !odd
                | within(cont, 0x8A, 0xB7) & odd)
            | c5 & at(0x80) & 0x3F; // ŀ → Ŀ (C4 BF)
        flip |= c5 & at(0x80) & 0x01 | c4 & at(0xB1) & (0xC4 ^ b'I');
    }
    if EXTRA {
        // Latin Extended-B: Vietnamese ơ ư (U+01A1, U+01B0, each one past
        // its capital), Romanian ș ț and the other pairs of U+0200..0233
        // (lowercase odd; U+0221 ȡ has no capital), spacing modifier
        // letters U+02B0..02BF (ʼ), which have no case.
        let (c6, c8, ca) = (is(0xC6), is(0xC8), is(0xCA));
        let pairs_0200 = c8 & below(cont, 0xB4);
        known |= c6 & (within(cont, 0xA0, 0xA1) | within(cont, 0xAF, 0xB0))
            | pairs_0200
            | ca & from(cont, 0xB0);
        add |= c6 & (at(0xA1) | at(0xB0)) | pairs_0200 & odd & !at(0xA1);
        // Cyrillic past U+047F and Armenian.
        let (d2, d3, d4, d5, d6) = (is(0xD2), is(0xD3), is(0xD4), is(0xD5), is(0xD6));
        // Armenian և (D6 87) becomes two letters.
        known |= d2 | d3 | d4 | d5 | d6 & !at(0x87);
        add |= d2 & odd & (at(0x81) | from(cont, 0x8B)) // ҁ, Ҋ..ҿ pairs (ґ): -1
            | d3 & (within(cont, 0x81, 0x8E) & !odd // Ӂ..ӎ pairs, lowercase even
                | at(0x8F) & 0xF1 // ӏ → Ӏ (D3 80)
                | from(cont, 0x90) & odd) // Ӑ..ӿ pairs
            | d4 & odd & below(cont, 0xB0) // Ԁ..ԯ pairs
            | d5 & (within(cont, 0xA1, 0xAF) & 0x10 // ա..կ → Ա..Կ (D4 B1..BF)
                | from(cont, 0xB0) & 0xD0) // հ..տ → Հ..Տ (D5 80..8F)
            | d6 & below(cont, 0x87) & 0x10; // ր..ֆ → Ր..Ֆ (D5 90..96)
        flip |=
            d5 & within(cont, 0xA1, 0xAF) & (0xD5 ^ 0xD4) | d6 & below(cont, 0x87) & (0xD6 ^ 0xD5);
    }
    if GREEK_CYRILLIC {
        let (ce, cf, d0, d1) = (is(0xCE), is(0xCF), is(0xD0), is(0xD1));
        // ΐ (CE 90) and ΰ (CE B0) become three characters; CF 90.. is
        // irregular.
        known |= d0
            | d1
            | ce & !(at(0x90) | at(0xB0))
            | cf & below(cont, 0x90)
            | within(lead, 0xD7, 0xDF);
        add |= ce
            & (at(0xAC) & 0xDA // ά → Ά
                | within(cont, 0xAD, 0xAF) & 0xDB // έ ή ί → Έ Ή Ί
                | from(cont, 0xB1) & 0xE0) // α..ο
            | cf & (below(cont, 0x8C) & 0x20 // π..ϋ → Π..Ϋ (CE A0..AB)
                | (at(0x82) // ς → Σ, one past
                    | within(cont, 0x8D, 0x8E)) // ύ ώ → Ύ Ώ
                    & 0x01)
            | d0 & from(cont, 0xB0) & 0xE0 // а..п
            | d1 & (below(cont, 0x90) & 0x20 // р..я → Р..Я (D0 A0..AF)
                | within(cont, 0x90, 0x9F) & 0xF0 // ѐ..џ → Ѐ..Џ (D0 80..8F)
                | from(cont, 0xA0) & odd); // Ѡ..ѿ pairs: -1
        flip |= cf & below(cont, 0x8F) & 0x01 | d1 & below(cont, 0xA0) & 0x01;
    }
    (known, flip, add)
}

/// Whether `lead`, `second`, `third` start a 3-byte sequence the block
/// knows: one in a range of 64 scalars without case (not an overlong, not
/// a surrogate), or an arrow (U+2185..21FF).
#[inline(always)]
fn caseless_three_byte(lead: u8, second: u8, third: u8) -> u8 {
    let is = |x: u8| all(lead == x);
    let at = |x: u8| all(second == x);
    // CJK, kana, Hangul syllables, private use.
    within(lead, 0xE3, 0xE9) | is(0xEB) | is(0xEC) | is(0xEE)
        | is(0xE0) & from(second, 0xA0) // Indic scripts
        | is(0xED) & below(second, 0xA0) // Hangul
        | is(0xE2) & !(within(second, 0x85, 0x86) | at(0x93) | within(second, 0xB0, 0xB4))
        | is(0xE2) & at(0x86) & !all(third == 0x84) // ↄ (U+2184) → Ↄ
        | is(0xEA) & !(within(second, 0x99, 0x9A) | within(second, 0x9C, 0x9F) | within(second, 0xAD, 0xAE))
        | is(0xEF) & !(at(0xAC) | at(0xBD))
}

/// What the 3-byte sequence `lead`, `second`, `third` (if it is one)
/// becomes when its lead is E1, as byte masks: whether the block knows it,
/// and what to add to its second and third bytes. Vietnamese is the Latin
/// Extended Additional pairs U+1E00..1EFF (lowercase odd, but U+1E96..1E9F,
/// which are irregular); Greek U+1F70..1F7D (`ά` in its tonos-as-oxia form)
/// moves to U+1FBA..1FFB.
#[inline(always)]
fn latin_greek_extended(lead: u8, second: u8, third: u8) -> (u8, u8, u8) {
    let e1 = all(lead == 0xE1);
    let on = |x: u8| all(third == x);
    let latin =
        e1 & within(second, 0xB8, 0xBB) & !(all(second == 0xBA) & within(third, 0x96, 0x9F));
    let greek = e1 & all(second == 0xBD) & within(third, 0xB0, 0xBD);
    let third_add = latin & all(third & 1 == 1) // -1
        | greek
            & (below(third, 0xB2) & 0x0A // ὰ ά → Ὰ Ά (E1 BE BA..BB)
                | within(third, 0xB2, 0xB5) & 0xD6 // ὲ..ή → Ὲ..Ή (E1 BF 88..8B)
                | within(third, 0xB6, 0xB7) & 0xE4 // ὶ ί → Ὶ Ί (E1 BF 9A..9B)
                | within(third, 0xBA, 0xBB) & 0xF0 // ὺ ύ → Ὺ Ύ (E1 BF AA..AB)
                | (on(0xBC) | on(0xBD)) & 0xFE); // ὼ ώ → Ὼ Ώ (E1 BF BA..BB)
                                                 // ὸ ό (B8, B9) → Ὸ Ό (E1 BF B8..B9) keep their third byte.
    let second_add = greek & (below(third, 0xB2) & 1 | from(third, 0xB2) & 2);
    (latin | greek, second_add, third_add)
}

/// Whether `lead`, `second` start a 4-byte sequence the block knows: one
/// in a range of 4096 scalars without case (emoji, CJK extensions).
#[inline(always)]
fn caseless_four_byte(lead: u8, second: u8) -> u8 {
    all(lead == 0xF0) & from(second, 0x92) & !(all(second == 0x96) | all(second == 0x9E))
        | within(lead, 0xF1, 0xF3)
        | all(lead == 0xF4) & below(second, 0x90)
}

/// One bit per byte of `bytes`, its high bit. The portable twin of the
/// SIMD kernels' movemask: SSE2's where the target has it (every x86-64),
/// else [`high_bits_swar`].
#[inline(always)]
pub(crate) fn high_bits(bytes: &[u8; BLOCK]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    return high_bits_sse2(bytes);
    #[cfg(not(target_arch = "x86_64"))]
    return high_bits_swar(bytes);
}

/// [`high_bits`] with SSE2's movemask, 16 bytes at a time.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn high_bits_sse2(bytes: &[u8; BLOCK]) -> u64 {
    use core::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_movemask_epi8};
    let mut mask = 0;
    for k in 0..BLOCK / 16 {
        // SAFETY: SSE2 is part of x86-64; the load reads 16 bytes inside
        // `bytes`.
        let bits =
            unsafe { _mm_movemask_epi8(_mm_loadu_si128(bytes.as_ptr().cast::<__m128i>().add(k))) };
        mask |= u64::from(bits as u16) << (16 * k);
    }
    mask
}

/// [`high_bits`] in plain Rust, a word at a time.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
pub(crate) fn high_bits_swar(bytes: &[u8; BLOCK]) -> u64 {
    let mut mask = 0;
    for (k, part) in bytes.chunks_exact(8).enumerate() {
        let word = u64::from_le_bytes(part.try_into().unwrap()) & 0x8080_8080_8080_8080;
        // Gathers the eight high bits into the top byte.
        let bits = word.wrapping_mul(0x0002_0408_1020_4081) >> 56;
        mask |= bits << (k * 8);
    }
    mask
}

/// `v` with each byte replaced by the one `K` (1 to 3) places after it,
/// zeros shifted in at the end: `next::<1>(block)[k]` is the byte after
/// `block[k]`, zero past the block. The portable twin of the SIMD kernels'
/// lane shifts: SSE2's where the target has it (every x86-64), else
/// [`next_plain`].
#[inline(always)]
pub(crate) fn next<const K: usize>(v: [u8; BLOCK]) -> [u8; BLOCK] {
    #[cfg(target_arch = "x86_64")]
    return match K {
        1 => sse2::next::<1, 15>(v),
        2 => sse2::next::<2, 14>(v),
        3 => sse2::next::<3, 13>(v),
        _ => unreachable!(),
    };
    #[cfg(not(target_arch = "x86_64"))]
    return next_plain::<K>(v);
}

/// `v` with each byte replaced by the one `K` (1 to 3) places before it,
/// zeros shifted in at the start: `prev::<1>(starts)[k]` is what the byte
/// before `k` says, zero at the block's first byte. The portable twin of
/// the SIMD kernels' lane shifts, as [`next`].
#[inline(always)]
pub(crate) fn prev<const K: usize>(v: [u8; BLOCK]) -> [u8; BLOCK] {
    #[cfg(target_arch = "x86_64")]
    return match K {
        1 => sse2::prev::<1, 15>(v),
        2 => sse2::prev::<2, 14>(v),
        3 => sse2::prev::<3, 13>(v),
        _ => unreachable!(),
    };
    #[cfg(not(target_arch = "x86_64"))]
    return prev_plain::<K>(v);
}

/// `v` with each byte replaced by the one `at` (below [`BLOCK`]) places
/// after it, zeros shifted in at the end: `v[at..]` first. The portable
/// twin of the SIMD kernels' variable shift, through memory (a load at an
/// offset into the bytes just stored, which waits for the store).
#[inline(always)]
pub(crate) fn next_by(v: [u8; BLOCK], at: usize) -> [u8; BLOCK] {
    let mut padded = [0u8; 2 * BLOCK];
    padded[..BLOCK].copy_from_slice(&v);
    *padded[at..].first_chunk::<BLOCK>().unwrap()
}

/// The bytes of `v` whose bit in `keep` is set, in order, then zeros: the
/// definition the compaction kernels (`Simd::compress`) are tested
/// against, byte by byte (in `x86.rs`).
#[cfg(all(test, feature = "std", target_arch = "x86_64", not(upcase_portable)))]
pub(crate) fn compress(v: [u8; BLOCK], keep: u64) -> [u8; BLOCK] {
    let mut out = [0u8; BLOCK];
    let mut n = 0;
    for (k, &b) in v.iter().enumerate() {
        if keep >> k & 1 == 1 {
            out[n] = b;
            n += 1;
        }
    }
    out
}

/// [`next`] in plain Rust, byte by byte.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
pub(crate) fn next_plain<const K: usize>(v: [u8; BLOCK]) -> [u8; BLOCK] {
    core::array::from_fn(|k| v.get(k + K).copied().unwrap_or(0))
}

/// [`prev`] in plain Rust, byte by byte.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
pub(crate) fn prev_plain<const K: usize>(v: [u8; BLOCK]) -> [u8; BLOCK] {
    core::array::from_fn(|k| if k >= K { v[k - K] } else { 0 })
}

/// [`next`] and [`prev`] with SSE2's whole-register byte shifts, 16 bytes
/// at a time: each part is its own bytes shifted, ored with the
/// neighbouring part's shifted the other way.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use core::arch::x86_64::{
        __m128i, _mm_or_si128, _mm_setzero_si128, _mm_slli_si128, _mm_srli_si128,
    };

    use super::BLOCK;

    /// `next::<K>`, with `L` = 16 - `K`.
    #[inline(always)]
    pub(super) fn next<const K: i32, const L: i32>(v: [u8; BLOCK]) -> [u8; BLOCK] {
        // SAFETY: SSE2 is part of x86-64; `[u8; 64]` and `[__m128i; 4]`
        // are 64 bytes of plain data either way, any bit pattern valid.
        unsafe {
            let p: [__m128i; 4] = core::mem::transmute(v);
            let after = [p[1], p[2], p[3], _mm_setzero_si128()];
            let out: [__m128i; 4] = core::array::from_fn(|j| {
                _mm_or_si128(_mm_srli_si128::<K>(p[j]), _mm_slli_si128::<L>(after[j]))
            });
            core::mem::transmute(out)
        }
    }

    /// `prev::<K>`, with `L` = 16 - `K`.
    #[inline(always)]
    pub(super) fn prev<const K: i32, const L: i32>(v: [u8; BLOCK]) -> [u8; BLOCK] {
        // SAFETY: as in `next`.
        unsafe {
            let p: [__m128i; 4] = core::mem::transmute(v);
            let before = [_mm_setzero_si128(), p[0], p[1], p[2]];
            let out: [__m128i; 4] = core::array::from_fn(|j| {
                _mm_or_si128(_mm_slli_si128::<K>(p[j]), _mm_srli_si128::<L>(before[j]))
            });
            core::mem::transmute(out)
        }
    }
}

/// One bit per rule group whose leads `block` holds: 1 for Latin-1,
/// spacing modifiers and combining marks (C2 C3 CB CC), 2 for Latin
/// Extended-A (C4 C5), 4 for Greek, Cyrillic and the caseless scripts
/// after them (CE..D1, D7..DF), 8 for 3- and 4-byte sequences (E0..FF), 16 for the
/// rarer 2-byte leads (C6..CA, D2..D6), 32 for E1. The portable scan; the
/// SIMD kernels (`x86.rs`) must agree with it.
#[inline(always)]
pub(crate) fn lead_groups(block: &[u8; BLOCK]) -> u8 {
    let mut groups = 0u8;
    for &b in block {
        groups |= (within(b, 0xC2, 0xC3) | within(b, 0xCB, 0xCC)) & 1
            | within(b, 0xC4, 0xC5) & 2
            | (within(b, 0xCE, 0xD1) | within(b, 0xD7, 0xDF)) & 4
            | within(b, 0xE0, 0xFF) & 8
            | (within(b, 0xC6, 0xCA) | within(b, 0xD2, 0xD6)) & 16
            | all(b == 0xE1) & 32;
    }
    groups
}

/// What [`upper_block`] makes of a block.
struct Upper {
    /// The uppercase of the block's first `taken` bytes.
    bytes: [u8; BLOCK],
    /// How many bytes that covers: up to the first byte that is not part
    /// of a character the block knows and sees whole.
    taken: usize,
    /// One bit per byte that is not part of a character the block knows
    /// and sees whole.
    bad: u64,
    /// One bit per byte the output leaves out (the second byte of `ı`,
    /// whose lead becomes `I`).
    drop: u64,
    /// Whether the block was all ASCII.
    ascii: bool,
}

impl Upper {
    /// From a kernel's answer (`Simd::upper_block`, `Simd::western_block`):
    /// the bytes, the bad and drop masks, whether all ASCII.
    #[inline(always)]
    fn from_kernel((bytes, bad, drop, ascii): ([u8; BLOCK], u64, u64, bool)) -> Self {
        Upper {
            bytes,
            taken: bad.trailing_zeros() as usize,
            bad,
            drop,
            ascii,
        }
    }
}

/// The uppercase of `block` (which starts on a character boundary).
///
/// The rules cost vector instructions per byte whether they apply or not,
/// so the block is first sorted by the lead bytes it holds, and only the
/// rule groups it needs run. (A rule group left out only stops the block
/// early, at a character it would have known.)
#[inline(always)]
fn upper_block<S: Simd>(simd: S, block: &[u8; BLOCK], hint: &mut GroupHint) -> Upper {
    if let Some(upper) = simd.upper_block(block) {
        return Upper::from_kernel(upper);
    }
    if !S::GUESS_GROUPS {
        let groups = simd.lead_groups(block);
        let mut upper = upper_block_in(simd, block, groups);
        // No lead byte: all ASCII, unless it stops at a stray continuation byte.
        upper.ascii = groups == 0 && upper.taken == BLOCK;
        return upper;
    }
    if simd.high_bits(block) == 0 {
        let mut upper = upper_block_in(simd, block, 0);
        upper.ascii = true;
        return upper;
    }
    let Some(guess) = hint.guess() else {
        let groups = simd.lead_groups(block);
        hint.set(groups);
        return upper_block_in(simd, block, groups);
    };
    let upper = upper_block_in(simd, block, guess);
    // Stopped before the end (where a character the end cuts would stop
    // it anyway): maybe at a lead of a group the guess left out.
    if upper.bad & BEFORE_END == 0 {
        return upper;
    }
    let groups = simd.lead_groups(block);
    if groups & !guess == 0 {
        hint.set(groups);
        return upper;
    }
    hint.missed(groups);
    upper_block_in(simd, block, groups | guess)
}

/// The bytes of a block before the last [`REACH`], where a character cut
/// by the block's end can be.
const BEFORE_END: u64 = (1 << (BLOCK - REACH)) - 1;

/// How many blocks in a row may reuse one exact [`lead_groups`] answer
/// before it is taken again (so a rule group one block needed stops
/// costing after a few blocks).
const GUESS_BLOCKS: u8 = 4;

/// How many blocks take their groups exactly after a guess that missed
/// one (text whose blocks need other groups each time, such as Vietnamese,
/// would otherwise pay for many blocks twice).
const MISSED_BLOCKS: u8 = 16;

/// The rule groups of a recent block, for a level whose exact
/// [`Simd::lead_groups`] costs about as much as running a rule group: the
/// next blocks of a run are most likely in the same script.
#[derive(Default)]
struct GroupHint {
    /// The groups, if known.
    groups: Option<u8>,
    /// How many blocks have used them (or, after a miss, a negative count
    /// of the blocks left to take exactly).
    used: i8,
}

impl GroupHint {
    /// The groups to try for the next block, or `None` when it is time to
    /// take them exactly.
    #[inline(always)]
    fn guess(&mut self) -> Option<u8> {
        if self.used < 0 {
            self.used += 1;
            return None;
        }
        let groups = self.groups.filter(|_| self.used < GUESS_BLOCKS as i8)?;
        self.used += 1;
        Some(groups)
    }

    /// Records the exact groups of a block.
    #[inline(always)]
    fn set(&mut self, groups: u8) {
        self.groups = Some(groups);
        self.used = self.used.min(0);
    }

    /// Records the exact groups of a block the guess missed one of.
    #[inline(always)]
    fn missed(&mut self, groups: u8) {
        self.groups = Some(groups);
        self.used = -(MISSED_BLOCKS as i8);
    }
}

/// [`upper_block`] with the rule groups `groups` (at least: the ones its
/// leads need, or it stops at the first lead of a group left out).
#[inline(always)]
fn upper_block_in(simd: impl Simd, block: &[u8; BLOCK], groups: u8) -> Upper {
    macro_rules! by_groups {
        ($($bits:pat => $($flag:literal)*,)*) => {
            match groups {
                $($bits => upper_block_with::<$($flag),*>(simd, block),)*
                // E1 is a 3-byte lead: group 32 comes with group 8.
                _ => unreachable!(),
            }
        };
    }
    by_groups! {
        0 => false false false false false false,
        1 => true false false false false false,
        2 => false true false false false false,
        3 => true true false false false false,
        4 => false false true false false false,
        5 => true false true false false false,
        6 => false true true false false false,
        7 => true true true false false false,
        8 => false false false true false false,
        9 => true false false true false false,
        10 => false true false true false false,
        11 => true true false true false false,
        12 => false false true true false false,
        13 => true false true true false false,
        14 => false true true true false false,
        15 => true true true true false false,
        16 => false false false false true false,
        17 => true false false false true false,
        18 => false true false false true false,
        19 => true true false false true false,
        20 => false false true false true false,
        21 => true false true false true false,
        22 => false true true false true false,
        23 => true true true false true false,
        24 => false false false true true false,
        25 => true false false true true false,
        26 => false true false true true false,
        27 => true true false true true false,
        28 => false false true true true false,
        29 => true false true true true false,
        30 => false true true true true false,
        31 => true true true true true false,
        40 => false false false true false true,
        41 => true false false true false true,
        42 => false true false true false true,
        43 => true true false true false true,
        44 => false false true true false true,
        45 => true false true true false true,
        46 => false true true true false true,
        47 => true true true true false true,
        56 => false false false true true true,
        57 => true false false true true true,
        58 => false true false true true true,
        59 => true true false true true true,
        60 => false false true true true true,
        61 => true false true true true true,
        62 => false true true true true true,
        63 => true true true true true true,
    }
}

/// [`upper_block`] with the rule groups for 2-byte sequences of
/// [`two_byte`], for caseless 3- and 4-byte ones if `WIDE`, and for those
/// of [`latin_greek_extended`] if `E1` (with `WIDE`).
#[inline(always)]
fn upper_block_with<
    const LATIN1: bool,
    const EXT_A: bool,
    const GREEK_CYRILLIC: bool,
    const WIDE: bool,
    const EXTRA: bool,
    const E1: bool,
>(
    simd: impl Simd,
    block: &[u8; BLOCK],
) -> Upper {
    // The bytes after each byte, with zeros past the block; zeros are no
    // lead and no continuation. Shifted in registers: a load at an offset
    // into a block just stored waits for the store to retire.
    let block = *block;
    let (n1, n2, n3) = (
        simd.next::<1>(block),
        simd.next::<2>(block),
        simd.next::<3>(block),
    );

    // Pass 1, per byte as a lead: does a known character start here,
    // which bytes after it does it cover, and how do they change?
    let mut starts = [0u8; BLOCK];
    let mut covers_two = [0u8; BLOCK]; // a 3- or 4-byte lead
    let mut covers_three = [0u8; BLOCK]; // a 4-byte lead
    let mut flips = [0u8; BLOCK];
    let mut adds = [0u8; BLOCK]; // to the byte after the lead
    let mut adds_third = [0u8; BLOCK]; // to the byte two after it
    let mut dotless = [0u8; BLOCK]; // the lead of ı, whose second byte goes
                                    // Arrays a group leaves at zero are neither written nor read.
    let two_byte_rules = LATIN1 || EXT_A || GREEK_CYRILLIC || EXTRA;
    for k in 0..BLOCK {
        let (b, n1, n2, n3) = (block[k], n1[k], n2[k], n3[k]);
        let mut start = 0;
        if two_byte_rules {
            let (known, flip, add) = two_byte::<LATIN1, EXT_A, GREEK_CYRILLIC, EXTRA>(b, n1);
            let two = known & is_cont(n1);
            start = two;
            flips[k] = two & flip;
            adds[k] = two & add;
            if EXT_A {
                dotless[k] = two & all(b == 0xC4) & all(n1 == 0xB1);
            }
        }
        if WIDE {
            let cont2 = is_cont(n1) & is_cont(n2);
            let mut three = caseless_three_byte(b, n1, n2) & cont2;
            if E1 {
                let (known, second_add, third_add) = latin_greek_extended(b, n1, n2);
                let e1 = known & cont2;
                three |= e1;
                adds[k] |= e1 & second_add;
                adds_third[k] = e1 & third_add;
            }
            let four = caseless_four_byte(b, n1) & cont2 & is_cont(n3);
            start |= three | four;
            covers_two[k] = three | four;
            covers_three[k] = four;
        }
        starts[k] = start;
    }

    // What the one, two and three bytes before each byte say as leads
    // (zeros before the block: it starts on a character boundary).
    let starts_before = simd.prev::<1>(starts);
    let covers_two_before = simd.prev::<2>(covers_two);
    let covers_three_before = simd.prev::<3>(covers_three);
    let adds_before = simd.prev::<1>(adds);
    let adds_third_before = simd.prev::<2>(adds_third);

    // Pass 2, per byte: ASCII, a known lead, or a continuation byte that
    // one of the three leads before it covers; the output byte.
    let mut upper = [0u8; BLOCK];
    let mut bad = [0u8; BLOCK];
    for k in 0..BLOCK {
        let b = block[k];
        let mut covered = all(b as i8 >= 0) | starts[k] | starts_before[k];
        if WIDE {
            covered |= covers_two_before[k] | covers_three_before[k];
        }
        bad[k] = !covered;
        // a..z lose bit 5; a lead flips, the bytes after it add.
        let mut out = ascii_upper(b);
        if two_byte_rules || E1 {
            out = (out ^ flips[k]).wrapping_add(adds_before[k]);
        }
        if E1 {
            out = out.wrapping_add(adds_third_before[k]);
        }
        upper[k] = out;
    }
    let bad_mask = simd.high_bits(&bad);
    Upper {
        bytes: upper,
        taken: bad_mask.trailing_zeros() as usize,
        bad: bad_mask,
        // A lead at the block's last byte sees no second byte, so is no ı.
        drop: if EXT_A {
            simd.high_bits(&dotless) << 1
        } else {
            0
        },
        ascii: false,
    }
}

/// The index of the first bit of `bad` from `from` (below `BLOCK`) on, or
/// `BLOCK`.
#[inline(always)]
fn first_bad_from(bad: u64, from: usize) -> usize {
    from + (bad >> from).trailing_zeros() as usize
}

/// The portable rules on `block` with every rule group: its uppercase, its
/// bad bytes and the bytes its output leaves out, the reference the
/// AVX-512 kernel is tested against.
#[cfg(test)]
pub(crate) fn upper_block_portable(block: &[u8; BLOCK]) -> ([u8; BLOCK], u64, u64) {
    let upper = upper_block_in(super::dispatch::Portable, block, 63);
    (upper.bytes, upper.bad, upper.drop)
}
