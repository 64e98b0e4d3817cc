//! The database(s) a server serves: one file shared by every service, or, as the
//! earlier BuffDB's `--kv-store`/`--blob-store` allowed, a KV file and a blob file.

use buffdb::Db;
use tonic::Status;

#[derive(Clone)]
pub struct Stores {
    /// KV, streams, search, query and transactions.
    pub kv: Db,
    /// Blobs: the same handle as `kv` unless two files were given.
    pub blob: Db,
    /// Whether `kv` and `blob` are one database (a transaction can then span both).
    pub shared: bool,
}

impl Stores {
    /// One database for everything.
    pub fn shared(db: Db) -> Stores {
        Stores { kv: db.clone(), blob: db, shared: true }
    }

    /// A KV database and a separate blob database.
    pub fn split(kv: Db, blob: Db) -> Stores {
        Stores { kv, blob, shared: false }
    }

    /// Refuses a blob operation naming a transaction when blobs live in another file.
    pub fn blob_txn_allowed(&self) -> Result<(), Status> {
        if self.shared {
            Ok(())
        } else {
            Err(Status::failed_precondition(
                "the blob store is a different file from the KV store, where transactions live: \
                 a blob operation cannot join a transaction (serve one file to have both)",
            ))
        }
    }

    /// Closes every database (idempotent).
    pub fn close(&self) -> buffdb::Result<()> {
        self.kv.close()?;
        self.blob.close()
    }
}
