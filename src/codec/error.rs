//! The codec's typed errors.

use core::fmt;

/// The ill-formed bytes that stopped a [`Reject`](crate::InvalidUtf8::Reject)
/// stream: one maximal subpart, so 1 to 3 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvalidSequence {
    bytes: [u8; 3],
    len: u8,
}

impl InvalidSequence {
    /// Copies `bytes` (1 to 3 of them; a maximal subpart is never longer).
    pub(crate) fn new(bytes: &[u8]) -> Self {
        debug_assert!((1..=3).contains(&bytes.len()));
        let mut buf = [0; 3];
        buf[..bytes.len()].copy_from_slice(bytes);
        Self {
            bytes: buf,
            len: bytes.len() as u8,
        }
    }

    /// The offending bytes as they appeared in the stream.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl fmt::Debug for InvalidSequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Hex bytes such as `[C3 28]`.
impl fmt::Display for InvalidSequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, b) in self.as_bytes().iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{b:02X}")?;
        }
        f.write_str("]")
    }
}

/// Why a [`Codec`](crate::Codec) refused a stream.
///
/// Stream errors ([`InvalidUtf8`](Self::InvalidUtf8),
/// [`TruncatedUtf8`](Self::TruncatedUtf8)) are sticky: once `feed` or
/// `finish` returns one, every later call returns the same error and appends
/// nothing, so a caller that misses one cannot go on producing output for a
/// broken stream. [`FedAfterFinish`](Self::FedAfterFinish) reports a misuse
/// and leaves the finished codec as it was (`finish` stays `Ok`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// An ill-formed UTF-8 sequence under [`InvalidUtf8::Reject`](crate::InvalidUtf8::Reject).
    /// Everything before `offset` was uppercased and emitted.
    #[error("invalid UTF-8 at byte offset {offset} of the stream: {sequence}")]
    InvalidUtf8 {
        /// Offset of the first offending byte from the start of the stream.
        offset: u64,
        /// The maximal ill-formed subpart found there.
        sequence: InvalidSequence,
    },
    /// The stream ended inside a UTF-8 sequence under
    /// [`InvalidUtf8::Reject`](crate::InvalidUtf8::Reject).
    #[error("stream ended inside a UTF-8 sequence at byte offset {offset}: {sequence}")]
    TruncatedUtf8 {
        /// Offset of the sequence's first byte from the start of the stream.
        offset: u64,
        /// The bytes of the cut-off sequence.
        sequence: InvalidSequence,
    },
    /// `feed` was called after `finish`: the stream had already ended.
    #[error("input fed after the end of the stream")]
    FedAfterFinish,
}
