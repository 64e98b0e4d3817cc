//! Python file objects as `std::io::Read`, so `stream_write(path, fileobj)` and
//! `blob_put(fileobj)` stream the data in chunks instead of reading it all first.

use std::io;

use buffdb as engine;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;
use pyo3::{ffi, intern};

use crate::buffers::Buf;
use crate::convert::{bytes_like, try_bytes_like, type_name};
use crate::errors::to_py_err;

/// `PyBUF_WRITE` (stable ABI since 3.3; pyo3-ffi only exposes it for 3.11+ under abi3).
const PYBUF_WRITE: std::os::raw::c_int = 0x200;

/// Reads from a Python file object. Called by the engine with the GIL released; it
/// attaches for each call. `readinto` fills the engine's buffer directly.
pub(crate) struct PyRead<'a> {
    pub(crate) obj: &'a Py<PyAny>,
    pub(crate) readinto: bool,
    /// The Python exception behind the last `io::Error`, to re-raise as is.
    pub(crate) err: &'a mut Option<PyErr>,
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
                    return Err(PyValueError::new_err("readinto returned more bytes than asked"));
                }
                Ok(n)
            } else {
                let data = obj.call_method1(intern!(py, "read"), (buf.len(),))?;
                if data.is_none() {
                    return Err(PyValueError::new_err(
                        "file object returned None from read (non-blocking files are not supported)",
                    ));
                }
                // A text-mode file gives str: its characters are not the file's bytes.
                if data.is_instance_of::<PyString>() {
                    return Err(PyTypeError::new_err(
                        "the file object's read() returned str, not bytes: open the file in binary mode ('rb')",
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
pub(crate) enum Data<'py> {
    Bytes(Buf<'py>),
    File(Py<PyAny>, bool),
}

pub(crate) fn data_arg<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Data<'py>> {
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
pub(crate) fn run_with_file<T, F>(py: Python<'_>, obj: &Py<PyAny>, readinto: bool, f: F) -> PyResult<T>
where
    F: FnOnce(PyRead<'_>) -> engine::Result<T> + Send,
    T: Send,
{
    let mut err: Option<PyErr> = None;
    let res = {
        let reader = PyRead { obj, readinto, err: &mut err };
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
