//! What the block path takes and where it stops, on test vectors: text in
//! the scripts it claims must go through it whole, and it must stop exactly
//! before anything else. (Its output is checked everywhere else too; these
//! tests are about the speed contract, which output alone cannot show.)

use std::string::String;
use std::vec::Vec;

use bytes::BytesMut;

use super::block_run;
use crate::codec::dispatch::{Portable, Simd};
use crate::codec::sink::with_sink;

/// Text in every script the block path claims: the bench corpora, plus
/// `µ ÿ`, combining marks and spacing modifiers, Cyrillic pairs, Latin
/// Extended-A, Hebrew and Arabic, and the other caseless 3- and 4-byte
/// ranges (Indic, Yi, private use, fullwidth punctuation, CJK Extension B,
/// tags); Vietnamese, Romanian, Ukrainian, Armenian, Hebrew points, arrows
/// and Greek with oxia; Turkish, whose `ı` is one byte shorter uppercased.
const KNOWN: [&str; 11] = [
    "Voilà l'été à Noël: déjà vu, café crème. Straße, Größe, Übermaß. Señor, año, µ ÿ.\n",
    "Combining: cafe\u{301} nai\u{308}ve, modifiers: ˈstress ˆ ˜.\n",
    "Съешь же ещё этих мягких французских булок ѐ ѡ. Ξεσκεπάζω την ψυχοφθόρα βδελυγμία.\n",
    "日本語のテキストは大文字がありません。中文文本没有大小写。한국어 텍스트도 마찬가지입니다.\n",
    "ok 😀🎉👍🏽 fine 🚀✨ ünïcödé 🧪🔥 done 🙂\n",
    "Hello мир, grüße 世界! Ξένος café — Łódź, Škoda, ŀ ŋ ź, עברית, العربية.\n",
    "हिन्दी ꀀꀁ \u{E000}\u{F8FF} 𠀀𪛖 \u{100000}\u{10FFFD} \u{E0061}，！\n",
    "Tiếng Việt: người dùng, cửa sổ, ơ ư, ḁ ỿ. Română: ș ț ȁ ȳ, ʼ ʰ.\n",
    "Ґанок ґ ҁ ҿ ӂ ӏ ӿ ԁ ԯ. Հայերեն՝ ուղեցույց, ա ֆ ր ԿՖ. עִבְרִית־מָקָף ← ↔ ⇒ ⇿.\n",
    "ὰ ά ὲ έ ὴ ή ὶ ί ὸ ό ὺ ύ ὼ ώ: the Greek vowels with oxia.\n",
    "Türkçe: ılık ışık, ıı ı. Iğdır'da kış; İstanbul, çiğ, şoför.\n",
];

/// Characters outside its rules, which it takes one by one through the
/// tables and goes on after: characters whose uppercase has another length
/// (`ŉ ſ ΐ ΰ ﬀ և ẖ`) and cased characters outside its rules (Georgian,
/// Latin Extended-B, fullwidth, Deseret, polytonic Greek).
const ONE_BY_ONE: [&str; 12] = ["ŉ", "ſ", "ΐ", "ΰ", "ﬀ", "և", "ẖ", "ⴀ", "ǆ", "ａ", "𐐨", "ἀ"];

/// What it must stop at and leave to the general decoder: ill-formed or
/// cut sequences.
const UNKNOWN: [&[u8]; 4] = [b"\xFF", b"\xC0\x80", b"\xED\xA0\x80", b"\xE4\xB8"];

/// Runs the block path over `src` with the kernels of `simd`: the output
/// and how many bytes it took.
fn run_with(simd: impl Simd, src: &[u8]) -> (Vec<u8>, usize) {
    let mut out = BytesMut::new();
    let taken = with_sink(&mut out, 3 * (src.len() + 3), |sink| {
        block_run(simd, sink, src)
    });
    (out.to_vec(), taken)
}

/// Runs the block path over `src` with the portable kernels, and with each
/// SIMD token the CPU allows, which must agree with them exactly (the
/// dispatched levels, whatever `UPCASE_FORCE_IMPLEMENTATION` says): the
/// output and how many bytes it took.
fn run(src: &[u8]) -> (Vec<u8>, usize) {
    let portable = run_with(Portable, src);
    #[cfg(all(feature = "std", target_arch = "x86_64", not(upcase_portable)))]
    {
        use crate::codec::x86::{Avx2, Avx512};
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: checked just above.
            let avx2 = unsafe { Avx2::new_unchecked() };
            assert_eq!(run_with(avx2, src), portable, "avx2 on {src:02X?}");
        }
        if std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("avx512vbmi")
            && std::is_x86_feature_detected!("avx512vbmi2")
        {
            // SAFETY: checked just above.
            let avx512 = unsafe { Avx512::new_unchecked() };
            assert_eq!(run_with(avx512, src), portable, "avx512 on {src:02X?}");
        }
    }
    portable
}

/// The uppercase of `text[..n]`, which must be whole characters.
fn upper(text: &[u8], n: usize) -> Vec<u8> {
    let s = core::str::from_utf8(&text[..n]).expect("taken up to a character boundary");
    s.to_uppercase().into_bytes()
}

#[test]
fn takes_all_the_text_it_knows() {
    for sample in KNOWN {
        for copies in 1..12 {
            let text = sample.repeat(copies).into_bytes();
            let (out, taken) = run(&text);
            // All of it, but for a tail after the last whole block that is
            // too short to copy into one.
            assert!(
                text.len() - taken < 16,
                "{sample:?} x{copies}: took {taken} of {}",
                text.len()
            );
            assert_eq!(out, upper(&text, taken), "{sample:?} x{copies}");
        }
    }
}

#[test]
fn stops_exactly_before_what_it_does_not_know() {
    for sample in KNOWN {
        let text = sample.repeat(4);
        let boundaries = (0..200).filter(|&at| text.is_char_boundary(at));
        for at in boundaries {
            for unknown in UNKNOWN {
                let mut stream = text.as_bytes()[..at].to_vec();
                stream.extend_from_slice(unknown);
                stream.extend_from_slice(&text.as_bytes()[at..]);
                let (out, taken) = run(&stream);
                assert_eq!(taken, at, "{unknown:02X?} at {at} of {sample:?}");
                assert_eq!(out, upper(&stream, taken), "{unknown:02X?} at {at}");
            }
        }
    }
}

#[test]
fn takes_what_its_rules_do_not_know_one_by_one_and_goes_on() {
    for sample in KNOWN {
        let text = sample.repeat(4);
        let boundaries = (0..200).filter(|&at| text.is_char_boundary(at));
        for at in boundaries {
            for other in ONE_BY_ONE {
                let mut stream = text[..at].to_owned();
                stream.push_str(other);
                stream.push_str(&text[at..]);
                let (out, taken) = run(stream.as_bytes());
                assert!(
                    stream.len() - taken < 16,
                    "{other} at {at} of {sample:?}: took {taken} of {}",
                    stream.len()
                );
                assert_eq!(out, upper(stream.as_bytes(), taken), "{other} at {at}");
            }
        }
    }
}

/// A script the rules do not know at all ends the run soon: after the
/// second block that stops at once (Georgian, 3-byte letters).
#[test]
fn ends_the_run_in_a_script_it_does_not_know() {
    let text = "ⴀⴁⴂⴃ".repeat(40);
    let (out, taken) = run(text.as_bytes());
    assert_eq!(taken, 3, "one letter between two blocks that stop at once");
    assert_eq!(out, upper(text.as_bytes(), taken));
}

#[test]
fn takes_input_shorter_than_a_block_whole_from_sixteen_bytes() {
    let text: String = "é".repeat(32);
    for len in (0..=text.len()).filter(|&n| text.is_char_boundary(n)) {
        let (out, taken) = run(&text.as_bytes()[..len]);
        assert_eq!(taken, if len < 16 { 0 } else { len }, "{len} bytes");
        assert_eq!(out, upper(text.as_bytes(), taken));
    }
}
