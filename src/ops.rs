//! The operation surface, written once: every operation a [`Db`] offers, a [`Txn`]
//! offers with the same meaning, inside the open transaction (seeing its own writes).
//!
//! Each operation below becomes a provided method of the [`Ops`] trait (for code
//! generic over both) and an inherent method of `Db` and `Txn` (so callers need no
//! import). Adding an operation is one entry here.

use std::io::Read;

use crate::blob::{self, BlobInfo};
use crate::db::Db;
use crate::error::Result;
use crate::index::{self, FindIter, IndexEntry, IndexInfo, IndexProgress};
use crate::JsonValue;
use crate::kv::{self, KeyIter, KvIter, Source};
use crate::options::{check_key, check_metadata, check_path, check_value};
use crate::query::{self, QueryOptions, QueryResult, Value};
use crate::reader::Reader;
use crate::search::{self, PathIter};
use crate::storage::cache::Change;
use crate::storage::Core;
use crate::stream::{self, StreamInfo, StreamWriter};
use crate::txn::Txn;

pub(crate) mod sealed {
    /// Where `Db` and `Txn` get their connection: the one thing each provides.
    pub trait Sealed {
        #[doc(hidden)]
        fn core(&self) -> super::Core<'_>;
    }
}

impl sealed::Sealed for Db {
    #[inline]
    fn core(&self) -> Core<'_> {
        Core::Db(&self.inner)
    }
}

impl sealed::Sealed for Txn {
    #[inline]
    fn core(&self) -> Core<'_> {
        Core::Txn(&self.shared)
    }
}

/// The surface picked at run time: a database's or a transaction's, behind one
/// type. Code written over it exists once in the binary instead of once per `Db`
/// and `Txn` (the C exports, `buffdb_X` and `buffdb_txn_X`, and the registry's
/// transaction bodies); each operation then matches on the source as it runs,
/// which it does anyway below the surface (`storage::source`).
impl sealed::Sealed for Core<'_> {
    #[inline]
    fn core(&self) -> Core<'_> {
        *self
    }
}

/// Makes the [`Ops`] trait from the operations, and the inherent methods of `Db`
/// and `Txn` that call it.
macro_rules! surface {
    ($(
        $(#[$doc:meta])*
        fn $name:ident $(<$g:ident>)? (&$self:ident $(, $arg:ident : $ty:ty)* $(,)?) -> $ret:ty $body:block
    )*) => {
        /// Every operation of BuffDB, on a database ([`Db`]: each call its own short
        /// transaction or snapshot) or inside a transaction ([`Txn`]: each call sees the
        /// transaction's writes; readers, iterators and stream writers opened in it
        /// work in it and fail `CLOSED` once it ends). `Db` and `Txn` also have each
        /// of these as an inherent method; use the trait to write code for both.
        pub trait Ops: sealed::Sealed {
            $( $(#[$doc])* fn $name $(<$g>)? (&$self $(, $arg: $ty)*) -> $ret $body )*
        }
        impl Ops for Db {}
        impl Ops for Txn {}
        impl Ops for Core<'_> {}
        impl Db {
            $( $(#[$doc])* #[inline] pub fn $name $(<$g>)? (&self $(, $arg: $ty)*) -> $ret {
                <Self as Ops>::$name(self $(, $arg)*)
            } )*
        }
        impl Txn {
            $( $(#[$doc])* #[inline] pub fn $name $(<$g>)? (&self $(, $arg: $ty)*) -> $ret {
                <Self as Ops>::$name(self $(, $arg)*)
            } )*
        }
    };
}

surface! {
    // ---- KV ----

    /// The value of `key`, or `None`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        kv::cached_get_with(self.core(), key, |v| v.map(<[u8]>::to_vec))
    }

    /// Calls `f` with the value borrowed (from the read cache or the database page):
    /// no copy, for caller-buffer reads in bindings.
    fn get_with<R>(&self, key: &[u8], f: impl FnOnce(Option<&[u8]>) -> R) -> Result<R> {
        kv::cached_get_with(self.core(), key, f)
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        check_key(key)?;
        check_value(key, value)?;
        let core = self.core();
        core.write(&[(key, Some(value))], |c| kv::put(c, core.inner(), key, value))
    }

    /// Deletes `key`; returns whether it existed.
    fn delete(&self, key: &[u8]) -> Result<bool> {
        check_key(key)?;
        let core = self.core();
        core.write(&[(key, None)], |c| kv::delete(c, core.inner(), key))
    }

    fn contains(&self, key: &[u8]) -> Result<bool> {
        kv::cached_get_with(self.core(), key, |v| v.is_some())
    }

    /// Values of many keys from one snapshot.
    fn get_many(&self, keys: &[impl AsRef<[u8]>]) -> Result<Vec<Option<Vec<u8>>>> {
        kv::get_many(self.core(), keys)
    }

    /// Puts every pair, atomically.
    fn put_many(&self, pairs: &[(impl AsRef<[u8]>, impl AsRef<[u8]>)]) -> Result<()> {
        let changes: Vec<Change<'_>> = pairs.iter().map(|(k, v)| (k.as_ref(), Some(v.as_ref()))).collect();
        let core = self.core();
        core.write(&changes, |c| kv::put_many(c, core.inner(), pairs))
    }

    /// Whether all the keys hold equal values (`NOT_FOUND` when one is missing).
    fn eq(&self, keys: &[impl AsRef<[u8]>]) -> Result<bool> {
        self.core().snapshot(|c| kv::values_equal(c, keys, false))
    }

    /// Whether all the keys hold distinct values (`NOT_FOUND` when one is missing).
    fn not_eq(&self, keys: &[impl AsRef<[u8]>]) -> Result<bool> {
        self.core().snapshot(|c| kv::values_equal(c, keys, true))
    }

    /// (key, value) pairs whose key starts with `prefix`, in byte order, after
    /// `start_after` when given, at most `limit`. Lazy: fetched a page at a time.
    fn scan(&self, prefix: &[u8], start_after: Option<&[u8]>, limit: Option<usize>) -> Result<KvIter> {
        KvIter::new(self.core(), prefix, start_after, limit)
    }

    /// Calls `f` with each (key, value) whose key starts with `prefix`, in byte order,
    /// after `start_after`, at most `limit`, borrowed straight from the database pages:
    /// no copies. `f` returns `false` to stop. One snapshot for the whole walk, so keep
    /// `f` short. Returns how many pairs `f` saw.
    fn scan_each(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: Option<usize>,
        f: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<u64> {
        self.core().read(|c| kv::walk(c, Source::KeyValues, prefix, start_after, limit, f))
    }

    /// Keys starting with `prefix`, like `scan` without the values.
    fn keys(&self, prefix: &[u8], start_after: Option<&[u8]>, limit: Option<usize>) -> Result<KeyIter> {
        KeyIter::new(self.core(), prefix, start_after, limit)
    }

    /// Number of keys starting with `prefix` (each row is read and checked).
    fn count(&self, prefix: &[u8]) -> Result<u64> {
        self.core().read(|c| kv::count(c, Source::Keys, prefix))
    }

    // ---- Blobs ----

    /// Stores a new blob; returns its id (ids grow and are never reused).
    ///
    /// On the database, a blob larger than a stream writer's batch (4 chunks, 4 MiB by
    /// default) is committed a batch at a time and made visible by a last transaction,
    /// as a stream is: the WAL keeps its bound when a replicator holds it
    /// (docs/replication.md). In a transaction it is part of that transaction.
    fn blob_put(&self, data: &[u8], metadata: Option<&str>) -> Result<u64> {
        let core = self.core();
        let batch = stream::batch_bytes(core.inner());
        if matches!(core, Core::Db(_)) && data.len() > batch {
            check_metadata(metadata)?;
            return blob::in_pieces(core, batch, data, |c, inner, meta| blob::insert(c, inner, meta, metadata));
        }
        core.write(&[], |c| blob::put(c, core.inner(), data, metadata))
    }

    /// Stores a new blob from a reader of any size, a chunk at a time (on the
    /// database, a batch per transaction past the first batch, as `blob_put`).
    fn blob_put_from(&self, reader: impl Read, metadata: Option<&str>) -> Result<u64> {
        let core = self.core();
        let mut reader = reader;
        if !matches!(core, Core::Db(_)) {
            return core.write(&[], |c| blob::put_from(c, core.inner(), reader, metadata));
        }
        check_metadata(metadata)?;
        let batch = stream::batch_bytes(core.inner());
        let mut head = vec![0u8; batch + 1];
        let n = blob::read_full(&mut reader, &mut head)?;
        head.truncate(n);
        if n <= batch {
            return core.write(&[], |c| blob::put(c, core.inner(), &head, metadata));
        }
        blob::in_pieces(core, batch, head.chain(reader), |c, inner, meta| blob::insert(c, inner, meta, metadata))
    }

    /// The blob's bytes, or `None`.
    fn blob_get(&self, id: u64) -> Result<Option<Vec<u8>>> {
        let core = self.core();
        core.snapshot(|c| blob::get(c, core.inner(), id))
    }

    /// The blob's metadata (`None` when it has none); `NOT_FOUND` when the blob is missing.
    fn blob_metadata(&self, id: u64) -> Result<Option<String>> {
        self.core().snapshot(|c| blob::metadata(c, id))
    }

    fn blob_info(&self, id: u64) -> Result<Option<BlobInfo>> {
        self.core().snapshot(|c| blob::info(c, id))
    }

    /// Replaces the data (when `Some`) and/or the metadata (when `Some`, which may
    /// hold `None` to clear it). `NOT_FOUND` when the blob is missing.
    fn blob_update(&self, id: u64, data: Option<&[u8]>, metadata: Option<Option<&str>>) -> Result<()> {
        let core = self.core();
        let batch = stream::batch_bytes(core.inner());
        if let (Core::Db(_), Some(d)) = (core, data) {
            if d.len() > batch {
                core.read(|c| blob::check_update(c, id, metadata))?;
                return blob::in_pieces(core, batch, d, |c, inner, meta| blob::update_to(c, inner, id, meta.id, metadata));
            }
        }
        core.write(&[], |c| blob::update(c, core.inner(), id, data, metadata))
    }

    /// Deletes the blob; returns whether it existed. Its id is never reused.
    fn blob_delete(&self, id: u64) -> Result<bool> {
        let core = self.core();
        core.write(&[], |c| blob::delete(c, core.inner(), id))
    }

    /// A reader over the blob's bytes (`NOT_FOUND` when missing).
    fn blob_open(&self, id: u64) -> Result<Reader> {
        blob::open(self.core(), id)
    }

    /// Whether all the blobs hold equal bytes (`NOT_FOUND` when one is missing).
    fn blob_eq(&self, ids: &[u64]) -> Result<bool> {
        let core = self.core();
        core.snapshot(|c| blob::datas_equal(c, core.inner(), ids, false))
    }

    /// Whether all the blobs hold distinct bytes (`NOT_FOUND` when one is missing).
    fn blob_not_eq(&self, ids: &[u64]) -> Result<bool> {
        let core = self.core();
        core.snapshot(|c| blob::datas_equal(c, core.inner(), ids, true))
    }

    /// Blob ids in order, after `start_after`, at most `limit`.
    fn blob_ids(&self, start_after: Option<u64>, limit: Option<usize>) -> Result<Vec<u64>> {
        self.core().read(|c| blob::ids(c, start_after, limit))
    }

    // ---- Streams ----

    /// Writes `data` as a new version of `path`, atomically.
    fn stream_write(&self, path: &str, data: &[u8]) -> Result<StreamInfo> {
        self.stream_write_with_metadata(path, data, None)
    }

    /// Writes everything `reader` gives as a new version of `path`, a chunk at a
    /// time (memory use does not grow with the size), atomically.
    fn stream_write_from(&self, path: &str, reader: impl Read) -> Result<StreamInfo> {
        let mut reader = reader;
        check_path(path)?;
        let core = self.core();
        // What fits in one writer batch is written in one transaction; more goes
        // through a writer, as in `stream_write`. Reads are chunk-sized, as before.
        let batch = stream::batch_bytes(core.inner());
        let mut buf = vec![0u8; core.inner().opts.chunk_size];
        let mut head = Vec::new();
        let mut writer: Option<StreamWriter> = None;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            match &mut writer {
                Some(w) => w.write(&buf[..n])?,
                None => {
                    head.extend_from_slice(&buf[..n]);
                    if head.len() > batch {
                        let mut w = self.stream_writer(path)?;
                        w.write(&std::mem::take(&mut head))?;
                        writer = Some(w);
                    }
                }
            }
        }
        match writer {
            Some(w) => w.commit(),
            None => self.stream_write(path, &head),
        }
    }

    /// A writer for a new version of `path`.
    fn stream_writer(&self, path: &str) -> Result<StreamWriter> {
        StreamWriter::start(self.core().to_owned(), path, None)
    }

    /// A writer with compression set for this write only.
    fn stream_writer_with(&self, path: &str, compression: Option<bool>) -> Result<StreamWriter> {
        StreamWriter::start(self.core().to_owned(), path, compression)
    }

    /// The newest version's bytes (`NOT_FOUND` when the path has none).
    fn stream_read(&self, path: &str) -> Result<Vec<u8>> {
        let core = self.core();
        core.snapshot(|c| stream::read(c, core.inner(), path, None))
    }

    /// A reader over the newest version, or over `version`.
    fn stream_open(&self, path: &str, version: Option<u64>) -> Result<Reader> {
        stream::open(self.core(), path, version)
    }

    /// `len` bytes from `offset` of the newest version (fewer at the end).
    fn stream_read_range(&self, path: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        stream::read_range(self.core(), path, offset, len)
    }

    /// The newest version's info (`NOT_FOUND` when the path has none).
    fn stream_stat(&self, path: &str) -> Result<StreamInfo> {
        self.core().snapshot(|c| stream::stat(c, path))
    }

    fn stream_exists(&self, path: &str) -> Result<bool> {
        check_path(path)?;
        self.core().read(|c| stream::exists(c, path))
    }

    /// The kept versions, oldest first (empty when the path has none).
    fn stream_versions(&self, path: &str) -> Result<Vec<StreamInfo>> {
        self.core().snapshot(|c| stream::versions(c, path))
    }

    /// Deletes every version of `path`; returns whether it existed.
    fn stream_delete(&self, path: &str) -> Result<bool> {
        check_path(path)?;
        let core = self.core();
        core.write(&[], |c| stream::delete(c, core.inner(), path))
    }

    // ---- Stream metadata (issue 21) ----

    /// `stream_write` giving the new version a metadata string (`None`: none), as a
    /// blob has: at most `MAX_METADATA_SIZE` bytes (`TOO_LARGE`), no NUL byte
    /// (`INVALID_ARGUMENT`). A stream writer takes it through `StreamWriter::set_metadata`.
    fn stream_write_with_metadata(&self, path: &str, data: &[u8], metadata: Option<&str>) -> Result<StreamInfo> {
        check_path(path)?;
        check_metadata(metadata)?;
        let core = self.core();
        if data.len() > stream::batch_bytes(core.inner()) {
            // Through a writer, whose batches commit as they go: the WAL keeps its
            // bound and checkpoints overlap the write (one transaction of 1 GiB took
            // 2.4 s, then 4 s of checkpoint). Still visible only at the end.
            let mut w = self.stream_writer(path)?;
            w.set_metadata(metadata)?;
            w.write(data)?;
            return w.commit();
        }
        let info = core.write(&[], |c| stream::write(c, core.inner(), path, data, metadata))?;
        core.after_large_write(info.size);
        Ok(info)
    }

    /// Replaces the metadata of the newest version of `path` without rewriting its
    /// bytes (`None` clears it); returns the version's info. `NOT_FOUND` when the path
    /// has no version.
    fn stream_set_metadata(&self, path: &str, metadata: Option<&str>) -> Result<StreamInfo> {
        check_path(path)?;
        check_metadata(metadata)?;
        let core = self.core();
        core.write(&[], |c| stream::set_metadata(c, core.inner(), path, metadata))
    }

    // ---- Indexes (issue 21): see src/index/ ----

    /// Creates the index `name` (a plain identifier) over `source` (`"kv"`: KV values,
    /// `"blob"`: blob metadata, `"stream"`: the metadata of each stream's newest
    /// version), holding the JSON value at `json_path` of each record whose key or path
    /// starts with `key_prefix`; `unique` refuses a second record with the same value
    /// (`CONFLICT`). Builds it over the existing records: on a `Db` in batches, each
    /// its own short write transaction; in a `Txn`, inside it. Bad input is
    /// `INVALID_ARGUMENT`, an existing name `CONFLICT` (but the same definition of an
    /// index whose build was interrupted finishes the build), a duplicate found by
    /// the build of a unique index `CONFLICT`: each leaves no index behind.
    fn create_index(
        &self,
        name: &str,
        source: &str,
        json_path: &str,
        unique: bool,
        key_prefix: Option<&[u8]>,
    ) -> Result<IndexInfo> {
        index::create(self.core(), name, source, json_path, unique, key_prefix, &mut |_| {})
    }

    /// `create_index`, calling `progress` after each build batch.
    fn create_index_with_progress(
        &self,
        name: &str,
        source: &str,
        json_path: &str,
        unique: bool,
        key_prefix: Option<&[u8]>,
        progress: &mut dyn FnMut(IndexProgress),
    ) -> Result<IndexInfo> {
        index::create(self.core(), name, source, json_path, unique, key_prefix, progress)
    }

    /// Drops the index and its entries; returns whether it existed.
    fn drop_index(&self, name: &str) -> Result<bool> {
        let core = self.core();
        core.write(&[], |c| index::drop(c, core.inner(), name))
    }

    /// Every index, by name, with its entry count.
    fn list_indexes(&self) -> Result<Vec<IndexInfo>> {
        self.core().snapshot(index::list)
    }

    /// The entries of index `name` whose value is `value` (a string, number, boolean
    /// or null), in record order: lazy, paged. `NOT_FOUND` for an unknown index.
    fn find(&self, name: &str, value: &JsonValue) -> Result<FindIter> {
        FindIter::new(self.core(), name, Some(value), Some(value), false, None, None)
    }

    /// The entries of index `name` with `low <= value <= high` (`None`: unbounded), in
    /// index order (by JSON type: null, false, true, numbers, strings; then by value,
    /// then by record), or the reverse; after the entry `start_after` (the last one of
    /// the page before), at most `limit`. Lazy and paged like `scan`.
    fn find_range(
        &self,
        name: &str,
        low: Option<&JsonValue>,
        high: Option<&JsonValue>,
        reverse: bool,
        start_after: Option<&IndexEntry>,
        limit: Option<usize>,
    ) -> Result<FindIter> {
        FindIter::new(self.core(), name, low, high, reverse, start_after, limit)
    }

    // ---- Search ----

    /// Paths of streams starting with `prefix` (a real prefix: `/tex` finds
    /// `/textures/a.png`, not `/a/tex`), in byte order, after `start_after`, at most `limit`.
    fn search(&self, prefix: &str, start_after: Option<&str>, limit: Option<usize>) -> Result<PathIter> {
        PathIter::new(self.core(), prefix, start_after, limit)
    }

    /// Number of stream paths starting with `prefix`.
    fn search_count(&self, prefix: &str) -> Result<u64> {
        self.core().read(|c| search::count(c, prefix))
    }

    // ---- Query ----

    /// Runs one read-only SQL statement with `?` parameters over the views
    /// `kv(key, value, key_text, value_text)`, `blobs(id, metadata, size, crc32, created)`
    /// and `streams(path, version, size, crc32, chunk_count, stored_size, created)`,
    /// with the default [`QueryOptions`] limits (1,000,000 rows, 10 s, 512 MiB).
    /// A statement that would write is refused with `READ_ONLY` and changes nothing;
    /// ATTACH, PRAGMAs that set something, transactions, the internal tables and
    /// dangerous functions are refused with `INVALID_ARGUMENT`.
    fn query(&self, sql: &str, params: &[Value]) -> Result<QueryResult> {
        query::query(self.core(), sql, params, &QueryOptions::default())
    }

    /// `query` with the limits of `opts`: more rows or memory than allowed is
    /// `TOO_LARGE`; past the time limit, or cancelled through `opts.cancel` from any
    /// thread, is `INTERRUPTED`. The database is unchanged and the handle stays usable.
    fn query_with(&self, sql: &str, params: &[Value], opts: &QueryOptions) -> Result<QueryResult> {
        query::query(self.core(), sql, params, opts)
    }

    /// `query_with` as a cursor: hands each row to `f` as SQLite produces it, with the
    /// column names, instead of collecting the rows, so a result of any size takes
    /// flat memory (set `opts.max_rows` to `usize::MAX` for no row limit; the time
    /// limit counts the time `f` takes too, and the memory limit counts the row in
    /// hand). `f` returns `false` to stop early, which is not an error. The whole walk
    /// is one snapshot, held until it ends: a slow `f` holds back WAL checkpoints.
    /// Returns the column names (also when there were no rows).
    fn query_each(
        &self,
        sql: &str,
        params: &[Value],
        opts: &QueryOptions,
        f: impl FnMut(&[String], Vec<Value>) -> bool,
    ) -> Result<Vec<String>> {
        query::query_each(self.core(), sql, params, opts, f)
    }
}
