//! What the server did: the [`Summary`] that [`run`](super::run) returns.
//! Which close reason lands in which field is the table in `close.rs`.

use std::fmt;

use super::close::KINDS;

/// Counts of what a [`run`](super::run) did, returned when it ends and
/// logged at shutdown. Every accepted connection is counted in exactly one
/// of the close reasons (`completed` … `panics`, `over_ip_limit` …
/// `too_slow`): [`Summary::closed`] is their sum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// Connections accepted.
    pub accepted: u64,
    /// Bytes read from clients and fed to the codec.
    pub bytes_in: u64,
    /// Bytes written to clients.
    pub bytes_out: u64,
    /// Closed after the client half-closed and got every byte answered.
    pub completed: u64,
    /// Closed on ill-formed UTF-8 under the reject policy (valid prefix
    /// sent); the metrics' `upcase_errors_total{kind="invalid_utf8"}`.
    pub invalid_utf8: u64,
    /// Closed because the client sent nothing for the idle timeout.
    pub idle_timeouts: u64,
    /// Closed because the client read none of our output for the idle timeout.
    pub write_stalls: u64,
    /// Reset or broken by the peer.
    pub resets: u64,
    /// Closed on any other I/O error.
    pub io_errors: u64,
    /// Still open when the drain timeout ran out, and closed by the server.
    pub closed_at_drain: u64,
    /// Connection tasks that panicked (a bug; the server carries on).
    pub panics: u64,
    /// Closed at once: the client address already had
    /// [`max_connections_per_ip`](super::ServerConfig::max_connections_per_ip) open.
    pub over_ip_limit: u64,
    /// Closed because the PROXY protocol header was malformed, too long or
    /// cut short by the client's close.
    pub proxy_header_errors: u64,
    /// Closed because no complete PROXY protocol header arrived within
    /// [`proxy_header_timeout`](super::ServerConfig::proxy_header_timeout).
    pub proxy_header_timeouts: u64,
    /// Closed at once: accepted at
    /// [`max_connections`](super::ServerConfig::max_connections) with no
    /// idle connection to close in its place.
    pub over_capacity: u64,
    /// Closed at once under `--proxy-protocol`: the peer is not in
    /// [`proxy_from`](super::ServerConfig::proxy_from).
    pub untrusted_proxy: u64,
    /// Closed under pressure: idle longer than the shrunk idle timeout, or
    /// the longest-idle when a new client needed the slot.
    pub evicted: u64,
    /// Closed for moving fewer bytes than
    /// [`min_rate`](super::ServerConfig::min_rate) over its window.
    pub too_slow: u64,
    /// Closed because the TLS handshake failed or timed out.
    pub tls_handshake_failures: u64,
    /// Failed accepts (each one retried).
    pub accept_errors: u64,
    /// Times the connection limit was reached.
    pub limit_reached: u64,
}

impl Summary {
    /// Connections that have closed, whatever the reason.
    pub fn closed(&self) -> u64 {
        let mut copy = *self;
        KINDS.iter().map(|kind| *(kind.summary)(&mut copy)).sum()
    }
}

/// One `key=value` line, easy to grep in logs.
impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "accepted={} bytes_in={} bytes_out={}",
            self.accepted, self.bytes_in, self.bytes_out
        )?;
        let mut copy = *self;
        for kind in &KINDS {
            write!(f, " {}={}", kind.key, (kind.summary)(&mut copy))?;
        }
        write!(
            f,
            " accept_errors={} limit_reached={}",
            self.accept_errors, self.limit_reached
        )
    }
}
