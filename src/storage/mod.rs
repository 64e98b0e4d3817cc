//! Storage, below the data parts: the file's schema and record checksums, chunked
//! content, the WAL index, bound and early writeback, the read cache, the connection pool, the
//! liveness lock and checkpoint gate, and the [`Store`] that holds them; and where
//! an operation gets its connection ([`source`]). Nothing here knows `Db` or `Txn`.

pub(crate) mod cache;
pub(crate) mod content;
pub(crate) mod catalog;
pub(crate) mod crypt;
pub(crate) mod gate;
pub(crate) mod journal;
pub(crate) mod jsonpath;
pub(crate) mod ordered;
pub(crate) mod owner;
pub(crate) mod pool;
pub(crate) mod room;
pub(crate) mod schema;
pub(crate) mod source;
pub(crate) mod store;
pub(crate) mod wal;
pub(crate) mod writeback;

pub(crate) use source::{Core, TxnConn, Via};
pub use store::Store;
pub(crate) use store::{now_ms, WriterGuard};
