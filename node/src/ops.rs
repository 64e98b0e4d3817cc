//! Every operation of the surface (`buffdb::Ops`), written once for both `Db` and
//! `Txn`: each as a sync method and as a Promise method (`...Async`, run on the
//! libuv pool).
//!
//! napi-rs classes cannot inherit, so `operations!(Class)` emits the one definition
//! into each class's `#[napi] impl`; the class only says, through [`Target`], how
//! to reach its database or open transaction. Adding an operation is one entry in
//! the macro.

use buffdb::{FindIter, IndexInfo, JsonValue, Ops, StreamInfo, StreamWriter};
use napi::bindgen_prelude::*;

use crate::conv::{self, Bytes, JsUnknown, Opts, Pin};
use crate::err::{guard, JsResult};
use crate::task::{spawn_pinned, sync, Job, Out};

/// What the operations of a class run on: the database, or an open transaction.
pub trait Target {
  /// `buffdb::Db` or `buffdb::Txn`.
  type Ops: Ops;
  /// What a Promise job takes to the libuv pool to reach the same database or
  /// transaction.
  type Handle: Clone + Send + 'static;

  fn handle(&self) -> &Self::Handle;

  /// Runs `f` on the database or transaction (`CLOSED` once it has ended).
  fn on<R>(h: &Self::Handle, f: impl FnOnce(&Self::Ops) -> buffdb::Result<R>) -> buffdb::Result<R>;

  /// `f` on the JS thread, behind the panic boundary.
  #[inline]
  fn run<R>(&self, f: impl FnOnce(&Self::Ops) -> buffdb::Result<R>) -> JsResult<R> {
    guard(|| Self::on(self.handle(), f))
  }

  /// `f` on the JS thread, its result converted to a JS value.
  #[inline]
  fn run_js<T: Into<Out>>(&self, env: &Env, f: impl FnOnce(&Self::Ops) -> buffdb::Result<T>) -> JsResult<JsUnknown> {
    sync(env, || Self::on(self.handle(), f))
  }

  /// `f` on the libuv pool; `pins` (buffers it reads in place) are released after.
  fn job<T, F>(&self, pins: Vec<Pin>, f: F) -> AsyncTask<Job>
  where
    T: Into<Out>,
    F: FnOnce(&Self::Ops) -> buffdb::Result<T> + Send + 'static,
  {
    let h = self.handle().clone();
    spawn_pinned(pins, move || Self::on(&h, f))
  }
}

pub fn prefix_arg(p: &Option<Unknown>) -> buffdb::Result<Vec<u8>> {
  Ok(conv::opt_bytes(p, "prefix")?.map(Bytes::into_vec).unwrap_or_default())
}

pub fn str_prefix_arg(p: &Option<Unknown>) -> buffdb::Result<String> {
  Ok(conv::opt_string(p, "prefix")?.unwrap_or_default())
}

/// `{ compression, metadata }` of a stream write or writer.
pub struct WriteOpts {
  /// Overrides the database's compression for this write.
  pub compression: Option<bool>,
  /// The new version's metadata (`null` or absent: none).
  pub metadata: Option<String>,
}

pub fn write_opts(options: &Option<Unknown>) -> buffdb::Result<WriteOpts> {
  let o = Opts::new(options, "options", &["compression", "metadata"])?;
  Ok(WriteOpts { compression: o.bool("compression")?, metadata: o.nullable_string("metadata")?.flatten() })
}

/// An index definition given to `createIndex(name, source, jsonPath, { unique, keyPrefix })`.
pub struct IndexDef {
  pub name: String,
  pub source: String,
  pub json_path: String,
  pub unique: bool,
  pub key_prefix: Option<Vec<u8>>,
}

pub fn index_def(name: &Unknown, source: &Unknown, json_path: &Unknown, options: &Option<Unknown>) -> buffdb::Result<IndexDef> {
  let o = Opts::new(options, "options", &["unique", "keyPrefix"])?;
  Ok(IndexDef {
    name: conv::string(name, "name")?,
    source: conv::string(source, "source")?,
    json_path: conv::string(json_path, "jsonPath")?,
    unique: o.bool("unique")?.unwrap_or(false),
    key_prefix: o.opt_bytes("keyPrefix")?.map(Bytes::into_vec),
  })
}

pub fn create_index(o: &impl Ops, d: &IndexDef) -> buffdb::Result<IndexInfo> {
  o.create_index(&d.name, &d.source, &d.json_path, d.unique, d.key_prefix.as_deref())
}

/// `findRange(name, { low, high, reverse, limit, startAfter })`.
pub struct RangeArgs {
  pub low: Option<JsonValue>,
  pub high: Option<JsonValue>,
  pub reverse: bool,
  pub limit: Option<usize>,
  pub start_after: Option<conv::EntryArg>,
}

pub fn range_args(options: &Option<Unknown>) -> buffdb::Result<RangeArgs> {
  let o = Opts::new(options, "options", &["low", "high", "reverse", "limit", "startAfter"])?;
  Ok(RangeArgs {
    low: o.json("low")?,
    high: o.json("high")?,
    reverse: o.bool("reverse")?.unwrap_or(false),
    limit: o.uint("limit")?.map(conv::usize_of),
    start_after: conv::entry_arg(&o, "startAfter")?,
  })
}

pub fn find_range(o: &impl Ops, name: &str, a: &RangeArgs) -> buffdb::Result<FindIter> {
  // The record of `startAfter` is read as the index's source says (a string is a
  // key of a KV index, a path of a stream index); unknown index: the engine says so.
  let start = match &a.start_after {
    None => None,
    Some(e) => match index_source(o, name)? {
      Some(source) => Some(e.resolve(&source)?),
      None => None,
    },
  };
  o.find_range(name, a.low.as_ref(), a.high.as_ref(), a.reverse, start.as_ref(), a.limit)
}

/// The source of index `name` (None when there is none), without counting its entries.
fn index_source(o: &impl Ops, name: &str) -> buffdb::Result<Option<String>> {
  let q = o.query("SELECT source FROM indexes WHERE name = ?1", &[buffdb::Value::Text(name.to_owned())])?;
  Ok(q.rows.into_iter().next().and_then(|r| match r.into_iter().next() {
    Some(buffdb::Value::Text(s)) => Some(s),
    _ => None,
  }))
}

/// `{ version }` of streamOpen.
pub fn version_opt(options: &Option<Unknown>) -> buffdb::Result<Option<u64>> {
  Opts::new(options, "options", &["version"])?.uint("version")
}

/// `{ startAfter?: number, limit?: number }` of blobIds.
pub fn blob_ids_args(options: &Option<Unknown>) -> buffdb::Result<(Option<u64>, Option<usize>)> {
  let o = Opts::new(options, "options", &["startAfter", "limit"])?;
  Ok((o.uint("startAfter")?, o.uint("limit")?.map(conv::usize_of)))
}

/// A whole stream write, with compression set for this write when asked.
pub fn stream_write_with(o: &impl Ops, path: &str, data: &[u8], w: &WriteOpts) -> buffdb::Result<StreamInfo> {
  match w.compression {
    None => o.stream_write_with_metadata(path, data, w.metadata.as_deref()),
    Some(_) => {
      let mut wr = writer_with(o, path, w)?;
      wr.write(data)?;
      wr.commit()
    }
  }
}

/// A stream writer with the write options set (a refused metadata aborts it).
pub fn writer_with(o: &impl Ops, path: &str, w: &WriteOpts) -> buffdb::Result<StreamWriter> {
  let mut wr = o.stream_writer_with(path, w.compression)?;
  if w.metadata.is_some() {
    wr.set_metadata(w.metadata.as_deref())?;
  }
  Ok(wr)
}

/// Copies `get_with`'s borrowed value into the registered scratch Buffer: its
/// length, -1 when missing, -2 when bigger than the scratch.
pub fn to_scratch(v: Option<&[u8]>) -> f64 {
  let (ptr, cap) = conv::scratch();
  match v {
    None => -1.0,
    Some(s) if s.len() <= cap => {
      if !s.is_empty() {
        unsafe { std::ptr::copy_nonoverlapping(s.as_ptr(), ptr, s.len()) };
      }
      s.len() as f64
    }
    Some(_) => -2.0,
  }
}

/// Copies `get_with`'s borrowed value into the thread's scratch Vec; whether found.
pub fn to_vec_scratch(v: Option<&[u8]>) -> bool {
  match v {
    None => false,
    Some(s) => conv::SCRATCH.with(|b| {
      let mut b = b.borrow_mut();
      b.clear();
      b.extend_from_slice(s);
      true
    }),
  }
}

/// The value `to_vec_scratch` found as a new Buffer (`undefined` when not found).
pub fn scratch_value(env: &Env, found: bool) -> JsResult<JsUnknown> {
  unsafe {
    if found {
      conv::SCRATCH.with(|b| {
        let mut b = b.borrow_mut();
        let v = conv::buffer_copy(env.raw(), &b);
        if b.capacity() > (1 << 20) {
          *b = Vec::new();
        }
        v
      })
    } else {
      conv::undefined(env.raw())
    }
  }
  .map(JsUnknown)
  .map_err(|e| crate::err::to_js(crate::err::napi_failure(e)))
}

/// The `#[napi]` methods of every operation, for a class that implements [`Target`]
/// (the caller has `napi::bindgen_prelude::*`, `napi_derive::napi`, `IntoJs` and
/// `Target` in scope).
macro_rules! operations {
  ($class:ident) => {
    #[napi]
    impl $class {
      // -------------------------------------------------------------------- KV

      /// Fast path of `get` for the JS layer: copies the value into the registered
      /// scratch Buffer and returns its length; -1 = missing, -2 = bigger than the
      /// scratch (the JS layer then calls `_get`). No JS object is created here.
      #[napi(js_name = "_getScratch")]
      pub fn get_scratch(&self, key: Unknown) -> crate::err::Result<f64> {
        let key = crate::conv::bytes(&key, "key").js()?;
        self.run(|o| o.get_with(key.as_slice(), crate::ops::to_scratch))
      }

      #[napi(js_name = "_get")]
      pub fn get(&self, env: Env, key: Unknown) -> crate::err::Result<crate::conv::JsUnknown> {
        let key = crate::conv::bytes(&key, "key").js()?;
        let found = self.run(|o| o.get_with(key.as_slice(), crate::ops::to_vec_scratch))?;
        crate::ops::scratch_value(&env, found)
      }

      #[napi]
      pub fn get_async(&self, key: Unknown) -> AsyncTask<crate::task::Job> {
        let key = crate::try_args!(crate::conv::bytes(&key, "key")).into_vec();
        self.job(vec![], move |o| o.get(&key))
      }

      #[napi]
      pub fn put(&self, key: Unknown, value: Unknown) -> crate::err::Result<()> {
        let key = crate::conv::bytes(&key, "key").js()?;
        let value = crate::conv::bytes(&value, "value").js()?;
        self.run(|o| o.put(key.as_slice(), value.as_slice()))
      }

      #[napi]
      pub fn put_async(&self, key: Unknown, value: Unknown) -> AsyncTask<crate::task::Job> {
        let mut pins = Vec::new();
        let key = crate::try_args!(crate::conv::bytes(&key, "key")).into_vec();
        let value = crate::try_args!(crate::conv::abytes(&value, "value", &mut pins));
        self.job(pins, move |o| o.put(&key, value.as_slice()))
      }

      #[napi]
      pub fn delete(&self, key: Unknown) -> crate::err::Result<bool> {
        let key = crate::conv::bytes(&key, "key").js()?;
        self.run(|o| o.delete(key.as_slice()))
      }

      #[napi]
      pub fn delete_async(&self, key: Unknown) -> AsyncTask<crate::task::Job> {
        let key = crate::try_args!(crate::conv::bytes(&key, "key")).into_vec();
        self.job(vec![], move |o| o.delete(&key))
      }

      #[napi]
      pub fn has(&self, key: Unknown) -> crate::err::Result<bool> {
        let key = crate::conv::bytes(&key, "key").js()?;
        self.run(|o| o.contains(key.as_slice()))
      }

      #[napi]
      pub fn has_async(&self, key: Unknown) -> AsyncTask<crate::task::Job> {
        let key = crate::try_args!(crate::conv::bytes(&key, "key")).into_vec();
        self.job(vec![], move |o| o.contains(&key))
      }

      #[napi]
      pub fn get_many(&self, env: Env, keys: Unknown) -> crate::err::Result<crate::conv::JsUnknown> {
        let keys = crate::conv::bytes_list(&keys, "keys").js()?;
        let keys: Vec<&[u8]> = keys.iter().map(crate::conv::Bytes::as_slice).collect();
        self.run_js(&env, |o| o.get_many(&keys))
      }

      #[napi]
      pub fn get_many_async(&self, keys: Unknown) -> AsyncTask<crate::task::Job> {
        let keys = crate::try_args!(crate::conv::bytes_list(&keys, "keys"));
        let keys: Vec<Vec<u8>> = keys.into_iter().map(crate::conv::Bytes::into_vec).collect();
        self.job(vec![], move |o| o.get_many(&keys))
      }

      /// `pairs`: an array of `[key, value]`.
      #[napi(js_name = "_putMany")]
      pub fn put_many(&self, pairs: Unknown) -> crate::err::Result<()> {
        let pairs = crate::conv::pairs(&pairs, "pairs").js()?;
        let pairs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice())).collect();
        self.run(|o| o.put_many(&pairs))
      }

      #[napi(js_name = "_putManyAsync")]
      pub fn put_many_async(&self, pairs: Unknown) -> AsyncTask<crate::task::Job> {
        let pairs = crate::try_args!(crate::conv::pairs(&pairs, "pairs"));
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = pairs.into_iter().map(|(k, v)| (k.into_vec(), v.into_vec())).collect();
        self.job(vec![], move |o| o.put_many(&pairs))
      }

      #[napi]
      pub fn eq(&self, keys: Unknown) -> crate::err::Result<bool> {
        let keys = crate::conv::bytes_list(&keys, "keys").js()?;
        let keys: Vec<&[u8]> = keys.iter().map(crate::conv::Bytes::as_slice).collect();
        self.run(|o| o.eq(&keys))
      }

      #[napi]
      pub fn eq_async(&self, keys: Unknown) -> AsyncTask<crate::task::Job> {
        let keys = crate::try_args!(crate::conv::bytes_list(&keys, "keys"));
        let keys: Vec<Vec<u8>> = keys.into_iter().map(crate::conv::Bytes::into_vec).collect();
        self.job(vec![], move |o| o.eq(&keys))
      }

      #[napi]
      pub fn not_eq(&self, keys: Unknown) -> crate::err::Result<bool> {
        let keys = crate::conv::bytes_list(&keys, "keys").js()?;
        let keys: Vec<&[u8]> = keys.iter().map(crate::conv::Bytes::as_slice).collect();
        self.run(|o| o.not_eq(&keys))
      }

      #[napi]
      pub fn not_eq_async(&self, keys: Unknown) -> AsyncTask<crate::task::Job> {
        let keys = crate::try_args!(crate::conv::bytes_list(&keys, "keys"));
        let keys: Vec<Vec<u8>> = keys.into_iter().map(crate::conv::Bytes::into_vec).collect();
        self.job(vec![], move |o| o.not_eq(&keys))
      }

      #[napi]
      pub fn count(&self, prefix: Option<Unknown>) -> crate::err::Result<f64> {
        let prefix = crate::ops::prefix_arg(&prefix).js()?;
        self.run(|o| o.count(&prefix)).map(|n| n as f64)
      }

      #[napi]
      pub fn count_async(&self, prefix: Option<Unknown>) -> AsyncTask<crate::task::Job> {
        let prefix = crate::try_args!(crate::ops::prefix_arg(&prefix));
        self.job(vec![], move |o| o.count(&prefix))
      }

      /// Native lazy iterator over `[key, value]` (the JS layer wraps it).
      #[napi(js_name = "_scan")]
      pub fn scan(&self, prefix: Option<Unknown>, options: Option<Unknown>) -> crate::err::Result<crate::iter::JsKvIter> {
        let prefix = crate::ops::prefix_arg(&prefix).js()?;
        let r = crate::conv::range_opts_bytes(&options).js()?;
        self.run(|o| o.scan(&prefix, r.start_after.as_deref(), r.limit)).map(crate::iter::JsKvIter::new)
      }

      #[napi(js_name = "_keys")]
      pub fn keys(&self, prefix: Option<Unknown>, options: Option<Unknown>) -> crate::err::Result<crate::iter::JsKeyIter> {
        let prefix = crate::ops::prefix_arg(&prefix).js()?;
        let r = crate::conv::range_opts_bytes(&options).js()?;
        self.run(|o| o.keys(&prefix, r.start_after.as_deref(), r.limit)).map(crate::iter::JsKeyIter::new)
      }

      // ----------------------------------------------------------------- blobs

      #[napi]
      pub fn blob_put(&self, data: Unknown, metadata: Option<Unknown>) -> crate::err::Result<f64> {
        let data = crate::conv::bytes(&data, "data").js()?;
        let metadata = crate::conv::metadata_arg(&metadata).js()?;
        self.run(|o| o.blob_put(data.as_slice(), metadata.as_deref())).map(|id| id as f64)
      }

      #[napi]
      pub fn blob_put_async(&self, data: Unknown, metadata: Option<Unknown>) -> AsyncTask<crate::task::Job> {
        let mut pins = Vec::new();
        let data = crate::try_args!(crate::conv::abytes(&data, "data", &mut pins));
        let metadata = crate::try_args!(crate::conv::metadata_arg(&metadata));
        self.job(pins, move |o| o.blob_put(data.as_slice(), metadata.as_deref()))
      }

      #[napi]
      pub fn blob_get(&self, env: Env, id: Unknown) -> crate::err::Result<crate::conv::JsUnknown> {
        let id = crate::conv::uint(&id, "id").js()?;
        self.run_js(&env, |o| o.blob_get(id))
      }

      #[napi]
      pub fn blob_get_async(&self, id: Unknown) -> AsyncTask<crate::task::Job> {
        let id = crate::try_args!(crate::conv::uint(&id, "id"));
        self.job(vec![], move |o| o.blob_get(id))
      }

      #[napi]
      pub fn blob_metadata(&self, env: Env, id: Unknown) -> crate::err::Result<crate::conv::JsUnknown> {
        let id = crate::conv::uint(&id, "id").js()?;
        self.run_js(&env, |o| o.blob_metadata(id).map(crate::task::Out::NullableStr))
      }

      #[napi]
      pub fn blob_metadata_async(&self, id: Unknown) -> AsyncTask<crate::task::Job> {
        let id = crate::try_args!(crate::conv::uint(&id, "id"));
        self.job(vec![], move |o| o.blob_metadata(id).map(crate::task::Out::NullableStr))
      }

      #[napi]
      pub fn blob_info(&self, env: Env, id: Unknown) -> crate::err::Result<crate::conv::JsUnknown> {
        let id = crate::conv::uint(&id, "id").js()?;
        self.run_js(&env, |o| o.blob_info(id))
      }

      #[napi]
      pub fn blob_info_async(&self, id: Unknown) -> AsyncTask<crate::task::Job> {
        let id = crate::try_args!(crate::conv::uint(&id, "id"));
        self.job(vec![], move |o| o.blob_info(id))
      }

      /// `update`: `{ data?, metadata? }`; `metadata: null` removes it.
      #[napi]
      pub fn blob_update(&self, id: Unknown, update: Unknown) -> crate::err::Result<()> {
        let id = crate::conv::uint(&id, "id").js()?;
        let (data, metadata) = crate::conv::blob_update_args(&update).js()?;
        self.run(|o| o.blob_update(id, data.as_deref(), metadata.as_ref().map(|m| m.as_deref())))
      }

      #[napi]
      pub fn blob_update_async(&self, id: Unknown, update: Unknown) -> AsyncTask<crate::task::Job> {
        let id = crate::try_args!(crate::conv::uint(&id, "id"));
        let (data, metadata) = crate::try_args!(crate::conv::blob_update_args(&update));
        self.job(vec![], move |o| o.blob_update(id, data.as_deref(), metadata.as_ref().map(|m| m.as_deref())))
      }

      #[napi]
      pub fn blob_delete(&self, id: Unknown) -> crate::err::Result<bool> {
        let id = crate::conv::uint(&id, "id").js()?;
        self.run(|o| o.blob_delete(id))
      }

      #[napi]
      pub fn blob_delete_async(&self, id: Unknown) -> AsyncTask<crate::task::Job> {
        let id = crate::try_args!(crate::conv::uint(&id, "id"));
        self.job(vec![], move |o| o.blob_delete(id))
      }

      #[napi]
      pub fn blob_open(&self, id: Unknown) -> crate::err::Result<crate::io::JsReader> {
        let id = crate::conv::uint(&id, "id").js()?;
        self.run(|o| o.blob_open(id)).map(crate::io::JsReader::new)
      }

      #[napi]
      pub fn blob_open_async(&self, id: Unknown) -> AsyncTask<crate::task::Job> {
        let id = crate::try_args!(crate::conv::uint(&id, "id"));
        self.job(vec![], move |o| o.blob_open(id))
      }

      #[napi]
      pub fn blob_eq(&self, ids: Unknown) -> crate::err::Result<bool> {
        let ids = crate::conv::ids(&ids, "ids").js()?;
        self.run(|o| o.blob_eq(&ids))
      }

      #[napi]
      pub fn blob_eq_async(&self, ids: Unknown) -> AsyncTask<crate::task::Job> {
        let ids = crate::try_args!(crate::conv::ids(&ids, "ids"));
        self.job(vec![], move |o| o.blob_eq(&ids))
      }

      #[napi]
      pub fn blob_not_eq(&self, ids: Unknown) -> crate::err::Result<bool> {
        let ids = crate::conv::ids(&ids, "ids").js()?;
        self.run(|o| o.blob_not_eq(&ids))
      }

      #[napi]
      pub fn blob_not_eq_async(&self, ids: Unknown) -> AsyncTask<crate::task::Job> {
        let ids = crate::try_args!(crate::conv::ids(&ids, "ids"));
        self.job(vec![], move |o| o.blob_not_eq(&ids))
      }

      /// `options`: `{ startAfter?: number, limit?: number }`.
      #[napi]
      pub fn blob_ids(&self, env: Env, options: Option<Unknown>) -> crate::err::Result<crate::conv::JsUnknown> {
        let (after, limit) = crate::ops::blob_ids_args(&options).js()?;
        self.run_js(&env, |o| o.blob_ids(after, limit))
      }

      #[napi]
      pub fn blob_ids_async(&self, options: Option<Unknown>) -> AsyncTask<crate::task::Job> {
        let (after, limit) = crate::try_args!(crate::ops::blob_ids_args(&options));
        self.job(vec![], move |o| o.blob_ids(after, limit))
      }

      // --------------------------------------------------------------- streams

      #[napi]
      pub fn stream_write(&self, env: Env, path: Unknown, data: Unknown, options: Option<Unknown>) -> crate::err::Result<crate::conv::JsUnknown> {
        let path = crate::conv::string(&path, "path").js()?;
        let data = crate::conv::bytes(&data, "data").js()?;
        let w = crate::ops::write_opts(&options).js()?;
        self.run_js(&env, |o| crate::ops::stream_write_with(o, &path, data.as_slice(), &w))
      }

      #[napi(js_name = "_streamWriteAsync")]
      pub fn stream_write_async(&self, path: Unknown, data: Unknown, options: Option<Unknown>) -> AsyncTask<crate::task::Job> {
        let mut pins = Vec::new();
        let path = crate::try_args!(crate::conv::string(&path, "path"));
        let data = crate::try_args!(crate::conv::abytes(&data, "data", &mut pins));
        let w = crate::try_args!(crate::ops::write_opts(&options));
        self.job(pins, move |o| crate::ops::stream_write_with(o, &path, data.as_slice(), &w))
      }

      /// A writer: nothing is visible until `commit()`.
      #[napi]
      pub fn stream_writer(&self, path: Unknown, options: Option<Unknown>) -> crate::err::Result<crate::io::JsWriter> {
        let path = crate::conv::string(&path, "path").js()?;
        let w = crate::ops::write_opts(&options).js()?;
        self.run(|o| crate::ops::writer_with(o, &path, &w)).map(crate::io::JsWriter::new)
      }

      #[napi]
      pub fn stream_writer_async(&self, path: Unknown, options: Option<Unknown>) -> AsyncTask<crate::task::Job> {
        let path = crate::try_args!(crate::conv::string(&path, "path"));
        let w = crate::try_args!(crate::ops::write_opts(&options));
        self.job(vec![], move |o| crate::ops::writer_with(o, &path, &w))
      }

      #[napi]
      pub fn stream_read(&self, env: Env, path: Unknown) -> crate::err::Result<crate::conv::JsUnknown> {
        let path = crate::conv::string(&path, "path").js()?;
        self.run_js(&env, |o| o.stream_read(&path))
      }

      #[napi]
      pub fn stream_read_async(&self, path: Unknown) -> AsyncTask<crate::task::Job> {
        let path = crate::try_args!(crate::conv::string(&path, "path"));
        self.job(vec![], move |o| o.stream_read(&path))
      }

      /// A reader over one version (the latest unless `{ version }`).
      #[napi]
      pub fn stream_open(&self, path: Unknown, options: Option<Unknown>) -> crate::err::Result<crate::io::JsReader> {
        let path = crate::conv::string(&path, "path").js()?;
        let version = crate::ops::version_opt(&options).js()?;
        self.run(|o| o.stream_open(&path, version)).map(crate::io::JsReader::new)
      }

      #[napi]
      pub fn stream_open_async(&self, path: Unknown, options: Option<Unknown>) -> AsyncTask<crate::task::Job> {
        let path = crate::try_args!(crate::conv::string(&path, "path"));
        let version = crate::try_args!(crate::ops::version_opt(&options));
        self.job(vec![], move |o| o.stream_open(&path, version))
      }

      #[napi]
      pub fn stream_read_range(&self, env: Env, path: Unknown, offset: Unknown, length: Unknown) -> crate::err::Result<crate::conv::JsUnknown> {
        let path = crate::conv::string(&path, "path").js()?;
        let offset = crate::conv::uint(&offset, "offset").js()?;
        let length = crate::conv::uint(&length, "length").js()?;
        self.run_js(&env, |o| o.stream_read_range(&path, offset, length))
      }

      #[napi]
      pub fn stream_read_range_async(&self, path: Unknown, offset: Unknown, length: Unknown) -> AsyncTask<crate::task::Job> {
        let path = crate::try_args!(crate::conv::string(&path, "path"));
        let offset = crate::try_args!(crate::conv::uint(&offset, "offset"));
        let length = crate::try_args!(crate::conv::uint(&length, "length"));
        self.job(vec![], move |o| o.stream_read_range(&path, offset, length))
      }

      #[napi]
      pub fn stream_stat(&self, env: Env, path: Unknown) -> crate::err::Result<crate::conv::JsUnknown> {
        let path = crate::conv::string(&path, "path").js()?;
        self.run_js(&env, |o| o.stream_stat(&path))
      }

      #[napi]
      pub fn stream_stat_async(&self, path: Unknown) -> AsyncTask<crate::task::Job> {
        let path = crate::try_args!(crate::conv::string(&path, "path"));
        self.job(vec![], move |o| o.stream_stat(&path))
      }

      #[napi]
      pub fn stream_exists(&self, path: Unknown) -> crate::err::Result<bool> {
        let path = crate::conv::string(&path, "path").js()?;
        self.run(|o| o.stream_exists(&path))
      }

      #[napi]
      pub fn stream_exists_async(&self, path: Unknown) -> AsyncTask<crate::task::Job> {
        let path = crate::try_args!(crate::conv::string(&path, "path"));
        self.job(vec![], move |o| o.stream_exists(&path))
      }

      #[napi]
      pub fn stream_versions(&self, env: Env, path: Unknown) -> crate::err::Result<crate::conv::JsUnknown> {
        let path = crate::conv::string(&path, "path").js()?;
        self.run_js(&env, |o| o.stream_versions(&path))
      }

      #[napi]
      pub fn stream_versions_async(&self, path: Unknown) -> AsyncTask<crate::task::Job> {
        let path = crate::try_args!(crate::conv::string(&path, "path"));
        self.job(vec![], move |o| o.stream_versions(&path))
      }

      #[napi]
      pub fn stream_delete(&self, path: Unknown) -> crate::err::Result<bool> {
        let path = crate::conv::string(&path, "path").js()?;
        self.run(|o| o.stream_delete(&path))
      }

      #[napi]
      pub fn stream_delete_async(&self, path: Unknown) -> AsyncTask<crate::task::Job> {
        let path = crate::try_args!(crate::conv::string(&path, "path"));
        self.job(vec![], move |o| o.stream_delete(&path))
      }

      /// Replaces the newest version's metadata without rewriting its bytes
      /// (`null` clears it); returns that version's info.
      #[napi]
      pub fn stream_set_metadata(&self, env: Env, path: Unknown, metadata: Option<Unknown>) -> crate::err::Result<crate::conv::JsUnknown> {
        let path = crate::conv::string(&path, "path").js()?;
        let metadata = crate::conv::metadata_arg(&metadata).js()?;
        self.run_js(&env, |o| o.stream_set_metadata(&path, metadata.as_deref()))
      }

      #[napi]
      pub fn stream_set_metadata_async(&self, path: Unknown, metadata: Option<Unknown>) -> AsyncTask<crate::task::Job> {
        let path = crate::try_args!(crate::conv::string(&path, "path"));
        let metadata = crate::try_args!(crate::conv::metadata_arg(&metadata));
        self.job(vec![], move |o| o.stream_set_metadata(&path, metadata.as_deref()))
      }

      // --------------------------------------------------------------- indexes

      /// `options`: `{ unique?: boolean, keyPrefix?: string | Buffer }`.
      #[napi]
      pub fn create_index(&self, env: Env, name: Unknown, source: Unknown, json_path: Unknown, options: Option<Unknown>) -> crate::err::Result<crate::conv::JsUnknown> {
        let d = crate::ops::index_def(&name, &source, &json_path, &options).js()?;
        self.run_js(&env, |o| crate::ops::create_index(o, &d))
      }

      #[napi]
      pub fn create_index_async(&self, name: Unknown, source: Unknown, json_path: Unknown, options: Option<Unknown>) -> AsyncTask<crate::task::Job> {
        let d = crate::try_args!(crate::ops::index_def(&name, &source, &json_path, &options));
        self.job(vec![], move |o| crate::ops::create_index(o, &d))
      }

      #[napi]
      pub fn drop_index(&self, name: Unknown) -> crate::err::Result<bool> {
        let name = crate::conv::string(&name, "name").js()?;
        self.run(|o| o.drop_index(&name))
      }

      #[napi]
      pub fn drop_index_async(&self, name: Unknown) -> AsyncTask<crate::task::Job> {
        let name = crate::try_args!(crate::conv::string(&name, "name"));
        self.job(vec![], move |o| o.drop_index(&name))
      }

      #[napi]
      pub fn list_indexes(&self, env: Env) -> crate::err::Result<crate::conv::JsUnknown> {
        self.run_js(&env, |o| o.list_indexes())
      }

      #[napi]
      pub fn list_indexes_async(&self) -> AsyncTask<crate::task::Job> {
        self.job(vec![], move |o| o.list_indexes())
      }

      /// Native lazy iterator over the records whose value is `value`.
      #[napi(js_name = "_find")]
      pub fn find(&self, name: Unknown, value: Unknown) -> crate::err::Result<crate::iter::JsRecordIter> {
        let name = crate::conv::string(&name, "name").js()?;
        let value = crate::conv::json(&value, "value").js()?;
        self.run(|o| o.find(&name, &value)).map(|it| crate::iter::JsRecordIter::new(crate::iter::records(it)))
      }

      /// Native lazy iterator over `{ value, record }` with `low <= value <= high`.
      #[napi(js_name = "_findRange")]
      pub fn find_range(&self, name: Unknown, options: Option<Unknown>) -> crate::err::Result<crate::iter::JsEntryIter> {
        let name = crate::conv::string(&name, "name").js()?;
        let a = crate::ops::range_args(&options).js()?;
        self.run(|o| crate::ops::find_range(o, &name, &a)).map(crate::iter::JsEntryIter::new)
      }

      // ---------------------------------------------------------------- search

      #[napi(js_name = "_search")]
      pub fn search(&self, prefix: Option<Unknown>, options: Option<Unknown>) -> crate::err::Result<crate::iter::JsPathIter> {
        let prefix = crate::ops::str_prefix_arg(&prefix).js()?;
        let r = crate::conv::range_opts_str(&options).js()?;
        self.run(|o| o.search(&prefix, r.start_after.as_deref(), r.limit)).map(crate::iter::JsPathIter::new)
      }

      #[napi]
      pub fn search_count(&self, prefix: Option<Unknown>) -> crate::err::Result<f64> {
        let prefix = crate::ops::str_prefix_arg(&prefix).js()?;
        self.run(|o| o.search_count(&prefix)).map(|n| n as f64)
      }

      #[napi]
      pub fn search_count_async(&self, prefix: Option<Unknown>) -> AsyncTask<crate::task::Job> {
        let prefix = crate::try_args!(crate::ops::str_prefix_arg(&prefix));
        self.job(vec![], move |o| o.search_count(&prefix))
      }

      // ----------------------------------------------------------------- query

      /// Read-only SQL over the views `kv`, `blobs`, `streams`.
      #[napi]
      pub fn query(&self, env: Env, sql: Unknown, params: Option<Unknown>) -> crate::err::Result<crate::conv::JsUnknown> {
        let sql = crate::conv::string(&sql, "sql").js()?;
        let params = crate::conv::values(&params).js()?;
        self.run_js(&env, |o| o.query(&sql, &params))
      }

      #[napi]
      pub fn query_async(&self, sql: Unknown, params: Option<Unknown>) -> AsyncTask<crate::task::Job> {
        let sql = crate::try_args!(crate::conv::string(&sql, "sql"));
        let params = crate::try_args!(crate::conv::values(&params));
        self.job(vec![], move |o| o.query(&sql, &params))
      }
    }
  };
}

pub(crate) use operations;
