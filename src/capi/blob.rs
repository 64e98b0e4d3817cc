//! Blob operations (on a database and in a transaction).

use std::ffi::c_char;

use super::reader::read_whole;
use super::*;

/// Facts about a blob (buffdb_blob_stat).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct buffdb_blob_info {
    pub id: u64,
    pub size: u64,
    /// IEEE CRC-32 of the whole blob.
    pub crc32: u32,
    pub chunk_count: u64,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// Whether the blob has a metadata string (read it with buffdb_blob_metadata).
    pub has_metadata: bool,
}

fn blob_not_found(id: u64) -> Error {
    Error::new(ErrorCode::NotFound, format!("blob {id} not found"))
}

// ---------------------------------------------------------------------------------------
// The operations, once each (on a database or a transaction)

unsafe fn put(o: &impl Ops, data: *const u8, data_len: usize, metadata: *const c_char, id: *mut u64) -> Result<()> {
    let data = bytes(data, data_len, "data")?;
    let metadata = opt_string(metadata, "metadata")?;
    let id = Out::new(id, "id")?;
    id.set(o.blob_put(data, metadata)?);
    Ok(())
}

unsafe fn get(o: &impl Ops, id: u64, buf: *mut u8, buf_len: usize, data_len: *mut usize) -> Result<()> {
    let buf = bytes_mut(buf, buf_len, "buf")?;
    let len = Out::new(data_len, "data_len")?;
    read_whole(o.blob_open(id)?, buf, &len, "blob")
}

unsafe fn get_alloc(o: &impl Ops, id: u64, data: *mut *mut u8, data_len: *mut usize) -> Result<()> {
    let (data, len) = (Out::new(data, "data")?, Out::new(data_len, "data_len")?);
    give_bytes(o.blob_get(id)?.ok_or_else(|| blob_not_found(id))?, &data, &len);
    Ok(())
}

unsafe fn metadata(o: &impl Ops, id: u64, metadata: *mut *mut c_char) -> Result<()> {
    let out = Out::new(metadata, "metadata")?;
    let m = o.blob_metadata(id)?;
    out.set(match m {
        None => std::ptr::null_mut(),
        Some(s) => give_string(s)?,
    });
    Ok(())
}

unsafe fn stat(o: &impl Ops, id: u64, out: *mut buffdb_blob_info) -> Result<()> {
    let out = Out::new(out, "out")?;
    let i = o.blob_info(id)?.ok_or_else(|| blob_not_found(id))?;
    out.set(buffdb_blob_info {
        id: i.id,
        size: i.size,
        crc32: i.crc32,
        chunk_count: i.chunk_count,
        created_ms: i.created_ms,
        has_metadata: i.metadata.is_some(),
    });
    Ok(())
}

#[allow(clippy::too_many_arguments)]
unsafe fn update(
    o: &impl Ops,
    id: u64,
    set_data: bool,
    data: *const u8,
    data_len: usize,
    set_metadata: bool,
    metadata: *const c_char,
) -> Result<()> {
    let data = if set_data { Some(bytes(data, data_len, "data")?) } else { None };
    let metadata = if set_metadata { Some(opt_string(metadata, "metadata")?) } else { None };
    o.blob_update(id, data, metadata)
}

unsafe fn delete(o: &impl Ops, id: u64, existed: *mut bool) -> Result<()> {
    Out::opt(existed).set(o.blob_delete(id)?);
    Ok(())
}

unsafe fn open(o: &impl Ops, id: u64, out: *mut *mut buffdb_reader) -> Result<()> {
    let out = Out::new(out, "out")?;
    new_handle(&out, buffdb_reader { r: o.blob_open(id)? });
    Ok(())
}

/// `blob_eq` (`distinct` false) or `blob_not_eq` (`distinct` true).
unsafe fn equal(o: &impl Ops, ids: *const u64, n: usize, distinct: bool, out: *mut bool) -> Result<()> {
    let ids = array(ids, n, "ids")?;
    let out = Out::new(out, "out")?;
    out.set(if distinct { o.blob_not_eq(ids)? } else { o.blob_eq(ids)? });
    Ok(())
}

unsafe fn ids(o: &impl Ops, start_after: u64, ids: *mut u64, cap: usize, count: *mut usize) -> Result<()> {
    if ids.is_null() && cap > 0 {
        return Err(invalid("ids is NULL but cap is not 0"));
    }
    let count = Out::new(count, "count")?;
    let sa = if start_after == 0 { None } else { Some(start_after) };
    let got = if cap == 0 { Vec::new() } else { o.blob_ids(sa, Some(cap))? };
    let n = got.len().min(cap);
    for (i, id) in got.into_iter().take(n).enumerate() {
        ids.add(i).write(id);
    }
    count.set(n);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Exports: each operation on a database (buffdb_X) and in a transaction (buffdb_txn_X)

/// Stores `data` as a new blob with an optional UTF-8 `metadata` string (NULL = none) and
/// writes its id to `*id`. Ids start at 1, grow, and are never reused.
#[no_mangle]
pub unsafe extern "C" fn buffdb_blob_put(
    db: *const buffdb_db,
    data: *const u8,
    data_len: usize,
    metadata: *const c_char,
    id: *mut u64,
) -> buffdb_status {
    ffi(|| put(&db_ops(db)?, data, data_len, metadata, id))
}

/// buffdb_blob_put inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_blob_put(
    txn: *const buffdb_txn,
    data: *const u8,
    data_len: usize,
    metadata: *const c_char,
    id: *mut u64,
) -> buffdb_status {
    ffi(|| put(&txn_ops(txn)?, data, data_len, metadata, id))
}

/// Reads blob `id` into the caller's buffer (see buffdb_get for the buffer rules).
/// A missing blob gives BUFFDB_NOT_FOUND.
#[no_mangle]
pub unsafe extern "C" fn buffdb_blob_get(
    db: *const buffdb_db,
    id: u64,
    buf: *mut u8,
    buf_len: usize,
    data_len: *mut usize,
) -> buffdb_status {
    ffi(|| get(&db_ops(db)?, id, buf, buf_len, data_len))
}

/// buffdb_blob_get inside the transaction (sees its own writes).
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_blob_get(
    txn: *const buffdb_txn,
    id: u64,
    buf: *mut u8,
    buf_len: usize,
    data_len: *mut usize,
) -> buffdb_status {
    ffi(|| get(&txn_ops(txn)?, id, buf, buf_len, data_len))
}

/// Reads blob `id` into memory allocated by the library (free with buffdb_bytes_free).
/// A missing blob gives BUFFDB_NOT_FOUND.
#[no_mangle]
pub unsafe extern "C" fn buffdb_blob_get_alloc(
    db: *const buffdb_db,
    id: u64,
    data: *mut *mut u8,
    data_len: *mut usize,
) -> buffdb_status {
    ffi(|| get_alloc(&db_ops(db)?, id, data, data_len))
}

/// buffdb_blob_get_alloc inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_blob_get_alloc(
    txn: *const buffdb_txn,
    id: u64,
    data: *mut *mut u8,
    data_len: *mut usize,
) -> buffdb_status {
    ffi(|| get_alloc(&txn_ops(txn)?, id, data, data_len))
}

/// The metadata of blob `id`: `*metadata` is a new NUL-terminated string (free with
/// buffdb_string_free), or NULL when the blob has none. A missing blob gives
/// BUFFDB_NOT_FOUND.
#[no_mangle]
pub unsafe extern "C" fn buffdb_blob_metadata(
    db: *const buffdb_db,
    id: u64,
    metadata: *mut *mut c_char,
) -> buffdb_status {
    ffi(|| self::metadata(&db_ops(db)?, id, metadata))
}

/// buffdb_blob_metadata inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_blob_metadata(
    txn: *const buffdb_txn,
    id: u64,
    metadata: *mut *mut c_char,
) -> buffdb_status {
    ffi(|| self::metadata(&txn_ops(txn)?, id, metadata))
}

/// Facts about blob `id` (BUFFDB_NOT_FOUND when missing).
#[no_mangle]
pub unsafe extern "C" fn buffdb_blob_stat(db: *const buffdb_db, id: u64, out: *mut buffdb_blob_info) -> buffdb_status {
    ffi(|| stat(&db_ops(db)?, id, out))
}

/// buffdb_blob_stat inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_blob_stat(
    txn: *const buffdb_txn,
    id: u64,
    out: *mut buffdb_blob_info,
) -> buffdb_status {
    ffi(|| stat(&txn_ops(txn)?, id, out))
}

/// Changes blob `id` in place (BUFFDB_NOT_FOUND when missing): when `set_data` is true its
/// bytes become `data`; when `set_metadata` is true its metadata becomes `metadata`
/// (NULL = remove it). Other arguments are ignored when their flag is false.
#[no_mangle]
pub unsafe extern "C" fn buffdb_blob_update(
    db: *const buffdb_db,
    id: u64,
    set_data: bool,
    data: *const u8,
    data_len: usize,
    set_metadata: bool,
    metadata: *const c_char,
) -> buffdb_status {
    ffi(|| update(&db_ops(db)?, id, set_data, data, data_len, set_metadata, metadata))
}

/// buffdb_blob_update inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_blob_update(
    txn: *const buffdb_txn,
    id: u64,
    set_data: bool,
    data: *const u8,
    data_len: usize,
    set_metadata: bool,
    metadata: *const c_char,
) -> buffdb_status {
    ffi(|| update(&txn_ops(txn)?, id, set_data, data, data_len, set_metadata, metadata))
}

/// Deletes blob `id`; `*existed` (may be NULL) says whether it was there. The id is
/// never reused.
#[no_mangle]
pub unsafe extern "C" fn buffdb_blob_delete(db: *const buffdb_db, id: u64, existed: *mut bool) -> buffdb_status {
    ffi(|| delete(&db_ops(db)?, id, existed))
}

/// buffdb_blob_delete inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_blob_delete(txn: *const buffdb_txn, id: u64, existed: *mut bool) -> buffdb_status {
    ffi(|| delete(&txn_ops(txn)?, id, existed))
}

/// Opens a reader over blob `id` (BUFFDB_NOT_FOUND when missing). Free with
/// buffdb_reader_free.
#[no_mangle]
pub unsafe extern "C" fn buffdb_blob_open(
    db: *const buffdb_db,
    id: u64,
    out: *mut *mut buffdb_reader,
) -> buffdb_status {
    ffi(|| open(&db_ops(db)?, id, out))
}

/// buffdb_blob_open inside the transaction: the reader reads the transaction's view and
/// gives BUFFDB_CLOSED once the transaction is committed or rolled back.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_blob_open(
    txn: *const buffdb_txn,
    id: u64,
    out: *mut *mut buffdb_reader,
) -> buffdb_status {
    ffi(|| open(&txn_ops(txn)?, id, out))
}

/// Whether the `n` blobs hold equal bytes (a missing blob gives BUFFDB_NOT_FOUND).
#[no_mangle]
pub unsafe extern "C" fn buffdb_blob_eq(
    db: *const buffdb_db,
    ids: *const u64,
    n: usize,
    out: *mut bool,
) -> buffdb_status {
    ffi(|| equal(&db_ops(db)?, ids, n, false, out))
}

/// buffdb_blob_eq inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_blob_eq(
    txn: *const buffdb_txn,
    ids: *const u64,
    n: usize,
    out: *mut bool,
) -> buffdb_status {
    ffi(|| equal(&txn_ops(txn)?, ids, n, false, out))
}

/// Whether the `n` blobs hold pairwise distinct bytes (a missing blob gives
/// BUFFDB_NOT_FOUND).
#[no_mangle]
pub unsafe extern "C" fn buffdb_blob_not_eq(
    db: *const buffdb_db,
    ids: *const u64,
    n: usize,
    out: *mut bool,
) -> buffdb_status {
    ffi(|| equal(&db_ops(db)?, ids, n, true, out))
}

/// buffdb_blob_not_eq inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_blob_not_eq(
    txn: *const buffdb_txn,
    ids: *const u64,
    n: usize,
    out: *mut bool,
) -> buffdb_status {
    ffi(|| equal(&txn_ops(txn)?, ids, n, true, out))
}

/// Lists blob ids in ascending order after `start_after` (0 = from the first) into the
/// caller's array `ids` of `cap` elements; `*count` is how many were written (fewer than
/// `cap` means the end was reached). Page by passing the last id as `start_after`.
#[no_mangle]
pub unsafe extern "C" fn buffdb_blob_ids(
    db: *const buffdb_db,
    start_after: u64,
    ids: *mut u64,
    cap: usize,
    count: *mut usize,
) -> buffdb_status {
    ffi(|| self::ids(&db_ops(db)?, start_after, ids, cap, count))
}

/// buffdb_blob_ids inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_blob_ids(
    txn: *const buffdb_txn,
    start_after: u64,
    ids: *mut u64,
    cap: usize,
    count: *mut usize,
) -> buffdb_status {
    ffi(|| self::ids(&txn_ops(txn)?, start_after, ids, cap, count))
}
