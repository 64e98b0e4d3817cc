//! Running engine work without the GIL, so other Python threads keep going while
//! the engine waits on the disk or on SQLite's locks.

use buffdb as engine;
use parking_lot::{Mutex, MutexGuard};
use pyo3::prelude::*;

use crate::errors::PyRes;

/// Runs an engine call with the GIL released and panics turned into `INTERNAL`.
#[inline]
pub(crate) fn run<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    F: FnOnce() -> engine::Result<T> + Send,
    T: Send,
{
    py.detach(|| engine::catch_panic(f)).pyres()
}

/// Locks a mutex; if another thread holds it, waits with the GIL released.
#[inline]
pub(crate) fn lock<'a, T: Send>(py: Python<'_>, m: &'a Mutex<T>) -> MutexGuard<'a, T> {
    match m.try_lock() {
        Some(g) => g,
        None => py.detach(|| m.lock()),
    }
}

/// Runs `f` (a drop that may touch the disk: rollback, abort, closing connections)
/// with the GIL released, unless the interpreter is shutting down.
///
/// Drops run in the middle of other calls, e.g. when a temporary `Db` is released while
/// the error of its failing call is being raised. Calling into Python with that error
/// pending would lose it (`SystemError: error return without exception set`), so it is
/// set aside around the `sys.is_finalizing()` check and put back unchanged.
pub(crate) fn without_gil<F: FnOnce() + Send>(f: F) {
    Python::attach(|py| {
        let pending = PyErr::take(py);
        let finalizing = py
            .import("sys")
            .and_then(|sys| sys.call_method0("is_finalizing"))
            .and_then(|r| r.is_truthy())
            .unwrap_or(true);
        if let Some(e) = pending {
            e.restore(py);
        }
        if finalizing {
            f()
        } else {
            py.detach(f)
        }
    })
}
