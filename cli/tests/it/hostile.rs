//! Hostile clients and careless operators (issue "safe to expose"): one test
//! per way the server could be taken down or starved, scaled down to run in
//! seconds on loopback, each asserting the outcome the server promises.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use upcase::{Casing, InvalidUtf8};

use crate::common::{self, assert_same, mixed_input, oracle, upcase_bin, wait_or_kill, Rng};

/// Row 1: the log reader goes away (`upcase serve 2>&1 | less`, then quit).
/// The server must neither panic nor drop connections: a stream in flight
/// at SIGTERM is answered to its last byte and the exit status is 0, while
/// every later log line fails with `EPIPE`.
#[test]
fn log_reader_gone_then_sigterm_drains_exactly() {
    let mut child = upcase_bin()
        .args(["--log-level", "debug", "serve", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read up to the `listening on` line, then close the pipe's read end.
    let stderr = child.stderr.take().unwrap();
    let addr = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| {
                let line = common::strip_ansi(&line);
                line.split("listening on ")
                    .nth(1)?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
    })
    .join()
    .unwrap();
    let addr: SocketAddr = addr.expect("a `listening on` line");

    let mut rng = Rng::new(Rng::seed("log_reader_gone", 0x10c));
    let input = mixed_input(&mut rng, 2 << 20, 1);
    let expected = oracle(Casing::Unicode, InvalidUtf8::PassThrough, &input);
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut reader = stream.try_clone().unwrap();
    let replies = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = reader.read_to_end(&mut out);
        out
    });
    let pid = Pid::from_raw(child.id() as i32);
    for (i, piece) in input.chunks(64 * 1024).enumerate() {
        stream.write_all(piece).unwrap();
        // Log lines the server must fail to write: connections come and go
        // (refused once SIGTERM has closed the listener).
        for _ in 0..5 {
            drop(std::net::TcpStream::connect(addr));
        }
        if i == 10 {
            kill(pid, Signal::SIGTERM).unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    stream.shutdown(Shutdown::Write).unwrap();
    let out = replies.join().unwrap();
    let status = wait_or_kill(&mut child, Duration::from_secs(20)).expect("server exits");
    assert_same(&out, &expected, "the stream in flight at SIGTERM");
    assert_eq!(status.code(), Some(0), "{status}");
}

/// Rows 9 and 10: a duration flag that would overflow a deadline, or round
/// to zero (silently "off"), is refused at startup with exit status 2 and
/// one line naming the flag and the range; human forms are accepted.
#[test]
fn duration_flags_refuse_overflow_and_round_to_zero() {
    for (flag, value) in [
        ("--idle-timeout", "9.3e18"),
        ("--idle-timeout", "1e-10"),
        ("--proxy-header-timeout", "9.3e18"),
        ("--proxy-header-timeout", "1e-10"),
        ("--drain-timeout", "9.3e18"),
    ] {
        let (status, stderr) =
            common::run_to_exit(&["serve", "--listen", "127.0.0.1:0", flag, value]);
        assert_eq!(status.code(), Some(2), "{flag} {value}: {stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        let error = lines.first().copied().unwrap_or_default();
        assert!(
            error.contains(flag) && error.contains(value),
            "{flag} {value}: {stderr}"
        );
        assert!(
            error.contains("out of range: 0, or from 1 ms to 31536000 s"),
            "{flag} {value}: {stderr}"
        );
    }
}

/// Human forms (`500ms`, `5m`) start a server that serves.
#[test]
fn duration_flags_take_human_forms() {
    let server = common::ServerProcess::start(&[
        "--listen",
        "127.0.0.1:0",
        "--idle-timeout",
        "500ms",
        "--proxy-header-timeout",
        "5m",
        "--drain-timeout",
        "1m 30s",
    ]);
    let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all("straße".as_bytes()).unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).unwrap();
    assert_eq!(out, "STRASSE".as_bytes());
}
