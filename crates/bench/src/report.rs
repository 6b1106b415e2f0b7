//! Results: one `Measurement` per table row, printed with comfy-table and
//! written as JSON. Every figure is a cost (lower is better), so the ratio
//! keyset/SQLite above 1 means keyset is behind. Nothing here measures.

use std::path::Path;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, Table};
use serde::Serialize;

use crate::error::{BenchError, Result};
use crate::timing::Timing;

/// The unit a workload reports in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Unit {
    pub label: &'static str,
    /// Nanoseconds in one of this unit.
    pub nanos: f64,
}

impl Unit {
    pub const US_PER_GET: Unit = Unit {
        label: "µs/get",
        nanos: 1e3,
    };
    pub const US_PER_PAGE: Unit = Unit {
        label: "µs/page",
        nanos: 1e3,
    };
    pub const MS_PER_DRAIN: Unit = Unit {
        label: "ms/drain",
        nanos: 1e6,
    };
    pub const MS_PER_QUERY: Unit = Unit {
        label: "ms/query",
        nanos: 1e6,
    };
    pub const US_PER_BATCH: Unit = Unit {
        label: "µs/batch",
        nanos: 1e3,
    };
    pub const MS_PER_OPEN: Unit = Unit {
        label: "ms/open",
        nanos: 1e6,
    };
}

/// One row of the results.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Measurement {
    pub name: String,
    pub unit: &'static str,
    pub keyset: f64,
    pub sqlite: f64,
    /// `None` where the raw map does not apply.
    pub raw: Option<f64>,
    /// keyset / SQLite: above 1, keyset is behind.
    pub ratio: f64,
    /// keyset / raw map: the executor's overhead (target: at most 1.5).
    pub raw_ratio: Option<f64>,
    /// What else the reader needs: rows per operation, plans, peaks.
    pub note: String,
}

impl Measurement {
    pub fn new(name: impl Into<String>, unit: Unit, timing: Timing, note: String) -> Measurement {
        let keyset = timing.keyset_ns / unit.nanos;
        let sqlite = timing.sqlite_ns / unit.nanos;
        let raw = timing.raw_ns.map(|r| r / unit.nanos);
        Measurement {
            name: name.into(),
            unit: unit.label,
            keyset,
            sqlite,
            raw,
            ratio: keyset / sqlite,
            raw_ratio: raw.map(|r| keyset / r),
            note,
        }
    }
}

/// A figure with three significant digits or so.
pub fn figure(v: f64) -> String {
    if !v.is_finite() {
        "-".into()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn ratio(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}x")
    } else {
        "-".into()
    }
}

/// The results as a table for a person.
pub fn table(results: &[Measurement]) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "workload",
        "unit",
        "keyset",
        "SQLite",
        "raw map",
        "keyset/SQLite",
        "keyset/raw",
        "note",
    ]);
    for m in results {
        table.add_row(vec![
            m.name.clone(),
            m.unit.to_owned(),
            figure(m.keyset),
            figure(m.sqlite),
            m.raw.map_or_else(|| "n/a".into(), figure),
            ratio(m.ratio),
            m.raw_ratio.map_or_else(|| "n/a".into(), ratio),
            m.note.clone(),
        ]);
    }
    for column in 2..7 {
        if let Some(c) = table.column_mut(column) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

#[derive(Serialize)]
struct Report<'a> {
    rows: usize,
    results: &'a [Measurement],
}

/// Writes `{"rows": N, "results": [...]}` to `path`.
pub fn write_json(path: &Path, rows: usize, results: &[Measurement]) -> Result<()> {
    let text = serde_json::to_string_pretty(&Report { rows, results })?;
    std::fs::write(path, text + "\n").map_err(|e| BenchError::io("writing", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_the_documented_fields_and_null_raw() {
        let timing = Timing {
            keyset_ns: 2_000.0,
            sqlite_ns: 4_000.0,
            raw_ns: None,
        };
        let m = Measurement::new("w", Unit::US_PER_PAGE, timing, String::new());
        assert_eq!((m.keyset, m.sqlite, m.ratio), (2.0, 4.0, 0.5));
        let json = serde_json::to_value(Report {
            rows: 7,
            results: &[m],
        })
        .unwrap();
        assert_eq!(json["rows"], 7);
        let r = &json["results"][0];
        for field in ["name", "unit", "keyset", "sqlite", "raw", "ratio"] {
            assert!(r.get(field).is_some(), "missing {field}");
        }
        assert!(r["raw"].is_null());
    }
}
