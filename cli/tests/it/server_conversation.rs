//! Conversations with the in-process server: the textbook clients, many
//! clients with many messages, one byte at a time, empty connections, and
//! the reject policy's close.

use crate::common;
use std::time::Duration;

use crate::common::{assert_same, connect, oracle, read_n, round_trip, within, InProcess};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use upcase::{Casing, Config, InvalidUtf8};
use upcase_cli::server::ServerConfig;

fn unicode(invalid: InvalidUtf8) -> ServerConfig {
    ServerConfig::new(Config::new(Casing::Unicode, invalid))
}

/// The textbook client: send a sentence without a newline, read one reply.
/// The server must answer without waiting for a newline or the end.
#[tokio::test]
async fn textbook_client_one_sentence_no_newline() {
    within(10, "textbook client", async {
        let server = InProcess::start(ServerConfig::default()).await;
        let mut stream = connect(server.addr).await;
        stream.write_all("hello, straße".as_bytes()).await.unwrap();
        let reply = read_n(&mut stream, "HELLO, STRASSE".len()).await;
        assert_eq!(reply, b"HELLO, STRASSE");
        drop(stream);
        let summary = server.stop().await;
        assert_eq!(summary.accepted, 1);
        assert_eq!(summary.closed(), 1);
    })
    .await;
}

/// The textbook's looping client: many sentences on one connection, each
/// answered before the next is sent (the textbook server closes after one).
#[tokio::test]
async fn looping_client_many_sentences_one_connection() {
    within(10, "looping client", async {
        let server = InProcess::start(ServerConfig::default()).await;
        let mut stream = connect(server.addr).await;
        for i in 0..300 {
            let sentence = format!("sentence {i}: grüße aus köln, ǆ ﬃ\n");
            stream.write_all(sentence.as_bytes()).await.unwrap();
            let expected = sentence.to_uppercase();
            let reply = read_n(&mut stream, expected.len()).await;
            assert_eq!(String::from_utf8(reply).unwrap(), expected);
        }
        stream.shutdown().await.unwrap();
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        let summary = server.stop().await;
        assert_eq!((summary.accepted, summary.completed), (1, 1), "{summary}");
    })
    .await;
}

/// 200 concurrent clients × 100 request/reply messages each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_clients_times_one_hundred_messages() {
    within(60, "200 x 100", async {
        let server = InProcess::start(ServerConfig::default()).await;
        let addr = server.addr;
        let clients: Vec<_> = (0..200)
            .map(|c| {
                tokio::spawn(async move {
                    let mut stream = connect(addr).await;
                    for m in 0..100 {
                        let message = format!("client {c} message {m} ß\n");
                        stream.write_all(message.as_bytes()).await.unwrap();
                        let expected = message.to_uppercase();
                        let reply = read_n(&mut stream, expected.len()).await;
                        assert_eq!(reply, expected.as_bytes());
                    }
                    stream.shutdown().await.unwrap();
                    assert_eq!(stream.read(&mut [0; 16]).await.unwrap(), 0);
                })
            })
            .collect();
        for client in clients {
            client.await.unwrap();
        }
        let summary = server.stop().await;
        assert_eq!(
            (summary.accepted, summary.completed),
            (200, 200),
            "{summary}"
        );
    })
    .await;
}

/// One byte per write: every ASCII byte is answered at once; a multi-byte
/// character is answered as soon as its last byte arrives, never before.
#[tokio::test]
async fn one_byte_at_a_time() {
    within(20, "one byte at a time", async {
        let server = InProcess::start(ServerConfig::default()).await;
        let mut stream = connect(server.addr).await;
        let text = "a straße ΐ ﬃ 😀 𐐨 end";
        let mut answered = 0;
        for (i, byte) in text.bytes().enumerate() {
            stream.write_all(&[byte]).await.unwrap();
            let sent = &text.as_bytes()[..=i];
            // Everything up to the last complete character is due now.
            let complete = match std::str::from_utf8(sent) {
                Ok(s) => s,
                Err(e) => std::str::from_utf8(&sent[..e.valid_up_to()]).unwrap(),
            };
            let due = complete.to_uppercase();
            let got = read_n(&mut stream, due.len() - answered).await;
            assert_eq!(got, &due.as_bytes()[answered..], "after byte {i}");
            answered = due.len();
        }
        stream.shutdown().await.unwrap();
        assert_eq!(stream.read(&mut [0; 16]).await.unwrap(), 0);
        server.stop().await;
    })
    .await;
}

/// Ill-formed bytes sent one at a time are answered the same as in one go.
#[tokio::test]
async fn one_byte_at_a_time_ill_formed() {
    within(20, "one byte at a time, ill-formed", async {
        for invalid in [
            InvalidUtf8::PassThrough,
            InvalidUtf8::Replace,
            InvalidUtf8::Reject,
        ] {
            let server = InProcess::start(unicode(invalid)).await;
            let input = b"ok \xE2\x82 \xF0\x9F\x98\x80 \xED\xA0\x80 \xC0\xAF \xFF ss \xF0\x9F";
            let mut stream = connect(server.addr).await;
            for &byte in input {
                if stream.write_all(&[byte]).await.is_err() {
                    break; // reject closed on us
                }
                tokio::task::yield_now().await;
            }
            let _ = stream.shutdown().await;
            let mut got = Vec::new();
            stream.read_to_end(&mut got).await.unwrap();
            assert_same(
                &got,
                &oracle(Casing::Unicode, invalid, input),
                &format!("{invalid:?}"),
            );
            server.stop().await;
        }
    })
    .await;
}

/// Empty connections: half-closed at once, or closed without a byte.
#[tokio::test]
async fn empty_connections() {
    within(10, "empty connections", async {
        let server = InProcess::start(ServerConfig::default()).await;
        assert_eq!(round_trip(server.addr, b"").await, b"");
        drop(connect(server.addr).await);
        // And the server is still fine afterwards.
        assert_eq!(round_trip(server.addr, b"after").await, b"AFTER");
        let summary = server.stop().await;
        assert_eq!(summary.accepted, 3, "{summary}");
        assert_eq!(summary.completed + summary.resets, 3, "{summary}");
        assert_eq!((summary.bytes_in, summary.bytes_out), (5, 5), "{summary}");
    })
    .await;
}

/// Reject: the valid prefix is sent, then the server closes cleanly (FIN,
/// not a reset), even though the client goes on writing.
#[tokio::test]
async fn reject_sends_valid_prefix_then_closes() {
    within(10, "reject", async {
        let server = InProcess::start(unicode(InvalidUtf8::Reject)).await;
        let mut stream = connect(server.addr).await;
        stream.write_all("grüße \u{390}".as_bytes()).await.unwrap();
        stream.write_all(b" bad \xC3\x28 never seen").await.unwrap();
        // Keep writing after the error; the server discards it.
        for _ in 0..20 {
            stream.write_all(b"more input ").await.unwrap();
        }
        stream.shutdown().await.unwrap();
        let mut got = Vec::new();
        stream.read_to_end(&mut got).await.unwrap();
        assert_eq!(
            String::from_utf8(got).unwrap(),
            "GRÜSSE \u{399}\u{308}\u{301} BAD "
        );

        // A sequence cut off by the end of the stream is rejected at finish.
        let got = round_trip(server.addr, b"abc \xF0\x9F\x98").await;
        assert_eq!(got, b"ABC ");
        let summary = server.stop().await;
        assert_eq!(summary.invalid_utf8, 2, "{summary}");
        assert_eq!(summary.resets, 0, "{summary}");
    })
    .await;
}

/// The server closes a connection that sent nothing for the idle timeout,
/// and leaves a slow but steady one alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_timeout_closes_quiet_connections_only() {
    within(20, "idle timeout", async {
        let mut config = ServerConfig::default();
        config.idle_timeout = Some(Duration::from_millis(300));
        let server = InProcess::start(config).await;

        let mut quiet = connect(server.addr).await;
        quiet.write_all(b"hi").await.unwrap();
        assert_eq!(read_n(&mut quiet, 2).await, b"HI");
        let started = tokio::time::Instant::now();

        let mut steady = connect(server.addr).await;
        for _ in 0..8 {
            steady.write_all(b"tick").await.unwrap();
            assert_eq!(read_n(&mut steady, 4).await, b"TICK");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // 800 ms of activity: the steady one is still open, the quiet one is not.
        assert!(common::closed_within(&mut quiet, Duration::from_secs(3)).await);
        assert!(started.elapsed() >= Duration::from_millis(250));
        steady.write_all(b"still here").await.unwrap();
        assert_eq!(read_n(&mut steady, 10).await, b"STILL HERE");
        drop(steady);

        let summary = server.stop().await;
        assert_eq!(summary.idle_timeouts, 1, "{summary}");
    })
    .await;
}
