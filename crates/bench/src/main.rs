//! keyset-bench: keyset beside SQLite and the raw map.

fn main() {}
