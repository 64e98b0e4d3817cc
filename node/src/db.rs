//! `Db`: an open database. Its operations are the shared ones (`ops.rs`); here
//! are only what a database has and a transaction has not: open options,
//! close, checkpoint, stats, check and begin.

use buffdb::{Db, Durability, EncryptionKey, OpenOptions};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::conv::{self, JsUnknown, Opts};
use crate::err::{guard, invalid, napi_failure, to_js, IntoJs};
use crate::ops::{operations, Target};
use crate::task::{spawn, sync, Job, Out};

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
  "encryptionKey",
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
  opts.encryption_key = encryption_key(&o)?;
  Ok(opts)
}

/// `encryptionKey`: a string is a passphrase, a Buffer / Uint8Array a raw 32-byte key;
/// absent, undefined or null is no key.
fn encryption_key(o: &Opts) -> buffdb::Result<Option<EncryptionKey>> {
  let Some(v) = o.get("encryptionKey")? else { return Ok(None) };
  if o.is_null(v)? {
    return Ok(None);
  }
  // SAFETY: `v` is a value of the current call's env.
  unsafe { key_value(o.env, v, "options.encryptionKey") }.map(Some)
}

/// A key as `encryptionKey` takes it: a string is a passphrase, a Buffer / Uint8Array a
/// raw 32-byte key.
///
/// # Safety
/// `v` is a value of `env`, the current call's.
unsafe fn key_value(env: napi::sys::napi_env, v: napi::sys::napi_value, what: &str) -> buffdb::Result<EncryptionKey> {
  if unsafe { conv::type_of(env, v)? } == napi::sys::ValueType::napi_string {
    return EncryptionKey::passphrase(unsafe { conv::string_of(env, v)? });
  }
  let key = unsafe { conv::bytes_raw(env, v, what) }.map_err(|_| {
    invalid(format!("{what} must be a string (a passphrase) or a Buffer / Uint8Array (a raw 32-byte key)"))
  })?;
  EncryptionKey::raw(key.as_slice())
}

/// The arguments of `rekey`: the path and both keys.
fn rekey_args(path: &Unknown, key: &Unknown, new_key: &Unknown) -> buffdb::Result<(String, EncryptionKey, EncryptionKey)> {
  let (env, k) = conv::raw(key);
  let (_, n) = conv::raw(new_key);
  // SAFETY: both are arguments of the current call.
  Ok((conv::string(path, "path")?, unsafe { key_value(env, k, "key")? }, unsafe { key_value(env, n, "newKey")? }))
}

/// Changes the key of the encrypted database at `path` (closed everywhere else: `BUSY`
/// otherwise) from `key` to `newKey` (each as `encryptionKey`: a string passphrase or a
/// raw 32-byte Buffer / Uint8Array), then opens it with the new key and checks it;
/// returns the check. A wrong `key` is `NOT_A_DATABASE` and changes nothing.
#[napi]
pub fn rekey(env: Env, path: Unknown, key: Unknown, new_key: Unknown) -> crate::err::Result<JsUnknown> {
  let args = rekey_args(&path, &key, &new_key);
  sync(&env, move || {
    let (path, key, new_key) = args?;
    buffdb::rekey(&path, &key, &new_key)
  })
}

/// `rekey()` on the libuv pool.
#[napi(ts_return_type = "Promise<unknown>")]
pub fn rekey_async(path: Unknown, key: Unknown, new_key: Unknown) -> AsyncTask<Job> {
  match rekey_args(&path, &key, &new_key) {
    Ok((path, key, new_key)) => spawn(move || buffdb::rekey(&path, &key, &new_key)),
    Err(e) => crate::task::fail(e),
  }
}

/// Whether this build opens encrypted databases (the cargo feature `encryption`).
#[napi]
pub fn encryption_available() -> bool {
  buffdb::ENCRYPTION_AVAILABLE
}

pub fn open_path(path: &Unknown) -> buffdb::Result<String> {
  conv::string(path, "path")
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
}

impl Target for JsDb {
  type Ops = Db;
  type Handle = Db;

  #[inline]
  fn handle(&self) -> &Db {
    &self.db
  }

  #[inline]
  fn on<R>(db: &Db, f: impl FnOnce(&Db) -> buffdb::Result<R>) -> buffdb::Result<R> {
    f(db)
  }
}

operations!(JsDb);
crate::model::model_operations!(JsDb);
