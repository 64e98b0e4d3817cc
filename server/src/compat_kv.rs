//! `buffdb.kv.Kv`, wire-compatible with the earlier BuffDB, with working
//! transactions and NOT_FOUND for missing keys.

use std::time::Duration;

use tonic::{Request, Response, Status, Streaming};

use crate::batch::{compare, serve_ops};
use crate::error::{not_found, IntoStatus};
use crate::ops::{each, BatchResult, Op, Ops};
use crate::proto::kv::kv_server::Kv;
use crate::proto::kv::*;
use crate::state::State;
use crate::txn_registry::not_open;
use crate::BoxStream;

pub struct KvService {
    state: State,
}

impl KvService {
    pub fn new(state: State) -> KvService {
        KvService { state }
    }

    /// Serves Get, Set or Delete: on the KV store, in the named transaction if any.
    fn serve<Req, Resp>(
        &self,
        input: Streaming<Req>,
        write: bool,
        txn_of: fn(&Req) -> Option<&String>,
        op: Op<Req, Resp>,
    ) -> BoxStream<Resp>
    where
        Req: prost::Message + Default + Send + 'static,
        Resp: Send + 'static,
    {
        let db = self.state.stores.kv.clone();
        Box::pin(serve_ops(&self.state, db, |_| Ok(()), input, write, txn_of, op))
    }

    /// Commits or rolls back transaction `id`: whether that worked, and why not.
    async fn end(&self, id: String, commit: bool) -> (bool, Option<String>) {
        let result = match self.state.txns.take(&id) {
            Some(worker) if commit => worker.commit().await,
            Some(worker) => worker.rollback().await,
            None => Err(not_open(&id)),
        };
        (result.is_ok(), result.err().map(|e| e.message().to_string()))
    }
}

fn utf8(key: &str, value: Vec<u8>) -> Result<String, Status> {
    String::from_utf8(value).map_err(|_| {
        Status::failed_precondition(format!(
            "the value of key {key:?} is not UTF-8, which buffdb.kv cannot carry: read it through buffdb.v1.Kv"
        ))
    })
}

/// A run of Gets reads its keys together, in one snapshot: one reader and one
/// read of the commit counter for the run instead of one per key.
fn get_op(t: &dyn Ops, items: Vec<GetRequest>) -> BatchResult<GetResponse> {
    let keys: Vec<&[u8]> = items.iter().map(|r| r.key.as_bytes()).collect();
    let values = match t.get_many(&keys).or_status() {
        Ok(v) => v,
        // One bad key fails the whole read: answer the ones before it one by one.
        Err(_) => return each(t, items, get_one),
    };
    let mut out = Vec::with_capacity(items.len());
    for (r, v) in items.iter().zip(values) {
        match v.ok_or_else(|| missing(&r.key)).and_then(|v| utf8(&r.key, v)) {
            Ok(value) => out.push(GetResponse { value }),
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

fn get_one(t: &dyn Ops, r: GetRequest) -> Result<GetResponse, Status> {
    match t.get(r.key.as_bytes()).or_status()? {
        Some(v) => Ok(GetResponse { value: utf8(&r.key, v)? }),
        None => Err(missing(&r.key)),
    }
}

fn missing(key: &str) -> Status {
    not_found(format!("key {key:?} not found"))
}

fn set_op(t: &dyn Ops, r: SetRequest) -> Result<SetResponse, Status> {
    t.put(r.key.as_bytes(), r.value.as_bytes()).or_status()?;
    Ok(SetResponse { key: r.key })
}

fn delete_op(t: &dyn Ops, r: DeleteRequest) -> Result<DeleteResponse, Status> {
    if t.delete(r.key.as_bytes()).or_status()? {
        Ok(DeleteResponse { key: r.key })
    } else {
        Err(missing(&r.key))
    }
}

#[tonic::async_trait]
impl Kv for KvService {
    type GetStream = BoxStream<GetResponse>;
    type SetStream = BoxStream<SetResponse>;
    type DeleteStream = BoxStream<DeleteResponse>;

    async fn get(&self, request: Request<Streaming<GetRequest>>) -> Result<Response<Self::GetStream>, Status> {
        Ok(Response::new(self.serve(request.into_inner(), false, |r| r.transaction_id.as_ref(), get_op)))
    }

    async fn set(&self, request: Request<Streaming<SetRequest>>) -> Result<Response<Self::SetStream>, Status> {
        Ok(Response::new(self.serve(
            request.into_inner(),
            true,
            |r| r.transaction_id.as_ref(),
            |t, items| each(t, items, set_op),
        )))
    }

    async fn delete(&self, request: Request<Streaming<DeleteRequest>>) -> Result<Response<Self::DeleteStream>, Status> {
        Ok(Response::new(self.serve(
            request.into_inner(),
            true,
            |r| r.transaction_id.as_ref(),
            |t, items| each(t, items, delete_op),
        )))
    }

    async fn eq(&self, request: Request<Streaming<EqRequest>>) -> Result<Response<bool>, Status> {
        compare(&self.state.stores.kv, request.into_inner(), |r| r.key, |db, keys| db.eq(keys)).await
    }

    async fn not_eq(&self, request: Request<Streaming<NotEqRequest>>) -> Result<Response<bool>, Status> {
        compare(&self.state.stores.kv, request.into_inner(), |r| r.key, |db, keys| db.not_eq(keys)).await
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
        let (success, error_message) = self.end(request.into_inner().transaction_id, true).await;
        Ok(Response::new(CommitTransactionResponse { success, error_message }))
    }

    async fn rollback_transaction(
        &self,
        request: Request<RollbackTransactionRequest>,
    ) -> Result<Response<RollbackTransactionResponse>, Status> {
        let (success, error_message) = self.end(request.into_inner().transaction_id, false).await;
        Ok(Response::new(RollbackTransactionResponse { success, error_message }))
    }
}
