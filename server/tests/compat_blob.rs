//! buffdb.blob.Blob and buffdb.query.Query through the generated tonic clients.

mod common;

use buffdb_server::proto::blob::blob_client::BlobClient;
use buffdb_server::proto::blob::*;
use buffdb_server::proto::kv::kv_client::KvClient;
use buffdb_server::proto::kv::{BeginTransactionRequest, CommitTransactionRequest, RollbackTransactionRequest};
use buffdb_server::proto::query::query_client::QueryClient;
use buffdb_server::proto::query::{RawQuery, TargetStore};
use common::{start, start_with, stream_of};
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic::Code;

fn store(bytes: &[u8], metadata: Option<&str>, txn: Option<&str>) -> StoreRequest {
    StoreRequest { bytes: bytes.to_vec(), metadata: metadata.map(Into::into), transaction_id: txn.map(Into::into) }
}

async fn store_all(c: &mut BlobClient<Channel>, reqs: Vec<StoreRequest>) -> Vec<Result<u64, tonic::Status>> {
    c.store(stream_of(reqs)).await.unwrap().into_inner().map(|r| r.map(|r| r.id)).collect().await
}

async fn get_one(c: &mut BlobClient<Channel>, id: u64, txn: Option<&str>) -> Result<GetResponse, tonic::Status> {
    let req = GetRequest { id, transaction_id: txn.map(Into::into) };
    c.get(stream_of(vec![req])).await.unwrap().into_inner().next().await.unwrap()
}

fn client(ch: &Channel) -> BlobClient<Channel> {
    BlobClient::new(ch.clone()).max_decoding_message_size(80 << 20).max_encoding_message_size(80 << 20)
}

#[tokio::test]
async fn store_get_update_delete() {
    let srv = start().await;
    let mut c = client(&srv.channel);
    let ids: Vec<u64> = store_all(&mut c, (0..100u8).map(|i| store(&[i; 100], Some(&format!("m{i}")), None)).collect())
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(ids, (1..=100).collect::<Vec<u64>>());
    let g = get_one(&mut c, 42, None).await.unwrap();
    assert_eq!((g.bytes, g.metadata), (vec![41u8; 100], Some("m41".to_string())));

    // Data only: metadata kept. Metadata only: data kept. Metadata cleared.
    let up = |id, bytes: Option<&[u8]>, should: bool, md: Option<&str>| UpdateRequest {
        id,
        bytes: bytes.map(|b| b.to_vec()),
        should_update_metadata: should,
        metadata: md.map(Into::into),
        transaction_id: None,
    };
    let r: Vec<_> = c
        .update(stream_of(vec![
            up(1, Some(b"new"), false, None),
            up(2, None, true, Some("md2")),
            up(3, None, true, None),
        ]))
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    assert_eq!(r.into_iter().map(|r| r.unwrap().id).collect::<Vec<_>>(), [1, 2, 3]);
    let g1 = get_one(&mut c, 1, None).await.unwrap();
    assert_eq!((g1.bytes, g1.metadata), (b"new".to_vec(), Some("m0".to_string())));
    let g2 = get_one(&mut c, 2, None).await.unwrap();
    assert_eq!((g2.bytes, g2.metadata), (vec![1u8; 100], Some("md2".to_string())));
    assert_eq!(get_one(&mut c, 3, None).await.unwrap().metadata, None);
    let r: Vec<_> =
        c.update(stream_of(vec![up(999, Some(b"x"), false, None)])).await.unwrap().into_inner().collect().await;
    assert_eq!(r[0].as_ref().unwrap_err().code(), Code::NotFound);

    // Delete the highest id: the next store does not reuse it.
    let r: Vec<_> = c
        .delete(stream_of(vec![
            DeleteRequest { id: 100, transaction_id: None },
            DeleteRequest { id: 100, transaction_id: None },
        ]))
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    assert_eq!(r[0].as_ref().unwrap().id, 100);
    assert_eq!(r[1].as_ref().unwrap_err().code(), Code::NotFound);
    assert_eq!(get_one(&mut c, 100, None).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(store_all(&mut c, vec![store(b"z", None, None)]).await[0].as_ref().unwrap(), &101);
}

#[tokio::test]
async fn eq_data_and_not_eq_data() {
    let srv = start().await;
    let mut c = client(&srv.channel);
    let ids: Vec<u64> = store_all(
        &mut c,
        vec![store(b"same", Some("a"), None), store(b"same", Some("b"), None), store(b"other", None, None)],
    )
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect();
    let eq = |ids: &[u64]| ids.iter().map(|&id| EqDataRequest { id }).collect::<Vec<_>>();
    let neq = |ids: &[u64]| ids.iter().map(|&id| NotEqDataRequest { id }).collect::<Vec<_>>();
    assert!(c.eq_data(stream_of(eq(&ids[..2]))).await.unwrap().into_inner());
    assert!(!c.eq_data(stream_of(eq(&ids))).await.unwrap().into_inner());
    assert!(c.not_eq_data(stream_of(neq(&ids[1..]))).await.unwrap().into_inner());
    assert!(!c.not_eq_data(stream_of(neq(&ids[..2]))).await.unwrap().into_inner());
    assert_eq!(c.eq_data(stream_of(eq(&[1, 77]))).await.unwrap_err().code(), Code::NotFound);
}

#[tokio::test]
async fn a_large_blob_in_one_message_round_trips() {
    let srv = start().await;
    let mut c = client(&srv.channel);
    let data: Vec<u8> = (0..32u32 << 20).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    let id = store_all(&mut c, vec![store(&data, Some("big"), None)]).await.remove(0).unwrap();
    assert_eq!(get_one(&mut c, id, None).await.unwrap().bytes, data);
}

#[tokio::test]
async fn blobs_and_kv_share_a_transaction_on_one_file() {
    let srv = start().await;
    let mut c = client(&srv.channel);
    let mut kv = KvClient::new(srv.channel.clone());
    let begin = BeginTransactionRequest { read_only: None, timeout_ms: None };
    let id = kv.begin_transaction(begin).await.unwrap().into_inner().transaction_id;
    let blob = store_all(&mut c, vec![store(b"in txn", None, Some(&id))]).await.remove(0).unwrap();
    assert_eq!(get_one(&mut c, blob, Some(&id)).await.unwrap().bytes, b"in txn");
    assert_eq!(srv.stores.blob.blob_get(blob).unwrap(), None);
    assert!(
        kv.rollback_transaction(RollbackTransactionRequest { transaction_id: id }).await.unwrap().into_inner().success
    );
    assert_eq!(get_one(&mut c, blob, None).await.unwrap_err().code(), Code::NotFound);

    let id = kv.begin_transaction(begin).await.unwrap().into_inner().transaction_id;
    let blob = store_all(&mut c, vec![store(b"kept", None, Some(&id))]).await.remove(0).unwrap();
    assert!(kv.commit_transaction(CommitTransactionRequest { transaction_id: id }).await.unwrap().into_inner().success);
    assert_eq!(get_one(&mut c, blob, None).await.unwrap().bytes, b"kept");
}

#[tokio::test]
async fn two_files_refuse_blob_operations_in_a_transaction() {
    let srv = start_with(|_| {}, true).await;
    let mut c = client(&srv.channel);
    let mut kv = KvClient::new(srv.channel.clone());
    let id = kv
        .begin_transaction(BeginTransactionRequest { read_only: None, timeout_ms: None })
        .await
        .unwrap()
        .into_inner()
        .transaction_id;
    let r = store_all(&mut c, vec![store(b"x", None, Some(&id))]).await;
    assert_eq!(r[0].as_ref().unwrap_err().code(), Code::FailedPrecondition);
    // Outside a transaction blobs go to the blob file, not the KV file.
    let blob = store_all(&mut c, vec![store(b"y", None, None)]).await.remove(0).unwrap();
    assert_eq!(srv.stores.blob.blob_get(blob).unwrap(), Some(b"y".to_vec()));
    assert_eq!(srv.stores.kv.blob_get(blob).unwrap(), None);
    assert!(
        kv.rollback_transaction(RollbackTransactionRequest { transaction_id: id }).await.unwrap().into_inner().success
    );
}

fn int64(a: &prost_types::Any) -> i64 {
    assert_eq!(a.type_url, "type.googleapis.com/google.protobuf.Int64Value");
    <i64 as prost::Message>::decode(&a.value[..]).unwrap()
}

#[tokio::test]
async fn query_streams_rows_and_execute_is_refused() {
    let srv = start().await;
    let mut q = QueryClient::new(srv.channel.clone());
    let pairs: Vec<(String, String)> = (0..2500).map(|i| (format!("q{i:04}"), format!("{i}"))).collect();
    srv.stores.kv.put_many(&pairs).unwrap();
    let raw = |sql: &str| RawQuery { query: sql.into(), target: TargetStore::Kv as i32 };
    let rows: Vec<_> = q
        .query(stream_of(vec![raw("SELECT key_text, length(value), NULL, 1.5 FROM kv ORDER BY key")]))
        .await
        .unwrap()
        .into_inner()
        .map(|r| r.unwrap().fields)
        .collect()
        .await;
    assert_eq!(rows.len(), 2500);
    let first = &rows[0];
    assert_eq!(first[0].type_url, "type.googleapis.com/google.protobuf.StringValue");
    assert_eq!(<String as prost::Message>::decode(&first[0].value[..]).unwrap(), "q0000");
    assert_eq!(int64(&first[1]), 1);
    assert_eq!(first[2].type_url, "type.googleapis.com/google.protobuf.Empty");
    assert_eq!(<f64 as prost::Message>::decode(&first[3].value[..]).unwrap(), 1.5);

    let bad: Vec<_> = q.query(stream_of(vec![raw("DELETE FROM kv")])).await.unwrap().into_inner().collect().await;
    assert_eq!(bad[0].as_ref().unwrap_err().code(), Code::PermissionDenied);
    let refused = q.execute(stream_of(vec![raw("DELETE FROM kv")])).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(srv.stores.kv.count(b"q").unwrap(), 2500);
}
