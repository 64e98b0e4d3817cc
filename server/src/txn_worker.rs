//! A transaction held across async calls. The engine's `Txn` owns the database's
//! single writer (a lock tied to the thread-free `ArcMutexGuard`, but every call on
//! it must be serialized), so each open transaction gets a dedicated thread that
//! owns the `Txn` and runs the closures sent to it, one at a time, in order. The
//! thread rolls back when it is told to, when every sender is gone, or when no work
//! arrives within the idle timeout.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use buffdb::{Db, Txn};
use tokio::sync::oneshot;
use tonic::Status;

use crate::error::status;

type Job = Box<dyn FnOnce(&Txn) + Send>;

enum Msg {
    Run(Job),
    Commit(oneshot::Sender<buffdb::Result<()>>),
    Rollback(oneshot::Sender<buffdb::Result<()>>),
}

/// How a worker's transaction ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Committed,
    RolledBack,
    TimedOut,
    /// Every handle was dropped (client gone, server shutting down).
    Abandoned,
}

/// The handle on one transaction thread. Cloning shares the transaction.
#[derive(Clone)]
pub struct TxnWorker {
    tx: mpsc::Sender<Msg>,
    pub read_only: bool,
}

fn gone() -> Status {
    Status::failed_precondition("the transaction is not open (committed, rolled back, timed out or never begun)")
}

impl TxnWorker {
    /// Begins a transaction on a new thread (waiting for the writer up to the
    /// database's busy timeout, then UNAVAILABLE). `on_end` runs on the thread after
    /// the transaction ended, however it ended.
    pub async fn begin(
        db: Db,
        read_only: bool,
        idle: Duration,
        on_end: impl FnOnce(Ended) + Send + 'static,
    ) -> Result<(TxnWorker, JoinHandle<()>), Status> {
        let (tx, rx) = mpsc::channel::<Msg>();
        let (began_tx, began_rx) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("buffdb-txn".into())
            .spawn(move || {
                let txn = match db.begin() {
                    Ok(t) => {
                        let _ = began_tx.send(Ok(()));
                        t
                    }
                    Err(e) => {
                        let _ = began_tx.send(Err(e));
                        return;
                    }
                };
                let ended = loop {
                    match rx.recv_timeout(idle) {
                        Ok(Msg::Run(job)) => job(&txn),
                        Ok(Msg::Commit(reply)) => {
                            let _ = reply.send(txn.commit());
                            break Ended::Committed;
                        }
                        Ok(Msg::Rollback(reply)) => {
                            let _ = reply.send(txn.rollback());
                            break Ended::RolledBack;
                        }
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            let _ = txn.rollback();
                            break Ended::TimedOut;
                        }
                        Err(mpsc::RecvTimeoutError::Disconnected) => {
                            let _ = txn.rollback();
                            break Ended::Abandoned;
                        }
                    }
                };
                on_end(ended);
            })
            .map_err(|e| Status::internal(format!("INTERNAL: cannot start a transaction thread: {e}")))?;
        match began_rx.await {
            Ok(Ok(())) => Ok((TxnWorker { tx, read_only }, thread)),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(status(e))
            }
            Err(_) => Err(Status::internal("INTERNAL: the transaction thread stopped")),
        }
    }

    /// Runs `f` inside the transaction. `write` operations are refused in a
    /// read-only transaction.
    pub async fn run<T: Send + 'static>(
        &self,
        write: bool,
        f: impl FnOnce(&Txn) -> Result<T, Status> + Send + 'static,
    ) -> Result<T, Status> {
        if write && self.read_only {
            return Err(Status::permission_denied("READ_ONLY: the transaction is read-only"));
        }
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |t: &Txn| {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(t)))
                .unwrap_or_else(|_| Err(Status::internal("INTERNAL: the operation panicked")));
            let _ = reply.send(r);
        });
        self.tx.send(Msg::Run(job)).map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    pub async fn commit(&self) -> Result<(), Status> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Msg::Commit(reply)).map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?.map_err(status)
    }

    pub async fn rollback(&self) -> Result<(), Status> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Msg::Rollback(reply)).map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?.map_err(status)
    }
}
