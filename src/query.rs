//! Read-only SQL over the views `kv`, `blobs` and `streams`.

mod authorizer;
mod limits;

use rusqlite::limits::Limit;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, Statement, ToSql};

use crate::error::{Error, ErrorCode, Result};
use crate::storage::Core;
use limits::{with_call, Running};
pub use limits::{CancelToken, QueryOptions};

/// An SQL value, as a parameter or in a result row.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Integer(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Real(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

impl From<ValueRef<'_>> for Value {
    fn from(v: ValueRef<'_>) -> Value {
        match v {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(f) => Value::Real(f),
            ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        }
    }
}

/// Column names and rows of a query.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct QueryResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// `query_with` on the database (a pooled reader's snapshot) or in a transaction (on
/// its connection, seeing its writes; the hooks installed there act only during a query).
pub(crate) fn query(core: Core<'_>, sql: &str, params: &[Value], opts: &QueryOptions) -> Result<QueryResult> {
    opts.validate()?;
    let mut rows = Vec::new();
    let columns = core
        .snapshot(|conn| {
            run(conn, sql, params, opts, true, |_, row| {
                rows.push(row);
                true
            })
        })
        .map_err(sql_error)?;
    Ok(QueryResult { columns, rows })
}

/// `query_each`: the rows handed to `f` one at a time as SQLite produces them, in one
/// snapshot, so memory stays flat for any number of rows. Returns the column names.
pub(crate) fn query_each(
    core: Core<'_>,
    sql: &str,
    params: &[Value],
    opts: &QueryOptions,
    f: impl FnMut(&[String], Vec<Value>) -> bool,
) -> Result<Vec<String>> {
    opts.validate()?;
    core.snapshot(|conn| run(conn, sql, params, opts, false, f)).map_err(sql_error)
}

/// SQL mistakes are the caller's: `INVALID_ARGUMENT`, or `READ_ONLY` for an attempt
/// to change something (SQLite says "cannot modify ..." for a view).
fn sql_error(e: Error) -> Error {
    if e.code() != ErrorCode::Internal {
        return e;
    }
    let m = e.message();
    if m.contains("cannot modify") || m.contains("readonly") || m.contains("read-only") {
        Error::new(ErrorCode::ReadOnly, format!("query() runs read-only statements only ({m})"))
    } else {
        Error::new(ErrorCode::InvalidArgument, m.to_string())
    }
}

/// Runs the statement, handing each row to `f` (which returns `false` to stop early).
/// `kept`: `f` keeps the rows, so their bytes count against the memory limit together;
/// otherwise only the row in hand counts.
fn run(
    conn: &Connection,
    sql: &str,
    params: &[Value],
    opts: &QueryOptions,
    kept: bool,
    mut f: impl FnMut(&[String], Vec<Value>) -> bool,
) -> Result<Vec<String>> {
    if opts.cancel.as_ref().is_some_and(CancelToken::is_cancelled) {
        return Err(limits::cancelled());
    }
    let running = Running::start(opts);
    let _length = LengthLimit::set(conn, opts.max_memory)?;
    let mut stmt = prepare(conn, sql)?;
    if !stmt.readonly() {
        return Err(Error::new(ErrorCode::ReadOnly, "query() runs read-only statements only"));
    }
    if stmt.parameter_count() != params.len() {
        return Err(Error::invalid(format!(
            "the statement has {} parameters, {} were given",
            stmt.parameter_count(),
            params.len()
        )));
    }
    let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
    let n = columns.len();
    let mut rows = stmt.query(rusqlite::params_from_iter(params.iter())).map_err(stopped)?;
    let mut count = 0usize;
    while let Some(row) = rows.next().map_err(stopped)? {
        if count >= opts.max_rows {
            return Err(Error::too_large(format!(
                "the query returned more than {} rows (add a LIMIT, or raise max_rows)",
                opts.max_rows
            )));
        }
        count += 1;
        let values = (0..n).map(|i| row.get_ref(i).map(Value::from)).collect::<rusqlite::Result<Vec<_>>>()?;
        let bytes = row_bytes(&values);
        with_call(|c| c.map_or(Ok(()), |c| c.after_row(bytes, kept)))?;
        if !running.aside(|| f(&columns, values)) {
            break;
        }
    }
    Ok(columns)
}

/// Compiles `sql` under the authorizer. A pooled connection gets the hooks the first
/// time it runs a query (installing an authorizer expires the connection's cached
/// statements once, so it is not reinstalled per call): a statement compiled without
/// the authorizer running is thrown away and compiled again with the hooks in place.
fn prepare<'c>(conn: &'c Connection, sql: &str) -> Result<Statement<'c>> {
    let first = conn.prepare(sql);
    let guarded = limits::authorizer_ran();
    match first {
        Ok(stmt) if !guarded => {
            drop(stmt);
            authorizer::install(conn);
            conn.progress_handler(limits::PROGRESS_OPS, Some(limits::progress));
            conn.prepare(sql).map_err(stopped)
        }
        other => other.map_err(stopped),
    }
}

/// The error for a failed prepare or step: the authorizer's refusal or the limit that
/// stopped the statement, else SQLite's own.
fn stopped(e: rusqlite::Error) -> Error {
    use rusqlite::ffi::ErrorCode as E;
    let code = e.sqlite_error_code();
    with_call(|call| match (call, code) {
        (Some(call), Some(E::AuthorizationForStatementDenied)) => {
            call.refusal.borrow_mut().take().unwrap_or_else(|| Error::invalid(format!("sqlite: {e}")))
        }
        (Some(call), Some(E::OperationInterrupted)) => call.interrupted(),
        _ => Error::from(e),
    })
}

/// Memory a row holds.
fn row_bytes(values: &[Value]) -> u64 {
    let heap: usize = values
        .iter()
        .map(|v| match v {
            Value::Text(s) => s.len(),
            Value::Blob(b) => b.len(),
            _ => 0,
        })
        .sum();
    (heap + std::mem::size_of_val(values) + std::mem::size_of::<Vec<Value>>()) as u64
}

/// Caps the longest string or blob SQLite makes or reads for the query at a quarter of
/// its memory limit plus 64 KiB (by default the largest KV value with its stored
/// checksum fits). One `randomblob()` or
/// `s || s` would otherwise allocate up to 1 GB between two checks of the memory limit.
/// Restores the connection's limit afterwards, for the engine's own reads.
struct LengthLimit<'c> {
    conn: &'c Connection,
    before: i32,
}

impl<'c> LengthLimit<'c> {
    fn set(conn: &'c Connection, max_memory: usize) -> Result<LengthLimit<'c>> {
        let cap = (max_memory / 4).saturating_add(64 << 10).min(i32::MAX as usize) as i32;
        let before = conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, cap)?;
        Ok(LengthLimit { conn, before })
    }
}

impl Drop for LengthLimit<'_> {
    fn drop(&mut self) {
        let _ = self.conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, self.before);
    }
}
