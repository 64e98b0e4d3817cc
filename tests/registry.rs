//! The model registry (src/model.rs) through the public API, on a Db and in a Txn.

mod common;
use buffdb::{ErrorCode, ModelFile, ModelInfo, Models, Ops};
use common::{code, open, pattern, temp};
use std::io::{Read, Seek, SeekFrom};

fn sha256_hex(data: &[u8]) -> String {
    // Computed independently of the engine's hashing: through the sha256sum tool.
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum (coreutils)");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_string()
}

fn register(db: &impl Ops, name: &str, version: &str, files: &[(&str, &[u8])]) -> buffdb::Result<ModelInfo> {
    let mut info = ModelInfo::new(name, version);
    info.framework = "pytorch".into();
    let mut readers: Vec<(&str, &[u8])> = files.to_vec();
    let mut list: Vec<(&str, &mut dyn Read)> = readers.iter_mut().map(|(n, r)| (*n, r as &mut dyn Read)).collect();
    db.model_register_files(&info, &mut list)
}

#[test]
fn register_get_open_by_range() {
    let (_d, path) = temp();
    let db = open(&path);
    let weights = pattern(3 << 20, 7);
    let info = register(&db, "org/bert", "1.0", &[("config.json", b"{\"a\":1}"), ("weights.bin", &weights)]).unwrap();
    assert!(!info.created_at.is_empty());
    let got = db.model_get("org/bert", "1.0").unwrap();
    assert_eq!(got, info);
    let w = got.file("weights.bin").unwrap();
    assert_eq!(w.path, "/models/org/bert/1.0/weights.bin");
    assert_eq!(w.size, weights.len() as u64);
    assert_eq!(w.sha256, sha256_hex(&weights));
    // The stream's own metadata names its sha256 and size.
    let st = db.stream_stat(&w.path).unwrap();
    let md: serde_json::Value = serde_json::from_str(st.metadata.as_deref().unwrap()).unwrap();
    assert_eq!(md["sha256"], w.sha256.as_str());
    assert_eq!(md["size"], weights.len() as u64);
    // The record is where v0.5 clients read it, with their field names.
    let raw = db.get(b"model:org/bert:1.0:metadata").unwrap().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    for field in [
        "name",
        "version",
        "framework",
        "description",
        "input_shape",
        "output_shape",
        "blob_ids",
        "created_at",
        "parameters",
        "files",
    ] {
        assert!(v.get(field).is_some(), "record lacks {field}: {v}");
    }
    let mut r = db.model_open("org/bert", "latest", "weights.bin").unwrap();
    r.seek(SeekFrom::Start(2_000_000)).unwrap();
    let mut buf = vec![0u8; 1000];
    r.read_exact(&mut buf).unwrap();
    assert_eq!(buf, weights[2_000_000..2_001_000]);
    assert_eq!(code(db.model_open("org/bert", "1.0", "nope.bin")), ErrorCode::NotFound);
    assert_eq!(code(db.model_get("org/bert", "2.0")), ErrorCode::NotFound);
    assert_eq!(db.model_names().unwrap(), ["org/bert"]);
}

#[test]
fn latest_and_aliases_move_atomically() {
    let (_d, path) = temp();
    let db = open(&path);
    register(&db, "m", "1", &[("w", b"one")]).unwrap();
    register(&db, "m", "2", &[("w", b"two")]).unwrap();
    assert_eq!(db.model_resolve("m", "latest").unwrap().as_deref(), Some("2"));
    db.model_set_alias("m", "prod", Some("1")).unwrap();
    assert_eq!(db.model_get("m", "prod").unwrap().version, "1");
    // Moved inside a transaction that rolls back: nothing changes.
    let tx = db.begin().unwrap();
    tx.model_set_alias("m", "prod", Some("2")).unwrap();
    assert_eq!(tx.model_get("m", "prod").unwrap().version, "2");
    assert_eq!(db.model_get("m", "prod").unwrap().version, "1");
    tx.rollback().unwrap();
    assert_eq!(db.model_get("m", "prod").unwrap().version, "1");
    // Committed: seen at once.
    let tx = db.begin().unwrap();
    tx.model_set_alias("m", "prod", Some("2")).unwrap();
    tx.commit().unwrap();
    assert_eq!(db.model_get("m", "prod").unwrap().version, "2");
    assert_eq!(code(db.model_set_alias("m", "prod", Some("9"))), ErrorCode::NotFound);
    db.model_set_alias("m", "prod", None).unwrap();
    assert_eq!(code(db.model_get("m", "prod")), ErrorCode::NotFound);
    let versions: Vec<String> = db.model_versions("m").unwrap().into_iter().map(|i| i.version).collect();
    assert_eq!(versions, ["1", "2"]);
}

#[test]
fn record_and_files_in_one_transaction() {
    let (_d, path) = temp();
    let db = open(&path);
    register(&db, "m", "1", &[("w", b"one")]).unwrap();
    // A failing registration (the version exists) leaves no file behind.
    assert_eq!(code(register(&db, "m", "1", &[("other", b"x")])), ErrorCode::Conflict);
    assert!(!db.stream_exists("/models/m/1/other").unwrap());
    // A registration rolled back with its transaction leaves nothing.
    let tx = db.begin().unwrap();
    register(&tx, "m", "2", &[("w", &pattern(100_000, 1))]).unwrap();
    tx.rollback().unwrap();
    assert_eq!(code(db.model_get("m", "2")), ErrorCode::NotFound);
    assert!(!db.stream_exists("/models/m/2/w").unwrap());
    assert_eq!(db.model_resolve("m", "latest").unwrap().as_deref(), Some("1"));
    // A record naming a stream that is not there is refused.
    let mut info = ModelInfo::new("m", "3");
    info.files.push(ModelFile {
        name: "w".into(),
        path: "/nowhere".into(),
        size: 1,
        sha256: String::new(),
        etag: None,
    });
    assert_eq!(code(db.model_register(&info)), ErrorCode::NotFound);
    // A record whose sha256 disagrees with the stream's metadata is refused; an empty
    // one is filled from it.
    let one = db.model_get("m", "1").unwrap().files[0].clone();
    let mut info = ModelInfo::new("m", "4");
    info.files.push(ModelFile { sha256: "00".repeat(32), ..one.clone() });
    assert_eq!(code(db.model_register(&info)), ErrorCode::InvalidArgument);
    info.files[0].sha256.clear();
    assert_eq!(db.model_register(&info).unwrap().files[0].sha256, one.sha256);
    // model_update replaces a record, keeps aliases, refuses an unknown version.
    let mut up = db.model_get("m", "4").unwrap();
    up.description = "updated".into();
    db.model_update(&up).unwrap();
    assert_eq!(db.model_get("m", "latest").unwrap().description, "updated");
    assert_eq!(code(db.model_update(&ModelInfo::new("m", "5"))), ErrorCode::NotFound);
}

#[test]
fn delete_removes_files_aliases_and_moves_latest() {
    let (_d, path) = temp();
    let db = open(&path);
    register(&db, "m", "1", &[("w", b"one")]).unwrap();
    register(&db, "m", "2", &[("w", b"two")]).unwrap();
    db.model_set_alias("m", "prod", Some("2")).unwrap();
    // Two versions listing one shared stream (as the hub import does).
    db.stream_write("/hf/blobs/x", b"shared").unwrap();
    for v in ["a", "b"] {
        let mut info = ModelInfo::new("s", v);
        info.files.push(ModelFile {
            name: "f".into(),
            path: "/hf/blobs/x".into(),
            size: 6,
            sha256: String::new(),
            etag: None,
        });
        db.model_register(&info).unwrap();
    }
    assert!(db.model_delete("m", "2").unwrap());
    assert!(!db.model_delete("m", "2").unwrap());
    assert!(!db.stream_exists("/models/m/2/w").unwrap());
    assert!(db.stream_exists("/models/m/1/w").unwrap());
    let aliases = db.model_aliases("m").unwrap();
    assert_eq!(aliases.get("latest").map(String::as_str), Some("1"));
    assert!(!aliases.contains_key("prod"));
    assert!(db.model_delete("s", "a").unwrap());
    assert!(db.stream_exists("/hf/blobs/x").unwrap(), "still listed by s@b");
    assert!(db.model_delete("s", "b").unwrap());
    assert!(!db.stream_exists("/hf/blobs/x").unwrap());
    assert_eq!(db.model_names().unwrap(), ["m"]);
}

#[test]
fn v05_records_and_bad_names() {
    let (_d, path) = temp();
    let db = open(&path);
    // As a v0.5 client wrote it: weights in a blob, the record by Kv.Set.
    let id = db.blob_put(b"weights", Some(r#"{"model":"old","version":"1","part":0,"type":"weights"}"#)).unwrap();
    let rec = format!(
        r#"{{"name":"old","version":"1","framework":"onnx","description":"d","input_shape":[1,3],"output_shape":[1],"blob_ids":[{id}],"created_at":"2024-01-01T00:00:00Z","parameters":{{"k":"v"}}}}"#
    );
    db.put(b"model:old:1:metadata", rec.as_bytes()).unwrap();
    let info = db.model_get("old", "1").unwrap();
    assert_eq!(info.blob_ids, [id]);
    assert_eq!(info.input_shape, [1, 3]);
    assert!(info.files.is_empty());
    assert_eq!(db.model_versions("old").unwrap().len(), 1);
    for (name, version) in [("a:b", "1"), ("../x", "1"), ("a//b", "1"), ("", "1"), ("a", "1/2"), ("a", ".."), ("a", "")]
    {
        assert_eq!(
            code(db.model_register(&ModelInfo::new(name, version))),
            ErrorCode::InvalidArgument,
            "{name} {version}"
        );
    }
    assert_eq!(code(db.model_write_file("a", "1", "../etc/passwd", &b"x"[..])), ErrorCode::InvalidArgument);
}
