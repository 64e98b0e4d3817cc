//! Lazy iterators for `scan`, `keys` and `search`: the engine iterator is drained in
//! growing batches, so a large scan neither loads everything at once nor releases the
//! GIL once per item.

use std::collections::VecDeque;

use buffdb as engine;
use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};

use crate::errors::to_py_err;
use crate::gil::lock;

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
        Lazy { it: Some(it), buf: VecDeque::new(), pending: None, batch: FIRST_BATCH }
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

impl PyKvIter {
    pub(crate) fn new(it: impl Iterator<Item = engine::Result<(Vec<u8>, Vec<u8>)>> + Send + 'static) -> Self {
        PyKvIter { st: Mutex::new(Lazy::new(Box::new(it))) }
    }
}

#[pymethods]
impl PyKvIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let item = lock(py, &self.st).next(py)?;
        match item {
            Some((k, v)) => Ok(Some(PyTuple::new(py, [PyBytes::new(py, &k), PyBytes::new(py, &v)])?)),
            None => Ok(None),
        }
    }
}

/// Lazy iterator over keys (bytes), in key order (from `Db.keys` / `iter(db)`).
#[pyclass(frozen, module = "buffdb", name = "KeyIterator")]
pub struct PyKeyIter {
    st: Mutex<Lazy<Vec<u8>>>,
}

impl PyKeyIter {
    pub(crate) fn new(it: impl Iterator<Item = engine::Result<Vec<u8>>> + Send + 'static) -> Self {
        PyKeyIter { st: Mutex::new(Lazy::new(Box::new(it))) }
    }
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

impl PyPathIter {
    pub(crate) fn new(it: impl Iterator<Item = engine::Result<String>> + Send + 'static) -> Self {
        PyPathIter { st: Mutex::new(Lazy::new(Box::new(it))) }
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
