//! `Txn`: one transaction (owns the single writer until commit/rollback). Its
//! operations are the shared ones (`ops.rs`), run inside the transaction; here
//! are only commit, rollback and `active`.

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use parking_lot::Mutex;

use crate::err::{closed, guard, IntoJs};
use crate::ops::{operations, Target};
use crate::task::{spawn, Job, Out};

/// The transaction, until commit or rollback takes it.
type Slot = Arc<Mutex<Option<buffdb::Txn>>>;

fn finished() -> buffdb::Error {
  closed("the transaction has already been committed or rolled back")
}

fn take(slot: &Slot) -> buffdb::Result<buffdb::Txn> {
  slot.lock().take().ok_or_else(finished)
}

/// A transaction. Everything it writes is visible to its own reads and to
/// nobody else until `commit()`; `rollback()` (or an error in
/// `db.transaction(fn)`) discards it. Readers, iterators and stream writers
/// opened in it read and write inside it, and fail `CLOSED` once it ends.
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
}

impl Target for JsTxn {
  type Ops = buffdb::Txn;
  type Handle = Slot;

  #[inline]
  fn handle(&self) -> &Slot {
    &self.slot
  }

  fn on<R>(slot: &Slot, f: impl FnOnce(&buffdb::Txn) -> buffdb::Result<R>) -> buffdb::Result<R> {
    match slot.lock().as_ref() {
      Some(t) => f(t),
      None => Err(finished()),
    }
  }
}

operations!(JsTxn);
crate::model::model_operations!(JsTxn);
