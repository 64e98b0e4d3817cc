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
use rusqlite::Connection;

use crate::error::Result;

/// Most idle reader connections kept for reuse.
const MAX_IDLE: usize = 16;
/// How long a pooled connection may keep one read transaction.
pub(crate) const SNAPSHOT_MAX_AGE: Duration = Duration::from_millis(250);

pub(crate) struct Pooled {
    pub conn: Connection,
    /// The commit counter when its open read transaction began; `None`: no transaction.
    snapshot: Option<u32>,
    /// When its open read transaction began.
    began: Instant,
}

impl Pooled {
    pub fn new(conn: Connection) -> Pooled {
        Pooled { conn, snapshot: None, began: Instant::now() }
    }

    /// Keeps the open read transaction if nothing was committed since it began
    /// (`counter` unchanged), else starts a new one; without a counter, none.
    pub fn refresh(&mut self, counter: Option<u32>) -> Result<()> {
        if self.snapshot.is_some() && self.snapshot == counter && self.began.elapsed() < SNAPSHOT_MAX_AGE {
            return Ok(());
        }
        self.end();
        if let Some(c) = counter {
            // DEFERRED: the snapshot is taken by the first read, at `c` or later.
            self.conn.execute_batch("BEGIN DEFERRED")?;
            self.snapshot = Some(c);
            self.began = Instant::now();
        }
        Ok(())
    }

    /// At a closed checkpoint gate: ends the kept snapshot and waits for the gate.
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
    pub fn take(&self) -> Option<Pooled> {
        self.idle.lock().pop()
    }

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
        let now = Instant::now();
        for p in self.idle.lock().iter_mut() {
            if p.snapshot.is_some() && (p.snapshot != counter || now - p.began >= SNAPSHOT_MAX_AGE) {
                p.end();
            }
        }
    }
}
