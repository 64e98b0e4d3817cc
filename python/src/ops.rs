//! `Ops`: every operation of BuffDB (KV, blobs, streams, search, query), written once
//! and inherited by `Db` (each call its own short transaction) and `Transaction`
//! (each call inside the open transaction, seeing its own writes). Readers, iterators
//! and stream writers opened from a transaction read and write its view and raise
//! `ClosedError` once it ends.

use std::io;
use std::mem::ManuallyDrop;

use buffdb as engine;
use buffdb::ErrorCode;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::intern;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::buffers::bytes_from_vec;
use crate::convert::{
    bytes_like, entry_arg, id_list, json_arg, key_arg, key_list, opt_bytes, opt_str, opt_u64, opt_usize, pair_list,
    prefix_arg, str_arg, u64_arg, value_arg, MetaArg,
};
use crate::errors::{key_missing, to_py_err};
use crate::fileobj::{data_arg, run_with_file, Data};
use crate::gil::run;
use crate::io::{read_whole, reader_object, writer_object};
use crate::model::PyModels;
use crate::iter::{PyIndexIter, PyKeyIter, PyKvIter, PyPathIter};
use crate::results::{PyBlobInfo, PyIndexInfo, PyQueryResult, PyStreamInfo};
use crate::target::{atomic, on, Target};

/// Bytes read from a file object per call when it is copied into a stream writer.
const COPY_BUF: usize = 1 << 20;

/// Keys deleted per page by `clear`.
const CLEAR_BATCH: usize = 1024;

/// The view class `name` of buffdb/_views.py over `ops`, for the keys the arguments
/// select (checked now, as `scan` checks them). A finished transaction or a closed
/// database gives `ClosedError` now rather than at the first use.
fn view<'py>(
    ops: &Bound<'py, PyOps>,
    name: &Bound<'py, PyString>,
    prefix: Option<&Bound<'py, PyAny>>,
    start_after: Option<&Bound<'py, PyAny>>,
    limit: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = ops.py();
    let p = PyBytes::new(py, prefix_arg(prefix)?.as_slice());
    let sa = opt_bytes(start_after, "start_after")?.map(|b| PyBytes::new(py, b.as_slice()));
    let limit = opt_usize(limit, "limit")?;
    ops.get().target().liveness().check().map_err(to_py_err)?;
    static VIEWS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let module = VIEWS.get_or_try_init(py, || py.import("buffdb._views").map(Bound::unbind))?;
    module.bind(py).getattr(name)?.call1((ops, p, sa, limit))
}

/// A new version of `path` written through a stream writer, for what the one-call
/// writes do not take: this call's compression, metadata on data from a file object.
fn via_writer<O: engine::Ops>(
    o: &O,
    path: &str,
    compression: Option<bool>,
    metadata: Option<&str>,
    feed: impl FnOnce(&mut engine::StreamWriter) -> engine::Result<()>,
) -> engine::Result<engine::StreamInfo> {
    let mut w = o.stream_writer_with(path, compression)?;
    w.set_metadata(metadata)?;
    feed(&mut w)?;
    w.commit()
}

/// The optional `default` of `pop` (given positionally, at most one).
fn one_default<'py>(args: &Bound<'py, PyTuple>, what: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    match args.len() {
        0 => Ok(None),
        1 => args.get_item(0).map(Some),
        n => Err(PyTypeError::new_err(format!("{what} expected at most 2 arguments, got {}", n + 1))),
    }
}

/// The operations of a BuffDB database: the base class of `Db` and `Transaction`.
///
/// On a `Db` each call is its own short transaction; on a `Transaction` each call runs
/// inside it and sees its writes. Readers, iterators and stream writers opened from a
/// transaction read and write its view and raise `ClosedError` once it ends.
/// Not created directly: open a `Db`, or begin a `Transaction` on one.
#[pyclass(frozen, subclass, module = "buffdb", name = "Ops")]
pub struct PyOps {
    target: ManuallyDrop<Target>,
}

impl Drop for PyOps {
    fn drop(&mut self) {
        // SAFETY: taken exactly once, here; `self.target` is not used afterwards.
        unsafe { ManuallyDrop::take(&mut self.target) }.release();
    }
}

impl PyOps {
    pub(crate) fn new(target: Target) -> Self {
        PyOps { target: ManuallyDrop::new(target) }
    }

    pub(crate) fn target(&self) -> &Target {
        &self.target
    }
}

#[pymethods]
impl PyOps {
    fn __bool__(&self) -> bool {
        true
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Leaving the `with` block: a `Db` closes; a `Transaction` still open commits, or
    /// rolls back when the block raised.
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        self.target().exit(py, !exc_type.is_none())?;
        Ok(false)
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
        match run(py, || on!(self.target(), |o| o.get(ks)))? {
            Some(v) => Ok(bytes_from_vec(py, v)?.into_any()),
            None => Ok(default.unwrap_or_else(|| py.None().into_bound(py))),
        }
    }

    fn __getitem__<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
        let k = key_arg(key)?;
        let ks = k.as_slice();
        match run(py, || on!(self.target(), |o| o.get(ks)))? {
            Some(v) => bytes_from_vec(py, v),
            None => Err(key_missing(key)),
        }
    }

    /// Sets `key` to `value` (bytes-like or str).
    fn put(&self, py: Python<'_>, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let k = key_arg(key)?;
        let v = bytes_like(value, "value")?;
        let (ks, vs) = (k.as_slice(), v.as_slice());
        run(py, || on!(self.target(), |o| o.put(ks, vs)))
    }

    fn __setitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.put(py, key, value)
    }

    /// Deletes `key`; returns whether it existed.
    fn delete(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let k = key_arg(key)?;
        let ks = k.as_slice();
        run(py, || on!(self.target(), |o| o.delete(ks)))
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
        run(py, || on!(self.target(), |o| o.contains(ks)))
    }

    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.contains(py, key)
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(run(py, || on!(self.target(), |o| o.count(b"")))? as usize)
    }

    fn __iter__(&self, py: Python<'_>) -> PyResult<PyKeyIter> {
        self._key_iter(py, None, None, None)
    }

    /// Values of many keys (a list of bytes or None), read from one snapshot.
    fn get_many<'py>(&self, py: Python<'py>, keys: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let keys = key_list(keys)?;
        let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
        let vals = run(py, || on!(self.target(), |o| o.get_many(&refs)))?;
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
        run(py, || on!(self.target(), |o| o.put_many(&refs)))
    }

    /// Whether all the keys have equal values (NotFoundError if one is missing).
    fn eq(&self, py: Python<'_>, keys: &Bound<'_, PyAny>) -> PyResult<bool> {
        let keys = key_list(keys)?;
        let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
        run(py, || on!(self.target(), |o| o.eq(&refs)))
    }

    /// Whether all the keys have pairwise distinct values (NotFoundError if one is missing).
    fn not_eq(&self, py: Python<'_>, keys: &Bound<'_, PyAny>) -> PyResult<bool> {
        let keys = key_list(keys)?;
        let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
        run(py, || on!(self.target(), |o| o.not_eq(&refs)))
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
        let it = run(py, || on!(self.target(), |o| o.scan(ps, sas, limit)))?;
        Ok(PyKvIter::new(it))
    }

    /// Lazy iterator of keys (bytes) starting with `prefix`, in key order (what
    /// `iter()` and the views' iteration run on).
    #[pyo3(signature = (prefix=None, start_after=None, limit=None))]
    fn _key_iter(
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
        let it = run(py, || on!(self.target(), |o| o.keys(ps, sas, limit)))?;
        Ok(PyKeyIter::new(it))
    }

    // -- mapping -------------------------------------------------------------
    // `Db` and `Transaction` are registered as `collections.abc.MutableMapping`
    // (buffdb/_db.py): these are the methods that interface promises beyond the item
    // access above, each one engine call (or one transaction) like the others.

    /// A lazy, set-like view of the keys (a `collections.abc.KeysView` of bytes, in key
    /// order): `len`, `in` and iteration ask the engine each time. `prefix`,
    /// `start_after` and `limit` narrow it as they narrow `scan`.
    #[pyo3(signature = (prefix=None, start_after=None, limit=None))]
    fn keys<'py>(
        slf: &Bound<'py, Self>,
        prefix: Option<&Bound<'py, PyAny>>,
        start_after: Option<&Bound<'py, PyAny>>,
        limit: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        view(slf, intern!(slf.py(), "KeysView"), prefix, start_after, limit)
    }

    /// A lazy view of the values (a `collections.abc.ValuesView` of bytes, in key order);
    /// the arguments are those of `keys`.
    #[pyo3(signature = (prefix=None, start_after=None, limit=None))]
    fn values<'py>(
        slf: &Bound<'py, Self>,
        prefix: Option<&Bound<'py, PyAny>>,
        start_after: Option<&Bound<'py, PyAny>>,
        limit: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        view(slf, intern!(slf.py(), "ValuesView"), prefix, start_after, limit)
    }

    /// A lazy, set-like view of the (key, value) pairs (a `collections.abc.ItemsView`,
    /// in key order); the arguments are those of `keys`.
    #[pyo3(signature = (prefix=None, start_after=None, limit=None))]
    fn items<'py>(
        slf: &Bound<'py, Self>,
        prefix: Option<&Bound<'py, PyAny>>,
        start_after: Option<&Bound<'py, PyAny>>,
        limit: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        view(slf, intern!(slf.py(), "ItemsView"), prefix, start_after, limit)
    }

    /// Removes `key` and returns its value; when it is missing, returns `default`, or
    /// raises NotFoundError (a KeyError) if none is given. Atomic.
    #[pyo3(signature = (key, *default), text_signature = "($self, key, default=..., /)")]
    fn pop<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        default: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let default = one_default(default, "pop")?;
        let k = key_arg(key)?;
        let ks = k.as_slice();
        let got = run(py, || {
            atomic!(self.target(), |o| {
                let v = o.get(ks)?;
                if v.is_some() {
                    o.delete(ks)?;
                }
                Ok(v)
            })
        })?;
        match got {
            Some(v) => Ok(bytes_from_vec(py, v)?.into_any()),
            None => default.ok_or_else(|| key_missing(key)),
        }
    }

    /// Removes the first key (in key order) and returns `(key, value)`; NotFoundError
    /// (a KeyError) when there are no keys. Atomic.
    fn popitem<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let got = run(py, || {
            atomic!(self.target(), |o| match o.scan(b"", None, Some(1))?.next().transpose()? {
                Some((k, v)) => o.delete(&k).map(|_| Some((k, v))),
                None => Ok(None),
            })
        })?;
        let (k, v) = got.ok_or_else(|| to_py_err(engine::Error::new(ErrorCode::NotFound, "popitem(): no keys")))?;
        PyTuple::new(py, [bytes_from_vec(py, k)?, bytes_from_vec(py, v)?])
    }

    /// The value of `key` (bytes); when it is missing, stores `default` under it and
    /// returns `default`. Atomic.
    #[pyo3(signature = (key, default=None))]
    fn setdefault<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let default = default.unwrap_or_else(|| py.None().into_bound(py));
        let k = key_arg(key)?;
        // None cannot be stored: an error only if it would be.
        let d = if default.is_none() { None } else { Some(bytes_like(&default, "value")?) };
        let (ks, ds) = (k.as_slice(), d.as_ref().map(|d| d.as_slice()));
        let got = run(py, || {
            atomic!(self.target(), |o| match (o.get(ks)?, ds) {
                (Some(v), _) => Ok(Ok(v)),
                (None, Some(d)) => o.put(ks, d).map(|()| Err(true)),
                (None, None) => Ok(Err(false)),
            })
        })?;
        match got {
            Ok(v) => Ok(bytes_from_vec(py, v)?.into_any()),
            Err(true) => Ok(default),
            Err(false) => bytes_like(&default, "value").map(|_| default),
        }
    }

    /// Sets every pair of `other` (a mapping or an iterable of (key, value)) and of the
    /// keyword arguments, atomically (as `put_many`).
    #[pyo3(signature = (other=None, /, **kwargs))]
    fn update(
        &self,
        py: Python<'_>,
        other: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let mut pairs = match other {
            Some(o) => pair_list(o)?,
            None => Vec::new(),
        };
        if let Some(kw) = kwargs {
            pairs.extend(pair_list(kw.as_any())?);
        }
        let refs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice())).collect();
        run(py, || on!(self.target(), |o| o.put_many(&refs)))
    }

    /// Deletes every key (blobs and streams stay), atomically.
    fn clear(&self, py: Python<'_>) -> PyResult<()> {
        run(py, || {
            atomic!(self.target(), |o| loop {
                let batch = o.keys(b"", None, Some(CLEAR_BATCH))?.collect::<engine::Result<Vec<_>>>()?;
                if batch.is_empty() {
                    break Ok(());
                }
                for k in &batch {
                    o.delete(k)?;
                }
            })
        })
    }

    /// Number of keys starting with `prefix`.
    #[pyo3(signature = (prefix=None))]
    fn count(&self, py: Python<'_>, prefix: Option<&Bound<'_, PyAny>>) -> PyResult<u64> {
        let p = prefix_arg(prefix)?;
        let ps = p.as_slice();
        run(py, || on!(self.target(), |o| o.count(ps)))
    }

    // -- blobs -------------------------------------------------------------

    /// Stores a new blob from bytes-like data or a readable file object (read in
    /// chunks); returns its id (ids grow and are never reused).
    #[pyo3(signature = (data, metadata=None))]
    fn blob_put(&self, py: Python<'_>, data: &Bound<'_, PyAny>, metadata: Option<&Bound<'_, PyAny>>) -> PyResult<u64> {
        let meta = opt_str(metadata, "metadata")?;
        let m = meta.as_deref();
        match data_arg(data, "data")? {
            Data::Bytes(b) => {
                let s = b.as_slice();
                run(py, || on!(self.target(), |o| o.blob_put(s, m)))
            }
            Data::File(obj, readinto) => {
                run_with_file(py, &obj, readinto, |rd| on!(self.target(), |o| o.blob_put_from(rd, m)))
            }
        }
    }

    /// The blob's bytes, or None if it does not exist.
    fn blob_get<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let id = u64_arg(id, "blob id")?;
        read_whole(py, || match on!(self.target(), |o| o.blob_open(id)) {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(e),
        })
    }

    /// The blob's metadata string (None if it has none); NotFoundError if the blob is missing.
    fn blob_metadata(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
        let id = u64_arg(id, "blob id")?;
        run(py, || on!(self.target(), |o| o.blob_metadata(id)))
    }

    /// BlobInfo of the blob, or None if it does not exist.
    fn blob_info(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<Option<PyBlobInfo>> {
        let id = u64_arg(id, "blob id")?;
        Ok(run(py, || on!(self.target(), |o| o.blob_info(id)))?.map(PyBlobInfo::from))
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
        run(py, || on!(self.target(), |o| o.blob_update(id, ds, m)))
    }

    /// Deletes the blob; returns whether it existed.
    fn blob_delete(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<bool> {
        let id = u64_arg(id, "blob id")?;
        run(py, || on!(self.target(), |o| o.blob_delete(id)))
    }

    /// Opens the blob as a read-only, seekable file object (a `Reader`; NotFoundError
    /// if missing).
    fn blob_open<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = u64_arg(id, "blob id")?;
        let r = run(py, || on!(self.target(), |o| o.blob_open(id)))?;
        reader_object(py, r)
    }

    /// Whether all the blobs have equal contents (NotFoundError if one is missing).
    fn blob_eq(&self, py: Python<'_>, ids: &Bound<'_, PyAny>) -> PyResult<bool> {
        let ids = id_list(ids)?;
        run(py, || on!(self.target(), |o| o.blob_eq(&ids)))
    }

    /// Whether all the blobs have pairwise distinct contents (NotFoundError if one is missing).
    fn blob_not_eq(&self, py: Python<'_>, ids: &Bound<'_, PyAny>) -> PyResult<bool> {
        let ids = id_list(ids)?;
        run(py, || on!(self.target(), |o| o.blob_not_eq(&ids)))
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
        run(py, || on!(self.target(), |o| o.blob_ids(sa, limit)))
    }

    // -- streams -----------------------------------------------------------

    /// Writes a new version of the stream at `path` from bytes-like data or a readable
    /// file object (read in chunks); returns its StreamInfo. `compression` overrides the
    /// database default for this write; `metadata` (a str, as a blob's) is the new
    /// version's metadata.
    #[pyo3(signature = (path, data, *, compression=None, metadata=None))]
    fn stream_write(
        &self,
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        data: &Bound<'_, PyAny>,
        compression: Option<bool>,
        metadata: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyStreamInfo> {
        let path = str_arg(path, "path")?;
        let p = path.as_str();
        let meta = opt_str(metadata, "metadata")?;
        let m = meta.as_deref();
        let info = match (data_arg(data, "data")?, compression) {
            (Data::Bytes(b), None) => {
                let s = b.as_slice();
                run(py, || on!(self.target(), |o| o.stream_write_with_metadata(p, s, m)))?
            }
            (Data::File(obj, readinto), None) if m.is_none() => {
                run_with_file(py, &obj, readinto, |rd| on!(self.target(), |o| o.stream_write_from(p, rd)))?
            }
            // The engine's one-call writes take the database's compression setting (and
            // its write from a reader no metadata); a writer takes this call's.
            (Data::Bytes(b), c) => {
                let s = b.as_slice();
                run(py, || on!(self.target(), |o| via_writer(o, p, c, m, |w| w.write(s))))?
            }
            (Data::File(obj, readinto), c) => run_with_file(py, &obj, readinto, |mut rd| {
                on!(self.target(), |o| {
                    via_writer(o, p, c, m, |w| {
                        let mut buf = vec![0u8; COPY_BUF];
                        loop {
                            let n = io::Read::read(&mut rd, &mut buf)
                                .map_err(|e| engine::Error::new(ErrorCode::Io, e.to_string()))?;
                            if n == 0 {
                                return Ok(());
                            }
                            w.write(&buf[..n])?;
                        }
                    })
                })
            })?,
        };
        Ok(info.into())
    }

    /// A writable file object (a `StreamWriter`) for a new version of `path`: nothing
    /// is visible until `commit()` (in a transaction: until the transaction commits);
    /// as a context manager it commits on success and aborts on an exception.
    /// `compression` overrides the database default; `metadata` is the new version's
    /// (or call the writer's `set_metadata` before committing).
    #[pyo3(signature = (path, *, compression=None, metadata=None))]
    fn stream_writer<'py>(
        &self,
        py: Python<'py>,
        path: &Bound<'py, PyAny>,
        compression: Option<bool>,
        metadata: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let path = str_arg(path, "path")?;
        let p = path.as_str();
        let meta = opt_str(metadata, "metadata")?;
        let m = meta.as_deref();
        let w = run(py, || {
            on!(self.target(), |o| {
                let mut w = o.stream_writer_with(p, compression)?;
                w.set_metadata(m)?;
                Ok(w)
            })
        })?;
        writer_object(py, w, path)
    }

    /// The whole latest version of the stream at `path` (NotFoundError if missing).
    fn stream_read<'py>(&self, py: Python<'py>, path: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
        let path = str_arg(path, "path")?;
        let p = path.as_str();
        let got = read_whole(py, || on!(self.target(), |o| o.stream_open(p, None)).map(Some))?;
        got.ok_or_else(|| to_py_err(engine::Error::new(ErrorCode::NotFound, format!("stream {p:?} not found"))))
    }

    /// Opens the latest (or the given) version of the stream at `path` as a read-only,
    /// seekable file object (a `Reader`; NotFoundError if missing).
    #[pyo3(signature = (path, version=None))]
    fn stream_open<'py>(
        &self,
        py: Python<'py>,
        path: &Bound<'py, PyAny>,
        version: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let path = str_arg(path, "path")?;
        let p = path.as_str();
        let version = opt_u64(version, "version")?;
        let r = run(py, || on!(self.target(), |o| o.stream_open(p, version)))?;
        reader_object(py, r)
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
        let v = run(py, || on!(self.target(), |o| o.stream_read_range(p, offset, length)))?;
        bytes_from_vec(py, v)
    }

    /// StreamInfo of the latest version of `path` (NotFoundError if missing).
    fn stream_stat(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<PyStreamInfo> {
        let path = str_arg(path, "path")?;
        let p = path.as_str();
        Ok(run(py, || on!(self.target(), |o| o.stream_stat(p)))?.into())
    }

    /// Whether a stream exists at `path`.
    fn stream_exists(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<bool> {
        let path = str_arg(path, "path")?;
        let p = path.as_str();
        run(py, || on!(self.target(), |o| o.stream_exists(p)))
    }

    /// StreamInfo of every kept version of `path`, oldest first (empty if none).
    fn stream_versions(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<Vec<PyStreamInfo>> {
        let path = str_arg(path, "path")?;
        let p = path.as_str();
        Ok(run(py, || on!(self.target(), |o| o.stream_versions(p)))?.into_iter().map(Into::into).collect())
    }

    /// Replaces the metadata of the newest version of `path` (None clears it) without
    /// rewriting its bytes; returns that version's StreamInfo (NotFoundError if missing).
    fn stream_set_metadata(
        &self,
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        metadata: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyStreamInfo> {
        let path = str_arg(path, "path")?;
        let p = path.as_str();
        let meta = opt_str(metadata, "metadata")?;
        let m = meta.as_deref();
        Ok(run(py, || on!(self.target(), |o| o.stream_set_metadata(p, m)))?.into())
    }

    /// Deletes the stream (all versions); returns whether it existed.
    fn stream_delete(&self, py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<bool> {
        let path = str_arg(path, "path")?;
        let p = path.as_str();
        run(py, || on!(self.target(), |o| o.stream_delete(p)))
    }

    // -- indexes -----------------------------------------------------------

    /// Creates the index `name` (a plain identifier) over `source` ("kv": values,
    /// "blob": blob metadata, "stream": the metadata of each stream's newest version),
    /// holding the JSON value at `json_path` (e.g. "$.user.email") of each record whose
    /// key or path starts with `key_prefix`; `unique` refuses a second record with the
    /// same value (ConflictError). Builds it over the existing records (on a `Db` in
    /// batches, each a short write) and returns its IndexInfo. A record that is not
    /// JSON, lacks the path or has an array or object there is not in it.
    #[pyo3(signature = (name, source, json_path, unique=false, key_prefix=None))]
    fn create_index(
        &self,
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        source: &Bound<'_, PyAny>,
        json_path: &Bound<'_, PyAny>,
        unique: bool,
        key_prefix: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyIndexInfo> {
        let name = str_arg(name, "name")?;
        let source = str_arg(source, "source")?;
        let json_path = str_arg(json_path, "json_path")?;
        let prefix = opt_bytes(key_prefix, "key_prefix")?;
        let (n, s, j, p) = (name.as_str(), source.as_str(), json_path.as_str(), prefix.as_ref().map(|b| b.as_slice()));
        Ok(run(py, || on!(self.target(), |o| o.create_index(n, s, j, unique, p)))?.into())
    }

    /// Drops the index and its entries; returns whether it existed.
    fn drop_index(&self, py: Python<'_>, name: &Bound<'_, PyAny>) -> PyResult<bool> {
        let name = str_arg(name, "name")?;
        let n = name.as_str();
        run(py, || on!(self.target(), |o| o.drop_index(n)))
    }

    /// Every index (IndexInfo: name, source, json_path, unique, key_prefix, entries), by name.
    fn list_indexes(&self, py: Python<'_>) -> PyResult<Vec<PyIndexInfo>> {
        Ok(run(py, || on!(self.target(), |o| o.list_indexes()))?.into_iter().map(Into::into).collect())
    }

    /// Lazy iterator of the records whose value at the index's path is `value` (None,
    /// bool, int, float or str): keys (bytes), blob ids (int) or stream paths (str), in
    /// record order. NotFoundError for an unknown index.
    fn find(&self, py: Python<'_>, name: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<PyIndexIter> {
        let name = str_arg(name, "name")?;
        let value = json_arg(value)?;
        let (n, v) = (name.as_str(), &value);
        let it = run(py, || on!(self.target(), |o| o.find(n, v)))?;
        Ok(PyIndexIter::new(it, self.target().liveness(), false))
    }

    /// Lazy iterator of `(value, record)` pairs with `low <= value <= high` (None:
    /// unbounded), in index order (by JSON type: null, false, true, numbers, strings;
    /// then by value, then by record), or the reverse; after `start_after` (a pair it
    /// gave: the last of the page before), at most `limit`.
    #[pyo3(signature = (name, low=None, high=None, reverse=false, limit=None, start_after=None))]
    #[allow(clippy::too_many_arguments)]
    fn find_range(
        &self,
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        low: Option<&Bound<'_, PyAny>>,
        high: Option<&Bound<'_, PyAny>>,
        reverse: bool,
        limit: Option<&Bound<'_, PyAny>>,
        start_after: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyIndexIter> {
        let name = str_arg(name, "name")?;
        let bound = |b: Option<&Bound<'_, PyAny>>| b.filter(|b| !b.is_none()).map(json_arg).transpose();
        let (low, high) = (bound(low)?, bound(high)?);
        let limit = opt_usize(limit, "limit")?;
        let after = start_after.filter(|a| !a.is_none()).map(entry_arg).transpose()?;
        let (n, l, h, a) = (name.as_str(), low.as_ref(), high.as_ref(), after.as_ref());
        let it = run(py, || on!(self.target(), |o| o.find_range(n, l, h, reverse, a, limit)))?;
        Ok(PyIndexIter::new(it, self.target().liveness(), true))
    }

    // -- models ------------------------------------------------------------

    /// The model registry on this database or transaction (`Models`, model.rs).
    #[getter]
    fn models(&self) -> PyModels {
        PyModels::new(self.target().share())
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
        let it = run(py, || on!(self.target(), |o| o.search(prefix, sas, limit)))?;
        Ok(PyPathIter::new(it, self.target().liveness()))
    }

    /// Number of stream paths starting with `prefix`.
    #[pyo3(signature = (prefix=None))]
    fn search_count(&self, py: Python<'_>, prefix: Option<&Bound<'_, PyAny>>) -> PyResult<u64> {
        let prefix = opt_str(prefix, "prefix")?.unwrap_or_default();
        let prefix = prefix.as_str();
        run(py, || on!(self.target(), |o| o.search_count(prefix)))
    }

    // -- query -------------------------------------------------------------

    /// Runs a read-only SQL statement over the views kv(key, value),
    /// blobs(id, metadata, size, created) and streams(path, version, size, crc32,
    /// chunk_count, stored_size, created). Writes raise ReadOnlyError. In a
    /// transaction it sees the transaction's writes.
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
        let res = run(py, || on!(self.target(), |o| o.query(s, vs)))?;
        PyQueryResult::new(py, res)
    }
}
