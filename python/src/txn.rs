//! `Transaction`: the KV, blob and stream-write operations of `Db` on one engine
//! transaction, so they commit or roll back together.

use std::io;

use buffdb as engine;
use parking_lot::Mutex;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::buffers::bytes_from_vec;
use crate::convert::{
    bytes_like, key_arg, opt_bytes, opt_str, opt_usize, pair_list, prefix_arg, str_arg, u64_arg, MetaArg,
};
use crate::errors::{closed_err, key_missing};
use crate::fileobj::{data_arg, run_with_file, Data, PyRead};
use crate::gil::{lock, run, without_gil};
use crate::results::PyStreamInfo;

/// A transaction: the same KV, blob and stream-write operations as `Db`, all-or-nothing.
///
/// Use as a context manager (`with db.transaction() as tx:` commits on success and
/// rolls back on an exception) or call `commit()` / `rollback()`. Reads inside the
/// transaction see its own writes. Other threads' writes wait until it ends.
#[pyclass(frozen, module = "buffdb", name = "Transaction")]
pub struct PyTxn {
    t: Mutex<Option<engine::Txn>>,
}

impl Drop for PyTxn {
    fn drop(&mut self) {
        if let Some(t) = self.t.get_mut().take() {
            without_gil(move || drop(t.rollback()));
        }
    }
}

impl PyTxn {
    pub(crate) fn new(t: engine::Txn) -> Self {
        PyTxn { t: Mutex::new(Some(t)) }
    }

    fn with<T, F>(&self, py: Python<'_>, f: F) -> PyResult<T>
    where
        F: FnOnce(&engine::Txn) -> engine::Result<T> + Send,
        T: Send,
    {
        run(py, || match self.t.lock().as_ref() {
            Some(t) => f(t),
            None => Err(closed_err("transaction")),
        })
    }

    fn finish(&self, py: Python<'_>, commit: bool) -> PyResult<()> {
        let t = run(py, || self.t.lock().take().ok_or_else(|| closed_err("transaction")))?;
        run(py, move || if commit { t.commit() } else { t.rollback() })
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

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        if lock(py, &self.t).is_some() {
            self.finish(py, exc_type.is_none())?;
        }
        Ok(false)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!("<buffdb.Transaction {}>", if self.active(py) { "active" } else { "finished" })
    }

    /// The value of `key`, or `default` if it is missing.
    #[pyo3(signature = (key, default=None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let k = key_arg(key)?;
        let ks = k.as_slice();
        match self.with(py, |t| t.get(ks))? {
            Some(v) => Ok(bytes_from_vec(py, v)?.into_any()),
            None => Ok(default.unwrap_or_else(|| py.None().into_bound(py))),
        }
    }

    fn __getitem__<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
        let k = key_arg(key)?;
        let ks = k.as_slice();
        match self.with(py, |t| t.get(ks))? {
            Some(v) => bytes_from_vec(py, v),
            None => Err(key_missing(key)),
        }
    }

    /// Sets `key` to `value`.
    fn put(&self, py: Python<'_>, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let k = key_arg(key)?;
        let v = bytes_like(value, "value")?;
        let (ks, vs) = (k.as_slice(), v.as_slice());
        self.with(py, |t| t.put(ks, vs))
    }

    fn __setitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.put(py, key, value)
    }

    /// Deletes `key`; returns whether it existed.
    fn delete(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let k = key_arg(key)?;
        let ks = k.as_slice();
        self.with(py, |t| t.delete(ks))
    }

    fn __delitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        if self.delete(py, key)? {
            Ok(())
        } else {
            Err(key_missing(key))
        }
    }

    /// Whether `key` exists.
    fn contains(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let k = key_arg(key)?;
        let ks = k.as_slice();
        self.with(py, |t| t.contains(ks))
    }

    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.contains(py, key)
    }

    /// Number of keys starting with `prefix`.
    #[pyo3(signature = (prefix=None))]
    fn count(&self, py: Python<'_>, prefix: Option<&Bound<'_, PyAny>>) -> PyResult<u64> {
        let p = prefix_arg(prefix)?;
        let ps = p.as_slice();
        self.with(py, |t| t.count(ps))
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.with(py, |t| t.count(b""))? as usize)
    }

    /// Sets many keys at once; `pairs` is a mapping or an iterable of (key, value).
    fn put_many(&self, py: Python<'_>, pairs: &Bound<'_, PyAny>) -> PyResult<()> {
        let pairs = pair_list(pairs)?;
        let refs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice())).collect();
        self.with(py, |t| t.put_many(&refs))
    }

    /// (key, value) pairs whose key starts with `prefix`, in key order.
    #[pyo3(signature = (prefix=None, start_after=None, limit=None))]
    fn scan<'py>(
        &self,
        py: Python<'py>,
        prefix: Option<&Bound<'py, PyAny>>,
        start_after: Option<&Bound<'py, PyAny>>,
        limit: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let p = prefix_arg(prefix)?;
        let sa = opt_bytes(start_after, "start_after")?;
        let limit = opt_usize(limit, "limit")?;
        let (ps, sas) = (p.as_slice(), sa.as_ref().map(|b| b.as_slice()));
        let rows = self.with(py, |t| t.scan(ps, sas, limit)?.collect::<buffdb::Result<Vec<_>>>())?;
        let list = PyList::empty(py);
        for (k, v) in rows {
            list.append(PyTuple::new(py, [PyBytes::new(py, &k), PyBytes::new(py, &v)])?)?;
        }
        Ok(list.try_iter()?.into_any())
    }

    /// Stores a new blob (bytes-like or a readable file object); returns its id.
    #[pyo3(signature = (data, metadata=None))]
    fn blob_put(&self, py: Python<'_>, data: &Bound<'_, PyAny>, metadata: Option<&Bound<'_, PyAny>>) -> PyResult<u64> {
        let meta = opt_str(metadata, "metadata")?;
        let m = meta.as_deref();
        match data_arg(data, "data")? {
            Data::Bytes(b) => {
                let s = b.as_slice();
                self.with(py, |t| t.blob_put(s, m))
            }
            Data::File(obj, readinto) => {
                // Txn has no blob_put_from: read the file object first.
                let mut err = None;
                let mut v = Vec::new();
                let r = io::Read::read_to_end(&mut PyRead { obj: &obj, readinto, err: &mut err }, &mut v);
                if let Some(e) = err {
                    return Err(e);
                }
                r.map_err(|e| PyValueError::new_err(e.to_string()))?;
                let s = &v[..];
                self.with(py, |t| t.blob_put(s, m))
            }
        }
    }

    /// The blob's bytes, or None if it does not exist.
    fn blob_get<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let id = u64_arg(id, "blob id")?;
        self.with(py, |t| t.blob_get(id))?.map(|v| bytes_from_vec(py, v)).transpose()
    }

    /// The blob's metadata (None if it has none); NotFoundError if the blob is missing.
    fn blob_metadata(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
        let id = u64_arg(id, "blob id")?;
        self.with(py, |t| t.blob_metadata(id))
    }

    /// Replaces the blob's data and/or metadata (metadata=None clears it).
    #[pyo3(signature = (id, data=None, metadata=MetaArg::Unset))]
    #[pyo3(text_signature = "($self, id, data=None, metadata=...)")]
    fn blob_update(
        &self,
        py: Python<'_>,
        id: &Bound<'_, PyAny>,
        data: Option<&Bound<'_, PyAny>>,
        metadata: MetaArg,
    ) -> PyResult<()> {
        let id = u64_arg(id, "blob id")?;
        let d = opt_bytes(data, "data")?;
        let ds = d.as_ref().map(|b| b.as_slice());
        let m = match &metadata {
            MetaArg::Unset => None,
            MetaArg::Clear => Some(None),
            MetaArg::Set(s) => Some(Some(s.as_str())),
        };
        self.with(py, |t| t.blob_update(id, ds, m))
    }

    /// Deletes the blob; returns whether it existed.
    fn blob_delete(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<bool> {
        let id = u64_arg(id, "blob id")?;
        self.with(py, |t| t.blob_delete(id))
    }

    /// Writes a new version of the stream at `path` from bytes-like data or a file object.
    fn stream_write(&self, py: Python<'_>, path: &Bound<'_, PyAny>, data: &Bound<'_, PyAny>) -> PyResult<PyStreamInfo> {
        let path = str_arg(path, "path")?;
        let p = path.as_str();
        let info = match data_arg(data, "data")? {
            Data::Bytes(b) => {
                let s = b.as_slice();
                self.with(py, |t| t.stream_write(p, s))?
            }
            Data::File(obj, readinto) => {
                let t = &self.t;
                run_with_file(py, &obj, readinto, |rd| match t.lock().as_ref() {
                    Some(t) => t.stream_write_from(p, rd),
                    None => Err(closed_err("transaction")),
                })?
            }
        };
        Ok(info.into())
    }

    /// The whole latest version of the stream at `path`.
    fn stream_read<'py>(&self, py: Python<'py>, path: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
        let path = str_arg(path, "path")?;
        let p = path.as_str();
        let v = self.with(py, |t| t.stream_read(p))?;
        bytes_from_vec(py, v)
    }

    /// StreamInfo of the latest version; NotFoundError if missing.
    fn stream_stat(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<PyStreamInfo> {
        let path = str_arg(path, "path")?;
        let p = path.as_str();
        Ok(self.with(py, |t| t.stream_stat(p))?.into())
    }

    /// Deletes the stream (all versions); returns whether it existed.
    fn stream_delete(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<bool> {
        let path = str_arg(path, "path")?;
        let p = path.as_str();
        self.with(py, |t| t.stream_delete(p))
    }
}
