//! Streams and chunk sizes for the property tests, biased toward what
//! breaks streaming decoders. Shared with the I/O adapters' tests
//! (`tests/io/`), which include this file by path.

use std::vec;
use std::vec::Vec;

use proptest::prelude::*;
use proptest::sample::select;

/// Characters whose uppercase changes length or character count, and a
/// few from every UTF-8 length class.
pub const HARD_CHARS: &[char] = &[
    'ß',
    'ŉ',
    'ΐ',
    'ΰ',
    'ǰ',
    'ﬃ',
    'ﬀ',
    'ᾷ',
    'ᾀ',
    'ſ',
    'ı',
    'ǆ',
    'ⱥ',
    'ɐ',
    'é',
    'я',
    'ω',
    '日',
    '\u{FFFD}',
    '😀',
    '𐐨',
    '𞤢',
    '\u{7F}',
    '\u{80}',
    '\u{7FF}',
    '\u{800}',
    '\u{FFFF}',
    '\u{10000}',
    '\u{10FFFF}',
];

/// Byte sequences that are ill-formed in every interesting way.
pub const BAD: &[&[u8]] = &[
    b"\xC0\x80",         // overlong NUL
    b"\xC1\xBF",         // overlong
    b"\xE0\x80\x80",     // overlong 3-byte
    b"\xE0\x9F\xBF",     // overlong 3-byte, top
    b"\xF0\x80\x80\x80", // overlong 4-byte
    b"\xF0\x8F\xBF\xBF", // overlong 4-byte, top
    b"\xED\xA0\x80",     // high surrogate
    b"\xED\xBF\xBF",     // low surrogate
    b"\xF4\x90\x80\x80", // above U+10FFFF
    b"\xF5\x80\x80\x80", // F5 never starts anything
    b"\xFE",
    b"\xFF",
];

/// One piece of a stream, biased toward what breaks streaming decoders.
pub fn atom() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(0x20u8..0x7F, 1..12),
        // Long runs, all ASCII values: the word and 128-byte block paths.
        1 => proptest::collection::vec(0u8..0x80, 60..300),
        // Text in the scripts of the 64-byte block path: ASCII, Latin-1 and
        // Extended-A, Greek, Cyrillic, CJK, emoji, and the characters it
        // leaves to the run loops (`ı ŉ ſ ΐ ΰ`, Cyrillic past U+047F).
        1 => proptest::collection::vec(
            prop_oneof![
                0u32..0x80,
                0xC0u32..0x180,
                0x370u32..0x500,
                0x4E00u32..0x4E40,
                0x1F600u32..0x1F640,
            ]
            .prop_filter_map("a scalar value", char::from_u32),
            30..120,
        )
        .prop_map(|chars| chars.into_iter().collect::<std::string::String>().into_bytes()),
        3 => select(HARD_CHARS).prop_map(|c| c.to_string().into_bytes()),
        3 => any::<char>().prop_map(|c| c.to_string().into_bytes()),
        2 => (0x80u8..=0xFF).prop_map(|b| vec![b]),
        2 => (any::<char>(), 1..4usize).prop_map(|(c, cut)| {
            // A well-formed prefix cut short: truncated in the middle of a stream.
            let bytes = c.to_string().into_bytes();
            let cut = cut.min(bytes.len().saturating_sub(1)).max(1);
            bytes[..cut.min(bytes.len())].to_vec()
        }),
        1 => select(BAD).prop_map(<[u8]>::to_vec),
    ]
}

pub fn stream() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(atom(), 0..40).prop_map(|atoms| atoms.concat())
}

/// Chunk sizes, mostly tiny and often empty.
pub fn sizes() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(
        prop_oneof![3 => 0..4usize, 2 => 4..20usize, 1 => 20..200usize],
        1..30,
    )
}
