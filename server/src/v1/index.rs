//! `buffdb.v1.Indexes`: secondary indexes. Each operation is written once, over
//! `buffdb::Ops`, for the service (on the database) and for a transaction's
//! TxnRequest ops (on its `Txn`).

use buffdb::{JsonValue, Ops, Record};
use prost::bytes::Bytes;
use tonic::{Request, Response, Status};

use crate::error::{blocking, status, IntoStatus};
use crate::proto::v1::index_record::Record as R;
use crate::proto::v1::indexes_server::Indexes;
use crate::proto::v1::*;
use crate::state::State;
use crate::v1::pages::stream_pages;
use crate::BoxStream;

/// Entries per page of a Find/FindRange stream, and most in a transaction's answer.
pub const FIND_PAGE: usize = 1000;

fn invalid(msg: String) -> Status {
    status(buffdb::Error::new(buffdb::ErrorCode::InvalidArgument, msg))
}

/// A JSON value sent as text.
fn json(what: &str, text: &str) -> Result<JsonValue, Status> {
    serde_json::from_str(text).map_err(|e| invalid(format!("{what} {text:?} is not JSON: {e}")))
}

fn info(i: buffdb::IndexInfo) -> IndexInfo {
    IndexInfo {
        name: i.name,
        source: i.source,
        json_path: i.json_path,
        unique: i.unique,
        key_prefix: i.key_prefix.map(Bytes::from),
        entries: i.entries,
        ready: i.ready,
    }
}

fn entry(e: buffdb::IndexEntry) -> IndexEntry {
    let record = match e.record {
        Record::Key(k) => R::Key(Bytes::from(k)),
        Record::Blob(id) => R::BlobId(id),
        Record::Path(p) => R::Path(p),
    };
    IndexEntry { value: e.value.to_string(), record: Some(IndexRecord { record: Some(record) }) }
}

fn engine_entry(e: IndexEntry) -> Result<buffdb::IndexEntry, Status> {
    let record = match e.record.and_then(|r| r.record) {
        Some(R::Key(k)) => Record::Key(k.to_vec()),
        Some(R::BlobId(id)) => Record::Blob(id),
        Some(R::Path(p)) => Record::Path(p),
        None => return Err(invalid("start_after names no record".into())),
    };
    Ok(buffdb::IndexEntry { value: json("start_after's value", &e.value)?, record })
}

pub fn create_index(o: &impl Ops, r: CreateIndexRequest) -> Result<IndexInfo, Status> {
    let i = o.create_index(&r.name, &r.source, &r.json_path, r.unique, r.key_prefix.as_deref()).or_status()?;
    Ok(info(i))
}

pub fn drop_index(o: &impl Ops, r: IndexName) -> Result<DeleteResponse, Status> {
    Ok(DeleteResponse { existed: o.drop_index(&r.name).or_status()? })
}

pub fn list_indexes(o: &impl Ops, _: ListIndexesRequest) -> Result<ListIndexesResponse, Status> {
    Ok(ListIndexesResponse { indexes: o.list_indexes().or_status()?.into_iter().map(info).collect() })
}

/// A lookup, checked and started: the engine's lazy iterator of entries.
fn lookup(o: &impl Ops, r: FindRangeRequest) -> Result<buffdb::FindIter, Status> {
    let low = r.low.as_deref().map(|v| json("low", v)).transpose()?;
    let high = r.high.as_deref().map(|v| json("high", v)).transpose()?;
    let after = r.start_after.map(engine_entry).transpose()?;
    let limit = r.limit.map(|l| l.min(usize::MAX as u64) as usize);
    o.find_range(&r.name, low.as_ref(), high.as_ref(), r.reverse, after.as_ref(), limit).or_status()
}

/// Find as the range [value, value] (the same entries, in the same order).
fn exact(r: FindRequest) -> FindRangeRequest {
    FindRangeRequest {
        name: r.name,
        low: Some(r.value.clone()),
        high: Some(r.value),
        reverse: false,
        start_after: None,
        limit: r.limit,
    }
}

/// One page of a lookup (a transaction's answer): at most `FIND_PAGE` entries, and
/// whether more follow.
pub fn find_range_page(o: &impl Ops, r: FindRangeRequest) -> Result<FindPage, Status> {
    let mut entries = Vec::new();
    let mut more = false;
    for e in lookup(o, r)? {
        if entries.len() == FIND_PAGE {
            more = true;
            break;
        }
        entries.push(entry(e.or_status()?));
    }
    Ok(FindPage { entries, more })
}

pub fn find_page(o: &impl Ops, r: FindRequest) -> Result<FindPage, Status> {
    find_range_page(o, exact(r))
}

pub struct IndexesV1 {
    state: State,
}

impl IndexesV1 {
    pub fn new(state: State) -> IndexesV1 {
        IndexesV1 { state }
    }

    /// Streams a lookup's entries a page at a time; the first page is read before the
    /// call answers, so an unknown index or bad input is the call's status.
    async fn stream(&self, r: FindRangeRequest) -> Result<Response<BoxStream<FindPage>>, Status> {
        let db = self.state.stores.kv.clone();
        let it = blocking(move || lookup(&db, r)).await?;
        let page = |entries: Vec<buffdb::IndexEntry>| FindPage {
            entries: entries.into_iter().map(entry).collect(),
            more: false,
        };
        Ok(Response::new(stream_pages(it, FIND_PAGE, self.state.shutdown.clone(), page)))
    }
}

#[tonic::async_trait]
impl Indexes for IndexesV1 {
    type FindStream = BoxStream<FindPage>;
    type FindRangeStream = BoxStream<FindPage>;

    async fn create(&self, request: Request<CreateIndexRequest>) -> Result<Response<IndexInfo>, Status> {
        on_db!(self, request, create_index)
    }

    async fn drop(&self, request: Request<IndexName>) -> Result<Response<DeleteResponse>, Status> {
        on_db!(self, request, drop_index)
    }

    async fn list(&self, request: Request<ListIndexesRequest>) -> Result<Response<ListIndexesResponse>, Status> {
        on_db!(self, request, list_indexes)
    }

    async fn find(&self, request: Request<FindRequest>) -> Result<Response<Self::FindStream>, Status> {
        self.stream(exact(request.into_inner())).await
    }

    async fn find_range(&self, request: Request<FindRangeRequest>) -> Result<Response<Self::FindRangeStream>, Status> {
        self.stream(request.into_inner()).await
    }
}
