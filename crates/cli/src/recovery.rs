//! What recovery cut off or repaired when a data directory was opened, told
//! on stderr as `warning:` lines, so that a lost commit is never lost in
//! silence. The store decides and records (`RecoveryReport`); this module
//! only words the report, and says nothing when nothing was lost.

use std::io::Write;

use keyset::RecoveryReport;

/// Writes one `warning:` line for each thing recovery dropped or set aside.
pub fn warn(out: &mut dyn Write, report: &RecoveryReport) -> std::io::Result<()> {
    if let Some(torn) = &report.torn_tail {
        writeln!(
            out,
            "warning: recovery cut an incomplete last record ({} bytes) off {} at byte {}; \
             the last commit before the interruption is not in the database",
            torn.bytes_dropped,
            torn.file.display(),
            torn.offset
        )?;
    }
    if let Some(repair) = &report.repaired {
        writeln!(
            out,
            "warning: repair cut {} at byte {} ({}): {} bytes and {} intact records after the damage were dropped{}",
            repair.file.display(),
            repair.offset,
            repair.reason,
            repair.bytes_dropped,
            repair.records_dropped,
            if repair.files_dropped.is_empty() {
                String::new()
            } else {
                format!(", with {} later log files", repair.files_dropped.len())
            }
        )?;
    }
    for skipped in &report.skipped_snapshots {
        writeln!(
            out,
            "warning: repair set aside {} (commit {}), which was damaged ({}); recovery started from the generation before it and replayed the log",
            skipped.file.display(),
            skipped.seq,
            skipped.reason
        )?;
    }
    for file in &report.recreated {
        writeln!(
            out,
            "warning: repair made a new {} because it was missing; cursors handed out before no longer verify",
            file.display()
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(report: &RecoveryReport) -> Vec<String> {
        let mut out = Vec::new();
        warn(&mut out, report).expect("written");
        String::from_utf8(out)
            .expect("utf-8")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn only_what_was_dropped_is_told() {
        assert!(lines(&RecoveryReport::default()).is_empty());
        let report = RecoveryReport {
            recreated: vec!["d/mac.key".into()],
            ..RecoveryReport::default()
        };
        let told = lines(&report);
        assert_eq!(told.len(), 1);
        assert!(told[0].contains("d/mac.key"), "{told:?}");
    }
}
