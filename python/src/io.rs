//! Native readers and writers, wrapped by the `io.RawIOBase` classes `buffdb.Reader`
//! and `buffdb.StreamWriter` in Python.

use buffdb as engine;
use parking_lot::Mutex;
use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyByteArray, PyByteArrayMethods, PyBytes, PyMemoryView};

use crate::buffers::{bytes_from_vec, new_bytes, pin_writable};
use crate::convert::{bytes_like, opt_str, u64_arg};
use crate::errors::{closed_err, invalid_arg, to_py_err};
use crate::gil::{lock, run, without_gil};
use crate::results::PyStreamInfo;

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
pub(crate) fn read_bytes<'py>(
    py: Python<'py>,
    r: &mut engine::Reader,
    n: Option<u64>,
) -> PyResult<Bound<'py, PyBytes>> {
    let remaining = r.size().saturating_sub(r.tell());
    let n = n.map_or(remaining, |n| n.min(remaining));
    let n = usize::try_from(n).map_err(|_| invalid_arg("read size too large for this platform"))?;
    new_bytes(py, n, |buf| read_full(r, buf))
}

/// Up to this size a whole read is done in the GIL release that opens the reader and
/// copied once more (cheaper at this size than releasing the GIL a second time).
const SMALL_READ: u64 = 8 * 1024;

/// A whole blob or stream version as `bytes`, opened by `open` (`None`: it does not
/// exist). Small ones are read in the same GIL release as the open; larger ones are
/// copied once, straight into the `bytes`.
pub(crate) fn read_whole<'py, F>(py: Python<'py>, open: F) -> PyResult<Option<Bound<'py, PyBytes>>>
where
    F: FnOnce() -> engine::Result<Option<engine::Reader>> + Send,
{
    enum Got {
        Small(Vec<u8>),
        Large(engine::Reader),
    }
    let got = run(py, || {
        let Some(mut r) = open()? else { return Ok(None) };
        if r.size() > SMALL_READ {
            return Ok(Some(Got::Large(r)));
        }
        let mut v = vec![0u8; r.size() as usize];
        let n = read_full(&mut r, &mut v)?;
        v.truncate(n);
        Ok(Some(Got::Small(v)))
    })?;
    match got {
        None => Ok(None),
        Some(Got::Small(v)) => Ok(Some(PyBytes::new(py, &v))),
        Some(Got::Large(mut r)) => read_bytes(py, &mut r, None).map(Some),
    }
}

/// A class of `buffdb._io` (looked up once).
fn io_class<'py>(py: Python<'py>, cell: &'static PyOnceLock<Py<PyAny>>, name: &str) -> PyResult<&'py Bound<'py, PyAny>> {
    Ok(cell.get_or_try_init(py, || -> PyResult<Py<PyAny>> { Ok(py.import("buffdb._io")?.getattr(name)?.unbind()) })?.bind(py))
}

/// A `buffdb.Reader` (the Python file object) over an engine reader.
pub(crate) fn reader_object(py: Python<'_>, r: engine::Reader) -> PyResult<Bound<'_, PyAny>> {
    static READER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let native = Bound::new(py, PyReader::new(py, r)?)?;
    io_class(py, &READER, "Reader")?.call1((native,))
}

/// A `buffdb.StreamWriter` (the Python file object) over an engine stream writer.
pub(crate) fn writer_object(py: Python<'_>, w: engine::StreamWriter, path: String) -> PyResult<Bound<'_, PyAny>> {
    static WRITER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let native = Bound::new(py, PyWriter::new(w, path))?;
    io_class(py, &WRITER, "StreamWriter")?.call1((native,))
}

/// Native reader over a blob or one stream version; use `buffdb.Reader` instead.
#[pyclass(frozen, module = "buffdb._buffdb", name = "NativeReader")]
pub struct PyReader {
    r: Mutex<Option<engine::Reader>>,
    size: u64,
    info: Option<Py<PyStreamInfo>>,
}

impl PyReader {
    pub(crate) fn new(py: Python<'_>, r: engine::Reader) -> PyResult<Self> {
        let info = match r.info() {
            Some(i) => Some(Py::new(py, PyStreamInfo::from(i.clone()))?),
            None => None,
        };
        Ok(PyReader { size: r.size(), info, r: Mutex::new(Some(r)) })
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

    /// Fills the `nbytes` at `addr` from the position, with the GIL released. The
    /// caller holds an export of that memory (writable, C-contiguous) until it returns.
    fn fill(&self, py: Python<'_>, addr: usize, nbytes: usize) -> PyResult<usize> {
        self.with(py, move |r| {
            // SAFETY: the caller's export keeps `nbytes` writable bytes at `addr`.
            let buf = unsafe { std::slice::from_raw_parts_mut(addr as *mut u8, nbytes) };
            read_full(r, buf)
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
        // A bytearray (what io.BufferedReader, shutil and most callers pass) is filled
        // in place without ctypes: the memoryview's export stops it from being resized
        // (or its bytes moved) while the GIL is released.
        if let Ok(ba) = buffer.cast::<PyByteArray>() {
            let nbytes = ba.len();
            if nbytes == 0 {
                return Ok(0);
            }
            let export = PyMemoryView::from(buffer)?;
            let addr = ba.data() as usize;
            let n = self.fill(py, addr, nbytes)?;
            drop(export);
            return Ok(n);
        }
        let mv = PyMemoryView::from(buffer)?;
        let nbytes: usize = mv.getattr(intern!(py, "nbytes"))?.extract()?;
        if mv.getattr(intern!(py, "readonly"))?.is_truthy()? {
            return Err(PyTypeError::new_err("readinto() argument must be a writable buffer"));
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
        let n = self.fill(py, pinned.addr(), nbytes)?;
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
    pub(crate) fn new(w: engine::StreamWriter, path: String) -> Self {
        PyWriter { w: Mutex::new(Some(w)), path }
    }

    fn take(&self, py: Python<'_>) -> PyResult<engine::StreamWriter> {
        lock(py, &self.w).take().ok_or_else(|| to_py_err(closed_err("stream writer")))
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

    /// Sets the metadata (a str, or None for none) the new version gets when committed.
    fn set_metadata(&self, py: Python<'_>, metadata: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let meta = opt_str(metadata, "metadata")?;
        let m = meta.as_deref();
        run(py, || match self.w.lock().as_mut() {
            Some(w) => w.set_metadata(m),
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
