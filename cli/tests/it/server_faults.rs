//! Misbehaving clients and a starved server: resets while the server reads
//! and while it writes, the connection limit, and running out of file
//! descriptors (EMFILE). The server must count, log and carry on.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::{
    arm_reset, closed_within, connect, read_n, round_trip, within, InProcess, ServerProcess,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use upcase_cli::server::ServerConfig;

/// Reset (SO_LINGER 0) while the server waits to read, and in the middle of
/// a stream that the server is reading and answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_while_server_reads() {
    within(20, "reset while reading", async {
        let server = InProcess::start(ServerConfig::default()).await;

        // Idle in a read: the reset arrives while the server waits for input.
        let mut idle = connect(server.addr).await;
        idle.write_all(b"partial").await.unwrap();
        assert_eq!(read_n(&mut idle, 7).await, b"PARTIAL");
        arm_reset(&idle);
        drop(idle);

        // Mid-stream: reset while data is flowing both ways.
        let mut busy = connect(server.addr).await;
        let chunk = vec![b'x'; 64 * 1024];
        let mut reply = vec![0u8; 64 * 1024];
        for _ in 0..16 {
            busy.write_all(&chunk).await.unwrap();
            let n = busy.read(&mut reply).await.unwrap();
            assert!(n > 0 && reply[..n].iter().all(|&b| b == b'X'));
        }
        arm_reset(&busy);
        drop(busy);

        // Others are unaffected.
        assert_eq!(round_trip(server.addr, b"next").await, b"NEXT");
        let summary = server.stop().await;
        assert_eq!(summary.resets, 2, "{summary}");
        assert_eq!(summary.completed, 1, "{summary}");
        assert_eq!(summary.io_errors + summary.panics, 0, "{summary}");
    })
    .await;
}

/// Reset while the server is blocked writing to a client that stopped
/// reading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_while_server_writes() {
    within(20, "reset while writing", async {
        let server = InProcess::start(ServerConfig::default()).await;
        let mut stream = connect(server.addr).await;
        // Write without reading until the pipe backs up: the server is then
        // stuck in a write (our receive buffer is full).
        let chunk = vec![b'y'; 64 * 1024];
        let mut sent = 0usize;
        while let Ok(Ok(())) =
            tokio::time::timeout(Duration::from_millis(300), stream.write_all(&chunk)).await
        {
            sent += chunk.len();
            assert!(sent < 512 << 20, "the server never pushed back");
        }
        arm_reset(&stream);
        drop(stream);

        assert_eq!(round_trip(server.addr, b"next").await, b"NEXT");
        let summary = server.stop().await;
        assert_eq!(summary.resets, 1, "{summary}");
        assert_eq!(summary.write_stalls + summary.io_errors, 0, "{summary}");
    })
    .await;
}

/// At `--max-connections`, with no connection idle long enough to give up
/// its slot (`--idle-timeout 0`: none ever is), a new client is closed at
/// once rather than left in the backlog; the limit is logged once, and a
/// client is served again as soon as a slot frees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_limit_closes_new_clients_at_once() {
    within(20, "connection limit", async {
        let server = ServerProcess::start(&[
            "--listen",
            "127.0.0.1:0",
            "--max-connections",
            "3",
            "--idle-timeout",
            "0",
        ]);
        let addr = server.addr();
        let mut open = Vec::new();
        for i in 0..3 {
            let mut stream = connect(addr).await;
            stream.write_all(format!("c{i}").as_bytes()).await.unwrap();
            assert_eq!(read_n(&mut stream, 2).await, format!("C{i}").as_bytes());
            open.push(stream);
        }

        for _ in 0..2 {
            let mut extra = connect(addr).await;
            assert!(
                closed_within(&mut extra, Duration::from_millis(500)).await,
                "a client over the limit was not closed at once"
            );
        }
        server
            .wait_log("connection limit reached (3)", Duration::from_secs(5))
            .await;
        assert_eq!(server.log_count("connection limit reached"), 1);

        // A slot frees: the next client is served.
        drop(open.remove(0));
        let started = std::time::Instant::now();
        loop {
            let mut next = connect(addr).await;
            next.write_all(b"next").await.unwrap();
            let mut buf = [0u8; 4];
            if tokio::time::timeout(Duration::from_secs(1), next.read_exact(&mut buf))
                .await
                .is_ok_and(|r| r.is_ok())
            {
                assert_eq!(&buf, b"NEXT");
                break;
            }
            // The close of the dropped one may not have been seen yet.
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "never served again"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server
            .wait_log("connection limit cleared", Duration::from_secs(5))
            .await;
    })
    .await;
}

/// Out of file descriptors: with a low RLIMIT_NOFILE the server cannot
/// accept everyone. It must stay up, back off instead of spinning, and
/// serve the waiting clients once descriptors free up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emfile_backs_off_and_recovers() {
    const CLIENTS: usize = 60;
    within(40, "EMFILE", async {
        let server = ServerProcess::start_with(&["--listen", "127.0.0.1:0"], |command| {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe; nothing else runs here.
            unsafe {
                command.pre_exec(|| {
                    use nix::sys::resource::{setrlimit, Resource};
                    setrlimit(Resource::RLIMIT_NOFILE, 40, 40).map_err(std::io::Error::from)
                });
            }
        });
        let addr = server.addr();
        let served = Arc::new(AtomicUsize::new(0));
        let (release, released) = tokio::sync::watch::channel(false);
        let mut clients = Vec::new();
        for i in 0..CLIENTS {
            let mut stream = connect(addr).await;
            let served = Arc::clone(&served);
            let mut released = released.clone();
            clients.push(tokio::spawn(async move {
                let message = format!("client {i:02}");
                stream.write_all(message.as_bytes()).await.unwrap();
                let reply = read_n(&mut stream, message.len()).await;
                assert_eq!(reply, message.to_uppercase().as_bytes());
                served.fetch_add(1, Ordering::SeqCst);
                // Hold the server's descriptor until the test says so.
                let _ = released.wait_for(|&r| r).await;
            }));
        }

        // Let it settle at the limit.
        server.wait_log("Too many open files", Duration::from_secs(10)).await;
        let mut last = usize::MAX;
        while served.load(Ordering::SeqCst) != last {
            last = served.load(Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        assert!(last > 0 && last < CLIENTS, "served {last} of {CLIENTS}");

        // Stuck but not spinning: CPU use over 1.5 s well under 10%.
        let before = server.cpu_ticks();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let spent = server.cpu_ticks() - before;
        assert!(spent <= 15, "server used {spent} ticks of CPU in 1.5 s while out of descriptors");
        assert_eq!(served.load(Ordering::SeqCst), last);

        // Free the descriptors: everyone else gets served.
        release.send(true).unwrap();
        for client in clients {
            client.await.unwrap();
        }
        assert_eq!(served.load(Ordering::SeqCst), CLIENTS);
        server.wait_log("accepting again after", Duration::from_secs(5)).await;
        assert_eq!(round_trip(addr, b"still up").await, b"STILL UP");
        eprintln!("EMFILE: {last} of {CLIENTS} served at RLIMIT_NOFILE 40, {spent} CPU ticks in 1.5 s while stuck");
    })
    .await;
}
