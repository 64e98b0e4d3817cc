//! Contents: the chunked bytes behind a blob or a stream version.
//!
//! Each chunk row holds up to `chunk_size` raw bytes, stored raw or snappy-compressed
//! (whichever is smaller), with the CRC32 of the raw bytes. A content's chunks never
//! change after it is finished, so readers can fetch them one at a time.

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::options::MAX_CHUNK_SIZE;
use crate::storage::owner::OwnerLock;
use crate::storage::schema::RowCrc;
use crate::storage::Store;

pub(crate) const CODEC_RAW: i64 = 0;
pub(crate) const CODEC_SNAPPY: i64 = 1;
/// A chunk in blocks (format 4, what every new chunk is): a table of one entry per
/// [`BLOCK`] raw bytes, `(stored length, CRC32 of the raw bytes)` as two little-endian
/// `u32`s, then each block's bytes, snappy-compressed when that is shorter, else raw.
/// A range read reads, decodes and checks only the blocks it needs, each against its
/// own CRC (codecs 0 and 1 must read the whole chunk to check it).
pub(crate) const CODEC_BLOCKS: i64 = 2;
/// Raw bytes per block of a [`CODEC_BLOCKS`] chunk (the last block may be shorter).
pub(crate) const BLOCK: usize = 16 << 10;
/// Bytes per block-table entry.
const ENTRY: usize = 8;

pub(crate) const STATE_LIVE: i64 = 0;
pub(crate) const STATE_WRITING: i64 = 1;
pub(crate) const STATE_UNOWNED: i64 = 2;

/// A content's header row.
#[derive(Clone, Debug)]
pub(crate) struct ContentMeta {
    pub id: i64,
    pub size: u64,
    pub crc32: u32,
    pub chunk_size: u64,
    pub chunk_count: u64,
    pub stored_size: u64,
}

/// A live content's header row, checked (`None` when missing or not live).
pub(crate) fn meta(conn: &Connection, id: i64) -> Result<Option<ContentMeta>> {
    Ok(meta_any(conn, id)?.and_then(|(m, state)| (state == STATE_LIVE).then_some(m)))
}

/// A content's header row in any state, with its state; `CORRUPT` when the row's
/// checksum fails or its values are impossible.
pub(crate) fn meta_any(conn: &Connection, id: i64) -> Result<Option<(ContentMeta, i64)>> {
    let row = conn
        .prepare_cached(
            "SELECT size, crc32, chunk_size, chunk_count, stored_size, state, row_crc FROM bdb_contents WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok(([r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?], r.get::<_, i64>(6)?))
        })
        .optional()?;
    let Some((v, row_crc)) = row else { return Ok(None) };
    meta_from(id, v, row_crc).map(Some)
}

/// A content header row's values (size, crc32, chunk_size, chunk_count, stored_size,
/// state) checked against its record checksum and for impossible values.
pub(crate) fn meta_from(id: i64, v: [i64; 6], row_crc: i64) -> Result<(ContentMeta, i64)> {
    let [size, crc32, chunk_size, chunk_count, stored_size, state] = v;
    content_crc(id, size, crc32, chunk_size, chunk_count, stored_size, state)
        .verify(row_crc, || format!("content {id}"))?;
    let impossible = |why: &str| Err(Error::corrupt(format!("content {id}: {why}")));
    if size < 0 || stored_size < 0 || !(0..=u32::MAX as i64).contains(&crc32) {
        return impossible("negative size or checksum out of range");
    }
    if !(1..=MAX_CHUNK_SIZE as i64).contains(&chunk_size) {
        return impossible(&format!("impossible chunk size {chunk_size}"));
    }
    if chunk_count != (size as u64).div_ceil(chunk_size as u64) as i64 {
        return impossible(&format!("{chunk_count} chunks cannot hold {size} bytes in chunks of {chunk_size}"));
    }
    if !(STATE_LIVE..=STATE_UNOWNED).contains(&state) {
        return impossible(&format!("unknown state {state}"));
    }
    let meta = ContentMeta {
        id,
        size: size as u64,
        crc32: crc32 as u32,
        chunk_size: chunk_size as u64,
        chunk_count: chunk_count as u64,
        stored_size: stored_size as u64,
    };
    Ok((meta, state))
}

/// The record checksum of a content header row.
fn content_crc(
    id: i64,
    size: i64,
    crc32: i64,
    chunk_size: i64,
    chunk_count: i64,
    stored_size: i64,
    state: i64,
) -> RowCrc {
    RowCrc::new().int(id).int(size).int(crc32).int(chunk_size).int(chunk_count).int(stored_size).int(state)
}

/// Writes a content header row's checksum after its values changed.
fn seal(conn: &Connection, m: &ContentMeta, state: i64) -> Result<()> {
    let crc = content_crc(
        m.id,
        m.size as i64,
        m.crc32 as i64,
        m.chunk_size as i64,
        m.chunk_count as i64,
        m.stored_size as i64,
        state,
    );
    conn.prepare_cached("UPDATE bdb_contents SET row_crc = ?2 WHERE id = ?1")?.execute(params![m.id, crc.finish()])?;
    Ok(())
}

/// The record checksum of a chunk row: it names the content and position the chunk
/// belongs to, so a row reached through a damaged index is never taken for another.
fn chunk_crc(content: i64, seq: i64, raw_len: i64, crc32: i64, codec: i64, stored_len: i64) -> RowCrc {
    RowCrc::new().int(content).int(seq).int(raw_len).int(crc32).int(codec).int(stored_len)
}

/// Builds one content chunk by chunk. The connection is passed to every call so a
/// stream writer can take the write lock per chunk instead of for its whole life.
pub(crate) struct ContentBuilder {
    pub id: i64,
    chunk_size: usize,
    compress: bool,
    max_size: u64,
    buf: Vec<u8>,
    seq: i64,
    size: u64,
    stored: u64,
    crc: crc32fast::Hasher,
    packed: Vec<u8>,
    encoder: snap::raw::Encoder,
}

/// A [`ContentBuilder`]'s state at a point (its partial chunk at most a chunk).
pub(crate) struct BuilderMark {
    seq: i64,
    size: u64,
    stored: u64,
    crc: crc32fast::Hasher,
    buf: Vec<u8>,
}

impl ContentBuilder {
    /// Starts a content. `state` is `STATE_LIVE` inside one transaction, or
    /// `STATE_WRITING` for a writer whose chunks are committed before it is.
    pub fn start(conn: &Connection, inner: &Store, compress: bool, state: i64) -> Result<ContentBuilder> {
        // Space freed by deletes is taken back before new chunks need it (a full disk).
        collect_unowned(conn, inner)?;
        let chunk_size = inner.opts.chunk_size;
        conn.prepare_cached(
            "INSERT INTO bdb_contents(size, crc32, chunk_size, chunk_count, stored_size, state, writer, row_crc)
             VALUES (0, 0, ?1, 0, 0, ?2, ?3, 0)",
        )?
        .execute(params![chunk_size as i64, state, inner.owner_id()])?;
        let id = conn.last_insert_rowid();
        let empty =
            ContentMeta { id, size: 0, crc32: 0, chunk_size: chunk_size as u64, chunk_count: 0, stored_size: 0 };
        seal(conn, &empty, state)?;
        Ok(ContentBuilder {
            id,
            chunk_size,
            compress,
            max_size: inner.opts.max_document_size,
            buf: Vec::new(),
            seq: 0,
            size: 0,
            stored: 0,
            crc: crc32fast::Hasher::new(),
            packed: Vec::new(),
            encoder: snap::raw::Encoder::new(),
        })
    }

    pub fn size(&self) -> u64 {
        self.size + self.buf.len() as u64
    }

    /// Where the content stands, for [`ContentBuilder::back_to`] when the
    /// transaction its next chunks go into fails.
    pub fn mark(&self) -> BuilderMark {
        BuilderMark {
            seq: self.seq,
            size: self.size,
            stored: self.stored,
            crc: self.crc.clone(),
            buf: self.buf.clone(),
        }
    }

    /// Back to `mark`: the chunks put since then were rolled back with their
    /// transaction, so the next ones take their place.
    pub fn back_to(&mut self, mark: BuilderMark) {
        (self.seq, self.size, self.stored, self.crc, self.buf) = (mark.seq, mark.size, mark.stored, mark.crc, mark.buf);
    }

    /// Takes more bytes; full chunks are written out through `conn`.
    pub fn write(&mut self, conn: &Connection, mut data: &[u8]) -> Result<()> {
        if self.size() + data.len() as u64 > self.max_size {
            return Err(Error::too_large(format!("document is over max_document_size ({} bytes)", self.max_size)));
        }
        while !data.is_empty() {
            if self.buf.is_empty() && data.len() >= self.chunk_size {
                // Whole chunks straight from the caller's bytes: no copy.
                let (chunk, rest) = data.split_at(self.chunk_size);
                self.put_chunk(conn, chunk)?;
                data = rest;
                continue;
            }
            if self.buf.capacity() < self.chunk_size {
                self.buf.reserve_exact(self.chunk_size - self.buf.len());
            }
            let take = (self.chunk_size - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buf.len() == self.chunk_size {
                let chunk = std::mem::take(&mut self.buf);
                self.put_chunk(conn, &chunk)?;
                self.buf = chunk;
                self.buf.clear();
            }
        }
        Ok(())
    }

    fn put_chunk(&mut self, conn: &Connection, raw: &[u8]) -> Result<()> {
        let crc = crc32fast::hash(raw);
        pack_blocks(raw, self.compress.then_some(&mut self.encoder), &mut self.packed)?;
        let stored = &self.packed;
        let (raw_len, stored_len) = (raw.len() as i64, stored.len() as i64);
        let row_crc = chunk_crc(self.id, self.seq, raw_len, crc as i64, CODEC_BLOCKS, stored_len).finish();
        conn.prepare_cached(
            "INSERT INTO bdb_chunks(content, seq, raw_len, crc32, codec, row_crc, data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![self.id, self.seq, raw_len, crc as i64, CODEC_BLOCKS, row_crc, stored])?;
        // The document's CRC from the chunk's: no second pass over the bytes.
        self.crc.combine(&crc32fast::Hasher::new_with_initial_len(crc, raw.len() as u64));
        self.seq += 1;
        self.size += raw.len() as u64;
        self.stored += stored.len() as u64;
        Ok(())
    }

    /// Writes the last partial chunk and marks the content live.
    pub fn finish(mut self, conn: &Connection) -> Result<ContentMeta> {
        if !self.buf.is_empty() {
            let chunk = std::mem::take(&mut self.buf);
            self.put_chunk(conn, &chunk)?;
        }
        let meta = ContentMeta {
            id: self.id,
            size: self.size,
            crc32: self.crc.clone().finalize(),
            chunk_size: self.chunk_size as u64,
            chunk_count: self.seq as u64,
            stored_size: self.stored,
        };
        let crc = content_crc(
            meta.id,
            meta.size as i64,
            meta.crc32 as i64,
            meta.chunk_size as i64,
            meta.chunk_count as i64,
            meta.stored_size as i64,
            STATE_LIVE,
        );
        conn.prepare_cached(
            "UPDATE bdb_contents SET size = ?2, crc32 = ?3, chunk_count = ?4, stored_size = ?5, state = 0, writer = NULL,
               row_crc = ?6
             WHERE id = ?1",
        )?
        .execute(params![
            meta.id,
            meta.size as i64,
            meta.crc32 as i64,
            meta.chunk_count as i64,
            meta.stored_size as i64,
            crc.finish()
        ])?;
        Ok(meta)
    }
}

/// Lays `raw` out as a [`CODEC_BLOCKS`] chunk in `out`: the block table, then each
/// block, compressed by `encoder` (when given) where that is shorter.
fn pack_blocks(raw: &[u8], mut encoder: Option<&mut snap::raw::Encoder>, out: &mut Vec<u8>) -> Result<()> {
    let n = raw.len().div_ceil(BLOCK);
    out.clear();
    out.resize(n * ENTRY, 0);
    for (i, block) in raw.chunks(BLOCK).enumerate() {
        let start = out.len();
        let mut len = block.len();
        if let Some(enc) = encoder.as_deref_mut() {
            out.resize(start + snap::raw::max_compress_len(block.len()), 0);
            let k = enc
                .compress(block, &mut out[start..])
                .map_err(|e| Error::new(crate::ErrorCode::Internal, format!("snappy: {e}")))?;
            len = if k < block.len() { k } else { block.len() };
            out.truncate(if k < block.len() { start + k } else { start });
        }
        if len == block.len() {
            out.extend_from_slice(block);
        }
        out[i * ENTRY..i * ENTRY + 4].copy_from_slice(&(len as u32).to_le_bytes());
        out[i * ENTRY + 4..(i + 1) * ENTRY].copy_from_slice(&crc32fast::hash(block).to_le_bytes());
    }
    Ok(())
}

/// The block table of a [`CODEC_BLOCKS`] chunk up to block `upto` (exclusive):
/// `(stored length, crc32)` per block, each length checked against its block's
/// raw size.
fn block_table(blob: &rusqlite::blob::Blob<'_>, c: &ChunkRef, upto: usize, table: &mut Vec<u8>) -> Result<()> {
    table.resize(upto * ENTRY, 0);
    blob.read_at_exact(table, 0)?;
    let raw_len = c.raw_len as usize;
    for (i, e) in table.chunks_exact(ENTRY).enumerate() {
        let len = u32::from_le_bytes(e[..4].try_into().unwrap()) as usize;
        if len == 0 || len > (raw_len - i * BLOCK).min(BLOCK) {
            return Err(Error::corrupt(format!("chunk {} block {i} has an impossible length", c.rowid)));
        }
    }
    Ok(())
}

fn entry(table: &[u8], i: usize) -> (usize, u32) {
    let e = &table[i * ENTRY..(i + 1) * ENTRY];
    (u32::from_le_bytes(e[..4].try_into().unwrap()) as usize, u32::from_le_bytes(e[4..].try_into().unwrap()))
}

/// Decodes blocks `first..` of a [`CODEC_BLOCKS`] chunk into `out` (their raw bytes,
/// exactly: `out.len()` says how many blocks), checking each block's CRC. `table`
/// holds the table up to the last block, read by [`block_table`].
fn decode_blocks(
    blob: &rusqlite::blob::Blob<'_>,
    c: &ChunkRef,
    table: &[u8],
    first: usize,
    out: &mut [u8],
    scratch: &mut Vec<u8>,
    verify: bool,
) -> Result<()> {
    let mut at = block_offset(c, table, first);
    for (k, raw) in out.chunks_mut(BLOCK).enumerate() {
        at += decode_block(blob, c, table, first + k, at, raw, scratch, verify)?;
    }
    Ok(())
}

/// Where block `i`'s stored bytes start in a [`CODEC_BLOCKS`] chunk (`table` holds
/// the entries before it).
fn block_offset(c: &ChunkRef, table: &[u8], i: usize) -> usize {
    let n = c.raw_len.div_ceil(BLOCK as u32) as usize;
    n * ENTRY + (0..i).map(|j| entry(table, j).0).sum::<usize>()
}

/// Decodes block `i` (stored at `at`) into `raw`, its raw size exactly, checking its
/// CRC; gives the block's stored length.
#[allow(clippy::too_many_arguments)]
fn decode_block(
    blob: &rusqlite::blob::Blob<'_>,
    c: &ChunkRef,
    table: &[u8],
    i: usize,
    at: usize,
    raw: &mut [u8],
    scratch: &mut Vec<u8>,
    verify: bool,
) -> Result<usize> {
    let (len, crc) = entry(table, i);
    if at + len > c.stored_len as usize {
        return Err(Error::corrupt(format!("chunk {} block {i} runs past the chunk", c.rowid)));
    }
    if len == raw.len() {
        blob.read_at_exact(raw, at)?;
    } else {
        scratch.resize(len, 0);
        blob.read_at_exact(scratch, at)?;
        let got = snap::raw::Decoder::new()
            .decompress(scratch, raw)
            .map_err(|e| Error::corrupt(format!("chunk {} block {i} does not decompress: {e}", c.rowid)))?;
        if got != raw.len() {
            return Err(Error::corrupt(format!("chunk {} block {i} decompresses to the wrong length", c.rowid)));
        }
    }
    if verify && crc32fast::hash(raw) != crc {
        return Err(Error::corrupt(format!("checksum mismatch in chunk {} block {i}", c.rowid)));
    }
    Ok(len)
}

/// Reads raw bytes `at..at + out.len()` of a [`CODEC_BLOCKS`] chunk (inside it, not
/// empty) with one blob open, decoding and checking every block under the range:
/// a block the range covers whole decodes straight into `out`; one it covers in part
/// (its first or last) decodes into `edge` (resized to the block) and the part is
/// copied. `edge` keeps the last such block: gives its start, `None` when there was
/// none (then `edge` is unchanged).
pub(crate) fn load_range(
    conn: &Connection,
    c: &ChunkRef,
    at: usize,
    out: &mut [u8],
    bufs: &mut BlockBufs,
    edge: &mut Vec<u8>,
    verify: bool,
) -> Result<Option<usize>> {
    let raw_len = c.raw_len as usize;
    let end = at + out.len();
    debug_assert!(c.codec == CODEC_BLOCKS && at < end && end <= raw_len);
    let blob = open_chunk(conn, c)?;
    let (first, last) = (at / BLOCK, (end - 1) / BLOCK);
    block_table(&blob, c, last + 1, &mut bufs.table)?;
    let table = &bufs.table;
    let mut stored_at = block_offset(c, table, first);
    let mut kept = None;
    for i in first..=last {
        let (start, stop) = (i * BLOCK, ((i + 1) * BLOCK).min(raw_len));
        let (lo, hi) = (start.max(at), stop.min(end));
        let dst = &mut out[lo - at..hi - at];
        if lo == start && hi == stop {
            stored_at += decode_block(&blob, c, table, i, stored_at, dst, &mut bufs.packed, verify)?;
        } else {
            edge.resize(stop - start, 0);
            stored_at += decode_block(&blob, c, table, i, stored_at, edge, &mut bufs.packed, verify)?;
            dst.copy_from_slice(&edge[lo - start..hi - start]);
            kept = Some(start);
        }
    }
    Ok(kept)
}

/// Opens a chunk's bytes for incremental reading, checking their stored length.
fn open_chunk<'c>(conn: &'c Connection, c: &ChunkRef) -> Result<rusqlite::blob::Blob<'c>> {
    let blob = conn.blob_open(rusqlite::MAIN_DB, "bdb_chunks", "data", c.rowid, true);
    let blob = match blob {
        Ok(b) => b,
        // No such row, or `data` is not a blob. A reader that pinned the content
        // across snapshots tells a removal (CONFLICT) from this with `still_live`.
        Err(rusqlite::Error::SqliteFailure(f, m)) if f.code == rusqlite::ffi::ErrorCode::Unknown => {
            return Err(Error::corrupt(format!(
                "chunk row {} cannot be read ({})",
                c.rowid,
                m.as_deref().unwrap_or("no such row")
            )))
        }
        Err(e) => return Err(e.into()),
    };
    if blob.len() != c.stored_len as usize {
        return Err(Error::corrupt(format!("chunk {} has {} bytes, expected {}", c.rowid, blob.len(), c.stored_len)));
    }
    Ok(blob)
}

/// Reads raw bytes `from..from + out.len()` of a [`CODEC_BLOCKS`] chunk, decoding
/// and checking whole blocks only: `out` must start and end on block boundaries
/// (or at the chunk's end). `Ok(false)` when the chunk has another codec (the caller
/// reads it whole with [`load_chunk`]).
pub(crate) fn load_blocks(
    conn: &Connection,
    c: &ChunkRef,
    from: usize,
    out: &mut [u8],
    bufs: &mut BlockBufs,
    verify: bool,
) -> Result<bool> {
    if c.codec != CODEC_BLOCKS {
        return Ok(false);
    }
    debug_assert!(from % BLOCK == 0 && from + out.len() <= c.raw_len as usize);
    let blob = open_chunk(conn, c)?;
    let first = from / BLOCK;
    let end = (from + out.len()).div_ceil(BLOCK);
    block_table(&blob, c, end, &mut bufs.table)?;
    decode_blocks(&blob, c, &bufs.table, first, out, &mut bufs.packed, verify)?;
    Ok(true)
}

/// Reusable buffers of a chunk read: the block table and compressed bytes.
#[derive(Default)]
pub(crate) struct BlockBufs {
    table: Vec<u8>,
    packed: Vec<u8>,
}

impl BlockBufs {
    /// Bytes held.
    pub(crate) fn capacity(&self) -> usize {
        self.table.capacity() + self.packed.capacity()
    }
}

/// Builds a whole content from a reader inside the caller's transaction.
pub(crate) fn write_all(
    conn: &Connection,
    inner: &Store,
    compress: bool,
    mut reader: impl std::io::Read,
) -> Result<ContentMeta> {
    let mut b = ContentBuilder::start(conn, inner, compress, STATE_LIVE)?;
    let mut buf = vec![0u8; inner.opts.chunk_size];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        b.write(conn, &buf[..n])?;
    }
    b.finish(conn)
}

pub(crate) fn write_bytes(conn: &Connection, inner: &Store, compress: bool, data: &[u8]) -> Result<ContentMeta> {
    let mut b = ContentBuilder::start(conn, inner, compress, STATE_LIVE)?;
    b.write(conn, data)?;
    b.finish(conn)
}

/// Marks a content nobody owns any more. It is deleted by a later write's
/// [`collect_unowned`], never in the transaction that released it: a reader that
/// pins it before that sweep keeps it, and one that pins it later sees it marked
/// (in a snapshot taken after the pin) and looks up the newest version again.
pub(crate) fn release(conn: &Connection, id: i64) -> Result<()> {
    // The row is going away: seal what it holds, even when damaged.
    let row = conn
        .prepare_cached("SELECT size, crc32, chunk_size, chunk_count, stored_size FROM bdb_contents WHERE id = ?1")?
        .query_row([id], |r| Ok([r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]))
        .optional();
    let crc = match row {
        Ok(Some([size, crc32, chunk_size, chunk_count, stored_size])) => {
            content_crc(id, size, crc32, chunk_size, chunk_count, stored_size, STATE_UNOWNED).finish()
        }
        Ok(None) => return Ok(()),
        Err(_) => 0, // values of the wrong type: collected all the same
    };
    conn.prepare_cached("UPDATE bdb_contents SET state = 2, row_crc = ?2 WHERE id = ?1")?.execute(params![id, crc])?;
    Ok(())
}

/// Whether content `id` is live now, for a reader that failed: a content no longer
/// live was removed by a writer (`CONFLICT`), a live one is damaged (`CORRUPT`).
pub(crate) fn still_live(conn: &Connection, id: i64) -> bool {
    matches!(meta_any(conn, id), Ok(Some((_, STATE_LIVE))) | Err(_))
}

/// Deletes a content that was never published (an aborted stream writer).
pub(crate) fn discard(conn: &Connection, id: i64) -> Result<()> {
    delete(conn, id)
}

fn delete(conn: &Connection, id: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM bdb_chunks WHERE content = ?1")?.execute([id])?;
    conn.prepare_cached("DELETE FROM bdb_contents WHERE id = ?1")?.execute([id])?;
    Ok(())
}

/// The unowned contents. `state != 0` is the partial index's own condition: SQLite
/// uses a partial index only for a query that repeats it (`state = 2` alone scanned
/// every content on every write: the 100,000th tiny stream took 3.6 ms to write).
const UNOWNED: &str = "SELECT id FROM bdb_contents WHERE state != 0 AND state = 2";

/// Collects unowned contents that nobody in this process reads any more. Write
/// paths call it before they release anything in the same transaction.
pub(crate) fn collect_unowned(conn: &Connection, inner: &Store) -> Result<()> {
    let ids: Vec<i64> = conn
        .prepare_cached(UNOWNED)?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in ids {
        if !inner.is_pinned(id) {
            delete(conn, id)?;
        }
    }
    Ok(())
}

/// At open: drops contents left by stream writers whose owner is gone (a crash
/// mid-write; see [`crate::storage::owner`]) and unowned contents (their readers went with
/// their process).
pub(crate) fn collect_abandoned(conn: &Connection, owner: &OwnerLock) -> Result<()> {
    let rows: Vec<(i64, i64, Option<i64>)> = conn
        .prepare("SELECT id, state, writer FROM bdb_contents WHERE state != 0")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    if rows.is_empty() {
        return Ok(());
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| {
        for (id, state, writer) in rows {
            let abandoned = match (state, writer) {
                (STATE_UNOWNED, _) => true,
                (STATE_WRITING, Some(w)) => !owner.is_alive(w),
                _ => false,
            };
            // Only on a record whose checksum holds: a flipped state bit must not
            // delete a live content's chunks (check reports the damage instead).
            let confirmed = abandoned && matches!(meta_any(conn, id), Ok(Some((_, st))) if st == state);
            if confirmed {
                delete(conn, id)?;
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => conn.execute_batch("COMMIT")?,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    Ok(())
}

/// One chunk's row, as a reader needs it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChunkRef {
    pub rowid: i64,
    pub raw_len: u32,
    pub crc32: u32,
    pub codec: i64,
    pub stored_len: u32,
}

/// Every chunk of a content, in order.
pub(crate) fn chunk_refs(conn: &Connection, content: i64) -> Result<Vec<ChunkRef>> {
    chunk_refs_from(conn, content, 0, None)
}

/// Chunks `from..` of a content (at most `limit`), in order, each row checked to
/// be the chunk at its position.
pub(crate) fn chunk_refs_from(
    conn: &Connection,
    content: i64,
    from: u64,
    limit: Option<usize>,
) -> Result<Vec<ChunkRef>> {
    // A bound on `seq`, not `LIMIT ?`: SQLite re-prepares a statement with `LIMIT ?`
    // at every run (see kv::walk).
    let to = limit.map_or(i64::MAX, |l| (from as i64).saturating_add(l as i64));
    let mut stmt = conn.prepare_cached(
        "SELECT id, raw_len, crc32, codec, length(data), row_crc FROM bdb_chunks
         WHERE content = ?1 AND seq >= ?2 AND seq < ?3 ORDER BY seq",
    )?;
    let mut rows = stmt.query(params![content, from as i64, to])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let seq = from as i64 + out.len() as i64;
        out.push(chunk_ref_from(content, seq, [r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?], r.get(5)?)?);
    }
    Ok(out)
}

/// A chunk row's values (id, raw_len, crc32, codec, length(data)), checked against its
/// record checksum as chunk `seq` of `content`.
pub(crate) fn chunk_ref_from(content: i64, seq: i64, v: [i64; 5], row_crc: i64) -> Result<ChunkRef> {
    let [rowid, raw_len, crc32, codec, stored_len] = v;
    chunk_crc(content, seq, raw_len, crc32, codec, stored_len)
        .verify(row_crc, || format!("content {content}, chunk {seq} (row {rowid})"))?;
    let in_range = |v: i64| (0..=u32::MAX as i64).contains(&v);
    if !in_range(raw_len) || !in_range(crc32) || !in_range(stored_len) {
        return Err(Error::corrupt(format!("content {content}, chunk {seq}: impossible lengths")));
    }
    Ok(ChunkRef { rowid, raw_len: raw_len as u32, crc32: crc32 as u32, codec, stored_len: stored_len as u32 })
}

/// Reads one chunk's raw bytes into `out` (exactly `raw_len` bytes), decompressing
/// and checking the CRC of the raw bytes. `scratch` holds compressed bytes.
pub(crate) fn load_chunk(
    conn: &Connection,
    c: &ChunkRef,
    out: &mut [u8],
    bufs: &mut BlockBufs,
    verify: bool,
) -> Result<()> {
    debug_assert_eq!(out.len(), c.raw_len as usize);
    let blob = open_chunk(conn, c)?;
    match c.codec {
        CODEC_BLOCKS => {
            // Each block is checked against its own CRC while it is in the cache.
            let n = out.len().div_ceil(BLOCK);
            block_table(&blob, c, n, &mut bufs.table)?;
            let stored: usize = (0..n).map(|i| entry(&bufs.table, i).0).sum();
            if n * ENTRY + stored != c.stored_len as usize {
                return Err(Error::corrupt(format!("chunk {}: its blocks do not fill it", c.rowid)));
            }
            return decode_blocks(&blob, c, &bufs.table, 0, out, &mut bufs.packed, verify);
        }
        CODEC_RAW => {
            if c.stored_len != c.raw_len {
                return Err(Error::corrupt(format!("raw chunk {} has the wrong length", c.rowid)));
            }
            blob.read_at_exact(out, 0)?;
        }
        CODEC_SNAPPY => {
            let scratch = &mut bufs.packed;
            scratch.resize(c.stored_len as usize, 0);
            blob.read_at_exact(scratch, 0)?;
            let n = snap::raw::Decoder::new()
                .decompress(scratch, out)
                .map_err(|e| Error::corrupt(format!("chunk {} does not decompress: {e}", c.rowid)))?;
            if n != out.len() {
                return Err(Error::corrupt(format!("chunk {} decompresses to the wrong length", c.rowid)));
            }
        }
        other => return Err(Error::corrupt(format!("chunk {} has unknown codec {other}", c.rowid))),
    }
    if verify && crc32fast::hash(out) != c.crc32 {
        return Err(Error::corrupt(format!("checksum mismatch in chunk {}", c.rowid)));
    }
    Ok(())
}

/// Reads a whole content on one connection (one snapshot), checking every chunk
/// and the whole document's CRC (unless `verify_checksums` is off).
pub(crate) fn read_content(conn: &Connection, inner: &Store, meta: &ContentMeta, what: &str) -> Result<Vec<u8>> {
    let size = usize::try_from(meta.size).map_err(|_| Error::too_large(format!("{what} is too large for memory")))?;
    let verify = inner.opts.verify_checksums;
    let context = |e: Error| Error::new(e.code(), format!("{what}: {}", e.message()));
    let chunks = chunk_refs(conn, meta.id).map_err(context)?;
    if chunks.len() as u64 != meta.chunk_count {
        return Err(Error::corrupt(format!("{what}: {} chunks stored, {} expected", chunks.len(), meta.chunk_count)));
    }
    let mut out = vec![0u8; size];
    let mut scratch = BlockBufs::default();
    let mut at = 0usize;
    let mut doc = crc32fast::Hasher::new();
    for c in chunks {
        let end = at + c.raw_len as usize;
        if end > out.len() {
            return Err(Error::corrupt(format!("{what}: chunks add up to more than its size")));
        }
        load_chunk(conn, &c, &mut out[at..end], &mut scratch, verify).map_err(context)?;
        // The chunk's CRC was checked against its bytes: combining them gives the document's.
        doc.combine(&crc32fast::Hasher::new_with_initial_len(c.crc32, c.raw_len as u64));
        at = end;
    }
    if at != out.len() {
        return Err(Error::corrupt(format!("{what}: chunks add up to less than its size")));
    }
    if verify && doc.finalize() != meta.crc32 {
        return Err(Error::corrupt(format!("{what}: whole-document checksum mismatch")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    /// Every write looks for unowned contents: through the index, never by reading
    /// every content.
    #[test]
    fn finding_unowned_contents_uses_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::Db::open(dir.path().join("u.db"), crate::OpenOptions::default()).unwrap();
        let plan: Vec<String> = db
            .inner
            .write_kv(&[], |conn| {
                let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", super::UNOWNED))?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(3))?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .unwrap();
        assert_eq!(plan, ["SEARCH bdb_contents USING COVERING INDEX bdb_contents_state (state=?)"], "{plan:?}");
    }
}
