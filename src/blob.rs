//! Blobs: binary objects with a metadata string, under ids that are never reused.

use std::io::Read;

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::index::upkeep::{self, Doc, Old};
use crate::storage::catalog::IndexSource;
use crate::storage::ordered::blob_record;
use crate::kv::{all_distinct, all_equal};
use crate::options::check_metadata;
use crate::reader::Reader;
use crate::storage::content::{self, ContentBuilder, ContentMeta, STATE_WRITING};
use crate::storage::schema::RowCrc;
use crate::storage::Core;
use crate::storage::{now_ms, Store};

/// What is known about a blob without reading its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobInfo {
    pub id: u64,
    pub size: u64,
    pub metadata: Option<String>,
    pub crc32: u32,
    pub chunk_count: u64,
    pub created_ms: i64,
}

fn blob_id(id: u64) -> Result<i64> {
    i64::try_from(id).map_err(|_| Error::invalid(format!("blob id {id} is out of range")))
}

fn blob_crc(id: i64, metadata: Option<&str>, content: i64, created_ms: i64) -> i64 {
    RowCrc::new().int(id).opt_bytes(metadata.map(str::as_bytes)).int(content).int(created_ms).finish()
}

pub(crate) fn insert(conn: &Connection, inner: &Store, meta: &ContentMeta, metadata: Option<&str>) -> Result<u64> {
    let created_ms = now_ms();
    conn.prepare_cached("INSERT INTO bdb_blobs(metadata, content, created_ms, row_crc) VALUES (?1, ?2, ?3, 0)")?
        .execute(params![metadata, meta.id, created_ms])?;
    let id = conn.last_insert_rowid();
    write_row(conn, id, metadata, meta.id, created_ms)?;
    index_change(conn, inner, id as u64, Old::None, metadata.map(Some).map(Doc::Text))?;
    Ok(id as u64)
}

/// Index upkeep for a change of blob `id`'s metadata (`new`: `None` once deleted).
fn index_change(conn: &Connection, inner: &Store, id: u64, old: Old<'_>, new: Option<Doc<'_>>) -> Result<()> {
    let record = blob_record(id);
    match upkeep::covering(conn, inner, IndexSource::Blob, &record)? {
        Some(defs) => upkeep::change(conn, &defs, IndexSource::Blob, &record, old, new),
        None => Ok(()),
    }
}

/// Calls `f` with each blob's id and metadata after `after`, in id order (checked),
/// until it returns `false` or `limit` blobs.
pub(crate) fn metadata_walk(
    conn: &Connection,
    after: u64,
    limit: usize,
    mut f: impl FnMut(u64, Option<&str>) -> bool,
) -> Result<()> {
    // No `LIMIT ?`: SQLite re-prepares such a statement at every run (see kv::walk).
    let mut stmt = conn
        .prepare_cached("SELECT id, metadata, content, created_ms, row_crc FROM bdb_blobs WHERE id > ?1 ORDER BY id")?;
    let mut rows = stmt.query(params![blob_id(after)?])?;
    let mut seen = 0;
    while seen < limit {
        let Some(r) = rows.next()? else { break };
        seen += 1;
        let id: i64 = r.get(0)?;
        let metadata: Option<String> = r.get(1)?;
        if blob_crc(id, metadata.as_deref(), r.get(2)?, r.get(3)?) != r.get::<_, i64>(4)? {
            return Err(Error::corrupt(format!("blob {id}: record checksum mismatch")));
        }
        if !f(id as u64, metadata.as_deref()) {
            break;
        }
    }
    Ok(())
}

/// Sets a blob row's values and checksum.
fn write_row(conn: &Connection, id: i64, metadata: Option<&str>, content: i64, created_ms: i64) -> Result<()> {
    conn.prepare_cached("UPDATE bdb_blobs SET metadata = ?2, content = ?3, row_crc = ?4 WHERE id = ?1")?
        .execute(params![id, metadata, content, blob_crc(id, metadata, content, created_ms)])?;
    Ok(())
}

pub(crate) fn put(conn: &Connection, inner: &Store, data: &[u8], metadata: Option<&str>) -> Result<u64> {
    check_metadata(metadata)?;
    let meta = content::write_bytes(conn, inner, inner.opts.compression, data)?;
    insert(conn, inner, &meta, metadata)
}

pub(crate) fn put_from(conn: &Connection, inner: &Store, reader: impl Read, metadata: Option<&str>) -> Result<u64> {
    check_metadata(metadata)?;
    let meta = content::write_all(conn, inner, inner.opts.compression, reader)?;
    insert(conn, inner, &meta, metadata)
}

/// A blob too large for one short transaction: its chunks are committed `batch`
/// bytes per transaction, as a stream writer's are (the content is `STATE_WRITING`
/// meanwhile, and dropped at the next open if this process dies), and `last` runs in
/// one more transaction with the content made live. No transaction carries more than
/// a batch through the WAL, so a replicator that holds the WAL (Litestream) gets its
/// checkpoint between them and the WAL keeps its bound (docs/replication.md). Nothing
/// is visible before `last` commits; on an error the content is dropped.
pub(crate) fn in_pieces<T>(
    core: Core<'_>,
    batch: usize,
    mut reader: impl Read,
    last: impl FnOnce(&Connection, &Store, &ContentMeta) -> Result<T>,
) -> Result<T> {
    let inner = core.inner();
    let compress = inner.opts.compression;
    let mut b = core.write(&[], |c| ContentBuilder::start(c, inner, compress, STATE_WRITING))?;
    let id = b.id;
    let mut buf = vec![0u8; batch];
    let out = loop {
        let n = match read_full(&mut reader, &mut buf) {
            Ok(n) => n,
            Err(e) => break Err(e),
        };
        if n < batch {
            let rest = &buf[..n];
            break core.write(&[], |c| {
                b.write(c, rest)?;
                let meta = b.finish(c)?;
                last(c, inner, &meta)
            });
        }
        if let Err(e) = core.write(&[], |c| b.write(c, &buf)) {
            break Err(e);
        }
    };
    if out.is_err() {
        let _ = core.write(&[], |c| content::discard(c, id));
    }
    out
}

/// Fills `buf` from `reader`; fewer bytes only at its end.
pub(crate) fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(n)
}

/// (content id, metadata, created) of a blob, checked.
fn row(conn: &Connection, id: u64) -> Result<Option<(i64, Option<String>, i64)>> {
    let id = blob_id(id)?;
    let row = conn
        .prepare_cached("SELECT content, metadata, created_ms, row_crc FROM bdb_blobs WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get::<_, Option<String>>(1)?, r.get(2)?, r.get::<_, i64>(3)?)))
        .optional()?;
    let Some((content, metadata, created, crc)) = row else { return Ok(None) };
    if blob_crc(id, metadata.as_deref(), content, created) != crc {
        return Err(Error::corrupt(format!("blob {id}: record checksum mismatch")));
    }
    Ok(Some((content, metadata, created)))
}

/// Whether blob `id` still holds content `content`.
fn holds(conn: &Connection, id: u64, content: i64) -> Result<bool> {
    Ok(row(conn, id)?.is_some_and(|r| r.0 == content))
}

pub(crate) fn info(conn: &Connection, id: u64) -> Result<Option<BlobInfo>> {
    let Some((content_id, metadata, created_ms)) = row(conn, id)? else { return Ok(None) };
    let meta =
        content::meta(conn, content_id)?.ok_or_else(|| Error::corrupt(format!("blob {id}: its content is missing")))?;
    Ok(Some(BlobInfo { id, size: meta.size, metadata, crc32: meta.crc32, chunk_count: meta.chunk_count, created_ms }))
}

/// The whole blob, read inside the caller's snapshot.
pub(crate) fn get(conn: &Connection, inner: &Store, id: u64) -> Result<Option<Vec<u8>>> {
    let Some((content_id, _, _)) = row(conn, id)? else { return Ok(None) };
    let meta =
        content::meta(conn, content_id)?.ok_or_else(|| Error::corrupt(format!("blob {id}: its content is missing")))?;
    content::read_content(conn, inner, &meta, &format!("blob {id}")).map(Some)
}

pub(crate) fn metadata(conn: &Connection, id: u64) -> Result<Option<String>> {
    match row(conn, id)? {
        Some((_, m, _)) => Ok(m),
        None => Err(Error::not_found(format!("blob {id}"))),
    }
}

pub(crate) fn update(
    conn: &Connection,
    inner: &Store,
    id: u64,
    data: Option<&[u8]>,
    metadata: Option<Option<&str>>,
) -> Result<()> {
    let Some(old) = row(conn, id)? else {
        return Err(Error::not_found(format!("blob {id}")));
    };
    if let Some(m) = metadata {
        check_metadata(m)?;
    }
    let content = match data {
        Some(d) => Some(content::write_bytes(conn, inner, inner.opts.compression, d)?.id),
        None => None,
    };
    set(conn, inner, id, old, content, metadata)
}

/// Gives blob `id` the content `content` (already written and live), for
/// [`in_pieces`]: `NOT_FOUND` when the blob is gone (the caller drops the content).
pub(crate) fn update_to(
    conn: &Connection,
    inner: &Store,
    id: u64,
    content: i64,
    metadata: Option<Option<&str>>,
) -> Result<()> {
    let Some(old) = row(conn, id)? else {
        return Err(Error::not_found(format!("blob {id}")));
    };
    set(conn, inner, id, old, Some(content), metadata)
}

/// Whether blob `id` exists and `metadata` (when given) may be stored, before a
/// large update writes its data.
pub(crate) fn check_update(conn: &Connection, id: u64, metadata: Option<Option<&str>>) -> Result<()> {
    if row(conn, id)?.is_none() {
        return Err(Error::not_found(format!("blob {id}")));
    }
    if let Some(m) = metadata {
        check_metadata(m)?;
    }
    Ok(())
}

/// The blob row's new content (when `Some`) and metadata (when `Some`), with index
/// upkeep; the old content is released.
fn set(
    conn: &Connection,
    inner: &Store,
    id: u64,
    (old_content, old_metadata, created_ms): (i64, Option<String>, i64),
    new_content: Option<i64>,
    metadata: Option<Option<&str>>,
) -> Result<()> {
    let rid = blob_id(id)?;
    if let Some(m) = metadata {
        check_metadata(m)?;
    }
    let metadata = metadata.unwrap_or(old_metadata.as_deref());
    let content = new_content.unwrap_or(old_content);
    if new_content.is_some() {
        content::collect_unowned(conn, inner)?;
    }
    write_row(conn, rid, metadata, content, created_ms)?;
    if metadata != old_metadata.as_deref() {
        index_change(conn, inner, id, Old::Doc(Doc::Text(old_metadata.as_deref())), Some(Doc::Text(metadata)))?;
    }
    if content != old_content {
        content::release(conn, old_content)?;
    }
    Ok(())
}

pub(crate) fn delete(conn: &Connection, inner: &Store, id: u64) -> Result<bool> {
    let Some((content_id, old_metadata, _)) = row(conn, id)? else { return Ok(false) };
    content::collect_unowned(conn, inner)?;
    conn.prepare_cached("DELETE FROM bdb_blobs WHERE id = ?1")?.execute([blob_id(id)?])?;
    index_change(conn, inner, id, Old::Doc(Doc::Text(old_metadata.as_deref())), None)?;
    content::release(conn, content_id)?;
    Ok(true)
}

fn datas(conn: &Connection, inner: &Store, ids: &[u64]) -> Result<Vec<Vec<u8>>> {
    ids.iter().map(|&id| get(conn, inner, id)?.ok_or_else(|| Error::not_found(format!("blob {id}")))).collect()
}

/// Whether all the blobs hold equal (or, with `distinct`, distinct) bytes.
pub(crate) fn datas_equal(conn: &Connection, inner: &Store, ids: &[u64], distinct: bool) -> Result<bool> {
    let d = datas(conn, inner, ids)?;
    Ok(if distinct { all_distinct(&d) } else { all_equal(&d) })
}

/// A reader over the blob's bytes (`NOT_FOUND` when missing).
pub(crate) fn open(core: Core<'_>, id: u64) -> Result<Reader> {
    let mut tries = 0;
    loop {
        let (content_id, _, _) = core.read(|c| row(c, id))?.ok_or_else(|| Error::not_found(format!("blob {id}")))?;
        let owned = |c: &Connection| holds(c, id, content_id);
        match Reader::open(core.to_owned(), format!("blob {id}"), content_id, None, owned) {
            Err(e) if e.code() == crate::ErrorCode::Conflict && tries < 3 => tries += 1,
            other => return other,
        }
    }
}

/// Blob ids in order, after `start_after`, at most `limit`.
pub(crate) fn ids(conn: &Connection, start_after: Option<u64>, limit: Option<usize>) -> Result<Vec<u64>> {
    let after = start_after.map(blob_id).transpose()?.unwrap_or(0);
    let limit = limit.unwrap_or(usize::MAX);
    let mut stmt = conn
        .prepare_cached("SELECT id, metadata, content, created_ms, row_crc FROM bdb_blobs WHERE id > ?1 ORDER BY id")?;
    let mut rows = stmt.query(params![after])?;
    let mut ids = Vec::new();
    while ids.len() < limit {
        let Some(r) = rows.next()? else { break };
        let id: i64 = r.get(0)?;
        let metadata: Option<String> = r.get(1)?;
        if blob_crc(id, metadata.as_deref(), r.get(2)?, r.get(3)?) != r.get::<_, i64>(4)? {
            return Err(Error::corrupt(format!("blob {id}: record checksum mismatch")));
        }
        ids.push(id as u64);
    }
    Ok(ids)
}
