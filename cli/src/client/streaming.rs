//! Streaming mode: stdin is a pipe or a file, so `cat big.txt | upcase
//! client > out.txt` must work for gigabytes.
//!
//! Full duplex: a thread copies stdin → socket while the calling thread
//! copies socket → stdout, each through one fixed 64 KiB buffer. Neither
//! waits for the other, so the server's output never backs up behind our
//! input (the deadlock of a client that writes everything before reading
//! anything), and memory stays constant whatever the size. Bytes are
//! copied as they are: binary-safe, nothing decoded.
//!
//! The end: at stdin's EOF the sender half-closes; the server finishes and
//! closes; we exit 0. The server closing while we still had input means it
//! will never answer the rest: exit 6 (5 if it reset the connection), with
//! the bytes sent and received. With `--verify`, the sender queues the
//! local codec's output for each chunk before writing it, and the receiver
//! checks each chunk against it; the verifier then has the last word.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tracing::debug;

use upcase::Config;

use super::failure::{bytes, is_reset, is_timeout, secs, Failure, CLOSE_CAUSES};
use super::verify::Verifier;

/// Bytes per read, each way.
const BUF_LEN: usize = 64 * 1024;

/// When the server closes first, how long to wait for the sender to find
/// stdin's EOF. The server may close its side the moment it has answered,
/// a hair before we notice our own input has ended; that is a clean end.
/// Input still open after this is input the server will never answer.
const GRACE: Duration = Duration::from_millis(250);

/// What the two halves tell each other.
struct Shared {
    start: Instant,
    /// When we last started writing to the server, in ns since `start`
    /// (0 = never).
    last_sent: AtomicU64,
    /// The sender has half-closed: the server owes us its close.
    half_closed: AtomicBool,
    /// The receiver saw the server's EOF: don't send any more.
    server_closed: AtomicBool,
    /// Bytes written to the server.
    sent: AtomicU64,
    /// Bytes received from the server.
    received: AtomicU64,
    /// `--verify`: the expected reply (the sender adds, the receiver checks).
    verifier: Option<Mutex<Verifier>>,
}

impl Shared {
    fn new(verify: Option<Config>) -> Self {
        Self {
            start: Instant::now(),
            last_sent: AtomicU64::new(0),
            half_closed: AtomicBool::new(false),
            server_closed: AtomicBool::new(false),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            verifier: verify.map(|config| Mutex::new(Verifier::new(config))),
        }
    }

    fn nanos(&self, at: Instant) -> u64 {
        // +1 so that a send at `start` is not "never".
        at.saturating_duration_since(self.start).as_nanos() as u64 + 1
    }
}

/// How the sender (stdin → socket) ended.
enum Sent {
    /// Stdin's EOF, everything written, half-closed.
    Done,
    /// There was more input, but the server had closed.
    ServerClosed,
    /// Reading stdin failed.
    Stdin(io::Error),
    /// Writing to the socket (or half-closing) failed.
    Socket(io::Error),
}

/// How the receiver (socket → stdout) ended.
enum Received {
    /// The server closed its side (or the sender shut the socket down
    /// after failing).
    Eof,
    /// A read failed.
    Failed(io::Error),
    /// The server owed us data and sent none for the whole `--timeout`.
    Idle(Duration),
}

/// Streams stdin to the server and the server to stdout until both are
/// done; see the module docs for the end conditions. With `verify`, every
/// reply byte is checked against the local codec (see `verify.rs`).
pub(super) fn run(
    stream: TcpStream,
    limit: Option<Duration>,
    verify: Option<Config>,
) -> Result<(), Failure> {
    let (stdin, mut stdout) = raw_stdio()?;
    let (sender, mut receiver) = configure(stream, limit)?;
    let shared = Arc::new(Shared::new(verify));
    let sent = spawn_sender(stdin, sender, Arc::clone(&shared))?;
    let end = receive(&mut receiver, &mut stdout, &shared, limit)?;
    debug!(
        received = shared.received.load(Ordering::Acquire),
        "receiving ended"
    );
    let outcome = conclude(end, &sent, &shared, limit);
    match &shared.verifier {
        Some(verifier) => lock(verifier).verdict(outcome),
        None => outcome,
    }
}

/// Stdin and stdout as plain files: this bypasses std's line-buffered
/// stdout and its stdin buffer, since we move large chunks and flush
/// nothing ourselves.
fn raw_stdio() -> Result<(File, File), Failure> {
    let stdin = io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map(File::from)
        .map_err(|err| Failure::stdin(&err))?;
    let stdout = io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(File::from)
        .map_err(|err| Failure::stdout(&err))?;
    Ok((stdin, stdout))
}

/// Socket options, and the two handles: (sender, receiver).
fn configure(
    stream: TcpStream,
    limit: Option<Duration>,
) -> Result<(TcpStream, TcpStream), Failure> {
    let setup = |err: io::Error| Failure::Io(format!("cannot set up the connection: {err}"));
    // Interactive use of a pipe (`tail -f log | upcase client`) should see
    // answers at once.
    stream.set_nodelay(true).map_err(setup)?;
    // The send side gives up after `limit` without progress; the receive
    // side wakes up a few times per `limit` to check whether it is owed.
    stream.set_write_timeout(limit).map_err(setup)?;
    stream
        .set_read_timeout(
            limit.map(|limit| (limit / 4).clamp(Duration::from_millis(1), Duration::from_secs(1))),
        )
        .map_err(setup)?;
    let sender = stream.try_clone().map_err(setup)?;
    Ok((sender, stream))
}

/// Starts the stdin → socket thread; its outcome comes on the channel.
fn spawn_sender(
    stdin: File,
    mut sender: TcpStream,
    shared: Arc<Shared>,
) -> Result<mpsc::Receiver<Sent>, Failure> {
    let (done, sent) = mpsc::channel();
    std::thread::Builder::new()
        .name("stdin-to-server".into())
        .spawn(move || {
            let outcome = send(stdin, &mut sender, &shared);
            let failed = !matches!(outcome, Sent::Done | Sent::ServerClosed);
            let _ = done.send(outcome);
            if failed {
                // Wake the receiver: its read returns EOF, and it then
                // finds our reason in the channel.
                let _ = sender.shutdown(Shutdown::Both);
            }
        })
        .map_err(|err| Failure::Io(format!("cannot start a thread: {err}")))?;
    Ok(sent)
}

/// Turns how receiving ended, and what the sender says, into the result.
fn conclude(
    end: Received,
    sent: &mpsc::Receiver<Sent>,
    shared: &Shared,
    limit: Option<Duration>,
) -> Result<(), Failure> {
    match end {
        Received::Eof => {
            shared.server_closed.store(true, Ordering::Release);
            match sent.recv_timeout(GRACE) {
                Ok(Sent::Done) => Ok(()),
                Ok(Sent::ServerClosed) | Err(_) => Err(closed_early(shared)),
                Ok(Sent::Stdin(err)) => Err(Failure::stdin(&err)),
                Ok(Sent::Socket(err)) => Err(match limit {
                    Some(limit) if is_timeout(&err) => Failure::Timeout(format!(
                        "the server accepted none of our data for --timeout {}",
                        secs(limit)
                    )),
                    // A write after the server's close draws a reset: the
                    // close came first and is the news.
                    _ if is_reset(&err) => closed_early(shared),
                    _ => Failure::Io(format!("cannot send to the server: {err}")),
                }),
            }
        }
        Received::Failed(err) if is_reset(&err) => Err(reset(shared)),
        Received::Failed(err) => Err(Failure::Io(format!("cannot read from the server: {err}"))),
        Received::Idle(limit) => Err(Failure::Timeout(
            if shared.half_closed.load(Ordering::Acquire) {
                format!(
                    "the server neither sent anything nor closed the connection for \
                     --timeout {} after the end of input",
                    secs(limit)
                )
            } else {
                format!(
                    "the server sent nothing for --timeout {} although it had input \
                     to answer",
                    secs(limit)
                )
            },
        )),
    }
}

/// "N bytes sent, M received": the counts behind every early-end message.
fn tally(shared: &Shared) -> String {
    format!(
        "{} sent, {} received",
        bytes(shared.sent.load(Ordering::Acquire)),
        shared.received.load(Ordering::Acquire)
    )
}

/// The server closed its side while we still had input for it.
fn closed_early(shared: &Shared) -> Failure {
    Failure::ClosedEarly(format!(
        "the server closed the connection before all input was sent ({}; it half-closed \
         before our end of input): the rest will not be answered; {CLOSE_CAUSES}",
        tally(shared)
    ))
}

/// The server reset the connection.
fn reset(shared: &Shared) -> Failure {
    let when = if shared.half_closed.load(Ordering::Acquire) {
        "after all input was sent"
    } else {
        "before all input was sent"
    };
    Failure::Reset(format!(
        "the server reset the connection {when}: {}, and no end of stream from it \
         before the reset; what it had not answered is lost (a server that closes without \
         reading everything it was sent, such as the textbook one, does this)",
        tally(shared)
    ))
}

/// Copies stdin to the socket, then half-closes.
fn send(mut stdin: File, socket: &mut TcpStream, shared: &Shared) -> Sent {
    let mut buf = vec![0u8; BUF_LEN];
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Sent::Stdin(err),
        };
        if shared.server_closed.load(Ordering::Acquire) {
            return Sent::ServerClosed;
        }
        // Stamped before writing: the reply can only come after the write,
        // so it is always seen as newer (stamping after could lose a race
        // with a fast reply and leave it "owed" forever).
        shared
            .last_sent
            .store(shared.nanos(Instant::now()), Ordering::Release);
        if let Some(verifier) = &shared.verifier {
            lock(verifier).sent(&buf[..n]);
        }
        if let Err(err) = socket.write_all(&buf[..n]) {
            return Sent::Socket(err);
        }
        shared.sent.fetch_add(n as u64, Ordering::AcqRel);
    }
    if let Some(verifier) = &shared.verifier {
        lock(verifier).end_of_input();
    }
    match socket.shutdown(Shutdown::Write) {
        Ok(()) => {
            shared.half_closed.store(true, Ordering::Release);
            Sent::Done
        }
        Err(err) => Sent::Socket(err),
    }
}

/// Copies the socket to stdout until EOF or a read error. A failure to
/// write stdout ends the client at once (`Err`).
fn receive(
    socket: &mut TcpStream,
    stdout: &mut File,
    shared: &Shared,
    limit: Option<Duration>,
) -> Result<Received, Failure> {
    let mut buf = vec![0u8; BUF_LEN];
    let mut last_received = 0u64; // ns since `shared.start`, 0 = never
    loop {
        match socket.read(&mut buf) {
            Ok(0) => return Ok(Received::Eof),
            Ok(n) => {
                stdout
                    .write_all(&buf[..n])
                    .map_err(|err| Failure::stdout(&err))?;
                shared.received.fetch_add(n as u64, Ordering::AcqRel);
                if let Some(verifier) = &shared.verifier {
                    lock(verifier).received(&buf[..n])?;
                }
                last_received = shared.nanos(Instant::now());
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) if is_timeout(&err) => {
                let Some(limit) = limit else {
                    return Ok(Received::Failed(err));
                };
                // Owed: we sent something it has not answered at all, or
                // we are done and wait for its close.
                let last_sent = shared.last_sent.load(Ordering::Acquire);
                let owed = shared.half_closed.load(Ordering::Acquire) || last_sent > last_received;
                let since = last_sent.max(last_received);
                let now = shared.nanos(Instant::now());
                if owed && now.saturating_sub(since) >= limit.as_nanos() as u64 {
                    return Ok(Received::Idle(limit));
                }
            }
            Err(err) => return Ok(Received::Failed(err)),
        }
    }
}

/// Locks the verifier; a panic elsewhere cannot leave it half-updated in a
/// way that matters (the process is ending), so poisoning is ignored.
fn lock(verifier: &Mutex<Verifier>) -> MutexGuard<'_, Verifier> {
    verifier
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
