//! The `keyset` command line.

fn main() {}
