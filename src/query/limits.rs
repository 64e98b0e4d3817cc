//! Per-call limits of `query`: rows, time, memory, and cancellation from any thread.
//!
//! SQLite keeps no per-connection account of the memory a statement uses (the sorter
//! and temporary tables allocate from the process-wide heap), so the memory limit is
//! checked as the growth of SQLite's process-wide heap since the call began, plus the
//! bytes of the rows collected so far. A progress handler checks time, memory and the
//! cancel token every few thousand SQLite instructions and stops the statement.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorCode, Result};

/// Default most rows a query may return: a result this size already costs a binding
/// hundreds of MiB of objects; more belongs in a `LIMIT`/`OFFSET` loop or `scan`.
const DEFAULT_MAX_ROWS: usize = 1_000_000;
/// Default time limit of a query: far longer than an interactive caller or a server
/// request waits, short enough that a runaway statement cannot hold a reader for long.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default memory limit of a query (SQLite's working memory plus the rows): the largest
/// KV value (64 MiB) read through the `kv` view costs up to ~5x its size (the stored
/// record, page cache, the view's copy without the checksum, the row), and sorting a few
/// million rows takes a few hundred MiB; a runaway query still stops long before a
/// machine runs out.
const DEFAULT_MAX_MEMORY: usize = 512 << 20;
/// Smallest memory limit accepted: SQLite's own working set for one statement.
const MIN_MAX_MEMORY: usize = 1 << 20;

/// SQLite virtual-machine instructions between two checks of the limits (~10-50 µs).
pub(super) const PROGRESS_OPS: i32 = 1000;

/// Limits for one [`crate::Db::query_with`] call. `QueryOptions::default()` gives the
/// documented defaults: 1,000,000 rows, 10 s, 512 MiB. A query over a limit fails
/// (`TOO_LARGE` for rows or memory, `INTERRUPTED` for time or a cancel) and changes nothing.
#[derive(Clone, Debug)]
pub struct QueryOptions {
    /// Most rows returned (at least 1); one more is `TOO_LARGE`. `usize::MAX`: no limit.
    pub max_rows: usize,
    /// Longest the call may run (more than zero); then `INTERRUPTED`. `Duration::MAX`: no limit.
    pub timeout: Duration,
    /// Most memory the call may use, in bytes (at least 1 MiB): growth of SQLite's heap
    /// (process-wide, so concurrent SQLite work in this process counts too) plus the
    /// collected rows. A quarter of it (plus 64 KiB) is the longest string or blob. `usize::MAX`: no limit.
    pub max_memory: usize,
    /// Stops the call from another thread with `INTERRUPTED`.
    pub cancel: Option<CancelToken>,
}

impl Default for QueryOptions {
    fn default() -> QueryOptions {
        QueryOptions {
            max_rows: DEFAULT_MAX_ROWS,
            timeout: DEFAULT_TIMEOUT,
            max_memory: DEFAULT_MAX_MEMORY,
            cancel: None,
        }
    }
}

impl QueryOptions {
    pub fn new() -> QueryOptions {
        QueryOptions::default()
    }
    pub fn max_rows(mut self, v: usize) -> Self {
        self.max_rows = v;
        self
    }
    pub fn timeout(mut self, v: Duration) -> Self {
        self.timeout = v;
        self
    }
    pub fn max_memory(mut self, v: usize) -> Self {
        self.max_memory = v;
        self
    }
    pub fn cancel(mut self, token: CancelToken) -> Self {
        self.cancel = Some(token);
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.max_rows == 0 {
            return Err(Error::invalid("max_rows must be at least 1"));
        }
        if self.timeout.is_zero() {
            return Err(Error::invalid("the query timeout must be more than zero"));
        }
        if self.max_memory < MIN_MAX_MEMORY {
            return Err(Error::invalid(format!(
                "max_memory must be at least {MIN_MAX_MEMORY} bytes, not {}",
                self.max_memory
            )));
        }
        Ok(())
    }
}

/// Cancels queries from any thread: every call given this token (running now or
/// started later) stops with `INTERRUPTED` within a few thousand SQLite instructions.
/// Cheap to clone; all clones are one token. One-shot: make a new token per request.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Why a running statement was stopped.
#[derive(Clone, Copy, Debug)]
enum Stop {
    Timeout,
    Cancelled,
    Memory { sqlite: u64, rows: u64 },
}

/// The state of the query running on this thread, read by the SQLite hooks (which run
/// on the calling thread, inside prepare and step).
pub(super) struct Call {
    started: Instant,
    deadline: Option<Instant>,
    timeout: Duration,
    heap_at_start: i64,
    max_memory: u64,
    row_bytes: Cell<u64>,
    cancel: Option<CancelToken>,
    stop: Cell<Option<Stop>>,
    /// The first action the authorizer refused, as the error to report.
    pub refusal: RefCell<Option<Error>>,
}

thread_local! {
    static CURRENT: RefCell<Option<Call>> = const { RefCell::new(None) };
    /// Whether the authorizer ran since the query began (proof that the connection has
    /// the hooks); apart from `CURRENT` so the authorizer's common case stays cheap.
    static AUTHORIZER_RAN: Cell<bool> = const { Cell::new(false) };
}

pub(super) fn mark_authorizer_ran() {
    AUTHORIZER_RAN.with(|r| r.set(true));
}

pub(super) fn authorizer_ran() -> bool {
    AUTHORIZER_RAN.with(Cell::get)
}

/// Runs `f` on this thread's running query, if there is one.
pub(super) fn with_call<T>(f: impl FnOnce(Option<&Call>) -> T) -> T {
    CURRENT.with(|c| f(c.borrow().as_ref()))
}

/// Marks a query as running on this thread until dropped.
pub(super) struct Running(());

impl Running {
    pub fn start(opts: &QueryOptions) -> Running {
        let started = Instant::now();
        let call = Call {
            started,
            deadline: started.checked_add(opts.timeout),
            timeout: opts.timeout,
            heap_at_start: heap_used(),
            max_memory: opts.max_memory as u64,
            row_bytes: Cell::new(0),
            cancel: opts.cancel.clone(),
            stop: Cell::new(None),
            refusal: RefCell::new(None),
        };
        CURRENT.with(|c| *c.borrow_mut() = Some(call));
        AUTHORIZER_RAN.with(|r| r.set(false));
        Running(())
    }

    /// Runs `f` outside the query: a caller's row handler may use the database on
    /// this thread, and its statements are then the engine's (not checked by the
    /// authorizer, not stopped by the query's limits).
    pub fn aside<T>(&self, f: impl FnOnce() -> T) -> T {
        let call = CURRENT.with(|c| c.borrow_mut().take());
        let ran = authorizer_ran();
        let out = f();
        CURRENT.with(|c| *c.borrow_mut() = call);
        AUTHORIZER_RAN.with(|r| r.set(ran));
        out
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        CURRENT.with(|c| c.borrow_mut().take());
    }
}

fn heap_used() -> i64 {
    // SAFETY: a plain read of SQLite's global memory statistics.
    unsafe { rusqlite::ffi::sqlite3_memory_used() }
}

impl Call {
    /// The limit the call is over now, if any (time, cancel, memory).
    fn over_limit(&self) -> Option<Stop> {
        if self.cancel.as_ref().is_some_and(CancelToken::is_cancelled) {
            return Some(Stop::Cancelled);
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Some(Stop::Timeout);
        }
        let sqlite = (heap_used() - self.heap_at_start).max(0) as u64;
        let rows = self.row_bytes.get();
        if sqlite.saturating_add(rows) > self.max_memory {
            return Some(Stop::Memory { sqlite, rows });
        }
        None
    }

    /// Checks the limits between rows; `bytes` is the size of the row just read.
    /// Collected rows (`kept`) add up; a streamed row is the only one in hand.
    pub fn after_row(&self, bytes: u64, kept: bool) -> Result<()> {
        self.row_bytes.set(if kept { self.row_bytes.get().saturating_add(bytes) } else { bytes });
        match self.over_limit() {
            Some(stop) => Err(self.error(stop)),
            None => Ok(()),
        }
    }

    /// The error for a statement that SQLite reports as interrupted.
    pub fn interrupted(&self) -> Error {
        let stop = self.stop.get().or_else(|| self.over_limit()).unwrap_or(Stop::Cancelled);
        self.error(stop)
    }

    fn error(&self, stop: Stop) -> Error {
        match stop {
            Stop::Timeout => Error::new(
                ErrorCode::Interrupted,
                format!(
                    "the query ran past its time limit of {:?} (stopped after {:?}; raise the timeout)",
                    self.timeout,
                    self.started.elapsed()
                ),
            ),
            Stop::Cancelled => cancelled(),
            Stop::Memory { sqlite, rows } => Error::too_large(format!(
                "the query needed more than its memory limit of {} bytes ({sqlite} bytes of SQLite working memory, \
                 {rows} bytes of rows; raise max_memory or return less)",
                self.max_memory
            )),
        }
    }
}

/// The error for a query stopped through its [`CancelToken`].
pub(super) fn cancelled() -> Error {
    Error::new(ErrorCode::Interrupted, "the query was cancelled")
}

/// The progress handler: `true` stops the statement (SQLite then reports SQLITE_INTERRUPT).
pub(super) fn progress() -> bool {
    with_call(|call| match call {
        None => false, // an engine read on this pooled connection, not a query
        Some(call) => match call.over_limit() {
            Some(stop) => {
                call.stop.set(Some(stop));
                true
            }
            None => false,
        },
    })
}
