//! keyset: an embedded, ordered key-value database whose queries page correctly.
