//! `upcase bench`: a load generator that verifies every reply byte.
//!
//! It opens `--connections` connections to a server and, for `--duration`
//! seconds (or `--requests` messages), drives one of two workloads:
//!
//! * `rr` (request/response): send a message of `--size` bytes, read its
//!   whole reply, repeat; with `--pipeline K`, up to K messages in flight.
//!   The reply is whole when exactly its precomputed expected length arrived.
//! * `stream`: full-duplex bulk; a writer sends `--size`-byte chunks flat
//!   out while a reader checks the stream coming back.
//!
//! Each reply is compared with an expected reply computed with std alone
//! (`to_uppercase`, `to_ascii_uppercase`, `Utf8Chunks`; never this crate's
//! codec), so a benchmark run is also a correctness test: any difference is
//! reported with its offset and makes the exit status 1. With `--expect echo`
//! the expected reply is the payload itself, to measure an echo server as
//! the ceiling. `payload.rs` explains how messages stay independently
//! verifiable.
//!
//! ```text
//!  Block (seeded units + std-computed replies)   shared by connections
//!        │
//!  connection task ── rr, K = 1:  write unit → read until its reply length → memcmp → record latency
//!                  └─ rr, K > 1 / stream: writer (window of K, or TCP's) ‖ reader (memcmp vs the expected cycle)
//!  coordinator: progress line each second (terminal only), stall watchdog, summary / --json
//! ```
//!
//! * `payload.rs` — payload generation and the std oracle.
//! * `connection.rs` — one connection's rr and windowed (pipeline/stream) loops.
//! * `shared.rs` — counters, the request budget and latency histograms.
//! * `run.rs` — connecting, the watchdog and progress line, collecting results.
//! * `report.rs` — the summary, as text or JSON.

mod connection;
mod payload;
mod report;
mod run;
mod shared;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;
use tracing::{debug, warn};

use crate::args::{parse_duration, CodecArgs};
use crate::log::fatal;
use payload::Expectation;
pub use payload::Payload;
use upcase::{Casing, InvalidUtf8};

/// Examples and exit statuses, shown by `upcase bench --help`.
const AFTER_HELP: &str = "\
Examples:
    upcase bench                                   # 1 connection, 10 s, 64-byte ASCII messages
    upcase bench --connections 100 --payload unicode --duration 30s
    upcase bench --mode stream --size 65536        # full-duplex bulk throughput
    upcase bench --pipeline 16 --requests 100000   # 16 messages in flight, then stop
    upcase bench --invalid replace --payload binary --json

Durations (--duration, --warmup, --timeout) are seconds with fractions (0.5)
or human forms (500ms, 5m, 1h 30m).

Exit status:
    0  every reply byte was correct and no connection failed
    1  a reply was wrong (the log names the connection and byte offset), a
       connection failed or stalled past --timeout, or the run could not start
    2  bad command line (including flag combinations that cannot work)";

/// Flags of `upcase bench`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct BenchArgs {
    /// Server to load, IP:PORT.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:12000")]
    connect: SocketAddr,

    /// Connections to open, each with its own message sequence.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    connections: u32,

    /// How long to measure (after --warmup): seconds, fractions allowed
    /// (0.5), or 500ms, 5m, 1h.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_duration, allow_hyphen_values = true,
          conflicts_with = "requests")]
    duration: Duration,

    /// Stop after N messages (rr) or chunks (stream) in total, instead of
    /// after --duration.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    requests: Option<u64>,

    /// Bytes per message (rr) or per write (stream), 1 B to 1 MiB.
    #[arg(long, value_name = "BYTES", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..=1 << 20))]
    size: u32,

    /// rr: send a message, wait for its whole reply; stream: full-duplex bulk.
    #[arg(long, value_enum, default_value_t = Mode::Rr)]
    mode: Mode,

    /// What the messages contain.
    #[arg(long, value_enum, default_value_t = Payload::Ascii)]
    payload: Payload,

    /// Send the text of this file instead of a generated payload: --size
    /// byte messages cut after whole characters (padded with spaces),
    /// cycling through the file, each reply verified like the others.
    #[arg(long, value_name = "PATH", conflicts_with = "payload")]
    payload_file: Option<PathBuf>,

    /// rr only: messages in flight per connection.
    #[arg(long, value_name = "K", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pipeline: u32,

    /// What a correct reply is: the uppercase of the message, or the message
    /// itself (to measure an echo server as the reference).
    #[arg(long, value_enum, default_value_t = Expect::Upper)]
    expect: Expect,

    #[command(flatten)]
    codec: CodecArgs,

    /// Load before measuring starts (not counted): seconds, fractions
    /// allowed (0.5), or 500ms, 5m, 1h.
    #[arg(long, value_name = "SECS", default_value = "0", value_parser = parse_duration, allow_hyphen_values = true,
          conflicts_with = "requests")]
    warmup: Duration,

    /// Worker threads of the load generator. 1 (the default) runs every
    /// connection on one thread, leaving the other cores to the server.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: u32,

    /// Seed of the generated payloads; the same seed sends the same bytes.
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,

    /// Give up when no byte has arrived on any connection for this long (a
    /// hung server), counting the waiting connections as errors: seconds,
    /// fractions allowed (0.5), or 500ms, 5m, 1h.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_duration, allow_hyphen_values = true)]
    timeout: Duration,

    /// Print one JSON object with every summary figure on stdout instead of
    /// the text summary.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    tls: crate::tls::TlsClientArgs,
}

/// `--mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Request/response: each message waits for its whole reply (see --pipeline).
    Rr,
    /// Full-duplex bulk: write and read concurrently, flat out.
    Stream,
}

/// `--expect` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Expect {
    /// The uppercase of the message, per --casing and --invalid.
    Upper,
    /// The message unchanged (an echo server).
    Echo,
}

/// A validated run: everything the coordinator and the report need.
#[derive(Debug, Clone)]
struct Plan {
    addr: SocketAddr,
    connections: usize,
    /// `None` with `--requests`.
    duration: Option<Duration>,
    requests: Option<u64>,
    warmup: Duration,
    size: usize,
    mode: Mode,
    payload: Payload,
    /// `--payload-file`: its bytes and their [`payload::cut_points`].
    payload_file: Option<Arc<PayloadFile>>,
    /// rr messages in flight per connection; `None` in stream mode.
    pipeline: Option<usize>,
    expect: Expect,
    /// `--casing` and `--invalid`, for the report.
    codec: CodecArgs,
    expectation: Expectation,
    threads: usize,
    seed: u64,
    timeout: Duration,
    json: bool,
    /// Whether to draw the live progress line (stderr is a terminal).
    progress: bool,
    /// With `--tls`: the client configuration and the name to verify.
    tls: Option<(
        std::sync::Arc<rustls::ClientConfig>,
        rustls::pki_types::ServerName<'static>,
    )>,
}

impl BenchArgs {
    /// Checks flag combinations clap cannot express; `Err` is a message for
    /// the user.
    fn into_plan(self) -> Result<Plan, String> {
        if self.mode == Mode::Stream && self.pipeline != 1 {
            return Err("--pipeline applies to --mode rr only: stream mode keeps \
                        as much in flight as TCP allows"
                .into());
        }
        if self.duration.is_zero() && self.requests.is_none() {
            return Err("--duration must be more than 0 seconds".into());
        }
        if self.timeout.is_zero() {
            return Err("--timeout must be more than 0 seconds".into());
        }
        let config = self.codec.config();
        if self.expect == Expect::Upper
            && self.payload == Payload::Binary
            && config.casing == Casing::Unicode
            && config.invalid == InvalidUtf8::Reject
        {
            return Err("--payload binary cannot be benchmarked against \
                        --invalid reject: the server closes at the first \
                        ill-formed byte"
                .into());
        }
        // ASCII and Unicode payloads are valid UTF-8: nothing to reject.
        let payload_file = match &self.payload_file {
            None => None,
            Some(path) => Some(Arc::new(PayloadFile::read(path, self.size as usize)?)),
        };
        if let Some(file) = &payload_file {
            if self.expect == Expect::Upper
                && config.casing == Casing::Unicode
                && config.invalid == InvalidUtf8::Reject
                && std::str::from_utf8(&file.text).is_err()
            {
                return Err("--payload-file is not valid UTF-8, so it cannot be \
                            benchmarked against --invalid reject: the server \
                            closes at the first ill-formed byte"
                    .into());
            }
        }
        let expectation = match self.expect {
            Expect::Echo => Expectation::Echo,
            Expect::Upper => Expectation::Upper(config),
        };
        let tls = self.tls.build(&self.connect.ip().to_string())?;
        Ok(Plan {
            tls,
            addr: self.connect,
            connections: self.connections as usize,
            duration: self.requests.is_none().then_some(self.duration),
            requests: self.requests,
            warmup: self.warmup,
            size: self.size as usize,
            mode: self.mode,
            payload: self.payload,
            payload_file,
            pipeline: (self.mode == Mode::Rr).then_some(self.pipeline as usize),
            expect: self.expect,
            codec: self.codec,
            expectation,
            threads: self.threads as usize,
            seed: self.seed,
            timeout: self.timeout,
            json: self.json,
            progress: std::io::stderr().is_terminal(),
        })
    }
}

/// The text of `--payload-file`, read once for every connection.
#[derive(Debug)]
struct PayloadFile {
    text: Vec<u8>,
    /// Where messages may be cut (see [`payload::cut_points`]).
    cuts: Vec<usize>,
}

impl PayloadFile {
    /// Reads `path`; `Err` is a message for the user.
    fn read(path: &Path, size: usize) -> Result<Self, String> {
        let shown = path.display();
        let text = std::fs::read(path).map_err(|err| format!("--payload-file {shown}: {err}"))?;
        let cuts = payload::cut_points(&text);
        if !cuts.windows(2).any(|pair| pair[1] - pair[0] <= size) {
            return Err(format!(
                "--payload-file {shown}: no whole character of it fits in --size {size} bytes"
            ));
        }
        Ok(Self { text, cuts })
    }
}

/// Runs `upcase bench`: prints the summary (text, or JSON with `--json`) on
/// stdout and exits 0 if every reply was correct and no connection failed,
/// 1 otherwise, 2 for bad flags.
pub fn main(args: BenchArgs) -> ExitCode {
    let plan = match args.into_plan() {
        Ok(plan) => plan,
        Err(message) => {
            fatal("upcase bench", message);
            return ExitCode::from(2);
        }
    };
    raise_open_file_limit(plan.connections);
    let runtime = if plan.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(plan.threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(err) => {
            fatal(
                "upcase bench",
                format_args!("cannot start the async runtime: {err}"),
            );
            return ExitCode::FAILURE;
        }
    };
    let report = match runtime.block_on(run::run(&plan)) {
        Ok(report) => report,
        Err(message) => {
            fatal("upcase bench", message);
            return ExitCode::FAILURE;
        }
    };
    // Don't wait for connection tasks still parked after a watchdog abort.
    runtime.shutdown_background();
    if plan.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Each connection is a descriptor; raise the soft limit to the hard one
/// when the usual 1024 is too few.
fn raise_open_file_limit(connections: usize) {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let needed = connections as u64 + 32;
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return;
    };
    if soft >= needed {
        return;
    }
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        debug!("raised the open-file limit from {soft} to {hard}");
    }
    if hard < needed {
        warn!(
            "the open-file limit ({hard}) is below the {connections} connections asked for: \
             some will fail to connect; raise it with `ulimit -n`"
        );
    }
}
