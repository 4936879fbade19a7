//! `cargo +nightly fuzz run proxy_header`: upcase's sans-IO PROXY protocol
//! header parser (`upcase::proxy::ProxyParser`) on arbitrary streams.
//!
//! Input layout: the first byte seeds the chunking, the rest is the stream
//! (the first bytes of a connection). Every input is checked for:
//!
//! * the per-call contract: `NeedMore` takes the whole chunk, `Done` takes
//!   1..=chunk bytes and ends exactly at `header.len()`, errors are sticky,
//!   feeding after `Done` is an error, nothing is decided past 536 bytes,
//!   `finish` rejects a partial header;
//! * chunking independence: one piece, seeded pieces and byte by byte give
//!   the same header ending at the same offset, or the same error at the
//!   same offset;
//! * agreement with `reference` below, a one-shot parser written straight
//!   from the specification's wording (and its sample code's structure),
//!   sharing no code with the parser under test.
//!
//! Self-contained on purpose: the shared helpers in `fuzz/src/` belong to
//! the codec targets.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use libfuzzer_sys::fuzz_target;
use upcase::proxy::{Command, Progress, ProxyError, ProxyHeader, ProxyParser, MAX_HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    let Some((&seed, stream)) = data.split_first() else {
        return;
    };
    let whole = drive(stream, |_| usize::MAX);
    let mut rng = u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let seeded = drive(stream, |_| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        // Mostly small pieces, sometimes empty ones.
        (rng % 24) as usize
    });
    let bytewise = drive(stream, |_| 1);
    assert_eq!(whole, seeded, "seeded chunking differs from one piece");
    assert_eq!(whole, bytewise, "byte-by-byte differs from one piece");

    let expected = reference(stream);
    match (&whole, &expected) {
        (
            Outcome::Done { header, end },
            Reference::Done {
                len,
                source,
                command,
            },
        ) => {
            assert_eq!(
                (*end, header.source(), header.command()),
                (*len, *source, *command)
            );
        }
        (Outcome::Failed { .. }, Reference::Invalid) => {}
        (Outcome::NeedMore { .. }, Reference::NeedMore) => {}
        _ => panic!("parser: {whole:?}, reference: {expected:?}"),
    }
});

/// How feeding a stream ended (chunking-independent).
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Done { header: ProxyHeader, end: usize },
    Failed { error: ProxyError, position: usize },
    NeedMore { position: usize },
}

/// Feeds `stream` in pieces of `next_len()` bytes, checking each call.
fn drive(stream: &[u8], mut next_len: impl FnMut(usize) -> usize) -> Outcome {
    let mut parser = ProxyParser::new();
    let mut start: usize = 0;
    loop {
        let end = start.saturating_add(next_len(start)).min(stream.len());
        let chunk = &stream[start..end];
        match parser.feed(chunk) {
            Ok(Progress::NeedMore) => {
                assert_eq!(parser.position(), end, "NeedMore must take the whole chunk");
                assert!(end < MAX_HEADER_LEN, "undecided after {end} bytes");
            }
            Ok(Progress::Done { header, consumed }) => {
                assert!(
                    (1..=chunk.len()).contains(&consumed),
                    "consumed {consumed} of {}",
                    chunk.len()
                );
                assert_eq!(start + consumed, header.len(), "header ends off its length");
                assert!(header.len() <= MAX_HEADER_LEN);
                assert!(parser.is_done());
                assert_eq!(parser.feed(b"more"), Err(ProxyError::FedAfterHeader));
                assert_eq!(parser.finish(), Ok(()));
                return Outcome::Done {
                    header,
                    end: start + consumed,
                };
            }
            Err(error) => {
                let position = parser.position();
                assert!(
                    position >= start && position < end,
                    "error outside the chunk"
                );
                assert_eq!(parser.feed(b"PROXY "), Err(error), "errors must be sticky");
                assert_eq!(parser.finish(), Err(error), "errors must be sticky");
                let _ = error.to_string();
                return Outcome::Failed { error, position };
            }
        }
        if end == stream.len() {
            // The peer closing here leaves a partial header: rejected.
            assert_eq!(parser.finish(), Err(ProxyError::Truncated { len: end }));
            return Outcome::NeedMore { position: end };
        }
        start = end;
    }
}

/// What the specification says about a stream's first bytes.
#[derive(Debug)]
enum Reference {
    Done {
        len: usize,
        source: Option<SocketAddr>,
        command: Command,
    },
    Invalid,
    NeedMore,
}

const SIG: &[u8; 12] = b"\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A";

/// A one-shot reading of the specification: invalid as soon as the bytes
/// present already break a rule, "need more" if they are a valid prefix.
fn reference(data: &[u8]) -> Reference {
    match data.first() {
        None => Reference::NeedMore,
        Some(0x0D) => reference_v2(data),
        Some(b'P') => reference_v1(data),
        Some(_) => Reference::Invalid,
    }
}

fn reference_v2(data: &[u8]) -> Reference {
    let n = data.len().min(12);
    if data[..n] != SIG[..n] {
        return Reference::Invalid;
    }
    let Some(&ver_cmd) = data.get(12) else {
        return Reference::NeedMore;
    };
    if ver_cmd & 0xF0 != 0x20 || !matches!(ver_cmd & 0x0F, 0 | 1) {
        return Reference::Invalid;
    }
    let local = ver_cmd & 0x0F == 0;
    let Some(&fam) = data.get(13) else {
        return Reference::NeedMore;
    };
    let block = match fam {
        _ if local => 0,
        0x00 => 0,
        0x11 | 0x12 => 12,
        0x21 | 0x22 => 36,
        0x31 | 0x32 => 216,
        _ => return Reference::Invalid,
    };
    if data.len() < 16 {
        return Reference::NeedMore;
    }
    let len = usize::from(data[14]) << 8 | usize::from(data[15]);
    let size = 16 + len;
    if size > 536 || len < block {
        return Reference::Invalid;
    }
    if data.len() < size {
        return Reference::NeedMore;
    }
    let a = &data[16..];
    let source = match (local, fam) {
        (false, 0x11) => Some(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3])),
            u16::from(a[8]) << 8 | u16::from(a[9]),
        )),
        (false, 0x21) => {
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&a[..16]);
            Some(SocketAddr::new(
                IpAddr::V6(Ipv6Addr::from(ip)),
                u16::from(a[32]) << 8 | u16::from(a[33]),
            ))
        }
        _ => None,
    };
    let command = if local {
        Command::Local
    } else {
        Command::Proxy
    };
    Reference::Done {
        len: size,
        source,
        command,
    }
}

fn reference_v1(data: &[u8]) -> Reference {
    let n = data.len().min(6);
    if data[..n] != b"PROXY "[..n] {
        return Reference::Invalid;
    }
    // The line must end with CRLF within the first 107 bytes, and a CR or
    // LF anywhere else is invalid.
    let window = &data[..data.len().min(107)];
    let Some(i) = window
        .iter()
        .skip(6)
        .position(|&b| b == b'\r' || b == b'\n')
        .map(|i| i + 6)
    else {
        return if data.len() >= 107 {
            Reference::Invalid
        } else {
            Reference::NeedMore
        };
    };
    if data[i] == b'\n' || i == 106 {
        return Reference::Invalid;
    }
    match data.get(i + 1) {
        None => return Reference::NeedMore,
        Some(b'\n') => {}
        Some(_) => return Reference::Invalid,
    }
    let Ok(line) = std::str::from_utf8(&data[6..i]) else {
        // Only UNKNOWN may carry arbitrary bytes.
        return if data[6..i].starts_with(b"UNKNOWN")
            && matches!(data.get(13), Some(b' ') | Some(b'\r'))
        {
            Reference::Done {
                len: i + 2,
                source: None,
                command: Command::Proxy,
            }
        } else {
            Reference::Invalid
        };
    };
    if line == "UNKNOWN" || line.starts_with("UNKNOWN ") {
        return Reference::Done {
            len: i + 2,
            source: None,
            command: Command::Proxy,
        };
    }
    let parts: Vec<&str> = line.split(' ').collect();
    let [proto, src, _dst, sport, dport] = parts[..] else {
        return Reference::Invalid;
    };
    let dst = parts[2];
    let ip = |text: &str| -> Option<IpAddr> {
        match proto {
            "TCP4" => text.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
            "TCP6" => text.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
            _ => None,
        }
    };
    let port = |text: &str| -> Option<u16> {
        let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        let no_leading_zero = text == "0" || !text.starts_with('0');
        if digits && no_leading_zero {
            text.parse().ok()
        } else {
            None
        }
    };
    match (ip(src), ip(dst), port(sport), port(dport)) {
        (Some(s), Some(_), Some(p), Some(_)) => Reference::Done {
            len: i + 2,
            source: Some(SocketAddr::new(s, p)),
            command: Command::Proxy,
        },
        _ => Reference::Invalid,
    }
}
