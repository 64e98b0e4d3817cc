//! Engine errors -> JS `Error`s whose `.code` is the stable BuffDB name.

use buffdb::{Error, ErrorCode};
use napi::bindgen_prelude::*;

/// The `.code` of a thrown error: always one of `ErrorCode::name()`.
pub struct Code(pub &'static str);

impl AsRef<str> for Code {
  fn as_ref(&self) -> &str {
    self.0
  }
}

/// What every synchronous binding returns: a thrown error carries `.code`.
/// (Named `Result` so that `#[napi]` recognises it as a fallible return.)
pub type Result<T> = std::result::Result<T, napi::Error<Code>>;
pub type JsResult<T> = Result<T>;

/// Engine error -> napi error with the stable code (`err.code`) and the engine's
/// message (`"NOT_FOUND: stream \"/a\" not found"`).
pub fn to_js(e: Error) -> napi::Error<Code> {
  napi::Error::new(Code(e.code().name()), e.to_string())
}

/// A failure of napi itself (out of memory, a pending exception, ...).
pub fn napi_failure(e: napi::Error) -> Error {
  Error::new(ErrorCode::Internal, format!("napi: {}", e.reason))
}

pub fn invalid(msg: impl Into<String>) -> Error {
  Error::new(ErrorCode::InvalidArgument, msg)
}

pub fn closed(msg: impl Into<String>) -> Error {
  Error::new(ErrorCode::Closed, msg)
}

pub trait IntoJs<T> {
  fn js(self) -> JsResult<T>;
}

impl<T> IntoJs<T> for buffdb::Result<T> {
  #[inline]
  fn js(self) -> JsResult<T> {
    self.map_err(to_js)
  }
}

/// Run engine code behind the panic boundary (a panic becomes `INTERNAL`).
#[inline]
pub fn guard<T>(f: impl FnOnce() -> buffdb::Result<T>) -> JsResult<T> {
  buffdb::catch_panic(f).js()
}

/// A rejected promise's reason: a real JS `Error` with `.code` set. napi's task
/// machinery only knows `napi::Status`, so the error object is built here and
/// handed over as a reference that napi rejects with unchanged.
pub fn rejection(env: &Env, e: Error) -> napi::Error {
  let err = napi::Error::new(Code(e.code().name()), e.to_string());
  unsafe {
    let value = JsError::from(err).into_value(env.raw());
    if value.is_null() {
      return napi::Error::new(Status::GenericFailure, e.to_string());
    }
    napi::Error::from(Unknown::from_raw_unchecked(env.raw(), value))
  }
}
