//! What the server did: the [`Summary`] that [`run`](super::run) returns,
//! the shared counters behind it and why each connection closed.

use std::fmt;
use std::io;
use std::sync::{Mutex, PoisonError};

use super::metrics::Metrics;
use upcase::proxy::ProxyError;
use upcase::CodecError;

/// Counts of what a [`run`](super::run) did, returned when it ends and
/// logged at shutdown. Every accepted connection is counted in exactly one
/// of the close reasons (`completed` … `panics`, `over_ip_limit` …
/// `proxy_header_timeouts`).
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
    /// Closed on ill-formed UTF-8 under the reject policy (valid prefix sent).
    pub rejected: u64,
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
    /// Closed because the TLS handshake failed or timed out.
    pub tls_handshake_failures: u64,
    /// Failed accepts (each one retried).
    pub accept_errors: u64,
    /// Times the connection limit was reached and accepting paused.
    pub limit_reached: u64,
}

impl Summary {
    /// Connections that have closed, whatever the reason.
    pub fn closed(&self) -> u64 {
        self.completed
            + self.rejected
            + self.idle_timeouts
            + self.write_stalls
            + self.resets
            + self.io_errors
            + self.closed_at_drain
            + self.panics
            + self.over_ip_limit
            + self.proxy_header_errors
            + self.proxy_header_timeouts
            + self.tls_handshake_failures
    }
}

/// One `key=value` line, easy to grep in logs.
impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "accepted={} bytes_in={} bytes_out={} completed={} rejected={} idle_timeouts={} \
             write_stalls={} resets={} io_errors={} closed_at_drain={} panics={} \
             accept_errors={} limit_reached={} over_ip_limit={} proxy_header_errors={} \
             proxy_header_timeouts={} tls_handshake_failures={}",
            self.accepted,
            self.bytes_in,
            self.bytes_out,
            self.completed,
            self.rejected,
            self.idle_timeouts,
            self.write_stalls,
            self.resets,
            self.io_errors,
            self.closed_at_drain,
            self.panics,
            self.accept_errors,
            self.limit_reached,
            self.over_ip_limit,
            self.proxy_header_errors,
            self.proxy_header_timeouts,
            self.tls_handshake_failures,
        )
    }
}

/// Why a connection closed.
#[derive(Debug)]
pub(super) enum CloseReason {
    /// The client half-closed; everything was answered.
    Completed,
    /// Ill-formed UTF-8 under the reject policy.
    Rejected(CodecError),
    /// Nothing received for the idle timeout.
    IdleTimeout,
    /// Output not accepted by the client for the idle timeout.
    WriteStalled,
    /// Reset or broken pipe from the peer.
    Reset(io::Error),
    /// Any other I/O error.
    Io(io::Error),
    /// Dropped without a reason: the drain timeout ran out.
    Aborted,
    /// The connection task panicked.
    Panicked,
    /// The client address is at its per-address connection limit.
    OverIpLimit,
    /// The PROXY protocol header was invalid or cut short.
    ProxyHeader(ProxyError),
    /// No complete PROXY protocol header within the timeout.
    ProxyTimeout,
    /// The TLS handshake failed or timed out.
    TlsHandshake(super::tls::HandshakeFailure),
}

impl CloseReason {
    /// Sorts an I/O error into a peer reset or anything else.
    pub(super) fn io(err: io::Error) -> Self {
        match err.kind() {
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted => Self::Reset(err),
            _ => Self::Io(err),
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Completed => f.write_str("client closed, all answered"),
            Self::Rejected(err) => write!(f, "rejected: {err}"),
            Self::IdleTimeout => f.write_str("idle timeout"),
            Self::WriteStalled => f.write_str("client stopped reading (idle timeout)"),
            Self::Reset(err) => write!(f, "reset by peer: {err}"),
            Self::Io(err) => write!(f, "I/O error: {err}"),
            Self::Aborted => f.write_str("closed at the drain timeout"),
            Self::Panicked => f.write_str("connection task panicked"),
            Self::OverIpLimit => f.write_str("over the per-address connection limit"),
            Self::ProxyHeader(err) => write!(f, "bad PROXY header: {err}"),
            Self::ProxyTimeout => f.write_str("no PROXY header within the timeout"),
            Self::TlsHandshake(failure) => failure.fmt(f),
        }
    }
}

/// The counters shared by the accept loop and every connection, and the
/// Prometheus metrics when they are on. A mutex is plenty: it is taken once
/// per accept and once per close.
#[derive(Debug, Default)]
pub(super) struct Stats {
    summary: Mutex<Summary>,
    metrics: Option<Metrics>,
}

impl Stats {
    pub(super) fn new(metrics: Option<Metrics>) -> Self {
        Self {
            summary: Mutex::default(),
            metrics,
        }
    }

    /// The live metrics, if `--metrics` is on.
    pub(super) fn metrics(&self) -> Option<&Metrics> {
        self.metrics.as_ref()
    }

    fn update(&self, f: impl FnOnce(&mut Summary)) {
        f(&mut self.summary.lock().unwrap_or_else(PoisonError::into_inner));
    }

    pub(super) fn accepted(&self) {
        self.update(|s| s.accepted += 1);
        if let Some(metrics) = &self.metrics {
            metrics.accepted();
        }
    }

    pub(super) fn accept_error(&self) {
        self.update(|s| s.accept_errors += 1);
        if let Some(metrics) = &self.metrics {
            metrics.accept_error();
        }
    }

    pub(super) fn limit_reached(&self) {
        self.update(|s| s.limit_reached += 1);
        if let Some(metrics) = &self.metrics {
            metrics.limit_reached();
        }
    }

    /// Counts a close in the summary. Metrics count bytes as they flow and
    /// the close in the tracker, which knows the duration.
    pub(super) fn closed(&self, reason: &CloseReason, bytes_in: u64, bytes_out: u64) {
        self.update(|s| {
            s.bytes_in += bytes_in;
            s.bytes_out += bytes_out;
            *match reason {
                CloseReason::Completed => &mut s.completed,
                CloseReason::Rejected(_) => &mut s.rejected,
                CloseReason::IdleTimeout => &mut s.idle_timeouts,
                CloseReason::WriteStalled => &mut s.write_stalls,
                CloseReason::Reset(_) => &mut s.resets,
                CloseReason::Io(_) => &mut s.io_errors,
                CloseReason::Aborted => &mut s.closed_at_drain,
                CloseReason::Panicked => &mut s.panics,
                CloseReason::OverIpLimit => &mut s.over_ip_limit,
                CloseReason::ProxyHeader(_) => &mut s.proxy_header_errors,
                CloseReason::ProxyTimeout => &mut s.proxy_header_timeouts,
                CloseReason::TlsHandshake(_) => &mut s.tls_handshake_failures,
            } += 1;
        });
    }

    pub(super) fn snapshot(&self) -> Summary {
        *self.summary.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
