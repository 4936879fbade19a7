//! One step of a strict UTF-8 decoder (Unicode Standard, table 3-7).
//!
//! [`decode`] looks at the start of a byte slice and says whether it begins
//! with a whole scalar value, an ill-formed *maximal subpart* (the longest
//! prefix of a would-be sequence, or one byte when no sequence starts there),
//! or a well-formed but cut-off prefix that needs more bytes. This matches
//! std's `Utf8Chunks` and `String::from_utf8_lossy` exactly, which is what
//! makes one U+FFFD per maximal subpart come out right.

/// What the bytes at the start of a slice are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// A well-formed sequence of `len` bytes encoding `scalar`.
    Char { scalar: u32, len: usize },
    /// An ill-formed maximal subpart of `len` (1..=3) bytes.
    Invalid { len: usize },
    /// A well-formed prefix (1..=3 bytes, the whole slice) that needs more input.
    Incomplete,
}

/// Decodes the sequence at the start of `bytes`, which must not be empty.
#[inline(always)]
pub(crate) fn decode(bytes: &[u8]) -> Step {
    if let Some(&four) = bytes.first_chunk::<4>() {
        if let Some((scalar, len)) = decode_long(four) {
            return Step::Char { scalar, len };
        }
    }
    decode_slow(bytes)
}

/// The fast path for whole, well-formed 3- and 4-byte sequences at the
/// start of `bytes`: the scalar and the sequence's length, or `None` for
/// anything else (which [`decode`] then reads byte by byte).
///
/// The scalar is assembled first, then one range check rejects overlongs,
/// surrogates and values past U+10FFFF.
#[inline(always)]
pub(crate) fn decode_long(bytes: [u8; 4]) -> Option<(u32, usize)> {
    match bytes {
        [lead @ 0xE0..=0xEF, a, b, _] if is_cont(a) && is_cont(b) => {
            let scalar =
                (u32::from(lead & 0x0F) << 12) | (u32::from(a & 0x3F) << 6) | u32::from(b & 0x3F);
            (scalar >= 0x800 && !(0xD800..=0xDFFF).contains(&scalar)).then_some((scalar, 3))
        }
        [lead @ 0xF0..=0xF4, a, b, c] if is_cont(a) && is_cont(b) && is_cont(c) => {
            let scalar = (u32::from(lead & 0x07) << 18)
                | (u32::from(a & 0x3F) << 12)
                | (u32::from(b & 0x3F) << 6)
                | u32::from(c & 0x3F);
            (0x1_0000..=0x10_FFFF)
                .contains(&scalar)
                .then_some((scalar, 4))
        }
        _ => None,
    }
}

#[inline(always)]
fn is_cont(byte: u8) -> bool {
    byte & 0xC0 == 0x80
}

/// Byte by byte, as table 3-7 of the Unicode Standard reads.
#[inline(never)]
fn decode_slow(bytes: &[u8]) -> Step {
    let lead = bytes[0];
    // Sequence length, the allowed range of the second byte, and the lead's payload.
    let (len, second_lo, second_hi, payload) = match lead {
        0x00..=0x7F => {
            return Step::Char {
                scalar: u32::from(lead),
                len: 1,
            }
        }
        0xC2..=0xDF => (2, 0x80, 0xBF, lead & 0x1F),
        0xE0 => (3, 0xA0, 0xBF, lead & 0x0F), // no overlongs
        0xED => (3, 0x80, 0x9F, lead & 0x0F), // no surrogates
        0xE1..=0xEF => (3, 0x80, 0xBF, lead & 0x0F),
        0xF0 => (4, 0x90, 0xBF, lead & 0x07), // no overlongs
        0xF4 => (4, 0x80, 0x8F, lead & 0x07), // nothing above U+10FFFF
        0xF1..=0xF3 => (4, 0x80, 0xBF, lead & 0x07),
        // Continuation bytes, C0/C1 (always overlong) and F5..FF start nothing.
        _ => return Step::Invalid { len: 1 },
    };
    let mut scalar = u32::from(payload);
    for k in 1..len {
        let Some(&byte) = bytes.get(k) else {
            return Step::Incomplete;
        };
        let (lo, hi) = if k == 1 {
            (second_lo, second_hi)
        } else {
            (0x80, 0xBF)
        };
        if !(lo..=hi).contains(&byte) {
            return Step::Invalid { len: k };
        }
        scalar = (scalar << 6) | u32::from(byte & 0x3F);
    }
    Step::Char { scalar, len }
}
