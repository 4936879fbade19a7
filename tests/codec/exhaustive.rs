//! Exhaustive tests over spaces small enough to walk completely: every
//! Unicode scalar value at every split, and every byte string of length 1
//! to 3 under every chunking and policy. Both are split across threads.

use std::thread;
use std::vec::Vec;

use bytes::BytesMut;

use crate::testkit::{oracle, End, Expected, CONFIGS};
use upcase::{Casing, Codec, Config, InvalidUtf8};

/// Feeds `chunks` and finishes into a reused buffer: a lean driver for the
/// hot loops here (the full invariant checks live in `testkit::drive`).
fn run(config: Config, chunks: &[&[u8]], out: &mut BytesMut) -> End {
    out.clear();
    let mut codec = Codec::new(config);
    for chunk in chunks {
        if let Err(err) = codec.feed(chunk, out) {
            return Err(Expected::of(&err));
        }
        assert!(codec.pending_len() <= 3);
    }
    Expected::of_result(&codec.finish(out))
}

/// Feeds `stream` whole and checks output and ending against the oracle.
fn check_whole(config: Config, stream: &[u8], out: &mut BytesMut, what: &str) {
    let (want, want_end) = oracle(config, stream);
    let end = run(config, &[stream], out);
    assert!(
        out[..] == want[..] && end == want_end,
        "{config:?} {what} {stream:02X?}: got {:02X?} {end:?}, want {want:02X?} {want_end:?}",
        &out[..]
    );
}

/// Runs `f` over `0..n` on two threads.
fn par(n: u32, f: impl Fn(u32) + Sync) {
    thread::scope(|s| {
        let f = &f;
        let mid = n / 2;
        s.spawn(move || (0..mid).for_each(f));
        s.spawn(move || (mid..n).for_each(f));
    });
}

/// Runs `f` on every Unicode scalar value, on two threads.
fn every_char(f: impl Fn(char) + Sync) {
    par(0x11_0000, |cp| {
        if let Some(c) = char::from_u32(cp) {
            f(c)
        }
    });
}

#[test]
fn every_scalar_value_at_every_split() {
    every_char(|c| {
        let cp = u32::from(c);
        let mut out = BytesMut::new();
        // The character twice then an ASCII byte: whole, the fast paths
        // see it with the bytes after it in view (2-byte pairs, 3-byte
        // runs); split, the path after a completed held sequence runs too.
        let mut buf = [0u8; 9];
        let len = c.encode_utf8(&mut buf).len();
        buf.copy_within(..len, len);
        buf[2 * len] = b'q';
        let stream = &buf[..=2 * len];
        let upper: std::string::String = c.to_uppercase().collect();
        let mut want: Vec<u8> = upper.repeat(2).into_bytes();
        want.push(b'Q');
        for config in [CONFIGS[0], CONFIGS[1], CONFIGS[2]] {
            assert_eq!(run(config, &[stream], &mut out), Ok(()));
            assert_eq!(&out[..], &want[..], "U+{cp:04X} whole");
            for k in 1..=2 * len {
                let (a, b) = stream.split_at(k);
                assert_eq!(run(config, &[a, b], &mut out), Ok(()));
                assert_eq!(&out[..], &want[..], "U+{cp:04X} split at {k}");
            }
            let bytes: Vec<&[u8]> = stream.chunks(1).collect();
            assert_eq!(run(config, &bytes, &mut out), Ok(()));
            assert_eq!(&out[..], &want[..], "U+{cp:04X} byte by byte");
        }
        assert_eq!(run(CONFIGS[3], &[stream], &mut out), Ok(()));
        assert_eq!(
            &out[..],
            &stream.to_ascii_uppercase()[..],
            "U+{cp:04X} ascii"
        );
    });
}

/// All ways to cut a stream of `len` bytes into non-empty chunks.
fn compositions(stream: &[u8]) -> Vec<Vec<&[u8]>> {
    let gaps = stream.len().saturating_sub(1);
    (0..1u32 << gaps)
        .map(|mask| {
            let mut chunks = Vec::new();
            let mut start = 0;
            for gap in 0..gaps {
                if mask & (1 << gap) != 0 {
                    chunks.push(&stream[start..=gap]);
                    start = gap + 1;
                }
            }
            chunks.push(&stream[start..]);
            chunks
        })
        .collect()
}

#[test]
fn every_byte_string_up_to_three_bytes_under_every_chunking() {
    let unicode = [CONFIGS[0], CONFIGS[1], CONFIGS[2]];
    let ascii = Config::new(Casing::Ascii, InvalidUtf8::PassThrough);
    for len in 1..=3u32 {
        par(1 << (8 * len), |n| {
            let mut out = BytesMut::new();
            let stream = &n.to_be_bytes()[(4 - len as usize)..];
            let chunkings = compositions(stream);
            for config in unicode.into_iter().chain([ascii]) {
                let (want, want_end) = oracle(config, stream);
                for chunks in &chunkings {
                    let end = run(config, chunks, &mut out);
                    assert!(
                        out[..] == want[..] && end == want_end,
                        "{config:?} {chunks:02X?}: got {:02X?} {end:?}, want {want:02X?} {want_end:?}",
                        &out[..]
                    );
                }
            }
        });
    }
}

/// Every 3-byte string that starts like a multi-byte sequence, followed
/// by a byte that continues it, starts another or is ASCII, fed whole: the
/// 4-byte windows the fast paths test with masks, ill-formed ones included
/// (overlongs, surrogates, past U+10FFFF, truncations).
#[test]
fn every_four_byte_window_after_a_lead() {
    let unicode = [CONFIGS[0], CONFIGS[1], CONFIGS[2]];
    par(1 << 22, |n| {
        let mut out = BytesMut::new();
        let head = (0xC0_0000 | n).to_be_bytes();
        for tail in [b'q', 0x80, 0xC3, 0xF0] {
            let stream = [head[1], head[2], head[3], tail];
            for config in unicode {
                check_whole(config, &stream, &mut out, "");
            }
        }
    });
}

/// Offsets in a 64-byte block where a sequence meets the block's edges or
/// none of them: just after the first character, the middle, the last
/// bytes (cut by the block's end) and just past it, in the next block.
const BLOCK_PLACES: [usize; 8] = [2, 3, 33, 60, 61, 62, 63, 64];

/// A stream that starts a block (the codec's block path starts at the
/// first non-ASCII byte not alone in ASCII), puts `bytes` at offset `at` of
/// it and goes on with known text past the block, so the block path sees
/// `bytes` with neighbours on both sides.
fn in_a_block(bytes: &[u8], at: usize) -> Vec<u8> {
    // "жé": the ж is not alone, so the block starts at it.
    let mut stream = if at >= 4 { "жé" } else { "ж" }.as_bytes().to_vec();
    stream.resize(at, b'a');
    stream.extend_from_slice(bytes);
    stream.extend_from_slice("z é ж 中 😀 ".repeat(6).as_bytes());
    stream
}

/// Every scalar value at every place in a block: all the block path's
/// rules (and which characters it must not take) against std.
#[test]
fn every_scalar_value_in_a_block() {
    every_char(|c| {
        let cp = u32::from(c);
        let mut out = BytesMut::new();
        let mut buf = [0u8; 4];
        let encoded = c.encode_utf8(&mut buf).as_bytes();
        for at in BLOCK_PLACES {
            let stream = in_a_block(encoded, at);
            check_whole(
                CONFIGS[0],
                &stream,
                &mut out,
                &format!("U+{cp:04X} at {at}"),
            );
        }
    });
}

/// Every scalar value alone in ASCII text, where the run loops take it and
/// the ASCII fast path goes on after it (eight ASCII bytes after it), or
/// the block path takes it (seven), after a short and a long ASCII run.
#[test]
fn every_scalar_value_alone_in_ascii() {
    every_char(|c| {
        let cp = u32::from(c);
        let mut out = BytesMut::new();
        let mut buf = [0u8; 4];
        let encoded = c.encode_utf8(&mut buf).as_bytes();
        for before in [1, 67] {
            for after in [7, 8] {
                let mut stream = vec![b'q'; before];
                stream.extend_from_slice(encoded);
                stream.extend(std::iter::repeat_n(b'x', after));
                stream.extend_from_slice("é and more ASCII after it".as_bytes());
                check_whole(
                    CONFIGS[0],
                    &stream,
                    &mut out,
                    &format!("U+{cp:04X} after {before}, before {after}"),
                );
            }
        }
    });
}

/// Every pair of bytes at every place in a block, in Western European
/// text: the pair is anything from a known character cut or whole to an
/// ill-formed sequence that must stop the block exactly before it.
#[test]
fn every_byte_pair_in_a_block() {
    let unicode = [CONFIGS[0], CONFIGS[1], CONFIGS[2]];
    let context: Vec<u8> = "éaÿ ßÀz".repeat(12).into_bytes();
    par(1 << 16, |n| {
        let mut out = BytesMut::new();
        let pair = (n as u16).to_be_bytes();
        for at in [0, 1, 2, 31, 32, 61, 62, 63, 64, 65] {
            let mut stream = context.clone();
            stream[at..at + 2].copy_from_slice(&pair);
            for config in unicode {
                check_whole(
                    config,
                    &stream,
                    &mut out,
                    &format!("pair {pair:02X?} at {at}"),
                );
            }
        }
    });
}

/// Every lead of a 2- to 4-byte sequence, followed by three bytes from
/// each class that decides its fate, at every place in a block: the
/// ill-formed, overlong, surrogate and cut sequences the block path must
/// leave to the general decoder, exactly where they start. The second
/// byte is any continuation byte (the rules look at its value) or one of
/// the other classes (ASCII, a lead of each length, a byte that never
/// appears); the later bytes only need their class.
#[test]
fn every_four_byte_window_in_a_block() {
    let others = [b'a', 0xC3, 0xE4, 0xF0, 0xFF];
    let seconds: Vec<u8> = (0x80..=0xBF).chain(others).collect();
    let laters: Vec<u8> = [0x80, 0xBF].into_iter().chain(others).collect();
    let (n, m) = (seconds.len() as u32, laters.len() as u32);
    par(n * m * m, |k| {
        let mut out = BytesMut::new();
        let tail = [
            seconds[(k / (m * m)) as usize],
            laters[(k / m % m) as usize],
            laters[(k % m) as usize],
        ];
        for lead in 0xC2..=0xF4 {
            let window = [lead, tail[0], tail[1], tail[2]];
            for at in BLOCK_PLACES {
                let stream = in_a_block(&window, at);
                for config in [CONFIGS[0], CONFIGS[2]] {
                    check_whole(config, &stream, &mut out, &format!("at {at}"));
                }
            }
        }
    });
}

#[test]
fn ascii_casing_ignores_the_invalid_policy() {
    par(1 << 16, |n| {
        let stream = n.to_be_bytes();
        let mut out = BytesMut::new();
        for config in &CONFIGS[3..] {
            assert_eq!(run(*config, &[&stream[2..]], &mut out), Ok(()));
            assert_eq!(&out[..], &stream[2..].to_ascii_uppercase()[..]);
        }
    });
}
