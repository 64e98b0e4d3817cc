//! `buffdb.blob.Blob`, wire-compatible with the earlier BuffDB: NOT_FOUND for
//! missing ids, ids never reused, transactions shared with `buffdb.kv` when both
//! services serve one file.

use tonic::{Request, Response, Status, Streaming};

use crate::batch::{compare, serve_ops};
use crate::error::{not_found, IntoStatus};
use crate::ops::{each, Op, Ops};
use crate::proto::blob::blob_server::Blob;
use crate::proto::blob::*;
use crate::state::State;
use crate::stores::Stores;
use crate::BoxStream;

pub struct BlobService {
    state: State,
}

impl BlobService {
    pub fn new(state: State) -> BlobService {
        BlobService { state }
    }

    /// Serves Get, Store, Update or Delete: on the blob store, in the named
    /// transaction if any (only when the blob store is the KV store's file).
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
        let db = self.state.stores.blob.clone();
        Box::pin(serve_ops(&self.state, db, Stores::blob_txn_allowed, input, write, txn_of, op))
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

#[tonic::async_trait]
impl Blob for BlobService {
    type GetStream = BoxStream<GetResponse>;
    type StoreStream = BoxStream<StoreResponse>;
    type UpdateStream = BoxStream<UpdateResponse>;
    type DeleteStream = BoxStream<DeleteResponse>;

    async fn get(&self, request: Request<Streaming<GetRequest>>) -> Result<Response<Self::GetStream>, Status> {
        Ok(Response::new(self.serve(
            request.into_inner(),
            false,
            |r| r.transaction_id.as_ref(),
            |t, items| each(t, items, get_op),
        )))
    }

    async fn store(&self, request: Request<Streaming<StoreRequest>>) -> Result<Response<Self::StoreStream>, Status> {
        Ok(Response::new(self.serve(
            request.into_inner(),
            true,
            |r| r.transaction_id.as_ref(),
            |t, items| each(t, items, store_op),
        )))
    }

    async fn update(&self, request: Request<Streaming<UpdateRequest>>) -> Result<Response<Self::UpdateStream>, Status> {
        Ok(Response::new(self.serve(
            request.into_inner(),
            true,
            |r| r.transaction_id.as_ref(),
            |t, items| each(t, items, update_op),
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

    async fn eq_data(&self, request: Request<Streaming<EqDataRequest>>) -> Result<Response<bool>, Status> {
        compare(&self.state.stores.blob, request.into_inner(), |r| r.id, |db, ids| db.blob_eq(ids)).await
    }

    async fn not_eq_data(&self, request: Request<Streaming<NotEqDataRequest>>) -> Result<Response<bool>, Status> {
        compare(&self.state.stores.blob, request.into_inner(), |r| r.id, |db, ids| db.blob_not_eq(ids)).await
    }
}
