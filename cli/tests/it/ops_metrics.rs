//! `upcase serve --metrics ADDR`: known traffic through the binary, then
//! the endpoint scraped over HTTP must show exactly those counts.

use crate::common;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::common::{arm_reset, closed_within, connect, read_n, within, ServerProcess};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A v1 header naming `client`.
fn v1(client: &str, server: SocketAddr) -> Vec<u8> {
    common::proxy_v1(client.parse().unwrap(), server)
}

/// One GET; returns the status line and the body.
async fn get(addr: SocketAddr, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8(response).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("no end of headers");
    let status = head.lines().next().unwrap().to_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim())
        })
        .expect("Content-Length")
        .parse()
        .unwrap();
    assert_eq!(length, body.len(), "Content-Length");
    (status, body.to_owned())
}

/// `name{labels}` → value for every sample line.
fn samples(body: &str) -> BTreeMap<String, f64> {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').unwrap();
            (name.to_owned(), value.parse().unwrap())
        })
        .collect()
}

/// Sends `header` + `payload`, half-closes, returns the reply.
async fn exchange(addr: SocketAddr, header: &[u8], payload: &[&[u8]]) -> Vec<u8> {
    let mut stream = connect(addr).await;
    stream.write_all(header).await.unwrap();
    for piece in payload {
        stream.write_all(piece).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stream.shutdown().await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    out
}

/// After [`known_traffic`]: every series and its exact value.
const EXPECTED_AFTER: &[(&str, f64)] = &[
    ("upcase_connections_accepted_total", 8.0),
    ("upcase_connections_active", 0.0),
    ("upcase_connections_completed_total", 4.0),
    (
        "upcase_connections_rejected_total{reason=\"per_ip_limit\"}",
        1.0,
    ),
    (
        "upcase_connections_rejected_total{reason=\"proxy_header\"}",
        1.0,
    ),
    (
        "upcase_connections_rejected_total{reason=\"proxy_header_timeout\"}",
        1.0,
    ),
    ("upcase_errors_total{kind=\"reset\"}", 1.0),
    ("upcase_errors_total{kind=\"accept\"}", 0.0),
    ("upcase_errors_total{kind=\"io\"}", 0.0),
    ("upcase_errors_total{kind=\"invalid_utf8\"}", 0.0),
    ("upcase_errors_total{kind=\"idle_timeout\"}", 0.0),
    ("upcase_connection_limit_reached_total", 0.0),
    // hello 5 + straße 7 + a\xFFb\xC3 4 + ping 4 + x 1; out the same sizes.
    ("upcase_bytes_received_total", 21.0),
    ("upcase_bytes_sent_total", 21.0),
    ("upcase_invalid_utf8_sequences_total", 2.0),
    ("upcase_connection_duration_seconds_count", 8.0),
    (
        "upcase_connection_duration_seconds_bucket{le=\"+Inf\"}",
        8.0,
    ),
];

/// Eight connections of known fate to `addr` (a server with
/// `--proxy-protocol --proxy-header-timeout 0.3 --max-connections-per-ip 1`).
async fn known_traffic(addr: SocketAddr) {
    // 1-3: completed exchanges; 2 ill-formed sequences in the third,
    // the second of them cut off by the end of the stream.
    assert_eq!(
        exchange(addr, &v1("10.0.0.1:1", addr), &[b"hello"]).await,
        b"HELLO"
    );
    assert_eq!(
        exchange(addr, &v1("10.0.0.2:1", addr), &["straße".as_bytes()]).await,
        b"STRASSE"
    );
    assert_eq!(
        exchange(addr, &v1("10.0.0.3:1", addr), &[b"a\xFF", b"b\xC3"]).await,
        b"A\xFFB\xC3"
    );
    // 4: held open, so that 5 (same address) is over the limit.
    let mut held = connect(addr).await;
    held.write_all(&v1("10.0.0.4:1", addr)).await.unwrap();
    held.write_all(b"ping").await.unwrap();
    assert_eq!(read_n(&mut held, 4).await, b"PING");
    let mut over = connect(addr).await;
    over.write_all(&v1("10.0.0.4:2", addr)).await.unwrap();
    assert!(closed_within(&mut over, Duration::from_secs(5)).await);
    held.shutdown().await.unwrap();
    assert!(closed_within(&mut held, Duration::from_secs(5)).await);
    // 6: a malformed header.
    let mut bad = connect(addr).await;
    bad.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    assert!(closed_within(&mut bad, Duration::from_secs(5)).await);
    // 7: no header within the 0.3 s timeout.
    let mut silent = connect(addr).await;
    assert!(closed_within(&mut silent, Duration::from_secs(5)).await);
    // 8: reset by the client after one answered byte.
    let mut reset = connect(addr).await;
    reset.write_all(&v1("10.0.0.8:1", addr)).await.unwrap();
    reset.write_all(b"x").await.unwrap();
    assert_eq!(read_n(&mut reset, 1).await, b"X");
    arm_reset(&reset);
    drop(reset);
}

/// The samples once all `connections` have been recorded as closed (the
/// server records each close just after the client sees it), or after 10 s.
async fn settled_samples(metrics: SocketAddr, connections: f64) -> BTreeMap<String, f64> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = within(10, "scrape", get(metrics, "/metrics")).await;
        let after = samples(&body);
        let settled = after["upcase_connections_active"] == 0.0
            && after["upcase_connection_duration_seconds_count"] == connections;
        if settled || Instant::now() > deadline {
            return after;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn scrape_after_known_traffic_shows_exact_counts() {
    let server = ServerProcess::start(&[
        "--listen",
        "127.0.0.1:0",
        "--metrics",
        "127.0.0.1:0",
        "--proxy-protocol",
        "--proxy-header-timeout",
        "0.3",
        "--max-connections-per-ip",
        "1",
    ]);
    let addr = server.addr();
    let metrics = server.metrics_addr();

    within(30, "known traffic", async {
        // Before any traffic: every series present, at zero.
        let (status, body) = get(metrics, "/metrics").await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        let before = samples(&body);
        assert_eq!(before["upcase_connections_accepted_total"], 0.0);
        assert_eq!(
            before["upcase_connections_rejected_total{reason=\"per_ip_limit\"}"],
            0.0
        );
        known_traffic(addr).await;
    })
    .await;

    let after = settled_samples(metrics, 8.0).await;
    for &(series, value) in EXPECTED_AFTER {
        assert_eq!(after.get(series), Some(&value), "{series}:\n{after:#?}");
    }

    let (status, _) = within(10, "404", get(metrics, "/")).await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
}

/// `upcase_invalid_utf8_sequences_total` counts what the std oracle sees:
/// one per `Utf8Chunks` chunk with a non-empty `invalid()` part under pass
/// and replace; under reject, the one sequence that closed the stream.
/// Eight streams per policy, each about 4 KB with 5% ill-formed pieces.
#[tokio::test]
async fn invalid_sequence_metric_matches_the_oracle_under_every_policy() {
    use crate::common::{mixed_input, rejects, round_trip, InProcess, Rng};
    use upcase::{Casing, Config, InvalidUtf8};
    use upcase_cli::server::{Metrics, ServerConfig};

    let mut rng = Rng::new(Rng::seed("invalid_sequence_metric", 0x1d5e));
    for invalid in [
        InvalidUtf8::PassThrough,
        InvalidUtf8::Replace,
        InvalidUtf8::Reject,
    ] {
        let metrics = Metrics::new();
        let mut config = ServerConfig::new(Config::new(Casing::Unicode, invalid));
        config.metrics = Some(metrics.clone());
        let server = InProcess::start(config).await;
        let mut expected = 0u64;
        for _ in 0..8 {
            let input = mixed_input(&mut rng, 4000, 5);
            let sequences = input
                .utf8_chunks()
                .filter(|chunk| !chunk.invalid().is_empty())
                .count() as u64;
            expected += match invalid {
                InvalidUtf8::Reject => u64::from(rejects(Casing::Unicode, invalid, &input)),
                _ => sequences,
            };
            within(10, "round trip", round_trip(server.addr, &input)).await;
        }
        let summary = server.stop().await;
        assert!(expected > 0, "the input has ill-formed sequences");
        let text = metrics.render();
        let counted = samples(&text)["upcase_invalid_utf8_sequences_total"] as u64;
        assert_eq!(counted, expected, "{invalid:?}; {summary}");
    }
}
