//! Prefix search over stream paths (on a database and in a transaction).

use std::ffi::{c_char, CString};

use super::*;

/// A lazy cursor over stream paths in byte order (buffdb_search, buffdb_txn_search).
/// A cursor from a transaction sees the transaction's own writes and gives
/// BUFFDB_CLOSED once it is committed or rolled back. Single-threaded (movable between
/// threads). Free with buffdb_search_cursor_free.
pub struct buffdb_search_cursor {
    items: crate::PathIter,
    current: Option<CString>,
}

// ---------------------------------------------------------------------------------------
// The operations, once each (on a database or a transaction)

unsafe fn search(
    o: &impl Ops,
    prefix: *const c_char,
    start_after: *const c_char,
    limit: usize,
    out: *mut *mut buffdb_search_cursor,
) -> Result<()> {
    let prefix = string(prefix, "prefix")?;
    let sa = opt_string(start_after, "start_after")?;
    let out = Out::new(out, "out")?;
    let items = o.search(prefix, sa, opt_limit(limit))?;
    new_handle(&out, buffdb_search_cursor { items, current: None });
    Ok(())
}

unsafe fn count(o: &impl Ops, prefix: *const c_char, out: *mut u64) -> Result<()> {
    let prefix = string(prefix, "prefix")?;
    let out = Out::new(out, "out")?;
    out.set(o.search_count(prefix)?);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Exports: each operation on a database (buffdb_X) and in a transaction (buffdb_txn_X)

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
    ffi(|| search(&db_ops(db)?, prefix, start_after, limit, out))
}

/// buffdb_search inside the transaction: the cursor sees the transaction's own writes
/// and gives BUFFDB_CLOSED once it is committed or rolled back.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_search(
    txn: *const buffdb_txn,
    prefix: *const c_char,
    start_after: *const c_char,
    limit: usize,
    out: *mut *mut buffdb_search_cursor,
) -> buffdb_status {
    ffi(|| search(&txn_ops(txn)?, prefix, start_after, limit, out))
}

/// How many stream paths start with `prefix`.
#[no_mangle]
pub unsafe extern "C" fn buffdb_search_count(
    db: *const buffdb_db,
    prefix: *const c_char,
    out: *mut u64,
) -> buffdb_status {
    ffi(|| count(&db_ops(db)?, prefix, out))
}

/// buffdb_search_count inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_search_count(
    txn: *const buffdb_txn,
    prefix: *const c_char,
    out: *mut u64,
) -> buffdb_status {
    ffi(|| count(&txn_ops(txn)?, prefix, out))
}

// ---------------------------------------------------------------------------------------
// Cursor

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
