//! Key management of encrypted databases (cargo feature `encryption`): change a
//! file's key ([`rekey`]), make an encrypted copy of a plaintext database
//! ([`encrypt`]) and a plaintext copy of an encrypted one ([`decrypt`]). Each result
//! is opened again and checked ([`Db::check`]) before it is returned.
//!
//! Copies go through SQLCipher's `sqlcipher_export`, which copies tables, indexes,
//! views and `sqlite_sequence` but not the header fields BuffDB recognises its files
//! by (`application_id`, `user_version`): those are copied here, or the copy is "not
//! a BuffDB database". The copy keeps the source's page size (an encrypted file's is
//! set with `cipher_page_size`), is written beside the destination under a temporary
//! name and linked into place only when complete, and is switched to WAL mode by the
//! open that checks it.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::db::Db;
use crate::error::{Error, ErrorCode, Result};
use crate::maintenance::CheckReport;
use crate::options::{EncryptionKey, OpenOptions};
use crate::storage::crypt::{self, Keying};

/// The schema name the copy is attached as.
const COPY: &str = "buffdb_copy";

/// Changes the key of the encrypted database at `path` from `key` to `new_key`, then
/// opens it with `new_key` and checks it. The database must be closed everywhere
/// else (`BUSY` otherwise, the file unchanged): its WAL is checkpointed into the main
/// file and the file is switched out of WAL mode while every page is written again under the new key
/// (SQLCipher's rekey, one transaction with a rollback journal: a crash leaves the
/// old key in force), then back to WAL. The salt is kept.
pub fn rekey(path: impl AsRef<Path>, key: &EncryptionKey, new_key: &EncryptionKey) -> Result<CheckReport> {
    let path = path.as_ref();
    let shown = path.display();
    if crypt::is_plaintext(path) {
        return Err(Error::invalid(format!(
            "{shown} is not encrypted: make an encrypted copy with `encrypt` (rekey changes an encrypted file's key)"
        )));
    }
    // Opening checks the key, recovers the WAL and finds the page size.
    let db = Db::open(path, keyed(key).create(false))?;
    let old = db.inner.keying().ok_or_else(Error::closed)?;
    db.close()?;
    drop(db);
    let new = Keying::for_file(new_key, path, old.page_size)?;
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    old.apply(&conn)?;
    let busy = || {
        Error::new(
            ErrorCode::Busy,
            format!("{shown} is open elsewhere: close every other handle on it before changing its key"),
        )
    };
    // Leaving WAL mode needs the only connection to the file (this tells; nothing is
    // changed otherwise); it checkpoints the whole WAL into the main file and removes it.
    match journal_mode(&conn, "DELETE") {
        Ok(m) if m == "delete" => {}
        Ok(_) => return Err(busy()),
        Err(e) if e.code() == ErrorCode::Busy => return Err(busy()),
        Err(e) => return Err(e),
    }
    let rekeyed = new.rekey(&conn);
    let wal = journal_mode(&conn, "WAL");
    rekeyed?;
    if wal? != "wal" {
        return Err(Error::new(ErrorCode::Io, format!("{shown}: could not switch back to WAL mode after the rekey")));
    }
    drop(conn);
    checked(path, new_key)
}

/// Makes `dst` (which must not exist) an encrypted copy, under `key`, of the plaintext
/// database `src`; returns the check of the copy.
pub fn encrypt(src: impl AsRef<Path>, dst: impl AsRef<Path>, key: &EncryptionKey) -> Result<CheckReport> {
    let src = src.as_ref();
    if src.exists() && !crypt::is_plaintext(src) && std::fs::metadata(src).map(|m| m.len() > 0).unwrap_or(false) {
        return Err(Error::invalid(format!(
            "{} is already encrypted (or not a database): `rekey` changes an encrypted file's key",
            src.display()
        )));
    }
    copy(src, None, dst.as_ref(), Some(key))
}

/// Makes `dst` (which must not exist) a plaintext copy of the database `src`,
/// encrypted under `key`; returns the check of the copy.
pub fn decrypt(src: impl AsRef<Path>, dst: impl AsRef<Path>, key: &EncryptionKey) -> Result<CheckReport> {
    let src = src.as_ref();
    if crypt::is_plaintext(src) {
        return Err(Error::invalid(format!("{} is not encrypted: there is nothing to decrypt", src.display())));
    }
    copy(src, Some(key), dst.as_ref(), None)
}

fn keyed(key: &EncryptionKey) -> OpenOptions {
    OpenOptions::default().encryption_key(key.clone())
}

fn copy(src: &Path, src_key: Option<&EncryptionKey>, dst: &Path, dst_key: Option<&EncryptionKey>) -> Result<CheckReport> {
    if dst.exists() {
        return Err(Error::invalid(format!("{} exists: the copy is written to a new file only", dst.display())));
    }
    let dst_name = dst.file_name().ok_or_else(|| Error::invalid(format!("{} names no file", dst.display())))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(dst_name);
    tmp_name.push(format!(".{}.copy", std::process::id()));
    let tmp = dst.with_file_name(tmp_name);
    let remove_tmp = || {
        for ext in ["", "-journal"] {
            let mut p = tmp.as_os_str().to_owned();
            p.push(ext);
            let _ = std::fs::remove_file(p);
        }
    };
    remove_tmp();

    let opts = src_key.map_or_else(OpenOptions::default, keyed).create(false);
    let db = Db::open(src, opts)?;
    let written = (|| -> Result<()> {
        let conn = db.inner.side_connection()?;
        let page_size = crypt::page_size(&conn)? as u32;
        let keying = dst_key.map(|k| Keying::for_file(k, &tmp, page_size)).transpose()?;
        // Made empty here: the attached file opens with the source's flags (no CREATE).
        std::fs::File::create(&tmp)
            .map_err(|e| Error::new(ErrorCode::Io, format!("cannot create {}: {e}", tmp.display())))?;
        Keying::attach(&conn, &tmp, COPY, keying.as_ref(), page_size)?;
        let exported = export(&conn);
        let detached = conn.execute_batch(&format!("DETACH DATABASE {COPY}"));
        exported?;
        detached?;
        Ok(())
    })();
    db.close()?;
    if let Err(e) = written {
        remove_tmp();
        return Err(Error::new(e.code(), format!("cannot copy {} to {}: {}", src.display(), dst.display(), e.message())));
    }
    // Linked into place only if nothing took the name meanwhile: never overwritten.
    let linked = std::fs::hard_link(&tmp, dst);
    remove_tmp();
    linked.map_err(|e| Error::new(ErrorCode::Io, format!("cannot create {}: {e}", dst.display())))?;
    if let Some(dir) = dst.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    match dst_key {
        Some(k) => checked(dst, k),
        None => check(Db::open(dst, OpenOptions::default().create(false))?),
    }
}

/// `sqlcipher_export` into the attached copy, then the header fields it leaves out.
fn export(conn: &Connection) -> Result<()> {
    conn.execute_batch("BEGIN")?;
    let done = (|| -> Result<()> {
        let app_id: i64 = conn.query_row("PRAGMA main.application_id", [], |r| r.get(0))?;
        let version: i64 = conn.query_row("PRAGMA main.user_version", [], |r| r.get(0))?;
        conn.query_row(&format!("SELECT sqlcipher_export('{COPY}')"), [], |_| Ok(()))?;
        conn.execute_batch(&format!("PRAGMA {COPY}.application_id = {app_id}; PRAGMA {COPY}.user_version = {version};"))?;
        Ok(())
    })();
    match done {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

fn journal_mode(conn: &Connection, mode: &str) -> Result<String> {
    Ok(conn.query_row(&format!("PRAGMA journal_mode = {mode}"), [], |r| r.get::<_, String>(0))?.to_ascii_lowercase())
}

/// Opens `path` with `key` and checks it.
fn checked(path: &Path, key: &EncryptionKey) -> Result<CheckReport> {
    check(Db::open(path, keyed(key).create(false))?)
}

fn check(db: Db) -> Result<CheckReport> {
    let report = db.check();
    db.close()?;
    let report = report?;
    if !report.ok {
        return Err(Error::new(
            ErrorCode::Corrupt,
            format!("{}: the check found damage: {}", db.path(), report.problems.join("; ")),
        ));
    }
    Ok(report)
}
