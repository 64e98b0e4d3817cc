//! Engine errors as Python exceptions.
//!
//! The exception classes live in `buffdb._errors` (Python), so that `NotFoundError`
//! can also be a `KeyError` and `InvalidArgumentError` a `ValueError`; this module
//! only looks them up by error number.

use buffdb as engine;
use buffdb::ErrorCode;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

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

pub(crate) fn to_py_err(e: engine::Error) -> PyErr {
    Python::attach(|py| make_err(py, e.code(), e.message()))
}

pub(crate) trait PyRes<T> {
    fn pyres(self) -> PyResult<T>;
}

impl<T> PyRes<T> for engine::Result<T> {
    #[inline]
    fn pyres(self) -> PyResult<T> {
        self.map_err(to_py_err)
    }
}

pub(crate) fn invalid_arg(msg: impl AsRef<str>) -> PyErr {
    Python::attach(|py| make_err(py, ErrorCode::InvalidArgument, msg.as_ref()))
}

pub(crate) fn closed_err(what: &str) -> engine::Error {
    engine::Error::new(ErrorCode::Closed, format!("{what} is closed"))
}

/// `NotFoundError` (also a `KeyError`) for `obj[key]` / `del obj[key]`.
pub(crate) fn key_missing(key: &Bound<'_, PyAny>) -> PyErr {
    let py = key.py();
    let r = key.repr().map(|r| r.to_string()).unwrap_or_default();
    make_err(py, ErrorCode::NotFound, &format!("key {r} not found"))
}
