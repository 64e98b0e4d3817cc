//! `buffdb.kv.Kv`, wire-compatible with the earlier BuffDB, with working
//! transactions and NOT_FOUND for missing keys.

use std::pin::Pin;
use std::time::Duration;

use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use crate::batch::{runs_by_txn, serve_batches};
use crate::error::{blocking, not_found, IntoStatus};
use crate::ops::{run_items, Ops};
use crate::proto::kv::kv_server::Kv;
use crate::proto::kv::*;
use crate::state::State;
use crate::txn_registry::not_open;

pub struct KvService {
    state: State,
}

impl KvService {
    pub fn new(state: State) -> KvService {
        KvService { state }
    }

    /// Serves a bidirectional stream: batches split into runs by transaction id.
    fn serve<Req, Resp>(
        &self,
        input: Streaming<Req>,
        write: bool,
        txn_of: fn(&Req) -> Option<&String>,
        op: crate::ops::Op<Req, Resp>,
    ) -> ReceiverStream<Result<Resp, Status>>
    where
        Req: prost::Message + Default + Send + 'static,
        Resp: Send + 'static,
    {
        let state = self.state.clone();
        serve_batches(input, self.state.shutdown.clone(), move |batch| {
            let state = state.clone();
            async move {
                let mut answers = Vec::with_capacity(batch.len());
                for (txn, items) in runs_by_txn(batch, txn_of) {
                    let (out, err) = run_items(&state.stores.kv, &state.txns, txn, write, items, op).await;
                    answers.extend(out);
                    if err.is_some() {
                        return (answers, err);
                    }
                }
                (answers, None)
            }
        })
    }
}

fn utf8(key: &str, value: Vec<u8>) -> Result<String, Status> {
    String::from_utf8(value).map_err(|_| {
        Status::failed_precondition(format!(
            "the value of key {key:?} is not UTF-8, which buffdb.kv cannot carry: read it through buffdb.v1.Kv"
        ))
    })
}

fn get_op(t: &dyn Ops, r: GetRequest) -> Result<GetResponse, Status> {
    match t.get(r.key.as_bytes()).or_status()? {
        Some(v) => Ok(GetResponse { value: utf8(&r.key, v)? }),
        None => Err(not_found(format!("key {:?} not found", r.key))),
    }
}

fn set_op(t: &dyn Ops, r: SetRequest) -> Result<SetResponse, Status> {
    t.put(r.key.as_bytes(), r.value.as_bytes()).or_status()?;
    Ok(SetResponse { key: r.key })
}

fn delete_op(t: &dyn Ops, r: DeleteRequest) -> Result<DeleteResponse, Status> {
    if t.delete(r.key.as_bytes()).or_status()? {
        Ok(DeleteResponse { key: r.key })
    } else {
        Err(not_found(format!("key {:?} not found", r.key)))
    }
}

type BoxStream<T> = Pin<Box<dyn tokio_stream::Stream<Item = Result<T, Status>> + Send>>;

/// Collects every key of a client stream.
async fn collect_keys<R>(mut input: Streaming<R>, key: fn(R) -> String) -> Result<Vec<String>, Status> {
    let mut keys = Vec::new();
    while let Some(r) = input.next().await {
        keys.push(key(r?));
    }
    Ok(keys)
}

#[tonic::async_trait]
impl Kv for KvService {
    type GetStream = BoxStream<GetResponse>;
    type SetStream = BoxStream<SetResponse>;
    type DeleteStream = BoxStream<DeleteResponse>;

    async fn get(&self, request: Request<Streaming<GetRequest>>) -> Result<Response<Self::GetStream>, Status> {
        let s = self.serve(request.into_inner(), false, |r| r.transaction_id.as_ref(), get_op);
        Ok(Response::new(Box::pin(s)))
    }

    async fn set(&self, request: Request<Streaming<SetRequest>>) -> Result<Response<Self::SetStream>, Status> {
        let s = self.serve(request.into_inner(), true, |r| r.transaction_id.as_ref(), set_op);
        Ok(Response::new(Box::pin(s)))
    }

    async fn delete(&self, request: Request<Streaming<DeleteRequest>>) -> Result<Response<Self::DeleteStream>, Status> {
        let s = self.serve(request.into_inner(), true, |r| r.transaction_id.as_ref(), delete_op);
        Ok(Response::new(Box::pin(s)))
    }

    async fn eq(&self, request: Request<Streaming<EqRequest>>) -> Result<Response<bool>, Status> {
        let keys = collect_keys(request.into_inner(), |r| r.key).await?;
        let db = self.state.stores.kv.clone();
        Ok(Response::new(blocking(move || db.eq(&keys).or_status()).await?))
    }

    async fn not_eq(&self, request: Request<Streaming<NotEqRequest>>) -> Result<Response<bool>, Status> {
        let keys = collect_keys(request.into_inner(), |r| r.key).await?;
        let db = self.state.stores.kv.clone();
        Ok(Response::new(blocking(move || db.not_eq(&keys).or_status()).await?))
    }

    async fn begin_transaction(
        &self,
        request: Request<BeginTransactionRequest>,
    ) -> Result<Response<BeginTransactionResponse>, Status> {
        let r = request.into_inner();
        let idle = match r.timeout_ms {
            None | Some(0) => self.state.txn_timeout,
            Some(ms) if ms > 0 => Duration::from_millis(ms as u64),
            Some(ms) => return Err(Status::invalid_argument(format!("INVALID_ARGUMENT: timeout_ms {ms} is negative"))),
        };
        let id = self.state.txns.begin(self.state.stores.kv.clone(), r.read_only.unwrap_or(false), idle).await?;
        Ok(Response::new(BeginTransactionResponse { transaction_id: id }))
    }

    async fn commit_transaction(
        &self,
        request: Request<CommitTransactionRequest>,
    ) -> Result<Response<CommitTransactionResponse>, Status> {
        let id = request.into_inner().transaction_id;
        let result = match self.state.txns.take(&id) {
            Some(worker) => worker.commit().await,
            None => Err(not_open(&id)),
        };
        Ok(Response::new(match result {
            Ok(()) => CommitTransactionResponse { success: true, error_message: None },
            Err(e) => CommitTransactionResponse { success: false, error_message: Some(e.message().to_string()) },
        }))
    }

    async fn rollback_transaction(
        &self,
        request: Request<RollbackTransactionRequest>,
    ) -> Result<Response<RollbackTransactionResponse>, Status> {
        let id = request.into_inner().transaction_id;
        let result = match self.state.txns.take(&id) {
            Some(worker) => worker.rollback().await,
            None => Err(not_open(&id)),
        };
        Ok(Response::new(match result {
            Ok(()) => RollbackTransactionResponse { success: true, error_message: None },
            Err(e) => RollbackTransactionResponse { success: false, error_message: Some(e.message().to_string()) },
        }))
    }
}
