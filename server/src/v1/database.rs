//! `buffdb.v1.Database`: read-only SQL with typed cells, stats and check.

use std::pin::Pin;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::error::{blocking, IntoStatus};
use crate::proto::v1::database_server::Database;
use crate::proto::v1::*;
use crate::state::State;
use crate::v1::convert::{cell, value};

/// Rows per query message.
pub const ROWS_PER_MESSAGE: usize = 1000;

pub struct DatabaseV1 {
    state: State,
}

impl DatabaseV1 {
    pub fn new(state: State) -> DatabaseV1 {
        DatabaseV1 { state }
    }
}

type BoxStream<T> = Pin<Box<dyn tokio_stream::Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl Database for DatabaseV1 {
    type QueryStream = BoxStream<QueryResponse>;

    async fn query(&self, request: Request<QueryRequest>) -> Result<Response<Self::QueryStream>, Status> {
        let r = request.into_inner();
        let params: Vec<buffdb::Value> = r.params.into_iter().map(value).collect();
        let db = self.state.stores.kv.clone();
        let result = blocking(move || db.query(&r.sql, &params).or_status()).await?;
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            let mut columns = result.columns;
            let mut rows = result.rows.into_iter().peekable();
            loop {
                let page: Vec<Row> = rows
                    .by_ref()
                    .take(ROWS_PER_MESSAGE)
                    .map(|row| Row { cells: row.into_iter().map(cell).collect() })
                    .collect();
                let last = rows.peek().is_none();
                let msg = QueryResponse { columns: std::mem::take(&mut columns), rows: page };
                if tx.send(Ok(msg)).await.is_err() || last {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn stats(&self, _request: Request<StatsRequest>) -> Result<Response<DatabaseStats>, Status> {
        let db = self.state.stores.kv.clone();
        let s = blocking(move || db.stats().or_status()).await?;
        Ok(Response::new(DatabaseStats {
            kv_count: s.kv_count,
            blob_count: s.blob_count,
            stream_count: s.stream_count,
            version_count: s.version_count,
            chunk_count: s.chunk_count,
            stored_bytes: s.stored_bytes,
            file_size: s.file_size,
            page_size: s.page_size,
            format_version: s.format_version,
        }))
    }

    async fn check(&self, _request: Request<CheckRequest>) -> Result<Response<CheckReport>, Status> {
        let db = self.state.stores.kv.clone();
        let r = blocking(move || db.check().or_status()).await?;
        Ok(Response::new(CheckReport {
            ok: r.ok,
            chunks_checked: r.chunks_checked,
            damaged_streams: r.damaged_streams,
            damaged_blobs: r.damaged_blobs,
            problems: r.problems,
            sqlite_errors: r.sqlite_errors,
        }))
    }
}
