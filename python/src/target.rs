//! What an operation runs on: the database (`Db`: each call is its own short
//! transaction) or an open transaction (`Transaction`: each call runs inside it).
//! Both engine types offer every operation of `buffdb::Ops`, so one method body
//! serves both through [`on!`].

use std::sync::Arc;

use buffdb as engine;
use parking_lot::Mutex;
use pyo3::prelude::*;

use crate::errors::closed_err;
use crate::gil::{lock, run, without_gil};

pub(crate) enum Target {
    Db(engine::Db),
    /// `None` once committed or rolled back; shared with the `Transaction` object,
    /// which commits or rolls it back.
    Txn(Arc<Mutex<Option<engine::Txn>>>),
}

impl Target {
    /// Another handle on the same database or transaction (for `db.models`): dropping
    /// it ends nothing; the `Db` or `Transaction` object still decides that.
    pub(crate) fn share(&self) -> Target {
        match self {
            Target::Db(db) => Target::Db(db.clone()),
            Target::Txn(t) => Target::Txn(t.clone()),
        }
    }

    /// A check for iterators that hand out items fetched earlier: `CLOSED` once the
    /// database is closed or the transaction has ended, as the engine's iterators do.
    pub(crate) fn liveness(&self) -> Liveness {
        match self {
            Target::Db(db) => Liveness::Db(db.clone()),
            Target::Txn(t) => Liveness::Txn(t.clone()),
        }
    }

    /// Ends what the handle holds, as leaving its `with` block does: a database
    /// closes; a transaction still open commits, or rolls back when the block raised.
    pub(crate) fn exit(&self, py: Python<'_>, raised: bool) -> PyResult<()> {
        match self {
            Target::Db(db) => run(py, || db.close()),
            Target::Txn(t) => {
                let unfinished = lock(py, t).take();
                match unfinished {
                    Some(t) => end(py, t, !raised),
                    None => Ok(()),
                }
            }
        }
    }

    /// Drops the handle where that may touch the disk (closing the database's
    /// connections, rolling back an unfinished transaction) with the GIL released.
    pub(crate) fn release(self) {
        match self {
            Target::Db(db) => without_gil(move || drop(db)),
            Target::Txn(t) => {
                let unfinished = t.lock().take();
                if let Some(t) = unfinished {
                    without_gil(move || drop(t.rollback()));
                }
            }
        }
    }
}

pub(crate) enum Liveness {
    Db(engine::Db),
    Txn(Arc<Mutex<Option<engine::Txn>>>),
}

impl Liveness {
    pub(crate) fn check(&self) -> engine::Result<()> {
        let open = match self {
            Liveness::Db(db) => !db.is_closed(),
            // Held by a call in progress: the transaction is still open.
            Liveness::Txn(t) => t.try_lock().is_none_or(|g| g.as_ref().is_some_and(engine::Txn::is_open)),
        };
        if open {
            Ok(())
        } else {
            Err(closed_err(if matches!(self, Liveness::Db(_)) { "database" } else { "transaction" }))
        }
    }
}

/// Commits or rolls back a transaction taken out of its `Target::Txn`.
pub(crate) fn end(py: Python<'_>, t: engine::Txn, commit: bool) -> PyResult<()> {
    run(py, move || if commit { t.commit() } else { t.rollback() })
}

/// `on!(target, |o| body)`: runs `body` with `o` bound to the engine handle of
/// `target` (`&engine::Db` or `&engine::Txn`; both have every operation of
/// `buffdb::Ops` as a method). A finished transaction gives `CLOSED`. The body is an
/// `engine::Result`; call it inside `run` (or `run_with_file`) to release the GIL.
macro_rules! on {
    ($target:expr, |$o:ident| $body:expr) => {
        match $target {
            $crate::target::Target::Db(db) => {
                let $o = db;
                $body
            }
            $crate::target::Target::Txn(t) => match t.lock().as_ref() {
                Some($o) => $body,
                None => Err($crate::errors::closed_err("transaction")),
            },
        }
    };
}
pub(crate) use on;

/// `atomic!(target, |o| body)`: as `on!`, but on a database the body runs in a
/// transaction of its own, committed when it returns `Ok` (an early `Err` drops it,
/// which rolls it back), so a read-then-write (`pop`, `setdefault`, `clear`) is one
/// atomic step on a database as it is inside a transaction.
macro_rules! atomic {
    ($target:expr, |$o:ident| $body:expr) => {
        match $target {
            $crate::target::Target::Db(db) => {
                let t = db.begin()?;
                let r = {
                    let $o = &t;
                    $body
                };
                match r {
                    Ok(v) => t.commit().map(|()| v),
                    Err(e) => Err(e),
                }
            }
            t @ $crate::target::Target::Txn(_) => $crate::target::on!(t, |$o| $body),
        }
    };
}
pub(crate) use atomic;
