//! Cross-crate test suites live in `tests/tests/`; `redis_cluster` starts
//! the Redis Cluster their cluster suites run against.

pub mod redis_cluster;
