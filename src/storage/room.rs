//! Room on a full disk: a checkpoint never needs space the disk no longer has.
//!
//! In WAL mode a commit writes its pages to the WAL only; the checkpoint copies them
//! into the main file later and only then can the WAL be reset. When the commits
//! grew the database, that copy grows the main file: on a disk filled meanwhile the
//! checkpoint fails `FULL`, the WAL cannot shrink, and nothing, not even a delete,
//! can commit again (the data is stuck twice on the disk: in the WAL, and owed to
//! the main file). So a commit that grows the database first allocates its pages in
//! the main file (`fallocate`), and fails `FULL` itself, rolled back, when they do
//! not fit. The checkpoint then only overwrites allocated space, and once it has run
//! (`TRUNCATE`) every byte of the WAL is free again: deletes have room, and the pages
//! they free are reused by the next writes without growing anything.
//!
//! SQLite truncates the main file to the database's size after a complete
//! checkpoint (in any process), never below what was committed: the pages of the
//! last commit stay covered. A truncation while a commit is in flight may drop that
//! commit's allocation; the next commit that grows the file allocates it again, so
//! at most one transaction's growth is ever owed, which the lock file's reserve
//! ([`crate::storage::owner`]) covers for a transaction of up to its size.

use rusqlite::Connection;

use crate::error::{Error, ErrorCode, Result};

/// Extra bytes allocated past a growing database, so small commits that grow it a
/// page at a time do not each make a system call (dropped again by the next
/// complete checkpoint's truncation).
const SLACK_BYTES: u64 = 1 << 20;

pub(crate) struct Room {
    /// The writer connection's own descriptor of the main file, borrowed (see
    /// [`crate::storage::writeback::main_file_fd`]).
    /// -1 once that connection is closing.
    fd: std::sync::atomic::AtomicI32,
    page_size: u64,
    /// Pages of the database as of the last commit, all allocated in the main file
    /// (a complete checkpoint truncates the file to the committed size, no less).
    covered_pages: std::sync::atomic::AtomicU64,
}

impl Room {
    /// For the writer connection `conn` of the database at `path`; `None` where its
    /// descriptor cannot be found (another VFS): commits are then not pre-allocated.
    pub fn new(conn: &Connection, path: &std::path::Path, page_size: u64) -> Option<Room> {
        let fd = crate::storage::writeback::main_file_fd(conn, path)?;
        Some(Room { fd: fd.into(), page_size, covered_pages: Default::default() })
    }

    /// Before a commit on the writer connection `conn`: makes sure the main file has
    /// room for every page of the database as it will be after the commit, leaving
    /// `keep_free` bytes of the disk free. `FULL` (the caller rolls back) when not.
    pub fn cover(&self, conn: &Connection, keep_free: u64) -> Result<()> {
        use std::sync::atomic::Ordering::Relaxed;
        let pages: u64 = conn.prepare_cached("PRAGMA page_count")?.query_row([], |r| r.get::<_, i64>(0))? as u64;
        if pages <= self.covered_pages.load(Relaxed) {
            return Ok(());
        }
        let fd = self.fd.load(Relaxed);
        if fd < 0 {
            return Ok(());
        }
        let need = pages * self.page_size;
        let size = sys::file_size(fd)?;
        if size < need {
            let grow = need - size;
            let slack = if keep_free > 0 { 0 } else { SLACK_BYTES };
            if keep_free > 0 && sys::free_bytes(fd).is_some_and(|free| free < grow.saturating_add(keep_free)) {
                return Err(full(need));
            }
            if !sys::allocate(fd, size, grow + slack) && (slack == 0 || !sys::allocate(fd, size, grow)) {
                return Err(full(need));
            }
        }
        self.covered_pages.store(pages, Relaxed);
        Ok(())
    }

    /// After a commit failed: the pages counted by [`Room::cover`] were not
    /// committed, and a checkpoint may truncate them away: look again next time.
    pub fn forget(&self) {
        self.covered_pages.store(0, std::sync::atomic::Ordering::Relaxed);
    }

    /// Before the writer connection closes: its descriptor is not ours to use after.
    pub fn forget_main_file(&self) {
        self.fd.store(-1, std::sync::atomic::Ordering::Relaxed);
    }
}

fn full(need: u64) -> Error {
    Error::new(ErrorCode::Full, format!("the disk is full: the database file cannot grow to {need} bytes"))
}

#[cfg(target_os = "linux")]
mod sys {
    use std::os::fd::RawFd;

    use crate::error::Result;

    pub fn file_size(fd: RawFd) -> Result<u64> {
        // SAFETY: fstat only fills `st`; the descriptor stays open (see `Room::fd`).
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstat(fd, &mut st) } != 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        Ok(st.st_size as u64)
    }

    pub fn free_bytes(fd: RawFd) -> Option<u64> {
        // SAFETY: statvfs is plain data filled by the call.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        (unsafe { libc::fstatvfs(fd, &mut st) } == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
    }

    /// Allocates (and extends the file over) the range; true when allocated or when
    /// the file system cannot allocate ahead (then nothing is promised either way).
    pub fn allocate(fd: RawFd, at: u64, len: u64) -> bool {
        // SAFETY: valid descriptor; mode 0 allocates and extends.
        if unsafe { libc::fallocate(fd, 0, at as _, len as _) } == 0 {
            return true;
        }
        std::io::Error::last_os_error().raw_os_error() != Some(libc::ENOSPC)
    }
}

/// Elsewhere no allocation ahead: a checkpoint may need room (the reserve's).
#[cfg(not(target_os = "linux"))]
mod sys {
    use std::os::fd::RawFd;

    use crate::error::Result;

    pub fn file_size(_: RawFd) -> Result<u64> {
        Ok(u64::MAX)
    }
    pub fn free_bytes(_: RawFd) -> Option<u64> {
        None
    }
    pub fn allocate(_: RawFd, _: u64, _: u64) -> bool {
        true
    }
}
