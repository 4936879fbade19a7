//! The committed seed corpus of the `codec` target, as code.
//!
//! `fuzz/corpus/codec/seed-*` are these inputs in the byte layout that
//! `arbitrary` decodes into [`CodecInput`]; `cargo test` checks the files are
//! current and decode back to the same input, and rewrites them when run
//! with `UPCASE_FUZZ_WRITE_SEEDS=1`.

use crate::{CasingChoice, CodecInput, ConfigChoice, PolicyChoice};

/// One seed: a named [`CodecInput`] with an owned stream.
#[derive(Debug, Clone)]
pub struct Seed {
    /// File name without the `seed-` prefix.
    pub name: String,
    /// See [`CodecInput::config`].
    pub config: ConfigChoice,
    /// See [`CodecInput::lead_in`].
    pub lead_in: u8,
    /// See [`CodecInput::chunks_a`].
    pub chunks_a: Vec<u8>,
    /// See [`CodecInput::chunks_b`].
    pub chunks_b: Vec<u8>,
    /// See [`CodecInput::stream`].
    pub stream: Vec<u8>,
}

impl Seed {
    /// The input this seed decodes to.
    pub fn input(&self) -> CodecInput<'_> {
        CodecInput {
            config: self.config,
            lead_in: self.lead_in,
            chunks_a: self.chunks_a.clone(),
            chunks_b: self.chunks_b.clone(),
            stream: &self.stream,
        }
    }

    /// The bytes `arbitrary` (1.x) decodes into [`Seed::input`]: each enum
    /// is a little-endian `u32` scaled onto its variants, a `Vec` is
    /// `1, element` pairs closed by `0`, and the stream is the rest verbatim.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::new();
        let casing = match self.config.casing {
            CasingChoice::Unicode => 0,
            CasingChoice::Ascii => 1,
        };
        let invalid = match self.config.invalid {
            PolicyChoice::PassThrough => 0,
            PolicyChoice::Replace => 1,
            PolicyChoice::Reject => 2,
        };
        b.extend_from_slice(&variant(casing, 2).to_le_bytes());
        b.extend_from_slice(&variant(invalid, 3).to_le_bytes());
        b.push(self.lead_in);
        for sizes in [&self.chunks_a, &self.chunks_b] {
            for &size in sizes {
                b.extend_from_slice(&[1, size]);
            }
            b.push(0);
        }
        b.extend_from_slice(&self.stream);
        b
    }
}

/// The smallest `u32` that `arbitrary`'s derived enums map to variant
/// `index` of `count` (they take `(u64::from(x) * count) >> 32`).
fn variant(index: u64, count: u64) -> u32 {
    ((index << 32).div_ceil(count)) as u32
}

/// Interesting streams, with an optional hand-picked chunking.
fn streams() -> Vec<(&'static str, &'static [u8], Vec<u8>)> {
    vec![
        // The crate docs' example: ß cut in half between two reads.
        ("doc-strasse", b"stra\xC3\x9Fe \xCE\x90", vec![5]),
        // Unicode Standard, table 3-8 and the examples around it (maximal
        // subparts: one U+FFFD each).
        (
            "u38-mixed",
            b"\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
            vec![2, 1, 2, 1],
        ),
        (
            "u39-overlong",
            b"\xC0\xAF\xE0\x80\xBF\xF0\x81\x82\x41",
            vec![1, 2],
        ),
        (
            "u310-surrogates",
            b"\xED\xA0\x80\xED\xBF\xBF\xED\xAF\x41",
            vec![2, 2, 2],
        ),
        (
            "u311-beyond-max",
            b"\xF4\x91\x92\x93\xFF\x41\x80\xBF\x42",
            vec![3, 2],
        ),
        (
            "u312-truncated",
            b"\xE1\x80\xE2\xF0\x91\x92\xF1\xBF\x41",
            vec![1, 1, 3, 2],
        ),
        // Lone continuation bytes and bytes that never start a sequence.
        ("never-valid", b"\x80\xBF\xC0\xC1\xF5\xF8\xFE\xFF", vec![]),
        // Cut off by the end of the stream (TruncatedUtf8 under Reject).
        ("truncated-at-end", b"abc\xF0\x9F\x98", vec![4, 1]),
        // Held, then proved invalid by the next chunk.
        ("held-then-invalid", b"\xE2\x82A", vec![2]),
        // A 4-byte scalar fed one byte at a time between empty feeds.
        (
            "four-bytes-split",
            b"x\xF0\x9F\x98\x80y",
            vec![1, 1, 0, 1, 0, 1, 1],
        ),
        // Range boundaries: U+007F, U+0080, U+07FF, U+0800, U+FFFF,
        // U+10000, U+10FFFF.
        (
            "range-edges",
            b"\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF",
            vec![2, 3, 4, 3, 1],
        ),
        // Expanding (ΐ 2->6 bytes, ŉ, ǰ, և, ﬃ, ᾳ) and shrinking (ⱥ 3->2, ı).
        (
            "expand-shrink",
            "ΐΰŉǰևﬃᾳ ⱥɐıſ ß U+FFFD:\u{FFFD}".as_bytes(),
            vec![1, 2, 3],
        ),
    ]
}

/// Every seed of the `codec` target.
pub fn codec_seeds() -> Vec<Seed> {
    const UNICODE: CasingChoice = CasingChoice::Unicode;
    let policies = [
        ("pass", PolicyChoice::PassThrough),
        ("replace", PolicyChoice::Replace),
        ("reject", PolicyChoice::Reject),
    ];
    let mut seeds = Vec::new();
    for (name, stream, split) in streams() {
        // A: one byte per feed after an empty one; B: the hand-picked cut.
        let mut bytewise = vec![0];
        bytewise.extend(std::iter::repeat_n(1, stream.len()));
        for (policy_name, invalid) in policies {
            seeds.push(Seed {
                name: format!("{name}-{policy_name}"),
                config: ConfigChoice {
                    casing: UNICODE,
                    invalid,
                },
                lead_in: 0,
                chunks_a: bytewise.clone(),
                chunks_b: split.clone(),
                stream: stream.to_vec(),
            });
        }
    }
    seeds.push(Seed {
        name: "ascii-mixed".into(),
        config: ConfigChoice {
            casing: CasingChoice::Ascii,
            invalid: PolicyChoice::Reject,
        },
        lead_in: 0,
        chunks_a: vec![3, 0, 5],
        chunks_b: vec![],
        stream: b"hello \xC3\x9F `az{ \xFF\xE2\x82 world~".to_vec(),
    });
    // ß straddling the codec's internal 32 KiB piece boundary: 32767 bytes
    // of lead-in (lead_in 251), then ß, fed in one chunk of 32777 bytes.
    for (policy_name, invalid) in policies {
        seeds.push(Seed {
            name: format!("piece-boundary-{policy_name}"),
            config: ConfigChoice {
                casing: UNICODE,
                invalid,
            },
            lead_in: 251,
            chunks_a: vec![10],
            chunks_b: vec![1, 1, 1],
            stream: b"\xC3\x9Fxyz\xE2\x82\xACabc\xF0\x9F".to_vec(),
        });
    }
    seeds
}
