//! Open options and the documented limits.

use crate::error::{Error, Result};
pub use crate::storage::crypt::EncryptionKey;
/// Whether this build can open encrypted databases (the cargo feature `encryption`).
pub const ENCRYPTION_AVAILABLE: bool = crate::storage::crypt::AVAILABLE;

/// Largest KV key in bytes (keys must also be non-empty).
pub const MAX_KEY_SIZE: usize = 4096;
/// Largest KV value in bytes; bigger things belong in blobs or streams.
pub const MAX_VALUE_SIZE: usize = 64 << 20;
/// Largest stream path in bytes (non-empty UTF-8, no NUL).
pub const MAX_PATH_SIZE: usize = 4096;
/// Largest blob metadata string in bytes.
pub const MAX_METADATA_SIZE: usize = 1 << 20;
/// Smallest `wal_max_bytes`.
pub const MIN_WAL_MAX_BYTES: u64 = 1 << 20;
/// Bounds of `chunk_size`.
pub const MIN_CHUNK_SIZE: usize = 4 << 10;
pub const MAX_CHUNK_SIZE: usize = 64 << 20;

/// How hard a commit works to survive a crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Durability {
    /// fsync on every commit: survives power loss.
    Full,
    /// WAL without fsync per commit: survives a process crash (the default).
    #[default]
    Normal,
    /// No syncing at all: for scratch data.
    None,
}

impl std::str::FromStr for Durability {
    type Err = Error;
    fn from_str(s: &str) -> Result<Durability> {
        match s {
            "full" => Ok(Durability::Full),
            "normal" => Ok(Durability::Normal),
            "none" => Ok(Durability::None),
            other => Err(Error::invalid(format!("durability must be \"full\", \"normal\" or \"none\", not {other:?}"))),
        }
    }
}

impl Durability {
    pub fn name(self) -> &'static str {
        match self {
            Durability::Full => "full",
            Durability::Normal => "normal",
            Durability::None => "none",
        }
    }
}

/// Options for [`crate::Db::open`]. `OpenOptions::default()` gives the documented defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenOptions {
    /// Create the file when it does not exist (default true).
    pub create: bool,
    /// Refuse every write with `READ_ONLY` (default false).
    pub read_only: bool,
    pub durability: Durability,
    /// Snappy-compress stream and blob chunks, keeping a chunk raw when that is smaller (default false).
    pub compression: bool,
    /// Check each chunk's CRC32 on read (default true; false is "quick mode").
    pub verify_checksums: bool,
    /// Raw bytes per chunk for new streams and blobs (default 1 MiB; 4 KiB ..= 64 MiB).
    pub chunk_size: usize,
    /// Versions of a stream kept; older ones are collected (default 2, at least 1).
    pub versions_to_keep: u32,
    /// SQLite page cache per connection, in bytes (default 64 MiB).
    pub cache_size: usize,
    /// Largest stream or blob accepted, in bytes (default: no limit).
    pub max_document_size: u64,
    /// How long a writer waits for another writer before `BUSY` (default 5000 ms,
    /// at most 2^31 - 1).
    pub busy_timeout_ms: u64,
    /// SQLite page size of a new database file, a power of two in 4096 ..= 65536
    /// (default 16384). 65536 writes streams about 1.5x faster and halves the rate of
    /// single-put commits. An existing file keeps the size it was made with.
    pub page_size: u32,
    /// WAL size at which the next write first checkpoints and truncates the WAL
    /// (default 64 MiB, at least 1 MiB). The WAL never holds more than this plus one
    /// transaction: a reader that keeps the checkpoint from finishing for the busy
    /// timeout makes that write fail `BUSY` instead. Also the size the WAL file is
    /// trimmed back to after a checkpoint (`journal_size_limit`).
    pub wal_max_bytes: u64,
    /// Opens (or makes) an encrypted database: a standard SQLCipher 4 file (default
    /// none). Needs the cargo feature `encryption` (the released packages have it).
    /// An encrypted file is opened with the `page_size` it was made with.
    pub encryption_key: Option<EncryptionKey>,
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions {
            create: true,
            read_only: false,
            durability: Durability::Normal,
            compression: false,
            verify_checksums: true,
            chunk_size: 1 << 20,
            versions_to_keep: 2,
            cache_size: 64 << 20,
            max_document_size: u64::MAX,
            busy_timeout_ms: 5000,
            page_size: 16384,
            wal_max_bytes: 64 << 20,
            encryption_key: None,
        }
    }
}

impl OpenOptions {
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }
    pub fn create(mut self, v: bool) -> Self {
        self.create = v;
        self
    }
    pub fn read_only(mut self, v: bool) -> Self {
        self.read_only = v;
        self
    }
    pub fn durability(mut self, v: Durability) -> Self {
        self.durability = v;
        self
    }
    pub fn compression(mut self, v: bool) -> Self {
        self.compression = v;
        self
    }
    pub fn verify_checksums(mut self, v: bool) -> Self {
        self.verify_checksums = v;
        self
    }
    pub fn chunk_size(mut self, v: usize) -> Self {
        self.chunk_size = v;
        self
    }
    pub fn versions_to_keep(mut self, v: u32) -> Self {
        self.versions_to_keep = v;
        self
    }
    pub fn cache_size(mut self, v: usize) -> Self {
        self.cache_size = v;
        self
    }
    pub fn max_document_size(mut self, v: u64) -> Self {
        self.max_document_size = v;
        self
    }
    pub fn busy_timeout_ms(mut self, v: u64) -> Self {
        self.busy_timeout_ms = v;
        self
    }
    pub fn page_size(mut self, v: u32) -> Self {
        self.page_size = v;
        self
    }
    pub fn wal_max_bytes(mut self, v: u64) -> Self {
        self.wal_max_bytes = v;
        self
    }
    pub fn encryption_key(mut self, v: EncryptionKey) -> Self {
        self.encryption_key = Some(v);
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&self.chunk_size) {
            return Err(Error::invalid(format!(
                "chunk_size must be between {MIN_CHUNK_SIZE} and {MAX_CHUNK_SIZE} bytes, not {}",
                self.chunk_size
            )));
        }
        if self.versions_to_keep == 0 {
            return Err(Error::invalid("versions_to_keep must be at least 1"));
        }
        if !(4096..=65536).contains(&self.page_size) || !self.page_size.is_power_of_two() {
            return Err(Error::invalid(format!(
                "page_size must be a power of two between 4096 and 65536, not {}",
                self.page_size
            )));
        }
        if self.wal_max_bytes < MIN_WAL_MAX_BYTES || self.wal_max_bytes > i64::MAX as u64 {
            return Err(Error::invalid(format!(
                "wal_max_bytes must be between {MIN_WAL_MAX_BYTES} and {} bytes, not {}",
                i64::MAX,
                self.wal_max_bytes
            )));
        }
        if self.max_document_size == 0 {
            return Err(Error::invalid("max_document_size must be at least 1"));
        }
        // SQLite takes the busy timeout as a C int of milliseconds (about 24.8 days).
        const MAX_BUSY_TIMEOUT_MS: u64 = i32::MAX as u64;
        if self.busy_timeout_ms > MAX_BUSY_TIMEOUT_MS {
            return Err(Error::invalid(format!(
                "busy_timeout_ms must be at most {MAX_BUSY_TIMEOUT_MS} (2^31 - 1), not {}",
                self.busy_timeout_ms
            )));
        }
        Ok(())
    }
}

pub(crate) fn check_key(key: &[u8]) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid("key must not be empty"));
    }
    if key.len() > MAX_KEY_SIZE {
        return Err(Error::too_large(format!("key of {} bytes is over the {MAX_KEY_SIZE}-byte limit", key.len())));
    }
    Ok(())
}

pub(crate) fn check_value(key: &[u8], value: &[u8]) -> Result<()> {
    if value.len() > MAX_VALUE_SIZE {
        return Err(Error::too_large(format!(
            "value of {} bytes for key {} is over the {MAX_VALUE_SIZE}-byte limit (use a blob or stream)",
            value.len(),
            show_key(key)
        )));
    }
    Ok(())
}

pub(crate) fn check_path(path: &str) -> Result<()> {
    if path.is_empty() {
        return Err(Error::invalid("path must not be empty"));
    }
    if path.len() > MAX_PATH_SIZE {
        return Err(Error::too_large(format!("path of {} bytes is over the {MAX_PATH_SIZE}-byte limit", path.len())));
    }
    if path.contains('\0') {
        return Err(Error::invalid(format!("path {path:?} contains a NUL byte")));
    }
    Ok(())
}

pub(crate) fn check_metadata(metadata: Option<&str>) -> Result<()> {
    match metadata {
        Some(m) if m.len() > MAX_METADATA_SIZE => {
            Err(Error::too_large(format!("metadata of {} bytes is over the {MAX_METADATA_SIZE}-byte limit", m.len())))
        }
        // C hands metadata out as a NUL-terminated string: one inside would cut it short.
        Some(m) if m.contains('\0') => Err(Error::invalid("metadata contains a NUL byte")),
        _ => Ok(()),
    }
}

/// A key for messages: as text when it is printable UTF-8, else as hex.
pub(crate) fn show_key(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(s) if !s.chars().any(char::is_control) => {
            let shown: String = s.chars().take(100).collect();
            format!("{shown:?}")
        }
        _ => {
            let hex: String = key.iter().take(64).map(|b| format!("{b:02x}")).collect();
            format!("0x{hex}")
        }
    }
}
