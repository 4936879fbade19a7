//! The one place that picks the instruction set the codec's loops run with.
//!
//! The hot loops are written once, in portable Rust the compiler vectorises
//! (plus explicit kernels where that stops paying). [`run`] calls a loop
//! compiled for the best level this CPU has, chosen once per process:
//!
//! * `avx512`: that and AVX-512 F/BW/VL/VBMI/VBMI2 (Zen 4, Ice Lake and later);
//! * `avx2`: AVX2 (with BMI1/2, POPCNT, LZCNT, as every AVX2 CPU has);
//! * `portable`: the baseline build, everywhere else, without `std` (no
//!   runtime detection) and under `RUSTFLAGS="--cfg upcase_portable"`,
//!   which compiles the dispatch out.
//!
//! `UPCASE_FORCE_IMPLEMENTATION=portable|avx2|avx512` (read once, like
//! simdutf's `SIMDUTF_FORCE_IMPLEMENTATION`) caps the level, so the tests
//! run every level this CPU has; a level the CPU lacks is never used, any
//! other value is ignored, and [`implementation`] says which level runs.

use super::block::{high_bits, lead_groups, next, next_by, prev, BLOCK, IOTA};
use super::sink::{Sink, Slot};

/// An instruction-set level the loops are compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(
    not(all(feature = "std", target_arch = "x86_64", not(upcase_portable))),
    allow(dead_code)
)]
pub(crate) enum Level {
    Portable = 1,
    Avx2 = 2,
    Avx512 = 3,
}

impl Level {
    /// The name `UPCASE_FORCE_IMPLEMENTATION` and [`implementation`] use.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Level::Portable => "portable",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }
}

/// The name of the level the codec runs with in this process: `"avx512"`,
/// `"avx2"` or `"portable"` (see [`run`]).
pub fn implementation() -> &'static str {
    level().name()
}

/// What the loops ask of the instruction set they are compiled for: the
/// few kernels written with explicit intrinsics, each with a portable twin
/// that gives the same answer. A value of a type that implements it is the
/// proof that the CPU has that instruction set.
pub(crate) trait Simd: Copy {
    /// Whether [`Simd::lead_groups`] costs about as much as running a rule
    /// group, so the block path reuses a recent block's answer as a guess
    /// and takes it exactly only when the guess fails or grows old.
    const GUESS_GROUPS: bool = false;

    /// All-ASCII blocks in a row after which the block path goes back to
    /// the ASCII fast path. One where an ASCII block costs the block path
    /// more than the fast path; more where it costs about the same, so
    /// text with an accent every few dozen bytes stays in one loop.
    const ASCII_BLOCKS_TO_LEAVE: usize = 1;

    /// Whether a non-ASCII character with ASCII on both sides (an accent,
    /// a curly quote in mostly-ASCII text) goes through the run loops
    /// rather than start the block path: yes where a block costs more
    /// than that detour.
    const LONE_SKIPS_BLOCKS: bool = true;

    /// Whether the level has a block loop of its own for Western text
    /// ([`Simd::western_run`]).
    const WESTERN: bool = false;

    /// The block path's loop for Western text (`block::western_run`), where
    /// the level has one, compiled apart from the general block loop (so
    /// that neither costs the other registers); it gets the sink and gives
    /// it back, so the sink's address never escapes the caller's loop. By
    /// default it takes nothing. `ext_a` (for text that starts with a
    /// Latin Extended-A letter) runs those rules on every block.
    #[inline(always)]
    fn western_run<'a, T: Slot>(
        self,
        sink: Sink<'a, T>,
        _src: &[u8],
        _ext_a: bool,
    ) -> (Sink<'a, T>, usize) {
        (sink, 0)
    }

    /// The rules of Western text alone, where the level has them (for
    /// `block::western_run`): [`Simd::upper_block`]'s answer for ASCII,
    /// Latin-1, Latin Extended-A and the caseless characters of lead E2,
    /// every other byte bad. `ext_a` runs the Latin Extended-A rules on
    /// every block rather than behind a branch. Only the AVX-512 level has
    /// them, so the method exists only where that level can.
    #[cfg(all(feature = "std", target_arch = "x86_64", not(upcase_portable)))]
    #[inline(always)]
    fn western_block(
        self,
        _block: &[u8; BLOCK],
        _ext_a: bool,
    ) -> Option<([u8; BLOCK], u64, u64, bool)> {
        None
    }

    /// The rule groups whose lead bytes `block` holds (see
    /// `block::lead_groups`).
    fn lead_groups(self, block: &[u8; BLOCK]) -> u8;

    /// One bit per byte of `bytes`, its high bit (see `block::high_bits`).
    fn high_bits(self, bytes: &[u8; BLOCK]) -> u64;

    /// The whole block rule set in one kernel, where the level has one:
    /// the uppercase of `block`, one bit per byte not part of a character
    /// the rules know, one bit per byte the output leaves out, and whether
    /// it was all ASCII (the fields of `block::Upper`): what the portable
    /// rules give with every rule group. `None` leaves the block to the
    /// portable rules (the default).
    #[inline(always)]
    fn upper_block(self, _block: &[u8; BLOCK]) -> Option<([u8; BLOCK], u64, u64, bool)> {
        None
    }

    /// `v` with each byte replaced by the one `K` (1 to 3) places after
    /// it, zeros shifted in at the end (see `block::next`): the block
    /// path's look at the bytes after a lead, in registers.
    fn next<const K: usize>(self, v: [u8; BLOCK]) -> [u8; BLOCK];

    /// `v` with each byte replaced by the one `K` (1 to 3) places before
    /// it, zeros shifted in at the start (see `block::prev`): the block
    /// path's look back at the leads before a byte, in registers.
    fn prev<const K: usize>(self, v: [u8; BLOCK]) -> [u8; BLOCK];

    /// `v` with each byte replaced by the one `at` (below `BLOCK`) places
    /// after it, zeros shifted in at the end (see `block::next_by`): the
    /// block path's stretch of output after a character it took alone.
    #[inline(always)]
    fn next_by(self, v: [u8; BLOCK], at: usize) -> [u8; BLOCK] {
        next_by(v, at)
    }

    /// The bytes of `v` whose bit in `keep` is set, in order, then zeros
    /// (see `block::compress`): the block path's output without the bytes
    /// a shorter uppercase leaves out.
    ///
    /// By default one [`Simd::next`] and one blend per byte left out, the
    /// last first (a few per block in Turkish text, against a loop over
    /// every byte).
    #[inline(always)]
    fn compress(self, v: [u8; BLOCK], keep: u64) -> [u8; BLOCK] {
        let (mut out, mut drop) = (v, !keep);
        while drop != 0 {
            let at = BLOCK - 1 - drop.leading_zeros() as usize;
            let after = self.next::<1>(out);
            // A blend on byte masks, which the compiler vectorises.
            for k in 0..BLOCK {
                let from_at = 0u8.wrapping_sub(u8::from(IOTA[k] >= at as u8));
                out[k] ^= (out[k] ^ after[k]) & from_at;
            }
            drop &= !(1 << at);
        }
        out
    }
}

/// The baseline: plain Rust, which the compiler vectorises as it can.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Portable;

impl Simd for Portable {
    const GUESS_GROUPS: bool = true;

    #[inline(always)]
    fn lead_groups(self, block: &[u8; BLOCK]) -> u8 {
        lead_groups(block)
    }

    #[inline(always)]
    fn high_bits(self, bytes: &[u8; BLOCK]) -> u64 {
        high_bits(bytes)
    }

    #[inline(always)]
    fn next<const K: usize>(self, v: [u8; BLOCK]) -> [u8; BLOCK] {
        next::<K>(v)
    }

    #[inline(always)]
    fn prev<const K: usize>(self, v: [u8; BLOCK]) -> [u8; BLOCK] {
        prev::<K>(v)
    }
}

/// A piece of work to run at the dispatched level: [`run`] calls
/// [`Task::run`] with that level's [`Simd`] token.
pub(crate) trait Task {
    /// What the work returns.
    type Output;
    /// Does the work with the kernels of `simd`. Must be
    /// `#[inline(always)]`, and so must everything it calls.
    fn run<S: Simd>(self, simd: S) -> Self::Output;
}

/// Runs `task`, compiled for the level this process runs with.
///
/// `task` is instantiated once per level, and compiled for it only where
/// it is inlined into the level's `#[target_feature]` function: its `run`
/// must be `#[inline(always)]`, and so must everything it calls (without
/// it, every level ran the baseline build, twice the instructions per
/// byte).
#[inline(always)]
pub(crate) fn run<T: Task>(task: T) -> T::Output {
    #[cfg(all(feature = "std", target_arch = "x86_64", not(upcase_portable)))]
    match level() {
        // SAFETY: `level` returns `Avx512` only if the CPU has every
        // feature `x86::avx512` enables.
        Level::Avx512 => return unsafe { x86::avx512(task) },
        // SAFETY: `level` returns `Avx2` only if the CPU has every
        // feature `x86::avx2` enables.
        Level::Avx2 => return unsafe { x86::avx2(task) },
        Level::Portable => {}
    }
    task.run(Portable)
}

/// The level: the best the CPU has, capped by `UPCASE_FORCE_IMPLEMENTATION`.
#[cfg(all(feature = "std", target_arch = "x86_64", not(upcase_portable)))]
fn level() -> Level {
    use core::sync::atomic::{AtomicU8, Ordering};
    static LEVEL: AtomicU8 = AtomicU8::new(0);
    match LEVEL.load(Ordering::Relaxed) {
        3 => Level::Avx512,
        2 => Level::Avx2,
        1 => Level::Portable,
        _ => {
            let level = x86::detect();
            LEVEL.store(level as u8, Ordering::Relaxed);
            level
        }
    }
}

#[cfg(not(all(feature = "std", target_arch = "x86_64", not(upcase_portable))))]
fn level() -> Level {
    Level::Portable
}

#[cfg(all(feature = "std", target_arch = "x86_64", not(upcase_portable)))]
mod x86 {
    use super::{Level, Task};
    use crate::codec::x86::{Avx2, Avx512};

    /// The best level the CPU has, capped by `UPCASE_FORCE_IMPLEMENTATION`.
    pub(super) fn detect() -> Level {
        let base = std::is_x86_feature_detected!("bmi1")
            && std::is_x86_feature_detected!("bmi2")
            && std::is_x86_feature_detected!("popcnt")
            && std::is_x86_feature_detected!("lzcnt");
        let best = if !base {
            Level::Portable
        } else if std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("avx512vbmi")
            && std::is_x86_feature_detected!("avx512vbmi2")
        {
            Level::Avx512
        } else if std::is_x86_feature_detected!("avx2") {
            Level::Avx2
        } else {
            Level::Portable
        };
        let forced = match std::env::var("UPCASE_FORCE_IMPLEMENTATION").as_deref() {
            Ok("avx512") => Level::Avx512,
            Ok("avx2") => Level::Avx2,
            Ok("portable") => Level::Portable,
            _ => best,
        };
        best.min(forced)
    }

    /// Runs `task` compiled with AVX2.
    ///
    /// # Safety
    /// The CPU must have every feature enabled here.
    #[target_feature(enable = "avx2,bmi1,bmi2,popcnt,lzcnt")]
    #[inline]
    pub(super) unsafe fn avx2<T: Task>(task: T) -> T::Output {
        // SAFETY: the caller promises AVX2.
        task.run(unsafe { Avx2::new_unchecked() })
    }

    /// Runs `task` compiled with AVX-512: the block rules as one mask
    /// kernel (`avx512.rs`), its own lane shifts, movemask and compaction,
    /// the AVX2 kernels for the rest.
    ///
    /// # Safety
    /// The CPU must have every feature enabled here.
    #[target_feature(
        enable = "avx2,bmi1,bmi2,popcnt,lzcnt,avx512f,avx512bw,avx512vl,avx512vbmi,avx512vbmi2"
    )]
    #[inline]
    pub(super) unsafe fn avx512<T: Task>(task: T) -> T::Output {
        // SAFETY: the caller promises every feature enabled here, which
        // are the ones `Avx512` stands for, AVX2 included.
        task.run(unsafe { Avx512::new_unchecked() })
    }
}
