//! Node.js bindings for BuffDB (napi-rs). Thin: every method converts its
//! arguments, calls the engine behind a panic boundary and converts the result
//! or the error (a JS `Error` whose `.code` is the stable BuffDB name).
//!
//! The public JS API (iterators, Node streams, `transaction(fn)`) is the thin JS
//! layer in `lib/`, over the classes exported here.

#![deny(clippy::all)]
#![allow(clippy::missing_safety_doc)]

mod conv;
mod db;
mod err;
mod io;
mod iter;
mod model;
mod ops;
mod replicate;
mod task;
mod txn;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::conv::JsUnknown;
use crate::db::JsDb;
use crate::err::{guard, napi_failure, to_js, IntoJs};
use crate::task::{spawn, Job};

/// Open (or create) the database at `path`; `":memory:"` is a private in-memory one.
#[napi]
pub fn open(path: Unknown, options: Option<Unknown>) -> crate::err::Result<JsDb> {
  let path = db::open_path(&path).js()?;
  let opts = db::open_options(&options).js()?;
  guard(|| buffdb::Db::open(&path, opts)).map(JsDb::new)
}

/// `open()` on the libuv pool.
#[napi]
pub fn open_async(path: Unknown, options: Option<Unknown>) -> AsyncTask<Job> {
  let path = try_args!(db::open_path(&path));
  let opts = try_args!(db::open_options(&options));
  spawn(move || buffdb::Db::open(&path, opts))
}

/// Register the JS layer's scratch Buffer (see `Db._getScratch`).
#[napi(js_name = "_setScratch")]
pub fn set_scratch(buffer: Unknown) -> crate::err::Result<()> {
  conv::set_scratch(&buffer).js()
}

/// The engine version.
#[napi]
pub fn version() -> String {
  buffdb::version().to_owned()
}

/// Stable error names -> numbers (`{ NOT_FOUND: 1, ... }`), shared with C and Python.
#[napi(ts_return_type = "Record<string, number>")]
pub fn error_codes(env: Env) -> crate::err::Result<JsUnknown> {
  let raw = env.raw();
  (|| unsafe {
    let mut fields = Vec::new();
    for c in buffdb::ErrorCode::ALL {
      fields.push((c.name(), conv::number(raw, c.as_i32() as f64)?));
    }
    conv::object(raw, &fields)
  })()
  .map(JsUnknown)
  .map_err(|e| to_js(napi_failure(e)))
}
