//! buffdb.v1 services through the generated tonic clients.

mod common;

use buffdb_server::proto::v1::blobs_client::BlobsClient;
use buffdb_server::proto::v1::database_client::DatabaseClient;
use buffdb_server::proto::v1::kv_client::KvClient;
use buffdb_server::proto::v1::streams_client::StreamsClient;
use buffdb_server::proto::v1::transactions_client::TransactionsClient;
use buffdb_server::proto::v1::*;
use common::{start, stream_of};
use prost::bytes::Bytes;
use tokio_stream::StreamExt;
use tonic::Code;

fn pattern(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32).map(|i| (i.wrapping_add(seed).wrapping_mul(2654435761) >> 24) as u8).collect()
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

#[tokio::test]
async fn kv_with_byte_keys_batches_and_paged_scans() {
    let srv = start().await;
    let mut c = KvClient::new(srv.channel.clone());
    let key = Bytes::from_static(&[0, 255, 7]);
    c.put(PutRequest { key: key.clone(), value: Bytes::from_static(&[1, 2, 3]) }).await.unwrap();
    assert_eq!(
        c.get(GetRequest { key: key.clone() }).await.unwrap().into_inner().value,
        Bytes::from_static(&[1, 2, 3])
    );
    assert_eq!(c.get(GetRequest { key: b("missing") }).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(c.put(PutRequest { key: Bytes::new(), value: b("x") }).await.unwrap_err().code(), Code::InvalidArgument);
    assert!(c.delete(DeleteRequest { key: key.clone() }).await.unwrap().into_inner().existed);
    assert!(!c.delete(DeleteRequest { key }).await.unwrap().into_inner().existed);

    let pairs: Vec<KvPair> =
        (0..2500).map(|i| KvPair { key: b(&format!("p/{i:05}")), value: b(&i.to_string()) }).collect();
    c.put_many(PutManyRequest { pairs }).await.unwrap();
    let got = c.get_many(GetManyRequest { keys: vec![b("p/00007"), b("nope")] }).await.unwrap().into_inner().values;
    assert_eq!(got[0].value.as_deref(), Some(&b"7"[..]));
    assert_eq!(got[1].value, None);
    assert_eq!(c.count(CountRequest { prefix: b("p/") }).await.unwrap().into_inner().count, 2500);

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = c
            .scan(ScanRequest { prefix: b("p/"), start_after: after.clone(), limit: 1000, keys_only: false })
            .await
            .unwrap()
            .into_inner();
        assert!(page.pairs.len() <= 1000);
        seen.extend(page.pairs.into_iter().map(|p| (p.key, p.value)));
        match page.next_start_after {
            Some(k) => after = Some(k),
            None => break,
        }
    }
    assert_eq!(seen.len(), 2500);
    assert_eq!(seen[2499], (b("p/02499"), b("2499")));
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0));
}

#[tokio::test]
async fn a_64_mib_blob_in_chunks() {
    let srv = start().await;
    let mut c = BlobsClient::new(srv.channel.clone());
    let data = pattern(64 << 20, 1);
    let pieces: Vec<BlobPutChunk> = data
        .chunks(1 << 20)
        .enumerate()
        .map(|(i, d)| BlobPutChunk {
            data: Bytes::copy_from_slice(d),
            metadata: (i == 0).then(|| "weights".into()),
            abort: false,
        })
        .collect();
    let id = c.put(stream_of(pieces)).await.unwrap().into_inner().id;
    let mut s = c.get(BlobId { id }).await.unwrap().into_inner();
    let mut got = Vec::with_capacity(data.len());
    let mut info = None;
    while let Some(m) = s.next().await {
        let m = m.unwrap();
        assert!(m.data.len() <= 1 << 20);
        if m.info.is_some() {
            assert!(info.is_none(), "info only on the first message");
            info = m.info;
        }
        got.extend_from_slice(&m.data);
    }
    assert!(got == data, "the blob read back differs");
    let info = info.unwrap();
    assert_eq!((info.id, info.size, info.metadata.as_deref()), (id, 64 << 20, Some("weights")));
    assert_eq!(c.info(BlobId { id }).await.unwrap().into_inner().crc32, crc32fast::hash(&data));
    c.set_metadata(SetMetadataRequest { id, metadata: None }).await.unwrap();
    assert_eq!(c.info(BlobId { id }).await.unwrap().into_inner().metadata, None);
    assert_eq!(c.list(ListBlobsRequest { start_after: None, limit: 0 }).await.unwrap().into_inner().ids, [id]);
    assert!(c.delete(BlobId { id }).await.unwrap().into_inner().existed);
    assert_eq!(c.get(BlobId { id }).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(c.info(BlobId { id }).await.unwrap_err().code(), Code::NotFound);
}

async fn write_stream(c: &mut StreamsClient<tonic::transport::Channel>, path: &str, data: &[u8]) -> StreamInfo {
    let mut pieces: Vec<WriteChunk> = data
        .chunks(1 << 20)
        .enumerate()
        .map(|(i, d)| WriteChunk {
            path: if i == 0 { path.into() } else { String::new() },
            data: Bytes::copy_from_slice(d),
            compress: None,
            abort: false,
            metadata: None,
        })
        .collect();
    if pieces.is_empty() {
        pieces.push(WriteChunk { path: path.into(), data: Bytes::new(), compress: None, abort: false, metadata: None });
    }
    c.write(stream_of(pieces)).await.unwrap().into_inner()
}

async fn read_stream(
    c: &mut StreamsClient<tonic::transport::Channel>,
    req: ReadRequest,
) -> Result<Vec<u8>, tonic::Status> {
    let mut s = c.read(req).await?.into_inner();
    let mut out = Vec::new();
    while let Some(m) = s.next().await {
        out.extend_from_slice(&m?.data);
    }
    Ok(out)
}

fn read(path: &str, version: Option<u64>, offset: u64, length: Option<u64>) -> ReadRequest {
    ReadRequest { path: path.into(), version, offset, length }
}

#[tokio::test]
async fn streams_round_trip_with_ranges_versions_and_search() {
    let srv = start().await;
    let mut c = StreamsClient::new(srv.channel.clone());
    let data = pattern(64 << 20, 2);
    let info = write_stream(&mut c, "/models/a.bin", &data).await;
    assert_eq!((info.version, info.size, info.crc32), (1, 64 << 20, crc32fast::hash(&data)));
    assert!(read_stream(&mut c, read("/models/a.bin", None, 0, None)).await.unwrap() == data);
    let mid = read_stream(&mut c, read("/models/a.bin", None, 5_000_000, Some(3_000_001))).await.unwrap();
    assert!(mid[..] == data[5_000_000..8_000_001]);
    let tail = read_stream(&mut c, read("/models/a.bin", None, (64 << 20) - 10, Some(100))).await.unwrap();
    assert_eq!(tail, &data[(64 << 20) - 10..]);

    let v2 = write_stream(&mut c, "/models/a.bin", b"second").await;
    assert_eq!(v2.version, 2);
    assert_eq!(read_stream(&mut c, read("/models/a.bin", None, 0, None)).await.unwrap(), b"second");
    assert_eq!(read_stream(&mut c, read("/models/a.bin", Some(1), 0, Some(4))).await.unwrap(), &data[..4]);
    let versions = c.versions(PathRequest { path: "/models/a.bin".into() }).await.unwrap().into_inner().versions;
    assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(c.stat(PathRequest { path: "/models/a.bin".into() }).await.unwrap().into_inner().size, 6);

    write_stream(&mut c, "/models/b.bin", b"").await;
    for i in 0..1500 {
        write_stream(&mut c, &format!("/textures/{i:04}"), b"t").await;
    }
    let pages: Vec<SearchPage> = c
        .search(SearchRequest { prefix: "/textures/".into(), start_after: None, limit: None })
        .await
        .unwrap()
        .into_inner()
        .map(Result::unwrap)
        .collect()
        .await;
    let paths: Vec<String> = pages.into_iter().flat_map(|p| p.paths).collect();
    assert_eq!(paths.len(), 1500);
    assert_eq!(paths[1499], "/textures/1499");
    let models: Vec<String> = c
        .search(SearchRequest { prefix: "/models/".into(), start_after: Some("/models/a.bin".into()), limit: Some(10) })
        .await
        .unwrap()
        .into_inner()
        .map(|p| p.unwrap().paths)
        .collect::<Vec<_>>()
        .await
        .concat();
    assert_eq!(models, ["/models/b.bin"]);
    assert_eq!(c.search_count(SearchCountRequest { prefix: "/".into() }).await.unwrap().into_inner().count, 1502);

    assert!(c.delete(PathRequest { path: "/models/a.bin".into() }).await.unwrap().into_inner().existed);
    assert_eq!(c.stat(PathRequest { path: "/models/a.bin".into() }).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(read_stream(&mut c, read("/models/a.bin", None, 0, None)).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(c.versions(PathRequest { path: "/models/a.bin".into() }).await.unwrap_err().code(), Code::NotFound);
}

#[tokio::test]
async fn a_cancelled_stream_write_leaves_nothing() {
    let srv = start().await;
    let conn = common::Killable::connect(srv.running.as_ref().unwrap().local_addr()).await;
    let mut c = StreamsClient::new(conn.channel.clone());
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    for _ in 0..3 {
        tx.send(WriteChunk {
            path: "/half".into(),
            data: Bytes::from(vec![1u8; 1 << 20]),
            compress: None,
            abort: false,
            metadata: None,
        })
        .await
        .unwrap();
    }
    let call = tokio::spawn(async move { c.write(tokio_stream::wrappers::ReceiverStream::new(rx)).await });
    // Wait until the server has the pieces in its writer, then cut the connection.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while tx.capacity() < 4 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    conn.kill();
    assert!(call.await.unwrap().is_err());
    // The writer was aborted: nothing published, and the writer is free for the next write.
    let mut c2 = StreamsClient::new(srv.channel.clone());
    write_stream(&mut c2, "/whole", b"ok").await;
    assert!(!srv.stores.kv.stream_exists("/half").unwrap());
    drop(tx);
}

#[tokio::test]
async fn query_cells_stats_and_check() {
    let srv = start().await;
    srv.stores.kv.put(b"a", b"\x00\x01").unwrap();
    srv.stores.kv.stream_write("/s", b"hello").unwrap();
    let mut c = DatabaseClient::new(srv.channel.clone());
    let text = |s: &str| Cell { value: Some(cell::Value::Text(s.into())) };
    let msgs: Vec<QueryResponse> = c
        .query(QueryRequest {
            sql: "SELECT key, value, 42, 0.5, NULL, ? FROM kv WHERE key_text = ?".into(),
            params: vec![text("p"), text("a")],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(msgs[0].columns.len(), 6);
    let row = &msgs.iter().flat_map(|m| m.rows.clone()).collect::<Vec<_>>()[0];
    use cell::Value as V;
    let cells: Vec<_> = row.cells.iter().map(|c| c.value.clone().unwrap()).collect();
    assert_eq!(cells[1], V::Blob(Bytes::from_static(b"\x00\x01")));
    assert_eq!(cells[2], V::Integer(42));
    assert_eq!(cells[3], V::Real(0.5));
    assert_eq!(cells[4], V::Null(true));
    assert_eq!(cells[5], V::Text("p".into()));
    let refused = c.query(QueryRequest { sql: "DELETE FROM kv".into(), ..Default::default() }).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);

    let stats = c.stats(StatsRequest {}).await.unwrap().into_inner();
    assert_eq!((stats.kv_count, stats.stream_count), (1, 1));
    let check = c.check(CheckRequest {}).await.unwrap().into_inner();
    assert!(check.ok);
    assert!(check.chunks_checked >= 1);
}

fn op(op: txn_request::Op) -> TxnRequest {
    TxnRequest { op: Some(op) }
}

#[tokio::test]
async fn a_transaction_stream_commits_at_its_end() {
    let srv = start().await;
    let mut c = TransactionsClient::new(srv.channel.clone());
    use txn_request::Op;
    use txn_response::Result as R;
    let reqs = vec![
        op(Op::Put(PutRequest { key: b("t"), value: b("1") })),
        op(Op::Get(GetRequest { key: b("t") })),
        op(Op::BlobPut(BlobPutChunk { data: b("blob"), metadata: None, abort: false })),
        op(Op::StreamWrite(WriteChunk { path: "/t".into(), data: b("doc"), compress: None, abort: false, metadata: None })),
        op(Op::StreamRead(PathRequest { path: "/t".into() })),
    ];
    let answers: Vec<R> =
        c.run(stream_of(reqs)).await.unwrap().into_inner().map(|r| r.unwrap().result.unwrap()).collect().await;
    assert_eq!(answers.len(), 6);
    assert_eq!(answers[1], R::Get(MaybeValue { value: Some(b("1")) }));
    assert!(matches!(answers[4], R::StreamRead(ref r) if r.data == b("doc")));
    assert_eq!(answers[5], R::Committed(Commit {}));
    assert_eq!(srv.stores.kv.get(b"t").unwrap(), Some(b"1".to_vec()));
    assert_eq!(srv.stores.kv.stream_read("/t").unwrap(), b"doc");
}

#[tokio::test]
async fn a_transaction_stream_rolls_back_on_rollback_error_or_client_gone() {
    let srv = start().await;
    let mut c = TransactionsClient::new(srv.channel.clone());
    use txn_request::Op;
    let put = |k: &str| op(Op::Put(PutRequest { key: b(k), value: b("x") }));

    let answers: Vec<_> =
        c.run(stream_of(vec![put("r1"), op(Op::Rollback(Rollback {}))])).await.unwrap().into_inner().collect().await;
    assert_eq!(answers.last().unwrap().as_ref().unwrap().result, Some(txn_response::Result::RolledBack(Rollback {})));
    assert_eq!(srv.stores.kv.get(b"r1").unwrap(), None);

    let answers: Vec<_> = c
        .run(stream_of(vec![put("r2"), op(Op::Put(PutRequest { key: Bytes::new(), value: b("x") })), put("r3")]))
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[1].as_ref().unwrap_err().code(), Code::InvalidArgument);
    assert_eq!(srv.stores.kv.get(b"r2").unwrap(), None);

    // The client sends a write, sees it answered, then its connection drops without
    // ending the stream.
    let conn = common::Killable::connect(srv.running.as_ref().unwrap().local_addr()).await;
    let mut gone = TransactionsClient::new(conn.channel.clone());
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(put("r4")).await.unwrap();
    let mut s = gone.run(tokio_stream::wrappers::ReceiverStream::new(rx)).await.unwrap().into_inner();
    assert!(s.next().await.unwrap().is_ok());
    conn.kill();
    // The writer is free again once the rollback ran: a plain put succeeds
    // (it would wait for the writer and fail with UNAVAILABLE otherwise).
    let mut kv = KvClient::new(srv.channel.clone());
    kv.put(PutRequest { key: b("after"), value: b("1") }).await.unwrap();
    assert_eq!(srv.stores.kv.get(b"r4").unwrap(), None);
    drop(tx);
}

#[tokio::test]
async fn an_aborted_upload_stores_nothing() {
    let srv = start().await;
    let mut s = StreamsClient::new(srv.channel.clone());
    let chunk = |path: &str, abort| WriteChunk { path: path.into(), data: b("part"), compress: None, abort, metadata: None };
    let err = s.write(stream_of(vec![chunk("/ab", false), chunk("", false), chunk("", true)])).await.unwrap_err();
    assert_eq!(err.code(), Code::Cancelled);
    assert!(!srv.stores.kv.stream_exists("/ab").unwrap());
    let mut blobs = BlobsClient::new(srv.channel.clone());
    let piece = |abort| BlobPutChunk { data: b("part"), metadata: None, abort };
    assert_eq!(blobs.put(stream_of(vec![piece(false), piece(true)])).await.unwrap_err().code(), Code::Cancelled);
    assert_eq!(blobs.put(stream_of(vec![piece(true)])).await.unwrap_err().code(), Code::Cancelled);
    assert_eq!(srv.stores.kv.blob_ids(None, None).unwrap(), Vec::<u64>::new());
}

/// Rows of a v1 query, or the status that ended it (from the call or the stream).
async fn query_rows(
    c: &mut DatabaseClient<tonic::transport::Channel>,
    r: QueryRequest,
) -> Result<usize, tonic::Status> {
    let mut s = c.query(r).await?.into_inner();
    let mut n = 0;
    while let Some(m) = s.next().await {
        n += m?.rows.len();
    }
    Ok(n)
}

#[tokio::test]
async fn query_limits_asked_by_the_client() {
    let srv = start().await;
    let mut c = DatabaseClient::new(srv.channel.clone());
    let five = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) SELECT i FROM n";
    let ask = |sql: &str, timeout_ms: Option<u64>, max_rows: Option<u64>| QueryRequest {
        sql: sql.into(),
        params: vec![],
        timeout_ms,
        max_rows,
    };
    // Unset: no row limit. At the limit: every row. Past it: TOO_LARGE, as locally.
    assert_eq!(query_rows(&mut c, ask(five, None, None)).await.unwrap(), 5);
    assert_eq!(query_rows(&mut c, ask(five, None, Some(5))).await.unwrap(), 5);
    let over = query_rows(&mut c, ask(five, None, Some(3))).await.unwrap_err();
    assert_eq!(over.code(), Code::InvalidArgument);
    assert!(over.message().starts_with("TOO_LARGE"), "{}", over.message());

    // A query that would count for ever ends at the client's time limit.
    let endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c WHERE x < 0";
    let t = std::time::Instant::now();
    let late = query_rows(&mut c, ask(endless, Some(200), None)).await.unwrap_err();
    assert_eq!(late.code(), Code::ResourceExhausted, "{}", late.message());
    assert!(late.message().starts_with("INTERRUPTED"), "{}", late.message());
    assert!(t.elapsed() < std::time::Duration::from_secs(10), "took {:?}", t.elapsed());

    // Limits of zero are refused before anything runs.
    for bad in [ask(five, Some(0), None), ask(five, None, Some(0))] {
        assert_eq!(query_rows(&mut c, bad).await.unwrap_err().code(), Code::InvalidArgument);
    }
}
