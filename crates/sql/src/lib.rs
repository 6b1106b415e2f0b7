//! The SQL subset of keyset, parsed with sqlparser into plan statements.
