//! What a command runs against: a local file (`Db`) or, with `--remote`, a server
//! (remote.rs). Each command is written once over this trait, so its output and exit
//! code are the same either way.

use std::io::{self, Read, Write};
use std::time::Duration;

use buffdb::{
    Db, Error, IndexEntry, IndexInfo, IndexProgress, JsonValue, ModelInfo, Models, QueryOptions, StreamInfo, Value,
};

/// Limits of a local `query` unless given (the rows stream, so these bound time and
/// output, not memory). A server applies its own.
const QUERY_TIMEOUT_MS: u64 = 10_000;
const QUERY_MAX_ROWS: usize = 1_000_000;

/// An input for an upload: a file or stdin.
pub type Input = Box<dyn Read + Send>;

/// Called with each index entry; an error stops the walk.
pub type Each<'a, T> = &'a mut dyn FnMut(T) -> Result<(), Error>;
/// Called with each (key, value) of a scan.
pub type EachPair<'a> = &'a mut dyn FnMut(&[u8], &[u8]) -> Result<(), Error>;
/// Called with each path of a search.
pub type EachPath<'a> = &'a mut dyn FnMut(&str) -> Result<(), Error>;

/// A model file opened for range reads.
pub trait ModelFile: Read + io::Seek {
    fn size(&self) -> u64;
}

impl ModelFile for buffdb::Reader {
    fn size(&self) -> u64 {
        buffdb::Reader::size(self)
    }
}

pub trait Store {
    // ---- KV ----
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error>;
    fn put(&self, key: &[u8], value: &[u8]) -> Result<(), Error>;
    fn delete(&self, key: &[u8]) -> Result<bool, Error>;
    /// Whether the keys hold equal values (`distinct`: distinct ones).
    fn kv_compare(&self, keys: &[String], distinct: bool) -> Result<bool, Error>;
    fn scan(&self, prefix: &[u8], after: Option<&[u8]>, limit: Option<usize>, each: EachPair) -> Result<(), Error>;

    // ---- Blobs ----
    /// Writes the blob's bytes to `out` (`NOT_FOUND` when missing).
    fn blob_get_to(&self, id: u64, out: &mut dyn Write) -> Result<(), Error>;
    fn blob_put_from(&self, input: Input, metadata: Option<&str>) -> Result<u64, Error>;
    fn blob_update(&self, id: u64, data: Option<Vec<u8>>, metadata: Option<Option<String>>) -> Result<(), Error>;
    fn blob_delete(&self, id: u64) -> Result<bool, Error>;
    fn blob_compare(&self, ids: &[u64], distinct: bool) -> Result<bool, Error>;

    // ---- Streams and search ----
    fn stream_put(&self, path: &str, input: Input, compress: bool, metadata: Option<&str>)
        -> Result<StreamInfo, Error>;
    fn stream_get_to(&self, path: &str, version: Option<u64>, out: &mut dyn Write) -> Result<(), Error>;
    fn stream_stat(&self, path: &str) -> Result<StreamInfo, Error>;
    fn stream_versions(&self, path: &str) -> Result<Vec<StreamInfo>, Error>;
    fn stream_delete(&self, path: &str) -> Result<bool, Error>;
    fn search(&self, prefix: &str, after: Option<&str>, limit: Option<usize>, each: EachPath) -> Result<(), Error>;

    // ---- Query ----
    /// Hands each row to `row` (`false` stops, not an error); returns the column names.
    fn query(
        &self,
        sql: &str,
        params: &[Value],
        timeout_ms: Option<u64>,
        max_rows: Option<usize>,
        row: &mut dyn FnMut(&[String], Vec<Value>) -> bool,
    ) -> Result<Vec<String>, Error>;

    // ---- Indexes ----
    fn create_index(
        &self,
        name: &str,
        source: &str,
        json_path: &str,
        unique: bool,
        key_prefix: Option<&[u8]>,
        progress: &mut dyn FnMut(IndexProgress),
    ) -> Result<IndexInfo, Error>;
    fn drop_index(&self, name: &str) -> Result<bool, Error>;
    fn list_indexes(&self) -> Result<Vec<IndexInfo>, Error>;
    fn find(&self, name: &str, value: &JsonValue, limit: Option<usize>, each: Each<IndexEntry>) -> Result<(), Error>;
    #[allow(clippy::too_many_arguments)]
    fn find_range(
        &self,
        name: &str,
        low: Option<&JsonValue>,
        high: Option<&JsonValue>,
        reverse: bool,
        limit: Option<usize>,
        each: Each<IndexEntry>,
    ) -> Result<(), Error>;

    // ---- Models ----
    /// Stores each (file name, input) and registers the version with them, atomically.
    fn model_register_files(&self, info: &ModelInfo, files: Vec<(String, Input)>) -> Result<ModelInfo, Error>;
    fn model_get(&self, name: &str, version_or_alias: &str) -> Result<ModelInfo, Error>;
    /// Each model's name and the version `latest` names.
    fn model_list(&self) -> Result<Vec<(String, String)>, Error>;
    fn model_versions(&self, name: &str) -> Result<Vec<ModelInfo>, Error>;
    fn model_aliases(&self, name: &str) -> Result<std::collections::BTreeMap<String, String>, Error>;
    fn model_set_alias(&self, name: &str, alias: &str, version: Option<&str>) -> Result<(), Error>;
    fn model_delete(&self, name: &str, version: &str) -> Result<bool, Error>;
    /// One file of a version (or alias), read by ranges.
    fn model_open(&self, name: &str, version_or_alias: &str, file: &str) -> Result<Box<dyn ModelFile + '_>, Error>;

    /// The local database, for the commands that run only where the file is.
    fn local(&self) -> Option<&Db> {
        None
    }
    /// Ends the session (closes a local file).
    fn close(&self) -> Result<(), Error> {
        Ok(())
    }
}

impl Store for Db {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        Db::get(self, key)
    }
    fn put(&self, key: &[u8], value: &[u8]) -> Result<(), Error> {
        Db::put(self, key, value)
    }
    fn delete(&self, key: &[u8]) -> Result<bool, Error> {
        Db::delete(self, key)
    }
    fn kv_compare(&self, keys: &[String], distinct: bool) -> Result<bool, Error> {
        if distinct {
            self.not_eq(keys)
        } else {
            self.eq(keys)
        }
    }
    fn scan(&self, prefix: &[u8], after: Option<&[u8]>, limit: Option<usize>, each: EachPair) -> Result<(), Error> {
        for row in Db::scan(self, prefix, after, limit)? {
            let (k, v) = row?;
            each(&k, &v)?;
        }
        Ok(())
    }

    fn blob_get_to(&self, id: u64, out: &mut dyn Write) -> Result<(), Error> {
        io::copy(&mut self.blob_open(id)?, out)?;
        Ok(())
    }
    fn blob_put_from(&self, input: Input, metadata: Option<&str>) -> Result<u64, Error> {
        Db::blob_put_from(self, input, metadata)
    }
    fn blob_update(&self, id: u64, data: Option<Vec<u8>>, metadata: Option<Option<String>>) -> Result<(), Error> {
        Db::blob_update(self, id, data.as_deref(), metadata.as_ref().map(Option::as_deref))
    }
    fn blob_delete(&self, id: u64) -> Result<bool, Error> {
        Db::blob_delete(self, id)
    }
    fn blob_compare(&self, ids: &[u64], distinct: bool) -> Result<bool, Error> {
        if distinct {
            self.blob_not_eq(ids)
        } else {
            self.blob_eq(ids)
        }
    }

    fn stream_put(
        &self,
        path: &str,
        mut input: Input,
        compress: bool,
        metadata: Option<&str>,
    ) -> Result<StreamInfo, Error> {
        let mut w = self.stream_writer_with(path, Some(compress))?;
        w.set_metadata(metadata)?;
        io::copy(&mut input, &mut w)?;
        w.commit()
    }
    fn stream_get_to(&self, path: &str, version: Option<u64>, out: &mut dyn Write) -> Result<(), Error> {
        let mut r = self.stream_open(path, version)?;
        let bar = crate::progress(r.size(), "reading");
        io::copy(&mut r, &mut bar.wrap_write(out))?;
        bar.finish_and_clear();
        Ok(())
    }
    fn stream_stat(&self, path: &str) -> Result<StreamInfo, Error> {
        Db::stream_stat(self, path)
    }
    fn stream_versions(&self, path: &str) -> Result<Vec<StreamInfo>, Error> {
        Db::stream_versions(self, path)
    }
    fn stream_delete(&self, path: &str) -> Result<bool, Error> {
        Db::stream_delete(self, path)
    }
    fn search(&self, prefix: &str, after: Option<&str>, limit: Option<usize>, each: EachPath) -> Result<(), Error> {
        for p in Db::search(self, prefix, after, limit)? {
            each(&p?)?;
        }
        Ok(())
    }

    fn query(
        &self,
        sql: &str,
        params: &[Value],
        timeout_ms: Option<u64>,
        max_rows: Option<usize>,
        row: &mut dyn FnMut(&[String], Vec<Value>) -> bool,
    ) -> Result<Vec<String>, Error> {
        let limits = QueryOptions::new()
            .timeout(Duration::from_millis(timeout_ms.unwrap_or(QUERY_TIMEOUT_MS)))
            .max_rows(max_rows.unwrap_or(QUERY_MAX_ROWS));
        self.query_each(sql, params, &limits, row)
    }

    fn create_index(
        &self,
        name: &str,
        source: &str,
        json_path: &str,
        unique: bool,
        key_prefix: Option<&[u8]>,
        progress: &mut dyn FnMut(IndexProgress),
    ) -> Result<IndexInfo, Error> {
        self.create_index_with_progress(name, source, json_path, unique, key_prefix, progress)
    }
    fn drop_index(&self, name: &str) -> Result<bool, Error> {
        Db::drop_index(self, name)
    }
    fn list_indexes(&self) -> Result<Vec<IndexInfo>, Error> {
        Db::list_indexes(self)
    }
    fn find(&self, name: &str, value: &JsonValue, limit: Option<usize>, each: Each<IndexEntry>) -> Result<(), Error> {
        for e in Db::find(self, name, value)?.take(limit.unwrap_or(usize::MAX)) {
            each(e?)?;
        }
        Ok(())
    }
    fn find_range(
        &self,
        name: &str,
        low: Option<&JsonValue>,
        high: Option<&JsonValue>,
        reverse: bool,
        limit: Option<usize>,
        each: Each<IndexEntry>,
    ) -> Result<(), Error> {
        for e in Db::find_range(self, name, low, high, reverse, None, limit)? {
            each(e?)?;
        }
        Ok(())
    }

    fn model_register_files(&self, info: &ModelInfo, mut files: Vec<(String, Input)>) -> Result<ModelInfo, Error> {
        let mut list: Vec<(&str, &mut dyn Read)> =
            files.iter_mut().map(|(n, f)| (n.as_str(), f as &mut dyn Read)).collect();
        Models::model_register_files(self, info, &mut list)
    }
    fn model_get(&self, name: &str, version_or_alias: &str) -> Result<ModelInfo, Error> {
        Models::model_get(self, name, version_or_alias)
    }
    fn model_list(&self) -> Result<Vec<(String, String)>, Error> {
        let mut out = Vec::new();
        for n in self.model_names()? {
            let latest = self.model_resolve(&n, buffdb::LATEST)?.unwrap_or_default();
            out.push((n, latest));
        }
        Ok(out)
    }
    fn model_versions(&self, name: &str) -> Result<Vec<ModelInfo>, Error> {
        Models::model_versions(self, name)
    }
    fn model_aliases(&self, name: &str) -> Result<std::collections::BTreeMap<String, String>, Error> {
        Models::model_aliases(self, name)
    }
    fn model_set_alias(&self, name: &str, alias: &str, version: Option<&str>) -> Result<(), Error> {
        Models::model_set_alias(self, name, alias, version)
    }
    fn model_delete(&self, name: &str, version: &str) -> Result<bool, Error> {
        Models::model_delete(self, name, version)
    }
    fn model_open(&self, name: &str, version_or_alias: &str, file: &str) -> Result<Box<dyn ModelFile + '_>, Error> {
        Ok(Box::new(Models::model_open(self, name, version_or_alias, file)?))
    }

    fn local(&self) -> Option<&Db> {
        Some(self)
    }
    fn close(&self) -> Result<(), Error> {
        Db::close(self)
    }
}
