//! Blob calls.

use std::ffi::c_char;

use super::*;
use crate::Reader;

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

pub(crate) fn blob_not_found(id: u64) -> Error {
    Error::new(ErrorCode::NotFound, format!("blob {id} not found"))
}

/// Fills `buf` from a reader (which never mixes versions) or reports the needed size.
pub(crate) fn read_whole(mut r: Reader, buf: &mut [u8], len: &Out<usize>, what: &str) -> Result<()> {
    let size = usize_of(r.size(), "size")?;
    if size > buf.len() {
        len.set(size);
        return Err(too_small(size, buf.len(), what));
    }
    let mut filled = 0;
    while filled < size {
        let n = r.read_into(&mut buf[filled..size])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    len.set(filled);
    Ok(())
}

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
    ffi(|| {
        let d = handle(db, "db")?;
        let data = bytes(data, data_len, "data")?;
        let metadata = opt_string(metadata, "metadata")?;
        let id = Out::new(id, "id")?;
        id.set(d.db.blob_put(data, metadata)?);
        Ok(())
    })
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
    ffi(|| {
        let d = handle(db, "db")?;
        let buf = bytes_mut(buf, buf_len, "buf")?;
        let len = Out::new(data_len, "data_len")?;
        read_whole(d.db.blob_open(id)?, buf, &len, "blob")
    })
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
    ffi(|| {
        let d = handle(db, "db")?;
        let (data, len) = (Out::new(data, "data")?, Out::new(data_len, "data_len")?);
        let v = d.db.blob_get(id)?.ok_or_else(|| blob_not_found(id))?;
        give_bytes(v, &data, &len);
        Ok(())
    })
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
    ffi(|| {
        let d = handle(db, "db")?;
        let out = Out::new(metadata, "metadata")?;
        let m = d.db.blob_metadata(id)?;
        out.set(match m {
            None => std::ptr::null_mut(),
            Some(s) => give_string(s)?,
        });
        Ok(())
    })
}

/// Facts about blob `id` (BUFFDB_NOT_FOUND when missing).
#[no_mangle]
pub unsafe extern "C" fn buffdb_blob_stat(db: *const buffdb_db, id: u64, out: *mut buffdb_blob_info) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let out = Out::new(out, "out")?;
        let i = d.db.blob_info(id)?.ok_or_else(|| blob_not_found(id))?;
        out.set(buffdb_blob_info {
            id: i.id,
            size: i.size,
            crc32: i.crc32,
            chunk_count: i.chunk_count,
            created_ms: i.created_ms,
            has_metadata: i.metadata.is_some(),
        });
        Ok(())
    })
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
    ffi(|| {
        let d = handle(db, "db")?;
        let data = if set_data { Some(bytes(data, data_len, "data")?) } else { None };
        let metadata = if set_metadata { Some(opt_string(metadata, "metadata")?) } else { None };
        d.db.blob_update(id, data, metadata)
    })
}

/// Deletes blob `id`; `*existed` (may be NULL) says whether it was there. The id is
/// never reused.
#[no_mangle]
pub unsafe extern "C" fn buffdb_blob_delete(db: *const buffdb_db, id: u64, existed: *mut bool) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        Out::opt(existed).set(d.db.blob_delete(id)?);
        Ok(())
    })
}

/// Opens a reader over blob `id` (BUFFDB_NOT_FOUND when missing). Free with
/// buffdb_reader_free.
#[no_mangle]
pub unsafe extern "C" fn buffdb_blob_open(
    db: *const buffdb_db,
    id: u64,
    out: *mut *mut buffdb_reader,
) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let out = Out::new(out, "out")?;
        let r = d.db.blob_open(id)?;
        new_handle(&out, buffdb_reader { r });
        Ok(())
    })
}

/// Whether the `n` blobs hold equal bytes (a missing blob gives BUFFDB_NOT_FOUND).
#[no_mangle]
pub unsafe extern "C" fn buffdb_blob_eq(
    db: *const buffdb_db,
    ids: *const u64,
    n: usize,
    out: *mut bool,
) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let ids = bytes_slice_of(ids, n, "ids")?;
        let out = Out::new(out, "out")?;
        out.set(d.db.blob_eq(ids)?);
        Ok(())
    })
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
    ffi(|| {
        let d = handle(db, "db")?;
        let ids = bytes_slice_of(ids, n, "ids")?;
        let out = Out::new(out, "out")?;
        out.set(d.db.blob_not_eq(ids)?);
        Ok(())
    })
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
    ffi(|| {
        let d = handle(db, "db")?;
        if ids.is_null() && cap > 0 {
            return Err(invalid("ids is NULL but cap is not 0"));
        }
        let count = Out::new(count, "count")?;
        let sa = if start_after == 0 { None } else { Some(start_after) };
        let got = if cap == 0 { Vec::new() } else { d.db.blob_ids(sa, Some(cap))? };
        let n = got.len().min(cap);
        for (i, id) in got.into_iter().take(n).enumerate() {
            ids.add(i).write(id);
        }
        count.set(n);
        Ok(())
    })
}
