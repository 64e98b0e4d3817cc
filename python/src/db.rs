//! `Db`: the database handle (`buffdb.Db` is its Python subclass). Its operations
//! are those of its base class `Ops` (ops.rs); here are opening, closing, maintenance
//! and `begin`.

use buffdb as engine;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{db_path_arg, encryption_key_arg, opt_str, opt_u64, opt_usize};
use crate::errors::{invalid_arg, PyRes};
use crate::gil::run;
use crate::ops::PyOps;
use crate::results::{PyCheckReport, PyStats};
use crate::target::Target;
use crate::txn::PyTxn;

fn durability_name(d: &engine::Durability) -> &'static str {
    match d {
        engine::Durability::Full => "full",
        engine::Durability::Normal => "normal",
        engine::Durability::None => "none",
    }
}

/// The native database handle; `buffdb.Db` is its Python subclass.
#[pyclass(extends = PyOps, frozen, subclass, module = "buffdb._buffdb", name = "Db")]
pub struct PyDb {
    /// A second handle on the database of the base's `Target::Db`. PyO3 drops a
    /// subclass's fields before its base's, so the base releases the last handle
    /// (closing the connections without the GIL).
    db: engine::Db,
}

#[pymethods]
impl PyDb {
    /// Opens (or creates) the database file at `path`; ":memory:" is a private in-memory database.
    #[new]
    #[pyo3(signature = (
        path, *, create=true, read_only=false, durability=None, compression=false,
        verify_checksums=true, chunk_size=None, versions_to_keep=None, cache_size=None,
        max_document_size=None, busy_timeout_ms=None, page_size=None,
        encryption_key=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        create: bool,
        read_only: bool,
        durability: Option<&Bound<'_, PyAny>>,
        compression: bool,
        verify_checksums: bool,
        chunk_size: Option<&Bound<'_, PyAny>>,
        versions_to_keep: Option<&Bound<'_, PyAny>>,
        cache_size: Option<&Bound<'_, PyAny>>,
        max_document_size: Option<&Bound<'_, PyAny>>,
        busy_timeout_ms: Option<&Bound<'_, PyAny>>,
        page_size: Option<&Bound<'_, PyAny>>,
        encryption_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let path = db_path_arg(path)?;
        let mut o = engine::OpenOptions { create, read_only, compression, verify_checksums, ..Default::default() };
        if let Some(d) = opt_str(durability, "durability")? {
            o.durability = d.parse::<engine::Durability>().pyres()?;
        }
        if let Some(v) = opt_usize(chunk_size, "chunk_size")? {
            o.chunk_size = v;
        }
        if let Some(v) = opt_u64(versions_to_keep, "versions_to_keep")? {
            o.versions_to_keep = u32::try_from(v).map_err(|_| invalid_arg("versions_to_keep is too large"))?;
        }
        if let Some(v) = opt_usize(cache_size, "cache_size")? {
            o.cache_size = v;
        }
        if let Some(v) = opt_u64(max_document_size, "max_document_size")? {
            o.max_document_size = v;
        }
        if let Some(v) = opt_u64(busy_timeout_ms, "busy_timeout_ms")? {
            o.busy_timeout_ms = v;
        }
        if let Some(v) = opt_u64(page_size, "page_size")? {
            o.page_size = u32::try_from(v).map_err(|_| invalid_arg("page_size is too large"))?;
        }
        o.encryption_key = encryption_key_arg(encryption_key)?;
        let db = run(py, move || engine::Db::open(&path, o))?;
        Ok(PyClassInitializer::from(PyOps::new(Target::Db(db.clone()))).add_subclass(PyDb { db }))
    }

    // -- handle ------------------------------------------------------------

    /// Closes the database (idempotent); any later call raises ClosedError.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        run(py, || self.db.close())
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.db.is_closed()
    }

    /// The path the database was opened with.
    #[getter]
    fn path(&self) -> &str {
        self.db.path()
    }

    /// The options the database was opened with, as a dict.
    #[getter]
    fn options<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let o = self.db.options();
        let d = PyDict::new(py);
        d.set_item("create", o.create)?;
        d.set_item("read_only", o.read_only)?;
        d.set_item("durability", durability_name(&o.durability))?;
        d.set_item("compression", o.compression)?;
        d.set_item("verify_checksums", o.verify_checksums)?;
        d.set_item("chunk_size", o.chunk_size)?;
        d.set_item("versions_to_keep", o.versions_to_keep)?;
        d.set_item("cache_size", o.cache_size)?;
        d.set_item("max_document_size", o.max_document_size)?;
        d.set_item("busy_timeout_ms", o.busy_timeout_ms)?;
        d.set_item("page_size", o.page_size)?;
        Ok(d)
    }

    /// Copies the WAL into the database file (passive checkpoint).
    fn checkpoint(&self, py: Python<'_>) -> PyResult<()> {
        run(py, || self.db.checkpoint())
    }

    /// Counts and sizes (a Stats object).
    fn stats(&self, py: Python<'_>) -> PyResult<PyStats> {
        Ok(run(py, || self.db.stats())?.into())
    }

    /// Verifies every chunk's checksum and SQLite's integrity; returns a CheckReport.
    fn check(&self, py: Python<'_>) -> PyResult<PyCheckReport> {
        Ok(run(py, || self.db.check())?.into())
    }

    fn __repr__(&self) -> String {
        format!("<buffdb.Db {:?}{}>", self.db.path(), if self.db.is_closed() { " closed" } else { "" })
    }

    // -- transactions ------------------------------------------------------

    /// Begins a transaction (waits up to busy_timeout_ms for other writers, then BusyError).
    fn begin<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTxn>> {
        let t = run(py, || self.db.begin())?;
        PyTxn::new(py, t)
    }

    /// Begins a transaction to use as a context manager:
    /// `with db.transaction() as tx: ...` commits on success, rolls back on an exception.
    fn transaction<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTxn>> {
        self.begin(py)
    }
}

/// Changes the key of the encrypted database at `path` (closed everywhere else: BusyError
/// otherwise) from `key` to `new_key` (each as `encryption_key`: a str passphrase or a
/// raw 32-byte bytes-like key), then opens it with the new key and checks it; returns
/// the CheckReport. A wrong `key` raises NotADatabaseError and changes nothing.
#[pyfunction]
pub fn rekey(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    key: &Bound<'_, PyAny>,
    new_key: &Bound<'_, PyAny>,
) -> PyResult<PyCheckReport> {
    let path = db_path_arg(path)?;
    let key = encryption_key_arg(Some(key))?.ok_or_else(|| invalid_arg("key is None: give the current key"))?;
    let new_key = encryption_key_arg(Some(new_key))?.ok_or_else(|| invalid_arg("new_key is None: give the new key"))?;
    Ok(run(py, move || engine::rekey(&path, &key, &new_key))?.into())
}
