//! Secondary indexes (on a database and in a transaction): create, drop, list, and the
//! lazy lookups buffdb_find / buffdb_find_range. Values cross the boundary as JSON text.

use std::ffi::{c_char, CString};

use super::*;
use crate::{FindIter, IndexEntry, IndexInfo, JsonValue, Record};

/// What an index entry points at (the `kind` field of buffdb_index_entry holds one of
/// these numbers): a KV key (`"kv"` indexes), a blob id (`"blob"`), a stream path
/// (`"stream"`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum buffdb_record_kind {
    BUFFDB_RECORD_KEY = 0,
    BUFFDB_RECORD_BLOB = 1,
    BUFFDB_RECORD_PATH = 2,
}

/// One entry of an index: the value found in the record and the record. Given by
/// buffdb_find_next (borrowed from the cursor until its next call or its free), and
/// taken by buffdb_find_range as `start_after` (the last entry of the page before).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct buffdb_index_entry {
    /// The value as JSON text (NUL-terminated): a string, number, boolean or null.
    pub value: *const c_char,
    /// A buffdb_record_kind number.
    pub kind: i32,
    /// BUFFDB_RECORD_KEY: the key's bytes; BUFFDB_RECORD_PATH: the path's UTF-8 bytes
    /// (in results also NUL-terminated, the NUL not counted). NULL for a blob.
    pub record: *const u8,
    pub record_len: usize,
    /// BUFFDB_RECORD_BLOB: the blob id (0 otherwise).
    pub blob_id: u64,
}

/// One index as buffdb_indexes_get shows it; the pointers are borrowed from the list
/// until buffdb_indexes_free.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct buffdb_index_info {
    /// The index name (NUL-terminated).
    pub name: *const c_char,
    /// "kv", "blob" or "stream".
    pub source: *const c_char,
    /// The JSON path, e.g. "$.email".
    pub json_path: *const c_char,
    /// Only records whose key or path starts with these bytes are indexed; NULL = every
    /// record (an empty prefix is a non-NULL pointer with length 0).
    pub key_prefix: *const u8,
    pub key_prefix_len: usize,
    /// A second record with the same value is refused with BUFFDB_CONFLICT.
    pub unique: bool,
    /// False while an interrupted build is unfinished (buffdb_index_create again with
    /// the same definition finishes it).
    pub ready: bool,
    /// Entries in the index.
    pub entries: u64,
}

struct ListedIndex {
    name: CString,
    source: CString,
    json_path: CString,
    key_prefix: Option<Vec<u8>>,
    unique: bool,
    ready: bool,
    entries: u64,
}

fn c_text(s: String, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::new(ErrorCode::Internal, format!("{what} contains a NUL byte")))
}

impl ListedIndex {
    fn new(i: IndexInfo) -> Result<ListedIndex> {
        Ok(ListedIndex {
            name: c_text(i.name, "index name")?,
            source: c_text(i.source, "index source")?,
            json_path: c_text(i.json_path, "index path")?,
            key_prefix: i.key_prefix,
            unique: i.unique,
            ready: i.ready,
            entries: i.entries,
        })
    }
}

/// The indexes buffdb_index_list gives, by name, read by position. Immutable: may be
/// read from several threads. Free with buffdb_indexes_free.
pub struct buffdb_indexes {
    items: Vec<ListedIndex>,
}

/// A lazy, ordered cursor over index entries (buffdb_find, buffdb_find_range and their
/// buffdb_txn_ forms): it reads a page at a time, each its own short read. A cursor
/// from a transaction sees the transaction's own writes and gives BUFFDB_CLOSED once it
/// is committed or rolled back. Single-threaded (movable between threads). Free with
/// buffdb_find_cursor_free.
pub struct buffdb_find_cursor {
    items: FindIter,
    /// The current entry's value (JSON text) and record (a path is NUL-terminated).
    value: CString,
    record: Vec<u8>,
}

/// A JSON text argument (NULL is an error).
unsafe fn json(p: *const c_char, what: &str) -> Result<JsonValue> {
    let text = string(p, what)?;
    serde_json::from_str(text).map_err(|e| invalid(format!("{what} is not JSON text ({e}): {text:?}")))
}

/// A JSON text argument where NULL means "none" (an open end of a range).
unsafe fn opt_json(p: *const c_char, what: &str) -> Result<Option<JsonValue>> {
    if p.is_null() {
        Ok(None)
    } else {
        json(p, what).map(Some)
    }
}

/// The caller's `start_after` entry as the engine's.
unsafe fn entry_arg(e: &buffdb_index_entry) -> Result<IndexEntry> {
    const KEY: i32 = buffdb_record_kind::BUFFDB_RECORD_KEY as i32;
    const BLOB: i32 = buffdb_record_kind::BUFFDB_RECORD_BLOB as i32;
    const PATH: i32 = buffdb_record_kind::BUFFDB_RECORD_PATH as i32;
    let value = json(e.value, "start_after.value")?;
    let record = match e.kind {
        KEY => Record::Key(bytes(e.record, e.record_len, "start_after.record")?.to_vec()),
        BLOB => Record::Blob(e.blob_id),
        PATH => Record::Path(
            std::str::from_utf8(bytes(e.record, e.record_len, "start_after.record")?)
                .map_err(|_| invalid("start_after.record is not valid UTF-8 (a stream path)"))?
                .to_owned(),
        ),
        k => return Err(invalid(format!("start_after.kind {k} is not a buffdb_record_kind"))),
    };
    Ok(IndexEntry { value, record })
}

// ---------------------------------------------------------------------------------------
// The operations, once each (on a database or a transaction)

#[allow(clippy::too_many_arguments)]
unsafe fn create(
    o: &impl Ops,
    name: *const c_char,
    source: *const c_char,
    json_path: *const c_char,
    unique: bool,
    key_prefix: *const u8,
    key_prefix_len: usize,
    entries: *mut u64,
) -> Result<()> {
    let name = string(name, "name")?;
    let source = string(source, "source")?;
    let json_path = string(json_path, "json_path")?;
    let key_prefix = opt_bytes(key_prefix, key_prefix_len, "key_prefix")?;
    let info = o.create_index(name, source, json_path, unique, key_prefix)?;
    Out::opt(entries).set(info.entries);
    Ok(())
}

unsafe fn drop_index(o: &impl Ops, name: *const c_char, existed: *mut bool) -> Result<()> {
    let name = string(name, "name")?;
    Out::opt(existed).set(o.drop_index(name)?);
    Ok(())
}

unsafe fn list(o: &impl Ops, out: *mut *mut buffdb_indexes) -> Result<()> {
    let out = Out::new(out, "out")?;
    let items = o.list_indexes()?.into_iter().map(ListedIndex::new).collect::<Result<_>>()?;
    new_handle(&out, buffdb_indexes { items });
    Ok(())
}

fn cursor(items: FindIter, out: &Out<*mut buffdb_find_cursor>) {
    new_handle(out, buffdb_find_cursor { items, value: CString::default(), record: Vec::new() });
}

unsafe fn find(o: &impl Ops, name: *const c_char, value: *const c_char, out: *mut *mut buffdb_find_cursor) -> Result<()> {
    let name = string(name, "name")?;
    let value = json(value, "value")?;
    let out = Out::new(out, "out")?;
    cursor(o.find(name, &value)?, &out);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
unsafe fn find_range(
    o: &impl Ops,
    name: *const c_char,
    low: *const c_char,
    high: *const c_char,
    reverse: bool,
    start_after: *const buffdb_index_entry,
    limit: usize,
    out: *mut *mut buffdb_find_cursor,
) -> Result<()> {
    let name = string(name, "name")?;
    let low = opt_json(low, "low")?;
    let high = opt_json(high, "high")?;
    let start_after = start_after.as_ref().map(|e| entry_arg(e)).transpose()?;
    let out = Out::new(out, "out")?;
    let items = o.find_range(name, low.as_ref(), high.as_ref(), reverse, start_after.as_ref(), opt_limit(limit))?;
    cursor(items, &out);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Exports: each operation on a database (buffdb_X) and in a transaction (buffdb_txn_X)

/// Creates the index `name` (a plain identifier: a letter or _, then letters, digits and
/// _) over `source` ("kv": KV values, "blob": blob metadata, "stream": the metadata of
/// each stream's newest version), holding the JSON value at `json_path` (e.g. "$.email",
/// "$.a.b[0]") of each record whose key or path starts with `key_prefix` (NULL = every
/// record; only for "kv" and "stream"). A record that is not JSON, lacks the path or has
/// an array or object there is not in the index. `unique` refuses a second record with
/// the same value (BUFFDB_CONFLICT). It is built over the existing records before this
/// returns (on a database in batches, each its own short write); `*entries` (may be NULL)
/// is how many it holds. Bad input is BUFFDB_INVALID_ARGUMENT, an existing name or a
/// duplicate found by a unique build BUFFDB_CONFLICT: each leaves no index behind.
#[no_mangle]
pub unsafe extern "C" fn buffdb_index_create(
    db: *const buffdb_db,
    name: *const c_char,
    source: *const c_char,
    json_path: *const c_char,
    unique: bool,
    key_prefix: *const u8,
    key_prefix_len: usize,
    entries: *mut u64,
) -> buffdb_status {
    ffi(|| create(&db_ops(db)?, name, source, json_path, unique, key_prefix, key_prefix_len, entries))
}

/// buffdb_index_create inside the transaction (built inside it, gone if it rolls back).
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_index_create(
    txn: *const buffdb_txn,
    name: *const c_char,
    source: *const c_char,
    json_path: *const c_char,
    unique: bool,
    key_prefix: *const u8,
    key_prefix_len: usize,
    entries: *mut u64,
) -> buffdb_status {
    ffi(|| create(&txn_ops(txn)?, name, source, json_path, unique, key_prefix, key_prefix_len, entries))
}

/// Drops the index `name` and its entries; `*existed` (may be NULL) says whether it was
/// there.
#[no_mangle]
pub unsafe extern "C" fn buffdb_index_drop(db: *const buffdb_db, name: *const c_char, existed: *mut bool) -> buffdb_status {
    ffi(|| drop_index(&db_ops(db)?, name, existed))
}

/// buffdb_index_drop inside the transaction.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_index_drop(
    txn: *const buffdb_txn,
    name: *const c_char,
    existed: *mut bool,
) -> buffdb_status {
    ffi(|| drop_index(&txn_ops(txn)?, name, existed))
}

/// Every index, by name, with its entry count, into a new list (read it with
/// buffdb_indexes_count and buffdb_indexes_get; free it with buffdb_indexes_free).
#[no_mangle]
pub unsafe extern "C" fn buffdb_index_list(db: *const buffdb_db, out: *mut *mut buffdb_indexes) -> buffdb_status {
    ffi(|| list(&db_ops(db)?, out))
}

/// buffdb_index_list inside the transaction (sees its own creates and drops).
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_index_list(
    txn: *const buffdb_txn,
    out: *mut *mut buffdb_indexes,
) -> buffdb_status {
    ffi(|| list(&txn_ops(txn)?, out))
}

/// How many indexes the list holds.
#[no_mangle]
pub unsafe extern "C" fn buffdb_indexes_count(list: *const buffdb_indexes, out: *mut usize) -> buffdb_status {
    ffi(|| {
        let l = handle(list, "list")?;
        Out::new(out, "out")?.set(l.items.len());
        Ok(())
    })
}

/// The index at position `i` (0-based, by name) of the list; its pointers are borrowed
/// from the list. A position past the end gives BUFFDB_INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn buffdb_indexes_get(
    list: *const buffdb_indexes,
    i: usize,
    out: *mut buffdb_index_info,
) -> buffdb_status {
    ffi(|| {
        let l = handle(list, "list")?;
        let out = Out::new(out, "out")?;
        let x = l.items.get(i).ok_or_else(|| invalid(format!("index {i} is past the list's {}", l.items.len())))?;
        out.set(buffdb_index_info {
            name: x.name.as_ptr(),
            source: x.source.as_ptr(),
            json_path: x.json_path.as_ptr(),
            key_prefix: x.key_prefix.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()),
            key_prefix_len: x.key_prefix.as_ref().map_or(0, Vec::len),
            unique: x.unique,
            ready: x.ready,
            entries: x.entries,
        });
        Ok(())
    })
}

/// Frees an index list. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn buffdb_indexes_free(list: *mut buffdb_indexes) {
    free_handle(list)
}

/// Starts an exact lookup: the records of index `name` whose value is `value` (JSON text:
/// a string such as "\"ada@x\"", a number, true, false or null), in record order. Lazy.
/// An unknown index gives BUFFDB_NOT_FOUND, text that is not JSON, an array or an object
/// BUFFDB_INVALID_ARGUMENT. Free the cursor with buffdb_find_cursor_free.
#[no_mangle]
pub unsafe extern "C" fn buffdb_find(
    db: *const buffdb_db,
    name: *const c_char,
    value: *const c_char,
    out: *mut *mut buffdb_find_cursor,
) -> buffdb_status {
    ffi(|| find(&db_ops(db)?, name, value, out))
}

/// buffdb_find inside the transaction: the cursor sees the transaction's own writes and
/// gives BUFFDB_CLOSED once it is committed or rolled back.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_find(
    txn: *const buffdb_txn,
    name: *const c_char,
    value: *const c_char,
    out: *mut *mut buffdb_find_cursor,
) -> buffdb_status {
    ffi(|| find(&txn_ops(txn)?, name, value, out))
}

/// Starts a range lookup: the entries of index `name` with `low <= value <= high` (JSON
/// text; NULL = unbounded), in index order (by JSON type: null, false, true, numbers,
/// strings; then by value, numbers numerically and strings by bytes; then by record), or
/// the reverse; after `start_after` (NULL = from the first; else the last entry of the
/// page before, as buffdb_find_next gave it), at most `limit` (BUFFDB_NO_LIMIT = all).
/// Lazy. Free the cursor with buffdb_find_cursor_free.
#[no_mangle]
pub unsafe extern "C" fn buffdb_find_range(
    db: *const buffdb_db,
    name: *const c_char,
    low: *const c_char,
    high: *const c_char,
    reverse: bool,
    start_after: *const buffdb_index_entry,
    limit: usize,
    out: *mut *mut buffdb_find_cursor,
) -> buffdb_status {
    ffi(|| find_range(&db_ops(db)?, name, low, high, reverse, start_after, limit, out))
}

/// buffdb_find_range inside the transaction (the cursor as with buffdb_txn_find).
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_find_range(
    txn: *const buffdb_txn,
    name: *const c_char,
    low: *const c_char,
    high: *const c_char,
    reverse: bool,
    start_after: *const buffdb_index_entry,
    limit: usize,
    out: *mut *mut buffdb_find_cursor,
) -> buffdb_status {
    ffi(|| find_range(&txn_ops(txn)?, name, low, high, reverse, start_after, limit, out))
}

// ---------------------------------------------------------------------------------------
// Cursor

/// Advances the cursor: on BUFFDB_OK `*entry` is the next entry (its pointers borrowed
/// until the next call or the free), or has `value` NULL at the end.
#[no_mangle]
pub unsafe extern "C" fn buffdb_find_next(cursor: *mut buffdb_find_cursor, entry: *mut buffdb_index_entry) -> buffdb_status {
    ffi(|| {
        let c = handle_mut(cursor, "cursor")?;
        let out = Out::new(entry, "entry")?;
        let Some(e) = c.items.next().transpose()? else {
            out.set(buffdb_index_entry {
                value: std::ptr::null(),
                kind: buffdb_record_kind::BUFFDB_RECORD_KEY as i32,
                record: std::ptr::null(),
                record_len: 0,
                blob_id: 0,
            });
            return Ok(());
        };
        c.value = c_text(e.value.to_string(), "index value")?;
        let (kind, blob_id, len) = match e.record {
            Record::Key(k) => {
                c.record = k;
                (buffdb_record_kind::BUFFDB_RECORD_KEY, 0, c.record.len())
            }
            Record::Blob(id) => {
                c.record.clear();
                (buffdb_record_kind::BUFFDB_RECORD_BLOB, id, 0)
            }
            Record::Path(p) => {
                c.record = p.into_bytes();
                let n = c.record.len();
                c.record.push(0);
                (buffdb_record_kind::BUFFDB_RECORD_PATH, 0, n)
            }
        };
        out.set(buffdb_index_entry {
            value: c.value.as_ptr(),
            kind: kind as i32,
            record: if kind == buffdb_record_kind::BUFFDB_RECORD_BLOB { std::ptr::null() } else { c.record.as_ptr() },
            record_len: len,
            blob_id,
        });
        Ok(())
    })
}

/// Frees a find cursor. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn buffdb_find_cursor_free(cursor: *mut buffdb_find_cursor) {
    free_handle(cursor)
}
