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

use super::close::CloseReason;
use super::connection::{self, Tracker};
use super::per_ip::PerIpLimit;
use super::rate_limit::RateLimited;
use super::slots::{self, SlotGuard, Slots};
use super::stats::Stats;
use super::ServerConfig;

/// First pause after a failed accept; it doubles up to [`BACKOFF_MAX`].
const BACKOFF_MIN: Duration = Duration::from_millis(10);
/// Longest pause between accept attempts while they keep failing.
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// How long, at the limit, a new client waits for the slot of the
/// connection evicted for it before it is refused instead.
const EVICTION_WAIT: Duration = Duration::from_millis(500);

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
    let mut gate = Gate::new(config, stats);
    let mut acceptor = Acceptor::new(listeners, Arc::clone(stats));
    let mut sweep = tokio::time::interval(slots::SWEEP_EVERY);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            Some(joined) = connections.join_next(), if !connections.is_empty() => reap(joined),
            _ = sweep.tick() => {
                gate.slots.sweep(&gate.policy);
            }
            (stream, peer) = acceptor.accept() => {
                let Some((permit, slot)) = gate.admit(peer).await else {
                    continue;
                };
                info!(%peer, "connection accepted");
                let id = slot.id();
                let tracker = Tracker::new(peer, Arc::clone(stats), Some(permit), Some(slot));
                let abort = connections.spawn(connection::serve(
                    stream,
                    tracker,
                    Arc::clone(config),
                    per_ip.cloned(),
                ));
                gate.slots.set_abort(id, abort);
            }
        }
    }
    // Close the listeners before saying so: new clients are refused from here.
    drop(acceptor);
    info!("stopped accepting");
}

/// Who gets a slot: the `--max-connections` semaphore, the trusted
/// proxies, and room made by evicting the longest-idle connection.
struct Gate {
    max: usize,
    limiter: Arc<Semaphore>,
    slots: Arc<Slots>,
    policy: slots::Policy,
    stats: Arc<Stats>,
    config: Arc<ServerConfig>,
    at_limit: bool,
    /// When the last search for a connection to close ran.
    last_search: Option<Instant>,
    over_capacity_log: RateLimited,
    untrusted_log: RateLimited,
}

impl Gate {
    fn new(config: &Arc<ServerConfig>, stats: &Arc<Stats>) -> Self {
        let max = config.max_connections.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            max,
            limiter: Arc::new(Semaphore::new(max)),
            slots: Slots::new(),
            policy: slots::Policy {
                max_connections: max,
                idle_timeout: config.idle_timeout,
                min_rate: config.min_rate.map(|rate| (rate, config.min_rate_window)),
            },
            stats: Arc::clone(stats),
            config: Arc::clone(config),
            at_limit: false,
            last_search: None,
            over_capacity_log: RateLimited::default(),
            untrusted_log: RateLimited::default(),
        }
    }

    /// A permit and a registered slot for the client at `peer`, or `None`
    /// if it was refused (closed at once, counted and logged at a bounded
    /// rate). Dropping the refused stream closes it.
    async fn admit(&mut self, peer: SocketAddr) -> Option<(OwnedSemaphorePermit, SlotGuard)> {
        if self.config.proxy_protocol && !self.config.trusts_proxy(peer.ip()) {
            if let Some(more) = self.untrusted_log.hit() {
                warn!(
                    %peer,
                    "closed a connection from outside --proxy-from ({more} more since the last such line)"
                );
            }
            self.refuse(peer, CloseReason::UntrustedProxy);
            return None;
        }
        let permit = match self.permit(peer).await {
            Some(permit) => permit,
            None => {
                if let Some(more) = self.over_capacity_log.hit() {
                    warn!(
                        %peer,
                        "at --max-connections {} with no connection idle for {:?}: closed a new \
                         connection ({more} more since the last such line)",
                        self.max,
                        slots::MIN_IDLE
                    );
                }
                self.refuse(peer, CloseReason::OverCapacity);
                return None;
            }
        };
        Some((permit, self.slots.register(peer.ip())))
    }

    /// A free slot, or at the limit one made by closing another connection
    /// ([`Slots::evict_for`]).
    async fn permit(&mut self, peer: SocketAddr) -> Option<OwnedSemaphorePermit> {
        if let Ok(permit) = Arc::clone(&self.limiter).try_acquire_owned() {
            if self.at_limit {
                info!("connection limit cleared");
                self.at_limit = false;
            }
            return Some(permit);
        }
        if !self.at_limit {
            warn!(
                "connection limit reached ({}): new clients take the slot of a connection \
                 idle for {:?} or more, or are closed",
                self.max,
                slots::MIN_IDLE
            );
            self.stats.limit_reached();
            self.at_limit = true;
        }
        // With --idle-timeout 0 no connection is ever closed to make room.
        self.policy.idle_timeout?;
        let now = Instant::now();
        if self
            .last_search
            .is_some_and(|last| now < last + slots::EVICTION_EVERY)
        {
            return None;
        }
        self.last_search = Some(now);
        if !self.slots.evict_for(peer.ip(), slots::MIN_IDLE) {
            return None;
        }
        let freed = Arc::clone(&self.limiter).acquire_owned();
        tokio::time::timeout(EVICTION_WAIT, freed).await.ok()?.ok()
    }

    /// Counts and logs (at debug) a connection closed as soon as accepted.
    fn refuse(&self, peer: SocketAddr, reason: CloseReason) {
        let mut tracker = Tracker::new(peer, Arc::clone(&self.stats), None, None);
        tracker.close_at_once(reason);
    }
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
