//! What a `query` statement may do, decided by SQLite's authorizer while it compiles
//! the statement (and while a `pragma_*` table compiles its PRAGMA during a step).
//!
//! Allowed: SELECT (recursive too) over the views `kv`, `blobs`, `streams`, `indexes`,
//! `index_entries` (values of
//! the internal `bdb_*` tables are read only through the views; naming a table without
//! reading a column, as `count(*)` does, is allowed everywhere), `json_each`,
//! `json_tree`, `sqlite_schema`, read-only PRAGMAs from a short list, and every SQL
//! function but a few dangerous ones. Refused: every write (`READ_ONLY`), ATTACH,
//! DETACH, transactions, other PRAGMAs, other tables and those functions
//! (`INVALID_ARGUMENT`).

use std::ffi::{c_char, c_int, c_void, CStr};

use rusqlite::{ffi, Connection};

use super::limits::{mark_authorizer_ran, with_call};
use crate::error::{Error, ErrorCode};

/// Tables and table-valued functions a statement may name itself.
const TABLES: &[&str] = &[
    "kv",
    "blobs",
    "streams",
    "indexes",
    "index_entries",
    "json_each",
    "json_tree",
    "sqlite_schema",
    "sqlite_master",
    "sqlite_temp_schema",
    "sqlite_temp_master",
];

/// PRAGMAs whose argument names a table or index (reading only).
const PRAGMAS_WITH_ARGUMENT: &[&str] =
    &["table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo", "foreign_key_list"];

/// PRAGMAs that only report something when given no value (a value would set it).
const PRAGMAS_WITHOUT_VALUE: &[&str] = &[
    "application_id",
    "collation_list",
    "compile_options",
    "data_version",
    "encoding",
    "freelist_count",
    "function_list",
    "module_list",
    "page_count",
    "page_size",
    "pragma_list",
    "schema_version",
    "user_version",
];

/// Functions that reach outside the database or hand out pointers. Most are not in
/// this build of SQLite; they are refused by name in case a later build has them.
const FUNCTIONS: &[&str] = &[
    "load_extension",
    "fts3_tokenizer",
    "fts5",
    "readfile",
    "writefile",
    "edit",
    "fsdir",
    "zipfile",
    "zipfile_cds",
    "sqlar_compress",
    "sqlar_uncompress",
    "sqlite_dbpage",
    "sqlite_dbdata",
    "sqlite_dbptr",
];

/// Puts the authorizer on `conn` (this expires the connection's prepared statements).
/// It is SQLite's C callback directly rather than rusqlite's boxed closure: the
/// views' own reads, the bulk of the calls, are then answered without a lookup.
pub(super) fn install(conn: &Connection) {
    // SAFETY: `conn` is open; the callback takes no user data and never unwinds.
    unsafe { ffi::sqlite3_set_authorizer(conn.handle(), Some(authorize), std::ptr::null_mut()) };
}

/// The authorizer: allows everything for the engine's own statements, and for a
/// running query allows what [`check`] allows, remembering the first refusal.
unsafe extern "C" fn authorize(
    _: *mut c_void,
    action: c_int,
    arg1: *const c_char,
    arg2: *const c_char,
    _database: *const c_char,
    accessor: *const c_char,
) -> c_int {
    // The common, always-allowed actions first, without a lookup.
    match action {
        // Inside a view of the schema (users cannot create one): its reads of bdb_* tables.
        ffi::SQLITE_READ if !accessor.is_null() => return ffi::SQLITE_OK,
        // A table named but no column read (`count(*)`, a CTE, the tables under a view
        // in a join): SQLite asks with an empty column name; no value is read.
        // SAFETY: a non-NULL argument is a NUL-terminated string.
        ffi::SQLITE_READ if !arg2.is_null() && unsafe { *arg2 } == 0 => return ffi::SQLITE_OK,
        ffi::SQLITE_SELECT | ffi::SQLITE_RECURSIVE => {
            mark_authorizer_ran();
            return ffi::SQLITE_OK;
        }
        _ => {}
    }
    // SAFETY: SQLite passes NUL-terminated strings or NULL, valid during this call.
    let (arg1, arg2) = unsafe { (text(arg1), text(arg2)) };
    let decide = || {
        with_call(|call| {
            let Some(call) = call else { return ffi::SQLITE_OK };
            mark_authorizer_ran();
            match check(action, arg1, arg2) {
                Ok(()) => ffi::SQLITE_OK,
                Err(e) => {
                    call.refusal.borrow_mut().get_or_insert(e);
                    ffi::SQLITE_DENY
                }
            }
        })
    };
    std::panic::catch_unwind(decide).unwrap_or(ffi::SQLITE_DENY)
}

/// # Safety
/// `p` is NULL or a NUL-terminated string valid for the returned lifetime.
unsafe fn text<'a>(p: *const c_char) -> Option<&'a str> {
    // A name that is not UTF-8 matches none of the lists: it is refused where it matters.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_str().unwrap_or("\u{fffd}"))
}

/// The decision for one action of a query statement, by SQLite's action code and its
/// two arguments (see <https://sqlite.org/c3ref/c_alter_table.html>).
fn check(action: c_int, arg1: Option<&str>, arg2: Option<&str>) -> Result<(), Error> {
    let (a1, a2) = (arg1.unwrap_or(""), arg2.unwrap_or(""));
    match action {
        ffi::SQLITE_SELECT | ffi::SQLITE_RECURSIVE => Ok(()),
        ffi::SQLITE_READ if a2.is_empty() => Ok(()), // see `authorize`
        ffi::SQLITE_READ => {
            if TABLES.iter().any(|t| t.eq_ignore_ascii_case(a1)) || is_pragma_table(a1) {
                Ok(())
            } else {
                Err(refused(format!(
                    "query() reads the views kv, blobs, streams, indexes and index_entries; {a1} is not one of them"
                )))
            }
        }
        ffi::SQLITE_FUNCTION => {
            if FUNCTIONS.iter().any(|f| f.eq_ignore_ascii_case(a2)) {
                Err(refused(format!("query() does not allow the function {a2}()")))
            } else {
                Ok(())
            }
        }
        ffi::SQLITE_PRAGMA => check_pragma(a1, arg2),
        ffi::SQLITE_ATTACH => Err(refused("query() cannot ATTACH a database")),
        ffi::SQLITE_DETACH => Err(refused("query() cannot DETACH a database")),
        ffi::SQLITE_TRANSACTION | ffi::SQLITE_SAVEPOINT => Err(refused(
            "query() runs each statement in a snapshot of its own: BEGIN, COMMIT, ROLLBACK, SAVEPOINT and RELEASE are not allowed",
        )),
        ffi::SQLITE_INSERT
        | ffi::SQLITE_UPDATE
        | ffi::SQLITE_DELETE
        | ffi::SQLITE_CREATE_INDEX
        | ffi::SQLITE_CREATE_TABLE
        | ffi::SQLITE_CREATE_TEMP_INDEX
        | ffi::SQLITE_CREATE_TEMP_TABLE
        | ffi::SQLITE_CREATE_TEMP_TRIGGER
        | ffi::SQLITE_CREATE_TEMP_VIEW
        | ffi::SQLITE_CREATE_TRIGGER
        | ffi::SQLITE_CREATE_VIEW
        | ffi::SQLITE_CREATE_VTABLE
        | ffi::SQLITE_DROP_INDEX
        | ffi::SQLITE_DROP_TABLE
        | ffi::SQLITE_DROP_TEMP_INDEX
        | ffi::SQLITE_DROP_TEMP_TABLE
        | ffi::SQLITE_DROP_TEMP_TRIGGER
        | ffi::SQLITE_DROP_TEMP_VIEW
        | ffi::SQLITE_DROP_TRIGGER
        | ffi::SQLITE_DROP_VIEW
        | ffi::SQLITE_DROP_VTABLE
        | ffi::SQLITE_ALTER_TABLE
        | ffi::SQLITE_REINDEX
        | ffi::SQLITE_ANALYZE
        | ffi::SQLITE_COPY => Err(Error::new(ErrorCode::ReadOnly, "query() runs read-only statements only")),
        other => Err(refused(format!("query() does not allow this statement (SQLite action {other})"))),
    }
}

fn is_pragma_table(name: &str) -> bool {
    // A pragma_* table compiles its PRAGMA when stepped; that PRAGMA is checked then.
    name.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("pragma_"))
}

fn check_pragma(name: &str, value: Option<&str>) -> Result<(), Error> {
    let listed = |list: &[&str]| list.iter().any(|p| p.eq_ignore_ascii_case(name));
    if listed(PRAGMAS_WITH_ARGUMENT) || (value.is_none() && listed(PRAGMAS_WITHOUT_VALUE)) {
        return Ok(());
    }
    let shown = match value {
        Some(v) => format!("PRAGMA {name} = {v}"),
        None => format!("PRAGMA {name}"),
    };
    Err(refused(format!(
        "query() allows only PRAGMAs that read the schema or file ({} and {} without a value), not {shown}",
        PRAGMAS_WITH_ARGUMENT.join(", "),
        PRAGMAS_WITHOUT_VALUE.join(", ")
    )))
}

fn refused(msg: impl Into<String>) -> Error {
    Error::invalid(msg)
}
