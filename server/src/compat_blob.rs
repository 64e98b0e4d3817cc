//! `buffdb.blob.Blob`, wire-compatible with the earlier BuffDB: NOT_FOUND for
//! missing ids, ids never reused, transactions shared with `buffdb.kv` when both
//! services serve one file.

use std::pin::Pin;

use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use crate::batch::{runs_by_txn, serve_batches};
use crate::error::{blocking, not_found, IntoStatus};
use crate::ops::{run_items, Op, Ops};
use crate::proto::blob::blob_server::Blob;
use crate::proto::blob::*;
use crate::state::State;

pub struct BlobService {
    state: State,
}

impl BlobService {
    pub fn new(state: State) -> BlobService {
        BlobService { state }
    }

    fn serve<Req, Resp>(
        &self,
        input: Streaming<Req>,
        write: bool,
        txn_of: fn(&Req) -> Option<&String>,
        op: Op<Req, Resp>,
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
                    if txn.is_some() {
                        if let Err(e) = state.stores.blob_txn_allowed() {
                            return (answers, Some(e));
                        }
                    }
                    let (out, err) = run_items(&state.stores.blob, &state.txns, txn, write, items, op).await;
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

fn missing(id: u64) -> Status {
    not_found(format!("blob {id} not found"))
}

fn get_op(t: &dyn Ops, r: GetRequest) -> Result<GetResponse, Status> {
    let info = t.blob_info(r.id).or_status()?.ok_or_else(|| missing(r.id))?;
    let bytes = t.blob_get(r.id).or_status()?.ok_or_else(|| missing(r.id))?;
    Ok(GetResponse { bytes, metadata: info.metadata })
}

fn store_op(t: &dyn Ops, r: StoreRequest) -> Result<StoreResponse, Status> {
    Ok(StoreResponse { id: t.blob_put(&r.bytes, r.metadata.as_deref()).or_status()? })
}

fn update_op(t: &dyn Ops, r: UpdateRequest) -> Result<UpdateResponse, Status> {
    let metadata = if r.should_update_metadata { Some(r.metadata.as_deref()) } else { None };
    if r.bytes.is_none() && metadata.is_none() {
        // Nothing to change: still say whether the blob exists.
        t.blob_info(r.id).or_status()?.ok_or_else(|| missing(r.id))?;
    } else {
        t.blob_update(r.id, r.bytes.as_deref(), metadata).or_status()?;
    }
    Ok(UpdateResponse { id: r.id })
}

fn delete_op(t: &dyn Ops, r: DeleteRequest) -> Result<DeleteResponse, Status> {
    if t.blob_delete(r.id).or_status()? {
        Ok(DeleteResponse { id: r.id })
    } else {
        Err(missing(r.id))
    }
}

type BoxStream<T> = Pin<Box<dyn tokio_stream::Stream<Item = Result<T, Status>> + Send>>;

async fn collect_ids<R>(mut input: Streaming<R>, id: fn(R) -> u64) -> Result<Vec<u64>, Status> {
    let mut ids = Vec::new();
    while let Some(r) = input.next().await {
        ids.push(id(r?));
    }
    Ok(ids)
}

#[tonic::async_trait]
impl Blob for BlobService {
    type GetStream = BoxStream<GetResponse>;
    type StoreStream = BoxStream<StoreResponse>;
    type UpdateStream = BoxStream<UpdateResponse>;
    type DeleteStream = BoxStream<DeleteResponse>;

    async fn get(&self, request: Request<Streaming<GetRequest>>) -> Result<Response<Self::GetStream>, Status> {
        let s = self.serve(request.into_inner(), false, |r| r.transaction_id.as_ref(), get_op);
        Ok(Response::new(Box::pin(s)))
    }

    async fn store(&self, request: Request<Streaming<StoreRequest>>) -> Result<Response<Self::StoreStream>, Status> {
        let s = self.serve(request.into_inner(), true, |r| r.transaction_id.as_ref(), store_op);
        Ok(Response::new(Box::pin(s)))
    }

    async fn update(&self, request: Request<Streaming<UpdateRequest>>) -> Result<Response<Self::UpdateStream>, Status> {
        let s = self.serve(request.into_inner(), true, |r| r.transaction_id.as_ref(), update_op);
        Ok(Response::new(Box::pin(s)))
    }

    async fn delete(&self, request: Request<Streaming<DeleteRequest>>) -> Result<Response<Self::DeleteStream>, Status> {
        let s = self.serve(request.into_inner(), true, |r| r.transaction_id.as_ref(), delete_op);
        Ok(Response::new(Box::pin(s)))
    }

    async fn eq_data(&self, request: Request<Streaming<EqDataRequest>>) -> Result<Response<bool>, Status> {
        let ids = collect_ids(request.into_inner(), |r| r.id).await?;
        let db = self.state.stores.blob.clone();
        Ok(Response::new(blocking(move || db.blob_eq(&ids).or_status()).await?))
    }

    async fn not_eq_data(&self, request: Request<Streaming<NotEqDataRequest>>) -> Result<Response<bool>, Status> {
        let ids = collect_ids(request.into_inner(), |r| r.id).await?;
        let db = self.state.stores.blob.clone();
        Ok(Response::new(blocking(move || db.blob_not_eq(&ids).or_status()).await?))
    }
}
