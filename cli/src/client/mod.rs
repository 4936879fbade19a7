//! `upcase client`: talk to an uppercasing server, as a person or a pipe.
//!
//! The textbook client reads one reply with a single `recv(1024)`: a long
//! reply is cut, a reply split across segments is half-printed, and a UTF-8
//! character split between two reads makes `decode()` throw. This one reads
//! until the reply is whole and never decodes: it moves bytes.
//!
//! * **Interactive** (stdin is a terminal, `interactive.rs`): prompt, send the
//!   line with its newline, print the whole reply line however it arrives,
//!   repeat until EOF; then half-close and print whatever is still coming.
//! * **Streaming** (stdin is a pipe or file, `streaming.rs`): full duplex.
//!   One thread copies stdin to the socket while the main thread copies the
//!   socket to stdout, each through one fixed 64 KiB buffer, so any amount
//!   flows in constant memory and a large input cannot deadlock on full
//!   socket buffers. At stdin's EOF it half-closes and waits for the server
//!   to close.
//!
//! Plain threads and blocking sockets rather than the async runtime: there
//! is one connection and two directions, so there is nothing to multiplex,
//! and blocking reads of stdin would need threads anyway.
//!
//! * `connect.rs` — parsing `--connect`, resolving, connecting.
//! * `failure.rs` — every way the client can fail, its message and exit status.
//! * `tls.rs` — `--tls`: the handshake and a relay under the blocking client.

mod connect;
mod failure;
mod interactive;
mod streaming;
mod tls;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use crate::args::parse_duration;
use connect::Endpoint;
use failure::Failure;

/// The exit statuses, shown by `upcase client --help`.
const AFTER_HELP: &str = "\
Exit status:
    0  all input was sent, and the server answered and closed the connection
    1  another I/O error (reading stdin, writing stdout, connecting)
    2  bad command line
    3  connection refused: nothing listens at the address
    4  the host name could not be resolved
    5  the connection was reset (the server aborted, or closed it without
       reading everything that was sent)
    6  the server closed the connection before answering everything that was
       sent (a one-message server such as the textbook one does this)
    7  --timeout exceeded
   10  TLS failed: unreadable or bad --tls-* files, or the handshake (server
       certificate untrusted, expired or for another name; not a TLS port),
       or the server closed without TLS close_notify
   11  TLS: the server refused our client certificate, or requires one
       (--tls-cert, --tls-key)
  141  stdout was closed early (e.g. `| head`); the client stops quietly

Timeout: --timeout SECS bounds connecting (per address), and then any wait
on the server that makes no progress for SECS: a reply owed to us that does
not come, or our data that it does not accept. Waiting for you to type, or
for more stdin, never times out.";

/// Flags of `upcase client`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct ClientArgs {
    /// Server to connect to, HOST:PORT. Names are resolved and every address
    /// is tried in turn; write IPv6 literals as `[::1]:12000`.
    #[arg(
        long,
        value_name = "HOST:PORT",
        default_value = "127.0.0.1:12000",
        value_parser = Endpoint::parse
    )]
    connect: Endpoint,

    /// Give up when connecting, or any wait on the server, makes no progress
    /// for this many seconds (fractions allowed). Unset or 0: wait forever.
    #[arg(long, value_name = "SECS", value_parser = parse_duration, allow_hyphen_values = true)]
    timeout: Option<Duration>,

    #[command(flatten)]
    tls: crate::tls::TlsClientArgs,
}

impl ClientArgs {
    /// The `--timeout`, if any (0 means none).
    fn limit(&self) -> Option<Duration> {
        self.timeout.filter(|limit| !limit.is_zero())
    }
}

/// Runs `upcase client`: connects, then talks interactively if stdin is a
/// terminal and streams otherwise. Errors are one line on stderr, and the
/// exit status says which (see the `--help` text).
pub fn main(args: ClientArgs) -> ExitCode {
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

fn run(args: &ClientArgs) -> Result<(), Failure> {
    let limit = args.limit();
    // TLS files are checked before connecting, so a bad one costs no connection.
    let tls = args.tls.build(args.connect.host()).map_err(Failure::Tls)?;
    let stream = connect::connect(&args.connect, limit)?;
    let (stream, relay) = tls::wrap(stream, tls, limit)?;
    let result = if std::io::stdin().is_terminal() {
        interactive::run(stream, limit)
    } else {
        streaming::run(stream, limit)
    };
    // A TLS failure shows up as a reset of the relay: report the cause.
    result.map_err(|failure| relay.and_then(|r| r.failure()).unwrap_or(failure))
}
