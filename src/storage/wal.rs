//! SQLite's WAL index, read directly: the commit counter and the WAL's length.
//!
//! Every connection in WAL mode shares the `-shm` memory, whose header (two 48-byte
//! copies, written second copy first; see SQLite's wal.c and "WAL-index format")
//! holds `iChange`, which goes up by exactly one on every commit by any process, and
//! `mxFrame`, the number of valid frames in the WAL. Reading them costs a few loads,
//! no SQLite call and no lock.
//!
//! The memory is SQLite's own mapping, obtained through the VFS (`xShmMap`) of the
//! writer connection: opening the `-shm` file ourselves would be wrong, because
//! closing any descriptor of a file drops every POSIX lock this process holds on it,
//! SQLite's included. The mapping lives as long as that connection.

use rusqlite::{ffi, Connection};

const HDR_WORDS: usize = 12;
const ICHANGE_WORD: usize = 2;
const ISINIT_BYTE: usize = 12;
const MXFRAME_WORD: usize = 4;
/// The WAL index's region size (WALINDEX_PGSZ in wal.c).
const REGION_SIZE: i32 = 32768;

pub(crate) struct WalIndex {
    header: *const u32,
}

// SAFETY: the pointer is into shared memory that other threads and processes write
// concurrently by design; it is only read with volatile loads, and the owner drops
// the index before the connection whose mapping it is.
unsafe impl Send for WalIndex {}
unsafe impl Sync for WalIndex {}

impl WalIndex {
    /// The WAL index of `conn`'s main database, `None` when it has none (not in WAL
    /// mode, or a VFS without shared memory). Valid while `conn` stays open.
    pub fn of(conn: &Connection) -> Option<WalIndex> {
        // SAFETY: FILE_POINTER hands back the connection's open file; xShmMap with
        // bExtend = 0 maps the existing region 0 (or reports none) as SQLite's WAL
        // code does itself.
        unsafe {
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
            let methods = &*(*file).pMethods;
            let shm_map = if methods.iVersion >= 2 { methods.xShmMap? } else { return None };
            let mut region: *mut std::ffi::c_void = std::ptr::null_mut();
            if shm_map(file, 0, REGION_SIZE, 0, &mut region) != ffi::SQLITE_OK || region.is_null() {
                return None;
            }
            Some(WalIndex { header: region as *const u32 })
        }
    }

    /// The header words, or `None` while a commit is rewriting them.
    fn header(&self) -> Option<[u32; HDR_WORDS]> {
        let mut a = [0u32; HDR_WORDS];
        let mut b = [0u32; HDR_WORDS];
        // SAFETY: region 0 is REGION_SIZE bytes and page aligned; see `of`.
        unsafe {
            for (i, w) in a.iter_mut().enumerate() {
                *w = std::ptr::read_volatile(self.header.add(i));
            }
            std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
            for (i, w) in b.iter_mut().enumerate() {
                *w = std::ptr::read_volatile(self.header.add(HDR_WORDS + i));
            }
        }
        let init = a[ISINIT_BYTE / 4].to_ne_bytes()[ISINIT_BYTE % 4] != 0;
        (a == b && init).then_some(a)
    }

    /// The commit counter: changes exactly when some process commits.
    pub fn commit_counter(&self) -> Option<u32> {
        self.header().map(|h| h[ICHANGE_WORD])
    }

    /// Frames (pages) in the WAL that a checkpoint has yet to copy, at most.
    pub fn frames(&self) -> Option<u32> {
        self.header().map(|h| h[MXFRAME_WORD])
    }
}
