//! The `Db` handle: one database, shared by every clone.

use std::path::Path;
use std::sync::Arc;

use rusqlite::Connection;

use crate::error::{catch_panic, Result};
use crate::options::OpenOptions;
use crate::storage::Store;

/// A handle on one BuffDB database. Cheap to clone and share between threads;
/// every clone is the same database, and `close()` closes it for all of them.
/// Its operations (KV, blobs, streams, search, query) are those of [`crate::Ops`],
/// each in a short transaction or snapshot of its own; [`Db::begin`] opens a
/// transaction ([`crate::Txn`]) that has them all too.
#[derive(Clone)]
pub struct Db {
    pub(crate) inner: Arc<Store>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.inner.path()).field("closed", &self.is_closed()).finish()
    }
}

impl Db {
    /// Opens (or, with `create`, makes) the database at `path`. `":memory:"` opens
    /// a private in-memory database. A file that is not BuffDB is refused with
    /// `NOT_A_DATABASE` and left untouched.
    pub fn open(path: impl AsRef<Path>, opts: OpenOptions) -> Result<Db> {
        let path = path.as_ref();
        catch_panic(|| Ok(Db { inner: Arc::new(Store::open(path, opts, warm_reader)?) }))
    }

    /// Closes the database for every clone of this handle. Idempotent; any later
    /// call gives `CLOSED`. Waits up to the busy timeout for an open transaction.
    pub fn close(&self) -> Result<()> {
        self.inner.close()
    }

    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// The path the database was opened with.
    pub fn path(&self) -> &str {
        self.inner.path()
    }

    pub fn options(&self) -> &OpenOptions {
        &self.inner.opts
    }

    /// Copies WAL pages into the main file now (PASSIVE: never waits for readers; it
    /// waits, up to the busy timeout, for a background checkpoint already running).
    pub fn checkpoint(&self) -> Result<()> {
        self.inner.checkpoint()
    }
}

/// Prepares the hot KV and stream reads on a new reader connection, not inside
/// the first read.
fn warm_reader(conn: &Connection) -> Result<()> {
    crate::kv::get(conn, b"\0")?;
    crate::stream::version_row(conn, "\0", None)?;
    Ok(())
}
