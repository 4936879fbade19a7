//! `upcase client` with stdin a pipe, against a real `upcase serve`: full
//! duplex, binary-safe, constant memory, names and IPv6, and the reject
//! policy's early close.

use std::time::Duration;

use crate::common::{
    assert_same, mixed_input, oracle, run_with_stdin, Rng, Running, ServerProcess,
};
use upcase::{Casing, InvalidUtf8};

/// Eight megabytes of mixed valid and invalid UTF-8: the reply is the
/// oracle's, byte for byte, and the client exits 0 once the server closes.
#[test]
fn large_mixed_stream_round_trips() {
    let server = ServerProcess::loopback(&[]);
    let mut rng = Rng::new(Rng::seed("client stream", 0x5EED_0101));
    let input = mixed_input(&mut rng, 8 << 20, 2);
    let addr = server.addr().to_string();
    let (status, out, err) = run_with_stdin(&["client", "--connect", &addr], &input, 60);
    assert!(status.success(), "{status}: {err}");
    assert!(err.is_empty(), "stderr: {err}");
    assert_same(
        &out,
        &oracle(Casing::Unicode, InvalidUtf8::PassThrough, &input),
        "client stream",
    );
}

/// Every byte value, under an ASCII server: exactly `to_ascii_uppercase`.
#[test]
fn binary_safe_with_an_ascii_server() {
    let server = ServerProcess::loopback(&["--casing", "ascii"]);
    let input: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
    let addr = server.addr().to_string();
    let (status, out, err) = run_with_stdin(&["client", "--connect", &addr], &input, 30);
    assert!(status.success(), "{status}: {err}");
    assert_same(&out, &input.to_ascii_uppercase(), "ascii");
}

#[test]
fn empty_input_exits_cleanly() {
    let server = ServerProcess::loopback(&[]);
    let addr = server.addr().to_string();
    let (status, out, err) = run_with_stdin(&["client", "--connect", &addr], b"", 20);
    assert!(status.success(), "{status}: {err}");
    assert!(out.is_empty());
}

/// 128 MiB through the client while it keeps reading and writing at once:
/// no deadlock on full socket buffers (the server answers as it reads and
/// stops reading while its answer is not taken), and the client's peak
/// memory stays far below the data.
#[test]
fn full_duplex_in_constant_memory() {
    let server = ServerProcess::loopback(&[]);
    let addr = server.addr().to_string();
    let mut client = Running::spawn(&["client", "--connect", &addr, "--timeout", "30"]);
    let chunk = "straße, ǆ, ﬃ, ΐ: the quick brown fox\n".repeat(64 * 1024 / 40);
    let (sent, peak) = client.stream_and_peak(chunk.as_bytes(), 128 << 20);
    let status = client.wait_exit(Duration::from_secs(60));
    assert!(status.success(), "{status}: {}", client.stderr());
    let expected = chunk.to_uppercase();
    let out = client.stdout();
    assert_eq!(out.len(), expected.len() * (sent / chunk.len()));
    assert_same(&out[..expected.len()], expected.as_bytes(), "first chunk");
    assert_same(
        &out[out.len() - expected.len()..],
        expected.as_bytes(),
        "last chunk",
    );
    assert!(
        peak < 16 * 1024,
        "peak RSS {peak} KiB for {} MiB",
        sent >> 20
    );
}

/// Replies stream back while stdin is still open: the client is not a
/// "send everything, then read" client.
#[test]
fn replies_arrive_before_the_input_ends() {
    let server = ServerProcess::loopback(&[]);
    let addr = server.addr().to_string();
    let mut client = Running::spawn(&["client", "--connect", &addr]);
    client.write("first line, grüße\n".as_bytes());
    client.wait_stdout_len("FIRST LINE, GRÜSSE\n".len(), Duration::from_secs(10));
    client.write(b"second\n");
    client.wait_stdout_len(
        "FIRST LINE, GRÜSSE\nSECOND\n".len(),
        Duration::from_secs(10),
    );
    client.close_stdin();
    let status = client.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{}", client.stderr());
    assert_eq!(client.stdout(), "FIRST LINE, GRÜSSE\nSECOND\n".as_bytes());
}

/// `localhost` resolves (from /etc/hosts, no DNS), and IPv6 works.
#[test]
fn host_names_and_ipv6() {
    let server = ServerProcess::loopback(&[]);
    let port = server.addr().port();
    let by_name = format!("localhost:{port}");
    let (status, out, err) = run_with_stdin(&["client", "--connect", &by_name], b"hello\n", 20);
    assert!(status.success(), "{status}: {err}");
    assert_eq!(out, b"HELLO\n");

    if !crate::common::ipv6_available() {
        eprintln!("no IPv6 loopback here; IPv6 part skipped");
        return;
    }
    let server6 = ServerProcess::start(&["--listen", "[::1]:0"]);
    let addr6 = server6.addr().to_string();
    assert!(addr6.starts_with("[::1]:"), "{addr6}");
    let (status, out, err) = run_with_stdin(&["client", "--connect", &addr6], b"ipv6\n", 20);
    assert!(status.success(), "{status}: {err}");
    assert_eq!(out, b"IPV6\n");
}

/// A reject server answers the valid prefix and closes while we are still
/// sending: the prefix is printed, and the early close is exit 6.
#[test]
fn reject_server_closes_early() {
    let server = ServerProcess::loopback(&["--invalid", "reject"]);
    let addr = server.addr().to_string();
    let mut input = b"valid prefix, stra\xC3\x9Fe \xFF then more".to_vec();
    input.extend(std::iter::repeat_n(b'x', 32 << 20));
    let (status, out, err) = run_with_stdin(&["client", "--connect", &addr], &input, 30);
    assert_eq!(status.code(), Some(6), "stderr: {err}");
    assert_eq!(out, b"VALID PREFIX, STRASSE ");
    assert!(
        err.starts_with(
            "upcase client: the server closed the connection before all input was sent"
        ),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}
