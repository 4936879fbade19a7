//! `upcase serve --proxy-protocol`: PROXY v1 and v2 headers through the
//! real server (the binary, whose log must show the client address the
//! header names), payload in the same write as the header, malformed and
//! cut-short headers (closed and counted), the header timeout, and no
//! guessing when the flag is off.

use crate::common;
use std::net::SocketAddr;
use std::time::Duration;

use crate::common::{
    assert_same, closed_within, connect, oracle, proxy_v1 as v1, within, InProcess, ServerProcess,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use upcase::{Casing, Config, InvalidUtf8};
use upcase_cli::server::{ServerConfig, Summary};

const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";

/// A v2 PROXY header for TCP from `source` to `destination`, with `tlvs`.
fn v2(source: SocketAddr, destination: SocketAddr, tlvs: &[u8]) -> Vec<u8> {
    let mut block = Vec::new();
    let family = match (source, destination) {
        (SocketAddr::V4(s), SocketAddr::V4(d)) => {
            block.extend_from_slice(&s.ip().octets());
            block.extend_from_slice(&d.ip().octets());
            0x11
        }
        (SocketAddr::V6(s), SocketAddr::V6(d)) => {
            block.extend_from_slice(&s.ip().octets());
            block.extend_from_slice(&d.ip().octets());
            0x21
        }
        _ => panic!("mixed families"),
    };
    block.extend_from_slice(&source.port().to_be_bytes());
    block.extend_from_slice(&destination.port().to_be_bytes());
    block.extend_from_slice(tlvs);
    let mut out = V2_SIGNATURE.to_vec();
    out.extend_from_slice(&[0x21, family]);
    out.extend_from_slice(&(block.len() as u16).to_be_bytes());
    out.extend_from_slice(&block);
    out
}

/// HAProxy's health-check header: v2 LOCAL, no addresses.
fn v2_local() -> Vec<u8> {
    let mut out = V2_SIGNATURE.to_vec();
    out.extend_from_slice(&[0x20, 0x00, 0x00, 0x00]);
    out
}

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

/// Writes `bytes` in one `write_all` (one segment on loopback), half-closes,
/// and returns everything the server sent until it closed.
async fn exchange(stream: &mut TcpStream, bytes: &[u8]) -> Vec<u8> {
    stream.write_all(bytes).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    out
}

fn proxy_config(header_timeout: Duration) -> ServerConfig {
    let mut config = ServerConfig::new(Config::new(Casing::Unicode, InvalidUtf8::PassThrough));
    config.proxy_protocol = true;
    config.proxy_header_timeout = header_timeout;
    config
}

/// The summary of an in-process server after `body` ran against it.
async fn with_server<F, Fut>(config: ServerConfig, body: F) -> Summary
where
    F: FnOnce(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let server = InProcess::start(config).await;
    within(20, "test body", body(server.addr)).await;
    within(20, "server stop", server.stop()).await
}

#[tokio::test]
async fn v1_and_v2_headers_name_the_client_in_the_log() {
    let server = ServerProcess::start(&["--listen", "127.0.0.1:0", "--proxy-protocol"]);
    let target = server.addr();
    within(20, "proxied exchanges", async {
        // v1 over IPv4, v2 over IPv4 and IPv6, v2 with TLVs: each names a
        // client the socket could never have come from.
        let cases: [(Vec<u8>, &str); 4] = [
            (v1(addr("203.0.113.7:40001"), target), "203.0.113.7:40001"),
            (
                v2(addr("198.51.100.9:40002"), target, b""),
                "198.51.100.9:40002",
            ),
            (
                v2(
                    addr("[2001:db8::42]:40003"),
                    addr("[2001:db8::1]:12000"),
                    b"",
                ),
                "[2001:db8::42]:40003",
            ),
            (
                v2(
                    addr("192.0.2.1:40004"),
                    target,
                    b"\x04\x00\x03abc\x01\x00\x02h2",
                ),
                "192.0.2.1:40004",
            ),
        ];
        for (header, client) in cases {
            let mut stream = connect(target).await;
            let mut bytes = header;
            bytes.extend_from_slice("straße ΐ\n".as_bytes());
            let reply = exchange(&mut stream, &bytes).await;
            assert_same(&reply, "STRASSE \u{399}\u{308}\u{301}\n".as_bytes(), client);
            server
                .wait_log(&format!("client={client}"), Duration::from_secs(5))
                .await;
            // The close line names the client too, and the proxy it came through.
            let local = stream.local_addr().unwrap();
            server
                .wait_log(&format!("peer={client}"), Duration::from_secs(5))
                .await;
            assert!(
                server.log_count(&format!("via {local}")) >= 1,
                "no `via {local}` line:\n{}",
                server.log_text()
            );
        }
    })
    .await;
}

#[tokio::test]
async fn local_header_uses_the_socket_address() {
    let summary = with_server(proxy_config(Duration::from_secs(5)), |addr| async move {
        let mut stream = connect(addr).await;
        let mut bytes = v2_local();
        bytes.extend_from_slice(b"health");
        assert_eq!(exchange(&mut stream, &bytes).await, b"HEALTH");
        // A bare LOCAL header and a close: HAProxy's TCP health check.
        let mut stream = connect(addr).await;
        assert_eq!(exchange(&mut stream, &v2_local()).await, b"");
    })
    .await;
    assert_eq!((summary.accepted, summary.completed), (2, 2), "{summary}");
}

#[tokio::test]
async fn payload_in_the_same_write_as_the_header_is_not_lost() {
    let summary = with_server(proxy_config(Duration::from_secs(5)), |addr| async move {
        let client = addr_of("10.9.8.7:6543");
        // Payload long enough to cross the header read's 536-byte buffer,
        // with multi-byte characters on every byte boundary around it.
        let mut payload = Vec::new();
        while payload.len() < 3000 {
            payload.extend_from_slice("aß€😀ΐ".as_bytes());
        }
        payload.extend_from_slice(b"\xC3 tail \xE2\x82");
        for header in [
            v1(client, addr),
            v2(client, addr, b""),
            v2(client, addr, &[0; 400]),
        ] {
            for cut in [0, 1, 2, 3, 500, 507, 508, 509, 510, 535] {
                let mut bytes = header.clone();
                bytes.extend_from_slice(&payload[cut..]);
                let mut stream = connect(addr).await;
                let reply = exchange(&mut stream, &bytes).await;
                let want = oracle(Casing::Unicode, InvalidUtf8::PassThrough, &payload[cut..]);
                assert_same(&reply, &want, &format!("header {} cut {cut}", header.len()));
            }
        }
        // Header and a first message in one write, more messages after.
        let mut stream = connect(addr).await;
        let mut bytes = v2(client, addr, b"");
        bytes.extend_from_slice(b"first ");
        stream.write_all(&bytes).await.unwrap();
        assert_eq!(common::read_n(&mut stream, 6).await, b"FIRST ");
        stream.write_all(b"second").await.unwrap();
        assert_eq!(common::read_n(&mut stream, 6).await, b"SECOND");
        assert_eq!(exchange(&mut stream, b" third").await, b" THIRD");
    })
    .await;
    assert_eq!(summary.completed, 31, "{summary}");
    assert_eq!(summary.proxy_header_errors, 0, "{summary}");
}

fn addr_of(text: &str) -> SocketAddr {
    addr(text)
}

#[tokio::test]
async fn malformed_headers_close_the_connection_and_are_counted() {
    let bad: Vec<Vec<u8>> = vec![
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"hello\n".to_vec(),
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n".to_vec(), // LF without CR
        b"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n".to_vec(),
        b"PROXY TCP9 1.2.3.4 5.6.7.8 1 2\r\nhello".to_vec(),
        [b"PROXY UNKNOWN ".as_slice(), &[b'x'; 200]].concat(), // no CRLF in 107 bytes
        {
            // v2 announcing 600 bytes: over the 536-byte limit.
            let mut h = V2_SIGNATURE.to_vec();
            h.extend_from_slice(&[0x21, 0x11, 0x02, 0x48]);
            h.extend_from_slice(&[0; 600]);
            h
        },
        {
            // v2 with command 2.
            let mut h = V2_SIGNATURE.to_vec();
            h.extend_from_slice(&[0x22, 0x11, 0x00, 0x0C]);
            h.extend_from_slice(&[0; 12]);
            h
        },
    ];
    let count = bad.len() as u64;
    let summary = with_server(proxy_config(Duration::from_secs(5)), |addr| async move {
        for bytes in bad {
            let mut stream = connect(addr).await;
            // Nothing is uppercased, and the server closes without waiting
            // for our FIN (we never send one).
            stream.write_all(&bytes).await.unwrap();
            let mut out = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out))
                .await
                .expect("server did not close");
            // EOF or a reset (unread bytes on close), never a reply.
            assert!(read.is_err() || out.is_empty(), "{bytes:?} got {out:?}");
        }
        // A header cut short by the client's close is an error too.
        let mut stream = connect(addr).await;
        assert_eq!(exchange(&mut stream, b"PROXY TCP4 1.2.3.4").await, b"");
    })
    .await;
    assert_eq!(summary.proxy_header_errors, count + 1, "{summary}");
    assert_eq!(summary.accepted, summary.closed(), "{summary}");
    assert_eq!(
        (summary.completed, summary.bytes_in, summary.bytes_out),
        (0, 0, 0),
        "{summary}"
    );
}

#[tokio::test]
async fn a_header_that_does_not_arrive_in_time_closes_the_connection() {
    let timeout = Duration::from_millis(300);
    let summary = with_server(proxy_config(timeout), |addr| async move {
        // Silent, a partial v1 line, a partial v2 header: all closed at the timeout.
        let mut silent = connect(addr).await;
        let mut partial_v1 = connect(addr).await;
        partial_v1.write_all(b"PROXY TCP4 1.2.3.4 ").await.unwrap();
        let mut partial_v2 = connect(addr).await;
        partial_v2.write_all(&V2_SIGNATURE[..7]).await.unwrap();
        let started = std::time::Instant::now();
        for stream in [&mut silent, &mut partial_v1, &mut partial_v2] {
            assert!(
                closed_within(stream, Duration::from_secs(5)).await,
                "not closed"
            );
        }
        let waited = started.elapsed();
        assert!(
            waited >= timeout - Duration::from_millis(50),
            "closed too early: {waited:?}"
        );
        assert!(waited < Duration::from_secs(3), "closed late: {waited:?}");
        // A complete header in time is served.
        let mut stream = connect(addr).await;
        let mut bytes = v1(addr_of("10.0.0.1:1"), addr);
        bytes.extend_from_slice(b"on time");
        assert_eq!(exchange(&mut stream, &bytes).await, b"ON TIME");
    })
    .await;
    assert_eq!(summary.proxy_header_timeouts, 3, "{summary}");
    assert_eq!(summary.completed, 1, "{summary}");
}

#[tokio::test]
async fn without_the_flag_a_header_is_just_text() {
    // The specification forbids guessing: with the flag off, a PROXY line
    // is payload like any other (and gets uppercased).
    let config = ServerConfig::new(Config::new(Casing::Unicode, InvalidUtf8::PassThrough));
    let summary = with_server(config, |addr| async move {
        let line = b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nhi";
        let mut stream = connect(addr).await;
        assert_eq!(exchange(&mut stream, line).await, line.to_ascii_uppercase());
    })
    .await;
    assert_eq!(summary.completed, 1, "{summary}");
}
