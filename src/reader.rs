//! `Reader`: reads a blob or one stream version chunk by chunk.
//!
//! A reader holds no SQLite transaction between calls (a game may keep one open
//! for hours, and a long read transaction stops WAL checkpoints). It never mixes
//! versions: it reads the chunk rows of one content, which never change, and the
//! content is pinned so this process does not collect it while it is read.

use std::cell::Cell;
use std::io::{self, SeekFrom};

use crate::error::{Error, ErrorCode, Result};
use crate::storage::content::{self, BlockBufs, ChunkRef, ContentMeta, BLOCK};
use crate::storage::Via;
use crate::stream::info::StreamInfo;


thread_local! {
    /// The buffers of the last reader closed on this thread, for the next one opened
    /// here: a game opens a reader per file, and allocating and zeroing a block
    /// buffer each time cost ~10,000 instructions per 64 KiB range read. Their bytes
    /// are stale; every use decodes over them before reading them.
    static SPARE: Cell<Option<(Vec<u8>, BlockBufs)>> = const { Cell::new(None) };
}

/// The most buffer bytes kept in [`SPARE`].
const SPARE_MAX: usize = 256 << 10;

pub struct Reader {
    via: Via,
    what: String,
    content: ContentMeta,
    chunks: Vec<ChunkRef>,
    info: Option<StreamInfo>,
    pos: u64,
    /// Decoded bytes `buf_from..` of chunk `buf_seq`, kept for small reads.
    buf: Vec<u8>,
    buf_seq: Option<usize>,
    buf_from: usize,
    bufs: BlockBufs,
    /// The CRCs of chunks `0..doc_next` combined: when every chunk has been read in
    /// order, it must be the document's CRC. `doc_at`: how much of chunk `doc_next`
    /// has been checked, from its start.
    doc: crc32fast::Hasher,
    doc_next: usize,
    doc_at: usize,
    /// Where the last read call ended: a call that starts there is part of a
    /// sequential pass, and its small reads decode a window ahead.
    last_end: Option<u64>,
    streaming: bool,
    closed: bool,
}

impl Reader {
    /// Chunk rows looked up when a reader opens; later batches double up to 4096.
    pub(crate) const FIRST_BATCH: usize = 8;

    /// Opens content `content_id`; `what` names the blob or stream in errors, and
    /// `owned` tells whether its owner (blob or version row) still holds it.
    /// `CONFLICT` when the owner let it go before it could be pinned; `CORRUPT`
    /// when the owner holds it but it is missing or damaged.
    pub(crate) fn open(
        via: Via,
        what: String,
        content_id: i64,
        info: Option<StreamInfo>,
        owned: impl FnOnce(&rusqlite::Connection) -> Result<bool>,
    ) -> Result<Reader> {
        let inner = via.inner();
        inner.pin(content_id);
        // Chunk rows are looked up lazily, a batch at a time: opening a huge
        // document touches no more pages than its first chunks.
        let loaded = via.core().snapshot(|c| {
            if !owned(c)? {
                return Ok(None);
            }
            let meta = content::meta(c, content_id)?
                .ok_or_else(|| Error::corrupt(format!("{what}: its content {content_id} is missing")))?;
            let chunks = content::chunk_refs_from(c, content_id, 0, Some(Self::FIRST_BATCH))?;
            Ok(Some((meta, chunks)))
        });
        let (meta, chunks) = match loaded {
            Ok(Some(found)) => found,
            Ok(None) => {
                inner.unpin(content_id);
                return Err(Error::new(ErrorCode::Conflict, format!("{what} was replaced while being opened")));
            }
            Err(e) => {
                inner.unpin(content_id);
                return Err(Error::new(e.code(), format!("{what}: {}", e.message())));
            }
        };
        Reader::pinned(via, what, meta, chunks, info)
    }

    /// A reader over a live content and its first chunk rows, read in one snapshot
    /// before the content was pinned (`stream::locate`). `CONFLICT` when this handle
    /// collected the content meanwhile.
    pub(crate) fn open_located(
        via: Via,
        what: String,
        meta: ContentMeta,
        chunks: Vec<ChunkRef>,
        info: Option<StreamInfo>,
    ) -> Result<Reader> {
        let inner = via.inner();
        inner.pin(meta.id);
        // Only this handle's own writes collect what it pins (`collect_unowned`): one
        // that decided before the pin shows in a read after it. A read-only handle
        // collects nothing, so its pin needs no second look.
        if !inner.opts.read_only {
            let id = meta.id;
            match via.core().read(|c| content::meta(c, id)) {
                Ok(Some(_)) => {}
                Ok(None) => {
                    inner.unpin(id);
                    return Err(Error::new(ErrorCode::Conflict, format!("{what} was replaced while being opened")));
                }
                Err(e) => {
                    inner.unpin(id);
                    return Err(Error::new(e.code(), format!("{what}: {}", e.message())));
                }
            }
        }
        Reader::pinned(via, what, meta, chunks, info)
    }

    /// The reader over a pinned content (unpinned again when it fails its checks).
    fn pinned(via: Via, what: String, meta: ContentMeta, chunks: Vec<ChunkRef>, info: Option<StreamInfo>) -> Result<Reader> {
        let (buf, bufs) = SPARE.try_with(Cell::take).ok().flatten().unwrap_or_default();
        let mut r = Reader {
            via,
            what,
            content: meta,
            chunks,
            info,
            pos: 0,
            buf,
            buf_seq: None,
            buf_from: 0,
            bufs,
            doc: crc32fast::Hasher::new(),
            doc_next: 0,
            doc_at: 0,
            last_end: None,
            streaming: false,
            closed: false,
        };
        if let Err(e) = r.validate(0) {
            r.close();
            return Err(e);
        }
        Ok(r)
    }

    /// Checks chunks `from..` of those loaded against the content's recorded shape.
    fn validate(&self, from: usize) -> Result<()> {
        let (size, chunk_size, count) = (self.content.size, self.content.chunk_size, self.content.chunk_count);
        let loaded = self.chunks.len() as u64;
        let expected_loaded = if from == 0 { count.min(Self::FIRST_BATCH as u64) } else { loaded };
        if loaded != expected_loaded || loaded > count {
            return Err(Error::corrupt(format!("{}: chunks are missing", self.what)));
        }
        if count == 0 && self.content.crc32 != 0 {
            return Err(Error::corrupt(format!("{}: an empty document with a checksum", self.what)));
        }
        for (seq, c) in self.chunks.iter().enumerate().skip(from) {
            let seq = seq as u64;
            let expect =
                if seq + 1 < count { chunk_size } else { size.checked_sub(seq * chunk_size).unwrap_or(u64::MAX) };
            if c.raw_len as u64 != expect {
                return Err(Error::corrupt(format!("{}: chunk {seq} has the wrong length", self.what)));
            }
        }
        Ok(())
    }

    /// The chunk at `seq`, looking up a further batch of chunk rows when needed.
    fn chunk(&mut self, seq: usize) -> Result<ChunkRef> {
        while seq >= self.chunks.len() {
            if self.chunks.len() as u64 >= self.content.chunk_count {
                return Err(Error::corrupt(format!("{} is missing chunk {seq}", self.what)));
            }
            let from = self.chunks.len();
            let batch = (from * 2).clamp(Self::FIRST_BATCH, 4096);
            let (id, what) = (self.content.id, &self.what);
            let more = self.via.core().read(|c| content::chunk_refs_from(c, id, from as u64, Some(batch)));
            let more = match more {
                Ok(more) if more.is_empty() => Err(Error::corrupt(format!("{what} is missing chunk {from}"))),
                other => other,
            };
            let more = more.map_err(|e| self.failed(e))?;
            self.chunks.extend(more);
            self.validate(from).map_err(|e| self.failed(e))?;
        }
        Ok(self.chunks[seq])
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.content.size
    }

    /// The current position.
    pub fn tell(&self) -> u64 {
        self.pos
    }

    /// CRC32 of the whole document's bytes.
    pub fn crc32(&self) -> u32 {
        self.content.crc32
    }

    /// Number of chunks.
    pub fn chunk_count(&self) -> u64 {
        self.content.chunk_count
    }

    /// The stream version being read (`None` for a blob).
    pub fn info(&self) -> Option<&StreamInfo> {
        self.info.as_ref()
    }

    /// Moves to `pos`; past the end is allowed (reads then give 0 bytes).
    pub fn seek_to(&mut self, pos: u64) -> Result<u64> {
        self.check()?;
        self.pos = pos;
        Ok(pos)
    }

    /// Fills as much of `buf` as it can from the current position; 0 means the end.
    pub fn read_into(&mut self, buf: &mut [u8]) -> Result<usize> {
        self.check()?;
        self.streaming = self.last_end == Some(self.pos);
        let mut done = 0;
        while done < buf.len() && self.pos < self.content.size {
            let n = self.read_once(&mut buf[done..])?;
            self.pos += n as u64;
            done += n;
        }
        self.last_end = Some(self.pos);
        Ok(done)
    }

    /// Reads at `offset` without moving the position.
    pub fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let saved = self.pos;
        self.pos = offset;
        let out = self.read_into(buf);
        self.pos = saved;
        out
    }

    /// Reads up to `n` bytes into a new vector (fewer at the end).
    pub fn read_to_vec(&mut self, n: usize) -> Result<Vec<u8>> {
        self.check()?;
        let left = self.content.size.saturating_sub(self.pos);
        let n = (n as u64).min(left) as usize;
        let mut v = vec![0u8; n];
        let got = self.read_into(&mut v)?;
        v.truncate(got);
        Ok(v)
    }

    /// The rest of the chunk at the current position, then the next ones: chunk
    /// iteration without copies beyond the decode. `None` at the end.
    pub fn next_chunk(&mut self) -> Result<Option<&[u8]>> {
        self.check()?;
        if self.pos >= self.content.size {
            return Ok(None);
        }
        let seq = (self.pos / self.content.chunk_size) as usize;
        let within = (self.pos % self.content.chunk_size) as usize;
        self.fill(seq)?;
        let len = self.buf.len() - within;
        self.pos += len as u64;
        Ok(Some(&self.buf[within..]))
    }

    /// Releases the reader. Idempotent; afterwards reads give `CLOSED`.
    pub fn close(&mut self) {
        if !self.closed {
            self.closed = true;
            self.via.inner().unpin(self.content.id);
            self.buf_seq = None;
            let (buf, bufs) = (std::mem::take(&mut self.buf), std::mem::take(&mut self.bufs));
            if buf.capacity() + bufs.capacity() <= SPARE_MAX {
                let _ = SPARE.try_with(|s| s.set(Some((buf, bufs))));
            }
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    fn check(&self) -> Result<()> {
        if self.closed {
            return Err(Error::new(ErrorCode::Closed, format!("the reader of {} is closed", self.what)));
        }
        self.via.core().check_open()
    }

    /// One step: copies from the chunk under the position. A read that takes the
    /// whole chunk decodes it straight into the caller's buffer. In a chunk in blocks
    /// only the blocks under the read are decoded (and checked), in one blob open:
    /// those it covers whole straight into the caller's buffer, one it covers in part
    /// into the reader's buffer (kept, for a read that goes on from there); small
    /// reads in a sequential pass decode at least [`Reader::WINDOW`] bytes into the
    /// reader's buffer instead, for the small reads that follow.
    fn read_once(&mut self, out: &mut [u8]) -> Result<usize> {
        let seq = (self.pos / self.content.chunk_size) as usize;
        let within = (self.pos % self.content.chunk_size) as usize;
        if self.buf_seq == Some(seq) && within >= self.buf_from && within < self.buf_from + self.buf.len() {
            let at = within - self.buf_from;
            let n = (self.buf.len() - at).min(out.len());
            out[..n].copy_from_slice(&self.buf[at..at + n]);
            return Ok(n);
        }
        let c = self.chunk(seq)?;
        let raw_len = c.raw_len as usize;
        let verify = self.via.inner().opts.verify_checksums;
        if within == 0 && out.len() >= raw_len {
            let bufs = &mut self.bufs;
            self.via
                .core()
                .read(|conn| content::load_chunk(conn, &c, &mut out[..raw_len], bufs, verify))
                .map_err(|e| self.failed(e))?;
            self.checked(seq, &c, 0, raw_len)?;
            return Ok(raw_len);
        }
        if c.codec != content::CODEC_BLOCKS {
            self.fill(seq)?;
            let n = (self.buf.len() - within).min(out.len());
            out[..n].copy_from_slice(&self.buf[within..within + n]);
            return Ok(n);
        }
        let end = (within + out.len()).min(raw_len);
        let from = within - within % BLOCK;
        let blocks_end = (end.div_ceil(BLOCK) * BLOCK).min(raw_len);
        if !self.streaming || end - within >= Self::WINDOW {
            // Straight into the caller's buffer, one blob open: only a block the read
            // covers in part is decoded into the reader's buffer (and kept there, for
            // a read that goes on from it).
            self.buf_seq = None;
            let (bufs, buf) = (&mut self.bufs, &mut self.buf);
            let kept = self
                .via
                .core()
                .read(|conn| content::load_range(conn, &c, within, &mut out[..end - within], bufs, buf, verify))
                .map_err(|e| self.failed(e))?;
            if let Some(start) = kept {
                (self.buf_seq, self.buf_from) = (Some(seq), start);
            }
            self.checked(seq, &c, from, blocks_end)?;
            return Ok(end - within);
        }
        let want = out.len().max(Self::WINDOW);
        let end = (within + want).min(raw_len);
        let end = (end.div_ceil(BLOCK) * BLOCK).min(raw_len);
        self.buf_seq = None;
        self.load_blocks(&c, from, end - from)?;
        (self.buf_seq, self.buf_from) = (Some(seq), from);
        self.checked(seq, &c, from, end)?;
        let at = within - from;
        let n = (self.buf.len() - at).min(out.len());
        out[..n].copy_from_slice(&self.buf[at..at + n]);
        Ok(n)
    }

    /// Bytes a small read decodes at least (whole blocks): sequential small reads
    /// then cost one chunk lookup per window, not per read.
    pub(crate) const WINDOW: usize = 64 << 10;

    /// Decodes blocks of chunk `c` from raw offset `from` (a block start), `n` bytes,
    /// into the reader's buffer.
    fn load_blocks(&mut self, c: &ChunkRef, from: usize, n: usize) -> Result<()> {
        let verify = self.via.inner().opts.verify_checksums;
        let (bufs, buf) = (&mut self.bufs, &mut self.buf);
        buf.resize(n, 0);
        self.via
            .core()
            .read(|conn| content::load_blocks(conn, c, from, buf, bufs, verify).map(|_| ()))
            .map_err(|e| self.failed(e))
    }

    fn fill(&mut self, seq: usize) -> Result<()> {
        if self.buf_seq == Some(seq) && self.buf_from == 0 && self.buf.len() == self.chunks[seq].raw_len as usize {
            return Ok(());
        }
        let c = self.chunk(seq)?;
        self.buf_seq = None;
        self.buf.resize(c.raw_len as usize, 0);
        let verify = self.via.inner().opts.verify_checksums;
        let (buf, bufs) = (&mut self.buf, &mut self.bufs);
        self.via.core().read(|conn| content::load_chunk(conn, &c, buf, bufs, verify)).map_err(|e| self.failed(e))?;
        (self.buf_seq, self.buf_from) = (Some(seq), 0);
        self.checked(seq, &c, 0, c.raw_len as usize)
    }

    /// After bytes `from..end` of chunk `seq` were read and checked: once every
    /// chunk has been read in order, the combined chunk CRCs must be the document's.
    fn checked(&mut self, seq: usize, c: &ChunkRef, from: usize, end: usize) -> Result<()> {
        if seq != self.doc_next || from > self.doc_at || !self.via.inner().opts.verify_checksums {
            return Ok(());
        }
        self.doc_at = self.doc_at.max(end);
        if self.doc_at < c.raw_len as usize {
            return Ok(());
        }
        self.doc.combine(&crc32fast::Hasher::new_with_initial_len(c.crc32, c.raw_len as u64));
        (self.doc_next, self.doc_at) = (self.doc_next + 1, 0);
        if self.doc_next as u64 == self.content.chunk_count && self.doc.clone().finalize() != self.content.crc32 {
            return Err(Error::corrupt(format!("{}: whole-document checksum mismatch", self.what)));
        }
        Ok(())
    }

    /// A chunk could not be read: `CONFLICT` when another process removed the
    /// content meanwhile (it is no longer live), else the error (damage).
    fn failed(&self, e: Error) -> Error {
        let id = self.content.id;
        let live =
            e.code() != ErrorCode::Corrupt || self.via.core().read(|c| Ok(content::still_live(c, id))).unwrap_or(true);
        if live {
            Error::new(e.code(), format!("{}: {}", self.what, e.message()))
        } else {
            Error::new(ErrorCode::Conflict, format!("{} was removed while being read", self.what))
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.close();
    }
}

impl io::Read for Reader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.read_into(buf)?)
    }
}

impl io::Seek for Reader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.content.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match target {
            Some(p) => Ok(self.seek_to(p)?),
            None => Err(Error::invalid("seek to a negative or overflowing position").into()),
        }
    }
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("what", &self.what)
            .field("size", &self.content.size)
            .field("pos", &self.pos)
            .finish()
    }
}
