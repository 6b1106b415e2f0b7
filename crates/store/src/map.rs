//! `Direction`: the order a traversal reads keys in. Keys compare as bytes
//! (memcmp), never decoded; the maps themselves live in `lsm`.

/// The direction of a traversal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// Ascending key order.
    Asc,
    /// Descending key order.
    Desc,
}

impl Direction {
    pub fn reverse(self) -> Direction {
        match self {
            Direction::Asc => Direction::Desc,
            Direction::Desc => Direction::Asc,
        }
    }

    /// Whether `a` comes strictly before `b` in this direction.
    pub fn precedes<T: Ord + ?Sized>(self, a: &T, b: &T) -> bool {
        match self {
            Direction::Asc => a < b,
            Direction::Desc => a > b,
        }
    }

    /// The ordering of `a` and `b` as this direction sees it.
    pub fn order<T: Ord + ?Sized>(self, a: &T, b: &T) -> std::cmp::Ordering {
        match self {
            Direction::Asc => a.cmp(b),
            Direction::Desc => b.cmp(a),
        }
    }
}
