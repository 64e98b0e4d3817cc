//! buffdb.v1 stream metadata and the Indexes service, on the database and inside a
//! transaction stream, through the generated tonic clients.

mod common;

use buffdb_server::proto::v1::index_record::Record as Rec;
use buffdb_server::proto::v1::indexes_client::IndexesClient;
use buffdb_server::proto::v1::kv_client::KvClient;
use buffdb_server::proto::v1::streams_client::StreamsClient;
use buffdb_server::proto::v1::*;
use common::{op, run_txn, start, stream_of};
use prost::bytes::Bytes;
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic::Code;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn key(e: &IndexEntry) -> String {
    match e.record.as_ref().and_then(|r| r.record.as_ref()) {
        Some(Rec::Key(k)) => String::from_utf8(k.to_vec()).unwrap(),
        Some(Rec::Path(p)) => p.clone(),
        Some(Rec::BlobId(id)) => id.to_string(),
        None => panic!("an entry without a record"),
    }
}

/// Every entry of a Find/FindRange stream (or the status that ended it).
async fn collect(
    s: Result<tonic::Response<tonic::Streaming<FindPage>>, tonic::Status>,
) -> Result<Vec<IndexEntry>, tonic::Status> {
    let mut s = s?.into_inner();
    let mut out = Vec::new();
    while let Some(page) = s.next().await {
        let page = page?;
        assert!(!page.more, "streams never say `more`");
        assert!(page.entries.len() <= 1000);
        out.extend(page.entries);
    }
    Ok(out)
}

fn range(name: &str, low: Option<&str>, high: Option<&str>) -> FindRangeRequest {
    FindRangeRequest {
        name: name.into(),
        low: low.map(Into::into),
        high: high.map(Into::into),
        reverse: false,
        start_after: None,
        limit: None,
    }
}

fn create(name: &str, source: &str, path: &str, unique: bool) -> CreateIndexRequest {
    CreateIndexRequest { name: name.into(), source: source.into(), json_path: path.into(), unique, key_prefix: None }
}

async fn write(c: &mut StreamsClient<Channel>, path: &str, data: &str, metadata: Option<&str>) -> StreamInfo {
    let first = WriteChunk {
        path: path.into(),
        data: b(&data[..data.len() / 2]),
        compress: None,
        abort: false,
        metadata: metadata.map(Into::into),
    };
    let rest = WriteChunk { data: b(&data[data.len() / 2..]), ..Default::default() };
    c.write(stream_of(vec![first, rest])).await.unwrap().into_inner()
}

#[tokio::test]
async fn stream_metadata_on_write_stat_versions_and_set() {
    let srv = start().await;
    let mut c = StreamsClient::new(srv.channel.clone());
    let info = write(&mut c, "/m/a", "first version", Some(r#"{"kind":"mesh"}"#)).await;
    assert_eq!(info.metadata.as_deref(), Some(r#"{"kind":"mesh"}"#));
    let info = write(&mut c, "/m/a", "second", None).await;
    assert_eq!((info.version, info.metadata), (2, None));
    let set = c
        .set_metadata(StreamMetadataRequest { path: "/m/a".into(), metadata: Some("v2 notes".into()) })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((set.version, set.size, set.metadata.as_deref()), (2, 6, Some("v2 notes")));
    let stat = c.stat(PathRequest { path: "/m/a".into() }).await.unwrap().into_inner();
    assert_eq!(stat.metadata.as_deref(), Some("v2 notes"));
    let versions = c.versions(PathRequest { path: "/m/a".into() }).await.unwrap().into_inner().versions;
    let mds: Vec<Option<&str>> = versions.iter().map(|v| v.metadata.as_deref()).collect();
    assert_eq!(mds, [Some(r#"{"kind":"mesh"}"#), Some("v2 notes")]);
    // The bytes were not rewritten.
    assert_eq!(srv.stores.kv.stream_read("/m/a").unwrap(), b"second");

    // Bad input: a missing path, metadata too large or with a NUL, a bad path; nothing changes.
    let missing = StreamMetadataRequest { path: "/m/none".into(), metadata: Some("x".into()) };
    assert_eq!(c.set_metadata(missing).await.unwrap_err().code(), Code::NotFound);
    let big = StreamMetadataRequest { path: "/m/a".into(), metadata: Some("x".repeat(buffdb::MAX_METADATA_SIZE + 1)) };
    assert_eq!(c.set_metadata(big).await.unwrap_err().code(), Code::InvalidArgument);
    let nul = StreamMetadataRequest { path: "/m/a".into(), metadata: Some("a\0b".into()) };
    assert_eq!(c.set_metadata(nul).await.unwrap_err().code(), Code::InvalidArgument);
    let bad_path = StreamMetadataRequest { path: "".into(), metadata: None };
    assert_eq!(c.set_metadata(bad_path).await.unwrap_err().code(), Code::InvalidArgument);
    assert_eq!(srv.stores.kv.stream_stat("/m/a").unwrap().metadata.as_deref(), Some("v2 notes"));
    let too_big = WriteChunk {
        path: "/m/b".into(),
        data: b("x"),
        metadata: Some("x".repeat(buffdb::MAX_METADATA_SIZE + 1)),
        ..Default::default()
    };
    assert_eq!(c.write(stream_of(vec![too_big])).await.unwrap_err().code(), Code::InvalidArgument);
    assert!(!srv.stores.kv.stream_exists("/m/b").unwrap());

    // Clearing.
    let clear = StreamMetadataRequest { path: "/m/a".into(), metadata: None };
    assert_eq!(c.set_metadata(clear).await.unwrap().into_inner().metadata, None);
}

#[tokio::test]
async fn indexes_create_list_find_and_ranges_in_pages() {
    let srv = start().await;
    let mut kv = KvClient::new(srv.channel.clone());
    let pairs: Vec<KvPair> = (0..2500)
        .map(|i| KvPair {
            key: b(&format!("user:{i:05}")),
            value: b(&format!(r#"{{"age":{},"team":"t{}"}}"#, i % 100, i % 7)),
        })
        .chain([KvPair { key: b("user:text"), value: b("not json") }, KvPair { key: b("user:noage"), value: b("{}") }])
        .collect();
    kv.put_many(PutManyRequest { pairs }).await.unwrap();
    let mut c = IndexesClient::new(srv.channel.clone());
    let info = c.create(create("by_age", "kv", "$.age", false)).await.unwrap().into_inner();
    assert_eq!((info.entries, info.ready, info.source.as_str()), (2500, true, "kv"));
    let mut prefixed = create("team", "kv", "$.team", false);
    prefixed.key_prefix = Some(b("user:0000"));
    assert_eq!(c.create(prefixed).await.unwrap().into_inner().entries, 10);
    let list = c.list(ListIndexesRequest {}).await.unwrap().into_inner().indexes;
    let names: Vec<&str> = list.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["by_age", "team"]);
    assert_eq!(list[1].key_prefix, Some(b("user:0000")));

    // Exact: 25 records of age 42, in key order; a limit.
    let found =
        collect(c.find(FindRequest { name: "by_age".into(), value: "42".into(), limit: None }).await).await.unwrap();
    assert_eq!(found.len(), 25);
    assert_eq!(key(&found[0]), "user:00042");
    assert!(found.iter().all(|e| e.value == "42"));
    assert!(found.windows(2).all(|w| key(&w[0]) < key(&w[1])));
    let two = collect(c.find(FindRequest { name: "by_age".into(), value: "42".into(), limit: Some(2) }).await).await;
    assert_eq!(two.unwrap().len(), 2);

    // A range over more than one page, both ways, and paged with start_after.
    let all = collect(c.find_range(range("by_age", Some("10"), Some("59"))).await).await.unwrap();
    assert_eq!(all.len(), 1250);
    let ages: Vec<i64> = all.iter().map(|e| e.value.parse().unwrap()).collect();
    assert!(ages.windows(2).all(|w| w[0] <= w[1]) && ages[0] == 10 && ages[1249] == 59);
    let mut rev = range("by_age", Some("10"), Some("59"));
    rev.reverse = true;
    let back = collect(c.find_range(rev.clone()).await).await.unwrap();
    assert_eq!(back.iter().rev().map(key).collect::<Vec<_>>(), all.iter().map(key).collect::<Vec<_>>());
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let mut r = range("by_age", Some("10"), Some("59"));
        r.start_after = after.clone();
        r.limit = Some(300);
        let page = collect(c.find_range(r).await).await.unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().cloned();
        paged.extend(page);
    }
    assert_eq!(paged, all);
    // Unbounded, reversed, limited: the highest values.
    let mut top = range("by_age", None, None);
    top.reverse = true;
    top.limit = Some(3);
    let top = collect(c.find_range(top).await).await.unwrap();
    assert_eq!(top.iter().map(|e| e.value.as_str()).collect::<Vec<_>>(), ["99", "99", "99"]);
    // Strings compare as strings.
    let t3 = collect(c.find(FindRequest { name: "team".into(), value: r#""t3""#.into(), limit: None }).await).await;
    assert_eq!(t3.unwrap().iter().map(key).collect::<Vec<_>>(), ["user:00003"]);

    // Writes move entries; drop.
    kv.put(PutRequest { key: b("user:00042"), value: b(r#"{"age":1000}"#) }).await.unwrap();
    let found = collect(c.find(FindRequest { name: "by_age".into(), value: "1000".into(), limit: None }).await).await;
    assert_eq!(found.unwrap().iter().map(key).collect::<Vec<_>>(), ["user:00042"]);
    assert!(c.drop(IndexName { name: "team".into() }).await.unwrap().into_inner().existed);
    assert!(!c.drop(IndexName { name: "team".into() }).await.unwrap().into_inner().existed);
    assert_eq!(c.list(ListIndexesRequest {}).await.unwrap().into_inner().indexes.len(), 1);
}

#[tokio::test]
async fn an_index_over_stream_metadata() {
    let srv = start().await;
    let mut s = StreamsClient::new(srv.channel.clone());
    write(&mut s, "/assets/a.png", "aaaa", Some(r#"{"kind":"texture"}"#)).await;
    write(&mut s, "/assets/b.obj", "bbbb", Some(r#"{"kind":"mesh"}"#)).await;
    let mut c = IndexesClient::new(srv.channel.clone());
    c.create(create("kind", "stream", "$.kind", false)).await.unwrap();
    let meshes =
        collect(c.find(FindRequest { name: "kind".into(), value: r#""mesh""#.into(), limit: None }).await).await;
    assert_eq!(meshes.unwrap().iter().map(key).collect::<Vec<_>>(), ["/assets/b.obj"]);
    // Changing the metadata moves the entry.
    s.set_metadata(StreamMetadataRequest { path: "/assets/a.png".into(), metadata: Some(r#"{"kind":"mesh"}"#.into()) })
        .await
        .unwrap();
    let meshes =
        collect(c.find(FindRequest { name: "kind".into(), value: r#""mesh""#.into(), limit: None }).await).await;
    assert_eq!(meshes.unwrap().iter().map(key).collect::<Vec<_>>(), ["/assets/a.png", "/assets/b.obj"]);
}

#[tokio::test]
async fn bad_index_input_gets_the_documented_status_and_changes_nothing() {
    let srv = start().await;
    let mut kv = KvClient::new(srv.channel.clone());
    kv.put(PutRequest { key: b("u:1"), value: b(r#"{"email":"a@x"}"#) }).await.unwrap();
    kv.put(PutRequest { key: b("u:2"), value: b(r#"{"email":"b@x"}"#) }).await.unwrap();
    let mut c = IndexesClient::new(srv.channel.clone());
    c.create(create("email", "kv", "$.email", true)).await.unwrap();
    let fingerprint = |srv: &common::TestServer| {
        let idx = srv.stores.kv.list_indexes().unwrap();
        let rows: Vec<(Vec<u8>, Vec<u8>)> =
            srv.stores.kv.scan(b"", None, None).unwrap().collect::<buffdb::Result<_>>().unwrap();
        (idx, rows)
    };
    let before = fingerprint(&srv);

    let cases = [
        (create("bad source", "kv", "$.a", false), Code::InvalidArgument),
        (create("x", "table", "$.a", false), Code::InvalidArgument),
        (create("x", "kv", "no path", false), Code::InvalidArgument),
        (create("x", "kv", "$.[", false), Code::InvalidArgument),
        (create("email", "kv", "$.other", false), Code::Aborted),
    ];
    for (req, code) in cases {
        let name = req.name.clone();
        let err = c.create(req).await.unwrap_err();
        assert_eq!(err.code(), code, "{name}: {}", err.message());
    }
    let mut blob_prefix = create("x", "blob", "$.a", false);
    blob_prefix.key_prefix = Some(b("p"));
    assert_eq!(c.create(blob_prefix).await.unwrap_err().code(), Code::InvalidArgument);
    // A unique index over values that repeat: refused, no index left.
    kv.put(PutRequest { key: b("v:1"), value: b(r#"{"n":1}"#) }).await.unwrap();
    kv.put(PutRequest { key: b("v:2"), value: b(r#"{"n":1}"#) }).await.unwrap();
    let dup = c.create(create("n_unique", "kv", "$.n", true)).await.unwrap_err();
    assert_eq!(dup.code(), Code::Aborted, "{}", dup.message());
    assert_eq!(dup.metadata().get("buffdb-error-code").unwrap(), "CONFLICT");
    kv.delete(DeleteRequest { key: b("v:1") }).await.unwrap();
    kv.delete(DeleteRequest { key: b("v:2") }).await.unwrap();
    assert_eq!(fingerprint(&srv), before);

    // Lookups: an unknown index, a value that is not JSON or not a scalar, a bad start_after.
    let unknown = c.find(FindRequest { name: "nope".into(), value: "1".into(), limit: None }).await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    assert_eq!(collect(c.find_range(range("nope", None, None)).await).await.unwrap_err().code(), Code::NotFound);
    for value in ["not json", "[1,2]", r#"{"a":1}"#] {
        let err = c.find(FindRequest { name: "email".into(), value: value.into(), limit: None }).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{value}");
    }
    let mut r = range("email", None, None);
    r.start_after = Some(IndexEntry { value: r#""a@x""#.into(), record: None });
    assert_eq!(c.find_range(r).await.unwrap_err().code(), Code::InvalidArgument);

    // A unique conflict from a write: ABORTED, the record unchanged.
    let err = kv.put(PutRequest { key: b("u:2"), value: b(r#"{"email":"a@x"}"#) }).await.unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    let err = kv.put(PutRequest { key: b("u:3"), value: b(r#"{"email":"b@x"}"#) }).await.unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    assert_eq!(fingerprint(&srv), before);
    assert!(srv.stores.kv.check().unwrap().ok);
}

#[tokio::test]
async fn indexes_and_stream_metadata_inside_transactions() {
    use txn_request::Op;
    use txn_response::Result as R;
    let srv = start().await;
    let put = |k: &str, v: &str| op(Op::Put(PutRequest { key: b(k), value: b(v) }));
    let stream = |p: &str, md: &str| {
        op(Op::StreamWrite(WriteChunk {
            path: p.into(),
            data: b("doc"),
            metadata: Some(md.into()),
            ..Default::default()
        }))
    };

    // Rolled back: the index, its entries, the records and the metadata all go.
    let (answers, err) = run_txn(
        &srv.channel,
        vec![
            op(Op::CreateIndex(create("score", "kv", "$.score", true))),
            put("p:1", r#"{"score":5}"#),
            stream("/t/a", r#"{"score":1}"#),
            op(Op::StreamSetMetadata(StreamMetadataRequest { path: "/t/a".into(), metadata: Some("md2".into()) })),
            op(Op::Find(FindRequest { name: "score".into(), value: "5".into(), limit: None })),
            op(Op::ListIndexes(ListIndexesRequest {})),
            op(Op::Rollback(Rollback {})),
        ],
    )
    .await;
    assert!(err.is_none(), "{err:?}");
    assert!(matches!(&answers[0], R::CreateIndex(i) if i.name == "score" && i.entries == 0));
    assert!(matches!(&answers[2], R::StreamWrite(i) if i.metadata.as_deref() == Some(r#"{"score":1}"#)));
    assert!(matches!(&answers[3], R::StreamSetMetadata(i) if i.metadata.as_deref() == Some("md2")));
    match &answers[4] {
        R::Find(p) => {
            assert_eq!((p.entries.iter().map(key).collect::<Vec<_>>(), p.more), (vec!["p:1".to_string()], false))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&answers[5], R::ListIndexes(l) if l.indexes.len() == 1 && l.indexes[0].entries == 1));
    assert_eq!(answers[6], R::RolledBack(Rollback {}));
    assert!(srv.stores.kv.list_indexes().unwrap().is_empty());
    assert_eq!(srv.stores.kv.get(b"p:1").unwrap(), None);
    assert!(!srv.stores.kv.stream_exists("/t/a").unwrap());

    // A unique conflict inside a transaction ends it with ABORTED and rolls it back.
    let (answers, err) = run_txn(
        &srv.channel,
        vec![
            op(Op::CreateIndex(create("score", "kv", "$.score", true))),
            put("p:1", r#"{"score":5}"#),
            put("p:2", r#"{"score":5}"#),
            put("p:3", r#"{"score":6}"#),
        ],
    )
    .await;
    assert_eq!(answers.len(), 2);
    assert_eq!(err.unwrap().code(), Code::Aborted);
    assert!(srv.stores.kv.list_indexes().unwrap().is_empty());
    assert_eq!(srv.stores.kv.get(b"p:1").unwrap(), None);

    // Committed: a page of a long range says `more`; the next page follows start_after.
    let mut reqs = vec![op(Op::CreateIndex(create("score", "kv", "$.score", false)))];
    reqs.extend((0..1500).map(|i| put(&format!("p:{i:04}"), &format!(r#"{{"score":{i}}}"#))));
    reqs.push(op(Op::FindRange(range("score", Some("100"), None))));
    let (answers, err) = run_txn(&srv.channel, reqs).await;
    assert!(err.is_none(), "{err:?}");
    let page = match &answers[1501] {
        R::FindRange(p) => p.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!((page.entries.len(), page.more), (1000, true));
    let mut next = range("score", Some("100"), None);
    next.start_after = page.entries.last().cloned();
    let (answers, _) =
        run_txn(&srv.channel, vec![op(Op::FindRange(next)), op(Op::DropIndex(IndexName { name: "score".into() }))])
            .await;
    match &answers[0] {
        R::FindRange(p) => {
            assert_eq!((p.entries.len(), p.more), (400, false));
            assert_eq!(p.entries[0].value, "1100");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&answers[1], R::DropIndex(d) if d.existed));
    assert!(srv.stores.kv.list_indexes().unwrap().is_empty());
    assert_eq!(srv.stores.kv.count(b"p:").unwrap(), 1500);
}
