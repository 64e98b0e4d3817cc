//! `buffdb.query.Query`, wire-compatible with the earlier BuffDB. Queries are
//! read-only SQL over the views kv, blobs and streams; each row is one
//! `QueryResult` whose cells are `google.protobuf.Any` holding a wrapper
//! (Int64Value, DoubleValue, StringValue, BytesValue) or `Empty` for NULL.
//! Rows stream from the engine as SQLite produces them, without a row limit
//! (see `query_rows`). `Execute` is refused: writes go through Kv and Blob.

use buffdb::Value;
use prost::bytes::BytesMut;
use prost_types::Any;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use crate::batch::{shutdown_begun, shutting_down};
use crate::proto::query::query_server::Query;
use crate::proto::query::*;
use crate::query_rows::{self, Pager};
use crate::state::State;
use crate::BoxStream;

pub struct QueryService {
    state: State,
}

impl QueryService {
    pub fn new(state: State) -> QueryService {
        QueryService { state }
    }
}

/// A cell as an `Any` holding the matching well-known wrapper.
pub fn cell(v: Value) -> Any {
    let mut buf = BytesMut::new();
    let name = match v {
        Value::Null => "Empty",
        Value::Integer(i) => {
            if i != 0 {
                prost::encoding::int64::encode(1, &i, &mut buf);
            }
            "Int64Value"
        }
        Value::Real(f) => {
            if f != 0.0 {
                prost::encoding::double::encode(1, &f, &mut buf);
            }
            "DoubleValue"
        }
        Value::Text(s) => {
            if !s.is_empty() {
                prost::encoding::string::encode(1, &s, &mut buf);
            }
            "StringValue"
        }
        Value::Blob(b) => {
            if !b.is_empty() {
                prost::encoding::bytes::encode(1, &b, &mut buf);
            }
            "BytesValue"
        }
    };
    Any { type_url: format!("type.googleapis.com/google.protobuf.{name}"), value: buf.to_vec() }
}

/// Rows queued between the engine and the client.
const ROWS_IN_FLIGHT: usize = 256;

/// Each row is one `QueryResult`, as the earlier server sent them.
struct OneRowPerMessage;

impl Pager for OneRowPerMessage {
    type Message = QueryResult;
    fn row(&mut self, _: &[String], row: Vec<Value>) -> Option<QueryResult> {
        Some(QueryResult { fields: row.into_iter().map(cell).collect() })
    }
    fn end(self, _: Vec<String>) -> Option<QueryResult> {
        None
    }
}

#[tonic::async_trait]
impl Query for QueryService {
    type QueryStream = BoxStream<QueryResult>;
    type ExecuteStream = BoxStream<RowsChanged>;

    async fn query(&self, request: Request<Streaming<RawQuery>>) -> Result<Response<Self::QueryStream>, Status> {
        let mut input = request.into_inner();
        let state = self.state.clone();
        let (tx, rx) = mpsc::channel(ROWS_IN_FLIGHT);
        tokio::spawn(async move {
            let mut shutdown = state.shutdown.clone();
            loop {
                let q = tokio::select! {
                    biased;
                    _ = shutdown_begun(&mut shutdown) => { let _ = tx.send(Err(shutting_down())).await; return; }
                    q = input.next() => q,
                };
                let q = match q {
                    Some(Ok(q)) => q,
                    _ => return,
                };
                let db = if q.target == TargetStore::Blob as i32 {
                    state.stores.blob.clone()
                } else {
                    state.stores.kv.clone()
                };
                if let Err(e) =
                    query_rows::stream(&state, db, q.query, Vec::new(), Default::default(), &tx, OneRowPerMessage).await
                {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
                if tx.is_closed() {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn execute(&self, _request: Request<Streaming<RawQuery>>) -> Result<Response<Self::ExecuteStream>, Status> {
        Err(Status::permission_denied(
            "READ_ONLY: this server runs read-only SQL only (buffdb.query.Query/Query); \
             write through buffdb.kv.Kv and buffdb.blob.Blob",
        ))
    }
}
