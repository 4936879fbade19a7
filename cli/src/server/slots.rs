//! Slots cannot be hoarded: every open connection's activity, and the
//! policy that closes connections when slots run short.
//!
//! * Under pressure — more than [`HIGH_WATER_PERCENT`] of
//!   `--max-connections` open — the idle timeout shrinks linearly, down to
//!   [`MIN_IDLE`] at the limit ([`effective_idle`]): every connection idle
//!   longer than that is closed, so the longest-idle go first.
//! * At the limit, a new client takes the slot of the longest-idle
//!   connection if one has been idle for [`MIN_IDLE`]; otherwise the new
//!   client is closed at once (`over_capacity`), never left in the backlog.
//! * `--min-rate`: a connection that moved fewer bytes than the rate times
//!   `--min-rate-window` over a window is closed (`too_slow`).
//!
//! With `--idle-timeout 0` nothing is closed for being idle, under
//! pressure or not.
//!
//! Each connection updates two relaxed atomics per read or write; the
//! sweep runs in the accept loop every [`SWEEP_EVERY`] and only walks the
//! connections when under pressure or with `--min-rate` on.

use std::collections::HashMap;
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
    /// Records `bytes` moved just now.
    pub(super) fn moved(&self, bytes: usize) {
        self.last_ms.store(ms_since(self.base), Ordering::Relaxed);
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
    open: Mutex<HashMap<u64, Entry>>,
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
        self.slots.lock().remove(&self.id);
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

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Entry>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a new connection, active now.
    pub(super) fn register(self: &Arc<Self>) -> SlotGuard {
        let now = ms_since(self.base);
        let activity = Arc::new(Activity {
            base: self.base,
            last_ms: AtomicU64::new(now),
            moved: AtomicU64::new(0),
            window_ms: AtomicU64::new(now),
            window_moved: AtomicU64::new(0),
            closing: AtomicU8::new(CLOSING_NONE),
        });
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(
            id,
            Entry {
                activity: Arc::clone(&activity),
                abort: None,
            },
        );
        SlotGuard {
            slots: Arc::clone(self),
            id,
            activity,
        }
    }

    /// Gives the registry the means to close connection `id` (the task
    /// may have ended already: then there is nothing to do).
    pub(super) fn set_abort(&self, id: u64, abort: AbortHandle) {
        if let Some(entry) = self.lock().get_mut(&id) {
            entry.abort = Some(abort);
        }
    }

    /// Closes the longest-idle connection if it has been idle for at least
    /// `min_idle`; whether one was closed.
    pub(super) fn evict_longest_idle(&self, min_idle: Duration) -> bool {
        let now = ms_since(self.base);
        let open = self.lock();
        let victim = open
            .values()
            .filter(|entry| entry.abort.is_some())
            .filter(|entry| entry.activity.closing.load(Ordering::Relaxed) == CLOSING_NONE)
            .max_by_key(|entry| entry.activity.idle_ms(now))
            .filter(|entry| entry.activity.idle_ms(now) >= min_idle.as_millis() as u64);
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
        let shrunk = effective_idle(policy, open.len()).filter(|e| Some(*e) < policy.idle_timeout);
        if shrunk.is_none() && policy.min_rate.is_none() {
            return 0;
        }
        let now = ms_since(self.base);
        let mut closed = 0;
        for entry in open.values() {
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
