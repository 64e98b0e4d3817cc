//! The compat transactions (`BeginTransaction` ... `CommitTransaction`): open
//! transactions by id, each on its own worker thread, rolled back after their idle
//! timeout and all rolled back when the server shuts down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use buffdb::Db;
use tonic::Status;

use crate::txn_worker::{Ended, TxnWorker};

/// The error for an id that names no open transaction.
pub fn not_open(id: &str) -> Status {
    Status::failed_precondition(format!(
        "transaction {id:?} is not open (committed, rolled back, timed out or never begun)"
    ))
}

#[derive(Default)]
struct Inner {
    open: HashMap<String, TxnWorker>,
    threads: Vec<JoinHandle<()>>,
    closed: bool,
}

#[derive(Clone, Default)]
pub struct TxnRegistry {
    inner: Arc<Mutex<Inner>>,
}

impl TxnRegistry {
    /// Begins a transaction and returns its id.
    pub async fn begin(&self, db: Db, read_only: bool, idle: Duration) -> Result<String, Status> {
        let id = uuid::Uuid::new_v4().to_string();
        let weak = Arc::downgrade(&self.inner);
        let key = id.clone();
        let (worker, thread) = TxnWorker::begin(db, read_only, idle, move |_ended: Ended| {
            if let Some(inner) = weak.upgrade() {
                inner.lock().unwrap_or_else(|p| p.into_inner()).open.remove(&key);
            }
        })
        .await?;
        let mut inner = self.lock();
        if inner.closed {
            return Err(Status::unavailable("CLOSED: the server is shutting down"));
        }
        inner.threads.retain(|t| !t.is_finished());
        inner.threads.push(thread);
        inner.open.insert(id.clone(), worker);
        Ok(id)
    }

    /// The open transaction `id`.
    pub fn get(&self, id: &str) -> Result<TxnWorker, Status> {
        self.lock().open.get(id).cloned().ok_or_else(|| not_open(id))
    }

    /// Takes `id` out of the registry (for commit or rollback).
    pub fn take(&self, id: &str) -> Option<TxnWorker> {
        self.lock().open.remove(id)
    }

    pub fn open_count(&self) -> usize {
        self.lock().open.len()
    }

    /// Rolls back every open transaction and waits for their threads; later begins
    /// are refused.
    pub fn close_all(&self) {
        let threads = {
            let mut inner = self.lock();
            inner.closed = true;
            inner.open.clear(); // dropping the senders makes each worker roll back
            std::mem::take(&mut inner.threads)
        };
        for t in threads {
            let _ = t.join();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}
