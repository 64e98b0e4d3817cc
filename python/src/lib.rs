//! Python bindings for the BuffDB engine (`import buffdb`).
//!
//! This crate is deliberately thin: every method converts its arguments, calls the
//! engine with the GIL released (`py.detach`) and inside `buffdb::catch_panic`, and
//! converts the result or the error back. The pure-Python package `buffdb/` adds
//! the exception classes, the `io.RawIOBase` reader/writer classes and `open()`.
//!
//! One module per concept: `ops` (`Ops`: every operation, written once), `db` (`Db`)
//! and `txn` (`Transaction`), both subclasses of `Ops` running its operations on their
//! `target` (the database or the open transaction), `io` (native reader and writer),
//! `iter` (lazy iterators), `results` (result objects); and the helpers they share:
//! `convert` (arguments), `buffers` (bytes in and out), `fileobj` (file objects as
//! readers), `errors` (exceptions), `gil` (releasing the GIL).

mod buffers;
mod convert;
mod db;
mod errors;
mod fileobj;
mod gil;
mod io;
mod iter;
mod model;
mod ops;
mod replicate;
mod results;
mod target;
mod txn;

use buffdb as engine;
use buffdb::ErrorCode;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::db::PyDb;
use crate::io::{PyReader, PyWriter};
use crate::iter::{PyIndexIter, PyKeyIter, PyKvIter, PyPathIter};
use crate::ops::PyOps;
use crate::results::{PyBlobInfo, PyCheckReport, PyIndexInfo, PyQueryResult, PyStats, PyStreamInfo};
use crate::txn::PyTxn;

/// Native part of the `buffdb` package. Import `buffdb`, not this module.
#[pymodule]
fn _buffdb(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("ENGINE_VERSION", engine::version())?;
    m.add("MAX_KEY_SIZE", engine::MAX_KEY_SIZE)?;
    m.add("MAX_VALUE_SIZE", engine::MAX_VALUE_SIZE)?;
    m.add("MAX_PATH_SIZE", engine::MAX_PATH_SIZE)?;
    m.add("MAX_METADATA_SIZE", engine::MAX_METADATA_SIZE)?;
    m.add("ENCRYPTION_AVAILABLE", engine::ENCRYPTION_AVAILABLE)?;
    let codes = PyList::empty(py);
    for c in ErrorCode::ALL {
        codes.append((c.as_i32(), c.name()))?;
    }
    m.add("ERROR_CODES", codes)?;
    m.add_class::<PyOps>()?;
    m.add_class::<PyDb>()?;
    m.add_class::<PyTxn>()?;
    m.add_class::<PyReader>()?;
    m.add_class::<PyWriter>()?;
    m.add_class::<PyKvIter>()?;
    m.add_class::<PyKeyIter>()?;
    m.add_class::<PyPathIter>()?;
    m.add_class::<PyIndexIter>()?;
    m.add_class::<PyIndexInfo>()?;
    m.add_class::<PyStreamInfo>()?;
    m.add_class::<PyBlobInfo>()?;
    m.add_class::<PyStats>()?;
    m.add_class::<PyCheckReport>()?;
    m.add_class::<PyQueryResult>()?;
    m.add_class::<model::PyModels>()?;
    m.add_class::<replicate::PyReplication>()?;
    m.add_class::<replicate::PyFollower>()?;
    m.add_function(wrap_pyfunction!(replicate::replicate, m)?)?;
    m.add_function(wrap_pyfunction!(replicate::restore, m)?)?;
    m.add_function(wrap_pyfunction!(replicate::follow, m)?)?;
    m.add_function(wrap_pyfunction!(replicate::replica_position, m)?)?;
    m.add_function(wrap_pyfunction!(db::rekey, m)?)?;
    Ok(())
}
