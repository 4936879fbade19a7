//! End to end behind the real HAProxy (Debian's package; `.ci/run` installs
//! it): HAProxy round-robins over two `upcase serve --proxy-protocol`
//! instances with `send-proxy-v2` and health checks.
//!
//! * Many concurrent clients through HAProxy get exactly the oracle's output.
//! * Each server's log names each client by its real address: 127.0.0.1 and
//!   the client socket's own ephemeral port, not HAProxy's outgoing one.
//! * SIGTERM to one instance mid-run: its open connections drain to the
//!   last byte, it exits, and new clients are served by the other.
//!
//! Skipped, with a message, where `haproxy` is not installed.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::haproxy::{find_haproxy, Haproxy};
use crate::common::{assert_same, mixed_input, oracle, within, Rng, ServerProcess};
use nix::sys::signal::Signal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use upcase::{Casing, InvalidUtf8};

const CASING: Casing = Casing::Unicode;
const INVALID: InvalidUtf8 = InvalidUtf8::PassThrough;

/// One client through HAProxy: streams `input` in pieces (pausing `pause`
/// between them), half-closes, checks every byte of the reply. Returns its
/// own local port, the address the servers must log (also sent on
/// `connected` as soon as it is known).
async fn client(
    frontend: SocketAddr,
    input: Vec<u8>,
    seed: u64,
    pause: Duration,
    connected: Option<tokio::sync::mpsc::UnboundedSender<u16>>,
) -> u16 {
    let stream = TcpStream::connect(frontend).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let port = stream.local_addr().unwrap().port();
    if let Some(connected) = connected {
        let _ = connected.send(port);
    }
    let (mut reader, mut writer) = stream.into_split();
    let want = oracle(CASING, INVALID, &input);
    let write = async move {
        let mut rng = Rng::new(seed);
        let mut at = 0;
        while at < input.len() {
            let end = (at + rng.chunk_len()).min(input.len());
            writer.write_all(&input[at..end]).await.unwrap();
            at = end;
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
        }
        writer.shutdown().await.unwrap();
    };
    let read = async move {
        let mut out = Vec::new();
        reader.read_to_end(&mut out).await.unwrap();
        out
    };
    let ((), got) = tokio::join!(write, read);
    assert_same(&got, &want, &format!("client on port {port}"));
    port
}

/// Which of `servers` logged the client on `port` (exactly one must).
fn server_of(servers: &[&ServerProcess], port: u16) -> usize {
    let needle = format!("client=127.0.0.1:{port} proxy=");
    let found: Vec<usize> = servers
        .iter()
        .enumerate()
        .filter(|(_, s)| s.log_count(&needle) > 0)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "client port {port} logged by servers {found:?}"
    );
    found[0]
}

/// The `haproxy` binary, its version said on stderr; `None` (the test
/// skips, saying so) where it is not installed.
fn haproxy_or_skip() -> Option<std::path::PathBuf> {
    let Some(binary) = find_haproxy() else {
        eprintln!("skipping: haproxy not installed (apt-get install haproxy)");
        return None;
    };
    let version = Command::new(&binary).arg("-v").output().unwrap();
    eprintln!(
        "using {}",
        String::from_utf8_lossy(&version.stdout)
            .lines()
            .next()
            .unwrap_or("haproxy")
    );
    Some(binary)
}

/// 20 new clients through `frontend`, all answered exactly (checked in
/// [`client`]); returns their ports.
async fn fresh_clients(frontend: SocketAddr, rng: &mut Rng) -> Vec<u16> {
    let tasks = (0..20u64)
        .map(|i| {
            let input = mixed_input(rng, 2000, 3);
            tokio::spawn(client(frontend, input, i, Duration::ZERO, None))
        })
        .collect();
    join_all(tasks).await
}

/// Every client in `ports` was served by `servers[want]`, none by another
/// (waiting up to 10 s for the server's log lines).
async fn all_served_by(servers: [&ServerProcess; 2], want: usize, ports: &[u16]) {
    wait_until(Duration::from_secs(10), || {
        ports
            .iter()
            .all(|p| servers[want].log_count(&format!("client=127.0.0.1:{p} proxy=")) > 0)
    })
    .await;
    for &port in ports {
        assert_eq!(
            server_of(&servers, port),
            want,
            "client port {port} reached another server"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn haproxy_round_robin_real_addresses_and_drain() {
    let Some(binary) = haproxy_or_skip() else {
        return;
    };
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--proxy-protocol",
        "--drain-timeout",
        "30",
    ];
    let mut a = ServerProcess::start(&args);
    let b = ServerProcess::start(&args);
    let proxy = Haproxy::start(&binary, &[a.addr(), b.addr()]);
    let frontend = proxy.frontend;
    let mut rng = Rng::new(Rng::seed("haproxy", 0x4A50_5258));

    // Health checks reach both with a PROXY v2 LOCAL header.
    for server in [&a, &b] {
        server
            .wait_log(
                "PROXY V2 header names no TCP client (Local",
                Duration::from_secs(10),
            )
            .await;
    }

    let per_server = round_robin(frontend, [&a, &b], &mut rng).await;

    // Phase 2: slow clients (about 1.5 s each) in flight on both servers,
    // then SIGTERM `a`.
    let in_flight = 10;
    let slow = slow_clients_in_flight(frontend, [&a, &b], &mut rng, in_flight).await;
    a.signal(Signal::SIGTERM);
    a.wait_log("stopped accepting", Duration::from_secs(5))
        .await;

    // New clients while `a` drains: all answered, all by `b`.
    let fresh = within(
        60,
        "clients during the drain",
        fresh_clients(frontend, &mut rng),
    )
    .await;
    // Every in-flight exchange finishes with every byte (checked in `client`).
    let slow_ports = within(60, "in-flight clients", join_all(slow)).await;

    let status = a.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "drained instance exited with {status}");
    assert_eq!(a.log_count("drain timeout"), 0, "{}", a.log_text());
    all_served_by([&a, &b], 1, &fresh).await;
    let drained = slow_ports
        .iter()
        .filter(|&&p| server_of(&[&a, &b], p) == 0)
        .count();
    assert!(drained > 0, "no in-flight client was on the drained server");
    eprintln!(
        "phase 1: {per_server:?} clients per server; {drained} of {in_flight} in-flight \
         clients drained from the stopped server; {} new clients served by the other",
        fresh.len()
    );
    drop(proxy);
}

/// Phase 1: many concurrent clients through HAProxy, all answered exactly
/// and split over both servers. Returns how many each server logged.
async fn round_robin(
    frontend: SocketAddr,
    servers: [&ServerProcess; 2],
    rng: &mut Rng,
) -> [usize; 2] {
    let clients = 40;
    let ports = within(60, "phase 1 clients", async {
        let tasks = (0..clients)
            .map(|i| {
                let len = rng.range(1, 20_000);
                let input = mixed_input(rng, len, 3);
                let seed = rng.next_u64();
                tokio::spawn(client(frontend, input, seed ^ i, Duration::ZERO, None))
            })
            .collect();
        join_all(tasks).await
    })
    .await;
    // Close lines come just after the replies: wait for them to be logged.
    wait_until(Duration::from_secs(10), || {
        logged_by_either(servers, &ports)
    })
    .await;
    let mut per_server = [0usize; 2];
    for &port in &ports {
        per_server[server_of(&servers, port)] += 1;
    }
    // Round robin: both serve (exactly half each unless a health check
    // flapped under load, so only "both" is asserted).
    assert!(
        per_server.iter().all(|&n| n > 0),
        "round robin: {per_server:?}"
    );
    per_server
}

/// Starts `count` slow clients (a 25 ms pause between pieces) and returns
/// once every one's PROXY header has reached its server: all are in flight.
async fn slow_clients_in_flight(
    frontend: SocketAddr,
    servers: [&ServerProcess; 2],
    rng: &mut Rng,
    count: u64,
) -> Vec<tokio::task::JoinHandle<u16>> {
    let (connected, mut ports_rx) = tokio::sync::mpsc::unbounded_channel();
    let slow = (0..count)
        .map(|i| {
            let input = mixed_input(rng, 6000, 2);
            let seed = rng.next_u64();
            let pause = Duration::from_millis(25);
            tokio::spawn(client(
                frontend,
                input,
                seed ^ i,
                pause,
                Some(connected.clone()),
            ))
        })
        .collect();
    let mut started = Vec::new();
    while started.len() < count as usize {
        let port = within(10, "slow clients connecting", ports_rx.recv())
            .await
            .unwrap();
        started.push(port);
    }
    wait_until(Duration::from_secs(10), || {
        logged_by_either(servers, &started)
    })
    .await;
    slow
}

/// Whether every client port in `ports` appears in one of the servers' logs.
fn logged_by_either(servers: [&ServerProcess; 2], ports: &[u16]) -> bool {
    ports.iter().all(|p| {
        let needle = format!("client=127.0.0.1:{p} proxy=");
        servers.iter().map(|s| s.log_count(&needle)).sum::<usize>() > 0
    })
}

/// The client ports the tasks return, in order.
async fn join_all(tasks: Vec<tokio::task::JoinHandle<u16>>) -> Vec<u16> {
    let mut ports = Vec::with_capacity(tasks.len());
    for task in tasks {
        ports.push(task.await.unwrap());
    }
    ports
}

/// Polls `done` every 20 ms for up to `wait`.
async fn wait_until(wait: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + wait;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "condition not met within {wait:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
