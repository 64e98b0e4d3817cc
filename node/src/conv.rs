//! JS value <-> Rust conversions done by hand on raw napi values, so that every
//! bad argument becomes `INVALID_ARGUMENT` (napi's own checks would throw errors
//! with napi status codes instead).

use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr;

use buffdb::{BlobInfo, CheckReport, IndexEntry, IndexInfo, JsonValue, QueryResult, Record, Stats, StreamInfo, Value};
use napi::bindgen_prelude::*;
use napi::sys;

use crate::err::{invalid, napi_failure};

pub type BResult<T> = buffdb::Result<T>;

#[inline]
fn ok(status: sys::napi_status) -> BResult<()> {
  if status == sys::Status::napi_ok {
    Ok(())
  } else {
    Err(napi_failure(napi::Error::new(
      Status::from(status),
      "napi call failed".to_owned(),
    )))
  }
}

#[inline]
fn nok(status: sys::napi_status) -> napi::Result<()> {
  if status == sys::Status::napi_ok {
    Ok(())
  } else {
    Err(napi::Error::new(
      Status::from(status),
      "napi call failed".to_owned(),
    ))
  }
}

/// A raw JS value (already converted); what native methods hand back to napi.
pub struct JsUnknown(pub sys::napi_value);

impl ToNapiValue for JsUnknown {
  unsafe fn to_napi_value(_env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
    Ok(val.0)
  }
}

impl TypeName for JsUnknown {
  fn type_name() -> &'static str {
    "unknown"
  }
  fn value_type() -> ValueType {
    ValueType::Unknown
  }
}

// ---------------------------------------------------------------- arguments

#[inline]
pub fn raw(u: &Unknown) -> (sys::napi_env, sys::napi_value) {
  let v = u.value();
  (v.env, v.value)
}

pub unsafe fn type_of(env: sys::napi_env, v: sys::napi_value) -> BResult<sys::napi_valuetype> {
  let mut t = 0;
  ok(unsafe { sys::napi_typeof(env, v, &mut t) })?;
  Ok(t)
}

fn type_name(t: sys::napi_valuetype) -> &'static str {
  match t {
    sys::ValueType::napi_undefined => "undefined",
    sys::ValueType::napi_null => "null",
    sys::ValueType::napi_boolean => "a boolean",
    sys::ValueType::napi_number => "a number",
    sys::ValueType::napi_string => "a string",
    sys::ValueType::napi_symbol => "a symbol",
    sys::ValueType::napi_object => "an object",
    sys::ValueType::napi_function => "a function",
    sys::ValueType::napi_external => "an external",
    sys::ValueType::napi_bigint => "a bigint",
    _ => "an unknown value",
  }
}

/// Bytes of an argument: borrowed from a TypedArray/DataView (valid for the
/// current call), or owned (a string's UTF-8).
pub enum Bytes {
  Borrowed(*const u8, usize),
  Owned(Vec<u8>),
}

impl Bytes {
  #[inline]
  pub fn as_slice(&self) -> &[u8] {
    match self {
      Bytes::Borrowed(p, n) => {
        if *n == 0 {
          &[]
        } else {
          unsafe { std::slice::from_raw_parts(*p, *n) }
        }
      }
      Bytes::Owned(v) => v,
    }
  }
  pub fn into_vec(self) -> Vec<u8> {
    match self {
      Bytes::Owned(v) => v,
      b => b.as_slice().to_vec(),
    }
  }
}

/// A JS string as UTF-8. A string that is not well-formed Unicode (a lone
/// surrogate) is refused rather than silently turned into U+FFFD, which could
/// make two different JS strings the same key or path.
pub unsafe fn string_of(env: sys::napi_env, v: sys::napi_value) -> BResult<String> {
  const STACK: usize = 128;
  let mut small = [0u16; STACK];
  let mut len = 0usize;
  ok(unsafe { sys::napi_get_value_string_utf16(env, v, small.as_mut_ptr(), STACK, &mut len) })?;
  let lone = || invalid("string is not well-formed Unicode (it has a lone surrogate)");
  if len < STACK - 1 {
    return String::from_utf16(&small[..len]).map_err(|_| lone());
  }
  ok(unsafe { sys::napi_get_value_string_utf16(env, v, ptr::null_mut(), 0, &mut len) })?;
  let mut big = vec![0u16; len + 1];
  ok(unsafe { sys::napi_get_value_string_utf16(env, v, big.as_mut_ptr(), len + 1, &mut len) })?;
  String::from_utf16(&big[..len]).map_err(|_| lone())
}

/// The bytes of a TypedArray / DataView, or None if `v` is neither.
unsafe fn view_of(env: sys::napi_env, v: sys::napi_value) -> BResult<Option<(*mut u8, usize)>> {
  let mut is = false;
  ok(unsafe { sys::napi_is_typedarray(env, v, &mut is) })?;
  if is {
    let mut ty = 0;
    let mut len = 0usize;
    let mut data = ptr::null_mut();
    let mut ab = ptr::null_mut();
    let mut off = 0usize;
    ok(unsafe { sys::napi_get_typedarray_info(env, v, &mut ty, &mut len, &mut data, &mut ab, &mut off) })?;
    let elem = match ty {
      sys::TypedarrayType::int8_array
      | sys::TypedarrayType::uint8_array
      | sys::TypedarrayType::uint8_clamped_array => 1,
      sys::TypedarrayType::int16_array | sys::TypedarrayType::uint16_array => 2,
      sys::TypedarrayType::int32_array
      | sys::TypedarrayType::uint32_array
      | sys::TypedarrayType::float32_array => 4,
      _ => 8,
    };
    return Ok(Some((data.cast(), len * elem)));
  }
  ok(unsafe { sys::napi_is_dataview(env, v, &mut is) })?;
  if is {
    let mut len = 0usize;
    let mut data = ptr::null_mut();
    let mut ab = ptr::null_mut();
    let mut off = 0usize;
    ok(unsafe { sys::napi_get_dataview_info(env, v, &mut len, &mut data, &mut ab, &mut off) })?;
    return Ok(Some((data.cast(), len)));
  }
  Ok(None)
}

/// string (UTF-8) | Buffer | Uint8Array (any ArrayBufferView).
pub unsafe fn bytes_raw(env: sys::napi_env, v: sys::napi_value, what: &str) -> BResult<Bytes> {
  let t = unsafe { type_of(env, v)? };
  if t == sys::ValueType::napi_string {
    return Ok(Bytes::Owned(unsafe { string_of(env, v)? }.into_bytes()));
  }
  if t == sys::ValueType::napi_object {
    if let Some((p, n)) = unsafe { view_of(env, v)? } {
      return Ok(Bytes::Borrowed(p, n));
    }
  }
  Err(invalid(format!(
    "{what} must be a string, Buffer or Uint8Array, not {}",
    type_name(t)
  )))
}

#[inline]
pub fn bytes(u: &Unknown, what: &str) -> BResult<Bytes> {
  let (env, v) = raw(u);
  unsafe { bytes_raw(env, v, what) }
}

pub fn opt_bytes(u: &Option<Unknown>, what: &str) -> BResult<Option<Bytes>> {
  match u {
    None => Ok(None),
    Some(u) => bytes(u, what).map(Some),
  }
}

pub unsafe fn str_raw(env: sys::napi_env, v: sys::napi_value, what: &str) -> BResult<String> {
  let t = unsafe { type_of(env, v)? };
  if t == sys::ValueType::napi_string {
    return unsafe { string_of(env, v) };
  }
  Err(invalid(format!("{what} must be a string, not {}", type_name(t))))
}

pub fn string(u: &Unknown, what: &str) -> BResult<String> {
  let (env, v) = raw(u);
  unsafe { str_raw(env, v, what) }
}

pub fn opt_string(u: &Option<Unknown>, what: &str) -> BResult<Option<String>> {
  match u {
    None => Ok(None),
    Some(u) => string(u, what).map(Some),
  }
}

/// A non-negative integer (number or bigint) up to 2^64-1 (numbers: up to 2^53).
pub unsafe fn u64_raw(env: sys::napi_env, v: sys::napi_value, what: &str) -> BResult<u64> {
  let t = unsafe { type_of(env, v)? };
  if t == sys::ValueType::napi_number {
    let mut d = 0f64;
    ok(unsafe { sys::napi_get_value_double(env, v, &mut d) })?;
    if d.is_finite() && d >= 0.0 && d.fract() == 0.0 && d <= 9_007_199_254_740_991.0 {
      return Ok(d as u64);
    }
    return Err(invalid(format!(
      "{what} must be a non-negative safe integer, not {d}"
    )));
  }
  if t == sys::ValueType::napi_bigint {
    let mut x = 0u64;
    let mut lossless = false;
    ok(unsafe { sys::napi_get_value_bigint_uint64(env, v, &mut x, &mut lossless) })?;
    if lossless {
      return Ok(x);
    }
    return Err(invalid(format!("{what} is out of range")));
  }
  Err(invalid(format!(
    "{what} must be a non-negative integer, not {}",
    type_name(t)
  )))
}

pub fn uint(u: &Unknown, what: &str) -> BResult<u64> {
  let (env, v) = raw(u);
  unsafe { u64_raw(env, v, what) }
}

pub fn usize_of(x: u64) -> usize {
  usize::try_from(x).unwrap_or(usize::MAX)
}

pub unsafe fn bool_raw(env: sys::napi_env, v: sys::napi_value, what: &str) -> BResult<bool> {
  let t = unsafe { type_of(env, v)? };
  if t == sys::ValueType::napi_boolean {
    let mut b = false;
    ok(unsafe { sys::napi_get_value_bool(env, v, &mut b) })?;
    return Ok(b);
  }
  Err(invalid(format!("{what} must be a boolean, not {}", type_name(t))))
}

/// Elements of a JS array.
pub unsafe fn array_raw(env: sys::napi_env, v: sys::napi_value, what: &str) -> BResult<Vec<sys::napi_value>> {
  let mut is = false;
  ok(unsafe { sys::napi_is_array(env, v, &mut is) })?;
  if !is {
    let t = unsafe { type_of(env, v)? };
    return Err(invalid(format!("{what} must be an array, not {}", type_name(t))));
  }
  let mut n = 0u32;
  ok(unsafe { sys::napi_get_array_length(env, v, &mut n) })?;
  let mut out = Vec::with_capacity(n as usize);
  for i in 0..n {
    let mut e = ptr::null_mut();
    ok(unsafe { sys::napi_get_element(env, v, i, &mut e) })?;
    out.push(e);
  }
  Ok(out)
}

pub fn array(u: &Unknown, what: &str) -> BResult<Vec<sys::napi_value>> {
  let (env, v) = raw(u);
  unsafe { array_raw(env, v, what) }
}

/// keys: an array of string | Buffer.
pub fn bytes_list(u: &Unknown, what: &str) -> BResult<Vec<Bytes>> {
  let (env, _) = raw(u);
  let items = array(u, what)?;
  items
    .into_iter()
    .map(|e| unsafe { bytes_raw(env, e, what) })
    .collect()
}

/// pairs: an array of [key, value] arrays.
pub fn pairs(u: &Unknown, what: &str) -> BResult<Vec<(Bytes, Bytes)>> {
  let (env, _) = raw(u);
  let items = array(u, what)?;
  let mut out = Vec::with_capacity(items.len());
  for e in items {
    let kv = unsafe { array_raw(env, e, "each pair") }?;
    if kv.len() != 2 {
      return Err(invalid(format!("{what}: each pair must be [key, value]")));
    }
    out.push(unsafe { (bytes_raw(env, kv[0], "key")?, bytes_raw(env, kv[1], "value")?) });
  }
  Ok(out)
}

pub fn ids(u: &Unknown, what: &str) -> BResult<Vec<u64>> {
  let (env, _) = raw(u);
  array(u, what)?
    .into_iter()
    .map(|e| unsafe { u64_raw(env, e, "id") })
    .collect()
}

/// SQL parameters.
pub fn values(u: &Option<Unknown>) -> BResult<Vec<Value>> {
  let Some(u) = u else { return Ok(Vec::new()) };
  let (env, _) = raw(u);
  let items = array(u, "params")?;
  let mut out = Vec::with_capacity(items.len());
  for v in items {
    let t = unsafe { type_of(env, v)? };
    out.push(match t {
      sys::ValueType::napi_null | sys::ValueType::napi_undefined => Value::Null,
      sys::ValueType::napi_boolean => Value::Integer(unsafe { bool_raw(env, v, "param")? } as i64),
      sys::ValueType::napi_number => {
        let mut d = 0f64;
        ok(unsafe { sys::napi_get_value_double(env, v, &mut d) })?;
        if d.fract() == 0.0 && d.abs() <= 9_007_199_254_740_991.0 {
          Value::Integer(d as i64)
        } else {
          Value::Real(d)
        }
      }
      sys::ValueType::napi_bigint => {
        let mut x = 0i64;
        let mut lossless = false;
        ok(unsafe { sys::napi_get_value_bigint_int64(env, v, &mut x, &mut lossless) })?;
        if !lossless {
          return Err(invalid("a bigint param must fit in 64 bits"));
        }
        Value::Integer(x)
      }
      sys::ValueType::napi_string => Value::Text(unsafe { string_of(env, v)? }),
      sys::ValueType::napi_object => match unsafe { view_of(env, v)? } {
        Some(_) => Value::Blob(unsafe { bytes_raw(env, v, "param")? }.into_vec()),
        None => return Err(invalid("a param must be null, a number, bigint, string, boolean or Buffer")),
      },
      other => {
        return Err(invalid(format!(
          "a param must be null, a number, bigint, string, boolean or Buffer, not {}",
          type_name(other)
        )))
      }
    });
  }
  Ok(out)
}

/// Reads an options object, refusing unknown keys and wrongly typed values.
pub struct Opts {
  pub(crate) env: sys::napi_env,
  obj: Option<sys::napi_value>,
  what: &'static str,
}

impl Opts {
  pub fn new(u: &Option<Unknown>, what: &'static str, known: &[&str]) -> BResult<Opts> {
    let Some(u) = u else {
      return Ok(Opts { env: ptr::null_mut(), obj: None, what });
    };
    let (env, v) = raw(u);
    let t = unsafe { type_of(env, v)? };
    if t != sys::ValueType::napi_object {
      return Err(invalid(format!("{what} must be an object, not {}", type_name(t))));
    }
    let mut names = ptr::null_mut();
    ok(unsafe { sys::napi_get_property_names(env, v, &mut names) })?;
    for n in unsafe { array_raw(env, names, "names")? } {
      let name = unsafe { str_raw(env, n, "option name")? };
      if !known.contains(&name.as_str()) {
        return Err(invalid(format!(
          "unknown {what} option {name:?} (known: {})",
          known.join(", ")
        )));
      }
    }
    Ok(Opts { env, obj: Some(v), what })
  }

  /// The property, or None when absent or undefined.
  pub fn get(&self, name: &str) -> BResult<Option<sys::napi_value>> {
    let Some(obj) = self.obj else { return Ok(None) };
    let cname = std::ffi::CString::new(name).map_err(|_| invalid("bad option name"))?;
    let mut has = false;
    ok(unsafe { sys::napi_has_named_property(self.env, obj, cname.as_ptr(), &mut has) })?;
    if !has {
      return Ok(None);
    }
    let mut v = ptr::null_mut();
    ok(unsafe { sys::napi_get_named_property(self.env, obj, cname.as_ptr(), &mut v) })?;
    if unsafe { type_of(self.env, v)? } == sys::ValueType::napi_undefined {
      return Ok(None);
    }
    Ok(Some(v))
  }

  fn label(&self, name: &str) -> String {
    format!("{}.{name}", self.what)
  }

  pub fn is_null(&self, v: sys::napi_value) -> BResult<bool> {
    Ok(unsafe { type_of(self.env, v)? } == sys::ValueType::napi_null)
  }

  pub fn bool(&self, name: &str) -> BResult<Option<bool>> {
    match self.get(name)? {
      None => Ok(None),
      Some(v) => unsafe { bool_raw(self.env, v, &self.label(name)) }.map(Some),
    }
  }

  pub fn uint(&self, name: &str) -> BResult<Option<u64>> {
    match self.get(name)? {
      None => Ok(None),
      Some(v) => unsafe { u64_raw(self.env, v, &self.label(name)) }.map(Some),
    }
  }

  pub fn string(&self, name: &str) -> BResult<Option<String>> {
    match self.get(name)? {
      None => Ok(None),
      Some(v) => unsafe { str_raw(self.env, v, &self.label(name)) }.map(Some),
    }
  }

  pub fn bytes(&self, name: &str) -> BResult<Option<Bytes>> {
    match self.get(name)? {
      None => Ok(None),
      Some(v) => unsafe { bytes_raw(self.env, v, &self.label(name)) }.map(Some),
    }
  }

  /// A JSON scalar (`json_raw`); undefined / absent -> None, `null` -> the JSON null.
  pub fn json(&self, name: &str) -> BResult<Option<JsonValue>> {
    match self.get(name)? {
      None => Ok(None),
      Some(v) => unsafe { json_raw(self.env, v, &self.label(name)) }.map(Some),
    }
  }

  /// undefined / absent / null -> None.
  pub fn opt_bytes(&self, name: &str) -> BResult<Option<Bytes>> {
    match self.get(name)? {
      Some(v) if !self.is_null(v)? => unsafe { bytes_raw(self.env, v, &self.label(name)) }.map(Some),
      _ => Ok(None),
    }
  }

  /// undefined / absent -> None; null -> Some(None); string -> Some(Some(s)).
  pub fn nullable_string(&self, name: &str) -> BResult<Option<Option<String>>> {
    match self.get(name)? {
      None => Ok(None),
      Some(v) if self.is_null(v)? => Ok(Some(None)),
      Some(v) => unsafe { str_raw(self.env, v, &self.label(name)) }.map(|s| Some(Some(s))),
    }
  }
}

/// Arguments of scan/keys/search: `{ startAfter, limit }`.
pub struct RangeOpts<B> {
  pub start_after: Option<B>,
  pub limit: Option<usize>,
}

pub fn range_opts_bytes(u: &Option<Unknown>) -> BResult<RangeOpts<Vec<u8>>> {
  let o = Opts::new(u, "options", &["startAfter", "limit"])?;
  Ok(RangeOpts {
    start_after: o.bytes("startAfter")?.map(Bytes::into_vec),
    limit: o.uint("limit")?.map(usize_of),
  })
}

pub fn range_opts_str(u: &Option<Unknown>) -> BResult<RangeOpts<String>> {
  let o = Opts::new(u, "options", &["startAfter", "limit"])?;
  Ok(RangeOpts {
    start_after: o.string("startAfter")?,
    limit: o.uint("limit")?.map(usize_of),
  })
}

// ------------------------------------------------------------ index arguments

/// What `find` / `findRange` look for: null, a boolean, a finite number or a string
/// (arrays and objects are never in an index).
pub unsafe fn json_raw(env: sys::napi_env, v: sys::napi_value, what: &str) -> BResult<JsonValue> {
  let t = unsafe { type_of(env, v)? };
  match t {
    sys::ValueType::napi_null => Ok(JsonValue::Null),
    sys::ValueType::napi_boolean => Ok(JsonValue::Bool(unsafe { bool_raw(env, v, what)? })),
    sys::ValueType::napi_number => {
      let mut d = 0f64;
      ok(unsafe { sys::napi_get_value_double(env, v, &mut d) })?;
      if !d.is_finite() {
        return Err(invalid(format!("{what} must be a finite number, not {d}")));
      }
      Ok(if d.fract() == 0.0 && d.abs() <= 9_007_199_254_740_991.0 { JsonValue::from(d as i64) } else { JsonValue::from(d) })
    }
    sys::ValueType::napi_bigint => {
      let mut x = 0i64;
      let mut lossless = false;
      ok(unsafe { sys::napi_get_value_bigint_int64(env, v, &mut x, &mut lossless) })?;
      if lossless {
        return Ok(JsonValue::from(x));
      }
      let mut u = 0u64;
      ok(unsafe { sys::napi_get_value_bigint_uint64(env, v, &mut u, &mut lossless) })?;
      if lossless {
        return Ok(JsonValue::from(u));
      }
      Err(invalid(format!("{what}: a bigint must fit in 64 bits")))
    }
    sys::ValueType::napi_string => Ok(JsonValue::String(unsafe { string_of(env, v)? })),
    other => Err(invalid(format!(
      "{what} must be null, a boolean, a number or a string (arrays and objects are not indexed), not {}",
      type_name(other)
    ))),
  }
}

pub fn json(u: &Unknown, what: &str) -> BResult<JsonValue> {
  let (env, v) = raw(u);
  unsafe { json_raw(env, v, what) }
}

/// The record of a `startAfter` entry as JS gave it; which kind it must be depends
/// on the index's source (`resolve`).
pub enum RecordArg {
  Bytes(Vec<u8>),
  Text(String),
  Id(u64),
}

/// `findRange`'s `startAfter`: an entry `{ value, record }` as the iterator gave it.
pub struct EntryArg {
  pub value: JsonValue,
  pub record: RecordArg,
}

impl EntryArg {
  /// The engine's entry, for an index over `source` ("kv", "blob" or "stream").
  pub fn resolve(&self, source: &str) -> BResult<IndexEntry> {
    let bad = |want: &str| invalid(format!("options.startAfter.record must be {want} for an index over {source}"));
    let record = match (source, &self.record) {
      ("kv", RecordArg::Bytes(b)) => Record::Key(b.clone()),
      ("kv", RecordArg::Text(s)) => Record::Key(s.as_bytes().to_vec()),
      ("kv", RecordArg::Id(_)) => return Err(bad("a key (string or Buffer)")),
      ("blob", RecordArg::Id(id)) => Record::Blob(*id),
      ("blob", _) => return Err(bad("a blob id (number)")),
      ("stream", RecordArg::Text(s)) => Record::Path(s.clone()),
      ("stream", RecordArg::Bytes(b)) => {
        Record::Path(String::from_utf8(b.clone()).map_err(|_| bad("a path (string)"))?)
      }
      ("stream", RecordArg::Id(_)) => return Err(bad("a path (string)")),
      _ => return Err(invalid(format!("unknown index source {source:?}"))),
    };
    Ok(IndexEntry { value: self.value.clone(), record })
  }
}

pub fn entry_arg(o: &Opts, name: &str) -> BResult<Option<EntryArg>> {
  let Some(v) = o.get(name)? else { return Ok(None) };
  let inner = Some(unsafe { Unknown::from_raw_unchecked(o.env, v) });
  let what = "options.startAfter";
  let e = Opts::new(&inner, what, &["value", "record"])?;
  let value = match e.get("value")? {
    Some(v) => unsafe { json_raw(o.env, v, "options.startAfter.value")? },
    None => return Err(invalid("options.startAfter must be an entry { value, record } (value missing)")),
  };
  let Some(r) = e.get("record")? else {
    return Err(invalid("options.startAfter must be an entry { value, record } (record missing)"));
  };
  let record = match unsafe { type_of(o.env, r)? } {
    sys::ValueType::napi_number | sys::ValueType::napi_bigint => {
      RecordArg::Id(unsafe { u64_raw(o.env, r, "options.startAfter.record")? })
    }
    sys::ValueType::napi_string => RecordArg::Text(unsafe { string_of(o.env, r)? }),
    _ => RecordArg::Bytes(unsafe { bytes_raw(o.env, r, "options.startAfter.record")? }.into_vec()),
  };
  Ok(Some(EntryArg { value, record }))
}

// -------------------------------------------------- buffers pinned for the pool

/// A JS ArrayBufferView kept alive (napi reference) while a libuv pool thread
/// reads or fills its memory; released on the JS thread when the task ends.
pub struct Pin {
  reference: sys::napi_ref,
}

unsafe impl Send for Pin {}

impl Pin {
  pub fn release(self, env: sys::napi_env) {
    unsafe {
      sys::napi_delete_reference(env, self.reference);
    }
  }
}

/// A view of pinned (or owned) memory that a pool thread may use.
#[derive(Clone, Copy)]
pub struct SendSlice {
  ptr: *mut u8,
  len: usize,
}

unsafe impl Send for SendSlice {}

impl SendSlice {
  pub fn as_slice(&self) -> &[u8] {
    if self.len == 0 {
      &[]
    } else {
      unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
  }
  #[allow(clippy::mut_from_ref)]
  pub fn as_mut_slice(&self) -> &mut [u8] {
    if self.len == 0 {
      &mut []
    } else {
      unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
  }
}

/// Bytes for an async call: strings and small views are copied, big views are
/// pinned (zero-copy) until the task ends.
pub enum ABytes {
  Owned(Vec<u8>),
  Pinned(SendSlice),
}

impl ABytes {
  pub fn as_slice(&self) -> &[u8] {
    match self {
      ABytes::Owned(v) => v,
      ABytes::Pinned(s) => s.as_slice(),
    }
  }
}

const PIN_THRESHOLD: usize = 64 * 1024;

pub unsafe fn pin_raw(env: sys::napi_env, v: sys::napi_value) -> BResult<Pin> {
  let mut reference = ptr::null_mut();
  ok(unsafe { sys::napi_create_reference(env, v, 1, &mut reference) })?;
  Ok(Pin { reference })
}

pub fn abytes(u: &Unknown, what: &str, pins: &mut Vec<Pin>) -> BResult<ABytes> {
  let (env, v) = raw(u);
  let b = unsafe { bytes_raw(env, v, what)? };
  match b {
    Bytes::Borrowed(p, n) if n >= PIN_THRESHOLD => {
      pins.push(unsafe { pin_raw(env, v)? });
      Ok(ABytes::Pinned(SendSlice { ptr: p as *mut u8, len: n }))
    }
    b => Ok(ABytes::Owned(b.into_vec())),
  }
}

/// A writable view (readInto): always pinned.
pub fn out_view(u: &Unknown, what: &str, pins: &mut Vec<Pin>) -> BResult<SendSlice> {
  let (env, v) = raw(u);
  let t = unsafe { type_of(env, v)? };
  if t == sys::ValueType::napi_object {
    if let Some((p, n)) = unsafe { view_of(env, v)? } {
      pins.push(unsafe { pin_raw(env, v)? });
      return Ok(SendSlice { ptr: p, len: n });
    }
  }
  Err(invalid(format!("{what} must be a Buffer or Uint8Array, not {}", type_name(t))))
}

/// A writable view for a synchronous call (no pin needed).
pub fn out_view_sync(u: &Unknown, what: &str) -> BResult<SendSlice> {
  let (env, v) = raw(u);
  let t = unsafe { type_of(env, v)? };
  if t == sys::ValueType::napi_object {
    if let Some((p, n)) = unsafe { view_of(env, v)? } {
      return Ok(SendSlice { ptr: p, len: n });
    }
  }
  Err(invalid(format!("{what} must be a Buffer or Uint8Array, not {}", type_name(t))))
}

// ---------------------------------------------------------------- results

thread_local! {
  /// Scratch for zero-copy reads: the engine's borrowed bytes are copied here
  /// inside its callback, and into a JS Buffer after it returns (creating JS
  /// values inside the engine's callback could run finalizers that re-enter it).
  pub static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

thread_local! {
  /// The JS layer's scratch Buffer (one per JS thread / addon instance), kept
  /// alive by a napi reference for the life of the module.
  static JS_SCRATCH: std::cell::Cell<(*mut u8, usize)> = const { std::cell::Cell::new((ptr::null_mut(), 0)) };
}

/// Register the scratch Buffer used by `Db._getScratch`.
pub fn set_scratch(u: &Unknown) -> BResult<()> {
  let mut pins = Vec::new();
  let view = out_view(u, "scratch", &mut pins)?;
  // The reference is never released: the scratch lives as long as the module.
  std::mem::forget(pins);
  JS_SCRATCH.with(|c| c.set((view.ptr, view.len)));
  Ok(())
}

pub fn scratch() -> (*mut u8, usize) {
  JS_SCRATCH.with(|c| c.get())
}

pub unsafe fn undefined(env: sys::napi_env) -> napi::Result<sys::napi_value> {
  let mut v = ptr::null_mut();
  nok(unsafe { sys::napi_get_undefined(env, &mut v) })?;
  Ok(v)
}

pub unsafe fn null(env: sys::napi_env) -> napi::Result<sys::napi_value> {
  let mut v = ptr::null_mut();
  nok(unsafe { sys::napi_get_null(env, &mut v) })?;
  Ok(v)
}

pub unsafe fn boolean(env: sys::napi_env, b: bool) -> napi::Result<sys::napi_value> {
  let mut v = ptr::null_mut();
  nok(unsafe { sys::napi_get_boolean(env, b, &mut v) })?;
  Ok(v)
}

pub unsafe fn number(env: sys::napi_env, d: f64) -> napi::Result<sys::napi_value> {
  let mut v = ptr::null_mut();
  nok(unsafe { sys::napi_create_double(env, d, &mut v) })?;
  Ok(v)
}

pub unsafe fn int64(env: sys::napi_env, x: i64) -> napi::Result<sys::napi_value> {
  if x.unsigned_abs() <= 9_007_199_254_740_991 {
    return unsafe { number(env, x as f64) };
  }
  let mut v = ptr::null_mut();
  nok(unsafe { sys::napi_create_bigint_int64(env, x, &mut v) })?;
  Ok(v)
}

pub unsafe fn str_val(env: sys::napi_env, s: &str) -> napi::Result<sys::napi_value> {
  let mut v = ptr::null_mut();
  nok(unsafe { sys::napi_create_string_utf8(env, s.as_ptr().cast(), s.len() as isize, &mut v) })?;
  Ok(v)
}

/// A new Buffer holding a copy of `data`.
pub unsafe fn buffer_copy(env: sys::napi_env, data: &[u8]) -> napi::Result<sys::napi_value> {
  let mut v = ptr::null_mut();
  let mut out = ptr::null_mut();
  nok(unsafe {
    sys::napi_create_buffer_copy(env, data.len(), data.as_ptr().cast(), &mut out, &mut v)
  })?;
  Ok(v)
}

unsafe extern "C" fn drop_vec(env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
  let _ = env;
  drop(unsafe { Box::<Vec<u8>>::from_raw(hint.cast()) });
}

/// A Buffer owning `data`: copied when small, wrapped without a copy when big.
pub unsafe fn buffer_vec(env: sys::napi_env, data: Vec<u8>) -> napi::Result<sys::napi_value> {
  if data.len() < PIN_THRESHOLD {
    return unsafe { buffer_copy(env, &data) };
  }
  let mut data = Box::new(data);
  let ptr = data.as_mut_ptr();
  let len = data.len();
  let cap = data.capacity() as i64;
  let hint = Box::into_raw(data);
  let mut v = ptr::null_mut();
  let status = unsafe {
    sys::napi_create_external_buffer(env, len, ptr.cast(), Some(drop_vec), hint.cast(), &mut v)
  };
  if status != sys::Status::napi_ok {
    // Runtimes without external buffers: copy.
    let data = unsafe { Box::from_raw(hint) };
    return unsafe { buffer_copy(env, &data) };
  }
  // (No napi_adjust_external_memory: V8 already counts an external backing
  // store's length; reporting it again forces needless full GCs.)
  let _ = cap;
  Ok(v)
}

pub unsafe fn array_of(env: sys::napi_env, items: Vec<sys::napi_value>) -> napi::Result<sys::napi_value> {
  let mut a = ptr::null_mut();
  nok(unsafe { sys::napi_create_array_with_length(env, items.len(), &mut a) })?;
  for (i, v) in items.into_iter().enumerate() {
    nok(unsafe { sys::napi_set_element(env, a, i as u32, v) })?;
  }
  Ok(a)
}

pub unsafe fn object(env: sys::napi_env, fields: &[(&str, sys::napi_value)]) -> napi::Result<sys::napi_value> {
  let mut o = ptr::null_mut();
  nok(unsafe { sys::napi_create_object(env, &mut o) })?;
  for (k, v) in fields {
    let key = unsafe { str_val(env, k)? };
    nok(unsafe { sys::napi_set_property(env, o, key, *v) })?;
  }
  Ok(o)
}

pub unsafe fn stream_info(env: sys::napi_env, i: &StreamInfo) -> napi::Result<sys::napi_value> {
  unsafe {
    object(
      env,
      &[
        ("path", str_val(env, &i.path)?),
        ("version", number(env, i.version as f64)?),
        ("size", number(env, i.size as f64)?),
        ("crc32", number(env, i.crc32 as f64)?),
        ("chunkCount", number(env, i.chunk_count as f64)?),
        ("chunkSize", number(env, i.chunk_size as f64)?),
        ("storedSize", number(env, i.stored_size as f64)?),
        ("createdMs", number(env, i.created_ms as f64)?),
        ("metadata", nullable_str(env, i.metadata.as_deref())?),
      ],
    )
  }
}

/// A string, or `null`.
pub unsafe fn nullable_str(env: sys::napi_env, s: Option<&str>) -> napi::Result<sys::napi_value> {
  unsafe {
    match s {
      Some(s) => str_val(env, s),
      None => null(env),
    }
  }
}

pub unsafe fn blob_info(env: sys::napi_env, i: &BlobInfo) -> napi::Result<sys::napi_value> {
  unsafe {
    object(
      env,
      &[
        ("id", number(env, i.id as f64)?),
        ("size", number(env, i.size as f64)?),
        ("metadata", nullable_str(env, i.metadata.as_deref())?),
        ("crc32", number(env, i.crc32 as f64)?),
        ("chunkCount", number(env, i.chunk_count as f64)?),
        ("createdMs", number(env, i.created_ms as f64)?),
      ],
    )
  }
}

pub unsafe fn stats(env: sys::napi_env, s: &Stats) -> napi::Result<sys::napi_value> {
  unsafe {
    object(
      env,
      &[
        ("kvCount", number(env, s.kv_count as f64)?),
        ("blobCount", number(env, s.blob_count as f64)?),
        ("streamCount", number(env, s.stream_count as f64)?),
        ("versionCount", number(env, s.version_count as f64)?),
        ("fileSize", number(env, s.file_size as f64)?),
        ("pageSize", number(env, s.page_size as f64)?),
        ("formatVersion", number(env, s.format_version as f64)?),
      ],
    )
  }
}

pub unsafe fn check_report(env: sys::napi_env, r: &CheckReport) -> napi::Result<sys::napi_value> {
  unsafe {
    let streams = r
      .damaged_streams
      .iter()
      .map(|s| str_val(env, s))
      .collect::<napi::Result<Vec<_>>>()?;
    let blobs = r
      .damaged_blobs
      .iter()
      .map(|b| number(env, *b as f64))
      .collect::<napi::Result<Vec<_>>>()?;
    let errors = r
      .sqlite_errors
      .iter()
      .map(|s| str_val(env, s))
      .collect::<napi::Result<Vec<_>>>()?;
    let index_problems = r
      .index_problems
      .iter()
      .map(|s| str_val(env, s))
      .collect::<napi::Result<Vec<_>>>()?;
    object(
      env,
      &[
        ("ok", boolean(env, r.ok)?),
        ("chunksChecked", number(env, r.chunks_checked as f64)?),
        ("damagedStreams", array_of(env, streams)?),
        ("damagedBlobs", array_of(env, blobs)?),
        ("sqliteErrors", array_of(env, errors)?),
        ("indexProblems", array_of(env, index_problems)?),
      ],
    )
  }
}

/// A JSON value as JS: numbers past 2^53 as bigint (as SQL integers are).
pub unsafe fn json_value(env: sys::napi_env, v: &JsonValue) -> napi::Result<sys::napi_value> {
  unsafe {
    match v {
      JsonValue::Null => null(env),
      JsonValue::Bool(b) => boolean(env, *b),
      JsonValue::Number(n) => match (n.as_i64(), n.as_u64()) {
        (Some(i), _) => int64(env, i),
        (None, Some(u)) => {
          let mut out = ptr::null_mut();
          nok(sys::napi_create_bigint_uint64(env, u, &mut out))?;
          Ok(out)
        }
        _ => number(env, n.as_f64().unwrap_or(f64::NAN)),
      },
      JsonValue::String(s) => str_val(env, s),
      JsonValue::Array(a) => {
        let items = a.iter().map(|x| json_value(env, x)).collect::<napi::Result<Vec<_>>>()?;
        array_of(env, items)
      }
      JsonValue::Object(m) => {
        let mut fields = Vec::with_capacity(m.len());
        for (k, x) in m {
          fields.push((k.as_str(), json_value(env, x)?));
        }
        object(env, &fields)
      }
    }
  }
}

/// What an index entry points at: a key (Buffer), a blob id (number), a path (string).
pub unsafe fn record(env: sys::napi_env, r: &Record) -> napi::Result<sys::napi_value> {
  unsafe {
    match r {
      Record::Key(k) => buffer_copy(env, k),
      Record::Blob(id) => number(env, *id as f64),
      Record::Path(p) => str_val(env, p),
    }
  }
}

pub unsafe fn index_entry(env: sys::napi_env, e: &IndexEntry) -> napi::Result<sys::napi_value> {
  unsafe { object(env, &[("value", json_value(env, &e.value)?), ("record", record(env, &e.record)?)]) }
}

pub unsafe fn index_info(env: sys::napi_env, i: &IndexInfo) -> napi::Result<sys::napi_value> {
  unsafe {
    object(
      env,
      &[
        ("name", str_val(env, &i.name)?),
        ("source", str_val(env, &i.source)?),
        ("jsonPath", str_val(env, &i.json_path)?),
        ("unique", boolean(env, i.unique)?),
        (
          "keyPrefix",
          match &i.key_prefix {
            Some(p) => buffer_copy(env, p)?,
            None => null(env)?,
          },
        ),
        ("entries", number(env, i.entries as f64)?),
        ("ready", boolean(env, i.ready)?),
      ],
    )
  }
}

pub unsafe fn sql_value(env: sys::napi_env, v: Value) -> napi::Result<sys::napi_value> {
  unsafe {
    match v {
      Value::Null => null(env),
      Value::Integer(i) => int64(env, i),
      Value::Real(d) => number(env, d),
      Value::Text(s) => str_val(env, &s),
      Value::Blob(b) => buffer_vec(env, b),
    }
  }
}

pub unsafe fn query_result(env: sys::napi_env, q: QueryResult) -> napi::Result<sys::napi_value> {
  unsafe {
    let cols = q
      .columns
      .iter()
      .map(|c| str_val(env, c))
      .collect::<napi::Result<Vec<_>>>()?;
    let mut rows = Vec::with_capacity(q.rows.len());
    for row in q.rows {
      let cells = row
        .into_iter()
        .map(|v| sql_value(env, v))
        .collect::<napi::Result<Vec<_>>>()?;
      rows.push(array_of(env, cells)?);
    }
    object(env, &[("columns", array_of(env, cols)?), ("rows", array_of(env, rows)?)])
  }
}

/// `{ data, metadata }` of blobUpdate.
/// `blobUpdate`'s {data, metadata}: new bytes, and new metadata (`Some(None)` clears it).
pub type BlobUpdate = (Option<Vec<u8>>, Option<Option<String>>);

pub fn blob_update_args(update: &Unknown) -> buffdb::Result<BlobUpdate> {
  let u = Some(*update);
  let o = Opts::new(&u, "update", &["data", "metadata"])?;
  Ok((o.bytes("data")?.map(Bytes::into_vec), o.nullable_string("metadata")?))
}

pub fn metadata_arg(m: &Option<Unknown>) -> buffdb::Result<Option<String>> {
  opt_string(m, "metadata")
}
