//! The operations the compat services run, on a `Db` (reads outside a
//! transaction) or a `Txn` (writes, and everything inside a client's transaction),
//! and how a run of requests is applied in order.

use buffdb::{BlobInfo, Db, Txn};
use tonic::Status;

use crate::error::{blocking, status, IntoStatus};
use crate::txn_registry::TxnRegistry;

pub trait Ops {
    fn get(&self, key: &[u8]) -> buffdb::Result<Option<Vec<u8>>>;
    fn get_many(&self, keys: &[&[u8]]) -> buffdb::Result<Vec<Option<Vec<u8>>>>;
    fn put(&self, key: &[u8], value: &[u8]) -> buffdb::Result<()>;
    fn delete(&self, key: &[u8]) -> buffdb::Result<bool>;
    fn blob_put(&self, data: &[u8], metadata: Option<&str>) -> buffdb::Result<u64>;
    fn blob_get(&self, id: u64) -> buffdb::Result<Option<Vec<u8>>>;
    fn blob_info(&self, id: u64) -> buffdb::Result<Option<BlobInfo>>;
    fn blob_update(&self, id: u64, data: Option<&[u8]>, metadata: Option<Option<&str>>) -> buffdb::Result<()>;
    fn blob_delete(&self, id: u64) -> buffdb::Result<bool>;
}

macro_rules! forward_ops {
    ($t:ty) => {
        impl Ops for $t {
            fn get(&self, key: &[u8]) -> buffdb::Result<Option<Vec<u8>>> {
                <$t>::get(self, key)
            }
            fn get_many(&self, keys: &[&[u8]]) -> buffdb::Result<Vec<Option<Vec<u8>>>> {
                <$t>::get_many(self, keys)
            }
            fn put(&self, key: &[u8], value: &[u8]) -> buffdb::Result<()> {
                <$t>::put(self, key, value)
            }
            fn delete(&self, key: &[u8]) -> buffdb::Result<bool> {
                <$t>::delete(self, key)
            }
            fn blob_put(&self, data: &[u8], metadata: Option<&str>) -> buffdb::Result<u64> {
                <$t>::blob_put(self, data, metadata)
            }
            fn blob_get(&self, id: u64) -> buffdb::Result<Option<Vec<u8>>> {
                <$t>::blob_get(self, id)
            }
            fn blob_info(&self, id: u64) -> buffdb::Result<Option<BlobInfo>> {
                <$t>::blob_info(self, id)
            }
            fn blob_update(&self, id: u64, data: Option<&[u8]>, metadata: Option<Option<&str>>) -> buffdb::Result<()> {
                <$t>::blob_update(self, id, data, metadata)
            }
            fn blob_delete(&self, id: u64) -> buffdb::Result<bool> {
                <$t>::blob_delete(self, id)
            }
        }
    };
}
forward_ops!(Db);
forward_ops!(Txn);

/// What a batch handler returns: the answers of the requests it handled, in order,
/// and the error that ended the stream at the first request it could not handle.
pub type BatchResult<Resp> = (Vec<Resp>, Option<Status>);

/// A run of requests applied in order to a database or transaction, stopping at
/// the first error (most are [`each`] over a one-request function).
pub type Op<Req, Resp> = fn(&dyn Ops, Vec<Req>) -> BatchResult<Resp>;

/// Applies `op` to each request in order, stopping at the first error.
pub fn each<Req, Resp>(
    target: &dyn Ops,
    items: Vec<Req>,
    op: fn(&dyn Ops, Req) -> Result<Resp, Status>,
) -> BatchResult<Resp> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match op(target, item) {
            Ok(r) => out.push(r),
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

/// Runs a run of requests: inside the client's transaction `txn` when named;
/// otherwise writes in one new transaction committed before any is answered, and
/// reads straight from the database.
pub async fn run_items<Req: Send + 'static, Resp: Send + 'static>(
    db: &Db,
    txns: &TxnRegistry,
    txn: Option<String>,
    write: bool,
    items: Vec<Req>,
    op: Op<Req, Resp>,
) -> BatchResult<Resp> {
    let result = match txn {
        Some(id) => match txns.get(&id) {
            Ok(worker) => worker.run(write, move |t| Ok(op(t, items))).await,
            Err(e) => Err(e),
        },
        None if write => {
            let db = db.clone();
            blocking(move || {
                let tx = db.begin().or_status()?;
                let (out, err) = op(&tx, items);
                if out.is_empty() {
                    drop(tx); // rolls back
                } else if let Err(e) = tx.commit() {
                    return Ok((Vec::new(), Some(status(e))));
                }
                Ok((out, err))
            })
            .await
        }
        None => {
            let db = db.clone();
            blocking(move || Ok(op(&db, items))).await
        }
    };
    result.unwrap_or_else(|e| (Vec::new(), Some(e)))
}
