//! The kernels written with x86-64 intrinsics, behind the [`Simd`] token
//! that proves the CPU has the instructions (see `dispatch.rs`). Each has a
//! portable twin giving the same answer, which the tests compare it with.

use core::arch::x86_64::{
    __m256i, __m512i, _mm256_alignr_epi8, _mm256_and_si256, _mm256_castsi256_si128,
    _mm256_extracti128_si256, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_or_si256,
    _mm256_permute2x128_si256, _mm256_set1_epi8, _mm256_setr_epi8, _mm256_shuffle_epi8,
    _mm256_srli_epi16, _mm512_add_epi8, _mm512_maskz_compress_epi8, _mm512_maskz_permutexvar_epi8,
    _mm512_movepi8_mask, _mm512_set1_epi8, _mm_cvtsi128_si32, _mm_or_si128, _mm_srli_si128,
};

use super::block::{BLOCK, IOTA};
use super::dispatch::Simd;
use super::sink::{Sink, Slot};

/// The token of AVX2: only made where the CPU has it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Avx2(());

impl Avx2 {
    /// The token.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[inline(always)]
    pub(crate) unsafe fn new_unchecked() -> Self {
        Avx2(())
    }
}

/// Per low nibble of a byte, the class bits it can be in (see
/// [`Avx2::lead_groups`]).
const LOW: [u8; 16] = [
    0x48, 0x68, 0x89, 0x89, 0x8A, 0x8A, 0x98, 0x58, 0x58, 0x58, 0x58, 0x49, 0x49, 0x48, 0x4C, 0x4C,
];
/// Per high nibble: lead bytes are C..F.
const HIGH: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x17, 0xC0, 0x28, 0x08];

impl Simd for Avx2 {
    /// `block::lead_groups` with two nibble lookups per 32 bytes: a lead
    /// byte's class bits are `LOW[b & 15] & HIGH[b >> 4]`. Bits 0–5 are
    /// the groups themselves where one nibble pair says it (C2 C3 CB CC,
    /// C4 C5, CE CF, E0..FF, C6..CA, E1), bit 6 is group 4 for D0 D1
    /// D7..DF and bit 7 group 16 for D2..D6.
    #[inline(always)]
    fn lead_groups(self, block: &[u8; BLOCK]) -> u8 {
        // SAFETY: the token proves the CPU has AVX2, and the loads read
        // 2 x 32 bytes inside `block`.
        let classes = unsafe {
            let table = |t: [u8; 16]| {
                let t = t.map(|b| b as i8);
                _mm256_setr_epi8(
                    t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], t[11],
                    t[12], t[13], t[14], t[15], t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7],
                    t[8], t[9], t[10], t[11], t[12], t[13], t[14], t[15],
                )
            };
            let (low, high, nibble) = (table(LOW), table(HIGH), _mm256_set1_epi8(0x0F));
            let class = |v: __m256i| {
                let lo = _mm256_and_si256(v, nibble);
                let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), nibble);
                _mm256_and_si256(_mm256_shuffle_epi8(low, lo), _mm256_shuffle_epi8(high, hi))
            };
            let ptr = block.as_ptr().cast::<__m256i>();
            let any = _mm256_or_si256(
                class(_mm256_loadu_si256(ptr)),
                class(_mm256_loadu_si256(ptr.add(1))),
            );
            let any = _mm_or_si128(
                _mm256_castsi256_si128(any),
                _mm256_extracti128_si256::<1>(any),
            );
            let any = _mm_or_si128(any, _mm_srli_si128::<8>(any));
            let any = _mm_or_si128(any, _mm_srli_si128::<4>(any));
            let any = _mm_or_si128(any, _mm_srli_si128::<2>(any));
            let any = _mm_or_si128(any, _mm_srli_si128::<1>(any));
            _mm_cvtsi128_si32(any) as u8
        };
        classes & 0x3F | (classes >> 6 & 1) << 2 | (classes >> 7 & 1) << 4
    }

    /// `block::high_bits` with one `vpmovmskb` per 32 bytes.
    #[inline(always)]
    fn high_bits(self, bytes: &[u8; BLOCK]) -> u64 {
        // SAFETY: the token proves the CPU has AVX2, and the loads read
        // 2 x 32 bytes inside `bytes`.
        let (low, high) = unsafe {
            let ptr = bytes.as_ptr().cast::<__m256i>();
            (
                _mm256_movemask_epi8(_mm256_loadu_si256(ptr)),
                _mm256_movemask_epi8(_mm256_loadu_si256(ptr.add(1))),
            )
        };
        u64::from(low as u32) | u64::from(high as u32) << 32
    }

    /// `block::next`: per 32 bytes, `vperm2i128` puts the next 16 bytes
    /// beside each 16-byte lane, and `vpalignr` takes the lane shifted.
    #[inline(always)]
    fn next<const K: usize>(self, v: [u8; BLOCK]) -> [u8; BLOCK] {
        match K {
            1 => next_avx2::<1>(self, v),
            2 => next_avx2::<2>(self, v),
            3 => next_avx2::<3>(self, v),
            _ => unreachable!(),
        }
    }

    /// `block::prev`: as `next`, with the 16 bytes before each lane.
    #[inline(always)]
    fn prev<const K: usize>(self, v: [u8; BLOCK]) -> [u8; BLOCK] {
        match K {
            1 => prev_avx2::<15>(self, v),
            2 => prev_avx2::<14>(self, v),
            3 => prev_avx2::<13>(self, v),
            _ => unreachable!(),
        }
    }
}

/// `block::next::<K>` with AVX2, for [`Avx2::next`].
#[inline(always)]
fn next_avx2<const K: i32>(_: Avx2, v: [u8; BLOCK]) -> [u8; BLOCK] {
    // SAFETY: the token proves the CPU has AVX2; `[u8; 64]` and
    // `[__m256i; 2]` are 64 bytes of plain data either way, any bit
    // pattern valid.
    unsafe {
        let [low, high]: [__m256i; 2] = core::mem::transmute(v);
        // Each lane with the 16 bytes after it: (high's first lane, the
        // zero lane) after high, (low's second lane, high's first) after low.
        let after_high = _mm256_permute2x128_si256::<0x81>(high, high);
        let after_low = _mm256_permute2x128_si256::<0x21>(low, high);
        core::mem::transmute([
            _mm256_alignr_epi8::<K>(after_low, low),
            _mm256_alignr_epi8::<K>(after_high, high),
        ])
    }
}

/// `block::prev::<K>` with AVX2, for [`Avx2::prev`], with `L` = 16 - `K`.
#[inline(always)]
fn prev_avx2<const L: i32>(_: Avx2, v: [u8; BLOCK]) -> [u8; BLOCK] {
    // SAFETY: as in `next_avx2`.
    unsafe {
        let [low, high]: [__m256i; 2] = core::mem::transmute(v);
        // Each lane with the 16 bytes before it: (the zero lane, low's
        // first lane) before low, (low's second lane, high's first) before high.
        let before_low = _mm256_permute2x128_si256::<0x08>(low, low);
        let before_high = _mm256_permute2x128_si256::<0x21>(low, high);
        core::mem::transmute([
            _mm256_alignr_epi8::<L>(low, before_low),
            _mm256_alignr_epi8::<L>(high, before_high),
        ])
    }
}

/// The token of AVX-512 F/BW/VL/VBMI/VBMI2 (and AVX2): only made where
/// the CPU has them all.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Avx512(());

impl Avx512 {
    /// The token.
    ///
    /// # Safety
    /// The CPU must have AVX2, AVX-512 F, BW, VL, VBMI and VBMI2.
    #[inline(always)]
    pub(crate) unsafe fn new_unchecked() -> Self {
        Avx512(())
    }

    /// The AVX2 token, which this one implies.
    #[inline(always)]
    fn avx2(self) -> Avx2 {
        Avx2(())
    }
}

/// Each byte of `v` replaced by the one `by` places after it (`by` taken
/// modulo 64, so negative shifts look back), zeros where `keep` has no
/// bit: one VBMI `vpermb` across the whole register.
#[inline(always)]
fn permute(_: Avx512, v: [u8; BLOCK], by: u8, keep: u64) -> [u8; BLOCK] {
    // SAFETY: the token proves the CPU has AVX-512 F/BW/VBMI; `[u8; 64]`
    // and `__m512i` are 64 bytes of plain data either way, any bit
    // pattern valid. `vpermb` reads only the low 6 bits of each index.
    unsafe {
        let v: __m512i = core::mem::transmute(v);
        let iota: __m512i = core::mem::transmute(IOTA);
        let index = _mm512_add_epi8(iota, _mm512_set1_epi8(by as i8));
        core::mem::transmute(_mm512_maskz_permutexvar_epi8(keep, index, v))
    }
}

impl Simd for Avx512 {
    /// The mask kernel takes an ASCII block about as fast as the ASCII
    /// fast path does (French +23 %, German +4 % over leaving at once).
    const ASCII_BLOCKS_TO_LEAVE: usize = 4;

    /// The mask kernel's block costs less than a lone character's detour
    /// through the run loops and back (German +8 %, French +5 %, English
    /// −5 % over the detour: `feed_file --time`, 9 alternations).
    const LONE_SKIPS_BLOCKS: bool = false;

    /// [`Avx2::lead_groups`].
    #[inline(always)]
    fn lead_groups(self, block: &[u8; BLOCK]) -> u8 {
        self.avx2().lead_groups(block)
    }

    /// `block::high_bits` with one `vpmovb2m`.
    #[inline(always)]
    fn high_bits(self, bytes: &[u8; BLOCK]) -> u64 {
        // SAFETY: the token proves the CPU has AVX-512 BW; `[u8; 64]` and
        // `__m512i` are 64 bytes of plain data either way.
        unsafe { _mm512_movepi8_mask(core::mem::transmute::<[u8; BLOCK], __m512i>(*bytes)) }
    }

    /// [`Avx2::next`].
    #[inline(always)]
    fn next<const K: usize>(self, v: [u8; BLOCK]) -> [u8; BLOCK] {
        self.avx2().next::<K>(v)
    }

    /// [`Avx2::prev`].
    #[inline(always)]
    fn prev<const K: usize>(self, v: [u8; BLOCK]) -> [u8; BLOCK] {
        self.avx2().prev::<K>(v)
    }

    /// `block::next_by` with one `vpermb`, in registers.
    #[inline(always)]
    fn next_by(self, v: [u8; BLOCK], at: usize) -> [u8; BLOCK] {
        debug_assert!(at < BLOCK);
        permute(self, v, at as u8, u64::MAX >> (at % BLOCK))
    }

    /// The block rules as one mask kernel (`avx512.rs`).
    #[inline(always)]
    fn upper_block(self, block: &[u8; BLOCK]) -> Option<([u8; BLOCK], u64, u64, bool)> {
        // SAFETY: the token proves the CPU has AVX-512 F, BW and VBMI2.
        let m = unsafe { super::avx512::upper_block(block) };
        Some((m.bytes, m.bad, m.drop, m.ascii))
    }

    /// Western text has a loop of its own: its blocks cost a third of the
    /// general kernel's.
    const WESTERN: bool = true;

    #[inline(always)]
    fn western_run<'a, T: Slot>(
        self,
        sink: Sink<'a, T>,
        src: &[u8],
        ext_a: bool,
    ) -> (Sink<'a, T>, usize) {
        // SAFETY: the token proves the CPU has every feature
        // `western_run_avx512` is compiled with.
        unsafe {
            if ext_a {
                western_run_avx512::<T, true>(self, sink, src)
            } else {
                western_run_avx512::<T, false>(self, sink, src)
            }
        }
    }

    /// The Western rules as one mask kernel (`avx512.rs`).
    #[inline(always)]
    fn western_block(
        self,
        block: &[u8; BLOCK],
        ext_a: bool,
    ) -> Option<([u8; BLOCK], u64, u64, bool)> {
        // SAFETY: the token proves the CPU has AVX-512 F, BW and VBMI2.
        let m = unsafe { super::avx512::western_block(block, ext_a) };
        Some((m.bytes, m.bad, m.drop, m.ascii))
    }

    /// `block::compress` with one VBMI2 `vpcompressb`.
    #[inline(always)]
    fn compress(self, v: [u8; BLOCK], keep: u64) -> [u8; BLOCK] {
        // SAFETY: the token proves the CPU has AVX-512 F/VBMI2; `[u8; 64]`
        // and `__m512i` are 64 bytes of plain data either way.
        unsafe {
            core::mem::transmute(_mm512_maskz_compress_epi8(
                keep,
                core::mem::transmute::<[u8; BLOCK], __m512i>(v),
            ))
        }
    }
}

/// `block::western_run` compiled with AVX-512, apart from the general
/// block loop: entered once per stretch of Western text, so the call costs
/// little, and the two loops do not share registers. One build for text
/// with Latin Extended-A letters (`EXT_A`), one for text without.
///
/// # Safety
/// The CPU must have every feature enabled here (as `dispatch::avx512`).
#[target_feature(
    enable = "avx2,bmi1,bmi2,popcnt,lzcnt,avx512f,avx512bw,avx512vl,avx512vbmi,avx512vbmi2"
)]
#[inline(never)]
unsafe fn western_run_avx512<'a, T: Slot, const EXT_A: bool>(
    simd: Avx512,
    mut sink: Sink<'a, T>,
    src: &[u8],
) -> (Sink<'a, T>, usize) {
    let n = super::block::western_run(simd, &mut sink, src, EXT_A);
    (sink, n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::dispatch::Portable;

    /// A pseudo-random block (xorshift), every byte value likely.
    fn random_block(x: &mut u64) -> [u8; BLOCK] {
        core::array::from_fn(|_| {
            *x ^= *x << 13;
            *x ^= *x >> 7;
            *x ^= *x << 17;
            (*x >> 24) as u8
        })
    }

    /// The lane shifts against their plain-Rust twins, and the plain ones
    /// against their definition: every single byte value at every place
    /// (so each byte is seen to land where it must and nowhere else), then
    /// pseudo-random blocks.
    #[test]
    fn lane_shifts_match_the_portable_ones() {
        use crate::codec::block::{next_plain, prev_plain};
        let avx2 = std::is_x86_feature_detected!("avx2").then(|| {
            // SAFETY: checked just here.
            unsafe { Avx2::new_unchecked() }
        });
        let check = |v: [u8; BLOCK]| {
            let expect_next = |k: usize| -> [u8; BLOCK] {
                core::array::from_fn(|i| if i + k < BLOCK { v[i + k] } else { 0 })
            };
            let expect_prev = |k: usize| -> [u8; BLOCK] {
                core::array::from_fn(|i| if i >= k { v[i - k] } else { 0 })
            };
            let next = [next_plain::<1>(v), next_plain::<2>(v), next_plain::<3>(v)];
            let prev = [prev_plain::<1>(v), prev_plain::<2>(v), prev_plain::<3>(v)];
            for k in 1..=3 {
                assert_eq!(next[k - 1], expect_next(k), "next {k} of {v:02X?}");
                assert_eq!(prev[k - 1], expect_prev(k), "prev {k} of {v:02X?}");
            }
            let portable = [
                Portable.next::<1>(v),
                Portable.next::<2>(v),
                Portable.next::<3>(v),
                Portable.prev::<1>(v),
                Portable.prev::<2>(v),
                Portable.prev::<3>(v),
            ];
            assert_eq!(portable[..3], next, "portable next of {v:02X?}");
            assert_eq!(portable[3..], prev, "portable prev of {v:02X?}");
            if let Some(avx2) = avx2 {
                let simd = [
                    avx2.next::<1>(v),
                    avx2.next::<2>(v),
                    avx2.next::<3>(v),
                    avx2.prev::<1>(v),
                    avx2.prev::<2>(v),
                    avx2.prev::<3>(v),
                ];
                assert_eq!(simd, portable, "avx2 of {v:02X?}");
            }
        };
        for at in 0..BLOCK {
            for b in 1..=255u8 {
                let mut v = [0u8; BLOCK];
                v[at] = b;
                check(v);
            }
        }
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            check(random_block(&mut x));
        }
    }

    /// The AVX-512 token, where the CPU has what it stands for.
    fn avx512() -> Option<Avx512> {
        let has = std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("avx512vbmi")
            && std::is_x86_feature_detected!("avx512vbmi2");
        // SAFETY: checked just here.
        has.then(|| unsafe { Avx512::new_unchecked() })
    }

    /// The AVX-512 kernels against their portable twins (CPU permitting):
    /// the variable shift at every distance and the movemask, over every
    /// single byte value at every place and pseudo-random blocks; the
    /// rest against the AVX2 ones they are.
    #[test]
    fn avx512_kernels_match_the_portable_ones() {
        use crate::codec::block::next_by;
        let check = |simd: &dyn Fn([u8; BLOCK], usize) -> [u8; BLOCK], v: [u8; BLOCK]| {
            for at in 0..BLOCK {
                let expect: [u8; BLOCK] =
                    core::array::from_fn(|i| if i + at < BLOCK { v[i + at] } else { 0 });
                assert_eq!(next_by(v, at), expect, "portable next_by {at} of {v:02X?}");
                assert_eq!(Portable.next_by(v, at), expect, "{at} of {v:02X?}");
                assert_eq!(simd(v, at), expect, "next_by {at} of {v:02X?}");
            }
        };
        let Some(avx512) = avx512() else {
            // The portable twin still gets checked against the definition.
            let mut x = 0x2545_F491_4F6C_DD1Du64;
            for _ in 0..100 {
                check(&|v, at| Portable.next_by(v, at), random_block(&mut x));
            }
            return;
        };
        let simd = |v, at| avx512.next_by(v, at);
        for at in 0..BLOCK {
            for b in [0x01, 0x80, 0xFF] {
                let mut v = [0u8; BLOCK];
                v[at] = b;
                check(&simd, v);
            }
        }
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..2_000 {
            let v = random_block(&mut x);
            check(&simd, v);
            assert_eq!(avx512.high_bits(&v), Portable.high_bits(&v), "{v:02X?}");
            assert_eq!(avx512.lead_groups(&v), Portable.lead_groups(&v), "{v:02X?}");
            for k in 0..3 {
                let next = [
                    avx512.next::<1>(v),
                    avx512.next::<2>(v),
                    avx512.next::<3>(v),
                ];
                let prev = [
                    avx512.prev::<1>(v),
                    avx512.prev::<2>(v),
                    avx512.prev::<3>(v),
                ];
                let p_next = [
                    Portable.next::<1>(v),
                    Portable.next::<2>(v),
                    Portable.next::<3>(v),
                ];
                let p_prev = [
                    Portable.prev::<1>(v),
                    Portable.prev::<2>(v),
                    Portable.prev::<3>(v),
                ];
                assert_eq!(next[k], p_next[k], "next {} of {v:02X?}", k + 1);
                assert_eq!(prev[k], p_prev[k], "prev {} of {v:02X?}", k + 1);
            }
        }
        for at in 0..BLOCK {
            let mut v = [0x7Fu8; BLOCK];
            v[at] = 0x80;
            assert_eq!(avx512.high_bits(&v), 1 << at);
        }
    }

    /// The compactions (AVX-512's, and the shift-and-blend one of the
    /// other levels) against the plain twin, and that against its
    /// definition: every single byte left out and every single byte kept
    /// at every place, then pseudo-random blocks and masks.
    #[test]
    fn compress_matches_the_portable_one() {
        use crate::codec::block::compress;
        let avx512 = avx512();
        let check = |v: [u8; BLOCK], keep: u64| {
            let mut expect = [0u8; BLOCK];
            let kept: std::vec::Vec<u8> = (0..BLOCK)
                .filter(|&k| keep >> k & 1 == 1)
                .map(|k| v[k])
                .collect();
            expect[..kept.len()].copy_from_slice(&kept);
            assert_eq!(compress(v, keep), expect, "{keep:064b} of {v:02X?}");
            assert_eq!(Portable.compress(v, keep), expect, "{keep:064b}");
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: checked just here.
                let avx2 = unsafe { Avx2::new_unchecked() };
                assert_eq!(avx2.compress(v, keep), expect, "{keep:064b} of {v:02X?}");
            }
            if let Some(avx512) = avx512 {
                assert_eq!(avx512.compress(v, keep), expect, "{keep:064b} of {v:02X?}");
            }
        };
        let v: [u8; BLOCK] = core::array::from_fn(|k| k as u8 + 1);
        for at in 0..BLOCK {
            check(v, !(1 << at));
            check(v, 1 << at);
        }
        check(v, 0);
        check(v, u64::MAX);
        let mut x = 0x0123_4567_89AB_CDEFu64;
        for _ in 0..20_000 {
            let v = random_block(&mut x);
            let keep = u64::from_le_bytes(random_block(&mut x)[..8].try_into().unwrap());
            check(v, keep);
        }
    }

    /// The kernel against its portable twin: every byte value alone at every
    /// place, and every pair of lead bytes (CPU permitting).
    #[test]
    fn lead_groups_match_the_portable_scan() {
        if !std::is_x86_feature_detected!("avx2") {
            return;
        }
        // SAFETY: checked just above.
        let avx2 = unsafe { Avx2::new_unchecked() };
        for at in 0..BLOCK {
            for b in 0..=255u8 {
                let mut block = [b'a'; BLOCK];
                block[at] = b;
                assert_eq!(
                    avx2.lead_groups(&block),
                    Portable.lead_groups(&block),
                    "{b:02X} at {at}"
                );
            }
        }
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..100_000 {
            let mut bytes = [0u8; BLOCK];
            for b in &mut bytes {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = if x & 3 == 0 { x as u8 } else { 0 };
            }
            assert_eq!(
                avx2.high_bits(&bytes),
                Portable.high_bits(&bytes),
                "{bytes:02X?}"
            );
            assert_eq!(
                crate::codec::block::high_bits_swar(&bytes),
                Portable.high_bits(&bytes),
                "{bytes:02X?}"
            );
        }
        for a in 0xC0..=0xFFu8 {
            for b in 0xC0..=0xFFu8 {
                let mut block = [0x80; BLOCK];
                block[3] = a;
                block[40] = b;
                assert_eq!(
                    avx2.lead_groups(&block),
                    Portable.lead_groups(&block),
                    "{a:02X} {b:02X}"
                );
            }
        }
    }
}
