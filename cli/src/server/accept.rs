//! The accept loop: one permit from the connection-limit semaphore per
//! connection, accept errors retried forever with backoff, one task per
//! connection.

use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

use super::connection::{self, Tracker};
use super::per_ip::PerIpLimit;
use super::stats::Stats;
use super::ServerConfig;

/// First pause after a failed accept; it doubles up to [`BACKOFF_MAX`].
const BACKOFF_MIN: Duration = Duration::from_millis(10);
/// Longest pause between accept attempts while they keep failing.
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Accepts connections on `listeners` and spawns them into `connections`
/// until `shutdown` resolves. The listeners are closed on return.
pub(super) async fn accept_until<F: Future>(
    listeners: Vec<TcpListener>,
    config: &Arc<ServerConfig>,
    stats: &Arc<Stats>,
    per_ip: Option<&Arc<PerIpLimit>>,
    connections: &mut JoinSet<()>,
    mut shutdown: Pin<&mut F>,
) {
    let max = config.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let limiter = Arc::new(Semaphore::new(max));
    let mut acceptor = Acceptor::new(listeners, Arc::clone(stats));
    // The slot for the next connection, taken before accepting it.
    let mut permit: Option<OwnedSemaphorePermit> = None;
    let mut at_limit = false;

    loop {
        if permit.is_none() {
            match Arc::clone(&limiter).try_acquire_owned() {
                Ok(p) => permit = Some(p),
                Err(_) if !at_limit => {
                    warn!(
                        "connection limit reached ({max}): not accepting until a connection closes"
                    );
                    stats.limit_reached();
                    at_limit = true;
                }
                Err(_) => {}
            }
        }
        if permit.is_some() && at_limit {
            info!("connection limit cleared: accepting again");
            at_limit = false;
        }

        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            Some(joined) = connections.join_next(), if !connections.is_empty() => reap(joined),
            acquired = Arc::clone(&limiter).acquire_owned(), if permit.is_none() => {
                permit = acquired.ok();
            }
            (stream, peer) = acceptor.accept(), if permit.is_some() => {
                if let Some(permit) = permit.take() {
                    info!(%peer, "connection accepted");
                    let tracker = Tracker::new(peer, Arc::clone(stats), permit);
                    connections.spawn(connection::serve(
                        stream,
                        tracker,
                        Arc::clone(config),
                        per_ip.cloned(),
                    ));
                }
            }
        }
    }
    // Close the listeners before saying so: new clients are refused from here.
    drop(acceptor);
    info!("stopped accepting");
}

/// Logs how a finished connection task ended, if abnormally. The task's
/// [`Tracker`] has already counted it.
pub(super) fn reap(joined: Result<(), JoinError>) {
    if let Err(err) = joined {
        if err.is_panic() {
            let panic = err.into_panic();
            let message = panic
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("(non-string panic)");
            error!("connection task panicked: {message}");
        }
    }
}

/// Accepts from any of several listeners, retrying failures with backoff.
struct Acceptor {
    listeners: Vec<TcpListener>,
    /// The listener polled first next time, so none can starve the others.
    next: usize,
    /// While accepts keep failing: when to try again and the next pause.
    retry_at: Option<Instant>,
    backoff: Duration,
    failures: u64,
    stats: Arc<Stats>,
}

impl Acceptor {
    fn new(listeners: Vec<TcpListener>, stats: Arc<Stats>) -> Self {
        Self {
            listeners,
            next: 0,
            retry_at: None,
            backoff: BACKOFF_MIN,
            failures: 0,
            stats,
        }
    }

    /// The next connection. Never fails: errors are logged and retried,
    /// forever. Cancel-safe: dropping it loses no connection and keeps the
    /// backoff schedule.
    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            if let Some(at) = self.retry_at {
                tokio::time::sleep_until(at).await;
                self.retry_at = None;
            }
            let (index, result) = poll_fn(|cx| self.poll_any(cx)).await;
            match result {
                Ok(accepted) => {
                    if self.failures > 0 {
                        info!("accepting again after {} failed accepts", self.failures);
                        self.failures = 0;
                        self.backoff = BACKOFF_MIN;
                    }
                    return accepted;
                }
                Err(err) => {
                    self.stats.accept_error();
                    let local = self.listeners[index].local_addr().ok();
                    if is_connection_error(&err) {
                        // That client's problem, not ours: next one at once.
                        debug!(?local, "accept: connection failed before we got it: {err}");
                        continue;
                    }
                    // Out of descriptors or memory: pause so we don't spin.
                    if self.failures == 0 {
                        warn!(?local, "accept failed: {err}; retrying with backoff");
                    } else {
                        debug!(
                            ?local,
                            "accept failed again: {err}; next try in {:?}", self.backoff
                        );
                    }
                    self.failures += 1;
                    self.retry_at = Some(Instant::now() + self.backoff);
                    self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    }

    /// Polls every listener once, starting after the last one that produced.
    fn poll_any(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<(usize, io::Result<(TcpStream, SocketAddr)>)> {
        let count = self.listeners.len();
        for k in 0..count {
            let index = (self.next + k) % count;
            if let Poll::Ready(result) = self.listeners[index].poll_accept(cx) {
                self.next = (index + 1) % count;
                return Poll::Ready((index, result));
            }
        }
        Poll::Pending
    }
}

/// Errors that concern only the connection being accepted (it was reset or
/// hit a network error before we took it), as opposed to the server's own
/// resources. Linux's accept(2) says to treat these like `EAGAIN`.
fn is_connection_error(err: &io::Error) -> bool {
    use nix::errno::Errno;
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::NetworkDown
    ) || err.raw_os_error().is_some_and(|code| {
        [
            Errno::EPROTO,
            Errno::ENOPROTOOPT,
            Errno::EHOSTDOWN,
            Errno::ENONET,
            Errno::EOPNOTSUPP,
            Errno::EPERM,
        ]
        .contains(&Errno::from_raw(code))
    })
}
