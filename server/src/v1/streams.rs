//! `buffdb.v1.Streams`: path streams written and read in pieces (any size, flat
//! memory), their versions, and prefix search over paths.

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use crate::error::{blocking, not_found, IntoStatus};
use crate::proto::v1::streams_server::Streams;
use crate::proto::v1::*;
use crate::state::State;
use crate::v1::chunks::{aborted, forward_pieces, io_status, send_reader, ChannelReader, IN_FLIGHT};
use crate::v1::convert::stream_info;
use crate::v1::pages::stream_pages;
use crate::BoxStream;

/// Paths per search page.
pub const SEARCH_PAGE: usize = 1000;

/// Replaces the newest version's metadata (on the database or in a transaction).
pub fn set_metadata(o: &impl buffdb::Ops, r: StreamMetadataRequest) -> Result<StreamInfo, Status> {
    Ok(stream_info(o.stream_set_metadata(&r.path, r.metadata.as_deref()).or_status()?))
}

pub struct StreamsV1 {
    state: State,
}

impl StreamsV1 {
    pub fn new(state: State) -> StreamsV1 {
        StreamsV1 { state }
    }
}

#[tonic::async_trait]
impl Streams for StreamsV1 {
    type ReadStream = BoxStream<ReadChunk>;
    type SearchStream = BoxStream<SearchPage>;

    async fn write(&self, request: Request<Streaming<WriteChunk>>) -> Result<Response<StreamInfo>, Status> {
        let mut input = request.into_inner();
        let first = match input.next().await {
            Some(r) => r?,
            None => return Err(Status::invalid_argument("INVALID_ARGUMENT: the stream named no path")),
        };
        if first.abort {
            return Err(aborted());
        }
        let (tx, rx) = mpsc::channel(IN_FLIGHT);
        let db = self.state.stores.kv.clone();
        let mut reader = ChannelReader::new(rx, first.data);
        let (path, compress, metadata) = (first.path, first.compress, first.metadata);
        let write = tokio::task::spawn_blocking(move || -> Result<buffdb::StreamInfo, Status> {
            let mut w = db.stream_writer_with(&path, compress).or_status()?;
            w.set_metadata(metadata.as_deref()).or_status()?;
            // Dropping `w` on an error aborts the write: nothing becomes visible.
            while let Some(piece) = reader.next_piece().map_err(io_status)? {
                w.write(&piece).or_status()?;
            }
            w.commit().or_status()
        });
        forward_pieces(input, tx, self.state.shutdown.clone(), |r| if r.abort { Err(aborted()) } else { Ok(r.data) })
            .await;
        match write.await {
            Ok(r) => Ok(Response::new(stream_info(r?))),
            Err(e) => Err(Status::internal(format!("INTERNAL: {e}"))),
        }
    }

    async fn read(&self, request: Request<ReadRequest>) -> Result<Response<Self::ReadStream>, Status> {
        let r = request.into_inner();
        let db = self.state.stores.kv.clone();
        let reader = blocking(move || {
            let mut reader = db.stream_open(&r.path, r.version).or_status()?;
            reader.seek_to(r.offset).or_status()?;
            Ok(reader)
        })
        .await?;
        let mut info = reader.info().cloned().map(stream_info);
        let (tx, rx) = mpsc::channel(IN_FLIGHT);
        let shutdown = self.state.shutdown.clone();
        tokio::task::spawn_blocking(move || {
            send_reader(reader, r.length, tx, shutdown, |data, _first| ReadChunk { data, info: info.take() })
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn stat(&self, request: Request<PathRequest>) -> Result<Response<StreamInfo>, Status> {
        let path = request.into_inner().path;
        let db = self.state.stores.kv.clone();
        Ok(Response::new(stream_info(blocking(move || db.stream_stat(&path).or_status()).await?)))
    }

    async fn versions(&self, request: Request<PathRequest>) -> Result<Response<VersionsResponse>, Status> {
        let path = request.into_inner().path;
        let db = self.state.stores.kv.clone();
        let p = path.clone();
        let versions = blocking(move || db.stream_versions(&p).or_status()).await?;
        if versions.is_empty() {
            return Err(not_found(format!("stream {path:?} not found")));
        }
        Ok(Response::new(VersionsResponse { versions: versions.into_iter().map(stream_info).collect() }))
    }

    async fn delete(&self, request: Request<PathRequest>) -> Result<Response<DeleteResponse>, Status> {
        let path = request.into_inner().path;
        let db = self.state.stores.kv.clone();
        let existed = blocking(move || db.stream_delete(&path).or_status()).await?;
        Ok(Response::new(DeleteResponse { existed }))
    }

    async fn search(&self, request: Request<SearchRequest>) -> Result<Response<Self::SearchStream>, Status> {
        let r = request.into_inner();
        let db = self.state.stores.kv.clone();
        let limit = r.limit.map(|l| l.min(usize::MAX as u64) as usize);
        let paths = blocking(move || db.search(&r.prefix, r.start_after.as_deref(), limit).or_status()).await?;
        Ok(Response::new(stream_pages(paths, SEARCH_PAGE, self.state.shutdown.clone(), |paths| SearchPage { paths })))
    }

    async fn set_metadata(&self, request: Request<StreamMetadataRequest>) -> Result<Response<StreamInfo>, Status> {
        let db = self.state.stores.kv.clone();
        Ok(Response::new(blocking(move || set_metadata(&db, request.into_inner())).await?))
    }

    async fn search_count(&self, request: Request<SearchCountRequest>) -> Result<Response<CountResponse>, Status> {
        let prefix = request.into_inner().prefix;
        let db = self.state.stores.kv.clone();
        let count = blocking(move || db.search_count(&prefix).or_status()).await?;
        Ok(Response::new(CountResponse { count }))
    }
}
