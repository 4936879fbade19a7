//! `--max-connections-per-ip`: how many connections one client address may
//! have open at once.
//!
//! The address is the real client's: the PROXY header's when
//! `--proxy-protocol` is on (behind a load balancer every socket peer is the
//! balancer), the socket peer's otherwise. IPv4-mapped IPv6 addresses count
//! as the IPv4 address they carry.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// Open connections per client address. A mutex around a map is plenty: it
/// is taken once when a connection starts and once when it ends, and holds
/// one entry per address with connections open.
#[derive(Debug)]
pub(super) struct PerIpLimit {
    max: u32,
    open: Mutex<HashMap<IpAddr, u32>>,
}

/// One connection's place under its address's limit; dropping it frees it.
#[derive(Debug)]
pub(super) struct IpSlot {
    limit: Arc<PerIpLimit>,
    ip: IpAddr,
}

impl PerIpLimit {
    /// At most `max` (at least 1) connections per address.
    pub(super) fn new(max: u32) -> Arc<Self> {
        Arc::new(Self {
            max: max.max(1),
            open: Mutex::default(),
        })
    }

    /// The limit in force.
    pub(super) fn max(&self) -> u32 {
        self.max
    }

    /// A slot for one more connection from `ip`, or `None` if it already
    /// has the maximum open.
    pub(super) fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Option<IpSlot> {
        let ip = ip.to_canonical();
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(ip).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(IpSlot {
            limit: Arc::clone(self),
            ip,
        })
    }

    /// Connections open from `ip` (for tests).
    #[cfg(test)]
    fn open(&self, ip: IpAddr) -> u32 {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(&ip.to_canonical()).copied().unwrap_or(0)
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut open = self
            .limit
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_per_address_and_freed_on_drop() {
        let limit = PerIpLimit::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = limit.try_acquire(a).unwrap();
        let second = limit.try_acquire(mapped).unwrap();
        assert!(
            limit.try_acquire(a).is_none(),
            "a third from the same address"
        );
        let other = limit.try_acquire(b).unwrap();
        assert_eq!((limit.open(a), limit.open(b)), (2, 1));
        drop(first);
        let third = limit.try_acquire(a).unwrap();
        drop((second, third, other));
        assert_eq!((limit.open(a), limit.open(b)), (0, 0));
        assert!(
            limit.open.lock().unwrap().is_empty(),
            "entries are removed at zero"
        );
    }
}
