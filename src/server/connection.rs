//! One client connection: read → `Codec::feed` → write everything → read
//! again, until the client half-closes, fails or goes quiet.
//!
//! Output is drained before the next read, so a client that never reads
//! makes the server hold at most one read's worth of output (≤ 3 × 8 KiB),
//! and TCP flow control pushes back on the client.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

use super::summary::{CloseReason, Stats};
use super::ServerConfig;
use crate::{Codec, CodecError};

/// Bytes taken from the socket per read.
const READ_BUF_LEN: usize = 8 * 1024;

/// After a reject, how long we keep discarding the client's input so that
/// closing does not reset the connection and destroy the prefix we sent.
const LINGER: Duration = Duration::from_secs(2);

thread_local! {
    /// The read buffer, one per worker thread. A read and the `feed` of what
    /// it got never cross an `.await`, so connections can share it, and an
    /// idle connection holds no read buffer at all.
    static READ_BUF: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_BUF_LEN].into_boxed_slice());
}

/// A connection's accounting, moved into its task. Dropping it records the
/// close, so a connection aborted at the drain timeout (or whose task
/// panicked) is still counted and logged, and releases its slot.
pub(super) struct Tracker {
    peer: SocketAddr,
    bytes_in: u64,
    bytes_out: u64,
    reason: Option<CloseReason>,
    stats: Arc<Stats>,
    _permit: OwnedSemaphorePermit,
}

impl Tracker {
    pub(super) fn new(peer: SocketAddr, stats: Arc<Stats>, permit: OwnedSemaphorePermit) -> Self {
        stats.accepted();
        Self {
            peer,
            bytes_in: 0,
            bytes_out: 0,
            reason: None,
            stats,
            _permit: permit,
        }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        let reason = self.reason.take().unwrap_or(if std::thread::panicking() {
            CloseReason::Panicked
        } else {
            CloseReason::Aborted
        });
        self.stats.closed(&reason, self.bytes_in, self.bytes_out);
        let (peer, bytes_in, bytes_out) = (self.peer, self.bytes_in, self.bytes_out);
        match reason {
            CloseReason::Reset(_) => {
                debug!(%peer, bytes_in, bytes_out, "connection closed: {reason}");
            }
            CloseReason::Io(_) => warn!(%peer, bytes_in, bytes_out, "connection closed: {reason}"),
            CloseReason::Panicked => {
                error!(%peer, bytes_in, bytes_out, "connection closed: {reason}");
            }
            _ => info!(%peer, bytes_in, bytes_out, "connection closed: {reason}"),
        }
    }
}

/// Serves one accepted connection to its end.
pub(super) async fn serve(mut stream: TcpStream, mut tracker: Tracker, config: Arc<ServerConfig>) {
    // Replies are written as soon as they exist; don't let Nagle hold them.
    if let Err(err) = stream.set_nodelay(true) {
        debug!(peer = %tracker.peer, "cannot set TCP_NODELAY: {err}");
    }
    let reason = drive(&mut stream, &mut tracker, &config).await;
    tracker.reason = Some(reason);
}

/// What one non-blocking read came to.
enum Read {
    /// `n` bytes were read and fed; the codec's verdict.
    Fed(usize, Result<(), CodecError>),
    /// The client half-closed.
    Eof,
    /// Nothing to read right now.
    Empty,
    /// The read failed.
    Failed(io::Error),
}

/// The connection loop; returns why it ended.
async fn drive(
    stream: &mut TcpStream,
    tracker: &mut Tracker,
    config: &ServerConfig,
) -> CloseReason {
    let mut codec = Codec::new(config.codec);
    let mut out = BytesMut::new();
    loop {
        // A client streaming flat out must not starve the other connections.
        tokio::task::consume_budget().await;
        match read_and_feed(stream, &mut codec, &mut out) {
            Read::Fed(n, result) => {
                tracker.bytes_in += n as u64;
                // Under reject, `out` holds the valid prefix: send it first.
                if let Err(reason) = write_out(stream, &mut out, tracker, config.idle_timeout).await
                {
                    return reason;
                }
                if let Err(err) = result {
                    linger(stream).await;
                    return CloseReason::Rejected(err);
                }
            }
            Read::Eof => {
                let result = codec.finish(&mut out);
                if let Err(reason) = write_out(stream, &mut out, tracker, config.idle_timeout).await
                {
                    return reason;
                }
                if let Err(err) = stream.shutdown().await {
                    return CloseReason::io(err);
                }
                return match result {
                    Ok(()) => CloseReason::Completed,
                    Err(err) => CloseReason::Rejected(err),
                };
            }
            Read::Empty => {
                // Going idle: give the output buffer back rather than keep
                // up to 24 KiB per quiet connection.
                out = BytesMut::new();
                match with_timeout(config.idle_timeout, stream.readable()).await {
                    Some(Ok(())) => {}
                    Some(Err(err)) => return CloseReason::io(err),
                    None => {
                        // Nothing unread, so this is an orderly FIN, not a reset.
                        let _ = stream.shutdown().await;
                        return CloseReason::IdleTimeout;
                    }
                }
            }
            Read::Failed(err) => return CloseReason::io(err),
        }
    }
}

/// Reads what the socket has (without waiting) into the thread's buffer and
/// feeds it to the codec.
fn read_and_feed(stream: &TcpStream, codec: &mut Codec, out: &mut BytesMut) -> Read {
    READ_BUF.with_borrow_mut(|buf| match stream.try_read(buf) {
        Ok(0) => Read::Eof,
        Ok(n) => Read::Fed(n, codec.feed(&buf[..n], out)),
        Err(err) if err.kind() == io::ErrorKind::WouldBlock => Read::Empty,
        Err(err) if err.kind() == io::ErrorKind::Interrupted => Read::Empty,
        Err(err) => Read::Failed(err),
    })
}

/// Writes all of `out` and clears it. `stall` bounds how long a single write
/// may make no progress (a client that stopped reading).
async fn write_out(
    stream: &mut TcpStream,
    out: &mut BytesMut,
    tracker: &mut Tracker,
    stall: Option<Duration>,
) -> Result<(), CloseReason> {
    let mut written = 0;
    while written < out.len() {
        match with_timeout(stall, stream.write(&out[written..])).await {
            Some(Ok(0)) => return Err(CloseReason::io(io::ErrorKind::WriteZero.into())),
            Some(Ok(n)) => {
                written += n;
                tracker.bytes_out += n as u64;
            }
            Some(Err(err)) => return Err(CloseReason::io(err)),
            None => return Err(CloseReason::WriteStalled),
        }
    }
    out.clear();
    Ok(())
}

/// Closes after a reject without a reset: send FIN after the valid prefix,
/// then discard input until the client's FIN (or [`LINGER`] runs out).
/// Closing a socket with unread input makes the kernel send RST, which can
/// destroy output the client has not read yet.
async fn linger(stream: &mut TcpStream) {
    if stream.shutdown().await.is_err() {
        return;
    }
    let deadline = Instant::now() + LINGER;
    loop {
        match tokio::time::timeout_at(deadline, stream.readable()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return,
        }
        let done = READ_BUF.with_borrow_mut(|buf| match stream.try_read(buf) {
            Ok(0) => true,
            Ok(_) => false,
            Err(err) => !matches!(
                err.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ),
        });
        if done {
            return;
        }
    }
}

/// `future` bounded by `limit`, or unbounded when `limit` is `None`;
/// `None` if it timed out.
async fn with_timeout<F: Future>(limit: Option<Duration>, future: F) -> Option<F::Output> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, future).await.ok(),
        None => Some(future.await),
    }
}
