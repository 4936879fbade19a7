//! The coordinator: payloads, connecting, the connection tasks, the progress
//! line and the stall watchdog, and collecting the [`Report`].

use std::io::Write;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::tls::ClientStream;
use tokio::task::JoinSet;
use tracing::error;

use super::connection::{Connection, Failure};
use super::payload::{units_per_block, Block};
use super::report::{Failures, Report};
use super::shared::Shared;
use super::{Mode, Plan};

/// Distinct payload blocks at most; more connections share them, each
/// starting at a different unit.
const MAX_BLOCKS: usize = 16;
/// How long one connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the watchdog looks.
const TICK: Duration = Duration::from_millis(250);

/// Runs the whole benchmark. `Err` means nothing could be measured (no
/// connection succeeded).
pub(super) async fn run(plan: &Plan) -> Result<Report, String> {
    let blocks = generate_blocks(plan);
    let mut failures = Failures::default();
    let streams = connect_all(plan, &mut failures).await?;

    let start = Instant::now();
    let measure_from = start + plan.warmup;
    let deadline = plan.duration.map(|duration| measure_from + duration);
    let shared = Arc::new(Shared::new(
        plan.connections,
        measure_from,
        deadline,
        plan.requests,
    ));

    let connected = streams.len();
    let mut tasks = spawn_connections(plan, streams, &blocks, &shared);
    let mut watch = Watch {
        progress: Progress::new(plan.progress, start, measure_from),
        last_activity: 0,
        quiet_since: Instant::now(),
    };
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            joined = tasks.join_next() => match joined {
                None => break,
                Some(joined) => watch.joined(joined, &mut failures),
            },
            _ = ticker.tick() => watch.tick(plan, &shared, &mut tasks, &mut failures),
        }
    }
    watch.progress.clear();

    Ok(Report::new(plan, connected, &shared, failures))
}

/// Opens every connection; the failed ones are counted, and `Err` if none
/// succeeded.
async fn connect_all(
    plan: &Plan,
    failures: &mut Failures,
) -> Result<Vec<(usize, ClientStream)>, String> {
    let mut streams = Vec::with_capacity(plan.connections);
    for index in 0..plan.connections {
        match connect(plan).await {
            Ok(stream) => streams.push((index, stream)),
            Err(err) => failures.connection(format!("connection {index}: connect: {err}")),
        }
    }
    if streams.is_empty() {
        return Err(format!(
            "cannot connect to {}: {}",
            plan.addr,
            failures.first().unwrap_or("no connection")
        ));
    }
    Ok(streams)
}

/// One task per connection, each running the plan's mode over its block.
fn spawn_connections(
    plan: &Plan,
    streams: Vec<(usize, ClientStream)>,
    blocks: &[Arc<Block>],
    shared: &Arc<Shared>,
) -> JoinSet<Result<(), Failure>> {
    let mut tasks = JoinSet::new();
    for (index, mut stream) in streams {
        let block = Arc::clone(&blocks[index % blocks.len()]);
        // Connections sharing a block start at different units.
        let first_unit = (index / blocks.len() * 7919) % block.units();
        let connection = Connection {
            index,
            shared: Arc::clone(shared),
            block,
            first_unit,
        };
        let mode = plan.mode;
        let pipeline = plan.pipeline;
        tasks.spawn(async move {
            let result = match (mode, pipeline) {
                (Mode::Rr, Some(1)) => connection.request_response(&mut stream).await,
                (Mode::Rr, window) => connection.windowed(&mut stream, window).await,
                (Mode::Stream, _) => connection.windowed(&mut stream, None).await,
            };
            if result.is_err() {
                connection.shared.failures.fetch_add(1, Relaxed);
            }
            result
        });
    }
    tasks
}

/// The coordinator's view while the connections run: the progress line and
/// the stall watchdog.
struct Watch {
    progress: Progress,
    last_activity: u64,
    quiet_since: Instant,
}

impl Watch {
    /// A connection task ended: log and count its failure, if any.
    fn joined(
        &mut self,
        joined: Result<Result<(), Failure>, tokio::task::JoinError>,
        failures: &mut Failures,
    ) {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(Failure::Mismatch(message))) => {
                self.progress.clear();
                error!("{message}");
                failures.mismatch(message);
            }
            Ok(Err(Failure::Connection(message))) => {
                self.progress.clear();
                error!("{message}");
                failures.connection(message);
            }
            Err(err) if err.is_panic() => {
                failures.connection(format!("a connection task panicked: {err}"));
            }
            Err(_) => {} // aborted by the watchdog, already counted
        }
    }

    /// Redraws the progress line; when no byte has moved for `--timeout`,
    /// gives up on every connection still running.
    fn tick(
        &mut self,
        plan: &Plan,
        shared: &Shared,
        tasks: &mut JoinSet<Result<(), Failure>>,
        failures: &mut Failures,
    ) {
        let now = Instant::now();
        self.progress.tick(now, shared);
        let activity = shared.activity.load(Relaxed);
        if activity != self.last_activity {
            self.last_activity = activity;
            self.quiet_since = now;
        } else if now - self.quiet_since >= plan.timeout {
            let stalled = tasks.len();
            self.progress.clear();
            let message = format!(
                "no reply for {:.1} s: giving up on {stalled} connection(s) \
                 still waiting for the server",
                plan.timeout.as_secs_f64()
            );
            error!("{message}");
            for _ in 0..stalled {
                failures.connection(message.clone());
            }
            tasks.abort_all();
        }
    }
}

/// One connection, Nagle off (replies to small messages must not wait);
/// with `--tls`, the TLS handshake too (within the connect timeout).
async fn connect(plan: &Plan) -> std::io::Result<ClientStream> {
    let connect = async {
        let stream = tokio::net::TcpStream::connect(plan.addr).await?;
        stream.set_nodelay(true)?;
        ClientStream::handshake(stream, plan.tls.as_ref()).await
    };
    tokio::time::timeout(CONNECT_TIMEOUT, connect)
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
}

/// The payload blocks: one per connection up to [`MAX_BLOCKS`].
fn generate_blocks(plan: &Plan) -> Vec<Arc<Block>> {
    let units = units_per_block(plan.size);
    (0..plan.connections.min(MAX_BLOCKS))
        .map(|i| {
            let seed = plan.seed.wrapping_mul(1000).wrapping_add(i as u64);
            if let Some(file) = &plan.payload_file {
                let block = Block::from_text(
                    &file.text,
                    &file.cuts,
                    plan.expectation,
                    plan.size,
                    units,
                    seed,
                );
                // `PayloadFile::read` checked that a character fits.
                return Arc::new(block.expect("a character of the payload file fits"));
            }
            Arc::new(Block::generate(
                plan.payload,
                plan.expectation,
                plan.size,
                units,
                seed,
            ))
        })
        .collect()
}

/// The live progress line on stderr, redrawn once a second (terminal only).
struct Progress {
    enabled: bool,
    start: Instant,
    measure_from: Instant,
    last_at: Instant,
    last: [u64; 3],
    drawn: bool,
}

impl Progress {
    fn new(enabled: bool, start: Instant, measure_from: Instant) -> Self {
        Self {
            enabled,
            start,
            measure_from,
            last_at: start,
            last: [0; 3],
            drawn: false,
        }
    }

    fn tick(&mut self, now: Instant, shared: &Shared) {
        if !self.enabled || now - self.last_at < Duration::from_secs(1) {
            return;
        }
        let counts = [
            shared.messages.load(Relaxed),
            shared.sent.load(Relaxed),
            shared.received.load(Relaxed),
        ];
        // Counting starts at `measure_from`, not at the previous tick.
        let secs = (now - self.last_at.max(self.measure_from))
            .as_secs_f64()
            .max(0.001);
        let rate = |i: usize| (counts[i] - self.last[i]) as f64 / secs;
        // Too little measured time yet for a meaningful rate.
        let line = if now < self.measure_from + TICK {
            format!("{:5.1} s  warming up", (now - self.start).as_secs_f64())
        } else {
            format!(
                "{:5.1} s  {:>10.0} msgs/s  sent {:>8.1} MB/s  received {:>8.1} MB/s  errors {}",
                (now - self.start).as_secs_f64(),
                rate(0),
                rate(1) / 1e6,
                rate(2) / 1e6,
                shared.failures.load(Relaxed),
            )
        };
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "\r\x1b[K{line}");
        let _ = stderr.flush();
        self.drawn = true;
        self.last = counts;
        self.last_at = now;
    }

    /// Erases the line (before a log line or the summary).
    fn clear(&mut self) {
        if self.drawn {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
            self.drawn = false;
        }
    }
}
