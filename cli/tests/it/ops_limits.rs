//! `--max-connections-per-ip`: over the limit a connection is closed at once
//! and counted; a closed connection frees its slot; with `--proxy-protocol`
//! the limit applies to the address the header names, not the proxy's.

use crate::common;
use std::net::SocketAddr;
use std::time::Duration;

use crate::common::{closed_within, connect, read_n, within, InProcess, ServerProcess};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use upcase::{Casing, Config, InvalidUtf8};
use upcase_cli::server::ServerConfig;

/// A v1 header naming `client`.
fn v1(client: &str, server: SocketAddr) -> Vec<u8> {
    common::proxy_v1(client.parse().unwrap(), server)
}

/// Proves the connection is being served: one message and its answer.
async fn served(stream: &mut TcpStream) {
    stream.write_all(b"ping").await.unwrap();
    assert_eq!(read_n(stream, 4).await, b"PING");
}

/// Finishes a served connection cleanly.
async fn finish(mut stream: TcpStream) {
    stream.shutdown().await.unwrap();
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty());
}

fn config(per_ip: u32, proxy: bool) -> ServerConfig {
    let mut config = ServerConfig::new(Config::new(Casing::Unicode, InvalidUtf8::PassThrough));
    config.max_connections_per_ip = Some(per_ip);
    config.proxy_protocol = proxy;
    config
}

#[tokio::test]
async fn over_the_limit_is_closed_at_once_and_counted() {
    let server = InProcess::start(config(2, false)).await;
    let addr = server.addr;
    within(20, "per-address limit", async {
        let mut a = connect(addr).await;
        let mut b = connect(addr).await;
        served(&mut a).await;
        served(&mut b).await;
        // The third from 127.0.0.1 is closed without an answer.
        for _ in 0..3 {
            let mut c = connect(addr).await;
            let _ = c.write_all(b"ping").await;
            assert!(
                closed_within(&mut c, Duration::from_secs(2)).await,
                "not closed"
            );
        }
        // The first two are unaffected; closing one frees a slot.
        served(&mut a).await;
        finish(a).await;
        // The server notices the close asynchronously: retry briefly.
        let mut d = loop {
            let mut d = connect(addr).await;
            d.write_all(b"ping").await.unwrap();
            let mut buf = [0u8; 4];
            match tokio::time::timeout(Duration::from_secs(2), d.read_exact(&mut buf)).await {
                Ok(Ok(_)) => {
                    assert_eq!(&buf, b"PING");
                    break d;
                }
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        };
        served(&mut d).await;
        served(&mut b).await;
        finish(b).await;
        finish(d).await;
    })
    .await;
    let summary = within(20, "stop", server.stop()).await;
    assert!(summary.over_ip_limit >= 3, "{summary}");
    assert_eq!(summary.completed, 3, "{summary}");
    assert_eq!(summary.accepted, summary.closed(), "{summary}");
}

#[tokio::test]
async fn with_proxy_protocol_the_limit_is_per_real_client() {
    let server = InProcess::start(config(2, true)).await;
    let addr = server.addr;
    within(20, "per-address limit behind a proxy", async {
        // All sockets come from 127.0.0.1; the headers name the clients.
        let mut open = Vec::new();
        for client in [
            "198.51.100.1:1001",
            "198.51.100.1:1002",
            "198.51.100.2:2001",
        ] {
            let mut stream = connect(addr).await;
            stream.write_all(&v1(client, addr)).await.unwrap();
            served(&mut stream).await;
            open.push(stream);
        }
        // A third from 198.51.100.1 is over its limit…
        let mut over = connect(addr).await;
        over.write_all(&v1("198.51.100.1:1003", addr))
            .await
            .unwrap();
        assert!(
            closed_within(&mut over, Duration::from_secs(2)).await,
            "not closed"
        );
        // …a second from 198.51.100.2 is not.
        let mut fine = connect(addr).await;
        fine.write_all(&v1("198.51.100.2:2002", addr))
            .await
            .unwrap();
        served(&mut fine).await;
        open.push(fine);
        for stream in open {
            finish(stream).await;
        }
    })
    .await;
    let summary = within(20, "stop", server.stop()).await;
    assert_eq!(
        (summary.over_ip_limit, summary.completed),
        (1, 4),
        "{summary}"
    );
}

#[tokio::test]
async fn the_flag_limits_the_binary() {
    let server =
        ServerProcess::start(&["--listen", "127.0.0.1:0", "--max-connections-per-ip", "1"]);
    let addr = server.addr();
    within(20, "binary per-address limit", async {
        let mut first = connect(addr).await;
        served(&mut first).await;
        let mut second = connect(addr).await;
        assert!(
            closed_within(&mut second, Duration::from_secs(2)).await,
            "not closed"
        );
        server
            .wait_log(
                "over the per-address connection limit",
                Duration::from_secs(5),
            )
            .await;
        finish(first).await;
    })
    .await;
    let (status, stderr) = common::run_to_exit(&["serve", "--max-connections-per-ip", "0"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
}
