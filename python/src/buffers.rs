//! Byte buffers shared with Python: arguments read in place where that saves a copy,
//! results written straight into new `bytes` objects.

use buffdb as engine;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyMemoryView};
use pyo3::{ffi, intern};

use crate::errors::invalid_arg;
use crate::gil::run;

/// Bytes borrowed from an immutable Python `bytes` object, borrowed from a pinned
/// writable buffer, or copied into a `Vec`.
pub(crate) enum Buf<'py> {
    Py(Bound<'py, PyBytes>),
    Pinned(Pinned<'py>),
    Owned(Vec<u8>),
}

impl Buf<'_> {
    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            Buf::Py(b) => b.as_bytes(),
            Buf::Pinned(p) => p.as_slice(),
            Buf::Owned(v) => v,
        }
    }
}

/// Below this size a copy is cheaper than pinning a buffer through ctypes.
pub(crate) const PIN_MIN: usize = 64 * 1024;

/// A writable, C-contiguous Python buffer held exported (so it cannot be resized or
/// freed) for as long as this value lives.
///
/// The limited API of Python 3.9 (abi3) has no `PyObject_GetBuffer`, so the export is
/// taken by `ctypes.c_char.from_buffer`, which checks writability and contiguity.
pub(crate) struct Pinned<'py> {
    _holder: Bound<'py, PyAny>,
    _mv: Bound<'py, PyMemoryView>,
    ptr: usize,
    len: usize,
}

impl Pinned<'_> {
    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: the export held by `_holder` keeps `len` bytes at `ptr` alive.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }

    /// Address of the buffer, for filling it with the GIL released.
    #[inline]
    pub(crate) fn addr(&self) -> usize {
        self.ptr
    }
}

/// Pins a memoryview's writable buffer (which must be non-empty).
pub(crate) fn pin_writable<'py>(mv: &Bound<'py, PyMemoryView>, len: usize) -> PyResult<Pinned<'py>> {
    static C_CHAR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    static ADDRESSOF: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let py = mv.py();
    let c_char = C_CHAR
        .get_or_try_init(py, || -> PyResult<Py<PyAny>> { Ok(py.import("ctypes")?.getattr("c_char")?.unbind()) })?;
    let addressof = ADDRESSOF
        .get_or_try_init(py, || -> PyResult<Py<PyAny>> { Ok(py.import("ctypes")?.getattr("addressof")?.unbind()) })?;
    let holder = c_char.bind(py).call_method1(intern!(py, "from_buffer"), (mv,))?;
    let ptr: usize = addressof.bind(py).call1((&holder,))?.extract()?;
    Ok(Pinned { _holder: holder, _mv: mv.clone(), ptr, len })
}

/// A new `bytes` object of `n` bytes filled by `fill` with the GIL released (the
/// buffer is zeroed first, also without the GIL). `fill` returns how many bytes it
/// wrote; a short fill gives a shorter object.
pub(crate) fn new_bytes<'py, F>(py: Python<'py>, n: usize, fill: F) -> PyResult<Bound<'py, PyBytes>>
where
    F: FnOnce(&mut [u8]) -> engine::Result<usize> + Send,
{
    if n < PIN_MIN {
        let mut got = 0;
        let b = PyBytes::new_with(py, n, |buf| {
            got = run(py, || fill(buf))?;
            Ok(())
        })?;
        return if got < n { Ok(PyBytes::new(py, &b.as_bytes()[..got])) } else { Ok(b) };
    }
    let len = ffi::Py_ssize_t::try_from(n).map_err(|_| invalid_arg("size too large"))?;
    // SAFETY: a fresh bytes object that nobody else can see yet; its n bytes are
    // initialised (zeroed) before a slice is made of them.
    unsafe {
        let obj = Bound::from_owned_ptr_or_err(py, ffi::PyBytes_FromStringAndSize(std::ptr::null(), len))?;
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
pub(crate) fn bytes_from_vec<'py>(py: Python<'py>, v: Vec<u8>) -> PyResult<Bound<'py, PyBytes>> {
    if v.len() < PIN_MIN {
        return Ok(PyBytes::new(py, &v));
    }
    let n = v.len();
    new_bytes(py, n, move |buf| {
        buf.copy_from_slice(&v);
        Ok(n)
    })
}
