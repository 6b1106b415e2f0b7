//! keyset-bench: keyset beside SQLite and the raw store map, on the same
//! rows, in one process, workload by workload.
//!
//! Every workload is first run once on each side and the rows compared
//! (`timing::check`); only then is it timed. The library owns data
//! generation, the three sides and the workloads; `main.rs` only parses
//! arguments and prints. Nothing here changes keyset itself.

pub mod cluster;
pub mod data;
pub mod error;
pub mod keyset_side;
pub mod raw_side;
pub mod report;
pub mod sqlite_side;
pub mod timing;
pub mod workloads;

pub use error::{BenchError, Result};
pub use report::Measurement;
pub use workloads::{group_names, memory_child, run, Config};
