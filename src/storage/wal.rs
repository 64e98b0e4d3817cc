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
/// `nBackfill`, the first word of the checkpoint info after the two header copies.
const NBACKFILL_WORD: usize = 2 * HDR_WORDS;
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

    /// Whether a checkpoint has copied every frame of the WAL into the database, so
    /// the next commit starts the WAL over (once no reader still uses it).
    pub fn fully_checkpointed(&self) -> bool {
        // SAFETY: nBackfill lies inside region 0; see `of`. One aligned word: no tearing.
        let backfilled = unsafe { std::ptr::read_volatile(self.header.add(NBACKFILL_WORD)) };
        self.frames().is_some_and(|f| f > 0 && backfilled >= f)
    }
}

/// Sharing the WAL with a replicator (Litestream), the contract of docs/replication.md.
///
/// Litestream keeps a read transaction open at all times so no checkpoint copies
/// frames it has not shipped, and checkpoints itself after a sync: it takes the
/// write lock (an insert into `_litestream_lock`, rolled back) with a 1 s busy
/// timeout, runs a PASSIVE checkpoint, and its next write starts the WAL over. A
/// RESTART or TRUNCATE checkpoint by BuffDB holds the write lock while it waits for
/// Litestream's reader, which lets go only inside its own checkpoint, behind that
/// same lock: neither moves. So on a replicated file BuffDB runs no checkpoint of
/// its own; a write that finds the WAL over its bound waits, holding no lock, until
/// the replicator has checkpointed it.
pub(crate) mod replication {
    use rusqlite::Connection;

    use crate::error::Result;

    /// Litestream's table, made on its first sync of a database and never dropped.
    pub const LITESTREAM_TABLE: &str = "_litestream_seq";
    /// Litestream's default `min-checkpoint-page-count`: it checkpoints only once
    /// the WAL holds this many pages (or once a minute).
    pub(crate) const LITESTREAM_CHECKPOINT_PAGES: u64 = 1000;
    /// Without a checkpoint by the replicator for this long, BuffDB tries a PASSIVE
    /// one itself: it copies only frames no reader (the replicator's included) still
    /// needs, so it never runs ahead of the replicator, and it keeps the WAL bounded
    /// when no replicator runs any more. Past Litestream's 1 s poll plus its 1 s
    /// busy timeout.
    pub const GRACE: std::time::Duration = std::time::Duration::from_millis(2500);
    /// The longest a write waits for the replicator (it may be uploading a snapshot
    /// of a large database) before it fails `BUSY`.
    pub const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

    /// Whether a replicator has taken this database: Litestream's table is in the
    /// schema (any process may have added it since this connection last looked).
    pub fn present(conn: &Connection) -> Result<bool> {
        Ok(conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
            [LITESTREAM_TABLE],
            |r| r.get(0),
        )?)
    }

    /// The WAL size at which a write waits for the replicator: `wal_max_bytes`, but
    /// never below what makes Litestream checkpoint (1000 pages and a quarter more,
    /// so its next poll surely finds that many), or it would checkpoint once a minute.
    pub fn bound(wal_max_bytes: u64, page_size: u64) -> u64 {
        wal_max_bytes.max(LITESTREAM_CHECKPOINT_PAGES * (page_size + 24) * 5 / 4)
    }
}
