//! Read-only SQL over the views `kv`, `blobs` and `streams`.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::ToSql;

use crate::error::{Error, ErrorCode, Result};
use crate::storage::Core;

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

/// `query` on the database or in a transaction (seeing its writes).
pub(crate) fn query(core: Core<'_>, sql: &str, params: &[Value]) -> Result<QueryResult> {
    core.snapshot(|conn| run(conn, sql, params)).map_err(sql_error)
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

fn run(conn: &rusqlite::Connection, sql: &str, params: &[Value]) -> Result<QueryResult> {
    let mut stmt = conn.prepare(sql)?;
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
    let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push((0..n).map(|i| row.get_ref(i).map(Value::from)).collect::<rusqlite::Result<Vec<_>>>()?);
    }
    Ok(QueryResult { columns, rows: out })
}
