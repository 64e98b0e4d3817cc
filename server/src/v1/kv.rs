//! `buffdb.v1.Kv`: byte keys and values, batches, paged prefix scans.

use prost::bytes::Bytes;
use tonic::{Request, Response, Status};

use crate::error::{blocking, not_found, IntoStatus};
use crate::proto::v1::kv_server::Kv;
use crate::proto::v1::*;
use crate::state::State;

/// Rows in a scan page when the request names no limit.
pub const DEFAULT_PAGE: usize = 1000;
/// A scan page ends once its rows pass this many bytes.
pub const PAGE_BYTES: usize = 4 << 20;

pub struct KvV1 {
    state: State,
}

impl KvV1 {
    pub fn new(state: State) -> KvV1 {
        KvV1 { state }
    }
}

/// One page of a prefix scan.
pub fn scan_page(db: &buffdb::Db, r: ScanRequest) -> Result<ScanResponse, Status> {
    let limit = if r.limit == 0 { DEFAULT_PAGE } else { r.limit as usize };
    let mut pairs = Vec::new();
    let mut bytes = 0usize;
    let mut full = false;
    if r.keys_only {
        for k in db.keys(&r.prefix, r.start_after.as_deref(), None).or_status()? {
            if pairs.len() >= limit || bytes >= PAGE_BYTES {
                full = true;
                break;
            }
            let k = k.or_status()?;
            bytes += k.len();
            pairs.push(KvPair { key: Bytes::from(k), value: Bytes::new() });
        }
    } else {
        for row in db.scan(&r.prefix, r.start_after.as_deref(), None).or_status()? {
            if pairs.len() >= limit || bytes >= PAGE_BYTES {
                full = true;
                break;
            }
            let (k, v) = row.or_status()?;
            bytes += k.len() + v.len();
            pairs.push(KvPair { key: Bytes::from(k), value: Bytes::from(v) });
        }
    }
    let next_start_after = if full { pairs.last().map(|p| p.key.clone()) } else { None };
    Ok(ScanResponse { pairs, next_start_after })
}

#[tonic::async_trait]
impl Kv for KvV1 {
    async fn get(&self, request: Request<GetRequest>) -> Result<Response<GetResponse>, Status> {
        let key = request.into_inner().key;
        let db = self.state.stores.kv.clone();
        blocking(move || match db.get(&key).or_status()? {
            Some(v) => Ok(Response::new(GetResponse { value: Bytes::from(v) })),
            None => Err(not_found(format!("key {:?} not found", String::from_utf8_lossy(&key)))),
        })
        .await
    }

    async fn put(&self, request: Request<PutRequest>) -> Result<Response<PutResponse>, Status> {
        let r = request.into_inner();
        let db = self.state.stores.kv.clone();
        blocking(move || db.put(&r.key, &r.value).or_status()).await?;
        Ok(Response::new(PutResponse {}))
    }

    async fn delete(&self, request: Request<DeleteRequest>) -> Result<Response<DeleteResponse>, Status> {
        let key = request.into_inner().key;
        let db = self.state.stores.kv.clone();
        let existed = blocking(move || db.delete(&key).or_status()).await?;
        Ok(Response::new(DeleteResponse { existed }))
    }

    async fn get_many(&self, request: Request<GetManyRequest>) -> Result<Response<GetManyResponse>, Status> {
        let keys = request.into_inner().keys;
        let db = self.state.stores.kv.clone();
        let values = blocking(move || db.get_many(&keys).or_status()).await?;
        Ok(Response::new(GetManyResponse {
            values: values.into_iter().map(|v| MaybeValue { value: v.map(Bytes::from) }).collect(),
        }))
    }

    async fn put_many(&self, request: Request<PutManyRequest>) -> Result<Response<PutManyResponse>, Status> {
        let pairs: Vec<(Bytes, Bytes)> = request.into_inner().pairs.into_iter().map(|p| (p.key, p.value)).collect();
        let db = self.state.stores.kv.clone();
        blocking(move || db.put_many(&pairs).or_status()).await?;
        Ok(Response::new(PutManyResponse {}))
    }

    async fn scan(&self, request: Request<ScanRequest>) -> Result<Response<ScanResponse>, Status> {
        let r = request.into_inner();
        let db = self.state.stores.kv.clone();
        Ok(Response::new(blocking(move || scan_page(&db, r)).await?))
    }

    async fn count(&self, request: Request<CountRequest>) -> Result<Response<CountResponse>, Status> {
        let prefix = request.into_inner().prefix;
        let db = self.state.stores.kv.clone();
        let count = blocking(move || db.count(&prefix).or_status()).await?;
        Ok(Response::new(CountResponse { count }))
    }
}
