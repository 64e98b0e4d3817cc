//! BuffDB: an embedded database in one file, with four parts —
//! a **KV** store, **blobs** (id + metadata), **path streams** (large versioned
//! documents in checksummed, optionally compressed chunks) and **prefix search** —
//! plus transactions and read-only SQL. Built on SQLite (WAL mode).
//!
//! ```
//! use buffdb::{Db, OpenOptions};
//! let db = Db::open(":memory:", OpenOptions::default())?;
//! db.put(b"user:1", b"ada")?;
//! assert_eq!(db.get(b"user:1")?, Some(b"ada".to_vec()));
//! let info = db.stream_write("/models/a.bin", &[7u8; 3000])?;
//! assert_eq!(info.version, 1);
//! let paths: Vec<String> = db.search("/models/", None, None)?.collect::<Result<_, _>>()?;
//! assert_eq!(paths, ["/models/a.bin"]);
//! # Ok::<(), buffdb::Error>(())
//! ```
//!
//! This file is the contract: each concept lives in its own module.

// Layers, each using only those below it: `storage` (schema, chunked content, WAL,
// caches, pool, locks; the connection source), the data parts over a connection
// (`kv`, `blob`, `stream`, `search`, `query`, `reader`, `index`), then `Db`, `Txn` and the
// operation surface `ops` on top.
mod blob;
mod db;
mod encryption;
mod error;
mod index;
mod kv;
mod maintenance;
mod model;
mod ops;
mod options;
mod query;
mod reader;
/// Replication, restore and read replicas through Litestream (docs/replication.md).
pub mod replicate;
mod search;
mod storage;
mod stream;
mod txn;

/// The C ABI (feature `capi`): see include/buffdb.h and docs/c.md.
#[cfg(feature = "capi")]
pub mod capi;

pub use blob::BlobInfo;
pub use db::Db;
/// Key management of encrypted databases (feature `encryption`).
pub use encryption::{decrypt, encrypt, rekey};
pub use error::{catch_panic, Error, ErrorCode, Result};
pub use index::{FindIter, IndexEntry, IndexInfo, IndexProgress, Record};
/// A JSON value: what an index holds and `find` looks for (`serde_json::Value`).
pub use serde_json::Value as JsonValue;
pub use kv::{KeyIter, KvIter, KvPage};
pub use maintenance::{CheckReport, Stats};
pub use model::{file_metadata, model_file_path, model_key, ModelFile, ModelInfo, Models, LATEST, MODEL_STREAM_ROOT};
pub use ops::Ops;
pub use options::{
    Durability, EncryptionKey, OpenOptions, MAX_CHUNK_SIZE, MAX_KEY_SIZE, MAX_METADATA_SIZE, MAX_PATH_SIZE,
    MAX_VALUE_SIZE, MIN_CHUNK_SIZE, MIN_WAL_MAX_BYTES,
};
pub use options::ENCRYPTION_AVAILABLE;
pub use query::{CancelToken, QueryOptions, QueryResult, Value};
pub use reader::Reader;
pub use search::PathIter;
pub use storage::schema::{APPLICATION_ID, FORMAT_VERSION};
pub use stream::{StreamInfo, StreamWriter};
pub use txn::Txn;

/// The library version.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
