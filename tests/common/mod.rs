#![allow(dead_code)]
use buffdb::{Db, ErrorCode, OpenOptions};

pub fn temp() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.db");
    (dir, path)
}

pub fn open(path: &std::path::Path) -> Db {
    Db::open(path, OpenOptions::default()).unwrap()
}

/// `opts` with the key in `BUFFDB_TEST_KEY` when it is set: the encrypted runs of a suite
/// (scripts/test.sh, with the cargo feature `encryption`). A raw key (`x'<64 hex>'`)
/// keeps the suites that open a file per case fast (no PBKDF2 per open).
pub fn keyed(opts: OpenOptions) -> OpenOptions {
    match std::env::var("BUFFDB_TEST_KEY") {
        Ok(k) if !k.is_empty() => opts.encryption_key(buffdb::EncryptionKey::passphrase(k).unwrap()),
        _ => opts,
    }
}

pub fn code<T: std::fmt::Debug>(r: buffdb::Result<T>) -> ErrorCode {
    r.expect_err("expected an error").code()
}

/// Deterministic pseudo-random bytes.
pub fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2654435761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Turns a new (format 3) file without stream metadata or indexes into the format 2
/// file an older BuffDB wrote: no `bdb_versions.metadata` (and version checksums
/// without it), no index tables, the old `streams` view.
pub fn downgrade_to_format_2(path: &std::path::Path) {
    use rusqlite::functions::FunctionFlags;
    use rusqlite::types::ValueRef;
    let conn = rusqlite::Connection::open(path).unwrap();
    // The record checksum of src/storage/schema.rs (RowCrc), written out again.
    conn.create_scalar_function("test_row_crc", -1, FunctionFlags::SQLITE_UTF8, |ctx| {
        let mut h = crc32fast::Hasher::new();
        for i in 0..ctx.len() {
            match ctx.get_raw(i) {
                ValueRef::Null => h.update(&[0]),
                ValueRef::Integer(v) => {
                    h.update(&[1]);
                    h.update(&v.to_le_bytes());
                }
                ValueRef::Text(b) | ValueRef::Blob(b) => {
                    h.update(&[2]);
                    h.update(&(b.len() as u64).to_le_bytes());
                    h.update(b);
                }
                ValueRef::Real(_) => unreachable!(),
            }
        }
        Ok(h.finalize() as i64)
    })
    .unwrap();
    let with_metadata: i64 =
        conn.query_row("SELECT count(*) FROM bdb_versions WHERE metadata IS NOT NULL", [], |r| r.get(0)).unwrap();
    assert_eq!(with_metadata, 0, "format 2 has no stream metadata");
    conn.execute_batch(
        "DROP VIEW streams; DROP VIEW indexes; DROP VIEW index_entries;
         DROP TABLE bdb_indexes; DROP TABLE bdb_index_entries;
         DELETE FROM sqlite_sequence WHERE name = 'bdb_indexes';
         ALTER TABLE bdb_versions DROP COLUMN metadata;
         UPDATE bdb_versions SET row_crc = test_row_crc(path, version, content, created_ms);
         CREATE VIEW streams AS SELECT CAST(v.path AS TEXT) AS path, v.version AS version, c.size AS size,
           c.crc32 AS crc32, c.chunk_count AS chunk_count, c.stored_size AS stored_size, v.created_ms AS created
           FROM bdb_versions v JOIN bdb_contents c ON c.id = v.content;
         UPDATE bdb_meta SET value = '2' WHERE key = 'format_version'; PRAGMA user_version = 2;",
    )
    .unwrap();
}

/// Whether the file starts with SQLite's plaintext header.
pub fn is_plaintext_sqlite(path: &std::path::Path) -> bool {
    std::fs::read(path).map(|b| b.starts_with(b"SQLite format 3\0")).unwrap_or(false)
}
