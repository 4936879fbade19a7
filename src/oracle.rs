//! The reference: what a [`Codec`](crate::Codec) must produce, computed with
//! std alone (feature `oracle`).
//!
//! Nothing here touches the codec's decoder, tables or block path: it is the
//! contract from the [crate docs](crate) written with `Utf8Chunks`,
//! `String::from_utf8_lossy`, `str::from_utf8` and `to_ascii_uppercase`. It is
//! the one oracle of the project: the unit and property tests, the fuzz
//! targets, the shell's integration tests and `upcase bench`'s check of every
//! reply byte all compare against it. It allocates freely and is slow; it is
//! for checking, not for serving.
//!
//! ```
//! use upcase::oracle::{uppercase, Expected};
//! use upcase::{Casing, Config, InvalidUtf8};
//!
//! let reject = Config::new(Casing::Unicode, InvalidUtf8::Reject);
//! let (out, end) = uppercase(reject, b"stra\xC3\x9Fe \xFF!");
//! assert_eq!(out, b"STRASSE ");
//! assert_eq!(end, Err(Expected::Invalid { offset: 8, sequence: vec![0xFF] }));
//! ```

use std::fmt;
use std::string::{String, ToString};
use std::vec::Vec;

use crate::{Casing, CodecError, Config, InvalidUtf8};

/// Every configuration the codec accepts.
pub const CONFIGS: [Config; 6] = [
    Config::new(Casing::Unicode, InvalidUtf8::PassThrough),
    Config::new(Casing::Unicode, InvalidUtf8::Replace),
    Config::new(Casing::Unicode, InvalidUtf8::Reject),
    Config::new(Casing::Ascii, InvalidUtf8::PassThrough),
    Config::new(Casing::Ascii, InvalidUtf8::Replace),
    Config::new(Casing::Ascii, InvalidUtf8::Reject),
];

/// U+FFFD as UTF-8: what [`InvalidUtf8::Replace`] puts in place of each
/// maximal ill-formed subpart.
const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// An error as the contract describes it: plain data, comparable with what
/// a codec returned through [`Expected::of`].
#[derive(Clone, PartialEq, Eq)]
pub enum Expected {
    /// [`CodecError::InvalidUtf8`] with this offset and sequence.
    Invalid {
        /// Stream offset of the first offending byte.
        offset: u64,
        /// The maximal ill-formed subpart.
        sequence: Vec<u8>,
    },
    /// [`CodecError::TruncatedUtf8`] with this offset and sequence.
    Truncated {
        /// Stream offset of the cut-off sequence.
        offset: u64,
        /// Its bytes.
        sequence: Vec<u8>,
    },
    /// [`CodecError::FedAfterFinish`].
    FedAfterFinish,
}

impl Expected {
    /// Reads a codec error into the comparable form.
    pub fn of(err: &CodecError) -> Self {
        match err {
            CodecError::InvalidUtf8 { offset, sequence } => Self::Invalid {
                offset: *offset,
                sequence: sequence.as_bytes().to_vec(),
            },
            CodecError::TruncatedUtf8 { offset, sequence } => Self::Truncated {
                offset: *offset,
                sequence: sequence.as_bytes().to_vec(),
            },
            CodecError::FedAfterFinish => Self::FedAfterFinish,
        }
    }

    /// [`Expected::of`] over a whole result.
    pub fn of_result(result: &Result<(), CodecError>) -> Result<(), Self> {
        result.as_ref().map(|_| ()).map_err(Self::of)
    }

    /// The stream offset the error names, if it names one.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Self::Invalid { offset, .. } | Self::Truncated { offset, .. } => Some(*offset),
            Self::FedAfterFinish => None,
        }
    }
}

/// Like the codec's own `Debug`, sequences as byte literals:
/// `Invalid { offset: 3, sequence: b"\xe2\x82" }`.
impl fmt::Debug for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid { offset, sequence } => f
                .debug_struct("Invalid")
                .field("offset", offset)
                .field("sequence", &Lit(sequence))
                .finish(),
            Self::Truncated { offset, sequence } => f
                .debug_struct("Truncated")
                .field("offset", offset)
                .field("sequence", &Lit(sequence))
                .finish(),
            Self::FedAfterFinish => f.write_str("FedAfterFinish"),
        }
    }
}

/// The whole output of feeding all of `stream` and finishing, and how the
/// stream ends. Under [`InvalidUtf8::Reject`] the output is the uppercase of
/// the valid prefix.
pub fn uppercase(config: Config, stream: &[u8]) -> (Vec<u8>, Result<(), Expected>) {
    if config.casing == Casing::Ascii {
        return (stream.to_ascii_uppercase(), Ok(()));
    }
    match config.invalid {
        InvalidUtf8::PassThrough => {
            let mut out = Vec::with_capacity(stream.len());
            for chunk in stream.utf8_chunks() {
                out.extend_from_slice(chunk.valid().to_uppercase().as_bytes());
                out.extend_from_slice(chunk.invalid());
            }
            (out, Ok(()))
        }
        InvalidUtf8::Replace => (
            String::from_utf8_lossy(stream).to_uppercase().into_bytes(),
            Ok(()),
        ),
        InvalidUtf8::Reject => match core::str::from_utf8(stream) {
            Ok(all) => (all.to_uppercase().into_bytes(), Ok(())),
            Err(e) => {
                let valid = e.valid_up_to();
                let out = upper_valid(&stream[..valid]);
                let offset = valid as u64;
                let err = match e.error_len() {
                    Some(len) => Expected::Invalid {
                        offset,
                        sequence: stream[valid..valid + len].to_vec(),
                    },
                    None => Expected::Truncated {
                        offset,
                        sequence: stream[valid..].to_vec(),
                    },
                };
                (out, Err(err))
            }
        },
    }
}

/// Whether `stream` makes a codec with `config` fail (only
/// [`InvalidUtf8::Reject`] under [`Casing::Unicode`] ever does).
pub fn rejects(config: Config, stream: &[u8]) -> bool {
    config.casing == Casing::Unicode
        && config.invalid == InvalidUtf8::Reject
        && core::str::from_utf8(stream).is_err()
}

/// `Codec::max_output_len` as its docs define it: `3 * (n + 3)` under
/// Unicode, `n` under ASCII, saturating.
pub fn max_output_len(config: Config, input_len: usize) -> usize {
    match config.casing {
        Casing::Ascii => input_len,
        Casing::Unicode => input_len.saturating_add(3).saturating_mul(3),
    }
}

fn upper_valid(bytes: &[u8]) -> Vec<u8> {
    core::str::from_utf8(bytes)
        .expect("valid by construction")
        .to_uppercase()
        .into_bytes()
}

/// What a codec must do with the undecided part of its stream: see [`step`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Step {
    /// Exactly the bytes to append.
    pub out: Vec<u8>,
    /// How many bytes of the segment become decided (the rest is held).
    pub consumed: usize,
    /// The error to return, if any.
    pub error: Option<Expected>,
}

/// The incremental oracle under [`Casing::Unicode`]: `seg` is everything fed
/// since the codec's last sequence boundary, `base` its stream offset.
/// Before the end of the stream an incomplete well-formed tail is held and
/// nothing else; at the end it is treated as the policy says. Built on
/// `str::from_utf8`, whose `error_len` is `None` exactly for a cut-off
/// well-formed prefix.
pub fn step(policy: InvalidUtf8, seg: &[u8], base: u64, end_of_stream: bool) -> Step {
    let mut st = Step::default();
    let mut rest = seg;
    loop {
        let e = match core::str::from_utf8(rest) {
            Ok(valid) => {
                st.out.extend_from_slice(valid.to_uppercase().as_bytes());
                st.consumed += rest.len();
                return st;
            }
            Err(e) => e,
        };
        let v = e.valid_up_to();
        st.out.extend_from_slice(&upper_valid(&rest[..v]));
        st.consumed += v;
        let bad = match e.error_len() {
            Some(len) => &rest[v..v + len],
            None if end_of_stream => &rest[v..],
            None => return st, // held: at most 3 bytes, std guarantees
        };
        match policy {
            InvalidUtf8::PassThrough => st.out.extend_from_slice(bad),
            InvalidUtf8::Replace => st.out.extend_from_slice(REPLACEMENT),
            InvalidUtf8::Reject => {
                let offset = base + st.consumed as u64;
                let sequence = bad.to_vec();
                st.error = Some(match e.error_len() {
                    Some(_) => Expected::Invalid { offset, sequence },
                    None => Expected::Truncated { offset, sequence },
                });
                return st;
            }
        }
        st.consumed += bad.len();
        rest = &rest[v + bad.len()..];
    }
}

/// A PROXY protocol v1 header for a TCP connection from `source` to
/// `destination`, as HAProxy's `send-proxy` writes it, built with `format!`
/// from the specification's grammar (independent of [`crate::proxy`]).
pub fn proxy_v1(source: core::net::SocketAddr, destination: core::net::SocketAddr) -> Vec<u8> {
    let protocol = if source.is_ipv4() { "TCP4" } else { "TCP6" };
    std::format!(
        "PROXY {protocol} {} {} {} {}\r\n",
        source.ip(),
        destination.ip(),
        source.port(),
        destination.port()
    )
    .into_bytes()
}

/// Bytes shown as a Rust byte-string literal, shortened past 512 bytes.
pub struct Lit<'a>(pub &'a [u8]);

impl fmt::Display for Lit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 512;
        let b = self.0;
        if b.len() <= MAX {
            return write!(f, "b\"{}\"", b.escape_ascii());
        }
        write!(
            f,
            "b\"{}\" ... ({} bytes) ... b\"{}\"",
            b[..MAX / 2].escape_ascii(),
            b.len() - MAX,
            b[b.len() - MAX / 2..].escape_ascii()
        )
    }
}

impl fmt::Debug for Lit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The first offset where `expected` and `actual` differ (the shorter
/// length if one is a prefix of the other), or `None` if they are equal.
pub fn first_difference(expected: &[u8], actual: &[u8]) -> Option<usize> {
    if expected == actual {
        return None;
    }
    Some(
        expected
            .iter()
            .zip(actual)
            .position(|(e, a)| e != a)
            .unwrap_or(expected.len().min(actual.len())),
    )
}

/// A short diff: lengths, the first differing offset, and both sides around
/// it, for test and fuzz reports.
pub fn diff(expected: &[u8], actual: &[u8]) -> String {
    let Some(at) = first_difference(expected, actual) else {
        return "  identical".to_string();
    };
    let from = at.saturating_sub(16);
    let window = |b: &[u8]| Lit(&b[from.min(b.len())..(at + 24).min(b.len())]).to_string();
    format!(
        "  expected {} bytes, got {}; first difference at output offset {at}\n  expected[{from}..]: {}\n  actual  [{from}..]: {}",
        expected.len(),
        actual.len(),
        window(expected),
        window(actual)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // The oracle's own sanity, checked against literal text the Unicode
    // standard fixes (not against the codec).
    #[test]
    fn policies_differ_only_on_ill_formed_input() {
        let text = "straße ǆ ΐ".as_bytes();
        for config in CONFIGS {
            let (out, end) = uppercase(config, text);
            assert_eq!(end, Ok(()));
            let want = match config.casing {
                Casing::Unicode => "STRASSE \u{1C4} \u{399}\u{308}\u{301}".as_bytes().to_vec(),
                Casing::Ascii => text.to_ascii_uppercase(),
            };
            assert_eq!(out, want, "{config:?}");
        }
    }

    #[test]
    fn step_holds_only_a_cut_off_tail() {
        let st = step(InvalidUtf8::Reject, b"a\xE2\x82", 10, false);
        assert_eq!((st.out, st.consumed, st.error), (b"A".to_vec(), 1, None));
        let st = step(InvalidUtf8::Reject, b"a\xE2\x82", 10, true);
        assert_eq!(
            st.error,
            Some(Expected::Truncated {
                offset: 11,
                sequence: vec![0xE2, 0x82]
            })
        );
        let st = step(InvalidUtf8::Replace, b"\xFFb", 0, false);
        assert_eq!((st.out, st.consumed), ("\u{FFFD}B".as_bytes().to_vec(), 2));
    }

    #[test]
    fn diff_names_the_first_difference() {
        assert_eq!(first_difference(b"abc", b"abc"), None);
        assert_eq!(first_difference(b"abc", b"abd"), Some(2));
        assert_eq!(first_difference(b"abc", b"ab"), Some(2));
        assert!(diff(b"abc", b"abd").contains("offset 2"));
    }
}
