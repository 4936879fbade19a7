//! `cargo test` in `fuzz/` (stable is enough): the seeds are current and
//! decode as intended, the oracle agrees with the crate docs' examples, and
//! the target bodies pass over the seeds and over a few thousand
//! pseudo-random inputs, so a broken checker shows up without a nightly.

use std::path::PathBuf;

use arbitrary::{Arbitrary, Unstructured};
use upcase::{Casing, Config, InvalidUtf8};

use super::*;
use crate::seeds::codec_seeds;

const UNICODE_PASS: Config = Config::new(Casing::Unicode, InvalidUtf8::PassThrough);
const UNICODE_REPLACE: Config = Config::new(Casing::Unicode, InvalidUtf8::Replace);
const UNICODE_REJECT: Config = Config::new(Casing::Unicode, InvalidUtf8::Reject);

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus/codec")
}

#[test]
fn seeds_decode_to_the_intended_inputs() {
    for seed in codec_seeds() {
        let bytes = seed.encode();
        let decoded = CodecInput::arbitrary_take_rest(Unstructured::new(&bytes)).unwrap();
        assert_eq!(decoded, seed.input(), "seed {}", seed.name);
    }
}

#[test]
fn seed_files_are_current() {
    let dir = corpus_dir();
    let write = std::env::var_os("UPCASE_FUZZ_WRITE_SEEDS").is_some();
    if write {
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("seed-") {
                std::fs::remove_file(&path).unwrap();
            }
        }
    }
    let seeds = codec_seeds();
    for seed in &seeds {
        let path = dir.join(format!("seed-{}", seed.name));
        if write {
            std::fs::write(&path, seed.encode()).unwrap();
        }
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (UPCASE_FUZZ_WRITE_SEEDS=1 cargo test rewrites the seeds)",
                path.display()
            )
        });
        assert_eq!(
            on_disk,
            seed.encode(),
            "{} is stale (UPCASE_FUZZ_WRITE_SEEDS=1 cargo test rewrites it)",
            path.display()
        );
    }
    let committed = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("seed-")
        })
        .count();
    assert_eq!(
        committed,
        seeds.len(),
        "seed-* files in {} that no seed produces",
        dir.display()
    );
}

#[test]
fn seeds_pass_the_codec_target() {
    for seed in codec_seeds() {
        run_codec(&seed.input());
    }
}

#[test]
fn oracle_matches_the_crate_docs() {
    let (out, result) = one_shot(UNICODE_PASS, "straße ΐ".as_bytes());
    assert_eq!(out, "STRASSE \u{399}\u{308}\u{301}".as_bytes());
    assert_eq!(result, Ok(()));

    // Unicode Standard table 3-8: one U+FFFD per maximal subpart.
    let s = b"\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64";
    let (out, _) = one_shot(UNICODE_REPLACE, s);
    assert_eq!(
        out,
        "A\u{FFFD}\u{FFFD}\u{FFFD}B\u{FFFD}C\u{FFFD}\u{FFFD}D".as_bytes()
    );
    let (out, _) = one_shot(UNICODE_PASS, s);
    assert_eq!(out, b"\x41\xF1\x80\x80\xE1\x80\xC2\x42\x80\x43\x80\xBF\x44");
    let (out, result) = one_shot(UNICODE_REJECT, s);
    assert_eq!(out, b"A");
    assert_eq!(
        result,
        Err(ExpectedError::Invalid {
            offset: 1,
            sequence: b"\xF1\x80\x80".to_vec()
        })
    );

    let (out, result) = one_shot(UNICODE_REJECT, b"ab\xE2\x82");
    assert_eq!(out, b"AB");
    assert_eq!(
        result,
        Err(ExpectedError::Truncated {
            offset: 2,
            sequence: b"\xE2\x82".to_vec()
        })
    );
    let (out, _) = one_shot(UNICODE_PASS, b"ab\xE2\x82");
    assert_eq!(out, b"AB\xE2\x82");

    let ascii = Config::new(Casing::Ascii, InvalidUtf8::Reject);
    assert_eq!(one_shot(ascii, b"a\xC3\x9F\xFFz").0, b"A\xC3\x9F\xFFZ");
}

#[test]
fn incremental_oracle_agrees_with_the_one_shot_oracle() {
    let mut rng = Lcg(7);
    for _ in 0..5000 {
        let len = rng.below(12);
        let s: Vec<u8> = (0..len).map(|_| rng.utf8ish_byte()).collect();
        for config in [UNICODE_PASS, UNICODE_REPLACE, UNICODE_REJECT] {
            let st = step(config.invalid, &s, 0, true);
            let (out, result) = one_shot(config, &s);
            assert_eq!(st.out, out, "{config:?} {}", Lit(&s));
            assert_eq!(
                st.error.map_or(Ok(()), Err),
                result,
                "{config:?} {}",
                Lit(&s)
            );
        }
    }
}

#[test]
fn ops_examples() {
    let feed = |bytes| Op::Feed {
        bytes,
        out: OutBuf::Shared,
    };
    let finish = Op::Finish { out: OutBuf::Fresh };
    for casing in [CasingChoice::Unicode, CasingChoice::Ascii] {
        for invalid in [
            PolicyChoice::PassThrough,
            PolicyChoice::Replace,
            PolicyChoice::Reject,
        ] {
            let config = ConfigChoice { casing, invalid };
            for ops in [
                vec![feed(b"stra\xC3"), Op::Clone, feed(b"\x9Fe"), finish.clone()],
                vec![
                    feed(b"\xE2\x82"),
                    Op::Inspect {
                        input_len: usize::MAX,
                    },
                    finish.clone(),
                    finish.clone(),
                ],
                vec![
                    feed(b"ok"),
                    finish.clone(),
                    feed(b"late"),
                    feed(b""),
                    finish.clone(),
                    feed(b"x"),
                ],
                vec![
                    feed(b"\xE2\x82"),
                    feed(b"A"),
                    feed(b"B"),
                    finish.clone(),
                    feed(b"C"),
                ],
                vec![
                    Op::Feed {
                        bytes: b"\xCE\x90\xCE",
                        out: OutBuf::Prefilled(9),
                    },
                    Op::Feed {
                        bytes: b"\x90",
                        out: OutBuf::WithCapacity(1),
                    },
                    finish.clone(),
                ],
            ] {
                run_ops(&OpsInput { config, ops });
            }
        }
    }
}

#[test]
fn pseudo_random_inputs_pass_the_targets() {
    let mut rng = Lcg(42);
    for _ in 0..3000 {
        let len = rng.below(96);
        let bytes: Vec<u8> = (0..len).map(|_| rng.utf8ish_byte()).collect();
        if let Ok(input) = CodecInput::arbitrary_take_rest(Unstructured::new(&bytes)) {
            run_codec(&input);
        }
        if let Ok(input) = OpsInput::arbitrary_take_rest(Unstructured::new(&bytes)) {
            run_ops(&input);
        }
        if let Ok(input) = SliceInput::arbitrary_take_rest(Unstructured::new(&bytes)) {
            run_slice(&input);
        }
    }
}

#[test]
fn seeds_pass_the_slice_target_with_one_byte_slices() {
    for seed in codec_seeds() {
        let codec = seed.input();
        run_slice(&SliceInput {
            config: codec.config,
            chunks: codec.chunks_a.clone(),
            outs: vec![0],
            stream: &codec.full_stream(),
        });
    }
}

#[test]
fn cut_follows_the_sizes() {
    let s = b"abcdefgh";
    assert_eq!(cut(s, 0, &[]), vec![&s[..]]);
    assert_eq!(cut(b"", 0, &[]), vec![&b""[..]]);
    assert_eq!(
        cut(s, 0, &[0, 3, 0, 2]),
        vec![&b""[..], b"abc", b"", b"de", b"fgh"]
    );
    assert_eq!(cut(s, 2, &[1, 9, 9]), vec![&b"abc"[..], b"defgh", b""]);
}

#[test]
fn piece_boundary_seeds_straddle_the_boundary() {
    for seed in codec_seeds()
        .iter()
        .filter(|s| s.name.starts_with("piece-boundary"))
    {
        let input = seed.input();
        assert_eq!(input.lead_in_len(), CODEC_PIECE - 1);
        let s = input.full_stream();
        let first = cut(&s, input.lead_in_len(), &input.chunks_a)[0];
        assert!(first.len() > CODEC_PIECE);
        // ß (C3 9F) sits on bytes 32767 and 32768 of that single feed.
        assert_eq!(&first[CODEC_PIECE - 1..CODEC_PIECE + 1], "ß".as_bytes());
    }
}

/// A small deterministic generator, so the test needs no extra crates.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }

    /// Bytes biased towards the interesting parts of UTF-8.
    fn utf8ish_byte(&mut self) -> u8 {
        const PICKS: &[u8] = &[
            b'a', b'z', b'A', 0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xC3,
            0xCE, 0xDF, 0xE0, 0xE1, 0xE2, 0xED, 0xEF, 0xF0, 0xF1, 0xF4, 0xF5, 0xFF,
        ];
        match self.below(3) {
            0 => self.next() as u8,
            _ => PICKS[self.below(PICKS.len() as u64)],
        }
    }
}
