//! The on-disk format: one SQLite file in WAL mode, marked with an application id.

use rusqlite::Connection;

use crate::error::{Error, ErrorCode, Result};

/// SQLite `application_id`: "BUFD".
pub const APPLICATION_ID: i32 = 0x4255_4644;
/// SQLite `user_version`: the format version; a later release migrates from it.
pub const FORMAT_VERSION: i32 = 1;

// Chunks live in a rowid table so they can be read with incremental blob I/O.
// Contents are chunk sets shared by the blob and stream-version rows that own them.
// Paths are stored as BLOBs so ordering and prefix bounds are plain byte order.
const SCHEMA: &str = "
CREATE TABLE bdb_meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE bdb_kv(key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE bdb_contents(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  size INTEGER NOT NULL, crc32 INTEGER NOT NULL, chunk_size INTEGER NOT NULL,
  chunk_count INTEGER NOT NULL, stored_size INTEGER NOT NULL,
  state INTEGER NOT NULL,   -- 0 live, 1 being written (writer pid in `writer`), 2 unowned, awaiting collection
  writer INTEGER);
CREATE INDEX bdb_contents_state ON bdb_contents(state) WHERE state != 0;
CREATE TABLE bdb_chunks(
  id INTEGER PRIMARY KEY, content INTEGER NOT NULL, seq INTEGER NOT NULL,
  raw_len INTEGER NOT NULL, crc32 INTEGER NOT NULL,
  codec INTEGER NOT NULL,   -- 0 raw, 1 snappy
  data BLOB NOT NULL, UNIQUE(content, seq));
CREATE TABLE bdb_blobs(
  id INTEGER PRIMARY KEY AUTOINCREMENT, metadata TEXT,
  content INTEGER NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE bdb_streams(path BLOB PRIMARY KEY, latest INTEGER NOT NULL, next_version INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE bdb_versions(
  path BLOB NOT NULL, version INTEGER NOT NULL, content INTEGER NOT NULL, created_ms INTEGER NOT NULL,
  PRIMARY KEY(path, version)) WITHOUT ROWID;
CREATE VIEW kv AS SELECT key, value, CAST(key AS TEXT) AS key_text, CAST(value AS TEXT) AS value_text FROM bdb_kv;
CREATE VIEW blobs AS SELECT b.id AS id, b.metadata AS metadata, c.size AS size, c.crc32 AS crc32, b.created_ms AS created
  FROM bdb_blobs b JOIN bdb_contents c ON c.id = b.content;
CREATE VIEW streams AS SELECT CAST(v.path AS TEXT) AS path, v.version AS version, c.size AS size, c.crc32 AS crc32,
  c.chunk_count AS chunk_count, c.stored_size AS stored_size, v.created_ms AS created
  FROM bdb_versions v JOIN bdb_contents c ON c.id = v.content;
";

/// What the first 100 bytes of an existing file say.
pub enum FileKind {
    /// Missing or empty: a new database may be created there.
    Empty,
    BuffDb,
}

/// Looks at the file header without opening it through SQLite, so a foreign
/// file is refused with its bytes untouched.
pub fn inspect(path: &std::path::Path) -> Result<FileKind> {
    use std::io::Read;
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileKind::Empty),
        Err(e) => return Err(Error::new(ErrorCode::Io, format!("cannot open {}: {e}", path.display()))),
    };
    let mut header = Vec::with_capacity(100);
    (&mut f).take(100).read_to_end(&mut header)?;
    if header.is_empty() {
        return Ok(FileKind::Empty);
    }
    let not_ours = |why: &str| {
        Err(Error::new(ErrorCode::NotADatabase, format!("{} is not a BuffDB database ({why})", path.display())))
    };
    if header.len() < 100 || &header[..16] != b"SQLite format 3\0" {
        return not_ours("no SQLite header");
    }
    let app_id = i32::from_be_bytes(header[68..72].try_into().unwrap());
    if app_id != APPLICATION_ID {
        return not_ours("an SQLite file of another application");
    }
    let version = i32::from_be_bytes(header[60..64].try_into().unwrap());
    if version > FORMAT_VERSION {
        return Err(Error::new(
            ErrorCode::NotADatabase,
            format!(
                "{} has BuffDB format {version}, newer than this build's {FORMAT_VERSION}; upgrade BuffDB",
                path.display()
            ),
        ));
    }
    Ok(FileKind::BuffDb)
}

/// Creates the schema in a new file. Runs before WAL is switched on, so the
/// header (application id, format version) is in the main file from the start.
pub fn create(conn: &Connection, page_size: u32) -> Result<()> {
    conn.pragma_update(None, "page_size", page_size)?;
    conn.execute_batch(&format!(
        "BEGIN IMMEDIATE;
         PRAGMA application_id = {APPLICATION_ID};
         PRAGMA user_version = {FORMAT_VERSION};
         {SCHEMA}
         INSERT INTO bdb_meta(key, value) VALUES ('format_version', '{FORMAT_VERSION}'),
           ('created_by', 'buffdb {}');
         COMMIT;",
        env!("CARGO_PKG_VERSION")
    ))?;
    {
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::new(ErrorCode::Io, format!("could not switch to WAL mode (got {mode})")));
        }
    }
    Ok(())
}

/// Confirms an existing file through SQLite (the WAL may hold newer pages than the header).
pub fn verify(conn: &Connection) -> Result<()> {
    let app_id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
    let version: i32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if app_id != APPLICATION_ID || version < 1 {
        return Err(Error::new(ErrorCode::NotADatabase, "not a BuffDB database"));
    }
    if version > FORMAT_VERSION {
        return Err(Error::new(ErrorCode::NotADatabase, format!("BuffDB format {version} is newer than this build's")));
    }
    Ok(())
}
