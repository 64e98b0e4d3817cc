//! Options, open/close and database-wide calls.

use std::ffi::c_char;

use super::*;
use crate::{Db, Durability, EncryptionKey, OpenOptions};

/// Open options (single-threaded builder). Create with buffdb_options_new, change with the
/// buffdb_options_set_* calls, pass to buffdb_open (which copies it), free with
/// buffdb_options_free. Values are checked by buffdb_open.
pub struct buffdb_options {
    pub(crate) opts: OpenOptions,
}

/// An open database. Thread-safe: one handle may be used from many threads at once
/// (one writer at a time inside; readers run in parallel). Free with buffdb_close.
pub struct buffdb_db {
    pub(crate) db: Db,
}

/// The database behind a handle argument (NULL: INVALID_ARGUMENT).
pub(crate) unsafe fn db_of<'a>(p: *const buffdb_db) -> Result<&'a Db> {
    Ok(&handle(p, "db")?.db)
}

/// The operation surface of a database handle: the same type as [`txn_ops`]'s, so
/// each operation below `buffdb_X` and `buffdb_txn_X` is compiled once.
pub(crate) unsafe fn db_ops<'a>(p: *const buffdb_db) -> Result<Core<'a>> {
    Ok(db_of(p)?.core())
}

/// Counts and sizes of a database (buffdb_stats).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct buffdb_db_stats {
    pub kv_count: u64,
    pub blob_count: u64,
    pub stream_count: u64,
    pub version_count: u64,
    pub file_size: u64,
    pub page_size: u64,
    pub format_version: u32,
}

/// The summary of an integrity check (buffdb_check).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct buffdb_check_result {
    /// true when nothing is damaged.
    pub ok: bool,
    pub chunks_checked: u64,
    /// How many streams have a damaged chunk (`buffdb check` names them).
    pub damaged_streams: u64,
    pub damaged_blobs: u64,
    pub sqlite_errors: u64,
}

/// Creates options holding the defaults (create, read-write, durability "normal", no
/// compression, checksums verified, 1 MiB chunks, 2 versions kept, 64 MiB cache, no
/// document limit, 5000 ms busy timeout). Free with buffdb_options_free.
#[no_mangle]
pub unsafe extern "C" fn buffdb_options_new(out: *mut *mut buffdb_options) -> buffdb_status {
    ffi(|| {
        let out = Out::new(out, "out")?;
        new_handle(&out, buffdb_options { opts: OpenOptions::default() });
        Ok(())
    })
}

/// Frees options. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn buffdb_options_free(opts: *mut buffdb_options) {
    free_handle(opts)
}

/// Create the file when missing (default true).
#[no_mangle]
pub unsafe extern "C" fn buffdb_options_set_create(opts: *mut buffdb_options, value: bool) -> buffdb_status {
    ffi(|| {
        handle_mut(opts, "opts")?.opts.create = value;
        Ok(())
    })
}

/// Refuse every write with BUFFDB_READ_ONLY (default false).
#[no_mangle]
pub unsafe extern "C" fn buffdb_options_set_read_only(opts: *mut buffdb_options, value: bool) -> buffdb_status {
    ffi(|| {
        handle_mut(opts, "opts")?.opts.read_only = value;
        Ok(())
    })
}

/// Snappy-compress chunks when it saves space (default false).
#[no_mangle]
pub unsafe extern "C" fn buffdb_options_set_compression(opts: *mut buffdb_options, value: bool) -> buffdb_status {
    ffi(|| {
        handle_mut(opts, "opts")?.opts.compression = value;
        Ok(())
    })
}

/// Verify each chunk's CRC32 on read (default true; false = "quick mode").
#[no_mangle]
pub unsafe extern "C" fn buffdb_options_set_verify_checksums(opts: *mut buffdb_options, value: bool) -> buffdb_status {
    ffi(|| {
        handle_mut(opts, "opts")?.opts.verify_checksums = value;
        Ok(())
    })
}

/// Stream/blob chunk size in bytes, 4 KiB ..= 64 MiB (default 1 MiB).
#[no_mangle]
pub unsafe extern "C" fn buffdb_options_set_chunk_size(opts: *mut buffdb_options, value: usize) -> buffdb_status {
    ffi(|| {
        handle_mut(opts, "opts")?.opts.chunk_size = value;
        Ok(())
    })
}

/// How many versions of each stream path are kept, >= 1 (default 2).
#[no_mangle]
pub unsafe extern "C" fn buffdb_options_set_versions_to_keep(opts: *mut buffdb_options, value: u32) -> buffdb_status {
    ffi(|| {
        handle_mut(opts, "opts")?.opts.versions_to_keep = value;
        Ok(())
    })
}

/// SQLite page cache per connection in bytes (default 64 MiB).
#[no_mangle]
pub unsafe extern "C" fn buffdb_options_set_cache_size(opts: *mut buffdb_options, value: usize) -> buffdb_status {
    ffi(|| {
        handle_mut(opts, "opts")?.opts.cache_size = value;
        Ok(())
    })
}

/// Largest stream or blob in bytes; bigger gives BUFFDB_TOO_LARGE (default: no limit).
#[no_mangle]
pub unsafe extern "C" fn buffdb_options_set_max_document_size(opts: *mut buffdb_options, value: u64) -> buffdb_status {
    ffi(|| {
        handle_mut(opts, "opts")?.opts.max_document_size = value;
        Ok(())
    })
}

/// How long a writer waits for another before BUFFDB_BUSY, in ms (default 5000; at most
/// 2147483647, i.e. 2^31 - 1: more gives BUFFDB_INVALID_ARGUMENT from buffdb_open).
#[no_mangle]
pub unsafe extern "C" fn buffdb_options_set_busy_timeout_ms(opts: *mut buffdb_options, value: u64) -> buffdb_status {
    ffi(|| {
        handle_mut(opts, "opts")?.opts.busy_timeout_ms = value;
        Ok(())
    })
}

/// Page size of a new database file: a power of two from 4096 to 65536 (default 16384;
/// 65536 writes streams faster and commits single puts slower). Checked at open.
#[no_mangle]
pub unsafe extern "C" fn buffdb_options_set_page_size(opts: *mut buffdb_options, value: u32) -> buffdb_status {
    ffi(|| {
        handle_mut(opts, "opts")?.opts.page_size = value;
        Ok(())
    })
}

/// Durability of commits: "full" (fsync every commit), "normal" (default: survives a
/// process crash) or "none". Anything else gives BUFFDB_INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn buffdb_options_set_durability(
    opts: *mut buffdb_options,
    durability: *const c_char,
) -> buffdb_status {
    ffi(|| {
        let o = handle_mut(opts, "opts")?;
        let d: Durability = string(durability, "durability")?.parse()?;
        o.opts.durability = d;
        Ok(())
    })
}

/// Opens (or creates) an encrypted database (a standard SQLCipher 4 file) with the
/// passphrase `passphrase[0..len)`: UTF-8 without NUL bytes, not NUL-terminated (`len`
/// counts its bytes). The bytes are copied into `opts` (wiped when `opts` is freed);
/// the caller may wipe its buffer at once. The engine's copy is wiped when the database
/// closes. NULL with len 0 removes a key set before (plaintext database). A wrong or
/// missing key gives BUFFDB_NOT_A_DATABASE from buffdb_open, a key for a plaintext file
/// BUFFDB_INVALID_ARGUMENT; the file is unchanged. A library built without encryption
/// (buffdb_encryption_available() is false) refuses a key in buffdb_open with
/// BUFFDB_INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn buffdb_options_set_encryption_passphrase(
    opts: *mut buffdb_options,
    passphrase: *const c_char,
    len: usize,
) -> buffdb_status {
    ffi(|| {
        let o = handle_mut(opts, "opts")?;
        let p = opt_bytes(passphrase.cast(), len, "passphrase")?;
        o.opts.encryption_key = match p {
            None => None,
            Some(p) => Some(EncryptionKey::passphrase(
                std::str::from_utf8(p).map_err(|e| invalid(format!("passphrase is not valid UTF-8 ({e})")))?,
            )?),
        };
        Ok(())
    })
}

/// Like buffdb_options_set_encryption_passphrase, with a raw 256-bit key: `key[0..len)`,
/// exactly 32 bytes (used as it is, no key derivation). Copied into `opts` and wiped
/// as there; NULL with len 0 removes a key set before.
#[no_mangle]
pub unsafe extern "C" fn buffdb_options_set_encryption_key(
    opts: *mut buffdb_options,
    key: *const u8,
    len: usize,
) -> buffdb_status {
    ffi(|| {
        let o = handle_mut(opts, "opts")?;
        o.opts.encryption_key = opt_bytes(key, len, "key")?.map(EncryptionKey::raw).transpose()?;
        Ok(())
    })
}

/// Whether this library can open encrypted databases (built with the cargo feature
/// `encryption`; the released C tarball is).
#[no_mangle]
pub extern "C" fn buffdb_encryption_available() -> bool {
    crate::ENCRYPTION_AVAILABLE
}

/// Opens (or creates) the database file at `path`: a NUL-terminated file name, taken as
/// the operating system's bytes exactly (it need not be UTF-8); ":memory:" opens a private
/// in-memory database. `opts` may be NULL for the defaults.
/// On success `*out` is a new handle to release with buffdb_close.
/// A file that is not a BuffDB database gives BUFFDB_NOT_A_DATABASE and is left untouched.
#[no_mangle]
pub unsafe extern "C" fn buffdb_open(
    path: *const c_char,
    opts: *const buffdb_options,
    out: *mut *mut buffdb_db,
) -> buffdb_status {
    ffi(|| {
        let path = os_path(path, "path")?;
        let opts = match opts.as_ref() {
            Some(o) => o.opts.clone(),
            None => OpenOptions::default(),
        };
        let out = Out::new(out, "out")?;
        let db = Db::open(path, opts)?;
        new_handle(&out, buffdb_db { db });
        Ok(())
    })
}

/// Closes the database and frees the handle. NULL is accepted (returns BUFFDB_OK).
/// The handle is freed even when closing reports an error. Readers, writers, cursors
/// and transactions still open keep working memory-safely but report BUFFDB_CLOSED;
/// they must still be freed. No other thread may use `db` during or after this call
/// (use buffdb_shutdown first for that).
#[no_mangle]
pub unsafe extern "C" fn buffdb_close(db: *mut buffdb_db) -> buffdb_status {
    if db.is_null() {
        return ffi(|| Ok(()));
    }
    let st = ffi(|| (*db).db.close());
    free_handle(db);
    st
}

/// Closes the database but keeps the handle allocated, so other threads still holding
/// it get BUFFDB_CLOSED instead of a crash. Idempotent. Free it later with buffdb_close.
#[no_mangle]
pub unsafe extern "C" fn buffdb_shutdown(db: *const buffdb_db) -> buffdb_status {
    ffi(|| handle(db, "db")?.db.close())
}

/// Whether the database was closed (buffdb_shutdown).
#[no_mangle]
pub unsafe extern "C" fn buffdb_is_closed(db: *const buffdb_db, out: *mut bool) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let out = Out::new(out, "out")?;
        out.set(d.db.is_closed());
        Ok(())
    })
}

/// A number that changes whenever anything is committed to the database, by this or any
/// other handle or process: two equal numbers mean nothing was committed in between.
/// For caches built over reads (the PhysFS archiver's directory checks) and asset hot
/// reload. A few memory reads, no SQLite call. Where the file cannot tell (a read
/// replica in rollback-journal mode) every call gives a new number.
#[no_mangle]
pub unsafe extern "C" fn buffdb_data_version(db: *const buffdb_db, out: *mut u64) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let out = Out::new(out, "out")?;
        d.db.inner.check_open()?;
        out.set(d.db.inner.data_version());
        Ok(())
    })
}

/// Writes the WAL back into the database file (PASSIVE).
#[no_mangle]
pub unsafe extern "C" fn buffdb_checkpoint(db: *const buffdb_db) -> buffdb_status {
    ffi(|| handle(db, "db")?.db.checkpoint())
}

/// Counts and sizes of the database.
#[no_mangle]
pub unsafe extern "C" fn buffdb_stats(db: *const buffdb_db, out: *mut buffdb_db_stats) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let out = Out::new(out, "out")?;
        let s = d.db.stats()?;
        out.set(buffdb_db_stats {
            kv_count: s.kv_count,
            blob_count: s.blob_count,
            stream_count: s.stream_count,
            version_count: s.version_count,
            file_size: s.file_size,
            page_size: s.page_size,
            format_version: s.format_version,
        });
        Ok(())
    })
}

/// Verifies the CRC of every stored chunk and SQLite's own integrity. A damaged database
/// is not an error: `out->ok` is false and the counts say what is damaged.
#[no_mangle]
pub unsafe extern "C" fn buffdb_check(db: *const buffdb_db, out: *mut buffdb_check_result) -> buffdb_status {
    ffi(|| {
        let d = handle(db, "db")?;
        let out = Out::new(out, "out")?;
        out.set(check_result(&d.db.check()?));
        Ok(())
    })
}

fn check_result(r: &crate::CheckReport) -> buffdb_check_result {
    buffdb_check_result {
        ok: r.ok,
        chunks_checked: r.chunks_checked,
        damaged_streams: r.damaged_streams.len() as u64,
        damaged_blobs: r.damaged_blobs.len() as u64,
        sqlite_errors: r.sqlite_errors.len() as u64,
    }
}

/// Changes the key of the encrypted database at `path` (a NUL-terminated file name, as
/// for buffdb_open) from the key set in `key` to the one set in `new_key` (each set with
/// buffdb_options_set_encryption_passphrase or _key; their other options are not used),
/// then opens the file with the new key and checks it; `out` (may be NULL) receives the
/// check. The database must be closed everywhere else (BUFFDB_BUSY otherwise). A wrong
/// `key` gives BUFFDB_NOT_A_DATABASE, a plaintext file or an options object without a
/// key BUFFDB_INVALID_ARGUMENT; the file is then unchanged. A crash during the change
/// leaves the old key in force. Without encryption in the library:
/// BUFFDB_INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn buffdb_rekey(
    path: *const c_char,
    key: *const buffdb_options,
    new_key: *const buffdb_options,
    out: *mut buffdb_check_result,
) -> buffdb_status {
    ffi(|| {
        let path = os_path(path, "path")?;
        let key_of = |o: *const buffdb_options, what: &str| -> Result<EncryptionKey> {
            handle(o, what)?.opts.encryption_key.clone().ok_or_else(|| {
                invalid(format!(
                    "{what} holds no encryption key (set one with buffdb_options_set_encryption_passphrase or _key)"
                ))
            })
        };
        let (key, new_key) = (key_of(key, "key")?, key_of(new_key, "new_key")?);
        let report = crate::rekey(path, &key, &new_key)?;
        if !out.is_null() {
            *out = check_result(&report);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use buffdb_status::*;

    unsafe fn open_with(path: &std::path::Path, set: impl FnOnce(*mut buffdb_options) -> buffdb_status) -> buffdb_status {
        let mut o = std::ptr::null_mut();
        assert_eq!(buffdb_options_new(&mut o), BUFFDB_OK);
        let st = set(o);
        assert_eq!(st, BUFFDB_OK);
        let p = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        let mut db = std::ptr::null_mut();
        let st = buffdb_open(p.as_ptr(), o, &mut db);
        buffdb_options_free(o);
        if st == BUFFDB_OK {
            assert_eq!(buffdb_close(db), BUFFDB_OK);
        }
        st
    }

    #[test]
    fn bad_keys_are_refused_by_the_setters() {
        unsafe {
            let mut o = std::ptr::null_mut();
            assert_eq!(buffdb_options_new(&mut o), BUFFDB_OK);
            assert_eq!(buffdb_options_set_encryption_key(o, [1u8; 31].as_ptr(), 31), BUFFDB_INVALID_ARGUMENT);
            assert_eq!(buffdb_options_set_encryption_key(o, std::ptr::null(), 32), BUFFDB_INVALID_ARGUMENT);
            assert_eq!(buffdb_options_set_encryption_passphrase(o, b"\xff\xfe".as_ptr().cast(), 2), BUFFDB_INVALID_ARGUMENT);
            assert_eq!(buffdb_options_set_encryption_passphrase(o, b"a\0b".as_ptr().cast(), 3), BUFFDB_INVALID_ARGUMENT);
            // An empty passphrase is no key at all; NULL with 0 removes the key.
            assert_eq!(buffdb_options_set_encryption_passphrase(o, b"".as_ptr().cast(), 0), BUFFDB_INVALID_ARGUMENT);
            assert_eq!(buffdb_options_set_encryption_key(o, [1u8; 32].as_ptr(), 32), BUFFDB_OK);
            assert!((*o).opts.encryption_key.is_some());
            assert_eq!(buffdb_options_set_encryption_passphrase(o, std::ptr::null(), 0), BUFFDB_OK);
            assert!((*o).opts.encryption_key.is_none());
            assert_eq!(buffdb_options_set_encryption_key(o, [1u8; 32].as_ptr(), 32), BUFFDB_OK);
            assert_eq!(buffdb_options_set_encryption_key(std::ptr::null_mut(), [1u8; 32].as_ptr(), 32), BUFFDB_INVALID_ARGUMENT);
            buffdb_options_free(o);
        }
    }

    /// Without the cargo feature a key is refused at open, never ignored.
    #[cfg(not(feature = "encryption"))]
    #[test]
    fn a_key_without_encryption_support_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.bdb");
        unsafe {
            assert!(!buffdb_encryption_available());
            let st = open_with(&path, |o| buffdb_options_set_encryption_passphrase(o, b"pw".as_ptr().cast(), 2));
            assert_eq!(st, BUFFDB_INVALID_ARGUMENT);
            let msg = std::ffi::CStr::from_ptr(buffdb_last_error_message()).to_string_lossy().into_owned();
            assert!(msg.contains("encryption"), "{msg}");
        }
        assert!(!path.exists(), "nothing was created");
    }

    #[cfg(feature = "encryption")]
    #[test]
    fn passphrase_and_raw_key_open_what_they_made() {
        let dir = tempfile::tempdir().unwrap();
        unsafe {
            assert!(buffdb_encryption_available());
            let a = dir.path().join("a.bdb");
            let pass = |o| buffdb_options_set_encryption_passphrase(o, b"pw".as_ptr().cast(), 2);
            assert_eq!(open_with(&a, pass), BUFFDB_OK);
            assert_eq!(open_with(&a, pass), BUFFDB_OK);
            assert_eq!(open_with(&a, |_| BUFFDB_OK), BUFFDB_NOT_A_DATABASE);
            let wrong = |o| buffdb_options_set_encryption_passphrase(o, b"px".as_ptr().cast(), 2);
            assert_eq!(open_with(&a, wrong), BUFFDB_NOT_A_DATABASE);
            let b = dir.path().join("b.bdb");
            let raw = |o| buffdb_options_set_encryption_key(o, [7u8; 32].as_ptr(), 32);
            assert_eq!(open_with(&b, raw), BUFFDB_OK);
            assert_eq!(open_with(&b, raw), BUFFDB_OK);
            assert_eq!(open_with(&b, pass), BUFFDB_NOT_A_DATABASE);

            // buffdb_rekey: b from the raw key to the passphrase; a wrong old key changes nothing.
            let mut old = std::ptr::null_mut();
            let mut new = std::ptr::null_mut();
            assert_eq!(buffdb_options_new(&mut old), BUFFDB_OK);
            assert_eq!(buffdb_options_new(&mut new), BUFFDB_OK);
            let bp = std::ffi::CString::new(b.to_str().unwrap()).unwrap();
            let mut report = buffdb_check_result::default();
            assert_eq!(buffdb_rekey(bp.as_ptr(), old, new, &mut report), BUFFDB_INVALID_ARGUMENT);
            assert_eq!(pass(new), BUFFDB_OK);
            assert_eq!(pass(old), BUFFDB_OK);
            assert_eq!(buffdb_rekey(bp.as_ptr(), old, new, &mut report), BUFFDB_NOT_A_DATABASE);
            assert_eq!(open_with(&b, raw), BUFFDB_OK);
            assert_eq!(raw(old), BUFFDB_OK);
            assert_eq!(buffdb_rekey(bp.as_ptr(), old, new, &mut report), BUFFDB_OK);
            assert!(report.ok);
            assert_eq!(open_with(&b, pass), BUFFDB_OK);
            assert_eq!(open_with(&b, raw), BUFFDB_NOT_A_DATABASE);
            assert_eq!(buffdb_rekey(bp.as_ptr(), new, old, std::ptr::null_mut()), BUFFDB_OK);
            assert_eq!(open_with(&b, raw), BUFFDB_OK);
            buffdb_options_free(old);
            buffdb_options_free(new);
        }
    }
}
