//! Slots cannot be hoarded: every open connection's activity, and the
//! policy that closes connections when slots run short.
//!
//! * Under pressure — more than [`HIGH_WATER_PERCENT`] of
//!   `--max-connections` open — the idle timeout shrinks linearly, down to
//!   [`MIN_IDLE`] at the limit ([`effective_idle`]): every connection idle
//!   longer than that is closed, so the longest-idle go first.
//! * At the limit, a new client takes the slot of the longest-idle
//!   connection if one has been idle for [`MIN_IDLE`]; failing that, the
//!   slot of the longest-idle connection of the address holding the most
//!   (if it holds at least two more than the newcomer's address: fair
//!   shares); otherwise the new client is closed at once (`over_capacity`),
//!   never left in the backlog. One search per [`EVICTION_EVERY`] at most,
//!   so a flood at the limit costs little.
//! * `--min-rate`: a connection that moved fewer bytes than the rate times
//!   `--min-rate-window` over a window is closed (`too_slow`).
//!
//! With `--idle-timeout 0` nothing is closed for being idle, under
//! pressure or not.
//!
//! Each connection updates two relaxed atomics per read and one per write
//! (two if the write had to wait), with one clock reading per read; the
//! sweep runs in the accept loop every [`SWEEP_EVERY`] and only walks the
//! connections when under pressure or with `--min-rate` on.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::task::AbortHandle;

use super::close::CloseReason;

/// Above this share of `--max-connections` open, the idle timeout shrinks.
pub(super) const HIGH_WATER_PERCENT: usize = 90;

/// The shortest the idle timeout shrinks to, and how long a connection must
/// have been idle before a new client may take its slot.
pub(super) const MIN_IDLE: Duration = Duration::from_secs(1);

/// At the limit, the shortest gap between two searches for a connection
/// to close (each walks every connection); newcomers in between are refused.
pub(super) const EVICTION_EVERY: Duration = Duration::from_millis(20);

/// How often the pressure and minimum-rate checks run.
pub(super) const SWEEP_EVERY: Duration = Duration::from_millis(250);

/// What the sweep enforces.
#[derive(Debug, Clone, Copy)]
pub(super) struct Policy {
    pub(super) max_connections: usize,
    pub(super) idle_timeout: Option<Duration>,
    /// Bytes per second, and the window it is measured over.
    pub(super) min_rate: Option<(u64, Duration)>,
}

/// The idle timeout in force with `open` connections: `idle` up to the
/// high-water mark `h` (90% of `max`), then
/// `max(MIN_IDLE, idle × (max − open) / (max − h))`, reaching [`MIN_IDLE`]
/// at the limit. `None` when idle connections are never closed.
pub(super) fn effective_idle(policy: &Policy, open: usize) -> Option<Duration> {
    let idle = policy.idle_timeout?;
    let max = policy.max_connections.max(1);
    let high_water = max * HIGH_WATER_PERCENT / 100;
    if open <= high_water {
        return Some(idle);
    }
    let room = max.saturating_sub(open) as u32;
    let span = (max - high_water) as u32;
    Some((idle * room / span).max(MIN_IDLE.min(idle)))
}

/// Why the sweep or the accept loop closed a connection.
const CLOSING_NONE: u8 = 0;
const CLOSING_EVICTED: u8 = 1;
const CLOSING_TOO_SLOW: u8 = 2;

/// One connection's activity, shared between its task and the sweep.
#[derive(Debug)]
pub(super) struct Activity {
    /// The socket's peer (the proxy's, with `--proxy-protocol`).
    ip: IpAddr,
    base: Instant,
    /// Milliseconds since `base` of the last byte moved (or the accept).
    last_ms: AtomicU64,
    /// Bytes moved, in and out.
    moved: AtomicU64,
    /// The current `--min-rate` window: its start and `moved` then. Only
    /// the sweep (under the registry lock) touches them.
    window_ms: AtomicU64,
    window_moved: AtomicU64,
    closing: AtomicU8,
}

impl Activity {
    /// Records `bytes` moved at `now` (the caller's clock reading, which
    /// it also uses for its own idle deadline: one reading per message).
    pub(super) fn moved_at(&self, bytes: usize, now: Instant) {
        let ms = now.saturating_duration_since(self.base).as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
        self.moved.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Records `bytes` moved at the time of the last [`Self::moved_at`]:
    /// for a write the socket took at once, right after the read it answers.
    pub(super) fn moved_too(&self, bytes: usize) {
        self.moved.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Why the connection was closed from outside, if it was.
    pub(super) fn closed_by_policy(&self) -> Option<CloseReason> {
        match self.closing.load(Ordering::Relaxed) {
            CLOSING_EVICTED => Some(CloseReason::Evicted),
            CLOSING_TOO_SLOW => Some(CloseReason::TooSlow),
            _ => None,
        }
    }

    fn idle_ms(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.last_ms.load(Ordering::Relaxed))
    }
}

fn ms_since(base: Instant) -> u64 {
    base.elapsed().as_millis() as u64
}

struct Entry {
    activity: Arc<Activity>,
    /// Set just after the task is spawned.
    abort: Option<AbortHandle>,
}

impl Entry {
    /// Marks why and aborts the task; its tracker counts and logs it.
    fn close(&self, why: u8) {
        if let Some(abort) = &self.abort {
            self.activity.closing.store(why, Ordering::Relaxed);
            abort.abort();
        }
    }
}

/// Every open connection that holds a slot.
pub(super) struct Slots {
    base: Instant,
    next_id: AtomicU64,
    open: Mutex<Open>,
}

/// The connections, and how many each peer address holds.
#[derive(Default)]
struct Open {
    connections: HashMap<u64, Entry>,
    by_ip: HashMap<IpAddr, u32>,
}

/// A connection's place in [`Slots`]; dropping it removes the connection.
pub(super) struct SlotGuard {
    slots: Arc<Slots>,
    id: u64,
    pub(super) activity: Arc<Activity>,
}

impl SlotGuard {
    /// The connection's key in [`Slots`].
    pub(super) fn id(&self) -> u64 {
        self.id
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let mut open = self.slots.lock();
        if open.connections.remove(&self.id).is_some() {
            let ip = self.activity.ip;
            if let Some(count) = open.by_ip.get_mut(&ip) {
                *count -= 1;
                if *count == 0 {
                    open.by_ip.remove(&ip);
                }
            }
        }
    }
}

impl Slots {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self {
            base: Instant::now(),
            next_id: AtomicU64::new(0),
            open: Mutex::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a new connection from `ip`, active now.
    pub(super) fn register(self: &Arc<Self>, ip: IpAddr) -> SlotGuard {
        let now = ms_since(self.base);
        let ip = ip.to_canonical();
        let activity = Arc::new(Activity {
            ip,
            base: self.base,
            last_ms: AtomicU64::new(now),
            moved: AtomicU64::new(0),
            window_ms: AtomicU64::new(now),
            window_moved: AtomicU64::new(0),
            closing: AtomicU8::new(CLOSING_NONE),
        });
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut open = self.lock();
        open.connections.insert(
            id,
            Entry {
                activity: Arc::clone(&activity),
                abort: None,
            },
        );
        *open.by_ip.entry(ip).or_insert(0) += 1;
        drop(open);
        SlotGuard {
            slots: Arc::clone(self),
            id,
            activity,
        }
    }

    /// Gives the registry the means to close connection `id` (the task
    /// may have ended already: then there is nothing to do).
    pub(super) fn set_abort(&self, id: u64, abort: AbortHandle) {
        if let Some(entry) = self.lock().connections.get_mut(&id) {
            entry.abort = Some(abort);
        }
    }

    /// Makes room for a newcomer from `newcomer` at the limit: closes the
    /// longest-idle connection if it has been idle for at least `min_idle`;
    /// failing that, the longest-idle connection of the address that holds
    /// the most, if that is another address holding at least two more than
    /// the newcomer's. Whether one was closed.
    pub(super) fn evict_for(&self, newcomer: IpAddr, min_idle: Duration) -> bool {
        let now = ms_since(self.base);
        let open = self.lock();
        let newcomer = newcomer.to_canonical();
        let has = open.by_ip.get(&newcomer).copied().unwrap_or(0);
        let hoarder = open
            .by_ip
            .iter()
            .filter(|(ip, count)| **ip != newcomer && **count >= has + 2)
            .max_by_key(|(_, count)| **count)
            .map(|(ip, _)| *ip);
        let closable = |entry: &&Entry| {
            entry.abort.is_some() && entry.activity.closing.load(Ordering::Relaxed) == CLOSING_NONE
        };
        let idle = |entry: &&Entry| entry.activity.idle_ms(now);
        let longest_idle = open
            .connections
            .values()
            .filter(closable)
            .max_by_key(idle)
            .filter(|entry| idle(entry) >= min_idle.as_millis() as u64);
        let victim = longest_idle.or_else(|| {
            let hoarder = hoarder?;
            open.connections
                .values()
                .filter(closable)
                .filter(|entry| entry.activity.ip == hoarder)
                .max_by_key(idle)
        });
        match victim {
            Some(entry) => {
                entry.close(CLOSING_EVICTED);
                true
            }
            None => false,
        }
    }

    /// Applies `policy` once: closes connections idle past the shrunk idle
    /// timeout (only under pressure: otherwise each connection's own timer
    /// does it) and, with `--min-rate`, those too slow over their window.
    /// Returns how many it closed.
    pub(super) fn sweep(&self, policy: &Policy) -> usize {
        let open = self.lock();
        let shrunk = effective_idle(policy, open.connections.len())
            .filter(|e| Some(*e) < policy.idle_timeout);
        if shrunk.is_none() && policy.min_rate.is_none() {
            return 0;
        }
        let now = ms_since(self.base);
        let mut closed = 0;
        for entry in open.connections.values() {
            let activity = &entry.activity;
            if activity.closing.load(Ordering::Relaxed) != CLOSING_NONE {
                continue;
            }
            if let Some(limit) = shrunk {
                if activity.idle_ms(now) >= limit.as_millis() as u64 {
                    entry.close(CLOSING_EVICTED);
                    closed += 1;
                    continue;
                }
            }
            if let Some((rate, window)) = policy.min_rate {
                if too_slow(activity, now, rate, window) {
                    entry.close(CLOSING_TOO_SLOW);
                    closed += 1;
                }
            }
        }
        closed
    }
}

/// At the end of a connection's window: whether it moved too little over
/// it; if not, starts the next window.
fn too_slow(activity: &Activity, now: u64, rate: u64, window: Duration) -> bool {
    let start = activity.window_ms.load(Ordering::Relaxed);
    let window_ms = window.as_millis() as u64;
    if now.saturating_sub(start) < window_ms {
        return false;
    }
    let moved = activity.moved.load(Ordering::Relaxed);
    let in_window = moved - activity.window_moved.load(Ordering::Relaxed);
    let wanted = rate.saturating_mul(window_ms) / 1000;
    if in_window < wanted {
        return true;
    }
    activity.window_ms.store(now, Ordering::Relaxed);
    activity.window_moved.store(moved, Ordering::Relaxed);
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A task that never ends, to give a registered slot an abort handle.
    fn park(runtime: &tokio::runtime::Runtime) -> AbortHandle {
        runtime.spawn(std::future::pending::<()>()).abort_handle()
    }

    #[test]
    fn at_the_limit_the_address_holding_the_most_gives_a_slot() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let slots = Slots::new();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let c: IpAddr = "10.0.0.3".parse().unwrap();
        let mut guards = Vec::new();
        for ip in [a, a, a, b] {
            let guard = slots.register(ip);
            slots.set_abort(guard.id(), park(&runtime));
            guards.push(guard);
        }
        let closed = |guards: &[SlotGuard]| -> Vec<IpAddr> {
            let closed = guards
                .iter()
                .filter(|g| g.activity.closed_by_policy().is_some());
            closed.map(|g| g.activity.ip).collect()
        };
        // Nobody has been idle for an hour. A newcomer from `a` (3) takes
        // nothing: no other address holds two more than it.
        let hour = Duration::from_secs(3600);
        assert!(!slots.evict_for(a, hour));
        assert!(closed(&guards).is_empty());
        // From `b` (1): `a` holds 3 ≥ 1 + 2, so one of `a`'s goes.
        assert!(slots.evict_for(b, hour));
        assert_eq!(closed(&guards), [a]);
        // From `c` (0): another of `a`'s, never `b`'s only one.
        assert!(slots.evict_for(c, hour));
        assert_eq!(closed(&guards), [a, a]);
        // Idle long enough, the longest-idle goes whoever holds it.
        assert!(slots.evict_for(a, Duration::ZERO));
        assert_eq!(closed(&guards).len(), 3);
        drop(guards);
        assert!(slots.lock().by_ip.is_empty() && slots.lock().connections.is_empty());
    }

    #[test]
    fn idle_timeout_shrinks_linearly_above_the_high_water_mark() {
        let policy = Policy {
            max_connections: 100,
            idle_timeout: Some(Duration::from_secs(300)),
            min_rate: None,
        };
        let secs = |open| effective_idle(&policy, open).unwrap().as_secs_f64();
        assert_eq!(secs(0), 300.0);
        assert_eq!(secs(90), 300.0);
        assert_eq!(secs(95), 150.0);
        assert_eq!(secs(99), 30.0);
        assert_eq!(secs(100), 1.0);
        assert_eq!(secs(150), 1.0);
        let off = Policy {
            idle_timeout: None,
            ..policy
        };
        assert_eq!(effective_idle(&off, 100), None);
        let short = Policy {
            idle_timeout: Some(Duration::from_millis(200)),
            ..policy
        };
        assert_eq!(
            effective_idle(&short, 100),
            Some(Duration::from_millis(200))
        );
    }
}
