//! Memory of the real binary, from `/proc/PID/status`: thousands of idle
//! connections cost little each, and a client that writes 100 MiB without
//! reading cannot make the server buffer it.

use crate::common;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::{connect, read_n, round_trip, within, ServerProcess};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// Idle connections wanted for the measurement (fewer if the hard
/// open-file limit is lower); `UPCASE_IDLE_CONNECTIONS` overrides it.
const IDLE: u64 = 5000;

/// RSS per idle connection, after each has exchanged a message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_cheap() {
    // This process holds one end of each connection, the server the other.
    let wanted = std::env::var("UPCASE_IDLE_CONNECTIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(IDLE);
    let limit = common::raise_nofile(wanted + 200);
    let count = wanted.min(limit.saturating_sub(200));
    if count < 1000 {
        eprintln!("skipped: open-file limit {limit} is too low to measure");
        return;
    }
    within(60, "idle RSS", async {
        let max = (count + 10).to_string();
        let server = ServerProcess::start(&["--listen", "127.0.0.1:0", "--max-connections", &max]);
        let addr = server.addr();
        // Warm up threads and allocator, then measure from there.
        for _ in 0..200 {
            assert_eq!(round_trip(addr, "warm ß".as_bytes()).await, "WARM SS".as_bytes());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = server.rss_kib();

        let mut idle = Vec::with_capacity(count as usize);
        for batch in 0..count.div_ceil(250) {
            let tasks: Vec<_> = (0..250.min(count - batch * 250))
                .map(|_| {
                    tokio::spawn(async move {
                        let mut stream = connect(addr).await;
                        stream.write_all("hello ß".as_bytes()).await.unwrap();
                        assert_eq!(read_n(&mut stream, 8).await, b"HELLO SS");
                        stream
                    })
                })
                .collect();
            for task in tasks {
                idle.push(task.await.unwrap());
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let after = server.rss_kib();
        let per_connection = (after.saturating_sub(before)) as f64 * 1024.0 / count as f64;
        eprintln!(
            "idle RSS: {before} KiB -> {after} KiB with {count} idle connections = {per_connection:.0} bytes each"
        );
        // The target is 8 KiB per idle connection.
        assert!(per_connection <= 8192.0, "{per_connection:.0} bytes per idle connection");

        // They are idle, not dead.
        let mut last = idle.pop().unwrap();
        last.write_all(b"still").await.unwrap();
        assert_eq!(read_n(&mut last, 5).await, b"STILL");
    })
    .await;
}

/// What the never-reading writer sends: this line, repeated.
const PATTERN: &[u8] = b"the quick brown fox jumps over the lazy dog 0123456789\n";

/// Writes `total` bytes of [`PATTERN`] in 64 KiB chunks, publishing how many
/// were taken in `sent` after each, then half-closes.
async fn write_pattern(mut writer: OwnedWriteHalf, total: u64, sent: Arc<AtomicU64>) {
    // 64 KiB of the repeating pattern, phase-aligned for every chunk.
    let block: Vec<u8> = PATTERN
        .iter()
        .copied()
        .cycle()
        .take(PATTERN.len() * 1200)
        .collect();
    let mut offset = 0u64;
    while offset < total {
        let phase = (offset % PATTERN.len() as u64) as usize;
        let len = (64 * 1024).min(total - offset) as usize;
        writer.write_all(&block[phase..phase + len]).await.unwrap();
        offset += len as u64;
        sent.store(offset, Ordering::SeqCst);
    }
    writer.shutdown().await.unwrap();
}

/// Waits until `sent` stops moving for 300 ms (the writer is stuck: the
/// server stopped reading) and returns it.
async fn wait_until_stalled(sent: &AtomicU64) -> u64 {
    let mut last = u64::MAX;
    while sent.load(Ordering::SeqCst) != last {
        last = sent.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    last
}

/// Reads to the end, checking every byte is the uppercase of [`PATTERN`]
/// in order; returns how many arrived.
async fn read_uppercased_pattern(mut reader: OwnedReadHalf) -> u64 {
    let mut received = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    let upper = PATTERN.to_ascii_uppercase();
    loop {
        let n = reader.read(&mut buf).await.unwrap();
        if n == 0 {
            return received;
        }
        for (i, &b) in buf[..n].iter().enumerate() {
            let want = upper[((received + i as u64) % upper.len() as u64) as usize];
            assert_eq!(b, want, "byte {} of the reply", received + i as u64);
        }
        received += n as u64;
    }
}

/// A client that writes 100 MiB and never reads: TCP pushes back, the
/// server holds at most one buffer of output, other clients are served.
/// Then the client starts reading and every byte arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_that_never_reads_is_bounded() {
    const TOTAL: u64 = 100 << 20;
    within(60, "100 MiB writer", async {
        let server = ServerProcess::start(&["--listen", "127.0.0.1:0"]);
        let addr = server.addr();
        assert_eq!(round_trip(addr, b"warm").await, b"WARM");
        let before = server.rss_kib();

        let (reader, writer) = connect(addr).await.into_split();
        let sent = Arc::new(AtomicU64::new(0));
        let writing = tokio::spawn(write_pattern(writer, TOTAL, Arc::clone(&sent)));
        let stalled_at = wait_until_stalled(&sent).await;
        assert!(
            stalled_at < TOTAL,
            "no backpressure: all {TOTAL} bytes were taken"
        );
        let stalled = server.rss_kib();
        eprintln!(
            "stalled writer: {} KiB sent before backpressure; server RSS {before} -> {stalled} KiB",
            stalled_at >> 10
        );
        assert!(
            stalled < before + 8 * 1024,
            "server RSS grew from {before} to {stalled} KiB"
        );

        // Everyone else is unaffected meanwhile.
        for i in 0..50 {
            let message = format!("bystander {i}");
            assert_eq!(
                round_trip(addr, message.as_bytes()).await,
                message.to_uppercase().as_bytes()
            );
        }

        // Now read: the flow resumes and every byte is answered in order.
        let received = read_uppercased_pattern(reader).await;
        writing.await.unwrap();
        assert_eq!(received, TOTAL);
        let end = server.rss_kib();
        eprintln!("after 100 MiB round trip: server RSS {end} KiB");
        assert!(
            end < before + 8 * 1024,
            "server RSS grew from {before} to {end} KiB"
        );
    })
    .await;
}
