//! `upcase serve`: flags, startup checks and the process around [`run`].

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use nix::sys::resource::{getrlimit, setrlimit, Resource};
use tracing::{debug, info, warn};

use super::{bind, metrics, run, shutdown, tls, Metrics, ServerConfig};
use crate::args::{parse_duration, CodecArgs};

/// Flags of `upcase serve`.
#[derive(Debug, clap::Args)]
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

    /// Most connections served at once; more wait in the listen backlog.
    #[arg(long, value_name = "N", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,

    /// Close a connection that sent nothing (or read none of our output)
    /// for this many seconds; 0 = never.
    #[arg(long, value_name = "SECS", default_value = "300", value_parser = parse_duration, allow_hyphen_values = true)]
    idle_timeout: Duration,

    /// On SIGINT/SIGTERM, give open connections this many seconds to finish
    /// before closing them.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_duration, allow_hyphen_values = true)]
    drain_timeout: Duration,

    /// Require a PROXY protocol header (v1 or v2, as HAProxy's send-proxy /
    /// send-proxy-v2 send) on every connection, and log and limit by the
    /// client address it names. Only behind a trusted proxy: a client that
    /// can reach the port directly can claim any address.
    #[arg(long)]
    proxy_protocol: bool,

    /// With --proxy-protocol: close a connection whose header has not
    /// arrived within this many seconds.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = parse_duration, allow_hyphen_values = true)]
    proxy_header_timeout: Duration,

    /// Most connections open at once from one client address (the PROXY
    /// header's with --proxy-protocol); more are closed at once and counted.
    /// Unlimited if not given.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_connections_per_ip: Option<u32>,

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
            eprintln!("upcase: {message}");
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
            eprintln!("upcase: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let mut listeners = Vec::with_capacity(addrs.len());
        for addr in &addrs {
            match bind::bind(*addr) {
                Ok(listener) => listeners.push(listener),
                Err(err) => {
                    eprintln!("upcase: cannot listen on {addr}: {}", bind::describe(&err));
                    return ExitCode::FAILURE;
                }
            }
        }
        if let (Some(addr), Some(metrics)) = (metrics_addr, &config.metrics) {
            let listener = match bind::bind(addr) {
                Ok(listener) => listener,
                Err(err) => {
                    eprintln!(
                        "upcase: cannot serve metrics on {addr}: {}",
                        bind::describe(&err)
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
        let stop = match shutdown::on_signal() {
            Ok(stop) => stop,
            Err(err) => {
                eprintln!("upcase: cannot install signal handlers: {err}");
                return ExitCode::FAILURE;
            }
        };
        if let Some(tls) = &config.tls {
            if let Err(err) = tls::reload_on_sighup(tls.clone()) {
                eprintln!("upcase: cannot install the SIGHUP handler: {err}");
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
    // Listeners, the runtime and stdio need a few descriptors too.
    let needed = max_connections as u64 + 32;
    if limit < needed {
        warn!(
            "the open-file limit ({limit}) is below --max-connections {max_connections}: \
             accepts will fail (and be retried) near {} connections; raise it with `ulimit -n`",
            limit.saturating_sub(32)
        );
    }
}
