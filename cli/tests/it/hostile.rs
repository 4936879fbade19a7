//! Hostile clients and careless operators (issue "safe to expose"): one test
//! per way the server could be taken down or starved, scaled down to run in
//! seconds on loopback, each asserting the outcome the server promises.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use upcase::{Casing, InvalidUtf8};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{
    self, assert_same, closed_within, connect_from, mixed_input, oracle, upcase_bin, wait_or_kill,
    within, Rng, ServerProcess,
};

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

/// Stops `server` with SIGTERM and returns its `server stopped:` summary
/// as key → count.
async fn stop_and_summarize(server: &mut ServerProcess) -> HashMap<String, u64> {
    server.signal(Signal::SIGTERM);
    let status = server.wait_exit(Duration::from_secs(20)).await;
    assert!(status.success(), "{status}");
    let log = server.log_text();
    let line = log
        .lines()
        .find_map(|l| l.split("server stopped: ").nth(1))
        .unwrap_or_else(|| panic!("no summary line in:\n{log}"));
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.parse().unwrap()))
        .collect()
}

/// Sends `message` on a new connection from `source` and waits for its
/// uppercase; retries a client closed at once (over capacity) until
/// `deadline`. Returns how long it took and how many attempts.
async fn served_from(
    source: &str,
    addr: SocketAddr,
    header: &[u8],
    deadline: Duration,
) -> (Duration, u32) {
    let started = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        assert!(
            started.elapsed() < deadline,
            "a client from {source} was not served within {deadline:?} ({attempts} attempts)"
        );
        let Ok(mut stream) = connect_from(source, addr).await else {
            continue;
        };
        let mut request = header.to_vec();
        request.extend_from_slice(b"served?");
        if stream.write_all(&request).await.is_err() {
            continue;
        }
        let mut reply = [0u8; 7];
        let read = tokio::time::timeout(deadline, stream.read_exact(&mut reply)).await;
        if let Ok(Ok(_)) = read {
            assert_eq!(&reply, b"SERVED?");
            return (started.elapsed(), attempts);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Opens `count` connections from `source` that send nothing, and waits
/// until the server has logged accepting them all.
async fn silent_connections(
    server: &ServerProcess,
    source: &str,
    count: usize,
) -> Vec<tokio::net::TcpStream> {
    let before = server.log_count("connection accepted");
    let mut held = Vec::with_capacity(count);
    for _ in 0..count {
        held.push(connect_from(source, server.addr()).await.unwrap());
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.log_count("connection accepted") < before + count {
        assert!(Instant::now() < deadline, "{}", server.log_text());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    held
}

/// Opens `count` connections from `source`, one after another, each sending
/// `request` (if any) and expected to be closed by the server within 2 s.
/// Returns the slowest time from connecting to the close, and the closed
/// connections (kept open on this side until the caller drops them).
async fn slowest_refusal(
    source: &str,
    addr: SocketAddr,
    count: usize,
    request: &[u8],
) -> (Duration, Vec<tokio::net::TcpStream>) {
    let mut slowest = Duration::ZERO;
    let mut refused = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        let mut stream = connect_from(source, addr).await.unwrap();
        if !request.is_empty() {
            // The server may close before reading it all: that is the point.
            let _ = stream.write_all(request).await;
        }
        assert!(closed_within(&mut stream, Duration::from_secs(2)).await);
        slowest = slowest.max(started.elapsed());
        refused.push(stream);
    }
    (slowest, refused)
}

/// Row 2: one address holds every slot with silent connections (default
/// flags but a smaller `--max-connections`). A client from another address
/// is served within 2 s: at the limit the idle timeout shrinks to 1 s and
/// the longest-idle connections are closed first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_hoarders_do_not_keep_another_address_waiting() {
    within(30, "silent hoarders", async {
        let mut server =
            ServerProcess::start(&["--listen", "127.0.0.1:0", "--max-connections", "50"]);
        let mut hoard = silent_connections(&server, "127.0.0.2", 50).await;
        let (waited, attempts) =
            served_from("127.0.0.3", server.addr(), b"", Duration::from_secs(2)).await;
        eprintln!("row 2: served after {waited:?} ({attempts} attempt(s))");
        // The hoarder's connections were closed, oldest idle first.
        let mut closed = 0;
        for stream in &mut hoard {
            closed += usize::from(closed_within(stream, Duration::from_millis(100)).await);
        }
        assert!(closed > 0, "no hoarded connection was closed");
        let summary = stop_and_summarize(&mut server).await;
        assert!(summary["evicted"] >= closed as u64, "{summary:?}");
    })
    .await;
}

/// Row 2, trickling: one address holds every slot with connections that
/// each send a byte every 300 ms (never idle for the 1 s that would free
/// them). With default flags a client from another address is still served
/// within 2 s: at the limit it takes a slot of the address holding the most.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickling_hoarders_do_not_keep_another_address_waiting() {
    within(30, "trickling hoarders", async {
        let mut server =
            ServerProcess::start(&["--listen", "127.0.0.1:0", "--max-connections", "50"]);
        let hoard = silent_connections(&server, "127.0.0.2", 50).await;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let tricklers: Vec<_> = hoard
            .into_iter()
            .map(|mut stream| {
                let mut stopped = stopped.clone();
                tokio::spawn(async move {
                    // Bounded: at most 10 s of trickling, a byte per 300 ms.
                    for _ in 0..33 {
                        if stream.write_all(b"t").await.is_err() {
                            return true;
                        }
                        let mut reply = [0u8; 1];
                        let read = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut reply));
                        match read.await {
                            Ok(Ok(1)) => assert_eq!(&reply, b"T"),
                            Ok(_) => return true,
                            Err(_) => panic!("no reply within 2 s"),
                        }
                        let pause = tokio::time::sleep(Duration::from_millis(300));
                        tokio::select! {
                            _ = pause => {}
                            _ = stopped.changed() => {
                                // Closed meanwhile? A read says at once.
                                let read = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut reply));
                                return matches!(read.await, Ok(Ok(0) | Err(_)));
                            }
                        }
                    }
                    false
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let (waited, attempts) =
            served_from("127.0.0.3", server.addr(), b"", Duration::from_secs(2)).await;
        eprintln!("row 2 (trickling): served after {waited:?} ({attempts} attempt(s))");
        stop.send(true).unwrap();
        let mut closed = 0;
        for trickler in tricklers {
            closed += usize::from(trickler.await.unwrap());
        }
        assert!(
            closed >= 1,
            "no trickling connection gave up its slot:\n{}",
            server.log_text()
        );
        let summary = stop_and_summarize(&mut server).await;
        assert_eq!(summary["evicted"], closed as u64, "{summary:?}");
    })
    .await;
}

/// Row 3: a client that sends a byte just often enough to dodge the idle
/// timeout is closed by `--min-rate` at the end of its first window, while
/// a client sending steadily is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickling_client_is_closed_by_min_rate() {
    within(30, "trickle", async {
        let mut server = ServerProcess::start(&[
            "--listen",
            "127.0.0.1:0",
            "--idle-timeout",
            "500ms",
            "--min-rate",
            "100",
            "--min-rate-window",
            "1s",
        ]);
        let addr = server.addr();
        let mut trickle = connect_from("127.0.0.2", addr).await.unwrap();
        let mut steady = connect_from("127.0.0.3", addr).await.unwrap();
        let started = Instant::now();
        let mut trickle_closed = None;
        // 3 s: a byte every 400 ms from one, 50 bytes every 100 ms (500 B/s)
        // from the other, each checking its replies.
        for tick in 0..30u32 {
            if tick % 4 == 0 && trickle_closed.is_none() {
                let sent = trickle.write_all(b"a").await.is_ok();
                let mut reply = [0u8; 1];
                let read =
                    tokio::time::timeout(Duration::from_millis(300), trickle.read(&mut reply));
                match (sent, read.await) {
                    (true, Ok(Ok(1))) => assert_eq!(&reply, b"A"),
                    _ => trickle_closed = Some(started.elapsed()),
                }
            }
            steady.write_all(&[b'b'; 50]).await.unwrap();
            assert_eq!(crate::common::read_n(&mut steady, 50).await, [b'B'; 50]);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let closed_at =
            trickle_closed.expect("the trickling client still holds its slot after 3 s");
        eprintln!("row 3: trickler closed after {closed_at:?}");
        assert!(closed_at < Duration::from_millis(2500), "{closed_at:?}");
        drop(steady);
        let summary = stop_and_summarize(&mut server).await;
        assert_eq!(summary["too_slow"], 1, "{summary:?}");
    })
    .await;
}

/// Row 4: at `--max-connections`, with no connection idle long enough to
/// give up its slot, new clients are closed at once (not left in the
/// backlog), counted, and logged once per 10 s rather than once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_capacity_clients_are_told_at_once_counted_and_logged_rarely() {
    within(30, "over capacity", async {
        let mut server = ServerProcess::start(&[
            "--listen",
            "127.0.0.1:0",
            "--max-connections",
            "5",
            "--idle-timeout",
            "0",
        ]);
        let _held = silent_connections(&server, "127.0.0.2", 5).await;
        let (slowest, _) = slowest_refusal("127.0.0.3", server.addr(), 20, &[]).await;
        eprintln!("row 4: slowest refusal {slowest:?}");
        assert!(slowest < Duration::from_millis(500), "{slowest:?}");
        server
            .wait_log("closed a new connection", Duration::from_secs(5))
            .await;
        assert_eq!(
            server.log_count("closed a new connection"),
            1,
            "{}",
            server.log_text()
        );
        let summary = stop_and_summarize(&mut server).await;
        assert_eq!(summary["over_capacity"], 20, "{summary:?}");
    })
    .await;
}

/// A PROXY v1 header naming `client` (to the server at `addr`).
fn header_naming(client: &str, addr: SocketAddr) -> Vec<u8> {
    common::proxy_v1(client.parse().unwrap(), addr)
}

/// Row 6: with `--proxy-protocol`, a header is believed only from
/// `--proxy-from`. A direct client claiming a victim's address is closed at
/// once and counted, and takes nothing from the victim: the victim, through
/// the trusted proxy, is still served under `--max-connections-per-ip 1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_from_untrusted_peers_are_not_believed() {
    within(30, "untrusted PROXY headers", async {
        let mut server = ServerProcess::start(&[
            "--listen",
            "127.0.0.1:0",
            "--proxy-protocol",
            "--proxy-from",
            "127.0.0.2/32",
            "--max-connections-per-ip",
            "1",
        ]);
        let addr = server.addr();
        // Log lines arrive through the server's log queue: wait for them.
        server
            .wait_log("believed only from 127.0.0.2/32", Duration::from_secs(5))
            .await;
        let victim = header_naming("198.51.100.7:4000", addr);
        let mut lie = victim.clone();
        lie.extend_from_slice(b"let me in");
        let (slowest, _liars) = slowest_refusal("127.0.0.3", addr, 5, &lie).await;
        eprintln!("row 6: untrusted peer closed after at most {slowest:?}");
        assert!(slowest < Duration::from_millis(500), "{slowest:?}");
        // The victim's one slot is free: through the trusted proxy it is served.
        let (waited, attempts) =
            served_from("127.0.0.2", addr, &victim, Duration::from_secs(2)).await;
        assert_eq!(attempts, 1, "served after {waited:?}");
        server
            .wait_log(
                "client 198.51.100.7:4000 via 127.0.0.2",
                Duration::from_secs(5),
            )
            .await;
        let summary = stop_and_summarize(&mut server).await;
        assert_eq!(summary["untrusted_proxy"], 5, "{summary:?}");
        assert_eq!(summary["over_ip_limit"], 0, "{summary:?}");
    })
    .await;
}

/// Row 7: header-less connections cannot starve proxied clients. From an
/// untrusted address they never get a slot (closed at once); from the
/// trusted proxy they hold one only until the pressure policy or
/// `--proxy-header-timeout` ends them, and a proxied client is served
/// within 2 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_less_connections_do_not_starve_proxied_clients() {
    within(30, "header-less connections", async {
        let mut server = ServerProcess::start(&[
            "--listen",
            "127.0.0.1:0",
            "--proxy-protocol",
            "--proxy-from",
            "127.0.0.2/32",
            "--max-connections",
            "50",
        ]);
        let addr = server.addr();
        let header = header_naming("198.51.100.8:4000", addr);
        // 50 from an untrusted address: refused at once, no slot taken.
        let mut untrusted = Vec::new();
        for _ in 0..50 {
            untrusted.push(connect_from("127.0.0.3", addr).await.unwrap());
        }
        for stream in &mut untrusted {
            assert!(closed_within(stream, Duration::from_secs(1)).await);
        }
        let (waited, attempts) =
            served_from("127.0.0.2", addr, &header, Duration::from_secs(2)).await;
        assert_eq!(
            attempts, 1,
            "after untrusted header-less connections: {waited:?}"
        );
        // 50 header-less from the trusted proxy take every slot ...
        let _held = silent_connections(&server, "127.0.0.2", 50).await;
        // ... and a proxied client still gets one within 2 s.
        let (waited, attempts) =
            served_from("127.0.0.2", addr, &header, Duration::from_secs(2)).await;
        eprintln!("row 7: proxied client served after {waited:?} ({attempts} attempt(s))");
        let summary = stop_and_summarize(&mut server).await;
        assert_eq!(summary["untrusted_proxy"], 50, "{summary:?}");
        assert!(summary["evicted"] > 0, "{summary:?}");
    })
    .await;
}

/// The server sockets' kernel send queues: the sum of `skmem`'s `w`
/// (bytes queued for sending, with their overhead) over the established
/// sockets from `server` to one of `peers`, from `ss -tmnO` (one socket per
/// line), and how many there were. Matching both ends matters: another
/// test's client bound to 127.0.0.2 may hold the same port number as the
/// server. `None` without `ss`.
fn server_send_queue(server: SocketAddr, peers: &[SocketAddr]) -> Option<(u64, usize)> {
    let output = std::process::Command::new("ss")
        .args([
            "-tmnHO",
            "state",
            "established",
            &format!("( sport = :{} )", server.port()),
        ])
        .output()
        .ok()?;
    assert!(output.status.success(), "ss failed: {output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    let mut queued = Vec::new();
    for line in text.lines() {
        // Recv-Q Send-Q Local Peer skmem:(...)
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(peer)) = (fields.get(2), fields.get(3)) else {
            continue;
        };
        let local: SocketAddr = local.parse().expect("ss local address");
        let peer: SocketAddr = peer.parse().expect("ss peer address");
        if local != server || !peers.contains(&peer) {
            continue;
        }
        let skmem = line.split("skmem:(").nth(1).expect("ss -m prints skmem");
        let w = skmem
            .split(')')
            .next()
            .unwrap()
            .split(',')
            .find_map(|f| f.strip_prefix('w'))
            .and_then(|w| w.parse::<u64>().ok())
            .expect("skmem w field");
        queued.push(w);
    }
    Some((queued.iter().sum(), queued.len()))
}

/// The local addresses of `streams`: the peers the server sees.
fn local_addrs(streams: &[tokio::net::TcpStream]) -> Vec<SocketAddr> {
    streams.iter().map(|s| s.local_addr().unwrap()).collect()
}

/// Floods `addr` from `clients` connections that never read, until every
/// write has stalled for 300 ms (the kernel buffers on both sides full).
async fn flood_without_reading(addr: SocketAddr, clients: usize) -> Vec<tokio::net::TcpStream> {
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            tokio::spawn(async move {
                let mut stream = connect_from("127.0.0.2", addr).await.unwrap();
                let chunk = vec![b'x'; 64 * 1024];
                // Bounded: at most 64 MiB each, far more than any buffers.
                for _ in 0..1024 {
                    let write = stream.write_all(&chunk);
                    match tokio::time::timeout(Duration::from_millis(300), write).await {
                        Ok(Ok(())) => {}
                        Ok(Err(err)) => panic!("flood write failed: {err}"),
                        Err(_) => break,
                    }
                }
                stream
            })
        })
        .collect();
    let mut streams = Vec::new();
    for task in tasks {
        streams.push(task.await.unwrap());
    }
    streams
}

/// Row 5: clients that send fast and never read pin at most twice
/// `--send-buffer` of kernel send queue each (the kernel doubles SO_SNDBUF),
/// measured with `ss`. With autotuning (`--send-buffer 0`, the old
/// behaviour) a few clients are measured too, for the figure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_reading_clients_pin_bounded_kernel_memory() {
    const CLIENTS: usize = 100;
    const SEND_BUFFER: u64 = 64 * 1024;
    if server_send_queue("127.0.0.1:1".parse().unwrap(), &[]).is_none() {
        eprintln!("SKIPPED: `ss` (iproute2) is not installed");
        return;
    }
    within(60, "never-reading clients", async {
        let uncapped = ServerProcess::start(&["--listen", "127.0.0.1:0", "--send-buffer", "0"]);
        let streams = flood_without_reading(uncapped.addr(), 5).await;
        let (queued, sockets) = server_send_queue(uncapped.addr(), &local_addrs(&streams)).unwrap();
        eprintln!(
            "row 5: kernel autotuning: {} KiB send queue per socket ({sockets} sockets)",
            queued / sockets.max(1) as u64 / 1024
        );
        drop((streams, uncapped));

        let server = ServerProcess::start(&[
            "--listen",
            "127.0.0.1:0",
            "--send-buffer",
            &SEND_BUFFER.to_string(),
        ]);
        let streams = flood_without_reading(server.addr(), CLIENTS).await;
        let (queued, sockets) = server_send_queue(server.addr(), &local_addrs(&streams)).unwrap();
        assert_eq!(sockets, CLIENTS, "every client is connected");
        eprintln!(
            "row 5: --send-buffer {SEND_BUFFER}: {} KiB send queue per socket, {} KiB in all",
            queued / CLIENTS as u64 / 1024,
            queued / 1024
        );
        let bound = CLIENTS as u64 * (2 * SEND_BUFFER + 64 * 1024);
        assert!(queued <= bound, "{queued} bytes queued > {bound}");
        assert!(queued > 0, "the clients did fill the server's send queues");
        drop(streams);
    })
    .await;
}

/// Sends `request` raw and returns the status code and the body.
async fn http(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(request).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Open descriptors of process `pid`.
fn open_fds(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// Row 8, the protocol: a real HTTP server's answers, and output that
/// Prometheus' own checker accepts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_endpoint_speaks_http_and_passes_promtool() {
    within(30, "metrics HTTP", async {
        let server =
            ServerProcess::start(&["--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0"]);
        let metrics = server.metrics_addr();
        assert_eq!(common::round_trip(server.addr(), b"count me").await, b"COUNT ME");
        let long_header = format!(
            "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Long: {}\r\n\r\n",
            "a".repeat(20_000)
        );
        for (request, expected) in [
            (&b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"[..], 200),
            (b"GET /metrics HTTP/1.0\r\n\r\n", 200),
            (b"GET /other HTTP/1.1\r\nHost: x\r\n\r\n", 404),
            (b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405),
            (b"this is not http\r\n\r\n", 400),
            (long_header.as_bytes(), 431),
        ] {
            let (status, _) = http(metrics, request).await;
            assert_eq!(status, expected, "{:?}", String::from_utf8_lossy(&request[..20]));
        }
        let (_, body) = http(metrics, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(body.contains("upcase_connections_accepted_total 1"), "{body}");
        let Ok(mut promtool) = std::process::Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        else {
            eprintln!("SKIPPED the promtool check: promtool (Debian package `prometheus`) is not installed");
            return;
        };
        promtool.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
        let output = promtool.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "promtool check metrics: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    })
    .await;
}

/// Row 8, the limits: hundreds of half-sent scrapes hold at most the
/// scrape cap of descriptors, and under a 64-descriptor limit they cannot
/// starve the data port: every data client is served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_scrapes_cannot_starve_the_data_port() {
    const SCRAPERS: usize = 300;
    const DATA_CLIENTS: usize = 20;
    within(40, "half-sent scrapes", async {
        let server = ServerProcess::start_with(
            &[
                "--listen",
                "127.0.0.1:0",
                "--metrics",
                "127.0.0.1:0",
                "--max-connections",
                &DATA_CLIENTS.to_string(),
            ],
            |command| {
                use std::os::unix::process::CommandExt;
                // SAFETY: setrlimit is async-signal-safe; nothing else runs here.
                unsafe {
                    command.pre_exec(|| {
                        use nix::sys::resource::{setrlimit, Resource};
                        setrlimit(Resource::RLIMIT_NOFILE, 64, 64).map_err(std::io::Error::from)
                    });
                }
            },
        );
        let metrics = server.metrics_addr();
        let baseline = open_fds(server.pid());
        let mut scrapers = Vec::new();
        for _ in 0..SCRAPERS {
            let Ok(mut stream) = connect_from("127.0.0.2", metrics).await else {
                continue;
            };
            let _ = stream.write_all(b"GET /metrics HTTP/1.1\r\nHost").await;
            scrapers.push(stream);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let held = open_fds(server.pid()) - baseline;
        eprintln!("row 8: {SCRAPERS} half-sent scrapes hold {held} server descriptors");
        assert!(held <= 9, "{held} descriptors held by scrapes");
        // The data port still serves a full house.
        let mut clients = Vec::new();
        for i in 0..DATA_CLIENTS {
            let mut stream = connect_from("127.0.0.3", server.addr()).await.unwrap();
            let message = format!("client {i:02}");
            stream.write_all(message.as_bytes()).await.unwrap();
            let reply = crate::common::read_n(&mut stream, message.len()).await;
            assert_eq!(reply, message.to_uppercase().as_bytes());
            clients.push(stream);
        }
        assert!(
            server.log_count("scrapes already open") <= 1,
            "{}",
            server.log_text()
        );
        drop(scrapers);
    })
    .await;
}
