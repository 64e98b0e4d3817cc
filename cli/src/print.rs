//! What the commands print, the same on a local file and with `--remote`.

use std::io::{self, Write};

use buffdb::{StreamInfo, Value};

use super::Outcome;

/// `kv get`: the value and a newline.
pub fn value(out: &mut impl Write, v: &[u8]) -> io::Result<()> {
    out.write_all(v)?;
    out.write_all(b"\n")
}

/// `kv scan`: `key<TAB>value`.
pub fn pair(out: &mut impl Write, k: &[u8], v: &[u8]) -> io::Result<()> {
    out.write_all(k)?;
    out.write_all(b"\t")?;
    value(out, v)
}

/// `stream put` and `stream stat`.
pub fn info(out: &mut impl Write, i: &StreamInfo) -> io::Result<()> {
    writeln!(
        out,
        "path: {}\nversion: {}\nsize: {}\ncrc32: {:08x}\nchunks: {}\nchunk_size: {}\nstored_size: {}\ncreated_ms: {}",
        i.path, i.version, i.size, i.crc32, i.chunk_count, i.chunk_size, i.stored_size, i.created_ms
    )?;
    match &i.metadata {
        Some(m) => writeln!(out, "metadata: {m}"),
        None => Ok(()),
    }
}

/// `stream versions`: one line a version; a path without versions is missing.
pub fn versions(out: &mut impl Write, path: &str, versions: &[StreamInfo]) -> io::Result<Outcome> {
    if versions.is_empty() {
        return Ok(no_stream(path));
    }
    for v in versions {
        writeln!(out, "{}\t{}\t{:08x}\t{}", v.version, v.size, v.crc32, v.created_ms)?;
    }
    Ok(Outcome::Ok)
}

/// `eq` and `not-eq`: `true` (exit 0) or `false` (exit 1).
pub fn yes_no(out: &mut impl Write, v: bool) -> io::Result<Outcome> {
    writeln!(out, "{v}")?;
    Ok(if v { Outcome::Ok } else { Outcome::No(String::new()) })
}

/// `query`, printed as rows arrive: the column names (before the first row, or
/// alone), then a row a line, cells separated by tabs.
pub struct Table<W: Write> {
    out: W,
    header: bool,
    error: Option<io::Error>,
}

impl<W: Write> Table<W> {
    pub fn new(out: W) -> Table<W> {
        Table { out, header: false, error: None }
    }

    /// Prints a row; `false` once writing has failed (the query should stop).
    pub fn row(&mut self, columns: &[String], row: Vec<Value>) -> bool {
        if self.error.is_none() {
            if let Err(e) = self.write(columns, Some(row)) {
                self.error = Some(e);
            }
        }
        self.error.is_none()
    }

    /// The header when no row came, or the first write error.
    pub fn finish(mut self, columns: &[String]) -> io::Result<()> {
        match self.error.take() {
            Some(e) => Err(e),
            None => self.write(columns, None),
        }
    }

    /// The first write error, if any, for a query that failed.
    pub fn error(self) -> io::Result<()> {
        self.error.map_or(Ok(()), Err)
    }

    fn write(&mut self, columns: &[String], row: Option<Vec<Value>>) -> io::Result<()> {
        if !self.header {
            self.header = true;
            writeln!(self.out, "{}", columns.join("\t"))?;
        }
        match row {
            Some(row) => writeln!(self.out, "{}", row.into_iter().map(cell).collect::<Vec<_>>().join("\t")),
            None => Ok(()),
        }
    }
}

/// A cell as text: NULL, the number, the text, a UTF-8 blob as text, else `x'hex'`.
fn cell(v: Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => f.to_string(),
        Value::Text(s) => s,
        Value::Blob(b) => String::from_utf8(b)
            .unwrap_or_else(|e| format!("x'{}'", e.as_bytes().iter().map(|x| format!("{x:02x}")).collect::<String>())),
    }
}

/// Deleted or missing: exit 0 or, with the message, 1.
pub fn found(existed: bool, missing: Outcome) -> Outcome {
    if existed {
        Outcome::Ok
    } else {
        missing
    }
}

pub fn no_key(key: &str) -> Outcome {
    Outcome::No(format!("key {key:?} not found"))
}

pub fn no_blob(id: u64) -> Outcome {
    Outcome::No(format!("blob {id} not found"))
}

pub fn no_stream(path: &str) -> Outcome {
    Outcome::No(format!("stream {path:?} not found"))
}
