//! Transactions: any operation of the surface ([`crate::Ops`]), committed all
//! together or not at all.

use std::sync::Arc;

use crate::db::Db;
use crate::error::{Error, ErrorCode, Result};
use crate::storage::TxnConn;

/// An open write transaction. It holds the database's single writer until
/// [`Txn::commit`] or [`Txn::rollback`]; dropping it rolls back. Every operation of
/// [`Db`] is here too (see [`crate::Ops`]), each atomic on its own (a failed call
/// leaves nothing behind and the transaction usable) and seeing the transaction's
/// own writes; other handles see them only after commit. Readers, lazy iterators
/// and stream writers opened from it work inside it and fail `CLOSED` once it ends.
/// Reads through the `Db` meanwhile see the last committed state (they never wait).
pub struct Txn {
    pub(crate) shared: Arc<TxnConn>,
}

impl std::fmt::Debug for Txn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Txn").field("open", &self.is_open()).finish()
    }
}

impl Db {
    /// Begins a transaction, waiting up to the busy timeout for the writer (`BUSY`).
    pub fn begin(&self) -> Result<Txn> {
        let guard = self.inner.lock_writer()?;
        guard.as_ref().ok_or_else(Error::closed)?.execute_batch("BEGIN IMMEDIATE")?;
        Ok(Txn { shared: Arc::new(TxnConn::new(self.inner.clone(), guard)) })
    }

    /// Runs `f` in a transaction: commits when it returns `Ok`, rolls back on `Err`.
    pub fn transaction<T>(&self, f: impl FnOnce(&Txn) -> Result<T>) -> Result<T> {
        let tx = self.begin()?;
        match f(&tx) {
            Ok(v) => {
                tx.commit()?;
                Ok(v)
            }
            Err(e) => {
                let _ = tx.rollback();
                Err(e)
            }
        }
    }
}

impl Txn {
    pub fn is_open(&self) -> bool {
        self.shared.is_open()
    }

    /// Makes every write of the transaction visible at once.
    pub fn commit(self) -> Result<()> {
        let guard = self.finish()?;
        let conn = guard.as_ref().ok_or_else(Error::closed)?;
        let inner = &self.shared.inner;
        let committed = inner.cover_growth(conn).and_then(|()| Ok(conn.execute_batch("COMMIT")?));
        inner.catalog.after_txn(conn, committed.is_ok());
        if let Err(e) = committed {
            let _ = conn.execute_batch("ROLLBACK");
            inner.forget_growth();
            if e.code() == ErrorCode::Full {
                inner.after_full(conn);
            }
            return Err(e);
        }
        drop(guard);
        inner.after_commit();
        Ok(())
    }

    /// Drops every write of the transaction.
    pub fn rollback(self) -> Result<()> {
        let guard = self.finish()?;
        if let Some(conn) = guard.as_ref() {
            let out = conn.execute_batch("ROLLBACK");
            self.shared.inner.catalog.after_txn(conn, false);
            out?;
        }
        Ok(())
    }

    fn finish(&self) -> Result<crate::storage::WriterGuard> {
        let guard = self.shared.take()?;
        if let Err(e) = self.shared.inner.check_open() {
            if let Some(conn) = guard.as_ref() {
                let _ = conn.execute_batch("ROLLBACK");
                self.shared.inner.catalog.after_txn(conn, false);
            }
            return Err(e);
        }
        Ok(guard)
    }
}

impl Drop for Txn {
    fn drop(&mut self) {
        if let Ok(guard) = self.shared.take() {
            if let Some(conn) = guard.as_ref() {
                let _ = conn.execute_batch("ROLLBACK");
                self.shared.inner.catalog.after_txn(conn, false);
            }
        }
    }
}
