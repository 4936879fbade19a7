//! The `upcase serve` process: the `listening on` line, several listeners
//! and IPv6, clear startup errors, and SIGTERM/SIGINT with a drain.

use crate::common;
use std::time::{Duration, Instant};

use crate::common::{connect, oracle, read_n, round_trip, run_to_exit, within, Rng, ServerProcess};
use nix::sys::signal::Signal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use upcase::{Casing, InvalidUtf8};

/// `--listen 127.0.0.1:0` logs the real port, and it serves there.
#[tokio::test]
async fn port_zero_logs_the_real_port() {
    within(20, "port 0", async {
        let server = ServerProcess::start(&["--listen", "127.0.0.1:0"]);
        let addr = server.addr();
        assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");
        assert_eq!(round_trip(addr, b"port zero").await, b"PORT ZERO");
        assert_eq!(server.log_count("is not a loopback address"), 0);
    })
    .await;
}

/// IPv6 loopback next to IPv4, both served by one process.
#[tokio::test]
async fn ipv6_and_ipv4_listeners() {
    if !common::ipv6_available() {
        eprintln!("skipped: no IPv6 loopback here");
        return;
    }
    within(20, "IPv6", async {
        let server = ServerProcess::start(&["--listen", "[::1]:0", "--listen", "127.0.0.1:0"]);
        assert_eq!(server.addrs.len(), 2);
        assert!(
            server.addrs[0].is_ipv6() && server.addrs[1].is_ipv4(),
            "{:?}",
            server.addrs
        );
        for addr in &server.addrs {
            assert_eq!(
                round_trip(*addr, "über ::1".as_bytes()).await,
                "ÜBER ::1".as_bytes()
            );
        }
    })
    .await;
}

/// Listening beyond loopback needs an explicit address and logs a warning.
#[tokio::test]
async fn non_loopback_listen_warns() {
    within(20, "0.0.0.0", async {
        let server = ServerProcess::start(&["--listen", "0.0.0.0:0"]);
        assert_eq!(
            server.log_count("is not a loopback address"),
            1,
            "{}",
            server.log_text()
        );
        let port = server.addr().port();
        assert_eq!(round_trip(([127, 0, 0, 1], port).into(), b"x").await, b"X");
    })
    .await;
}

/// The one line a person gets for a startup error.
fn startup_error(args: &[&str]) -> (Option<i32>, String) {
    let (status, stderr) = run_to_exit(args);
    let stderr = common::strip_ansi(&stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one line on stderr, got:\n{stderr}"
    );
    (status.code(), lines[0].to_owned())
}

#[test]
fn port_in_use_is_one_clear_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, line) = startup_error(&["serve", "--listen", &addr]);
    assert_eq!(code, Some(1));
    assert_eq!(
        line,
        format!("upcase: cannot listen on {addr}: address already in use")
    );
}

/// With debug logging, the log lines queued before a startup error are
/// written first: the error stays the last line on stderr. The soft
/// open-file limit is lowered so that the server logs (at debug) raising it
/// just before it binds.
#[test]
fn fatal_line_is_the_last_stderr_line_after_debug_logs() {
    use nix::sys::resource::{getrlimit, Resource};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    let soft = hard.min(256);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let fatal = format!("upcase: cannot listen on {addr}: address already in use");
    // Repeated: one run could order its lines right by luck.
    for _ in 0..10 {
        let (status, stderr) = common::run_to_exit_with(
            &["--log-level", "debug", "serve", "--listen", &addr],
            |command| {
                use std::os::unix::process::CommandExt;
                // SAFETY: setrlimit is async-signal-safe; nothing else runs here.
                unsafe {
                    command.pre_exec(move || {
                        use nix::sys::resource::setrlimit;
                        setrlimit(Resource::RLIMIT_NOFILE, soft, hard).map_err(std::io::Error::from)
                    });
                }
            },
        );
        let stderr = common::strip_ansi(&stderr);
        assert_eq!(status.code(), Some(1), "{stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.last().copied(), Some(fatal.as_str()), "{stderr}");
        if soft < hard {
            assert!(
                lines[..lines.len() - 1]
                    .iter()
                    .any(|l| l.contains("raised the open-file limit")),
                "no debug line before the error:\n{stderr}"
            );
        }
    }
}

#[test]
fn bad_address_is_one_clear_line() {
    for bad in [
        "nonsense",
        "127.0.0.1",
        "localhost:12000",
        "1.2.3.4.5:80",
        "[::1]:99999",
    ] {
        let (code, line) = startup_error(&["serve", "--listen", bad]);
        assert_eq!(code, Some(2), "{bad}");
        assert!(
            line.starts_with(&format!("upcase: invalid --listen address '{bad}'")),
            "{line}"
        );
    }
}

#[test]
fn address_not_on_this_host_is_one_clear_line() {
    // TEST-NET-1 is never assigned to a local interface; binding sends nothing.
    let (code, line) = startup_error(&["serve", "--listen", "192.0.2.1:0"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        line,
        "upcase: cannot listen on 192.0.2.1:0: address not available on this host"
    );
}

#[test]
fn permission_denied_is_one_clear_line() {
    // Ports below this one need privileges; as root, run the server as
    // `nobody` so that binding port 1 is refused.
    let first_free = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .ok()
        .and_then(|s| s.trim().parse::<u16>().ok())
        .unwrap_or(1024);
    if first_free <= 1 {
        eprintln!("skipped: every port is unprivileged here");
        return;
    }
    let as_root = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"));
    let (status, stderr) =
        common::run_to_exit_with(&["serve", "--listen", "127.0.0.1:1"], |command| {
            if as_root {
                use std::os::unix::process::CommandExt;
                command.uid(65534).gid(65534);
            }
        });
    let line = common::strip_ansi(stderr.trim_end());
    assert_eq!(status.code(), Some(1), "{line}");
    assert!(!line.contains('\n'), "{line}");
    assert!(
        line.starts_with("upcase: cannot listen on 127.0.0.1:1: permission denied"),
        "{line}"
    );
}

/// SIGTERM with data in flight: new clients are refused at once, the open
/// connection keeps streaming until it half-closes and gets every byte
/// answered, an idle one is closed at the drain timeout, and the exit is 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_data() {
    let seed = Rng::seed("sigterm drain", 7);
    within(30, "SIGTERM drain", async {
        let mut server = ServerProcess::start(&["--listen", "127.0.0.1:0", "--drain-timeout", "2"]);
        let addr = server.addr();
        let mut rng = Rng::new(seed);
        let input = common::mixed_input(&mut rng, 512 * 1024, 0);
        let expected = oracle(Casing::Unicode, InvalidUtf8::PassThrough, &input);
        let half = input.len() / 2;

        let mut idle = connect(addr).await;
        idle.write_all(b"before").await.unwrap();
        assert_eq!(read_n(&mut idle, 6).await, b"BEFORE");

        let mut busy = connect(addr).await;
        // Accepted before the SIGTERM below: a connection still in the
        // listen backlog when the listener closes is reset, not drained.
        server.wait_log_count("connection accepted", 2).await;
        let (mut reader, mut writer) = busy.split();
        let read = async {
            let mut got = Vec::new();
            reader.read_to_end(&mut got).await.unwrap();
            got
        };
        let write = async {
            for piece in input[..half].chunks(4096) {
                writer.write_all(piece).await.unwrap();
            }
            server.signal(Signal::SIGTERM);
            server
                .wait_log("stopped accepting", Duration::from_secs(5))
                .await;
            // New clients are refused now ...
            let refused = tokio::net::TcpStream::connect(addr).await;
            assert!(refused.is_err(), "accepted a connection while draining");
            // ... while this one goes on streaming.
            for piece in input[half..].chunks(4096) {
                writer.write_all(piece).await.unwrap();
            }
            writer.shutdown().await.unwrap();
        };
        let got = tokio::join!(read, write).0;
        common::assert_same(&got, &expected, "in-flight stream across SIGTERM");

        // The idle client is still served during the drain, then closed.
        idle.write_all(b"during").await.unwrap();
        assert_eq!(read_n(&mut idle, 6).await, b"DURING");
        let drained_at = Instant::now();
        assert!(common::closed_within(&mut idle, Duration::from_secs(5)).await);
        let status = server.wait_exit(Duration::from_secs(5)).await;
        assert_eq!(status.code(), Some(0), "{}", server.log_text());
        assert!(drained_at.elapsed() < Duration::from_secs(4));
        let summary = server
            .log_lines()
            .into_iter()
            .find(|l| l.contains("server stopped:"));
        let summary = summary.unwrap_or_else(|| panic!("no summary:\n{}", server.log_text()));
        assert!(summary.contains("accepted=2 "), "{summary}");
        assert!(summary.contains("completed=1 "), "{summary}");
        assert!(summary.contains("closed_at_drain=1 "), "{summary}");
    })
    .await;
}

/// SIGINT with nothing open exits 0 at once.
#[tokio::test]
async fn sigint_when_idle_exits_zero() {
    within(20, "SIGINT", async {
        let mut server = ServerProcess::start(&["--listen", "127.0.0.1:0"]);
        server.signal(Signal::SIGINT);
        let status = server.wait_exit(Duration::from_secs(5)).await;
        assert_eq!(status.code(), Some(0));
        assert_eq!(
            server.log_count("server stopped: accepted=0 "),
            1,
            "{}",
            server.log_text()
        );
    })
    .await;
}

/// A second signal during a long drain exits at once with status 130.
#[tokio::test]
async fn second_signal_exits_at_once() {
    within(20, "second signal", async {
        let mut server =
            ServerProcess::start(&["--listen", "127.0.0.1:0", "--drain-timeout", "60"]);
        let mut open = connect(server.addr()).await;
        open.write_all(b"hold").await.unwrap();
        assert_eq!(read_n(&mut open, 4).await, b"HOLD");
        server.signal(Signal::SIGTERM);
        server
            .wait_log("received SIGTERM", Duration::from_secs(5))
            .await;
        server
            .wait_log("waiting up to", Duration::from_secs(5))
            .await;
        let started = Instant::now();
        server.signal(Signal::SIGINT);
        let status = server.wait_exit(Duration::from_secs(5)).await;
        assert_eq!(status.code(), Some(130));
        assert!(started.elapsed() < Duration::from_secs(3));
    })
    .await;
}
