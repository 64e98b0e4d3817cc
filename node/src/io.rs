//! `Reader` (a blob or one stream version, chunk by chunk) and `StreamWriter`.

use std::sync::Arc;

use buffdb::StreamInfo;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use parking_lot::Mutex;

use crate::conv::{self, JsUnknown};
use crate::err::{closed, guard, to_js, napi_failure, IntoJs};
use crate::task::{spawn, spawn_pinned, sync, Job, Out};
use crate::try_args;

/// Reads a blob or one version of a stream; never mixes two versions.
#[napi(js_name = "Reader")]
pub struct JsReader {
  inner: Arc<Mutex<buffdb::Reader>>,
  size: u64,
  info: Option<StreamInfo>,
}

impl JsReader {
  pub fn new(r: buffdb::Reader) -> JsReader {
    let size = r.size();
    let info = r.info().cloned();
    JsReader { inner: Arc::new(Mutex::new(r)), size, info }
  }
}

fn read_n(r: &Mutex<buffdb::Reader>, n: u64) -> buffdb::Result<Vec<u8>> {
  r.lock().read_to_vec(conv::usize_of(n))
}

fn next_chunk(r: &Mutex<buffdb::Reader>) -> buffdb::Result<Option<Vec<u8>>> {
  let mut g = r.lock();
  Ok(g.next_chunk()?.map(|c| c.to_vec()))
}

#[napi]
impl JsReader {
  /// Total size in bytes.
  #[napi(getter)]
  pub fn size(&self) -> f64 {
    self.size as f64
  }

  /// The stream version being read (`null` for a blob).
  #[napi(getter, ts_return_type = "object | null")]
  pub fn info(&self, env: Env) -> crate::err::Result<JsUnknown> {
    unsafe {
      match &self.info {
        Some(i) => conv::stream_info(env.raw(), i),
        None => conv::null(env.raw()),
      }
    }
    .map(JsUnknown)
    .map_err(|e| to_js(napi_failure(e)))
  }

  /// Current position.
  #[napi]
  pub fn tell(&self) -> f64 {
    self.inner.lock().tell() as f64
  }

  /// Move to `position` (past the end is allowed; reads then give 0 bytes).
  #[napi]
  pub fn seek(&self, position: Unknown) -> crate::err::Result<f64> {
    let pos = conv::uint(&position, "position").js()?;
    guard(|| self.inner.lock().seek_to(pos)).map(|p| p as f64)
  }

  /// Up to `n` bytes from the current position (fewer at the end; empty = end).
  #[napi]
  pub fn read(&self, env: Env, n: Unknown) -> crate::err::Result<JsUnknown> {
    let n = conv::uint(&n, "n").js()?;
    sync(&env, || read_n(&self.inner, n))
  }

  #[napi]
  pub fn read_async(&self, n: Unknown) -> AsyncTask<Job> {
    let n = try_args!(conv::uint(&n, "n"));
    let inner = self.inner.clone();
    spawn(move || read_n(&inner, n))
  }

  /// Fill `buffer` from the current position; returns the bytes read (0 = end).
  #[napi]
  pub fn read_into(&self, buffer: Unknown) -> crate::err::Result<f64> {
    let buf = conv::out_view_sync(&buffer, "buffer").js()?;
    guard(|| self.inner.lock().read_into(buf.as_mut_slice())).map(|n| n as f64)
  }

  #[napi]
  pub fn read_into_async(&self, buffer: Unknown) -> AsyncTask<Job> {
    let mut pins = Vec::new();
    let buf = try_args!(conv::out_view(&buffer, "buffer", &mut pins));
    let inner = self.inner.clone();
    spawn_pinned(pins, move || inner.lock().read_into(buf.as_mut_slice()).map(|n| n as u64))
  }

  /// Fill `buffer` from `offset` (does not move the position); returns the bytes read.
  #[napi]
  pub fn read_at(&self, offset: Unknown, buffer: Unknown) -> crate::err::Result<f64> {
    let offset = conv::uint(&offset, "offset").js()?;
    let buf = conv::out_view_sync(&buffer, "buffer").js()?;
    guard(|| self.inner.lock().read_at(offset, buf.as_mut_slice())).map(|n| n as f64)
  }

  #[napi]
  pub fn read_at_async(&self, offset: Unknown, buffer: Unknown) -> AsyncTask<Job> {
    let mut pins = Vec::new();
    let offset = try_args!(conv::uint(&offset, "offset"));
    let buf = try_args!(conv::out_view(&buffer, "buffer", &mut pins));
    let inner = self.inner.clone();
    spawn_pinned(pins, move || inner.lock().read_at(offset, buf.as_mut_slice()).map(|n| n as u64))
  }

  /// The next stored chunk from the current position, or `null` at the end.
  #[napi]
  pub fn next_chunk(&self, env: Env) -> crate::err::Result<JsUnknown> {
    let chunk = guard(|| next_chunk(&self.inner))?;
    unsafe {
      match chunk {
        Some(c) => conv::buffer_vec(env.raw(), c),
        None => conv::null(env.raw()),
      }
    }
    .map(JsUnknown)
    .map_err(|e| to_js(napi_failure(e)))
  }

  #[napi(js_name = "_nextChunkAsync")]
  pub fn next_chunk_async(&self) -> AsyncTask<Job> {
    let inner = self.inner.clone();
    // An empty Buffer marks the end (the JS layer turns it into null).
    spawn(move || next_chunk(&inner).map(|c| c.unwrap_or_default()))
  }

  /// Release the reader (idempotent); later reads fail with `CLOSED`.
  #[napi]
  pub fn close(&self) {
    self.inner.lock().close();
  }
}

type WSlot = Arc<Mutex<Option<buffdb::StreamWriter>>>;

fn with_w<T>(slot: &WSlot, f: impl FnOnce(&mut buffdb::StreamWriter) -> buffdb::Result<T>) -> buffdb::Result<T> {
  let mut g = slot.lock();
  match g.as_mut() {
    Some(w) => f(w),
    None => Err(closed("the stream writer has already been committed or aborted")),
  }
}

fn take_w(slot: &WSlot) -> buffdb::Result<buffdb::StreamWriter> {
  slot
    .lock()
    .take()
    .ok_or_else(|| closed("the stream writer has already been committed or aborted"))
}

/// Writes one new version of a stream; nothing is visible until `commit()`.
#[napi(js_name = "StreamWriter")]
pub struct JsWriter {
  slot: WSlot,
}

impl JsWriter {
  pub fn new(w: buffdb::StreamWriter) -> JsWriter {
    JsWriter { slot: Arc::new(Mutex::new(Some(w))) }
  }
}

#[napi]
impl JsWriter {
  /// Bytes written so far.
  #[napi(getter)]
  pub fn written(&self) -> f64 {
    self.slot.lock().as_ref().map(|w| w.written()).unwrap_or(0) as f64
  }

  /// False once committed or aborted.
  #[napi(getter)]
  pub fn active(&self) -> bool {
    self.slot.lock().is_some()
  }

  #[napi]
  pub fn write(&self, data: Unknown) -> crate::err::Result<()> {
    let data = conv::bytes(&data, "data").js()?;
    guard(|| with_w(&self.slot, |w| w.write(data.as_slice())))
  }

  #[napi]
  pub fn write_async(&self, data: Unknown) -> AsyncTask<Job> {
    let mut pins = Vec::new();
    let data = try_args!(conv::abytes(&data, "data", &mut pins));
    let slot = self.slot.clone();
    spawn_pinned(pins, move || with_w(&slot, |w| w.write(data.as_slice())))
  }

  /// Write several chunks in one pool trip (used by the Writable's `_writev`).
  #[napi(js_name = "_writevAsync")]
  pub fn writev_async(&self, chunks: Unknown) -> AsyncTask<Job> {
    let mut pins = Vec::new();
    let (env, _) = conv::raw(&chunks);
    let items = try_args!(conv::array(&chunks, "chunks"));
    let mut parts = Vec::with_capacity(items.len());
    for v in items {
      let u = unsafe { Unknown::from_raw_unchecked(env, v) };
      parts.push(try_args!(conv::abytes(&u, "chunk", &mut pins)));
    }
    let slot = self.slot.clone();
    spawn_pinned(pins, move || {
      with_w(&slot, |w| {
        for p in &parts {
          w.write(p.as_slice())?;
        }
        Ok(())
      })
    })
  }

  /// The metadata the new version gets when committed (`null`: none); any time
  /// before `commit()`, checked now, the last one wins.
  #[napi]
  pub fn set_metadata(&self, metadata: Option<Unknown>) -> crate::err::Result<()> {
    let metadata = conv::metadata_arg(&metadata).js()?;
    guard(|| with_w(&self.slot, |w| w.set_metadata(metadata.as_deref())))
  }

  /// Make the written bytes the stream's newest version; returns its info.
  #[napi]
  pub fn commit(&self, env: Env) -> crate::err::Result<JsUnknown> {
    sync(&env, || take_w(&self.slot)?.commit())
  }

  #[napi]
  pub fn commit_async(&self) -> AsyncTask<Job> {
    let slot = self.slot.clone();
    spawn(move || take_w(&slot)?.commit())
  }

  /// Discard everything written (idempotent).
  #[napi]
  pub fn abort(&self) -> crate::err::Result<()> {
    let w = self.slot.lock().take();
    match w {
      Some(w) => guard(|| w.abort()),
      None => Ok(()),
    }
  }

  #[napi]
  pub fn abort_async(&self) -> AsyncTask<Job> {
    let slot = self.slot.clone();
    spawn(move || match slot.lock().take() {
      Some(w) => w.abort(),
      None => Ok(()),
    })
  }
}

impl From<buffdb::Reader> for Out {
  fn from(x: buffdb::Reader) -> Out {
    // SAFETY: `Out::into_js` calls it on the JS thread with that thread's env.
    Out::Handle(Box::new(move |env| unsafe { ToNapiValue::to_napi_value(env, JsReader::new(x)) }))
  }
}

impl From<buffdb::StreamWriter> for Out {
  fn from(x: buffdb::StreamWriter) -> Out {
    // SAFETY: `Out::into_js` calls it on the JS thread with that thread's env.
    Out::Handle(Box::new(move |env| unsafe { ToNapiValue::to_napi_value(env, JsWriter::new(x)) }))
  }
}
