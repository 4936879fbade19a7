//! Test helpers: header encoders written from the specification, and a
//! driver that feeds a stream in given pieces and reports a
//! chunking-independent outcome.

use std::vec::Vec;

use core::net::SocketAddr;

use super::{Progress, ProxyError, ProxyHeader, ProxyParser, V2_SIGNATURE};

pub use crate::oracle::proxy_v1 as v1;

/// A v2 header: `ver_cmd`, `family`, the address block and TLV bytes as
/// given; the length field covers both.
pub fn v2(ver_cmd: u8, family: u8, addresses: &[u8], tlvs: &[u8]) -> Vec<u8> {
    let mut out = V2_SIGNATURE.to_vec();
    out.push(ver_cmd);
    out.push(family);
    let len = u16::try_from(addresses.len() + tlvs.len()).unwrap();
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(addresses);
    out.extend_from_slice(tlvs);
    out
}

/// The v2 address block for two IP socket addresses of one family.
pub fn v2_addresses(source: SocketAddr, destination: SocketAddr) -> Vec<u8> {
    let mut out = Vec::new();
    for addr in [source, destination] {
        match addr {
            SocketAddr::V4(a) => out.extend_from_slice(&a.ip().octets()),
            SocketAddr::V6(a) => out.extend_from_slice(&a.ip().octets()),
        }
    }
    out.extend_from_slice(&source.port().to_be_bytes());
    out.extend_from_slice(&destination.port().to_be_bytes());
    out
}

/// A v2 PROXY header for TCP between two IP addresses of one family.
pub fn v2_tcp(source: SocketAddr, destination: SocketAddr, tlvs: &[u8]) -> Vec<u8> {
    let family = if source.is_ipv4() { 0x11 } else { 0x21 };
    v2(0x21, family, &v2_addresses(source, destination), tlvs)
}

/// How a stream fed to a parser ended, whatever the chunking: the header
/// and the stream offset just past it, or the error and the number of
/// header bytes taken before it, or still waiting after `position` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done { header: ProxyHeader, end: usize },
    Failed { error: ProxyError, position: usize },
    NeedMore { position: usize },
}

/// Feeds `stream` cut at `cuts` (sorted offsets) and checks the per-call
/// rules on the way: `consumed` within the chunk, nothing fed after the end.
pub fn drive(stream: &[u8], cuts: &[usize]) -> Outcome {
    let mut parser = ProxyParser::new();
    let mut start = 0;
    let ends = cuts
        .iter()
        .copied()
        .filter(|&c| c <= stream.len())
        .chain([stream.len()]);
    for end in ends {
        let end = end.max(start);
        let chunk = &stream[start..end];
        match parser.feed(chunk) {
            Ok(Progress::NeedMore) => {
                assert_eq!(parser.position(), end, "NeedMore took less than the chunk")
            }
            Ok(Progress::Done { header, consumed }) => {
                assert!(
                    consumed >= 1 && consumed <= chunk.len(),
                    "consumed {consumed} of {}",
                    chunk.len()
                );
                assert_eq!(
                    start + consumed,
                    header.len(),
                    "header length != stream offset"
                );
                assert_eq!(parser.position(), header.len());
                assert!(parser.is_done());
                assert_eq!(parser.feed(b"x"), Err(ProxyError::FedAfterHeader));
                return Outcome::Done {
                    header,
                    end: start + consumed,
                };
            }
            Err(error) => {
                // Sticky, and nothing past the offending byte was taken.
                assert_eq!(parser.feed(b"PROXY"), Err(error));
                assert!(parser.position() < end);
                return Outcome::Failed {
                    error,
                    position: parser.position(),
                };
            }
        }
        start = end;
    }
    Outcome::NeedMore {
        position: parser.position(),
    }
}

/// The outcome of feeding `stream` in one piece.
pub fn one_shot(stream: &[u8]) -> Outcome {
    drive(stream, &[])
}

/// The outcome of feeding `stream` one byte at a time.
pub fn bytewise(stream: &[u8]) -> Outcome {
    let cuts: Vec<usize> = (1..stream.len()).collect();
    drive(stream, &cuts)
}

/// Asserts that every single cut, and byte-at-a-time feeding, give the
/// one-shot outcome; returns it.
#[track_caller]
pub fn assert_all_splits(stream: &[u8]) -> Outcome {
    let want = one_shot(stream);
    for cut in 0..=stream.len() {
        assert_eq!(drive(stream, &[cut]), want, "cut at {cut} of {:?}", stream);
    }
    assert_eq!(bytewise(stream), want, "byte by byte: {:?}", stream);
    want
}
