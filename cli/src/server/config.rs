//! [`ServerConfig`]: what the server does, separate from how flags spell it.

use std::time::Duration;

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
    /// Most connections served at once. At the limit the server stops
    /// accepting (clients wait in the listen backlog) until one closes.
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
    /// TLS on every listener (after the PROXY header, if any); `None`
    /// (the default) serves plain TCP.
    pub tls: Option<TlsServer>,
}

impl ServerConfig {
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
/// (5 s header timeout when on), no per-address limit, no metrics, no TLS.
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
            tls: None,
        }
    }
}
