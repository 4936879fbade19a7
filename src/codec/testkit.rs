//! Test support: an independent std-only oracle and a checked driver.
//!
//! The oracle never touches the codec's decoder or tables: it is the
//! contract from the crate docs written with `Utf8Chunks`,
//! `String::from_utf8_lossy`, `str::from_utf8` and `to_ascii_uppercase`.

use std::string::String;
use std::vec::Vec;

use bytes::BytesMut;

use crate::{Casing, Codec, CodecError, Config, InvalidUtf8};

/// Every configuration the codec accepts.
pub(crate) const CONFIGS: [Config; 6] = [
    Config::new(Casing::Unicode, InvalidUtf8::PassThrough),
    Config::new(Casing::Unicode, InvalidUtf8::Replace),
    Config::new(Casing::Unicode, InvalidUtf8::Reject),
    Config::new(Casing::Ascii, InvalidUtf8::PassThrough),
    Config::new(Casing::Ascii, InvalidUtf8::Replace),
    Config::new(Casing::Ascii, InvalidUtf8::Reject),
];

/// How a stream ends, as the oracle predicts it (errors as plain data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    Ok,
    Invalid { offset: u64, bytes: Vec<u8> },
    Truncated { offset: u64, bytes: Vec<u8> },
    Other(CodecError),
}

impl From<Result<(), CodecError>> for End {
    fn from(result: Result<(), CodecError>) -> Self {
        match result {
            Ok(()) => End::Ok,
            Err(CodecError::InvalidUtf8 { offset, sequence }) => End::Invalid {
                offset,
                bytes: sequence.as_bytes().to_vec(),
            },
            Err(CodecError::TruncatedUtf8 { offset, sequence }) => End::Truncated {
                offset,
                bytes: sequence.as_bytes().to_vec(),
            },
            Err(other) => End::Other(other),
        }
    }
}

/// The whole output and ending of `stream` under `config`, computed in one
/// shot with std alone.
pub(crate) fn oracle(config: Config, stream: &[u8]) -> (Vec<u8>, End) {
    if config.casing == Casing::Ascii {
        return (stream.to_ascii_uppercase(), End::Ok);
    }
    match config.invalid {
        InvalidUtf8::PassThrough => {
            let mut out = Vec::new();
            for chunk in stream.utf8_chunks() {
                out.extend_from_slice(chunk.valid().to_uppercase().as_bytes());
                out.extend_from_slice(chunk.invalid());
            }
            (out, End::Ok)
        }
        InvalidUtf8::Replace => (
            String::from_utf8_lossy(stream).to_uppercase().into_bytes(),
            End::Ok,
        ),
        InvalidUtf8::Reject => match core::str::from_utf8(stream) {
            Ok(s) => (s.to_uppercase().into_bytes(), End::Ok),
            Err(e) => {
                let valid = e.valid_up_to();
                let prefix = core::str::from_utf8(&stream[..valid]).unwrap();
                let out = prefix.to_uppercase().into_bytes();
                let offset = valid as u64;
                let end = match e.error_len() {
                    Some(len) => End::Invalid {
                        offset,
                        bytes: stream[valid..valid + len].to_vec(),
                    },
                    None => End::Truncated {
                        offset,
                        bytes: stream[valid..].to_vec(),
                    },
                };
                (out, end)
            }
        },
    }
}

/// Feeds `chunks` then finishes, checking on every call the invariants that
/// hold whatever the input: `pending_len() <= 3` (0 for ASCII and after an
/// error), `position()` counting every byte fed, output per
/// call within `max_output_len`, errors sticky and appending nothing,
/// `finish` idempotent and feeding after it refused.
pub(crate) fn drive<'a>(
    config: Config,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> (Vec<u8>, End) {
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
    let end = End::from(result.clone());
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
pub(crate) fn split_at<'a>(stream: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
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
pub(crate) fn split_sizes<'a>(stream: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
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
pub(crate) fn assert_matches_oracle(config: Config, stream: &[u8], chunks: &[&[u8]]) {
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
