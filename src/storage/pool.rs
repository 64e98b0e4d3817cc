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
    /// When its open read transaction began ([`now_ns`]).
    began: u64,
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
        Pooled { conn, snapshot: None, began: now_ns() }
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
