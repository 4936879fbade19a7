//! Table-driven vectors and state-machine tests for the codec.

use std::string::String;
use std::vec::Vec;

use bytes::BytesMut;

use crate::testkit::{assert_matches_oracle, drive, oracle, split_at, Expected, CONFIGS};
use upcase::{Casing, Codec, CodecError, Config, InvalidUtf8};

const REPLACE: Config = Config::new(Casing::Unicode, InvalidUtf8::Replace);
const PASS: Config = Config::new(Casing::Unicode, InvalidUtf8::PassThrough);
const REJECT: Config = Config::new(Casing::Unicode, InvalidUtf8::Reject);
const ASCII: Config = Config::new(Casing::Ascii, InvalidUtf8::PassThrough);

/// Feeds `stream` split at every set of up to two cut points (all
/// three-chunk splits, which includes every two-chunk split and empty
/// chunks), plus one byte at a time, under every config.
fn assert_all_splits(stream: &[u8]) {
    for config in CONFIGS {
        for a in 0..=stream.len() {
            for b in a..=stream.len() {
                assert_matches_oracle(config, stream, &split_at(stream, &[a, b]));
            }
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_matches_oracle(config, stream, &bytes);
    }
}

/// The Unicode Standard's examples of U+FFFD substitution by maximal
/// subparts (chapter 3, "U+FFFD Substitution of Maximal Subparts",
/// tables 3-8 to 3-11), with the expected output written out by hand.
const MAXIMAL_SUBPARTS: &[(&[u8], &str)] = &[
    (
        b"\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
        "A\u{FFFD}\u{FFFD}\u{FFFD}B\u{FFFD}C\u{FFFD}\u{FFFD}D",
    ),
    // Table 3-8: C0 and overlong E0/F0 prefixes are each one subpart per byte.
    (
        b"\xC0\xAF\xE0\x80\xBF\xF0\x81\x82\x41",
        "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}A",
    ),
    // Table 3-9: surrogates (ED A0..BF) likewise.
    (
        b"\xED\xA0\x80\xED\xBF\xBF\xED\xAF\x41",
        "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}A",
    ),
    // Table 3-10: beyond U+10FFFF and FF.
    (
        b"\xF4\x91\x92\x93\xFF\x41\x80\xBF\x42",
        "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}A\u{FFFD}\u{FFFD}B",
    ),
    // Table 3-11: truncated sequences are one subpart each.
    (
        b"\xE1\x80\xE2\xF0\x91\x92\xF1\xBF\x41",
        "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}A",
    ),
];

#[test]
fn unicode_maximal_subpart_examples_under_every_split() {
    for &(input, replaced) in MAXIMAL_SUBPARTS {
        // The oracle itself agrees with the standard...
        assert_eq!(oracle(REPLACE, input).0, replaced.as_bytes());
        // ...and the codec agrees with the oracle however the input is cut.
        assert_all_splits(input);
    }
}

/// Multi-character and length-changing uppercasings, written out by hand.
const SPECIAL_CASINGS: &[(&str, &str)] = &[
    ("straße", "STRASSE"),
    ("\u{149}", "\u{2BC}N"),               // ŉ → ʼN, 2 bytes → 3
    ("\u{390}", "\u{399}\u{308}\u{301}"),  // ΐ → 3 characters, 2 bytes → 6
    ("\u{1F0}", "J\u{30C}"),               // ǰ
    ("\u{FB03}", "FFI"),                   // ﬃ, 3 bytes → 3
    ("\u{1FB7}", "\u{391}\u{342}\u{399}"), // ᾷ
    ("\u{DF}\u{DF}", "SSSS"),
    ("ǆ", "Ǆ"),                                   // titlecase digraph
    ("ıi", "II"),                                 // dotless i
    ("ſ", "S"),                                   // long s: 2 bytes → 1
    ("\u{23A}ⱥ", "\u{23A}\u{23A}"),               // ⱥ is 3 bytes, Ⱥ is 2
    ("𐐨𞤢", "𐐀𞤀"),                                 // Deseret, Adlam (4-byte)
    ("日本語 😀 \u{FFFD}", "日本語 😀 \u{FFFD}"), // no case
];

#[test]
fn special_casings_by_hand_under_every_split() {
    for &(input, upper) in SPECIAL_CASINGS {
        for config in [PASS, REPLACE, REJECT] {
            assert_eq!(drive(config, [input.as_bytes()]).0, upper.as_bytes());
        }
        assert_all_splits(input.as_bytes());
    }
}

#[test]
fn ascii_mode_is_python_bytes_upper() {
    // Python: bytes(range(256)).upper() changes exactly b'a'..=b'z'.
    let all: Vec<u8> = (0..=255).collect();
    let want: Vec<u8> = all
        .iter()
        .map(|&b| if b.is_ascii_lowercase() { b - 32 } else { b })
        .collect();
    assert_eq!(drive(ASCII, [&all[..]]).0, want);
    assert_all_splits(&all[0x5E..0x84]);
}

#[test]
fn ascii_runs_of_every_length_in_unicode_mode() {
    // The ASCII fast path works a word and then 128-byte blocks at a time:
    // runs of every length up to two blocks, at every output alignment
    // after a multi-byte character, ended every way, with all 128 ASCII
    // values. After `é`, `日` or `😀` the block path takes the ASCII too;
    // after `ı ΐ ﬃ 𐐨`, which it leaves to the run loops (and which
    // uppercase to 1, 6, 3 and 4 bytes), the ASCII fast path does.
    let ascii: Vec<u8> = (0..300u32).map(|k| (k * 37 % 128) as u8).collect();
    for lead in ["", "é", "日", "😀", "ı", "ΐ", "ﬃ", "𐐨"] {
        for len in 0..=ascii.len() {
            for tail in [&b""[..], "ß".as_bytes(), b"\xFF", b"\xE2\x82"] {
                let stream = [lead.as_bytes(), &ascii[..len], tail].concat();
                for config in CONFIGS {
                    assert_matches_oracle(config, &stream, &[&stream[..]]);
                    let (a, b) = stream.split_at(stream.len() / 2);
                    assert_matches_oracle(config, &stream, &[a, b]);
                }
            }
        }
    }
}

#[test]
fn ascii_runs_at_every_output_offset() {
    // A long ASCII run first stores one block to bring its output to a
    // 64-byte line. The first piece puts 0 to 63 bytes of output before
    // the run, so it starts at every offset from a line; the run ends
    // before, inside and after that block, with plenty of input after it
    // (as only then is the step taken).
    let ascii: Vec<u8> = (0..400u32).map(|k| (k * 37 % 128) as u8).collect();
    for offset in 0..64 {
        for len in (0..=90).chain([255, 256, 300]) {
            for tail in ["ß".as_bytes(), b"\xFF"] {
                let rest = [&ascii[..len], tail, &ascii].concat();
                let stream = [&ascii[..offset], &rest].concat();
                for config in CONFIGS {
                    assert_matches_oracle(config, &stream, &[&ascii[..offset], &rest]);
                }
            }
        }
    }
}

#[test]
fn incomplete_sequence_is_held_not_emitted() {
    let euro = "€".as_bytes(); // E2 82 AC
    for config in [PASS, REPLACE, REJECT] {
        let mut codec = Codec::new(config);
        let mut out = BytesMut::new();
        codec.feed(&euro[..1], &mut out).unwrap();
        assert_eq!((out.len(), codec.pending_len()), (0, 1));
        codec.feed(&euro[1..2], &mut out).unwrap();
        assert_eq!((out.len(), codec.pending_len()), (0, 2));
        codec.feed(b"", &mut out).unwrap();
        assert_eq!((out.len(), codec.pending_len()), (0, 2));
        codec.feed(&euro[2..], &mut out).unwrap();
        assert_eq!((&out[..], codec.pending_len()), (euro, 0));
    }
}

#[test]
fn truncated_sequence_at_end_follows_policy() {
    let stream = b"ok\xF0\x9F\x98"; // "ok" + 3 of the 4 bytes of 😀
    let (pass, end) = drive(PASS, [&stream[..]]);
    assert_eq!((&pass[..], end), (&b"OK\xF0\x9F\x98"[..], Ok(())));
    let (replace, end) = drive(REPLACE, [&stream[..]]);
    assert_eq!((replace, end), ("OK\u{FFFD}".as_bytes().to_vec(), Ok(())));
    let (reject, end) = drive(REJECT, [&stream[..]]);
    assert_eq!(reject, b"OK");
    assert_eq!(
        end,
        Err(Expected::Truncated {
            offset: 2,
            sequence: stream[2..].to_vec()
        })
    );
}

#[test]
fn reject_reports_offset_and_keeps_valid_prefix() {
    let mut codec = Codec::new(REJECT);
    let mut out = BytesMut::new();
    codec.feed("ßa".as_bytes(), &mut out).unwrap();
    // E2 82 then 'b': the error is only known once 'b' arrives.
    codec.feed(b"\xE2\x82", &mut out).unwrap();
    let err = codec.feed(b"bc", &mut out).unwrap_err();
    let CodecError::InvalidUtf8 { offset, sequence } = &err else {
        panic!("wrong error {err:?}")
    };
    assert_eq!((*offset, sequence.as_bytes()), (3, &b"\xE2\x82"[..]));
    assert_eq!(&out[..], b"SSA");
    assert_eq!(
        std::format!("{err}"),
        "invalid UTF-8 at byte offset 3 of the stream: [E2 82]"
    );
    // The failed stream holds nothing, and every byte fed counts.
    assert_eq!((codec.pending_len(), codec.position()), (0, 7));
    // Sticky: later calls repeat it and emit nothing.
    assert_eq!(codec.feed(b"d", &mut out), Err(err.clone()));
    assert_eq!(codec.finish(&mut out), Err(err));
    assert_eq!(&out[..], b"SSA");
}

#[test]
fn feed_after_finish_is_an_error_and_finish_is_idempotent() {
    let mut codec = Codec::default();
    let mut out = BytesMut::new();
    codec.feed(b"a\xC3", &mut out).unwrap();
    codec.finish(&mut out).unwrap();
    assert!(codec.is_finished());
    assert_eq!(&out[..], b"A\xC3");
    assert_eq!(codec.finish(&mut out), Ok(()));
    let err = codec.feed(b"", &mut out).unwrap_err();
    assert_eq!(err, CodecError::FedAfterFinish);
    // A misuse, not a stream error: the codec stays finished.
    assert_eq!(codec.finish(&mut out), Ok(()));
    assert!(codec.is_finished());
    assert_eq!(
        std::format!("{err}"),
        "input fed after the end of the stream"
    );
    assert_eq!(&out[..], b"A\xC3");
}

#[test]
fn position_counts_every_byte_fed() {
    for config in CONFIGS {
        let mut codec = Codec::new(config);
        let mut out = BytesMut::new();
        for chunk in [&b"ab"[..], b"\xE2", b"", b"\x82\xACxyz"] {
            let before = codec.position();
            codec.feed(chunk, &mut out).unwrap();
            assert_eq!(codec.position(), before + chunk.len() as u64, "{config:?}");
        }
        assert_eq!(codec.position(), 8, "{config:?}");
    }
}

#[test]
fn config_and_defaults() {
    let codec = Codec::default();
    assert_eq!(codec.config(), PASS);
    assert_eq!(Config::default(), PASS);
    assert!(!codec.is_finished());
    assert_eq!(Codec::new(ASCII).max_output_len(10), 10);
    assert_eq!(codec.max_output_len(10), 39);
    assert_eq!(codec.max_output_len(usize::MAX), usize::MAX);
}

#[test]
fn max_output_len_is_reached_by_the_worst_cases() {
    // The bound is tight: U+0390 triples, as does a lone invalid byte
    // under Replace, and three held bytes can complete in a 1-byte feed.
    let worst: String = "\u{390}".repeat(1000);
    let (out, _) = drive(PASS, [worst.as_bytes()]);
    assert_eq!(out.len(), 3 * worst.len());
    let (out, _) = drive(REPLACE, [&[0xFFu8; 1000][..]]);
    assert_eq!(out.len(), 3000);
}

#[test]
fn large_feeds_cross_internal_pieces() {
    // Longer than one internal piece, with a multi-byte character on every
    // possible alignment relative to the piece boundary.
    for pad in 0..4 {
        let mut stream = std::vec![b'a'; pad];
        while stream.len() < 3 * Codec::PIECE_LEN + 7 {
            stream.extend_from_slice("ßΐ€😀\u{FF}".as_bytes());
            stream.extend_from_slice(b"x\xE2\x82");
        }
        for config in CONFIGS {
            assert_matches_oracle(config, &stream, &[&stream[..]]);
        }
    }
}

#[test]
fn error_display_names_offset_and_bytes() {
    let (_, end) = drive(REJECT, [&b"abc\xFFdef"[..]]);
    assert_eq!(
        end,
        Err(Expected::Invalid {
            offset: 3,
            sequence: std::vec![0xFF]
        })
    );
    let mut codec = Codec::new(REJECT);
    let mut out = BytesMut::new();
    codec.feed(b"\xE2\x82", &mut out).unwrap();
    let err = codec.finish(&mut out).unwrap_err();
    assert_eq!(
        std::format!("{err}"),
        "stream ended inside a UTF-8 sequence at byte offset 0: [E2 82]"
    );
    let CodecError::TruncatedUtf8 { sequence, .. } = err else {
        panic!()
    };
    assert_eq!(std::format!("{sequence:?}"), "[E2 82]");
}

/// The level `UPCASE_FORCE_IMPLEMENTATION` asks for is the one this test
/// process runs, so CI's run per level really tests that level: CI only
/// asks for levels the CPU has (a level it lacks would fall back).
#[test]
fn the_forced_implementation_is_the_one_running() {
    let running = upcase::implementation();
    assert!(
        ["portable", "avx2", "avx512"].contains(&running),
        "{running}"
    );
    if cfg!(upcase_portable) {
        assert_eq!(running, "portable");
    }
    if let Ok(forced) = std::env::var("UPCASE_FORCE_IMPLEMENTATION") {
        assert_eq!(running, forced, "UPCASE_FORCE_IMPLEMENTATION={forced}");
    }
}

/// Unforced, the level is the best this CPU has (std's feature detection
/// is the oracle): a detection that settles for less passes every output
/// test, only slower.
#[test]
fn the_unforced_implementation_is_the_best_the_cpu_has() {
    if std::env::var_os("UPCASE_FORCE_IMPLEMENTATION").is_some() || cfg!(upcase_portable) {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    let best = {
        let base = std::is_x86_feature_detected!("bmi1")
            && std::is_x86_feature_detected!("bmi2")
            && std::is_x86_feature_detected!("popcnt")
            && std::is_x86_feature_detected!("lzcnt");
        let avx512 = std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("avx512vbmi")
            && std::is_x86_feature_detected!("avx512vbmi2");
        match (base, avx512, std::is_x86_feature_detected!("avx2")) {
            (false, _, _) => "portable",
            (true, true, _) => "avx512",
            (true, false, true) => "avx2",
            (true, false, false) => "portable",
        }
    };
    #[cfg(not(target_arch = "x86_64"))]
    let best = "portable";
    assert_eq!(upcase::implementation(), best);
}

/// Every level this CPU has, asked for with `UPCASE_FORCE_IMPLEMENTATION`,
/// is the one that runs: this test binary runs
/// [`the_forced_implementation_is_the_one_running`] once per level in a
/// child process (the level is read once per process).
#[test]
fn every_level_can_be_forced_in_a_child_process() {
    if std::env::var_os("UPCASE_FORCE_IMPLEMENTATION").is_some() || cfg!(upcase_portable) {
        return;
    }
    let levels = ["portable", "avx2", "avx512"];
    let best = levels
        .iter()
        .position(|&l| l == upcase::implementation())
        .unwrap();
    let exe = std::env::current_exe().unwrap();
    for level in &levels[..=best] {
        let out = std::process::Command::new(&exe)
            .args([
                "--exact",
                "contract::the_forced_implementation_is_the_one_running",
                "--test-threads=1",
            ])
            .env("UPCASE_FORCE_IMPLEMENTATION", level)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{level}: {stdout}");
        // The filter must have matched: a renamed test would pass vacuously.
        assert!(stdout.contains("1 passed"), "{level}: {stdout}");
    }
}
