//! [`ServerConfig`]: what the server does, separate from how flags spell it.

use std::time::Duration;

use super::cidr::Cidr;
use super::{Metrics, TlsServer};
use upcase::Config;

/// Everything [`run`](super::run) needs besides its listeners and its
/// shutdown signal.
///
/// A library type rather than the clap struct, so tests and embedders can
/// build one directly (`ServerConfig::new(codec)` then set fields).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// How each connection's byte stream is uppercased.
    pub codec: Config,
    /// Most connections served at once. Above 90% of it the idle timeout
    /// shrinks (see `docs/operations.md`, "Hardening"); at the limit a new
    /// client takes the slot of the longest-idle connection (idle ≥ 1 s) or
    /// of the address holding the most, or is closed at once and counted.
    /// Values below 1 are treated as 1.
    pub max_connections: usize,
    /// Close a connection that made no progress for this long: the client
    /// sent nothing, or (while output is pending) accepted none of it.
    /// `None` never closes an idle connection.
    pub idle_timeout: Option<Duration>,
    /// After shutdown is requested, how long open connections may go on
    /// before the server closes them.
    pub drain_timeout: Duration,
    /// Require a PROXY protocol header (v1 or v2) at the start of every
    /// connection and use the client address it names for logs and the
    /// per-address limit. Only for listeners that nothing but a trusted
    /// proxy can reach: whoever sends the header chooses the address.
    pub proxy_protocol: bool,
    /// With [`proxy_protocol`](Self::proxy_protocol): close a connection
    /// whose complete header has not arrived within this long.
    pub proxy_header_timeout: Duration,
    /// Most connections open at once from one client address; a connection
    /// over it is closed at once and counted. `None` is unlimited.
    pub max_connections_per_ip: Option<u32>,
    /// Where to count what the server does for Prometheus; `None` (the
    /// default) keeps no metrics at all.
    pub metrics: Option<Metrics>,
    /// Close a connection that moves (reads plus writes) fewer than this
    /// many bytes per second over [`min_rate_window`](Self::min_rate_window):
    /// catches clients that trickle a byte now and then to dodge the idle
    /// timeout. `None` (the default) is off.
    pub min_rate: Option<u64>,
    /// The window [`min_rate`](Self::min_rate) is measured over; a
    /// connection younger than it is never checked.
    pub min_rate_window: Duration,
    /// `SO_SNDBUF` of every accepted socket, in bytes (the kernel doubles
    /// it for its bookkeeping); bounds the kernel memory a client that
    /// never reads can pin. `None` leaves the kernel's autotuning.
    pub send_buffer: Option<usize>,
    /// `SO_RCVBUF` of every accepted socket, in bytes (doubled by the
    /// kernel too): bounds what a client can queue in the kernel while the
    /// server waits for it to read. `None` (the default) leaves the kernel's
    /// autotuning: capping it stalled streams on a loaded host (see
    /// `docs/operations.md`, "Hardening").
    pub receive_buffer: Option<usize>,
    /// With [`proxy_protocol`](Self::proxy_protocol): the networks PROXY
    /// headers are believed from; a connection from any other peer is
    /// closed at once and counted. Empty means loopback only.
    pub proxy_from: Vec<Cidr>,
    /// TLS on every listener (after the PROXY header, if any); `None`
    /// (the default) serves plain TCP.
    pub tls: Option<TlsServer>,
}

impl ServerConfig {
    /// Whether a PROXY header from `peer` is believed: it is in
    /// [`proxy_from`](Self::proxy_from), or loopback if that is empty.
    pub fn trusts_proxy(&self, peer: std::net::IpAddr) -> bool {
        if self.proxy_from.is_empty() {
            return Cidr::loopback().iter().any(|net| net.contains(peer));
        }
        self.proxy_from.iter().any(|net| net.contains(peer))
    }

    /// The defaults of `upcase serve` with the given codec configuration.
    pub fn new(codec: Config) -> Self {
        Self {
            codec,
            ..Self::default()
        }
    }
}

/// The defaults of `upcase serve`: Unicode casing, pass-through, 10,000
/// connections, 300 s idle timeout, 10 s drain timeout, no PROXY protocol
/// (5 s header timeout when on, headers from loopback only), no
/// per-address limit, no metrics, no minimum rate (10 s window when on),
/// 256 KiB socket send buffers, receive buffers left to the kernel, no TLS.
impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            codec: Config::default(),
            max_connections: 10_000,
            idle_timeout: Some(Duration::from_secs(300)),
            drain_timeout: Duration::from_secs(10),
            proxy_protocol: false,
            proxy_header_timeout: Duration::from_secs(5),
            max_connections_per_ip: None,
            metrics: None,
            min_rate: None,
            min_rate_window: Duration::from_secs(10),
            send_buffer: Some(256 * 1024),
            receive_buffer: None,
            proxy_from: Vec::new(),
            tls: None,
        }
    }
}
