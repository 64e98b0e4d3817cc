//! `db.models` (and `tx.models`): the model registry of `buffdb::Models`, one method
//! per engine operation on the `Ops` it came from, so it runs on the database or
//! inside the transaction. Records go out as dicts (the stored JSON, field names as
//! the earlier BuffDB wrote them) and come in as keyword arguments.

use std::io::Read;

use buffdb as engine;
use buffdb::Models as _;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList};

use crate::convert::{json_arg, opt_str, str_arg, type_name};
use crate::errors::{invalid_arg, to_py_err};
use crate::fileobj::{data_arg, Data, PyRead};
use crate::gil::run;
use crate::io::reader_object;
use crate::target::{on, Target};

/// The model registry of a `Db` or `Transaction`: `db.models`.
#[pyclass(frozen, module = "buffdb", name = "Models")]
pub struct PyModels {
    target: Target,
}

impl PyModels {
    pub(crate) fn new(target: Target) -> Self {
        PyModels { target }
    }
}

/// A stored record as a dict (through `json.loads`, so it is exactly the stored JSON).
fn record<'py>(py: Python<'py>, info: &engine::ModelInfo) -> PyResult<Bound<'py, PyAny>> {
    static LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let loads = LOADS.get_or_try_init(py, || -> PyResult<Py<PyAny>> { Ok(py.import("json")?.getattr("loads")?.unbind()) })?;
    loads.bind(py).call1((info.to_json(),))
}

/// A file to write: bytes-like data or a readable file object.
enum Src<'a> {
    Bytes(&'a [u8]),
    File(&'a Py<PyAny>, bool),
}

#[pymethods]
impl PyModels {
    /// Registers version `version` of model `name` with its files, in one transaction:
    /// `files` maps each file name ("config.json", "onnx/model.onnx") to bytes-like
    /// data or a readable binary file object, written to the stream
    /// `/models/{name}/{version}/{file}` with its sha256 and size; `latest` moves to
    /// this version. Other fields of the record (framework, description, input_shape,
    /// output_shape, blob_ids, parameters, created_at) are keyword arguments. Returns
    /// the record as stored; ConflictError when the version exists.
    #[pyo3(signature = (name, version, files=None, **info))]
    fn register<'py>(
        &self,
        py: Python<'py>,
        name: &Bound<'py, PyAny>,
        version: &Bound<'py, PyAny>,
        files: Option<&Bound<'py, PyAny>>,
        info: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut fields = match info {
            Some(d) => match json_arg(d.as_any())? {
                serde_json::Value::Object(m) => m,
                _ => unreachable!("a dict is a JSON object"),
            },
            None => serde_json::Map::new(),
        };
        fields.insert("name".into(), str_arg(name, "name")?.into());
        fields.insert("version".into(), str_arg(version, "version")?.into());
        let info: engine::ModelInfo = serde_json::from_value(serde_json::Value::Object(fields))
            .map_err(|e| invalid_arg(format!("not a model record: {e}")))?;
        let mut data = Vec::new();
        if let Some(files) = files.filter(|f| !f.is_none()) {
            let items = files.call_method0("items").map_err(|_| {
                PyTypeError::new_err(format!("files must be a mapping of file name to data, not {}", type_name(files)))
            })?;
            for item in items.try_iter()? {
                let (k, v): (Bound<'py, PyAny>, Bound<'py, PyAny>) = item?.extract()?;
                data.push((str_arg(&k, "file name")?, data_arg(&v, "file data")?));
            }
        }
        let srcs: Vec<(&str, Src<'_>)> = data
            .iter()
            .map(|(n, d)| {
                (n.as_str(), match d {
                    Data::Bytes(b) => Src::Bytes(b.as_slice()),
                    Data::File(obj, readinto) => Src::File(obj, *readinto),
                })
            })
            .collect();
        // The Python exception a file object raised, to re-raise as is.
        let mut errs: Vec<Option<PyErr>> = srcs.iter().map(|_| None).collect();
        let target = &self.target;
        let res = py.detach(|| {
            engine::catch_panic(|| {
                let mut readers: Vec<(&str, Box<dyn Read + Send + '_>)> = srcs
                    .iter()
                    .zip(errs.iter_mut())
                    .map(|((n, s), err)| -> (&str, Box<dyn Read + Send>) {
                        match s {
                            Src::Bytes(b) => (n, Box::new(*b)),
                            Src::File(obj, readinto) => (n, Box::new(PyRead { obj, readinto: *readinto, err })),
                        }
                    })
                    .collect();
                let mut files: Vec<(&str, &mut dyn Read)> =
                    readers.iter_mut().map(|(n, r)| (*n, &mut **r as &mut dyn Read)).collect();
                on!(target, |o| o.model_register_files(&info, &mut files))
            })
        });
        match res {
            Ok(info) => record(py, &info),
            Err(e) => Err(errs.into_iter().flatten().next().unwrap_or_else(|| to_py_err(e))),
        }
    }

    /// The record (a dict) of `version`, or of the version the alias names ("latest",
    /// "prod"); NotFoundError when neither exists.
    #[pyo3(signature = (name, version="latest"))]
    fn get<'py>(&self, py: Python<'py>, name: &Bound<'py, PyAny>, version: &str) -> PyResult<Bound<'py, PyAny>> {
        let name = str_arg(name, "name")?;
        let n = name.as_str();
        let info = run(py, || on!(&self.target, |o| o.model_get(n, version)))?;
        record(py, &info)
    }

    /// The record of the newest registered version (what "latest" names).
    fn latest<'py>(&self, py: Python<'py>, name: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        self.get(py, name, engine::LATEST)
    }

    /// The version `version` stands for (itself, or what the alias names), or None.
    fn resolve(&self, py: Python<'_>, name: &Bound<'_, PyAny>, version: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
        let (name, version) = (str_arg(name, "name")?, str_arg(version, "version")?);
        let (n, v) = (name.as_str(), version.as_str());
        run(py, || on!(&self.target, |o| o.model_resolve(n, v)))
    }

    /// Names of the registered models, sorted.
    fn names(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        run(py, || on!(&self.target, |o| o.model_names()))
    }

    /// The records (dicts) of a model's versions, oldest first.
    fn versions<'py>(&self, py: Python<'py>, name: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let name = str_arg(name, "name")?;
        let n = name.as_str();
        let all = run(py, || on!(&self.target, |o| o.model_versions(n)))?;
        PyList::new(py, all.iter().map(|i| record(py, i)).collect::<PyResult<Vec<_>>>()?)
    }

    /// Deletes a version (its record, the files it wrote, the aliases naming it;
    /// "latest" moves to the newest left); returns whether it existed.
    fn delete(&self, py: Python<'_>, name: &Bound<'_, PyAny>, version: &Bound<'_, PyAny>) -> PyResult<bool> {
        let (name, version) = (str_arg(name, "name")?, str_arg(version, "version")?);
        let (n, v) = (name.as_str(), version.as_str());
        run(py, || on!(&self.target, |o| o.model_delete(n, v)))
    }

    /// A model's aliases as a dict alias -> version.
    fn aliases<'py>(&self, py: Python<'py>, name: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
        let name = str_arg(name, "name")?;
        let n = name.as_str();
        let all = run(py, || on!(&self.target, |o| o.model_aliases(n)))?;
        let d = PyDict::new(py);
        for (k, v) in all {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// Points `alias` at `version` (which must exist), moving it in one write; None
    /// removes the alias.
    fn set_alias(
        &self,
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        alias: &Bound<'_, PyAny>,
        version: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let (name, alias) = (str_arg(name, "name")?, str_arg(alias, "alias")?);
        let version = opt_str(version, "version")?;
        let (n, a, v) = (name.as_str(), alias.as_str(), version.as_deref());
        run(py, || on!(&self.target, |o| o.model_set_alias(n, a, v)))
    }

    /// Opens one file of a version (or alias) as a read-only, seekable binary file
    /// object (a `Reader`: `seek` + `read` read only the bytes asked for).
    fn open<'py>(
        &self,
        py: Python<'py>,
        name: &Bound<'py, PyAny>,
        version: &Bound<'py, PyAny>,
        file: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (name, version, file) = (str_arg(name, "name")?, str_arg(version, "version")?, str_arg(file, "file")?);
        let (n, v, f) = (name.as_str(), version.as_str(), file.as_str());
        let r = run(py, || on!(&self.target, |o| o.model_open(n, v, f)))?;
        reader_object(py, r)
    }

    fn __repr__(&self) -> &'static str {
        match self.target {
            Target::Db(_) => "<buffdb.Models of a database>",
            Target::Txn(_) => "<buffdb.Models of a transaction>",
        }
    }
}
