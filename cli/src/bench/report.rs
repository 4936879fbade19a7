//! The summary of a run, as text for people or one JSON object for scripts.
//!
//! MB is 10^6 bytes. "Sent" is what the load generator wrote to the server,
//! "received" what came back. Latency is per message (per chunk in stream
//! mode), from just before its write to the arrival of its reply's last byte.

use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;

use clap::ValueEnum;

use super::shared::Shared;
use super::{Expect, Mode, Plan};

/// Failure messages kept for the report; the rest are only counted.
const KEPT: usize = 10;

/// Failures seen during a run.
#[derive(Debug, Default)]
pub(super) struct Failures {
    mismatches: u64,
    connection_errors: u64,
    first: Vec<String>,
}

impl Failures {
    /// A reply that differed from the expected bytes.
    pub fn mismatch(&mut self, message: String) {
        self.mismatches += 1;
        self.keep(message);
    }

    /// A connection that could not connect, failed or stalled.
    pub fn connection(&mut self, message: String) {
        self.connection_errors += 1;
        self.keep(message);
    }

    /// The first failure message, if any.
    pub fn first(&self) -> Option<&str> {
        self.first.first().map(String::as_str)
    }

    fn keep(&mut self, message: String) {
        if self.first.len() < KEPT {
            self.first.push(message);
        }
    }
}

/// Latency percentiles in µs.
#[derive(Debug, Clone, Copy)]
struct Latency {
    p50: u64,
    p90: u64,
    p99: u64,
    p999: u64,
    max: u64,
    mean: f64,
}

/// Everything a run measured.
#[derive(Debug)]
pub(super) struct Report {
    mode: Mode,
    payload: &'static str,
    expect: Expect,
    casing: String,
    invalid: String,
    connections: usize,
    connected: usize,
    pipeline: usize,
    size: usize,
    threads: usize,
    seed: u64,
    elapsed: f64,
    messages: u64,
    sent: u64,
    received: u64,
    latency: Option<Latency>,
    failures: Failures,
}

impl Report {
    /// Collects the figures of a finished run.
    pub fn new(plan: &Plan, connected: usize, shared: &Shared, failures: Failures) -> Self {
        let histogram = shared.merged_histogram();
        let latency = (!histogram.is_empty()).then(|| Latency {
            p50: histogram.value_at_quantile(0.50),
            p90: histogram.value_at_quantile(0.90),
            p99: histogram.value_at_quantile(0.99),
            p999: histogram.value_at_quantile(0.999),
            max: histogram.max(),
            mean: histogram.mean(),
        });
        Self {
            mode: plan.mode,
            payload: if plan.payload_file.is_some() {
                "file"
            } else {
                plan.payload.name()
            },
            expect: plan.expect,
            casing: value_name(plan.codec.casing),
            invalid: value_name(plan.codec.invalid),
            connections: plan.connections,
            connected,
            pipeline: plan.pipeline.unwrap_or(0),
            size: plan.size,
            threads: plan.threads,
            seed: plan.seed,
            elapsed: shared.elapsed().as_secs_f64(),
            messages: shared.messages.load(Relaxed),
            sent: shared.sent.load(Relaxed),
            received: shared.received.load(Relaxed),
            latency,
            failures,
        }
    }

    /// Whether every reply was right and no connection failed.
    pub fn ok(&self) -> bool {
        self.failures.mismatches == 0 && self.failures.connection_errors == 0
    }

    fn rate(&self, count: u64) -> f64 {
        if self.elapsed > 0.0 {
            count as f64 / self.elapsed
        } else {
            0.0
        }
    }

    fn mode_name(&self) -> &'static str {
        match self.mode {
            Mode::Rr => "rr",
            Mode::Stream => "stream",
        }
    }

    fn expect_name(&self) -> &'static str {
        match self.expect {
            Expect::Upper => "upper",
            Expect::Echo => "echo",
        }
    }

    /// The human-readable summary, several lines.
    pub fn to_text(&self) -> String {
        let unit = match self.mode {
            Mode::Rr => "messages",
            Mode::Stream => "chunks",
        };
        let mut text = String::new();
        let _ = writeln!(
            text,
            "upcase bench: {} mode, {} connection(s), {} B {} {unit}{}, expecting {} \
             (casing {}, invalid {})",
            self.mode_name(),
            self.connected,
            self.size,
            self.payload,
            match self.mode {
                Mode::Rr => format!(", pipeline {}", self.pipeline),
                Mode::Stream => String::new(),
            },
            self.expect_name(),
            self.casing,
            self.invalid,
        );
        let _ = writeln!(text, "  measured   {:.2} s", self.elapsed);
        let _ = writeln!(
            text,
            "  {unit:<10} {} ({:.0}/s)",
            self.messages,
            self.rate(self.messages)
        );
        let _ = writeln!(
            text,
            "  sent       {:.1} MB ({:.2} MB/s)",
            self.sent as f64 / 1e6,
            self.rate(self.sent) / 1e6
        );
        let _ = writeln!(
            text,
            "  received   {:.1} MB ({:.2} MB/s)",
            self.received as f64 / 1e6,
            self.rate(self.received) / 1e6
        );
        match self.latency {
            Some(l) => {
                let _ = writeln!(
                    text,
                    "  latency    p50 {} µs  p90 {} µs  p99 {} µs  p99.9 {} µs  max {} µs  (mean {:.1} µs)",
                    l.p50, l.p90, l.p99, l.p999, l.max, l.mean
                );
            }
            None => {
                let _ = writeln!(text, "  latency    (no reply completed)");
            }
        }
        let _ = writeln!(
            text,
            "  verified   every reply byte: {} mismatch(es)",
            self.failures.mismatches
        );
        let _ = writeln!(
            text,
            "  errors     {} connection error(s)",
            self.failures.connection_errors
        );
        for message in &self.failures.first {
            let _ = writeln!(text, "    {}", message.replace('\n', "\n    "));
        }
        let _ = writeln!(
            text,
            "  result     {}",
            if self.ok() { "OK" } else { "FAILED" }
        );
        text
    }

    /// One JSON object, one line, with every figure.
    pub fn to_json(&self) -> String {
        let mut json = String::from("{");
        let mut field = |name: &str, value: String| {
            if json.len() > 1 {
                json.push(',');
            }
            let _ = write!(json, "\"{name}\":{value}");
        };
        field("mode", quote(self.mode_name()));
        field("payload", quote(self.payload));
        field("expect", quote(self.expect_name()));
        field("casing", quote(&self.casing));
        field("invalid", quote(&self.invalid));
        field("connections", self.connections.to_string());
        field("connected", self.connected.to_string());
        field("pipeline", self.pipeline.to_string());
        field("size", self.size.to_string());
        field("threads", self.threads.to_string());
        field("seed", self.seed.to_string());
        field("elapsed_s", number(self.elapsed));
        field("messages", self.messages.to_string());
        field("msgs_per_s", number(self.rate(self.messages)));
        field("sent_bytes", self.sent.to_string());
        field("received_bytes", self.received.to_string());
        field("sent_mb_per_s", number(self.rate(self.sent) / 1e6));
        field("received_mb_per_s", number(self.rate(self.received) / 1e6));
        field(
            "latency_us",
            match self.latency {
                Some(l) => format!(
                    "{{\"p50\":{},\"p90\":{},\"p99\":{},\"p99_9\":{},\"max\":{},\"mean\":{}}}",
                    l.p50,
                    l.p90,
                    l.p99,
                    l.p999,
                    l.max,
                    number(l.mean)
                ),
                None => "null".into(),
            },
        );
        field("mismatches", self.failures.mismatches.to_string());
        field(
            "connection_errors",
            self.failures.connection_errors.to_string(),
        );
        let errors: Vec<String> = self.failures.first.iter().map(|m| quote(m)).collect();
        field("errors", format!("[{}]", errors.join(",")));
        field("ok", self.ok().to_string());
        json.push('}');
        json
    }
}

/// A clap value's name (`unicode`, `pass`).
fn value_name(value: impl ValueEnum) -> String {
    value
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_owned())
}

/// A JSON number: finite, six decimals at most.
fn number(value: f64) -> String {
    if value.is_finite() {
        // Six decimals: a short run's elapsed time is well under a
        // millisecond on a fast loopback, and must not print as 0.
        let text = format!("{value:.6}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        "0".into()
    }
}

/// A JSON string literal.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(quote("a\"b\\c\nd\u{1}é"), "\"a\\\"b\\\\c\\nd\\u0001é\"");
    }

    #[test]
    fn json_numbers_are_plain() {
        assert_eq!(number(12.0), "12");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(1.234_567_8), "1.234568");
        // A sub-millisecond run's elapsed time is not rounded away.
        assert_eq!(number(0.000_48), "0.00048");
        assert_eq!(number(f64::NAN), "0");
        assert_eq!(number(0.0), "0");
    }
}
