//! State shared by every connection of a run: when to stop, what was
//! measured, and the latency histograms.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Longest latency recorded exactly, in µs; longer ones count as this.
const LATENCY_MAX_US: u64 = 60_000_000;

/// At most this many histograms: connections share them round-robin, so
/// 10,000 connections don't cost 10,000 histograms (~140 KiB each).
const MAX_SHARDS: usize = 64;

/// What every connection reads and updates. Counters are relaxed atomics:
/// they are only summed, never used to order anything.
pub(super) struct Shared {
    /// Units (messages or chunks) still to send under `--requests`.
    budget: Option<AtomicU64>,
    /// No unit is sent at or after this instant (`--duration`).
    deadline: Option<Instant>,
    /// Measuring starts here (after `--warmup`); earlier work is not counted.
    measure_from: Instant,
    /// Units whose whole reply arrived, since `measure_from`.
    pub messages: AtomicU64,
    /// Bytes sent since `measure_from`.
    pub sent: AtomicU64,
    /// Bytes received since `measure_from`.
    pub received: AtomicU64,
    /// Bytes received at any time: the stall watchdog's sign of life.
    pub activity: AtomicU64,
    /// Connections that failed so far (for the progress line).
    pub failures: AtomicU64,
    /// Nanoseconds from `measure_from` to the last measured completion.
    last_completion_ns: AtomicU64,
    histograms: Box<[Mutex<Histogram<u64>>]>,
}

impl Shared {
    /// State for `connections` connections; measuring starts at
    /// `measure_from`; sending stops at `deadline` or after `requests` units.
    pub fn new(
        connections: usize,
        measure_from: Instant,
        deadline: Option<Instant>,
        requests: Option<u64>,
    ) -> Self {
        let histograms = (0..connections.clamp(1, MAX_SHARDS))
            .map(|_| Mutex::new(new_histogram()))
            .collect();
        Self {
            budget: requests.map(AtomicU64::new),
            deadline,
            measure_from,
            messages: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            activity: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            last_completion_ns: AtomicU64::new(0),
            histograms,
        }
    }

    /// Takes permission to send up to `want` more units at `now`; returns
    /// how many (0: the run is over for this connection).
    pub fn claim(&self, want: usize, now: Instant) -> usize {
        if self.deadline.is_some_and(|deadline| now >= deadline) {
            return 0;
        }
        let Some(budget) = &self.budget else {
            return want;
        };
        match budget.fetch_update(Relaxed, Relaxed, |left| {
            (left > 0).then(|| left.saturating_sub(want as u64))
        }) {
            Ok(left) => left.min(want as u64) as usize,
            Err(_) => 0,
        }
    }

    /// Counts `bytes` written at `now`.
    pub fn wrote(&self, now: Instant, bytes: usize) {
        if now >= self.measure_from {
            self.sent.fetch_add(bytes as u64, Relaxed);
        }
    }

    /// Counts `bytes` read at `now`.
    pub fn read(&self, now: Instant, bytes: usize) {
        self.activity.fetch_add(bytes as u64, Relaxed);
        if now >= self.measure_from {
            self.received.fetch_add(bytes as u64, Relaxed);
        }
    }

    /// Records units completed at `now`, sent at the given instants, on
    /// connection `index`'s histogram.
    pub fn completed(
        &self,
        index: usize,
        now: Instant,
        sent_at: impl IntoIterator<Item = Instant>,
    ) {
        if now < self.measure_from {
            return;
        }
        let mut count = 0;
        let mut histogram = self.histogram(index);
        for sent_at in sent_at {
            let micros = now.saturating_duration_since(sent_at).as_micros();
            histogram.saturating_record(micros.clamp(1, LATENCY_MAX_US as u128) as u64);
            count += 1;
        }
        drop(histogram);
        self.messages.fetch_add(count, Relaxed);
        let since = now.duration_since(self.measure_from).as_nanos() as u64;
        self.last_completion_ns.fetch_max(since, Relaxed);
    }

    /// Time from the start of measuring to the last measured completion
    /// (or to now if nothing completed).
    pub fn elapsed(&self) -> Duration {
        match self.last_completion_ns.load(Relaxed) {
            0 => Instant::now().saturating_duration_since(self.measure_from),
            ns => Duration::from_nanos(ns),
        }
    }

    /// Every connection's latencies in one histogram.
    pub fn merged_histogram(&self) -> Histogram<u64> {
        let mut all = new_histogram();
        for shard in &self.histograms {
            let shard = shard
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            // Same bounds on both sides, so adding cannot fail.
            let _ = all.add(&*shard);
        }
        all
    }

    fn histogram(&self, index: usize) -> MutexGuard<'_, Histogram<u64>> {
        let shard = &self.histograms[index % self.histograms.len()];
        shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// 1 µs to [`LATENCY_MAX_US`] at 3 significant digits.
fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_MAX_US, 3).expect("valid histogram bounds")
}
