//! Test support: a checked driver and ways to split a stream, around the
//! core's std-only oracle (`upcase::oracle`).

use std::vec::Vec;

use bytes::BytesMut;

use upcase::{Casing, Codec, CodecError, Config};

pub use upcase::oracle::{uppercase as oracle, Expected, CONFIGS};

/// How a stream ends, as the oracle predicts it.
pub type End = Result<(), Expected>;

/// Feeds `chunks` then finishes, checking on every call the invariants that
/// hold whatever the input: `pending_len() <= 3` (0 for ASCII and after an
/// error), `position()` counting every byte fed, output per
/// call within `max_output_len`, errors sticky and appending nothing,
/// `finish` idempotent and feeding after it refused.
pub fn drive<'a>(config: Config, chunks: impl IntoIterator<Item = &'a [u8]>) -> (Vec<u8>, End) {
    let mut codec = Codec::new(config);
    let mut out = BytesMut::new();
    let mut error: Option<CodecError> = None;
    let mut fed = 0u64;
    for chunk in chunks {
        let before = out.len();
        let result = codec.feed(chunk, &mut out);
        let grew = out.len() - before;
        fed += chunk.len() as u64;
        if error.is_none() {
            assert_eq!(codec.position(), fed, "position counts every byte fed");
        }
        if result.is_err() {
            assert_eq!(codec.pending_len(), 0, "a failed stream holds nothing");
        }
        if let Some(err) = &error {
            assert_eq!(result.as_ref(), Err(err), "error not sticky");
            assert_eq!(grew, 0, "output after an error");
            continue;
        }
        assert!(
            grew <= codec.max_output_len(chunk.len()),
            "feed of {} bytes appended {grew}",
            chunk.len()
        );
        assert!(codec.pending_len() <= 3);
        if config.casing == Casing::Ascii {
            assert_eq!(codec.pending_len(), 0);
        }
        error = result.err();
    }
    let before = out.len();
    let result = codec.finish(&mut out);
    assert!(out.len() - before <= codec.max_output_len(0));
    if let Some(err) = &error {
        assert_eq!(result.as_ref(), Err(err), "error not sticky at finish");
        assert_eq!(out.len(), before);
    }
    let end = Expected::of_result(&result);
    // Finishing again changes nothing; feeding now is refused.
    let before = out.len();
    assert_eq!(codec.finish(&mut out), result);
    let after_finish = codec.feed(b"x", &mut out);
    match &result {
        Ok(()) => assert_eq!(after_finish, Err(CodecError::FedAfterFinish)),
        Err(err) => assert_eq!(after_finish.as_ref(), Err(err)),
    }
    assert_eq!(out.len(), before, "output after finish");
    (out.to_vec(), end)
}

/// Splits `stream` at the (sorted, deduplicated by the caller or not) cut
/// points, keeping empty chunks where cuts repeat.
pub fn split_at<'a>(stream: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut chunks = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for &cut in cuts {
        let cut = cut.clamp(start, stream.len());
        chunks.push(&stream[start..cut]);
        start = cut;
    }
    chunks.push(&stream[start..]);
    chunks
}

/// Splits `stream` into consecutive chunks of the given sizes (cycled),
/// including empty ones.
pub fn split_sizes<'a>(stream: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut chunks = Vec::new();
    let mut rest = stream;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (head, tail) = rest.split_at(size.min(rest.len()));
        chunks.push(head);
        rest = tail;
        if sizes.iter().all(|&s| s == 0) {
            break;
        }
    }
    chunks.push(rest);
    chunks
}

/// Asserts that feeding `chunks` matches the oracle for the whole stream.
pub fn assert_matches_oracle(config: Config, stream: &[u8], chunks: &[&[u8]]) {
    let got = drive(config, chunks.iter().copied());
    let want = oracle(config, stream);
    assert!(
        got == want,
        "{config:?}\nstream  {stream:02X?}\nchunks  {chunks:02X?}\ngot     {:02X?} {:?}\nwant    {:02X?} {:?}",
        got.0,
        got.1,
        want.0,
        want.1
    );
}
