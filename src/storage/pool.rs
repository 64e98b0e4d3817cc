//! Reader connections. An idle connection keeps its read transaction while nothing
//! has been committed since it began: the next read on it then skips SQLite's
//! per-statement WAL locking (a point get goes from ~3 µs to ~0.8 µs here). Any
//! commit ends those transactions: this process's right after it commits, other
//! processes' within a timer tick. And no kept snapshot lives longer than
//! [`SNAPSHOT_MAX_AGE`], busy or idle: a checkpoint that resets the WAL must wait
//! for every reader of it, in every process, and readers that kept reusing one old
//! snapshot would make another process's writer wait forever.

use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rusqlite::{ffi, Connection};

use crate::error::{Error, Result};

/// Most idle reader connections kept for reuse.
const MAX_IDLE: usize = 16;
/// How long a pooled connection may keep one read transaction.
pub(crate) const SNAPSHOT_MAX_AGE: Duration = Duration::from_millis(250);

pub(crate) struct Pooled {
    pub conn: Connection,
    /// The commit counter when its open read transaction began; `None`: no transaction.
    snapshot: Option<u32>,
    /// When its open read transaction began ([`now_ns`]).
    began: u64,
    /// The connection's hot statement (see [`Pooled::lookup`]), prepared at first use.
    hot: Option<(&'static str, std::ptr::NonNull<ffi::sqlite3_stmt>)>,
}

// SAFETY: the statement belongs to `conn` and goes with it; a `Pooled` is used by
// one thread at a time (taken from the pool, given back), as the connection is.
unsafe impl Send for Pooled {}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some((_, stmt)) = self.hot.take() {
            // SAFETY: prepared on `conn`, which is still open here (fields drop after this).
            unsafe { ffi::sqlite3_finalize(stmt.as_ptr()) };
        }
    }
}

/// Nanoseconds on a monotonic clock, coarse (a few ms) where the OS offers one: the
/// snapshot age is checked on every read, and a precise clock read was the largest
/// cost of that check.
fn now_ns() -> u64 {
    #[cfg(target_os = "linux")]
    {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: a valid timespec out-pointer.
        if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) } == 0 {
            return ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
        }
    }
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Whether a snapshot that began at `began` ([`now_ns`]) has lived its time.
fn too_old(began: u64, now: u64) -> bool {
    now.saturating_sub(began) >= SNAPSHOT_MAX_AGE.as_nanos() as u64
}

impl Pooled {
    pub fn new(conn: Connection) -> Pooled {
        Pooled { conn, snapshot: None, began: now_ns(), hot: None }
    }

    /// Runs `sql` (one `?1` blob parameter, one result row at most) with `param`, and
    /// calls `f` with the first column of the row (`Err` when it is not a blob), or
    /// `None` when there is no row. The statement is prepared once per connection and
    /// kept outside rusqlite's statement cache: that cache's lookup and re-insert (SQL
    /// hashing, LRU moves, clearing bindings) cost ~1,000 instructions per call, an
    /// eighth of a point get that misses the read cache.
    pub fn lookup<R>(
        &mut self,
        sql: &'static str,
        param: &[u8],
        f: impl FnOnce(Option<std::result::Result<&[u8], ()>>) -> Result<R>,
    ) -> Result<R> {
        let stmt = self.hot_stmt(sql)?;
        let db = unsafe { self.conn.handle() };
        let fail = |rc: i32| -> Error {
            // SAFETY: the connection is open; the message is copied before any other call.
            let msg = unsafe { std::ffi::CStr::from_ptr(ffi::sqlite3_errmsg(db)) }.to_string_lossy().into_owned();
            rusqlite::Error::SqliteFailure(ffi::Error::new(rc), Some(msg)).into()
        };
        // Resets the statement however this call ends, so it never holds a cursor or
        // the caller's bytes (bound without a copy) past the call.
        struct Reset(*mut ffi::sqlite3_stmt);
        impl Drop for Reset {
            fn drop(&mut self) {
                // SAFETY: a live statement of this connection.
                unsafe {
                    ffi::sqlite3_reset(self.0);
                    ffi::sqlite3_clear_bindings(self.0);
                }
            }
        }
        let _reset = Reset(stmt);
        // SAFETY: `stmt` is a live statement of `conn` with one parameter; `param`
        // outlives the step (SQLITE_STATIC), and `_reset` unbinds it before returning.
        // The column's bytes are read before the statement is stepped or reset again.
        unsafe {
            let len = i32::try_from(param.len()).map_err(|_| Error::too_large("lookup key"))?;
            let rc = ffi::sqlite3_bind_blob(stmt, 1, param.as_ptr().cast(), len, ffi::SQLITE_STATIC());
            if rc != ffi::SQLITE_OK {
                return Err(fail(rc));
            }
            match ffi::sqlite3_step(stmt) {
                ffi::SQLITE_ROW => {
                    if ffi::sqlite3_column_type(stmt, 0) != ffi::SQLITE_BLOB {
                        return f(Some(Err(())));
                    }
                    let n = ffi::sqlite3_column_bytes(stmt, 0) as usize;
                    let p = ffi::sqlite3_column_blob(stmt, 0) as *const u8;
                    f(Some(Ok(if n == 0 || p.is_null() { &[] } else { std::slice::from_raw_parts(p, n) })))
                }
                ffi::SQLITE_DONE => f(None),
                rc => Err(fail(rc)),
            }
        }
    }

    /// The connection's kept statement for `sql`, prepared on first use.
    fn hot_stmt(&mut self, sql: &'static str) -> Result<*mut ffi::sqlite3_stmt> {
        if let Some((s, stmt)) = self.hot {
            if std::ptr::eq(s, sql) {
                return Ok(stmt.as_ptr());
            }
        }
        if let Some((_, old)) = self.hot.take() {
            // SAFETY: prepared on this connection and not in use.
            unsafe { ffi::sqlite3_finalize(old.as_ptr()) };
        }
        let mut stmt = std::ptr::null_mut();
        // SAFETY: a valid connection handle and SQL text with its exact length.
        let rc = unsafe {
            ffi::sqlite3_prepare_v3(
                self.conn.handle(),
                sql.as_ptr().cast(),
                sql.len() as i32,
                ffi::SQLITE_PREPARE_PERSISTENT,
                &mut stmt,
                std::ptr::null_mut(),
            )
        };
        let stmt = match std::ptr::NonNull::new(stmt) {
            Some(s) if rc == ffi::SQLITE_OK => s,
            _ => {
                // SAFETY: finalizing NULL is a no-op; the message belongs to the open connection.
                let msg = unsafe {
                    ffi::sqlite3_finalize(stmt);
                    std::ffi::CStr::from_ptr(ffi::sqlite3_errmsg(self.conn.handle())).to_string_lossy().into_owned()
                };
                let rc = if rc == ffi::SQLITE_OK { ffi::SQLITE_MISUSE } else { rc };
                return Err(rusqlite::Error::SqliteFailure(ffi::Error::new(rc), Some(msg)).into());
            }
        };
        self.hot = Some((sql, stmt));
        Ok(stmt.as_ptr())
    }

    /// Keeps the open read transaction if nothing was committed since it began
    /// (`counter` unchanged), else starts a new one; without a counter, none.
    #[inline]
    pub fn refresh(&mut self, counter: Option<u32>) -> Result<()> {
        if self.snapshot.is_some() && self.snapshot == counter && !too_old(self.began, now_ns()) {
            return Ok(());
        }
        self.end();
        if let Some(c) = counter {
            // DEFERRED: the snapshot is taken by the first read, at `c` or later.
            self.conn.execute_batch("BEGIN DEFERRED")?;
            self.snapshot = Some(c);
            self.began = now_ns();
        }
        Ok(())
    }

    /// At a closed checkpoint gate: ends the kept snapshot and waits for the gate.
    #[inline]
    pub fn end_if_closed(&mut self, gate: &crate::storage::gate::Gate) {
        if gate.is_closed() {
            self.end();
            gate.pass();
        }
    }

    /// Ends the read transaction, if one is open.
    pub fn end(&mut self) {
        if self.snapshot.take().is_some() {
            let _ = self.conn.execute_batch("COMMIT");
        }
    }
}

#[derive(Default)]
pub(crate) struct ReaderPool {
    idle: Mutex<Vec<Pooled>>,
}

impl ReaderPool {
    #[inline]
    pub fn take(&self) -> Option<Pooled> {
        self.idle.lock().pop()
    }

    #[inline]
    pub fn give(&self, p: Pooled) {
        let mut idle = self.idle.lock();
        if idle.len() < MAX_IDLE {
            idle.push(p);
        }
    }

    pub fn clear(&self) {
        self.idle.lock().clear();
    }

    /// Ends idle read transactions that began before the current commit `counter`.
    pub fn release_stale(&self, counter: Option<u32>) {
        for p in self.idle.lock().iter_mut() {
            if p.snapshot.is_some() && p.snapshot != counter {
                p.end();
            }
        }
    }

    /// Ends idle read transactions that are stale at `counter` or older than
    /// [`SNAPSHOT_MAX_AGE`].
    pub fn release_old(&self, counter: Option<u32>) {
        let now = now_ns();
        for p in self.idle.lock().iter_mut() {
            if p.snapshot.is_some() && (p.snapshot != counter || too_old(p.began, now)) {
                p.end();
            }
        }
    }
}
