//! The pin registry: the read views held beyond one page (snapshots and,
//! later, transactions). A pin keeps the versions its `seq` sees from being
//! merged away until it is released or expires. Retention is bounded by
//! an age and a count: past the count the oldest pin is expired, so an
//! application that leaks snapshots cannot make the store keep every
//! version forever.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::version::Seq;

/// How long and how many pins are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// A pin older than this is expired.
    pub max_age: Duration,
    /// Past this many live pins, the oldest is expired.
    pub max_count: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_age: Duration::from_secs(300),
            max_count: 1024,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Pin {
    seq: Seq,
    created: Instant,
}

/// Why a pin can no longer be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PinLost {
    /// Released by its holder.
    Released,
    /// Past the retention limit.
    Expired { age: Duration, retention: Retention },
}

#[derive(Debug, Default)]
struct Registry {
    next_id: u64,
    live: BTreeMap<u64, Pin>,
    /// Pins that ended, with why, so that a reader is told which.
    ended: BTreeMap<u64, (Pin, PinLost)>,
}

/// Every pinned view of one store.
pub struct PinRegistry {
    registry: Mutex<Registry>,
    retention: Mutex<Retention>,
}

impl fmt::Debug for PinRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinRegistry")
            .field("live", &self.live_count())
            .finish()
    }
}

/// Past this many remembered ended pins the oldest are forgotten (a
/// forgotten pin reads as released).
const ENDED_MEMORY: usize = 4096;

impl PinRegistry {
    pub fn new(retention: Retention) -> PinRegistry {
        PinRegistry {
            registry: Mutex::new(Registry::default()),
            retention: Mutex::new(retention),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn retention(&self) -> Retention {
        *self
            .retention
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub fn set_retention(&self, retention: Retention) {
        *self
            .retention
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = retention;
    }

    /// Expires what the retention limit no longer allows.
    fn expire(&self, reg: &mut Registry, now: Instant) {
        let retention = self.retention();
        let expired: Vec<u64> = reg
            .live
            .iter()
            .filter(|(_, p)| now.duration_since(p.created) > retention.max_age)
            .map(|(&id, _)| id)
            .collect();
        let over = reg.live.len().saturating_sub(retention.max_count);
        let oldest: Vec<u64> = reg.live.keys().take(over).copied().collect();
        for id in expired.into_iter().chain(oldest) {
            if let Some(pin) = reg.live.remove(&id) {
                let age = now.duration_since(pin.created);
                reg.ended
                    .insert(id, (pin, PinLost::Expired { age, retention }));
            }
        }
        while reg.ended.len() > ENDED_MEMORY {
            reg.ended.pop_first();
        }
    }

    /// Adds a live pin of `seq` (then expires what the limits no longer
    /// allow) and returns its id.
    fn register(&self, reg: &mut Registry, seq: Seq) -> u64 {
        let id = reg.next_id;
        reg.next_id += 1;
        reg.live.insert(
            id,
            Pin {
                seq,
                created: Instant::now(),
            },
        );
        self.expire(reg, Instant::now());
        id
    }

    /// Pins the `seq` that `current` returns, read under the registry's
    /// lock so that no merge can compute its horizon between the read and
    /// the pin.
    pub fn pin(self: &Arc<Self>, current: impl FnOnce() -> Seq) -> PinHandle {
        let mut reg = self.lock();
        let seq = current();
        let id = self.register(&mut reg, seq);
        PinHandle {
            registry: Arc::clone(self),
            id,
            seq,
        }
    }

    /// Pins the `seq` that `current` returns with no handle: a snapshot
    /// traversal's, held until the retention limit expires it. An existing
    /// live pin of the same `seq` is shared instead of adding another.
    pub fn pin_detached(&self, current: impl FnOnce() -> Seq) -> Seq {
        let mut reg = self.lock();
        let seq = current();
        if !reg.live.values().any(|p| p.seq == seq) {
            self.register(&mut reg, seq);
        }
        seq
    }

    /// Whether some live pin holds `seq`; if none does, why the last one
    /// that held it ended (`Released` when none is remembered).
    pub fn check_seq(&self, seq: Seq) -> Result<(), PinLost> {
        let mut reg = self.lock();
        self.expire(&mut reg, Instant::now());
        if reg.live.values().any(|p| p.seq == seq) {
            return Ok(());
        }
        Err(reg
            .ended
            .values()
            .rev()
            .find(|(p, _)| p.seq == seq)
            .map_or(PinLost::Released, |(_, why)| why.clone()))
    }

    /// Whether pin `id` may still be read, and if not, why.
    pub fn check(&self, id: u64) -> Result<Seq, PinLost> {
        let mut reg = self.lock();
        self.expire(&mut reg, Instant::now());
        if let Some(pin) = reg.live.get(&id) {
            return Ok(pin.seq);
        }
        Err(reg
            .ended
            .get(&id)
            .map_or(PinLost::Released, |(_, why)| why.clone()))
    }

    /// The live pin of `seq` created first, if any: how a snapshot cursor
    /// finds whether its `seq` is still held.
    pub fn pinned(&self, seq: Seq) -> Option<u64> {
        let mut reg = self.lock();
        self.expire(&mut reg, Instant::now());
        reg.live
            .iter()
            .find(|(_, p)| p.seq == seq)
            .map(|(&id, _)| id)
    }

    fn release(&self, id: u64) {
        let mut reg = self.lock();
        if let Some(pin) = reg.live.remove(&id) {
            reg.ended.insert(id, (pin, PinLost::Released));
        }
    }

    /// The `seq`s a reader may still ask for, ascending and distinct: every
    /// live pin's and `current()`. Read under the registry lock, so no pin
    /// can be taken between the two.
    pub fn live_seqs(&self, current: impl FnOnce() -> Seq) -> Vec<Seq> {
        let mut reg = self.lock();
        self.expire(&mut reg, Instant::now());
        let mut seqs: Vec<Seq> = reg.live.values().map(|p| p.seq).collect();
        seqs.push(current());
        seqs.sort_unstable();
        seqs.dedup();
        seqs
    }

    pub fn live_count(&self) -> usize {
        self.lock().live.len()
    }
}

/// A live pin; dropping it releases the pin.
pub struct PinHandle {
    registry: Arc<PinRegistry>,
    id: u64,
    seq: Seq,
}

impl fmt::Debug for PinHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinHandle")
            .field("id", &self.id)
            .field("seq", &self.seq)
            .finish()
    }
}

impl PinHandle {
    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn seq(&self) -> Seq {
        self.seq
    }

    /// `Ok(seq)` while the pin holds, else why it does not.
    pub fn check(&self) -> Result<Seq, PinLost> {
        self.registry.check(self.id)
    }
}

impl Drop for PinHandle {
    fn drop(&mut self) {
        self.registry.release(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_seqs_follow_the_pins_and_release_removes_them() {
        let reg = Arc::new(PinRegistry::new(Retention::default()));
        assert_eq!(reg.live_seqs(|| 50), vec![50]);
        let a = reg.pin(|| 10);
        let b = reg.pin(|| 20);
        let c = reg.pin(|| 20);
        assert_eq!(reg.live_seqs(|| 50), vec![10, 20, 50]);
        drop(a);
        assert_eq!(reg.live_seqs(|| 50), vec![20, 50]);
        assert_eq!(b.check(), Ok(20));
        let id = b.id();
        drop(b);
        drop(c);
        assert_eq!(reg.check(id), Err(PinLost::Released));
        assert_eq!(reg.live_seqs(|| 50), vec![50]);
    }

    #[test]
    fn pins_past_the_count_or_the_age_expire_oldest_first() {
        let retention = Retention {
            max_age: Duration::from_secs(3600),
            max_count: 2,
        };
        let reg = Arc::new(PinRegistry::new(retention));
        let a = reg.pin(|| 1);
        let b = reg.pin(|| 2);
        let c = reg.pin(|| 3);
        assert!(matches!(a.check(), Err(PinLost::Expired { .. })));
        assert_eq!(b.check(), Ok(2));
        assert_eq!(c.check(), Ok(3));
        reg.set_retention(Retention {
            max_age: Duration::ZERO,
            max_count: 2,
        });
        std::thread::sleep(Duration::from_millis(2));
        match b.check() {
            Err(PinLost::Expired { age, retention }) => {
                assert!(age > Duration::ZERO);
                assert_eq!(retention.max_age, Duration::ZERO);
            }
            other => panic!("expected expiry, got {other:?}"),
        }
        assert_eq!(reg.live_seqs(|| 9), vec![9], "every pin expired");
    }
}
