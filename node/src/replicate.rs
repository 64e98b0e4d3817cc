//! `replicate`, `restore`, `follow` and `replicaPosition`: thin over the engine's
//! `buffdb::replicate` (Litestream as a supervised child; docs/replication.md), each
//! once, sync and `...Async` (on the libuv pool: starting Litestream and a restore
//! take from a fraction of a second to minutes).

use std::time::Duration;

use buffdb::replicate::{self as engine, Follower, Replication, RestoreOptions};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use parking_lot::Mutex;

use crate::conv::{self, Opts};
use crate::err::{closed, guard, invalid, IntoJs};
use crate::task::{fail, spawn, Job, Out};

/// Where replication stands (`Replication.position()`).
#[napi(object)]
pub struct ReplicationPosition {
  /// Litestream's newest transaction id of the database (its local position).
  pub txid: f64,
  /// The newest transaction id the replica holds.
  pub replicated_txid: f64,
  /// Seconds the replica has been behind the database (0 when it is not).
  pub lag: f64,
  /// Times Litestream was started again after it died.
  pub restarts: f64,
}

/// A running replication: Litestream replicating one database to one replica,
/// started again whenever it dies, until `stop()`.
#[napi(js_name = "Replication")]
pub struct JsReplication {
  inner: Mutex<Option<Replication>>,
}

#[napi]
impl JsReplication {
  /// The database's and the replica's positions and the lag between them (asks
  /// Litestream to sync first). `CLOSED` once stopped.
  #[napi]
  pub fn position(&self) -> crate::err::Result<ReplicationPosition> {
    let p = guard(|| match &*self.inner.lock() {
      Some(r) => r.position(),
      None => Err(closed("the replication is stopped")),
    })?;
    Ok(ReplicationPosition {
      txid: p.txid as f64,
      replicated_txid: p.replicated_txid as f64,
      lag: p.lag.as_secs_f64(),
      restarts: p.restarts as f64,
    })
  }

  /// Litestream's process id (`null` once stopped).
  #[napi(getter)]
  pub fn pid(&self) -> Option<u32> {
    self.inner.lock().as_ref().and_then(Replication::pid)
  }

  /// Stops Litestream with SIGTERM, so it ships what it has not yet, and waits for
  /// it. Idempotent.
  #[napi]
  pub fn stop(&self) -> crate::err::Result<()> {
    let taken = self.inner.lock().take();
    guard(|| taken.map_or(Ok(()), Replication::stop))
  }
}

/// A read replica kept current by `litestream restore -f` until `stop()`. Open the
/// file with `open(path, { readOnly: true })`.
#[napi(js_name = "Follower")]
pub struct JsFollower {
  inner: Mutex<Option<Follower>>,
}

#[napi]
impl JsFollower {
  /// The transaction id the replica file holds now (`null` when none is recorded).
  #[napi]
  pub fn position(&self) -> Option<f64> {
    self.inner.lock().as_ref().and_then(Follower::position).map(|t| t as f64)
  }

  /// Litestream's process id (`null` once stopped).
  #[napi(getter)]
  pub fn pid(&self) -> Option<u32> {
    self.inner.lock().as_ref().and_then(Follower::pid)
  }

  /// Stops following; the file stays as it is. Idempotent.
  #[napi]
  pub fn stop(&self) -> crate::err::Result<()> {
    let taken = self.inner.lock().take();
    guard(|| taken.map_or(Ok(()), Follower::stop))
  }
}

impl From<Replication> for Out {
  fn from(x: Replication) -> Out {
    Out::Handle(Box::new(move |env| unsafe {
      ToNapiValue::to_napi_value(env, JsReplication { inner: Mutex::new(Some(x)) })
    }))
  }
}

impl From<Follower> for Out {
  fn from(x: Follower) -> Out {
    Out::Handle(Box::new(move |env| unsafe {
      ToNapiValue::to_napi_value(env, JsFollower { inner: Mutex::new(Some(x)) })
    }))
  }
}

fn restore_options(options: &Option<Unknown>) -> buffdb::Result<RestoreOptions> {
  let o = Opts::new(options, "options", &["timestamp", "txid", "force"])?;
  Ok(RestoreOptions { timestamp: o.string("timestamp")?, txid: o.uint("txid")?, force: o.bool("force")?.unwrap_or(false) })
}

/// `(force, interval)` of `follow`'s options (`intervalMs`, default 500).
fn follow_options(options: &Option<Unknown>) -> buffdb::Result<(bool, Duration)> {
  let o = Opts::new(options, "options", &["force", "intervalMs"])?;
  let ms = o.uint("intervalMs")?.unwrap_or(500);
  if ms == 0 {
    return Err(invalid("options.intervalMs must be at least 1"));
  }
  Ok((o.bool("force")?.unwrap_or(false), Duration::from_millis(ms)))
}

/// Starts replicating the database file at `path` to `url` (`file:///DIR`,
/// `nats://host:port/BUCKET`, `s3://...`); returns once Litestream has taken it.
#[napi]
pub fn replicate(path: Unknown, url: Unknown) -> crate::err::Result<JsReplication> {
  let path = conv::string(&path, "path").js()?;
  let url = conv::string(&url, "url").js()?;
  let r = guard(|| Replication::start(path.as_ref(), &url))?;
  Ok(JsReplication { inner: Mutex::new(Some(r)) })
}

/// `replicate()` on the libuv pool.
#[napi(ts_return_type = "Promise<Replication>")]
pub fn replicate_async(path: Unknown, url: Unknown) -> AsyncTask<Job> {
  let (path, url) = match (conv::string(&path, "path"), conv::string(&url, "url")) {
    (Ok(p), Ok(u)) => (p, u),
    (Err(e), _) | (_, Err(e)) => return fail(e),
  };
  spawn(move || Replication::start(path.as_ref(), &url))
}

/// Restores the replica at `url` into the file `output`: its newest state, or the
/// state at `options.timestamp` (RFC 3339) or `options.txid`. `output` must not
/// exist unless `options.force`; a failed restore changes nothing.
#[napi]
pub fn restore(url: Unknown, output: Unknown, options: Option<Unknown>) -> crate::err::Result<()> {
  let url = conv::string(&url, "url").js()?;
  let output = conv::string(&output, "output").js()?;
  let opts = restore_options(&options).js()?;
  guard(|| engine::restore(&url, output.as_ref(), &opts))
}

/// `restore()` on the libuv pool.
#[napi(ts_return_type = "Promise<void>")]
pub fn restore_async(url: Unknown, output: Unknown, options: Option<Unknown>) -> AsyncTask<Job> {
  let args = (|| -> buffdb::Result<_> {
    Ok((conv::string(&url, "url")?, conv::string(&output, "output")?, restore_options(&options)?))
  })();
  match args {
    Ok((url, output, opts)) => spawn(move || engine::restore(&url, output.as_ref(), &opts)),
    Err(e) => fail(e),
  }
}

/// Restores `url` into `output` and keeps it current (polling the replica every
/// `options.intervalMs`) until `stop()`; returns once the first restore is in place.
#[napi]
pub fn follow(url: Unknown, output: Unknown, options: Option<Unknown>) -> crate::err::Result<JsFollower> {
  let url = conv::string(&url, "url").js()?;
  let output = conv::string(&output, "output").js()?;
  let (force, interval) = follow_options(&options).js()?;
  let f = guard(|| Follower::start(&url, output.as_ref(), force, interval))?;
  Ok(JsFollower { inner: Mutex::new(Some(f)) })
}

/// `follow()` on the libuv pool.
#[napi(ts_return_type = "Promise<Follower>")]
pub fn follow_async(url: Unknown, output: Unknown, options: Option<Unknown>) -> AsyncTask<Job> {
  let args = (|| -> buffdb::Result<_> {
    Ok((conv::string(&url, "url")?, conv::string(&output, "output")?, follow_options(&options)?))
  })();
  match args {
    Ok((url, output, (force, interval))) => spawn(move || Follower::start(&url, output.as_ref(), force, interval)),
    Err(e) => fail(e),
  }
}

/// The transaction id a read replica file holds (`null` when none is recorded).
#[napi]
pub fn replica_position(path: Unknown) -> crate::err::Result<Option<f64>> {
  let path = conv::string(&path, "path").js()?;
  Ok(engine::replica_position(path.as_ref()).map(|t| t as f64))
}
