//! The index definitions a handle writes through, cached per handle.
//!
//! Every write checks the definitions (an index must be kept exact by every write of
//! every process), so reading `bdb_indexes` each time would tax writes that have no
//! index at all. The cache is valid for the writer connection's data version
//! (`SQLITE_FCNTL_DATA_VERSION`: a counter that moves with every commit, this
//! connection's or another process's): a write finds it current with one file-control
//! call and no statement. This connection's own commits move the counter by one; when
//! the cache was current at the start of such a commit and the commit did not change a
//! definition, it stays current after it (`after_txn`).

use std::sync::Arc;

use parking_lot::Mutex;
use rusqlite::{ffi, Connection};

use crate::error::{Error, Result};
use crate::storage::jsonpath::JsonPath;
use crate::storage::schema::RowCrc;

/// What an index takes its records from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IndexSource {
    /// KV values (records: keys).
    Kv,
    /// Blob metadata (records: blob ids).
    Blob,
    /// The metadata of a stream's newest version (records: paths).
    Stream,
}

impl IndexSource {
    pub(crate) fn parse(s: &str) -> Result<IndexSource> {
        match s {
            "kv" => Ok(IndexSource::Kv),
            "blob" => Ok(IndexSource::Blob),
            "stream" => Ok(IndexSource::Stream),
            other => Err(Error::invalid(format!("unknown index source {other:?} (kv, blob or stream)"))),
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            IndexSource::Kv => "kv",
            IndexSource::Blob => "blob",
            IndexSource::Stream => "stream",
        }
    }
}

/// One index definition, checked and parsed.
#[derive(Clone, Debug)]
pub(crate) struct IndexDef {
    pub id: i64,
    pub name: String,
    pub source: IndexSource,
    pub path_text: String,
    pub path: JsonPath,
    pub unique: bool,
    pub key_prefix: Option<Vec<u8>>,
    /// While being built: the last record the build has indexed (`[]` before the first).
    pub built: Option<Vec<u8>>,
}

impl IndexDef {
    /// Whether `record` of `source` belongs in this index.
    #[inline]
    pub fn covers(&self, source: IndexSource, record: &[u8]) -> bool {
        self.source == source && self.key_prefix.as_deref().map_or(true, |p| record.starts_with(p))
    }
}

/// The record checksum of a definition (the columns of `INDEX_CRC_COLUMNS`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn index_crc(
    id: i64,
    name: &str,
    source: &str,
    json_path: &str,
    unique: bool,
    key_prefix: Option<&[u8]>,
    built: Option<&[u8]>,
) -> i64 {
    RowCrc::new()
        .int(id)
        .bytes(name.as_bytes())
        .bytes(source.as_bytes())
        .bytes(json_path.as_bytes())
        .int(unique as i64)
        .opt_bytes(key_prefix)
        .opt_bytes(built)
        .finish()
}

/// Every definition, checked (`CORRUPT` for a damaged one), in id order.
pub(crate) fn load(conn: &Connection) -> Result<Vec<IndexDef>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, source, json_path, is_unique, key_prefix, built, row_crc FROM bdb_indexes ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let (id, name, source, path_text): (i64, String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        let unique: i64 = r.get(4)?;
        let (key_prefix, built): (Option<Vec<u8>>, Option<Vec<u8>>) = (r.get(5)?, r.get(6)?);
        let crc = index_crc(id, &name, &source, &path_text, unique != 0, key_prefix.as_deref(), built.as_deref());
        if crc != r.get::<_, i64>(7)? {
            return Err(Error::corrupt(format!("index {name:?}: record checksum mismatch")));
        }
        let damaged = |_| Error::corrupt(format!("index {name:?}: its definition is damaged"));
        let source = IndexSource::parse(&source).map_err(damaged)?;
        let path = JsonPath::parse(&path_text).map_err(damaged)?;
        out.push(IndexDef { id, name, source, path_text, path, unique: unique != 0, key_prefix, built });
    }
    Ok(out)
}

/// The definitions of one handle's writer connection, cached.
#[derive(Default)]
pub(crate) struct Catalog {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// (connection, data version) the cached definitions are current for.
    valid: Option<(usize, u32)>,
    defs: Arc<[IndexDef]>,
    /// A definition changed in the open transaction: nothing is cached until it ends.
    changed: bool,
}

/// The connection's data version: moves with every commit (see the module comment).
fn data_version(conn: &Connection) -> Option<(usize, u32)> {
    let mut v: u32 = 0;
    // SAFETY: the handle is open for the borrow of `conn`; the call writes one u32.
    let rc = unsafe {
        let db = conn.handle();
        ffi::sqlite3_file_control(
            db,
            c"main".as_ptr(),
            ffi::SQLITE_FCNTL_DATA_VERSION,
            (&mut v as *mut u32).cast(),
        )
    };
    // SAFETY: only the address is used, as the connection's identity.
    (rc == ffi::SQLITE_OK).then(|| (unsafe { conn.handle() } as usize, v))
}

impl Catalog {
    /// The definitions, read on the writer connection inside a write transaction.
    #[inline]
    pub(crate) fn defs(&self, conn: &Connection) -> Result<Arc<[IndexDef]>> {
        let now = data_version(conn);
        {
            let s = self.state.lock();
            if !s.changed && now.is_some() && s.valid == now {
                return Ok(s.defs.clone());
            }
        }
        let defs: Arc<[IndexDef]> = load(conn)?.into();
        let mut s = self.state.lock();
        if !s.changed {
            s.valid = now;
            s.defs = defs.clone();
        }
        Ok(defs)
    }

    /// A definition was created, changed or dropped in the open write transaction.
    pub(crate) fn changed(&self) {
        let mut s = self.state.lock();
        s.changed = true;
        s.valid = None;
    }

    /// After a write transaction on the writer connection ended (`committed` or not).
    pub(crate) fn after_txn(&self, conn: &Connection, committed: bool) {
        let mut s = self.state.lock();
        if std::mem::take(&mut s.changed) {
            s.valid = None;
            return;
        }
        if committed {
            if let (Some((c, v)), Some((now_c, now_v))) = (s.valid, data_version(conn)) {
                // Current when the commit began and the commit only moved the counter by one.
                if c == now_c && v.wrapping_add(1) == now_v {
                    s.valid = Some((c, now_v));
                }
            }
        }
    }
}
