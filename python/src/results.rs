//! Result objects: frozen snapshots of what the engine returned, with repr, equality
//! and (for the info classes) `to_dict()`.

use buffdb as engine;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyList, PyString, PyTuple};

/// An optional string in a repr: `None`, or the string quoted as the other fields are.
struct OptRepr<'a>(&'a Option<String>);

impl std::fmt::Display for OptRepr<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(s) => write!(f, "{s:?}"),
            None => f.write_str("None"),
        }
    }
}

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
    /// The version's metadata string, or None.
    metadata: Option<String>,
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
            metadata: i.metadata,
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
        d.set_item("metadata", &self.metadata)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "StreamInfo(path={:?}, version={}, size={}, crc32={:#010x}, chunk_count={}, chunk_size={}, stored_size={}, created_ms={}, metadata={})",
            self.path, self.version, self.size, self.crc32, self.chunk_count, self.chunk_size,
            self.stored_size, self.created_ms, OptRepr(&self.metadata)
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

impl From<engine::BlobInfo> for PyBlobInfo {
    fn from(i: engine::BlobInfo) -> Self {
        PyBlobInfo {
            id: i.id,
            size: i.size,
            metadata: i.metadata,
            crc32: i.crc32,
            chunk_count: i.chunk_count,
            created_ms: i.created_ms,
        }
    }
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
            "BlobInfo(id={}, size={}, metadata={}, crc32={:#010x}, chunk_count={}, created_ms={})",
            self.id, self.size, OptRepr(&self.metadata), self.crc32, self.chunk_count, self.created_ms
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

impl From<engine::Stats> for PyStats {
    fn from(s: engine::Stats) -> Self {
        PyStats {
            kv_count: s.kv_count,
            blob_count: s.blob_count,
            stream_count: s.stream_count,
            version_count: s.version_count,
            file_size: s.file_size,
            page_size: s.page_size,
            format_version: s.format_version,
        }
    }
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

impl From<engine::CheckReport> for PyCheckReport {
    fn from(c: engine::CheckReport) -> Self {
        PyCheckReport {
            ok: c.ok,
            chunks_checked: c.chunks_checked,
            damaged_streams: c.damaged_streams,
            damaged_blobs: c.damaged_blobs,
            sqlite_errors: c.sqlite_errors,
        }
    }
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

impl PyQueryResult {
    /// Converts the engine's rows to lists of tuples (done with the GIL held).
    pub(crate) fn new(py: Python<'_>, res: engine::QueryResult) -> PyResult<Self> {
        let columns = PyList::new(py, res.columns)?;
        let rows = PyList::empty(py);
        for row in res.rows {
            let cells = row.into_iter().map(|v| value_to_py(py, v)).collect::<PyResult<Vec<_>>>()?;
            rows.append(PyTuple::new(py, cells)?)?;
        }
        Ok(PyQueryResult { columns: columns.unbind(), rows: rows.unbind() })
    }
}

#[pymethods]
impl PyQueryResult {
    fn __len__(&self, py: Python<'_>) -> usize {
        self.rows.bind(py).len()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.rows.bind(py).try_iter()?.into_any())
    }

    fn __getitem__<'py>(&self, py: Python<'py>, i: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        self.rows.bind(py).as_any().get_item(i)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("QueryResult(columns={}, rows={})", self.columns.bind(py).repr()?, self.rows.bind(py).repr()?))
    }
}

/// A query result cell: None, int, float, str or bytes.
fn value_to_py<'py>(py: Python<'py>, v: engine::Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        engine::Value::Null => py.None().into_bound(py),
        engine::Value::Integer(i) => i.into_pyobject(py)?.into_any(),
        engine::Value::Real(f) => PyFloat::new(py, f).into_any(),
        engine::Value::Text(s) => PyString::new(py, &s).into_any(),
        engine::Value::Blob(b) => PyBytes::new(py, &b).into_any(),
    })
}

/// An index, as `list_indexes()` shows it.
#[pyclass(frozen, get_all, eq, module = "buffdb", name = "IndexInfo")]
#[derive(Clone, PartialEq)]
pub struct PyIndexInfo {
    /// The index name (a plain identifier).
    name: String,
    /// What it indexes: "kv" (values), "blob" (blob metadata) or "stream" (the
    /// metadata of each stream's newest version).
    source: String,
    /// The JSON path of the indexed value in each record.
    json_path: String,
    /// Whether two records may not have the same value.
    unique: bool,
    /// Only records whose key (or path) starts with it (bytes), or None for all.
    key_prefix: Option<Vec<u8>>,
    /// Number of entries.
    entries: u64,
    /// False while an interrupted build is unfinished (create_index again finishes it).
    ready: bool,
}

impl From<engine::IndexInfo> for PyIndexInfo {
    fn from(i: engine::IndexInfo) -> Self {
        PyIndexInfo {
            name: i.name,
            source: i.source,
            json_path: i.json_path,
            unique: i.unique,
            key_prefix: i.key_prefix,
            entries: i.entries,
            ready: i.ready,
        }
    }
}

#[pymethods]
impl PyIndexInfo {
    /// The fields as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("name", &self.name)?;
        d.set_item("source", &self.source)?;
        d.set_item("json_path", &self.json_path)?;
        d.set_item("unique", self.unique)?;
        d.set_item("key_prefix", self.key_prefix.as_deref().map(|p| PyBytes::new(py, p)))?;
        d.set_item("entries", self.entries)?;
        d.set_item("ready", self.ready)?;
        Ok(d)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let prefix = match &self.key_prefix {
            Some(p) => PyBytes::new(py, p).repr()?.to_string(),
            None => "None".to_string(),
        };
        Ok(format!(
            "IndexInfo(name={:?}, source={:?}, json_path={:?}, unique={}, key_prefix={prefix}, entries={}, ready={})",
            self.name,
            self.source,
            self.json_path,
            if self.unique { "True" } else { "False" },
            self.entries,
            if self.ready { "True" } else { "False" }
        ))
    }
}

/// An indexed JSON value: None, bool, int, float or str.
pub(crate) fn json_to_py<'py>(py: Python<'py>, v: &engine::JsonValue) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        engine::JsonValue::Null => py.None().into_bound(py),
        engine::JsonValue::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        engine::JsonValue::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any(),
        },
        engine::JsonValue::String(s) => PyString::new(py, s).into_any(),
        // Never in an index; shown as JSON text rather than refused.
        other => PyString::new(py, &other.to_string()).into_any(),
    })
}

/// An index entry's record: bytes (a KV key), int (a blob id) or str (a stream path).
pub(crate) fn record_to_py<'py>(py: Python<'py>, r: &engine::Record) -> PyResult<Bound<'py, PyAny>> {
    Ok(match r {
        engine::Record::Key(k) => PyBytes::new(py, k).into_any(),
        engine::Record::Blob(id) => id.into_pyobject(py)?.into_any(),
        engine::Record::Path(p) => PyString::new(py, p).into_any(),
    })
}
