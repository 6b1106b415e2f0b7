//! Logical queries, access paths, the rule-based planner, canonical form, plan signatures and EXPLAIN.
