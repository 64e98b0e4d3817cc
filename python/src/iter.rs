//! Lazy iterators for `scan`, `keys` and `search`: the engine iterator is drained in
//! growing batches (KV scans: the engine's pages, one buffer each), so a large scan
//! neither loads everything at once nor releases the GIL once per item.

use std::collections::VecDeque;

use buffdb as engine;
use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};

use crate::errors::to_py_err;
use crate::gil::lock;
use crate::results::{json_to_py, record_to_py};
use crate::target::Liveness;

const FIRST_BATCH: usize = 64;
const MAX_BATCH: usize = 4096;

type BoxIter<T> = Box<dyn Iterator<Item = engine::Result<T>> + Send>;

/// Pulls items from an engine iterator in batches (one GIL release per batch).
struct Lazy<T> {
    it: Option<BoxIter<T>>,
    buf: VecDeque<T>,
    pending: Option<engine::Error>,
    batch: usize,
    /// Items fetched earlier are not handed out once the source has ended.
    alive: Liveness,
}

impl<T: Send + 'static> Lazy<T> {
    fn new(it: BoxIter<T>, alive: Liveness) -> Self {
        Lazy { it: Some(it), buf: VecDeque::new(), pending: None, batch: FIRST_BATCH, alive }
    }

    fn next(&mut self, py: Python<'_>) -> PyResult<Option<T>> {
        if !self.buf.is_empty() {
            if let Err(e) = self.alive.check() {
                self.buf.clear();
                self.it = None;
                return Err(to_py_err(e));
            }
        }
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

/// An engine scan that hands out whole pages.
trait PageSource: Send {
    fn next_page(&mut self) -> Option<engine::Result<engine::KvPage>>;
    /// `CLOSED` once the database is closed or the transaction has ended.
    fn check_open(&self) -> engine::Result<()>;
}

impl PageSource for engine::KvIter {
    fn next_page(&mut self) -> Option<engine::Result<engine::KvPage>> {
        engine::KvIter::next_page(self)
    }
    fn check_open(&self) -> engine::Result<()> {
        engine::KvIter::check_open(self)
    }
}

impl PageSource for engine::KeyIter {
    fn next_page(&mut self) -> Option<engine::Result<engine::KvPage>> {
        engine::KeyIter::next_page(self)
    }
    fn check_open(&self) -> engine::Result<()> {
        engine::KeyIter::check_open(self)
    }
}

/// Rows served from the engine's pages: one GIL release per page, and each row is
/// copied once, straight from the page into its `bytes`.
struct Pages<I> {
    it: Option<I>,
    page: engine::KvPage,
    pos: usize,
}

impl<I: PageSource> Pages<I> {
    fn new(it: I) -> Self {
        Pages { it: Some(it), page: engine::KvPage::default(), pos: 0 }
    }

    fn next_row<R>(&mut self, py: Python<'_>, f: impl FnOnce(&[u8], &[u8]) -> R) -> PyResult<Option<R>> {
        loop {
            // Rows of a page already fetched are not handed out once the transaction
            // (or database) they come from has ended: CLOSED, as the engine's own
            // iterators do.
            if let (Some(it), true) = (self.it.as_ref(), self.pos < self.page.len()) {
                if let Err(e) = it.check_open() {
                    self.it = None;
                    self.page = engine::KvPage::default();
                    return Err(to_py_err(e));
                }
            }
            if let Some((k, v)) = self.page.get(self.pos) {
                self.pos += 1;
                return Ok(Some(f(k, v)));
            }
            let Some(it) = self.it.as_mut() else { return Ok(None) };
            let next = py.detach(|| engine::catch_panic(|| Ok(it.next_page()))).unwrap_or_else(|e| Some(Err(e)));
            match next {
                Some(Ok(page)) => {
                    self.page = page;
                    self.pos = 0;
                }
                Some(Err(e)) => {
                    self.it = None;
                    return Err(to_py_err(e));
                }
                None => {
                    self.it = None;
                    self.page = engine::KvPage::default();
                    return Ok(None);
                }
            }
        }
    }
}

/// Lazy iterator over `(key, value)` pairs, in key order (from `Db.scan`).
#[pyclass(frozen, module = "buffdb", name = "KvIterator")]
pub struct PyKvIter {
    st: Mutex<Pages<engine::KvIter>>,
}

impl PyKvIter {
    pub(crate) fn new(it: engine::KvIter) -> Self {
        PyKvIter { st: Mutex::new(Pages::new(it)) }
    }
}

#[pymethods]
impl PyKvIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let row = lock(py, &self.st).next_row(py, |k, v| (PyBytes::new(py, k), PyBytes::new(py, v)))?;
        row.map(|(k, v)| PyTuple::new(py, [k, v])).transpose()
    }
}

/// Lazy iterator over keys (bytes), in key order (from `Db.keys` / `iter(db)`).
#[pyclass(frozen, module = "buffdb", name = "KeyIterator")]
pub struct PyKeyIter {
    st: Mutex<Pages<engine::KeyIter>>,
}

impl PyKeyIter {
    pub(crate) fn new(it: engine::KeyIter) -> Self {
        PyKeyIter { st: Mutex::new(Pages::new(it)) }
    }
}

#[pymethods]
impl PyKeyIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        lock(py, &self.st).next_row(py, |k, _| PyBytes::new(py, k))
    }
}

/// Lazy iterator over stream paths (str), in byte order (from `Db.search`).
#[pyclass(frozen, module = "buffdb", name = "PathIterator")]
pub struct PyPathIter {
    st: Mutex<Lazy<String>>,
}

impl PyPathIter {
    pub(crate) fn new(it: impl Iterator<Item = engine::Result<String>> + Send + 'static, alive: Liveness) -> Self {
        PyPathIter { st: Mutex::new(Lazy::new(Box::new(it), alive)) }
    }
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

/// Lazy iterator over the entries of an index, in index order (from `Db.find`:
/// records; from `Db.find_range`: `(value, record)` pairs). A record is bytes (a KV
/// key), int (a blob id) or str (a stream path).
#[pyclass(frozen, module = "buffdb", name = "IndexIterator")]
pub struct PyIndexIter {
    st: Mutex<Lazy<engine::IndexEntry>>,
    /// Whether items are `(value, record)` pairs rather than records.
    pairs: bool,
}

impl PyIndexIter {
    pub(crate) fn new(it: engine::FindIter, alive: Liveness, pairs: bool) -> Self {
        PyIndexIter { st: Mutex::new(Lazy::new(Box::new(it), alive)), pairs }
    }
}

#[pymethods]
impl PyIndexIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(e) = lock(py, &self.st).next(py)? else { return Ok(None) };
        let record = record_to_py(py, &e.record)?;
        if self.pairs {
            Ok(Some(PyTuple::new(py, [json_to_py(py, &e.value)?, record])?.into_any()))
        } else {
            Ok(Some(record))
        }
    }
}
