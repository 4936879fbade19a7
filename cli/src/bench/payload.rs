//! Payloads and what the server must answer to them.
//!
//! A connection sends *units* — rr messages or stream chunks — of exactly
//! `--size` bytes, cycling through a [`Block`] of them generated from a seed.
//! Every unit is self-contained, so the answer to a concatenation of units is
//! the concatenation of their answers and one unit's reply never waits for
//! the next unit:
//!
//! * ASCII and Unicode units are valid UTF-8 made of whole characters, and
//!   `str::to_uppercase` maps characters without context.
//! * Binary units are random bytes whose last byte is an ASCII letter: no
//!   UTF-8 sequence (or maximal subpart of an ill-formed one) can span two
//!   units, so `Utf8Chunks` and `from_utf8_lossy` treat each unit on its own
//!   exactly as they treat it inside the stream.
//! * Units cut from a file (`--payload-file`) end right after a whole
//!   character, padded with spaces to `--size` bytes, for the same reason
//!   (and so that the server never holds a unit's last bytes back waiting
//!   for the next one).
//!
//! Expected replies come from the std-only oracle ([`Expectation::apply`]),
//! never from the codec, and are computed once per block: checking a reply is a
//! `memcmp`.

use std::ops::Range;

use upcase::{oracle, Config};

/// What the bytes of a unit look like (`--payload`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Payload {
    /// Printable ASCII: lowercase words, some capitals, digits, punctuation.
    Ascii,
    /// UTF-8 text in several scripts (Latin with accents, Greek, Cyrillic,
    /// CJK, emoji), including characters whose uppercase is longer (ß, ΐ, ŉ).
    Unicode,
    /// Random bytes, mostly ill-formed UTF-8; each unit ends on an ASCII letter.
    Binary,
}

impl Payload {
    /// The flag value, for reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ascii => "ascii",
            Self::Unicode => "unicode",
            Self::Binary => "binary",
        }
    }
}

/// The transformation the server is expected to apply, from the oracle
/// (std only, never the codec itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    /// The reply is the input (an echo server: the reference ceiling).
    Echo,
    /// What `upcase serve` with this configuration answers.
    Upper(Config),
}

impl Expectation {
    /// The reply the server owes for `input`.
    pub fn apply(self, input: &[u8]) -> Vec<u8> {
        match self {
            Self::Echo => input.to_vec(),
            Self::Upper(config) => oracle::uppercase(config, input).0,
        }
    }
}

/// A cycle of units and their expected replies, shared by connections.
#[derive(Debug)]
pub struct Block {
    /// Bytes per unit.
    size: usize,
    /// The units back to back: `units × size` bytes.
    input: Vec<u8>,
    /// The expected replies back to back.
    expected: Vec<u8>,
    /// `ends[i]`: where unit `i`'s reply ends in `expected` (starts at `ends[i-1]`).
    ends: Vec<usize>,
}

impl Block {
    /// `units` units of `size` bytes cut from `text`, starting at an offset
    /// picked by `seed` and wrapping around at its end, with their expected
    /// replies. Each unit is the longest stretch from where the last one
    /// ended that ends right after a whole character and fits, then spaces;
    /// bytes that cannot be cut so (an ill-formed stretch longer than a
    /// unit) are skipped. `cuts` are `text`'s [`cut_points`]. `None` if no
    /// character of `text` fits in `size` bytes.
    pub fn from_text(
        text: &[u8],
        cuts: &[usize],
        expectation: Expectation,
        size: usize,
        units: usize,
        seed: u64,
    ) -> Option<Self> {
        if !cuts.windows(2).any(|pair| pair[1] - pair[0] <= size) {
            return None;
        }
        let mut input = Vec::with_capacity(size * units);
        let mut expected = Vec::with_capacity(size * units + size * units / 4);
        let mut ends = Vec::with_capacity(units);
        let mut rng = Rng::new(seed);
        // Where the next unit starts: one of `cuts` but the last.
        let mut at = (rng.next_u64() % (cuts.len() - 1) as u64) as usize;
        while ends.len() < units {
            let start = cuts[at];
            // The last cut within `size` bytes of `start`.
            let fit = cuts[at + 1..].partition_point(|&cut| cut - start <= size);
            let unit = input.len();
            if fit == 0 {
                // Nothing whole fits: skip to the next cut.
                at += 1;
            } else {
                at += fit;
                input.extend_from_slice(&text[start..cuts[at]]);
                input.resize(unit + size, b' ');
                expected.extend_from_slice(&expectation.apply(&input[unit..]));
                ends.push(expected.len());
            }
            if at == cuts.len() - 1 {
                at = 0;
            }
        }
        Some(Self {
            size,
            input,
            expected,
            ends,
        })
    }

    /// `units` units of `size` bytes from `seed`, with their expected replies.
    pub fn generate(
        payload: Payload,
        expectation: Expectation,
        size: usize,
        units: usize,
        seed: u64,
    ) -> Self {
        let mut rng = Rng::new(seed);
        let mut input = Vec::with_capacity(size * units);
        let mut expected = Vec::with_capacity(size * units + size * units / 4);
        let mut ends = Vec::with_capacity(units);
        let scripts = Scripts::new();
        for _ in 0..units {
            let start = input.len();
            generate_unit(&mut rng, &scripts, payload, size, &mut input);
            debug_assert_eq!(input.len() - start, size);
            expected.extend_from_slice(&expectation.apply(&input[start..]));
            ends.push(expected.len());
        }
        Self {
            size,
            input,
            expected,
            ends,
        }
    }

    /// Number of units in the cycle.
    pub fn units(&self) -> usize {
        self.ends.len()
    }

    /// Units `first..first + count` back to back (no wrap: the caller splits).
    pub fn inputs(&self, first: usize, count: usize) -> &[u8] {
        &self.input[first * self.size..(first + count) * self.size]
    }

    /// Where unit `i`'s expected reply lies in [`expected`](Self::expected).
    pub fn reply_range(&self, i: usize) -> Range<usize> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        start..self.ends[i]
    }

    /// Every unit's expected reply, back to back: one turn of the expected
    /// stream.
    pub fn expected(&self) -> &[u8] {
        &self.expected
    }
}

/// The offsets in `text` where a unit may start or end: 0, the end, and
/// every place right after a whole character (ASCII or a well-formed
/// sequence). Fewer than two means there is nothing to send.
pub fn cut_points(text: &[u8]) -> Vec<usize> {
    let mut cuts = vec![0];
    let mut at = 0;
    for chunk in text.utf8_chunks() {
        for c in chunk.valid().chars() {
            at += c.len_utf8();
            cuts.push(at);
        }
        at += chunk.invalid().len();
    }
    // Ill-formed bytes at the very end are never sent.
    cuts
}

/// Bytes of one cycle of units, whatever `--size`: enough distinct messages
/// that a server cannot get lucky, few enough to stay in cache.
const BLOCK_BYTES: usize = 1 << 20;

/// Units per block for `size`-byte units: about 1 MiB, 4 to 1024 units.
pub fn units_per_block(size: usize) -> usize {
    (BLOCK_BYTES / size.max(1)).clamp(4, 1024)
}

/// Appends exactly `size` bytes of `payload` to `out`.
fn generate_unit(
    rng: &mut Rng,
    scripts: &Scripts,
    payload: Payload,
    size: usize,
    out: &mut Vec<u8>,
) {
    let end = out.len() + size;
    match payload {
        Payload::Ascii => {
            while out.len() < end {
                out.push(ascii_byte(rng));
            }
        }
        Payload::Binary => {
            while out.len() + 1 < end {
                out.push(rng.next_u64() as u8);
            }
            // The ASCII last byte keeps the unit's expectation exact.
            out.push(b'a' + (rng.next_u64() % 26) as u8);
        }
        Payload::Unicode => {
            let mut word = String::new();
            loop {
                word.clear();
                unicode_word(rng, scripts, &mut word);
                word.push(' ');
                if out.len() + word.len() > end {
                    break;
                }
                out.extend_from_slice(word.as_bytes());
            }
            // Fill the last few bytes with ASCII so the unit is exactly `size`.
            while out.len() < end {
                out.push(b'a' + (rng.next_u64() % 26) as u8);
            }
        }
    }
}

/// One byte of ASCII text: mostly lowercase letters and spaces.
fn ascii_byte(rng: &mut Rng) -> u8 {
    const OTHER: &[u8] = b"ABCDEFXYZ0123456789.,;:!?-'\"()\n";
    match rng.next_u64() % 100 {
        0..=79 => b'a' + (rng.next_u64() % 26) as u8,
        80..=93 => b' ',
        _ => OTHER[(rng.next_u64() % OTHER.len() as u64) as usize],
    }
}

/// Lowercase Latin letters with diacritics, and ß (→ SS), ŉ (→ ʼN), ǰ.
const LATIN: &str = "àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿßœšžłńśźżčďěňřťůőűŉǰ";
/// Greek lowercase, final sigma, and ΐ ΰ (one letter → three characters).
const GREEK: &str = "αβγδεζηθικλμνξοπρστυφχψωςάέήίόύώΐΰ";
/// Cyrillic lowercase.
const CYRILLIC: &str = "абвгдежзийклмнопрстуфхцчшщъыьэюяёіїєґ";
/// Caseless 3-byte characters (CJK, kana) that pass through unchanged.
const CJK: &str = "中文字漢日本語東京大学かなのにはをカタナ";
/// 4-byte characters: emoji (caseless) and Deseret (cased), and ligatures
/// whose uppercase is several letters (ﬃ → FFI).
const ASTRAL: &str = "😀🎉🚀𐐨𐐩𐐪ﬀﬁﬂﬃ";

/// The character pools of [`unicode_word`], decoded once per block.
struct Scripts([Vec<char>; 5]);

impl Scripts {
    fn new() -> Self {
        Self([LATIN, GREEK, CYRILLIC, CJK, ASTRAL].map(|s| s.chars().collect()))
    }
}

/// Appends one word of 2–8 characters from a script picked by weight.
fn unicode_word(rng: &mut Rng, scripts: &Scripts, word: &mut String) {
    let len = 2 + (rng.next_u64() % 7) as usize;
    let script = match rng.next_u64() % 100 {
        0..=34 => None, // plain ASCII
        35..=59 => Some(0),
        60..=74 => Some(1),
        75..=89 => Some(2),
        90..=96 => Some(3),
        _ => Some(4),
    };
    for _ in 0..len {
        match script {
            // Latin words are mostly ASCII letters with some accents.
            Some(i) if i != 0 || rng.next_u64().is_multiple_of(3) => {
                let chars = &scripts.0[i];
                word.push(chars[(rng.next_u64() % chars.len() as u64) as usize]);
            }
            _ => word.push((b'a' + (rng.next_u64() % 26) as u8) as char),
        }
    }
}

/// xorshift64*: tiny, seeded, reproducible; payloads are not secrets.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use upcase::{Casing, InvalidUtf8};

    const PASS: Expectation =
        Expectation::Upper(Config::new(Casing::Unicode, InvalidUtf8::PassThrough));
    const ALL: [Expectation; 4] = [
        Expectation::Echo,
        Expectation::Upper(Config::new(Casing::Ascii, InvalidUtf8::PassThrough)),
        PASS,
        Expectation::Upper(Config::new(Casing::Unicode, InvalidUtf8::Replace)),
    ];

    /// The property everything rests on: `block` is `len` bytes, and the
    /// expected reply to the whole cycle equals the concatenation of the
    /// per-unit replies, each the reply to its unit alone.
    fn assert_self_contained(block: &Block, expectation: Expectation, len: usize, what: &str) {
        assert_eq!(block.input.len(), len, "{what}");
        assert_eq!(expectation.apply(&block.input), block.expected, "{what}");
        for i in 0..block.units() {
            let unit = block.inputs(i, 1);
            assert_eq!(
                expectation.apply(unit),
                &block.expected()[block.reply_range(i)],
                "{what}, unit {i}"
            );
        }
    }

    /// Generated units are self-contained, for every payload.
    #[test]
    fn units_are_self_contained() {
        for payload in [Payload::Ascii, Payload::Unicode, Payload::Binary] {
            for expectation in ALL {
                for size in [1, 2, 3, 5, 64, 1000] {
                    let block = Block::generate(payload, expectation, size, 40, 7);
                    let what = format!("{payload:?} {expectation:?} size {size}");
                    assert_self_contained(&block, expectation, size * 40, &what);
                }
            }
        }
    }

    #[test]
    fn text_payloads_are_utf8_and_unicode_changes_length() {
        let ascii = Block::generate(Payload::Ascii, PASS, 64, 100, 1);
        assert!(ascii.input.is_ascii());
        let unicode = Block::generate(Payload::Unicode, PASS, 4096, 16, 1);
        let text = std::str::from_utf8(&unicode.input).unwrap();
        assert!(text.contains('ß') && text.contains('ΐ'));
        assert!(unicode.expected.len() > unicode.input.len());
        let binary = Block::generate(Payload::Binary, PASS, 64, 100, 1);
        assert!(std::str::from_utf8(&binary.input).is_err());
    }

    /// Units cut from text are self-contained like the generated ones,
    /// whatever the text: every script, characters longer than a unit,
    /// ill-formed bytes and a cut-off sequence at its end.
    #[test]
    fn units_from_text_are_self_contained() {
        let mixed = "Straße ΐ Ꭰ 中文 😀 ǰ ﬃ ı İ ա ẖ. ".repeat(40);
        let texts: [&[u8]; 4] = [
            mixed.as_bytes(),
            b"ab\xE4\xB8 cd\xFF\xC0\x80 ef\xF0\x9F\x98",
            "😀😀😀😀".as_bytes(),
            b"x",
        ];
        for text in texts {
            let cuts = cut_points(text);
            for expectation in ALL {
                for size in [1, 2, 3, 4, 5, 64, 1000] {
                    let Some(block) = Block::from_text(text, &cuts, expectation, size, 40, 7)
                    else {
                        assert!(size < 4 && text.starts_with("😀".as_bytes()), "{size}");
                        continue;
                    };
                    let what = format!("{expectation:?} size {size}");
                    assert_self_contained(&block, expectation, size * 40, &what);
                    for i in 0..block.units() {
                        let unit = block.inputs(i, 1);
                        // The codec holds nothing back at the unit's end.
                        let mut codec = upcase::Codec::new(match expectation {
                            Expectation::Upper(config) => config,
                            Expectation::Echo => Config::default(),
                        });
                        codec.feed(unit, &mut bytes::BytesMut::new()).unwrap();
                        assert_eq!(codec.pending_len(), 0, "{unit:02X?}");
                    }
                }
            }
        }
    }

    #[test]
    fn units_from_text_follow_the_text() {
        let text = "Съешь же ещё этих мягких французских булок. ".repeat(100);
        let cuts = cut_points(text.as_bytes());
        let block = Block::from_text(text.as_bytes(), &cuts, PASS, 100, 50, 3).unwrap();
        let sent = std::str::from_utf8(&block.input).unwrap();
        // Whole characters, in order, but for the padding at each unit's end.
        for unit in block.input.chunks(100) {
            let unit = std::str::from_utf8(unit).unwrap().trim_end();
            assert!(text.contains(unit), "{unit:?}");
            // Full, but for the last stretch of the text before it wraps.
            assert!(
                unit.len() > 90 || text.trim_end().ends_with(unit),
                "{unit:?}"
            );
        }
        assert!(sent.contains("ЕЩЁ") || sent.contains("ещё"));
    }

    #[test]
    fn generation_is_deterministic() {
        let a = Block::generate(Payload::Unicode, PASS, 100, 10, 42);
        let b = Block::generate(Payload::Unicode, PASS, 100, 10, 42);
        let c = Block::generate(Payload::Unicode, PASS, 100, 10, 43);
        assert_eq!(a.input, b.input);
        assert_ne!(a.input, c.input);
    }
}
