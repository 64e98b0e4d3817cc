//! Key-value operations (on a database and in a transaction) and the KV cursor.

use super::*;
use crate::{KvPage, Result};

/// A borrowed byte string passed in by the caller (keys of batch calls).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct buffdb_slice {
    pub data: *const u8,
    pub len: usize,
}

/// A borrowed key/value pair passed in by the caller (buffdb_put_many).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct buffdb_kv_pair {
    pub key: *const u8,
    pub key_len: usize,
    pub value: *const u8,
    pub value_len: usize,
}

/// Bytes owned by the library (buffdb_get_many): `data` is NULL when the key is missing.
/// Free with buffdb_bytes_free(data, len) or all at once with buffdb_bytes_array_free.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct buffdb_bytes {
    pub data: *mut u8,
    pub len: usize,
}

/// Where a cursor's pages come from.
enum KvPages {
    Scan(crate::KvIter),
    Keys(crate::KeyIter),
    Done,
}

/// An ordered, lazy cursor over (key, value) pairs from buffdb_scan, buffdb_keys or their
/// buffdb_txn_ forms. It reads the engine's pages (one buffer each) and hands out rows
/// from them without copying. A cursor from a transaction reads the transaction's view
/// (its own writes included) and gives BUFFDB_CLOSED once the transaction is committed
/// or rolled back. Single-threaded: it may move to another thread but must not be used
/// by two at once. Free with buffdb_kv_cursor_free.
pub struct buffdb_kv_cursor {
    pages: KvPages,
    page: KvPage,
    /// Rows of `page` already handed out.
    pos: usize,
}

impl buffdb_kv_cursor {
    fn new(pages: KvPages) -> buffdb_kv_cursor {
        buffdb_kv_cursor { pages, page: KvPage::default(), pos: 0 }
    }

    /// Moves to the next row; `false` at the end. A row already fetched is not handed
    /// out once the source has closed or ended: CLOSED once, then the end.
    fn advance(&mut self) -> Result<bool> {
        if self.pos < self.page.len() {
            let open = match &self.pages {
                KvPages::Scan(it) => it.check_open(),
                KvPages::Keys(it) => it.check_open(),
                KvPages::Done => Ok(()),
            };
            if let Err(e) = open {
                self.pages = KvPages::Done;
                self.page = KvPage::default();
                self.pos = 0;
                return Err(e);
            }
            self.pos += 1;
            return Ok(true);
        }
        let next = match &mut self.pages {
            KvPages::Scan(it) => it.next_page(),
            KvPages::Keys(it) => it.next_page(),
            KvPages::Done => None,
        };
        match next {
            Some(page) => {
                self.page = page?;
                self.pos = 1;
                Ok(!self.page.is_empty())
            }
            None => {
                self.pages = KvPages::Done;
                self.page = KvPage::default();
                self.pos = 0;
                Ok(false)
            }
        }
    }
}

unsafe fn slices<'a>(list: *const buffdb_slice, n: usize, what: &str) -> Result<Vec<&'a [u8]>> {
    array(list, n, what)?.iter().enumerate().map(|(i, s)| bytes(s.data, s.len, &format!("{what}[{i}]"))).collect()
}

unsafe fn pairs<'a>(list: *const buffdb_kv_pair, n: usize) -> Result<Vec<(&'a [u8], &'a [u8])>> {
    array(list, n, "pairs")?
        .iter()
        .enumerate()
        .map(|(i, p)| {
            Ok((
                bytes(p.key, p.key_len, &format!("pairs[{i}].key"))?,
                bytes(p.value, p.value_len, &format!("pairs[{i}].value"))?,
            ))
        })
        .collect()
}

fn key_not_found() -> Error {
    Error::new(ErrorCode::NotFound, "key not found")
}

// ---------------------------------------------------------------------------------------
// The operations, once each (on a database or a transaction). get, get_alloc, put,
// delete and contains are the per-key calls: their exports call them with the `Db` or
// the `Txn` itself, so each form is compiled for its own source (over the run-time
// surface a get cost ~60 instructions more, 2% of a cached get); the rest take
// `db_ops`/`txn_ops` and exist once (see mod.rs).

unsafe fn get(o: &impl Ops, key: *const u8, key_len: usize, buf: *mut u8, cap: usize, len: *mut usize) -> Result<()> {
    let key = bytes(key, key_len, "key")?;
    let buf = bytes_mut(buf, cap, "buf")?;
    let len = Out::new(len, "value_len")?;
    o.get_with(key, |v| copy_out(v.ok_or_else(key_not_found)?, buf, &len, "value"))?
}

unsafe fn get_alloc(o: &impl Ops, key: *const u8, key_len: usize, data: *mut *mut u8, len: *mut usize) -> Result<()> {
    let key = bytes(key, key_len, "key")?;
    let (data, len) = (Out::new(data, "value")?, Out::new(len, "value_len")?);
    give_bytes(o.get(key)?.ok_or_else(key_not_found)?, &data, &len);
    Ok(())
}

unsafe fn put(o: &impl Ops, key: *const u8, key_len: usize, value: *const u8, value_len: usize) -> Result<()> {
    o.put(bytes(key, key_len, "key")?, bytes(value, value_len, "value")?)
}

unsafe fn delete(o: &impl Ops, key: *const u8, key_len: usize, existed: *mut bool) -> Result<()> {
    let key = bytes(key, key_len, "key")?;
    Out::opt(existed).set(o.delete(key)?);
    Ok(())
}

unsafe fn contains(o: &impl Ops, key: *const u8, key_len: usize, out: *mut bool) -> Result<()> {
    let key = bytes(key, key_len, "key")?;
    let out = Out::new(out, "out")?;
    out.set(o.contains(key)?);
    Ok(())
}

unsafe fn count(o: &impl Ops, prefix: *const u8, prefix_len: usize, out: *mut u64) -> Result<()> {
    let prefix = bytes(prefix, prefix_len, "prefix")?;
    let out = Out::new(out, "out")?;
    out.set(o.count(prefix)?);
    Ok(())
}

unsafe fn put_many(o: &impl Ops, list: *const buffdb_kv_pair, n: usize) -> Result<()> {
    o.put_many(&pairs(list, n)?)
}

unsafe fn get_many(o: &impl Ops, keys: *const buffdb_slice, n: usize, values: *mut buffdb_bytes) -> Result<()> {
    let keys = slices(keys, n, "keys")?;
    if values.is_null() && n > 0 {
        return Err(invalid("out-parameter values is NULL"));
    }
    for (i, v) in o.get_many(&keys)?.into_iter().enumerate() {
        values.add(i).write(give_opt_bytes(v));
    }
    Ok(())
}

/// `eq` (`distinct` false) or `not_eq` (`distinct` true).
unsafe fn equal(o: &impl Ops, keys: *const buffdb_slice, n: usize, distinct: bool, out: *mut bool) -> Result<()> {
    let keys = slices(keys, n, "keys")?;
    let out = Out::new(out, "out")?;
    out.set(if distinct { o.not_eq(&keys)? } else { o.eq(&keys)? });
    Ok(())
}

/// `scan` (`values` true) or `keys` (`values` false) into a new cursor.
#[allow(clippy::too_many_arguments)]
unsafe fn cursor(
    o: &impl Ops,
    values: bool,
    prefix: *const u8,
    prefix_len: usize,
    start_after: *const u8,
    start_after_len: usize,
    limit: usize,
    out: *mut *mut buffdb_kv_cursor,
) -> Result<()> {
    let prefix = bytes(prefix, prefix_len, "prefix")?;
    let sa = opt_bytes(start_after, start_after_len, "start_after")?;
    let out = Out::new(out, "out")?;
    let pages = if values {
        KvPages::Scan(o.scan(prefix, sa, opt_limit(limit))?)
    } else {
        KvPages::Keys(o.keys(prefix, sa, opt_limit(limit))?)
    };
    new_handle(&out, buffdb_kv_cursor::new(pages));
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Exports: each operation on a database (buffdb_X) and in a transaction (buffdb_txn_X)

/// Reads the value of `key` into the caller's buffer `buf` (`buf_len` bytes; NULL with 0
/// asks for the size). On BUFFDB_OK `*value_len` is the value's length. When the buffer
/// is too small: BUFFDB_BUFFER_TOO_SMALL, `*value_len` = the needed size, `buf` untouched.
/// A missing key gives BUFFDB_NOT_FOUND. No allocation happens on this path.
#[no_mangle]
pub unsafe extern "C" fn buffdb_get(
    db: *const buffdb_db,
    key: *const u8,
    key_len: usize,
    buf: *mut u8,
    buf_len: usize,
    value_len: *mut usize,
) -> buffdb_status {
    ffi(|| get(db_of(db)?, key, key_len, buf, buf_len, value_len))
}

/// buffdb_get inside the transaction (sees its own writes).
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_get(
    txn: *const buffdb_txn,
    key: *const u8,
    key_len: usize,
    buf: *mut u8,
    buf_len: usize,
    value_len: *mut usize,
) -> buffdb_status {
    ffi(|| get(txn_of(txn)?, key, key_len, buf, buf_len, value_len))
}

/// Reads the value of `key` into memory allocated by the library: `*value` / `*value_len`,
/// freed with buffdb_bytes_free(*value, *value_len). A missing key gives BUFFDB_NOT_FOUND.
#[no_mangle]
pub unsafe extern "C" fn buffdb_get_alloc(
    db: *const buffdb_db,
    key: *const u8,
    key_len: usize,
    value: *mut *mut u8,
    value_len: *mut usize,
) -> buffdb_status {
    ffi(|| get_alloc(db_of(db)?, key, key_len, value, value_len))
}

/// buffdb_get_alloc inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_get_alloc(
    txn: *const buffdb_txn,
    key: *const u8,
    key_len: usize,
    value: *mut *mut u8,
    value_len: *mut usize,
) -> buffdb_status {
    ffi(|| get_alloc(txn_of(txn)?, key, key_len, value, value_len))
}

/// Stores `value` under `key` (replacing any value). Keys: 1..=4096 bytes; values up to
/// 64 MiB (BUFFDB_TOO_LARGE beyond; use blobs or streams for big data).
#[no_mangle]
pub unsafe extern "C" fn buffdb_put(
    db: *const buffdb_db,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> buffdb_status {
    ffi(|| put(db_of(db)?, key, key_len, value, value_len))
}

/// buffdb_put inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_put(
    txn: *const buffdb_txn,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> buffdb_status {
    ffi(|| put(txn_of(txn)?, key, key_len, value, value_len))
}

/// Deletes `key`. `*existed` (may be NULL) says whether it was there.
#[no_mangle]
pub unsafe extern "C" fn buffdb_delete(
    db: *const buffdb_db,
    key: *const u8,
    key_len: usize,
    existed: *mut bool,
) -> buffdb_status {
    ffi(|| delete(db_of(db)?, key, key_len, existed))
}

/// buffdb_delete inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_delete(
    txn: *const buffdb_txn,
    key: *const u8,
    key_len: usize,
    existed: *mut bool,
) -> buffdb_status {
    ffi(|| delete(txn_of(txn)?, key, key_len, existed))
}

/// Whether `key` exists.
#[no_mangle]
pub unsafe extern "C" fn buffdb_contains(
    db: *const buffdb_db,
    key: *const u8,
    key_len: usize,
    out: *mut bool,
) -> buffdb_status {
    ffi(|| contains(db_of(db)?, key, key_len, out))
}

/// buffdb_contains inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_contains(
    txn: *const buffdb_txn,
    key: *const u8,
    key_len: usize,
    out: *mut bool,
) -> buffdb_status {
    ffi(|| contains(txn_of(txn)?, key, key_len, out))
}

/// How many keys start with `prefix` (empty prefix: all keys).
#[no_mangle]
pub unsafe extern "C" fn buffdb_count(
    db: *const buffdb_db,
    prefix: *const u8,
    prefix_len: usize,
    out: *mut u64,
) -> buffdb_status {
    ffi(|| count(&db_ops(db)?, prefix, prefix_len, out))
}

/// buffdb_count inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_count(
    txn: *const buffdb_txn,
    prefix: *const u8,
    prefix_len: usize,
    out: *mut u64,
) -> buffdb_status {
    ffi(|| count(&txn_ops(txn)?, prefix, prefix_len, out))
}

/// Stores `n` pairs atomically (all or nothing).
#[no_mangle]
pub unsafe extern "C" fn buffdb_put_many(
    db: *const buffdb_db,
    pairs: *const buffdb_kv_pair,
    n: usize,
) -> buffdb_status {
    ffi(|| put_many(&db_ops(db)?, pairs, n))
}

/// buffdb_put_many inside the transaction (all or nothing within it).
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_put_many(
    txn: *const buffdb_txn,
    pairs: *const buffdb_kv_pair,
    n: usize,
) -> buffdb_status {
    ffi(|| put_many(&txn_ops(txn)?, pairs, n))
}

/// Reads `n` keys in one read transaction. `values` is the caller's array of `n`
/// elements; on success each element owns its value (`data` NULL = missing key); free
/// them with buffdb_bytes_array_free(values, n).
#[no_mangle]
pub unsafe extern "C" fn buffdb_get_many(
    db: *const buffdb_db,
    keys: *const buffdb_slice,
    n: usize,
    values: *mut buffdb_bytes,
) -> buffdb_status {
    ffi(|| get_many(&db_ops(db)?, keys, n, values))
}

/// buffdb_get_many inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_get_many(
    txn: *const buffdb_txn,
    keys: *const buffdb_slice,
    n: usize,
    values: *mut buffdb_bytes,
) -> buffdb_status {
    ffi(|| get_many(&txn_ops(txn)?, keys, n, values))
}

/// Frees the values of buffdb_get_many (not the array itself, which is the caller's).
/// Each element is reset to NULL/0. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn buffdb_bytes_array_free(values: *mut buffdb_bytes, n: usize) {
    if values.is_null() {
        return;
    }
    for i in 0..n {
        let v = &mut *values.add(i);
        buffdb_bytes_free(v.data, v.len);
        v.data = std::ptr::null_mut();
        v.len = 0;
    }
}

/// Whether all `n` keys hold equal values (a missing key gives BUFFDB_NOT_FOUND).
#[no_mangle]
pub unsafe extern "C" fn buffdb_eq(
    db: *const buffdb_db,
    keys: *const buffdb_slice,
    n: usize,
    out: *mut bool,
) -> buffdb_status {
    ffi(|| equal(&db_ops(db)?, keys, n, false, out))
}

/// buffdb_eq inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_eq(
    txn: *const buffdb_txn,
    keys: *const buffdb_slice,
    n: usize,
    out: *mut bool,
) -> buffdb_status {
    ffi(|| equal(&txn_ops(txn)?, keys, n, false, out))
}

/// Whether the `n` keys hold pairwise distinct values (a missing key gives
/// BUFFDB_NOT_FOUND).
#[no_mangle]
pub unsafe extern "C" fn buffdb_not_eq(
    db: *const buffdb_db,
    keys: *const buffdb_slice,
    n: usize,
    out: *mut bool,
) -> buffdb_status {
    ffi(|| equal(&db_ops(db)?, keys, n, true, out))
}

/// buffdb_not_eq inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_not_eq(
    txn: *const buffdb_txn,
    keys: *const buffdb_slice,
    n: usize,
    out: *mut bool,
) -> buffdb_status {
    ffi(|| equal(&txn_ops(txn)?, keys, n, true, out))
}

/// Starts an ordered scan of the pairs whose key starts with `prefix`, after
/// `start_after` (NULL = from the first), at most `limit` pairs (BUFFDB_NO_LIMIT = all).
/// The cursor fetches lazily, page by page. Free it with buffdb_kv_cursor_free.
#[no_mangle]
pub unsafe extern "C" fn buffdb_scan(
    db: *const buffdb_db,
    prefix: *const u8,
    prefix_len: usize,
    start_after: *const u8,
    start_after_len: usize,
    limit: usize,
    out: *mut *mut buffdb_kv_cursor,
) -> buffdb_status {
    ffi(|| cursor(&db_ops(db)?, true, prefix, prefix_len, start_after, start_after_len, limit, out))
}

/// buffdb_scan inside the transaction: the cursor sees the transaction's own writes and
/// gives BUFFDB_CLOSED once the transaction is committed or rolled back.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_scan(
    txn: *const buffdb_txn,
    prefix: *const u8,
    prefix_len: usize,
    start_after: *const u8,
    start_after_len: usize,
    limit: usize,
    out: *mut *mut buffdb_kv_cursor,
) -> buffdb_status {
    ffi(|| cursor(&txn_ops(txn)?, true, prefix, prefix_len, start_after, start_after_len, limit, out))
}

/// Like buffdb_scan but the cursor yields keys only (values come back empty).
#[no_mangle]
pub unsafe extern "C" fn buffdb_keys(
    db: *const buffdb_db,
    prefix: *const u8,
    prefix_len: usize,
    start_after: *const u8,
    start_after_len: usize,
    limit: usize,
    out: *mut *mut buffdb_kv_cursor,
) -> buffdb_status {
    ffi(|| cursor(&db_ops(db)?, false, prefix, prefix_len, start_after, start_after_len, limit, out))
}

/// buffdb_keys inside the transaction (the cursor as with buffdb_txn_scan).
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_keys(
    txn: *const buffdb_txn,
    prefix: *const u8,
    prefix_len: usize,
    start_after: *const u8,
    start_after_len: usize,
    limit: usize,
    out: *mut *mut buffdb_kv_cursor,
) -> buffdb_status {
    ffi(|| cursor(&txn_ops(txn)?, false, prefix, prefix_len, start_after, start_after_len, limit, out))
}

// ---------------------------------------------------------------------------------------
// Cursor

/// Advances the cursor. On BUFFDB_OK either `*key` points at the next key (and `*value`
/// at its value, when `value` is not NULL) or, at the end, `*key` is NULL. The pointers
/// borrow from the cursor and stay valid until the next call on it or its free.
/// `value` and `value_len` may be NULL.
#[no_mangle]
pub unsafe extern "C" fn buffdb_kv_cursor_next(
    cursor: *mut buffdb_kv_cursor,
    key: *mut *const u8,
    key_len: *mut usize,
    value: *mut *const u8,
    value_len: *mut usize,
) -> buffdb_status {
    ffi(|| {
        let c = handle_mut(cursor, "cursor")?;
        let (key, key_len) = (Out::new(key, "key")?, Out::new(key_len, "key_len")?);
        let (value, value_len) = (Out::opt(value), Out::opt(value_len));
        let row = if c.advance()? { c.page.get(c.pos - 1) } else { None };
        match row {
            None => {
                key.set(std::ptr::null());
                key_len.set(0);
                value.set(std::ptr::null());
                value_len.set(0);
            }
            Some((k, v)) => {
                key.set(k.as_ptr());
                key_len.set(k.len());
                value.set(v.as_ptr());
                value_len.set(v.len());
            }
        }
        Ok(())
    })
}

/// Frees a KV cursor. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn buffdb_kv_cursor_free(cursor: *mut buffdb_kv_cursor) {
    free_handle(cursor)
}
