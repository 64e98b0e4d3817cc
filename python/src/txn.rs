//! `Transaction`: every operation of `Db` (inherited from their base class `Ops`,
//! ops.rs) on one engine transaction, so they commit or roll back together; here
//! are committing, rolling back and the context manager.

use std::sync::Arc;

use buffdb as engine;
use parking_lot::Mutex;
use pyo3::prelude::*;

use crate::errors::{closed_err, to_py_err};
use crate::gil::lock;
use crate::ops::PyOps;
use crate::target::{end, Target};

/// A transaction: every operation of `Db`, all-or-nothing.
///
/// Use as a context manager (`with db.transaction() as tx:` commits on success and
/// rolls back on an exception) or call `commit()` / `rollback()`. Reads inside the
/// transaction (and readers, iterators and queries opened in it) see its own writes;
/// stream writers opened in it become visible when it commits. Other threads' writes
/// wait until it ends; after it ends every call, and every reader, iterator and
/// writer opened in it, raises ClosedError.
#[pyclass(extends = PyOps, frozen, module = "buffdb", name = "Transaction")]
pub struct PyTxn {
    /// The same transaction as the base's `Target::Txn` (which rolls it back if it
    /// is dropped unfinished).
    t: Arc<Mutex<Option<engine::Txn>>>,
}

impl PyTxn {
    pub(crate) fn new(py: Python<'_>, t: engine::Txn) -> PyResult<Bound<'_, Self>> {
        let t = Arc::new(Mutex::new(Some(t)));
        let init = PyClassInitializer::from(PyOps::new(Target::Txn(t.clone()))).add_subclass(PyTxn { t });
        Bound::new(py, init)
    }

    fn finish(&self, py: Python<'_>, commit: bool) -> PyResult<()> {
        let t = lock(py, &self.t).take().ok_or_else(|| to_py_err(closed_err("transaction")))?;
        end(py, t, commit)
    }
}

#[pymethods]
impl PyTxn {
    /// Whether the transaction is still open (not committed or rolled back).
    #[getter]
    fn active(&self, py: Python<'_>) -> bool {
        lock(py, &self.t).is_some()
    }

    /// Commits every change made in the transaction.
    fn commit(&self, py: Python<'_>) -> PyResult<()> {
        self.finish(py, true)
    }

    /// Discards every change made in the transaction.
    fn rollback(&self, py: Python<'_>) -> PyResult<()> {
        self.finish(py, false)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!("<buffdb.Transaction {}>", if self.active(py) { "active" } else { "finished" })
    }
}
