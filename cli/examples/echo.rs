//! A plain Tokio echo server: the reference ceiling for `upcase serve`.
//!
//! Each connection reads into its own 64 KiB buffer and writes back what it
//! read, nothing else: no transform, no limits, no timeouts. Whatever an
//! uppercasing server does on top costs time, so `upcase bench --expect echo`
//! against this server is the best any transform server can do over loopback
//! on this machine, and `benches/compare.sh` reports upcase as a ratio of it.
//!
//! It uses the same runtime as `upcase serve` (multi-threaded, one worker per
//! core) and, like it, sets `TCP_NODELAY`.
//!
//! ```sh
//! cargo run --release -p upcase-cli --example echo -- --listen 127.0.0.1:0   # logs "listening on ADDR"
//! ```

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Bytes read (and written back) at a time, per connection.
const BUF_LEN: usize = 64 * 1024;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut listen: SocketAddr = "127.0.0.1:12001".parse().expect("valid default");
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--listen", Some(addr)) => {
                listen = addr.parse().map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("invalid --listen address '{addr}'"),
                    )
                })?;
            }
            _ => {
                eprintln!("usage: echo [--listen IP:PORT]");
                std::process::exit(2);
            }
        }
    }
    let listener = TcpListener::bind(listen).await?;
    // One write for the whole line: stderr is unbuffered, and a script
    // polling for this line must never see the address without its port.
    let line = format!("listening on {}\n", listener.local_addr()?);
    std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes())?;
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of descriptors and the like: keep serving the others.
            Err(err) => {
                eprintln!("accept: {err}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        tokio::spawn(echo(stream));
    }
}

/// Echoes until the client half-closes, then closes our side too.
async fn echo(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; BUF_LEN];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => {
                let _ = stream.shutdown().await;
                return;
            }
            Ok(n) => {
                if stream.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}
