//! Early writeback during large writes, of the WAL and of the main file.
//!
//! With `Durability::Normal` a commit does not sync; the checkpoint fsyncs the WAL
//! before it copies frames into the main file, and the main file after. Left to
//! itself the kernel starts writing those pages only at each fsync, so during a
//! large stream write the checkpointer sat in fsync while the writer waited for it
//! at the WAL bound (measured: the writer spent ~40% of a 1 GiB stream write
//! blocked there). Asking the kernel to start writing back every few MiB of new WAL
//! (`sync_file_range` with `SYNC_FILE_RANGE_WRITE`, which neither waits for the
//! disk nor promises durability) overlaps that disk work with the writer's. It
//! changes no guarantee: durability still comes from the checkpoint's fsyncs.

use std::os::fd::RawFd;
use std::path::Path;

use parking_lot::Mutex;
use rusqlite::{ffi, Connection};

/// New WAL bytes between two writeback requests: small commits never reach it.
const WRITEBACK_EVERY: u64 = 4 << 20;

pub(crate) struct EarlyWriteback {
    /// The `-wal` path; opened at the first request (the WAL exists by then).
    wal_path: std::path::PathBuf,
    state: Mutex<State>,
}

struct State {
    /// Our own read-only descriptor of the WAL. SQLite takes no POSIX locks on the
    /// WAL file (only on the database and `-shm`), so opening and closing one here
    /// cannot drop a lock of SQLite's.
    wal: Option<std::fs::File>,
    /// The writer connection's own descriptor of the main file, borrowed (closing a
    /// descriptor of our own would drop SQLite's POSIX locks on it); `None` once that
    /// connection is closing.
    main: Option<RawFd>,
    /// WAL length (bytes of frames) at the last request.
    requested_at: u64,
}

impl EarlyWriteback {
    /// For the database at `path` whose writer connection is `writer`.
    pub fn new(path: &Path, writer: &Connection) -> EarlyWriteback {
        let mut wal_path = path.as_os_str().to_owned();
        wal_path.push("-wal");
        let main = main_file_fd(writer, path);
        EarlyWriteback { wal_path: wal_path.into(), state: Mutex::new(State { wal: None, main, requested_at: 0 }) }
    }

    /// Before the writer connection closes: its descriptor is not ours to use after.
    pub fn forget_main_file(&self) {
        self.state.lock().main = None;
    }

    /// After a commit that left `wal_bytes` of frames in the WAL: once
    /// [`WRITEBACK_EVERY`] more bytes were written since the last request, starts
    /// the kernel writing the dirty pages of the WAL and of the main file (which the
    /// checkpointer fills meanwhile) and returns without waiting.
    pub fn after_commit(&self, wal_bytes: u64) {
        let Some(mut s) = self.state.try_lock() else { return }; // another thread is at it
        if wal_bytes < s.requested_at {
            s.requested_at = 0; // the WAL was restarted
        }
        if wal_bytes - s.requested_at < WRITEBACK_EVERY {
            return;
        }
        s.requested_at = wal_bytes;
        if s.wal.is_none() {
            s.wal = std::fs::File::open(&self.wal_path).ok();
        }
        use std::os::fd::AsRawFd;
        start_writeback(s.wal.as_ref().map(|f| f.as_raw_fd()));
        start_writeback(s.main);
    }
}

/// Starts writeback of every dirty page of the file; never waits for the disk.
/// A failure only means no early writeback: the checkpoint's fsync writes all.
fn start_writeback(fd: Option<RawFd>) {
    #[cfg(target_os = "linux")]
    if let Some(fd) = fd {
        // SAFETY: a descriptor that stays open while we hold it; offset 0 and
        // length 0 mean the whole file.
        unsafe {
            libc::sync_file_range(fd, 0, 0, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = fd;
}

/// The descriptor through which `conn` (on SQLite's unix VFS) reads and writes the
/// main file `path`, or `None`. SQLite has no call for it: its unix file object
/// starts `{ methods, vfs, inode, h }`, and the value read there is used only after
/// `fstat` shows it is open on the very file at `path`.
pub(crate) fn main_file_fd(conn: &Connection, path: &Path) -> Option<RawFd> {
    #[repr(C)]
    struct UnixFileHead {
        methods: *const std::ffi::c_void,
        vfs: *const std::ffi::c_void,
        inode: *const std::ffi::c_void,
        h: std::ffi::c_int,
    }
    // SAFETY: VFS_POINTER and FILE_POINTER hand back the connection's VFS and open
    // file object; the head is read only from a file of a unix VFS, a unixFile.
    let fd = unsafe {
        let mut vfs: *mut ffi::sqlite3_vfs = std::ptr::null_mut();
        let rc = ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            ffi::SQLITE_FCNTL_VFS_POINTER,
            &mut vfs as *mut _ as *mut std::ffi::c_void,
        );
        if rc != ffi::SQLITE_OK || vfs.is_null() || (*vfs).zName.is_null() {
            return None;
        }
        let unix = std::ffi::CStr::from_ptr((*vfs).zName).to_bytes().starts_with(b"unix");
        if !unix || ((*vfs).szOsFile as usize) < std::mem::size_of::<UnixFileHead>() {
            return None;
        }
        let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
        let rc = ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            ffi::SQLITE_FCNTL_FILE_POINTER,
            &mut file as *mut _ as *mut std::ffi::c_void,
        );
        if rc != ffi::SQLITE_OK || file.is_null() || (*file).pMethods.is_null() {
            return None;
        }
        (*(file as *const UnixFileHead)).h
    };
    use std::os::unix::fs::MetadataExt;
    let want = std::fs::metadata(path).ok()?;
    // SAFETY: fstat only reads the descriptor's status into `st`.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if fd < 0 || unsafe { libc::fstat(fd, &mut st) } != 0 {
        return None;
    }
    (st.st_dev as u64 == want.dev() && st.st_ino as u64 == want.ino()).then_some(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The unix file object's layout is read, not declared by SQLite: this fails
    /// when a SQLite upgrade moves the descriptor (the main file's hint would be lost).
    #[test]
    fn finds_the_main_files_descriptor_and_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
        let conn = Connection::open(&a).unwrap();
        conn.execute_batch("CREATE TABLE t(x)").unwrap();
        std::fs::write(&b, b"other").unwrap();
        let fd = main_file_fd(&conn, &a).expect("the descriptor of a.db");
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::fstat(fd, &mut st) }, 0);
        assert_eq!(st.st_size as u64, std::fs::metadata(&a).unwrap().len());
        assert_eq!(main_file_fd(&conn, &b), None, "a descriptor of another file is never taken");
    }
}
