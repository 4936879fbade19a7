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
//! With `--tls-cert PEM --tls-key PEM` it is a tokio-rustls echo server
//! (same rustls configuration as `upcase serve --tls-cert`: TLS 1.2 and
//! 1.3, the `ring` provider): the ceiling for `upcase serve` over TLS, which
//! `benches/tls.sh` measures against.
//!
//! ```sh
//! cargo run --release -p upcase-cli --example echo -- --listen 127.0.0.1:0   # logs "listening on ADDR"
//! cargo run --release -p upcase-cli --example echo -- --listen 127.0.0.1:0 --tls-cert server.pem --tls-key server.key
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Bytes read (and written back) at a time, per connection.
const BUF_LEN: usize = 64 * 1024;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut listen: SocketAddr = "127.0.0.1:12001".parse().expect("valid default");
    let (mut cert, mut key): (Option<PathBuf>, Option<PathBuf>) = (None, None);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--tls-cert", Some(path)) => cert = Some(path.into()),
            ("--tls-key", Some(path)) => key = Some(path.into()),
            ("--listen", Some(addr)) => {
                listen = addr.parse().map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("invalid --listen address '{addr}'"),
                    )
                })?;
            }
            _ => {
                eprintln!("usage: echo [--listen IP:PORT] [--tls-cert PEM --tls-key PEM]");
                std::process::exit(2);
            }
        }
    }
    let tls = match (cert, key) {
        (Some(cert), Some(key)) => Some(acceptor(&cert, &key).unwrap_or_else(|message| {
            eprintln!("echo: {message}");
            std::process::exit(2);
        })),
        (None, None) => None,
        _ => {
            eprintln!("echo: --tls-cert and --tls-key go together");
            std::process::exit(2);
        }
    };
    let listener = TcpListener::bind(listen).await?;
    // One write for the whole line: stderr is unbuffered, and a script
    // polling for this line must never see the address without its port.
    let tag = if tls.is_some() { " (tls)" } else { "" };
    let line = format!("listening on {}{tag}\n", listener.local_addr()?);
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
        let _ = stream.set_nodelay(true);
        match &tls {
            None => tokio::spawn(echo(stream)),
            Some(acceptor) => {
                let accept = acceptor.accept(stream);
                tokio::spawn(async move {
                    if let Ok(stream) = accept.await {
                        echo(stream).await;
                    }
                })
            }
        };
    }
}

/// The TLS acceptor for `cert` and `key` (PEM), or a one-line error.
fn acceptor(cert: &std::path::Path, key: &std::path::Path) -> Result<TlsAcceptor, String> {
    use upcase_cli::tls::{load_certs, load_key, provider, VERSIONS};
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)
        .map_err(|err| err.to_string())?
        .with_no_client_auth()
        .with_single_cert(load_certs("--tls-cert", cert)?, load_key("--tls-key", key)?)
        .map_err(|err| format!("--tls-cert/--tls-key: {err}"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Echoes until the client half-closes, then closes our side too.
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) {
    let mut buf = vec![0u8; BUF_LEN];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => {
                let _ = stream.shutdown().await;
                return;
            }
            Ok(n) => {
                // TLS holds the last record until flushed (TCP: no-op).
                if stream.write_all(&buf[..n]).await.is_err() || stream.flush().await.is_err() {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}
