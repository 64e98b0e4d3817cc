//! Early writeback of the WAL during large writes.
//!
//! With `Durability::Normal` a commit does not sync; the checkpoint that follows
//! fsyncs the WAL before it copies frames into the main file. Left to itself the
//! kernel starts writing those WAL pages only at that fsync, so during a large
//! stream write the checkpoint sat waiting for up to `wal_max_bytes` of disk
//! writes while the writer waited for the checkpoint (measured: the writer spent
//! ~40% of a 1 GiB stream write blocked on the WAL bound). Asking the kernel to
//! start writing back every few MiB of new WAL (`sync_file_range` with
//! `SYNC_FILE_RANGE_WRITE`, which neither waits for the disk nor promises
//! durability) overlaps that disk work with the writer's. It changes no
//! guarantee: durability still comes from the checkpoint's fsync.

use std::path::Path;

use parking_lot::Mutex;

/// New WAL bytes between two writeback requests: small commits never reach it.
const WRITEBACK_EVERY: u64 = 4 << 20;

pub(crate) struct WalWriteback {
    /// The `-wal` path; opened at the first request (the WAL exists by then).
    path: std::path::PathBuf,
    state: Mutex<State>,
}

struct State {
    /// Our own read-only descriptor of the WAL. SQLite takes no POSIX locks on the
    /// WAL file (only on the database and `-shm`), so opening and closing one here
    /// cannot drop a lock of SQLite's.
    file: Option<std::fs::File>,
    /// WAL length (bytes of frames) at the last request.
    requested_at: u64,
}

impl WalWriteback {
    pub fn new(db: &Path) -> WalWriteback {
        let mut path = db.as_os_str().to_owned();
        path.push("-wal");
        WalWriteback { path: path.into(), state: Mutex::new(State { file: None, requested_at: 0 }) }
    }

    /// After a commit that left `wal_bytes` of frames in the WAL: once
    /// [`WRITEBACK_EVERY`] more bytes were written since the last request, starts
    /// the kernel writing the WAL's dirty pages and returns without waiting.
    pub fn after_commit(&self, wal_bytes: u64) {
        let Some(mut s) = self.state.try_lock() else { return }; // another thread is at it
        if wal_bytes < s.requested_at {
            s.requested_at = 0; // the WAL was restarted
        }
        if wal_bytes - s.requested_at < WRITEBACK_EVERY {
            return;
        }
        s.requested_at = wal_bytes;
        if s.file.is_none() {
            s.file = std::fs::File::open(&self.path).ok();
        }
        #[cfg(target_os = "linux")]
        if let Some(f) = &s.file {
            use std::os::fd::AsRawFd;
            // SAFETY: a valid descriptor; offset 0 and length 0 mean the whole file.
            // A failure only means no early writeback: the checkpoint's fsync still
            // writes everything.
            unsafe {
                libc::sync_file_range(f.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
            }
        }
    }
}
