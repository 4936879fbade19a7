//! `upcase serve`: the uppercasing TCP server on Tokio.
//!
//! Every connection is one uppercasing stream for as long as the client
//! likes: any number of messages, answered as they arrive, until the client
//! half-closes. [`run`] is the whole server minus the process: give it bound
//! listeners, a [`ServerConfig`] and a future that resolves when it should
//! stop, and it returns a [`Summary`]. The binary adds flags, logging and
//! signals ([`main`]).
//!
//! ```text
//!  listeners ──▶ accept loop ──(permit from the --max-connections semaphore)──▶ task per connection
//!                   │  errors: log, back off 10 ms…1 s, retry forever           read ≤ 32 KiB → Codec::feed
//!  shutdown ──▶ stop accepting, drain up to --drain-timeout, close the rest      → write it all → read again
//! ```
//!
//! * `accept.rs` — the accept loop: limit, backoff, spawning connections.
//! * `connection.rs` — one connection's read → feed → write loop.
//! * `shutdown.rs` — draining open connections; signal handling for the binary.
//! * `proxy_header.rs` — `--proxy-protocol`: the PROXY header before the codec.
//! * `per_ip.rs` — `--max-connections-per-ip`.
//! * `slots.rs` — pressure: the shrinking idle timeout, eviction at the limit, `--min-rate`.
//! * `cidr.rs` — `--proxy-from` networks.
//! * `metrics.rs` — `--metrics`: the Prometheus [`Metrics`] and their endpoint.
//! * `summary.rs` — the [`Summary`] of a run.
//! * `stats.rs` — the shared counters: summary and metrics.
//! * `close.rs` — why connections close, and the table of where each reason is counted.
//! * `read_buf.rs` — the per-thread read buffer and spare output buffer.
//! * `rate_limit.rs` — log lines a client can trigger, at most one per 10 s.
//! * `bind.rs` — binding listeners and wording startup errors.
//! * `cli.rs` — [`ServeArgs`] and [`main`].
//! * `config.rs` — [`ServerConfig`].
//! * `tls.rs` — `--tls-cert`: the handshake, SIGHUP reload, TLS metrics.

mod accept;
mod bind;
mod cidr;
mod cli;
mod close;
mod config;
mod connection;
pub mod metrics;
mod per_ip;
mod proxy_header;
mod rate_limit;
mod read_buf;
mod shutdown;
mod slots;
mod stats;
mod summary;
mod tls;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tracing::{info, warn};

pub use bind::bind;
pub use cidr::Cidr;
pub use cli::{main, ServeArgs};
pub use config::ServerConfig;
pub use metrics::Metrics;
pub use summary::Summary;
pub use tls::{TlsServeArgs, TlsServer};

/// Serves on `listeners` until `shutdown` resolves, then drains open
/// connections for up to [`ServerConfig::drain_timeout`] and returns what
/// happened.
///
/// This is the server without the process around it, so tests and embedders
/// can run it in their own runtime (it must be called inside a Tokio
/// runtime). It never fails: a failed accept is retried, a failed connection
/// is logged and counted. Listeners are closed as soon as `shutdown`
/// resolves, so new clients are refused while the open ones finish.
pub async fn run<L, F>(listeners: L, config: ServerConfig, shutdown: F) -> Summary
where
    L: IntoIterator<Item = TcpListener>,
    F: Future,
{
    let listeners: Vec<TcpListener> = listeners.into_iter().collect();
    for listener in &listeners {
        match listener.local_addr() {
            Ok(addr) => {
                let tls = if config.tls.is_some() { " (tls)" } else { "" };
                info!("listening on {addr}{tls}");
                if !addr.ip().is_loopback() {
                    warn!("{addr} is not a loopback address: other hosts can connect");
                }
                if config.proxy_protocol {
                    info!(
                        "{addr} requires a PROXY protocol header on every connection, \
                         believed only from {}",
                        trusted_networks(&config)
                    );
                }
            }
            Err(err) => warn!("listening on a socket without a local address: {err}"),
        }
        set_buffer_sizes(listener, &config);
    }

    if let Some(rate) = config.min_rate {
        info!(
            "closing connections that move under {rate} bytes/s over {:?} (--min-rate)",
            config.min_rate_window
        );
    }
    let per_ip = config.max_connections_per_ip.map(per_ip::PerIpLimit::new);
    let stats = Arc::new(stats::Stats::new(config.metrics.clone()));
    let config = Arc::new(config);
    let mut connections = JoinSet::new();
    accept::accept_until(
        listeners,
        &config,
        &stats,
        per_ip.as_ref(),
        &mut connections,
        pin!(shutdown),
    )
    .await;
    shutdown::drain(&mut connections, config.drain_timeout).await;

    let summary = stats.snapshot();
    info!("server stopped: {summary}");
    summary
}

/// The `--proxy-from` networks as the startup log names them.
fn trusted_networks(config: &ServerConfig) -> String {
    let networks = if config.proxy_from.is_empty() {
        Cidr::loopback()
    } else {
        config.proxy_from.clone()
    };
    let names: Vec<String> = networks.iter().map(Cidr::to_string).collect();
    names.join(", ")
}

/// `--send-buffer` and `--receive-buffer`, set on the listener so that
/// every accepted socket inherits them from its first segment: the window
/// it advertises is then sized for its buffer from the start (shrinking
/// `SO_RCVBUF` after the handshake can leave an advertised window the buffer
/// cannot hold, and the kernel drops and waits for retransmits).
fn set_buffer_sizes(listener: &TcpListener, config: &ServerConfig) {
    let socket = socket2::SockRef::from(listener);
    if let Some(bytes) = config.send_buffer {
        if let Err(err) = socket.set_send_buffer_size(bytes) {
            warn!("cannot set the send buffer size (SO_SNDBUF) to {bytes}: {err}");
        }
    }
    if let Some(bytes) = config.receive_buffer {
        if let Err(err) = socket.set_recv_buffer_size(bytes) {
            warn!("cannot set the receive buffer size (SO_RCVBUF) to {bytes}: {err}");
        }
    }
}
