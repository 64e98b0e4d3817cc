//! Keeping indexes exact: every write path of KV, blobs and streams calls `change`
//! with a record's old and new document, in the transaction of the write.

use rusqlite::{params, Connection};
use serde_json::Value as Json;

use super::Record;
use crate::error::{Error, ErrorCode, Result};
use crate::storage::catalog::{IndexDef, IndexSource};
use crate::storage::ordered;
use crate::storage::Store;

/// A record's document: a KV value's bytes, or blob / stream metadata.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Doc<'a> {
    Bytes(&'a [u8]),
    Text(Option<&'a str>),
}

impl Doc<'_> {
    fn parse(self) -> Option<Json> {
        match self {
            Doc::Bytes(b) => serde_json::from_slice(b).ok(),
            Doc::Text(Some(t)) => serde_json::from_str(t).ok(),
            Doc::Text(None) => None,
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

/// The encoded value `def` takes from `doc`, if any.
pub(crate) fn entry_value(def: &IndexDef, doc: &Doc<'_>) -> Option<Vec<u8>> {
    value_in(def, doc.parse().as_ref())
}

fn value_in(def: &IndexDef, json: Option<&Json>) -> Option<Vec<u8>> {
    json.and_then(|j| def.path.find(j)).and_then(ordered::encode)
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
    let mut old_json: Option<Option<Json>> = None;
    let mut new_json: Option<Option<Json>> = None;
    for def in defs.iter().filter(|d| d.covers(source, record)) {
        let new_v = value_in(def, new_json.get_or_insert_with(|| new.and_then(Doc::parse)).as_ref());
        let old_v = match old {
            Old::None => None,
            Old::Doc(d) => value_in(def, old_json.get_or_insert_with(|| d.parse()).as_ref()),
            Old::Unknown => {
                conn.prepare_cached("DELETE FROM bdb_index_entries WHERE idx = ?1 AND record = ?2")?
                    .execute(params![def.id, record])?;
                None
            }
        };
        if old_v == new_v {
            continue;
        }
        if let Some(v) = &old_v {
            conn.prepare_cached("DELETE FROM bdb_index_entries WHERE idx = ?1 AND value = ?2 AND record = ?3")?
                .execute(params![def.id, v, record])?;
        }
        if let Some(v) = &new_v {
            insert_entry(conn, def, v, record)?;
        }
    }
    Ok(())
}

/// Adds an entry (again: adding it twice is one entry); `CONFLICT` when `def` is
/// unique and another record holds the value.
pub(crate) fn insert_entry(conn: &Connection, def: &IndexDef, value: &[u8], record: &[u8]) -> Result<()> {
    if def.unique {
        let other: Option<Vec<u8>> = conn
            .prepare_cached(
                "SELECT record FROM bdb_index_entries WHERE idx = ?1 AND value = ?2 AND record != ?3 LIMIT 1",
            )?
            .query_row(params![def.id, value, record], |r| r.get(0))
            .map(Some)
            .or_else(|e| if e == rusqlite::Error::QueryReturnedNoRows { Ok(None) } else { Err(e) })?;
        if let Some(other) = other {
            let shown = ordered::decode(value).map_or_else(|| "?".into(), |v| v.to_string());
            let (this, that) = (Record::from_stored(def.source, record)?, Record::from_stored(def.source, &other)?);
            return Err(Error::new(
                ErrorCode::Conflict,
                format!("unique index {:?}: {that} holds the value {shown} already ({this} cannot)", def.name),
            ));
        }
    }
    conn.prepare_cached("INSERT OR IGNORE INTO bdb_index_entries(idx, value, record) VALUES (?1, ?2, ?3)")?
        .execute(params![def.id, value, record])?;
    Ok(())
}
