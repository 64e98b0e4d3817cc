//! Blobs: binary objects with a metadata string, under ids that are never reused.

use std::io::Read;

use rusqlite::{params, Connection, OptionalExtension};

use crate::content::{self, ContentMeta};
use crate::db::{now_ms, Db, Inner};
use crate::error::{Error, Result};
use crate::kv::{all_distinct, all_equal};
use crate::options::check_metadata;
use crate::reader::Reader;

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

pub(crate) fn insert(conn: &Connection, meta: &ContentMeta, metadata: Option<&str>) -> Result<u64> {
    conn.prepare_cached("INSERT INTO bdb_blobs(metadata, content, created_ms) VALUES (?1, ?2, ?3)")?
        .execute(params![metadata, meta.id, now_ms()])?;
    Ok(conn.last_insert_rowid() as u64)
}

pub(crate) fn put(conn: &Connection, inner: &Inner, data: &[u8], metadata: Option<&str>) -> Result<u64> {
    check_metadata(metadata)?;
    let meta = content::write_bytes(conn, inner, inner.opts.compression, data)?;
    insert(conn, &meta, metadata)
}

pub(crate) fn put_from(conn: &Connection, inner: &Inner, reader: impl Read, metadata: Option<&str>) -> Result<u64> {
    check_metadata(metadata)?;
    let meta = content::write_all(conn, inner, inner.opts.compression, reader)?;
    insert(conn, &meta, metadata)
}

/// (content id, metadata, created) of a blob.
fn row(conn: &Connection, id: u64) -> Result<Option<(i64, Option<String>, i64)>> {
    let id = blob_id(id)?;
    Ok(conn
        .prepare_cached("SELECT content, metadata, created_ms FROM bdb_blobs WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?)
}

pub(crate) fn info(conn: &Connection, id: u64) -> Result<Option<BlobInfo>> {
    let Some((content_id, metadata, created_ms)) = row(conn, id)? else { return Ok(None) };
    let meta =
        content::meta(conn, content_id)?.ok_or_else(|| Error::corrupt(format!("blob {id} has no content row")))?;
    Ok(Some(BlobInfo { id, size: meta.size, metadata, crc32: meta.crc32, chunk_count: meta.chunk_count, created_ms }))
}

/// The whole blob, read inside the caller's snapshot.
pub(crate) fn get(conn: &Connection, inner: &Inner, id: u64) -> Result<Option<Vec<u8>>> {
    let Some((content_id, _, _)) = row(conn, id)? else { return Ok(None) };
    let meta =
        content::meta(conn, content_id)?.ok_or_else(|| Error::corrupt(format!("blob {id} has no content row")))?;
    read_content(conn, inner, &meta, &format!("blob {id}")).map(Some)
}

/// Reads a whole content on one connection (one snapshot).
pub(crate) fn read_content(conn: &Connection, inner: &Inner, meta: &ContentMeta, what: &str) -> Result<Vec<u8>> {
    let size = usize::try_from(meta.size).map_err(|_| Error::too_large(format!("{what} is too large for memory")))?;
    let mut out = vec![0u8; size];
    let mut scratch = Vec::new();
    let mut at = 0usize;
    for c in content::chunk_refs(conn, meta.id)? {
        let end = at + c.raw_len as usize;
        if end > out.len() {
            return Err(Error::corrupt(format!("{what}: chunks add up to more than its size")));
        }
        content::load_chunk(conn, &c, &mut out[at..end], &mut scratch, inner.opts.verify_checksums)
            .map_err(|e| Error::new(e.code(), format!("{what}: {}", e.message())))?;
        at = end;
    }
    if at != out.len() {
        return Err(Error::corrupt(format!("{what}: chunks add up to less than its size")));
    }
    Ok(out)
}

pub(crate) fn metadata(conn: &Connection, id: u64) -> Result<Option<String>> {
    match row(conn, id)? {
        Some((_, m, _)) => Ok(m),
        None => Err(Error::not_found(format!("blob {id}"))),
    }
}

pub(crate) fn update(
    conn: &Connection,
    inner: &Inner,
    id: u64,
    data: Option<&[u8]>,
    metadata: Option<Option<&str>>,
) -> Result<()> {
    let Some((old_content, _, _)) = row(conn, id)? else {
        return Err(Error::not_found(format!("blob {id}")));
    };
    let rid = blob_id(id)?;
    if let Some(m) = metadata {
        check_metadata(m)?;
        conn.prepare_cached("UPDATE bdb_blobs SET metadata = ?2 WHERE id = ?1")?.execute(params![rid, m])?;
    }
    if let Some(d) = data {
        let meta = content::write_bytes(conn, inner, inner.opts.compression, d)?;
        content::collect_unowned(conn, inner)?;
        conn.prepare_cached("UPDATE bdb_blobs SET content = ?2 WHERE id = ?1")?.execute(params![rid, meta.id])?;
        content::release(conn, old_content)?;
    }
    Ok(())
}

pub(crate) fn delete(conn: &Connection, inner: &Inner, id: u64) -> Result<bool> {
    let Some((content_id, _, _)) = row(conn, id)? else { return Ok(false) };
    content::collect_unowned(conn, inner)?;
    conn.prepare_cached("DELETE FROM bdb_blobs WHERE id = ?1")?.execute([blob_id(id)?])?;
    content::release(conn, content_id)?;
    Ok(true)
}

fn datas(conn: &Connection, inner: &Inner, ids: &[u64]) -> Result<Vec<Vec<u8>>> {
    ids.iter().map(|&id| get(conn, inner, id)?.ok_or_else(|| Error::not_found(format!("blob {id}")))).collect()
}

impl Db {
    /// Stores a new blob; returns its id (ids grow and are never reused).
    pub fn blob_put(&self, data: &[u8], metadata: Option<&str>) -> Result<u64> {
        self.inner.write(|c| put(c, &self.inner, data, metadata))
    }

    /// Stores a new blob from a reader of any size, a chunk at a time.
    pub fn blob_put_from(&self, reader: impl Read, metadata: Option<&str>) -> Result<u64> {
        self.inner.write(|c| put_from(c, &self.inner, reader, metadata))
    }

    /// The blob's bytes, or `None`.
    pub fn blob_get(&self, id: u64) -> Result<Option<Vec<u8>>> {
        self.inner.read_snapshot(|c| get(c, &self.inner, id))
    }

    /// The blob's metadata (`None` when it has none); `NOT_FOUND` when the blob is missing.
    pub fn blob_metadata(&self, id: u64) -> Result<Option<String>> {
        self.inner.read(|c| metadata(c, id))
    }

    pub fn blob_info(&self, id: u64) -> Result<Option<BlobInfo>> {
        self.inner.read_snapshot(|c| info(c, id))
    }

    /// Replaces the data (when `Some`) and/or the metadata (when `Some`, which may
    /// hold `None` to clear it). `NOT_FOUND` when the blob is missing.
    pub fn blob_update(&self, id: u64, data: Option<&[u8]>, metadata: Option<Option<&str>>) -> Result<()> {
        self.inner.write(|c| update(c, &self.inner, id, data, metadata))
    }

    /// Deletes the blob; returns whether it existed. Its id is never reused.
    pub fn blob_delete(&self, id: u64) -> Result<bool> {
        self.inner.write(|c| delete(c, &self.inner, id))
    }

    /// A reader over the blob's bytes (`NOT_FOUND` when missing).
    pub fn blob_open(&self, id: u64) -> Result<Reader> {
        let mut tries = 0;
        loop {
            let (content_id, _, _) =
                self.inner.read(|c| row(c, id))?.ok_or_else(|| Error::not_found(format!("blob {id}")))?;
            match Reader::open(self.inner.clone(), format!("blob {id}"), content_id, None) {
                Err(e) if e.code() == crate::ErrorCode::Conflict && tries < 3 => tries += 1,
                other => return other,
            }
        }
    }

    /// Whether all the blobs hold equal bytes (`NOT_FOUND` when one is missing).
    pub fn blob_eq(&self, ids: &[u64]) -> Result<bool> {
        self.inner.read_snapshot(|c| Ok(all_equal(&datas(c, &self.inner, ids)?)))
    }

    /// Whether all the blobs hold distinct bytes (`NOT_FOUND` when one is missing).
    pub fn blob_not_eq(&self, ids: &[u64]) -> Result<bool> {
        self.inner.read_snapshot(|c| Ok(all_distinct(&datas(c, &self.inner, ids)?)))
    }

    /// Blob ids in order, after `start_after`, at most `limit`.
    pub fn blob_ids(&self, start_after: Option<u64>, limit: Option<usize>) -> Result<Vec<u64>> {
        let after = start_after.map(blob_id).transpose()?.unwrap_or(0);
        let limit = limit.map(|l| l.min(i64::MAX as usize) as i64).unwrap_or(-1);
        self.inner.read(|c| {
            Ok(c.prepare_cached("SELECT id FROM bdb_blobs WHERE id > ?1 ORDER BY id LIMIT ?2")?
                .query_map(params![after, limit], |r| r.get::<_, i64>(0))?
                .map(|r| r.map(|v| v as u64))
                .collect::<rusqlite::Result<_>>()?)
        })
    }
}
