//! Graceful shutdown: open transactions roll back, open streams end, nothing
//! acknowledged is lost.

mod common;

use std::time::{Duration, Instant};

use buffdb_server::proto::kv::kv_client::KvClient;
use buffdb_server::proto::kv::*;
use common::{start, stream_of};
use tokio_stream::StreamExt;
use tonic::Code;

#[tokio::test]
async fn shutdown_rolls_back_open_transactions_and_ends_streams() {
    let mut srv = start().await;
    let mut c = KvClient::new(srv.channel.clone());
    let sets = vec![SetRequest { key: "acked".into(), value: "1".into(), transaction_id: None }];
    let r: Vec<_> = c.set(stream_of(sets)).await.unwrap().into_inner().collect().await;
    assert!(r[0].is_ok());

    let id = c
        .begin_transaction(BeginTransactionRequest { read_only: None, timeout_ms: Some(600_000) })
        .await
        .unwrap()
        .into_inner()
        .transaction_id;
    let sets = vec![SetRequest { key: "pending".into(), value: "x".into(), transaction_id: Some(id) }];
    let r: Vec<_> = c.set(stream_of(sets)).await.unwrap().into_inner().collect().await;
    assert!(r[0].is_ok());

    // A Get stream left open by its client.
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(GetRequest { key: "acked".into(), transaction_id: None }).await.unwrap();
    let mut open = c.get(tokio_stream::wrappers::ReceiverStream::new(rx)).await.unwrap().into_inner();
    assert_eq!(open.next().await.unwrap().unwrap().value, "1");

    let t = Instant::now();
    srv.shutdown().await;
    assert!(t.elapsed() < Duration::from_secs(5), "shutdown took {:?}", t.elapsed());
    let end = open.next().await.unwrap().unwrap_err();
    assert_eq!(end.code(), Code::Unavailable);

    // The transaction was rolled back and released the writer; the acknowledged write stays.
    let db = srv.stores.kv.clone();
    assert_eq!(db.get(b"pending").unwrap(), None);
    assert_eq!(db.get(b"acked").unwrap(), Some(b"1".to_vec()));
    db.begin().unwrap().rollback().unwrap();
    drop(tx);
}
