//! Python bindings for the BuffDB engine (`import buffdb`).
//!
//! This crate is deliberately thin: every method converts its arguments, calls the
//! engine with the GIL released (`py.detach`) and inside `buffdb::catch_panic`, and
//! converts the result or the error back. The pure-Python package `buffdb/` adds
//! the exception classes, the `io.RawIOBase` reader/writer classes and `open()`.

use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;

use buffdb as engine;
use buffdb::ErrorCode;
use parking_lot::{Mutex, MutexGuard};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMemoryView, PyString, PyTuple,
};
use pyo3::{ffi, intern};

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// `buffdb._errors._BY_NUMBER`: error number -> exception class (defined in Python so
/// that `NotFoundError` can also be a `KeyError`, `InvalidArgumentError` a `ValueError`).
static ERROR_CLASSES: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

fn make_err(py: Python<'_>, code: ErrorCode, message: &str) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let classes = ERROR_CLASSES.get_or_try_init(py, || -> PyResult<Py<PyDict>> {
            let m = py.import("buffdb._errors")?;
            Ok(m.getattr("_BY_NUMBER")?.cast_into::<PyDict>()?.unbind())
        })?;
        let classes = classes.bind(py);
        let cls = match classes.get_item(code.as_i32())? {
            Some(c) => c,
            None => classes
                .get_item(ErrorCode::Internal.as_i32())?
                .ok_or_else(|| PyValueError::new_err("buffdb._errors is incomplete"))?,
        };
        Ok(PyErr::from_value(cls.call1((message,))?))
    };
    match build() {
        Ok(e) => e,
        Err(e) => e,
    }
}

fn to_py_err(e: engine::Error) -> PyErr {
    Python::attach(|py| make_err(py, e.code(), e.message()))
}

trait PyRes<T> {
    fn pyres(self) -> PyResult<T>;
}

impl<T> PyRes<T> for engine::Result<T> {
    #[inline]
    fn pyres(self) -> PyResult<T> {
        self.map_err(to_py_err)
    }
}

fn invalid_arg(msg: impl AsRef<str>) -> PyErr {
    Python::attach(|py| make_err(py, ErrorCode::InvalidArgument, msg.as_ref()))
}

fn closed_err(what: &str) -> engine::Error {
    engine::Error::new(ErrorCode::Closed, format!("{what} is closed"))
}

/// Runs an engine call with the GIL released and panics turned into `INTERNAL`.
#[inline]
fn run<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    F: FnOnce() -> engine::Result<T> + Send,
    T: Send,
{
    py.detach(|| engine::catch_panic(f)).pyres()
}

/// Locks a mutex; if another thread holds it, waits with the GIL released.
#[inline]
fn lock<'a, T: Send>(py: Python<'_>, m: &'a Mutex<T>) -> MutexGuard<'a, T> {
    match m.try_lock() {
        Some(g) => g,
        None => py.detach(|| m.lock()),
    }
}

/// Runs `f` (a drop that may touch the disk: rollback, abort, closing connections)
/// with the GIL released, unless the interpreter is shutting down.
fn without_gil<F: FnOnce() + Send>(f: F) {
    Python::attach(|py| {
        let finalizing = py
            .import("sys")
            .and_then(|sys| sys.call_method0("is_finalizing"))
            .and_then(|r| r.is_truthy())
            .unwrap_or(true);
        if finalizing {
            f()
        } else {
            py.detach(f)
        }
    })
}

// ---------------------------------------------------------------------------
// Argument conversion
// ---------------------------------------------------------------------------

/// Bytes borrowed from an immutable Python `bytes` object, borrowed from a pinned
/// writable buffer, or copied into a `Vec`.
enum Buf<'py> {
    Py(Bound<'py, PyBytes>),
    Pinned(Pinned<'py>),
    Owned(Vec<u8>),
}

impl Buf<'_> {
    #[inline]
    fn as_slice(&self) -> &[u8] {
        match self {
            Buf::Py(b) => b.as_bytes(),
            Buf::Pinned(p) => p.as_slice(),
            Buf::Owned(v) => v,
        }
    }
}

/// Below this size a copy is cheaper than pinning a buffer through ctypes.
const PIN_MIN: usize = 64 * 1024;

/// A writable, C-contiguous Python buffer held exported (so it cannot be resized or
/// freed) for as long as this value lives.
///
/// The limited API of Python 3.9 (abi3) has no `PyObject_GetBuffer`, so the export is
/// taken by `ctypes.c_char.from_buffer`, which checks writability and contiguity.
struct Pinned<'py> {
    _holder: Bound<'py, PyAny>,
    _mv: Bound<'py, PyMemoryView>,
    ptr: usize,
    len: usize,
}

impl Pinned<'_> {
    #[inline]
    fn as_slice(&self) -> &[u8] {
        // SAFETY: the export held by `_holder` keeps `len` bytes at `ptr` alive.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }

    /// Address of the buffer, for filling it with the GIL released.
    #[inline]
    fn addr(&self) -> usize {
        self.ptr
    }
}

/// Pins a memoryview's writable buffer (which must be non-empty).
fn pin_writable<'py>(mv: &Bound<'py, PyMemoryView>, len: usize) -> PyResult<Pinned<'py>> {
    static C_CHAR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    static ADDRESSOF: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let py = mv.py();
    let c_char = C_CHAR.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("ctypes")?.getattr("c_char")?.unbind())
    })?;
    let addressof = ADDRESSOF.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("ctypes")?.getattr("addressof")?.unbind())
    })?;
    let holder = c_char
        .bind(py)
        .call_method1(intern!(py, "from_buffer"), (mv,))?;
    let ptr: usize = addressof.bind(py).call1((&holder,))?.extract()?;
    Ok(Pinned {
        _holder: holder,
        _mv: mv.clone(),
        ptr,
        len,
    })
}

/// A new `bytes` object of `n` bytes filled by `fill` with the GIL released (the
/// buffer is zeroed first, also without the GIL). `fill` returns how many bytes it
/// wrote; a short fill gives a shorter object.
fn new_bytes<'py, F>(py: Python<'py>, n: usize, fill: F) -> PyResult<Bound<'py, PyBytes>>
where
    F: FnOnce(&mut [u8]) -> engine::Result<usize> + Send,
{
    if n < PIN_MIN {
        let mut got = 0;
        let b = PyBytes::new_with(py, n, |buf| {
            got = run(py, || fill(buf))?;
            Ok(())
        })?;
        return if got < n {
            Ok(PyBytes::new(py, &b.as_bytes()[..got]))
        } else {
            Ok(b)
        };
    }
    let len = ffi::Py_ssize_t::try_from(n).map_err(|_| invalid_arg("size too large"))?;
    // SAFETY: a fresh bytes object that nobody else can see yet; its n bytes are
    // initialised (zeroed) before a slice is made of them.
    unsafe {
        let obj = Bound::from_owned_ptr_or_err(
            py,
            ffi::PyBytes_FromStringAndSize(std::ptr::null(), len),
        )?;
        let addr = ffi::PyBytes_AsString(obj.as_ptr()) as usize;
        let got = run(py, move || {
            std::ptr::write_bytes(addr as *mut u8, 0, n);
            fill(std::slice::from_raw_parts_mut(addr as *mut u8, n))
        })?;
        let b = obj.cast_into_unchecked::<PyBytes>();
        if got < n {
            return Ok(PyBytes::new(py, &b.as_bytes()[..got]));
        }
        Ok(b)
    }
}

/// `bytes` from engine-owned data; large values are copied with the GIL released.
fn bytes_from_vec<'py>(py: Python<'py>, v: Vec<u8>) -> PyResult<Bound<'py, PyBytes>> {
    if v.len() < PIN_MIN {
        return Ok(PyBytes::new(py, &v));
    }
    let n = v.len();
    new_bytes(py, n, move |buf| {
        buf.copy_from_slice(&v);
        Ok(n)
    })
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

fn str_to_utf8<'py>(s: &Bound<'py, PyString>, what: &str) -> PyResult<Bound<'py, PyBytes>> {
    s.encode_utf8()
        .map_err(|_| invalid_arg(format!("{what} is not valid UTF-8 (lone surrogate)")))
}

/// `bytes`, `str` (UTF-8), `bytearray`, `memoryview` or any object with the buffer protocol.
fn try_bytes_like<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Option<Buf<'py>>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Some(Buf::Py(b.clone())));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Some(Buf::Py(str_to_utf8(s, what)?)));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        if b.len() < PIN_MIN {
            return Ok(Some(Buf::Owned(b.to_vec())));
        }
    }
    if obj.is_instance_of::<PyInt>() || obj.is_none() {
        return Ok(None);
    }
    // Any other buffer (bytearray, memoryview, array.array, numpy arrays, mmap): large
    // writable ones are read in place (pinned), the rest copied once.
    let py = obj.py();
    match PyMemoryView::from(obj) {
        Ok(mv) => {
            let nbytes: usize = mv.getattr(intern!(py, "nbytes"))?.extract()?;
            if nbytes >= PIN_MIN
                && !mv.getattr(intern!(py, "readonly"))?.is_truthy()?
                && mv.getattr(intern!(py, "c_contiguous"))?.is_truthy()?
            {
                if let Ok(p) = pin_writable(&mv, nbytes) {
                    return Ok(Some(Buf::Pinned(p)));
                }
            }
            let b = mv.call_method0(intern!(py, "tobytes"))?;
            Ok(Some(Buf::Py(b.cast_into::<PyBytes>()?)))
        }
        Err(_) => Ok(None),
    }
}

fn bytes_like<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Buf<'py>> {
    match try_bytes_like(obj, what)? {
        Some(b) => Ok(b),
        None => Err(PyTypeError::new_err(format!(
            "{what} must be bytes, str, bytearray or memoryview, not {}",
            type_name(obj)
        ))),
    }
}

#[inline]
fn key_arg<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Buf<'py>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Buf::Py(b.clone()));
    }
    bytes_like(obj, "key")
}

fn opt_bytes<'py>(obj: Option<&Bound<'py, PyAny>>, what: &str) -> PyResult<Option<Buf<'py>>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => bytes_like(o, what).map(Some),
    }
}

fn prefix_arg<'py>(obj: Option<&Bound<'py, PyAny>>) -> PyResult<Buf<'py>> {
    Ok(opt_bytes(obj, "prefix")?.unwrap_or(Buf::Owned(Vec::new())))
}

fn str_arg(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    match obj.cast::<PyString>() {
        Ok(s) => {
            let b = str_to_utf8(s, what)?;
            // encode_utf8 guarantees valid UTF-8
            Ok(String::from_utf8(b.as_bytes().to_vec()).expect("utf-8"))
        }
        Err(_) => Err(PyTypeError::new_err(format!(
            "{what} must be str, not {}",
            type_name(obj)
        ))),
    }
}

fn opt_str(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<String>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => str_arg(o, what).map(Some),
    }
}

fn u64_arg(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<u64> {
    match obj.extract::<u64>() {
        Ok(v) => Ok(v),
        Err(e) => {
            if obj.is_instance_of::<PyFloat>() {
                return Err(PyTypeError::new_err(format!(
                    "{what} must be an int, not float"
                )));
            }
            if let Ok(v) = obj.extract::<i64>() {
                if v < 0 {
                    return Err(invalid_arg(format!(
                        "{what} must not be negative (got {v})"
                    )));
                }
            }
            if obj.is_instance_of::<PyInt>() {
                let neg = obj.lt(0).unwrap_or(false);
                return Err(invalid_arg(if neg {
                    format!("{what} must not be negative")
                } else {
                    format!("{what} is too large")
                }));
            }
            Err(e)
        }
    }
}

fn opt_u64(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<u64>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => u64_arg(o, what).map(Some),
    }
}

fn opt_usize(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<usize>> {
    Ok(opt_u64(obj, what)?.map(|v| usize::try_from(v).unwrap_or(usize::MAX)))
}

fn id_list(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u64>> {
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err("ids must be an iterable of int"));
    }
    let mut out = Vec::new();
    for item in obj.try_iter()? {
        out.push(u64_arg(&item?, "blob id")?);
    }
    Ok(out)
}

fn key_list<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Vec<Buf<'py>>> {
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(
            "keys must be an iterable of keys (a single str/bytes is not accepted)",
        ));
    }
    let mut out = Vec::new();
    for item in obj.try_iter()? {
        out.push(key_arg(&item?)?);
    }
    Ok(out)
}

/// `put_many` input: a mapping or an iterable of `(key, value)` pairs.
fn pair_list<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Vec<(Buf<'py>, Buf<'py>)>> {
    let mut out = Vec::new();
    if let Ok(d) = obj.cast::<PyDict>() {
        out.reserve(d.len());
        for (k, v) in d.iter() {
            out.push((key_arg(&k)?, bytes_like(&v, "value")?));
        }
        return Ok(out);
    }
    let iterable = if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        obj.clone()
    } else if obj.hasattr(intern!(obj.py(), "items"))? {
        obj.call_method0(intern!(obj.py(), "items"))? // any other mapping
    } else {
        obj.clone()
    };
    for item in iterable.try_iter()? {
        let item = item?;
        if let Ok(t) = item.cast::<PyTuple>() {
            if t.len() == 2 {
                out.push((
                    key_arg(&t.get_item(0)?)?,
                    bytes_like(&t.get_item(1)?, "value")?,
                ));
                continue;
            }
        }
        let seq: Vec<Bound<'py, PyAny>> = item
            .try_iter()
            .and_then(|it| it.collect::<PyResult<Vec<_>>>())
            .map_err(|_| PyTypeError::new_err("put_many expects (key, value) pairs"))?;
        if seq.len() != 2 {
            return Err(PyTypeError::new_err("put_many expects (key, value) pairs"));
        }
        out.push((key_arg(&seq[0])?, bytes_like(&seq[1], "value")?));
    }
    Ok(out)
}

/// `blob_update(metadata=...)`: not given (keep), `None` (clear) or a str (replace).
enum MetaArg {
    Unset,
    Clear,
    Set(String),
}

impl<'a, 'py> FromPyObject<'a, 'py> for MetaArg {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_none() {
            Ok(MetaArg::Clear)
        } else {
            Ok(MetaArg::Set(str_arg(&obj, "metadata")?))
        }
    }
}

// ---------------------------------------------------------------------------
// File objects as std::io::Read (stream_write(path, fileobj), blob_put(fileobj))
// ---------------------------------------------------------------------------

/// Reads from a Python file object. Called by the engine with the GIL released; it
/// attaches for each call. `readinto` fills the engine's buffer directly.
/// `PyBUF_WRITE` (stable ABI since 3.3; pyo3-ffi only exposes it for 3.11+ under abi3).
const PYBUF_WRITE: std::os::raw::c_int = 0x200;

struct PyRead<'a> {
    obj: &'a Py<PyAny>,
    readinto: bool,
    err: &'a mut Option<PyErr>,
}

impl io::Read for PyRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let readinto = self.readinto;
        let obj = self.obj;
        let res = Python::attach(|py| -> PyResult<usize> {
            let obj = obj.bind(py);
            if readinto {
                // SAFETY: the memoryview points into `buf`, which outlives it: it is
                // released before this function returns.
                let mv = unsafe {
                    Bound::from_owned_ptr_or_err(
                        py,
                        ffi::PyMemoryView_FromMemory(
                            buf.as_mut_ptr().cast(),
                            buf.len() as ffi::Py_ssize_t,
                            PYBUF_WRITE,
                        ),
                    )?
                };
                let r = obj.call_method1(intern!(py, "readinto"), (&mv,));
                mv.call_method0(intern!(py, "release"))?;
                let r = r?;
                if r.is_none() {
                    return Err(PyValueError::new_err(
                        "file object returned None from readinto (non-blocking files are not supported)",
                    ));
                }
                let n: usize = r.extract()?;
                if n > buf.len() {
                    return Err(PyValueError::new_err(
                        "readinto returned more bytes than asked",
                    ));
                }
                Ok(n)
            } else {
                let data = obj.call_method1(intern!(py, "read"), (buf.len(),))?;
                if data.is_none() {
                    return Err(PyValueError::new_err(
                        "file object returned None from read (non-blocking files are not supported)",
                    ));
                }
                let b = bytes_like(&data, "read() result")?;
                let s = b.as_slice();
                if s.len() > buf.len() {
                    return Err(PyValueError::new_err("read returned more bytes than asked"));
                }
                buf[..s.len()].copy_from_slice(s);
                Ok(s.len())
            }
        });
        res.map_err(|e| {
            *self.err = Some(e);
            io::Error::other("the Python file object raised an exception")
        })
    }
}

/// Data argument of `stream_write` / `blob_put`: bytes-like or a readable file object.
enum Data<'py> {
    Bytes(Buf<'py>),
    File(Py<PyAny>, bool),
}

fn data_arg<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Data<'py>> {
    if let Some(b) = try_bytes_like(obj, what)? {
        return Ok(Data::Bytes(b));
    }
    let py = obj.py();
    if obj.hasattr(intern!(py, "readinto"))? {
        return Ok(Data::File(obj.clone().unbind(), true));
    }
    if obj.hasattr(intern!(py, "read"))? {
        return Ok(Data::File(obj.clone().unbind(), false));
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be bytes-like (bytes, str, bytearray, memoryview) or a readable file object, not {}",
        type_name(obj)
    )))
}

/// Runs an engine call that reads from a Python file object; a Python exception raised
/// by the file object is re-raised as is.
fn run_with_file<T, F>(py: Python<'_>, obj: &Py<PyAny>, readinto: bool, f: F) -> PyResult<T>
where
    F: FnOnce(PyRead<'_>) -> engine::Result<T> + Send,
    T: Send,
{
    let mut err: Option<PyErr> = None;
    let res = {
        let reader = PyRead {
            obj,
            readinto,
            err: &mut err,
        };
        py.detach(|| engine::catch_panic(|| f(reader)))
    };
    match res {
        Ok(v) => Ok(v),
        Err(e) => match err {
            Some(pe) => Err(pe),
            None => Err(to_py_err(e)),
        },
    }
}

// ---------------------------------------------------------------------------
// Result objects
// ---------------------------------------------------------------------------

/// Information about one version of a path stream.
#[pyclass(frozen, get_all, eq, module = "buffdb", name = "StreamInfo")]
#[derive(Clone, PartialEq)]
pub struct PyStreamInfo {
    /// The stream path.
    path: String,
    /// Version number (grows by one on every write of the path).
    version: u64,
    /// Size of the document in bytes.
    size: u64,
    /// IEEE CRC-32 of the whole document's raw bytes.
    crc32: u32,
    /// Number of chunks.
    chunk_count: u64,
    /// Chunk size used when the version was written.
    chunk_size: u64,
    /// Bytes stored on disk (after compression).
    stored_size: u64,
    /// Creation time, milliseconds since the Unix epoch.
    created_ms: i64,
}

impl From<engine::StreamInfo> for PyStreamInfo {
    fn from(i: engine::StreamInfo) -> Self {
        PyStreamInfo {
            path: i.path,
            version: i.version,
            size: i.size,
            crc32: i.crc32,
            chunk_count: i.chunk_count,
            chunk_size: i.chunk_size,
            stored_size: i.stored_size,
            created_ms: i.created_ms,
        }
    }
}

#[pymethods]
impl PyStreamInfo {
    /// The fields as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("path", &self.path)?;
        d.set_item("version", self.version)?;
        d.set_item("size", self.size)?;
        d.set_item("crc32", self.crc32)?;
        d.set_item("chunk_count", self.chunk_count)?;
        d.set_item("chunk_size", self.chunk_size)?;
        d.set_item("stored_size", self.stored_size)?;
        d.set_item("created_ms", self.created_ms)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "StreamInfo(path={:?}, version={}, size={}, crc32={:#010x}, chunk_count={}, chunk_size={}, stored_size={}, created_ms={})",
            self.path, self.version, self.size, self.crc32, self.chunk_count, self.chunk_size,
            self.stored_size, self.created_ms
        )
    }
}

/// Information about a blob.
#[pyclass(frozen, get_all, eq, module = "buffdb", name = "BlobInfo")]
#[derive(Clone, PartialEq)]
pub struct PyBlobInfo {
    /// The blob id.
    id: u64,
    /// Size in bytes.
    size: u64,
    /// The metadata string, or None.
    metadata: Option<String>,
    /// IEEE CRC-32 of the blob's bytes.
    crc32: u32,
    /// Number of chunks.
    chunk_count: u64,
    /// Creation time, milliseconds since the Unix epoch.
    created_ms: i64,
}

#[pymethods]
impl PyBlobInfo {
    /// The fields as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("id", self.id)?;
        d.set_item("size", self.size)?;
        d.set_item("metadata", &self.metadata)?;
        d.set_item("crc32", self.crc32)?;
        d.set_item("chunk_count", self.chunk_count)?;
        d.set_item("created_ms", self.created_ms)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "BlobInfo(id={}, size={}, metadata={:?}, crc32={:#010x}, chunk_count={}, created_ms={})",
            self.id, self.size, self.metadata, self.crc32, self.chunk_count, self.created_ms
        )
    }
}

/// Database statistics (see `Db.stats()`).
#[pyclass(frozen, get_all, eq, module = "buffdb", name = "Stats")]
#[derive(Clone, PartialEq)]
pub struct PyStats {
    /// Number of KV entries.
    kv_count: u64,
    /// Number of blobs.
    blob_count: u64,
    /// Number of stream paths.
    stream_count: u64,
    /// Number of stored stream versions.
    version_count: u64,
    /// Size of the database file in bytes.
    file_size: u64,
    /// SQLite page size.
    page_size: u64,
    /// On-disk format version.
    format_version: u32,
}

#[pymethods]
impl PyStats {
    fn __repr__(&self) -> String {
        format!(
            "Stats(kv_count={}, blob_count={}, stream_count={}, version_count={}, file_size={}, page_size={}, format_version={})",
            self.kv_count, self.blob_count, self.stream_count, self.version_count, self.file_size,
            self.page_size, self.format_version
        )
    }
}

/// Result of `Db.check()`: every chunk's CRC verified.
#[pyclass(frozen, get_all, eq, module = "buffdb", name = "CheckReport")]
#[derive(Clone, PartialEq)]
pub struct PyCheckReport {
    /// True if nothing is damaged.
    ok: bool,
    /// Number of chunks verified.
    chunks_checked: u64,
    /// Paths of streams with a damaged chunk.
    damaged_streams: Vec<String>,
    /// Ids of blobs with a damaged chunk.
    damaged_blobs: Vec<u64>,
    /// Problems reported by SQLite's integrity check.
    sqlite_errors: Vec<String>,
}

#[pymethods]
impl PyCheckReport {
    fn __bool__(&self) -> bool {
        self.ok
    }

    fn __repr__(&self) -> String {
        format!(
            "CheckReport(ok={}, chunks_checked={}, damaged_streams={:?}, damaged_blobs={:?}, sqlite_errors={:?})",
            if self.ok { "True" } else { "False" },
            self.chunks_checked,
            self.damaged_streams,
            self.damaged_blobs,
            self.sqlite_errors
        )
    }
}

/// Rows returned by `Db.query()`. Iterating yields the rows (tuples).
#[pyclass(frozen, module = "buffdb", name = "QueryResult")]
pub struct PyQueryResult {
    /// Column names.
    #[pyo3(get)]
    columns: Py<PyList>,
    /// The rows, each a tuple of None / int / float / str / bytes.
    #[pyo3(get)]
    rows: Py<PyList>,
}

#[pymethods]
impl PyQueryResult {
    fn __len__(&self, py: Python<'_>) -> usize {
        self.rows.bind(py).len()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.rows.bind(py).try_iter()?.into_any())
    }

    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        i: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.rows.bind(py).as_any().get_item(i)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "QueryResult(columns={}, rows={})",
            self.columns.bind(py).repr()?,
            self.rows.bind(py).repr()?
        ))
    }
}

fn value_arg(obj: &Bound<'_, PyAny>) -> PyResult<engine::Value> {
    if obj.is_none() {
        return Ok(engine::Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(engine::Value::Integer(b.is_true() as i64));
    }
    if obj.is_instance_of::<PyInt>() {
        return obj
            .extract::<i64>()
            .map(engine::Value::Integer)
            .map_err(|_| invalid_arg("integer parameter does not fit in 64 bits"));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(engine::Value::Real(f.value()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(engine::Value::Text(str_arg(s.as_any(), "parameter")?));
    }
    match try_bytes_like(obj, "parameter")? {
        Some(b) => Ok(engine::Value::Blob(b.as_slice().to_vec())),
        None => Err(PyTypeError::new_err(format!(
            "query parameters must be None, int, float, str or bytes, not {}",
            type_name(obj)
        ))),
    }
}

fn value_to_py<'py>(py: Python<'py>, v: engine::Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        engine::Value::Null => py.None().into_bound(py),
        engine::Value::Integer(i) => i.into_pyobject(py)?.into_any(),
        engine::Value::Real(f) => PyFloat::new(py, f).into_any(),
        engine::Value::Text(s) => PyString::new(py, &s).into_any(),
        engine::Value::Blob(b) => PyBytes::new(py, &b).into_any(),
    })
}

// ---------------------------------------------------------------------------
// Lazy iterators (scan, keys, search)
// ---------------------------------------------------------------------------

const FIRST_BATCH: usize = 64;
const MAX_BATCH: usize = 4096;

type BoxIter<T> = Box<dyn Iterator<Item = engine::Result<T>> + Send>;

/// Pulls items from an engine iterator in batches (one GIL release per batch).
struct Lazy<T> {
    it: Option<BoxIter<T>>,
    buf: VecDeque<T>,
    pending: Option<engine::Error>,
    batch: usize,
}

impl<T: Send + 'static> Lazy<T> {
    fn new(it: BoxIter<T>) -> Self {
        Lazy {
            it: Some(it),
            buf: VecDeque::new(),
            pending: None,
            batch: FIRST_BATCH,
        }
    }

    fn next(&mut self, py: Python<'_>) -> PyResult<Option<T>> {
        if let Some(x) = self.buf.pop_front() {
            return Ok(Some(x));
        }
        if let Some(e) = self.pending.take() {
            return Err(to_py_err(e));
        }
        let Some(it) = self.it.as_mut() else {
            return Ok(None);
        };
        let batch = self.batch;
        self.batch = (batch * 4).min(MAX_BATCH);
        let buf = &mut self.buf;
        let (done, err) = py
            .detach(|| {
                engine::catch_panic(|| {
                    for _ in 0..batch {
                        match it.next() {
                            Some(Ok(x)) => buf.push_back(x),
                            Some(Err(e)) => return Ok((true, Some(e))),
                            None => return Ok((true, None)),
                        }
                    }
                    Ok((false, None))
                })
            })
            .unwrap_or_else(|e| (true, Some(e)));
        if done {
            self.it = None;
        }
        self.pending = err;
        if let Some(x) = self.buf.pop_front() {
            return Ok(Some(x));
        }
        match self.pending.take() {
            Some(e) => Err(to_py_err(e)),
            None => Ok(None),
        }
    }
}

/// Lazy iterator over `(key, value)` pairs, in key order (from `Db.scan`).
#[pyclass(frozen, module = "buffdb", name = "KvIterator")]
pub struct PyKvIter {
    st: Mutex<Lazy<(Vec<u8>, Vec<u8>)>>,
}

#[pymethods]
impl PyKvIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let item = lock(py, &self.st).next(py)?;
        match item {
            Some((k, v)) => Ok(Some(PyTuple::new(
                py,
                [PyBytes::new(py, &k), PyBytes::new(py, &v)],
            )?)),
            None => Ok(None),
        }
    }
}

/// Lazy iterator over keys (bytes), in key order (from `Db.keys` / `iter(db)`).
#[pyclass(frozen, module = "buffdb", name = "KeyIterator")]
pub struct PyKeyIter {
    st: Mutex<Lazy<Vec<u8>>>,
}

#[pymethods]
impl PyKeyIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let item = lock(py, &self.st).next(py)?;
        Ok(item.map(|k| PyBytes::new(py, &k)))
    }
}

/// Lazy iterator over stream paths (str), in byte order (from `Db.search`).
#[pyclass(frozen, module = "buffdb", name = "PathIterator")]
pub struct PyPathIter {
    st: Mutex<Lazy<String>>,
}

#[pymethods]
impl PyPathIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyString>>> {
        let item = lock(py, &self.st).next(py)?;
        Ok(item.map(|p| PyString::new(py, &p)))
    }
}

// ---------------------------------------------------------------------------
// Readers and writers (wrapped by buffdb.Reader / buffdb.StreamWriter in Python)
// ---------------------------------------------------------------------------

/// Reads until `buf` is full or the end is reached.
fn read_full(r: &mut engine::Reader, buf: &mut [u8]) -> engine::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        let n = r.read_into(&mut buf[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got)
}

/// Reads `n` bytes (or to the end) from the reader's position straight into a new
/// `bytes` object: one copy, GIL released during the read.
fn read_bytes<'py>(
    py: Python<'py>,
    r: &mut engine::Reader,
    n: Option<u64>,
) -> PyResult<Bound<'py, PyBytes>> {
    let remaining = r.size().saturating_sub(r.tell());
    let n = n.map_or(remaining, |n| n.min(remaining));
    let n = usize::try_from(n).map_err(|_| invalid_arg("read size too large for this platform"))?;
    new_bytes(py, n, |buf| read_full(r, buf))
}

/// Native reader over a blob or one stream version; use `buffdb.Reader` instead.
#[pyclass(frozen, module = "buffdb._buffdb", name = "NativeReader")]
pub struct PyReader {
    r: Mutex<Option<engine::Reader>>,
    size: u64,
    info: Option<Py<PyStreamInfo>>,
}

impl PyReader {
    fn new(py: Python<'_>, r: engine::Reader) -> PyResult<Self> {
        let info = match r.info() {
            Some(i) => Some(Py::new(py, PyStreamInfo::from(i.clone()))?),
            None => None,
        };
        Ok(PyReader {
            size: r.size(),
            info,
            r: Mutex::new(Some(r)),
        })
    }

    fn with<T, F>(&self, py: Python<'_>, f: F) -> PyResult<T>
    where
        F: FnOnce(&mut engine::Reader) -> engine::Result<T> + Send,
        T: Send,
    {
        run(py, || match self.r.lock().as_mut() {
            Some(r) => f(r),
            None => Err(closed_err("reader")),
        })
    }
}

#[pymethods]
impl PyReader {
    /// Total size in bytes.
    #[getter]
    fn size(&self) -> u64 {
        self.size
    }

    /// StreamInfo of the version being read (None for blobs).
    #[getter]
    fn info(&self, py: Python<'_>) -> Option<Py<PyStreamInfo>> {
        self.info.as_ref().map(|i| i.clone_ref(py))
    }

    /// Whether the reader is closed.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        lock(py, &self.r).is_none()
    }

    /// Reads up to `n` bytes (all remaining if n < 0).
    #[pyo3(signature = (n=-1))]
    fn read<'py>(&self, py: Python<'py>, n: i64) -> PyResult<Bound<'py, PyBytes>> {
        let mut g = lock(py, &self.r);
        let r = g.as_mut().ok_or_else(|| to_py_err(closed_err("reader")))?;
        read_bytes(py, r, if n < 0 { None } else { Some(n as u64) })
    }

    /// Reads into a writable buffer (bytearray, memoryview, array, numpy array, mmap);
    /// returns the number of bytes read (0 at the end). The buffer is filled directly.
    fn readinto(&self, py: Python<'_>, buffer: &Bound<'_, PyAny>) -> PyResult<usize> {
        let mv = PyMemoryView::from(buffer)?;
        let nbytes: usize = mv.getattr(intern!(py, "nbytes"))?.extract()?;
        if mv.getattr(intern!(py, "readonly"))?.is_truthy()? {
            return Err(PyTypeError::new_err(
                "readinto() argument must be a writable buffer",
            ));
        }
        if nbytes == 0 {
            return Ok(0);
        }
        let pinned = match pin_writable(&mv, nbytes) {
            Ok(p) => p,
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyImportError>(py) => {
                // No ctypes in this interpreter: read into bytes, then copy into the buffer.
                let data = {
                    let mut g = lock(py, &self.r);
                    let r = g.as_mut().ok_or_else(|| to_py_err(closed_err("reader")))?;
                    read_bytes(py, r, Some(nbytes as u64))?
                };
                let n = data.as_bytes().len();
                let flat = mv.call_method1(intern!(py, "cast"), ("B",))?;
                flat.set_item(pyo3::types::PySlice::new(py, 0, n as isize, 1), data)?;
                return Ok(n);
            }
            Err(e) => return Err(e),
        };
        let addr = pinned.addr();
        let n = self.with(py, move |r| {
            // SAFETY: `pinned` holds a writable, C-contiguous export of `nbytes` bytes at
            // `addr` until after this call.
            let buf = unsafe { std::slice::from_raw_parts_mut(addr as *mut u8, nbytes) };
            read_full(r, buf)
        })?;
        drop(pinned);
        Ok(n)
    }

    /// Reads up to `n` bytes at `offset` without moving the position.
    fn read_at<'py>(
        &self,
        py: Python<'py>,
        offset: &Bound<'py, PyAny>,
        n: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let offset = u64_arg(offset, "offset")?;
        let n = u64_arg(n, "size")?;
        let n = n.min(self.size.saturating_sub(offset));
        let n = usize::try_from(n).map_err(|_| invalid_arg("size too large"))?;
        let r = &self.r;
        new_bytes(py, n, |buf| match r.lock().as_mut() {
            Some(r) => {
                let mut got = 0;
                while got < buf.len() {
                    let k = r.read_at(offset + got as u64, &mut buf[got..])?;
                    if k == 0 {
                        break;
                    }
                    got += k;
                }
                Ok(got)
            }
            None => Err(closed_err("reader")),
        })
    }

    /// Moves to absolute position `pos` (past the end allowed); returns it.
    fn seek(&self, py: Python<'_>, pos: &Bound<'_, PyAny>) -> PyResult<u64> {
        let pos = u64_arg(pos, "position")?;
        self.with(py, |r| r.seek_to(pos))
    }

    /// Current position.
    fn tell(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, |r| Ok(r.tell()))
    }

    /// The next chunk from the current position as bytes, or None at the end.
    fn next_chunk<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let chunk = self.with(py, |r| Ok(r.next_chunk()?.map(|c| c.to_vec())))?;
        chunk.map(|c| bytes_from_vec(py, c)).transpose()
    }

    /// Closes the reader (idempotent).
    fn close(&self, py: Python<'_>) {
        let r = lock(py, &self.r).take();
        if let Some(mut r) = r {
            py.detach(move || r.close());
        }
    }
}

/// Native stream writer; use `buffdb.StreamWriter` instead.
#[pyclass(frozen, module = "buffdb._buffdb", name = "NativeWriter")]
pub struct PyWriter {
    w: Mutex<Option<engine::StreamWriter>>,
    path: String,
}

impl Drop for PyWriter {
    fn drop(&mut self) {
        if let Some(w) = self.w.get_mut().take() {
            without_gil(move || drop(w.abort()));
        }
    }
}

impl PyWriter {
    fn take(&self, py: Python<'_>) -> PyResult<engine::StreamWriter> {
        lock(py, &self.w)
            .take()
            .ok_or_else(|| to_py_err(closed_err("stream writer")))
    }
}

#[pymethods]
impl PyWriter {
    /// The stream path being written.
    #[getter]
    fn path(&self) -> &str {
        &self.path
    }

    /// Bytes written so far.
    #[getter]
    fn written(&self, py: Python<'_>) -> u64 {
        lock(py, &self.w).as_ref().map_or(0, |w| w.written())
    }

    /// Whether the writer is finished (committed or aborted).
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        lock(py, &self.w).is_none()
    }

    /// Appends data (bytes-like); returns the number of bytes written.
    fn write(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<usize> {
        let b = bytes_like(data, "data")?;
        let s = b.as_slice();
        let n = s.len();
        run(py, || match self.w.lock().as_mut() {
            Some(w) => w.write(s).map(|_| n),
            None => Err(closed_err("stream writer")),
        })
    }

    /// Makes the new version visible; returns its StreamInfo.
    fn commit(&self, py: Python<'_>) -> PyResult<PyStreamInfo> {
        let w = self.take(py)?;
        run(py, move || w.commit()).map(PyStreamInfo::from)
    }

    /// Discards everything written (idempotent).
    fn abort(&self, py: Python<'_>) -> PyResult<()> {
        let w = lock(py, &self.w).take();
        match w {
            Some(w) => run(py, move || w.abort()),
            None => Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------
// Transaction
// ---------------------------------------------------------------------------

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
        let t = run(py, || {
            self.t
                .lock()
                .take()
                .ok_or_else(|| closed_err("transaction"))
        })?;
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
        format!(
            "<buffdb.Transaction {}>",
            if self.active(py) {
                "active"
            } else {
                "finished"
            }
        )
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

    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let k = key_arg(key)?;
        let ks = k.as_slice();
        match self.with(py, |t| t.get(ks))? {
            Some(v) => bytes_from_vec(py, v),
            None => Err(key_missing(key)),
        }
    }

    /// Sets `key` to `value`.
    fn put(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let k = key_arg(key)?;
        let v = bytes_like(value, "value")?;
        let (ks, vs) = (k.as_slice(), v.as_slice());
        self.with(py, |t| t.put(ks, vs))
    }

    fn __setitem__(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
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
        let refs: Vec<(&[u8], &[u8])> = pairs
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_slice()))
            .collect();
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
        let rows = self.with(py, |t| t.scan(ps, sas, limit))?;
        let list = PyList::empty(py);
        for (k, v) in rows {
            list.append(PyTuple::new(
                py,
                [PyBytes::new(py, &k), PyBytes::new(py, &v)],
            )?)?;
        }
        Ok(list.try_iter()?.into_any())
    }

    /// Stores a new blob (bytes-like or a readable file object); returns its id.
    #[pyo3(signature = (data, metadata=None))]
    fn blob_put(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        metadata: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u64> {
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
                let r = io::Read::read_to_end(
                    &mut PyRead {
                        obj: &obj,
                        readinto,
                        err: &mut err,
                    },
                    &mut v,
                );
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
    fn blob_get<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let id = u64_arg(id, "blob id")?;
        self.with(py, |t| t.blob_get(id))?
            .map(|v| bytes_from_vec(py, v))
            .transpose()
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
    fn stream_write(
        &self,
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        data: &Bound<'_, PyAny>,
    ) -> PyResult<PyStreamInfo> {
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
    fn stream_read<'py>(
        &self,
        py: Python<'py>,
        path: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
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

fn key_missing(key: &Bound<'_, PyAny>) -> PyErr {
    let py = key.py();
    let r = key.repr().map(|r| r.to_string()).unwrap_or_default();
    make_err(py, ErrorCode::NotFound, &format!("key {r} not found"))
}

// ---------------------------------------------------------------------------
// Db
// ---------------------------------------------------------------------------

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
        let path: PathBuf = if let Ok(s) = path.cast::<PyString>() {
            PathBuf::from(str_arg(s.as_any(), "path")?)
        } else {
            path.extract::<PathBuf>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "path must be str or os.PathLike, not {}",
                    type_name(path)
                ))
            })?
        };
        let mut o = engine::OpenOptions {
            create,
            read_only,
            compression,
            verify_checksums,
            ..Default::default()
        };
        if let Some(d) = opt_str(durability, "durability")? {
            o.durability = d.parse::<engine::Durability>().pyres()?;
        }
        if let Some(v) = opt_usize(chunk_size, "chunk_size")? {
            o.chunk_size = v;
        }
        if let Some(v) = opt_u64(versions_to_keep, "versions_to_keep")? {
            o.versions_to_keep =
                u32::try_from(v).map_err(|_| invalid_arg("versions_to_keep is too large"))?;
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
            o.page_size = u32::try_from(v).map_err(|_| PyValueError::new_err("page_size is too large"))?;
        }
        let db = run(py, move || engine::Db::open(&path, o))?;
        Ok(PyDb {
            db: std::mem::ManuallyDrop::new(db),
        })
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
        let s = run(py, || self.db.stats())?;
        Ok(PyStats {
            kv_count: s.kv_count,
            blob_count: s.blob_count,
            stream_count: s.stream_count,
            version_count: s.version_count,
            file_size: s.file_size,
            page_size: s.page_size,
            format_version: s.format_version,
        })
    }

    /// Verifies every chunk's checksum and SQLite's integrity; returns a CheckReport.
    fn check(&self, py: Python<'_>) -> PyResult<PyCheckReport> {
        let c = run(py, || self.db.check())?;
        Ok(PyCheckReport {
            ok: c.ok,
            chunks_checked: c.chunks_checked,
            damaged_streams: c.damaged_streams,
            damaged_blobs: c.damaged_blobs,
            sqlite_errors: c.sqlite_errors,
        })
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
        format!(
            "<buffdb.Db {:?}{}>",
            self.db.path(),
            if self.db.is_closed() { " closed" } else { "" }
        )
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

    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let k = key_arg(key)?;
        let ks = k.as_slice();
        match run(py, || self.db.get(ks))? {
            Some(v) => bytes_from_vec(py, v),
            None => Err(key_missing(key)),
        }
    }

    /// Sets `key` to `value` (bytes-like or str).
    fn put(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let k = key_arg(key)?;
        let v = bytes_like(value, "value")?;
        let (ks, vs) = (k.as_slice(), v.as_slice());
        run(py, || self.db.put(ks, vs))
    }

    fn __setitem__(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
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
    fn get_many<'py>(
        &self,
        py: Python<'py>,
        keys: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
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
        let refs: Vec<(&[u8], &[u8])> = pairs
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_slice()))
            .collect();
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
        Ok(PyKvIter {
            st: Mutex::new(Lazy::new(Box::new(it))),
        })
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
        Ok(PyKeyIter {
            st: Mutex::new(Lazy::new(Box::new(it))),
        })
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
    fn blob_put(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        metadata: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u64> {
        let meta = opt_str(metadata, "metadata")?;
        let m = meta.as_deref();
        match data_arg(data, "data")? {
            Data::Bytes(b) => {
                let s = b.as_slice();
                run(py, || self.db.blob_put(s, m))
            }
            Data::File(obj, readinto) => {
                run_with_file(py, &obj, readinto, |rd| self.db.blob_put_from(rd, m))
            }
        }
    }

    /// The blob's bytes, or None if it does not exist.
    fn blob_get<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
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
        Ok(run(py, || self.db.blob_info(id))?.map(|i| PyBlobInfo {
            id: i.id,
            size: i.size,
            metadata: i.metadata,
            crc32: i.crc32,
            chunk_count: i.chunk_count,
            created_ms: i.created_ms,
        }))
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
    fn stream_writer(
        &self,
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        compression: Option<bool>,
    ) -> PyResult<PyWriter> {
        let path = str_arg(path, "path")?;
        let p = path.as_str();
        let w = run(py, || match compression {
            None => self.db.stream_writer(p),
            Some(c) => self.db.stream_writer_with(p, Some(c)),
        })?;
        Ok(PyWriter {
            w: Mutex::new(Some(w)),
            path,
        })
    }

    /// The whole latest version of the stream at `path` (NotFoundError if missing).
    fn stream_read<'py>(
        &self,
        py: Python<'py>,
        path: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
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
    fn stream_versions(
        &self,
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<PyStreamInfo>> {
        let path = str_arg(path, "path")?;
        let p = path.as_str();
        Ok(run(py, || self.db.stream_versions(p))?
            .into_iter()
            .map(Into::into)
            .collect())
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
        Ok(PyPathIter {
            st: Mutex::new(Lazy::new(Box::new(it))),
        })
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
        Ok(PyTxn {
            t: Mutex::new(Some(t)),
        })
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
        let columns = PyList::new(py, res.columns)?;
        let rows = PyList::empty(py);
        for row in res.rows {
            let cells = row
                .into_iter()
                .map(|v| value_to_py(py, v))
                .collect::<PyResult<Vec<_>>>()?;
            rows.append(PyTuple::new(py, cells)?)?;
        }
        Ok(PyQueryResult {
            columns: columns.unbind(),
            rows: rows.unbind(),
        })
    }
}

// ---------------------------------------------------------------------------
// Module
// ---------------------------------------------------------------------------

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
    let codes = PyList::empty(py);
    for c in ErrorCode::ALL {
        codes.append((c.as_i32(), c.name()))?;
    }
    m.add("ERROR_CODES", codes)?;
    m.add_class::<PyDb>()?;
    m.add_class::<PyTxn>()?;
    m.add_class::<PyReader>()?;
    m.add_class::<PyWriter>()?;
    m.add_class::<PyKvIter>()?;
    m.add_class::<PyKeyIter>()?;
    m.add_class::<PyPathIter>()?;
    m.add_class::<PyStreamInfo>()?;
    m.add_class::<PyBlobInfo>()?;
    m.add_class::<PyStats>()?;
    m.add_class::<PyCheckReport>()?;
    m.add_class::<PyQueryResult>()?;
    Ok(())
}
