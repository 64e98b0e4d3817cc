//! Keeping indexes exact: every write path of KV, blobs and streams calls `change`
//! (one record) or fills a `Batch` (many, as `put_many` does) with a record's old and
//! new document, in the transaction of the write.

use std::borrow::Cow;
use std::sync::LazyLock;

use rusqlite::{params, Connection};

use super::Record;
use crate::error::{Error, ErrorCode, Result};
use crate::storage::catalog::{IndexDef, IndexSource};
use crate::storage::jsonpath::{self, JsonPath};
use crate::storage::ordered;
use crate::storage::Store;

/// A record's document: a KV value's bytes, or blob / stream metadata.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Doc<'a> {
    Bytes(&'a [u8]),
    Text(Option<&'a str>),
}

impl<'a> Doc<'a> {
    fn bytes(self) -> Option<&'a [u8]> {
        match self {
            Doc::Bytes(b) => Some(b),
            Doc::Text(t) => t.map(str::as_bytes),
        }
    }
}

/// What a record held before a write.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Old<'a> {
    /// No record (or no document).
    None,
    Doc(Doc<'a>),
    /// Unreadable (damaged): its entries are found by record instead.
    Unknown,
}

/// The encoded values the indexes of `paths` (bits of `active`) take from `doc`, into
/// `out` (`None`: not in that index), from one walk of the document that builds no tree.
fn values_into(paths: &[&JsonPath], active: u64, doc: Option<Doc<'_>>, out: &mut [Option<Vec<u8>>]) {
    out.iter_mut().for_each(|o| *o = None);
    let Some(doc) = doc.and_then(Doc::bytes) else { return };
    let json = jsonpath::find_all(doc, paths, active, &mut |i, v| out[i] = v.as_ref().map(ordered::encode_scalar));
    if !json {
        out.iter_mut().for_each(|o| *o = None);
    }
}

/// The encoded value `def` takes from `doc`, if any.
pub(crate) fn entry_value(def: &IndexDef, doc: &Doc<'_>) -> Option<Vec<u8>> {
    let mut out = [None];
    values_into(&[&def.path], 1, Some(*doc), &mut out);
    out[0].take()
}

/// The indexes of `source` covering `record`, if any (one cached lookup when none).
#[inline]
pub(crate) fn covering(
    conn: &Connection,
    inner: &Store,
    source: IndexSource,
    record: &[u8],
) -> Result<Option<std::sync::Arc<[IndexDef]>>> {
    let defs = inner.catalog.defs(conn)?;
    Ok(defs.iter().any(|d| d.covers(source, record)).then_some(defs))
}

/// Moves `record`'s entries from what `old` holds to what `new` holds, in every index
/// of `defs` that covers it. A unique index that holds the new value for another
/// record refuses with `CONFLICT` (the caller's transaction then changes nothing).
pub(crate) fn change(
    conn: &Connection,
    defs: &[IndexDef],
    source: IndexSource,
    record: &[u8],
    old: Old<'_>,
    new: Option<Doc<'_>>,
) -> Result<()> {
    let mut batch = Batch::new(defs, source);
    batch.add(record, old, new);
    batch.apply(conn)
}

/// The index changes of many records of one source, worked out first and then written
/// together: entries inserted in index order, many per statement.
pub(crate) struct Batch<'d, 'r> {
    source: IndexSource,
    /// The indexes of the source, and their paths.
    defs: Vec<&'d IndexDef>,
    paths: Vec<&'d JsonPath>,
    /// Scratch: the values of one record before and after its write.
    old: Vec<Option<Vec<u8>>>,
    new: Vec<Option<Vec<u8>>>,
    /// Per index (as `defs`): entries (value, record) to delete and to insert, and
    /// records whose old document could not be read (every entry of theirs goes).
    deletes: Vec<Vec<(Vec<u8>, Cow<'r, [u8]>)>>,
    inserts: Vec<Vec<(Vec<u8>, Cow<'r, [u8]>)>>,
    unknown: Vec<Vec<Cow<'r, [u8]>>>,
}

impl<'d, 'r> Batch<'d, 'r> {
    pub(crate) fn new(defs: &'d [IndexDef], source: IndexSource) -> Self {
        let defs: Vec<&IndexDef> = defs.iter().filter(|d| d.source == source).collect();
        let n = defs.len();
        Batch {
            source,
            paths: defs.iter().map(|d| &d.path).collect(),
            defs,
            old: vec![None; n],
            new: vec![None; n],
            deletes: vec![Vec::new(); n],
            inserts: vec![Vec::new(); n],
            unknown: vec![Vec::new(); n],
        }
    }

    /// A write of `record` (each record at most once a batch), from `old` to `new`.
    pub(crate) fn add(&mut self, record: impl Into<Cow<'r, [u8]>>, old: Old<'_>, new: Option<Doc<'_>>) {
        let record = record.into();
        // A walk follows at most MAX_PATHS paths: more indexes, more walks.
        for start in (0..self.defs.len()).step_by(jsonpath::MAX_PATHS) {
            let end = (start + jsonpath::MAX_PATHS).min(self.defs.len());
            let mut covering = 0u64;
            for (i, d) in self.defs[start..end].iter().enumerate() {
                if d.covers(self.source, &record) {
                    covering |= 1 << i;
                }
            }
            if covering == 0 {
                continue;
            }
            let paths = &self.paths[start..end];
            values_into(paths, covering, new, &mut self.new[start..end]);
            match old {
                Old::None => self.old[start..end].iter_mut().for_each(|o| *o = None),
                Old::Doc(d) => values_into(paths, covering, Some(d), &mut self.old[start..end]),
                Old::Unknown => {
                    self.old[start..end].iter_mut().for_each(|o| *o = None);
                    bits(covering).for_each(|i| self.unknown[start + i].push(record.clone()));
                }
            }
            for i in bits(covering).map(|i| start + i) {
                if self.old[i] == self.new[i] {
                    continue; // nothing to move
                }
                if let Some(v) = self.old[i].take() {
                    self.deletes[i].push((v, record.clone()));
                }
                if let Some(v) = self.new[i].take() {
                    self.inserts[i].push((v, record.clone()));
                }
            }
        }
    }

    /// Writes the changes: first every entry that goes, then (checked, for a unique
    /// index, against what stays and against each other) every entry that comes.
    pub(crate) fn apply(mut self, conn: &Connection) -> Result<()> {
        self.flush(conn)
    }

    /// As `apply`, and the batch is empty again.
    pub(crate) fn flush(&mut self, conn: &Connection) -> Result<()> {
        for (def, records) in self.defs.iter().zip(&mut self.unknown).filter(|(_, r)| !r.is_empty()) {
            let mut stmt = conn.prepare_cached("DELETE FROM bdb_index_entries WHERE idx = ?1 AND record = ?2")?;
            for record in records.drain(..) {
                stmt.execute(params![def.id, record])?;
            }
        }
        for (def, deletes) in self.defs.iter().zip(&mut self.deletes).filter(|(_, d)| !d.is_empty()) {
            let mut stmt =
                conn.prepare_cached("DELETE FROM bdb_index_entries WHERE idx = ?1 AND value = ?2 AND record = ?3")?;
            for (v, record) in deletes.drain(..) {
                stmt.execute(params![def.id, v, record])?;
            }
        }
        for (def, inserts) in self.defs.iter().zip(&mut self.inserts).filter(|(_, i)| !i.is_empty()) {
            // In index order: each entry lands next to the one before it. Records come in
            // order, so the values often do too (a stable sort takes runs as they are).
            inserts.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
            if def.unique {
                for w in inserts.windows(2) {
                    if w[0].0 == w[1].0 {
                        return Err(duplicate(def, &w[1].0, &w[1].1, &w[0].1));
                    }
                }
                for (v, record) in inserts.iter() {
                    if let Some(other) = holder(conn, def, v, record)? {
                        return Err(duplicate(def, v, record, &other));
                    }
                }
            }
            insert_sorted(conn, def.id, inserts)?;
            inserts.clear();
        }
        Ok(())
    }
}

/// The positions of the bits set in `m`.
fn bits(m: u64) -> impl Iterator<Item = usize> {
    let mut rest = m;
    std::iter::from_fn(move || {
        (rest != 0).then(|| {
            let i = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            i
        })
    })
}

/// Entries per INSERT statement.
const INSERT_GROUP: usize = 64;

static INSERT_MANY: LazyLock<String> = LazyLock::new(|| {
    format!("INSERT OR IGNORE INTO bdb_index_entries(idx, value, record) VALUES {}", vec!["(?, ?, ?)"; INSERT_GROUP].join(", "))
});

/// Inserts entries of index `idx` (again: adding one twice is one entry), many per statement.
fn insert_sorted(conn: &Connection, idx: i64, entries: &[(Vec<u8>, Cow<'_, [u8]>)]) -> Result<()> {
    let mut groups = entries.chunks_exact(INSERT_GROUP);
    if groups.len() > 0 {
        let mut stmt = conn.prepare_cached(&INSERT_MANY)?;
        for group in groups.by_ref() {
            for (i, (v, record)) in group.iter().enumerate() {
                stmt.raw_bind_parameter(3 * i + 1, idx)?;
                stmt.raw_bind_parameter(3 * i + 2, v)?;
                stmt.raw_bind_parameter(3 * i + 3, record.as_ref())?;
            }
            stmt.raw_execute()?;
        }
    }
    let mut stmt = conn.prepare_cached("INSERT OR IGNORE INTO bdb_index_entries(idx, value, record) VALUES (?1, ?2, ?3)")?;
    for (v, record) in groups.remainder() {
        stmt.execute(params![idx, v, record.as_ref()])?;
    }
    Ok(())
}

/// Another record holding `value` in `def`, if any.
fn holder(conn: &Connection, def: &IndexDef, value: &[u8], record: &[u8]) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT record FROM bdb_index_entries WHERE idx = ?1 AND value = ?2 AND record != ?3 LIMIT 1")?
        .query_row(params![def.id, value, record], |r| r.get(0))
        .map(Some)
        .or_else(|e| if e == rusqlite::Error::QueryReturnedNoRows { Ok(None) } else { Err(e) })?)
}

/// `CONFLICT`: `other` holds `value` in unique index `def`, so `record` cannot.
fn duplicate(def: &IndexDef, value: &[u8], record: &[u8], other: &[u8]) -> Error {
    let shown = ordered::decode(value).map_or_else(|| "?".into(), |v| v.to_string());
    let show = |r: &[u8]| Record::from_stored(def.source, r).map_or_else(|_| "(damaged record)".into(), |r| r.to_string());
    Error::new(
        ErrorCode::Conflict,
        format!("unique index {:?}: {} holds the value {shown} already ({} cannot)", def.name, show(other), show(record)),
    )
}
