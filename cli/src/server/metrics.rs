//! `upcase serve --metrics ADDR`: Prometheus counters for one server, and
//! the tiny HTTP endpoint that serves them.
//!
//! The counters live in a Prometheus recorder of their own
//! (`metrics_exporter_prometheus`), not in the process-wide `metrics`
//! recorder: each [`Metrics`] is one server's, so several servers in one
//! process (tests, embedders) never mix their counts.
//! Every series is registered up front, so a scrape shows zeros rather than
//! missing series, and updating one is an atomic add on a handle.
//!
//! Off by default: without `--metrics` the server holds no [`Metrics`], and
//! each would-be update is one `None` check.
//!
//! The endpoint answers `GET /metrics` (HTTP/1.0 or 1.1, one request per
//! connection) with the text exposition format; it is a few dozen lines on
//! Tokio rather than an HTTP stack, since that is all a Prometheus scrape
//! needs.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, Label, Level, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, warn};

use super::summary::CloseReason;

const METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// Connection duration histogram buckets, in seconds: from a quick
/// exchange to the 300 s default idle timeout and beyond.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];

/// How often histogram samples are folded in when nobody scrapes, so they
/// cannot pile up.
const UPKEEP: Duration = Duration::from_secs(5);

/// A scrape request must arrive within this long, and fit in this many bytes.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_MAX: usize = 8 * 1024;

/// Why a connection was refused before it was served
/// (`upcase_connections_rejected_total{reason}`).
const REJECT_REASONS: [&str; 4] = [
    "per_ip_limit",
    "proxy_header",
    "proxy_header_timeout",
    "tls_handshake",
];

/// Kinds of `upcase_errors_total{kind}`: every way a connection ends badly,
/// plus failed accepts.
const ERROR_KINDS: [&str; 8] = [
    "accept",
    "reset",
    "io",
    "write_stall",
    "idle_timeout",
    "invalid_utf8",
    "drain_timeout",
    "panic",
];

/// The metrics of one server, cheap to clone (one `Arc`).
///
/// | series | type | meaning |
/// |---|---|---|
/// | `upcase_connections_accepted_total` | counter | TCP connections accepted |
/// | `upcase_connections_active` | gauge | connections open now |
/// | `upcase_connections_rejected_total{reason}` | counter | closed before being served: `per_ip_limit`, `proxy_header` (malformed or cut short), `proxy_header_timeout`, `tls_handshake` |
/// | `upcase_connections_completed_total` | counter | closed normally: the client half-closed and got every byte |
/// | `upcase_errors_total{kind}` | counter | `accept` failures, and connections ended by `reset`, `io`, `write_stall`, `idle_timeout`, `invalid_utf8` (reject policy), `drain_timeout`, `panic` |
/// | `upcase_connection_limit_reached_total` | counter | times `--max-connections` paused accepting |
/// | `upcase_bytes_received_total` | counter | payload bytes read (PROXY headers excluded) |
/// | `upcase_bytes_sent_total` | counter | bytes written |
/// | `upcase_invalid_utf8_sequences_total` | counter | ill-formed UTF-8 sequences (maximal subparts) seen under Unicode casing |
/// | `upcase_connection_duration_seconds` | histogram | accept to close, every connection |
/// | `upcase_tls_handshakes_completed_total` | counter | TLS handshakes completed (with `--tls-cert`) |
/// | `upcase_tls_handshakes_failed_total{reason}` | counter | `timeout`, `not_tls`, `no_client_certificate`, `bad_client_certificate`, `client_alert`, `protocol`, `closed` |
///
/// Every accepted connection ends in exactly one of `rejected`, `completed`
/// or a non-`accept` error kind.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    handle: PrometheusHandle,
    accepted: Counter,
    active: Gauge,
    rejected: [Counter; REJECT_REASONS.len()],
    completed: Counter,
    errors: [Counter; ERROR_KINDS.len()],
    limit_reached: Counter,
    bytes_in: Counter,
    bytes_out: Counter,
    invalid_utf8: Counter,
    duration: Histogram,
    tls: super::tls::TlsMetrics,
}

impl Metrics {
    /// Registers every series, all at zero, in a recorder of its own.
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("upcase_connection_duration_seconds".into()),
                DURATION_BUCKETS,
            )
            .expect("non-empty buckets")
            .build_recorder();
        let counter = |name: &'static str, help: &'static str| {
            recorder.describe_counter(name.into(), None, help.into());
            recorder.register_counter(&Key::from_static_name(name), &METADATA)
        };
        let labelled = |name: &'static str, label: &'static str, value: &'static str| {
            let key = Key::from_parts(name, vec![Label::from_static_parts(label, value)]);
            recorder.register_counter(&key, &METADATA)
        };
        recorder.describe_counter(
            "upcase_connections_rejected_total".into(),
            None,
            "Connections closed before being served, by reason.".into(),
        );
        recorder.describe_counter(
            "upcase_errors_total".into(),
            None,
            "Failed accepts and connections that ended badly, by kind.".into(),
        );
        recorder.describe_gauge(
            "upcase_connections_active".into(),
            None,
            "Connections open now.".into(),
        );
        recorder.describe_histogram(
            "upcase_connection_duration_seconds".into(),
            Some(Unit::Seconds),
            "Time from accept to close, per connection.".into(),
        );
        let inner = Inner {
            accepted: counter(
                "upcase_connections_accepted_total",
                "TCP connections accepted.",
            ),
            active: recorder.register_gauge(
                &Key::from_static_name("upcase_connections_active"),
                &METADATA,
            ),
            rejected: REJECT_REASONS
                .map(|reason| labelled("upcase_connections_rejected_total", "reason", reason)),
            completed: counter(
                "upcase_connections_completed_total",
                "Connections closed normally: the client half-closed and got every byte.",
            ),
            errors: ERROR_KINDS.map(|kind| labelled("upcase_errors_total", "kind", kind)),
            limit_reached: counter(
                "upcase_connection_limit_reached_total",
                "Times the --max-connections limit paused accepting.",
            ),
            bytes_in: counter(
                "upcase_bytes_received_total",
                "Payload bytes read from clients (PROXY headers excluded).",
            ),
            bytes_out: counter("upcase_bytes_sent_total", "Bytes written to clients."),
            invalid_utf8: counter(
                "upcase_invalid_utf8_sequences_total",
                "Ill-formed UTF-8 sequences (maximal subparts) seen under Unicode casing.",
            ),
            duration: recorder.register_histogram(
                &Key::from_static_name("upcase_connection_duration_seconds"),
                &METADATA,
            ),
            tls: super::tls::TlsMetrics::register(&recorder),
            handle: recorder.handle(),
        };
        Self(Arc::new(inner))
    }

    /// The current values in Prometheus' text exposition format.
    pub fn render(&self) -> String {
        self.0.handle.render()
    }

    pub(super) fn accepted(&self) {
        self.0.accepted.increment(1);
        self.0.active.increment(1.0);
    }

    pub(super) fn accept_error(&self) {
        self.0.errors[0].increment(1);
    }

    pub(super) fn limit_reached(&self) {
        self.0.limit_reached.increment(1);
    }

    pub(super) fn bytes_in(&self, n: usize) {
        self.0.bytes_in.increment(n as u64);
    }

    pub(super) fn bytes_out(&self, n: usize) {
        self.0.bytes_out.increment(n as u64);
    }

    pub(super) fn invalid_utf8(&self, n: u64) {
        if n > 0 {
            self.0.invalid_utf8.increment(n);
        }
    }

    /// One connection closed after `seconds`.
    pub(super) fn closed(&self, reason: &CloseReason, seconds: f64) {
        let inner = &self.0;
        inner.active.decrement(1.0);
        inner.duration.record(seconds);
        let counter = match reason {
            CloseReason::Completed => &inner.completed,
            CloseReason::OverIpLimit => &inner.rejected[0],
            CloseReason::ProxyHeader(_) => &inner.rejected[1],
            CloseReason::ProxyTimeout => &inner.rejected[2],
            CloseReason::TlsHandshake(_) => &inner.rejected[3],
            CloseReason::Reset(_) => &inner.errors[1],
            CloseReason::Io(_) => &inner.errors[2],
            CloseReason::WriteStalled => &inner.errors[3],
            CloseReason::IdleTimeout => &inner.errors[4],
            CloseReason::Rejected(_) => &inner.errors[5],
            CloseReason::Aborted => &inner.errors[6],
            CloseReason::Panicked => &inner.errors[7],
        };
        counter.increment(1);
    }

    /// The TLS handshake counters.
    pub(super) fn tls(&self) -> &super::tls::TlsMetrics {
        &self.0.tls
    }

    /// Folds pending histogram samples in (a scrape does it too).
    fn upkeep(&self) {
        self.0.handle.run_upkeep();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Metrics { .. }")
    }
}

/// Two handles are equal when they are the same metrics.
impl PartialEq for Metrics {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Metrics {}

/// Serves `GET /metrics` on `listener` until the task is dropped (the
/// binary runs it for the life of its runtime). Each scrape is one short
/// connection; a slow or malformed one is dropped, never waited on.
pub async fn serve(listener: TcpListener, metrics: Metrics) {
    let mut upkeep = tokio::time::interval(UPKEEP);
    loop {
        tokio::select! {
            _ = upkeep.tick() => metrics.upkeep(),
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let metrics = metrics.clone();
                    tokio::spawn(async move {
                        match tokio::time::timeout(REQUEST_TIMEOUT, scrape(stream, &metrics)).await {
                            Ok(Ok(())) => {}
                            Ok(Err(err)) => debug!(%peer, "metrics request failed: {err}"),
                            Err(_) => debug!(%peer, "metrics request timed out"),
                        }
                    });
                }
                Err(err) => {
                    warn!("metrics endpoint: accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
}

/// Answers one HTTP request.
async fn scrape(mut stream: TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    let mut request = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || request.len() + n > REQUEST_MAX {
            return Ok(());
        }
        request.extend_from_slice(&buf[..n]);
    }
    let line = request.split(|&b| b == b'\r').next().unwrap_or_default();
    let mut parts = line.split(|&b| b == b' ');
    let (method, target) = (parts.next(), parts.next());
    let (status, content_type, body) = match (method, target) {
        (Some(b"GET"), Some(b"/metrics")) => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            metrics.render(),
        ),
        (Some(b"GET"), _) => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "not found: metrics are at /metrics\n".to_owned(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "only GET /metrics\n".to_owned(),
        ),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

/// Counts ill-formed UTF-8 sequences in a stream fed in arbitrary chunks,
/// the way the codec splits them (maximal subparts, as `Utf8Chunks` does),
/// for `upcase_invalid_utf8_sequences_total` under the pass-through and
/// replace policies. Only used when metrics are on.
#[derive(Debug, Default)]
pub(super) struct Utf8Tally {
    /// The start of a sequence cut off by the end of the last chunk.
    held: Vec<u8>,
}

impl Utf8Tally {
    /// Ill-formed sequences completed by `chunk`.
    pub(super) fn feed(&mut self, chunk: &[u8]) -> u64 {
        if self.held.is_empty() {
            return self.count(chunk);
        }
        // Rare: a sequence split across reads. Join and recount.
        let mut joined = std::mem::take(&mut self.held);
        joined.extend_from_slice(chunk);
        self.count(&joined)
    }

    /// The stream ended: a held incomplete sequence is one more.
    pub(super) fn finish(&mut self) -> u64 {
        let held = !self.held.is_empty();
        self.held.clear();
        u64::from(held)
    }

    fn count(&mut self, bytes: &[u8]) -> u64 {
        let mut count = 0;
        let mut chunks = bytes.utf8_chunks().peekable();
        while let Some(chunk) = chunks.next() {
            let invalid = chunk.invalid();
            if invalid.is_empty() {
                continue;
            }
            // At the very end, a valid prefix of a sequence may yet complete.
            let truncated = chunks.peek().is_none()
                && std::str::from_utf8(invalid).is_err_and(|e| e.error_len().is_none());
            if truncated {
                self.held.extend_from_slice(invalid);
            } else {
                count += 1;
            }
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tally of `stream` cut at every position equals a one-shot count.
    #[test]
    fn utf8_tally_is_chunking_independent() {
        let stream: &[u8] =
            b"ok \xC3\xA9 \xFF bad \xE2\x82 cut \xF0\x9F\x98\x80 end \xED\xA0\x80 \xC3";
        let one_shot = stream
            .utf8_chunks()
            .filter(|c| !c.invalid().is_empty())
            .count() as u64;
        assert_eq!(one_shot, 6);
        for cut in 0..=stream.len() {
            for cut2 in cut..=stream.len() {
                let mut tally = Utf8Tally::default();
                let n = tally.feed(&stream[..cut])
                    + tally.feed(&stream[cut..cut2])
                    + tally.feed(&stream[cut2..])
                    + tally.finish();
                assert_eq!(n, one_shot, "cuts {cut} {cut2}");
            }
        }
    }

    #[test]
    fn render_has_every_series_at_zero() {
        let text = Metrics::new().render();
        for needle in [
            "upcase_connections_accepted_total 0",
            "upcase_connections_active 0",
            "upcase_connections_rejected_total{reason=\"per_ip_limit\"} 0",
            "upcase_errors_total{kind=\"accept\"} 0",
            "upcase_bytes_received_total 0",
            "upcase_invalid_utf8_sequences_total 0",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
    }
}
