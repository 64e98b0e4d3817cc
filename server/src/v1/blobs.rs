//! `buffdb.v1.Blobs`: blobs of any size, uploaded and downloaded in pieces.

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use crate::error::{blocking, not_found, IntoStatus};
use crate::proto::v1::blobs_server::Blobs;
use crate::proto::v1::*;
use crate::state::State;
use crate::v1::chunks::{aborted, forward_pieces, send_reader, ChannelReader, IN_FLIGHT};
use crate::v1::convert::blob_info;
use crate::v1::kv::DEFAULT_PAGE;
use crate::BoxStream;

pub struct BlobsV1 {
    state: State,
}

impl BlobsV1 {
    pub fn new(state: State) -> BlobsV1 {
        BlobsV1 { state }
    }
}

#[tonic::async_trait]
impl Blobs for BlobsV1 {
    type GetStream = BoxStream<BlobChunk>;

    async fn put(&self, request: Request<Streaming<BlobPutChunk>>) -> Result<Response<BlobId>, Status> {
        let mut input = request.into_inner();
        let first = match input.next().await {
            Some(r) => r?,
            None => BlobPutChunk::default(),
        };
        if first.abort {
            return Err(aborted());
        }
        let (tx, rx) = mpsc::channel(IN_FLIGHT);
        let db = self.state.stores.blob.clone();
        let metadata = first.metadata;
        let reader = ChannelReader::new(rx, first.data);
        let store = tokio::task::spawn_blocking(move || db.blob_put_from(reader, metadata.as_deref()));
        forward_pieces(input, tx, self.state.shutdown.clone(), |r| if r.abort { Err(aborted()) } else { Ok(r.data) })
            .await;
        match store.await {
            Ok(Ok(id)) => Ok(Response::new(BlobId { id })),
            Ok(Err(e)) if e.code() == buffdb::ErrorCode::Io && e.message().contains("aborted the upload") => {
                Err(aborted())
            }
            Ok(Err(e)) => Err(crate::error::status(e)),
            Err(e) => Err(Status::internal(format!("INTERNAL: {e}"))),
        }
    }

    async fn get(&self, request: Request<BlobId>) -> Result<Response<Self::GetStream>, Status> {
        let id = request.into_inner().id;
        let db = self.state.stores.blob.clone();
        let (reader, info) = blocking(move || {
            let info = db.blob_info(id).or_status()?.ok_or_else(|| not_found(format!("blob {id} not found")))?;
            Ok((db.blob_open(id).or_status()?, info))
        })
        .await?;
        let (tx, rx) = mpsc::channel(IN_FLIGHT);
        let shutdown = self.state.shutdown.clone();
        let mut info = Some(blob_info(info));
        tokio::task::spawn_blocking(move || {
            send_reader(reader, None, tx, shutdown, |data, _first| BlobChunk { data, info: info.take() })
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn info(&self, request: Request<BlobId>) -> Result<Response<BlobInfo>, Status> {
        let id = request.into_inner().id;
        let db = self.state.stores.blob.clone();
        let info = blocking(move || db.blob_info(id).or_status()).await?;
        info.map(|i| Response::new(blob_info(i))).ok_or_else(|| not_found(format!("blob {id} not found")))
    }

    async fn set_metadata(&self, request: Request<SetMetadataRequest>) -> Result<Response<BlobId>, Status> {
        let r = request.into_inner();
        let db = self.state.stores.blob.clone();
        blocking(move || db.blob_update(r.id, None, Some(r.metadata.as_deref())).or_status()).await?;
        Ok(Response::new(BlobId { id: r.id }))
    }

    async fn delete(&self, request: Request<BlobId>) -> Result<Response<DeleteResponse>, Status> {
        let id = request.into_inner().id;
        let db = self.state.stores.blob.clone();
        let existed = blocking(move || db.blob_delete(id).or_status()).await?;
        Ok(Response::new(DeleteResponse { existed }))
    }

    async fn list(&self, request: Request<ListBlobsRequest>) -> Result<Response<ListBlobsResponse>, Status> {
        let r = request.into_inner();
        let limit = if r.limit == 0 { DEFAULT_PAGE } else { r.limit as usize };
        let db = self.state.stores.blob.clone();
        let ids = blocking(move || db.blob_ids(r.start_after, Some(limit)).or_status()).await?;
        Ok(Response::new(ListBlobsResponse { ids }))
    }
}
