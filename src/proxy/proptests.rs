//! Property tests: generated valid headers of both versions followed by
//! payload, arbitrary and mutated streams, any chunking. Failures persist
//! under the top-level `proptest-regressions/`.

use std::vec::Vec;

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use proptest::prelude::*;

use super::testkit::{bytewise, drive, one_shot, v1, v2, v2_addresses, v2_tcp, Outcome};
use super::*;

fn socket_pair() -> impl Strategy<Value = (SocketAddr, SocketAddr)> {
    let v4 = (
        any::<[u8; 4]>(),
        any::<u16>(),
        any::<[u8; 4]>(),
        any::<u16>(),
    )
        .prop_map(|(a, p, b, q)| {
            (
                SocketAddr::new(IpAddr::V4(Ipv4Addr::from(a)), p),
                SocketAddr::new(IpAddr::V4(Ipv4Addr::from(b)), q),
            )
        });
    let v6 = (
        any::<[u8; 16]>(),
        any::<u16>(),
        any::<[u8; 16]>(),
        any::<u16>(),
    )
        .prop_map(|(a, p, b, q)| {
            (
                SocketAddr::new(IpAddr::V6(Ipv6Addr::from(a)), p),
                SocketAddr::new(IpAddr::V6(Ipv6Addr::from(b)), q),
            )
        });
    prop_oneof![v4, v6]
}

/// A valid header and what it must parse to: the client address it names
/// (if any) and its length.
#[derive(Debug, Clone)]
struct Valid {
    bytes: Vec<u8>,
    source: Option<SocketAddr>,
    command: Command,
}

fn valid_header() -> impl Strategy<Value = Valid> {
    let v1_tcp = socket_pair().prop_map(|(s, d)| Valid {
        bytes: v1(s, d),
        source: Some(s),
        command: Command::Proxy,
    });
    let v1_unknown =
        proptest::collection::vec(0x20u8..0x7F, 0..=(V1_MAX_LEN - 16)).prop_map(|rest| {
            let mut bytes = b"PROXY UNKNOWN".to_vec();
            if !rest.is_empty() {
                bytes.push(b' ');
                bytes.extend_from_slice(&rest[1..]);
            }
            bytes.extend_from_slice(b"\r\n");
            Valid {
                bytes,
                source: None,
                command: Command::Proxy,
            }
        });
    let v2_tcp_tlvs = (
        socket_pair(),
        proptest::collection::vec(any::<u8>(), 0..=(V2_MAX_LEN - 52)),
    )
        .prop_map(|((s, d), tlvs)| Valid {
            bytes: v2_tcp(s, d, &tlvs),
            source: Some(s),
            command: Command::Proxy,
        });
    let v2_local = (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..=64)).prop_map(
        |(family, block)| Valid {
            bytes: v2(0x20, family, &block, b""),
            source: None,
            command: Command::Local,
        },
    );
    let v2_udp_or_unspec = (socket_pair(), any::<bool>()).prop_map(|((s, d), udp)| {
        let (family, block) = if udp {
            (if s.is_ipv4() { 0x12 } else { 0x22 }, v2_addresses(s, d))
        } else {
            (0x00, Vec::new())
        };
        Valid {
            bytes: v2(0x21, family, &block, b""),
            source: None,
            command: Command::Proxy,
        }
    });
    prop_oneof![v1_tcp, v1_unknown, v2_tcp_tlvs, v2_local, v2_udp_or_unspec]
}

/// Sorted cut positions within `0..=len`.
fn cuts(max_cuts: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0usize..700, 0..=max_cuts).prop_map(|mut c| {
        c.sort_unstable();
        c
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    /// Any valid header, then any payload, in any chunking: the header is
    /// recognised, ends exactly where it should, and names the right client.
    #[test]
    fn valid_headers_parse_the_same_in_any_chunking(
        valid in valid_header(),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
        cuts in cuts(8),
    ) {
        let mut stream = valid.bytes.clone();
        stream.extend_from_slice(&payload);
        let got = drive(&stream, &cuts);
        let Outcome::Done { header, end } = got else {
            return Err(TestCaseError::fail(std::format!("{got:?} for {:?}", valid.bytes)));
        };
        prop_assert_eq!(end, valid.bytes.len());
        prop_assert_eq!(header.len(), valid.bytes.len());
        prop_assert_eq!(header.source(), valid.source);
        prop_assert_eq!(header.command(), valid.command);
        prop_assert_eq!(bytewise(&stream), got);
    }

    /// Every strict prefix of a valid header is "need more", never an
    /// error or an early end.
    #[test]
    fn prefixes_of_valid_headers_wait(valid in valid_header(), cut in any::<prop::sample::Index>()) {
        let len = cut.index(valid.bytes.len());
        prop_assert_eq!(one_shot(&valid.bytes[..len]), Outcome::NeedMore { position: len });
    }

    /// Arbitrary bytes: any two chunkings agree (same header and end, or the
    /// same error at the same byte), and the parser decides within the limit.
    #[test]
    fn arbitrary_streams_are_chunking_independent(
        stream in proptest::collection::vec(any::<u8>(), 0..700),
        cuts in cuts(6),
    ) {
        let want = one_shot(&stream);
        prop_assert_eq!(drive(&stream, &cuts), want.clone());
        if let Outcome::NeedMore { position } = want {
            prop_assert!(position < MAX_HEADER_LEN && position == stream.len());
        }
    }

    /// Valid headers with one byte changed, or with bytes inserted or
    /// removed, stay chunking-independent, and a result that is still a
    /// header never ends past the bytes fed.
    #[test]
    fn mutated_headers_are_chunking_independent(
        valid in valid_header(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        kind in 0u8..3,
        cuts in cuts(6),
    ) {
        let mut stream = valid.bytes.clone();
        let i = at.index(stream.len());
        match kind {
            0 => stream[i] = byte,
            1 => stream.insert(i, byte),
            _ => { stream.remove(i); }
        }
        let want = one_shot(&stream);
        prop_assert_eq!(drive(&stream, &cuts), want.clone());
        prop_assert_eq!(bytewise(&stream), want.clone());
        if let Outcome::Done { end, .. } = want {
            prop_assert!(end <= stream.len());
        }
    }

    /// Printable junk after `PROXY `: never a panic, always decided within
    /// 107 bytes once a line end or the limit is reached.
    #[test]
    fn v1_junk_is_decided_within_the_line_limit(
        body in proptest::collection::vec(prop::sample::select(b" 0123456789.:abcdefTCPUNKOW46\r\n".to_vec()), 0..160),
    ) {
        let mut stream = b"PROXY ".to_vec();
        stream.extend_from_slice(&body);
        match one_shot(&stream) {
            Outcome::Done { end, .. } => prop_assert!(end <= V1_MAX_LEN),
            Outcome::Failed { position, .. } => prop_assert!(position < V1_MAX_LEN),
            Outcome::NeedMore { position } => prop_assert!(position < V1_MAX_LEN),
        }
        prop_assert_eq!(bytewise(&stream), one_shot(&stream));
    }
}
