//! Writer liveness: is the process that started an unfinished stream write still alive?
//!
//! A PID says nothing across PID namespaces (two containers sharing a file see
//! different PIDs), so each writable handle instead holds a kernel lock that dies
//! with its process: an open-file-description lock (`F_OFD_SETLK`) on one 8-byte
//! slot of the lock file `<database>-lock`, with a random token written in the slot.
//! An unfinished content records `(slot + 1) << 40 | token` (never a small number, so
//! never mistaken for the PID that releases before 0.6 recorded); its owner is alive exactly
//! while that slot is locked and still holds that token. OFD locks belong to the
//! open file, not the process, so they survive other descriptors of the file being
//! closed (POSIX locks do not) and conflict between two handles of one process.
//! Every mistake this can make is towards "alive": a content is kept, never lost.
//!
//! The same file keeps a disk-space reserve ([`RESERVE_BYTES`], allocated after the
//! slots): on a full disk a checkpoint must grow the database file before the WAL
//! can shrink, and a delete needs WAL room to commit; freeing the reserve when a
//! write fails `FULL` gives both the room they need.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorCode, Result};

/// Slots tried before giving up (each live writable handle holds one).
const SLOTS: u64 = 4096;
const SLOT_BYTES: u64 = 8;
/// Slots start after the first page, which holds the checkpoint gate ([`crate::storage::gate`]).
const SLOTS_AT: u64 = crate::storage::gate::GATE_BYTES;
const TOKEN_BITS: u32 = 40;
/// Disk space held back for recovery from a full disk.
pub const RESERVE_BYTES: u64 = 4 << 20;
const RESERVE_AT: u64 = SLOTS_AT + SLOTS * SLOT_BYTES;

/// This handle's slot in the lock file, held until it is dropped.
pub(crate) struct OwnerLock {
    file: File,
    id: i64,
}

impl OwnerLock {
    /// Takes a free slot of the lock file beside `db_path`.
    pub fn acquire(db_path: &Path) -> Result<OwnerLock> {
        let path = lock_path(db_path);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::new(ErrorCode::Io, format!("cannot open the lock file {}: {e}", path.display())))?;
        let token = random_token();
        for slot in 0..SLOTS {
            if sys::try_lock(&file, SLOTS_AT + slot * SLOT_BYTES, SLOT_BYTES)? {
                sys::write_at(&file, SLOTS_AT + slot * SLOT_BYTES, &token.to_le_bytes())?;
                return Ok(OwnerLock { file, id: (((slot + 1) as i64) << TOKEN_BITS) | token as i64 });
            }
        }
        Err(Error::new(ErrorCode::Busy, format!("all {SLOTS} writer slots of {} are held", path.display())))
    }

    /// Allocates the disk-space reserve (best effort: false when there is no room).
    pub fn reserve(&self) -> bool {
        if sys::allocate(&self.file, RESERVE_AT, RESERVE_BYTES) {
            return true;
        }
        self.release_reserve(); // a failed allocation may leave part of it behind
        false
    }

    /// Takes the reserve again only when the file system has room for it and for
    /// `headroom` more bytes, so taking it back does not make the next write fail.
    pub fn reserve_if_room(&self, headroom: u64) -> bool {
        match sys::free_bytes(&self.file) {
            Some(free) if free >= RESERVE_BYTES.saturating_mul(2).saturating_add(headroom) => self.reserve(),
            Some(_) => false,
            None => self.reserve(),
        }
    }

    /// Gives the reserve back to the file system (after a write failed `FULL`).
    pub fn release_reserve(&self) {
        let _ = self.file.set_len(RESERVE_AT);
    }

    /// What an unfinished content records as its owner.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// Whether the owner recorded as `id` still holds its slot. Unknown ids (an older
    /// release wrote PIDs here) count as alive unless they are a PID of this
    /// namespace that no longer exists.
    pub fn is_alive(&self, id: i64) -> bool {
        if id == self.id {
            return true;
        }
        if id < (1 << TOKEN_BITS) {
            return legacy_pid_alive(id);
        }
        let slot = (id >> TOKEN_BITS) as u64 - 1;
        let token = (id & ((1 << TOKEN_BITS) - 1)) as u64;
        if slot >= SLOTS {
            return true;
        }
        match sys::is_locked(&self.file, SLOTS_AT + slot * SLOT_BYTES, SLOT_BYTES) {
            Ok(false) => false,
            Ok(true) => {
                let mut b = [0u8; 8];
                match sys::read_at(&self.file, SLOTS_AT + slot * SLOT_BYTES, &mut b) {
                    // A new owner that has not written its token yet shows the old one: alive.
                    Ok(()) => u64::from_le_bytes(b) == token || u64::from_le_bytes(b) == 0,
                    Err(_) => true,
                }
            }
            Err(_) => true,
        }
    }
}

/// `<database>-lock`, beside the database (the OS bytes of its name, extended).
pub(crate) fn lock_path(db_path: &Path) -> PathBuf {
    let mut name = db_path.as_os_str().to_owned();
    name.push("-lock");
    PathBuf::from(name)
}

/// A nonzero 40-bit token, different for every handle.
fn random_token() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.write_u32(std::process::id());
    (h.finish() & ((1 << TOKEN_BITS) - 1)).max(1)
}

/// Files written by releases before 0.6 hold a PID: trusted only when this
/// namespace shows no such process (the old rule); alive otherwise.
fn legacy_pid_alive(pid: i64) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

#[cfg(target_os = "linux")]
mod sys {
    use std::fs::File;
    use std::os::unix::fs::FileExt;
    use std::os::unix::io::AsRawFd;

    use crate::error::{Error, ErrorCode, Result};

    fn flock(kind: i32, start: u64, len: u64) -> libc::flock {
        // SAFETY: flock is plain data; zeroed is a valid value (l_pid must be 0 for OFD).
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = kind as _;
        fl.l_whence = libc::SEEK_SET as _;
        fl.l_start = start as _;
        fl.l_len = len as _;
        fl
    }

    /// Takes an exclusive OFD lock on the range; false when another holder has it.
    pub fn try_lock(file: &File, start: u64, len: u64) -> Result<bool> {
        let mut fl = flock(libc::F_WRLCK, start, len);
        // SAFETY: valid descriptor and flock struct.
        let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &mut fl) };
        if rc == 0 {
            return Ok(true);
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EAGAIN) | Some(libc::EACCES) => Ok(false),
            _ => Err(Error::new(ErrorCode::Io, format!("cannot lock the lock file: {err}"))),
        }
    }

    /// Whether another open file holds a lock on the range.
    pub fn is_locked(file: &File, start: u64, len: u64) -> Result<bool> {
        let mut fl = flock(libc::F_WRLCK, start, len);
        // SAFETY: valid descriptor and flock struct.
        let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_GETLK, &mut fl) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        Ok(fl.l_type as i32 != libc::F_UNLCK)
    }

    pub fn write_at(file: &File, at: u64, data: &[u8]) -> Result<()> {
        Ok(file.write_all_at(data, at)?)
    }

    pub fn read_at(file: &File, at: u64, out: &mut [u8]) -> Result<()> {
        Ok(file.read_exact_at(out, at)?)
    }

    /// Bytes an unprivileged user may still write on the file's file system.
    pub fn free_bytes(file: &File) -> Option<u64> {
        // SAFETY: valid descriptor; statvfs is plain data filled by the call.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::fstatvfs(file.as_raw_fd(), &mut st) };
        (rc == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
    }

    /// Really allocates the range (not a sparse hole).
    pub fn allocate(file: &File, at: u64, len: u64) -> bool {
        // SAFETY: valid descriptor.
        unsafe { libc::posix_fallocate(file.as_raw_fd(), at as _, len as _) == 0 }
    }
}

/// Without OFD locks every owner counts as alive: unfinished contents are kept
/// (never lost) and only a later release on Linux collects them.
#[cfg(not(target_os = "linux"))]
mod sys {
    use std::fs::File;

    use crate::error::Result;

    pub fn try_lock(_: &File, _: u64, _: u64) -> Result<bool> {
        Ok(true)
    }
    pub fn is_locked(_: &File, _: u64, _: u64) -> Result<bool> {
        Ok(true)
    }
    pub fn write_at(_: &File, _: u64, _: &[u8]) -> Result<()> {
        Ok(())
    }
    pub fn read_at(_: &File, _: u64, out: &mut [u8]) -> Result<()> {
        out.fill(0);
        Ok(())
    }
    pub fn free_bytes(_: &File) -> Option<u64> {
        None
    }
    pub fn allocate(file: &File, at: u64, len: u64) -> bool {
        file.metadata().is_ok_and(|m| m.len() >= at + len) || file.set_len(at + len).is_ok()
    }
}
