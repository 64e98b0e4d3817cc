//! SQLite's WAL index, read directly: the commit counter and the WAL's length.
//!
//! Every connection maps the `-shm` file, whose header (two 48-byte copies, written
//! second copy first; see SQLite's wal.c and "WAL-index format") holds `iChange`, which
//! goes up by exactly one on every commit by any process, and `mxFrame`, the number of
//! valid frames in the WAL. Reading them costs a few loads, no SQLite call and no lock.

const HDR_WORDS: usize = 12;
const ICHANGE_WORD: usize = 2;
const ISINIT_BYTE: usize = 12;
const MXFRAME_WORD: usize = 4;

pub(crate) struct WalIndex {
    shm: memmap2::Mmap,
}

impl WalIndex {
    /// Maps the database's `-shm` file; `None` when there is none. The caller keeps a
    /// connection open for the index's life, so the file is never replaced under it.
    pub fn open(db_file: &str) -> Option<WalIndex> {
        let file = std::fs::File::open(format!("{db_file}-shm")).ok()?;
        if file.metadata().ok()?.len() < 4096 {
            return None;
        }
        // SAFETY: a read-only shared map of a file SQLite keeps at least this long;
        // it is only read through volatile loads below.
        let shm = unsafe { memmap2::MmapOptions::new().len(4096).map(&file) }.ok()?;
        Some(WalIndex { shm })
    }

    /// The header words, or `None` while a commit is rewriting them.
    fn header(&self) -> Option<[u32; HDR_WORDS]> {
        let words = self.shm.as_ptr() as *const u32;
        let mut a = [0u32; HDR_WORDS];
        let mut b = [0u32; HDR_WORDS];
        // SAFETY: the map is 4096 bytes long and page aligned.
        unsafe {
            for (i, w) in a.iter_mut().enumerate() {
                *w = std::ptr::read_volatile(words.add(i));
            }
            std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
            for (i, w) in b.iter_mut().enumerate() {
                *w = std::ptr::read_volatile(words.add(HDR_WORDS + i));
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
