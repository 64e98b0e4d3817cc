//! Secondary indexes: find records by a value inside their JSON.
//!
//! An index takes, from each record of its source (KV values, blob metadata, or the
//! metadata of a stream's newest version) whose key starts with its `key_prefix`, the
//! JSON value at its path (see `storage::jsonpath`), and keeps one entry (value,
//! record) in `bdb_index_entries`, the value in an order-preserving encoding (see
//! `storage::ordered`). A record that is not JSON, lacks the path, or has an array or
//! object there is not in the index. Entries are written in the same transaction as
//! their record, by every write path (`upkeep`), so an index is exact at every
//! moment; definitions are cached per handle (`storage::catalog`).

use serde_json::Value as Json;

use crate::error::{Error, ErrorCode, Result};
use crate::storage::catalog::{self, IndexDef, IndexSource};
use crate::storage::jsonpath::JsonPath;
use crate::storage::ordered;
use crate::storage::Core;

mod build;
pub(crate) mod check;
mod find;
pub(crate) mod upkeep;

pub use find::FindIter;

/// What an index entry points at: a KV key, a blob id or a stream path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Record {
    Key(Vec<u8>),
    Blob(u64),
    Path(String),
}

impl Record {
    /// The stored form: the key, the id big-endian, the path's bytes.
    pub(crate) fn to_stored(&self) -> Vec<u8> {
        match self {
            Record::Key(k) => k.clone(),
            Record::Blob(id) => ordered::blob_record(*id).to_vec(),
            Record::Path(p) => p.as_bytes().to_vec(),
        }
    }

    pub(crate) fn from_stored(source: IndexSource, b: &[u8]) -> Result<Record> {
        Ok(match source {
            IndexSource::Kv => Record::Key(b.to_vec()),
            IndexSource::Blob => Record::Blob(ordered::blob_of(b).ok_or_else(|| damaged_entry(b))?),
            IndexSource::Stream => Record::Path(String::from_utf8(b.to_vec()).map_err(|_| damaged_entry(b))?),
        })
    }

    pub(crate) fn source(&self) -> IndexSource {
        match self {
            Record::Key(_) => IndexSource::Kv,
            Record::Blob(_) => IndexSource::Blob,
            Record::Path(_) => IndexSource::Stream,
        }
    }
}

impl std::fmt::Display for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Record::Key(k) => write!(f, "key {}", crate::options::show_key(k)),
            Record::Blob(id) => write!(f, "blob {id}"),
            Record::Path(p) => write!(f, "stream {p:?}"),
        }
    }
}

#[cold]
fn damaged_entry(b: &[u8]) -> Error {
    Error::corrupt(format!("an index entry's record {} is damaged", crate::options::show_key(b)))
}

/// One entry of an index: the value found in the record, and the record.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexEntry {
    pub value: Json,
    pub record: Record,
}

/// An index, as `list_indexes` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexInfo {
    pub name: String,
    /// `"kv"`, `"blob"` or `"stream"`.
    pub source: String,
    pub json_path: String,
    pub unique: bool,
    pub key_prefix: Option<Vec<u8>>,
    /// Entries in the index.
    pub entries: u64,
    /// `false` while it is being built (an interrupted build: `create_index` again
    /// with the same definition finishes it).
    pub ready: bool,
}

/// How far an index build is: records looked at, of about `total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexProgress {
    pub done: u64,
    pub total: u64,
}

/// Longest index name.
const MAX_NAME: usize = 128;

/// `INVALID_ARGUMENT` unless `name` is a plain identifier: a letter or `_`, then
/// letters, digits and `_`, at most 128 bytes.
pub(crate) fn check_name(name: &str) -> Result<()> {
    let b = name.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= MAX_NAME
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "index name {name:?} is not a plain identifier (a letter or _, then letters, digits and _; at most {MAX_NAME} bytes)"
        )))
    }
}

/// The encoding of a value asked for: a scalar (arrays and objects are never in an index).
pub(crate) fn encode_asked(v: &Json) -> Result<Vec<u8>> {
    ordered::encode(v).ok_or_else(|| {
        Error::invalid("arrays and objects are not indexed: find takes a string, number, boolean or null")
    })
}

/// The definition named `name` as stored (not the cache: reads see their snapshot).
pub(crate) fn def_named(conn: &rusqlite::Connection, name: &str) -> Result<Option<IndexDef>> {
    Ok(catalog::load(conn)?.into_iter().find(|d| d.name == name))
}

pub(crate) fn missing(name: &str) -> Error {
    Error::not_found(format!("index {name:?}"))
}

fn info_of(conn: &rusqlite::Connection, d: &IndexDef) -> Result<IndexInfo> {
    let entries: i64 =
        conn.prepare_cached("SELECT count(*) FROM bdb_index_entries WHERE idx = ?1")?.query_row([d.id], |r| r.get(0))?;
    Ok(IndexInfo {
        name: d.name.clone(),
        source: d.source.name().to_string(),
        json_path: d.path_text.clone(),
        unique: d.unique,
        key_prefix: d.key_prefix.clone(),
        entries: entries as u64,
        ready: d.built.is_none(),
    })
}

pub(crate) fn list(conn: &rusqlite::Connection) -> Result<Vec<IndexInfo>> {
    let mut out: Vec<IndexInfo> = catalog::load(conn)?.iter().map(|d| info_of(conn, d)).collect::<Result<_>>()?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Removes an index and its entries; whether it existed.
pub(crate) fn drop(conn: &rusqlite::Connection, inner: &crate::storage::Store, name: &str) -> Result<bool> {
    check_name(name)?;
    let Some(id) = conn
        .prepare_cached("SELECT id FROM bdb_indexes WHERE name = ?1")?
        .query_row([name], |r| r.get::<_, i64>(0))
        .map(Some)
        .or_else(|e| if e == rusqlite::Error::QueryReturnedNoRows { Ok(None) } else { Err(e) })?
    else {
        return Ok(false);
    };
    inner.catalog.changed();
    conn.prepare_cached("DELETE FROM bdb_index_entries WHERE idx = ?1")?.execute([id])?;
    conn.prepare_cached("DELETE FROM bdb_indexes WHERE id = ?1")?.execute([id])?;
    Ok(true)
}

/// A definition asked for, checked: `(source, path)`.
fn check_definition(
    name: &str,
    source: &str,
    json_path: &str,
    key_prefix: Option<&[u8]>,
) -> Result<(IndexSource, JsonPath)> {
    check_name(name)?;
    let source = IndexSource::parse(source)?;
    let path = JsonPath::parse(json_path)?;
    if source == IndexSource::Blob && key_prefix.is_some() {
        return Err(Error::invalid("a blob index takes no key_prefix (blobs have ids, not keys)"));
    }
    if let Some(p) = key_prefix {
        if p.len() > crate::MAX_KEY_SIZE {
            return Err(Error::too_large(format!("key_prefix is over {} bytes", crate::MAX_KEY_SIZE)));
        }
    }
    Ok((source, path))
}

/// Creates an index and builds it over the existing records. On the database the
/// definition is committed first, then the build goes in batches, each its own
/// short write transaction (the writer is free between them; writes meanwhile keep
/// the index exact); in a transaction it is all one step of it.
pub(crate) fn create(
    core: Core<'_>,
    name: &str,
    source: &str,
    json_path: &str,
    unique: bool,
    key_prefix: Option<&[u8]>,
    progress: &mut dyn FnMut(IndexProgress),
) -> Result<IndexInfo> {
    let key_prefix = key_prefix.filter(|p| !p.is_empty());
    let (source, _) = check_definition(name, source, json_path, key_prefix)?;
    let inner = core.inner();
    let define = |c: &rusqlite::Connection| -> Result<i64> {
        if let Some(d) = def_named(c, name)? {
            let same = d.source == source && d.path_text == json_path && d.unique == unique && d.key_prefix.as_deref() == key_prefix;
            if same && d.built.is_some() {
                return Ok(d.id); // an interrupted build: finish it
            }
            return Err(Error::new(ErrorCode::Conflict, format!("an index named {name:?} exists already")));
        }
        inner.catalog.changed();
        build::define(c, name, source, json_path, unique, key_prefix)
    };
    let id = match core {
        Core::Txn(_) => {
            return core.write(&[], |c| {
                let id = define(c)?;
                build::run(c, id, progress, usize::MAX, None)?;
                let d = catalog::load(c)?.into_iter().find(|d| d.id == id).ok_or_else(|| missing(name))?;
                info_of(c, &d)
            })
        }
        Core::Db(_) => core.write(&[], define)?,
    };
    let mut counted = None; // (done, total), kept only from committed batches
    let built = loop {
        match core.write(&[], |c| build::run(c, id, progress, build::BATCH, counted)) {
            Ok((true, _)) => break Ok(()),
            Ok((false, c)) => counted = Some(c),
            Err(e) => break Err(e),
        }
    };
    if let Err(e) = built {
        // A duplicate in a unique index (or a failure) leaves no index behind.
        if e.code() != ErrorCode::Busy && e.code() != ErrorCode::Closed {
            let _ = core.write(&[], |c| drop_id(c, inner, id));
        }
        return Err(e);
    }
    core.snapshot(|c| {
        let d = catalog::load(c)?.into_iter().find(|d| d.id == id).ok_or_else(|| missing(name))?;
        info_of(c, &d)
    })
}

fn drop_id(conn: &rusqlite::Connection, inner: &crate::storage::Store, id: i64) -> Result<()> {
    inner.catalog.changed();
    conn.prepare_cached("DELETE FROM bdb_index_entries WHERE idx = ?1")?.execute([id])?;
    conn.prepare_cached("DELETE FROM bdb_indexes WHERE id = ?1")?.execute([id])?;
    Ok(())
}
