//! Path streams, readers, writers and prefix search.

use std::ffi::{c_char, CString};

use super::kv::opt_limit;
use super::*;
use crate::{Reader, StreamInfo, StreamWriter};

/// Facts about one version of a stream. The path is the one the caller passed.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct buffdb_stream_info {
    /// Version number, from 1, growing with every write of the path.
    pub version: u64,
    /// Size in bytes.
    pub size: u64,
    /// IEEE CRC-32 of the whole document's raw bytes.
    pub crc32: u32,
    pub chunk_count: u64,
    pub chunk_size: u64,
    /// Bytes stored after compression.
    pub stored_size: u64,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
}

impl From<&StreamInfo> for buffdb_stream_info {
    fn from(i: &StreamInfo) -> Self {
        buffdb_stream_info {
            version: i.version,
            size: i.size,
            crc32: i.crc32,
            chunk_count: i.chunk_count,
            chunk_size: i.chunk_size,
            stored_size: i.stored_size,
            created_ms: i.created_ms,
        }
    }
}

/// A reader over one stream version or one blob, opened with buffdb_stream_open or
/// buffdb_blob_open. It fetches chunk by chunk (it holds no long read transaction, so it
/// may stay open for hours) and never mixes two versions. Single-threaded: it may move
/// to another thread but must not be used by two at once. Free with buffdb_reader_free.
pub struct buffdb_reader {
    pub(crate) r: Reader,
}

/// A stream writer from buffdb_stream_writer: nothing is visible until
/// buffdb_writer_commit. Single-threaded (movable between threads). Free with
/// buffdb_writer_free, which aborts it if it was neither committed nor aborted.
pub struct buffdb_writer {
    w: Option<StreamWriter>,
}

/// A lazy cursor over stream paths in byte order (buffdb_search). Single-threaded
/// (movable between threads). Free with buffdb_search_cursor_free.
pub struct buffdb_search_cursor {
    items: Box<dyn Iterator<Item = Result<String>> + Send>,
    current: Option<CString>,
}

fn writer_finished() -> Error {
    Error::new(ErrorCode::Closed, "the writer was already committed or aborted")
}

/// Writes `data` as a new version of the stream at `path` (UTF-8, NUL-terminated) in one
/// call. `*info` (may be NULL) receives the new version's facts.
#[no_mangle]
pub unsafe extern "C" fn buffdb_stream_write(
    db: *const buffdb_db,
    path: *const c_char,
    data: *const u8,
    data_len: usize,
    info: *mut buffdb_stream_info,
) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let path = string(path, "path")?;
        let data = bytes(data, data_len, "data")?;
        let i = d.db.stream_write(path, data)?;
        Out::opt(info).set((&i).into());
        Ok(())
    })
}

/// Starts writing a new version of the stream at `path` with the database's compression
/// setting. Free the writer with buffdb_writer_free.
#[no_mangle]
pub unsafe extern "C" fn buffdb_stream_writer(
    db: *const buffdb_db,
    path: *const c_char,
    out: *mut *mut buffdb_writer,
) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let path = string(path, "path")?;
        let out = Out::new(out, "out")?;
        let w = d.db.stream_writer(path)?;
        new_handle(&out, buffdb_writer { w: Some(w) });
        Ok(())
    })
}

/// Like buffdb_stream_writer, with compression on or off for this write only.
#[no_mangle]
pub unsafe extern "C" fn buffdb_stream_writer_compressed(
    db: *const buffdb_db,
    path: *const c_char,
    compression: bool,
    out: *mut *mut buffdb_writer,
) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let path = string(path, "path")?;
        let out = Out::new(out, "out")?;
        let w = d.db.stream_writer_with(path, Some(compression))?;
        new_handle(&out, buffdb_writer { w: Some(w) });
        Ok(())
    })
}

/// Appends `data` to the writer. After commit or abort: BUFFDB_CLOSED.
#[no_mangle]
pub unsafe extern "C" fn buffdb_writer_write(
    writer: *mut buffdb_writer,
    data: *const u8,
    data_len: usize,
) -> buffdb_status {
    ffi(|| {
        let w = handle_mut(writer, "writer")?;
        let data = bytes(data, data_len, "data")?;
        w.w.as_mut().ok_or_else(writer_finished)?.write(data)
    })
}

/// How many bytes were written so far.
#[no_mangle]
pub unsafe extern "C" fn buffdb_writer_written(writer: *const buffdb_writer, out: *mut u64) -> buffdb_status {
    ffi(|| {
        let w = handle(writer, "writer")?;
        let out = Out::new(out, "out")?;
        out.set(w.w.as_ref().ok_or_else(writer_finished)?.written());
        Ok(())
    })
}

/// Commits the writer: the new version becomes visible atomically. `*info` (may be NULL)
/// receives its facts. The writer is finished either way (later calls: BUFFDB_CLOSED);
/// the handle must still be freed with buffdb_writer_free.
#[no_mangle]
pub unsafe extern "C" fn buffdb_writer_commit(
    writer: *mut buffdb_writer,
    info: *mut buffdb_stream_info,
) -> buffdb_status {
    ffi(|| {
        let w = handle_mut(writer, "writer")?;
        let i = w.w.take().ok_or_else(writer_finished)?.commit()?;
        Out::opt(info).set((&i).into());
        Ok(())
    })
}

/// Abandons the writer: nothing it wrote becomes visible. The handle must still be freed.
#[no_mangle]
pub unsafe extern "C" fn buffdb_writer_abort(writer: *mut buffdb_writer) -> buffdb_status {
    ffi(|| {
        let w = handle_mut(writer, "writer")?;
        w.w.take().ok_or_else(writer_finished)?.abort()
    })
}

/// Frees a writer, aborting it if it was neither committed nor aborted. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn buffdb_writer_free(writer: *mut buffdb_writer) {
    free_handle(writer)
}

/// Reads the latest version of the stream at `path` into the caller's buffer (see
/// buffdb_get for the buffer rules; buffdb_stream_stat gives the size beforehand).
/// A missing stream gives BUFFDB_NOT_FOUND.
#[no_mangle]
pub unsafe extern "C" fn buffdb_stream_read(
    db: *const buffdb_db,
    path: *const c_char,
    buf: *mut u8,
    buf_len: usize,
    data_len: *mut usize,
) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let path = string(path, "path")?;
        let buf = bytes_mut(buf, buf_len, "buf")?;
        let len = Out::new(data_len, "data_len")?;
        super::blob::read_whole(d.db.stream_open(path, None)?, buf, &len, "stream")
    })
}

/// Reads the latest version of the stream at `path` into memory allocated by the library
/// (free with buffdb_bytes_free). A missing stream gives BUFFDB_NOT_FOUND.
#[no_mangle]
pub unsafe extern "C" fn buffdb_stream_read_alloc(
    db: *const buffdb_db,
    path: *const c_char,
    data: *mut *mut u8,
    data_len: *mut usize,
) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let path = string(path, "path")?;
        let (data, len) = (Out::new(data, "data")?, Out::new(data_len, "data_len")?);
        give_bytes(d.db.stream_read(path)?, &data, &len);
        Ok(())
    })
}

/// Reads up to `buf_len` bytes of the latest version at byte `offset` into the caller's
/// buffer; `*n_read` is how many (fewer at the end of the stream, 0 past it).
#[no_mangle]
pub unsafe extern "C" fn buffdb_stream_read_range(
    db: *const buffdb_db,
    path: *const c_char,
    offset: u64,
    buf: *mut u8,
    buf_len: usize,
    n_read: *mut usize,
) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let path = string(path, "path")?;
        let buf = bytes_mut(buf, buf_len, "buf")?;
        let n_read = Out::new(n_read, "n_read")?;
        let mut r = d.db.stream_open(path, None)?;
        let mut filled = 0;
        while filled < buf.len() {
            let n = r.read_at(offset.saturating_add(filled as u64), &mut buf[filled..])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        n_read.set(filled);
        Ok(())
    })
}

/// Reads `len` bytes at `offset` (clipped at the end) into memory allocated by the
/// library (free with buffdb_bytes_free).
#[no_mangle]
pub unsafe extern "C" fn buffdb_stream_read_range_alloc(
    db: *const buffdb_db,
    path: *const c_char,
    offset: u64,
    len: u64,
    data: *mut *mut u8,
    data_len: *mut usize,
) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let path = string(path, "path")?;
        let (data, out_len) = (Out::new(data, "data")?, Out::new(data_len, "data_len")?);
        give_bytes(d.db.stream_read_range(path, offset, len)?, &data, &out_len);
        Ok(())
    })
}

/// Opens a reader over the latest version of the stream at `path` (BUFFDB_NOT_FOUND when
/// missing). Free with buffdb_reader_free.
#[no_mangle]
pub unsafe extern "C" fn buffdb_stream_open(
    db: *const buffdb_db,
    path: *const c_char,
    out: *mut *mut buffdb_reader,
) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let path = string(path, "path")?;
        let out = Out::new(out, "out")?;
        let r = d.db.stream_open(path, None)?;
        new_handle(&out, buffdb_reader { r });
        Ok(())
    })
}

/// Opens a reader over one kept `version` of the stream at `path` (BUFFDB_NOT_FOUND when
/// that version is missing). Free with buffdb_reader_free.
#[no_mangle]
pub unsafe extern "C" fn buffdb_stream_open_version(
    db: *const buffdb_db,
    path: *const c_char,
    version: u64,
    out: *mut *mut buffdb_reader,
) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let path = string(path, "path")?;
        let out = Out::new(out, "out")?;
        let r = d.db.stream_open(path, Some(version))?;
        new_handle(&out, buffdb_reader { r });
        Ok(())
    })
}

/// Facts about the latest version of the stream at `path` (BUFFDB_NOT_FOUND when missing).
#[no_mangle]
pub unsafe extern "C" fn buffdb_stream_stat(
    db: *const buffdb_db,
    path: *const c_char,
    out: *mut buffdb_stream_info,
) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let path = string(path, "path")?;
        let out = Out::new(out, "out")?;
        out.set((&d.db.stream_stat(path)?).into());
        Ok(())
    })
}

/// Whether a stream exists at `path`.
#[no_mangle]
pub unsafe extern "C" fn buffdb_stream_exists(
    db: *const buffdb_db,
    path: *const c_char,
    out: *mut bool,
) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let path = string(path, "path")?;
        let out = Out::new(out, "out")?;
        out.set(d.db.stream_exists(path)?);
        Ok(())
    })
}

/// The kept versions of the stream at `path`, oldest first, into the caller's array
/// `infos` of `cap` elements; `*count` = how many. When `cap` is too small:
/// BUFFDB_BUFFER_TOO_SMALL with `*count` = the number needed. No versions: `*count` = 0.
#[no_mangle]
pub unsafe extern "C" fn buffdb_stream_versions(
    db: *const buffdb_db,
    path: *const c_char,
    infos: *mut buffdb_stream_info,
    cap: usize,
    count: *mut usize,
) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let path = string(path, "path")?;
        if infos.is_null() && cap > 0 {
            return Err(invalid("infos is NULL but cap is not 0"));
        }
        let count = Out::new(count, "count")?;
        let v = d.db.stream_versions(path)?;
        if v.len() > cap {
            count.set(v.len());
            return Err(Error::new(ErrorCode::BufferTooSmall, format!("{} versions but room for {cap}", v.len())));
        }
        for (i, info) in v.iter().enumerate() {
            infos.add(i).write(info.into());
        }
        count.set(v.len());
        Ok(())
    })
}

/// Deletes every version of the stream at `path`; `*existed` (may be NULL) says whether
/// it was there. Open readers of it fail cleanly from then on.
#[no_mangle]
pub unsafe extern "C" fn buffdb_stream_delete(
    db: *const buffdb_db,
    path: *const c_char,
    existed: *mut bool,
) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let path = string(path, "path")?;
        Out::opt(existed).set(d.db.stream_delete(path)?);
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------
// Reader

/// Reads up to `buf_len` bytes from the current position into the caller's buffer and
/// advances; `*n_read` is how many (0 = end). It fills the buffer unless the end comes
/// first, so fixed-size chunked loading needs no extra loop.
#[no_mangle]
pub unsafe extern "C" fn buffdb_reader_read(
    reader: *mut buffdb_reader,
    buf: *mut u8,
    buf_len: usize,
    n_read: *mut usize,
) -> buffdb_status {
    ffi(|| {
        let r = handle_mut(reader, "reader")?;
        let buf = bytes_mut(buf, buf_len, "buf")?;
        let n_read = Out::new(n_read, "n_read")?;
        n_read.set(r.r.read_into(buf)?);
        Ok(())
    })
}

/// Reads up to `buf_len` bytes at `offset` without moving the position; `*n_read` is
/// how many (0 past the end).
#[no_mangle]
pub unsafe extern "C" fn buffdb_reader_read_at(
    reader: *mut buffdb_reader,
    offset: u64,
    buf: *mut u8,
    buf_len: usize,
    n_read: *mut usize,
) -> buffdb_status {
    ffi(|| {
        let r = handle_mut(reader, "reader")?;
        let buf = bytes_mut(buf, buf_len, "buf")?;
        let n_read = Out::new(n_read, "n_read")?;
        n_read.set(r.r.read_at(offset, buf)?);
        Ok(())
    })
}

/// Moves the position to `pos` (past the end is allowed: reads then give 0 bytes);
/// `*new_pos` (may be NULL) receives the new position.
#[no_mangle]
pub unsafe extern "C" fn buffdb_reader_seek(reader: *mut buffdb_reader, pos: u64, new_pos: *mut u64) -> buffdb_status {
    ffi(|| {
        let r = handle_mut(reader, "reader")?;
        Out::opt(new_pos).set(r.r.seek_to(pos)?);
        Ok(())
    })
}

/// The current position.
#[no_mangle]
pub unsafe extern "C" fn buffdb_reader_tell(reader: *const buffdb_reader, out: *mut u64) -> buffdb_status {
    ffi(|| {
        let r = handle(reader, "reader")?;
        let out = Out::new(out, "out")?;
        out.set(r.r.tell());
        Ok(())
    })
}

/// The size of the stream version or blob.
#[no_mangle]
pub unsafe extern "C" fn buffdb_reader_size(reader: *const buffdb_reader, out: *mut u64) -> buffdb_status {
    ffi(|| {
        let r = handle(reader, "reader")?;
        let out = Out::new(out, "out")?;
        out.set(r.r.size());
        Ok(())
    })
}

/// Facts about the stream version being read (BUFFDB_INVALID_ARGUMENT for a blob reader).
#[no_mangle]
pub unsafe extern "C" fn buffdb_reader_info(
    reader: *const buffdb_reader,
    out: *mut buffdb_stream_info,
) -> buffdb_status {
    ffi(|| {
        let r = handle(reader, "reader")?;
        let out = Out::new(out, "out")?;
        let i = r.r.info().ok_or_else(|| invalid("a blob reader has no stream info"))?;
        out.set(i.into());
        Ok(())
    })
}

/// Zero-copy chunk iteration from the current position: `*data`/`*len` borrow the next
/// piece (up to the end of its chunk) and the position advances past it; at the end
/// `*data` is NULL and `*len` 0. The pointer stays valid until the next call on the reader.
#[no_mangle]
pub unsafe extern "C" fn buffdb_reader_next_chunk(
    reader: *mut buffdb_reader,
    data: *mut *const u8,
    len: *mut usize,
) -> buffdb_status {
    ffi(|| {
        let r = handle_mut(reader, "reader")?;
        let (data, len) = (Out::new(data, "data")?, Out::new(len, "len")?);
        match r.r.next_chunk()? {
            Some(c) => {
                data.set(c.as_ptr());
                len.set(c.len());
            }
            None => {
                data.set(std::ptr::null());
                len.set(0);
            }
        }
        Ok(())
    })
}

/// Frees a reader. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn buffdb_reader_free(reader: *mut buffdb_reader) {
    free_handle(reader)
}

// ---------------------------------------------------------------------------------------
// Search

/// Starts a prefix search over stream paths: every path that starts with `prefix`
/// (byte order; "" = all), after `start_after` (NULL = from the first), at most `limit`
/// (BUFFDB_NO_LIMIT = all). Lazy. Free the cursor with buffdb_search_cursor_free.
#[no_mangle]
pub unsafe extern "C" fn buffdb_search(
    db: *const buffdb_db,
    prefix: *const c_char,
    start_after: *const c_char,
    limit: usize,
    out: *mut *mut buffdb_search_cursor,
) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let prefix = string(prefix, "prefix")?;
        let sa = opt_string(start_after, "start_after")?;
        let out = Out::new(out, "out")?;
        let it = d.db.search(prefix, sa, opt_limit(limit))?;
        new_handle(&out, buffdb_search_cursor { items: Box::new(it), current: None });
        Ok(())
    })
}

/// Advances the search: on BUFFDB_OK `*path` is the next path (NUL-terminated, `*path_len`
/// bytes, borrowed until the next call or the free) or NULL at the end.
/// `path_len` may be NULL.
#[no_mangle]
pub unsafe extern "C" fn buffdb_search_next(
    cursor: *mut buffdb_search_cursor,
    path: *mut *const c_char,
    path_len: *mut usize,
) -> buffdb_status {
    ffi(|| {
        let c = handle_mut(cursor, "cursor")?;
        let path = Out::new(path, "path")?;
        let path_len = Out::opt(path_len);
        c.current = match c.items.next() {
            None => None,
            Some(p) => Some(CString::new(p?).map_err(|_| invalid("path contains NUL"))?),
        };
        match &c.current {
            None => {
                path.set(std::ptr::null());
                path_len.set(0);
            }
            Some(s) => {
                path.set(s.as_ptr());
                path_len.set(s.as_bytes().len());
            }
        }
        Ok(())
    })
}

/// Frees a search cursor. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn buffdb_search_cursor_free(cursor: *mut buffdb_search_cursor) {
    free_handle(cursor)
}

/// How many stream paths start with `prefix`.
#[no_mangle]
pub unsafe extern "C" fn buffdb_search_count(
    db: *const buffdb_db,
    prefix: *const c_char,
    out: *mut u64,
) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let prefix = string(prefix, "prefix")?;
        let out = Out::new(out, "out")?;
        out.set(d.db.search_count(prefix)?);
        Ok(())
    })
}
