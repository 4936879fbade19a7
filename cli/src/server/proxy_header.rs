//! `--proxy-protocol`: reading the PROXY header that must open every
//! connection, before the codec sees a byte.
//!
//! The socket is read into a small buffer (at most [`MAX_HEADER_LEN`] bytes
//! at a time) and fed to the sans-IO [`ProxyParser`]; whatever that read
//! brought after the header is payload and goes to the codec first, so no
//! byte is lost. A malformed header, a close before it is complete, or no
//! complete header within the timeout closes the connection.

use std::io;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

use super::close::CloseReason;
use super::read_buf::READ_BUF;
use upcase::proxy::{Progress, ProxyHeader, ProxyParser, MAX_HEADER_LEN};

/// A complete header and the payload bytes that came in the same read.
pub(super) struct Received {
    pub(super) header: ProxyHeader,
    pub(super) payload: Vec<u8>,
}

/// What one read came to.
enum Step {
    More,
    Done(Received),
    Close(CloseReason),
}

/// Reads the header within `timeout`, or says why the connection must close.
pub(super) async fn read(stream: &TcpStream, timeout: Duration) -> Result<Received, CloseReason> {
    let deadline = Instant::now() + timeout;
    let mut parser = ProxyParser::new();
    loop {
        match tokio::time::timeout_at(deadline, stream.readable()).await {
            Err(_) => return Err(CloseReason::ProxyTimeout),
            Ok(Err(err)) => return Err(CloseReason::io(err)),
            Ok(Ok(())) => {}
        }
        // The thread's read buffer, borrowed without an `.await` inside, so
        // a connection waiting for its header holds no buffer either.
        let step = READ_BUF.with_borrow_mut(|buf| {
            let buf = &mut buf[..MAX_HEADER_LEN];
            match stream.try_read(buf) {
                // The client closed before the header was complete.
                Ok(0) => match parser.finish() {
                    Err(err) => Step::Close(CloseReason::ProxyHeader(err)),
                    // Not reached: a complete header returns at once.
                    Ok(()) => Step::Close(CloseReason::Completed),
                },
                Ok(n) => match parser.feed(&buf[..n]) {
                    Ok(Progress::NeedMore) => Step::More,
                    Ok(Progress::Done { header, consumed }) => Step::Done(Received {
                        header,
                        payload: buf[consumed..n].to_vec(),
                    }),
                    Err(err) => Step::Close(CloseReason::ProxyHeader(err)),
                },
                Err(err)
                    if matches!(
                        err.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    ) =>
                {
                    Step::More
                }
                Err(err) => Step::Close(CloseReason::io(err)),
            }
        });
        match step {
            Step::More => {}
            Step::Done(received) => return Ok(received),
            Step::Close(reason) => return Err(reason),
        }
    }
}
