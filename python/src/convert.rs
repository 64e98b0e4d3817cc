//! Python arguments to engine arguments: keys and values (bytes-like), paths and
//! metadata (str), ids and sizes (non-negative int), lists of them, query parameters.
//!
//! The messages name the argument, and bad types raise `TypeError` while bad values
//! raise `InvalidArgumentError`, as in the other bindings.

use buffdb as engine;
use pyo3::exceptions::{PyTypeError, PyUnicodeError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMemoryView, PyString, PyTuple};

use crate::buffers::{pin_writable, Buf, PIN_MIN};
use crate::errors::invalid_arg;

pub(crate) fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

pub(crate) fn str_to_utf8<'py>(s: &Bound<'py, PyString>, what: &str) -> PyResult<Bound<'py, PyBytes>> {
    s.encode_utf8().map_err(|_| invalid_arg(format!("{what} is not valid UTF-8 (lone surrogate)")))
}

/// `bytes`, `str` (UTF-8), `bytearray`, `memoryview` or any object with the buffer protocol.
pub(crate) fn try_bytes_like<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Option<Buf<'py>>> {
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

pub(crate) fn bytes_like<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Buf<'py>> {
    match try_bytes_like(obj, what)? {
        Some(b) => Ok(b),
        None => Err(PyTypeError::new_err(format!(
            "{what} must be bytes, str, bytearray or memoryview, not {}",
            type_name(obj)
        ))),
    }
}

#[inline]
pub(crate) fn key_arg<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Buf<'py>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Buf::Py(b.clone()));
    }
    bytes_like(obj, "key")
}

pub(crate) fn opt_bytes<'py>(obj: Option<&Bound<'py, PyAny>>, what: &str) -> PyResult<Option<Buf<'py>>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => bytes_like(o, what).map(Some),
    }
}

pub(crate) fn prefix_arg<'py>(obj: Option<&Bound<'py, PyAny>>) -> PyResult<Buf<'py>> {
    Ok(opt_bytes(obj, "prefix")?.unwrap_or(Buf::Owned(Vec::new())))
}

pub(crate) fn str_arg(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    match obj.cast::<PyString>() {
        Ok(s) => {
            let b = str_to_utf8(s, what)?;
            // encode_utf8 guarantees valid UTF-8
            Ok(String::from_utf8(b.as_bytes().to_vec()).expect("utf-8"))
        }
        Err(_) => Err(PyTypeError::new_err(format!("{what} must be str, not {}", type_name(obj)))),
    }
}

/// `encryption_key`: a `str` is a passphrase, bytes-like (bytes, bytearray, memoryview)
/// a raw 32-byte key; None is no key.
pub(crate) fn encryption_key_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<engine::EncryptionKey>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else { return Ok(None) };
    let key = if let Ok(s) = obj.cast::<PyString>() {
        let b = str_to_utf8(s, "encryption_key")?;
        engine::EncryptionKey::passphrase(std::str::from_utf8(b.as_bytes()).expect("utf-8"))
    } else {
        match try_bytes_like(obj, "encryption_key")? {
            Some(b) => engine::EncryptionKey::raw(b.as_slice()),
            None => {
                return Err(PyTypeError::new_err(format!(
                    "encryption_key must be str (a passphrase) or bytes (a raw 32-byte key), not {}",
                    type_name(obj)
                )))
            }
        }
    };
    key.map(Some).map_err(crate::errors::to_py_err)
}

/// A database file path: str (encoded like `os.fsencode`, so a name that is not UTF-8
/// round-trips through surrogateescape), bytes or an `os.PathLike` — the OS bytes exactly.
pub(crate) fn db_path_arg(obj: &Bound<'_, PyAny>) -> PyResult<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let py = obj.py();
    let encoded = py.import(intern!(py, "os"))?.call_method1(intern!(py, "fsencode"), (obj,)).map_err(|e| {
        if e.is_instance_of::<PyTypeError>(py) {
            PyTypeError::new_err(format!("path must be str, bytes or os.PathLike, not {}", type_name(obj)))
        } else if e.is_instance_of::<PyUnicodeError>(py) {
            // e.g. a lone surrogate outside surrogateescape's range: no file name has it.
            invalid_arg(format!("path cannot be passed to the file system exactly ({e})"))
        } else {
            e
        }
    })?;
    let b = encoded.cast::<PyBytes>()?;
    Ok(std::path::Path::new(std::ffi::OsStr::from_bytes(b.as_bytes())).to_path_buf())
}

pub(crate) fn opt_str(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<String>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => str_arg(o, what).map(Some),
    }
}

pub(crate) fn u64_arg(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<u64> {
    match obj.extract::<u64>() {
        Ok(v) => Ok(v),
        Err(e) => {
            if obj.is_instance_of::<PyFloat>() {
                return Err(PyTypeError::new_err(format!("{what} must be an int, not float")));
            }
            if let Ok(v) = obj.extract::<i64>() {
                if v < 0 {
                    return Err(invalid_arg(format!("{what} must not be negative (got {v})")));
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

pub(crate) fn opt_u64(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<u64>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => u64_arg(o, what).map(Some),
    }
}

pub(crate) fn opt_usize(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<usize>> {
    Ok(opt_u64(obj, what)?.map(|v| usize::try_from(v).unwrap_or(usize::MAX)))
}

pub(crate) fn id_list(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u64>> {
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err("ids must be an iterable of int"));
    }
    let mut out = Vec::new();
    for item in obj.try_iter()? {
        out.push(u64_arg(&item?, "blob id")?);
    }
    Ok(out)
}

pub(crate) fn key_list<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Vec<Buf<'py>>> {
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err("keys must be an iterable of keys (a single str/bytes is not accepted)"));
    }
    let mut out = Vec::new();
    for item in obj.try_iter()? {
        out.push(key_arg(&item?)?);
    }
    Ok(out)
}

/// `put_many` input: a mapping or an iterable of `(key, value)` pairs.
pub(crate) fn pair_list<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Vec<(Buf<'py>, Buf<'py>)>> {
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
                out.push((key_arg(&t.get_item(0)?)?, bytes_like(&t.get_item(1)?, "value")?));
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
pub(crate) enum MetaArg {
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

/// A `Db.query()` parameter: None, bool, int, float, str or bytes-like.
pub(crate) fn value_arg(obj: &Bound<'_, PyAny>) -> PyResult<engine::Value> {
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

/// A JSON value to look up in an index: None, bool, int, float, str (lists and dicts
/// go to the engine as JSON arrays and objects, which it refuses with its own message).
pub(crate) fn json_arg(obj: &Bound<'_, PyAny>) -> PyResult<engine::JsonValue> {
    if obj.is_none() {
        return Ok(engine::JsonValue::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(engine::JsonValue::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(v) = obj.extract::<i64>() {
            return Ok(v.into());
        }
        if let Ok(v) = obj.extract::<u64>() {
            return Ok(v.into());
        }
        // Past 64 bits: numbers compare as doubles in an index anyway.
        return finite(obj.extract::<f64>()?);
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return finite(f.value());
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(engine::JsonValue::String(str_arg(s.as_any(), "value")?));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return l.iter().map(|v| json_arg(&v)).collect::<PyResult<Vec<_>>>().map(engine::JsonValue::Array);
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let fields = d.iter().map(|(k, v)| Ok((str_arg(&k, "a JSON object's key")?, json_arg(&v)?)));
        return fields.collect::<PyResult<_>>().map(engine::JsonValue::Object);
    }
    Err(PyTypeError::new_err(format!(
        "an index value must be None, bool, int, float or str, not {}",
        type_name(obj)
    )))
}

fn finite(v: f64) -> PyResult<engine::JsonValue> {
    if v.is_finite() {
        Ok(v.into())
    } else {
        Err(invalid_arg(format!("an index value must be a finite number (JSON has no {v})")))
    }
}

/// An index entry's record as a Python object gives it: bytes (a KV key), int (a blob
/// id) or str (a stream path); a str is taken as a stream path.
pub(crate) fn record_arg(obj: &Bound<'_, PyAny>) -> PyResult<engine::Record> {
    if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
        return u64_arg(obj, "blob id").map(engine::Record::Blob);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return str_arg(s.as_any(), "path").map(engine::Record::Path);
    }
    match try_bytes_like(obj, "key")? {
        Some(b) => Ok(engine::Record::Key(b.as_slice().to_vec())),
        None => Err(PyTypeError::new_err(format!(
            "a record must be bytes (a key), int (a blob id) or str (a stream path), not {}",
            type_name(obj)
        ))),
    }
}

/// `find_range(start_after=...)`: a `(value, record)` pair as the iterator gave it.
pub(crate) fn entry_arg(obj: &Bound<'_, PyAny>) -> PyResult<engine::IndexEntry> {
    let t = obj
        .cast::<PyTuple>()
        .ok()
        .filter(|t| t.len() == 2)
        .ok_or_else(|| PyTypeError::new_err("start_after must be a (value, record) pair, as find_range gives them"))?;
    Ok(engine::IndexEntry { value: json_arg(&t.get_item(0)?)?, record: record_arg(&t.get_item(1)?)? })
}
