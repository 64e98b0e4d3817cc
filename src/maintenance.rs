//! Whole-database work: statistics and the integrity check.

use rusqlite::Connection;

use crate::db::Db;
use crate::error::{ErrorCode, Result};
use crate::storage::content;
use crate::storage::schema;

/// Counts and sizes, for `buffdb stats`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    pub kv_count: u64,
    pub blob_count: u64,
    pub stream_count: u64,
    pub version_count: u64,
    pub chunk_count: u64,
    pub stored_bytes: u64,
    pub file_size: u64,
    pub page_size: u64,
    pub format_version: u32,
}

/// What [`Db::check`] found. Every finding is a line of `problems` saying what is
/// wrong and where; the other lists sort them.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CheckReport {
    pub ok: bool,
    pub chunks_checked: u64,
    /// Records whose checksum was checked (KV rows, contents, chunks, blobs, streams, versions).
    pub records_checked: u64,
    /// Paths of streams with a damaged version (checking a document stops at its
    /// first bad chunk).
    pub damaged_streams: Vec<String>,
    pub damaged_blobs: Vec<u64>,
    /// Every finding, one line each: what is wrong and where.
    pub problems: Vec<String>,
    /// Records whose checksum or values are wrong, e.g. `KV key X'6b31': record checksum mismatch`.
    pub damaged_records: Vec<String>,
    /// Broken references: a version or blob without its content, a content owned
    /// twice or by nobody, chunks missing or left over, stream rows that disagree.
    pub reference_problems: Vec<String>,
    /// What SQLite's own integrity check reported.
    pub sqlite_errors: Vec<String>,
    /// Index entries that do not match their records, entries missing, values held
    /// twice in a unique index; each line names the index.
    pub index_problems: Vec<String>,
}

impl CheckReport {
    fn damaged_record(&mut self, line: String) {
        self.problems.push(line.clone());
        self.damaged_records.push(line);
    }
    fn reference(&mut self, line: String) {
        self.problems.push(line.clone());
        self.reference_problems.push(line);
    }
}

/// Who owns a content: (stream path, version) or a blob id, and the content id.
type Owner = (Option<String>, Option<i64>, Option<i64>, i64);

/// Reference checks: (what a hit means, query listing where).
const REFERENCE_CHECKS: [(&str, &str); 9] = [
    (
        "its content is missing or not live",
        "SELECT 'stream ' || quote(CAST(v.path AS TEXT)) || ' version ' || v.version || ' (content ' || v.content || ')'
         FROM bdb_versions v LEFT JOIN bdb_contents c ON c.id = v.content WHERE c.id IS NULL OR c.state != 0
         UNION ALL
         SELECT 'blob ' || b.id || ' (content ' || b.content || ')'
         FROM bdb_blobs b LEFT JOIN bdb_contents c ON c.id = b.content WHERE c.id IS NULL OR c.state != 0",
    ),
    (
        "content owned more than once",
        "SELECT 'content ' || content FROM (SELECT content FROM bdb_versions UNION ALL SELECT content FROM bdb_blobs)
         GROUP BY content HAVING count(*) > 1",
    ),
    (
        "live content owned by nothing",
        "SELECT 'content ' || id FROM bdb_contents WHERE state = 0
         AND id NOT IN (SELECT content FROM bdb_versions UNION ALL SELECT content FROM bdb_blobs)",
    ),
    (
        "chunks of a content that does not exist",
        "SELECT DISTINCT 'content ' || content FROM bdb_chunks WHERE content NOT IN (SELECT id FROM bdb_contents)",
    ),
    (
        "chunks missing, extra or out of sequence",
        "SELECT 'content ' || c.id || ' (' || count(k.id) || ' chunks, ' || c.chunk_count || ' expected)'
         FROM bdb_contents c LEFT JOIN bdb_chunks k ON k.content = c.id WHERE c.state != 1 GROUP BY c.id
         HAVING count(k.id) != c.chunk_count
           OR (count(k.id) > 0 AND (min(k.seq) != 0 OR max(k.seq) != c.chunk_count - 1))",
    ),
    (
        "newest version does not match the stored versions",
        "SELECT 'stream ' || quote(CAST(s.path AS TEXT)) FROM bdb_streams s
         LEFT JOIN (SELECT path, max(version) AS m FROM bdb_versions GROUP BY path) v ON v.path = s.path
         WHERE v.m IS NOT s.latest OR s.next_version <= s.latest",
    ),
    (
        "versions of a stream that does not exist",
        "SELECT DISTINCT 'stream ' || quote(CAST(path AS TEXT)) FROM bdb_versions
         WHERE path NOT IN (SELECT path FROM bdb_streams)",
    ),
    (
        "a stream both present and deleted",
        "SELECT 'stream ' || quote(CAST(path AS TEXT)) FROM bdb_deleted_streams
         WHERE path IN (SELECT path FROM bdb_streams)",
    ),
    (
        "a deleted stream's next version is not above its old versions",
        "SELECT 'stream ' || quote(CAST(d.path AS TEXT)) FROM bdb_deleted_streams d
         JOIN bdb_versions v ON v.path = d.path WHERE v.version >= d.next_version",
    ),
];

fn count(conn: &Connection, sql: &str) -> Result<u64> {
    Ok(conn.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64)
}

/// Damage found while checking is a finding, not a failure of the check.
fn finding<T>(r: Result<T>) -> Result<std::result::Result<T, String>> {
    match r {
        Ok(v) => Ok(Ok(v)),
        // The check's own statements failing to compile means a damaged schema too.
        Err(e) if !matches!(e.code(), ErrorCode::Closed | ErrorCode::Busy | ErrorCode::Io | ErrorCode::Full) => {
            Ok(Err(e.message().to_string()))
        }
        Err(e) => Err(e),
    }
}

/// Runs `sql` (its first column a text) and returns the lines.
fn lines(conn: &Connection, sql: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(match r.get_ref(0)? {
            rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
            other => format!("{other:?}"),
        });
    }
    Ok(out)
}

impl Db {
    pub fn stats(&self) -> Result<Stats> {
        self.inner.read_snapshot(|c| {
            let page_size = crate::storage::crypt::page_size(c)?;
            Ok(Stats {
                kv_count: count(c, "SELECT count(*) FROM bdb_kv")?,
                blob_count: count(c, "SELECT count(*) FROM bdb_blobs")?,
                stream_count: count(c, "SELECT count(*) FROM bdb_streams")?,
                version_count: count(c, "SELECT count(*) FROM bdb_versions")?,
                chunk_count: count(c, "SELECT count(*) FROM bdb_chunks")?,
                stored_bytes: count(c, "SELECT coalesce(sum(stored_size), 0) FROM bdb_contents")?,
                file_size: count(c, "PRAGMA page_count")? * page_size,
                page_size,
                format_version: count(c, "PRAGMA user_version")? as u32,
            })
        })
    }

    /// The full check, in one snapshot: SQLite's `integrity_check`, every record
    /// checksum, every reference between records, and every chunk of every blob and
    /// stream version read back with its CRC32 and its document's CRC32 (whatever
    /// `verify_checksums` says).
    pub fn check(&self) -> Result<CheckReport> {
        self.inner.read_snapshot(|c| {
            let mut report = CheckReport::default();
            match finding(lines(c, "PRAGMA integrity_check"))? {
                Ok(found) => report.sqlite_errors.extend(found.into_iter().filter(|l| l != "ok")),
                Err(e) => report.sqlite_errors.push(e),
            }
            if let Err(e) = finding(schema::check_schema(c))? {
                report.sqlite_errors.push(e);
            }
            for e in report.sqlite_errors.clone() {
                report.problems.push(format!("sqlite: {e}"));
            }
            schema::register_row_crc(c)?;
            for (table, holds, name) in schema::checked_records() {
                let sql = format!("SELECT {name}, {holds} FROM {table}");
                let walked = finding((|| {
                    let mut stmt = c.prepare(&sql)?;
                    let mut rows = stmt.query([])?;
                    let mut bad = Vec::new();
                    let mut n = 0;
                    while let Some(r) = rows.next()? {
                        n += 1;
                        if !r.get::<_, bool>(1)? {
                            bad.push(format!("{}: record checksum mismatch", r.get::<_, String>(0)?));
                        }
                    }
                    Ok((n, bad))
                })())?;
                match walked {
                    Ok((n, bad)) => {
                        report.records_checked += n;
                        bad.into_iter().for_each(|line| report.damaged_record(line));
                    }
                    Err(e) => report.damaged_record(format!("{table}: {e}")),
                }
            }
            for (what, sql) in REFERENCE_CHECKS {
                match finding(lines(c, sql))? {
                    Ok(found) => found.into_iter().for_each(|w| report.reference(format!("{w}: {what}"))),
                    Err(e) => report.reference(format!("{what}: check failed: {e}")),
                }
            }
            let owners = finding((|| -> Result<Vec<Owner>> {
                Ok(c.prepare(
                    "SELECT CAST(path AS TEXT), version, NULL, content FROM bdb_versions
                     UNION ALL SELECT NULL, NULL, id, content FROM bdb_blobs ORDER BY 1, 2, 3",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<rusqlite::Result<_>>()?)
            })())?;
            let owners = match owners {
                Ok(o) => o,
                Err(e) => {
                    report.reference(format!("owners of contents cannot be listed: {e}"));
                    Vec::new()
                }
            };
            let mut buf = Vec::new();
            let mut scratch = content::BlockBufs::default();
            for (path, version, blob, content_id) in owners {
                let problem = finding((|| -> Result<Option<String>> {
                    let Some(meta) = content::meta(c, content_id)? else {
                        return Ok(Some("its content is missing".into()));
                    };
                    let chunks = content::chunk_refs(c, content_id)?;
                    if chunks.len() as u64 != meta.chunk_count {
                        return Ok(Some("chunks missing or of the wrong size".into()));
                    }
                    let mut crc = crc32fast::Hasher::new();
                    let mut size = 0u64;
                    for (seq, ch) in chunks.iter().enumerate() {
                        let expect = (meta.size - seq as u64 * meta.chunk_size).min(meta.chunk_size);
                        if ch.raw_len as u64 != expect {
                            return Ok(Some(format!("chunk {seq} has the wrong length")));
                        }
                        buf.resize(ch.raw_len as usize, 0);
                        report.chunks_checked += 1;
                        if let Err(e) = content::load_chunk(c, ch, &mut buf, &mut scratch, true) {
                            return Ok(Some(e.message().to_string()));
                        }
                        crc.update(&buf);
                        size += buf.len() as u64;
                    }
                    if size != meta.size {
                        return Ok(Some("chunks missing or of the wrong size".into()));
                    }
                    if crc.finalize() != meta.crc32 {
                        return Ok(Some("whole-document checksum mismatch".into()));
                    }
                    Ok(None)
                })())?;
                let problem = problem.unwrap_or_else(Some);
                if let Some(p) = problem {
                    match (path, version, blob) {
                        (Some(path), Some(v), _) => {
                            report.problems.push(format!("stream {path} (version {v}): {p}"));
                            if report.damaged_streams.last() != Some(&path) {
                                report.damaged_streams.push(path);
                            }
                        }
                        (_, _, Some(id)) => {
                            report.problems.push(format!("blob {id}: {p}"));
                            report.damaged_blobs.push(id as u64);
                        }
                        _ => report.problems.push(format!("content {content_id}: {p}")),
                    }
                }
            }
            match finding(crate::index::check::check(c))? {
                Ok((entries, found)) => {
                    report.records_checked += entries;
                    for line in found {
                        report.problems.push(line.clone());
                        report.index_problems.push(line);
                    }
                }
                Err(e) => {
                    report.problems.push(format!("indexes: check failed: {e}"));
                    report.index_problems.push(format!("indexes: check failed: {e}"));
                }
            }
            report.ok = report.problems.is_empty();
            Ok(report)
        })
    }
}
