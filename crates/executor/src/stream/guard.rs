//! `MonotonicGuard`: wraps a stream and checks that its positions advance
//! strictly in its direction. A violation becomes `ExecError::Internal`,
//! never a silent wrong page. It checks order only; it never reorders.

use bytes::Bytes;
use keyset_store::Direction;

use super::{BoxStream, OrderedKeyStream, Step};
use crate::error::ExecError;

/// Checks the strict order of a stream.
pub struct MonotonicGuard {
    inner: BoxStream,
    /// What the stream is, for the error message.
    what: &'static str,
    /// The last position, copied into a reused buffer (cheaper than holding
    /// a `Bytes`, whose clone and drop are atomic operations).
    last: Vec<u8>,
    started: bool,
}

impl std::fmt::Debug for MonotonicGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonotonicGuard")
            .field("what", &self.what)
            .finish()
    }
}

impl MonotonicGuard {
    pub fn new(inner: BoxStream, what: &'static str) -> MonotonicGuard {
        MonotonicGuard {
            inner,
            what,
            last: Vec::new(),
            started: false,
        }
    }
}

impl OrderedKeyStream for MonotonicGuard {
    fn direction(&self) -> Direction {
        self.inner.direction()
    }

    fn next_key(&mut self) -> Result<Option<Step>, ExecError> {
        let step = self.inner.next_key()?;
        if let Some(step) = &step {
            let position = step.position();
            let direction = self.inner.direction();
            if self.started && !direction.precedes(&self.last[..], &position[..]) {
                return Err(ExecError::internal(format!(
                    "the {} stream yielded {} after {} in {:?} order: keys must advance strictly",
                    self.what,
                    keyset_store::key::hex(position),
                    keyset_store::key::hex(&self.last),
                    direction,
                )));
            }
            self.started = true;
            self.last.clear();
            self.last.extend_from_slice(position);
        }
        Ok(step)
    }

    fn seek(&mut self, target: &Bytes, inclusive: bool) -> Result<(), ExecError> {
        self.inner.seek(target, inclusive)
    }

    fn buffered(&self) -> usize {
        self.inner.buffered()
    }

    fn prefetch(&mut self) {
        self.inner.prefetch();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::testing::{key, ListStream};

    /// A stream that yields its keys in the order given, sorted or not.
    struct Unsorted(Vec<u32>);

    impl OrderedKeyStream for Unsorted {
        fn direction(&self) -> Direction {
            Direction::Asc
        }
        fn next_key(&mut self) -> Result<Option<Step>, ExecError> {
            if self.0.is_empty() {
                return Ok(None);
            }
            let k = self.0.remove(0);
            let mut list = ListStream::new(Direction::Asc, &[k]);
            list.next_key()
        }
        fn seek(&mut self, _: &Bytes, _: bool) -> Result<(), ExecError> {
            Ok(())
        }
    }

    #[test]
    fn an_out_of_order_or_repeated_key_is_an_internal_error() {
        for keys in [vec![1, 3, 2], vec![1, 2, 2]] {
            let mut guard = MonotonicGuard::new(Box::new(Unsorted(keys)), "test");
            guard.next_key().unwrap();
            guard.next_key().unwrap();
            let err = guard.next_key().unwrap_err();
            assert!(matches!(err, ExecError::Internal { .. }), "{err}");
        }
        let mut fine =
            MonotonicGuard::new(Box::new(ListStream::new(Direction::Desc, &[1, 2])), "t");
        fine.seek(&key(5), true).unwrap();
        assert!(fine.next_key().unwrap().is_some());
        assert!(fine.next_key().unwrap().is_some());
        assert!(fine.next_key().unwrap().is_none());
    }
}
