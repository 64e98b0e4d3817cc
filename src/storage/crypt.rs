//! Encryption at rest. An encrypted database is a standard SQLCipher 4 file (AES-256
//! pages with an HMAC-SHA512 each; a passphrase goes through PBKDF2-HMAC-SHA512, 256,000
//! iterations, with the 16-byte salt at the start of the file; a raw 32-byte key is used
//! as it is): the main file and the WAL hold no plaintext, and BuffDB's `-lock` file
//! holds none either (the gate, the writer slots, the reserve). Every connection the
//! engine opens to the file (the writer, the checkpointer, each reader) is keyed first,
//! before anything reads the file. Needs the cargo feature `encryption` (SQLCipher with
//! a vendored OpenSSL linked instead of plain SQLite).
//!
//! A passphrase is stretched once per open, here ([`Keying`]), not by SQLCipher in
//! every connection: each connection gets the derived key and the file's salt
//! (`x'<key><salt>'`, SQLCipher's raw-key notation), which SQLCipher takes without
//! running PBKDF2 again. The file is the same as one keyed with the passphrase.

use std::path::Path;

use rusqlite::Connection;
use zeroize::Zeroizing;

use crate::error::{Error, ErrorCode, Result};

/// SQLCipher 4's defaults, which every encrypted BuffDB file uses.
#[cfg_attr(not(feature = "encryption"), allow(dead_code))]
const KDF_ITERATIONS: u32 = 256_000;
const KEY_BYTES: usize = 32;
/// The salt: the first 16 bytes of an encrypted file.
const SALT_BYTES: usize = 16;
/// Page sizes an encrypted file may have been made with, tried in this order after the
/// one asked for: its page size is encrypted inside its first page.
const PAGE_SIZES: [u32; 5] = [4096, 16384, 65536, 8192, 32768];

/// A database's key: a passphrase, or a raw 32-byte key. Wiped from memory when
/// dropped; never shown (its `Debug` is redacted).
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionKey {
    secret: Secret,
}

#[derive(Clone, PartialEq, Eq)]
enum Secret {
    Passphrase(Zeroizing<Vec<u8>>),
    Raw(Zeroizing<[u8; KEY_BYTES]>),
}

impl EncryptionKey {
    /// A passphrase (UTF-8, not empty); the file's salt and PBKDF2 make the key.
    /// `x'<64 hex digits>'` is taken as a raw key (SQLCipher's notation).
    pub fn passphrase(p: impl AsRef<str>) -> Result<EncryptionKey> {
        let p = p.as_ref();
        if p.is_empty() {
            return Err(Error::invalid("the encryption key is empty (give a passphrase or 32 raw bytes)"));
        }
        if p.contains('\0') {
            return Err(Error::invalid("the encryption passphrase contains a NUL byte"));
        }
        let b = p.as_bytes();
        if b.len() == 3 + 2 * KEY_BYTES && b[..2].eq_ignore_ascii_case(b"x'") && b[b.len() - 1] == b'\'' {
            let mut raw = Zeroizing::new([0u8; KEY_BYTES]);
            if unhex(&b[2..b.len() - 1], &mut raw[..]) {
                return Ok(EncryptionKey { secret: Secret::Raw(raw) });
            }
        }
        Ok(EncryptionKey { secret: Secret::Passphrase(Zeroizing::new(b.to_vec())) })
    }

    /// A raw 256-bit key (no key derivation).
    pub fn raw(key: &[u8]) -> Result<EncryptionKey> {
        let raw: [u8; KEY_BYTES] = key
            .try_into()
            .map_err(|_| Error::invalid(format!("a raw encryption key is 32 bytes, not {}", key.len())))?;
        Ok(EncryptionKey { secret: Secret::Raw(Zeroizing::new(raw)) })
    }
}

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionKey(<redacted>)")
    }
}

fn unhex(hex: &[u8], out: &mut [u8]) -> bool {
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    if hex.len() != out.len() * 2 {
        return false;
    }
    for (o, pair) in out.iter_mut().zip(hex.chunks(2)) {
        match (digit(pair[0]), digit(pair[1])) {
            (Some(h), Some(l)) => *o = h << 4 | l,
            _ => return false,
        }
    }
    true
}

fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const D: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(D[(b >> 4) as usize]);
        out.push(D[(b & 15) as usize]);
    }
}

/// Whether this build can encrypt (the cargo feature `encryption`).
pub const AVAILABLE: bool = cfg!(feature = "encryption");

/// How every connection to one encrypted file is keyed: the key (derived once) with
/// the file's salt, and the file's page size. Wiped when dropped.
#[derive(Clone)]
pub(crate) struct Keying {
    /// `x'<64 hex digits of the key><32 of the salt>'`.
    spec: Zeroizing<Vec<u8>>,
    pub page_size: u32,
}

impl Keying {
    /// The keying of a file with `salt` (read from it, or new for a new file).
    pub fn new(key: &EncryptionKey, salt: &[u8; SALT_BYTES], page_size: u32) -> Result<Keying> {
        let mut derived = Zeroizing::new([0u8; KEY_BYTES]);
        match &key.secret {
            Secret::Raw(k) => derived.copy_from_slice(&k[..]),
            Secret::Passphrase(p) => derive(p, salt, &mut derived)?,
        }
        let mut spec = Zeroizing::new(Vec::with_capacity(3 + 2 * (KEY_BYTES + SALT_BYTES)));
        spec.extend_from_slice(b"x'");
        push_hex(&mut spec, &derived[..]);
        push_hex(&mut spec, salt);
        spec.push(b'\'');
        Ok(Keying { spec, page_size })
    }

    /// The keying for the existing file at `path` (its salt), or a new file (a new salt).
    pub fn for_file(key: &EncryptionKey, path: &Path, page_size: u32) -> Result<Keying> {
        let salt = match salt_of(path)? {
            Some(s) => s,
            None => new_salt()?,
        };
        Keying::new(key, &salt, page_size)
    }

    /// The same key and salt, for pages of `page_size` bytes.
    pub fn with_page_size(&self, page_size: u32) -> Keying {
        Keying { spec: self.spec.clone(), page_size }
    }

    /// Keys `conn` (just opened, nothing read yet). A wrong key shows only at the first
    /// read (`NOT_A_DATABASE` from SQLite, turned into [`wrong_key`] by the caller).
    pub fn apply(&self, conn: &Connection) -> Result<()> {
        #[cfg(feature = "encryption")]
        {
            // SAFETY: a valid connection handle; SQLCipher copies the key bytes.
            let rc = unsafe {
                rusqlite::ffi::sqlite3_key(conn.handle(), self.spec.as_ptr().cast(), self.spec.len() as std::ffi::c_int)
            };
            if rc != rusqlite::ffi::SQLITE_OK {
                return Err(Error::new(ErrorCode::Internal, format!("SQLCipher refused the key (code {rc})")));
            }
            pragma(conn, "PRAGMA cipher_log_level = NONE")?;
            pragma(conn, &format!("PRAGMA cipher_page_size = {}", self.page_size))?;
            Ok(())
        }
        #[cfg(not(feature = "encryption"))]
        {
            let _ = conn;
            Err(unavailable())
        }
    }

    /// Changes the key of `conn`'s database (SQLCipher's `sqlite3_rekey`: every page is
    /// written again under the new key, the salt kept) in one transaction.
    pub fn rekey(&self, conn: &Connection) -> Result<()> {
        #[cfg(feature = "encryption")]
        {
            // SAFETY: a valid connection handle; SQLCipher copies the key bytes.
            let rc = unsafe {
                rusqlite::ffi::sqlite3_rekey(conn.handle(), self.spec.as_ptr().cast(), self.spec.len() as std::ffi::c_int)
            };
            if rc != rusqlite::ffi::SQLITE_OK {
                let e = Error::from(rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rc), None));
                return Err(Error::new(e.code(), format!("could not change the key: {}", e.message())));
            }
            Ok(())
        }
        #[cfg(not(feature = "encryption"))]
        {
            let _ = conn;
            Err(unavailable())
        }
    }

    /// Attaches the database at `path` to `conn` as schema `name`, keyed with this
    /// keying (`None`: a plaintext database of `page_size`).
    pub fn attach(conn: &Connection, path: &Path, name: &str, keying: Option<&Keying>, page_size: u32) -> Result<()> {
        let path = path.to_str().ok_or_else(|| Error::invalid(format!("{} is not valid UTF-8", path.display())))?;
        let spec: &[u8] = keying.map_or(b"", |k| &k.spec[..]);
        // The key is bound (text), never written into the SQL.
        let spec = std::str::from_utf8(spec).expect("hex");
        conn.execute(&format!("ATTACH DATABASE ?1 AS {name} KEY ?2"), rusqlite::params![path, spec])?;
        match keying {
            Some(k) => pragma(conn, &format!("PRAGMA {name}.cipher_page_size = {}", k.page_size))?,
            None => pragma(conn, &format!("PRAGMA {name}.page_size = {page_size}"))?,
        }
        Ok(())
    }
}

/// PBKDF2-HMAC-SHA512 of `pass` with `salt`: SQLCipher 4's key derivation.
fn derive(pass: &[u8], salt: &[u8], out: &mut [u8; KEY_BYTES]) -> Result<()> {
    #[cfg(feature = "encryption")]
    {
        pbkdf2::pbkdf2_hmac::<sha2::Sha512>(pass, salt, KDF_ITERATIONS, out);
        Ok(())
    }
    #[cfg(not(feature = "encryption"))]
    {
        let _ = (pass, salt, out);
        Err(unavailable())
    }
}

fn new_salt() -> Result<[u8; SALT_BYTES]> {
    #[cfg(feature = "encryption")]
    {
        let mut salt = [0u8; SALT_BYTES];
        getrandom::getrandom(&mut salt)
            .map_err(|e| Error::new(ErrorCode::Internal, format!("no random bytes for a salt: {e}")))?;
        Ok(salt)
    }
    #[cfg(not(feature = "encryption"))]
    Err(unavailable())
}

/// The salt of an existing encrypted file (`None`: missing or empty).
fn salt_of(path: &Path) -> Result<Option<[u8; SALT_BYTES]>> {
    use std::io::Read;
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::new(ErrorCode::Io, format!("cannot open {}: {e}", path.display()))),
    };
    let mut salt = [0u8; SALT_BYTES];
    let mut got = 0;
    while got < SALT_BYTES {
        match f.read(&mut salt[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(if got == SALT_BYTES { Some(salt) } else { None })
}

/// The page sizes to try for an existing encrypted file, `first` first.
pub(crate) fn page_sizes(first: u32) -> impl Iterator<Item = u32> {
    std::iter::once(first).chain(PAGE_SIZES.into_iter().filter(move |&p| p != first))
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
pub(crate) fn is_plaintext(path: &Path) -> bool {
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
pub(crate) fn pragma(conn: &Connection, sql: &str) -> Result<()> {
    let mut st = conn.prepare(sql)?;
    let mut rows = st.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}
