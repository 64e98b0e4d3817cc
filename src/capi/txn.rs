//! Transactions: the same KV, blob and stream-write calls inside one atomic unit.

use std::ffi::c_char;

use super::blob::blob_not_found;
use super::kv::{copy_out, key_not_found, opt_bytes, opt_limit, pairs};
use super::*;
use crate::Txn;

/// A transaction from buffdb_begin. It owns the database's single writer until
/// buffdb_txn_commit or buffdb_txn_rollback; other threads' reads go on meanwhile, other
/// writers wait (BUFFDB_BUSY after the busy timeout). Its own writes are visible to its
/// reads. Single-threaded (movable between threads). Free with buffdb_txn_free, which
/// rolls back if it was neither committed nor rolled back.
pub struct buffdb_txn {
    t: Option<Txn>,
}

unsafe fn txn<'a>(p: *const buffdb_txn) -> Result<&'a Txn> {
    handle(p, "txn")?
        .t
        .as_ref()
        .ok_or_else(|| Error::new(ErrorCode::Closed, "the transaction was already committed or rolled back"))
}

/// Begins a transaction (waits for the writer, BUFFDB_BUSY after the busy timeout).
#[no_mangle]
pub unsafe extern "C" fn buffdb_begin(db: *const buffdb_db, out: *mut *mut buffdb_txn) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let out = Out::new(out, "out")?;
        let t = d.db.begin()?;
        new_handle(&out, buffdb_txn { t: Some(t) });
        Ok(())
    })
}

/// Commits every change of the transaction atomically. The transaction is finished
/// either way (later calls: BUFFDB_CLOSED); the handle must still be freed.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_commit(t: *mut buffdb_txn) -> buffdb_status {
    ffi(|| {
        let h = handle_mut(t, "txn")?;
        h.t.take().ok_or_else(|| Error::new(ErrorCode::Closed, "the transaction was already finished"))?.commit()
    })
}

/// Discards every change of the transaction. The handle must still be freed.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_rollback(t: *mut buffdb_txn) -> buffdb_status {
    ffi(|| {
        let h = handle_mut(t, "txn")?;
        h.t.take().ok_or_else(|| Error::new(ErrorCode::Closed, "the transaction was already finished"))?.rollback()
    })
}

/// Frees a transaction, rolling it back if still open. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_free(t: *mut buffdb_txn) {
    free_handle(t)
}

/// buffdb_get inside the transaction (caller's buffer).
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_get(
    t: *const buffdb_txn,
    key: *const u8,
    key_len: usize,
    buf: *mut u8,
    buf_len: usize,
    value_len: *mut usize,
) -> buffdb_status {
    ffi(|| {
        let t = txn(t)?;
        let key = bytes(key, key_len, "key")?;
        let buf = bytes_mut(buf, buf_len, "buf")?;
        let len = Out::new(value_len, "value_len")?;
        let v = t.get(key)?.ok_or_else(key_not_found)?;
        copy_out(&v, buf, &len, "value")
    })
}

/// buffdb_get_alloc inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_get_alloc(
    t: *const buffdb_txn,
    key: *const u8,
    key_len: usize,
    value: *mut *mut u8,
    value_len: *mut usize,
) -> buffdb_status {
    ffi(|| {
        let t = txn(t)?;
        let key = bytes(key, key_len, "key")?;
        let (value, len) = (Out::new(value, "value")?, Out::new(value_len, "value_len")?);
        give_bytes(t.get(key)?.ok_or_else(key_not_found)?, &value, &len);
        Ok(())
    })
}

/// buffdb_put inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_put(
    t: *const buffdb_txn,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> buffdb_status {
    ffi(|| txn(t)?.put(bytes(key, key_len, "key")?, bytes(value, value_len, "value")?))
}

/// buffdb_delete inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_delete(
    t: *const buffdb_txn,
    key: *const u8,
    key_len: usize,
    existed: *mut bool,
) -> buffdb_status {
    ffi(|| {
        let t = txn(t)?;
        let key = bytes(key, key_len, "key")?;
        Out::opt(existed).set(t.delete(key)?);
        Ok(())
    })
}

/// buffdb_contains inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_contains(
    t: *const buffdb_txn,
    key: *const u8,
    key_len: usize,
    out: *mut bool,
) -> buffdb_status {
    ffi(|| {
        let t = txn(t)?;
        let key = bytes(key, key_len, "key")?;
        let out = Out::new(out, "out")?;
        out.set(t.contains(key)?);
        Ok(())
    })
}

/// buffdb_count inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_count(
    t: *const buffdb_txn,
    prefix: *const u8,
    prefix_len: usize,
    out: *mut u64,
) -> buffdb_status {
    ffi(|| {
        let t = txn(t)?;
        let prefix = bytes(prefix, prefix_len, "prefix")?;
        let out = Out::new(out, "out")?;
        out.set(t.count(prefix)?);
        Ok(())
    })
}

/// buffdb_put_many inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_put_many(
    t: *const buffdb_txn,
    kv: *const buffdb_kv_pair,
    n: usize,
) -> buffdb_status {
    ffi(|| {
        let t = txn(t)?;
        t.put_many(&pairs(kv, n)?)
    })
}

/// buffdb_scan inside the transaction (sees the transaction's own writes). The cursor
/// is independent of the transaction once created.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_scan(
    t: *const buffdb_txn,
    prefix: *const u8,
    prefix_len: usize,
    start_after: *const u8,
    start_after_len: usize,
    limit: usize,
    out: *mut *mut buffdb_kv_cursor,
) -> buffdb_status {
    ffi(|| {
        let t = txn(t)?;
        let prefix = bytes(prefix, prefix_len, "prefix")?;
        let sa = opt_bytes(start_after, start_after_len, "start_after")?;
        let out = Out::new(out, "out")?;
        let mut page = crate::KvPage::default();
        for row in t.scan(prefix, sa, opt_limit(limit))? {
            let (k, v) = row?;
            page.push(&k, &v);
        }
        new_handle(&out, buffdb_kv_cursor::new(KvPages::Done, page));
        Ok(())
    })
}

/// buffdb_blob_put inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_blob_put(
    t: *const buffdb_txn,
    data: *const u8,
    data_len: usize,
    metadata: *const c_char,
    id: *mut u64,
) -> buffdb_status {
    ffi(|| {
        let t = txn(t)?;
        let data = bytes(data, data_len, "data")?;
        let metadata = opt_string(metadata, "metadata")?;
        let id = Out::new(id, "id")?;
        id.set(t.blob_put(data, metadata)?);
        Ok(())
    })
}

/// buffdb_blob_get inside the transaction (caller's buffer).
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_blob_get(
    t: *const buffdb_txn,
    id: u64,
    buf: *mut u8,
    buf_len: usize,
    data_len: *mut usize,
) -> buffdb_status {
    ffi(|| {
        let t = txn(t)?;
        let buf = bytes_mut(buf, buf_len, "buf")?;
        let len = Out::new(data_len, "data_len")?;
        let v = t.blob_get(id)?.ok_or_else(|| blob_not_found(id))?;
        copy_out(&v, buf, &len, "blob")
    })
}

/// buffdb_blob_get_alloc inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_blob_get_alloc(
    t: *const buffdb_txn,
    id: u64,
    data: *mut *mut u8,
    data_len: *mut usize,
) -> buffdb_status {
    ffi(|| {
        let t = txn(t)?;
        let (data, len) = (Out::new(data, "data")?, Out::new(data_len, "data_len")?);
        give_bytes(t.blob_get(id)?.ok_or_else(|| blob_not_found(id))?, &data, &len);
        Ok(())
    })
}

/// buffdb_blob_metadata inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_blob_metadata(
    t: *const buffdb_txn,
    id: u64,
    metadata: *mut *mut c_char,
) -> buffdb_status {
    ffi(|| {
        let t = txn(t)?;
        let out = Out::new(metadata, "metadata")?;
        let m = t.blob_metadata(id)?;
        out.set(match m {
            None => std::ptr::null_mut(),
            Some(s) => give_string(s)?,
        });
        Ok(())
    })
}

/// buffdb_blob_update inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_blob_update(
    t: *const buffdb_txn,
    id: u64,
    set_data: bool,
    data: *const u8,
    data_len: usize,
    set_metadata: bool,
    metadata: *const c_char,
) -> buffdb_status {
    ffi(|| {
        let t = txn(t)?;
        let data = if set_data { Some(bytes(data, data_len, "data")?) } else { None };
        let metadata = if set_metadata { Some(opt_string(metadata, "metadata")?) } else { None };
        t.blob_update(id, data, metadata)
    })
}

/// buffdb_blob_delete inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_blob_delete(t: *const buffdb_txn, id: u64, existed: *mut bool) -> buffdb_status {
    ffi(|| {
        let t = txn(t)?;
        Out::opt(existed).set(t.blob_delete(id)?);
        Ok(())
    })
}

/// buffdb_stream_write inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_stream_write(
    t: *const buffdb_txn,
    path: *const c_char,
    data: *const u8,
    data_len: usize,
    info: *mut buffdb_stream_info,
) -> buffdb_status {
    ffi(|| {
        let t = txn(t)?;
        let path = string(path, "path")?;
        let data = bytes(data, data_len, "data")?;
        let i = t.stream_write(path, data)?;
        Out::opt(info).set((&i).into());
        Ok(())
    })
}

/// buffdb_stream_read inside the transaction (caller's buffer).
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_stream_read(
    t: *const buffdb_txn,
    path: *const c_char,
    buf: *mut u8,
    buf_len: usize,
    data_len: *mut usize,
) -> buffdb_status {
    ffi(|| {
        let t = txn(t)?;
        let path = string(path, "path")?;
        let buf = bytes_mut(buf, buf_len, "buf")?;
        let len = Out::new(data_len, "data_len")?;
        copy_out(&t.stream_read(path)?, buf, &len, "stream")
    })
}

/// buffdb_stream_read_alloc inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_stream_read_alloc(
    t: *const buffdb_txn,
    path: *const c_char,
    data: *mut *mut u8,
    data_len: *mut usize,
) -> buffdb_status {
    ffi(|| {
        let t = txn(t)?;
        let path = string(path, "path")?;
        let (data, len) = (Out::new(data, "data")?, Out::new(data_len, "data_len")?);
        give_bytes(t.stream_read(path)?, &data, &len);
        Ok(())
    })
}

/// buffdb_stream_stat inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_stream_stat(
    t: *const buffdb_txn,
    path: *const c_char,
    out: *mut buffdb_stream_info,
) -> buffdb_status {
    ffi(|| {
        let t = txn(t)?;
        let path = string(path, "path")?;
        let out = Out::new(out, "out")?;
        out.set((&t.stream_stat(path)?).into());
        Ok(())
    })
}

/// buffdb_stream_delete inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_stream_delete(
    t: *const buffdb_txn,
    path: *const c_char,
    existed: *mut bool,
) -> buffdb_status {
    ffi(|| {
        let t = txn(t)?;
        let path = string(path, "path")?;
        Out::opt(existed).set(t.stream_delete(path)?);
        Ok(())
    })
}
