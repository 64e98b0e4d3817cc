//! Path streams: large versioned documents stored as checksummed chunks.

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, ErrorCode, Result};
use crate::index::upkeep::{self, Doc, Old};
use crate::storage::catalog::IndexSource;
use crate::options::{check_metadata, check_path};
use crate::reader::Reader;
use crate::storage::content::{self, ContentBuilder, ContentMeta, STATE_WRITING};
use crate::storage::schema::RowCrc;
use crate::storage::{now_ms, Store};
use crate::storage::{Core, Via};

pub(crate) mod info;
pub use info::StreamInfo;

/// A version row: (version, content, created_ms, metadata), checked.
type VersionRow = (u64, i64, i64, Option<String>);

fn version_crc(path: &[u8], version: i64, content: i64, created_ms: i64, metadata: Option<&str>) -> RowCrc {
    RowCrc::new().bytes(path).int(version).int(content).int(created_ms).opt_bytes(metadata.map(str::as_bytes))
}

fn streams_crc(path: &[u8], latest: i64, next_version: i64) -> RowCrc {
    RowCrc::new().bytes(path).int(latest).int(next_version)
}

fn deleted_crc(path: &[u8], next_version: i64) -> RowCrc {
    RowCrc::new().bytes(path).int(next_version)
}

/// The path's row in `bdb_streams`, checked: (latest, next_version).
fn stream_row(conn: &Connection, path: &str) -> Result<Option<(i64, i64)>> {
    let key = path.as_bytes();
    let row = conn
        .prepare_cached("SELECT latest, next_version, row_crc FROM bdb_streams WHERE path = ?1")?
        .query_row([key], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))
        .optional()?;
    let Some((latest, next, crc)) = row else { return Ok(None) };
    streams_crc(key, latest, next).verify(crc, || format!("stream {path:?}"))?;
    if latest < 1 || next <= latest {
        return Err(Error::corrupt(format!("stream {path:?}: impossible version numbers {latest} and {next}")));
    }
    Ok(Some((latest, next)))
}

/// Version rows of `path` (all of them, or just `version`), oldest first, checked.
fn version_rows(conn: &Connection, path: &str, version: Option<u64>) -> Result<Vec<VersionRow>> {
    let key = path.as_bytes();
    let version = version.map(|v| v.min(i64::MAX as u64) as i64);
    let mut stmt = conn.prepare_cached(
        "SELECT version, content, created_ms, row_crc, metadata FROM bdb_versions
         WHERE path = ?1 AND (?2 IS NULL OR version = ?2) ORDER BY version",
    )?;
    let mut rows = stmt.query(params![key, version])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let (v, content, created): (i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let metadata: Option<String> = r.get(4)?;
        version_crc(key, v, content, created, metadata.as_deref())
            .verify(r.get(3)?, || format!("stream {path:?} version {v}"))?;
        if v < 1 {
            return Err(Error::corrupt(format!("stream {path:?}: impossible version {v}")));
        }
        out.push((v as u64, content, created, metadata));
    }
    Ok(out)
}

fn info_of(path: &str, (version, _, created_ms, metadata): VersionRow, meta: &ContentMeta) -> StreamInfo {
    StreamInfo {
        path: path.to_string(),
        version,
        size: meta.size,
        crc32: meta.crc32,
        chunk_count: meta.chunk_count,
        chunk_size: meta.chunk_size,
        stored_size: meta.stored_size,
        created_ms,
        metadata,
    }
}

/// The live content of a version row: in the snapshot that read the row, a
/// version without one is damage.
fn content_of(conn: &Connection, path: &str, row: &VersionRow) -> Result<ContentMeta> {
    content::meta(conn, row.1)?
        .ok_or_else(|| Error::corrupt(format!("stream {path:?} version {}: its content is missing", row.0)))
}

/// The newest version of a stream (or `version`), with its content id. Run it in
/// one snapshot.
pub(crate) fn version_row(conn: &Connection, path: &str, version: Option<u64>) -> Result<Option<(StreamInfo, i64)>> {
    let wanted = match version {
        Some(v) => v,
        None => match stream_row(conn, path)? {
            Some((latest, _)) => latest as u64,
            None => return Ok(None),
        },
    };
    let row = match version_rows(conn, path, Some(wanted))?.pop() {
        Some(row) => row,
        None if version.is_none() => {
            return Err(Error::corrupt(format!("stream {path:?}: its newest version {wanted} is missing")))
        }
        None => return Ok(None),
    };
    let meta = content_of(conn, path, &row)?;
    let content = row.1;
    Ok(Some((info_of(path, row, &meta), content)))
}

/// A stream version found by [`locate`]: its info, its content and the content's
/// first chunk rows.
pub(crate) struct Located {
    pub info: StreamInfo,
    pub content: ContentMeta,
    pub chunks: Vec<content::ChunkRef>,
}

/// The newest version of `path` (or `version`) with its content row and its first
/// `chunks` chunk rows, every record checked: one statement, so one snapshot and one
/// B-tree descent per table (opening a reader or a stat costs no more). A version
/// whose content is not live gives `Ok(None)` for a named version, like a missing one;
/// for the newest it is damage unless the caller allows it (`CONFLICT` retries).
pub(crate) fn locate(conn: &Connection, path: &str, version: Option<u64>, chunks: usize) -> Result<Option<Located>> {
    let key = path.as_bytes();
    let wanted = version.map(|v| v.min(i64::MAX as u64) as i64);
    // The chunk rows come in `seq` order from the (content, seq) index: no sorter.
    let mut stmt = conn.prepare_cached(
        "SELECT s.latest, s.next_version, s.row_crc,
                v.version, v.content, v.created_ms, v.row_crc, v.metadata,
                c.size, c.crc32, c.chunk_size, c.chunk_count, c.stored_size, c.state, c.row_crc,
                k.id, k.raw_len, k.crc32, k.codec, length(k.data), k.row_crc
         FROM bdb_streams s
         LEFT JOIN bdb_versions v ON v.path = s.path AND v.version = coalesce(?2, s.latest)
         LEFT JOIN bdb_contents c ON c.id = v.content
         LEFT JOIN bdb_chunks k ON k.content = c.id AND k.seq >= 0 AND k.seq < ?3
         WHERE s.path = ?1
         ORDER BY k.seq",
    )?;
    let mut rows = stmt.query(params![key, wanted, chunks as i64])?;
    let Some(r) = rows.next()? else { return Ok(None) };
    let (latest, next, crc): (i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
    streams_crc(key, latest, next).verify(crc, || format!("stream {path:?}"))?;
    if latest < 1 || next <= latest {
        return Err(Error::corrupt(format!("stream {path:?}: impossible version numbers {latest} and {next}")));
    }
    let Some(v) = r.get::<_, Option<i64>>(3)? else {
        return match version {
            Some(_) => Ok(None),
            None => Err(Error::corrupt(format!("stream {path:?}: its newest version {latest} is missing"))),
        };
    };
    let (content_id, created, metadata): (i64, i64, Option<String>) = (r.get(4)?, r.get(5)?, r.get(7)?);
    version_crc(key, v, content_id, created, metadata.as_deref())
        .verify(r.get(6)?, || format!("stream {path:?} version {v}"))?;
    if v < 1 {
        return Err(Error::corrupt(format!("stream {path:?}: impossible version {v}")));
    }
    let missing_content = || Error::corrupt(format!("stream {path:?} version {v}: its content is missing"));
    let Some(content_row_crc) = r.get::<_, Option<i64>>(14)? else { return Err(missing_content()) };
    let values = [r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?, r.get(12)?, r.get(13)?];
    let (meta, state) = content::meta_from(content_id, values, content_row_crc)?;
    if state != content::STATE_LIVE {
        return Err(missing_content());
    }
    let mut refs = Vec::with_capacity(chunks.min(meta.chunk_count as usize));
    let chunk = |r: &rusqlite::Row<'_>, seq: usize| -> Result<Option<content::ChunkRef>> {
        let Some(rowid) = r.get::<_, Option<i64>>(15)? else { return Ok(None) };
        let values = [rowid, r.get(16)?, r.get(17)?, r.get(18)?, r.get(19)?];
        content::chunk_ref_from(content_id, seq as i64, values, r.get(20)?).map(Some)
    };
    refs.extend(chunk(r, 0)?);
    while let Some(r) = rows.next()? {
        refs.extend(chunk(r, refs.len())?);
    }
    let row = (v as u64, content_id, created, metadata);
    Ok(Some(Located { info: info_of(path, row, &meta), content: meta, chunks: refs }))
}

/// The newest version's metadata (`Ok(None)`: no version), for index upkeep.
fn newest_metadata(conn: &Connection, path: &str) -> Result<Option<Option<String>>> {
    let Some((latest, _)) = stream_row(conn, path)? else { return Ok(None) };
    let row = version_rows(conn, path, Some(latest as u64))?.pop();
    let row = row.ok_or_else(|| Error::corrupt(format!("stream {path:?}: its newest version {latest} is missing")))?;
    Ok(Some(row.3))
}

/// Index upkeep for a change of the newest version of `path`: from what it held
/// (read now; a damaged row is `Old::Unknown`) to `new` (`None`: no version left).
fn index_change(conn: &Connection, inner: &Store, path: &str, new: Option<Option<&str>>) -> Result<()> {
    let Some(defs) = upkeep::covering(conn, inner, IndexSource::Stream, path.as_bytes())? else { return Ok(()) };
    let old = newest_metadata(conn, path);
    let old = match &old {
        Ok(None) => Old::None,
        Ok(Some(m)) => Old::Doc(Doc::Text(m.as_deref())),
        Err(_) => Old::Unknown,
    };
    upkeep::change(conn, &defs, IndexSource::Stream, path.as_bytes(), old, new.map(Doc::Text))
}

/// Calls `f` with each stream path starting with `prefix` (after `after`) and its
/// newest version's metadata, in path order, until it returns `false` or `limit` paths.
pub(crate) fn metadata_walk(
    conn: &Connection,
    prefix: &[u8],
    after: Option<&[u8]>,
    limit: usize,
    mut f: impl FnMut(&str, Option<&str>) -> bool,
) -> Result<()> {
    let mut paths = Vec::new();
    crate::kv::walk(conn, crate::kv::Source::Paths, prefix, after, Some(limit), |p, _| {
        paths.push(p.to_vec());
        true
    })?;
    for p in paths {
        let path = String::from_utf8(p).map_err(|_| Error::corrupt("a stream path is not UTF-8"))?;
        let metadata = newest_metadata(conn, &path)?.flatten();
        if !f(&path, metadata.as_deref()) {
            break;
        }
    }
    Ok(())
}

fn missing(path: &str, version: Option<u64>) -> Error {
    match version {
        Some(v) => Error::not_found(format!("version {v} of stream {path:?}")),
        None => Error::not_found(format!("stream {path:?}")),
    }
}

pub(crate) fn stat(conn: &Connection, path: &str) -> Result<StreamInfo> {
    check_path(path)?;
    locate(conn, path, None, 0)?.map(|l| l.info).ok_or_else(|| missing(path, None))
}

/// Makes a finished content the newest version of `path`, then drops versions
/// beyond `versions_to_keep`. Version numbers continue after the highest the path
/// ever had, even across a delete.
pub(crate) fn commit_version(
    conn: &Connection,
    inner: &Store,
    path: &str,
    meta: &ContentMeta,
    metadata: Option<&str>,
) -> Result<StreamInfo> {
    check_metadata(metadata)?;
    let key = path.as_bytes();
    content::collect_unowned(conn, inner)?;
    index_change(conn, inner, path, Some(metadata))?;
    let version = match stream_row(conn, path)? {
        Some((_, next)) => next,
        None => match deleted_next_version(conn, path)? {
            Some(next) => {
                conn.prepare_cached("DELETE FROM bdb_deleted_streams WHERE path = ?1")?.execute([key])?;
                next
            }
            None => 1,
        },
    };
    let created_ms = now_ms();
    let next = version + 1;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO bdb_streams(path, latest, next_version, row_crc) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![key, version, next, streams_crc(key, version, next).finish()])?;
    conn.prepare_cached(
        "INSERT INTO bdb_versions(path, version, content, created_ms, row_crc, metadata)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        key,
        version,
        meta.id,
        created_ms,
        version_crc(key, version, meta.id, created_ms, metadata).finish(),
        metadata
    ])?;
    let keep = inner.opts.versions_to_keep as usize;
    let rows = all_version_rows(conn, path)?;
    if rows.len() > keep {
        drop_versions(conn, path, &rows[..rows.len() - keep])?;
    }
    Ok(info_of(path, (version as u64, meta.id, created_ms, metadata.map(str::to_string)), meta))
}

/// The next version number of a deleted path, checked.
fn deleted_next_version(conn: &Connection, path: &str) -> Result<Option<i64>> {
    let key = path.as_bytes();
    let row = conn
        .prepare_cached("SELECT next_version, row_crc FROM bdb_deleted_streams WHERE path = ?1")?
        .query_row([key], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
        .optional()?;
    let Some((next, crc)) = row else { return Ok(None) };
    deleted_crc(key, next).verify(crc, || format!("deleted stream {path:?}"))?;
    if next < 1 {
        return Err(Error::corrupt(format!("deleted stream {path:?}: impossible next version {next}")));
    }
    Ok(Some(next))
}

/// Every version row of `path`, oldest first: (version, content, checked). A damaged
/// row is still listed (so it can be dropped) but its content is not trusted.
fn all_version_rows(conn: &Connection, path: &str) -> Result<Vec<(i64, Option<i64>)>> {
    let key = path.as_bytes();
    let mut stmt = conn.prepare_cached(
        "SELECT version, content, created_ms, row_crc, metadata FROM bdb_versions WHERE path = ?1 ORDER BY version",
    )?;
    let mut rows = stmt.query([key])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let v: i64 = r.get_ref(0)?.as_i64().unwrap_or(-1);
        let checked = (|| -> Result<i64> {
            let (content, created, crc): (i64, i64, i64) = (r.get(1)?, r.get(2)?, r.get(3)?);
            let metadata: Option<String> = r.get(4)?;
            version_crc(key, v, content, created, metadata.as_deref()).verify(crc, String::new)?;
            Ok(content)
        })();
        out.push((v, checked.ok()));
    }
    Ok(out)
}

/// Deletes version rows and releases their contents (only those whose row is
/// intact: a damaged row's content id may name another owner's content).
fn drop_versions(conn: &Connection, path: &str, rows: &[(i64, Option<i64>)]) -> Result<()> {
    for &(v, content_id) in rows {
        conn.prepare_cached("DELETE FROM bdb_versions WHERE path = ?1 AND version = ?2")?
            .execute(params![path.as_bytes(), v])?;
        if let Some(id) = content_id {
            content::release(conn, id)?;
        }
    }
    Ok(())
}

pub(crate) fn write(
    conn: &Connection,
    inner: &Store,
    path: &str,
    data: &[u8],
    metadata: Option<&str>,
) -> Result<StreamInfo> {
    check_path(path)?;
    check_metadata(metadata)?;
    let meta = content::write_bytes(conn, inner, inner.opts.compression, data)?;
    commit_version(conn, inner, path, &meta, metadata)
}

/// Replaces the newest version's metadata (its bytes stay); `NOT_FOUND` when the
/// path has no version.
pub(crate) fn set_metadata(conn: &Connection, inner: &Store, path: &str, metadata: Option<&str>) -> Result<StreamInfo> {
    check_path(path)?;
    check_metadata(metadata)?;
    let (info, content) = version_row(conn, path, None)?.ok_or_else(|| missing(path, None))?;
    index_change(conn, inner, path, Some(metadata))?;
    let key = path.as_bytes();
    let v = info.version as i64;
    conn.prepare_cached("UPDATE bdb_versions SET metadata = ?3, row_crc = ?4 WHERE path = ?1 AND version = ?2")?
        .execute(params![key, v, metadata, version_crc(key, v, content, info.created_ms, metadata).finish()])?;
    Ok(StreamInfo { metadata: metadata.map(str::to_string), ..info })
}

pub(crate) fn read(conn: &Connection, inner: &Store, path: &str, version: Option<u64>) -> Result<Vec<u8>> {
    check_path(path)?;
    let (info, content_id) = version_row(conn, path, version)?.ok_or_else(|| missing(path, version))?;
    let meta = content::meta(conn, content_id)?
        .ok_or_else(|| Error::corrupt(format!("stream {path:?} version {}: its content is missing", info.version)))?;
    content::read_content(conn, inner, &meta, &format!("stream {path:?}"))
}

pub(crate) fn delete(conn: &Connection, inner: &Store, path: &str) -> Result<bool> {
    check_path(path)?;
    let key = path.as_bytes();
    content::collect_unowned(conn, inner)?;
    index_change(conn, inner, path, None)?;
    let rows = all_version_rows(conn, path)?;
    // The next version number outlives the path, so a new write never reuses one.
    let stored_next = stream_row(conn, path).ok().flatten().map(|(_, next)| next);
    let highest = rows.iter().map(|r| r.0).max();
    drop_versions(conn, path, &rows)?;
    let existed = conn.prepare_cached("DELETE FROM bdb_streams WHERE path = ?1")?.execute([key])? > 0;
    let next = stored_next.into_iter().chain(highest.map(|v| v + 1)).max();
    if let Some(next) = next {
        conn.prepare_cached(
            "INSERT OR REPLACE INTO bdb_deleted_streams(path, next_version, row_crc) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![key, next, deleted_crc(key, next).finish()])?;
    }
    Ok(existed)
}

/// The kept versions, oldest first; the newest must be the one the path names.
pub(crate) fn versions(conn: &Connection, path: &str) -> Result<Vec<StreamInfo>> {
    check_path(path)?;
    let latest = stream_row(conn, path)?.map(|(l, _)| l as u64);
    let rows = version_rows(conn, path, None)?;
    if rows.last().map(|r| r.0) != latest {
        return Err(Error::corrupt(format!("stream {path:?}: its version rows do not end at its newest version")));
    }
    rows.into_iter()
        .map(|row| {
            let meta = content_of(conn, path, &row)?;
            Ok(info_of(path, row, &meta))
        })
        .collect()
}

/// Chunks written per commit by a [`StreamWriter`]: fewer, larger commits while
/// keeping the write lock for short stretches only.
const CHUNKS_PER_FLUSH: usize = 4;

/// Bytes a [`StreamWriter`] stores per commit; a whole document larger than this is
/// written through a writer too (see `Ops::stream_write`).
pub(crate) fn batch_bytes(inner: &Store) -> usize {
    inner.opts.chunk_size * CHUNKS_PER_FLUSH
}

/// Writes a new version of a stream piece by piece. Nothing is visible until
/// [`StreamWriter::commit`]; a crash or [`StreamWriter::abort`] leaves the previous
/// version whole. The write lock is taken only while a batch of chunks is stored,
/// so other writers go on meanwhile.
pub struct StreamWriter {
    via: Via,
    path: String,
    builder: Option<ContentBuilder>,
    pending: Vec<u8>,
    flush_at: usize,
    metadata: Option<String>,
}

impl StreamWriter {
    pub(crate) fn start(via: Via, path: &str, compression: Option<bool>) -> Result<StreamWriter> {
        check_path(path)?;
        let core = via.core();
        let compress = compression.unwrap_or(core.inner().opts.compression);
        let builder = core.write(&[], |c| ContentBuilder::start(c, core.inner(), compress, STATE_WRITING))?;
        let flush_at = batch_bytes(core.inner());
        Ok(StreamWriter {
            via,
            path: path.to_string(),
            builder: Some(builder),
            pending: Vec::new(),
            flush_at,
            metadata: None,
        })
    }

    /// Sets the metadata the new version gets when committed (any time before the
    /// commit; `None`, the default, for none). Checked now: `TOO_LARGE` over
    /// `MAX_METADATA_SIZE`, `INVALID_ARGUMENT` with a NUL byte.
    pub fn set_metadata(&mut self, metadata: Option<&str>) -> Result<()> {
        check_metadata(metadata)?;
        self.builder()?;
        self.metadata = metadata.map(str::to_string);
        Ok(())
    }

    fn builder(&mut self) -> Result<&mut ContentBuilder> {
        self.builder
            .as_mut()
            .ok_or_else(|| Error::new(ErrorCode::Closed, format!("the writer of {:?} is finished", self.path)))
    }

    /// Appends bytes. On an error, [`StreamWriter::written`] tells how many bytes of
    /// the document are kept (the call's bytes may be in part); writing on after
    /// that, or retrying the rest, makes no gap.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        self.via.core().check_open()?;
        let max = self.via.inner().opts.max_document_size;
        let size = self.builder()?.size() + self.pending.len() as u64;
        if size + data.len() as u64 > max {
            return Err(Error::too_large(format!("stream {:?} is over max_document_size ({max} bytes)", self.path)));
        }
        let mut data = data;
        if self.pending.is_empty() {
            // Large writes go straight through, uncopied, a batch per commit: one
            // transaction of the whole would carry it all through the WAL at once.
            while data.len() >= self.flush_at {
                let (batch, rest) = data.split_at(self.flush_at);
                self.store(batch)?;
                data = rest;
            }
        }
        let before = self.pending.len();
        self.pending.extend_from_slice(data);
        if self.pending.len() >= self.flush_at {
            let pending = std::mem::take(&mut self.pending);
            let out = self.store(&pending);
            self.pending = pending;
            match out {
                Ok(()) => self.pending.clear(),
                Err(e) => {
                    // What this call added is not kept: `written()` counts what is.
                    self.pending.truncate(before);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Stores a batch in one transaction. When it fails (BUSY, a full disk) nothing of
    /// the batch stays, in the file or in the builder, so writing on goes on from
    /// where the last stored batch ended.
    fn store(&mut self, data: &[u8]) -> Result<()> {
        let via = self.via.clone();
        let b = self.builder()?;
        let mark = b.mark();
        let out = via.core().write(&[], |c| b.write(c, data));
        if out.is_err() {
            b.back_to(mark);
        }
        out
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
        let core = self.via.core();
        let out = core.write(&[], |c| {
            b.write(c, &pending)?;
            let meta = b.finish(c)?;
            commit_version(c, core.inner(), &self.path, &meta, self.metadata.as_deref())
        });
        match out {
            Ok(info) => {
                core.after_large_write(info.size);
                Ok(info)
            }
            Err(e) => {
                let _ = discard(core, id);
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
            Some(b) => discard(self.via.core(), b.id),
            None => Ok(()),
        }
    }
}

fn discard(core: Core<'_>, id: i64) -> Result<()> {
    core.write(&[], |c| content::discard(c, id))
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

/// `stream "path"`, as `format!("stream {path:?}")` writes it, without the
/// formatting machinery for the usual printable ASCII path (a reader's name for its
/// errors is made at every open: ~1,200 instructions of a PhysFS open went there).
fn named(path: &str) -> String {
    if !path.bytes().all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\') {
        return format!("stream {path:?}");
    }
    let mut s = String::with_capacity(path.len() + 9);
    s.push_str("stream \"");
    s.push_str(path);
    s.push('"');
    s
}

/// A reader over the newest version, or over `version`.
pub(crate) fn open(core: Core<'_>, path: &str, version: Option<u64>) -> Result<Reader> {
    check_path(path)?;
    // A concurrent write may collect the version between finding and pinning
    // it; then look again.
    let mut tries = 0;
    loop {
        // One statement: the version, its content and its first chunk rows.
        let found = core.read(|c| locate(c, path, version, Reader::FIRST_BATCH))?;
        let Located { info, content, chunks } = found.ok_or_else(|| missing(path, version))?;
        match Reader::open_located(core.to_owned(), named(path), content, chunks, Some(info)) {
            Err(e) if e.code() == ErrorCode::Conflict && tries < 3 => tries += 1,
            other => return other,
        }
    }
}

/// `len` bytes from `offset` of the newest version (fewer at the end).
pub(crate) fn read_range(core: Core<'_>, path: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
    let mut r = open(core, path, None)?;
    let n = len.min(r.size().saturating_sub(offset));
    let n = usize::try_from(n).map_err(|_| Error::too_large("range is too large for memory"))?;
    let mut out = vec![0u8; n];
    let got = r.read_at(offset, &mut out)?;
    out.truncate(got);
    Ok(out)
}

pub(crate) fn exists(conn: &Connection, path: &str) -> Result<bool> {
    Ok(stream_row(conn, path)?.is_some())
}

impl std::fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamWriter").field("path", &self.path).field("written", &self.written()).finish()
    }
}

impl Store {
    /// Large writes sit in the WAL, where reads are slower: without a background
    /// checkpointer, copy them to the main file now (PASSIVE: never waits for readers).
    pub(crate) fn after_large_write(&self, size: u64) {
        if size >= 64 << 20 && !self.has_wal_index() {
            let _ = self.checkpoint();
        }
    }
}
