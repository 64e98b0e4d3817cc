//! Read-only SQL over the views kv, blobs and streams (on a database and in a transaction).

use std::ffi::{c_char, CString};

use super::*;
use crate::Value;

/// The kind of a buffdb_value (the `kind` field holds one of these numbers).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum buffdb_value_kind {
    BUFFDB_VALUE_NULL = 0,
    BUFFDB_VALUE_INTEGER = 1,
    BUFFDB_VALUE_REAL = 2,
    /// UTF-8 text in `data`/`len`; in results it is also NUL-terminated.
    BUFFDB_VALUE_TEXT = 3,
    BUFFDB_VALUE_BLOB = 4,
}

/// A SQL value: a query parameter (filled by the caller) or a result cell (filled by
/// buffdb_query_result_value, `data` borrowed from the result).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct buffdb_value {
    /// A buffdb_value_kind number.
    pub kind: i32,
    /// For BUFFDB_VALUE_INTEGER.
    pub integer: i64,
    /// For BUFFDB_VALUE_REAL.
    pub real: f64,
    /// For BUFFDB_VALUE_TEXT and BUFFDB_VALUE_BLOB.
    pub data: *const u8,
    pub len: usize,
}

enum Cell {
    Null,
    Integer(i64),
    Real(f64),
    /// Text bytes followed by a NUL (not counted in the length).
    Text(Vec<u8>),
    Blob(Vec<u8>),
}

/// The rows of buffdb_query, read by index. Immutable: may be read from several threads.
/// Free with buffdb_query_result_free.
pub struct buffdb_query_result {
    columns: Vec<CString>,
    rows: Vec<Vec<Cell>>,
}

unsafe fn param(v: &buffdb_value, i: usize) -> Result<Value> {
    const NULL: i32 = buffdb_value_kind::BUFFDB_VALUE_NULL as i32;
    const INTEGER: i32 = buffdb_value_kind::BUFFDB_VALUE_INTEGER as i32;
    const REAL: i32 = buffdb_value_kind::BUFFDB_VALUE_REAL as i32;
    const TEXT: i32 = buffdb_value_kind::BUFFDB_VALUE_TEXT as i32;
    const BLOB: i32 = buffdb_value_kind::BUFFDB_VALUE_BLOB as i32;
    Ok(match v.kind {
        NULL => Value::Null,
        INTEGER => Value::Integer(v.integer),
        REAL => Value::Real(v.real),
        TEXT => {
            let b = bytes(v.data, v.len, &format!("params[{i}].data"))?;
            Value::Text(
                std::str::from_utf8(b).map_err(|_| invalid(format!("params[{i}] is not valid UTF-8 text")))?.to_owned(),
            )
        }
        BLOB => Value::Blob(bytes(v.data, v.len, &format!("params[{i}].data"))?.to_vec()),
        k => return Err(invalid(format!("params[{i}].kind {k} is not a buffdb_value_kind"))),
    })
}

/// Runs the statement on `o` into a new result handle.
unsafe fn query(
    o: &impl Ops,
    sql: *const c_char,
    params: *const buffdb_value,
    n: usize,
    out: *mut *mut buffdb_query_result,
) -> Result<()> {
    let sql = string(sql, "sql")?;
    let params =
        array(params, n, "params")?.iter().enumerate().map(|(i, v)| param(v, i)).collect::<Result<Vec<_>>>()?;
    let out = Out::new(out, "out")?;
    let r = o.query(sql, &params)?;
    let columns = r.columns.into_iter().map(|c| CString::new(c.replace('\0', "")).unwrap_or_default()).collect();
    let rows = r.rows.into_iter().map(|row| row.into_iter().map(Cell::from).collect()).collect();
    new_handle(&out, buffdb_query_result { columns, rows });
    Ok(())
}

impl From<Value> for Cell {
    fn from(v: Value) -> Cell {
        match v {
            Value::Null => Cell::Null,
            Value::Integer(i) => Cell::Integer(i),
            Value::Real(f) => Cell::Real(f),
            Value::Text(s) => {
                let mut b = s.into_bytes();
                b.push(0);
                Cell::Text(b)
            }
            Value::Blob(b) => Cell::Blob(b),
        }
    }
}

/// Runs one read-only SQL statement (UTF-8, NUL-terminated) with `n` positional
/// parameters (`?1`...) over the views kv(key, value), blobs(id, metadata, size, created)
/// and streams(path, version, size, crc32, chunk_count, stored_size, created).
/// A writing statement gives BUFFDB_READ_ONLY and changes nothing.
/// Free the result with buffdb_query_result_free.
#[no_mangle]
pub unsafe extern "C" fn buffdb_query(
    db: *const buffdb_db,
    sql: *const c_char,
    params: *const buffdb_value,
    n: usize,
    out: *mut *mut buffdb_query_result,
) -> buffdb_status {
    ffi(|| query(&db_ops(db)?, sql, params, n, out))
}

/// buffdb_query inside the transaction: the views show the transaction's own writes.
#[no_mangle]
pub unsafe extern "C" fn buffdb_txn_query(
    txn: *const buffdb_txn,
    sql: *const c_char,
    params: *const buffdb_value,
    n: usize,
    out: *mut *mut buffdb_query_result,
) -> buffdb_status {
    ffi(|| query(&txn_ops(txn)?, sql, params, n, out))
}

/// Number of columns of the result.
#[no_mangle]
pub unsafe extern "C" fn buffdb_query_result_column_count(
    res: *const buffdb_query_result,
    out: *mut usize,
) -> buffdb_status {
    ffi(|| {
        let r = handle(res, "result")?;
        let out = Out::new(out, "out")?;
        out.set(r.columns.len());
        Ok(())
    })
}

/// Name of column `col` (borrowed from the result).
#[no_mangle]
pub unsafe extern "C" fn buffdb_query_result_column_name(
    res: *const buffdb_query_result,
    col: usize,
    out: *mut *const c_char,
) -> buffdb_status {
    ffi(|| {
        let r = handle(res, "result")?;
        let out = Out::new(out, "out")?;
        let c = r.columns.get(col).ok_or_else(|| invalid(format!("column {col} out of range")))?;
        out.set(c.as_ptr());
        Ok(())
    })
}

/// Number of rows of the result.
#[no_mangle]
pub unsafe extern "C" fn buffdb_query_result_row_count(
    res: *const buffdb_query_result,
    out: *mut usize,
) -> buffdb_status {
    ffi(|| {
        let r = handle(res, "result")?;
        let out = Out::new(out, "out")?;
        out.set(r.rows.len());
        Ok(())
    })
}

/// The cell at (`row`, `col`); text and blob bytes are borrowed from the result.
#[no_mangle]
pub unsafe extern "C" fn buffdb_query_result_value(
    res: *const buffdb_query_result,
    row: usize,
    col: usize,
    out: *mut buffdb_value,
) -> buffdb_status {
    ffi(|| {
        let r = handle(res, "result")?;
        let out = Out::new(out, "out")?;
        let cell = r
            .rows
            .get(row)
            .and_then(|cells| cells.get(col))
            .ok_or_else(|| invalid(format!("cell ({row}, {col}) out of range")))?;
        let mut v = buffdb_value {
            kind: buffdb_value_kind::BUFFDB_VALUE_NULL as i32,
            integer: 0,
            real: 0.0,
            data: std::ptr::null(),
            len: 0,
        };
        match cell {
            Cell::Null => {}
            Cell::Integer(i) => {
                v.kind = buffdb_value_kind::BUFFDB_VALUE_INTEGER as i32;
                v.integer = *i;
            }
            Cell::Real(f) => {
                v.kind = buffdb_value_kind::BUFFDB_VALUE_REAL as i32;
                v.real = *f;
            }
            Cell::Text(b) => {
                v.kind = buffdb_value_kind::BUFFDB_VALUE_TEXT as i32;
                v.data = b.as_ptr();
                v.len = b.len() - 1;
            }
            Cell::Blob(b) => {
                v.kind = buffdb_value_kind::BUFFDB_VALUE_BLOB as i32;
                v.data = b.as_ptr();
                v.len = b.len();
            }
        }
        out.set(v);
        Ok(())
    })
}

/// Frees a query result. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn buffdb_query_result_free(res: *mut buffdb_query_result) {
    free_handle(res)
}
