//! Bidirectional streams answered one for one, in order, a batch at a time: the
//! server takes every request already queued on the stream (up to a count and a
//! byte budget), handles them together (one commit for a batch of writes), then
//! answers each. A response therefore still means its write is committed.

use std::future::Future;

use futures_util::FutureExt;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Response, Status, Streaming};

use crate::error::{blocking, IntoStatus};
use crate::ops::{run_items, BatchResult, Op};
use crate::state::State;
use crate::stores::Stores;

/// Most requests handled as one batch.
pub const MAX_BATCH: usize = 4096;
/// A batch stops growing past this many bytes of requests.
pub const MAX_BATCH_BYTES: usize = 64 << 20;
/// Answered batches waiting for the client to take them.
const BATCHES_IN_FLIGHT: usize = 2;

/// Serves a bidirectional stream with `handle` called on each batch. A batch's
/// answers cross to the response stream together (one channel operation a batch,
/// not one an answer) and go out one message each, in order.
pub fn serve_batches<Req, Resp, F, Fut>(
    mut input: Streaming<Req>,
    mut shutdown: watch::Receiver<bool>,
    mut handle: F,
) -> impl Stream<Item = Result<Resp, Status>> + Send + 'static
where
    Req: prost::Message + Default + Send + 'static,
    Resp: Send + 'static,
    F: FnMut(Vec<Req>) -> Fut + Send + 'static,
    Fut: Future<Output = BatchResult<Resp>> + Send,
{
    let (tx, rx) = mpsc::channel::<Result<Vec<Resp>, Status>>(BATCHES_IN_FLIGHT);
    tokio::spawn(async move {
        loop {
            let first = tokio::select! {
                biased;
                _ = shutdown_begun(&mut shutdown) => {
                    let _ = tx.send(Err(shutting_down())).await;
                    return;
                }
                m = input.next() => m,
            };
            let first = match first {
                Some(Ok(r)) => r,
                // The client finished, or went away: nothing more to answer.
                Some(Err(_)) | None => return,
            };
            let mut bytes = first.encoded_len();
            let mut batch = vec![first];
            let mut ended = false;
            while batch.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
                match input.next().now_or_never() {
                    Some(Some(Ok(r))) => {
                        bytes += r.encoded_len();
                        batch.push(r);
                    }
                    Some(Some(Err(_))) | Some(None) => {
                        ended = true;
                        break;
                    }
                    None => break,
                }
            }
            let (answers, error) = handle(batch).await;
            if !answers.is_empty() && tx.send(Ok(answers)).await.is_err() {
                return;
            }
            if let Some(e) = error {
                let _ = tx.send(Err(e)).await;
                return;
            }
            if ended {
                return;
            }
        }
    });
    futures_util::StreamExt::flat_map(ReceiverStream::new(rx), |batch| {
        let (answers, error) = match batch {
            Ok(answers) => (answers, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        futures_util::stream::iter(answers.into_iter().map(Ok).chain(error.map(Err)))
    })
}

/// Serves a compat bidirectional stream (`buffdb.kv.Kv` Get/Set/Delete,
/// `buffdb.blob.Blob` Get/Store/Update/Delete): each batch is split into runs by
/// transaction id and each run applied with `op` on `db`, or inside the client's
/// transaction; `txn_allowed` may refuse a run that names one.
pub fn serve_ops<Req, Resp>(
    state: &State,
    db: buffdb::Db,
    txn_allowed: fn(&Stores) -> Result<(), Status>,
    input: Streaming<Req>,
    write: bool,
    txn_of: fn(&Req) -> Option<&String>,
    op: Op<Req, Resp>,
) -> impl Stream<Item = Result<Resp, Status>> + Send + 'static
where
    Req: prost::Message + Default + Send + 'static,
    Resp: Send + 'static,
{
    let state = state.clone();
    serve_batches(input, state.shutdown.clone(), move |batch| {
        let (state, db) = (state.clone(), db.clone());
        async move {
            let mut answers = Vec::with_capacity(batch.len());
            for (txn, items) in runs_by_txn(batch, txn_of) {
                if txn.is_some() {
                    if let Err(e) = txn_allowed(&state.stores) {
                        return (answers, Some(e));
                    }
                }
                let (out, err) = run_items(&db, &state.txns, txn, write, items, op).await;
                answers.extend(out);
                if err.is_some() {
                    return (answers, err);
                }
            }
            (answers, None)
        }
    })
}

/// Eq and NotEq (and their blob twins): every item of the client stream, then one
/// answer from `f` on `db`.
pub async fn compare<Req, T>(
    db: &buffdb::Db,
    mut input: Streaming<Req>,
    item: fn(Req) -> T,
    f: fn(&buffdb::Db, &[T]) -> buffdb::Result<bool>,
) -> Result<Response<bool>, Status>
where
    Req: prost::Message + Default,
    T: Send + 'static,
{
    let mut items = Vec::new();
    while let Some(r) = input.next().await {
        items.push(item(r?));
    }
    let db = db.clone();
    Ok(Response::new(blocking(move || f(&db, &items).or_status()).await?))
}

/// Completes once the server begins shutting down.
pub async fn shutdown_begun(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|down| *down).await.is_err() {
        // The server is gone without saying so: treat it as shutting down.
    }
}

pub fn shutting_down() -> Status {
    Status::unavailable("CLOSED: the server is shutting down")
}

/// Splits a batch into runs of consecutive requests with the same transaction id,
/// keeping their order.
fn runs_by_txn<Req>(batch: Vec<Req>, txn_of: impl Fn(&Req) -> Option<&String>) -> Vec<(Option<String>, Vec<Req>)> {
    let mut runs: Vec<(Option<String>, Vec<Req>)> = Vec::new();
    for r in batch {
        let id = txn_of(&r).cloned();
        match runs.last_mut() {
            Some((last, items)) if *last == id => items.push(r),
            _ => runs.push((id, vec![r])),
        }
    }
    runs
}
