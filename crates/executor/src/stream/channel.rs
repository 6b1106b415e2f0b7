//! The bounded channel between the producers of an unordered shard merge
//! and the page: a queue with a fixed number of slots that a producer
//! reserves *before* it reads its next rows, so a full channel stops the
//! reading itself (backpressure). Rows move in batches (one lock per batch,
//! not per row), and a batch the consumer took keeps its slots until the
//! consumer comes back for more, so the rows in flight (reserved, queued or
//! taken but not yet consumed) never exceed the slots. It knows nothing
//! about streams, rows or pages.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

struct State<T> {
    items: VecDeque<T>,
    /// Slots reserved by producers that are reading their next items.
    reserved: usize,
    /// Slots of the batch the consumer took last.
    taken: usize,
    /// Producers that have not said they are done.
    producers: usize,
    closed: bool,
    /// Whether the consumer waits for an item, and how many producers wait
    /// for a slot: a signal goes only to someone who waits (each one is a
    /// system call).
    consumer_waits: bool,
    producers_waiting: usize,
}

impl<T> State<T> {
    fn free(&self, slots: usize) -> usize {
        slots.saturating_sub(self.items.len() + self.reserved + self.taken)
    }
}

/// A bounded multi-producer, single-consumer queue with reservations.
pub(crate) struct Channel<T> {
    state: Mutex<State<T>>,
    /// Signalled when items arrive or a producer is done.
    ready: Condvar,
    /// Signalled when slots free up or the channel closes.
    room: Condvar,
    slots: usize,
    /// Whether the consumer waits with nothing to take: producers then
    /// hand over what they have read instead of filling their batch.
    hungry: AtomicBool,
}

impl<T> Channel<T> {
    /// A channel of `slots` slots (at least one) fed by `producers`.
    pub(crate) fn new(slots: usize, producers: usize) -> Channel<T> {
        let slots = slots.max(1);
        Channel {
            state: Mutex::new(State {
                items: VecDeque::with_capacity(slots.min(4096)),
                reserved: 0,
                taken: 0,
                producers,
                closed: false,
                consumer_waits: false,
                producers_waiting: 0,
            }),
            ready: Condvar::new(),
            room: Condvar::new(),
            slots,
            hungry: AtomicBool::new(false),
        }
    }

    /// Whether the consumer is waiting for items right now.
    pub(crate) fn hungry(&self) -> bool {
        self.hungry.load(Ordering::Relaxed)
    }

    /// A poisoned lock only means another thread panicked while holding it;
    /// the queue itself is still consistent (every update is one step).
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reserves between 1 and `most` slots, waiting while none is free;
    /// `on_wait` runs once, before the first wait, outside the lock.
    /// Returns how many were reserved, 0 when the channel is closed (the
    /// producer should stop).
    pub(crate) fn reserve(&self, most: usize, on_wait: impl FnOnce()) -> usize {
        let mut on_wait = Some(on_wait);
        let mut state = self.lock();
        loop {
            if state.closed {
                return 0;
            }
            let free = state.free(self.slots);
            if free > 0 {
                let granted = free.min(most.max(1));
                state.reserved += granted;
                return granted;
            }
            if let Some(report) = on_wait.take() {
                drop(state);
                report();
                state = self.lock();
                continue;
            }
            state.producers_waiting += 1;
            state = self
                .room
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.producers_waiting -= 1;
        }
    }

    /// Puts `items` into `reserved` slots this producer reserved, giving
    /// back the ones it did not use; returns the rows now in flight
    /// (queued, or taken and not yet given back by the consumer).
    pub(crate) fn put(&self, items: &mut Vec<T>, reserved: usize) -> usize {
        let mut state = self.lock();
        state.reserved = state.reserved.saturating_sub(reserved);
        state.items.extend(items.drain(..));
        let in_flight = state.items.len() + state.taken;
        let wake_consumer = state.consumer_waits && !state.items.is_empty();
        let wake_producer = state.producers_waiting > 0 && state.free(self.slots) > 0;
        drop(state);
        if wake_consumer {
            self.ready.notify_one();
        }
        if wake_producer {
            self.room.notify_one();
        }
        in_flight
    }

    /// One producer is done and will put nothing more.
    pub(crate) fn producer_done(&self) {
        let mut state = self.lock();
        state.producers = state.producers.saturating_sub(1);
        drop(state);
        self.ready.notify_all();
    }

    /// Gives back the slots of the batch taken last (the consumer is done
    /// with it), then moves every queued item to `out`, waiting for some.
    /// False once the channel is empty and every producer is done.
    pub(crate) fn take(&self, out: &mut VecDeque<T>) -> bool {
        let mut state = self.lock();
        state.taken = 0;
        loop {
            if !state.items.is_empty() {
                state.taken = state.items.len();
                out.extend(state.items.drain(..));
                let wake = state.producers_waiting > 0;
                drop(state);
                if wake {
                    self.room.notify_all();
                }
                return true;
            }
            if state.producers == 0 {
                return false;
            }
            if state.producers_waiting > 0 {
                self.room.notify_all();
            }
            state.consumer_waits = true;
            self.hungry.store(true, Ordering::Relaxed);
            state = self
                .ready
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            self.hungry.store(false, Ordering::Relaxed);
            state.consumer_waits = false;
        }
    }

    /// Refuses every reservation from now on and wakes waiting producers.
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        drop(state);
        self.room.notify_all();
        self.ready.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{mpsc, Arc};

    use super::*;

    #[test]
    fn rows_in_flight_never_exceed_the_slots() {
        let channel = Channel::new(3, 1);
        assert_eq!(channel.reserve(2, || panic!("room left")), 2);
        assert_eq!(channel.reserve(5, || panic!("room left")), 1);
        // One of the two reserved goes unused and is given back.
        assert_eq!(channel.put(&mut vec![1], 2), 1);
        assert_eq!(channel.put(&mut vec![2], 1), 2);
        let mut out = VecDeque::new();
        assert!(channel.take(&mut out));
        assert_eq!(out, [1, 2]);
        // The taken batch holds its two slots until the next take.
        assert_eq!(channel.reserve(5, || panic!("one slot is free")), 1);
        assert_eq!(channel.put(&mut vec![3], 1), 3);
        out.clear();
        channel.producer_done();
        assert!(channel.take(&mut out));
        assert_eq!(out, [3]);
        out.clear();
        assert!(!channel.take(&mut out), "empty and no producer left");
    }

    #[test]
    fn a_full_channel_holds_its_producer_until_the_consumer_takes() {
        let channel = Arc::new(Channel::new(1, 1));
        let waits = Arc::new(AtomicUsize::new(0));
        let (waiting, waited) = mpsc::channel();
        let producer = {
            let channel = channel.clone();
            let waits = waits.clone();
            std::thread::spawn(move || {
                for item in 0..3 {
                    let reserved = channel.reserve(1, || {
                        waits.fetch_add(1, Ordering::SeqCst);
                        let _ = waiting.send(());
                    });
                    assert_eq!(reserved, 1);
                    channel.put(&mut vec![item], reserved);
                }
                channel.producer_done();
            })
        };
        // The producer fills the one slot, then reports that it waits.
        waited.recv().unwrap();
        let mut out = VecDeque::new();
        while channel.take(&mut out) {}
        assert_eq!(out, [0, 1, 2]);
        producer.join().unwrap();
        assert!(waits.load(Ordering::SeqCst) >= 1);
    }

    #[test]
    fn closing_wakes_a_waiting_producer() {
        let channel = Arc::new(Channel::<u8>::new(1, 1));
        assert_eq!(channel.reserve(1, || {}), 1);
        let (waiting, waited) = mpsc::channel();
        let producer = {
            let channel = channel.clone();
            std::thread::spawn(move || {
                let reserved = channel.reserve(1, || {
                    let _ = waiting.send(());
                });
                channel.producer_done();
                reserved
            })
        };
        waited.recv().unwrap();
        channel.close();
        assert_eq!(producer.join().unwrap(), 0, "a closed channel refuses");
        assert!(!channel.take(&mut VecDeque::new()));
    }
}
