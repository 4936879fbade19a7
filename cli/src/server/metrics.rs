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
//! The endpoint answers `GET /metrics` (HTTP/1.0 or 1.1 by hyper, one
//! request per connection) with the text exposition format, with a cap on
//! concurrent scrapes and on how long each may take: see [`serve`].

use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{header, Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use metrics::{Counter, Gauge, Histogram, Key, Label, Level, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::{debug, warn};

use super::rate_limit::RateLimited;

use super::close::{CloseReason, Series, KINDS};

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

/// A scrape connection ends after this long, whatever its state (the
/// request head must arrive within it too).
pub const SCRAPE_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest request head taken (hyper's minimum); a longer one gets 431.
const REQUEST_MAX: usize = 8 * 1024;

/// Most scrape connections served at once; more are closed when accepted.
/// The endpoint thus holds at most this many descriptors plus its listener
/// and the one being refused.
pub const MAX_SCRAPES: usize = 8;

/// Pause after a failed accept (out of descriptors: let some free up).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The metrics of one server, cheap to clone (one `Arc`).
///
/// | series | type | meaning |
/// |---|---|---|
/// | `upcase_connections_accepted_total` | counter | TCP connections accepted |
/// | `upcase_connections_active` | gauge | connections open now |
/// | `upcase_connections_rejected_total{reason}` | counter | closed before being served: `per_ip_limit`, `proxy_header` (malformed or cut short), `proxy_header_timeout`, `over_capacity`, `untrusted_proxy`, `tls_handshake` |
/// | `upcase_connections_completed_total` | counter | closed normally: the client half-closed and got every byte |
/// | `upcase_errors_total{kind}` | counter | `accept` failures, and connections ended by `reset`, `io`, `write_stall`, `idle_timeout`, `invalid_utf8` (reject policy), `drain_timeout`, `panic`, `evicted` (idle under pressure), `min_rate` |
/// | `upcase_connection_limit_reached_total` | counter | times `--max-connections` was reached |
/// | `upcase_bytes_received_total` | counter | payload bytes read (PROXY headers excluded) |
/// | `upcase_bytes_sent_total` | counter | bytes written |
/// | `upcase_invalid_utf8_sequences_total` | counter | ill-formed UTF-8 sequences (maximal subparts) seen under Unicode casing, whatever the policy (under reject, the one that closed the stream) |
/// | `upcase_connection_duration_seconds` | histogram | accept to close, every connection |
/// | `upcase_tls_handshakes_completed_total` | counter | TLS handshakes completed (with `--tls-cert`) |
/// | `upcase_tls_handshakes_failed_total{reason}` | counter | `timeout`, `not_tls`, `no_client_certificate`, `bad_client_certificate`, `client_alert`, `protocol`, `closed` |
///
/// Every accepted connection ends in exactly one of `rejected`, `completed`
/// or a non-`accept` error kind; which one is the table in `close.rs`,
/// shared with the [`Summary`](super::Summary).
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    handle: PrometheusHandle,
    accepted: Counter,
    active: Gauge,
    /// One counter per close reason, in `close::KINDS` order.
    closes: [Counter; KINDS.len()],
    accept_errors: Counter,
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
        describe_labelled_series(&recorder);
        let inner = Inner {
            accepted: counter(
                "upcase_connections_accepted_total",
                "TCP connections accepted.",
            ),
            active: recorder.register_gauge(
                &Key::from_static_name("upcase_connections_active"),
                &METADATA,
            ),
            closes: KINDS.each_ref().map(|kind| match kind.series.label_name() {
                Some(label) => labelled(kind.series.name(), label, kind.label),
                None => {
                    recorder.register_counter(&Key::from_static_name(kind.series.name()), &METADATA)
                }
            }),
            accept_errors: labelled("upcase_errors_total", "kind", "accept"),
            limit_reached: counter(
                "upcase_connection_limit_reached_total",
                "Times the --max-connections limit was reached.",
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
        self.0.accept_errors.increment(1);
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
        inner.closes[reason.index()].increment(1);
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

/// The help texts of the series registered without one: the labelled
/// counters, the gauge and the histogram.
fn describe_labelled_series(recorder: &impl Recorder) {
    recorder.describe_counter(
        Series::Completed.name().into(),
        None,
        "Connections closed normally: the client half-closed and got every byte.".into(),
    );
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
/// binary runs it for the life of its runtime).
///
/// HTTP/1 by hyper, one request per connection (`Connection: close`):
/// 404 for another path, 405 for another method, and hyper's own 400 for a
/// malformed request and 431 for a head over [`REQUEST_MAX`]. At most
/// [`MAX_SCRAPES`] connections are served at once (more are closed as soon
/// as accepted), each for at most [`SCRAPE_TIMEOUT`], so the endpoint holds
/// at most `MAX_SCRAPES + 1` descriptors and can never starve the data port.
/// Failed accepts back off and are logged at most once per 10 s.
pub async fn serve(listener: TcpListener, metrics: Metrics) {
    if let Ok(addr) = listener.local_addr() {
        if !addr.ip().is_loopback() {
            warn!("metrics endpoint {addr} is not on loopback: other hosts can scrape it");
        }
    }
    let scrapes = Arc::new(Semaphore::new(MAX_SCRAPES));
    let mut upkeep = tokio::time::interval(UPKEEP);
    let mut refused = RateLimited::default();
    let mut failed = RateLimited::default();
    loop {
        tokio::select! {
            _ = upkeep.tick() => metrics.upkeep(),
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match Arc::clone(&scrapes).try_acquire_owned() {
                    Ok(slot) => {
                        tokio::spawn(answer(stream, peer, metrics.clone(), slot));
                    }
                    Err(_) => {
                        if let Some(more) = refused.hit() {
                            warn!(%peer, "metrics endpoint: {MAX_SCRAPES} scrapes already open, closed \
                                  a new one ({more} more since the last such line)");
                        }
                    }
                },
                Err(err) => {
                    if let Some(more) = failed.hit() {
                        warn!("metrics endpoint: accept failed: {err} ({more} more since the last such line)");
                    }
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
        }
    }
}

/// Serves one scrape connection, holding its `slot` until it is done.
async fn answer(stream: TcpStream, peer: SocketAddr, metrics: Metrics, slot: OwnedSemaphorePermit) {
    let service = service_fn(move |request: Request<Incoming>| {
        let response = respond(&request, &metrics);
        async move { Ok::<_, Infallible>(response) }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(SCRAPE_TIMEOUT)
        .max_buf_size(REQUEST_MAX)
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    match tokio::time::timeout(SCRAPE_TIMEOUT, connection).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => debug!(%peer, "metrics request failed: {err}"),
        Err(_) => debug!(%peer, "metrics request timed out"),
    }
    drop(slot);
}

/// The response to one request: the metrics, 404 or 405.
fn respond(request: &Request<Incoming>, metrics: &Metrics) -> Response<Full<Bytes>> {
    let (status, body, allow) = match (request.method(), request.uri().path()) {
        (&Method::GET | &Method::HEAD, "/metrics") => (StatusCode::OK, metrics.render(), None),
        (_, "/metrics") => (
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET /metrics\n".to_owned(),
            Some("GET, HEAD"),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "not found: metrics are at /metrics\n".to_owned(),
            None,
        ),
    };
    let content_type = if status == StatusCode::OK {
        "text/plain; version=0.0.4; charset=utf-8"
    } else {
        "text/plain; charset=utf-8"
    };
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type);
    if let Some(allow) = allow {
        response = response.header(header::ALLOW, allow);
    }
    response
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_has_every_series_at_zero() {
        let text = Metrics::new().render();
        for needle in [
            "upcase_connections_accepted_total 0",
            "upcase_connections_active 0",
            "upcase_connections_rejected_total{reason=\"per_ip_limit\"} 0",
            "upcase_errors_total{kind=\"accept\"} 0",
            "upcase_connections_rejected_total{reason=\"over_capacity\"} 0",
            "upcase_connections_rejected_total{reason=\"untrusted_proxy\"} 0",
            "upcase_errors_total{kind=\"evicted\"} 0",
            "upcase_errors_total{kind=\"min_rate\"} 0",
            "upcase_connections_completed_total 0",
            "upcase_bytes_received_total 0",
            "upcase_invalid_utf8_sequences_total 0",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
    }
}
