//! A Rust client for a BuffDB server (feature `client`): the buffdb.v1 services
//! (plus the compat ones where v1 has no twin), with engine errors back as
//! `buffdb::Error` carrying the same `ErrorCode`.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use buffdb::{Error, ErrorCode, IndexEntry, IndexInfo, JsonValue, ModelInfo, Record, StreamInfo, Value};
use prost::bytes::Bytes;
use tokio_stream::StreamExt;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Status};

use crate::proto::{blob as cblob, kv as ckv, v1};

/// Adds `authorization: Bearer TOKEN` to every call when a token is set.
#[derive(Clone)]
pub struct Bearer(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

type Svc = InterceptedService<Channel, Bearer>;

/// A connection to a BuffDB server.
#[derive(Clone)]
pub struct Client {
    pub kv: v1::kv_client::KvClient<Svc>,
    pub blobs: v1::blobs_client::BlobsClient<Svc>,
    pub streams: v1::streams_client::StreamsClient<Svc>,
    pub database: v1::database_client::DatabaseClient<Svc>,
    pub indexes: v1::indexes_client::IndexesClient<Svc>,
    pub models: v1::models_client::ModelsClient<Svc>,
    pub compat_kv: ckv::kv_client::KvClient<Svc>,
    pub compat_blob: cblob::blob_client::BlobClient<Svc>,
}

/// A gRPC status as an engine error: the code the server named, or the nearest one.
pub fn error(s: Status) -> Error {
    let named = s
        .metadata()
        .get("buffdb-error-code")
        .and_then(|v| v.to_str().ok())
        .and_then(|n| ErrorCode::ALL.iter().copied().find(|c| c.name() == n));
    let code = named.unwrap_or(match s.code() {
        tonic::Code::NotFound => ErrorCode::NotFound,
        tonic::Code::InvalidArgument => ErrorCode::InvalidArgument,
        tonic::Code::DataLoss => ErrorCode::Corrupt,
        tonic::Code::Unavailable => ErrorCode::Busy,
        tonic::Code::PermissionDenied => ErrorCode::ReadOnly,
        tonic::Code::Aborted => ErrorCode::Conflict,
        tonic::Code::ResourceExhausted => ErrorCode::Full,
        tonic::Code::Unauthenticated | tonic::Code::FailedPrecondition => ErrorCode::InvalidArgument,
        _ => ErrorCode::Io,
    });
    let msg = s.message();
    let msg = msg.strip_prefix(&format!("{}: ", code.name())).unwrap_or(msg);
    Error::new(code, msg.to_string())
}

fn io(e: std::io::Error) -> Error {
    Error::new(ErrorCode::Io, e.to_string())
}

fn info(i: v1::StreamInfo) -> StreamInfo {
    StreamInfo {
        path: i.path,
        version: i.version,
        size: i.size,
        crc32: i.crc32,
        chunk_count: i.chunk_count,
        chunk_size: i.chunk_size,
        stored_size: i.stored_size,
        created_ms: i.created_ms,
        metadata: i.metadata,
    }
}

/// Bytes per piece a client uploads.
pub const UPLOAD_PIECE: usize = 1 << 20;

/// The readers' bytes, one reader after the other, as a lazy stream of pieces (read
/// on a blocking thread; `make(data, reader index, first piece of that reader)`), and
/// the read error if one happens; after an error the stream's last message is `abort`.
fn pieces<M: Send + 'static, R: Read + Send + 'static>(
    readers: Vec<R>,
    mut make: impl FnMut(Bytes, usize, bool) -> M + Send + 'static,
    abort: M,
) -> (tokio_stream::wrappers::ReceiverStream<M>, tokio::sync::oneshot::Receiver<std::io::Error>) {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let (err_tx, err_rx) = tokio::sync::oneshot::channel();
    tokio::task::spawn_blocking(move || {
        for (index, mut reader) in readers.into_iter().enumerate() {
            let mut first = true;
            loop {
                // Up to one piece: std's read_to_end retries short and interrupted reads.
                let mut buf = Vec::with_capacity(UPLOAD_PIECE);
                if let Err(e) = reader.by_ref().take(UPLOAD_PIECE as u64).read_to_end(&mut buf) {
                    let _ = err_tx.send(e);
                    // Tell the server to store nothing (ending the stream would publish
                    // a truncated document).
                    let _ = tx.blocking_send(abort);
                    return;
                }
                let n = buf.len();
                if (n > 0 || first) && tx.blocking_send(make(Bytes::from(buf), index, first)).is_err() {
                    return;
                }
                first = false;
                if n < UPLOAD_PIECE {
                    break;
                }
            }
        }
    });
    (tokio_stream::wrappers::ReceiverStream::new(rx), err_rx)
}

/// Runs an upload call; a failure to read the input is the error to report.
async fn upload<T>(
    call: impl std::future::Future<Output = Result<tonic::Response<T>, Status>>,
    read_error: tokio::sync::oneshot::Receiver<std::io::Error>,
) -> Result<T, Error> {
    let r = call.await;
    if let Ok(e) = read_error.await {
        return Err(io(e));
    }
    Ok(r.map_err(error)?.into_inner())
}

impl Client {
    /// Connects to `addr` (`host:port` or a full `http(s)://` URI).
    pub async fn connect(addr: &str, token: Option<&str>) -> Result<Client, Error> {
        Client::connect_with(addr, token, None).await
    }

    /// Connects to `addr`, over TLS for an `https://` address or when `ca_pem` (the PEM
    /// certificate of the authority that signed the server's, or the server's own
    /// self-signed one) is given; without `ca_pem` the system's roots are trusted.
    pub async fn connect_with(addr: &str, token: Option<&str>, ca_pem: Option<&[u8]>) -> Result<Client, Error> {
        let bad = |e: String| Error::new(ErrorCode::InvalidArgument, format!("bad server address {addr:?}: {e}"));
        let uri = match (addr.split_once("://"), ca_pem) {
            (Some(("http", _)), Some(_)) => {
                return Err(bad("a CA certificate was given for a plaintext http:// address (use https://)".into()))
            }
            (Some(_), _) => addr.to_string(),
            (None, Some(_)) => format!("https://{addr}"),
            (None, None) => format!("http://{addr}"),
        };
        let mut endpoint = Channel::from_shared(uri.clone())
            .map_err(|e| bad(e.to_string()))?
            .initial_stream_window_size(crate::server::STREAM_WINDOW)
            .initial_connection_window_size(crate::server::CONNECTION_WINDOW)
            .max_frame_size(crate::server::MAX_FRAME);
        if uri.starts_with("https://") {
            let tls = match ca_pem {
                Some(pem) => tonic::transport::ClientTlsConfig::new()
                    .ca_certificate(tonic::transport::Certificate::from_pem(pem)),
                None => tonic::transport::ClientTlsConfig::new().with_native_roots(),
            };
            endpoint = endpoint.tls_config(tls).map_err(|e| bad(format!("TLS: {e}")))?;
        }
        let channel = endpoint.connect().await.map_err(|e| {
            // The transport's own message is terse; its source says why (a certificate, a refusal).
            let mut why = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                why = format!("{why}: {s}");
                source = s.source();
            }
            Error::new(ErrorCode::Io, format!("cannot connect to {addr}: {why}"))
        })?;
        let bearer = Bearer(match token {
            Some(t) => Some(
                format!("Bearer {t}")
                    .parse()
                    .map_err(|_| Error::new(ErrorCode::InvalidArgument, "the token must be printable ASCII"))?,
            ),
            None => None,
        });
        let n = crate::DEFAULT_MAX_MESSAGE_SIZE;
        macro_rules! c {
            ($($t:ident)::+) => {
                $($t)::+::with_interceptor(channel.clone(), bearer.clone()).max_decoding_message_size(n).max_encoding_message_size(n)
            };
        }
        Ok(Client {
            kv: c!(v1::kv_client::KvClient),
            blobs: c!(v1::blobs_client::BlobsClient),
            streams: c!(v1::streams_client::StreamsClient),
            database: c!(v1::database_client::DatabaseClient),
            indexes: c!(v1::indexes_client::IndexesClient),
            models: c!(v1::models_client::ModelsClient),
            compat_kv: c!(ckv::kv_client::KvClient),
            compat_blob: c!(cblob::blob_client::BlobClient),
        })
    }

    pub async fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        match self.kv.get(v1::GetRequest { key: Bytes::copy_from_slice(key) }).await {
            Ok(r) => Ok(Some(r.into_inner().value.to_vec())),
            Err(s) if s.code() == tonic::Code::NotFound => Ok(None),
            Err(s) => Err(error(s)),
        }
    }

    pub async fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), Error> {
        let req = v1::PutRequest { key: Bytes::copy_from_slice(key), value: Bytes::copy_from_slice(value) };
        self.kv.put(req).await.map_err(error)?;
        Ok(())
    }

    pub async fn delete(&mut self, key: &[u8]) -> Result<bool, Error> {
        Ok(self
            .kv
            .delete(v1::DeleteRequest { key: Bytes::copy_from_slice(key) })
            .await
            .map_err(error)?
            .into_inner()
            .existed)
    }

    /// Every row under `prefix` after `start_after`, at most `limit`, fetched a page at a time.
    pub async fn scan(
        &mut self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: Option<usize>,
        mut row: impl FnMut(&[u8], &[u8]) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut after = start_after.map(Bytes::copy_from_slice);
        let mut left = limit.unwrap_or(usize::MAX);
        while left > 0 {
            let req = v1::ScanRequest {
                prefix: Bytes::copy_from_slice(prefix),
                start_after: after.take(),
                limit: left.min(1000) as u32,
                keys_only: false,
            };
            let page = self.kv.scan(req).await.map_err(error)?.into_inner();
            for p in &page.pairs {
                row(&p.key, &p.value)?;
            }
            left = left.saturating_sub(page.pairs.len());
            match page.next_start_after {
                Some(k) => after = Some(k),
                None => break,
            }
        }
        Ok(())
    }

    /// Whether all the keys hold equal (`distinct == false`) or distinct values.
    pub async fn kv_compare(&mut self, keys: &[String], distinct: bool) -> Result<bool, Error> {
        let r = if distinct {
            let reqs: Vec<_> = keys.iter().map(|k| ckv::NotEqRequest { key: k.clone() }).collect();
            self.compat_kv.not_eq(tokio_stream::iter(reqs)).await
        } else {
            let reqs: Vec<_> = keys.iter().map(|k| ckv::EqRequest { key: k.clone() }).collect();
            self.compat_kv.eq(tokio_stream::iter(reqs)).await
        };
        Ok(r.map_err(error)?.into_inner())
    }

    /// Whether all the blobs hold equal (`distinct == false`) or distinct bytes.
    pub async fn blob_compare(&mut self, ids: &[u64], distinct: bool) -> Result<bool, Error> {
        let r = if distinct {
            let reqs: Vec<_> = ids.iter().map(|&id| cblob::NotEqDataRequest { id }).collect();
            self.compat_blob.not_eq_data(tokio_stream::iter(reqs)).await
        } else {
            let reqs: Vec<_> = ids.iter().map(|&id| cblob::EqDataRequest { id }).collect();
            self.compat_blob.eq_data(tokio_stream::iter(reqs)).await
        };
        Ok(r.map_err(error)?.into_inner())
    }

    /// Stores what `reader` yields as a new blob, in pieces; returns its id.
    pub async fn blob_put_from(
        &mut self,
        reader: impl Read + Send + 'static,
        metadata: Option<&str>,
    ) -> Result<u64, Error> {
        let mut md = metadata.map(str::to_string);
        let abort = v1::BlobPutChunk { abort: true, ..Default::default() };
        let (s, read_error) =
            pieces(vec![reader], move |data, _, _| v1::BlobPutChunk { data, metadata: md.take(), abort: false }, abort);
        Ok(upload(self.blobs.put(s), read_error).await?.id)
    }

    /// Writes blob `id` to `out` as it arrives.
    pub async fn blob_get_to(&mut self, id: u64, out: &mut impl Write) -> Result<(), Error> {
        let mut s = self.blobs.get(v1::BlobId { id }).await.map_err(error)?.into_inner();
        while let Some(m) = s.next().await {
            out.write_all(&m.map_err(error)?.data).map_err(io)?;
        }
        Ok(())
    }

    /// Replaces a blob's data and/or metadata (`metadata: Some(None)` clears it).
    pub async fn blob_update(
        &mut self,
        id: u64,
        data: Option<Vec<u8>>,
        metadata: Option<Option<String>>,
    ) -> Result<(), Error> {
        let req = cblob::UpdateRequest {
            id,
            bytes: data,
            should_update_metadata: metadata.is_some(),
            metadata: metadata.flatten(),
            transaction_id: None,
        };
        let mut s = self.compat_blob.update(tokio_stream::iter(vec![req])).await.map_err(error)?.into_inner();
        match s.next().await {
            Some(r) => r.map(|_| ()).map_err(error),
            None => Err(Error::new(ErrorCode::Io, "the server did not answer")),
        }
    }

    pub async fn blob_delete(&mut self, id: u64) -> Result<bool, Error> {
        Ok(self.blobs.delete(v1::BlobId { id }).await.map_err(error)?.into_inner().existed)
    }

    /// Writes what `reader` yields as a new version of `path` (with `metadata`), in pieces.
    pub async fn stream_put_from(
        &mut self,
        path: &str,
        reader: impl Read + Send + 'static,
        compress: Option<bool>,
        metadata: Option<&str>,
    ) -> Result<StreamInfo, Error> {
        let path = path.to_string();
        let mut metadata = metadata.map(str::to_string);
        let abort = v1::WriteChunk { abort: true, ..Default::default() };
        let make = move |data, _, first| v1::WriteChunk {
            path: if first { path.clone() } else { String::new() },
            data,
            compress: if first { compress } else { None },
            abort: false,
            metadata: metadata.take(),
        };
        let (s, read_error) = pieces(vec![reader], make, abort);
        Ok(info(upload(self.streams.write(s), read_error).await?))
    }

    /// Writes `path` (newest version, or `version`) to `out` as it arrives.
    pub async fn stream_get_to(&mut self, path: &str, version: Option<u64>, out: &mut impl Write) -> Result<(), Error> {
        self.stream_read_to(v1::ReadRequest { path: path.into(), version, offset: 0, length: None }, out).await
    }

    /// Writes `length` bytes of the newest version of `path` from `offset` (fewer at
    /// the end) to `out`.
    pub async fn stream_range_to(
        &mut self,
        path: &str,
        offset: u64,
        length: u64,
        out: &mut impl Write,
    ) -> Result<(), Error> {
        self.stream_read_to(v1::ReadRequest { path: path.into(), version: None, offset, length: Some(length) }, out)
            .await
    }

    async fn stream_read_to(&mut self, req: v1::ReadRequest, out: &mut impl Write) -> Result<(), Error> {
        let mut s = self.streams.read(req).await.map_err(error)?.into_inner();
        while let Some(m) = s.next().await {
            out.write_all(&m.map_err(error)?.data).map_err(io)?;
        }
        Ok(())
    }

    pub async fn stream_stat(&mut self, path: &str) -> Result<StreamInfo, Error> {
        Ok(info(self.streams.stat(v1::PathRequest { path: path.into() }).await.map_err(error)?.into_inner()))
    }

    /// Kept versions, oldest first (empty when there are none).
    pub async fn stream_versions(&mut self, path: &str) -> Result<Vec<StreamInfo>, Error> {
        match self.streams.versions(v1::PathRequest { path: path.into() }).await {
            Ok(r) => Ok(r.into_inner().versions.into_iter().map(info).collect()),
            Err(s) if s.code() == tonic::Code::NotFound => Ok(Vec::new()),
            Err(s) => Err(error(s)),
        }
    }

    /// Replaces the newest version's metadata (`None` clears it).
    pub async fn stream_set_metadata(&mut self, path: &str, metadata: Option<&str>) -> Result<StreamInfo, Error> {
        let req = v1::StreamMetadataRequest { path: path.into(), metadata: metadata.map(str::to_string) };
        Ok(info(self.streams.set_metadata(req).await.map_err(error)?.into_inner()))
    }

    pub async fn stream_delete(&mut self, path: &str) -> Result<bool, Error> {
        Ok(self.streams.delete(v1::PathRequest { path: path.into() }).await.map_err(error)?.into_inner().existed)
    }

    /// Paths under `prefix`, handed to `each` page by page.
    pub async fn search(
        &mut self,
        prefix: &str,
        start_after: Option<&str>,
        limit: Option<usize>,
        mut each: impl FnMut(&str) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let req = v1::SearchRequest {
            prefix: prefix.into(),
            start_after: start_after.map(Into::into),
            limit: limit.map(|l| l as u64),
        };
        let mut s = self.streams.search(req).await.map_err(error)?.into_inner();
        while let Some(page) = s.next().await {
            for p in page.map_err(error)?.paths {
                each(&p)?;
            }
        }
        Ok(())
    }

    /// Read-only SQL: each row with the column names, as the server streams them (no
    /// row limit); returns the column names (also when there were no rows).
    pub async fn query(
        &mut self,
        sql: &str,
        params: &[Value],
        row: impl FnMut(&[String], Vec<Value>) -> Result<(), Error>,
    ) -> Result<Vec<String>, Error> {
        self.query_with(sql, params, None, None, row).await
    }

    /// [`Client::query`] with a time limit (at most the server's own) and a row
    /// limit (more rows fail `TOO_LARGE`), as `Db::query_with` takes locally.
    pub async fn query_with(
        &mut self,
        sql: &str,
        params: &[Value],
        timeout: Option<std::time::Duration>,
        max_rows: Option<usize>,
        mut row: impl FnMut(&[String], Vec<Value>) -> Result<(), Error>,
    ) -> Result<Vec<String>, Error> {
        let params = params.iter().cloned().map(crate::v1::convert::cell).collect();
        let request = v1::QueryRequest {
            sql: sql.into(),
            params,
            timeout_ms: timeout.map(|t| t.as_millis().min(u64::MAX as u128) as u64),
            max_rows: max_rows.map(|n| n as u64),
        };
        let mut s = self.database.query(request).await.map_err(error)?.into_inner();
        let mut columns = None;
        while let Some(m) = s.next().await {
            let m = m.map_err(error)?;
            let columns = columns.get_or_insert(m.columns);
            for r in m.rows {
                row(columns, r.cells.into_iter().map(crate::v1::convert::value).collect())?;
            }
        }
        Ok(columns.unwrap_or_default())
    }

    // ---- Model registry ----

    /// Registers a version: uploads each (file name, reader) in pieces and registers
    /// the record with them (and the streams its `files` already list), atomically.
    pub async fn model_register(
        &mut self,
        info: &ModelInfo,
        files: Vec<(String, Box<dyn Read + Send>)>,
    ) -> Result<ModelInfo, Error> {
        let (names, readers): (Vec<String>, Vec<_>) = files.into_iter().unzip();
        let head = v1::ModelUpload { info: Some(crate::v1::models::model_info(info.clone())), ..Default::default() };
        let abort = v1::ModelUpload { abort: true, ..Default::default() };
        let make = move |data, file: usize, first: bool| v1::ModelUpload {
            info: None,
            file: first.then(|| names[file].clone()),
            data,
            abort: false,
        };
        let (s, read_error) = pieces(readers, make, abort);
        let s = tokio_stream::once(head).chain(s);
        Ok(crate::v1::models::engine_info(upload(self.models.register(s), read_error).await?))
    }

    /// The record of a version or alias.
    pub async fn model_get(&mut self, name: &str, version_or_alias: &str) -> Result<ModelInfo, Error> {
        let req = v1::ModelRef { name: name.into(), version: version_or_alias.into() };
        Ok(crate::v1::models::engine_info(self.models.get(req).await.map_err(error)?.into_inner()))
    }

    /// Each model's name and the version `latest` names.
    pub async fn model_list(&mut self) -> Result<Vec<(String, String)>, Error> {
        let r = self.models.list(v1::ListModelsRequest { name: None }).await.map_err(error)?.into_inner();
        Ok(r.models.into_iter().map(|m| (m.name, m.latest)).collect())
    }

    /// A model's versions, oldest first (empty when it has none).
    pub async fn model_versions(&mut self, name: &str) -> Result<Vec<ModelInfo>, Error> {
        match self.models.list(v1::ListModelsRequest { name: Some(name.into()) }).await {
            Ok(r) => Ok(r.into_inner().versions.into_iter().map(crate::v1::models::engine_info).collect()),
            Err(s) if s.code() == tonic::Code::NotFound => Ok(Vec::new()),
            Err(s) => Err(error(s)),
        }
    }

    pub async fn model_aliases(&mut self, name: &str) -> Result<BTreeMap<String, String>, Error> {
        let r = self.models.aliases(v1::ModelName { name: name.into() }).await.map_err(error)?.into_inner();
        Ok(r.aliases.into_iter().collect())
    }

    /// Points `alias` at `version`, or removes it with `None`.
    pub async fn model_set_alias(&mut self, name: &str, alias: &str, version: Option<&str>) -> Result<(), Error> {
        let req = v1::SetAliasRequest { name: name.into(), alias: alias.into(), version: version.map(Into::into) };
        self.models.set_alias(req).await.map_err(error)?;
        Ok(())
    }

    pub async fn model_delete(&mut self, name: &str, version: &str) -> Result<bool, Error> {
        let req = v1::ModelRef { name: name.into(), version: version.into() };
        Ok(self.models.delete(req).await.map_err(error)?.into_inner().existed)
    }

    // ---- Indexes ----

    pub async fn create_index(
        &mut self,
        name: &str,
        source: &str,
        json_path: &str,
        unique: bool,
        key_prefix: Option<&[u8]>,
    ) -> Result<IndexInfo, Error> {
        let req = v1::CreateIndexRequest {
            name: name.into(),
            source: source.into(),
            json_path: json_path.into(),
            unique,
            key_prefix: key_prefix.map(Bytes::copy_from_slice),
        };
        Ok(index_info(self.indexes.create(req).await.map_err(error)?.into_inner()))
    }

    pub async fn drop_index(&mut self, name: &str) -> Result<bool, Error> {
        Ok(self.indexes.drop(v1::IndexName { name: name.into() }).await.map_err(error)?.into_inner().existed)
    }

    pub async fn list_indexes(&mut self) -> Result<Vec<IndexInfo>, Error> {
        let r = self.indexes.list(v1::ListIndexesRequest {}).await.map_err(error)?.into_inner();
        Ok(r.indexes.into_iter().map(index_info).collect())
    }

    /// The entries whose value is `value`, at most `limit`, handed to `each` as they arrive.
    pub async fn find(
        &mut self,
        name: &str,
        value: &JsonValue,
        limit: Option<usize>,
        each: impl FnMut(IndexEntry) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let req = v1::FindRequest { name: name.into(), value: value.to_string(), limit: limit.map(|l| l as u64) };
        let s = self.indexes.find(req).await.map_err(error)?.into_inner();
        entries(s, each).await
    }

    /// The entries with `low <= value <= high` in index order (or reversed), after
    /// `start_after`, at most `limit`, handed to `each` as they arrive.
    #[allow(clippy::too_many_arguments)]
    pub async fn find_range(
        &mut self,
        name: &str,
        low: Option<&JsonValue>,
        high: Option<&JsonValue>,
        reverse: bool,
        start_after: Option<&IndexEntry>,
        limit: Option<usize>,
        each: impl FnMut(IndexEntry) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let req = v1::FindRangeRequest {
            name: name.into(),
            low: low.map(JsonValue::to_string),
            high: high.map(JsonValue::to_string),
            reverse,
            start_after: start_after.map(wire_entry),
            limit: limit.map(|l| l as u64),
        };
        let s = self.indexes.find_range(req).await.map_err(error)?.into_inner();
        entries(s, each).await
    }
}

fn index_info(i: v1::IndexInfo) -> IndexInfo {
    IndexInfo {
        name: i.name,
        source: i.source,
        json_path: i.json_path,
        unique: i.unique,
        key_prefix: i.key_prefix.map(|p| p.to_vec()),
        entries: i.entries,
        ready: i.ready,
    }
}

fn wire_entry(e: &IndexEntry) -> v1::IndexEntry {
    use v1::index_record::Record as R;
    let record = match &e.record {
        Record::Key(k) => R::Key(Bytes::copy_from_slice(k)),
        Record::Blob(id) => R::BlobId(*id),
        Record::Path(p) => R::Path(p.clone()),
    };
    v1::IndexEntry { value: e.value.to_string(), record: Some(v1::IndexRecord { record: Some(record) }) }
}

/// The entries of a Find/FindRange stream, as the engine's.
async fn entries(
    mut s: tonic::Streaming<v1::FindPage>,
    mut each: impl FnMut(IndexEntry) -> Result<(), Error>,
) -> Result<(), Error> {
    use v1::index_record::Record as R;
    let bad = || {
        Error::new(
            ErrorCode::Corrupt,
            "the server sent an index entry without a record or with a value that is not JSON",
        )
    };
    while let Some(page) = s.next().await {
        for e in page.map_err(error)?.entries {
            let record = match e.record.and_then(|r| r.record).ok_or_else(bad)? {
                R::Key(k) => Record::Key(k.to_vec()),
                R::BlobId(id) => Record::Blob(id),
                R::Path(p) => Record::Path(p),
            };
            let value = serde_json::from_str(&e.value).map_err(|_| bad())?;
            each(IndexEntry { value, record })?;
        }
    }
    Ok(())
}
