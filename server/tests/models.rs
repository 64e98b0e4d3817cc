//! buffdb.v1.Models (the model registry) through the generated tonic clients: upload
//! and register, files read through Streams.Read, aliases, delete, bad input, the
//! transaction forms, and the record read by a client of the earlier API.

mod common;

use buffdb_server::proto::kv::kv_client::KvClient as CompatKvClient;
use buffdb_server::proto::v1::models_client::ModelsClient;
use buffdb_server::proto::v1::streams_client::StreamsClient;
use buffdb_server::proto::v1::*;
use common::{op, run_txn, start, stream_of};
use prost::bytes::Bytes;
use sha2::Digest;
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic::Code;

fn record(name: &str, version: &str) -> ModelInfo {
    ModelInfo {
        name: name.into(),
        version: version.into(),
        framework: "pytorch".into(),
        description: "a test model".into(),
        input_shape: vec![1, 3, 224, 224],
        output_shape: vec![1, 1000],
        parameters: [("lr".to_string(), "0.01".to_string())].into_iter().collect(),
        ..Default::default()
    }
}

/// The messages of a registration: the record, then each file in pieces of `piece` bytes.
fn upload(info: ModelInfo, files: &[(&str, &[u8])], piece: usize) -> Vec<ModelUpload> {
    let mut out = vec![ModelUpload { info: Some(info), ..Default::default() }];
    for (name, data) in files {
        let mut chunks: Vec<&[u8]> = data.chunks(piece).collect();
        if chunks.is_empty() {
            chunks.push(&[]);
        }
        for (i, c) in chunks.into_iter().enumerate() {
            out.push(ModelUpload {
                file: (i == 0).then(|| name.to_string()),
                data: Bytes::copy_from_slice(c),
                ..Default::default()
            });
        }
    }
    out
}

fn sha(data: &[u8]) -> String {
    format!("{:x}", sha2::Sha256::digest(data))
}

async fn read(channel: &Channel, path: &str, offset: u64, length: Option<u64>) -> Vec<u8> {
    let req = ReadRequest { path: path.into(), version: None, offset, length };
    let mut s = StreamsClient::new(channel.clone()).read(req).await.unwrap().into_inner();
    let mut out = Vec::new();
    while let Some(m) = s.next().await {
        out.extend_from_slice(&m.unwrap().data);
    }
    out
}

#[tokio::test]
async fn register_uploaded_files_read_them_alias_and_delete() {
    let srv = start().await;
    let mut c = ModelsClient::new(srv.channel.clone());
    let weights: Vec<u8> = (0..3_000_000u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    let config = br#"{"hidden": 768}"#.to_vec();
    let files: [(&str, &[u8]); 3] = [("config.json", &config), ("onnx/model.onnx", &weights), ("empty.txt", b"")];
    let v1 = c.register(stream_of(upload(record("org/resnet", "1.0"), &files, 1 << 20))).await.unwrap().into_inner();
    assert_eq!(v1.files.len(), 3);
    assert!(!v1.created_at.is_empty());
    let onnx = v1.files.iter().find(|f| f.name == "onnx/model.onnx").unwrap();
    assert_eq!((onnx.path.as_str(), onnx.size), ("/models/org/resnet/1.0/onnx/model.onnx", weights.len() as u64));
    assert_eq!(onnx.sha256, sha(&weights));
    // The files are streams: read whole and by range through Streams.Read.
    assert!(read(&srv.channel, &onnx.path, 0, None).await == weights);
    assert_eq!(read(&srv.channel, &onnx.path, 1_000_000, Some(10)).await, &weights[1_000_000..1_000_010]);
    let stat = StreamsClient::new(srv.channel.clone()).stat(PathRequest { path: onnx.path.clone() }).await.unwrap();
    let md: serde_json::Value = serde_json::from_str(stat.into_inner().metadata.as_deref().unwrap()).unwrap();
    assert_eq!(md["sha256"], sha(&weights));

    // A second version registered from a stream already written.
    let mut s = StreamsClient::new(srv.channel.clone());
    let w =
        WriteChunk { path: "/weights/r2.bin".into(), data: Bytes::from_static(b"v2 weights"), ..Default::default() };
    s.write(stream_of(vec![w])).await.unwrap();
    let mut r2 = record("org/resnet", "2.0");
    r2.files = vec![ModelFile { name: "w.bin".into(), path: "/weights/r2.bin".into(), size: 10, ..Default::default() }];
    let v2 = c.register(stream_of(vec![ModelUpload { info: Some(r2), ..Default::default() }])).await.unwrap();
    assert_eq!(v2.into_inner().files[0].path, "/weights/r2.bin");

    // Get by version and alias; latest follows the newest.
    let get = |v: &str| ModelRef { name: "org/resnet".into(), version: v.into() };
    assert_eq!(c.get(get("latest")).await.unwrap().into_inner().version, "2.0");
    assert_eq!(c.get(get("1.0")).await.unwrap().into_inner(), v1);
    let set = |alias: &str, v: Option<&str>| SetAliasRequest {
        name: "org/resnet".into(),
        alias: alias.into(),
        version: v.map(Into::into),
    };
    let aliases = c.set_alias(set("prod", Some("1.0"))).await.unwrap().into_inner().aliases;
    assert_eq!((aliases["prod"].as_str(), aliases["latest"].as_str()), ("1.0", "2.0"));
    assert_eq!(c.get(get("prod")).await.unwrap().into_inner().version, "1.0");
    let listed = c.list(ListModelsRequest { name: None }).await.unwrap().into_inner().models;
    assert_eq!(listed, [ModelSummary { name: "org/resnet".into(), latest: "2.0".into() }]);
    let versions = c.list(ListModelsRequest { name: Some("org/resnet".into()) }).await.unwrap().into_inner().versions;
    assert_eq!(versions.iter().map(|v| v.version.as_str()).collect::<Vec<_>>(), ["1.0", "2.0"]);

    // Delete 1.0: its own files and the aliases naming it go; 2.0's stream stays.
    assert!(c.delete(get("1.0")).await.unwrap().into_inner().existed);
    assert!(!c.delete(get("1.0")).await.unwrap().into_inner().existed);
    assert!(!srv.stores.kv.stream_exists(&onnx.path).unwrap());
    assert!(srv.stores.kv.stream_exists("/weights/r2.bin").unwrap());
    let aliases = c.aliases(ModelName { name: "org/resnet".into() }).await.unwrap().into_inner().aliases;
    assert_eq!(aliases.into_iter().collect::<Vec<_>>(), [("latest".to_string(), "2.0".to_string())]);
    assert_eq!(c.get(get("prod")).await.unwrap_err().code(), Code::NotFound);
}

#[tokio::test]
async fn the_record_is_where_the_earlier_api_reads_it() {
    let srv = start().await;
    let mut c = ModelsClient::new(srv.channel.clone());
    let files: [(&str, &[u8]); 1] = [("weights.bin", b"0123456789")];
    let mut info = record("bert", "v5");
    info.blob_ids = vec![7];
    let stored = c.register(stream_of(upload(info, &files, 4))).await.unwrap().into_inner();
    // A client of the earlier API (buffdb.kv.Kv, v0.5) reads the record with Get.
    let mut old = CompatKvClient::new(srv.channel.clone());
    let req = buffdb_server::proto::kv::GetRequest { key: "model:bert:v5:metadata".into(), transaction_id: None };
    let mut s = old.get(stream_of(vec![req])).await.unwrap().into_inner();
    let json = s.next().await.unwrap().unwrap().value;
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    // The earlier field names and types.
    assert_eq!(v["name"], "bert");
    assert_eq!(v["version"], "v5");
    assert_eq!(v["framework"], "pytorch");
    assert_eq!(v["description"], "a test model");
    assert_eq!(v["input_shape"], serde_json::json!([1, 3, 224, 224]));
    assert_eq!(v["output_shape"], serde_json::json!([1, 1000]));
    assert_eq!(v["blob_ids"], serde_json::json!([7]));
    assert_eq!(v["created_at"], stored.created_at.as_str());
    assert_eq!(v["parameters"], serde_json::json!({"lr": "0.01"}));
    assert_eq!(v["files"][0]["path"], "/models/bert/v5/weights.bin");
    assert_eq!(v["files"][0]["sha256"], sha(b"0123456789"));
}

#[tokio::test]
async fn bad_registrations_store_nothing() {
    let srv = start().await;
    let mut c = ModelsClient::new(srv.channel.clone());
    let files: [(&str, &[u8]); 1] = [("a.bin", b"abc")];
    c.register(stream_of(upload(record("m", "1"), &files, 2))).await.unwrap();
    let fingerprint = |srv: &common::TestServer| {
        let kv: Vec<(Vec<u8>, Vec<u8>)> =
            srv.stores.kv.scan(b"", None, None).unwrap().collect::<Result<_, _>>().unwrap();
        let paths: Vec<String> = srv.stores.kv.search("/", None, None).unwrap().collect::<Result<_, _>>().unwrap();
        (kv, paths)
    };
    let before = fingerprint(&srv);

    let cases: Vec<(&str, Vec<ModelUpload>, Code)> = vec![
        ("an existing version", upload(record("m", "1"), &files, 2), Code::Aborted),
        ("a name with ..", upload(record("m/../x", "1"), &files, 2), Code::InvalidArgument),
        ("a name with :", upload(record("m:x", "1"), &files, 2), Code::InvalidArgument),
        ("a version with /", upload(record("m", "1/2"), &files, 2), Code::InvalidArgument),
        ("a file name with ..", upload(record("m", "2"), &[("../a", b"x")], 2), Code::InvalidArgument),
        ("no record", vec![ModelUpload { file: Some("a".into()), ..Default::default() }], Code::InvalidArgument),
        (
            "data before a file name",
            vec![ModelUpload { info: Some(record("m", "2")), data: Bytes::from_static(b"x"), ..Default::default() }],
            Code::InvalidArgument,
        ),
        (
            "a second record",
            {
                let mut u = upload(record("m", "2"), &files, 2);
                u.push(ModelUpload { info: Some(record("m", "3")), ..Default::default() });
                u
            },
            Code::InvalidArgument,
        ),
        (
            "aborted half way",
            {
                let mut u = upload(record("m", "2"), &files, 1);
                u.push(ModelUpload { abort: true, ..Default::default() });
                u
            },
            Code::Cancelled,
        ),
    ];
    for (what, msgs, code) in cases {
        let err = c.register(stream_of(msgs)).await.unwrap_err();
        assert_eq!(err.code(), code, "{what}: {}", err.message());
        assert_eq!(fingerprint(&srv), before, "{what} changed the store");
    }
    // A listed stream that is missing, or of another size.
    let mut missing = record("m", "2");
    missing.files = vec![ModelFile { name: "x".into(), path: "/nope".into(), size: 1, ..Default::default() }];
    let err = c.register(stream_of(vec![ModelUpload { info: Some(missing), ..Default::default() }])).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let mut wrong = record("m", "2");
    wrong.files =
        vec![ModelFile { name: "x".into(), path: "/models/m/1/a.bin".into(), size: 99, ..Default::default() }];
    let err = c.register(stream_of(vec![ModelUpload { info: Some(wrong), ..Default::default() }])).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fingerprint(&srv), before);

    // Unknown models, versions and aliases.
    let r = |n: &str, v: &str| ModelRef { name: n.into(), version: v.into() };
    assert_eq!(c.get(r("nope", "1")).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(c.get(r("m", "9")).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(c.get(r("m/..", "1")).await.unwrap_err().code(), Code::InvalidArgument);
    assert_eq!(c.list(ListModelsRequest { name: Some("nope".into()) }).await.unwrap_err().code(), Code::NotFound);
    let to_missing = SetAliasRequest { name: "m".into(), alias: "prod".into(), version: Some("9".into()) };
    assert_eq!(c.set_alias(to_missing).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(fingerprint(&srv), before);
}

#[tokio::test]
async fn the_registry_inside_transactions() {
    use txn_request::Op;
    use txn_response::Result as R;
    let srv = start().await;
    let write = |path: &str| {
        op(Op::StreamWrite(WriteChunk {
            path: path.into(),
            data: Bytes::from_static(b"weights"),
            ..Default::default()
        }))
    };
    let with_file = |v: &str, path: &str| {
        let mut r = record("m", v);
        r.files = vec![ModelFile { name: "w".into(), path: path.into(), size: 7, ..Default::default() }];
        r
    };
    // Committed: a stream written and registered in one transaction, then an alias.
    let (answers, err) = run_txn(
        &srv.channel,
        vec![
            write("/w/1"),
            op(Op::ModelRegister(with_file("1", "/w/1"))),
            write("/w/2"),
            op(Op::ModelRegister(with_file("2", "/w/2"))),
            op(Op::ModelSetAlias(SetAliasRequest {
                name: "m".into(),
                alias: "prod".into(),
                version: Some("1".into()),
            })),
            op(Op::ModelGet(ModelRef { name: "m".into(), version: "prod".into() })),
        ],
    )
    .await;
    assert!(err.is_none(), "{err:?}");
    assert!(matches!(&answers[5], R::ModelGet(i) if i.version == "1"));
    assert!(srv.stores.kv.get(b"model:m:1:metadata").unwrap().is_some());

    // Rolled back: moving the alias, deleting a version and registering another leave nothing.
    let before: Vec<(Vec<u8>, Vec<u8>)> =
        srv.stores.kv.scan(b"", None, None).unwrap().collect::<Result<_, _>>().unwrap();
    let (answers, err) = run_txn(
        &srv.channel,
        vec![
            op(Op::ModelSetAlias(SetAliasRequest {
                name: "m".into(),
                alias: "prod".into(),
                version: Some("2".into()),
            })),
            op(Op::ModelAliases(ModelName { name: "m".into() })),
            op(Op::ModelDelete(ModelRef { name: "m".into(), version: "1".into() })),
            write("/w/3"),
            op(Op::ModelRegister(with_file("3", "/w/3"))),
            op(Op::ModelList(ListModelsRequest { name: Some("m".into()) })),
            op(Op::Rollback(Rollback {})),
        ],
    )
    .await;
    assert!(err.is_none(), "{err:?}");
    assert!(matches!(&answers[1], R::ModelAliases(a) if a.aliases["prod"] == "2"));
    assert!(matches!(&answers[2], R::ModelDelete(d) if d.existed));
    match &answers[5] {
        R::ModelList(l) => assert_eq!(l.versions.iter().map(|v| v.version.as_str()).collect::<Vec<_>>(), ["2", "3"]),
        other => panic!("{other:?}"),
    }
    assert_eq!(answers[6], R::RolledBack(Rollback {}));
    let after: Vec<(Vec<u8>, Vec<u8>)> =
        srv.stores.kv.scan(b"", None, None).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(after, before);
    assert!(!srv.stores.kv.stream_exists("/w/3").unwrap());
    assert!(srv.stores.kv.stream_exists("/w/1").unwrap());

    // An error inside (a version that exists) ends the transaction: nothing of it stays.
    let (_, err) = run_txn(&srv.channel, vec![write("/w/4"), op(Op::ModelRegister(with_file("1", "/w/4")))]).await;
    assert_eq!(err.unwrap().code(), Code::Aborted);
    assert!(!srv.stores.kv.stream_exists("/w/4").unwrap());
}

#[tokio::test]
async fn a_stalled_upload_ends_at_the_idle_timeout_and_frees_the_writer() {
    let srv = common::start_with(|c| c.txn_timeout = std::time::Duration::from_millis(300), false).await;
    let mut c = ModelsClient::new(srv.channel.clone());
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(ModelUpload { info: Some(record("slow", "1")), ..Default::default() }).await.unwrap();
    tx.send(ModelUpload { file: Some("w.bin".into()), data: Bytes::from_static(b"part"), ..Default::default() })
        .await
        .unwrap();
    // The client keeps the call open and sends nothing more.
    let call = tokio::spawn(async move { c.register(tokio_stream::wrappers::ReceiverStream::new(rx)).await });
    let err = tokio::time::timeout(std::time::Duration::from_secs(30), call).await.unwrap().unwrap().unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{}", err.message());
    // Nothing stored, and the writer is free for others.
    assert!(!srv.stores.kv.stream_exists("/models/slow/1/w.bin").unwrap());
    srv.stores.kv.put(b"after", b"1").unwrap();
    assert_eq!(srv.stores.kv.get(b"model:slow:1:metadata").unwrap(), None);
    drop(tx);
}
