//! The counters shared by the accept loop and every connection: the
//! [`Summary`] behind a mutex, and the Prometheus [`Metrics`] when they are on.

use std::sync::{Mutex, PoisonError};

use super::close::CloseReason;
use super::metrics::Metrics;
use super::summary::Summary;

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
            *(reason.kind().summary)(s) += 1;
        });
    }

    pub(super) fn snapshot(&self) -> Summary {
        *self.summary.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
