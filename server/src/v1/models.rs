//! `buffdb.v1.Models`: the model registry (`buffdb::Models`). The unary operations
//! are written once over the engine's surface, for the service (on the database) and
//! for a transaction's TxnRequest ops (on its `Txn`); Register uploads files in
//! pieces and registers them in one transaction.

use std::io::Read;

use buffdb::{Models, Ops};
use prost::bytes::Bytes;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use crate::error::{blocking, status, IntoStatus};
use crate::proto::v1::models_server::Models as ModelsService;
use crate::proto::v1::*;
use crate::state::State;
use crate::v1::chunks::{aborted, forward_pieces, UploadFailed, IN_FLIGHT};

fn invalid(msg: &str) -> Status {
    status(buffdb::Error::new(buffdb::ErrorCode::InvalidArgument, msg.to_string()))
}

pub fn model_info(i: buffdb::ModelInfo) -> ModelInfo {
    ModelInfo {
        name: i.name,
        version: i.version,
        framework: i.framework,
        description: i.description,
        input_shape: i.input_shape,
        output_shape: i.output_shape,
        blob_ids: i.blob_ids,
        created_at: i.created_at,
        parameters: i.parameters.into_iter().collect(),
        files: i
            .files
            .into_iter()
            .map(|f| ModelFile { name: f.name, path: f.path, size: f.size, sha256: f.sha256, etag: f.etag })
            .collect(),
    }
}

pub fn engine_info(i: ModelInfo) -> buffdb::ModelInfo {
    buffdb::ModelInfo {
        name: i.name,
        version: i.version,
        framework: i.framework,
        description: i.description,
        input_shape: i.input_shape,
        output_shape: i.output_shape,
        blob_ids: i.blob_ids,
        created_at: i.created_at,
        parameters: i.parameters.into_iter().collect(),
        files: i
            .files
            .into_iter()
            .map(|f| buffdb::ModelFile { name: f.name, path: f.path, size: f.size, sha256: f.sha256, etag: f.etag })
            .collect(),
    }
}

fn aliases<O: Ops>(o: &O, name: &str) -> Result<ModelAliases, Status> {
    Ok(ModelAliases { aliases: o.model_aliases(name).or_status()?.into_iter().collect() })
}

/// Registers a record whose files are already streams.
pub fn register(o: &impl Ops, r: ModelInfo) -> Result<ModelInfo, Status> {
    Ok(model_info(o.model_register(&engine_info(r)).or_status()?))
}

pub fn get(o: &impl Ops, r: ModelRef) -> Result<ModelInfo, Status> {
    Ok(model_info(o.model_get(&r.name, &r.version).or_status()?))
}

pub fn list(o: &impl Ops, r: ListModelsRequest) -> Result<ListModelsResponse, Status> {
    match r.name {
        None => {
            let mut models = Vec::new();
            for name in o.model_names().or_status()? {
                let latest = o.model_resolve(&name, buffdb::LATEST).or_status()?.unwrap_or_default();
                models.push(ModelSummary { name, latest });
            }
            Ok(ListModelsResponse { models, versions: Vec::new() })
        }
        Some(name) => {
            let versions = o.model_versions(&name).or_status()?;
            if versions.is_empty() {
                return Err(crate::error::not_found(format!("model {name}")));
            }
            Ok(ListModelsResponse { models: Vec::new(), versions: versions.into_iter().map(model_info).collect() })
        }
    }
}

pub fn delete(o: &impl Ops, r: ModelRef) -> Result<DeleteResponse, Status> {
    Ok(DeleteResponse { existed: o.model_delete(&r.name, &r.version).or_status()? })
}

pub fn set_alias(o: &impl Ops, r: SetAliasRequest) -> Result<ModelAliases, Status> {
    o.model_set_alias(&r.name, &r.alias, r.version.as_deref()).or_status()?;
    aliases(o, &r.name)
}

pub fn get_aliases(o: &impl Ops, r: ModelName) -> Result<ModelAliases, Status> {
    aliases(o, &r.name)
}

/// The uploaded files of a Register call as readers, one after the other: a file
/// reads to the message naming the next file, or to the end of the call.
struct Upload {
    rx: mpsc::Receiver<Result<ModelUpload, Status>>,
    current: Bytes,
    /// The next file's name and first piece, once its message arrived.
    next: Option<(String, Bytes)>,
    /// Why the upload stopped (the client aborted or went away, a bad message).
    failed: Option<Status>,
    /// How long the next message may take: the upload holds the writer, so a client
    /// that stalls gets the server's transaction idle timeout.
    idle: std::time::Duration,
    runtime: tokio::runtime::Handle,
}

impl Upload {
    /// Waits for the message that names the first file (none: the call ends first).
    fn first_file(&mut self) -> Result<(), Status> {
        while self.next.is_none() {
            match self.recv() {
                None => return Ok(()),
                Some(Err(s)) => return Err(s),
                Some(Ok(ModelUpload { info: Some(_), .. })) => {
                    return Err(invalid("the record goes in the first message only"))
                }
                Some(Ok(ModelUpload { file: Some(f), data, .. })) => self.next = Some((f, data)),
                Some(Ok(m)) if m.data.is_empty() => {}
                Some(Ok(_)) => return Err(invalid("data before a file name")),
            }
        }
        Ok(())
    }

    /// The next message, or `None` at the end of the call (runs on a blocking thread).
    fn recv(&mut self) -> Option<Result<ModelUpload, Status>> {
        let (rx, idle) = (&mut self.rx, self.idle);
        match self.runtime.block_on(tokio::time::timeout(idle, rx.recv())) {
            Ok(m) => m,
            Err(_) => Some(Err(Status::deadline_exceeded(format!(
                "the upload sent nothing for {} ms (the server's transaction idle timeout): nothing was stored",
                idle.as_millis()
            )))),
        }
    }

    fn fail(&mut self, s: Status) -> std::io::Error {
        self.failed = Some(s.clone());
        std::io::Error::other(UploadFailed(s))
    }
}

impl Read for Upload {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            if self.next.is_some() {
                return Ok(0); // this file ended where the next begins
            }
            match self.recv() {
                None => return Ok(0),
                Some(Err(s)) => return Err(self.fail(s)),
                Some(Ok(m)) if m.info.is_some() => {
                    return Err(self.fail(invalid("the record goes in the first message only")))
                }
                Some(Ok(ModelUpload { file: Some(f), data, .. })) => self.next = Some((f, data)),
                Some(Ok(m)) => self.current = m.data,
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

pub struct ModelsV1 {
    state: State,
}

impl ModelsV1 {
    pub fn new(state: State) -> ModelsV1 {
        ModelsV1 { state }
    }
}

#[tonic::async_trait]
impl ModelsService for ModelsV1 {
    async fn register(&self, request: Request<Streaming<ModelUpload>>) -> Result<Response<ModelInfo>, Status> {
        let mut input = request.into_inner();
        let first = match input.next().await {
            Some(r) => r?,
            None => return Err(invalid("the call carried no record")),
        };
        if first.abort {
            return Err(aborted());
        }
        let Some(info) = first.info else { return Err(invalid("the first message carries the record")) };
        if first.file.is_none() && !first.data.is_empty() {
            return Err(invalid("data before a file name"));
        }
        let (tx, rx) = mpsc::channel(IN_FLIGHT);
        let db = self.state.stores.kv.clone();
        let mut upload = Upload {
            rx,
            current: Bytes::new(),
            next: first.file.map(|f| (f, first.data)),
            failed: None,
            idle: self.state.txn_timeout,
            runtime: tokio::runtime::Handle::current(),
        };
        let mut register = tokio::task::spawn_blocking(move || {
            let mut info = engine_info(info);
            upload.first_file()?;
            let r = db.transaction(|t| {
                while let Some((file, data)) = upload.next.take() {
                    upload.current = data;
                    let f = t.model_write_file(&info.name, &info.version, &file, &mut upload)?;
                    info.files.retain(|x| x.name != f.name);
                    info.files.push(f);
                }
                t.model_register(&info)
            });
            match (upload.failed, r) {
                (Some(s), _) => Err(s),
                (None, r) => r.or_status(),
            }
        });
        let forward =
            forward_pieces(input, tx, self.state.shutdown.clone(), |m| if m.abort { Err(aborted()) } else { Ok(m) });
        // A registration that ends first (an error, the idle timeout) ends the call
        // without waiting for the client's next message.
        let result = tokio::select! {
            r = &mut register => r,
            _ = forward => register.await,
        };
        match result {
            Ok(r) => Ok(Response::new(model_info(r?))),
            Err(e) => Err(Status::internal(format!("INTERNAL: {e}"))),
        }
    }

    async fn get(&self, request: Request<ModelRef>) -> Result<Response<ModelInfo>, Status> {
        on_db!(self, request, get)
    }

    async fn list(&self, request: Request<ListModelsRequest>) -> Result<Response<ListModelsResponse>, Status> {
        on_db!(self, request, list)
    }

    async fn delete(&self, request: Request<ModelRef>) -> Result<Response<DeleteResponse>, Status> {
        on_db!(self, request, delete)
    }

    async fn set_alias(&self, request: Request<SetAliasRequest>) -> Result<Response<ModelAliases>, Status> {
        on_db!(self, request, set_alias)
    }

    async fn aliases(&self, request: Request<ModelName>) -> Result<Response<ModelAliases>, Status> {
        on_db!(self, request, get_aliases)
    }
}
