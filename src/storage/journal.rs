//! Reads of a read-only file in rollback-journal mode: a follow-mode read replica,
//! whose pages `litestream restore -f` writes straight into the live file, each
//! transaction under SQLite's exclusive lock (docs/replication.md).
//!
//! Two things keep such a reader right, and both are needed:
//! - **One read transaction per logical read.** In rollback-journal mode a read
//!   holds SQLite's SHARED lock only while its transaction is open; two statements
//!   in autocommit mode are two snapshots, with a whole replicated transaction
//!   possibly applied between them. So each read runs inside `BEGIN ... COMMIT`.
//! - **No page kept from before.** SQLite keeps its page cache between transactions
//!   when the file change counter (header bytes 24..40) has not changed. Litestream
//!   sets a new counter only when page 1 is among the pages it applies; a BuffDB
//!   transaction that neither grows the file nor frees pages leaves page 1 alone, and
//!   a reader then mixed cached pages from before it with pages read after it:
//!   `CORRUPT` ("database disk image is malformed") on every later read of that
//!   handle, while a freshly opened handle read the same file fine. So each read
//!   starts with an empty page cache (pages come back from the memory map or one
//!   pread each).
//!
//! While Litestream applies a transaction the read waits in SQLite's busy handler
//! (the busy timeout), and never sees half of one.

use rusqlite::Connection;

use crate::error::Result;

/// Whether reads of this read-only connection's file need [`begin`] / [`end`]: the
/// file is in rollback-journal mode (a WAL-mode reader checks the WAL index instead).
pub(crate) fn needed(conn: &Connection) -> Result<bool> {
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    Ok(!mode.eq_ignore_ascii_case("wal"))
}

/// Drops the connection's cached pages and opens the read's transaction (its SHARED
/// lock is taken by the first statement, after the cache was emptied).
pub(crate) fn begin(conn: &Connection) -> Result<()> {
    // SAFETY: an open connection, used by this thread only (it was taken from the pool).
    unsafe { rusqlite::ffi::sqlite3_db_release_memory(conn.handle()) };
    if conn.is_autocommit() {
        conn.execute_batch("BEGIN DEFERRED")?;
    }
    Ok(())
}

/// Ends the read's transaction, releasing the SHARED lock so Litestream can apply
/// the next transaction.
pub(crate) fn end(conn: &Connection) {
    if !conn.is_autocommit() && conn.execute_batch("COMMIT").is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
}
