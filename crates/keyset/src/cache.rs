//! The statement cache: a small LRU of parsed statements keyed by their SQL
//! text, shared by the clones of one `Db`. `db.query*`, `db.execute_params`
//! and `db.prepare` look here first, so SQL text run again is parsed once
//! (and, for a statement whose plan does not depend on its values, planned
//! once). It holds no data: a schema change is noticed by each statement.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use crate::prepared::Parsed;

/// Statements the cache keeps; the least recently used one goes first.
pub const STATEMENT_CACHE_CAPACITY: usize = 64;

/// Longest SQL text the cache keeps (longer statements are parsed each time).
pub const MAX_CACHED_SQL_BYTES: usize = 16 * 1024;

/// An LRU of parsed statements.
#[derive(Default)]
pub(crate) struct StatementCache {
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    by_sql: HashMap<Arc<str>, (u64, Arc<Parsed>)>,
    /// A counter that orders uses.
    clock: u64,
}

impl fmt::Debug for StatementCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatementCache")
            .field("len", &self.len())
            .finish()
    }
}

impl StatementCache {
    /// The parsed statement of `sql`, parsing it with `parse` on a miss.
    pub(crate) fn get_or_parse(
        &self,
        sql: &str,
        parse: impl FnOnce(&str) -> crate::Result<Parsed>,
    ) -> crate::Result<Arc<Parsed>> {
        if let Some(hit) = self.lookup(sql) {
            return Ok(hit);
        }
        let parsed = Arc::new(parse(sql)?);
        if sql.len() <= MAX_CACHED_SQL_BYTES {
            let mut entries = self.lock();
            entries.clock += 1;
            let now = entries.clock;
            if entries.by_sql.len() >= STATEMENT_CACHE_CAPACITY && !entries.by_sql.contains_key(sql)
            {
                let oldest = entries
                    .by_sql
                    .iter()
                    .min_by_key(|(_, (used, _))| *used)
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    entries.by_sql.remove(&oldest);
                }
            }
            entries.by_sql.insert(Arc::from(sql), (now, parsed.clone()));
        }
        Ok(parsed)
    }

    fn lookup(&self, sql: &str) -> Option<Arc<Parsed>> {
        let mut entries = self.lock();
        entries.clock += 1;
        let now = entries.clock;
        let (used, parsed) = entries.by_sql.get_mut(sql)?;
        *used = now;
        Some(parsed.clone())
    }

    /// How many statements are cached.
    pub(crate) fn len(&self) -> usize {
        self.lock().by_sql.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(sql: &str) -> crate::Result<Parsed> {
        Parsed::new(sql)
    }

    #[test]
    fn the_least_recently_used_statement_is_evicted_first() {
        let cache = StatementCache::default();
        let sql = |n: usize| format!("SELECT * FROM t WHERE id = {n}");
        let first = cache.get_or_parse(&sql(0), parse).expect("parse");
        for n in 1..STATEMENT_CACHE_CAPACITY {
            cache.get_or_parse(&sql(n), parse).expect("parse");
        }
        assert_eq!(cache.len(), STATEMENT_CACHE_CAPACITY);
        // Touch statement 0: statement 1 is now the oldest.
        let again = cache.get_or_parse(&sql(0), parse).expect("hit");
        assert!(
            Arc::ptr_eq(&first, &again),
            "a hit returns the cached statement"
        );
        cache
            .get_or_parse(&sql(STATEMENT_CACHE_CAPACITY), parse)
            .expect("parse");
        assert_eq!(cache.len(), STATEMENT_CACHE_CAPACITY);
        let entries = cache.lock();
        assert!(entries.by_sql.contains_key(sql(0).as_str()));
        assert!(!entries.by_sql.contains_key(sql(1).as_str()));
    }

    #[test]
    fn errors_and_long_texts_are_not_cached() {
        let cache = StatementCache::default();
        assert!(cache.get_or_parse("SELEC nonsense", parse).is_err());
        let long = format!(
            "SELECT * FROM t WHERE id IN ({})",
            vec!["1"; MAX_CACHED_SQL_BYTES / 3].join(", ")
        );
        cache.get_or_parse(&long, parse).expect("parse");
        assert_eq!(cache.len(), 0);
    }
}
