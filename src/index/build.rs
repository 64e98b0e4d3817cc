//! Building an index over the records that exist when it is made, a batch at a time.
//!
//! While an index is being built, `bdb_indexes.built` holds the last record the build
//! has indexed. Writes keep every record's entry exact meanwhile (an entry for a record
//! past the cursor is added early, and the build adds it again, idempotently), so a
//! record's entry is either exact or, past the cursor and untouched since, not there.

use rusqlite::{params, Connection, OptionalExtension};

use super::upkeep::{Batch, Doc, Old};
use super::IndexProgress;
use crate::error::{Error, Result};
use crate::kv::{self, Source};
use crate::storage::catalog::{self, index_crc, IndexSource};
use crate::storage::ordered;

/// Records per build batch (each its own write transaction on the database). Each batch
/// rewrites into the WAL every page it touches, so an index whose values land in many
/// places (90 ages over 1,000,000 records) writes less the larger the batch.
pub(crate) const BATCH: usize = 10_000;

/// Stores a new definition, to be built; its id.
pub(crate) fn define(
    conn: &Connection,
    name: &str,
    source: IndexSource,
    json_path: &str,
    unique: bool,
    key_prefix: Option<&[u8]>,
) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO bdb_indexes(name, source, json_path, is_unique, key_prefix, built, row_crc)
         VALUES (?1, ?2, ?3, ?4, ?5, x'', 0)",
    )?
    .execute(params![name, source.name(), json_path, unique, key_prefix])?;
    let id = conn.last_insert_rowid();
    let crc = index_crc(id, name, source.name(), json_path, unique, key_prefix, Some(&[]));
    conn.prepare_cached("UPDATE bdb_indexes SET row_crc = ?2 WHERE id = ?1")?.execute(params![id, crc])?;
    Ok(id)
}

/// Moves the build cursor (`None`: built).
fn set_built(conn: &Connection, id: i64, built: Option<&[u8]>) -> Result<()> {
    let d = catalog::load(conn)?.into_iter().find(|d| d.id == id).ok_or_else(|| gone(id))?;
    let crc = index_crc(id, &d.name, d.source.name(), &d.path_text, d.unique, d.key_prefix.as_deref(), built);
    conn.prepare_cached("UPDATE bdb_indexes SET built = ?2, row_crc = ?3 WHERE id = ?1")?.execute(params![
        id, built, crc
    ])?;
    Ok(())
}

fn gone(id: i64) -> Error {
    Error::not_found(format!("index {id} (dropped while being built)"))
}

/// How many records the index will look at.
fn total(conn: &Connection, source: IndexSource, prefix: &[u8]) -> Result<u64> {
    let end = prefix_end(prefix);
    let n: i64 = match source {
        IndexSource::Kv => conn.query_row(
            "SELECT count(*) FROM bdb_kv WHERE key >= ?1 AND (?2 IS NULL OR key < ?2)",
            params![prefix, end],
            |r| r.get(0),
        )?,
        IndexSource::Stream => conn.query_row(
            "SELECT count(*) FROM bdb_streams WHERE path >= ?1 AND (?2 IS NULL OR path < ?2)",
            params![prefix, end],
            |r| r.get(0),
        )?,
        IndexSource::Blob => conn.query_row("SELECT count(*) FROM bdb_blobs", [], |r| r.get(0))?,
    };
    Ok(n as u64)
}

/// The first byte string after every string starting with `prefix` (`None`: none).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Indexes up to `limit` records after the build cursor; `true` once the index is
/// built. Gives `CONFLICT` for a duplicate value in a unique index.
pub(crate) fn run(
    conn: &Connection,
    id: i64,
    progress: &mut dyn FnMut(IndexProgress),
    limit: usize,
    counted: Option<(u64, u64)>,
) -> Result<(bool, (u64, u64))> {
    let def = catalog::load(conn)?.into_iter().find(|d| d.id == id).ok_or_else(|| gone(id))?;
    let Some(cursor) = def.built.clone() else { return Ok((true, counted.unwrap_or_default())) };
    let prefix = def.key_prefix.clone().unwrap_or_default();
    // Counted once per build and carried between batches: a recount per batch was
    // quadratic, and writes between batches made the figure go backwards.
    let (done_before, total) = match counted {
        Some(c) => c,
        None => (done_count(conn, def.source, &prefix, &cursor)?, total(conn, def.source, &prefix)?),
    };
    let mut last: Option<Vec<u8>> = None;
    let mut seen = 0usize;
    let mut batch = Batch::new(std::slice::from_ref(&def), def.source);
    let mut failed: Option<Error> = None;
    let mut add = |record: &[u8], doc: Doc<'_>| -> bool {
        seen += 1;
        last = Some(record.to_vec());
        batch.add(record.to_vec(), Old::None, Some(doc));
        // Written every BATCH records: a build in one transaction holds no more in memory.
        if seen % BATCH == 0 {
            if let Err(e) = batch.flush(conn) {
                failed = Some(e);
                return false;
            }
        }
        true
    };
    let after = (!cursor.is_empty()).then_some(cursor.as_slice());
    match def.source {
        IndexSource::Kv => {
            kv::walk(conn, Source::KeyValues, &prefix, after, Some(limit), |k, v| add(k, Doc::Bytes(v)))?;
        }
        IndexSource::Blob => {
            let after = after.and_then(ordered::blob_of).unwrap_or(0);
            crate::blob::metadata_walk(conn, after, limit, |id, m| add(&ordered::blob_record(id), Doc::Text(m)))?;
        }
        IndexSource::Stream => {
            crate::stream::metadata_walk(conn, &prefix, after, limit, |p, m| add(p.as_bytes(), Doc::Text(m)))?;
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    // Entries already there (a write past the cursor added them) are added again: one entry.
    batch.flush(conn)?;
    let finished = seen < limit;
    match (&last, finished) {
        (_, true) => set_built(conn, id, None)?,
        (Some(l), false) => set_built(conn, id, Some(l))?,
        (None, false) => unreachable!("a full batch has a last record"),
    }
    let done = done_before + seen as u64;
    progress(IndexProgress { done, total: total.max(done) });
    Ok((finished, (done, total.max(done))))
}

/// Records up to and including the cursor (for progress).
fn done_count(conn: &Connection, source: IndexSource, prefix: &[u8], cursor: &[u8]) -> Result<u64> {
    if cursor.is_empty() {
        return Ok(0);
    }
    let n: Option<i64> = match source {
        IndexSource::Kv => conn
            .query_row("SELECT count(*) FROM bdb_kv WHERE key >= ?1 AND key <= ?2", params![prefix, cursor], |r| r.get(0))
            .optional()?,
        IndexSource::Stream => conn
            .query_row("SELECT count(*) FROM bdb_streams WHERE path >= ?1 AND path <= ?2", params![prefix, cursor], |r| {
                r.get(0)
            })
            .optional()?,
        IndexSource::Blob => conn
            .query_row("SELECT count(*) FROM bdb_blobs WHERE id <= ?1", [ordered::blob_of(cursor).unwrap_or(0) as i64], |r| {
                r.get(0)
            })
            .optional()?,
    };
    Ok(n.unwrap_or(0) as u64)
}
