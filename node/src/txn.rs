//! `Txn`: one transaction (owns the single writer until commit/rollback).

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use parking_lot::Mutex;

use crate::conv::{self, Bytes};
use crate::conv::{blob_update_args, metadata_arg};
use crate::err::{closed, guard, IntoJs};
use crate::task::{spawn, spawn_pinned, sync, Job, Out};
use crate::try_args;
use crate::conv::JsUnknown;

type Slot = Arc<Mutex<Option<buffdb::Txn>>>;

fn with<T>(slot: &Slot, f: impl FnOnce(&buffdb::Txn) -> buffdb::Result<T>) -> buffdb::Result<T> {
  let g = slot.lock();
  match g.as_ref() {
    Some(t) => f(t),
    None => Err(closed("the transaction has already been committed or rolled back")),
  }
}

fn take(slot: &Slot) -> buffdb::Result<buffdb::Txn> {
  slot
    .lock()
    .take()
    .ok_or_else(|| closed("the transaction has already been committed or rolled back"))
}

/// A transaction. Everything it writes is visible to its own reads and to
/// nobody else until `commit()`; `rollback()` (or an error in
/// `db.transaction(fn)`) discards it.
#[napi(js_name = "Txn")]
pub struct JsTxn {
  slot: Slot,
}

impl JsTxn {
  pub fn new(t: buffdb::Txn) -> JsTxn {
    JsTxn { slot: Arc::new(Mutex::new(Some(t))) }
  }
}

impl From<buffdb::Txn> for Out {
  fn from(x: buffdb::Txn) -> Out {
    // SAFETY: `Out::into_js` calls it on the JS thread with that thread's env.
    Out::Handle(Box::new(move |env| unsafe { ToNapiValue::to_napi_value(env, JsTxn::new(x)) }))
  }
}

#[napi]
impl JsTxn {
  /// False once committed or rolled back.
  #[napi(getter)]
  pub fn active(&self) -> bool {
    self.slot.lock().is_some()
  }

  #[napi]
  pub fn commit(&self) -> crate::err::Result<()> {
    guard(|| take(&self.slot)?.commit())
  }

  #[napi]
  pub fn commit_async(&self) -> AsyncTask<Job> {
    let slot = self.slot.clone();
    spawn(move || take(&slot)?.commit())
  }

  #[napi]
  pub fn rollback(&self) -> crate::err::Result<()> {
    guard(|| take(&self.slot)?.rollback())
  }

  #[napi]
  pub fn rollback_async(&self) -> AsyncTask<Job> {
    let slot = self.slot.clone();
    spawn(move || take(&slot)?.rollback())
  }

  #[napi]
  pub fn get(&self, env: Env, key: Unknown) -> crate::err::Result<JsUnknown> {
    let key = conv::bytes(&key, "key").js()?;
    sync(&env, || with(&self.slot, |t| t.get(key.as_slice())))
  }

  #[napi]
  pub fn get_async(&self, key: Unknown) -> AsyncTask<Job> {
    let key = try_args!(conv::bytes(&key, "key")).into_vec();
    let slot = self.slot.clone();
    spawn(move || with(&slot, |t| t.get(&key)))
  }

  #[napi]
  pub fn put(&self, key: Unknown, value: Unknown) -> crate::err::Result<()> {
    let key = conv::bytes(&key, "key").js()?;
    let value = conv::bytes(&value, "value").js()?;
    guard(|| with(&self.slot, |t| t.put(key.as_slice(), value.as_slice())))
  }

  #[napi]
  pub fn put_async(&self, key: Unknown, value: Unknown) -> AsyncTask<Job> {
    let mut pins = Vec::new();
    let key = try_args!(conv::bytes(&key, "key")).into_vec();
    let value = try_args!(conv::abytes(&value, "value", &mut pins));
    let slot = self.slot.clone();
    spawn_pinned(pins, move || with(&slot, |t| t.put(&key, value.as_slice())))
  }

  #[napi]
  pub fn delete(&self, key: Unknown) -> crate::err::Result<bool> {
    let key = conv::bytes(&key, "key").js()?;
    guard(|| with(&self.slot, |t| t.delete(key.as_slice())))
  }

  #[napi]
  pub fn delete_async(&self, key: Unknown) -> AsyncTask<Job> {
    let key = try_args!(conv::bytes(&key, "key")).into_vec();
    let slot = self.slot.clone();
    spawn(move || with(&slot, |t| t.delete(&key)))
  }

  #[napi]
  pub fn has(&self, key: Unknown) -> crate::err::Result<bool> {
    let key = conv::bytes(&key, "key").js()?;
    guard(|| with(&self.slot, |t| t.contains(key.as_slice())))
  }

  #[napi]
  pub fn has_async(&self, key: Unknown) -> AsyncTask<Job> {
    let key = try_args!(conv::bytes(&key, "key")).into_vec();
    let slot = self.slot.clone();
    spawn(move || with(&slot, |t| t.contains(&key)))
  }

  #[napi]
  pub fn count(&self, prefix: Option<Unknown>) -> crate::err::Result<f64> {
    let prefix = conv::opt_bytes(&prefix, "prefix").js()?.map(Bytes::into_vec).unwrap_or_default();
    guard(|| with(&self.slot, |t| t.count(&prefix))).map(|n| n as f64)
  }

  #[napi]
  pub fn count_async(&self, prefix: Option<Unknown>) -> AsyncTask<Job> {
    let prefix = try_args!(conv::opt_bytes(&prefix, "prefix")).map(Bytes::into_vec).unwrap_or_default();
    let slot = self.slot.clone();
    spawn(move || with(&slot, |t| t.count(&prefix)))
  }

  #[napi(js_name = "_putMany")]
  pub fn put_many(&self, pairs: Unknown) -> crate::err::Result<()> {
    let pairs = conv::pairs(&pairs, "pairs").js()?;
    let pairs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice())).collect();
    guard(|| with(&self.slot, |t| t.put_many(&pairs)))
  }

  #[napi(js_name = "_putManyAsync")]
  pub fn put_many_async(&self, pairs: Unknown) -> AsyncTask<Job> {
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = try_args!(conv::pairs(&pairs, "pairs"))
      .into_iter()
      .map(|(k, v)| (k.into_vec(), v.into_vec()))
      .collect();
    let slot = self.slot.clone();
    spawn(move || with(&slot, |t| t.put_many(&pairs)))
  }

  /// Flat `[k0, v0, k1, v1, ...]` (the JS layer pairs them up).
  #[napi(js_name = "_scan")]
  pub fn scan(&self, env: Env, prefix: Option<Unknown>, options: Option<Unknown>) -> crate::err::Result<JsUnknown> {
    let prefix = conv::opt_bytes(&prefix, "prefix").js()?.map(Bytes::into_vec).unwrap_or_default();
    let o = conv::range_opts_bytes(&options).js()?;
    sync(&env, || with(&self.slot, |t| t.scan(&prefix, o.start_after.as_deref(), o.limit)?.collect::<buffdb::Result<Vec<_>>>()))
  }

  #[napi(js_name = "_scanAsync")]
  pub fn scan_async(&self, prefix: Option<Unknown>, options: Option<Unknown>) -> AsyncTask<Job> {
    let prefix = try_args!(conv::opt_bytes(&prefix, "prefix")).map(Bytes::into_vec).unwrap_or_default();
    let o = try_args!(conv::range_opts_bytes(&options));
    let slot = self.slot.clone();
    spawn(move || with(&slot, |t| t.scan(&prefix, o.start_after.as_deref(), o.limit)?.collect::<buffdb::Result<Vec<_>>>()))
  }

  #[napi]
  pub fn blob_put(&self, data: Unknown, metadata: Option<Unknown>) -> crate::err::Result<f64> {
    let data = conv::bytes(&data, "data").js()?;
    let metadata = metadata_arg(&metadata).js()?;
    guard(|| with(&self.slot, |t| t.blob_put(data.as_slice(), metadata.as_deref()))).map(|id| id as f64)
  }

  #[napi]
  pub fn blob_put_async(&self, data: Unknown, metadata: Option<Unknown>) -> AsyncTask<Job> {
    let mut pins = Vec::new();
    let data = try_args!(conv::abytes(&data, "data", &mut pins));
    let metadata = try_args!(metadata_arg(&metadata));
    let slot = self.slot.clone();
    spawn_pinned(pins, move || with(&slot, |t| t.blob_put(data.as_slice(), metadata.as_deref())))
  }

  #[napi]
  pub fn blob_get(&self, env: Env, id: Unknown) -> crate::err::Result<JsUnknown> {
    let id = conv::uint(&id, "id").js()?;
    sync(&env, || with(&self.slot, |t| t.blob_get(id)))
  }

  #[napi]
  pub fn blob_get_async(&self, id: Unknown) -> AsyncTask<Job> {
    let id = try_args!(conv::uint(&id, "id"));
    let slot = self.slot.clone();
    spawn(move || with(&slot, |t| t.blob_get(id)))
  }

  #[napi]
  pub fn blob_metadata(&self, env: Env, id: Unknown) -> crate::err::Result<JsUnknown> {
    let id = conv::uint(&id, "id").js()?;
    sync(&env, || with(&self.slot, |t| t.blob_metadata(id)).map(Out::NullableStr))
  }

  #[napi]
  pub fn blob_metadata_async(&self, id: Unknown) -> AsyncTask<Job> {
    let id = try_args!(conv::uint(&id, "id"));
    let slot = self.slot.clone();
    spawn(move || with(&slot, |t| t.blob_metadata(id)).map(Out::NullableStr))
  }

  #[napi]
  pub fn blob_update(&self, id: Unknown, update: Unknown) -> crate::err::Result<()> {
    let id = conv::uint(&id, "id").js()?;
    let (data, metadata) = blob_update_args(&update).js()?;
    guard(|| with(&self.slot, |t| t.blob_update(id, data.as_deref(), metadata.as_ref().map(|m| m.as_deref()))))
  }

  #[napi]
  pub fn blob_update_async(&self, id: Unknown, update: Unknown) -> AsyncTask<Job> {
    let id = try_args!(conv::uint(&id, "id"));
    let (data, metadata) = try_args!(blob_update_args(&update));
    let slot = self.slot.clone();
    spawn(move || with(&slot, |t| t.blob_update(id, data.as_deref(), metadata.as_ref().map(|m| m.as_deref()))))
  }

  #[napi]
  pub fn blob_delete(&self, id: Unknown) -> crate::err::Result<bool> {
    let id = conv::uint(&id, "id").js()?;
    guard(|| with(&self.slot, |t| t.blob_delete(id)))
  }

  #[napi]
  pub fn blob_delete_async(&self, id: Unknown) -> AsyncTask<Job> {
    let id = try_args!(conv::uint(&id, "id"));
    let slot = self.slot.clone();
    spawn(move || with(&slot, |t| t.blob_delete(id)))
  }

  #[napi]
  pub fn stream_write(&self, env: Env, path: Unknown, data: Unknown) -> crate::err::Result<JsUnknown> {
    let path = conv::string(&path, "path").js()?;
    let data = conv::bytes(&data, "data").js()?;
    sync(&env, || with(&self.slot, |t| t.stream_write(&path, data.as_slice())))
  }

  #[napi]
  pub fn stream_write_async(&self, path: Unknown, data: Unknown) -> AsyncTask<Job> {
    let mut pins = Vec::new();
    let path = try_args!(conv::string(&path, "path"));
    let data = try_args!(conv::abytes(&data, "data", &mut pins));
    let slot = self.slot.clone();
    spawn_pinned(pins, move || with(&slot, |t| t.stream_write(&path, data.as_slice())))
  }

  #[napi]
  pub fn stream_read(&self, env: Env, path: Unknown) -> crate::err::Result<JsUnknown> {
    let path = conv::string(&path, "path").js()?;
    sync(&env, || with(&self.slot, |t| t.stream_read(&path)))
  }

  #[napi]
  pub fn stream_read_async(&self, path: Unknown) -> AsyncTask<Job> {
    let path = try_args!(conv::string(&path, "path"));
    let slot = self.slot.clone();
    spawn(move || with(&slot, |t| t.stream_read(&path)))
  }

  #[napi]
  pub fn stream_stat(&self, env: Env, path: Unknown) -> crate::err::Result<JsUnknown> {
    let path = conv::string(&path, "path").js()?;
    sync(&env, || with(&self.slot, |t| t.stream_stat(&path)))
  }

  #[napi]
  pub fn stream_stat_async(&self, path: Unknown) -> AsyncTask<Job> {
    let path = try_args!(conv::string(&path, "path"));
    let slot = self.slot.clone();
    spawn(move || with(&slot, |t| t.stream_stat(&path)))
  }

  #[napi]
  pub fn stream_delete(&self, path: Unknown) -> crate::err::Result<bool> {
    let path = conv::string(&path, "path").js()?;
    guard(|| with(&self.slot, |t| t.stream_delete(&path)))
  }

  #[napi]
  pub fn stream_delete_async(&self, path: Unknown) -> AsyncTask<Job> {
    let path = try_args!(conv::string(&path, "path"));
    let slot = self.slot.clone();
    spawn(move || with(&slot, |t| t.stream_delete(&path)))
  }
}
