//! Generates the codec's uppercase tables from the toolchain's own
//! `char::to_uppercase`, so the fast path can never disagree with std's
//! Unicode version (the exhaustive tests check every scalar value anyway).
//!
//! Layout (see `src/case.rs`): `BLOCK_INDEX[cp >> 6]` names a 64-entry block
//! of `BLOCKS`; block 0 is all zeros (no scalar in it changes). A non-zero
//! entry packs `len << 16 | offset` of the uppercase UTF-8 bytes in `POOL`.

use std::fmt::Write as _;
use std::{env, fs, path::PathBuf};

const BLOCK_BITS: u32 = 6;
const BLOCK_LEN: usize = 1 << BLOCK_BITS;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");

    let mut index = vec![0u8; 0x11_0000 >> BLOCK_BITS];
    let mut blocks: Vec<[u32; BLOCK_LEN]> = vec![[0; BLOCK_LEN]];
    let mut pool: Vec<u8> = Vec::new();
    let mut max_upper_len = 0usize;
    // Largest upper_len / src_len over all scalars, as a fraction.
    let mut max_ratio = (1usize, 1usize);

    // Blocks 0 and 1 are ASCII, which the codec never looks up.
    for block in (0x80u32 >> BLOCK_BITS)..(0x11_0000 >> BLOCK_BITS) {
        let block_start = block << BLOCK_BITS;
        let mut entries = [0u32; BLOCK_LEN];
        let mut any = false;
        for (slot, entry) in entries.iter_mut().enumerate() {
            let Some(c) = char::from_u32(block_start + slot as u32) else {
                continue;
            };
            if (c as u32) < 0x80 {
                continue;
            }
            let upper: String = c.to_uppercase().collect();
            let src_len = c.len_utf8();
            if upper.len() * max_ratio.1 > max_ratio.0 * src_len {
                max_ratio = (upper.len(), src_len);
            }
            max_upper_len = max_upper_len.max(upper.len());
            if upper.len() == src_len && upper.chars().eq(core::iter::once(c)) {
                continue; // identity: the codec copies the source bytes
            }
            any = true;
            let offset = match find(&pool, upper.as_bytes()) {
                Some(o) => o,
                None => {
                    pool.extend_from_slice(upper.as_bytes());
                    pool.len() - upper.len()
                }
            };
            assert!(offset < 1 << 16 && upper.len() < 1 << 8);
            *entry = ((upper.len() as u32) << 16) | offset as u32;
        }
        if any {
            let id = blocks
                .iter()
                .position(|b| *b == entries)
                .unwrap_or_else(|| {
                    blocks.push(entries);
                    blocks.len() - 1
                });
            index[block as usize] = u8::try_from(id).expect("more than 255 cased blocks");
        }
    }
    // The codec documents a 3x worst-case expansion; fail the build if a new
    // Unicode version ever breaks that promise.
    assert!(
        max_ratio.0 <= 3 * max_ratio.1,
        "uppercase expansion {max_ratio:?} exceeds 3x"
    );

    // `THREE_BYTE[cp >> 6]` for the 16-bit scalars: the block id as in
    // `BLOCK_INDEX`, or `ILL_FORMED` where no well-formed 3-byte sequence
    // lands (overlongs below U+0800, surrogates U+D800..DFFF). The codec
    // indexes it straight from a 3-byte sequence's first two bytes.
    const ILL_FORMED: u8 = u8::MAX;
    assert!(
        blocks.len() < usize::from(ILL_FORMED),
        "block ids must stay below ILL_FORMED"
    );
    let three: Vec<u8> = (0..0x400usize)
        .map(|k| match k {
            0..0x20 | 0x360..0x380 => ILL_FORMED,
            _ => index[k],
        })
        .collect();

    // `FOUR_BYTE[cp >> 12]` for the lead and second byte of a 4-byte
    // sequence (512 combinations): 0 where all 4096 scalars are their own
    // uppercase (emoji, CJK extensions), 1 where some change, `ILL_FORMED`
    // where no well-formed sequence lands (overlongs below U+10000, values
    // past U+10FFFF, leads F5..F7).
    let four: Vec<u8> = (0..0x200usize)
        .map(|k| match k {
            0..0x10 | 0x110.. => ILL_FORMED,
            _ => u8::from(index[k << 6..(k + 1) << 6].iter().any(|&id| id != 0)),
        })
        .collect();

    let mut src = String::new();
    writeln!(
        src,
        "// Longest uppercase of one scalar: {max_upper_len} bytes; worst ratio {}/{}.",
        max_ratio.0, max_ratio.1
    )
    .unwrap();
    writeln!(
        src,
        "pub(crate) static BLOCK_INDEX: [u8; {}] = {:?};",
        index.len(),
        index
    )
    .unwrap();
    writeln!(
        src,
        "pub(crate) static THREE_BYTE: [u8; {}] = {:?};",
        three.len(),
        three
    )
    .unwrap();
    writeln!(
        src,
        "pub(crate) static FOUR_BYTE: [u8; {}] = {:?};",
        four.len(),
        four
    )
    .unwrap();
    let flat: Vec<u32> = blocks.iter().flatten().copied().collect();
    writeln!(
        src,
        "pub(crate) static BLOCKS: [u32; {}] = {:?};",
        flat.len(),
        flat
    )
    .unwrap();
    // Padding lets the codec load any entry as one 8-byte word.
    pool.extend_from_slice(&[0; 8]);
    assert!(max_upper_len <= 8);
    writeln!(
        src,
        "pub(crate) static POOL: [u8; {}] = {:?};",
        pool.len(),
        pool
    )
    .unwrap();

    // Direct table for the 2-byte range U+0080..U+07FF, identity included:
    // the uppercase's UTF-8 bytes little-endian in the low 7 bytes of a
    // word, its length in the top byte. Indexed by the scalar itself, so
    // 0x800 entries (the first 0x80 unused) and no bounds check.
    let two: Vec<u64> = (0u32..0x800)
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
        .collect();
    writeln!(
        src,
        "pub(crate) static TWO_BYTE: [u64; {}] = {:?};",
        two.len(),
        two
    )
    .unwrap();

    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("case_tables.rs");
    fs::write(out, src).unwrap();
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
