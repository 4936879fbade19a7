//! `upcase bench` against the real `upcase serve`: every mode and payload
//! runs clean, and the JSON summary adds up.

use crate::common;
use crate::common::{json_number, json_raw, run_bench, ServerProcess, StandInServer};

/// Runs bench against `addr` with `args`, asserts success, returns the JSON.
fn bench_ok(addr: std::net::SocketAddr, args: &[&str]) -> String {
    let addr = addr.to_string();
    let mut all = vec!["--connect", addr.as_str()];
    all.extend_from_slice(args);
    let (status, json, stderr) = run_bench(&all, 30);
    assert!(
        status.success(),
        "upcase bench {all:?} failed ({status}):\nstdout: {json}\nstderr: {stderr}"
    );
    assert_eq!(json.lines().count(), 1, "one JSON line: {json}");
    assert_eq!(json_raw(&json, "ok"), "true", "{json}");
    assert_eq!(json_number(&json, "mismatches"), 0.0, "{json}");
    assert_eq!(json_number(&json, "connection_errors"), 0.0, "{json}");
    let latency = ["p50", "p90", "p99", "p99_9", "max"].map(|p| json_number(&json, p));
    assert!(latency[0] >= 1.0, "{json}");
    assert!(latency.windows(2).all(|w| w[0] <= w[1]), "{json}");
    assert!(json_number(&json, "msgs_per_s") > 0.0, "{json}");
    assert!(json_number(&json, "elapsed_s") > 0.0, "{json}");
    json
}

#[test]
fn every_mode_and_payload_verifies_against_upcase_serve() {
    let server = ServerProcess::start(&["--listen", "127.0.0.1:0"]);
    for payload in ["ascii", "unicode", "binary"] {
        // rr, one message in flight: exact counts.
        let json = bench_ok(
            server.addr(),
            &[
                "--payload",
                payload,
                "--requests",
                "300",
                "--connections",
                "3",
                "--size",
                "100",
            ],
        );
        assert_eq!(json_number(&json, "messages"), 300.0, "{json}");
        assert_eq!(json_number(&json, "sent_bytes"), 30_000.0, "{json}");
        let received = json_number(&json, "received_bytes");
        match payload {
            "ascii" => assert_eq!(received, 30_000.0, "{json}"),
            // ß, ΐ, ﬃ... grow when uppercased.
            "unicode" => assert!(received > 30_000.0, "{json}"),
            // Random bytes hold the odd valid letter, which may grow or shrink.
            _ => assert!(received > 0.0, "{json}"),
        }

        // rr, pipelined.
        let json = bench_ok(
            server.addr(),
            &[
                "--payload",
                payload,
                "--requests",
                "2000",
                "--connections",
                "2",
                "--pipeline",
                "16",
            ],
        );
        assert_eq!(json_number(&json, "messages"), 2000.0, "{json}");
        assert_eq!(json_number(&json, "pipeline"), 16.0, "{json}");

        // stream: 64 KiB chunks, chunks split across the server's 32 KiB reads.
        let json = bench_ok(
            server.addr(),
            &[
                "--payload",
                payload,
                "--mode",
                "stream",
                "--size",
                "65536",
                "--requests",
                "64",
                "--connections",
                "2",
            ],
        );
        assert_eq!(json_number(&json, "messages"), 64.0, "{json}");
        assert_eq!(json_number(&json, "sent_bytes"), 64.0 * 65536.0, "{json}");
        assert_eq!(json_raw(&json, "mode"), "\"stream\"");
    }
}

#[test]
fn odd_sizes_and_a_timed_run_with_warmup() {
    let server = ServerProcess::start(&["--listen", "127.0.0.1:0"]);
    // Units of 1–3 bytes can't hold a multi-byte character; 4099 straddles reads.
    for size in ["1", "3", "4099"] {
        for mode in ["rr", "stream"] {
            bench_ok(
                server.addr(),
                &[
                    "--payload",
                    "unicode",
                    "--mode",
                    mode,
                    "--size",
                    size,
                    "--requests",
                    "200",
                ],
            );
        }
    }
    let json = bench_ok(
        server.addr(),
        &[
            "--duration",
            "0.5",
            "--warmup",
            "0.2",
            "--connections",
            "4",
            "--payload",
            "unicode",
        ],
    );
    let elapsed = json_number(&json, "elapsed_s");
    assert!((0.4..3.0).contains(&elapsed), "{json}");
    assert!(json_number(&json, "messages") > 10.0, "{json}");
}

#[test]
fn casing_and_invalid_policies_match_the_server() {
    let ascii = ServerProcess::start(&["--listen", "127.0.0.1:0", "--casing", "ascii"]);
    for payload in ["unicode", "binary"] {
        bench_ok(
            ascii.addr(),
            &[
                "--casing",
                "ascii",
                "--payload",
                payload,
                "--requests",
                "200",
                "--pipeline",
                "4",
            ],
        );
    }
    let replace = ServerProcess::start(&["--listen", "127.0.0.1:0", "--invalid", "replace"]);
    bench_ok(
        replace.addr(),
        &[
            "--invalid",
            "replace",
            "--payload",
            "binary",
            "--requests",
            "200",
        ],
    );
    let reject = ServerProcess::start(&["--listen", "127.0.0.1:0", "--invalid", "reject"]);
    bench_ok(
        reject.addr(),
        &[
            "--invalid",
            "reject",
            "--payload",
            "unicode",
            "--requests",
            "200",
        ],
    );
}

#[test]
fn expect_echo_accepts_an_echo_server() {
    let echo =
        StandInServer::start(|stream| StandInServer::serve_with(stream, |read| read.to_vec()));
    for mode in ["rr", "stream"] {
        bench_ok(
            echo.addr,
            &[
                "--expect",
                "echo",
                "--payload",
                "unicode",
                "--mode",
                mode,
                "--requests",
                "100",
                "--size",
                "3000",
            ],
        );
    }
}

#[test]
fn text_summary_without_json() {
    let server = ServerProcess::start(&["--listen", "127.0.0.1:0"]);
    let addr = server.addr().to_string();
    let (status, stdout, stderr) = common::run_with_stdin(
        &[
            "bench",
            "--connect",
            &addr,
            "--requests",
            "50",
            "--payload",
            "unicode",
        ],
        b"",
        30,
    );
    let stdout = String::from_utf8(stdout).unwrap();
    assert!(status.success(), "{stdout}\n{stderr}");
    for needle in [
        "messages   50",
        "p99.9",
        "0 mismatch(es)",
        "0 connection error(s)",
        "OK",
    ] {
        assert!(stdout.contains(needle), "no {needle:?} in:\n{stdout}");
    }
    // Not a terminal: no progress line.
    assert!(!stderr.contains('\r'), "{stderr:?}");
}

/// `--payload-file`: the user's text, cut after whole characters, in every
/// mode and under each policy, verified against the oracle; the errors
/// name the file and what is wrong with it.
#[test]
fn a_payload_file_verifies_against_upcase_serve() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(format!("bench-payload-{}.txt", std::process::id()));
    // Turkish, Vietnamese, Armenian, Greek with oxia, ß and ΐ, emoji, and
    // an ill-formed stretch: the characters the codec's fast paths treat
    // differently.
    let mut text = "Kullanıcı ayarları; Người dùng cửa sổ; Հայերեն; ά ὰ ώ; Straße ΐ 😀\n"
        .repeat(50)
        .into_bytes();
    text.extend_from_slice(b"bad \xE4\xB8 \xFF bytes\n");
    std::fs::write(&path, &text).unwrap();
    let file = path.to_str().unwrap();
    for invalid in ["pass", "replace"] {
        let server = ServerProcess::start(&["--listen", "127.0.0.1:0", "--invalid", invalid]);
        for (mode, size) in [("rr", "100"), ("rr", "7"), ("stream", "65536")] {
            let json = bench_ok(
                server.addr(),
                &[
                    "--payload-file",
                    file,
                    "--mode",
                    mode,
                    "--size",
                    size,
                    "--requests",
                    "300",
                    "--invalid",
                    invalid,
                ],
            );
            assert_eq!(json_raw(&json, "payload"), "\"file\"", "{json}");
            assert!(json_number(&json, "received_bytes") > 0.0, "{json}");
        }
    }

    let missing = dir.join("no-such-payload-file.txt");
    let missing = missing.to_str().unwrap();
    let (status, _, stderr) = run_bench(&["--payload-file", missing], 10);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--payload-file") && stderr.contains(missing),
        "{stderr}"
    );
    let (status, _, stderr) = run_bench(&["--payload-file", file, "--invalid", "reject"], 10);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not valid UTF-8"), "{stderr}");
    let (status, _, stderr) = run_bench(&["--payload-file", file, "--payload", "unicode"], 10);
    assert_eq!(status.code(), Some(2), "{stderr}");
    std::fs::remove_file(&path).unwrap();
}
