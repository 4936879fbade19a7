//! Why a connection closed, and the one table that says, for each reason,
//! where it is counted: its [`Summary`] field (also its key in the
//! shutdown log line), its Prometheus series and label, and the level of
//! the connection's closing log line. [`Stats`](super::stats::Stats),
//! [`Metrics`](super::Metrics) and the connection's log call all read it.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use tracing::Level;

use super::summary::Summary;
use upcase::proxy::ProxyError;
use upcase::CodecError;

/// Why a connection closed.
#[derive(Debug)]
pub(super) enum CloseReason {
    /// The client half-closed; everything was answered.
    Completed,
    /// Ill-formed UTF-8 under the reject policy (the valid prefix was sent).
    InvalidUtf8(CodecError),
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
    /// Accepted at `--max-connections` with no idle connection to make
    /// room: closed at once so the client knows.
    OverCapacity,
    /// `--proxy-protocol` and the peer is not in `--proxy-from`.
    UntrustedProxy,
    /// Closed under pressure (near `--max-connections`) for being idle
    /// longer than the shrunk idle timeout, or to make room for a new client.
    Evicted,
    /// Moved fewer bytes than `--min-rate` over `--min-rate-window`.
    TooSlow,
    /// The TLS handshake failed or timed out.
    TlsHandshake(super::tls::HandshakeFailure),
}

/// The Prometheus series a close is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Series {
    /// `upcase_connections_completed_total` (no label).
    Completed,
    /// `upcase_connections_rejected_total{reason}`: refused before being served.
    Rejected,
    /// `upcase_errors_total{kind}`: served, then ended badly.
    Errors,
}

impl Series {
    /// The series' name.
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Completed => "upcase_connections_completed_total",
            Self::Rejected => "upcase_connections_rejected_total",
            Self::Errors => "upcase_errors_total",
        }
    }

    /// The name of the series' label (`None` for the unlabelled one).
    pub(super) fn label_name(self) -> Option<&'static str> {
        match self {
            Self::Completed => None,
            Self::Rejected => Some("reason"),
            Self::Errors => Some("kind"),
        }
    }
}

/// How one close reason is counted and logged.
pub(super) struct CloseKind {
    /// Its counter in the [`Summary`]; its name is [`key`](Self::key).
    pub(super) summary: fn(&mut Summary) -> &mut u64,
    /// The `Summary` field's name, as the shutdown log line spells it.
    pub(super) key: &'static str,
    /// Its Prometheus series and label value (`""` for the unlabelled one).
    pub(super) series: Series,
    pub(super) label: &'static str,
    /// The level of the connection's `closed` log line.
    pub(super) level: Level,
}

/// Every close reason, in [`CloseReason::index`] order.
pub(super) const KINDS: [CloseKind; 16] = [
    kind(
        |s| &mut s.completed,
        "completed",
        Series::Completed,
        "",
        Level::INFO,
    ),
    kind(
        |s| &mut s.invalid_utf8,
        "invalid_utf8",
        Series::Errors,
        "invalid_utf8",
        Level::INFO,
    ),
    kind(
        |s| &mut s.idle_timeouts,
        "idle_timeouts",
        Series::Errors,
        "idle_timeout",
        Level::INFO,
    ),
    kind(
        |s| &mut s.write_stalls,
        "write_stalls",
        Series::Errors,
        "write_stall",
        Level::INFO,
    ),
    kind(
        |s| &mut s.resets,
        "resets",
        Series::Errors,
        "reset",
        Level::DEBUG,
    ),
    kind(
        |s| &mut s.io_errors,
        "io_errors",
        Series::Errors,
        "io",
        Level::WARN,
    ),
    kind(
        |s| &mut s.closed_at_drain,
        "closed_at_drain",
        Series::Errors,
        "drain_timeout",
        Level::INFO,
    ),
    kind(
        |s| &mut s.panics,
        "panics",
        Series::Errors,
        "panic",
        Level::ERROR,
    ),
    kind(
        |s| &mut s.over_ip_limit,
        "over_ip_limit",
        Series::Rejected,
        "per_ip_limit",
        Level::INFO,
    ),
    kind(
        |s| &mut s.proxy_header_errors,
        "proxy_header_errors",
        Series::Rejected,
        "proxy_header",
        Level::WARN,
    ),
    kind(
        |s| &mut s.proxy_header_timeouts,
        "proxy_header_timeouts",
        Series::Rejected,
        "proxy_header_timeout",
        Level::INFO,
    ),
    kind(
        |s| &mut s.over_capacity,
        "over_capacity",
        Series::Rejected,
        "over_capacity",
        Level::DEBUG,
    ),
    kind(
        |s| &mut s.untrusted_proxy,
        "untrusted_proxy",
        Series::Rejected,
        "untrusted_proxy",
        Level::DEBUG,
    ),
    kind(
        |s| &mut s.evicted,
        "evicted",
        Series::Errors,
        "evicted",
        Level::INFO,
    ),
    kind(
        |s| &mut s.too_slow,
        "too_slow",
        Series::Errors,
        "min_rate",
        Level::INFO,
    ),
    kind(
        |s| &mut s.tls_handshake_failures,
        "tls_handshake_failures",
        Series::Rejected,
        "tls_handshake",
        Level::INFO,
    ),
];

const fn kind(
    summary: fn(&mut Summary) -> &mut u64,
    key: &'static str,
    series: Series,
    label: &'static str,
    level: Level,
) -> CloseKind {
    CloseKind {
        summary,
        key,
        series,
        label,
        level,
    }
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

    /// This reason's row in [`KINDS`].
    pub(super) fn index(&self) -> usize {
        match self {
            Self::Completed => 0,
            Self::InvalidUtf8(_) => 1,
            Self::IdleTimeout => 2,
            Self::WriteStalled => 3,
            Self::Reset(_) => 4,
            Self::Io(_) => 5,
            Self::Aborted => 6,
            Self::Panicked => 7,
            Self::OverIpLimit => 8,
            Self::ProxyHeader(_) => 9,
            Self::ProxyTimeout => 10,
            Self::OverCapacity => 11,
            Self::UntrustedProxy => 12,
            Self::Evicted => 13,
            Self::TooSlow => 14,
            Self::TlsHandshake(_) => 15,
        }
    }

    /// How this reason is counted and logged.
    pub(super) fn kind(&self) -> &'static CloseKind {
        &KINDS[self.index()]
    }

    /// Logs the connection's close at the level [`KINDS`] gives.
    pub(super) fn log(
        &self,
        peer: SocketAddr,
        via: impl fmt::Display,
        bytes_in: u64,
        bytes_out: u64,
    ) {
        macro_rules! closed {
            ($level:expr) => {
                tracing::event!($level, %peer, bytes_in, bytes_out, "connection{via} closed: {self}")
            };
        }
        match self.kind().level {
            Level::ERROR => closed!(Level::ERROR),
            Level::WARN => closed!(Level::WARN),
            Level::INFO => closed!(Level::INFO),
            Level::DEBUG => closed!(Level::DEBUG),
            _ => closed!(Level::TRACE),
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Completed => f.write_str("client closed, all answered"),
            Self::InvalidUtf8(err) => write!(f, "rejected: {err}"),
            Self::IdleTimeout => f.write_str("idle timeout"),
            Self::WriteStalled => f.write_str("client stopped reading (idle timeout)"),
            Self::Reset(err) => write!(f, "reset by peer: {err}"),
            Self::Io(err) => write!(f, "I/O error: {err}"),
            Self::Aborted => f.write_str("closed at the drain timeout"),
            Self::Panicked => f.write_str("connection task panicked"),
            Self::OverIpLimit => f.write_str("over the per-address connection limit"),
            Self::ProxyHeader(err) => write!(f, "bad PROXY header: {err}"),
            Self::ProxyTimeout => f.write_str("no PROXY header within the timeout"),
            Self::OverCapacity => f.write_str("at --max-connections, no idle connection to close"),
            Self::UntrustedProxy => f.write_str("not a trusted proxy (--proxy-from)"),
            Self::Evicted => f.write_str("idle under pressure (near --max-connections)"),
            Self::TooSlow => f.write_str("below --min-rate"),
            Self::TlsHandshake(failure) => failure.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row has its own summary field, key and metric; labels are
    /// unique within a series.
    #[test]
    fn the_table_has_one_row_per_reason_and_no_duplicates() {
        for (i, a) in KINDS.iter().enumerate() {
            for b in &KINDS[i + 1..] {
                assert_ne!(a.key, b.key);
                assert!(a.series != b.series || a.label != b.label, "{}", a.key);
            }
            let mut summary = Summary::default();
            *(a.summary)(&mut summary) += 1;
            assert_eq!(summary.closed(), 1, "{}", a.key);
            assert!(
                summary.to_string().contains(&format!(" {}=1", a.key)),
                "{}",
                a.key
            );
        }
    }
}
