//! Path stream operations (on a database and in a transaction) and the stream writer.

use std::ffi::c_char;

use super::reader::read_whole;
use super::*;
use crate::{StreamInfo, StreamWriter};

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
    /// Whether the version has a metadata string (read it with buffdb_stream_metadata).
    pub has_metadata: bool,
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
            has_metadata: i.metadata.is_some(),
        }
    }
}

/// A stream writer from buffdb_stream_writer or buffdb_txn_stream_writer: nothing is
/// visible until buffdb_writer_commit. A writer from a transaction writes into it: its
/// version becomes visible to others when the transaction commits and is gone if it
/// rolls back; once the transaction has ended the writer gives BUFFDB_CLOSED.
/// Single-threaded (movable between threads). Free with buffdb_writer_free, which aborts
/// it if it was neither committed nor aborted.
pub struct buffdb_writer {
    w: Option<StreamWriter>,
}

fn writer_finished() -> Error {
    Error::new(ErrorCode::Closed, "the writer was already committed or aborted")
}

// ---------------------------------------------------------------------------------------
// The operations, once each (on a database or a transaction)

unsafe fn write(
    o: &impl Ops,
    path: *const c_char,
    data: *const u8,
    data_len: usize,
    metadata: *const c_char,
    info: *mut buffdb_stream_info,
) -> Result<()> {
    let path = string(path, "path")?;
    let data = bytes(data, data_len, "data")?;
    let metadata = opt_string(metadata, "metadata")?;
    let i = o.stream_write_with_metadata(path, data, metadata)?;
    Out::opt(info).set((&i).into());
    Ok(())
}

unsafe fn set_metadata(
    o: &impl Ops,
    path: *const c_char,
    metadata: *const c_char,
    info: *mut buffdb_stream_info,
) -> Result<()> {
    let path = string(path, "path")?;
    let metadata = opt_string(metadata, "metadata")?;
    let i = o.stream_set_metadata(path, metadata)?;
    Out::opt(info).set((&i).into());
    Ok(())
}

/// The metadata of the newest version (`version` 0) or of one kept version.
unsafe fn metadata(o: &impl Ops, path: *const c_char, version: u64, metadata: *mut *mut c_char) -> Result<()> {
    let path = string(path, "path")?;
    let out = Out::new(metadata, "metadata")?;
    let m = if version == 0 {
        o.stream_stat(path)?.metadata
    } else {
        o.stream_versions(path)?
            .into_iter()
            .find(|i| i.version == version)
            .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("version {version} of {path:?} not found")))?
            .metadata
    };
    out.set(match m {
        None => std::ptr::null_mut(),
        Some(s) => give_string(s)?,
    });
    Ok(())
}

/// A writer with the database's compression setting (`None`) or this one.
unsafe fn writer(
    o: &impl Ops,
    path: *const c_char,
    compression: Option<bool>,
    out: *mut *mut buffdb_writer,
) -> Result<()> {
    let path = string(path, "path")?;
    let out = Out::new(out, "out")?;
    new_handle(&out, buffdb_writer { w: Some(o.stream_writer_with(path, compression)?) });
    Ok(())
}

unsafe fn read(o: &impl Ops, path: *const c_char, buf: *mut u8, buf_len: usize, data_len: *mut usize) -> Result<()> {
    let path = string(path, "path")?;
    let buf = bytes_mut(buf, buf_len, "buf")?;
    let len = Out::new(data_len, "data_len")?;
    read_whole(o.stream_open(path, None)?, buf, &len, "stream")
}

unsafe fn read_alloc(o: &impl Ops, path: *const c_char, data: *mut *mut u8, data_len: *mut usize) -> Result<()> {
    let path = string(path, "path")?;
    let (data, len) = (Out::new(data, "data")?, Out::new(data_len, "data_len")?);
    give_bytes(o.stream_read(path)?, &data, &len);
    Ok(())
}

unsafe fn read_range(
    o: &impl Ops,
    path: *const c_char,
    offset: u64,
    buf: *mut u8,
    buf_len: usize,
    n_read: *mut usize,
) -> Result<()> {
    let path = string(path, "path")?;
    let buf = bytes_mut(buf, buf_len, "buf")?;
    let n_read = Out::new(n_read, "n_read")?;
    let mut r = o.stream_open(path, None)?;
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
}

unsafe fn read_range_alloc(
    o: &impl Ops,
    path: *const c_char,
    offset: u64,
    len: u64,
    data: *mut *mut u8,
    data_len: *mut usize,
) -> Result<()> {
    let path = string(path, "path")?;
    let (data, out_len) = (Out::new(data, "data")?, Out::new(data_len, "data_len")?);
    give_bytes(o.stream_read_range(path, offset, len)?, &data, &out_len);
    Ok(())
}

/// A reader over the latest version (`None`) or one kept version.
unsafe fn open(o: &impl Ops, path: *const c_char, version: Option<u64>, out: *mut *mut buffdb_reader) -> Result<()> {
    let path = string(path, "path")?;
    let out = Out::new(out, "out")?;
    new_handle(&out, buffdb_reader { r: o.stream_open(path, version)? });
    Ok(())
}

unsafe fn stat(o: &impl Ops, path: *const c_char, out: *mut buffdb_stream_info) -> Result<()> {
    let path = string(path, "path")?;
    let out = Out::new(out, "out")?;
    out.set((&o.stream_stat(path)?).into());
    Ok(())
}

unsafe fn exists(o: &impl Ops, path: *const c_char, out: *mut bool) -> Result<()> {
    let path = string(path, "path")?;
    let out = Out::new(out, "out")?;
    out.set(o.stream_exists(path)?);
    Ok(())
}

unsafe fn versions(
    o: &impl Ops,
    path: *const c_char,
    infos: *mut buffdb_stream_info,
    cap: usize,
    count: *mut usize,
) -> Result<()> {
    let path = string(path, "path")?;
    if infos.is_null() && cap > 0 {
        return Err(invalid("infos is NULL but cap is not 0"));
    }
    let count = Out::new(count, "count")?;
    let v = o.stream_versions(path)?;
    if v.len() > cap {
        count.set(v.len());
        return Err(Error::new(ErrorCode::BufferTooSmall, format!("{} versions but room for {cap}", v.len())));
    }
    for (i, info) in v.iter().enumerate() {
        infos.add(i).write(info.into());
    }
    count.set(v.len());
    Ok(())
}

unsafe fn delete(o: &impl Ops, path: *const c_char, existed: *mut bool) -> Result<()> {
    let path = string(path, "path")?;
    Out::opt(existed).set(o.stream_delete(path)?);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Exports: each operation on a database (buffdb_X) and in a transaction (buffdb_txn_X)

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
    ffi(|| write(&db_ops(db)?, path, data, data_len, std::ptr::null(), info))
}

/// buffdb_stream_write inside the transaction (visible to others at commit).
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_stream_write(
    txn: *const buffdb_txn,
    path: *const c_char,
    data: *const u8,
    data_len: usize,
    info: *mut buffdb_stream_info,
) -> buffdb_status {
    ffi(|| write(&txn_ops(txn)?, path, data, data_len, std::ptr::null(), info))
}

/// buffdb_stream_write giving the new version an optional UTF-8 `metadata` string (NULL
/// = none; at most BUFFDB_MAX_METADATA_SIZE bytes, else BUFFDB_TOO_LARGE), as a blob has.
#[no_mangle]
pub unsafe extern "C" fn buffdb_stream_write_with_metadata(
    db: *const buffdb_db,
    path: *const c_char,
    data: *const u8,
    data_len: usize,
    metadata: *const c_char,
    info: *mut buffdb_stream_info,
) -> buffdb_status {
    ffi(|| write(&db_ops(db)?, path, data, data_len, metadata, info))
}

/// buffdb_stream_write_with_metadata inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_stream_write_with_metadata(
    txn: *const buffdb_txn,
    path: *const c_char,
    data: *const u8,
    data_len: usize,
    metadata: *const c_char,
    info: *mut buffdb_stream_info,
) -> buffdb_status {
    ffi(|| write(&txn_ops(txn)?, path, data, data_len, metadata, info))
}

/// Replaces the metadata of the newest version of the stream at `path` without
/// rewriting its bytes (`metadata` NULL = remove it). `*info` (may be NULL) receives the
/// version's facts. A missing stream gives BUFFDB_NOT_FOUND.
#[no_mangle]
pub unsafe extern "C" fn buffdb_stream_set_metadata(
    db: *const buffdb_db,
    path: *const c_char,
    metadata: *const c_char,
    info: *mut buffdb_stream_info,
) -> buffdb_status {
    ffi(|| set_metadata(&db_ops(db)?, path, metadata, info))
}

/// buffdb_stream_set_metadata inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_stream_set_metadata(
    txn: *const buffdb_txn,
    path: *const c_char,
    metadata: *const c_char,
    info: *mut buffdb_stream_info,
) -> buffdb_status {
    ffi(|| set_metadata(&txn_ops(txn)?, path, metadata, info))
}

/// The metadata of the newest version of the stream at `path` (`version` 0) or of one
/// kept `version`: `*metadata` is a new NUL-terminated string (free with
/// buffdb_string_free), or NULL when the version has none. A missing stream or version
/// gives BUFFDB_NOT_FOUND.
#[no_mangle]
pub unsafe extern "C" fn buffdb_stream_metadata(
    db: *const buffdb_db,
    path: *const c_char,
    version: u64,
    metadata: *mut *mut c_char,
) -> buffdb_status {
    ffi(|| self::metadata(&db_ops(db)?, path, version, metadata))
}

/// buffdb_stream_metadata inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_stream_metadata(
    txn: *const buffdb_txn,
    path: *const c_char,
    version: u64,
    metadata: *mut *mut c_char,
) -> buffdb_status {
    ffi(|| self::metadata(&txn_ops(txn)?, path, version, metadata))
}

/// Starts writing a new version of the stream at `path` with the database's compression
/// setting. Free the writer with buffdb_writer_free.
#[no_mangle]
pub unsafe extern "C" fn buffdb_stream_writer(
    db: *const buffdb_db,
    path: *const c_char,
    out: *mut *mut buffdb_writer,
) -> buffdb_status {
    ffi(|| writer(&db_ops(db)?, path, None, out))
}

/// buffdb_stream_writer inside the transaction: the committed writer's version is part
/// of the transaction (visible to others when it commits, gone if it rolls back); the
/// writer gives BUFFDB_CLOSED once the transaction has ended.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_stream_writer(
    txn: *const buffdb_txn,
    path: *const c_char,
    out: *mut *mut buffdb_writer,
) -> buffdb_status {
    ffi(|| writer(&txn_ops(txn)?, path, None, out))
}

/// Like buffdb_stream_writer, with compression on or off for this write only.
#[no_mangle]
pub unsafe extern "C" fn buffdb_stream_writer_compressed(
    db: *const buffdb_db,
    path: *const c_char,
    compression: bool,
    out: *mut *mut buffdb_writer,
) -> buffdb_status {
    ffi(|| writer(&db_ops(db)?, path, Some(compression), out))
}

/// buffdb_stream_writer_compressed inside the transaction (as buffdb_txn_stream_writer).
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_stream_writer_compressed(
    txn: *const buffdb_txn,
    path: *const c_char,
    compression: bool,
    out: *mut *mut buffdb_writer,
) -> buffdb_status {
    ffi(|| writer(&txn_ops(txn)?, path, Some(compression), out))
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
    ffi(|| read(&db_ops(db)?, path, buf, buf_len, data_len))
}

/// buffdb_stream_read inside the transaction (sees its own writes).
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_stream_read(
    txn: *const buffdb_txn,
    path: *const c_char,
    buf: *mut u8,
    buf_len: usize,
    data_len: *mut usize,
) -> buffdb_status {
    ffi(|| read(&txn_ops(txn)?, path, buf, buf_len, data_len))
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
    ffi(|| read_alloc(&db_ops(db)?, path, data, data_len))
}

/// buffdb_stream_read_alloc inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_stream_read_alloc(
    txn: *const buffdb_txn,
    path: *const c_char,
    data: *mut *mut u8,
    data_len: *mut usize,
) -> buffdb_status {
    ffi(|| read_alloc(&txn_ops(txn)?, path, data, data_len))
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
    ffi(|| read_range(&db_ops(db)?, path, offset, buf, buf_len, n_read))
}

/// buffdb_stream_read_range inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_stream_read_range(
    txn: *const buffdb_txn,
    path: *const c_char,
    offset: u64,
    buf: *mut u8,
    buf_len: usize,
    n_read: *mut usize,
) -> buffdb_status {
    ffi(|| read_range(&txn_ops(txn)?, path, offset, buf, buf_len, n_read))
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
    ffi(|| read_range_alloc(&db_ops(db)?, path, offset, len, data, data_len))
}

/// buffdb_stream_read_range_alloc inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_stream_read_range_alloc(
    txn: *const buffdb_txn,
    path: *const c_char,
    offset: u64,
    len: u64,
    data: *mut *mut u8,
    data_len: *mut usize,
) -> buffdb_status {
    ffi(|| read_range_alloc(&txn_ops(txn)?, path, offset, len, data, data_len))
}

/// Opens a reader over the latest version of the stream at `path` (BUFFDB_NOT_FOUND when
/// missing). Free with buffdb_reader_free.
#[no_mangle]
pub unsafe extern "C" fn buffdb_stream_open(
    db: *const buffdb_db,
    path: *const c_char,
    out: *mut *mut buffdb_reader,
) -> buffdb_status {
    ffi(|| open(&db_ops(db)?, path, None, out))
}

/// buffdb_stream_open inside the transaction: the reader reads the transaction's view
/// and gives BUFFDB_CLOSED once the transaction is committed or rolled back.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_stream_open(
    txn: *const buffdb_txn,
    path: *const c_char,
    out: *mut *mut buffdb_reader,
) -> buffdb_status {
    ffi(|| open(&txn_ops(txn)?, path, None, out))
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
    ffi(|| open(&db_ops(db)?, path, Some(version), out))
}

/// buffdb_stream_open_version inside the transaction (the reader as with
/// buffdb_txn_stream_open).
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_stream_open_version(
    txn: *const buffdb_txn,
    path: *const c_char,
    version: u64,
    out: *mut *mut buffdb_reader,
) -> buffdb_status {
    ffi(|| open(&txn_ops(txn)?, path, Some(version), out))
}

/// Facts about the latest version of the stream at `path` (BUFFDB_NOT_FOUND when missing).
#[no_mangle]
pub unsafe extern "C" fn buffdb_stream_stat(
    db: *const buffdb_db,
    path: *const c_char,
    out: *mut buffdb_stream_info,
) -> buffdb_status {
    ffi(|| stat(&db_ops(db)?, path, out))
}

/// buffdb_stream_stat inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_stream_stat(
    txn: *const buffdb_txn,
    path: *const c_char,
    out: *mut buffdb_stream_info,
) -> buffdb_status {
    ffi(|| stat(&txn_ops(txn)?, path, out))
}

/// Whether a stream exists at `path`.
#[no_mangle]
pub unsafe extern "C" fn buffdb_stream_exists(
    db: *const buffdb_db,
    path: *const c_char,
    out: *mut bool,
) -> buffdb_status {
    ffi(|| exists(&db_ops(db)?, path, out))
}

/// buffdb_stream_exists inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_stream_exists(
    txn: *const buffdb_txn,
    path: *const c_char,
    out: *mut bool,
) -> buffdb_status {
    ffi(|| exists(&txn_ops(txn)?, path, out))
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
    ffi(|| versions(&db_ops(db)?, path, infos, cap, count))
}

/// buffdb_stream_versions inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_stream_versions(
    txn: *const buffdb_txn,
    path: *const c_char,
    infos: *mut buffdb_stream_info,
    cap: usize,
    count: *mut usize,
) -> buffdb_status {
    ffi(|| versions(&txn_ops(txn)?, path, infos, cap, count))
}

/// Deletes every version of the stream at `path`; `*existed` (may be NULL) says whether
/// it was there. Open readers of it fail cleanly from then on.
#[no_mangle]
pub unsafe extern "C" fn buffdb_stream_delete(
    db: *const buffdb_db,
    path: *const c_char,
    existed: *mut bool,
) -> buffdb_status {
    ffi(|| delete(&db_ops(db)?, path, existed))
}

/// buffdb_stream_delete inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_stream_delete(
    txn: *const buffdb_txn,
    path: *const c_char,
    existed: *mut bool,
) -> buffdb_status {
    ffi(|| delete(&txn_ops(txn)?, path, existed))
}

// ---------------------------------------------------------------------------------------
// Writer

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

/// Sets the metadata the writer's version gets at commit (`metadata` NULL = none, the
/// default), as buffdb_stream_write_with_metadata takes it. After commit or abort:
/// BUFFDB_CLOSED.
#[no_mangle]
pub unsafe extern "C" fn buffdb_writer_set_metadata(writer: *mut buffdb_writer, metadata: *const c_char) -> buffdb_status {
    ffi(|| {
        let w = handle_mut(writer, "writer")?;
        let metadata = opt_string(metadata, "metadata")?;
        w.w.as_mut().ok_or_else(writer_finished)?.set_metadata(metadata)
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

/// Commits the writer: the new version becomes visible atomically (for a writer from a
/// transaction: to the transaction, and to others when it commits). `*info` (may be
/// NULL) receives its facts. The writer is finished either way (later calls:
/// BUFFDB_CLOSED); the handle must still be freed with buffdb_writer_free.
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
