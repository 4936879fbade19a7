//! `upcase serve`: flags, startup checks and the process around [`run`].

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use nix::sys::resource::{getrlimit, setrlimit, Resource};
use tracing::{debug, info, warn};

use super::{bind, metrics, run, shutdown, tls, Cidr, Metrics, ServerConfig};
use crate::args::{parse_duration, CodecArgs};
use crate::log::fatal;

/// Examples and exit statuses, shown by `upcase serve --help`.
const AFTER_HELP: &str = "\
Examples:
    upcase serve                                   # 127.0.0.1:12000; the log goes to stderr
    upcase serve --listen 0.0.0.0:12000 --listen [::]:12000
    upcase serve --listen 127.0.0.1:0              # any free port: see `listening on ADDR`
    upcase serve --invalid reject --idle-timeout 5m --drain-timeout 30s
    upcase serve --metrics 127.0.0.1:9100          # Prometheus text at /metrics

Durations (--idle-timeout, --drain-timeout, --proxy-header-timeout) are
seconds with fractions (0.5) or human forms (500ms, 5m, 1h 30m); 0 or from
1 ms to 365 days; what 0 means is said per flag.

Exit status:
    0  stopped by SIGINT or SIGTERM, after draining open connections
    1  startup failed: cannot listen (address in use, permission denied...),
       cannot serve metrics, cannot start the runtime or the signal handlers
    2  bad command line (a malformed address, a negative duration...)
  130  a second SIGINT or SIGTERM during the drain: exited at once";

/// Flags of `upcase serve`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct ServeArgs {
    /// Address to listen on, IP:PORT; repeat for several. IPv6 as [::1]:12000.
    /// Port 0 picks a free port (the log says which). Anything but loopback
    /// is reachable from other hosts, so it must be asked for.
    #[arg(
        long = "listen",
        value_name = "ADDR",
        default_value = "127.0.0.1:12000"
    )]
    listen: Vec<String>,

    #[command(flatten)]
    codec: CodecArgs,

    /// Most connections served at once. Above 90% of it the idle timeout
    /// shrinks, down to 1 s at the limit; there, a new client takes the
    /// slot of the longest-idle connection (idle 1 s or more) or of the
    /// address holding the most, or is closed at once.
    #[arg(long, value_name = "N", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,

    /// Close a connection that sent nothing (or read none of our output)
    /// for this long: seconds, fractions allowed (0.5), or 500ms, 5m, 1h;
    /// 0 = never.
    #[arg(long, value_name = "SECS", default_value = "300", value_parser = parse_duration, allow_hyphen_values = true)]
    idle_timeout: Duration,

    /// On SIGINT/SIGTERM, give open connections this long to finish before
    /// closing them: seconds, fractions allowed (0.5), or 500ms, 5m, 1h.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_duration, allow_hyphen_values = true)]
    drain_timeout: Duration,

    /// Require a PROXY protocol header (v1 or v2, as HAProxy's send-proxy /
    /// send-proxy-v2 send) on every connection, and log and limit by the
    /// client address it names. Only behind a trusted proxy: a client that
    /// can reach the port directly can claim any address.
    #[arg(long)]
    proxy_protocol: bool,

    /// With --proxy-protocol: close a connection whose header has not
    /// arrived within this long: seconds, fractions allowed (0.5), or
    /// 500ms, 5m, 1h.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = parse_duration, allow_hyphen_values = true)]
    proxy_header_timeout: Duration,

    /// Most connections open at once from one client address (the PROXY
    /// header's with --proxy-protocol); more are closed at once and counted.
    /// Unlimited if not given.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_connections_per_ip: Option<u32>,

    /// With --proxy-protocol: believe PROXY headers only from peers in this
    /// network (CIDR, such as 10.0.0.0/8 or fd00::/8; a bare address is one
    /// host); repeat for several. Any other peer is closed at once and
    /// counted. Default: loopback only (127.0.0.0/8 and ::1).
    #[arg(long, value_name = "CIDR", value_parser = clap::value_parser!(Cidr))]
    proxy_from: Vec<Cidr>,

    /// Close a connection that moves (reads plus writes) fewer than this
    /// many bytes per second over --min-rate-window: catches clients that
    /// trickle a byte now and then. 0 = off.
    #[arg(long, value_name = "BYTES_PER_SEC", default_value_t = 0)]
    min_rate: u64,

    /// The window --min-rate is measured over (a connection younger than
    /// this is never checked).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_window, allow_hyphen_values = true)]
    min_rate_window: Duration,

    /// SO_SNDBUF of each connection's socket, in bytes (the kernel doubles
    /// it): bounds the kernel memory a client that never reads can pin.
    /// 0 = the kernel's autotuning (up to net.ipv4.tcp_wmem's maximum).
    #[arg(long, value_name = "BYTES", default_value_t = 256 * 1024)]
    send_buffer: usize,

    /// SO_RCVBUF of each connection's socket, in bytes (the kernel doubles
    /// it): bounds what a client can queue while the server waits for it to
    /// read. 0 (the default) = the kernel's autotuning (up to
    /// net.ipv4.tcp_rmem's maximum).
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    receive_buffer: usize,

    /// Serve Prometheus metrics at http://ADDR/metrics (IP:PORT; port 0
    /// picks one, the log says which). Off by default.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<String>,

    #[command(flatten)]
    tls: tls::TlsServeArgs,
}

impl ServeArgs {
    /// The addresses to bind, the metrics address and the server
    /// configuration, or a one-line message for the user.
    fn into_parts(self) -> Result<(Vec<SocketAddr>, Option<SocketAddr>, ServerConfig), String> {
        let parse = |flag: &str, text: &str| {
            text.parse::<SocketAddr>().map_err(|_| {
                format!(
                    "invalid {flag} address '{text}': expected IP:PORT, \
                     such as 127.0.0.1:12000 or [::1]:12000"
                )
            })
        };
        let addrs = self
            .listen
            .iter()
            .map(|text| parse("--listen", text))
            .collect::<Result<Vec<_>, _>>()?;
        let metrics_addr = self
            .metrics
            .as_deref()
            .map(|text| parse("--metrics", text))
            .transpose()?;
        let mut config = ServerConfig::new(self.codec.config());
        config.max_connections = self.max_connections as usize;
        config.idle_timeout = (!self.idle_timeout.is_zero()).then_some(self.idle_timeout);
        config.drain_timeout = self.drain_timeout;
        config.proxy_protocol = self.proxy_protocol;
        config.proxy_header_timeout = self.proxy_header_timeout;
        config.max_connections_per_ip = self.max_connections_per_ip;
        config.metrics = metrics_addr.map(|_| Metrics::new());
        config.min_rate = (self.min_rate > 0).then_some(self.min_rate);
        config.min_rate_window = self.min_rate_window;
        config.send_buffer = (self.send_buffer > 0).then_some(self.send_buffer);
        config.receive_buffer = (self.receive_buffer > 0).then_some(self.receive_buffer);
        config.proxy_from = self.proxy_from;
        config.tls = self.tls.build()?;
        Ok((addrs, metrics_addr, config))
    }
}

/// Runs `upcase serve`: binds, serves until SIGINT/SIGTERM, drains, exits 0.
///
/// Startup problems (bad address, port in use, permission denied) print one
/// line on stderr and exit non-zero: 2 for a bad flag, 1 for the rest. A
/// second signal during the drain exits at once with status 130.
pub fn main(args: ServeArgs) -> ExitCode {
    let (addrs, metrics_addr, config) = match args.into_parts() {
        Ok(parts) => parts,
        Err(message) => {
            fatal("upcase", message);
            return ExitCode::from(2);
        }
    };
    raise_open_file_limit(config.max_connections);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            fatal(
                "upcase",
                format_args!("cannot start the async runtime: {err}"),
            );
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let mut listeners = Vec::with_capacity(addrs.len());
        for addr in &addrs {
            match bind::bind(*addr) {
                Ok(listener) => listeners.push(listener),
                Err(err) => {
                    fatal(
                        "upcase",
                        format_args!("cannot listen on {addr}: {}", bind::describe(&err)),
                    );
                    return ExitCode::FAILURE;
                }
            }
        }
        if let (Some(addr), Some(metrics)) = (metrics_addr, &config.metrics) {
            let listener = match bind::bind(addr) {
                Ok(listener) => listener,
                Err(err) => {
                    fatal(
                        "upcase",
                        format_args!("cannot serve metrics on {addr}: {}", bind::describe(&err)),
                    );
                    return ExitCode::FAILURE;
                }
            };
            match listener.local_addr() {
                Ok(addr) => info!("metrics at http://{addr}/metrics"),
                Err(err) => warn!("metrics endpoint without a local address: {err}"),
            }
            tokio::spawn(metrics::serve(listener, metrics.clone()));
        }
        state_worst_case_memory(&config);
        let stop = match shutdown::on_signal() {
            Ok(stop) => stop,
            Err(err) => {
                fatal(
                    "upcase",
                    format_args!("cannot install signal handlers: {err}"),
                );
                return ExitCode::FAILURE;
            }
        };
        if let Some(tls) = &config.tls {
            if let Err(err) = tls::reload_on_sighup(tls.clone()) {
                fatal(
                    "upcase",
                    format_args!("cannot install the SIGHUP handler: {err}"),
                );
                return ExitCode::FAILURE;
            }
        }
        run(listeners, config, stop).await;
        ExitCode::SUCCESS
    })
}

/// Each connection is a descriptor, and the usual soft limit (1024) is far
/// below the default `--max-connections`. Raise the soft limit to the hard
/// one, and warn if that is still short.
fn raise_open_file_limit(max_connections: usize) {
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return;
    };
    let mut limit = soft;
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        debug!("raised the open-file limit from {soft} to {hard}");
        limit = hard;
    }
    // Listeners, the runtime and stdio need a few descriptors too, and the
    // metrics endpoint at most MAX_SCRAPES + 2 (its cap keeps them reserved).
    let reserved = 32 + metrics::MAX_SCRAPES as u64 + 2;
    let needed = max_connections as u64 + reserved;
    if limit < needed {
        warn!(
            "the open-file limit ({limit}) is below --max-connections {max_connections}: \
             accepts will fail (and be retried) near {} connections; raise it with `ulimit -n`",
            limit.saturating_sub(reserved)
        );
    }
}

/// `--min-rate-window`: a duration, and not 0 (a rate needs a window).
fn parse_window(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        window if window.is_zero() => Err("the window cannot be 0".into()),
        window => Ok(window),
    }
}

/// User-space bytes one connection can hold at most: its output buffer
/// (one 32 KiB read can triple when uppercased, plus what `BytesMut`
/// rounds up to) and its task; read buffers are per thread, not counted.
const USER_BYTES_PER_CONNECTION: u64 = 3 * 32 * 1024 + 4 * 1024;

/// Logs the worst-case memory for `--max-connections`: user space plus
/// the kernel's socket buffers: 2 × `--send-buffer` and 2 ×
/// `--receive-buffer` (the kernel doubles them), or the `tcp_wmem` /
/// `tcp_rmem` maximum where autotuning is left on.
fn state_worst_case_memory(config: &ServerConfig) {
    let max = config.max_connections as u64;
    let tcp_max = |name: &str| -> Option<u64> {
        let text = std::fs::read_to_string(format!("/proc/sys/net/ipv4/{name}")).ok()?;
        text.split_whitespace().nth(2)?.parse().ok()
    };
    let send = match config.send_buffer {
        Some(bytes) => 2 * bytes as u64,
        None => tcp_max("tcp_wmem").unwrap_or(4 << 20),
    };
    let receive = match config.receive_buffer {
        Some(bytes) => 2 * bytes as u64,
        None => tcp_max("tcp_rmem").unwrap_or(6 << 20),
    };
    let per_connection = USER_BYTES_PER_CONNECTION + send + receive;
    info!(
        "worst-case memory for --max-connections {max}: {} MiB = {max} x ({} KiB user space \
         + {} KiB send buffer + {} KiB receive buffer)",
        (max * per_connection) >> 20,
        USER_BYTES_PER_CONNECTION >> 10,
        send >> 10,
        receive >> 10,
    );
}
