//! The block path's rules as AVX-512 mask arithmetic: one compare per byte
//! class gives a 64-bit mask (bit `k` for byte `k`), the rules combine
//! masks in general registers, where "the byte after this lead" is a shift
//! by one bit, and a few masked vector operations write the output.
//!
//! [`upper_block`] gives exactly what `block::upper_block_in` gives with
//! every rule group (the compiler-vectorised rules the other levels run):
//! the tests compare the two on every byte pair and every lead byte with
//! every two bytes after it, at the start, middle and end of a block, and
//! on blocks of text in every script. The rule groups take a block's lead
//! bytes in turn; once all are claimed, the later groups cost nothing.
//!
//! [`western_block`] is the same rules for Western text alone (ASCII,
//! Latin-1, Latin Extended-A, caseless E2 punctuation), a third of the
//! work, for the block path's Western loop (`block::western_run`).

use core::arch::x86_64::{
    __m512i, _mm512_add_epi8, _mm512_alignr_epi8, _mm512_cmpeq_epi8_mask, _mm512_cmpge_epi8_mask,
    _mm512_cmple_epu8_mask, _mm512_cmplt_epi8_mask, _mm512_loadu_si512, _mm512_mask_mov_epi8,
    _mm512_mask_sub_epi8, _mm512_movepi8_mask, _mm512_permutex2var_epi64, _mm512_permutex2var_epi8,
    _mm512_permutexvar_epi8, _mm512_set1_epi8, _mm512_setr_epi64, _mm512_setzero_si512,
    _mm512_slli_epi16, _mm512_storeu_si512, _mm512_sub_epi8, _mm512_ternarylogic_epi32,
    _mm512_test_epi8_mask, _mm512_xor_si512,
};

use super::block::BLOCK;

/// What [`upper_block`] makes of a block: the uppercase of its bytes, and
/// one bit per byte that is not part of a character the rules know and
/// see whole.
pub(crate) struct Masked {
    pub(crate) bytes: [u8; BLOCK],
    pub(crate) bad: u64,
    /// One bit per byte the output leaves out: the second byte of `ı`,
    /// whose lead becomes `I`.
    pub(crate) drop: u64,
    /// Whether the block was all ASCII.
    pub(crate) ascii: bool,
}

/// The 64 bytes of a block in one register, and the compares on them. A
/// value is made only by [`upper_block`], whose caller promises AVX-512:
/// it is the proof the methods' intrinsics can run.
#[derive(Clone, Copy)]
struct Bytes(__m512i);

impl Bytes {
    /// Bit `k`: byte `k` is `x`.
    #[inline(always)]
    fn eq(self, x: u8) -> u64 {
        // SAFETY: the caller of `upper_block` promises AVX-512 BW.
        unsafe { _mm512_cmpeq_epi8_mask(self.0, _mm512_set1_epi8(x as i8)) }
    }

    /// Bit `k`: byte `k` is below `x`, compared as `i8` (in order among
    /// continuation bytes, 80..BF, for `x` in 81..C0).
    #[inline(always)]
    fn lt(self, x: u8) -> u64 {
        // SAFETY: as in `eq`.
        unsafe { _mm512_cmplt_epi8_mask(self.0, _mm512_set1_epi8(x as i8)) }
    }

    /// Bit `k`: byte `k` is `x` or above, compared as `i8` (see [`Bytes::lt`]).
    #[inline(always)]
    fn ge(self, x: u8) -> u64 {
        // SAFETY: as in `eq`.
        unsafe { _mm512_cmpge_epi8_mask(self.0, _mm512_set1_epi8(x as i8)) }
    }

    /// Bit `k`: `lo <= byte k <= hi`.
    #[inline(always)]
    fn within(self, lo: u8, hi: u8) -> u64 {
        // SAFETY: as in `eq`.
        unsafe {
            _mm512_cmple_epu8_mask(
                _mm512_sub_epi8(self.0, _mm512_set1_epi8(lo as i8)),
                _mm512_set1_epi8(hi.wrapping_sub(lo) as i8),
            )
        }
    }
}

/// The output vector being built: `set` puts `x` into the bytes of a mask
/// (the masks of one vector are disjoint).
#[derive(Clone, Copy)]
struct Lanes(__m512i);

impl Lanes {
    /// All zeros (`_cpu` is the proof of AVX-512).
    #[inline(always)]
    fn zero(_cpu: Bytes) -> Self {
        // SAFETY: as in `Bytes::eq`.
        Lanes(unsafe { _mm512_setzero_si512() })
    }

    /// `x` in the bytes of `mask`, the others as they were.
    #[inline(always)]
    fn set(self, mask: u64, x: u8) -> Self {
        // SAFETY: as in `Bytes::eq`.
        Lanes(unsafe { _mm512_mask_mov_epi8(self.0, mask, _mm512_set1_epi8(x as i8)) })
    }

    /// The bytes of `from` in the bytes of `mask`, the others as they were.
    #[inline(always)]
    fn set_from(self, mask: u64, from: __m512i) -> Self {
        // SAFETY: as in `Bytes::eq`.
        Lanes(unsafe { _mm512_mask_mov_epi8(self.0, mask, from) })
    }
}

/// What to add to the second byte of each 2-byte character whose lead is
/// `LEAD` or `LEAD + 1`, by `(lead & 1) << 6 | second & 0x3F`: one
/// `vpermi2b` for a whole script's rules.
#[repr(align(64))]
struct PairTable([u8; 128]);

impl PairTable {
    /// The entries for the characters of a block, at their leads' places
    /// (anything at other places), from the block's [`pair_index`].
    #[inline(always)]
    fn lookup(&self, index: __m512i) -> __m512i {
        let table = self.0.as_ptr();
        // SAFETY: as in `Bytes::eq` (VBMI for `vpermi2b`); the loads read
        // the 128 bytes of the table.
        unsafe {
            _mm512_permutex2var_epi8(
                _mm512_loadu_si512(table.cast()),
                index,
                _mm512_loadu_si512(table.add(BLOCK).cast()),
            )
        }
    }
}

/// The [`PairTable`] index of each byte of `v` as a lead: its bit 0 and
/// the low six bits of the byte after it (anything for the last byte).
#[inline(always)]
fn pair_index(v: Bytes) -> __m512i {
    const AFTER: [u8; BLOCK] = {
        let mut after = [0u8; BLOCK];
        let mut k = 0;
        while k < BLOCK {
            // `vpermb` reads the low six bits: 64 is byte 0.
            after[k] = k as u8 + 1;
            k += 1;
        }
        after
    };
    // SAFETY: as in `Bytes::eq` (VBMI for `vpermb`); the load reads the
    // 64 bytes of `AFTER`.
    unsafe {
        let next = _mm512_permutexvar_epi8(_mm512_loadu_si512(AFTER.as_ptr().cast()), v.0);
        // Bits 0..5 from the byte after, bit 6 from the lead's bit 0:
        // (next & 3F) | (lead << 6 & ~3F), a bitwise select.
        _mm512_ternarylogic_epi32::<0xE4>(next, _mm512_slli_epi16::<6>(v.0), _mm512_set1_epi8(0x3F))
    }
}

/// A [`PairTable`] whose entry for the lead `LEAD | $odd` (`$odd` its bit
/// 0, a `bool`) and the second byte `$s` is the `u8` expression `$entry`.
macro_rules! pair_table {
    (|$odd:ident, $s:ident| $entry:expr) => {
        PairTable({
            let mut table = [0u8; 128];
            let mut k = 0;
            while k < 128 {
                let ($odd, $s) = (k >= 64, 0x80 | (k as u8 & 0x3F));
                table[k] = $entry;
                k += 1;
            }
            table
        })
    };
}

/// Latin-1: C3 A0..BE à..þ but ÷ lose 0x20; µ (C2 B5) → Μ (CE 9C), ß (C3
/// 9F) → SS, ÿ (C3 BF) → Ÿ (C5 B8), with the lead's flips in
/// [`LATIN1_FLIPS`].
static LATIN1_ADDS: PairTable = pair_table!(|c3, s| match (c3, s) {
    (false, 0xB5) => 0xE7,
    (true, 0x9F) => 0xB4,
    (true, 0xBF) => 0xF9,
    (true, 0xB7) => 0,
    (true, 0xA0..=0xBE) => 0xE0,
    _ => 0,
});

/// What to XOR into the lead of µ, ß and ÿ (see [`LATIN1_ADDS`]).
static LATIN1_FLIPS: PairTable = pair_table!(|c3, s| match (c3, s) {
    (false, 0xB5) => 0xC2 ^ 0xCE,
    (true, 0x9F) => 0xC3 ^ b'S',
    (true, 0xBF) => 0xC3 ^ 0xC5,
    _ => 0,
});

/// Latin Extended-A: the pairs of U+0100..017F, lowercase odd up to
/// U+0137 and from U+014A, even from U+0139 to U+0148 and from U+0179;
/// ŀ (C5 80) → Ŀ (C4 BF), with its lead's flip in [`EXT_A_FLIPS`]. Not
/// ı (C4 B1), whose lead becomes `I` and whose second byte is left out.
static EXT_A_ADDS: PairTable = pair_table!(|c5, s| match (c5, s, s % 2 == 1) {
    (false, 0xB1, _) => 0,
    (false, 0x80..=0xB7, true) | (false, 0xB9..=0xBF, false) => 0xFF,
    (true, 0x80, _) => 0x3F,
    (true, 0xBF, _) => 0,
    (true, 0x81..=0x88 | 0xB9..=0xBF, false) | (true, 0x8A..=0xB7, true) => 0xFF,
    _ => 0,
});

/// What to XOR into the lead of ı (C4 B1, to `I`) and ŀ (C5 80, to C4).
static EXT_A_FLIPS: PairTable = pair_table!(|c5, s| match (c5, s) {
    (false, 0xB1) => 0xC4 ^ b'I',
    (true, 0x80) => 0x01,
    _ => 0,
});

/// Greek: CE AC ά → Ά, CE AD..AF έ ή ί → Έ Ή Ί, CE B1..BF α..ο; CF 80..8B
/// π..ϋ → Π..Ϋ (CE A0..AB) but ς → Σ (CE A3), CF 8D 8E ύ ώ → Ύ Ώ (the
/// lead's flip to CE is a rule of its own).
static GREEK_ADDS: PairTable = pair_table!(|cf, s| match (cf, s) {
    (false, 0xAC) => 0xDA,
    (false, 0xAD..=0xAF) => 0xDB,
    (false, 0xB1..=0xBF) => 0xE0,
    (true, 0x82) => 0x21,
    (true, 0x80..=0x8B) => 0x20,
    (true, 0x8D | 0x8E) => 0x01,
    _ => 0,
});

/// Cyrillic: D0 B0..BF а..п; D1 80..8F р..я → Р..Я (D0 A0..AF), D1
/// 90..9F ѐ..џ → Ѐ..Џ (D0 80..8F), the pairs Ѡ..ѿ from D1 A0 (lowercase
/// odd).
static CYRILLIC_ADDS: PairTable = pair_table!(|d1, s| match (d1, s) {
    (false, 0xB0..=0xBF) => 0xE0,
    (true, 0x80..=0x8F) => 0x20,
    (true, 0x90..=0x9F) => 0xF0,
    (true, _) if s % 2 == 1 => 0xFF,
    _ => 0,
});

/// The rule group of each lead byte C0..FF, by its low six bits (2-byte
/// leads are 00..1F, 3- and 4-byte leads 20..3F): one lookup gives every
/// byte its group, and one test per group says whether a block has any of
/// its leads (where two compares of lead bytes or more would).
const GROUPS: [u8; 64] = {
    let mut table = [0u8; 64];
    let mut b = 0xC0usize;
    while b <= 0xFF {
        table[b & 0x3F] = match b as u8 {
            0xC4 | 0xC5 => group::EXT_A,
            0xCE | 0xCF => group::GREEK,
            0xD0 | 0xD1 => group::CYRILLIC,
            0xCB | 0xCC | 0xD7..=0xDF => group::CASELESS,
            0xC6 | 0xC8 | 0xCA => group::LATIN_B,
            0xD2 | 0xD3 => group::CYRILLIC_MORE,
            0xD4..=0xD6 => group::ARMENIAN,
            0xE3..=0xE9 | 0xEB | 0xEC | 0xEE => group::CASELESS,
            0xE0 | 0xEA | 0xED | 0xEF => group::EXCEPTIONS,
            0xE1 => group::E1,
            0xF0..=0xF4 => group::FOUR,
            _ => 0,
        };
        b += 1;
    }
    table
};

/// The bits of [`GROUPS`]. 2-byte and 3-byte leads share them: the masks
/// of lead bytes tell the two apart.
mod group {
    /// Latin Extended-A, C4 C5.
    pub(super) const EXT_A: u8 = 1;
    /// Greek, CE CF.
    pub(super) const GREEK: u8 = 2;
    /// Cyrillic, D0 D1.
    pub(super) const CYRILLIC: u8 = 4;
    /// Known by the lead alone: CB CC D7..DF; E3..E9 EB EC EE.
    pub(super) const CASELESS: u8 = 8;
    /// Latin Extended-B and spacing modifier letters: C6 C8 CA.
    pub(super) const LATIN_B: u8 = 16;
    /// Cyrillic past U+047F: D2 D3.
    pub(super) const CYRILLIC_MORE: u8 = 32;
    /// The Cyrillic Supplement and Armenian: D4..D6.
    pub(super) const ARMENIAN: u8 = 64;
    /// Latin Extended Additional and Greek Extended (and more), E1.
    pub(super) const E1: u8 = 1;
    /// Caseless but for a few second bytes: E0 EA ED EF.
    pub(super) const EXCEPTIONS: u8 = 16;
    /// 4-byte leads, F0..F4.
    pub(super) const FOUR: u8 = 32;
}

/// Each byte's [`GROUPS`] entry, for the rule groups to claim their leads.
#[derive(Clone, Copy)]
struct Groups(__m512i);

impl Groups {
    /// The entries of `v`'s bytes (`vpermb` takes the low six bits).
    #[inline(always)]
    fn of(v: Bytes) -> Self {
        // SAFETY: as in `Bytes::eq` (VBMI for `vpermb`); the load reads
        // the 64 bytes of `GROUPS`.
        Groups(unsafe { _mm512_permutexvar_epi8(v.0, _mm512_loadu_si512(GROUPS.as_ptr().cast())) })
    }

    /// Whether any lead in `unclaimed` is of one of the groups `bits`; no
    /// test at all once every lead is claimed.
    #[inline(always)]
    fn any(self, bits: u8, unclaimed: u64) -> bool {
        // SAFETY: as in `Groups::of`.
        unclaimed != 0
            && unsafe {
                _mm512_test_epi8_mask(self.0, _mm512_set1_epi8(bits as i8)) & unclaimed != 0
            }
    }

    /// The leads in `unclaimed` of the group `bit`, taken off
    /// `unclaimed`; no test at all once every lead is claimed.
    #[inline(always)]
    fn take(self, bit: u8, unclaimed: &mut u64) -> u64 {
        if *unclaimed == 0 {
            return 0;
        }
        // SAFETY: as in `Groups::of`.
        let leads =
            unsafe { _mm512_test_epi8_mask(self.0, _mm512_set1_epi8(bit as i8)) } & *unclaimed;
        *unclaimed &= !leads;
        leads
    }
}

/// The uppercase of `block` (which starts on a character boundary).
///
/// # Safety
/// The CPU must have AVX-512 F, BW and VBMI2.
#[inline(always)]
pub(crate) unsafe fn upper_block(block: &[u8; BLOCK]) -> Masked {
    // SAFETY: the load reads the 64 bytes of `block`; the caller promises
    // AVX-512.
    upper(Bytes(unsafe { _mm512_loadu_si512(block.as_ptr().cast()) }))
}

/// [`upper_block`] on the block's bytes (safe: a [`Bytes`] is the proof
/// of AVX-512). Every `unsafe` block below runs AVX-512 F/BW/VBMI2 instructions
/// on registers only.
#[inline(always)]
fn upper(v: Bytes) -> Masked {
    // SAFETY: `v` exists, so the CPU has AVX-512 F, BW and VBMI2.
    let high = unsafe { _mm512_movepi8_mask(v.0) };
    if high == 0 {
        // ASCII: a..z lose bit 5.
        let lower = v.within(b'a', b'z');
        // SAFETY: as above.
        let out = unsafe { _mm512_mask_sub_epi8(v.0, lower, v.0, _mm512_set1_epi8(0x20)) };
        // SAFETY: as above.
        return unsafe { store(out, 0, 0, true) };
    }
    let lead2 = v.within(0xC2, 0xDF);
    let lead34 = v.within(0xE0, 0xF4);
    // SAFETY: as above; as `i8`, 80..BF are the bytes below C0.
    let cont = unsafe { _mm512_cmplt_epi8_mask(v.0, _mm512_set1_epi8(0xC0u8 as i8)) };
    // In a lead's frame: the byte after it (bit k is byte k + 1), the one
    // two after it and three after it. Bits past the block are zero, as the
    // portable rules see zeros past the block.
    let next = |m: u64| m >> 1;
    let cont1 = next(cont);
    let cont2 = cont1 & cont >> 2;
    let cont3 = cont >> 3;

    // Per rule: the leads it applies to (with a continuation byte after
    // them), what to XOR into the lead, what to add to the byte after it.
    let groups = Groups::of(v);
    let mut known = 0u64;
    let mut shorter = 0u64;
    let (mut flip, mut add) = (Lanes::zero(v), Lanes::zero(v));
    if lead2 != 0 {
        // Compares on the byte after a lead. They are right for
        // continuation bytes only, which is all the rules use them for:
        // every mask below ends up anded with `cont1` (through `two`).
        let at = |x: u8| next(v.eq(x));
        let from = |x: u8| next(v.ge(x));
        let upto = |x: u8| next(v.lt(x + 1));
        let within = |lo: u8, hi: u8| next(v.within(lo, hi));
        let odd_cont = next(odd_bytes(v));
        let even_cont = !odd_cont;
        // The groups in turn, each taking its leads off `unclaimed`: once
        // every lead is claimed, the later groups' compares are skipped
        // (text in one script uses one or two groups).
        let mut unclaimed = lead2;
        // The scripts with tables (`PairTable`) look them up by this.
        let index = pair_index(v);
        // Latin-1.
        let latin1 = v.within(0xC2, 0xC3);
        if latin1 != 0 {
            known |= latin1;
            unclaimed &= !latin1;
            flip = flip.set_from(latin1, LATIN1_FLIPS.lookup(index));
            add = add.set_from(latin1, LATIN1_ADDS.lookup(index));
        }
        // Latin Extended-A, Greek, Cyrillic behind one test for all three:
        // a block of Arabic, Hebrew or Armenian pays one test, not three.
        if groups.any(group::EXT_A | group::GREEK | group::CYRILLIC, unclaimed) {
            // Latin Extended-A: ı, ſ and ŉ change length and stop the block.
            let ext_a = groups.take(group::EXT_A, &mut unclaimed);
            if ext_a != 0 {
                let c5 = v.eq(0xC5);
                let c4 = ext_a & !c5;
                // ı (C4 B1) → I is one byte shorter (and common: Turkish):
                // the lead becomes `I` and the second byte is left out. ſ
                // (C5 BF) → S, shorter, and ŉ (C5 89) → ʼN, longer, stop
                // the block.
                shorter = c4 & at(0xB1);
                known |= c4 | c5 & !(at(0x89) | at(0xBF));
                flip = flip.set_from(ext_a, EXT_A_FLIPS.lookup(index));
                add = add.set_from(ext_a, EXT_A_ADDS.lookup(index));
            }
            // Greek, Cyrillic.
            let greek = groups.take(group::GREEK, &mut unclaimed);
            if greek != 0 {
                let cf = v.eq(0xCF);
                let ce = greek & !cf;
                // ΐ (CE 90) and ΰ (CE B0) become three characters; CF 90..
                // is irregular.
                known |= ce & !(at(0x90) | at(0xB0)) | cf & upto(0x8F);
                flip = flip.set(cf & upto(0x8E), 0x01);
                add = add.set_from(greek, GREEK_ADDS.lookup(index));
            }
            let cyrillic = groups.take(group::CYRILLIC, &mut unclaimed);
            if cyrillic != 0 {
                known |= cyrillic;
                flip = flip.set(v.eq(0xD1) & upto(0x9F), 0x01);
                add = add.set_from(cyrillic, CYRILLIC_ADDS.lookup(index));
            }
        }
        // Spacing modifiers, combining marks, Hebrew, Arabic and the other
        // caseless scripts up to U+07FF: known by the lead alone.
        known |= groups.take(group::CASELESS, &mut unclaimed);
        // The Cyrillic Supplement's pairs and Armenian (ahead of the
        // rarer Latin Extended-B and Cyrillic past U+047F: each group
        // before a block's own costs it a test).
        let armenian = groups.take(group::ARMENIAN, &mut unclaimed);
        if armenian != 0 {
            let (d4, d5) = (v.eq(0xD4), v.eq(0xD5));
            let d6 = armenian & !(d4 | d5);
            // Armenian և (D6 87) becomes two letters.
            known |= armenian & !(d6 & at(0x87));
            let armenian_d5 = d5 & within(0xA1, 0xAF); // ա..կ → Ա..Կ (D4 B1..BF)
            let armenian_d6 = d6 & upto(0x86); // ր..ֆ → Ր..Ֆ (D5 90..96)
            flip = flip
                .set(armenian_d5, 0xD5 ^ 0xD4)
                .set(armenian_d6, 0xD6 ^ 0xD5);
            add = add
                .set(d4 & odd_cont & upto(0xAF), 0xFF) // Ԁ..ԯ pairs
                .set(armenian_d5 | armenian_d6, 0x10)
                .set(d5 & from(0xB0), 0xD0); // հ..տ → Հ..Տ (D5 80..8F)
        }
        // Latin Extended-B: Vietnamese ơ ư (each one past its capital),
        // Romanian ș ț and the other pairs of U+0200..0233 (lowercase odd;
        // U+0221 ȡ has no capital), spacing modifier letters U+02B0..02BF
        // (ʼ), which have no case.
        if groups.take(group::LATIN_B, &mut unclaimed) != 0 {
            let (c6, c8, ca) = (v.eq(0xC6), v.eq(0xC8), v.eq(0xCA));
            let pairs_0200 = c8 & upto(0xB3);
            known |= c6 & (within(0xA0, 0xA1) | within(0xAF, 0xB0)) | pairs_0200 | ca & from(0xB0);
            add = add.set(
                c6 & (at(0xA1) | at(0xB0)) | pairs_0200 & odd_cont & !at(0xA1),
                0xFF,
            );
        }
        // Cyrillic past U+047F: ґ and the other pairs.
        let cyrillic_more = groups.take(group::CYRILLIC_MORE, &mut unclaimed);
        if cyrillic_more != 0 {
            let d3 = v.eq(0xD3);
            let d2 = cyrillic_more & !d3;
            known |= cyrillic_more;
            add = add
                .set(
                    d2 & odd_cont & (at(0x81) | from(0x8B)) // ҁ, Ҋ..ҿ pairs
                        | d3 & (within(0x81, 0x8E) & even_cont | from(0x90) & odd_cont),
                    0xFF,
                )
                .set(d3 & at(0x8F), 0xF1); // ӏ → Ӏ (D3 80)
        }
    }
    let two = lead2 & known & cont1;
    // Flips and adds only where a 2-byte character starts.
    let mut starts = two;
    let (mut wide, mut four, mut e1_known) = (0u64, 0u64, 0u64);
    let mut add3 = Lanes::zero(v);
    if lead34 != 0 {
        // As above: right for continuation bytes, anded with `cont2`.
        let second = |lo: u8, hi: u8| next(v.within(lo, hi));
        let at2 = |x: u8| next(v.eq(x));
        let is = |x: u8| v.eq(x);
        // As for 2-byte leads: punctuation (E2) first, as every script
        // has it, then CJK, Hangul and the other caseless ranges, then the
        // rest, each only if some lead is still unclaimed.
        let mut three = 0;
        let e2 = is(0xE2);
        let mut unclaimed = lead34 & !e2;
        if e2 != 0 {
            three |= e2 & !(second(0x85, 0x86) | at2(0x93) | second(0xB0, 0xB4))
                | e2 & at2(0x86) & !(v.eq(0x84) >> 2);
        }
        three |= groups.take(group::CASELESS, &mut unclaimed);
        if groups.take(group::EXCEPTIONS, &mut unclaimed) != 0 {
            let [e0, ea, ed, ef] = [0xE0, 0xEA, 0xED, 0xEF].map(is);
            three |= e0 & next(v.ge(0xA0))
                | ed & next(v.lt(0xA0))
                | ea & !(second(0x99, 0x9A) | second(0x9C, 0x9F) | second(0xAD, 0xAE))
                | ef & !(at2(0xAC) | at2(0xBD));
        }
        // Vietnamese: the Latin Extended Additional pairs U+1E00..1EFF
        // (lowercase odd, but the irregular U+1E96..1E9F); Greek
        // U+1F70..1F7D (tonos as oxia) moves to U+1FBA..1FFB.
        let e1 = groups.take(group::E1, &mut unclaimed);
        if e1 != 0 {
            let third = |lo: u8, hi: u8| v.within(lo, hi) >> 2;
            let latin = e1 & second(0xB8, 0xBB) & !(at2(0xBA) & third(0x96, 0x9F));
            let greek = e1 & at2(0xBD) & third(0xB0, 0xBD);
            e1_known = (latin | greek) & cont2;
            three |= e1_known;
            add = add
                .set(greek & third(0xB0, 0xB1), 0x01)
                .set(greek & third(0xB2, 0xBD), 0x02);
            add3 = add3
                .set(latin & odd_bytes(v) >> 2, 0xFF)
                .set(greek & third(0xB0, 0xB1), 0x0A) // ὰ ά → Ὰ Ά (E1 BE BA..BB)
                .set(greek & third(0xB2, 0xB5), 0xD6) // ὲ..ή → Ὲ..Ή (E1 BF 88..8B)
                .set(greek & third(0xB6, 0xB7), 0xE4) // ὶ ί → Ὶ Ί (E1 BF 9A..9B)
                .set(greek & third(0xBA, 0xBB), 0xF0) // ὺ ύ → Ὺ Ύ (E1 BF AA..AB)
                .set(greek & third(0xBC, 0xBD), 0xFE); // ὼ ώ → Ὼ Ώ (E1 BF BA..BB)
        }
        let three = three & cont2;
        if groups.take(group::FOUR, &mut unclaimed) != 0 {
            four = (is(0xF0) & next(v.ge(0x92)) & !(at2(0x96) | at2(0x9E))
                | v.within(0xF1, 0xF3)
                | is(0xF4) & next(v.lt(0x90)))
                & cont2
                & cont3;
        }
        wide = three | four;
        starts |= wide;
    }
    let covered = !high | starts | starts << 1 | wide << 2 | four << 3;
    let lower = v.within(b'a', b'z');
    // SAFETY: as above.
    unsafe {
        let out = _mm512_mask_sub_epi8(v.0, lower, v.0, _mm512_set1_epi8(0x20));
        let flips = _mm512_mask_mov_epi8(_mm512_setzero_si512(), two, flip.0);
        // The adds move from each lead to the byte after it, or two after.
        let adds = _mm512_mask_mov_epi8(
            _mm512_setzero_si512(),
            (two | e1_known) << 1,
            shift_up::<15>(add.0),
        );
        let mut out = _mm512_add_epi8(_mm512_xor_si512(out, flips), adds);
        if e1_known != 0 {
            let adds3 = _mm512_mask_mov_epi8(
                _mm512_setzero_si512(),
                e1_known << 2,
                shift_up::<14>(add3.0),
            );
            out = _mm512_add_epi8(out, adds3);
        }
        store(out, !covered, (shorter & two) << 1, false)
    }
}

/// [`upper_block`] for Western text alone: ASCII, Latin-1, Latin
/// Extended-A and the caseless 3-byte characters of lead E2 (quotes,
/// dashes, arrows, math). Every other byte is bad. Its output, up to its
/// first bad byte, is [`upper_block`]'s; it is much shorter, for the
/// block path's loop over Western text (`block::western_run`).
///
/// # Safety
/// The CPU must have AVX-512 F, BW and VBMI2.
#[inline(always)]
pub(crate) unsafe fn western_block(block: &[u8; BLOCK], ext_a_always: bool) -> Masked {
    // SAFETY: the load reads the 64 bytes of `block`; the caller promises
    // AVX-512.
    upper_western(
        Bytes(unsafe { _mm512_loadu_si512(block.as_ptr().cast()) }),
        ext_a_always,
    )
}

/// [`western_block`] on the block's bytes (safe, as [`upper`]). With
/// `ext_a_always`, the Latin Extended-A rules run on every block, without
/// a branch (for text where some blocks have such letters and some not,
/// which a branch would guess wrong).
#[inline(always)]
fn upper_western(v: Bytes, ext_a_always: bool) -> Masked {
    // SAFETY: `v` exists, so the CPU has AVX-512 F, BW and VBMI2.
    let high = unsafe { _mm512_movepi8_mask(v.0) };
    let lower = v.within(b'a', b'z');
    // SAFETY: as above.
    let out = unsafe { _mm512_mask_sub_epi8(v.0, lower, v.0, _mm512_set1_epi8(0x20)) };
    // No branch on ASCII blocks, which come and go at random in Western
    // text: the rules below leave them as they are. The same rules as
    // `upper`'s for these leads; Latin Extended-A and E2 only when the
    // block has them (most Western blocks have neither).
    let next = |m: u64| m >> 1;
    // SAFETY: as above; as `i8`, 80..BF are the bytes below C0.
    let cont = unsafe { _mm512_cmplt_epi8_mask(v.0, _mm512_set1_epi8(0xC0u8 as i8)) };
    let cont1 = next(cont);
    let at = |x: u8| next(v.eq(x));
    let latin1 = v.within(0xC2, 0xC3);
    let mut two = latin1 & cont1;
    let index = pair_index(v);
    let (mut flip, mut add) = (Lanes::zero(v), Lanes::zero(v));
    flip = flip.set_from(latin1, LATIN1_FLIPS.lookup(index));
    add = add.set_from(latin1, LATIN1_ADDS.lookup(index));
    let mut drop = 0;
    let ext_a = v.within(0xC4, 0xC5);
    if ext_a_always || ext_a != 0 {
        let c5 = v.eq(0xC5);
        let c4 = ext_a & !c5;
        let known = (c4 | c5 & !(at(0x89) | at(0xBF))) & cont1;
        two |= known;
        // ı (C4 B1) → I: the second byte is left out.
        drop = (c4 & at(0xB1) & known) << 1;
        flip = flip.set_from(ext_a, EXT_A_FLIPS.lookup(index));
        add = add.set_from(ext_a, EXT_A_ADDS.lookup(index));
    }
    let e2 = v.eq(0xE2);
    let mut three = 0;
    if e2 != 0 {
        let second = |lo: u8, hi: u8| next(v.within(lo, hi));
        three = (e2 & !(second(0x85, 0x86) | at(0x93) | second(0xB0, 0xB4))
            | e2 & at(0x86) & !(v.eq(0x84) >> 2))
            & cont1
            & cont >> 2;
    }
    let covered = !high | two | two << 1 | three | three << 1 | three << 2;
    // SAFETY: as above.
    unsafe {
        let flips = _mm512_mask_mov_epi8(_mm512_setzero_si512(), two, flip.0);
        let adds = _mm512_mask_mov_epi8(_mm512_setzero_si512(), two << 1, shift_up::<15>(add.0));
        let out = _mm512_add_epi8(_mm512_xor_si512(out, flips), adds);
        store(out, !covered, drop, high == 0)
    }
}

/// Bit `k`: byte `k` is odd.
#[inline(always)]
fn odd_bytes(v: Bytes) -> u64 {
    // SAFETY: as in `Bytes::eq`.
    unsafe { _mm512_test_epi8_mask(v.0, _mm512_set1_epi8(1)) }
}

/// Each byte moved `16 - N` places up (byte `k` to `k + 16 - N`), zeros
/// below.
///
/// # Safety
/// The CPU must have AVX-512 F, BW and VBMI2.
#[inline(always)]
unsafe fn shift_up<const N: i32>(v: __m512i) -> __m512i {
    // SAFETY: the caller promises AVX-512 F and BW.
    unsafe {
        // Each 128-bit lane with the lane below it (zeros below lane 0).
        let below = _mm512_permutex2var_epi64(
            _mm512_setzero_si512(),
            _mm512_setr_epi64(0, 0, 8, 9, 10, 11, 12, 13),
            v,
        );
        _mm512_alignr_epi8::<N>(v, below)
    }
}

/// The output bytes and the bad mask.
///
/// # Safety
/// The CPU must have AVX-512 F.
#[inline(always)]
unsafe fn store(out: __m512i, bad: u64, drop: u64, ascii: bool) -> Masked {
    let mut bytes = [0u8; BLOCK];
    // SAFETY: the store writes the 64 bytes of `bytes`; the caller
    // promises AVX-512 F.
    unsafe { _mm512_storeu_si512(bytes.as_mut_ptr().cast(), out) };
    Masked {
        bytes,
        bad,
        drop,
        ascii,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::block::upper_block_portable;

    /// Whether this CPU runs the kernel; the tests say so when it does not.
    fn cpu_has_it() -> bool {
        let has =
            std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bw");
        if !has {
            std::eprintln!("skipped: this CPU has no AVX-512 BW");
        }
        has
    }

    /// The kernel against the portable rules on one block: the same output,
    /// bad bytes and bytes left out (which may hold anything).
    fn check(block: &[u8; BLOCK]) {
        // SAFETY: the callers checked the CPU.
        let fast = unsafe { upper_block(block) };
        let (bytes, bad, drop) = upper_block_portable(block);
        assert_eq!(fast.bad, bad, "bad of {block:02X?}");
        assert_eq!(fast.drop, drop, "drop of {block:02X?}");
        for k in (0..BLOCK).filter(|k| drop >> k & 1 == 0) {
            assert_eq!(fast.bytes[k], bytes[k], "byte {k} of {block:02X?}");
        }
        assert_eq!(fast.ascii, block.is_ascii(), "ascii of {block:02X?}");
        check_western(block, bad, drop, &bytes);
    }

    /// The Western kernel against the portable rules on one block: it
    /// knows the characters below U+0180 and those of lead E2 (U+2000 to
    /// U+2FFF) that the full rules know, and gives them the same output,
    /// with its Latin Extended-A rules behind a branch or not.
    fn check_western(block: &[u8; BLOCK], bad: u64, drop: u64, bytes: &[u8; BLOCK]) {
        // SAFETY: the callers checked the CPU.
        let west = unsafe { western_block(block, false) };
        // SAFETY: as above.
        let always = unsafe { western_block(block, true) };
        assert_eq!(
            (west.bytes, west.bad, west.drop, west.ascii),
            (always.bytes, always.bad, always.drop, always.ascii)
        );
        let mut western = 0u64;
        let mut at = 0;
        for chunk in block.utf8_chunks() {
            for c in chunk.valid().chars() {
                if (c as u32) < 0x180 || (0x2000..=0x2FFF).contains(&(c as u32)) {
                    western |= ((1u64 << c.len_utf8()) - 1) << at;
                }
                at += c.len_utf8();
            }
            at += chunk.invalid().len();
        }
        assert_eq!(west.bad, bad | !western, "western bad of {block:02X?}");
        assert_eq!(west.drop, drop, "western drop of {block:02X?}");
        for k in (0..BLOCK).filter(|k| (west.bad | drop) >> k & 1 == 0) {
            assert_eq!(west.bytes[k], bytes[k], "western byte {k} of {block:02X?}");
        }
        assert_eq!(
            west.ascii,
            block.is_ascii(),
            "western ascii of {block:02X?}"
        );
    }

    /// Every byte pair at the start, the middle and the end of a block,
    /// among ASCII letters and among continuation bytes.
    #[test]
    fn every_byte_pair_everywhere() {
        if !cpu_has_it() {
            return;
        }
        for filler in [b'a', 0x80] {
            for at in [0, 1, 31, 32, 62] {
                for a in 0..=255u8 {
                    for b in 0..=255u8 {
                        let mut block = [filler; BLOCK];
                        block[at] = a;
                        block[at + 1] = b;
                        check(&block);
                    }
                }
            }
        }
    }

    /// Every lead byte with every pair of continuation bytes (and a few
    /// others) after it, where the block's end cuts it and where it does
    /// not; every 4-byte lead with every second byte and a few third and
    /// fourth bytes.
    #[test]
    fn every_lead_with_two_bytes_after_it() {
        if !cpu_has_it() {
            return;
        }
        let after: std::vec::Vec<u8> = (0x80..=0xBF).chain([0x00, b'a', 0xC3, 0xE2]).collect();
        for lead in 0xC0..=0xFFu8 {
            for &b in &after {
                for &c in &after {
                    for at in [0, 29, 61, 62] {
                        let mut block = [b'x'; BLOCK];
                        block[at] = lead;
                        block[at + 1] = b;
                        if at + 2 < BLOCK {
                            block[at + 2] = c;
                        }
                        check(&block);
                    }
                }
            }
        }
        for lead in 0xF0..=0xF4u8 {
            for b in 0x80..=0xBFu8 {
                for &c in &after {
                    for d in [0x80, 0xBF, b'a', 0xF0] {
                        for at in [0, 30, 60, 61] {
                            let mut block = [b' '; BLOCK];
                            let n = (BLOCK - at).min(4);
                            block[at..at + n].copy_from_slice(&[lead, b, c, d][..n]);
                            check(&block);
                        }
                    }
                }
            }
        }
    }

    /// Blocks of text: well-formed characters of every script the rules
    /// know, and bytes at random, at random offsets.
    #[test]
    fn text_and_random_blocks() {
        if !cpu_has_it() {
            return;
        }
        let chars: std::vec::Vec<char> = (0..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|&c| (c as u32) < 0x800 || (c as u32).is_multiple_of(61))
            .collect();
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut rand = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..300_000 {
            let mut text = std::vec::Vec::new();
            let script = rand() as usize % chars.len();
            while text.len() < BLOCK {
                let r = rand();
                match r % 8 {
                    0 => text.push(r as u8 >> 1),
                    1 => text.push((r >> 8) as u8),
                    2..=4 => {
                        let c = chars[(script + (r >> 8) as usize % 64) % chars.len()];
                        text.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                    }
                    _ => {
                        let c = chars[(r >> 8) as usize % chars.len()];
                        text.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                    }
                }
            }
            let mut block = [0u8; BLOCK];
            block.copy_from_slice(&text[..BLOCK]);
            check(&block);
        }
    }
}
