//! Segmentation torture: many concurrent connections write mixed valid and
//! ill-formed UTF-8 in random small chunks with tiny pauses, read back with
//! random read sizes at the same time, and half-close at the end. The reply
//! must equal the std-only oracle byte for byte, for every casing and
//! policy. Seeded: set `UPCASE_TEST_SEED` to vary, the seed is printed.

use crate::common;
use std::net::SocketAddr;
use std::time::Duration;

use crate::common::{assert_same, oracle, rejects, within, InProcess, Rng, ServerProcess};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use upcase::{Casing, Config, InvalidUtf8};
use upcase_cli::server::ServerConfig;

/// Concurrent connections per configuration.
const CLIENTS: usize = 32;

/// One torture client: writes `input` in random chunks with random pauses
/// while reading with random read sizes; returns what came back. Any
/// stream: plain TCP here, TLS in the `tls` tests.
pub(crate) async fn torture_client<S: AsyncRead + AsyncWrite>(
    stream: S,
    input: &[u8],
    mut rng: Rng,
    may_be_closed: bool,
) -> Vec<u8> {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut write_rng = rng.clone();
    let write = async {
        let mut sent = 0;
        while sent < input.len() {
            let len = write_rng.chunk_len().min(input.len() - sent);
            if let Err(err) = writer.write_all(&input[sent..sent + len]).await {
                // Only a rejecting server may stop listening to us.
                assert!(may_be_closed, "write failed at {sent}: {err}");
                return;
            }
            sent += len;
            match write_rng.next_u64() % 100 {
                0..=59 => {}
                60..=96 => tokio::task::yield_now().await,
                _ => tokio::time::sleep(Duration::from_millis(1)).await,
            }
        }
        // Half-close: the server must finish and then close its side.
        let _ = writer.shutdown().await;
    };
    let read = async {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 4096];
        loop {
            let len = if rng.chance(90) {
                rng.range(1, 64)
            } else {
                4096
            };
            match reader.read(&mut buf[..len]).await {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(err) => panic!("read failed after {} bytes: {err}", out.len()),
            }
            if rng.chance(5) {
                tokio::task::yield_now().await;
            }
        }
        out
    };
    tokio::join!(write, read).1
}

/// Runs [`CLIENTS`] torture clients against `addr` and checks each reply.
/// Returns (streams rejected, total input bytes, total expected output bytes).
async fn torture(
    addr: SocketAddr,
    casing: Casing,
    invalid: InvalidUtf8,
    seed: u64,
) -> (u64, u64, u64) {
    torture_with(move || common::connect(addr), casing, invalid, seed).await
}

/// [`torture`] over the streams `connect` opens (TCP or TLS).
pub(crate) async fn torture_with<C, F, S>(
    connect: C,
    casing: Casing,
    invalid: InvalidUtf8,
    seed: u64,
) -> (u64, u64, u64)
where
    C: Fn() -> F,
    F: std::future::Future<Output = S> + Send + 'static,
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let mut rng = Rng::new(seed);
    let mut clients = Vec::new();
    let (mut rejected, mut bytes_in, mut bytes_out) = (0, 0, 0);
    for client in 0..CLIENTS {
        let len = rng.range(1000, 12_000);
        // Under reject, keep some streams valid so they run to the end.
        let invalid_percent = if invalid == InvalidUtf8::Reject && client % 3 == 0 {
            0
        } else {
            rng.range(0, 8) as u64
        };
        let input = common::mixed_input(&mut rng, len, invalid_percent);
        let expected = oracle(casing, invalid, &input);
        let closes_early = rejects(casing, invalid, &input);
        rejected += u64::from(closes_early);
        bytes_in += input.len() as u64;
        bytes_out += expected.len() as u64;
        let client_rng = Rng::new(rng.next_u64());
        let stream = connect();
        clients.push(tokio::spawn(async move {
            let got = torture_client(stream.await, &input, client_rng, closes_early).await;
            assert_same(
                &got,
                &expected,
                &format!("{casing:?}/{invalid:?} client {client} (seed {seed})"),
            );
        }));
    }
    for client in clients {
        client.await.unwrap();
    }
    (rejected, bytes_in, bytes_out)
}

/// Torture against the in-process server; also checks the summary.
async fn torture_in_process(casing: Casing, invalid: InvalidUtf8, default_seed: u64) {
    let seed = Rng::seed(&format!("torture {casing:?}/{invalid:?}"), default_seed);
    within(60, "torture", async {
        let server = InProcess::start(ServerConfig::new(Config::new(casing, invalid))).await;
        let (rejected, bytes_in, bytes_out) = torture(server.addr, casing, invalid, seed).await;
        let summary = server.stop().await;
        assert_eq!(summary.accepted, CLIENTS as u64, "{summary}");
        assert_eq!(summary.invalid_utf8, rejected, "{summary}");
        assert_eq!(summary.completed, CLIENTS as u64 - rejected, "{summary}");
        assert_eq!(summary.bytes_out, bytes_out, "{summary}");
        if rejected == 0 {
            assert_eq!(summary.bytes_in, bytes_in, "{summary}");
        }
        assert_eq!(summary.closed(), summary.accepted, "{summary}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torture_unicode_pass_through() {
    torture_in_process(Casing::Unicode, InvalidUtf8::PassThrough, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torture_unicode_replace() {
    torture_in_process(Casing::Unicode, InvalidUtf8::Replace, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torture_unicode_reject() {
    torture_in_process(Casing::Unicode, InvalidUtf8::Reject, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torture_ascii() {
    torture_in_process(Casing::Ascii, InvalidUtf8::PassThrough, 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torture_ascii_ignores_reject() {
    torture_in_process(Casing::Ascii, InvalidUtf8::Reject, 5).await;
}

/// The configurations the torture runs against a real `upcase serve`
/// (plain here, TLS in the `tls` tests): every policy, and ASCII casing.
pub(crate) const BINARY_CONFIGS: [(Casing, InvalidUtf8); 4] = [
    (Casing::Unicode, InvalidUtf8::PassThrough),
    (Casing::Unicode, InvalidUtf8::Replace),
    (Casing::Unicode, InvalidUtf8::Reject),
    (Casing::Ascii, InvalidUtf8::PassThrough),
];

/// The same torture against the real binary, for each policy's flags.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torture_binary_every_policy() {
    let seed = Rng::seed("torture binary", 6);
    within(60, "torture binary", async {
        for (i, (casing, invalid)) in BINARY_CONFIGS.into_iter().enumerate() {
            let server = ServerProcess::start(&[
                "--listen",
                "127.0.0.1:0",
                "--casing",
                common::casing_flag(casing),
                "--invalid",
                common::invalid_flag(invalid),
            ]);
            torture(server.addr(), casing, invalid, seed + i as u64).await;
        }
    })
    .await;
}
