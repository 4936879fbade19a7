//! `upcase client`: talk to an uppercasing server, as a person or a pipe.
//!
//! The textbook client reads one reply with a single `recv(1024)`: a long
//! reply is cut, a reply split across segments is half-printed, and a UTF-8
//! character split between two reads makes `decode()` throw. This one reads
//! until the reply is whole and never decodes: it moves bytes.
//!
//! * **Interactive** (stdin is a terminal, `interactive.rs`): a line editor
//!   (`terminal.rs`: rustyline, history, no length limit) prompts on stderr;
//!   each line goes out with its newline and the whole reply line is printed
//!   however it arrives; Ctrl-D on an empty line half-closes and prints
//!   whatever is still coming. A reader thread reports the server's close at
//!   once, even while the person is typing.
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
//! With `--verify` (`verify.rs`), both modes run the codec locally on what
//! they send and check every reply byte against it.
//!
//! * `connect.rs` — parsing `--connect`, resolving, connecting.
//! * `failure.rs` — every way the client can fail, its message and exit status.
//! * `terminal.rs` — the line editor, its history file, the terminal's state.
//! * `verify.rs` — `--verify`: the expected reply and the verdict.
//! * `tls.rs` — `--tls`: the handshake and a relay under the blocking client.

mod connect;
mod failure;
mod interactive;
mod streaming;
mod terminal;
mod tls;
mod verify;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::args::{parse_duration, CodecArgs};
use connect::Endpoint;
use failure::Failure;

/// Examples and exit statuses, shown by `upcase client --help`.
const AFTER_HELP: &str = "\
Examples:
    upcase client                                  # at a terminal: type lines, get capitals
    upcase client --connect [::1]:12000 --timeout 5
    printf 'hello, straße\\n' | upcase client        # HELLO, STRASSE
    upcase client < big.txt > out.txt              # any size, full duplex, constant memory
    upcase client --verify --invalid reject < data # check every reply byte locally

At a terminal: line editing (arrows, Ctrl-A/E/W/U...), history (Up/Down,
Ctrl-R; kept in the user data directory, e.g. ~/.local/share/upcase/history,
unless --no-history), no limit on line length. Enter sends the line; Ctrl-C
clears it; Ctrl-D on an empty line ends the session (the client half-closes,
prints what is still coming, and exits). The prompt goes to stderr, replies to
stdout.

Exit status:
    0  all input was sent, and the server answered and closed the connection
    1  another I/O error (reading stdin, writing stdout, connecting)
    2  bad command line
    3  connection refused: nothing listens at the address
    4  the host name could not be resolved
    5  the connection was reset (the server aborted, or closed it without
       reading everything that was sent)
    6  the server closed the connection before answering everything that was
       sent; the message gives bytes sent and received (one possible cause
       is a one-message server such as the textbook one)
    7  --timeout exceeded
    8  --verify: the input is not valid UTF-8 and the server rejects it
       (--invalid reject); the reply was correct up to there
    9  --verify: a reply byte was wrong, missing or extra; the message names
       its byte offset in the reply
   10  TLS failed: unreadable or bad --tls-* files, or the handshake (server
       certificate untrusted, expired or for another name; not a TLS port),
       or the server closed without TLS close_notify
   11  TLS: the server refused our client certificate, or requires one
       (--tls-cert, --tls-key)
  141  stdout was closed early (e.g. `| head`); the client stops quietly

Timeout: --timeout bounds connecting (per address), and then any wait on the
server that makes no progress for that long: a reply owed to us that does
not come, or our data that it does not accept. Waiting for you to type, or
for more stdin, never times out. Durations are seconds with fractions (0.5)
or human forms (500ms, 5m, 1h 30m).";

/// Flags of `upcase client`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = AFTER_HELP,
    mut_arg("casing", |arg| arg.help(
        "With --verify: the server's case mapping, full Unicode (ß → SS) or ASCII letters only"
    )),
    mut_arg("invalid", |arg| arg.help(
        "With --verify: the server's policy for ill-formed UTF-8 (pass, replace, reject)"
    )),
)]
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
    /// for this long: seconds, fractions allowed (0.5), or 500ms, 5m, 1h.
    /// Unset or 0: wait forever.
    #[arg(long, value_name = "SECS", value_parser = parse_duration, allow_hyphen_values = true)]
    timeout: Option<Duration>,

    /// Check every reply byte against the codec run locally with --casing
    /// and --invalid (give the server's); a wrong or short reply exits 9
    /// naming the byte offset, input the server rejects exits 8.
    #[arg(long)]
    verify: bool,

    #[command(flatten)]
    codec: CodecArgs,

    /// At a terminal: neither read nor write the history file.
    #[arg(long)]
    no_history: bool,

    /// At a terminal: the history file [default: the user data directory's
    /// upcase/history, e.g. ~/.local/share/upcase/history].
    #[arg(long, value_name = "PATH", conflicts_with = "no_history")]
    history_file: Option<PathBuf>,
    #[command(flatten)]
    tls: crate::tls::TlsClientArgs,
}

impl ClientArgs {
    /// The `--timeout`, if any (0 means none).
    fn limit(&self) -> Option<Duration> {
        self.timeout.filter(|limit| !limit.is_zero())
    }

    /// The history file to use at a terminal, if any.
    fn history(&self) -> Option<PathBuf> {
        if self.no_history {
            return None;
        }
        self.history_file
            .clone()
            .or_else(|| dirs::data_dir().map(|dir| dir.join("upcase").join("history")))
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
    let verify = args.verify.then(|| args.codec.config());
    // TLS files are checked before connecting, so a bad one costs no connection.
    let tls = args.tls.build(args.connect.host()).map_err(Failure::Tls)?;
    let stream = connect::connect(&args.connect, limit)?;
    let (stream, relay) = tls::wrap(stream, tls, limit)?;
    let result = if std::io::stdin().is_terminal() {
        interactive::run(stream, limit, verify, args.history())
    } else {
        streaming::run(stream, limit, verify)
    };
    // A TLS failure shows up as a reset of the relay: report the cause.
    result.map_err(|failure| relay.and_then(|r| r.failure()).unwrap_or(failure))
}
