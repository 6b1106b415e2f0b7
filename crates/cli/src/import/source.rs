//! Reading an import file record by record, with the line each record
//! starts on and how many bytes are read so far (for the progress bar).
//! JSON Lines are read line by line with a bound on the line length; CSV
//! goes through the `csv` crate. A record that cannot become a row is
//! returned with its rejection; only I/O failures stop the reading.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

use keyset::{TableDef, Value};

use super::convert::{self, CsvField, CsvNull, Rejection};
use super::csv_quotes::{quoted_fields, Tee};
use crate::error::CliError;

/// Longest JSON line read, in bytes (the store's row limit is 16 MiB; a
/// JSON spelling of such a row is longer). Longer lines are rejected.
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// One record of the file.
#[derive(Debug)]
pub struct Record {
    /// The line the record starts on (1-based).
    pub line: u64,
    pub row: Result<Vec<Value>, Rejection>,
}

/// The format of an import file, from its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    JsonLines,
    Csv,
}

impl FileFormat {
    pub fn of(path: &Path) -> Result<FileFormat, CliError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("jsonl" | "ndjson" | "json") => Ok(FileFormat::JsonLines),
            Some("csv") => Ok(FileFormat::Csv),
            _ => Err(CliError::Usage(format!(
                "{}: cannot tell the format; name the file *.jsonl (JSON Lines) or *.csv",
                path.display()
            ))),
        }
    }
}

/// An open import file.
pub enum Source {
    JsonLines {
        reader: BufReader<File>,
        table: Arc<TableDef>,
        line: u64,
        bytes: u64,
    },
    Csv {
        reader: Box<csv::Reader<Tee<File>>>,
        table: Arc<TableDef>,
        header: Vec<usize>,
        record: csv::ByteRecord,
        /// `--null-text`, if given.
        null_text: Option<String>,
    },
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::JsonLines { line, .. } => write!(f, "JsonLines at line {line}"),
            Source::Csv { .. } => f.write_str("Csv"),
        }
    }
}

impl Source {
    /// Opens `path` for `table`. A CSV header naming an unknown column is an
    /// error here: no line of such a file can be imported.
    /// `null_text` is how a CSV file spells NULL (`None`: an unquoted empty
    /// field).
    pub fn open(
        path: &Path,
        format: FileFormat,
        table: Arc<TableDef>,
        null_text: Option<String>,
    ) -> Result<Source, CliError> {
        let file = File::open(path).map_err(|e| CliError::file(path, e))?;
        match format {
            FileFormat::JsonLines => Ok(Source::JsonLines {
                reader: BufReader::new(file),
                table,
                line: 0,
                bytes: 0,
            }),
            FileFormat::Csv => {
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(true)
                    .flexible(true)
                    .from_reader(Tee::new(file));
                let names = reader
                    .byte_headers()
                    .map_err(|e| CliError::file(path, csv_io(e)))?
                    .iter()
                    .map(|raw| String::from_utf8_lossy(raw).into_owned())
                    .collect::<Vec<_>>();
                if names.is_empty() {
                    return Err(CliError::Usage(format!(
                        "{}: the CSV file has no header row (the first line names the columns)",
                        path.display()
                    )));
                }
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                let header = convert::csv_header(&table, &refs).map_err(|why| {
                    CliError::Usage(format!("{} line 1 (the header): {why}", path.display()))
                })?;
                Ok(Source::Csv {
                    reader: Box::new(reader),
                    table,
                    header,
                    record: csv::ByteRecord::new(),
                    null_text,
                })
            }
        }
    }

    /// Bytes of the file read so far.
    pub fn bytes_read(&self) -> u64 {
        match self {
            Source::JsonLines { bytes, .. } => *bytes,
            Source::Csv { reader, .. } => reader.position().byte(),
        }
    }

    /// The next record; `None` at the end of the file. Blank JSON lines are
    /// skipped.
    pub fn next_record(&mut self, path: &Path) -> Result<Option<Record>, CliError> {
        match self {
            Source::JsonLines {
                reader,
                table,
                line,
                bytes,
            } => loop {
                let mut buf = Vec::new();
                let (read, complete) = read_line_bounded(reader, &mut buf, MAX_LINE_BYTES)
                    .map_err(|e| CliError::file(path, e))?;
                if read == 0 {
                    return Ok(None);
                }
                *line += 1;
                *bytes += read as u64;
                if !complete {
                    return Ok(Some(Record {
                        line: *line,
                        row: Err(format!("the line is longer than {MAX_LINE_BYTES} bytes")),
                    }));
                }
                if buf.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Ok(Some(Record {
                    line: *line,
                    row: convert::json_row(table, &buf),
                }));
            },
            Source::Csv {
                reader,
                table,
                header,
                record,
                null_text,
            } => {
                let more = reader
                    .read_byte_record(record)
                    .map_err(|e| CliError::file(path, csv_io(e)))?;
                if !more {
                    return Ok(None);
                }
                let (line, start) = record.position().map_or((0, 0), |p| (p.line(), p.byte()));
                let quoted = quoted_fields(reader.get_ref().from(start), record.len());
                reader.get_mut().forget_before(start);
                let fields: Vec<CsvField<'_>> = record
                    .iter()
                    .zip(quoted)
                    .map(|(raw, quoted)| CsvField { raw, quoted })
                    .collect();
                let null = match null_text {
                    Some(text) => CsvNull::Text(text),
                    None => CsvNull::EmptyUnquoted,
                };
                Ok(Some(Record {
                    line,
                    row: convert::csv_row(table, header, &fields, null),
                }))
            }
        }
    }
}

fn csv_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => io::Error::new(io::ErrorKind::InvalidData, format!("{other:?}")),
    }
}

/// Reads one line (without its `\n` or `\r\n`) into `buf`, keeping at most
/// `max` bytes of it. Returns the bytes consumed from the reader (0 at the
/// end) and whether the whole line fit.
fn read_line_bounded(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<(usize, bool)> {
    let mut consumed = 0;
    let mut complete = true;
    loop {
        let available = match reader.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            break;
        }
        let (chunk, found_end) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (&available[..at], Some(at + 1)),
            None => (available, None),
        };
        let room = max.saturating_sub(buf.len());
        if chunk.len() > room {
            complete = false;
        }
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = found_end.unwrap_or(available.len());
        reader.consume(used);
        consumed += used;
        if found_end.is_some() {
            break;
        }
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok((consumed, complete))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_cut_at_newlines_and_bounded() {
        let mut reader = io::Cursor::new(b"abc\r\ndefghij\nxy".to_vec());
        let mut buf = Vec::new();
        assert_eq!(
            read_line_bounded(&mut reader, &mut buf, 100).expect("read"),
            (5, true)
        );
        assert_eq!(buf, b"abc");
        buf.clear();
        assert_eq!(
            read_line_bounded(&mut reader, &mut buf, 4).expect("read"),
            (8, false)
        );
        assert_eq!(buf, b"defg");
        buf.clear();
        assert_eq!(
            read_line_bounded(&mut reader, &mut buf, 100).expect("read"),
            (2, true)
        );
        assert_eq!(buf, b"xy");
        buf.clear();
        assert_eq!(
            read_line_bounded(&mut reader, &mut buf, 100).expect("read"),
            (0, true)
        );
    }

    #[test]
    fn the_format_comes_from_the_extension() {
        assert_eq!(
            FileFormat::of(Path::new("a.JSONL")).expect("jsonl"),
            FileFormat::JsonLines
        );
        assert_eq!(
            FileFormat::of(Path::new("dir/a.csv")).expect("csv"),
            FileFormat::Csv
        );
        assert!(FileFormat::of(Path::new("a.txt")).is_err());
    }
}
