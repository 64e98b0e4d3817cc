//! Encryption at rest. An encrypted database is a standard SQLCipher 4 file (AES-256
//! pages with an HMAC each; a passphrase goes through PBKDF2-HMAC-SHA512, a raw
//! 32-byte key is used as it is): the main file and the WAL hold no plaintext, and
//! BuffDB's `-lock` file holds none either (the gate, the writer slots, the reserve).
//! Every connection the engine opens to the file (the writer, the checkpointer, each
//! reader) is keyed first, before anything reads the file. Needs the cargo feature
//! `encryption` (SQLCipher with a vendored OpenSSL linked instead of plain SQLite).

use rusqlite::Connection;
use zeroize::Zeroizing;

use crate::error::{Error, ErrorCode, Result};

/// A database's key: a passphrase, or a raw 32-byte key. Wiped from memory when
/// dropped; never shown (its `Debug` is redacted).
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionKey {
    /// What SQLCipher is given: the passphrase's bytes, or `x'<64 hex digits>'`.
    spec: Zeroizing<Vec<u8>>,
}

impl EncryptionKey {
    /// A passphrase (UTF-8, not empty); the file's salt and PBKDF2 make the key.
    pub fn passphrase(p: impl AsRef<str>) -> Result<EncryptionKey> {
        let p = p.as_ref();
        if p.is_empty() {
            return Err(Error::invalid("the encryption key is empty (give a passphrase or 32 raw bytes)"));
        }
        if p.contains('\0') {
            return Err(Error::invalid("the encryption passphrase contains a NUL byte"));
        }
        Ok(EncryptionKey { spec: Zeroizing::new(p.as_bytes().to_vec()) })
    }

    /// A raw 256-bit key (no key derivation).
    pub fn raw(key: &[u8]) -> Result<EncryptionKey> {
        if key.len() != 32 {
            return Err(Error::invalid(format!("a raw encryption key is 32 bytes, not {}", key.len())));
        }
        let mut spec = Zeroizing::new(Vec::with_capacity(67));
        spec.extend_from_slice(b"x'");
        for b in key {
            spec.extend_from_slice(&hex(*b));
        }
        spec.push(b'\'');
        Ok(EncryptionKey { spec })
    }
}

fn hex(b: u8) -> [u8; 2] {
    const D: &[u8; 16] = b"0123456789abcdef";
    [D[(b >> 4) as usize], D[(b & 15) as usize]]
}

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionKey(<redacted>)")
    }
}

/// Whether this build can encrypt (the cargo feature `encryption`).
pub const AVAILABLE: bool = cfg!(feature = "encryption");

/// Keys `conn` (just opened, nothing read yet) with `key`, pages of `page_size`
/// bytes. A wrong key shows only at the first read (`NOT_A_DATABASE` from SQLite,
/// turned into [`wrong_key`] by the caller).
pub(crate) fn apply(conn: &Connection, key: &EncryptionKey, page_size: u32) -> Result<()> {
    #[cfg(feature = "encryption")]
    {
        // SAFETY: a valid connection handle; SQLCipher copies the key bytes.
        let rc = unsafe {
            rusqlite::ffi::sqlite3_key(conn.handle(), key.spec.as_ptr().cast(), key.spec.len() as std::ffi::c_int)
        };
        if rc != rusqlite::ffi::SQLITE_OK {
            return Err(Error::new(ErrorCode::Internal, format!("SQLCipher refused the key (code {rc})")));
        }
        pragma(conn, "PRAGMA cipher_log_level = NONE")?;
        pragma(conn, &format!("PRAGMA cipher_page_size = {page_size}"))?;
        Ok(())
    }
    #[cfg(not(feature = "encryption"))]
    {
        let _ = (conn, key, page_size);
        Err(unavailable())
    }
}

pub(crate) fn unavailable() -> Error {
    Error::new(
        ErrorCode::InvalidArgument,
        "this build of BuffDB has no encryption (the cargo feature `encryption`); the released packages have it",
    )
}

/// The error for an encrypted file that `key` does not open.
pub(crate) fn wrong_key(path: &str) -> Error {
    Error::new(
        ErrorCode::NotADatabase,
        format!("{path}: wrong encryption key (the key does not decrypt this file; or it is not a BuffDB database)"),
    )
}

/// Whether the file at `path` starts with SQLite's plaintext header.
pub(crate) fn is_plaintext(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 16];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok() && &head == b"SQLite format 3\0"
}

/// The page size of `conn`'s database. SQLCipher answers `PRAGMA page_size` on an
/// encrypted database with its `cipher_page_size`, as text.
pub(crate) fn page_size(conn: &Connection) -> Result<u64> {
    use rusqlite::types::ValueRef;
    Ok(conn.query_row("PRAGMA page_size", [], |r| {
        Ok(match r.get_ref(0)? {
            ValueRef::Integer(n) => n as u64,
            ValueRef::Text(t) => std::str::from_utf8(t).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0),
            _ => 0,
        })
    })?)
}

/// Runs a PRAGMA, stepping through the rows SQLCipher answers some settings with.
#[cfg(feature = "encryption")]
fn pragma(conn: &Connection, sql: &str) -> Result<()> {
    let mut st = conn.prepare(sql)?;
    let mut rows = st.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}
