//! Whole-database work: statistics and the integrity check.

use rusqlite::Connection;

use crate::content;
use crate::db::Db;
use crate::error::Result;

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

/// What [`Db::check`] found.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CheckReport {
    pub ok: bool,
    pub chunks_checked: u64,
    /// Paths of streams with a damaged version (checking a document stops at its
    /// first bad chunk).
    pub damaged_streams: Vec<String>,
    pub damaged_blobs: Vec<u64>,
    /// One line per damaged stream version or blob: what is wrong with it.
    pub problems: Vec<String>,
    /// What SQLite's own integrity check reported.
    pub sqlite_errors: Vec<String>,
}

/// Who owns a content: (stream path, version) or a blob id, and the content id.
type Owner = (Option<String>, Option<i64>, Option<i64>, i64);

fn count(conn: &Connection, sql: &str) -> Result<u64> {
    Ok(conn.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64)
}

impl Db {
    pub fn stats(&self) -> Result<Stats> {
        self.inner.read_snapshot(|c| {
            let page_size = count(c, "PRAGMA page_size")?;
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

    /// Reads every chunk of every blob and stream version, checking its CRC32
    /// (whatever `verify_checksums` says), and runs SQLite's quick check.
    pub fn check(&self) -> Result<CheckReport> {
        self.inner.read_snapshot(|c| {
            let mut report = CheckReport::default();
            let mut stmt = c.prepare("PRAGMA quick_check")?;
            for line in stmt.query_map([], |r| r.get::<_, String>(0))? {
                let line = line?;
                if line != "ok" {
                    report.sqlite_errors.push(line);
                }
            }
            let owners: Vec<Owner> = c
                .prepare(
                    "SELECT CAST(path AS TEXT), version, NULL, content FROM bdb_versions
                     UNION ALL SELECT NULL, NULL, id, content FROM bdb_blobs ORDER BY 1, 2, 3",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut buf = Vec::new();
            let mut scratch = Vec::new();
            for (path, version, blob, content_id) in owners {
                let problem = (|| -> Result<Option<String>> {
                    let Some(meta) = content::meta(c, content_id)? else {
                        return Ok(Some("its content is missing".into()));
                    };
                    let chunks = content::chunk_refs(c, content_id)?;
                    let mut crc = crc32fast::Hasher::new();
                    let mut size = 0u64;
                    for ch in &chunks {
                        buf.resize(ch.raw_len as usize, 0);
                        report.chunks_checked += 1;
                        if let Err(e) = content::load_chunk(c, ch, &mut buf, &mut scratch, true) {
                            return Ok(Some(e.message().to_string()));
                        }
                        crc.update(&buf);
                        size += buf.len() as u64;
                    }
                    if chunks.len() as u64 != meta.chunk_count || size != meta.size {
                        return Ok(Some("chunks missing or of the wrong size".into()));
                    }
                    if crc.finalize() != meta.crc32 {
                        return Ok(Some("whole-document checksum mismatch".into()));
                    }
                    Ok(None)
                })()?;
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
                        _ => {}
                    }
                }
            }
            report.ok =
                report.damaged_streams.is_empty() && report.damaged_blobs.is_empty() && report.sqlite_errors.is_empty();
            Ok(report)
        })
    }
}
