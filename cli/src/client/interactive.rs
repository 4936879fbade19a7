//! Interactive mode: a person at a terminal, one line at a time.
//!
//! Prompt on stderr, read a line, send it with its newline, then read the
//! socket until the reply's newline, however many segments that takes and
//! however long the line is, and print it as bytes (the server may pass
//! invalid UTF-8 through; nothing is decoded). The terminal's own line
//! editing applies (backspace, Ctrl-U, Ctrl-W); Ctrl-D ends the session.
//!
//! Every reply is exactly one line: uppercasing never adds or removes a
//! `\n`, and an ill-formed sequence never swallows one. So "the reply to
//! line N" is simply the next line from the socket.

use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use super::failure::{is_reset, is_timeout, replies, secs, Failure};

/// The textbook client's prompt.
const PROMPT: &str = "Input lowercase sentence: ";

/// Bytes read from the socket at a time; replies longer than this are
/// simply read in several pieces.
const BUF_LEN: usize = 64 * 1024;

/// Runs the prompt-send-print loop until stdin's EOF, then half-closes and
/// prints whatever the server still sends until it closes.
pub(super) fn run(stream: TcpStream, limit: Option<Duration>) -> Result<(), Failure> {
    let setup = |err: io::Error| Failure::Io(format!("cannot set up the connection: {err}"));
    // Each line is a small write that should go out at once.
    stream.set_nodelay(true).map_err(setup)?;
    stream.set_read_timeout(limit).map_err(setup)?;
    stream.set_write_timeout(limit).map_err(setup)?;
    let mut socket = stream.try_clone().map_err(setup)?;
    let mut reader = BufReader::with_capacity(BUF_LEN, stream);

    let mut input = io::stdin().lock();
    let mut out = io::stdout().lock();
    let mut answered = 0u64;
    let (mut line, mut reply) = (Vec::new(), Vec::new());
    loop {
        prompt();
        line.clear();
        if input
            .read_until(b'\n', &mut line)
            .map_err(|err| Failure::stdin(&err))?
            == 0
        {
            // Ctrl-D: end the prompt's line so what follows starts clean.
            eprintln!();
            break;
        }
        // Ctrl-D after some text ends the line without a newline.
        if !line.ends_with(b"\n") {
            line.push(b'\n');
        }
        still_open(&reader, &socket, answered)?;
        socket
            .write_all(&line)
            .map_err(|err| send_failure(&err, answered, limit))?;

        reply.clear();
        let result = reader.read_until(b'\n', &mut reply);
        // Print what came even if the rest did not: it is the server's answer.
        out.write_all(&reply)
            .and_then(|()| out.flush())
            .map_err(|err| Failure::stdout(&err))?;
        match result {
            Ok(_) if reply.ends_with(b"\n") => answered += 1,
            Ok(_) => {
                end_line(&mut out, &reply);
                return Err(closed_early(answered, !reply.is_empty()));
            }
            Err(err) => {
                end_line(&mut out, &reply);
                return Err(reply_failure(&err, answered, limit));
            }
        }
    }

    // Half-close: "no more lines". A server that already closed is fine:
    // everything sent was answered.
    match socket.shutdown(Shutdown::Write) {
        Err(err) if err.kind() != io::ErrorKind::NotConnected => {
            return Err(Failure::Io(format!(
                "cannot half-close the connection: {err}"
            )))
        }
        _ => {}
    }
    drain(&mut reader, &mut out, answered, limit)
}

/// Shows the prompt on stderr, so stdout carries only the replies.
fn prompt() {
    let mut err = io::stderr().lock();
    let _ = err.write_all(PROMPT.as_bytes());
    let _ = err.flush();
}

/// Before sending a line: has the server already closed? A one-message
/// server closes right after its first reply; say so instead of sending a
/// line nobody will read (which would also make its kernel answer with a
/// reset).
fn still_open(
    reader: &BufReader<TcpStream>,
    socket: &TcpStream,
    answered: u64,
) -> Result<(), Failure> {
    if !reader.buffer().is_empty() {
        return Ok(()); // unread bytes: it is still talking
    }
    let peek = socket.set_nonblocking(true).and_then(|()| {
        let peek = socket.peek(&mut [0u8; 1]);
        socket.set_nonblocking(false)?;
        peek
    });
    match peek {
        Ok(0) => Err(Failure::ClosedEarly(format!(
            "the server closed the connection after {}, so this line was not sent \
             (a one-message server such as the textbook one does this)",
            replies(answered)
        ))),
        Ok(_) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::WouldBlock => Ok(()),
        Err(err) if is_reset(&err) => Err(Failure::Reset(format!(
            "the server reset the connection after {}, so this line was not sent",
            replies(answered)
        ))),
        Err(err) => Err(Failure::Io(format!("connection error: {err}"))),
    }
}

/// The server closed (EOF) before the reply to the last line was whole.
fn closed_early(answered: u64, partial: bool) -> Failure {
    let what = if partial {
        "it answered only part of the last line"
    } else {
        "it did not answer the last line"
    };
    Failure::ClosedEarly(format!(
        "the server closed the connection after {}; {what} \
         (a one-message server such as the textbook one does this)",
        replies(answered)
    ))
}

/// Sending a line failed.
fn send_failure(err: &io::Error, answered: u64, limit: Option<Duration>) -> Failure {
    match limit {
        Some(limit) if is_timeout(err) => Failure::Timeout(format!(
            "the server accepted none of the line for --timeout {}",
            secs(limit)
        )),
        _ if is_reset(err) => Failure::Reset(format!(
            "the server reset the connection after {}; the last line was not answered",
            replies(answered)
        )),
        _ => Failure::Io(format!("cannot send to the server: {err}")),
    }
}

/// Reading a reply failed.
fn reply_failure(err: &io::Error, answered: u64, limit: Option<Duration>) -> Failure {
    match limit {
        Some(limit) if is_timeout(err) => Failure::Timeout(format!(
            "no reply from the server for --timeout {} (after {})",
            secs(limit),
            replies(answered)
        )),
        _ if is_reset(err) => Failure::Reset(format!(
            "the server reset the connection after {}, before answering the last line",
            replies(answered)
        )),
        _ => Failure::Io(format!("cannot read from the server: {err}")),
    }
}

/// After a cut-off reply, start a new line on a terminal so the error
/// message does not run on from it.
fn end_line(out: &mut impl Write, reply: &[u8]) {
    if !reply.is_empty() && !reply.ends_with(b"\n") && io::stdout().is_terminal() {
        let _ = out.write_all(b"\n").and_then(|()| out.flush());
    }
}

/// After the half-close: print everything until the server closes.
fn drain(
    reader: &mut BufReader<TcpStream>,
    out: &mut impl Write,
    answered: u64,
    limit: Option<Duration>,
) -> Result<(), Failure> {
    let mut buf = vec![0u8; BUF_LEN];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => out
                .write_all(&buf[..n])
                .and_then(|()| out.flush())
                .map_err(|err| Failure::stdout(&err))?,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => {
                return Err(match limit {
                    Some(limit) if is_timeout(&err) => Failure::Timeout(format!(
                        "the server did not close the connection within --timeout {} \
                         of the end of input",
                        secs(limit)
                    )),
                    _ if is_reset(&err) => Failure::Reset(format!(
                        "the server reset the connection after {} and the end of input",
                        replies(answered)
                    )),
                    _ => Failure::Io(format!("cannot read from the server: {err}")),
                })
            }
        }
    }
}
