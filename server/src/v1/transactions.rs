//! `buffdb.v1.Transactions`: a transaction as one bidirectional stream. It begins
//! at the first request, answers each request in order, commits when the client
//! ends its side (or sends `commit`), and rolls back on `rollback`, on an error,
//! when the client goes away, on the idle timeout, or when the server shuts down.

use prost::bytes::Bytes;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use crate::batch::{shutdown_begun, shutting_down};
use crate::error::{not_found, IntoStatus};
use crate::proto::v1::transactions_server::Transactions;
use crate::proto::v1::txn_request::Op;
use crate::proto::v1::txn_response::Result as R;
use crate::proto::v1::*;
use crate::state::State;
use crate::stores::Stores;
use crate::txn_worker::TxnWorker;
use crate::v1::convert::{blob_info, stream_info};
use crate::v1::{index, models, streams};
use crate::BoxStream;

pub struct TransactionsV1 {
    state: State,
}

impl TransactionsV1 {
    pub fn new(state: State) -> TransactionsV1 {
        TransactionsV1 { state }
    }
}

fn is_write(op: &Op) -> bool {
    !matches!(
        op,
        Op::Get(_)
            | Op::Scan(_)
            | Op::BlobGet(_)
            | Op::StreamRead(_)
            | Op::ListIndexes(_)
            | Op::Find(_)
            | Op::FindRange(_)
            | Op::ModelGet(_)
            | Op::ModelList(_)
            | Op::ModelAliases(_)
    )
}

fn is_blob(op: &Op) -> bool {
    matches!(op, Op::BlobPut(_) | Op::BlobGet(_) | Op::BlobDelete(_))
}

/// Runs one operation inside the transaction.
async fn apply(worker: &TxnWorker, stores: &Stores, op: Op) -> Result<R, Status> {
    if is_blob(&op) {
        stores.blob_txn_allowed()?;
    }
    let write = is_write(&op);
    worker
        .run(write, move |t| {
            Ok(match op {
                Op::Get(r) => R::Get(MaybeValue { value: t.get(&r.key).or_status()?.map(Bytes::from) }),
                Op::Put(r) => {
                    t.put(&r.key, &r.value).or_status()?;
                    R::Put(PutResponse {})
                }
                Op::Delete(r) => R::Delete(DeleteResponse { existed: t.delete(&r.key).or_status()? }),
                Op::Scan(r) => {
                    let limit = if r.limit == 0 { crate::v1::kv::DEFAULT_PAGE } else { r.limit as usize };
                    let rows = t
                        .scan(&r.prefix, r.start_after.as_deref(), Some(limit + 1))
                        .and_then(|rows| rows.collect::<buffdb::Result<Vec<_>>>())
                        .or_status()?;
                    let more = rows.len() > limit;
                    let pairs: Vec<KvPair> = rows
                        .into_iter()
                        .take(limit)
                        .map(|(k, v)| KvPair {
                            key: Bytes::from(k),
                            value: if r.keys_only { Bytes::new() } else { Bytes::from(v) },
                        })
                        .collect();
                    let next_start_after = if more { pairs.last().map(|p| p.key.clone()) } else { None };
                    R::Scan(ScanResponse { pairs, next_start_after })
                }
                Op::BlobPut(r) => R::BlobPut(BlobId { id: t.blob_put(&r.data, r.metadata.as_deref()).or_status()? }),
                Op::BlobGet(r) => {
                    let missing = || not_found(format!("blob {} not found", r.id));
                    let info = t.blob_info(r.id).or_status()?.ok_or_else(missing)?;
                    let data = t.blob_get(r.id).or_status()?.ok_or_else(missing)?;
                    R::BlobGet(BlobChunk { data: Bytes::from(data), info: Some(blob_info(info)) })
                }
                Op::BlobDelete(r) => R::BlobDelete(DeleteResponse { existed: t.blob_delete(r.id).or_status()? }),
                Op::StreamWrite(r) => R::StreamWrite(stream_info(
                    t.stream_write_with_metadata(&r.path, &r.data, r.metadata.as_deref()).or_status()?,
                )),
                Op::StreamSetMetadata(r) => R::StreamSetMetadata(streams::set_metadata(t, r)?),
                Op::CreateIndex(r) => R::CreateIndex(index::create_index(t, r)?),
                Op::DropIndex(r) => R::DropIndex(index::drop_index(t, r)?),
                Op::ListIndexes(r) => R::ListIndexes(index::list_indexes(t, r)?),
                Op::Find(r) => R::Find(index::find_page(t, r)?),
                Op::FindRange(r) => R::FindRange(index::find_range_page(t, r)?),
                Op::ModelRegister(r) => R::ModelRegister(models::register(t, r)?),
                Op::ModelGet(r) => R::ModelGet(models::get(t, r)?),
                Op::ModelList(r) => R::ModelList(models::list(t, r)?),
                Op::ModelDelete(r) => R::ModelDelete(models::delete(t, r)?),
                Op::ModelSetAlias(r) => R::ModelSetAlias(models::set_alias(t, r)?),
                Op::ModelAliases(r) => R::ModelAliases(models::get_aliases(t, r)?),
                Op::StreamRead(r) => {
                    let info = t.stream_stat(&r.path).or_status()?;
                    let data = t.stream_read(&r.path).or_status()?;
                    R::StreamRead(ReadChunk { data: Bytes::from(data), info: Some(stream_info(info)) })
                }
                Op::StreamDelete(r) => {
                    R::StreamDelete(DeleteResponse { existed: t.stream_delete(&r.path).or_status()? })
                }
                Op::Commit(_) | Op::Rollback(_) => unreachable!("handled by the stream"),
            })
        })
        .await
}

fn answer(r: R) -> TxnResponse {
    TxnResponse { result: Some(r) }
}

#[tonic::async_trait]
impl Transactions for TransactionsV1 {
    type RunStream = BoxStream<TxnResponse>;

    async fn run(&self, request: Request<Streaming<TxnRequest>>) -> Result<Response<Self::RunStream>, Status> {
        let mut input = request.into_inner();
        let state = self.state.clone();
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(async move {
            let mut shutdown = state.shutdown.clone();
            let mut worker: Option<TxnWorker> = None;
            loop {
                let m = tokio::select! {
                    biased;
                    _ = shutdown_begun(&mut shutdown) => {
                        let _ = tx.send(Err(shutting_down())).await;
                        return; // dropping the worker rolls back
                    }
                    m = input.next() => m,
                };
                let op = match m {
                    // The client went away: roll back.
                    Some(Err(_)) => return,
                    Some(Ok(TxnRequest { op: None })) => {
                        let _ = tx
                            .send(Err(Status::invalid_argument("INVALID_ARGUMENT: a request without an operation")))
                            .await;
                        return;
                    }
                    Some(Ok(TxnRequest { op: Some(op) })) => Some(op),
                    None => None,
                };
                let w = match &worker {
                    Some(w) => w.clone(),
                    None => {
                        if matches!(op, None | Some(Op::Commit(_)) | Some(Op::Rollback(_))) {
                            // Nothing was done: nothing to begin.
                            let r = if matches!(op, Some(Op::Rollback(_))) {
                                R::RolledBack(Rollback {})
                            } else {
                                R::Committed(Commit {})
                            };
                            let _ = tx.send(Ok(answer(r))).await;
                            return;
                        }
                        match TxnWorker::begin(state.stores.kv.clone(), false, state.txn_timeout, |_| {}).await {
                            Ok((w, _thread)) => {
                                worker = Some(w.clone());
                                w
                            }
                            Err(e) => {
                                let _ = tx.send(Err(e)).await;
                                return;
                            }
                        }
                    }
                };
                let result = match op {
                    None | Some(Op::Commit(_)) => {
                        let r = w.commit().await.map(|()| R::Committed(Commit {}));
                        let _ = tx.send(r.map(answer)).await;
                        return;
                    }
                    Some(Op::Rollback(_)) => {
                        let r = w.rollback().await.map(|()| R::RolledBack(Rollback {}));
                        let _ = tx.send(r.map(answer)).await;
                        return;
                    }
                    Some(op) => apply(&w, &state.stores, op).await,
                };
                match result {
                    Ok(r) => {
                        if tx.send(Ok(answer(r))).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}
