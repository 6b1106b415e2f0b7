//! Shared pieces of keyset's fuzz targets: strict value equality, the
//! fixtures that need setting up once (a database with minted cursors, a
//! real WAL and generation), and the naive models the targets compare with.
//!
//! Nothing here is part of keyset: it only calls public APIs, and every
//! check a target makes is an `assert!` so that libFuzzer reports it.

pub mod cursor_fixture;
pub mod model;
pub mod seeds;
pub mod strict;
pub mod wal_fixture;
