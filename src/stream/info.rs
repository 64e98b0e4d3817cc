//! What a stream version is, without its bytes.

/// One version of a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamInfo {
    pub path: String,
    /// 1 for the first write of a path, then 2, 3, ...
    pub version: u64,
    pub size: u64,
    /// CRC32 of the whole document's raw bytes.
    pub crc32: u32,
    pub chunk_count: u64,
    pub chunk_size: u64,
    /// Bytes on disk after compression.
    pub stored_size: u64,
    pub created_ms: i64,
    /// The version's metadata string (`None` when it has none).
    pub metadata: Option<String>,
}
