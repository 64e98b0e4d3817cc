//! What a `query` statement may do, decided by SQLite's authorizer while it compiles
//! the statement (and while a `pragma_*` table compiles its PRAGMA during a step).
//!
//! Allowed: SELECT (recursive too) over the views `kv`, `blobs`, `streams` (their reads
//! of the internal `bdb_*` tables are allowed only through the views), `json_each`,
//! `json_tree`, `sqlite_schema`, read-only PRAGMAs from a short list, and every SQL
//! function but a few dangerous ones. Refused: every write (`READ_ONLY`), ATTACH,
//! DETACH, transactions, other PRAGMAs, other tables and those functions
//! (`INVALID_ARGUMENT`).

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};

use super::limits::with_call;
use crate::error::{Error, ErrorCode};

/// Tables and table-valued functions a statement may name itself.
const TABLES: &[&str] = &[
    "kv",
    "blobs",
    "streams",
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

/// The authorizer hook: allows everything for the engine's own statements, and for a
/// running query allows what [`check`] allows, remembering the first refusal.
pub(super) fn authorize(ctx: AuthContext<'_>) -> Authorization {
    with_call(|call| {
        let Some(call) = call else { return Authorization::Allow };
        call.authorizer_ran.set(true);
        match check(&ctx) {
            Ok(()) => Authorization::Allow,
            Err(e) => {
                call.refusal.borrow_mut().get_or_insert(e);
                Authorization::Deny
            }
        }
    })
}

fn check(ctx: &AuthContext<'_>) -> Result<(), Error> {
    use AuthAction::*;
    match ctx.action {
        Select | Recursive => Ok(()),
        // Inside a view of the schema (users cannot create one): its reads of bdb_* tables.
        Read { .. } if ctx.accessor.is_some() => Ok(()),
        // A table named but no column read (`count(*)`, a CTE, the tables under a view
        // in a join): SQLite asks with an empty column name; no value is read.
        Read { column_name: "", .. } => Ok(()),
        Read { table_name, .. } => {
            if TABLES.iter().any(|t| t.eq_ignore_ascii_case(table_name)) || is_pragma_table(table_name) {
                Ok(())
            } else {
                Err(refused(format!(
                    "query() reads the views kv, blobs and streams; {table_name} is not one of them"
                )))
            }
        }
        Function { function_name } => {
            if FUNCTIONS.iter().any(|f| f.eq_ignore_ascii_case(function_name)) {
                Err(refused(format!("query() does not allow the function {function_name}()")))
            } else {
                Ok(())
            }
        }
        Pragma { pragma_name, pragma_value } => check_pragma(pragma_name, pragma_value),
        Attach { .. } => Err(refused("query() cannot ATTACH a database")),
        Detach { .. } => Err(refused("query() cannot DETACH a database")),
        Transaction { .. } | Savepoint { .. } => Err(refused(
            "query() runs each statement in a snapshot of its own: BEGIN, COMMIT, ROLLBACK, SAVEPOINT and RELEASE are not allowed",
        )),
        Insert { .. }
        | Update { .. }
        | Delete { .. }
        | CreateIndex { .. }
        | CreateTable { .. }
        | CreateTempIndex { .. }
        | CreateTempTable { .. }
        | CreateTempTrigger { .. }
        | CreateTempView { .. }
        | CreateTrigger { .. }
        | CreateView { .. }
        | CreateVtable { .. }
        | DropIndex { .. }
        | DropTable { .. }
        | DropTempIndex { .. }
        | DropTempTable { .. }
        | DropTempTrigger { .. }
        | DropTempView { .. }
        | DropTrigger { .. }
        | DropView { .. }
        | DropVtable { .. }
        | AlterTable { .. }
        | Reindex { .. }
        | Analyze { .. } => Err(Error::new(ErrorCode::ReadOnly, "query() runs read-only statements only")),
        // ATTACH/DETACH of a name given as a parameter: SQLite passes no name.
        Unknown { code: rusqlite::ffi::SQLITE_ATTACH, .. } => Err(refused("query() cannot ATTACH a database")),
        Unknown { code: rusqlite::ffi::SQLITE_DETACH, .. } => Err(refused("query() cannot DETACH a database")),
        _ => Err(refused(format!("query() does not allow this statement ({:?})", ctx.action))),
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
