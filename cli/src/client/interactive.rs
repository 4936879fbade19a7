//! Interactive mode: a person at a terminal, one line at a time.
//!
//! The line editor (`terminal.rs`) prompts on stderr and reads a line, with
//! editing, history and no length limit; the line goes to the server with
//! its newline; the next prompt comes once the whole reply line has been
//! printed, however many segments it took. Replies are printed as bytes
//! (the server may pass invalid UTF-8 through; nothing is decoded).
//!
//! Two threads. The main thread runs the editor and sends lines. A reader
//! thread owns the socket's receiving side: it prints every reply byte as
//! it arrives, counts reply lines, and notices the server's close or reset
//! the moment it happens. If that happens while the person is at the
//! prompt, it says so at once (not after the next Enter): it puts the
//! terminal back, prints the message and ends the process with the status
//! the message belongs to. The two share one small state under a mutex.
//!
//! Every reply is exactly one line: uppercasing never adds or removes a
//! `\n`, and an ill-formed sequence never swallows one. So "the reply to
//! line N" is simply the Nth line from the socket.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use upcase::Config;

use super::failure::{bytes, is_reset, is_timeout, replies, secs, Failure, CLOSE_CAUSES};
use super::terminal::{Restorer, Terminal};
use super::verify::Verifier;

/// Bytes read from the socket at a time; longer replies take several reads.
const BUF_LEN: usize = 64 * 1024;

/// Runs the session: lines until Ctrl-D, then half-close and print
/// whatever the server still sends until it closes.
pub(super) fn run(
    stream: TcpStream,
    limit: Option<Duration>,
    verify: Option<Config>,
    history: Option<std::path::PathBuf>,
) -> Result<(), Failure> {
    let setup = |err: io::Error| Failure::Io(format!("cannot set up the connection: {err}"));
    // Each line is a small write that should go out at once.
    stream.set_nodelay(true).map_err(setup)?;
    stream.set_write_timeout(limit).map_err(setup)?;
    let receiving = stream.try_clone().map_err(setup)?;

    let mut terminal = Terminal::open(history)?;
    let session = Arc::new(Session::new(verify));
    let out = terminal
        .take_replies()
        .ok_or_else(|| Failure::Io("no stdout for the replies".into()))?;
    spawn_reader(receiving, out, Arc::clone(&session), terminal.restorer())?;

    let outcome = converse(&mut terminal, &stream, &session, limit)
        .and_then(|()| finish(&stream, &session, limit));
    session.judge(outcome)
}

/// Where the main thread is, as the reader thread needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// In the line editor: the person is typing.
    Typing,
    /// A line was sent; its reply is owed.
    Waiting,
    /// Input ended (Ctrl-D) and was half-closed; the server owes its close.
    Draining,
}

/// How the server's side ended.
#[derive(Debug)]
enum End {
    Closed,
    Reset,
    Failed(io::Error),
}

/// What the two threads share.
struct State {
    phase: Phase,
    lines_sent: u64,
    /// Newlines received: replies complete.
    lines_answered: u64,
    bytes_sent: u64,
    bytes_received: u64,
    /// When bytes last moved either way (`--timeout` counts from here).
    progress: Instant,
    /// The last byte printed ended a line (or nothing was printed).
    at_line_start: bool,
    end: Option<End>,
    /// A failure the reader found (stdout, `--verify`), for the main thread.
    failure: Option<Failure>,
    verifier: Option<Verifier>,
}

impl State {
    /// "N bytes sent, M received": the counts behind every message.
    fn tally(&self) -> String {
        format!(
            "{} sent, {} received",
            bytes(self.bytes_sent),
            self.bytes_received
        )
    }

    /// The message for a connection that ended while nothing was owed to
    /// us (at the prompt): nothing more can be sent.
    fn ended_at_prompt(&mut self) -> Failure {
        if let Some(failure) = self.failure.take() {
            return failure;
        }
        match &self.end {
            Some(End::Reset) => Failure::Reset(format!(
                "the server reset the connection after {} ({}); nothing more can be sent",
                replies(self.lines_answered),
                self.tally()
            )),
            Some(End::Failed(err)) => Failure::Io(format!("cannot read from the server: {err}")),
            Some(End::Closed) | None => Failure::ClosedEarly(format!(
                "the server closed the connection after {} ({}, before our end of input); \
                 nothing more can be sent; {CLOSE_CAUSES}",
                replies(self.lines_answered),
                self.tally()
            )),
        }
    }

    /// The message for a connection that ended while a reply was owed.
    fn ended_mid_reply(&mut self) -> Failure {
        if let Some(failure) = self.failure.take() {
            return failure;
        }
        let what = if self.at_line_start {
            "it did not answer the last line"
        } else {
            "it answered only part of the last line"
        };
        match &self.end {
            Some(End::Reset) => Failure::Reset(format!(
                "the server reset the connection after {}; {what} ({})",
                replies(self.lines_answered),
                self.tally()
            )),
            Some(End::Failed(err)) => Failure::Io(format!("cannot read from the server: {err}")),
            Some(End::Closed) | None => Failure::ClosedEarly(format!(
                "the server closed the connection after {}; {what} ({}, before our end of \
                 input); {CLOSE_CAUSES}",
                replies(self.lines_answered),
                self.tally()
            )),
        }
    }
}

/// The shared state and its change signal.
struct Session {
    state: Mutex<State>,
    changed: Condvar,
}

impl Session {
    fn new(verify: Option<Config>) -> Self {
        Self {
            state: Mutex::new(State {
                phase: Phase::Waiting,
                lines_sent: 0,
                lines_answered: 0,
                bytes_sent: 0,
                bytes_received: 0,
                progress: Instant::now(),
                at_line_start: true,
                end: None,
                failure: None,
                verifier: verify.map(Verifier::new),
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic in the other thread ends the process anyway.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for a change, at most until `--timeout` after the last
    /// progress; `Err(())` once that has passed.
    fn wait<'a>(
        &self,
        state: MutexGuard<'a, State>,
        limit: Option<Duration>,
    ) -> Result<MutexGuard<'a, State>, MutexGuard<'a, State>> {
        let Some(limit) = limit else {
            return Ok(self
                .changed
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner()));
        };
        let left = (state.progress + limit).saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(state);
        }
        Ok(self
            .changed
            .wait_timeout(state, left)
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .0)
    }

    /// The final verdict: with `--verify`, the verifier's.
    fn judge(&self, outcome: Result<(), Failure>) -> Result<(), Failure> {
        match &self.lock().verifier {
            Some(verifier) => verifier.verdict(outcome),
            None => outcome,
        }
    }
}

/// Prompt, send, await the reply; until Ctrl-D on an empty line.
fn converse(
    terminal: &mut Terminal,
    socket: &TcpStream,
    session: &Session,
    limit: Option<Duration>,
) -> Result<(), Failure> {
    loop {
        {
            let mut state = session.lock();
            if state.end.is_some() || state.failure.is_some() {
                // It closed right after the last reply: say so before
                // the person types a line that cannot be sent.
                return Err(state.ended_at_prompt());
            }
            state.phase = Phase::Typing;
        }
        let line = terminal.read_line();
        session.lock().phase = Phase::Waiting;
        let Some(line) = line? else {
            return Ok(()); // Ctrl-D on an empty line
        };
        send_line(socket, session, line, limit)?;
        await_reply(session, limit)?;
    }
}

/// Sends `line` and its newline.
fn send_line(
    mut socket: &TcpStream,
    session: &Session,
    line: String,
    limit: Option<Duration>,
) -> Result<(), Failure> {
    let mut line = line.into_bytes();
    line.push(b'\n');
    {
        let mut state = session.lock();
        if let Some(verifier) = &mut state.verifier {
            verifier.sent(&line);
        }
        // One reply line per newline sent (a line can hold more than one,
        // typed with Ctrl-V Ctrl-J).
        state.lines_sent += line.iter().filter(|&&b| b == b'\n').count() as u64;
        state.progress = Instant::now();
    }
    // Not under the lock: the reader must be free to print replies that
    // come while a long line is still being sent.
    let written = socket.write_all(&line);
    let mut state = session.lock();
    match written {
        Ok(()) => {
            state.bytes_sent += line.len() as u64;
            state.progress = Instant::now();
            Ok(())
        }
        Err(err) => Err(match limit {
            Some(limit) if is_timeout(&err) => Failure::Timeout(format!(
                "the server accepted none of the line for --timeout {}",
                secs(limit)
            )),
            _ if is_reset(&err) => Failure::Reset(format!(
                "the server reset the connection after {}; the last line was not answered ({})",
                replies(state.lines_answered),
                state.tally()
            )),
            _ => Failure::Io(format!("cannot send to the server: {err}")),
        }),
    }
}

/// Waits until the reply to every sent line has been printed.
fn await_reply(session: &Session, limit: Option<Duration>) -> Result<(), Failure> {
    let mut state = session.lock();
    loop {
        if state.failure.is_some()
            || (state.end.is_some() && state.lines_answered < state.lines_sent)
        {
            if !state.at_line_start {
                eprintln!(); // the message starts on its own line
            }
            return Err(state.ended_mid_reply());
        }
        if state.lines_answered >= state.lines_sent {
            return Ok(());
        }
        state = session.wait(state, limit).map_err(|state| {
            Failure::Timeout(format!(
                "no reply from the server for --timeout {} (after {})",
                secs(limit.unwrap_or_default()),
                replies(state.lines_answered)
            ))
        })?;
    }
}

/// After Ctrl-D: half-close ("no more lines"), then wait for the server
/// to close while the reader prints whatever still comes.
fn finish(socket: &TcpStream, session: &Session, limit: Option<Duration>) -> Result<(), Failure> {
    {
        let mut state = session.lock();
        state.phase = Phase::Draining;
        state.progress = Instant::now();
        if let Some(verifier) = &mut state.verifier {
            verifier.end_of_input();
        }
    }
    // A server that already closed is fine: everything sent was answered.
    match socket.shutdown(Shutdown::Write) {
        Err(err) if err.kind() != io::ErrorKind::NotConnected => {
            return Err(Failure::Io(format!(
                "cannot half-close the connection: {err}"
            )))
        }
        _ => {}
    }
    let mut state = session.lock();
    loop {
        if let Some(failure) = state.failure.take() {
            return Err(failure);
        }
        match &state.end {
            Some(End::Closed) => return Ok(()),
            Some(End::Reset) => {
                return Err(Failure::Reset(format!(
                    "the server reset the connection after {} and our end of input ({})",
                    replies(state.lines_answered),
                    state.tally()
                )))
            }
            Some(End::Failed(err)) => {
                return Err(Failure::Io(format!("cannot read from the server: {err}")))
            }
            None => {}
        }
        state = session.wait(state, limit).map_err(|_| {
            Failure::Timeout(format!(
                "the server did not close the connection within --timeout {} of the end \
                 of input",
                secs(limit.unwrap_or_default())
            ))
        })?;
    }
}

/// Starts the thread that prints replies and watches for the server's end.
fn spawn_reader(
    socket: TcpStream,
    out: File,
    session: Arc<Session>,
    restorer: Restorer,
) -> Result<(), Failure> {
    std::thread::Builder::new()
        .name("server-to-stdout".into())
        .spawn(move || read_replies(socket, out, &session, &restorer))
        .map(drop)
        .map_err(|err| Failure::Io(format!("cannot start a thread: {err}")))
}

/// Copies the socket to stdout until the server's end (or a failure),
/// keeping the shared counts; see the module docs.
fn read_replies(mut socket: TcpStream, mut out: File, session: &Session, restorer: &Restorer) {
    let mut buf = vec![0u8; BUF_LEN];
    loop {
        let read = socket.read(&mut buf);
        let mut state = session.lock();
        match read {
            Ok(0) => state.end = Some(End::Closed),
            Ok(n) => received(&mut state, &mut out, &buf[..n]),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) if is_reset(&err) => state.end = Some(End::Reset),
            Err(err) => state.end = Some(End::Failed(err)),
        }
        let over = state.end.is_some() || state.failure.is_some();
        if over && state.phase == Phase::Typing {
            // The person is at the prompt: tell them now. The editor holds
            // the terminal in raw mode on the main thread; put it back,
            // print the message on a line of its own, and end.
            let failure = state.ended_at_prompt();
            let failure = match &state.verifier {
                Some(verifier) => verifier.verdict(Err(failure)).err(),
                None => Some(failure),
            };
            restorer.restore();
            eprintln!();
            let code = failure.as_ref().map_or(1, Failure::code);
            if let Some(failure) = failure {
                let _ = failure.report();
            }
            std::process::exit(i32::from(code));
        }
        session.changed.notify_all();
        if over {
            return;
        }
    }
}

/// Prints reply bytes and updates the counts (and `--verify`).
fn received(state: &mut State, out: &mut File, chunk: &[u8]) {
    if let Err(err) = out.write_all(chunk) {
        state.failure = Some(Failure::stdout(&err));
        return;
    }
    state.bytes_received += chunk.len() as u64;
    state.lines_answered += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
    state.at_line_start = chunk.last() == Some(&b'\n');
    state.progress = Instant::now();
    if let Some(verifier) = &mut state.verifier {
        if let Err(failure) = verifier.received(chunk) {
            state.failure = Some(failure);
        }
    }
}
