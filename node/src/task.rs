//! Promise methods: the engine call runs on the libuv thread pool, its result is
//! turned into JS values back on the JS thread.

use buffdb::{BlobInfo, CheckReport, IndexEntry, IndexInfo, QueryResult, Record, Stats, StreamInfo};
use napi::bindgen_prelude::*;
use napi::sys;

use crate::conv::{self, Pin, JsUnknown};
use crate::err::rejection;

/// Everything a Promise method can resolve with.
pub enum Out {
  Undefined,
  Bool(bool),
  Num(u64),
  Str(String),
  /// blob metadata: `null` when the blob has none.
  NullableStr(Option<String>),
  Bytes(Vec<u8>),
  /// `undefined` when absent.
  OptBytes(Option<Vec<u8>>),
  ManyOptBytes(Vec<Option<Vec<u8>>>),
  BytesList(Vec<Vec<u8>>),
  Strings(Vec<String>),
  Nums(Vec<u64>),
  StreamInfo(StreamInfo),
  StreamInfos(Vec<StreamInfo>),
  BlobInfo(Option<BlobInfo>),
  Stats(Stats),
  Check(CheckReport),
  Query(QueryResult),
  Index(IndexInfo),
  Indexes(Vec<IndexInfo>),
  /// What `find` gives: keys, blob ids or paths.
  Records(Vec<Record>),
  /// What `findRange` gives: `{ value, record }`.
  Entries(Vec<IndexEntry>),
  /// A handle class (Db, Txn, Reader, StreamWriter): its module says how it becomes a
  /// JS object, so this module needs none of theirs.
  Handle(Handle),
}

/// Turns an engine handle into its JS class instance on the JS thread.
pub type Handle = Box<dyn FnOnce(sys::napi_env) -> napi::Result<sys::napi_value> + Send>;

/// Run `f` behind the panic boundary and convert its result on the JS thread.
pub fn sync<T: Into<Out>>(env: &Env, f: impl FnOnce() -> buffdb::Result<T>) -> crate::err::Result<JsUnknown> {
  let out = crate::err::guard(|| f().map(Into::into))?;
  unsafe { out.into_js(env.raw()) }
    .map(JsUnknown)
    .map_err(|e| crate::err::to_js(crate::err::napi_failure(e)))
}

macro_rules! out_from {
  ($t:ty, $v:ident) => {
    impl From<$t> for Out {
      fn from(x: $t) -> Out {
        Out::$v(x)
      }
    }
  };
}

impl From<()> for Out {
  fn from(_: ()) -> Out {
    Out::Undefined
  }
}
out_from!(bool, Bool);
out_from!(u64, Num);
out_from!(String, Str);
out_from!(Vec<u8>, Bytes);
out_from!(Option<Vec<u8>>, OptBytes);
out_from!(Vec<Option<Vec<u8>>>, ManyOptBytes);
out_from!(Vec<Vec<u8>>, BytesList);
out_from!(Vec<String>, Strings);
out_from!(Vec<u64>, Nums);
out_from!(StreamInfo, StreamInfo);
out_from!(Vec<StreamInfo>, StreamInfos);
out_from!(Option<BlobInfo>, BlobInfo);
out_from!(Stats, Stats);
out_from!(CheckReport, Check);
out_from!(QueryResult, Query);
out_from!(IndexInfo, Index);
out_from!(Vec<IndexInfo>, Indexes);
out_from!(Vec<Record>, Records);
out_from!(Vec<IndexEntry>, Entries);

impl Out {
  pub unsafe fn into_js(self, env: sys::napi_env) -> napi::Result<sys::napi_value> {
    unsafe {
      match self {
        Out::Undefined => conv::undefined(env),
        Out::Bool(b) => conv::boolean(env, b),
        Out::Num(n) => conv::number(env, n as f64),
        Out::Str(s) => conv::str_val(env, &s),
        Out::NullableStr(s) => conv::nullable_str(env, s.as_deref()),
        Out::Bytes(b) => conv::buffer_vec(env, b),
        Out::OptBytes(None) => conv::undefined(env),
        Out::OptBytes(Some(b)) => conv::buffer_vec(env, b),
        Out::ManyOptBytes(list) => {
          let items = list
            .into_iter()
            .map(|b| match b {
              None => conv::undefined(env),
              Some(b) => conv::buffer_vec(env, b),
            })
            .collect::<napi::Result<Vec<_>>>()?;
          conv::array_of(env, items)
        }
        Out::BytesList(list) => {
          let items = list
            .into_iter()
            .map(|b| conv::buffer_vec(env, b))
            .collect::<napi::Result<Vec<_>>>()?;
          conv::array_of(env, items)
        }
        Out::Strings(list) => {
          let items = list
            .iter()
            .map(|s| conv::str_val(env, s))
            .collect::<napi::Result<Vec<_>>>()?;
          conv::array_of(env, items)
        }
        Out::Nums(list) => {
          let items = list
            .iter()
            .map(|n| conv::number(env, *n as f64))
            .collect::<napi::Result<Vec<_>>>()?;
          conv::array_of(env, items)
        }
        Out::StreamInfo(i) => conv::stream_info(env, &i),
        Out::StreamInfos(list) => {
          let items = list
            .iter()
            .map(|i| conv::stream_info(env, i))
            .collect::<napi::Result<Vec<_>>>()?;
          conv::array_of(env, items)
        }
        Out::BlobInfo(None) => conv::undefined(env),
        Out::BlobInfo(Some(i)) => conv::blob_info(env, &i),
        Out::Stats(s) => conv::stats(env, &s),
        Out::Check(r) => conv::check_report(env, &r),
        Out::Query(q) => conv::query_result(env, q),
        Out::Index(i) => conv::index_info(env, &i),
        Out::Indexes(list) => {
          let items = list.iter().map(|i| conv::index_info(env, i)).collect::<napi::Result<Vec<_>>>()?;
          conv::array_of(env, items)
        }
        Out::Records(list) => {
          let items = list.iter().map(|r| conv::record(env, r)).collect::<napi::Result<Vec<_>>>()?;
          conv::array_of(env, items)
        }
        Out::Entries(list) => {
          let items = list.iter().map(|e| conv::index_entry(env, e)).collect::<napi::Result<Vec<_>>>()?;
          conv::array_of(env, items)
        }
        Out::Handle(make) => make(env),
      }
    }
  }
}

type Work = Box<dyn FnOnce() -> buffdb::Result<Out> + Send>;

/// One engine call on the libuv pool.
pub struct Job {
  work: Option<Work>,
  pins: Vec<Pin>,
}

impl Task for Job {
  type Output = buffdb::Result<Out>;
  type JsValue = JsUnknown;

  fn compute(&mut self) -> napi::Result<Self::Output> {
    let work = self.work.take();
    Ok(buffdb::catch_panic(move || match work {
      Some(f) => f(),
      None => Err(buffdb::Error::new(buffdb::ErrorCode::Internal, "task ran twice")),
    }))
  }

  fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<JsUnknown> {
    match output {
      Ok(out) => unsafe { out.into_js(env.raw()).map(JsUnknown) },
      Err(e) => Err(rejection(&env, e)),
    }
  }

  fn finally(self, env: Env) -> napi::Result<()> {
    for p in self.pins {
      p.release(env.raw());
    }
    Ok(())
  }
}

/// Schedule `f` on the pool; `pins` are released when it has finished.
pub fn spawn_pinned<T, F>(pins: Vec<Pin>, f: F) -> AsyncTask<Job>
where
  T: Into<Out>,
  F: FnOnce() -> buffdb::Result<T> + Send + 'static,
{
  AsyncTask::new(Job { work: Some(Box::new(move || f().map(Into::into))), pins })
}

pub fn spawn<T, F>(f: F) -> AsyncTask<Job>
where
  T: Into<Out>,
  F: FnOnce() -> buffdb::Result<T> + Send + 'static,
{
  spawn_pinned(Vec::new(), f)
}

/// A promise rejected with `e` (bad arguments of a Promise method reject, they
/// never throw synchronously).
pub fn fail(e: buffdb::Error) -> AsyncTask<Job> {
  spawn(move || -> buffdb::Result<()> { Err(e) })
}

/// Convert arguments (on the JS thread) then run on the pool; conversion
/// errors reject the promise.
#[macro_export]
macro_rules! try_args {
  ($e:expr) => {
    match $e {
      Ok(v) => v,
      Err(e) => return $crate::task::fail(e),
    }
  };
}
