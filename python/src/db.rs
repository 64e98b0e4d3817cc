//! `Db`: the database handle (`buffdb.Db` is its Python subclass).

use std::io;

use buffdb as engine;
use buffdb::ErrorCode;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

use crate::buffers::bytes_from_vec;
use crate::convert::{
    bytes_like, db_path_arg, id_list, key_arg, key_list, opt_bytes, opt_str, opt_u64, opt_usize, pair_list, prefix_arg, str_arg,
    u64_arg, value_arg, MetaArg,
};
use crate::errors::{invalid_arg, key_missing, PyRes};
use crate::fileobj::{data_arg, run_with_file, Data};
use crate::gil::{run, without_gil};
use crate::io::{read_bytes, PyReader, PyWriter};
use crate::iter::{PyKeyIter, PyKvIter, PyPathIter};
use crate::results::{PyBlobInfo, PyCheckReport, PyQueryResult, PyStats, PyStreamInfo};
use crate::txn::PyTxn;

fn durability_name(d: &engine::Durability) -> &'static str {
    match d {
        engine::Durability::Full => "full",
        engine::Durability::Normal => "normal",
        engine::Durability::None => "none",
    }
}

/// The native database handle; `buffdb.Db` is its Python subclass.
#[pyclass(frozen, subclass, module = "buffdb._buffdb", name = "Db")]
pub struct PyDb {
    db: std::mem::ManuallyDrop<engine::Db>,
}

impl Drop for PyDb {
    fn drop(&mut self) {
        // SAFETY: taken exactly once, here; `self.db` is not used afterwards.
        let db = unsafe { std::mem::ManuallyDrop::take(&mut self.db) };
        without_gil(move || drop(db));
    }
}

#[pymethods]
impl PyDb {
    /// Opens (or creates) the database file at `path`; ":memory:" is a private in-memory database.
    #[new]
    #[pyo3(signature = (
        path, *, create=true, read_only=false, durability=None, compression=false,
        verify_checksums=true, chunk_size=None, versions_to_keep=None, cache_size=None,
        max_document_size=None, busy_timeout_ms=None, page_size=None
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
    ) -> PyResult<Self> {
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
        let db = run(py, move || engine::Db::open(&path, o))?;
        Ok(PyDb { db: std::mem::ManuallyDrop::new(db) })
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

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!("<buffdb.Db {:?}{}>", self.db.path(), if self.db.is_closed() { " closed" } else { "" })
    }

    fn __bool__(&self) -> bool {
        true
    }

    // -- KV ----------------------------------------------------------------

    /// The value of `key` (bytes), or `default` if it is missing.
    #[pyo3(signature = (key, default=None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let k = key_arg(key)?;
        let ks = k.as_slice();
        match run(py, || self.db.get(ks))? {
            Some(v) => Ok(bytes_from_vec(py, v)?.into_any()),
            None => Ok(default.unwrap_or_else(|| py.None().into_bound(py))),
        }
    }

    fn __getitem__<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
        let k = key_arg(key)?;
        let ks = k.as_slice();
        match run(py, || self.db.get(ks))? {
            Some(v) => bytes_from_vec(py, v),
            None => Err(key_missing(key)),
        }
    }

    /// Sets `key` to `value` (bytes-like or str).
    fn put(&self, py: Python<'_>, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let k = key_arg(key)?;
        let v = bytes_like(value, "value")?;
        let (ks, vs) = (k.as_slice(), v.as_slice());
        run(py, || self.db.put(ks, vs))
    }

    fn __setitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.put(py, key, value)
    }

    /// Deletes `key`; returns whether it existed.
    fn delete(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let k = key_arg(key)?;
        let ks = k.as_slice();
        run(py, || self.db.delete(ks))
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
        run(py, || self.db.contains(ks))
    }

    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.contains(py, key)
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(run(py, || self.db.count(b""))? as usize)
    }

    fn __iter__(&self, py: Python<'_>) -> PyResult<PyKeyIter> {
        self.keys(py, None, None, None)
    }

    /// Values of many keys (a list of bytes or None), read in one transaction.
    fn get_many<'py>(&self, py: Python<'py>, keys: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let keys = key_list(keys)?;
        let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
        let vals = run(py, || self.db.get_many(&refs))?;
        let list = PyList::empty(py);
        for v in vals {
            match v {
                Some(v) => list.append(bytes_from_vec(py, v)?)?,
                None => list.append(py.None())?,
            }
        }
        Ok(list)
    }

    /// Sets many keys atomically; `pairs` is a mapping or an iterable of (key, value).
    fn put_many(&self, py: Python<'_>, pairs: &Bound<'_, PyAny>) -> PyResult<()> {
        let pairs = pair_list(pairs)?;
        let refs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice())).collect();
        run(py, || self.db.put_many(&refs))
    }

    /// Whether all the keys have equal values (NotFoundError if one is missing).
    fn eq(&self, py: Python<'_>, keys: &Bound<'_, PyAny>) -> PyResult<bool> {
        let keys = key_list(keys)?;
        let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
        run(py, || self.db.eq(&refs))
    }

    /// Whether all the keys have pairwise distinct values (NotFoundError if one is missing).
    fn not_eq(&self, py: Python<'_>, keys: &Bound<'_, PyAny>) -> PyResult<bool> {
        let keys = key_list(keys)?;
        let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
        run(py, || self.db.not_eq(&refs))
    }

    /// Lazy iterator of (key, value) pairs whose key starts with `prefix`, in key order,
    /// starting after `start_after`, at most `limit` pairs.
    #[pyo3(signature = (prefix=None, start_after=None, limit=None))]
    fn scan(
        &self,
        py: Python<'_>,
        prefix: Option<&Bound<'_, PyAny>>,
        start_after: Option<&Bound<'_, PyAny>>,
        limit: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyKvIter> {
        let p = prefix_arg(prefix)?;
        let sa = opt_bytes(start_after, "start_after")?;
        let limit = opt_usize(limit, "limit")?;
        let (ps, sas) = (p.as_slice(), sa.as_ref().map(|b| b.as_slice()));
        let it = run(py, || self.db.scan(ps, sas, limit))?;
        Ok(PyKvIter::new(it))
    }

    /// Lazy iterator of keys (bytes) starting with `prefix`, in key order.
    #[pyo3(signature = (prefix=None, start_after=None, limit=None))]
    fn keys(
        &self,
        py: Python<'_>,
        prefix: Option<&Bound<'_, PyAny>>,
        start_after: Option<&Bound<'_, PyAny>>,
        limit: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyKeyIter> {
        let p = prefix_arg(prefix)?;
        let sa = opt_bytes(start_after, "start_after")?;
        let limit = opt_usize(limit, "limit")?;
        let (ps, sas) = (p.as_slice(), sa.as_ref().map(|b| b.as_slice()));
        let it = run(py, || self.db.keys(ps, sas, limit))?;
        Ok(PyKeyIter::new(it))
    }

    /// Number of keys starting with `prefix`.
    #[pyo3(signature = (prefix=None))]
    fn count(&self, py: Python<'_>, prefix: Option<&Bound<'_, PyAny>>) -> PyResult<u64> {
        let p = prefix_arg(prefix)?;
        let ps = p.as_slice();
        run(py, || self.db.count(ps))
    }

    // -- blobs -------------------------------------------------------------

    /// Stores a new blob from bytes-like data or a readable file object; returns its id
    /// (ids grow and are never reused).
    #[pyo3(signature = (data, metadata=None))]
    fn blob_put(&self, py: Python<'_>, data: &Bound<'_, PyAny>, metadata: Option<&Bound<'_, PyAny>>) -> PyResult<u64> {
        let meta = opt_str(metadata, "metadata")?;
        let m = meta.as_deref();
        match data_arg(data, "data")? {
            Data::Bytes(b) => {
                let s = b.as_slice();
                run(py, || self.db.blob_put(s, m))
            }
            Data::File(obj, readinto) => run_with_file(py, &obj, readinto, |rd| self.db.blob_put_from(rd, m)),
        }
    }

    /// The blob's bytes, or None if it does not exist.
    fn blob_get<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let id = u64_arg(id, "blob id")?;
        // Through a reader, so the bytes are copied once, straight into the bytes object.
        let r = run(py, || match self.db.blob_open(id) {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(e),
        })?;
        match r {
            Some(mut r) => Ok(Some(read_bytes(py, &mut r, None)?)),
            None => Ok(None),
        }
    }

    /// The blob's metadata string (None if it has none); NotFoundError if the blob is missing.
    fn blob_metadata(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
        let id = u64_arg(id, "blob id")?;
        run(py, || self.db.blob_metadata(id))
    }

    /// BlobInfo of the blob, or None if it does not exist.
    fn blob_info(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<Option<PyBlobInfo>> {
        let id = u64_arg(id, "blob id")?;
        Ok(run(py, || self.db.blob_info(id))?.map(PyBlobInfo::from))
    }

    /// Replaces the blob's data and/or metadata; metadata=None clears it, leaving it out
    /// keeps it. NotFoundError if the blob is missing.
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
        run(py, || self.db.blob_update(id, ds, m))
    }

    /// Deletes the blob; returns whether it existed.
    fn blob_delete(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<bool> {
        let id = u64_arg(id, "blob id")?;
        run(py, || self.db.blob_delete(id))
    }

    /// A native reader over the blob (NotFoundError if missing).
    fn blob_open(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<PyReader> {
        let id = u64_arg(id, "blob id")?;
        let r = run(py, || self.db.blob_open(id))?;
        PyReader::new(py, r)
    }

    /// Whether all the blobs have equal contents (NotFoundError if one is missing).
    fn blob_eq(&self, py: Python<'_>, ids: &Bound<'_, PyAny>) -> PyResult<bool> {
        let ids = id_list(ids)?;
        run(py, || self.db.blob_eq(&ids))
    }

    /// Whether all the blobs have pairwise distinct contents (NotFoundError if one is missing).
    fn blob_not_eq(&self, py: Python<'_>, ids: &Bound<'_, PyAny>) -> PyResult<bool> {
        let ids = id_list(ids)?;
        run(py, || self.db.blob_not_eq(&ids))
    }

    /// Blob ids in increasing order, after `start_after`, at most `limit`.
    #[pyo3(signature = (start_after=None, limit=None))]
    fn blob_ids(
        &self,
        py: Python<'_>,
        start_after: Option<&Bound<'_, PyAny>>,
        limit: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<u64>> {
        let sa = opt_u64(start_after, "start_after")?;
        let limit = opt_usize(limit, "limit")?;
        run(py, || self.db.blob_ids(sa, limit))
    }

    // -- streams -----------------------------------------------------------

    /// Writes a new version of the stream at `path` from bytes-like data or a readable
    /// file object (read in chunks); returns its StreamInfo. `compression` overrides the
    /// database default for this write.
    #[pyo3(signature = (path, data, *, compression=None))]
    fn stream_write(
        &self,
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        data: &Bound<'_, PyAny>,
        compression: Option<bool>,
    ) -> PyResult<PyStreamInfo> {
        let path = str_arg(path, "path")?;
        let p = path.as_str();
        let info = match (data_arg(data, "data")?, compression) {
            (Data::Bytes(b), None) => {
                let s = b.as_slice();
                run(py, || self.db.stream_write(p, s))?
            }
            (Data::File(obj, readinto), None) => {
                run_with_file(py, &obj, readinto, |rd| self.db.stream_write_from(p, rd))?
            }
            (Data::Bytes(b), Some(c)) => {
                let s = b.as_slice();
                run(py, || {
                    let mut w = self.db.stream_writer_with(p, Some(c))?;
                    w.write(s)?;
                    w.commit()
                })?
            }
            (Data::File(obj, readinto), Some(c)) => run_with_file(py, &obj, readinto, |mut rd| {
                let mut w = self.db.stream_writer_with(p, Some(c))?;
                let mut buf = vec![0u8; self.db.options().chunk_size];
                loop {
                    let n = io::Read::read(&mut rd, &mut buf)
                        .map_err(|e| engine::Error::new(ErrorCode::Io, e.to_string()))?;
                    if n == 0 {
                        break;
                    }
                    w.write(&buf[..n])?;
                }
                w.commit()
            })?,
        };
        Ok(info.into())
    }

    /// A native writer for a new version of `path` (nothing visible until commit).
    #[pyo3(signature = (path, *, compression=None))]
    fn stream_writer(&self, py: Python<'_>, path: &Bound<'_, PyAny>, compression: Option<bool>) -> PyResult<PyWriter> {
        let path = str_arg(path, "path")?;
        let p = path.as_str();
        let w = run(py, || match compression {
            None => self.db.stream_writer(p),
            Some(c) => self.db.stream_writer_with(p, Some(c)),
        })?;
        Ok(PyWriter::new(w, path))
    }

    /// The whole latest version of the stream at `path` (NotFoundError if missing).
    fn stream_read<'py>(&self, py: Python<'py>, path: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
        let path = str_arg(path, "path")?;
        let p = path.as_str();
        // Through a reader: one version, copied once straight into the bytes object.
        let mut r = run(py, || self.db.stream_open(p, None))?;
        read_bytes(py, &mut r, None)
    }

    /// A native reader over the latest (or the given) version of `path`.
    #[pyo3(signature = (path, version=None))]
    fn stream_open(
        &self,
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        version: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyReader> {
        let path = str_arg(path, "path")?;
        let p = path.as_str();
        let version = opt_u64(version, "version")?;
        let r = run(py, || self.db.stream_open(p, version))?;
        PyReader::new(py, r)
    }

    /// `length` bytes at `offset` of the latest version (clipped at the end).
    fn stream_read_range<'py>(
        &self,
        py: Python<'py>,
        path: &Bound<'py, PyAny>,
        offset: &Bound<'py, PyAny>,
        length: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let path = str_arg(path, "path")?;
        let p = path.as_str();
        let offset = u64_arg(offset, "offset")?;
        let length = u64_arg(length, "length")?;
        let v = run(py, || self.db.stream_read_range(p, offset, length))?;
        bytes_from_vec(py, v)
    }

    /// StreamInfo of the latest version of `path` (NotFoundError if missing).
    fn stream_stat(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<PyStreamInfo> {
        let path = str_arg(path, "path")?;
        let p = path.as_str();
        Ok(run(py, || self.db.stream_stat(p))?.into())
    }

    /// Whether a stream exists at `path`.
    fn stream_exists(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<bool> {
        let path = str_arg(path, "path")?;
        let p = path.as_str();
        run(py, || self.db.stream_exists(p))
    }

    /// StreamInfo of every kept version of `path`, oldest first (empty if none).
    fn stream_versions(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<Vec<PyStreamInfo>> {
        let path = str_arg(path, "path")?;
        let p = path.as_str();
        Ok(run(py, || self.db.stream_versions(p))?.into_iter().map(Into::into).collect())
    }

    /// Deletes the stream (all versions); returns whether it existed.
    fn stream_delete(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<bool> {
        let path = str_arg(path, "path")?;
        let p = path.as_str();
        run(py, || self.db.stream_delete(p))
    }

    // -- search ------------------------------------------------------------

    /// Lazy iterator of stream paths starting with `prefix`, in byte order, after
    /// `start_after`, at most `limit`.
    #[pyo3(signature = (prefix=None, start_after=None, limit=None))]
    fn search(
        &self,
        py: Python<'_>,
        prefix: Option<&Bound<'_, PyAny>>,
        start_after: Option<&Bound<'_, PyAny>>,
        limit: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyPathIter> {
        let prefix = opt_str(prefix, "prefix")?.unwrap_or_default();
        let prefix = prefix.as_str();
        let sa = opt_str(start_after, "start_after")?;
        let limit = opt_usize(limit, "limit")?;
        let sas = sa.as_deref();
        let it = run(py, || self.db.search(prefix, sas, limit))?;
        Ok(PyPathIter::new(it))
    }

    /// Number of stream paths starting with `prefix`.
    #[pyo3(signature = (prefix=None))]
    fn search_count(&self, py: Python<'_>, prefix: Option<&Bound<'_, PyAny>>) -> PyResult<u64> {
        let prefix = opt_str(prefix, "prefix")?.unwrap_or_default();
        let prefix = prefix.as_str();
        run(py, || self.db.search_count(prefix))
    }

    // -- transactions ------------------------------------------------------

    /// Begins a transaction (waits up to busy_timeout_ms for other writers, then BusyError).
    fn begin(&self, py: Python<'_>) -> PyResult<PyTxn> {
        let t = run(py, || self.db.begin())?;
        Ok(PyTxn::new(t))
    }

    /// Begins a transaction to use as a context manager:
    /// `with db.transaction() as tx: ...` commits on success, rolls back on an exception.
    fn transaction(&self, py: Python<'_>) -> PyResult<PyTxn> {
        self.begin(py)
    }

    // -- query -------------------------------------------------------------

    /// Runs a read-only SQL statement over the views kv(key, value),
    /// blobs(id, metadata, size, created) and streams(path, version, size, crc32,
    /// chunk_count, stored_size, created). Writes raise ReadOnlyError.
    #[pyo3(signature = (sql, params=None))]
    fn query(
        &self,
        py: Python<'_>,
        sql: &Bound<'_, PyAny>,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyQueryResult> {
        let sql = str_arg(sql, "sql")?;
        let mut values = Vec::new();
        if let Some(p) = params {
            if !p.is_none() {
                if p.is_instance_of::<PyString>() || p.is_instance_of::<PyBytes>() {
                    return Err(PyTypeError::new_err("params must be a sequence of values"));
                }
                for item in p.try_iter()? {
                    values.push(value_arg(&item?)?);
                }
            }
        }
        let s = sql.as_str();
        let vs = &values[..];
        let res = run(py, || self.db.query(s, vs))?;
        PyQueryResult::new(py, res)
    }
}
