//! Options, open/close and database-wide calls.

use std::ffi::c_char;

use super::*;
use crate::{Db, Durability, OpenOptions};

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
        let r = d.db.check()?;
        out.set(buffdb_check_result {
            ok: r.ok,
            chunks_checked: r.chunks_checked,
            damaged_streams: r.damaged_streams.len() as u64,
            damaged_blobs: r.damaged_blobs.len() as u64,
            sqlite_errors: r.sqlite_errors.len() as u64,
        });
        Ok(())
    })
}
