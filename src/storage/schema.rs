//! The on-disk format: one SQLite file in WAL mode, marked with an application id.
//!
//! Format 2 gives every stored record a CRC32 of its own (`row_crc`, see [`RowCrc`]):
//! KV rows over key and value, and the rows that map blobs and stream versions to
//! their chunks. Reads check it, so a damaged record is `CORRUPT`, never other
//! bytes. Format 1 files (no record checksums) are migrated in one transaction
//! when a writable handle opens them; a read-only handle reads them as they are,
//! without record checks (chunk and document checksums still apply).
//!
//! Format 3 gives stream versions a metadata string (`bdb_versions.metadata`, covered
//! by the version's record checksum) and adds secondary indexes: their definitions
//! (`bdb_indexes`) and entries (`bdb_index_entries`, see `crate::index`). Format 1 and
//! 2 files migrate on a writable open; a read-only handle reads them as they are
//! (stream versions without metadata, no indexes).

use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension};

use crate::error::{Error, ErrorCode, Result};

/// SQLite `application_id`: "BUFD".
pub const APPLICATION_ID: i32 = 0x4255_4644;
/// SQLite `user_version`: the format version. 2 added record checksums, 3 stream
/// metadata and indexes, 4 chunks in checksummed blocks (`content::CODEC_BLOCKS`).
pub const FORMAT_VERSION: i32 = 4;
/// The oldest format this build opens (and migrates when it may write).
const OLDEST_FORMAT: i32 = 1;

// Chunks live in a rowid table so they can be read with incremental blob I/O.
// Contents are chunk sets shared by the blob and stream-version rows that own them.
// Paths are stored as BLOBs so ordering and prefix bounds are plain byte order.
// `row_crc` comes before the large columns so reading it never walks overflow pages.
const SCHEMA: &str = "
CREATE TABLE bdb_meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
-- `value`: the value, then its record checksum (4 bytes, little-endian; see `seal_kv`).
CREATE TABLE bdb_kv(key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE bdb_contents(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  size INTEGER NOT NULL, crc32 INTEGER NOT NULL, chunk_size INTEGER NOT NULL,
  chunk_count INTEGER NOT NULL, stored_size INTEGER NOT NULL,
  state INTEGER NOT NULL,   -- 0 live, 1 being written (writer pid in `writer`), 2 unowned, awaiting collection
  writer INTEGER, row_crc INTEGER NOT NULL);
CREATE INDEX bdb_contents_state ON bdb_contents(state) WHERE state != 0;
CREATE TABLE bdb_chunks(
  id INTEGER PRIMARY KEY, content INTEGER NOT NULL, seq INTEGER NOT NULL,
  raw_len INTEGER NOT NULL, crc32 INTEGER NOT NULL,
  codec INTEGER NOT NULL,   -- 0 raw, 1 snappy
  row_crc INTEGER NOT NULL, data BLOB NOT NULL, UNIQUE(content, seq));
CREATE TABLE bdb_blobs(
  id INTEGER PRIMARY KEY AUTOINCREMENT, metadata TEXT,
  content INTEGER NOT NULL, created_ms INTEGER NOT NULL, row_crc INTEGER NOT NULL);
CREATE TABLE bdb_streams(path BLOB PRIMARY KEY, latest INTEGER NOT NULL, next_version INTEGER NOT NULL,
  row_crc INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE bdb_versions(
  path BLOB NOT NULL, version INTEGER NOT NULL, content INTEGER NOT NULL, created_ms INTEGER NOT NULL,
  row_crc INTEGER NOT NULL, metadata TEXT, PRIMARY KEY(path, version)) WITHOUT ROWID;
 {KV_VIEW}
CREATE VIEW blobs AS SELECT b.id AS id, b.metadata AS metadata, c.size AS size, c.crc32 AS crc32, b.created_ms AS created
  FROM bdb_blobs b JOIN bdb_contents c ON c.id = b.content;
";

/// The `streams` view (format 3 added `metadata`).
const STREAMS_VIEW: &str = "CREATE VIEW streams AS SELECT CAST(v.path AS TEXT) AS path, v.version AS version,
  c.size AS size, c.crc32 AS crc32, c.chunk_count AS chunk_count, c.stored_size AS stored_size,
  v.created_ms AS created, v.metadata AS metadata
  FROM bdb_versions v JOIN bdb_contents c ON c.id = v.content;";

/// Added by format 3: index definitions and entries (see `crate::index`), and their views.
/// `built` is NULL once an index is complete; while it is being built, the last record
/// the build has indexed (records after it are not in it yet). An entry's `value` is
/// the order-preserving encoding of the JSON value, `record` the KV key, the blob id
/// (8 bytes big-endian) or the stream path.
const INDEXES: &str = "
CREATE TABLE bdb_indexes(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, source TEXT NOT NULL,
  json_path TEXT NOT NULL, is_unique INTEGER NOT NULL, key_prefix BLOB, built BLOB, row_crc INTEGER NOT NULL);
CREATE TABLE bdb_index_entries(idx INTEGER NOT NULL, value BLOB NOT NULL, record BLOB NOT NULL,
  PRIMARY KEY(idx, value, record)) WITHOUT ROWID;
CREATE VIEW indexes AS SELECT name, source, json_path AS path, is_unique AS is_unique, key_prefix,
  built IS NULL AS ready, (SELECT count(*) FROM bdb_index_entries e WHERE e.idx = i.id) AS entries
  FROM bdb_indexes i;
CREATE VIEW index_entries AS SELECT i.name AS name, bdb_index_value(e.value) AS value,
  bdb_index_record(i.source, e.record) AS record
  FROM bdb_index_entries e JOIN bdb_indexes i ON i.id = e.idx;
";

/// The `kv` view shows values without their checksum.
const KV_VIEW: &str = "CREATE VIEW kv AS SELECT key, substr(value, 1, length(value) - 4) AS value,
  CAST(key AS TEXT) AS key_text, CAST(substr(value, 1, length(value) - 4) AS TEXT) AS value_text FROM bdb_kv;";

/// Added by format 2: the next version number of deleted stream paths, so a path
/// deleted and written again never reuses a version number.
const DELETED_STREAMS: &str = "
CREATE TABLE bdb_deleted_streams(path BLOB PRIMARY KEY, next_version INTEGER NOT NULL,
  row_crc INTEGER NOT NULL) WITHOUT ROWID;
";

/// The columns each record checksum covers, in order (the SQL twin of the Rust
/// code that writes them; also used to migrate format 1 and to read it).
pub(crate) const ROW_CRC_COLUMNS: [(&str, &str); 5] = [
    ("bdb_contents", "id, size, crc32, chunk_size, chunk_count, stored_size, state"),
    ("bdb_chunks", "content, seq, raw_len, crc32, codec, length(data)"),
    ("bdb_blobs", "id, metadata, content, created_ms"),
    ("bdb_streams", "path, latest, next_version"),
    ("bdb_versions", "path, version, content, created_ms, metadata"),
];

/// The columns of an index definition's checksum.
pub(crate) const INDEX_CRC_COLUMNS: &str = "id, name, source, json_path, is_unique, key_prefix, built";

/// The checksum of one record: CRC32 over its values, each tagged with its type
/// and length so that no two different records encode alike.
pub(crate) struct RowCrc(crc32fast::Hasher);

impl RowCrc {
    pub fn new() -> RowCrc {
        RowCrc(hasher())
    }
    pub fn int(mut self, v: i64) -> RowCrc {
        self.0.update(&[1]);
        self.0.update(&v.to_le_bytes());
        self
    }
    pub fn bytes(mut self, b: &[u8]) -> RowCrc {
        self.0.update(&[2]);
        self.0.update(&(b.len() as u64).to_le_bytes());
        self.0.update(b);
        self
    }
    pub fn opt_bytes(self, b: Option<&[u8]>) -> RowCrc {
        match b {
            Some(b) => self.bytes(b),
            None => self.null(),
        }
    }
    pub fn null(mut self) -> RowCrc {
        self.0.update(&[0]);
        self
    }
    fn value(self, v: ValueRef<'_>) -> RowCrc {
        match v {
            ValueRef::Null => self.null(),
            ValueRef::Integer(i) => self.int(i),
            ValueRef::Real(f) => self.bytes(&f.to_le_bytes()),
            ValueRef::Text(b) | ValueRef::Blob(b) => self.bytes(b),
        }
    }
    /// The value stored in `row_crc`.
    pub fn finish(self) -> i64 {
        self.0.finalize() as i64
    }
    /// `CORRUPT` naming `what` unless `stored` is this checksum.
    pub fn verify(self, stored: i64, what: impl FnOnce() -> String) -> Result<()> {
        if self.finish() == stored {
            Ok(())
        } else {
            Err(Error::corrupt(format!("{}: record checksum mismatch", what())))
        }
    }
}

/// The KV record checksum, `RowCrc::new().bytes(key).bytes(value)`: on the path of
/// every get and scanned row, so it is kept cheap. A short row is hashed as one
/// buffer on the stack: crc32fast folds 128 bytes and more four blocks at a time,
/// while each short update pays a full reduction (four short updates cost about 2x).
/// The hasher is cloned from a template: `Hasher::new` detects the CPU's features.
#[inline]
pub(crate) fn kv_crc(key: &[u8], value: &[u8]) -> u32 {
    /// Rows up to this size (key + value) are hashed from one stack buffer.
    const SHORT_ROW: usize = 238;
    let head = |len: usize| {
        let mut h = [2u8; 9];
        h[1..].copy_from_slice(&(len as u64).to_le_bytes());
        h
    };
    let mut h = hasher();
    if key.len() + value.len() <= SHORT_ROW {
        let mut row = [0u8; SHORT_ROW + 18];
        let (k_end, v_start) = (9 + key.len(), 18 + key.len());
        let end = v_start + value.len();
        row[..9].copy_from_slice(&head(key.len()));
        row[9..k_end].copy_from_slice(key);
        row[k_end..v_start].copy_from_slice(&head(value.len()));
        row[v_start..end].copy_from_slice(value);
        h.update(&row[..end]);
    } else {
        h.update(&head(key.len()));
        h.update(key);
        h.update(&head(value.len()));
        h.update(value);
    }
    h.finalize()
}

/// A new CRC32 hasher, without detecting the CPU's features again.
#[inline]
pub(crate) fn hasher() -> crc32fast::Hasher {
    static TEMPLATE: std::sync::OnceLock<crc32fast::Hasher> = std::sync::OnceLock::new();
    TEMPLATE.get_or_init(crc32fast::Hasher::new).clone()
}

/// Appends what `bdb_kv.value` stores for `value`: the value, then its record
/// checksum. Kept in the value column (not a column of its own) because a scan
/// reading one more column per row costs about a third more.
pub(crate) fn seal_kv(key: &[u8], value: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(value);
    out.extend_from_slice(&kv_crc(key, value).to_le_bytes());
}

/// The value inside a stored `bdb_kv.value`, once its checksum is checked.
#[inline]
pub(crate) fn open_kv<'v>(key: &[u8], stored: &'v [u8]) -> Result<&'v [u8]> {
    let ok = stored.len() >= 4 && {
        let (value, crc) = stored.split_at(stored.len() - 4);
        kv_crc(key, value).to_le_bytes() == crc
    };
    if ok {
        Ok(&stored[..stored.len() - 4])
    } else {
        Err(kv_mismatch(key))
    }
}

#[cold]
fn kv_mismatch(key: &[u8]) -> Error {
    Error::corrupt(format!("KV record {}: record checksum mismatch", crate::options::show_key(key)))
}

/// `bdb_row_crc(...)`: [`RowCrc`] over its arguments, for SQL.
pub(crate) fn register_row_crc(conn: &Connection) -> Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    // `bdb_kv_seal(key, value)`: what format 2 stores for a format 1 value.
    conn.create_scalar_function("bdb_kv_seal", 2, flags, |ctx| {
        let mut out = Vec::new();
        seal_kv(ctx.get_raw(0).as_bytes().unwrap_or_default(), ctx.get_raw(1).as_bytes().unwrap_or_default(), &mut out);
        Ok(out)
    })?;
    // `bdb_kv_ok(key, value)`: whether a stored value's checksum holds.
    conn.create_scalar_function("bdb_kv_ok", 2, flags, |ctx| {
        let (key, stored) = (ctx.get_raw(0), ctx.get_raw(1));
        Ok(matches!((key, stored), (ValueRef::Blob(k), ValueRef::Blob(v)) if open_kv(k, v).is_ok()))
    })?;
    // The views of indexes: an entry's value as JSON text, its record as the KV key,
    // the blob id or the stream path.
    conn.create_scalar_function("bdb_index_value", 1, flags, |ctx| {
        Ok(ctx.get_raw(0).as_bytes().ok().and_then(super::ordered::decode).map(|v| v.to_string()))
    })?;
    conn.create_scalar_function("bdb_index_record", 2, flags, |ctx| {
        let record = ctx.get_raw(1).as_bytes().unwrap_or_default().to_vec();
        Ok(match ctx.get_raw(0).as_str().unwrap_or_default() {
            "blob" => super::ordered::blob_of(&record).map_or(rusqlite::types::Value::Null, |id| (id as i64).into()),
            "stream" => String::from_utf8_lossy(&record).into_owned().into(),
            _ => record.into(),
        })
    })?;
    conn.create_scalar_function(
        "bdb_row_crc",
        -1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let mut crc = RowCrc::new();
            for i in 0..ctx.len() {
                crc = crc.value(ctx.get_raw(i));
            }
            Ok(crc.finish())
        },
    )?;
    Ok(())
}

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
    check_version(version).map_err(|e| Error::new(e.code(), format!("{}: {}", path.display(), e.message())))?;
    Ok(FileKind::BuffDb)
}

fn check_version(version: i32) -> Result<()> {
    if version > FORMAT_VERSION {
        return Err(Error::new(
            ErrorCode::NotADatabase,
            format!("BuffDB format {version} is newer than this build's {FORMAT_VERSION}; upgrade BuffDB"),
        ));
    }
    if version < OLDEST_FORMAT {
        return Err(Error::new(ErrorCode::NotADatabase, format!("not a BuffDB database (format {version})")));
    }
    Ok(())
}

/// Creates the schema in a new file. Runs before WAL is switched on, so the
/// header (application id, format version) is in the main file from the start.
pub fn create(conn: &Connection, page_size: u32) -> Result<()> {
    conn.pragma_update(None, "page_size", page_size)?;
    let schema = SCHEMA.replace("{KV_VIEW}", KV_VIEW);
    register_row_crc(conn)?;
    conn.execute_batch(&format!(
        "BEGIN IMMEDIATE;
         PRAGMA application_id = {APPLICATION_ID};
         PRAGMA user_version = {FORMAT_VERSION};
         {schema}
         {STREAMS_VIEW}
         {DELETED_STREAMS}
         {INDEXES}
         INSERT INTO bdb_meta(key, value) VALUES ('format_version', '{FORMAT_VERSION}'),
           ('created_by', 'buffdb {}');",
        env!("CARGO_PKG_VERSION")
    ))?;
    let sealed = seal_schema(conn);
    conn.execute_batch(if sealed.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
    sealed?;
    {
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::new(ErrorCode::Io, format!("could not switch to WAL mode (got {mode})")));
        }
    }
    Ok(())
}

fn header(conn: &Connection) -> Result<(i32, i32)> {
    let app_id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
    let version: i32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    Ok((app_id, version))
}

/// The file holds no page at all (SQLite's view, after it rolled back any hot journal).
pub fn is_empty(conn: &Connection) -> bool {
    conn.pragma_query_value(None, "page_count", |r| r.get::<_, i64>(0)).is_ok_and(|n| n == 0)
}

/// Confirms an existing file through SQLite (the WAL may hold newer pages than the
/// header). On a writable connection, an older format is migrated to this one.
pub fn verify(conn: &Connection) -> Result<()> {
    let (app_id, version) = header(conn)?;
    if app_id != APPLICATION_ID {
        return Err(Error::new(ErrorCode::NotADatabase, "not a BuffDB database"));
    }
    check_version(version)?;
    if version < FORMAT_VERSION && !conn.is_readonly(rusqlite::MAIN_DB)? {
        migrate(conn)?;
    }
    Ok(())
}

/// Migrates an older format to this one in one transaction. Format 1 gains the
/// record checksums and the table of deleted stream paths; format 2 gains stream
/// metadata (each version's checksum is moved to cover it: a damaged row stays
/// damaged) and the index tables; format 3 only its number.
fn migrate(conn: &Connection) -> Result<()> {
    register_row_crc(conn)?;
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let out = (|| -> Result<()> {
        let from = header(conn)?.1;
        if from >= FORMAT_VERSION {
            return Ok(()); // another process migrated it first
        }
        let mut sql = String::new();
        if from < 3 {
            sql += &migrate_to_3(from);
        }
        // Format 4 changes no table: its chunks are a new codec that older builds
        // cannot read, so the version goes up and they refuse the file.
        sql += &format!(
            "PRAGMA user_version = {FORMAT_VERSION};
             UPDATE bdb_meta SET value = '{FORMAT_VERSION}' WHERE key = 'format_version';"
        );
        conn.execute_batch(&sql)?;
        seal_schema(conn)
    })();
    match out {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(Error::new(e.code(), format!("cannot migrate the file to format {FORMAT_VERSION}: {}", e.message())))
        }
    }
}

/// The SQL that takes a format 1 or 2 file to format 3.
fn migrate_to_3(from: i32) -> String {
    let mut sql = String::from("ALTER TABLE bdb_versions ADD COLUMN metadata TEXT;");
    if from == 1 {
        for (table, cols) in ROW_CRC_COLUMNS {
            sql += &format!(
                "ALTER TABLE {table} ADD COLUMN row_crc INTEGER NOT NULL DEFAULT 0;
                 UPDATE {table} SET row_crc = bdb_row_crc({cols});"
            );
        }
        sql += &format!("UPDATE bdb_kv SET value = bdb_kv_seal(key, value); DROP VIEW kv; {KV_VIEW}");
        sql += DELETED_STREAMS;
    } else {
        sql += &format!("UPDATE bdb_versions SET row_crc = {};", VERSION_CRC_FROM_2);
    }
    sql + &format!("DROP VIEW streams; {STREAMS_VIEW} {INDEXES}")
}

/// A format 2 version row's checksum, moved to cover its (NULL) metadata too when it
/// holds; a damaged row gets a checksum no row has (checksums are never negative).
const VERSION_CRC_FROM_2: &str = "CASE WHEN row_crc = bdb_row_crc(path, version, content, created_ms)
  THEN bdb_row_crc(path, version, content, created_ms, NULL) ELSE -1 - row_crc END";

/// Prepares a new connection: registers the functions the views use. A read-only
/// connection to an older file reads it through temporary views (they shadow the
/// tables) that give it this format's shape: format 1 gets record checksums
/// computed from the records as they are (no record checks), stream versions get
/// NULL metadata, and there are no indexes.
pub(crate) fn prepare_connection(conn: &Connection) -> Result<()> {
    register_row_crc(conn)?;
    let version = header(conn)?.1;
    if version >= 3 && version <= FORMAT_VERSION {
        return check_schema(conn); // format 3 has format 4's tables
    }
    if !(OLDEST_FORMAT..FORMAT_VERSION).contains(&version) || !conn.is_readonly(rusqlite::MAIN_DB)? {
        return Ok(());
    }
    let mut sql = String::new();
    if version == 1 {
        for (table, cols) in &ROW_CRC_COLUMNS[..4] {
            sql += &format!("CREATE TEMP VIEW {table} AS SELECT *, bdb_row_crc({cols}) AS row_crc FROM main.{table};");
        }
        sql += "CREATE TEMP VIEW bdb_kv AS SELECT key, bdb_kv_seal(key, value) AS value FROM main.bdb_kv;";
        sql += "CREATE TEMP VIEW bdb_deleted_streams AS SELECT x'' AS path, 0 AS next_version, 0 AS row_crc WHERE 0;";
        sql += "CREATE TEMP VIEW bdb_versions AS SELECT path, version, content, created_ms, NULL AS metadata,
                bdb_row_crc(path, version, content, created_ms, NULL) AS row_crc FROM main.bdb_versions;";
    } else {
        sql += &format!(
            "CREATE TEMP VIEW bdb_versions AS SELECT path, version, content, created_ms, NULL AS metadata,
             {VERSION_CRC_FROM_2} AS row_crc FROM main.bdb_versions;"
        );
    }
    sql += "CREATE TEMP VIEW bdb_indexes AS SELECT 0 AS id, '' AS name, '' AS source, '' AS json_path,
            0 AS is_unique, NULL AS key_prefix, NULL AS built, 0 AS row_crc WHERE 0;
            CREATE TEMP VIEW bdb_index_entries AS SELECT 0 AS idx, x'' AS value, x'' AS record WHERE 0;";
    sql += &STREAMS_VIEW.replace("CREATE VIEW", "CREATE TEMP VIEW");
    sql += &INDEXES[INDEXES.find("CREATE VIEW").unwrap()..].replace("CREATE VIEW", "CREATE TEMP VIEW");
    conn.execute_batch(&sql)?;
    Ok(())
}

/// Every checksummed table, with an SQL expression true when a record's checksum
/// holds and one naming the record (for `check`).
pub(crate) fn checked_records() -> Vec<(&'static str, String, &'static str)> {
    let names = [
        "'content ' || quote(id)",
        "'chunk row ' || quote(id) || ' (content ' || quote(content) || ', seq ' || quote(seq) || ')'",
        "'blob ' || quote(id)",
        "'stream ' || quote(CAST(path AS TEXT))",
        "'stream ' || quote(CAST(path AS TEXT)) || ' version ' || quote(version)",
    ];
    let mut out = vec![("bdb_kv", "bdb_kv_ok(key, value)".to_string(), "'KV key ' || quote(key)")];
    for ((table, cols), name) in ROW_CRC_COLUMNS.into_iter().zip(names) {
        out.push((table, format!("row_crc IS bdb_row_crc({cols})"), name));
    }
    out.push((
        "bdb_indexes",
        format!("row_crc IS bdb_row_crc({INDEX_CRC_COLUMNS})"),
        "'index ' || quote(name)",
    ));
    out.push((
        "bdb_deleted_streams",
        "row_crc IS bdb_row_crc(path, next_version)".into(),
        "'deleted stream ' || quote(CAST(path AS TEXT))",
    ));
    out
}

/// CRC32 of BuffDB's own schema entries (their names and SQL text; not their root
/// pages, which a VACUUM may move): a damaged schema is `CORRUPT` at open instead
/// of statements that fail to compile.
fn schema_crc(conn: &Connection) -> Result<i64> {
    let mut stmt = conn.prepare(
        "SELECT type, name, tbl_name, sql FROM sqlite_master
         WHERE name LIKE 'bdb!_%' ESCAPE '!'
           OR name IN ('kv', 'blobs', 'streams', 'indexes', 'index_entries', 'sqlite_sequence') ORDER BY name",
    )?;
    let mut rows = stmt.query([])?;
    let mut crc = RowCrc::new();
    while let Some(r) = rows.next()? {
        for i in 0..4 {
            crc = crc.value(r.get_ref(i)?);
        }
    }
    Ok(crc.finish())
}

/// Records the schema's CRC (inside the transaction that made the schema).
fn seal_schema(conn: &Connection) -> Result<()> {
    let crc = schema_crc(conn)?;
    conn.execute("INSERT OR REPLACE INTO bdb_meta(key, value) VALUES ('schema_crc', ?1)", [crc.to_string()])?;
    Ok(())
}

/// `CORRUPT` unless the schema is the one recorded when it was made.
pub(crate) fn check_schema(conn: &Connection) -> Result<()> {
    if header(conn)?.1 < 3 {
        return Ok(()); // format 1 recorded none, format 2 another schema
    }
    // These statements are BuffDB's own: failing to compile means a damaged schema.
    let damaged = |e: Error| match e.code() {
        ErrorCode::InvalidArgument | ErrorCode::Internal => {
            Error::corrupt(format!("the database schema is damaged ({})", e.message()))
        }
        _ => e,
    };
    let stored: Option<String> = conn
        .query_row("SELECT value FROM bdb_meta WHERE key = 'schema_crc'", [], |r| r.get(0))
        .optional()
        .map_err(|e| damaged(e.into()))?;
    if stored.as_deref() != Some(schema_crc(conn).map_err(damaged)?.to_string().as_str()) {
        return Err(Error::corrupt("the database schema is damaged (its checksum does not match)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_crc_is_the_row_crc_of_key_and_value() {
        let sizes = [(1usize, 0usize), (16, 100), (4096, 0), (10, 228), (10, 229), (238, 0), (0, 239), (100, 100_000)];
        for (k, v) in sizes {
            let (key, value) = (vec![7u8; k], vec![9u8; v]);
            assert_eq!(kv_crc(&key, &value) as i64, RowCrc::new().bytes(&key).bytes(&value).finish(), "{k} {v}");
            let mut stored = Vec::new();
            seal_kv(&key, &value, &mut stored);
            assert_eq!(open_kv(&key, &stored).unwrap(), value);
            stored[0] ^= 1;
            assert!(open_kv(&key, &stored).is_err(), "a flipped bit is caught");
        }
    }
}
