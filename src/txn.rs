//! Transactions: KV, blob and stream writes that commit all together or not at all.

use std::io::Read;
use std::sync::Arc;

use rusqlite::Connection;

use crate::blob::{self, BlobInfo};
use crate::db::{Db, Inner, WriterGuard};
use crate::error::{Error, ErrorCode, Result};
use crate::kv::{self, Source};
use crate::stream::{self, StreamInfo};

/// An open write transaction. It holds the database's single writer until
/// [`Txn::commit`] or [`Txn::rollback`]; dropping it rolls back. Its own writes are
/// visible to its reads; other handles see them only after commit. Reads through
/// the `Db` meanwhile see the last committed state (they never wait for it).
pub struct Txn {
    inner: Arc<Inner>,
    guard: Option<WriterGuard>,
}

impl std::fmt::Debug for Txn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Txn").field("open", &self.guard.is_some()).finish()
    }
}

impl Db {
    /// Begins a transaction, waiting up to the busy timeout for the writer (`BUSY`).
    pub fn begin(&self) -> Result<Txn> {
        let guard = self.inner.lock_writer()?;
        guard.as_ref().ok_or_else(Error::closed)?.execute_batch("BEGIN IMMEDIATE")?;
        Ok(Txn { inner: self.inner.clone(), guard: Some(guard) })
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
    fn conn(&self) -> Result<&Connection> {
        self.inner.check_open()?;
        self.guard
            .as_ref()
            .and_then(|g| g.as_ref())
            .ok_or_else(|| Error::new(ErrorCode::Closed, "the transaction is finished"))
    }

    pub fn is_open(&self) -> bool {
        self.guard.is_some()
    }

    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        kv::get(self.conn()?, key)
    }
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        kv::put(self.conn()?, key, value)
    }
    pub fn delete(&self, key: &[u8]) -> Result<bool> {
        kv::delete(self.conn()?, key)
    }
    pub fn contains(&self, key: &[u8]) -> Result<bool> {
        kv::contains(self.conn()?, key)
    }
    pub fn count(&self, prefix: &[u8]) -> Result<u64> {
        kv::count(self.conn()?, Source::Keys, prefix)
    }
    pub fn put_many<K: AsRef<[u8]>, V: AsRef<[u8]>>(&self, pairs: &[(K, V)]) -> Result<()> {
        kv::put_many(self.conn()?, pairs)
    }
    /// Like [`Db::scan`], collected (the transaction's own writes included).
    pub fn scan(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: Option<usize>,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let page = kv::page(self.conn()?, Source::KeyValues, prefix, start_after, limit.unwrap_or(usize::MAX))?;
        Ok(page.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect())
    }

    pub fn blob_put(&self, data: &[u8], metadata: Option<&str>) -> Result<u64> {
        blob::put(self.conn()?, &self.inner, data, metadata)
    }
    pub fn blob_put_from(&self, reader: impl Read, metadata: Option<&str>) -> Result<u64> {
        blob::put_from(self.conn()?, &self.inner, reader, metadata)
    }
    pub fn blob_get(&self, id: u64) -> Result<Option<Vec<u8>>> {
        blob::get(self.conn()?, &self.inner, id)
    }
    pub fn blob_metadata(&self, id: u64) -> Result<Option<String>> {
        blob::metadata(self.conn()?, id)
    }
    pub fn blob_info(&self, id: u64) -> Result<Option<BlobInfo>> {
        blob::info(self.conn()?, id)
    }
    pub fn blob_update(&self, id: u64, data: Option<&[u8]>, metadata: Option<Option<&str>>) -> Result<()> {
        blob::update(self.conn()?, &self.inner, id, data, metadata)
    }
    pub fn blob_delete(&self, id: u64) -> Result<bool> {
        blob::delete(self.conn()?, &self.inner, id)
    }

    pub fn stream_write(&self, path: &str, data: &[u8]) -> Result<StreamInfo> {
        stream::write(self.conn()?, &self.inner, path, data)
    }
    pub fn stream_write_from(&self, path: &str, reader: impl Read) -> Result<StreamInfo> {
        stream::write_from(self.conn()?, &self.inner, path, reader)
    }
    pub fn stream_read(&self, path: &str) -> Result<Vec<u8>> {
        stream::read(self.conn()?, &self.inner, path, None)
    }
    pub fn stream_stat(&self, path: &str) -> Result<StreamInfo> {
        stream::stat(self.conn()?, path)
    }
    pub fn stream_delete(&self, path: &str) -> Result<bool> {
        stream::delete(self.conn()?, &self.inner, path)
    }

    /// Makes every write of the transaction visible at once.
    pub fn commit(mut self) -> Result<()> {
        let guard = self.finish()?;
        let conn = guard.as_ref().ok_or_else(Error::closed)?;
        if let Err(e) = conn.execute_batch("COMMIT") {
            let _ = conn.execute_batch("ROLLBACK");
            let e = Error::from(e);
            if e.code() == ErrorCode::Full {
                self.inner.after_full(conn);
            }
            return Err(e);
        }
        drop(guard);
        self.inner.after_commit();
        Ok(())
    }

    /// Drops every write of the transaction.
    pub fn rollback(mut self) -> Result<()> {
        let guard = self.finish()?;
        if let Some(conn) = guard.as_ref() {
            conn.execute_batch("ROLLBACK")?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<WriterGuard> {
        let guard = self.guard.take().ok_or_else(|| Error::new(ErrorCode::Closed, "the transaction is finished"))?;
        if let Err(e) = self.inner.check_open() {
            if let Some(conn) = guard.as_ref() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            return Err(e);
        }
        Ok(guard)
    }
}

impl Drop for Txn {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            if let Some(conn) = guard.as_ref() {
                let _ = conn.execute_batch("ROLLBACK");
            }
        }
    }
}
