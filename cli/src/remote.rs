//! `--remote ADDR`: the commands run against a `buffdb run` server instead of a
//! local file, through the buffdb.v1 services: [`Remote`] is the [`Store`] the
//! commands (written once, in main.rs, index.rs and model.rs) run over, so their
//! output and exit codes are the same as on a local file.

use std::collections::BTreeMap;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::time::Duration;

use buffdb::{Error, ErrorCode, IndexEntry, IndexInfo, IndexProgress, JsonValue, ModelInfo, StreamInfo, Value};
use buffdb_server::client::Client;

use crate::store::{Each, EachPair, EachPath, Input, ModelFile, Store};
use crate::Cli;

/// A server connection and the runtime its calls run on (the commands are blocking).
pub struct Remote {
    runtime: tokio::runtime::Runtime,
    client: Client,
}

impl Remote {
    /// Connects to `addr` with the token from BUFFDB_TOKEN and `--ca-cert`.
    pub fn connect(cli: &Cli, addr: &str) -> Result<Remote, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::new(ErrorCode::Io, format!("cannot start the client runtime: {e}")))?;
        let token = std::env::var("BUFFDB_TOKEN").ok().filter(|t| !t.is_empty());
        let ca = match &cli.ca_cert {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                Error::new(ErrorCode::InvalidArgument, format!("cannot read --ca-cert {}: {e}", path.display()))
            })?),
            None => None,
        };
        let client = runtime.block_on(Client::connect_with(addr, token.as_deref(), ca.as_deref()))?;
        Ok(Remote { runtime, client })
    }

    /// Runs one call to completion.
    fn call<T, F: std::future::Future<Output = Result<T, Error>>>(
        &self,
        f: impl FnOnce(Client) -> F,
    ) -> Result<T, Error> {
        self.runtime.block_on(f(self.client.clone()))
    }
}

impl Store for Remote {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        self.call(|mut c| async move { c.get(key).await })
    }
    fn put(&self, key: &[u8], value: &[u8]) -> Result<(), Error> {
        self.call(|mut c| async move { c.put(key, value).await })
    }
    fn delete(&self, key: &[u8]) -> Result<bool, Error> {
        self.call(|mut c| async move { c.delete(key).await })
    }
    fn kv_compare(&self, keys: &[String], distinct: bool) -> Result<bool, Error> {
        self.call(|mut c| async move { c.kv_compare(keys, distinct).await })
    }
    fn scan(&self, prefix: &[u8], after: Option<&[u8]>, limit: Option<usize>, each: EachPair) -> Result<(), Error> {
        self.call(|mut c| async move { c.scan(prefix, after, limit, each).await })
    }

    fn blob_get_to(&self, id: u64, mut out: &mut dyn Write) -> Result<(), Error> {
        self.call(|mut c| async move { c.blob_get_to(id, &mut out).await })
    }
    fn blob_put_from(&self, input: Input, metadata: Option<&str>) -> Result<u64, Error> {
        self.call(|mut c| async move { c.blob_put_from(input, metadata).await })
    }
    fn blob_update(&self, id: u64, data: Option<Vec<u8>>, metadata: Option<Option<String>>) -> Result<(), Error> {
        self.call(|mut c| async move { c.blob_update(id, data, metadata).await })
    }
    fn blob_delete(&self, id: u64) -> Result<bool, Error> {
        self.call(|mut c| async move { c.blob_delete(id).await })
    }
    fn blob_compare(&self, ids: &[u64], distinct: bool) -> Result<bool, Error> {
        self.call(|mut c| async move { c.blob_compare(ids, distinct).await })
    }

    fn stream_put(
        &self,
        path: &str,
        input: Input,
        compress: bool,
        metadata: Option<&str>,
    ) -> Result<StreamInfo, Error> {
        self.call(|mut c| async move { c.stream_put_from(path, input, Some(compress), metadata).await })
    }
    fn stream_get_to(&self, path: &str, version: Option<u64>, mut out: &mut dyn Write) -> Result<(), Error> {
        self.call(|mut c| async move { c.stream_get_to(path, version, &mut out).await })
    }
    fn stream_stat(&self, path: &str) -> Result<StreamInfo, Error> {
        self.call(|mut c| async move { c.stream_stat(path).await })
    }
    fn stream_versions(&self, path: &str) -> Result<Vec<StreamInfo>, Error> {
        self.call(|mut c| async move { c.stream_versions(path).await })
    }
    fn stream_delete(&self, path: &str) -> Result<bool, Error> {
        self.call(|mut c| async move { c.stream_delete(path).await })
    }
    fn search(&self, prefix: &str, after: Option<&str>, limit: Option<usize>, each: EachPath) -> Result<(), Error> {
        self.call(|mut c| async move { c.search(prefix, after, limit, each).await })
    }

    fn query(
        &self,
        sql: &str,
        params: &[Value],
        timeout_ms: Option<u64>,
        max_rows: Option<usize>,
        row: &mut dyn FnMut(&[String], Vec<Value>) -> bool,
    ) -> Result<Vec<String>, Error> {
        // Limits only when asked for: the server streams rows without a row limit and
        // caps the time at its own.
        let timeout = timeout_ms.map(Duration::from_millis);
        self.call(|mut c| async move {
            c.query_with(sql, params, timeout, max_rows, |columns, r| {
                if row(columns, r) {
                    Ok(())
                } else {
                    Err(Error::new(ErrorCode::Io, "cannot write the rows"))
                }
            })
            .await
        })
    }

    fn create_index(
        &self,
        name: &str,
        source: &str,
        json_path: &str,
        unique: bool,
        key_prefix: Option<&[u8]>,
        _progress: &mut dyn FnMut(IndexProgress),
    ) -> Result<IndexInfo, Error> {
        self.call(|mut c| async move { c.create_index(name, source, json_path, unique, key_prefix).await })
    }
    fn drop_index(&self, name: &str) -> Result<bool, Error> {
        self.call(|mut c| async move { c.drop_index(name).await })
    }
    fn list_indexes(&self) -> Result<Vec<IndexInfo>, Error> {
        self.call(|mut c| async move { c.list_indexes().await })
    }
    fn find(&self, name: &str, value: &JsonValue, limit: Option<usize>, each: Each<IndexEntry>) -> Result<(), Error> {
        self.call(|mut c| async move { c.find(name, value, limit, each).await })
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
        self.call(|mut c| async move { c.find_range(name, low, high, reverse, None, limit, each).await })
    }

    fn model_register_files(&self, info: &ModelInfo, files: Vec<(String, Input)>) -> Result<ModelInfo, Error> {
        self.call(|mut c| async move { c.model_register(info, files).await })
    }
    fn model_get(&self, name: &str, version_or_alias: &str) -> Result<ModelInfo, Error> {
        self.call(|mut c| async move { c.model_get(name, version_or_alias).await })
    }
    fn model_list(&self) -> Result<Vec<(String, String)>, Error> {
        self.call(|mut c| async move { c.model_list().await })
    }
    fn model_versions(&self, name: &str) -> Result<Vec<ModelInfo>, Error> {
        self.call(|mut c| async move { c.model_versions(name).await })
    }
    fn model_aliases(&self, name: &str) -> Result<BTreeMap<String, String>, Error> {
        self.call(|mut c| async move { c.model_aliases(name).await })
    }
    fn model_set_alias(&self, name: &str, alias: &str, version: Option<&str>) -> Result<(), Error> {
        self.call(|mut c| async move { c.model_set_alias(name, alias, version).await })
    }
    fn model_delete(&self, name: &str, version: &str) -> Result<bool, Error> {
        self.call(|mut c| async move { c.model_delete(name, version).await })
    }
    fn model_open(&self, name: &str, version_or_alias: &str, file: &str) -> Result<Box<dyn ModelFile + '_>, Error> {
        let info = self.model_get(name, version_or_alias)?;
        let f = info.file(file).ok_or_else(|| {
            Error::new(ErrorCode::NotFound, format!("file {file:?} in model {name} version {}", info.version))
        })?;
        Ok(Box::new(RangeReader { remote: self, path: f.path.clone(), size: f.size, pos: 0 }))
    }
}

/// A model file on the server read by ranges (Streams.Read with an offset and a
/// length): only the bytes asked for cross the network.
struct RangeReader<'a> {
    remote: &'a Remote,
    path: String,
    size: u64,
    pos: u64,
}

impl Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = (buf.len() as u64).min(self.size.saturating_sub(self.pos));
        if want == 0 {
            return Ok(0);
        }
        let (path, pos) = (self.path.as_str(), self.pos);
        let mut got = Vec::with_capacity(want as usize);
        self.remote
            .call(|mut c| async move { c.stream_range_to(path, pos, want, &mut got).await.map(|()| got) })
            .map(|data| {
                buf[..data.len()].copy_from_slice(&data);
                self.pos += data.len() as u64;
                data.len()
            })
            .map_err(io::Error::other)
    }
}

impl Seek for RangeReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = pos.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "a seek before the start"))?;
        Ok(self.pos)
    }
}

impl ModelFile for RangeReader<'_> {
    fn size(&self) -> u64 {
        self.size
    }
}
