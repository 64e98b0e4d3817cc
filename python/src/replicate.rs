//! `buffdb.replicate`, `buffdb.restore`, `buffdb.follow` and `buffdb.replica_position`:
//! thin over the engine's `buffdb::replicate` (Litestream as a supervised child).

use std::path::PathBuf;
use std::time::Duration;

use buffdb::replicate::{Follower, Replication, RestoreOptions};
use buffdb::replicate as engine;
use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::gil;

/// A running replication (Litestream, restarted when it dies). `stop()` (or leaving
/// the `with` block) stops it with SIGTERM, so the last transactions are shipped.
#[pyclass(module = "buffdb", name = "Replication")]
pub struct PyReplication {
    inner: Mutex<Option<Replication>>,
}

#[pymethods]
impl PyReplication {
    /// `{"txid", "replicated_txid", "lag" (seconds), "restarts"}`.
    fn position<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let p = gil::run(py, || match &*self.inner.lock() {
            Some(r) => r.position(),
            None => Err(crate::errors::closed_err("the replication")),
        })?;
        let d = PyDict::new(py);
        d.set_item("txid", p.txid)?;
        d.set_item("replicated_txid", p.replicated_txid)?;
        d.set_item("lag", p.lag.as_secs_f64())?;
        d.set_item("restarts", p.restarts)?;
        Ok(d)
    }

    /// Litestream's process id (`None` once stopped).
    #[getter]
    fn pid(&self) -> Option<u32> {
        self.inner.lock().as_ref().and_then(Replication::pid)
    }

    /// Stops replicating once Litestream has shipped what it holds. Idempotent.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        let taken = self.inner.lock().take();
        gil::run(py, || taken.map_or(Ok(()), Replication::stop))
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.stop(py)?;
        Ok(false)
    }
}

/// A read replica kept current by Litestream. Open its file with `read_only=True`.
#[pyclass(module = "buffdb", name = "Follower")]
pub struct PyFollower {
    inner: Mutex<Option<Follower>>,
}

#[pymethods]
impl PyFollower {
    /// The transaction id the replica file holds now.
    fn position(&self) -> Option<u64> {
        self.inner.lock().as_ref().and_then(Follower::position)
    }

    /// Stops following; the file stays as it is. Idempotent.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        let taken = self.inner.lock().take();
        gil::run(py, || taken.map_or(Ok(()), Follower::stop))
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.stop(py)?;
        Ok(false)
    }
}

/// Starts replicating the database at `path` to `url` (`nats://host:port/BUCKET`,
/// `file:///dir`, `s3://...`); returns once Litestream has taken it.
#[pyfunction]
pub fn replicate(py: Python<'_>, path: PathBuf, url: String) -> PyResult<PyReplication> {
    let r = gil::run(py, || Replication::start(&path, &url))?;
    Ok(PyReplication { inner: Mutex::new(Some(r)) })
}

/// Restores the replica at `url` into `output` (its newest state, or the state at
/// `timestamp`, RFC 3339, or at `txid`). `output` must not exist unless `force`.
#[pyfunction]
#[pyo3(signature = (url, output, *, timestamp=None, txid=None, force=false))]
pub fn restore(
    py: Python<'_>,
    url: String,
    output: PathBuf,
    timestamp: Option<String>,
    txid: Option<u64>,
    force: bool,
) -> PyResult<()> {
    let opts = RestoreOptions { timestamp, txid, force };
    gil::run(py, || engine::restore(&url, &output, &opts))
}

/// Restores `url` into `output` and keeps it current (polling every `interval`
/// seconds) until `stop()`; returns once the first restore is in place.
#[pyfunction]
#[pyo3(signature = (url, output, *, force=false, interval=0.5))]
pub fn follow(py: Python<'_>, url: String, output: PathBuf, force: bool, interval: f64) -> PyResult<PyFollower> {
    if !(interval > 0.0 && interval.is_finite()) {
        return Err(crate::errors::invalid_arg("interval must be a positive number of seconds"));
    }
    let f = gil::run(py, || Follower::start(&url, &output, force, Duration::from_secs_f64(interval)))?;
    Ok(PyFollower { inner: Mutex::new(Some(f)) })
}

/// The transaction id a read replica file holds (`None` when none is recorded).
#[pyfunction]
pub fn replica_position(path: PathBuf) -> Option<u64> {
    engine::replica_position(&path)
}
