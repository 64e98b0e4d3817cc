//! Native halves of the lazy iterators (scan / keys / search / find / findRange): the JS layer
//! pulls batches (`_next(n)` on the JS thread, `_nextAsync(n)` on the pool)
//! and exposes them as sync and async iterators.

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use parking_lot::Mutex;

use crate::conv::JsUnknown;

use crate::task::{spawn, sync, Job};

/// Up to `n` items from the iterator; an empty batch means the end (and the
/// engine iterator is dropped).
fn batch<I, T>(slot: &Mutex<Option<I>>, n: u32) -> buffdb::Result<Vec<T>>
where
  I: Iterator<Item = buffdb::Result<T>>,
{
  let mut g = slot.lock();
  let mut out = Vec::new();
  if let Some(it) = g.as_mut() {
    for _ in 0..n.max(1) {
      match it.next() {
        Some(item) => out.push(item?),
        None => break,
      }
    }
    if out.is_empty() {
      *g = None;
    }
  }
  Ok(out)
}

/// Rows packed into one Buffer: each byte string as a u32 LE length and its
/// bytes (a pair is two of them). One native object per batch instead of one
/// per key and value; the JS layer slices views out of it. Empty = the end.
/// Rows come from the engine's pages (one buffer each), so each row is copied
/// once, from the page into the batch.
pub trait Pages {
  /// Whether rows carry values (scan) or not (keys).
  const VALUES: bool;
  fn next_page(&mut self) -> Option<buffdb::Result<buffdb::KvPage>>;
}

impl Pages for buffdb::KvIter {
  const VALUES: bool = true;
  fn next_page(&mut self) -> Option<buffdb::Result<buffdb::KvPage>> {
    buffdb::KvIter::next_page(self)
  }
}

impl Pages for buffdb::KeyIter {
  const VALUES: bool = false;
  fn next_page(&mut self) -> Option<buffdb::Result<buffdb::KvPage>> {
    buffdb::KeyIter::next_page(self)
  }
}

fn push(out: &mut Vec<u8>, b: &[u8]) {
  out.extend_from_slice(&(b.len() as u32).to_le_bytes());
  out.extend_from_slice(b);
}

/// At least `n` rows (whole pages), fewer only at the end.
fn packed<I: Pages>(slot: &Mutex<Option<I>>, n: u32) -> buffdb::Result<Vec<u8>> {
  let mut g = slot.lock();
  let mut out = Vec::new();
  let mut rows = 0usize;
  if let Some(it) = g.as_mut() {
    while rows < n.max(1) as usize {
      let Some(page) = it.next_page() else { break };
      let page = page?;
      for (k, v) in page.iter() {
        push(&mut out, k);
        if I::VALUES {
          push(&mut out, v);
        }
      }
      rows += page.len();
    }
    if rows == 0 {
      *g = None;
    }
  }
  Ok(out)
}

macro_rules! packed_iter {
  ($name:ident, $js:literal, $inner:ty) => {
    #[napi(js_name = $js)]
    pub struct $name {
      slot: Arc<Mutex<Option<$inner>>>,
    }

    impl $name {
      pub fn new(it: $inner) -> Self {
        Self { slot: Arc::new(Mutex::new(Some(it))) }
      }
    }

    #[napi]
    impl $name {
      #[napi(js_name = "_next")]
      pub fn next_batch(&self, env: Env, n: u32) -> crate::err::Result<JsUnknown> {
        sync(&env, || packed(&self.slot, n))
      }

      #[napi(js_name = "_nextAsync")]
      pub fn next_batch_async(&self, n: u32) -> AsyncTask<Job> {
        let slot = self.slot.clone();
        spawn(move || packed(&slot, n))
      }

      /// Stop early and release the engine iterator.
      #[napi(js_name = "_close")]
      pub fn close(&self) {
        self.slot.lock().take();
      }
    }
  };
}

macro_rules! native_iter {
  ($name:ident, $js:literal, $inner:ty) => {
    #[napi(js_name = $js)]
    pub struct $name {
      slot: Arc<Mutex<Option<$inner>>>,
    }

    impl $name {
      pub fn new(it: $inner) -> Self {
        Self { slot: Arc::new(Mutex::new(Some(it))) }
      }
    }

    #[napi]
    impl $name {
      #[napi(js_name = "_next")]
      pub fn next_batch(&self, env: Env, n: u32) -> crate::err::Result<JsUnknown> {
        sync(&env, || batch(&self.slot, n))
      }

      #[napi(js_name = "_nextAsync")]
      pub fn next_batch_async(&self, n: u32) -> AsyncTask<Job> {
        let slot = self.slot.clone();
        spawn(move || batch(&slot, n))
      }

      /// Stop early and release the engine iterator.
      #[napi(js_name = "_close")]
      pub fn close(&self) {
        self.slot.lock().take();
      }
    }
  };
}

packed_iter!(JsKvIter, "NativeKvIterator", buffdb::KvIter);
packed_iter!(JsKeyIter, "NativeKeyIterator", buffdb::KeyIter);
native_iter!(JsPathIter, "NativePathIterator", buffdb::PathIter);
native_iter!(JsEntryIter, "NativeEntryIterator", buffdb::FindIter);
native_iter!(JsRecordIter, "NativeRecordIterator", RecordIter);

/// `find`'s iterator: the records of the entries (their value is the one asked for).
pub type RecordIter = std::iter::Map<buffdb::FindIter, fn(buffdb::Result<buffdb::IndexEntry>) -> buffdb::Result<buffdb::Record>>;

pub fn records(it: buffdb::FindIter) -> RecordIter {
  it.map(|e| e.map(|e| e.record))
}
