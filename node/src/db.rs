//! `Db`: every engine operation, as a sync method and as a Promise method
//! (`...Async`, run on the libuv pool).

use buffdb::{Db, Durability, OpenOptions};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::conv::{self, Bytes, Opts, JsUnknown, SCRATCH};
use crate::err::{guard, invalid, napi_failure, to_js, IntoJs};
use crate::iter::{JsKeyIter, JsKvIter, JsPathIter};
use crate::conv::{blob_update_args, metadata_arg};
use crate::task::{spawn, spawn_pinned, sync, Job, Out};
use crate::try_args;

pub const OPEN_OPTIONS: &[&str] = &[
  "create",
  "readOnly",
  "durability",
  "compression",
  "verifyChecksums",
  "chunkSize",
  "versionsToKeep",
  "cacheSize",
  "maxDocumentSize",
  "busyTimeoutMs",
  "pageSize",
];

pub fn open_options(options: &Option<Unknown>) -> buffdb::Result<OpenOptions> {
  let o = Opts::new(options, "options", OPEN_OPTIONS)?;
  let mut opts = OpenOptions::default();
  if let Some(v) = o.bool("create")? {
    opts.create = v;
  }
  if let Some(v) = o.bool("readOnly")? {
    opts.read_only = v;
  }
  if let Some(v) = o.string("durability")? {
    opts.durability = v.parse::<Durability>()?;
  }
  if let Some(v) = o.bool("compression")? {
    opts.compression = v;
  }
  if let Some(v) = o.bool("verifyChecksums")? {
    opts.verify_checksums = v;
  }
  if let Some(v) = o.uint("chunkSize")? {
    opts.chunk_size = conv::usize_of(v);
  }
  if let Some(v) = o.uint("versionsToKeep")? {
    opts.versions_to_keep =
      u32::try_from(v).map_err(|_| invalid("options.versionsToKeep is too large"))?;
  }
  if let Some(v) = o.uint("cacheSize")? {
    opts.cache_size = conv::usize_of(v);
  }
  if let Some(v) = o.uint("maxDocumentSize")? {
    opts.max_document_size = v;
  }
  if let Some(v) = o.uint("busyTimeoutMs")? {
    opts.busy_timeout_ms = v;
  }
  if let Some(v) = o.uint("pageSize")? {
    opts.page_size = u32::try_from(v).map_err(|_| invalid("options.pageSize is too large"))?;
  }
  Ok(opts)
}

pub fn open_path(path: &Unknown) -> buffdb::Result<String> {
  conv::string(path, "path")
}

/// `{ compression }` of a stream write.
pub fn write_opts(options: &Option<Unknown>) -> buffdb::Result<Option<bool>> {
  Opts::new(options, "options", &["compression"])?.bool("compression")
}

/// `{ version }` of streamOpen.
pub fn version_opt(options: &Option<Unknown>) -> buffdb::Result<Option<u64>> {
  Opts::new(options, "options", &["version"])?.uint("version")
}

fn prefix_arg(p: &Option<Unknown>) -> buffdb::Result<Vec<u8>> {
  Ok(conv::opt_bytes(p, "prefix")?.map(Bytes::into_vec).unwrap_or_default())
}

fn str_prefix_arg(p: &Option<Unknown>) -> buffdb::Result<String> {
  Ok(conv::opt_string(p, "prefix")?.unwrap_or_default())
}

pub fn stream_write_with(
  db: &Db,
  path: &str,
  data: &[u8],
  compression: Option<bool>,
) -> buffdb::Result<buffdb::StreamInfo> {
  match compression {
    None => db.stream_write(path, data),
    Some(_) => {
      let mut w = db.stream_writer_with(path, compression)?;
      w.write(data)?;
      w.commit()
    }
  }
}

/// An open database. Create one with `open()`; thread-safe, cheap to share.
#[napi(js_name = "Db")]
pub struct JsDb {
  pub(crate) db: Db,
}

impl JsDb {
  pub fn new(db: Db) -> JsDb {
    JsDb { db }
  }
}

impl From<Db> for Out {
  fn from(x: Db) -> Out {
    // SAFETY: `Out::into_js` calls it on the JS thread with that thread's env.
    Out::Handle(Box::new(move |env| unsafe { ToNapiValue::to_napi_value(env, JsDb::new(x)) }))
  }
}

#[napi]
impl JsDb {
  // ------------------------------------------------------------- lifecycle

  /// Close the database (idempotent); every later call fails with `CLOSED`.
  #[napi]
  pub fn close(&self) -> crate::err::Result<()> {
    guard(|| self.db.close())
  }

  #[napi]
  pub fn close_async(&self) -> AsyncTask<Job> {
    let db = self.db.clone();
    spawn(move || db.close())
  }

  /// Whether `close()` was called.
  #[napi(getter)]
  pub fn closed(&self) -> bool {
    self.db.is_closed()
  }

  /// The path given to `open()`.
  #[napi(getter)]
  pub fn path(&self) -> String {
    self.db.path().to_owned()
  }

  /// The options in effect.
  #[napi(getter, ts_return_type = "object")]
  pub fn options(&self, env: Env) -> crate::err::Result<JsUnknown> {
    let o = self.db.options();
    let raw = env.raw();
    let dur = match o.durability {
      Durability::Full => "full",
      Durability::Normal => "normal",
      Durability::None => "none",
    };
    (|| unsafe {
      conv::object(
        raw,
        &[
          ("create", conv::boolean(raw, o.create)?),
          ("readOnly", conv::boolean(raw, o.read_only)?),
          ("durability", conv::str_val(raw, dur)?),
          ("compression", conv::boolean(raw, o.compression)?),
          ("verifyChecksums", conv::boolean(raw, o.verify_checksums)?),
          ("chunkSize", conv::number(raw, o.chunk_size as f64)?),
          ("versionsToKeep", conv::number(raw, o.versions_to_keep as f64)?),
          ("cacheSize", conv::number(raw, o.cache_size as f64)?),
          ("maxDocumentSize", conv::number(raw, o.max_document_size as f64)?),
          ("busyTimeoutMs", conv::number(raw, o.busy_timeout_ms as f64)?),
          ("pageSize", conv::number(raw, o.page_size as f64)?),
        ],
      )
    })()
    .map(JsUnknown)
    .map_err(|e| to_js(napi_failure(e)))
  }

  #[napi]
  pub fn checkpoint(&self) -> crate::err::Result<()> {
    guard(|| self.db.checkpoint())
  }

  #[napi]
  pub fn checkpoint_async(&self) -> AsyncTask<Job> {
    let db = self.db.clone();
    spawn(move || db.checkpoint())
  }

  #[napi]
  pub fn stats(&self, env: Env) -> crate::err::Result<JsUnknown> {
    sync(&env, || self.db.stats())
  }

  #[napi]
  pub fn stats_async(&self) -> AsyncTask<Job> {
    let db = self.db.clone();
    spawn(move || db.stats())
  }

  #[napi]
  pub fn check(&self, env: Env) -> crate::err::Result<JsUnknown> {
    sync(&env, || self.db.check())
  }

  #[napi]
  pub fn check_async(&self) -> AsyncTask<Job> {
    let db = self.db.clone();
    spawn(move || db.check())
  }

  // -------------------------------------------------------------------- KV

  /// Fast path of `get` for the JS layer: copies the value into the registered
  /// scratch Buffer and returns its length; -1 = missing, -2 = bigger than the
  /// scratch (the JS layer then calls `_get`). No JS object is created here.
  #[napi(js_name = "_getScratch")]
  pub fn get_scratch(&self, key: Unknown) -> crate::err::Result<f64> {
    let key = conv::bytes(&key, "key").js()?;
    let (ptr, cap) = conv::scratch();
    guard(|| {
      self.db.get_with(key.as_slice(), |v| match v {
        None => -1.0,
        Some(s) if s.len() <= cap => {
          if !s.is_empty() {
            unsafe { std::ptr::copy_nonoverlapping(s.as_ptr(), ptr, s.len()) };
          }
          s.len() as f64
        }
        Some(_) => -2.0,
      })
    })
  }

  #[napi(js_name = "_get")]
  pub fn get(&self, env: Env, key: Unknown) -> crate::err::Result<JsUnknown> {
    let key = conv::bytes(&key, "key").js()?;
    let found = guard(|| {
      self.db.get_with(key.as_slice(), |v| match v {
        None => false,
        Some(s) => SCRATCH.with(|b| {
          let mut b = b.borrow_mut();
          b.clear();
          b.extend_from_slice(s);
          true
        }),
      })
    })?;
    unsafe {
      if found {
        SCRATCH.with(|b| {
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
    .map_err(|e| to_js(napi_failure(e)))
  }

  #[napi]
  pub fn get_async(&self, key: Unknown) -> AsyncTask<Job> {
    let key = try_args!(conv::bytes(&key, "key")).into_vec();
    let db = self.db.clone();
    spawn(move || db.get(&key))
  }

  #[napi]
  pub fn put(&self, key: Unknown, value: Unknown) -> crate::err::Result<()> {
    let key = conv::bytes(&key, "key").js()?;
    let value = conv::bytes(&value, "value").js()?;
    guard(|| self.db.put(key.as_slice(), value.as_slice()))
  }

  #[napi]
  pub fn put_async(&self, key: Unknown, value: Unknown) -> AsyncTask<Job> {
    let mut pins = Vec::new();
    let key = try_args!(conv::bytes(&key, "key")).into_vec();
    let value = try_args!(conv::abytes(&value, "value", &mut pins));
    let db = self.db.clone();
    spawn_pinned(pins, move || db.put(&key, value.as_slice()))
  }

  #[napi]
  pub fn delete(&self, key: Unknown) -> crate::err::Result<bool> {
    let key = conv::bytes(&key, "key").js()?;
    guard(|| self.db.delete(key.as_slice()))
  }

  #[napi]
  pub fn delete_async(&self, key: Unknown) -> AsyncTask<Job> {
    let key = try_args!(conv::bytes(&key, "key")).into_vec();
    let db = self.db.clone();
    spawn(move || db.delete(&key))
  }

  #[napi]
  pub fn has(&self, key: Unknown) -> crate::err::Result<bool> {
    let key = conv::bytes(&key, "key").js()?;
    guard(|| self.db.contains(key.as_slice()))
  }

  #[napi]
  pub fn has_async(&self, key: Unknown) -> AsyncTask<Job> {
    let key = try_args!(conv::bytes(&key, "key")).into_vec();
    let db = self.db.clone();
    spawn(move || db.contains(&key))
  }

  #[napi]
  pub fn get_many(&self, env: Env, keys: Unknown) -> crate::err::Result<JsUnknown> {
    let keys = conv::bytes_list(&keys, "keys").js()?;
    let keys: Vec<&[u8]> = keys.iter().map(Bytes::as_slice).collect();
    sync(&env, || self.db.get_many(&keys))
  }

  #[napi]
  pub fn get_many_async(&self, keys: Unknown) -> AsyncTask<Job> {
    let keys: Vec<Vec<u8>> = try_args!(conv::bytes_list(&keys, "keys"))
      .into_iter()
      .map(Bytes::into_vec)
      .collect();
    let db = self.db.clone();
    spawn(move || db.get_many(&keys))
  }

  /// `pairs`: an array of `[key, value]`.
  #[napi(js_name = "_putMany")]
  pub fn put_many(&self, pairs: Unknown) -> crate::err::Result<()> {
    let pairs = conv::pairs(&pairs, "pairs").js()?;
    let pairs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice())).collect();
    guard(|| self.db.put_many(&pairs))
  }

  #[napi(js_name = "_putManyAsync")]
  pub fn put_many_async(&self, pairs: Unknown) -> AsyncTask<Job> {
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = try_args!(conv::pairs(&pairs, "pairs"))
      .into_iter()
      .map(|(k, v)| (k.into_vec(), v.into_vec()))
      .collect();
    let db = self.db.clone();
    spawn(move || db.put_many(&pairs))
  }

  #[napi]
  pub fn eq(&self, keys: Unknown) -> crate::err::Result<bool> {
    let keys = conv::bytes_list(&keys, "keys").js()?;
    let keys: Vec<&[u8]> = keys.iter().map(Bytes::as_slice).collect();
    guard(|| self.db.eq(&keys))
  }

  #[napi]
  pub fn eq_async(&self, keys: Unknown) -> AsyncTask<Job> {
    let keys: Vec<Vec<u8>> = try_args!(conv::bytes_list(&keys, "keys"))
      .into_iter()
      .map(Bytes::into_vec)
      .collect();
    let db = self.db.clone();
    spawn(move || db.eq(&keys))
  }

  #[napi]
  pub fn not_eq(&self, keys: Unknown) -> crate::err::Result<bool> {
    let keys = conv::bytes_list(&keys, "keys").js()?;
    let keys: Vec<&[u8]> = keys.iter().map(Bytes::as_slice).collect();
    guard(|| self.db.not_eq(&keys))
  }

  #[napi]
  pub fn not_eq_async(&self, keys: Unknown) -> AsyncTask<Job> {
    let keys: Vec<Vec<u8>> = try_args!(conv::bytes_list(&keys, "keys"))
      .into_iter()
      .map(Bytes::into_vec)
      .collect();
    let db = self.db.clone();
    spawn(move || db.not_eq(&keys))
  }

  #[napi]
  pub fn count(&self, prefix: Option<Unknown>) -> crate::err::Result<f64> {
    let prefix = prefix_arg(&prefix).js()?;
    guard(|| self.db.count(&prefix)).map(|n| n as f64)
  }

  #[napi]
  pub fn count_async(&self, prefix: Option<Unknown>) -> AsyncTask<Job> {
    let prefix = try_args!(prefix_arg(&prefix));
    let db = self.db.clone();
    spawn(move || db.count(&prefix))
  }

  /// Native lazy iterator over `[key, value]` (the JS layer wraps it).
  #[napi(js_name = "_scan")]
  pub fn scan(&self, prefix: Option<Unknown>, options: Option<Unknown>) -> crate::err::Result<JsKvIter> {
    let prefix = prefix_arg(&prefix).js()?;
    let o = conv::range_opts_bytes(&options).js()?;
    let it = guard(|| self.db.scan(&prefix, o.start_after.as_deref(), o.limit))?;
    Ok(JsKvIter::new(it))
  }

  #[napi(js_name = "_keys")]
  pub fn keys(&self, prefix: Option<Unknown>, options: Option<Unknown>) -> crate::err::Result<JsKeyIter> {
    let prefix = prefix_arg(&prefix).js()?;
    let o = conv::range_opts_bytes(&options).js()?;
    let it = guard(|| self.db.keys(&prefix, o.start_after.as_deref(), o.limit))?;
    Ok(JsKeyIter::new(it))
  }

  // ----------------------------------------------------------------- blobs

  #[napi]
  pub fn blob_put(&self, data: Unknown, metadata: Option<Unknown>) -> crate::err::Result<f64> {
    let data = conv::bytes(&data, "data").js()?;
    let metadata = metadata_arg(&metadata).js()?;
    guard(|| self.db.blob_put(data.as_slice(), metadata.as_deref())).map(|id| id as f64)
  }

  #[napi]
  pub fn blob_put_async(&self, data: Unknown, metadata: Option<Unknown>) -> AsyncTask<Job> {
    let mut pins = Vec::new();
    let data = try_args!(conv::abytes(&data, "data", &mut pins));
    let metadata = try_args!(metadata_arg(&metadata));
    let db = self.db.clone();
    spawn_pinned(pins, move || db.blob_put(data.as_slice(), metadata.as_deref()))
  }

  #[napi]
  pub fn blob_get(&self, env: Env, id: Unknown) -> crate::err::Result<JsUnknown> {
    let id = conv::uint(&id, "id").js()?;
    sync(&env, || self.db.blob_get(id))
  }

  #[napi]
  pub fn blob_get_async(&self, id: Unknown) -> AsyncTask<Job> {
    let id = try_args!(conv::uint(&id, "id"));
    let db = self.db.clone();
    spawn(move || db.blob_get(id))
  }

  #[napi]
  pub fn blob_metadata(&self, env: Env, id: Unknown) -> crate::err::Result<JsUnknown> {
    let id = conv::uint(&id, "id").js()?;
    sync(&env, || self.db.blob_metadata(id).map(Out::NullableStr))
  }

  #[napi]
  pub fn blob_metadata_async(&self, id: Unknown) -> AsyncTask<Job> {
    let id = try_args!(conv::uint(&id, "id"));
    let db = self.db.clone();
    spawn(move || db.blob_metadata(id).map(Out::NullableStr))
  }

  #[napi]
  pub fn blob_info(&self, env: Env, id: Unknown) -> crate::err::Result<JsUnknown> {
    let id = conv::uint(&id, "id").js()?;
    sync(&env, || self.db.blob_info(id))
  }

  #[napi]
  pub fn blob_info_async(&self, id: Unknown) -> AsyncTask<Job> {
    let id = try_args!(conv::uint(&id, "id"));
    let db = self.db.clone();
    spawn(move || db.blob_info(id))
  }

  /// `update`: `{ data?, metadata? }`; `metadata: null` removes it.
  #[napi]
  pub fn blob_update(&self, id: Unknown, update: Unknown) -> crate::err::Result<()> {
    let id = conv::uint(&id, "id").js()?;
    let (data, metadata) = blob_update_args(&update).js()?;
    guard(|| {
      self
        .db
        .blob_update(id, data.as_deref(), metadata.as_ref().map(|m| m.as_deref()))
    })
  }

  #[napi]
  pub fn blob_update_async(&self, id: Unknown, update: Unknown) -> AsyncTask<Job> {
    let id = try_args!(conv::uint(&id, "id"));
    let (data, metadata) = try_args!(blob_update_args(&update));
    let db = self.db.clone();
    spawn(move || db.blob_update(id, data.as_deref(), metadata.as_ref().map(|m| m.as_deref())))
  }

  #[napi]
  pub fn blob_delete(&self, id: Unknown) -> crate::err::Result<bool> {
    let id = conv::uint(&id, "id").js()?;
    guard(|| self.db.blob_delete(id))
  }

  #[napi]
  pub fn blob_delete_async(&self, id: Unknown) -> AsyncTask<Job> {
    let id = try_args!(conv::uint(&id, "id"));
    let db = self.db.clone();
    spawn(move || db.blob_delete(id))
  }

  #[napi]
  pub fn blob_open(&self, id: Unknown) -> crate::err::Result<crate::io::JsReader> {
    let id = conv::uint(&id, "id").js()?;
    guard(|| self.db.blob_open(id)).map(crate::io::JsReader::new)
  }

  #[napi]
  pub fn blob_open_async(&self, id: Unknown) -> AsyncTask<Job> {
    let id = try_args!(conv::uint(&id, "id"));
    let db = self.db.clone();
    spawn(move || db.blob_open(id))
  }

  #[napi]
  pub fn blob_eq(&self, ids: Unknown) -> crate::err::Result<bool> {
    let ids = conv::ids(&ids, "ids").js()?;
    guard(|| self.db.blob_eq(&ids))
  }

  #[napi]
  pub fn blob_eq_async(&self, ids: Unknown) -> AsyncTask<Job> {
    let ids = try_args!(conv::ids(&ids, "ids"));
    let db = self.db.clone();
    spawn(move || db.blob_eq(&ids))
  }

  #[napi]
  pub fn blob_not_eq(&self, ids: Unknown) -> crate::err::Result<bool> {
    let ids = conv::ids(&ids, "ids").js()?;
    guard(|| self.db.blob_not_eq(&ids))
  }

  #[napi]
  pub fn blob_not_eq_async(&self, ids: Unknown) -> AsyncTask<Job> {
    let ids = try_args!(conv::ids(&ids, "ids"));
    let db = self.db.clone();
    spawn(move || db.blob_not_eq(&ids))
  }

  /// `options`: `{ startAfter?: number, limit?: number }`.
  #[napi]
  pub fn blob_ids(&self, env: Env, options: Option<Unknown>) -> crate::err::Result<JsUnknown> {
    let (after, limit) = blob_ids_args(&options).js()?;
    sync(&env, || self.db.blob_ids(after, limit))
  }

  #[napi]
  pub fn blob_ids_async(&self, options: Option<Unknown>) -> AsyncTask<Job> {
    let (after, limit) = try_args!(blob_ids_args(&options));
    let db = self.db.clone();
    spawn(move || db.blob_ids(after, limit))
  }

  // --------------------------------------------------------------- streams

  #[napi]
  pub fn stream_write(
    &self,
    env: Env,
    path: Unknown,
    data: Unknown,
    options: Option<Unknown>,
  ) -> crate::err::Result<JsUnknown> {
    let path = conv::string(&path, "path").js()?;
    let data = conv::bytes(&data, "data").js()?;
    let compression = write_opts(&options).js()?;
    sync(&env, || stream_write_with(&self.db, &path, data.as_slice(), compression))
  }

  #[napi(js_name = "_streamWriteAsync")]
  pub fn stream_write_async(
    &self,
    path: Unknown,
    data: Unknown,
    options: Option<Unknown>,
  ) -> AsyncTask<Job> {
    let mut pins = Vec::new();
    let path = try_args!(conv::string(&path, "path"));
    let data = try_args!(conv::abytes(&data, "data", &mut pins));
    let compression = try_args!(write_opts(&options));
    let db = self.db.clone();
    spawn_pinned(pins, move || stream_write_with(&db, &path, data.as_slice(), compression))
  }

  /// A writer: nothing is visible until `commit()`.
  #[napi]
  pub fn stream_writer(&self, path: Unknown, options: Option<Unknown>) -> crate::err::Result<crate::io::JsWriter> {
    let path = conv::string(&path, "path").js()?;
    let compression = write_opts(&options).js()?;
    guard(|| self.db.stream_writer_with(&path, compression)).map(crate::io::JsWriter::new)
  }

  #[napi]
  pub fn stream_writer_async(&self, path: Unknown, options: Option<Unknown>) -> AsyncTask<Job> {
    let path = try_args!(conv::string(&path, "path"));
    let compression = try_args!(write_opts(&options));
    let db = self.db.clone();
    spawn(move || db.stream_writer_with(&path, compression))
  }

  #[napi]
  pub fn stream_read(&self, env: Env, path: Unknown) -> crate::err::Result<JsUnknown> {
    let path = conv::string(&path, "path").js()?;
    sync(&env, || self.db.stream_read(&path))
  }

  #[napi]
  pub fn stream_read_async(&self, path: Unknown) -> AsyncTask<Job> {
    let path = try_args!(conv::string(&path, "path"));
    let db = self.db.clone();
    spawn(move || db.stream_read(&path))
  }

  /// A reader over one version (the latest unless `{ version }`).
  #[napi]
  pub fn stream_open(&self, path: Unknown, options: Option<Unknown>) -> crate::err::Result<crate::io::JsReader> {
    let path = conv::string(&path, "path").js()?;
    let version = version_opt(&options).js()?;
    guard(|| self.db.stream_open(&path, version)).map(crate::io::JsReader::new)
  }

  #[napi]
  pub fn stream_open_async(&self, path: Unknown, options: Option<Unknown>) -> AsyncTask<Job> {
    let path = try_args!(conv::string(&path, "path"));
    let version = try_args!(version_opt(&options));
    let db = self.db.clone();
    spawn(move || db.stream_open(&path, version))
  }

  #[napi]
  pub fn stream_read_range(&self, env: Env, path: Unknown, offset: Unknown, length: Unknown) -> crate::err::Result<JsUnknown> {
    let path = conv::string(&path, "path").js()?;
    let offset = conv::uint(&offset, "offset").js()?;
    let length = conv::uint(&length, "length").js()?;
    sync(&env, || self.db.stream_read_range(&path, offset, length))
  }

  #[napi]
  pub fn stream_read_range_async(&self, path: Unknown, offset: Unknown, length: Unknown) -> AsyncTask<Job> {
    let path = try_args!(conv::string(&path, "path"));
    let offset = try_args!(conv::uint(&offset, "offset"));
    let length = try_args!(conv::uint(&length, "length"));
    let db = self.db.clone();
    spawn(move || db.stream_read_range(&path, offset, length))
  }

  #[napi]
  pub fn stream_stat(&self, env: Env, path: Unknown) -> crate::err::Result<JsUnknown> {
    let path = conv::string(&path, "path").js()?;
    sync(&env, || self.db.stream_stat(&path))
  }

  #[napi]
  pub fn stream_stat_async(&self, path: Unknown) -> AsyncTask<Job> {
    let path = try_args!(conv::string(&path, "path"));
    let db = self.db.clone();
    spawn(move || db.stream_stat(&path))
  }

  #[napi]
  pub fn stream_exists(&self, path: Unknown) -> crate::err::Result<bool> {
    let path = conv::string(&path, "path").js()?;
    guard(|| self.db.stream_exists(&path))
  }

  #[napi]
  pub fn stream_exists_async(&self, path: Unknown) -> AsyncTask<Job> {
    let path = try_args!(conv::string(&path, "path"));
    let db = self.db.clone();
    spawn(move || db.stream_exists(&path))
  }

  #[napi]
  pub fn stream_versions(&self, env: Env, path: Unknown) -> crate::err::Result<JsUnknown> {
    let path = conv::string(&path, "path").js()?;
    sync(&env, || self.db.stream_versions(&path))
  }

  #[napi]
  pub fn stream_versions_async(&self, path: Unknown) -> AsyncTask<Job> {
    let path = try_args!(conv::string(&path, "path"));
    let db = self.db.clone();
    spawn(move || db.stream_versions(&path))
  }

  #[napi]
  pub fn stream_delete(&self, path: Unknown) -> crate::err::Result<bool> {
    let path = conv::string(&path, "path").js()?;
    guard(|| self.db.stream_delete(&path))
  }

  #[napi]
  pub fn stream_delete_async(&self, path: Unknown) -> AsyncTask<Job> {
    let path = try_args!(conv::string(&path, "path"));
    let db = self.db.clone();
    spawn(move || db.stream_delete(&path))
  }

  // ---------------------------------------------------------------- search

  #[napi(js_name = "_search")]
  pub fn search(&self, prefix: Option<Unknown>, options: Option<Unknown>) -> crate::err::Result<JsPathIter> {
    let prefix = str_prefix_arg(&prefix).js()?;
    let o = conv::range_opts_str(&options).js()?;
    let it = guard(|| self.db.search(&prefix, o.start_after.as_deref(), o.limit))?;
    Ok(JsPathIter::new(it))
  }

  #[napi]
  pub fn search_count(&self, prefix: Option<Unknown>) -> crate::err::Result<f64> {
    let prefix = str_prefix_arg(&prefix).js()?;
    guard(|| self.db.search_count(&prefix)).map(|n| n as f64)
  }

  #[napi]
  pub fn search_count_async(&self, prefix: Option<Unknown>) -> AsyncTask<Job> {
    let prefix = try_args!(str_prefix_arg(&prefix));
    let db = self.db.clone();
    spawn(move || db.search_count(&prefix))
  }

  // ---------------------------------------------------------- transactions

  /// Start a transaction (waits up to the busy timeout for the writer, then `BUSY`).
  #[napi]
  pub fn begin(&self) -> crate::err::Result<crate::txn::JsTxn> {
    guard(|| self.db.begin()).map(crate::txn::JsTxn::new)
  }

  #[napi]
  pub fn begin_async(&self) -> AsyncTask<Job> {
    let db = self.db.clone();
    spawn(move || db.begin())
  }

  // ----------------------------------------------------------------- query

  /// Read-only SQL over the views `kv`, `blobs`, `streams`.
  #[napi]
  pub fn query(&self, env: Env, sql: Unknown, params: Option<Unknown>) -> crate::err::Result<JsUnknown> {
    let sql = conv::string(&sql, "sql").js()?;
    let params = conv::values(&params).js()?;
    sync(&env, || self.db.query(&sql, &params))
  }

  #[napi]
  pub fn query_async(&self, sql: Unknown, params: Option<Unknown>) -> AsyncTask<Job> {
    let sql = try_args!(conv::string(&sql, "sql"));
    let params = try_args!(conv::values(&params));
    let db = self.db.clone();
    spawn(move || db.query(&sql, &params))
  }
}

fn blob_ids_args(options: &Option<Unknown>) -> buffdb::Result<(Option<u64>, Option<usize>)> {
  let o = Opts::new(options, "options", &["startAfter", "limit"])?;
  Ok((o.uint("startAfter")?, o.uint("limit")?.map(conv::usize_of)))
}
