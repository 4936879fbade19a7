//! Generates the codec's uppercase tables from the toolchain's own
//! `char::to_uppercase`, so the fast path can never disagree with std's
//! Unicode version (the exhaustive tests check every scalar value anyway).
//!
//! Layout (see `src/codec/case.rs`): `BLOCK_INDEX[cp >> 6]` names a 64-entry
//! block of `BLOCKS`; block 0 is all zeros (no scalar in it changes). A
//! non-zero entry packs `len << 16 | offset` of the uppercase UTF-8 bytes in
//! `POOL`. `THREE_BYTE`, `FOUR_BYTE` and `TWO_BYTE` index the same data
//! straight from a sequence's leading bytes; `ILL_FORMED` marks where no
//! well-formed sequence lands (the one definition the codec reads).

use std::fmt::{Debug, Write as _};
use std::{env, fs, path::PathBuf};

const BLOCK_BITS: u32 = 6;
const BLOCK_LEN: usize = 1 << BLOCK_BITS;

/// `THREE_BYTE` / `FOUR_BYTE` entry where no well-formed sequence lands.
const ILL_FORMED: u8 = u8::MAX;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let cased = CasedBlocks::build();
    let mut src = String::new();
    writeln!(
        src,
        "// Longest uppercase of one scalar: {} bytes; worst ratio {}/{}.",
        cased.max_upper_len, cased.max_ratio.0, cased.max_ratio.1
    )
    .unwrap();
    writeln!(
        src,
        "/// `THREE_BYTE` / `FOUR_BYTE` entry where no well-formed sequence lands.\n\
         pub(crate) const ILL_FORMED: u8 = {ILL_FORMED};"
    )
    .unwrap();
    table(&mut src, "BLOCK_INDEX", "u8", &cased.index);
    table(&mut src, "THREE_BYTE", "u8", &three_byte(&cased));
    table(&mut src, "FOUR_BYTE", "u8", &four_byte(&cased.index));
    let flat: Vec<u32> = cased.blocks.iter().flatten().copied().collect();
    table(&mut src, "BLOCKS", "u32", &flat);
    table(&mut src, "POOL", "u8", &cased.pool);
    table(&mut src, "TWO_BYTE", "u64", &two_byte());
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("case_tables.rs");
    fs::write(out, src).unwrap();
}

/// Writes `pub(crate) static NAME: [TY; N] = [...];`.
fn table<T: Debug>(src: &mut String, name: &str, ty: &str, values: &[T]) {
    writeln!(
        src,
        "pub(crate) static {name}: [{ty}; {}] = {values:?};",
        values.len()
    )
    .unwrap();
}

/// Every scalar's uppercase where it differs from the scalar, in 64-entry
/// blocks (identical blocks shared) over a pool of UTF-8 bytes.
struct CasedBlocks {
    /// Block id per 64 scalars; 0 where none changes.
    index: Vec<u8>,
    blocks: Vec<[u32; BLOCK_LEN]>,
    /// The uppercases' bytes, padded so any entry loads as one 8-byte word.
    pool: Vec<u8>,
    max_upper_len: usize,
    /// Largest upper_len / src_len over all scalars, as a fraction.
    max_ratio: (usize, usize),
}

impl CasedBlocks {
    fn build() -> Self {
        let mut cased = Self {
            index: vec![0u8; 0x11_0000 >> BLOCK_BITS],
            blocks: vec![[0; BLOCK_LEN]],
            pool: Vec::new(),
            max_upper_len: 0,
            max_ratio: (1, 1),
        };
        // Blocks 0 and 1 are ASCII, which the codec never looks up.
        for block in (0x80u32 >> BLOCK_BITS)..(0x11_0000 >> BLOCK_BITS) {
            let entries = cased.block_entries(block << BLOCK_BITS);
            if entries.iter().any(|&e| e != 0) {
                let id = match cased.blocks.iter().position(|b| *b == entries) {
                    Some(id) => id,
                    None => {
                        cased.blocks.push(entries);
                        cased.blocks.len() - 1
                    }
                };
                cased.index[block as usize] = u8::try_from(id).expect("more than 255 cased blocks");
            }
        }
        // The codec documents a 3x worst-case expansion; fail the build if a
        // new Unicode version ever breaks that promise.
        let (upper, src) = cased.max_ratio;
        assert!(
            upper <= 3 * src,
            "uppercase expansion {upper}/{src} exceeds 3x"
        );
        assert!(
            cased.blocks.len() < usize::from(ILL_FORMED),
            "block ids must stay below ILL_FORMED"
        );
        // Padding lets the codec load any entry as one 8-byte word.
        cased.pool.extend_from_slice(&[0; 8]);
        assert!(cased.max_upper_len <= 8);
        cased
    }

    /// The 64 entries of the block starting at `block_start`: 0 where the
    /// scalar is its own uppercase (the codec copies the source bytes).
    fn block_entries(&mut self, block_start: u32) -> [u32; BLOCK_LEN] {
        let mut entries = [0u32; BLOCK_LEN];
        for (slot, entry) in entries.iter_mut().enumerate() {
            let Some(c) = char::from_u32(block_start + slot as u32) else {
                continue;
            };
            let upper: String = c.to_uppercase().collect();
            let src_len = c.len_utf8();
            if upper.len() * self.max_ratio.1 > self.max_ratio.0 * src_len {
                self.max_ratio = (upper.len(), src_len);
            }
            self.max_upper_len = self.max_upper_len.max(upper.len());
            if upper.len() == src_len && upper.chars().eq(core::iter::once(c)) {
                continue;
            }
            let offset = match find(&self.pool, upper.as_bytes()) {
                Some(o) => o,
                None => {
                    self.pool.extend_from_slice(upper.as_bytes());
                    self.pool.len() - upper.len()
                }
            };
            assert!(offset < 1 << 16 && upper.len() < 1 << 8);
            *entry = ((upper.len() as u32) << 16) | offset as u32;
        }
        entries
    }
}

/// `THREE_BYTE[cp >> 6]` for the 16-bit scalars: the block id as in
/// `BLOCK_INDEX`, or `ILL_FORMED` where no well-formed 3-byte sequence lands
/// (overlongs below U+0800, surrogates U+D800..DFFF). The codec indexes it
/// straight from a 3-byte sequence's first two bytes.
fn three_byte(cased: &CasedBlocks) -> Vec<u8> {
    (0..0x400usize)
        .map(|k| match k {
            0..0x20 | 0x360..0x380 => ILL_FORMED,
            _ => cased.index[k],
        })
        .collect()
}

/// `FOUR_BYTE[cp >> 12]` for the lead and second byte of a 4-byte sequence
/// (512 combinations): 0 where all 4096 scalars are their own uppercase
/// (emoji, CJK extensions), 1 where some change, `ILL_FORMED` where no
/// well-formed sequence lands (overlongs below U+10000, values past
/// U+10FFFF, leads F5..F7).
fn four_byte(index: &[u8]) -> Vec<u8> {
    (0..0x200usize)
        .map(|k| match k {
            0..0x10 | 0x110.. => ILL_FORMED,
            _ => u8::from(index[k << 6..(k + 1) << 6].iter().any(|&id| id != 0)),
        })
        .collect()
}

/// Direct table for the 2-byte range U+0080..U+07FF, identity included: the
/// uppercase's UTF-8 bytes little-endian in the low 7 bytes of a word, its
/// length in the top byte. Indexed by the scalar itself, so 0x800 entries
/// (the first 0x80 unused) and no bounds check.
fn two_byte() -> Vec<u64> {
    (0u32..0x800)
        .map(|cp| {
            if cp < 0x80 {
                return 0;
            }
            let upper: String = char::from_u32(cp).unwrap().to_uppercase().collect();
            assert!(upper.len() <= 7);
            let mut word = [0u8; 8];
            word[..upper.len()].copy_from_slice(upper.as_bytes());
            word[7] = upper.len() as u8;
            u64::from_le_bytes(word)
        })
        .collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
