//! `upcase bench` against servers that get it wrong: every kind of wrong
//! reply is reported and makes the exit status 1; a hung server is given up
//! on; bad flag combinations exit 2.

use crate::common;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::common::{json_number, json_raw, run_bench, StandInServer};

/// Runs bench against `stand_in`, asserts it failed, returns (JSON, stderr).
fn bench_fails(stand_in: &StandInServer, args: &[&str]) -> (String, String) {
    let addr = stand_in.addr.to_string();
    let mut all = vec!["--connect", addr.as_str()];
    if !args.contains(&"--timeout") {
        all.extend(["--timeout", "2"]);
    }
    all.extend_from_slice(args);
    let (status, json, stderr) = run_bench(&all, 30);
    assert_eq!(
        status.code(),
        Some(1),
        "upcase bench {all:?} should fail:\nstdout: {json}\nstderr: {stderr}"
    );
    assert_eq!(json_raw(&json, "ok"), "false", "{json}");
    (json, stderr)
}

#[test]
fn echo_without_uppercasing_is_a_mismatch() {
    let echo =
        StandInServer::start(|stream| StandInServer::serve_with(stream, |read| read.to_vec()));
    for mode in ["rr", "stream"] {
        let (json, stderr) = bench_fails(&echo, &["--mode", mode, "--requests", "20"]);
        assert_eq!(json_number(&json, "mismatches"), 1.0, "{json}");
        assert!(stderr.contains("differs at byte"), "{stderr}");
        assert!(json.contains("reply to message 1 differs"), "{json}");
    }
}

/// Uppercases correctly except one byte deep in the stream.
#[test]
fn one_flipped_byte_is_found() {
    let flipper = StandInServer::start(|stream| {
        let mut offset = 0u64;
        StandInServer::serve_with(stream, move |read| {
            let mut out = read.to_ascii_uppercase();
            let flip = 100_000u64;
            if (offset..offset + out.len() as u64).contains(&flip) {
                out[(flip - offset) as usize] ^= 0x01;
            }
            offset += out.len() as u64;
            out
        })
    });
    for args in [
        &["--mode", "stream", "--size", "8192", "--requests", "40"][..],
        &["--size", "1000", "--requests", "200"][..],
        &["--size", "1000", "--requests", "200", "--pipeline", "8"][..],
    ] {
        let mut all = vec!["--casing", "ascii"];
        all.extend_from_slice(args);
        let (json, stderr) = bench_fails(&flipper, &all);
        assert_eq!(json_number(&json, "mismatches"), 1.0, "{args:?}: {json}");
        assert!(
            stderr.contains("differs at byte 100000 of the stream"),
            "{args:?}: {stderr}"
        );
        // Message 101 of 1000-byte messages holds byte 100000.
        if args.contains(&"1000") {
            assert!(
                stderr.contains("reply to message 101 "),
                "{args:?}: {stderr}"
            );
        }
    }
}

#[test]
fn a_reply_too_long_is_a_mismatch() {
    let chatty = StandInServer::start(|stream| {
        StandInServer::serve_with(stream, |read| {
            let mut out = read.to_ascii_uppercase();
            out.push(b'!');
            out
        })
    });
    for pipeline in ["1", "4"] {
        let (json, stderr) = bench_fails(
            &chatty,
            &[
                "--casing",
                "ascii",
                "--requests",
                "20",
                "--pipeline",
                pipeline,
            ],
        );
        assert_eq!(json_number(&json, "mismatches"), 1.0, "{json}");
        assert!(stderr.contains("\"!\""), "{stderr}");
    }
}

#[test]
fn extra_bytes_after_the_last_reply_are_a_mismatch() {
    let trailer = StandInServer::start(|mut stream| {
        let mut buf = [0u8; 64];
        let n = stream.read(&mut buf).unwrap_or(0);
        let _ = stream.write_all(&buf[..n].to_ascii_uppercase());
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest); // the client's FIN
        let _ = stream.write_all(b"bye");
    });
    let (json, _) = bench_fails(&trailer, &["--casing", "ascii", "--requests", "1"]);
    assert!(
        json.contains("unexpected bytes after the last reply"),
        "{json}"
    );
}

#[test]
fn a_server_closing_early_is_a_connection_error() {
    static CONNECTIONS: AtomicU64 = AtomicU64::new(0);
    let quitter = StandInServer::start(|mut stream| {
        // One connection (the second to start) is closed after its first reply.
        let closing = CONNECTIONS.fetch_add(1, Ordering::SeqCst) == 1;
        let mut buf = [0u8; 64 * 1024];
        while let Ok(n @ 1..) = stream.read(&mut buf) {
            if stream.write_all(&buf[..n].to_ascii_uppercase()).is_err() || closing {
                break;
            }
        }
        // Unread input would turn the close into a reset; both are fine.
        let _ = stream.shutdown(std::net::Shutdown::Both);
    });
    for mode in ["rr", "stream"] {
        CONNECTIONS.store(0, Ordering::SeqCst);
        let (json, stderr) = bench_fails(
            &quitter,
            &[
                "--casing",
                "ascii",
                "--mode",
                mode,
                "--connections",
                "3",
                "--duration",
                "1",
            ],
        );
        assert_eq!(json_number(&json, "connection_errors"), 1.0, "{json}");
        assert_eq!(json_number(&json, "mismatches"), 0.0, "{json}");
        assert!(
            json_number(&json, "messages") > 0.0,
            "the others went on: {json}"
        );
        assert!(stderr.contains("ERROR"), "{stderr}");
    }
}

#[test]
fn a_hung_server_is_given_up_on() {
    let silent = StandInServer::start(|mut stream| {
        // Reads and never answers, until the client goes away.
        let mut buf = [0u8; 1024];
        while let Ok(1..) = stream.read(&mut buf) {}
    });
    let started = std::time::Instant::now();
    let (json, stderr) = bench_fails(
        &silent,
        &["--connections", "2", "--duration", "5", "--timeout", "1"],
    );
    assert!(
        started.elapsed().as_secs() < 5,
        "gave up after the timeout, not the duration"
    );
    assert_eq!(json_number(&json, "connection_errors"), 2.0, "{json}");
    assert!(stderr.contains("no reply for 1.0 s"), "{stderr}");
}

#[test]
fn nothing_listening_is_an_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let (status, stdout, stderr) =
        common::run_with_stdin(&["bench", "--connect", &addr, "--requests", "1"], b"", 30);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("cannot connect"), "{stderr}");
}

#[test]
fn contradictory_flags_exit_2() {
    for args in [
        &["--mode", "stream", "--pipeline", "4"][..],
        &["--payload", "binary", "--invalid", "reject"][..],
        &["--requests", "10", "--duration", "1"][..],
        &["--size", "0"][..],
        &["--duration", "0"][..],
    ] {
        let mut all = vec!["bench", "--connect", "127.0.0.1:9"];
        all.extend_from_slice(args);
        let (status, _, stderr) = common::run_with_stdin(&all, b"", 30);
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
    }
}
