//! `Codec::feed_into`: any split of the input and of the output space.

use proptest::prelude::*;

use upcase::{Casing, Codec, CoderResult, Config, InvalidUtf8};

use crate::strategies::{sizes, stream};
use crate::testkit::{oracle, split_sizes, Expected, CONFIGS};

const REGRESSIONS: &str = "proptest-regressions/io/slice.txt";

/// Output slice sizes: mostly tiny (1 byte up), sometimes enough for the
/// direct path, once in a while big.
pub fn out_sizes() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(
        prop_oneof![4 => 1..14usize, 2 => 14..90usize, 1 => 90..400usize, 1 => 400..5000usize],
        1..20,
    )
}

/// The most `feed_into` keeps for the next call: `max_output_len(1)`.
const OVERFLOW_BOUND: usize = 12;

/// Feeds `chunks` through `feed_into` with output slices of `out_sizes`
/// (cycled), the last chunk with `last`, and collects the output and how
/// the stream ended. Checks on every call: `read`/`written` within their
/// slices, at most 12 bytes kept, progress, `InputEmpty` only with all
/// input read, nothing after an error, and the error sticky.
pub fn drive_slice(
    config: Config,
    chunks: &[&[u8]],
    out_sizes: &[usize],
) -> (Vec<u8>, Result<(), Expected>) {
    let mut codec = Codec::new(config);
    let mut got = Vec::new();
    let mut sizes = out_sizes.iter().cycle();
    let mut out = Vec::new();
    let empty: &[&[u8]] = &[&[]];
    let chunks = if chunks.is_empty() { empty } else { chunks };
    for (i, &chunk) in chunks.iter().enumerate() {
        let last = i + 1 == chunks.len();
        let mut input = chunk;
        let mut idle = 0;
        loop {
            let size = *sizes.next().unwrap();
            // Garbage in the slice: only the first `written` bytes count.
            out.clear();
            out.resize(size, 0xA5);
            let (result, read, written) = codec.feed_into(input, &mut out, last);
            assert!(read <= input.len() && written <= size);
            assert!(codec.pending_output_len() <= OVERFLOW_BOUND);
            got.extend_from_slice(&out[..written]);
            input = &input[read..];
            match result {
                Err(err) => {
                    assert_eq!(
                        codec.pending_output_len(),
                        0,
                        "error before all output was out"
                    );
                    // Sticky, and nothing more comes out.
                    let mut more = [0u8; 64];
                    let (again, read, written) = codec.feed_into(b"abc", &mut more, true);
                    assert_eq!((again.as_ref(), read, written), (Err(&err), 0, 0));
                    return (got, Err(Expected::of(&err)));
                }
                Ok(CoderResult::InputEmpty) => {
                    assert!(input.is_empty(), "InputEmpty with input left");
                    assert_eq!(codec.pending_output_len(), 0);
                    break;
                }
                Ok(CoderResult::OutputFull) => {
                    idle = if read + written == 0 { idle + 1 } else { 0 };
                    assert!(idle < 2, "no progress with a {size}-byte slice");
                }
            }
        }
    }
    assert!(codec.is_finished());
    // Finishing again is harmless; feeding is refused.
    let mut more = [0u8; 64];
    assert_eq!(
        codec.feed_into(&[], &mut more, true),
        (Ok(CoderResult::InputEmpty), 0, 0)
    );
    assert!(codec.feed_into(b"x", &mut more, false).0.is_err());
    (got, Ok(()))
}

proptest! {
    #![proptest_config(crate::persisted(1500, REGRESSIONS))]

    /// Any split of the input and of the output space: the oracle's output
    /// and ending, Reject's offset included.
    #[test]
    fn any_split_equals_oracle(stream in stream(), sizes in sizes(), outs in out_sizes()) {
        let chunks = split_sizes(&stream, &sizes);
        for config in CONFIGS {
            let got = drive_slice(config, &chunks, &outs);
            prop_assert_eq!(got, oracle(config, &stream), "{:?} chunks {:02X?} outs {:?}", config, chunks, outs);
        }
    }

    /// Unbiased bytes one at a time into one-byte slices.
    #[test]
    fn random_bytes_one_by_one(stream in proptest::collection::vec(any::<u8>(), 0..64)) {
        for config in CONFIGS {
            let got = drive_slice(config, &stream.chunks(1).collect::<Vec<_>>(), &[1]);
            prop_assert_eq!(got, oracle(config, &stream), "{:?}", config);
        }
    }
}

/// The overflow bound is reached: `ΐ` (2 bytes) becomes 6, so feeding its
/// last byte into a 1-byte slice keeps 5; with 3 held bytes completing a
/// 4-byte character the output is at most 4. The worst case the bound
/// covers is a held sequence that turns invalid (up to 3 bytes, or U+FFFD)
/// followed by one more invalid byte: under Replace, `E1 80` then `FF`
/// makes two U+FFFD, 6 bytes, of which a 1-byte slice takes 1.
#[test]
fn overflow_stays_within_one_bytes_bound() {
    let replace = Config::new(Casing::Unicode, InvalidUtf8::Replace);
    for (config, stream, kept) in [
        (Config::default(), "\u{390}".as_bytes(), 5),
        (replace, &b"\xE1\x80\xFF"[..], 5),
    ] {
        let mut codec = Codec::new(config);
        let mut out = [0u8; 1];
        let (result, read, written) = codec.feed_into(&stream[..stream.len() - 1], &mut out, false);
        assert_eq!(
            (result, read, written),
            (Ok(CoderResult::InputEmpty), stream.len() - 1, 0)
        );
        let (result, read, written) = codec.feed_into(&stream[stream.len() - 1..], &mut out, true);
        assert_eq!((result, read, written), (Ok(CoderResult::OutputFull), 1, 1));
        assert_eq!(codec.pending_output_len(), kept);
        assert!(kept <= OVERFLOW_BOUND && kept <= codec.max_output_len(1));
    }
}

/// An empty output slice makes no progress and says so.
#[test]
fn empty_output_slice_is_output_full() {
    let mut codec = Codec::default();
    assert_eq!(
        codec.feed_into(b"abc", &mut [], false),
        (Ok(CoderResult::OutputFull), 0, 0)
    );
    let mut out = [0u8; 3];
    assert_eq!(
        codec.feed_into(b"abc", &mut out, false),
        (Ok(CoderResult::InputEmpty), 3, 3)
    );
    assert_eq!(&out, b"ABC");
}

/// Reject: the output before the bad byte comes out in full, through a
/// tiny slice, before the error, which names the stream offset.
#[test]
fn reject_reports_offset_after_output() {
    let reject = Config::new(Casing::Unicode, InvalidUtf8::Reject);
    let stream = "ΐΐ"
        .as_bytes()
        .iter()
        .copied()
        .chain(*b"\xFFtail")
        .collect::<Vec<_>>();
    let got = drive_slice(reject, &[&stream], &[1]);
    assert_eq!(got, oracle(reject, &stream));
    assert_eq!(got.1.unwrap_err().offset(), Some(4));
}
