//! Ordered key streams, merges, budgets, pages and cursors.
