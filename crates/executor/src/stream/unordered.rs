//! `UnorderedMerge`: the unordered streaming shard merge. Each shard's
//! stream runs on its own worker thread and sends its steps into one
//! bounded channel (`channel.rs`, `channel_capacity` slots per shard), so
//! rows reach the page as soon as any shard yields them and a page that
//! stops taking rows stops the producers (backpressure). Steps move in
//! batches of up to `channel_capacity`, cut short whenever the page is
//! waiting. It promises no order between shards and keeps no position: the
//! frontier page (`crate::page`) records what it consumed of each shard.
//! Workers stop at the end of the page, on cancellation or at the end of
//! their shard, and `finish` (or drop) joins every one of them.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::channel::Channel;
use super::shard::ShardTracker;
use super::{BoxStream, Step};
use crate::context::CancelToken;
use crate::error::ExecError;

/// What the page receives from the merge.
#[derive(Debug)]
pub enum Arrival {
    /// The next step of input `input` (a shard the page reads).
    Step { input: usize, step: Step },
    /// Input `input` has no more steps: every step it had arrived before.
    Finished { input: usize },
}

enum Message {
    Step(usize, Step),
    Finished(usize),
    Failed(ExecError),
}

/// Shard streams running on worker threads, merged in arrival order.
pub struct UnorderedMerge {
    channel: Arc<Channel<Message>>,
    /// The batch taken from the channel, consumed one arrival at a time.
    taken: VecDeque<Message>,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
    tracker: Arc<ShardTracker>,
}

impl std::fmt::Debug for UnorderedMerge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnorderedMerge")
            .field("shards", &self.tracker.len())
            .field("workers", &self.workers.len())
            .finish()
    }
}

impl UnorderedMerge {
    /// Starts one worker per input (input `i` is the tracker's input `i`),
    /// with `capacity` channel slots per input.
    pub fn start(
        inputs: Vec<BoxStream>,
        capacity: usize,
        cancel: Option<CancelToken>,
        tracker: Arc<ShardTracker>,
    ) -> Result<UnorderedMerge, ExecError> {
        let slots = capacity.max(1).saturating_mul(inputs.len().max(1));
        let batch = capacity.max(1);
        let mut merge = UnorderedMerge {
            channel: Arc::new(Channel::new(slots, inputs.len())),
            taken: VecDeque::new(),
            stop: Arc::new(AtomicBool::new(false)),
            workers: Vec::with_capacity(inputs.len()),
            tracker,
        };
        for (input, stream) in inputs.into_iter().enumerate() {
            let worker = Worker {
                input,
                stream,
                batch,
                channel: merge.channel.clone(),
                stop: merge.stop.clone(),
                cancel: cancel.clone(),
                tracker: merge.tracker.clone(),
            };
            let shard = merge.tracker.shard(input);
            let spawned = std::thread::Builder::new()
                .name(format!("keyset-shard-{shard}"))
                .spawn(move || worker.run());
            match spawned {
                Ok(handle) => merge.workers.push(handle),
                Err(e) => {
                    // This producer never ran; the ones started are stopped
                    // and joined before the error is returned.
                    merge.channel.producer_done();
                    let _ = merge.finish();
                    return Err(ExecError::WorkerSpawn {
                        shard,
                        reason: e.to_string(),
                    });
                }
            }
        }
        Ok(merge)
    }

    /// The next arrival, waiting for one; `None` once every worker has
    /// exited (each after its `Finished`, or early on cancellation).
    pub fn next_arrival(&mut self) -> Result<Option<Arrival>, ExecError> {
        if self.taken.is_empty() && !self.channel.take(&mut self.taken) {
            return Ok(None);
        }
        match self.taken.pop_front() {
            None => Ok(None),
            Some(Message::Step(input, step)) => {
                if matches!(step, Step::Key(_)) {
                    self.tracker.delivered(input);
                }
                Ok(Some(Arrival::Step { input, step }))
            }
            Some(Message::Finished(input)) => Ok(Some(Arrival::Finished { input })),
            Some(Message::Failed(error)) => Err(error),
        }
    }

    /// Stops every worker and joins it. Rows still in the channel are
    /// dropped unconsumed. Called again, it does nothing.
    pub fn finish(&mut self) -> Result<(), ExecError> {
        self.stop.store(true, Ordering::Relaxed);
        self.channel.close();
        let mut panicked = 0;
        for worker in self.workers.drain(..) {
            if worker.join().is_err() {
                panicked += 1;
            }
        }
        if panicked > 0 {
            return Err(ExecError::internal(format!(
                "{panicked} worker thread(s) of an unordered shard merge panicked"
            )));
        }
        Ok(())
    }
}

impl Drop for UnorderedMerge {
    fn drop(&mut self) {
        // On an early return (an error) the workers are still stopped and
        // joined: no thread outlives its page.
        let _ = self.finish();
    }
}

/// One shard's producer.
struct Worker {
    input: usize,
    stream: BoxStream,
    /// Most steps read before they are handed over.
    batch: usize,
    channel: Arc<Channel<Message>>,
    stop: Arc<AtomicBool>,
    cancel: Option<CancelToken>,
    tracker: Arc<ShardTracker>,
}

/// Tells the channel and the observer that a worker is gone, even if it
/// unwinds from a panic, so the page never waits for it.
struct Exit {
    shard: usize,
    channel: Arc<Channel<Message>>,
    tracker: Arc<ShardTracker>,
}

impl Drop for Exit {
    fn drop(&mut self) {
        self.tracker.with(|o| o.worker_exited(self.shard));
        self.channel.producer_done();
    }
}

impl Worker {
    fn halted(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.cancel.as_ref().is_some_and(|c| c.is_cancelled())
    }

    fn run(mut self) {
        let shard = self.tracker.shard(self.input);
        self.tracker.with(|o| o.worker_started(shard));
        let _exit = Exit {
            shard,
            channel: self.channel.clone(),
            tracker: self.tracker.clone(),
        };
        let mut batch = Vec::with_capacity(self.batch.min(1024));
        loop {
            if self.halted() {
                break;
            }
            let tracker = &self.tracker;
            let granted = self
                .channel
                .reserve(self.batch, || tracker.with(|o| o.backpressure_wait(shard)));
            if granted == 0 {
                break;
            }
            let last = self.read(granted, &mut batch);
            let in_flight = self.channel.put(&mut batch, granted);
            if self.tracker.observed() {
                self.tracker
                    .with(|o| o.buffered(self.tracker.held() + in_flight));
            }
            if last {
                break;
            }
        }
    }

    /// Reads up to `most` steps into `batch`, fewer when the page waits
    /// for rows; true when the worker is done: its stream ended or failed,
    /// or the merge stops.
    fn read(&mut self, most: usize, batch: &mut Vec<Message>) -> bool {
        while batch.len() < most {
            if self.halted() {
                return true;
            }
            let message = match self.stream.next_key() {
                Ok(Some(step)) => Message::Step(self.input, step),
                Ok(None) => Message::Finished(self.input),
                Err(error) => Message::Failed(error),
            };
            let last = !matches!(message, Message::Step(..));
            batch.push(message);
            if last {
                return true;
            }
            if self.channel.hungry() {
                break;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use keyset_store::Direction;

    use super::*;
    use crate::observer::CountingObserver;
    use crate::stream::shard::ShardStream;
    use crate::stream::testing::{decode, ListStream};

    fn start(
        lists: &[&[u32]],
        capacity: usize,
        cancel: Option<CancelToken>,
    ) -> (UnorderedMerge, Arc<CountingObserver>) {
        let observer = Arc::new(CountingObserver::new());
        let tracker = ShardTracker::new((0..lists.len()).collect(), Some(observer.clone()));
        let inputs = lists
            .iter()
            .enumerate()
            .map(|(i, keys)| {
                let list = Box::new(ListStream::new(Direction::Asc, keys));
                Box::new(ShardStream::new(list, i, tracker.clone())) as BoxStream
            })
            .collect();
        let merge = UnorderedMerge::start(inputs, capacity, cancel, tracker).unwrap();
        (merge, observer)
    }

    #[test]
    fn every_input_arrives_in_its_own_order_then_finishes_once() {
        let lists: [&[u32]; 3] = [&[1, 4, 7, 10], &[], &[2, 3, 5, 6, 8, 9]];
        let (mut merge, observer) = start(&lists, 1, None);
        let mut per_input: Vec<Vec<u32>> = vec![Vec::new(); 3];
        let mut finished = vec![0; 3];
        while let Some(arrival) = merge.next_arrival().unwrap() {
            match arrival {
                Arrival::Step {
                    input,
                    step: Step::Key(item),
                } => {
                    assert_eq!(finished[input], 0, "a step after its input finished");
                    per_input[input].push(decode(&item.key));
                }
                Arrival::Step { .. } => panic!("lists yield keys only"),
                Arrival::Finished { input } => finished[input] += 1,
            }
        }
        assert_eq!(per_input, lists.map(|l| l.to_vec()));
        assert_eq!(finished, vec![1, 1, 1]);
        merge.finish().unwrap();
        assert_eq!(observer.workers_started(), 3);
        assert_eq!(observer.workers_alive(), 0);
        assert_eq!(observer.total_yielded(), 10);
    }

    #[test]
    fn a_cancelled_merge_stops_its_workers_before_they_read() {
        let cancel = CancelToken::new();
        cancel.cancel();
        let (mut merge, observer) = start(&[&[1, 2, 3], &[4, 5]], 4, Some(cancel));
        assert!(merge.next_arrival().unwrap().is_none());
        merge.finish().unwrap();
        assert_eq!(observer.total_yielded(), 0);
        assert_eq!(observer.workers_exited(), 2);
    }

    #[test]
    fn dropping_an_unfinished_merge_joins_its_workers() {
        let keys: Vec<u32> = (0..1000).collect();
        let (mut merge, observer) = start(&[&keys, &keys], 2, None);
        assert!(merge.next_arrival().unwrap().is_some());
        drop(merge);
        assert_eq!(observer.workers_alive(), 0);
        // Two slots per input, the row taken among them: nothing more was
        // read of the 2000 rows.
        let read = observer.total_yielded();
        assert!((1..=4).contains(&read), "{read} rows read");
    }
}
