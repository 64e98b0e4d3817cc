//! Where an operation gets its connection: the database (a short transaction or a
//! pooled reader of its own) or an open transaction (its writer connection, seeing
//! its own writes). Every operation is written once over this.

use std::cell::RefCell;
use std::sync::Arc;

use parking_lot::ReentrantMutex;
use rusqlite::Connection;

use crate::error::{Error, ErrorCode, Result};
use crate::storage::cache::Change;
use crate::storage::store::{Store, WriterGuard};

/// A borrowed connection source: what one call runs on.
#[derive(Clone, Copy)]
pub enum Core<'a> {
    Db(&'a Arc<Store>),
    Txn(&'a Arc<TxnConn>),
}

/// An owned connection source, for what outlives the call that made it: lazy
/// iterators, readers and stream writers.
#[derive(Clone)]
pub(crate) enum Via {
    Db(Arc<Store>),
    Txn(Arc<TxnConn>),
}

/// An open transaction's writer connection, shared with the iterators, readers and
/// writers opened in it. Reentrant, so a `scan_each` callback may call the
/// transaction again; `None` once the transaction has ended.
pub struct TxnConn {
    pub(crate) inner: Arc<Store>,
    conn: ReentrantMutex<RefCell<Option<WriterGuard>>>,
}

fn finished() -> Error {
    Error::new(ErrorCode::Closed, "the transaction is finished")
}

impl TxnConn {
    pub(crate) fn new(inner: Arc<Store>, guard: WriterGuard) -> TxnConn {
        TxnConn { inner, conn: ReentrantMutex::new(RefCell::new(Some(guard))) }
    }

    /// Runs `f` on the transaction's connection; `CLOSED` once it has ended.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.inner.check_open()?;
        let lock = self.conn.lock();
        let cell = lock.try_borrow().map_err(|_| finished())?;
        let conn = cell.as_ref().and_then(|g| g.as_ref()).ok_or_else(finished)?;
        f(conn)
    }

    /// Runs `f` under a savepoint: a failed operation leaves nothing behind, as
    /// on the database, and the transaction stays usable.
    fn write<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.with(|c| {
            c.prepare_cached("SAVEPOINT buffdb_op")?.execute([])?;
            match f(c) {
                Ok(out) => {
                    c.prepare_cached("RELEASE buffdb_op")?.execute([])?;
                    Ok(out)
                }
                Err(e) => {
                    let _ = c.execute_batch("ROLLBACK TO buffdb_op; RELEASE buffdb_op");
                    Err(e)
                }
            }
        })
    }

    pub(crate) fn is_open(&self) -> bool {
        self.conn.lock().try_borrow().map(|c| c.is_some()).unwrap_or(true)
    }

    /// Ends the transaction for everything opened in it: hands out the writer.
    pub(crate) fn take(&self) -> Result<WriterGuard> {
        let lock = self.conn.lock();
        let mut cell = lock
            .try_borrow_mut()
            .map_err(|_| Error::new(ErrorCode::Busy, "the transaction is in use by a call on this thread"))?;
        cell.take().ok_or_else(finished)
    }
}

impl<'a> Core<'a> {
    #[inline]
    pub(crate) fn inner(self) -> &'a Store {
        match self {
            Core::Db(i) => i,
            Core::Txn(t) => &t.inner,
        }
    }

    #[inline]
    pub(crate) fn to_owned(self) -> Via {
        match self {
            Core::Db(i) => Via::Db(i.clone()),
            Core::Txn(t) => Via::Txn(t.clone()),
        }
    }

    /// `CLOSED` when the database is closed or the transaction has ended.
    #[inline]
    pub(crate) fn check_open(self) -> Result<()> {
        match self {
            Core::Db(i) => i.check_open(),
            Core::Txn(t) => t.with(|_| Ok(())),
        }
    }

    /// Runs `f` on a connection (each statement its own snapshot on the database).
    pub(crate) fn read<T>(self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        match self {
            Core::Db(i) => i.read(f),
            Core::Txn(t) => t.with(f),
        }
    }

    /// Runs `f` in one snapshot (the transaction already is one).
    pub(crate) fn snapshot<T>(self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        match self {
            Core::Db(i) => i.read_snapshot(f),
            Core::Txn(t) => t.with(f),
        }
    }

    /// Runs `f`, making the KV `changes`, atomically: its own transaction on the
    /// database (keeping the read cache warm), a savepoint inside a transaction.
    #[inline]
    pub(crate) fn write<T>(self, changes: &[Change<'_>], f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        match self {
            Core::Db(i) => i.write_kv(changes, f),
            Core::Txn(t) => t.write(f),
        }
    }

    /// After a large write committed on the database (a transaction's commit is later).
    #[inline]
    pub(crate) fn after_large_write(self, size: u64) {
        if let Core::Db(i) = self {
            i.after_large_write(size);
        }
    }
}

impl Via {
    #[inline]
    pub(crate) fn core(&self) -> Core<'_> {
        match self {
            Via::Db(i) => Core::Db(i),
            Via::Txn(t) => Core::Txn(t),
        }
    }

    #[inline]
    pub(crate) fn inner(&self) -> &Store {
        self.core().inner()
    }
}
