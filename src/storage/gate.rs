//! The checkpoint gate: how a writer that must reset the WAL gets readers in other
//! processes out of its way.
//!
//! A TRUNCATE checkpoint needs a moment when no reader uses the WAL. Readers that
//! begin a new snapshot the instant the previous one ends leave it only for
//! microseconds, so a checkpointer polling for that moment can starve. So the
//! writer closes the gate (a deadline, in milliseconds since the epoch, in the first
//! word of the shared, memory-mapped lock file `<database>-lock`) while it resets
//! the WAL, and every BuffDB handle, in any process, waits at a closed gate before
//! it starts reading: the snapshots in flight end, the checkpoint gets its moment.
//! The gate is a deadline, not a flag, so a writer that dies holding it closed
//! blocks nobody for longer than its busy timeout.

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Bytes at the start of the lock file that belong to the gate.
pub(crate) const GATE_BYTES: u64 = 4096;
/// Longest a reader waits at a closed gate in one call before it reads anyway.
const MAX_WAIT: Duration = Duration::from_millis(200);

pub(crate) struct Gate {
    word: *const AtomicU64,
    /// Keeps the mapping's file open (the mapping itself would do; this is explicit).
    _file: File,
}

// SAFETY: the word is an AtomicU64 in a shared mapping that lives as long as `Gate`.
unsafe impl Send for Gate {}
unsafe impl Sync for Gate {}

impl Gate {
    /// Maps the gate of the lock file at `lock_path`; `writable` handles create and
    /// size the file. `None` where there is no lock file (a read-only handle on
    /// media no writer ever opened) or it cannot be mapped.
    pub fn open(lock_path: &Path, writable: bool) -> Option<Gate> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(writable)
            .create(writable)
            .truncate(false)
            .open(lock_path)
            .ok()?;
        let len = file.metadata().ok()?.len();
        if len < GATE_BYTES {
            if !writable {
                return None;
            }
            file.set_len(GATE_BYTES).ok()?;
        }
        Some(Gate { word: sys::map(&file, writable)?, _file: file })
    }

    fn word(&self) -> &AtomicU64 {
        // SAFETY: see the type's safety note.
        unsafe { &*self.word }
    }

    /// Closes the gate until `deadline_ms` (or until [`Gate::open_now`]).
    pub fn close_until(&self, deadline_ms: u64) {
        self.word().store(deadline_ms, Ordering::SeqCst);
    }

    pub fn open_now(&self) {
        self.word().store(0, Ordering::SeqCst);
    }

    pub fn is_closed(&self) -> bool {
        let d = self.word().load(Ordering::Relaxed);
        d != 0 && d > now_ms()
    }

    /// Waits while the gate is closed (at most [`MAX_WAIT`]). One atomic load when open.
    pub fn pass(&self) {
        let deadline = self.word().load(Ordering::Relaxed);
        if deadline == 0 || deadline <= now_ms() {
            return;
        }
        let start = std::time::Instant::now();
        while start.elapsed() < MAX_WAIT {
            std::thread::sleep(Duration::from_millis(1));
            let d = self.word().load(Ordering::Relaxed);
            if d == 0 || d <= now_ms() {
                return;
            }
        }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[cfg(unix)]
mod sys {
    use std::fs::File;
    use std::os::unix::io::AsRawFd;
    use std::sync::atomic::AtomicU64;

    use super::GATE_BYTES;

    pub fn map(file: &File, writable: bool) -> Option<*const AtomicU64> {
        let prot = if writable { libc::PROT_READ | libc::PROT_WRITE } else { libc::PROT_READ };
        // SAFETY: maps the first GATE_BYTES of a file at least that long; unmapped in Drop.
        let p = unsafe {
            libc::mmap(std::ptr::null_mut(), GATE_BYTES as usize, prot, libc::MAP_SHARED, file.as_raw_fd(), 0)
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        // No readahead on faults: the gate page sits before the lock file's reserve,
        // whose allocated but unwritten extents the kernel otherwise reads (zero-fills)
        // around the first fault, costing ~1.5 ms of CPU in the first read of a handle.
        // SAFETY: advice on the mapping just made.
        unsafe { libc::madvise(p, GATE_BYTES as usize, libc::MADV_RANDOM) };
        Some(p as *const AtomicU64)
    }

    pub fn unmap(p: *const AtomicU64) {
        // SAFETY: `p` came from `map` with this length.
        unsafe { libc::munmap(p as *mut libc::c_void, GATE_BYTES as usize) };
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        sys::unmap(self.word);
    }
}
