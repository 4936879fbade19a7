//! One client connection: read → `Codec::feed` → write everything → read
//! again, until the client half-closes, fails or goes quiet. Before that,
//! the PROXY header (with `--proxy-protocol`) and the per-address limit.
//!
//! Output is drained before the next read, so a client that never reads
//! makes the server hold at most one read's worth of output (≤ 3 × 32 KiB),
//! and TCP flow control pushes back on the client.

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;
use tracing::{debug, info};

use super::close::CloseReason;
use super::per_ip::PerIpLimit;
use super::proxy_header;
use super::read_buf::{park_out, reuse_out, READ_BUF};
use super::slots::SlotGuard;
use super::stats::Stats;
use super::tls::{self, Stream};
use super::ServerConfig;
use upcase::proxy::ProxyHeader;
use upcase::{Codec, CodecError};

/// After a reject, how long we keep discarding the client's input so that
/// closing does not reset the connection and destroy the prefix we sent.
pub(super) const LINGER: Duration = Duration::from_secs(2);

/// A connection's accounting, moved into its task. Dropping it records the
/// close, so a connection aborted at the drain timeout (or whose task
/// panicked) is still counted and logged, and releases its slot.
pub(super) struct Tracker {
    /// The client: the socket's peer, or the address its PROXY header named.
    peer: SocketAddr,
    /// The proxy's address, when a PROXY header named the client.
    via: Via,
    started: std::time::Instant,
    /// When bytes last moved (or the connection loop started): the idle
    /// timeout of the next read runs from here.
    last_active: std::time::Instant,
    bytes_in: u64,
    bytes_out: u64,
    reason: Option<CloseReason>,
    /// The codec's [`Codec::invalid_sequences`] already counted in the metrics.
    invalid_counted: u64,
    stats: Arc<Stats>,
    /// The connection's place in the registry the pressure policy sweeps
    /// (`None` for a connection refused at once).
    slot: Option<SlotGuard>,
    _permit: Option<OwnedSemaphorePermit>,
}

/// ` via ADDR` in log lines of proxied connections, nothing otherwise;
/// then ` (client IDENTITY)` for a TLS client certificate.
#[derive(Debug, Clone)]
struct Via(Option<SocketAddr>, Option<String>);

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(proxy) = self.0 {
            write!(f, " via {proxy}")?;
        }
        match &self.1 {
            Some(client) => write!(f, " (client {client})"),
            None => Ok(()),
        }
    }
}

impl Tracker {
    pub(super) fn new(
        peer: SocketAddr,
        stats: Arc<Stats>,
        permit: Option<OwnedSemaphorePermit>,
        slot: Option<SlotGuard>,
    ) -> Self {
        stats.accepted();
        let now = std::time::Instant::now();
        Self {
            peer,
            via: Via(None, None),
            started: now,
            last_active: now,
            bytes_in: 0,
            bytes_out: 0,
            reason: None,
            invalid_counted: 0,
            stats,
            slot,
            _permit: permit,
        }
    }

    /// Ends a connection that is closed as soon as accepted.
    pub(super) fn close_at_once(&mut self, reason: CloseReason) {
        self.reason = Some(reason);
    }

    /// Records bytes moved just now, for the idle timeout and the idle and
    /// minimum-rate policies. One clock reading per read.
    fn moved(&mut self, bytes: usize) {
        let now = std::time::Instant::now();
        self.last_active = now;
        if let Some(slot) = &self.slot {
            slot.activity.moved_at(bytes, now);
        }
    }

    /// Records that the connection is active now: a write (or TLS flush)
    /// that had to wait went through.
    fn touch(&mut self) {
        self.moved(0);
    }

    /// Takes the client address from a PROXY header, if it names one.
    fn proxied(&mut self, header: &ProxyHeader) {
        let proxy = self.peer;
        let version = header.version();
        match header.source() {
            Some(client) => {
                info!(%client, %proxy, "PROXY {version:?} header: client {client} via {proxy}");
                self.peer = client;
                self.via = Via(Some(proxy), None);
            }
            None => debug!(
                peer = %proxy,
                "PROXY {version:?} header names no TCP client ({:?}, {:?}): using the socket's peer",
                header.command(),
                header.addresses()
            ),
        }
    }

    /// Counts `len` bytes fed to `codec` (or its `finish`, with `len` 0).
    fn fed(&mut self, len: usize, codec: &Codec) {
        self.bytes_in += len as u64;
        self.moved(len);
        if let Some(metrics) = self.stats.metrics() {
            metrics.bytes_in(len);
            // The codec counts ill-formed sequences itself: add what is new.
            let seen = codec.invalid_sequences();
            metrics.invalid_utf8(seen - self.invalid_counted);
            self.invalid_counted = seen;
        }
    }

    /// Counts `n` bytes written, at the time of the last [`Self::moved`]
    /// (a write that waited calls [`Self::touch`] too).
    fn sent(&mut self, n: usize) {
        self.bytes_out += n as u64;
        if let Some(slot) = &self.slot {
            slot.activity.moved_too(n);
        }
        if let Some(metrics) = self.stats.metrics() {
            metrics.bytes_out(n);
        }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        let reason = self.reason.take().unwrap_or_else(|| {
            let policy = self
                .slot
                .as_ref()
                .and_then(|s| s.activity.closed_by_policy());
            match policy {
                _ if std::thread::panicking() => CloseReason::Panicked,
                Some(reason) => reason,
                None => CloseReason::Aborted,
            }
        });
        self.stats.closed(&reason, self.bytes_in, self.bytes_out);
        if let Some(metrics) = self.stats.metrics() {
            metrics.closed(&reason, self.started.elapsed().as_secs_f64());
        }
        reason.log(self.peer, &self.via, self.bytes_in, self.bytes_out);
    }
}

/// Serves one accepted connection to its end: the PROXY header if
/// required, the per-address limit if any, then the uppercasing loop.
pub(super) async fn serve(
    mut stream: TcpStream,
    mut tracker: Tracker,
    config: Arc<ServerConfig>,
    per_ip: Option<Arc<PerIpLimit>>,
) {
    // Replies are written as soon as they exist; don't let Nagle hold them.
    if let Err(err) = stream.set_nodelay(true) {
        debug!(peer = %tracker.peer, "cannot set TCP_NODELAY: {err}");
    }
    // Bytes that arrived in the same read as the PROXY header.
    let mut payload = Vec::new();
    if config.proxy_protocol {
        match proxy_header::read(&stream, config.proxy_header_timeout).await {
            Ok(received) => {
                tracker.proxied(&received.header);
                payload = received.payload;
            }
            Err(reason) => {
                tracker.reason = Some(reason);
                return;
            }
        }
    }

    // Held until the connection ends, then frees the address's slot.
    let _slot = match &per_ip {
        None => None,
        Some(limit) => match limit.try_acquire(tracker.peer.ip()) {
            Some(slot) => Some(slot),
            None => {
                debug!(
                    peer = %tracker.peer,
                    "{} already has {} connection(s) open: closing",
                    tracker.peer.ip(),
                    limit.max()
                );
                tracker.reason = Some(CloseReason::OverIpLimit);
                return;
            }
        },
    };

    let reason = match &config.tls {
        None => drive(&mut stream, &mut tracker, &config, payload).await,
        // The payload after a PROXY header is the start of the handshake.
        // Boxed: TLS state must not grow every plain connection's task.
        Some(server) => {
            Box::pin(async {
                let metrics = tracker.stats.metrics();
                match tls::handshake(stream, payload, server, tracker.peer, metrics).await {
                    Ok((mut stream, client)) => {
                        tracker.via.1 = client;
                        drive(&mut stream, &mut tracker, &config, Vec::new()).await
                    }
                    Err(reason) => reason,
                }
            })
            .await
        }
    };
    tracker.reason = Some(reason);
}

/// What one read came to.
enum Read {
    /// Bytes were read and fed; the codec's verdict.
    Fed(Result<(), CodecError>),
    /// The client half-closed.
    Eof,
    /// The read failed.
    Failed(io::Error),
}

/// The connection loop; returns why it ended. `payload` is what came
/// after the PROXY header in its read: fed before anything else.
async fn drive<S: Stream>(
    stream: &mut S,
    tracker: &mut Tracker,
    config: &ServerConfig,
    payload: Vec<u8>,
) -> CloseReason {
    let mut codec = Codec::new(config.codec);
    let mut out = BytesMut::new();
    if !payload.is_empty() {
        let result = codec.feed(&payload, &mut out);
        tracker.fed(payload.len(), &codec);
        drop(payload);
        if let Some(reason) = deliver(stream, &mut out, tracker, config, result).await {
            return reason;
        }
    }
    // The first read's idle timeout runs from here.
    tracker.last_active = std::time::Instant::now();
    let mut idle = IdleTimer::new(config.idle_timeout);
    loop {
        let since = Instant::from_std(tracker.last_active);
        let read = next_read(stream, &mut codec, &mut out, tracker);
        let Some(read) = idle.bound(since, read).await else {
            // Nothing unread, so this is an orderly FIN, not a reset.
            let _ = stream.shutdown().await;
            return CloseReason::IdleTimeout;
        };
        match read {
            Read::Fed(result) => {
                if let Some(reason) = deliver(stream, &mut out, tracker, config, result).await {
                    return reason;
                }
            }
            Read::Eof => {
                let result = codec.finish(&mut out);
                tracker.fed(0, &codec);
                if let Err(reason) = write_out(stream, &mut out, tracker, config.idle_timeout).await
                {
                    return reason;
                }
                if let Err(err) = stream.shutdown().await {
                    return CloseReason::io(err);
                }
                return match result {
                    Ok(()) => CloseReason::Completed,
                    Err(err) => CloseReason::InvalidUtf8(err),
                };
            }
            Read::Failed(err) => return CloseReason::io(err),
        }
    }
}

/// Sends what one feed produced; after a codec error, closes the way a
/// reject does. `Some` if the connection is over.
async fn deliver<S: Stream>(
    stream: &mut S,
    out: &mut BytesMut,
    tracker: &mut Tracker,
    config: &ServerConfig,
    result: Result<(), CodecError>,
) -> Option<CloseReason> {
    // Under reject, `out` holds the valid prefix: send it first.
    if let Err(reason) = write_out(stream, out, tracker, config.idle_timeout).await {
        return Some(reason);
    }
    if let Err(err) = result {
        stream.linger().await;
        return Some(CloseReason::InvalidUtf8(err));
    }
    None
}

/// Waits for the next read, feeds it to the codec and says what it came to.
///
/// Reads through `AsyncRead::poll_read`, which treats a short read as having
/// drained the socket and waits for readiness instead of trying `recv` again:
/// one `recv` per request in request/response traffic, where `try_read`
/// made a second one that only returned `EAGAIN`. Tokio's cooperative budget
/// applies to `poll_read`, so a client streaming flat out cannot starve
/// the other connections on its worker.
fn next_read<'a, S: Stream>(
    stream: &'a mut S,
    codec: &'a mut Codec,
    out: &'a mut BytesMut,
    tracker: &'a mut Tracker,
) -> impl Future<Output = Read> + 'a {
    poll_fn(move |cx| {
        let read = READ_BUF
            .with_borrow_mut(|buf| poll_read_and_feed(cx, stream, buf, codec, out, tracker));
        if read.is_pending() && out.capacity() > 0 {
            // Going idle: hand the (drained) output buffer to the thread
            // rather than keep up to 96 KiB per quiet connection.
            park_out(out);
        }
        read
    })
}

/// One poll of the socket into the thread's read buffer; whatever arrived is
/// fed to the codec before the buffer is released, so connections can share it.
fn poll_read_and_feed<S: Stream>(
    cx: &mut Context<'_>,
    stream: &mut S,
    buf: &mut [u8],
    codec: &mut Codec,
    out: &mut BytesMut,
    tracker: &mut Tracker,
) -> Poll<Read> {
    let mut read_buf = ReadBuf::new(buf);
    match Pin::new(stream).poll_read(cx, &mut read_buf) {
        Poll::Pending => Poll::Pending,
        Poll::Ready(Ok(())) if read_buf.filled().is_empty() => Poll::Ready(Read::Eof),
        Poll::Ready(Ok(())) => {
            let bytes = read_buf.filled();
            reuse_out(out);
            let result = codec.feed(bytes, out);
            tracker.fed(bytes.len(), codec);
            Poll::Ready(Read::Fed(result))
        }
        Poll::Ready(Err(err)) if err.kind() == io::ErrorKind::Interrupted => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Poll::Ready(Err(err)) => Poll::Ready(Read::Failed(err)),
    }
}

/// Writes all of `out` and clears it. `stall` bounds how long a single write
/// may make no progress (a client that stopped reading).
async fn write_out<S: Stream>(
    stream: &mut S,
    out: &mut BytesMut,
    tracker: &mut Tracker,
    stall: Option<Duration>,
) -> Result<(), CloseReason> {
    let mut written = 0;
    while written < out.len() {
        match with_timeout(stall, stream.write(&out[written..])).await {
            Waited::No(Ok(0)) | Waited::Yes(Ok(0)) => {
                return Err(CloseReason::io(io::ErrorKind::WriteZero.into()))
            }
            Waited::No(Ok(n)) => {
                written += n;
                tracker.sent(n);
            }
            Waited::Yes(Ok(n)) => {
                written += n;
                tracker.sent(n);
                tracker.touch();
            }
            Waited::No(Err(err)) | Waited::Yes(Err(err)) => return Err(CloseReason::io(err)),
            Waited::TimedOut => return Err(CloseReason::WriteStalled),
        }
    }
    // TLS may hold the last record back until flushed (compiled out for TCP).
    if S::BUFFERS_WRITES {
        match with_timeout(stall, stream.flush()).await {
            Waited::No(Ok(())) => {}
            Waited::Yes(Ok(())) => tracker.touch(),
            Waited::No(Err(err)) | Waited::Yes(Err(err)) => return Err(CloseReason::io(err)),
            Waited::TimedOut => return Err(CloseReason::WriteStalled),
        }
    }
    out.clear();
    Ok(())
}

/// Closes after a reject without a reset: send FIN after the valid prefix,
/// then discard input until the client's FIN (or [`LINGER`] runs out).
/// Closing a socket with unread input makes the kernel send RST, which can
/// destroy output the client has not read yet.
pub(super) async fn linger(stream: &mut TcpStream) {
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

/// The idle timeout of one connection's reads.
///
/// One timer per connection, re-armed only when it fires: each wait for a
/// read moves a plain deadline, and a timer that fires before the current
/// deadline is set to it and waits again. A fresh timer per read would be
/// registered with Tokio's timer driver for every message, and registering
/// a timer can wake the driver's thread: a context switch per request.
///
/// Nor is the armed timer polled on every wait: polling it again with the
/// waker it already holds would only store that waker again. It is polled
/// when it has fired, or when the task's waker is not the one it holds.
struct IdleTimer {
    limit: Option<Duration>,
    /// Never later than the deadline of the wait in progress.
    timer: Pin<Box<tokio::time::Sleep>>,
    /// The waker `timer` was last polled with.
    waker: Option<Waker>,
}

impl IdleTimer {
    fn new(limit: Option<Duration>) -> Self {
        // Without a limit the timer is never polled, so never registered.
        let first = Instant::now() + limit.unwrap_or(Duration::ZERO);
        Self {
            limit,
            timer: Box::pin(tokio::time::sleep_until(first)),
            waker: None,
        }
    }

    /// `future`, or `None` if it stays pending until `since` + the limit
    /// (`since`: when the connection was last active, a clock reading
    /// taken anyway, so none is taken here).
    async fn bound<F: Future>(&mut self, since: Instant, future: F) -> Option<F::Output> {
        let Some(limit) = self.limit else {
            return Some(future.await);
        };
        let deadline = since + limit;
        let mut future = std::pin::pin!(future);
        poll_fn(|cx| {
            if let Poll::Ready(output) = future.as_mut().poll(cx) {
                return Poll::Ready(Some(output));
            }
            // Armed (a timer never polled counts as elapsed) with our waker.
            if !self.timer.is_elapsed() && holds(&self.waker, cx.waker()) {
                return Poll::Pending;
            }
            while self.timer.as_mut().poll(cx).is_ready() {
                if Instant::now() >= deadline {
                    return Poll::Ready(None);
                }
                self.timer.as_mut().reset(deadline);
            }
            if !holds(&self.waker, cx.waker()) {
                self.waker = Some(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }
}

/// Whether `held` is a waker that wakes the same task as `waker`.
fn holds(held: &Option<Waker>, waker: &Waker) -> bool {
    held.as_ref().is_some_and(|held| held.will_wake(waker))
}

/// What a bounded wait came to.
enum Waited<T> {
    /// Ready at the first poll.
    No(T),
    /// Ready after waiting, within the limit.
    Yes(T),
    /// Still pending when the limit ran out.
    TimedOut,
}

/// `future` bounded by `limit`, or unbounded when `limit` is `None`.
///
/// The timer is armed only if the first poll finds `future` pending: a
/// write that the socket takes at once (nearly all of them) reads no clock
/// and creates no timer. The limit then runs from that first poll, which is
/// the same moment as the call.
async fn with_timeout<F: Future>(limit: Option<Duration>, future: F) -> Waited<F::Output> {
    let mut future = std::pin::pin!(future);
    if let Poll::Ready(output) = poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await {
        return Waited::No(output);
    }
    match limit {
        Some(limit) => match tokio::time::timeout(limit, future).await {
            Ok(output) => Waited::Yes(output),
            Err(_) => Waited::TimedOut,
        },
        None => Waited::Yes(future.await),
    }
}
