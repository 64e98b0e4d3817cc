//! Key-value calls and the KV cursor.

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
pub(crate) enum KvPages {
    Scan(crate::KvIter),
    Keys(crate::KeyIter),
    /// Everything is in the first page already (a transaction's scan).
    Done,
}

/// An ordered, lazy cursor over (key, value) pairs from buffdb_scan, buffdb_keys or
/// buffdb_txn_scan. It reads the engine's pages (one buffer each) and hands out rows
/// from them without copying. Single-threaded: it may move to another thread but must
/// not be used by two at once. Free with buffdb_kv_cursor_free.
pub struct buffdb_kv_cursor {
    pages: KvPages,
    page: KvPage,
    /// Rows of `page` already handed out.
    pos: usize,
}

impl buffdb_kv_cursor {
    pub(crate) fn new(pages: KvPages, first: KvPage) -> buffdb_kv_cursor {
        buffdb_kv_cursor { pages, page: first, pos: 0 }
    }

    /// Moves to the next row; `false` at the end.
    fn advance(&mut self) -> Result<bool> {
        if self.pos < self.page.len() {
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

pub(crate) unsafe fn slices<'a>(list: *const buffdb_slice, n: usize, what: &str) -> Result<Vec<&'a [u8]>> {
    let list = bytes_slice_of(list, n, what)?;
    list.iter().enumerate().map(|(i, s)| bytes(s.data, s.len, &format!("{what}[{i}]"))).collect()
}

pub(crate) unsafe fn pairs<'a>(list: *const buffdb_kv_pair, n: usize) -> Result<Vec<(&'a [u8], &'a [u8])>> {
    let list = bytes_slice_of(list, n, "pairs")?;
    list.iter()
        .enumerate()
        .map(|(i, p)| {
            Ok((
                bytes(p.key, p.key_len, &format!("pairs[{i}].key"))?,
                bytes(p.value, p.value_len, &format!("pairs[{i}].value"))?,
            ))
        })
        .collect()
}

/// An array argument of `n` elements (NULL only with n == 0).
pub(crate) unsafe fn bytes_slice_of<'a, T>(p: *const T, n: usize, what: &str) -> Result<&'a [T]> {
    if n > isize::MAX as usize / std::mem::size_of::<T>().max(1) {
        return Err(invalid(format!("{what}: impossible count {n}")));
    }
    if p.is_null() {
        if n == 0 {
            return Ok(&[]);
        }
        return Err(invalid(format!("{what} is NULL but its count is {n}")));
    }
    Ok(std::slice::from_raw_parts(p, n))
}

/// `start_after`: NULL = from the beginning.
pub(crate) unsafe fn opt_bytes<'a>(p: *const u8, len: usize, what: &str) -> Result<Option<&'a [u8]>> {
    if p.is_null() {
        if len != 0 {
            return Err(invalid(format!("{what} is NULL but its length is {len}")));
        }
        Ok(None)
    } else {
        bytes(p, len, what).map(Some)
    }
}

/// `limit`: BUFFDB_NO_LIMIT (SIZE_MAX) = no limit.
pub(crate) fn opt_limit(limit: usize) -> Option<usize> {
    if limit == BUFFDB_NO_LIMIT {
        None
    } else {
        Some(limit)
    }
}

/// `limit` value meaning "no limit" (`#define BUFFDB_NO_LIMIT SIZE_MAX` in the header).
pub(crate) const BUFFDB_NO_LIMIT: usize = usize::MAX;

/// Copies `value` into the caller's buffer, or reports the needed size.
pub(crate) fn copy_out(value: &[u8], buf: &mut [u8], len: &Out<usize>, what: &str) -> Result<()> {
    if value.len() > buf.len() {
        len.set(value.len());
        return Err(too_small(value.len(), buf.len(), what));
    }
    buf[..value.len()].copy_from_slice(value);
    len.set(value.len());
    Ok(())
}

pub(crate) fn key_not_found() -> Error {
    Error::new(ErrorCode::NotFound, "key not found")
}

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
    ffi(|| {
        let d = handle(db, "db")?;
        let key = bytes(key, key_len, "key")?;
        let buf = bytes_mut(buf, buf_len, "buf")?;
        let len = Out::new(value_len, "value_len")?;
        d.db.get_with(key, |v| match v {
            None => Err(key_not_found()),
            Some(v) => copy_out(v, buf, &len, "value"),
        })?
    })
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
    ffi(|| {
        let d = handle(db, "db")?;
        let key = bytes(key, key_len, "key")?;
        let (value, len) = (Out::new(value, "value")?, Out::new(value_len, "value_len")?);
        let v = d.db.get(key)?.ok_or_else(key_not_found)?;
        give_bytes(v, &value, &len);
        Ok(())
    })
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
    ffi(|| {
        let d = handle(db, "db")?;
        d.db.put(bytes(key, key_len, "key")?, bytes(value, value_len, "value")?)
    })
}

/// Deletes `key`. `*existed` (may be NULL) says whether it was there.
#[no_mangle]
pub unsafe extern "C" fn buffdb_delete(
    db: *const buffdb_db,
    key: *const u8,
    key_len: usize,
    existed: *mut bool,
) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let key = bytes(key, key_len, "key")?;
        Out::opt(existed).set(d.db.delete(key)?);
        Ok(())
    })
}

/// Whether `key` exists.
#[no_mangle]
pub unsafe extern "C" fn buffdb_contains(
    db: *const buffdb_db,
    key: *const u8,
    key_len: usize,
    out: *mut bool,
) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let key = bytes(key, key_len, "key")?;
        let out = Out::new(out, "out")?;
        out.set(d.db.contains(key)?);
        Ok(())
    })
}

/// How many keys start with `prefix` (empty prefix: all keys).
#[no_mangle]
pub unsafe extern "C" fn buffdb_count(
    db: *const buffdb_db,
    prefix: *const u8,
    prefix_len: usize,
    out: *mut u64,
) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let prefix = bytes(prefix, prefix_len, "prefix")?;
        let out = Out::new(out, "out")?;
        out.set(d.db.count(prefix)?);
        Ok(())
    })
}

/// Stores `n` pairs atomically (all or nothing).
#[no_mangle]
pub unsafe extern "C" fn buffdb_put_many(
    db: *const buffdb_db,
    pairs: *const buffdb_kv_pair,
    n: usize,
) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        d.db.put_many(&self::pairs(pairs, n)?)
    })
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
    ffi(|| {
        let d = handle(db, "db")?;
        let keys = slices(keys, n, "keys")?;
        if values.is_null() && n > 0 {
            return Err(invalid("out-parameter values is NULL"));
        }
        let got = d.db.get_many(&keys)?;
        for (i, v) in got.into_iter().enumerate() {
            let item = match v {
                None => buffdb_bytes { data: std::ptr::null_mut(), len: 0 },
                Some(v) => {
                    let b = v.into_boxed_slice();
                    let len = b.len();
                    buffdb_bytes { data: Box::into_raw(b) as *mut u8, len }
                }
            };
            values.add(i).write(item);
        }
        Ok(())
    })
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
    ffi(|| {
        let d = handle(db, "db")?;
        let keys = slices(keys, n, "keys")?;
        let out = Out::new(out, "out")?;
        out.set(d.db.eq(&keys)?);
        Ok(())
    })
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
    ffi(|| {
        let d = handle(db, "db")?;
        let keys = slices(keys, n, "keys")?;
        let out = Out::new(out, "out")?;
        out.set(d.db.not_eq(&keys)?);
        Ok(())
    })
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
    ffi(|| {
        let d = handle(db, "db")?;
        let prefix = bytes(prefix, prefix_len, "prefix")?;
        let sa = opt_bytes(start_after, start_after_len, "start_after")?;
        let out = Out::new(out, "out")?;
        let it = d.db.scan(prefix, sa, opt_limit(limit))?;
        new_handle(&out, buffdb_kv_cursor::new(KvPages::Scan(it), KvPage::default()));
        Ok(())
    })
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
    ffi(|| {
        let d = handle(db, "db")?;
        let prefix = bytes(prefix, prefix_len, "prefix")?;
        let sa = opt_bytes(start_after, start_after_len, "start_after")?;
        let out = Out::new(out, "out")?;
        let it = d.db.keys(prefix, sa, opt_limit(limit))?;
        new_handle(&out, buffdb_kv_cursor::new(KvPages::Keys(it), KvPage::default()));
        Ok(())
    })
}

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
