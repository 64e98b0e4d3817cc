//! Path streams: large versioned documents stored as checksummed chunks.

use std::io::Read;
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension};

use crate::blob::read_content;
use crate::content::{self, ContentBuilder, ContentMeta, STATE_WRITING};
use crate::db::{now_ms, Db, Inner};
use crate::error::{Error, ErrorCode, Result};
use crate::options::check_path;
use crate::reader::Reader;

/// One version of a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamInfo {
    pub path: String,
    /// 1 for the first write of a path, then 2, 3, ...
    pub version: u64,
    pub size: u64,
    /// CRC32 of the whole document's raw bytes.
    pub crc32: u32,
    pub chunk_count: u64,
    pub chunk_size: u64,
    /// Bytes on disk after compression.
    pub stored_size: u64,
    pub created_ms: i64,
}

/// Columns of a version row joined with its content, as [`info_row`] reads them.
const INFO_COLUMNS: &str =
    "v.version, v.created_ms, c.size, c.crc32, c.chunk_count, c.chunk_size, c.stored_size, v.content";

fn info_row(path: &str, r: &rusqlite::Row<'_>) -> rusqlite::Result<(StreamInfo, i64)> {
    Ok((
        StreamInfo {
            path: path.to_string(),
            version: r.get::<_, i64>(0)? as u64,
            created_ms: r.get(1)?,
            size: r.get::<_, i64>(2)? as u64,
            crc32: r.get::<_, i64>(3)? as u32,
            chunk_count: r.get::<_, i64>(4)? as u64,
            chunk_size: r.get::<_, i64>(5)? as u64,
            stored_size: r.get::<_, i64>(6)? as u64,
        },
        r.get(7)?,
    ))
}

/// The newest version of a stream (or `version`), with its content id.
pub(crate) fn version_row(conn: &Connection, path: &str, version: Option<u64>) -> Result<Option<(StreamInfo, i64)>> {
    let sql = format!(
        "SELECT {INFO_COLUMNS} FROM bdb_versions v JOIN bdb_contents c ON c.id = v.content
         WHERE v.path = ?1 AND (?2 IS NULL OR v.version = ?2) ORDER BY v.version DESC LIMIT 1"
    );
    let version = version.map(|v| v.min(i64::MAX as u64) as i64);
    Ok(conn.prepare_cached(&sql)?.query_row(params![path.as_bytes(), version], |r| info_row(path, r)).optional()?)
}

fn missing(path: &str, version: Option<u64>) -> Error {
    match version {
        Some(v) => Error::not_found(format!("version {v} of stream {path:?}")),
        None => Error::not_found(format!("stream {path:?}")),
    }
}

pub(crate) fn stat(conn: &Connection, path: &str) -> Result<StreamInfo> {
    check_path(path)?;
    version_row(conn, path, None)?.map(|(i, _)| i).ok_or_else(|| missing(path, None))
}

/// Makes a finished content the newest version of `path`, then drops versions
/// beyond `versions_to_keep`.
pub(crate) fn commit_version(conn: &Connection, inner: &Inner, path: &str, meta: &ContentMeta) -> Result<StreamInfo> {
    let key = path.as_bytes();
    content::collect_unowned(conn, inner)?;
    let next: Option<i64> = conn
        .prepare_cached("SELECT next_version FROM bdb_streams WHERE path = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    let version = next.unwrap_or(1);
    let created_ms = now_ms();
    conn.prepare_cached("INSERT OR REPLACE INTO bdb_streams(path, latest, next_version) VALUES (?1, ?2, ?3)")?
        .execute(params![key, version, version + 1])?;
    conn.prepare_cached("INSERT INTO bdb_versions(path, version, content, created_ms) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![key, version, meta.id, created_ms])?;
    let old: Vec<(i64, i64)> = conn
        .prepare_cached(
            "SELECT version, content FROM bdb_versions WHERE path = ?1 ORDER BY version DESC LIMIT -1 OFFSET ?2",
        )?
        .query_map(params![key, inner.opts.versions_to_keep as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (v, content_id) in old {
        conn.prepare_cached("DELETE FROM bdb_versions WHERE path = ?1 AND version = ?2")?.execute(params![key, v])?;
        content::release(conn, content_id)?;
    }
    Ok(StreamInfo {
        path: path.to_string(),
        version: version as u64,
        size: meta.size,
        crc32: meta.crc32,
        chunk_count: meta.chunk_count,
        chunk_size: meta.chunk_size,
        stored_size: meta.stored_size,
        created_ms,
    })
}

pub(crate) fn write(conn: &Connection, inner: &Inner, path: &str, data: &[u8]) -> Result<StreamInfo> {
    check_path(path)?;
    let meta = content::write_bytes(conn, inner, inner.opts.compression, data)?;
    commit_version(conn, inner, path, &meta)
}

pub(crate) fn write_from(conn: &Connection, inner: &Inner, path: &str, reader: impl Read) -> Result<StreamInfo> {
    check_path(path)?;
    let meta = content::write_all(conn, inner, inner.opts.compression, reader)?;
    commit_version(conn, inner, path, &meta)
}

pub(crate) fn read(conn: &Connection, inner: &Inner, path: &str, version: Option<u64>) -> Result<Vec<u8>> {
    check_path(path)?;
    let (_, content_id) = version_row(conn, path, version)?.ok_or_else(|| missing(path, version))?;
    let meta =
        content::meta(conn, content_id)?.ok_or_else(|| Error::corrupt(format!("stream {path:?} has no content")))?;
    read_content(conn, inner, &meta, &format!("stream {path:?}"))
}

pub(crate) fn delete(conn: &Connection, inner: &Inner, path: &str) -> Result<bool> {
    check_path(path)?;
    let key = path.as_bytes();
    content::collect_unowned(conn, inner)?;
    let contents: Vec<i64> = conn
        .prepare_cached("SELECT content FROM bdb_versions WHERE path = ?1")?
        .query_map([key], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    conn.prepare_cached("DELETE FROM bdb_versions WHERE path = ?1")?.execute([key])?;
    let existed = conn.prepare_cached("DELETE FROM bdb_streams WHERE path = ?1")?.execute([key])? > 0;
    for id in contents {
        content::release(conn, id)?;
    }
    Ok(existed)
}

pub(crate) fn versions(conn: &Connection, path: &str) -> Result<Vec<StreamInfo>> {
    check_path(path)?;
    let sql = format!(
        "SELECT {INFO_COLUMNS} FROM bdb_versions v JOIN bdb_contents c ON c.id = v.content
         WHERE v.path = ?1 ORDER BY v.version"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_map([path.as_bytes()], |r| info_row(path, r).map(|(i, _)| i))?
        .collect::<rusqlite::Result<_>>()?)
}

/// Chunks written per commit by a [`StreamWriter`]: fewer, larger commits while
/// keeping the write lock for short stretches only.
const CHUNKS_PER_FLUSH: usize = 4;

/// Writes a new version of a stream piece by piece. Nothing is visible until
/// [`StreamWriter::commit`]; a crash or [`StreamWriter::abort`] leaves the previous
/// version whole. The write lock is taken only while a batch of chunks is stored,
/// so other writers go on meanwhile.
pub struct StreamWriter {
    inner: Arc<Inner>,
    path: String,
    builder: Option<ContentBuilder>,
    pending: Vec<u8>,
    flush_at: usize,
}

impl StreamWriter {
    pub(crate) fn start(inner: Arc<Inner>, path: &str, compression: Option<bool>) -> Result<StreamWriter> {
        check_path(path)?;
        let compress = compression.unwrap_or(inner.opts.compression);
        let builder = inner.write(|c| ContentBuilder::start(c, &inner, compress, STATE_WRITING))?;
        let flush_at = inner.opts.chunk_size * CHUNKS_PER_FLUSH;
        Ok(StreamWriter { inner, path: path.to_string(), builder: Some(builder), pending: Vec::new(), flush_at })
    }

    fn builder(&mut self) -> Result<&mut ContentBuilder> {
        self.builder
            .as_mut()
            .ok_or_else(|| Error::new(ErrorCode::Closed, format!("the writer of {:?} is finished", self.path)))
    }

    /// Appends bytes.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        self.inner.check_open()?;
        let max = self.inner.opts.max_document_size;
        let size = self.builder()?.size() + self.pending.len() as u64;
        if size + data.len() as u64 > max {
            return Err(Error::too_large(format!("stream {:?} is over max_document_size ({max} bytes)", self.path)));
        }
        if self.pending.is_empty() && data.len() >= self.flush_at {
            return self.store(data); // large writes go straight through, uncopied
        }
        self.pending.extend_from_slice(data);
        if self.pending.len() >= self.flush_at {
            let pending = std::mem::take(&mut self.pending);
            let out = self.store(&pending);
            self.pending = pending;
            self.pending.clear();
            out?;
        }
        Ok(())
    }

    fn store(&mut self, data: &[u8]) -> Result<()> {
        let inner = self.inner.clone();
        let b = self.builder()?;
        inner.write(|c| b.write(c, data))
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.builder.as_ref().map(|b| b.size()).unwrap_or(0) + self.pending.len() as u64
    }

    /// Makes the written bytes the newest version of the path.
    pub fn commit(mut self) -> Result<StreamInfo> {
        self.builder()?; // CLOSED when already finished
        let mut b = self.builder.take().expect("checked above");
        let id = b.id;
        let pending = std::mem::take(&mut self.pending);
        let inner = self.inner.clone();
        let out = inner.write(|c| {
            b.write(c, &pending)?;
            let meta = b.finish(c)?;
            commit_version(c, &inner, &self.path, &meta)
        });
        match out {
            Ok(info) => {
                inner.after_large_write(info.size);
                Ok(info)
            }
            Err(e) => {
                let _ = discard(&inner, id);
                Err(e)
            }
        }
    }

    /// Drops everything written; the previous version stays current.
    pub fn abort(mut self) -> Result<()> {
        self.abort_inner()
    }

    fn abort_inner(&mut self) -> Result<()> {
        match self.builder.take() {
            Some(b) => discard(&self.inner, b.id),
            None => Ok(()),
        }
    }
}

fn discard(inner: &Inner, id: i64) -> Result<()> {
    inner.write(|c| content::discard(c, id))
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        let _ = self.abort_inner();
    }
}

impl std::io::Write for StreamWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        StreamWriter::write(self, buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Db {
    /// Writes `data` as a new version of `path`, in one transaction.
    pub fn stream_write(&self, path: &str, data: &[u8]) -> Result<StreamInfo> {
        check_path(path)?;
        let info = self.inner.write(|c| write(c, &self.inner, path, data))?;
        self.inner.after_large_write(info.size);
        Ok(info)
    }

    /// Writes everything `reader` gives as a new version of `path`, a chunk at a
    /// time (memory use does not grow with the size), in one transaction.
    pub fn stream_write_from(&self, path: &str, reader: impl Read) -> Result<StreamInfo> {
        check_path(path)?;
        let info = self.inner.write(|c| write_from(c, &self.inner, path, reader))?;
        self.inner.after_large_write(info.size);
        Ok(info)
    }

    /// A writer for a new version of `path`.
    pub fn stream_writer(&self, path: &str) -> Result<StreamWriter> {
        StreamWriter::start(self.inner.clone(), path, None)
    }

    /// A writer with compression set for this write only.
    pub fn stream_writer_with(&self, path: &str, compression: Option<bool>) -> Result<StreamWriter> {
        StreamWriter::start(self.inner.clone(), path, compression)
    }

    /// The newest version's bytes (`NOT_FOUND` when the path has none).
    pub fn stream_read(&self, path: &str) -> Result<Vec<u8>> {
        self.inner.read_snapshot(|c| read(c, &self.inner, path, None))
    }

    /// A reader over the newest version, or over `version`.
    pub fn stream_open(&self, path: &str, version: Option<u64>) -> Result<Reader> {
        check_path(path)?;
        // A concurrent write may collect the version between finding and pinning
        // it; then look again.
        let mut tries = 0;
        loop {
            let (info, content_id) =
                self.inner.read(|c| version_row(c, path, version))?.ok_or_else(|| missing(path, version))?;
            match Reader::open(self.inner.clone(), format!("stream {path:?}"), content_id, Some(info)) {
                Err(e) if e.code() == ErrorCode::Conflict && tries < 3 => tries += 1,
                other => return other,
            }
        }
    }

    /// `len` bytes from `offset` of the newest version (fewer at the end).
    pub fn stream_read_range(&self, path: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let mut r = self.stream_open(path, None)?;
        let n = len.min(r.size().saturating_sub(offset));
        let n = usize::try_from(n).map_err(|_| Error::too_large("range is too large for memory"))?;
        let mut out = vec![0u8; n];
        let got = r.read_at(offset, &mut out)?;
        out.truncate(got);
        Ok(out)
    }

    /// The newest version's info (`NOT_FOUND` when the path has none).
    pub fn stream_stat(&self, path: &str) -> Result<StreamInfo> {
        self.inner.read(|c| stat(c, path))
    }

    pub fn stream_exists(&self, path: &str) -> Result<bool> {
        check_path(path)?;
        self.inner
            .read(|c| Ok(c.prepare_cached("SELECT 1 FROM bdb_streams WHERE path = ?1")?.exists([path.as_bytes()])?))
    }

    /// The kept versions, oldest first (empty when the path has none).
    pub fn stream_versions(&self, path: &str) -> Result<Vec<StreamInfo>> {
        self.inner.read(|c| versions(c, path))
    }

    /// Deletes every version of `path`; returns whether it existed.
    pub fn stream_delete(&self, path: &str) -> Result<bool> {
        check_path(path)?;
        self.inner.write(|c| delete(c, &self.inner, path))
    }
}

impl std::fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamWriter").field("path", &self.path).field("written", &self.written()).finish()
    }
}

impl Inner {
    /// Large writes sit in the WAL, where reads are slower: without a background
    /// checkpointer, copy them to the main file now (PASSIVE: never waits for readers).
    pub(crate) fn after_large_write(&self, size: u64) {
        if size >= 64 << 20 && !self.has_wal_index() {
            let _ = self.checkpoint();
        }
    }
}
