//! Example-based tests: the specification's own lines and limits, every
//! malformation the parser names, and every split position of each.

use std::vec::Vec;

use core::net::SocketAddr;

use super::testkit::{assert_all_splits, drive, one_shot, v1, v2, v2_addresses, v2_tcp, Outcome};
use super::*;

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

/// Parses a complete header (checking every split) and returns it.
#[track_caller]
fn header(stream: &[u8]) -> ProxyHeader {
    match assert_all_splits(stream) {
        Outcome::Done { header, end } => {
            assert_eq!(end, header.len());
            header
        }
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(stream)),
    }
}

/// The error for a malformed header (checking every split), and the stream
/// offset of the byte it was detected at.
#[track_caller]
fn error(stream: &[u8]) -> (ProxyError, usize) {
    match assert_all_splits(stream) {
        Outcome::Failed { error, position } => (error, position),
        other => panic!(
            "{:?}: expected an error, got {other:?}",
            String::from_utf8_lossy(stream)
        ),
    }
}

#[track_caller]
fn inet(header: &ProxyHeader) -> (SocketAddr, SocketAddr) {
    match header.addresses() {
        Addresses::Inet {
            source,
            destination,
        } => (source, destination),
        other => panic!("expected IP addresses, got {other:?}"),
    }
}

// ------------------------------------------------------------- v1, spec vectors

#[test]
fn v1_spec_example_before_http_request() {
    // Section 2.1's example, with the HTTP request that follows it.
    let stream = b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n";
    let h = header(stream);
    assert_eq!(h.len(), 47);
    assert_eq!(
        &stream[h.len()..],
        b"GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n"
    );
    assert_eq!(
        (h.version(), h.command(), h.transport()),
        (Version::V1, Command::Proxy, Transport::Stream)
    );
    assert_eq!(
        inet(&h),
        (addr("192.168.0.1:56324"), addr("192.168.0.11:443"))
    );
    assert_eq!(h.source(), Some(addr("192.168.0.1:56324")));
}

#[test]
fn v1_spec_maximum_lengths() {
    // Section 2.1: the longest lines a receiver must support.
    let tcp4 = b"PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n";
    assert_eq!(tcp4.len(), 56);
    let h = header(tcp4);
    assert_eq!(
        inet(&h),
        (addr("255.255.255.255:65535"), addr("255.255.255.255:65535"))
    );

    let f = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    let tcp6 = std::format!("PROXY TCP6 {f} {f} 65535 65535\r\n");
    assert_eq!(tcp6.len(), 104);
    let h = header(tcp6.as_bytes());
    assert_eq!(h.len(), 104);
    assert_eq!(
        h.source(),
        Some(SocketAddr::new(Ipv6Addr::from([0xFF; 16]).into(), 65535))
    );

    let short = b"PROXY UNKNOWN\r\n";
    assert_eq!(short.len(), 15);
    let h = header(short);
    assert_eq!(
        (h.transport(), h.addresses(), h.source()),
        (Transport::Unspecified, Addresses::Unspecified, None)
    );

    let worst = std::format!("PROXY UNKNOWN {f} {f} 65535 65535\r\n");
    assert_eq!(worst.len(), V1_MAX_LEN);
    let h = header(worst.as_bytes());
    assert_eq!((h.len(), h.source()), (107, None));
}

#[test]
fn v1_line_without_crlf_in_107_bytes_is_rejected_at_the_107th_byte() {
    let f = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    let too_long = std::format!("PROXY UNKNOWN {f} {f} 65535 655350\r\n");
    assert_eq!(too_long.len(), 108);
    assert_eq!(error(too_long.as_bytes()), (ProxyError::V1TooLong, 106));
    // Endless garbage after a valid start is cut off at the same byte.
    let mut endless = b"PROXY UNKNOWN ".to_vec();
    endless.resize(4096, b'x');
    assert_eq!(error(&endless), (ProxyError::V1TooLong, 106));
}

#[test]
fn v1_unknown_ignores_the_rest_of_the_line() {
    for line in [
        &b"PROXY UNKNOWN\r\n"[..],
        b"PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n",
        b"PROXY UNKNOWN anything at all, even \x00 or \xFF\r\n",
        b"PROXY UNKNOWN \r\n",
    ] {
        let h = header(line);
        assert_eq!(
            (h.len(), h.source(), h.addresses()),
            (line.len(), None, Addresses::Unspecified)
        );
    }
}

#[test]
fn v1_ipv6_forms() {
    let h = header(b"PROXY TCP6 ::1 2001:db8::7 1 65535\r\n");
    assert_eq!(inet(&h), (addr("[::1]:1"), addr("[2001:db8::7]:65535")));
    let h = header(b"PROXY TCP6 FE80:0:0:0:0:0:0:1 ::ffff:1.2.3.4 0 0\r\n");
    assert_eq!(inet(&h), (addr("[fe80::1]:0"), addr("[::ffff:1.2.3.4]:0")));
}

#[test]
fn v1_malformed_lines() {
    let cases: &[(&[u8], ProxyError)] = &[
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r",
            ProxyError::V1LineEnding,
        ), // incomplete is not an error…
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
            ProxyError::V1LineEnding,
        ),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX",
            ProxyError::V1LineEnding,
        ),
        (
            b"PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n",
            ProxyError::V1LineEnding,
        ),
        (b"PROXY \r\n", ProxyError::V1Protocol),
        (
            b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
            ProxyError::V1Protocol,
        ),
        (
            b"PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",
            ProxyError::V1Protocol,
        ),
        (b"PROXY UNKNOWNX\r\n", ProxyError::V1Protocol),
        (
            b"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
            ProxyError::V1Protocol,
        ),
        (b"PROXY TCP4\r\n", ProxyError::V1Fields),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", ProxyError::V1Fields),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", ProxyError::V1Fields),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
            ProxyError::V1Fields,
        ),
        (b"PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", ProxyError::V1Fields),
        (b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", ProxyError::V1Fields),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1\t2\r\n", ProxyError::V1Fields),
        (b"PROXY TCP4 ::1 5.6.7.8 1 2\r\n", ProxyError::V1Address),
        (b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n", ProxyError::V1Address),
        (
            b"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",
            ProxyError::V1Address,
        ),
        (
            b"PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",
            ProxyError::V1Address,
        ),
        (b"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", ProxyError::V1Address),
        (b"PROXY TCP6 ::1%eth0 ::1 1 2\r\n", ProxyError::V1Address),
        (b"PROXY TCP6 [::1] ::1 1 2\r\n", ProxyError::V1Address),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
            ProxyError::V1Port,
        ),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 099\r\n", ProxyError::V1Port),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 00 1\r\n", ProxyError::V1Port),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 1\r\n", ProxyError::V1Port),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 -1 1\r\n", ProxyError::V1Port),
        (
            b"PROXY TCP4 1.2.3.4 5.6.7.8 123456 1\r\n",
            ProxyError::V1Port,
        ),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 \r\n", ProxyError::V1Port),
    ];
    for &(line, want) in cases {
        // The first case ends in a lone CR: still waiting, not an error.
        if line.ends_with(b"\r") {
            assert!(matches!(one_shot(line), Outcome::NeedMore { .. }));
            continue;
        }
        assert_eq!(error(line).0, want, "{:?}", String::from_utf8_lossy(line));
    }
}

#[test]
fn v1_port_boundaries() {
    for (text, port) in [
        ("0", 0),
        ("1", 1),
        ("9", 9),
        ("10", 10),
        ("65535", 65535),
        ("9999", 9999),
    ] {
        let line = std::format!("PROXY TCP4 1.2.3.4 5.6.7.8 {text} 443\r\n");
        assert_eq!(header(line.as_bytes()).source().unwrap().port(), port);
    }
    for text in ["65536", "99999", "070000", "1000000"] {
        let line = std::format!("PROXY TCP4 1.2.3.4 5.6.7.8 {text} 443\r\n");
        assert_eq!(error(line.as_bytes()).0, ProxyError::V1Port, "{text}");
    }
}

// ------------------------------------------------------------- not a header

#[test]
fn other_protocols_are_rejected_at_the_first_wrong_byte() {
    let cases: &[(&[u8], usize)] = &[
        (b"GET / HTTP/1.1\r\n", 0),
        (b"hello\n", 0),
        (b"\x16\x03\x01\x02\x00", 0), // TLS ClientHello
        (b"\0", 0),
        (b"proxy TCP4", 0),
        (b"PROXX", 4),
        (b"PROXYTCP4", 5),
        (b"PROXY\r\n", 5),
        (b"\r\n\r\nQUIT\n", 4),
        (b"\r\n\r\n\0\r\nQUIT\r", 11),
        (b"\rX", 1),
    ];
    for &(stream, offset) in cases {
        assert_eq!(
            error(stream),
            (ProxyError::NotProxy { offset }, offset),
            "{stream:?}"
        );
    }
}

#[test]
fn empty_and_partial_input_waits() {
    let mut parser = ProxyParser::new();
    assert_eq!(parser.feed(b""), Ok(Progress::NeedMore));
    assert_eq!(parser.feed(b"PRO"), Ok(Progress::NeedMore));
    assert_eq!(parser.feed(b""), Ok(Progress::NeedMore));
    assert_eq!(parser.position(), 3);
    assert!(!parser.is_done());
}

// ------------------------------------------------------------- v2

#[test]
fn v2_tcp4_and_tcp6() {
    let src = addr("192.168.0.1:56324");
    let dst = addr("192.168.0.11:443");
    let stream = v2_tcp(src, dst, b"");
    assert_eq!(stream.len(), 28);
    // Spelled out once, byte for byte, from the specification's struct.
    assert_eq!(
        stream,
        b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0C\xC0\xA8\x00\x01\xC0\xA8\x00\x0B\xDC\x04\x01\xBB"
    );
    let h = header(&stream);
    assert_eq!(
        (h.version(), h.command(), h.transport()),
        (Version::V2, Command::Proxy, Transport::Stream)
    );
    assert_eq!(inet(&h), (src, dst));
    assert_eq!(h.source(), Some(src));

    let src = addr("[2001:db8::1]:65535");
    let dst = addr("[::1]:1");
    let stream = v2_tcp(src, dst, b"");
    assert_eq!(stream.len(), 52);
    let h = header(&stream);
    assert_eq!(inet(&h), (src, dst));
}

#[test]
fn v2_local_uses_the_socket_addresses_and_ignores_the_block() {
    // HAProxy's health checks: LOCAL, AF_UNSPEC, no addresses.
    let h = header(&v2(0x20, 0x00, b"", b""));
    assert_eq!(
        (h.command(), h.addresses(), h.source(), h.len()),
        (Command::Local, Addresses::Unspecified, None, 16)
    );
    // "Receivers MUST always consider this field to skip the appropriate
    // number of bytes and must not assume zero is presented for LOCAL."
    let block = v2_addresses(addr("10.0.0.1:1"), addr("10.0.0.2:2"));
    let h = header(&v2(0x20, 0x11, &block, b"\x04\x00\x01Z"));
    assert_eq!(
        (h.command(), h.source(), h.len()),
        (Command::Local, None, 32)
    );
    // The family is ignored for LOCAL, even an undefined one.
    let h = header(&v2(0x20, 0xFF, b"abc", b""));
    assert_eq!((h.command(), h.len()), (Command::Local, 19));
}

#[test]
fn v2_other_families_fall_back_to_the_socket_address() {
    // UDP over IPv4: addresses parsed, but no TCP client address.
    let block = v2_addresses(addr("1.2.3.4:53"), addr("5.6.7.8:53"));
    let h = header(&v2(0x21, 0x12, &block, b""));
    assert_eq!((h.transport(), h.source()), (Transport::Datagram, None));
    assert_eq!(inet(&h).0, addr("1.2.3.4:53"));
    // UNIX stream: 216 bytes of paths, skipped.
    let mut paths = std::vec![0u8; 216];
    paths[..9].copy_from_slice(b"/run/a.sk");
    let h = header(&v2(0x21, 0x31, &paths, b""));
    assert_eq!(
        (h.addresses(), h.source(), h.len()),
        (Addresses::Unix, None, 232)
    );
    // PROXY with AF_UNSPEC: accepted, addresses ignored.
    let h = header(&v2(0x21, 0x00, b"whatever", b""));
    assert_eq!(
        (h.addresses(), h.source(), h.len()),
        (Addresses::Unspecified, None, 24)
    );
}

#[test]
fn v2_tlvs_are_skipped() {
    let src = addr("127.0.0.1:40000");
    let dst = addr("127.0.0.1:12000");
    // ALPN, AUTHORITY, NOOP, UNIQUE_ID and a custom one.
    let mut tlvs = Vec::new();
    tlvs.extend_from_slice(b"\x01\x00\x02h2");
    tlvs.extend_from_slice(b"\x02\x00\x0bexample.com");
    tlvs.extend_from_slice(b"\x04\x00\x00");
    tlvs.push(0x05);
    tlvs.extend_from_slice(&128u16.to_be_bytes());
    tlvs.extend_from_slice(&[7; 128]);
    tlvs.extend_from_slice(b"\xE0\x00\x01\xFF");
    let mut stream = v2_tcp(src, dst, &tlvs);
    let len = stream.len();
    stream.extend_from_slice(b"payload");
    let h = header(&stream);
    assert_eq!((h.len(), h.source()), (len, Some(src)));
}

#[test]
fn v2_size_limit() {
    let src = addr("127.0.0.1:1");
    // Exactly 536 bytes in total is accepted…
    let tlvs = std::vec![0u8; V2_MAX_LEN - 28];
    let stream = v2_tcp(src, src, &tlvs);
    assert_eq!(stream.len(), V2_MAX_LEN);
    assert_eq!(header(&stream).len(), V2_MAX_LEN);
    // …one more is refused at the length field, before any of it is read.
    let mut stream = v2_tcp(src, src, &[0u8; V2_MAX_LEN - 27]);
    assert_eq!(
        error(&stream),
        (
            ProxyError::V2TooLong {
                len: V2_MAX_LEN + 1
            },
            15
        )
    );
    // The largest length field, too.
    stream[14] = 0xFF;
    stream[15] = 0xFF;
    assert_eq!(
        error(&stream[..16]),
        (ProxyError::V2TooLong { len: 16 + 65535 }, 15)
    );
}

#[test]
fn v2_malformed_fixed_part() {
    let good = v2_tcp(addr("1.2.3.4:5"), addr("6.7.8.9:10"), b"");
    let with = |at: usize, byte: u8| {
        let mut s = good.clone();
        s[at] = byte;
        s
    };
    assert_eq!(error(&with(12, 0x11)), (ProxyError::V2Version(1), 12));
    assert_eq!(error(&with(12, 0x31)), (ProxyError::V2Version(3), 12));
    assert_eq!(error(&with(12, 0x01)), (ProxyError::V2Version(0), 12));
    assert_eq!(error(&with(12, 0x22)), (ProxyError::V2Command(2), 12));
    assert_eq!(error(&with(12, 0x2F)), (ProxyError::V2Command(0xF), 12));
    for family in [0x01, 0x10, 0x13, 0x20, 0x23, 0x30, 0x41, 0xFF] {
        assert_eq!(error(&with(13, family)), (ProxyError::V2Family(family), 13));
    }
    // The address block must fit in the announced length.
    assert_eq!(
        error(&with(15, 11)),
        (
            ProxyError::V2AddressTooShort {
                family: 0x11,
                len: 11,
                needed: 12
            },
            15
        )
    );
    assert_eq!(
        error(&v2(0x21, 0x21, &[0; 35], b"")),
        (
            ProxyError::V2AddressTooShort {
                family: 0x21,
                len: 35,
                needed: 36
            },
            15
        )
    );
    assert_eq!(
        error(&v2(0x21, 0x31, &[0; 215], b"")),
        (
            ProxyError::V2AddressTooShort {
                family: 0x31,
                len: 215,
                needed: 216
            },
            15
        )
    );
    // Every signature byte is checked.
    for (at, &byte) in good.iter().enumerate().take(12).skip(1) {
        let (err, position) = error(&with(at, byte ^ 0x40));
        assert_eq!((err, position), (ProxyError::NotProxy { offset: at }, at));
    }
}

#[test]
fn v2_truncated_header_waits_for_the_rest() {
    let stream = v2_tcp(addr("1.2.3.4:5"), addr("6.7.8.9:10"), b"\x04\x00\x02ab");
    for len in 0..stream.len() {
        assert_eq!(
            one_shot(&stream[..len]),
            Outcome::NeedMore { position: len },
            "{len}"
        );
    }
}

// ------------------------------------------------------------- the feeding contract

#[test]
fn payload_after_the_header_is_never_taken() {
    let src = addr("10.1.2.3:4567");
    let dst = addr("10.0.0.1:12000");
    for head in [
        v1(src, dst),
        v2_tcp(src, dst, b""),
        v2_tcp(src, dst, b"\x04\x00\x01x"),
    ] {
        let mut stream = head.clone();
        stream.extend_from_slice(b"hello, world\n");
        let mut parser = ProxyParser::new();
        let Ok(Progress::Done { header, consumed }) = parser.feed(&stream) else {
            panic!("not done");
        };
        assert_eq!(
            (consumed, header.len(), header.source()),
            (head.len(), head.len(), Some(src))
        );
        assert_eq!(&stream[consumed..], b"hello, world\n");
    }
}

#[test]
fn errors_are_sticky_and_done_is_final() {
    let mut parser = ProxyParser::new();
    assert_eq!(parser.feed(b"GET"), Err(ProxyError::NotProxy { offset: 0 }));
    assert_eq!(
        parser.feed(b"PROXY UNKNOWN\r\n"),
        Err(ProxyError::NotProxy { offset: 0 })
    );
    let mut parser = ProxyParser::new();
    assert!(matches!(
        parser.feed(b"PROXY UNKNOWN\r\n"),
        Ok(Progress::Done { .. })
    ));
    assert_eq!(parser.feed(b""), Err(ProxyError::FedAfterHeader));
    assert_eq!(
        parser.feed(b"PROXY UNKNOWN\r\n"),
        Err(ProxyError::FedAfterHeader)
    );
}

#[test]
fn finish_rejects_a_partial_header() {
    let mut parser = ProxyParser::new();
    assert_eq!(parser.finish(), Err(ProxyError::Truncated { len: 0 }));
    assert_eq!(
        parser.feed(b"PROXY UNKNOWN\r\n"),
        Err(ProxyError::Truncated { len: 0 })
    );
    let mut parser = ProxyParser::new();
    assert_eq!(parser.feed(b"\r\n\r\n\0"), Ok(Progress::NeedMore));
    assert_eq!(parser.finish(), Err(ProxyError::Truncated { len: 5 }));
    assert_eq!(parser.finish(), Err(ProxyError::Truncated { len: 5 }));
    let mut parser = ProxyParser::new();
    assert!(matches!(
        parser.feed(b"PROXY UNKNOWN\r\n"),
        Ok(Progress::Done { .. })
    ));
    assert_eq!(parser.finish(), Ok(()));
    let mut parser = ProxyParser::new();
    assert!(parser.feed(b"X").is_err());
    assert_eq!(parser.finish(), Err(ProxyError::NotProxy { offset: 0 }));
}

#[test]
fn every_three_way_split_of_the_spec_vectors() {
    let vectors: Vec<Vec<u8>> = std::vec![
        b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET /".to_vec(),
        b"PROXY UNKNOWN\r\nx".to_vec(),
        v2_tcp(
            addr("192.168.0.1:56324"),
            addr("192.168.0.11:443"),
            b"\x04\x00\x00"
        ),
        v2(0x20, 0x00, b"", b"after"),
    ];
    for stream in &vectors {
        let want = one_shot(stream);
        assert!(matches!(want, Outcome::Done { .. }));
        for a in 0..=stream.len() {
            for b in a..=stream.len() {
                assert_eq!(drive(stream, &[a, b]), want, "cuts {a}, {b}");
            }
        }
    }
}

#[test]
fn errors_display_clearly() {
    let text = std::format!("{}", ProxyError::V2TooLong { len: 600 });
    assert_eq!(
        text,
        "PROXY v2 header of 600 bytes exceeds the limit of 536"
    );
    let text = std::format!("{}", ProxyError::NotProxy { offset: 0 });
    assert!(text.starts_with("not a PROXY protocol header"), "{text}");
}
