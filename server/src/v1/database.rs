//! `buffdb.v1.Database`: read-only SQL with typed cells (rows streamed in pages
//! without a row limit, see `query_rows`), stats and check.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status};

use crate::error::{blocking, IntoStatus};
use crate::proto::v1::database_server::Database;
use crate::proto::v1::*;
use crate::query_rows::{self, Pager};
use crate::state::State;
use crate::v1::convert::{cell, value};
use crate::BoxStream;

/// Most rows per query message.
pub const ROWS_PER_MESSAGE: usize = 1000;
/// A message is sent once its rows reach this many bytes (a row of big values is
/// sent alone rather than 1000 of them overrunning the message size limit).
pub const BYTES_PER_MESSAGE: usize = 1 << 20;

/// Rows in pages; the first message carries the column names.
#[derive(Default)]
struct Pages {
    rows: Vec<Row>,
    bytes: usize,
    columns_sent: bool,
}

impl Pages {
    fn take(&mut self, columns: &[String]) -> QueryResponse {
        let columns = if self.columns_sent { Vec::new() } else { columns.to_vec() };
        self.columns_sent = true;
        self.bytes = 0;
        QueryResponse { columns, rows: std::mem::take(&mut self.rows) }
    }
}

impl Pager for Pages {
    type Message = QueryResponse;
    fn row(&mut self, columns: &[String], row: Vec<buffdb::Value>) -> Option<QueryResponse> {
        self.bytes += row.iter().map(value_bytes).sum::<usize>();
        self.rows.push(Row { cells: row.into_iter().map(cell).collect() });
        (self.rows.len() >= ROWS_PER_MESSAGE || self.bytes >= BYTES_PER_MESSAGE).then(|| self.take(columns))
    }
    fn end(mut self, columns: Vec<String>) -> Option<QueryResponse> {
        (!self.rows.is_empty() || !self.columns_sent).then(|| self.take(&columns))
    }
}

fn value_bytes(v: &buffdb::Value) -> usize {
    match v {
        buffdb::Value::Text(s) => s.len() + 8,
        buffdb::Value::Blob(b) => b.len() + 8,
        _ => 12,
    }
}

pub struct DatabaseV1 {
    state: State,
}

impl DatabaseV1 {
    pub fn new(state: State) -> DatabaseV1 {
        DatabaseV1 { state }
    }
}

#[tonic::async_trait]
impl Database for DatabaseV1 {
    type QueryStream = BoxStream<QueryResponse>;

    async fn query(&self, request: Request<QueryRequest>) -> Result<Response<Self::QueryStream>, Status> {
        let r = request.into_inner();
        let params: Vec<buffdb::Value> = r.params.into_iter().map(value).collect();
        let limits = query_rows::Limits {
            timeout: r.timeout_ms.map(Duration::from_millis),
            max_rows: r.max_rows.map(|n| n.min(usize::MAX as u64) as usize),
        };
        let db = self.state.stores.kv.clone();
        let state = self.state.clone();
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            if let Err(e) = query_rows::stream(&state, db, r.sql, params, limits, &tx, Pages::default()).await {
                let _ = tx.send(Err(e)).await;
            }
        });
        // A statement refused or failing before its first page fails the call itself.
        let mut rx = ReceiverStream::new(rx);
        let first = match rx.next().await {
            Some(Err(e)) => return Err(e),
            first => first,
        };
        Ok(Response::new(Box::pin(tokio_stream::iter(first).chain(rx))))
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
