//! Every way `upcase client` can fail: a one-line message and a distinct
//! exit status each (listed in `upcase client --help` and the README).

use std::fmt;
use std::io;
use std::process::ExitCode;
use std::time::Duration;

/// Why the client stopped short of a clean end.
#[derive(Debug)]
pub(super) enum Failure {
    /// Exit 1: another I/O error (stdin, stdout, connecting).
    Io(String),
    /// Exit 3: nothing listens at the address.
    Refused(String),
    /// Exit 4: the host name did not resolve.
    Unresolved(String),
    /// Exit 5: the connection was reset.
    Reset(String),
    /// Exit 6: the server closed before answering everything sent.
    ClosedEarly(String),
    /// Exit 7: `--timeout` ran out.
    Timeout(String),
    /// Exit 8 (`--verify`): the input is not valid UTF-8 and the server
    /// rejects it (`--invalid reject`); the reply was right up to there.
    Rejected(String),
    /// Exit 9 (`--verify`): a reply byte differs from the local codec's,
    /// is missing at the clean end, or is one too many.
    Mismatch(String),
    /// Exit 10: TLS failed: the certificate files, or the handshake
    /// (untrusted, expired, wrong name, not TLS), or the TLS connection.
    Tls(String),
    /// Exit 11: the server refused our client certificate, or our lack of one.
    ClientCertificate(String),
    /// Exit 141: whoever reads our stdout went away (`| head`). Not an
    /// error worth a message; the status is the shell's for SIGPIPE.
    StdoutClosed,
}

impl Failure {
    /// The exit status.
    pub(super) fn code(&self) -> u8 {
        match self {
            Self::Io(_) => 1,
            Self::Refused(_) => 3,
            Self::Unresolved(_) => 4,
            Self::Reset(_) => 5,
            Self::ClosedEarly(_) => 6,
            Self::Timeout(_) => 7,
            Self::Rejected(_) => 8,
            Self::Mismatch(_) => 9,
            Self::Tls(_) => 10,
            Self::ClientCertificate(_) => 11,
            Self::StdoutClosed => 141,
        }
    }

    /// Prints the message (if any) as one line on stderr and returns the
    /// exit status.
    pub(super) fn report(self) -> ExitCode {
        if !matches!(self, Self::StdoutClosed) {
            crate::log::fatal("upcase client", &self);
        }
        ExitCode::from(self.code())
    }

    /// A failure writing to stdout: a closed pipe is quiet, the rest is I/O.
    pub(super) fn stdout(err: &io::Error) -> Self {
        if err.kind() == io::ErrorKind::BrokenPipe {
            Self::StdoutClosed
        } else {
            Self::Io(format!("cannot write to stdout: {err}"))
        }
    }

    /// A failure reading stdin.
    pub(super) fn stdin(err: &io::Error) -> Self {
        Self::Io(format!("cannot read stdin: {err}"))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(message)
            | Self::Refused(message)
            | Self::Unresolved(message)
            | Self::Reset(message)
            | Self::ClosedEarly(message)
            | Self::Timeout(message)
            | Self::Rejected(message)
            | Self::Mismatch(message)
            | Self::Tls(message)
            | Self::ClientCertificate(message) => f.write_str(message),
            Self::StdoutClosed => f.write_str("stdout was closed"),
        }
    }
}

/// Whether `err` is how a socket read or write reports that a
/// `--timeout` (`SO_RCVTIMEO`/`SO_SNDTIMEO`) ran out.
pub(super) fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Whether `err` means the peer reset the connection (a write after the
/// reset reports a broken pipe).
pub(super) fn is_reset(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// `1 reply`, `2 replies`.
pub(super) fn replies(n: u64) -> String {
    if n == 1 {
        "1 reply".to_owned()
    } else {
        format!("{n} replies")
    }
}

/// `1 byte`, `2 bytes`.
pub(super) fn bytes(n: u64) -> String {
    if n == 1 {
        "1 byte".to_owned()
    } else {
        format!("{n} bytes")
    }
}

/// What an early close can mean, named as possibilities: the client sees
/// only the close, not its reason.
pub(super) const CLOSE_CAUSES: &str = "possible causes include a server that answers one \
     message and closes (like the textbook one), `--invalid reject` meeting ill-formed input, \
     and the server's shutdown; `--verify` checks every reply byte";

/// `0.5 s`, `10 s`.
pub(super) fn secs(limit: Duration) -> String {
    format!("{} s", limit.as_secs_f64())
}
