//! `buffdb run` as a process: the earlier command line, two files, SIGTERM with an
//! open transaction.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use buffdb::{Db, OpenOptions};
use buffdb_server::proto::blob::blob_client::BlobClient;
use buffdb_server::proto::blob::StoreRequest;
use buffdb_server::proto::kv::kv_client::KvClient;
use buffdb_server::proto::kv::{BeginTransactionRequest, SetRequest};
use tokio_stream::StreamExt;

/// Starts `buffdb ARGS` and returns it with the address it announced.
fn spawn(args: &[&str]) -> (Child, String) {
    spawn_env(args, &[])
}

/// `spawn` with extra environment; also checks that the first line says `with TLS`
/// exactly when `--tls-cert` is given.
fn spawn_env(args: &[&str], env: &[(&str, &str)]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_buffdb"))
        .args(args)
        .envs(env.iter().copied())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = lines.next().unwrap().unwrap();
    assert_eq!(line.contains("with TLS"), args.contains(&"--tls-cert"), "{line}");
    let addr = line.split(" on ").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    // Keep draining stderr so the server never blocks on it.
    std::thread::spawn(move || {
        for l in lines.map_while(Result::ok) {
            eprintln!("server: {l}");
        }
    });
    (child, addr)
}

/// SIGTERM, then wait (asynchronously: this process's clients must keep running to
/// see the server's GOAWAY) for the server to exit.
async fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let ok = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(ok.success());
    for _ in 0..200 {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    panic!("buffdb run did not stop within 10 s of SIGTERM");
}

#[tokio::test]
async fn the_earlier_command_line_with_two_files_and_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let kv = dir.path().join("kv.db");
    let blob = dir.path().join("blob.db");
    let (mut child, addr) = spawn(&[
        "run",
        "--addr",
        "127.0.0.1:0",
        "--kv-store",
        kv.to_str().unwrap(),
        "--blob-store",
        blob.to_str().unwrap(),
    ]);
    let mut k = KvClient::connect(format!("http://{addr}")).await.unwrap();
    let mut b = BlobClient::connect(format!("http://{addr}")).await.unwrap();
    let set = |key: &str, txn: Option<String>| SetRequest { key: key.into(), value: "v".into(), transaction_id: txn };
    let r: Vec<_> = k.set(tokio_stream::iter(vec![set("acked", None)])).await.unwrap().into_inner().collect().await;
    assert!(r[0].is_ok());
    let store = StoreRequest { bytes: b"blob".to_vec(), metadata: None, transaction_id: None };
    let ids: Vec<_> = b.store(tokio_stream::iter(vec![store])).await.unwrap().into_inner().collect().await;
    let id = ids[0].as_ref().unwrap().id;

    // An open transaction when the server is told to stop.
    let txn = k
        .begin_transaction(BeginTransactionRequest { read_only: None, timeout_ms: None })
        .await
        .unwrap()
        .into_inner()
        .transaction_id;
    let r: Vec<_> =
        k.set(tokio_stream::iter(vec![set("pending", Some(txn))])).await.unwrap().into_inner().collect().await;
    assert!(r[0].is_ok());

    let t = std::time::Instant::now();
    let status = terminate(&mut child).await;
    assert!(t.elapsed() < Duration::from_secs(5), "stopping took {:?}", t.elapsed());
    assert!(status.success(), "{status:?}");
    let kv = Db::open(&kv, OpenOptions::default()).unwrap();
    let blob = Db::open(&blob, OpenOptions::default()).unwrap();
    assert_eq!(kv.get(b"acked").unwrap(), Some(b"v".to_vec()));
    assert_eq!(kv.get(b"pending").unwrap(), None);
    assert_eq!(blob.blob_get(id).unwrap(), Some(b"blob".to_vec()));
    assert_eq!(kv.blob_get(id).unwrap(), None);
}

#[test]
fn a_bad_address_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_buffdb")).args(["run", "not-an-address"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn remote(addr: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_buffdb")).arg("--remote").arg(addr).args(args).output().unwrap()
}

fn stdout(o: &std::process::Output) -> String {
    assert!(o.status.success(), "{:?}: {}", o.status, String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[tokio::test]
async fn remote_commands_reach_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.db");
    let (mut child, addr) = spawn(&["-s", store.to_str().unwrap(), "run", "127.0.0.1:0"]);

    stdout(&remote(&addr, &["kv", "set", "user:1", "ada"]));
    assert_eq!(stdout(&remote(&addr, &["kv", "get", "user:1"])), "ada\n");
    assert_eq!(remote(&addr, &["kv", "get", "nobody"]).status.code(), Some(1));
    stdout(&remote(&addr, &["kv", "set", "user:2", "ada"]));
    assert_eq!(stdout(&remote(&addr, &["kv", "eq", "user:1", "user:2"])), "true\n");
    assert_eq!(stdout(&remote(&addr, &["kv", "scan", "user:"])), "user:1\tada\nuser:2\tada\n");

    let file = dir.path().join("doc.bin");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let info = stdout(&remote(&addr, &["stream", "put", "/docs/a", file.to_str().unwrap()]));
    assert!(info.contains("size: 3000000"), "{info}");
    let back = dir.path().join("back.bin");
    stdout(&remote(&addr, &["stream", "get", "/docs/a", "-o", back.to_str().unwrap()]));
    assert!(std::fs::read(&back).unwrap() == data);
    assert_eq!(stdout(&remote(&addr, &["search", "/docs/"])), "/docs/a\n");
    assert_eq!(remote(&addr, &["stream", "stat", "/nope"]).status.code(), Some(1));

    let id = stdout(&remote(&addr, &["blob", "store", file.to_str().unwrap(), "a doc"]));
    assert_eq!(id, "1\n");
    assert!(remote(&addr, &["blob", "get", "1"]).stdout == data);
    assert_eq!(remote(&addr, &["blob", "get", "9"]).status.code(), Some(1));

    let q = stdout(&remote(&addr, &["query", "SELECT key_text, value_text FROM kv WHERE key_text = ?", "user:1"]));
    assert_eq!(q, "key_text\tvalue_text\nuser:1\tada\n");
    let none = stdout(&remote(&addr, &["query", "SELECT key_text FROM kv WHERE key_text = 'none'"]));
    assert_eq!(none, "key_text\n");
    // No row limit on the server: more rows than the local default stream through.
    let many = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000001) SELECT i FROM n";
    let rows = stdout(&remote(&addr, &["query", many]));
    assert_eq!((rows.lines().count(), rows.lines().last()), (1_000_002, Some("1000001")));
    // Limits asked for on the command line reach the server, with the local exit codes.
    let five = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) SELECT i FROM n";
    assert_eq!(stdout(&remote(&addr, &["query", five, "--max-rows", "5"])), "i\n1\n2\n3\n4\n5\n");
    assert_eq!(remote(&addr, &["query", five, "--max-rows", "4"]).status.code(), Some(2));
    let endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c WHERE x < 0";
    let late = remote(&addr, &["query", endless, "--timeout-ms", "200"]);
    let local_late = Command::new(env!("CARGO_BIN_EXE_buffdb"))
        .args(["-s", dir.path().join("local.db").to_str().unwrap(), "query", endless, "--timeout-ms", "200"])
        .output()
        .unwrap();
    assert_eq!(late.status.code(), local_late.status.code(), "{}", String::from_utf8_lossy(&late.stderr));
    assert_ne!(late.status.code(), Some(0));

    assert!(terminate(&mut child).await.success());
    // Everything went to the served file.
    let db = Db::open(&store, OpenOptions::default()).unwrap();
    assert_eq!(db.get(b"user:1").unwrap(), Some(b"ada".to_vec()));
    assert_eq!(db.stream_read("/docs/a").unwrap(), data);
}

/// `--remote` with extra environment (and no inherited token).
fn remote_env(addr: &str, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_buffdb"));
    c.env_remove("BUFFDB_TOKEN").env_remove("BUFFDB_CA_CERT").arg("--remote").arg(addr).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[tokio::test]
async fn remote_over_tls_with_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.db");
    let write = |name: &str, pem: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, pem).unwrap();
        path.to_str().unwrap().to_string()
    };
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert = write("cert.pem", ck.cert.pem());
    let key = write("key.pem", ck.key_pair.serialize_pem());
    let other = write("other.pem", rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap().cert.pem());
    let (mut child, addr) = spawn_env(
        &["-s", store.to_str().unwrap(), "run", "127.0.0.1:0", "--tls-cert", &cert, "--tls-key", &key],
        &[("BUFFDB_TOKEN", "s3cret")],
    );
    let port = addr.rsplit(':').next().unwrap();
    let https = format!("https://localhost:{port}");
    let token = ("BUFFDB_TOKEN", "s3cret");

    // https:// with the server's certificate and the token.
    stdout(&remote_env(&https, &[token], &["--ca-cert", &cert, "kv", "set", "k", "over tls"]));
    assert_eq!(
        stdout(&remote_env(&https, &[token], &["--ca-cert", &cert, "kv", "get", "k"])),
        "over tls
"
    );
    // host:port with --ca-cert (from the environment here) means TLS.
    let q = remote_env(&addr, &[token, ("BUFFDB_CA_CERT", &cert)], &["query", "SELECT value_text FROM kv"]);
    assert_eq!(stdout(&q), "value_text\nover tls\n");

    // Refused: no token, a wrong token, a certificate the client does not trust,
    // plaintext to the TLS port, and a CA certificate for an http:// address.
    let no_token = remote_env(&https, &[], &["--ca-cert", &cert, "kv", "get", "k"]);
    assert_eq!(no_token.status.code(), Some(2), "{}", String::from_utf8_lossy(&no_token.stderr));
    assert!(String::from_utf8_lossy(&no_token.stderr).contains("Bearer TOKEN"));
    let wrong = remote_env(&https, &[("BUFFDB_TOKEN", "guess")], &["--ca-cert", &cert, "kv", "get", "k"]);
    assert_eq!(wrong.status.code(), Some(2));
    for out in [
        remote_env(&https, &[token], &["--ca-cert", &other, "kv", "get", "k"]),
        remote_env(&format!("http://127.0.0.1:{port}"), &[token], &["kv", "get", "k"]),
    ] {
        assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(out.stdout.is_empty());
    }
    let mixed = remote_env(&format!("http://127.0.0.1:{port}"), &[token], &["--ca-cert", &cert, "kv", "get", "k"]);
    assert_eq!(mixed.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&mixed.stderr).contains("https://"));

    assert!(terminate(&mut child).await.success());
    let db = Db::open(&store, OpenOptions::default()).unwrap();
    assert_eq!(db.get(b"k").unwrap(), Some(b"over tls".to_vec()));
}

/// One command against a local file and against a server: its output (creation times
/// masked: those differ) and exit code.
fn both(local: &std::path::Path, addr: &str, args: &[&str]) -> (String, Option<i32>) {
    let l = Command::new(env!("CARGO_BIN_EXE_buffdb")).arg("-s").arg(local).args(args).output().unwrap();
    let r = remote(addr, args);
    let shown = |o: &std::process::Output| {
        let text = String::from_utf8(o.stdout.clone()).unwrap();
        let is_time = |f: &&str| f.len() >= 20 && f.as_bytes()[4] == b'-' && f.as_bytes()[10] == b'T';
        let kept: Vec<String> = text
            .lines()
            .filter(|l| !l.contains("created"))
            .map(|l| l.split('\t').map(|f| if is_time(&f) { "TIME" } else { f }).collect::<Vec<_>>().join("\t"))
            .collect();
        (kept.join("\n"), o.status.code())
    };
    let (l, r) = (shown(&l), shown(&r));
    assert_eq!(l, r, "{args:?}: local and --remote differ");
    l
}

#[tokio::test]
async fn indexes_models_and_stream_metadata_with_remote_as_on_a_local_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("served.db");
    let local = dir.path().join("local.db");
    let (mut child, addr) = spawn(&["-s", store.to_str().unwrap(), "run", "127.0.0.1:0"]);
    let run = |args: &[&str]| both(&local, &addr, args);
    let ok = |args: &[&str]| {
        let (out, code) = run(args);
        assert_eq!(code, Some(0), "{args:?}");
        out
    };

    ok(&["kv", "set", "user:1", r#"{"email":"ada@x","age":36}"#]);
    ok(&["kv", "set", "user:2", r#"{"email":"bob@x","age":25}"#]);
    ok(&["kv", "set", "user:3", r#"{"email":"cy@x","age":41}"#]);
    assert_eq!(
        ok(&["index", "create", "by_email", "kv", "$.email", "--unique", "--prefix", "user:"]),
        "by_email: 3 entries"
    );
    assert_eq!(ok(&["index", "create", "by_age", "kv", "$.age"]), "by_age: 3 entries");
    assert_eq!(
        ok(&["index", "list"]),
        "by_age\tkv\t$.age\t-\t-\t3\tready\nby_email\tkv\t$.email\tunique\tuser:\t3\tready"
    );
    assert_eq!(ok(&["find", "by_email", "bob@x"]), "\"bob@x\"\tuser:2");
    assert_eq!(ok(&["find", "by_age", "--from", "30", "--to", "50"]), "36\tuser:1\n41\tuser:3");
    assert_eq!(ok(&["find", "by_age", "--from", "0", "--reverse", "--limit", "2"]), "41\tuser:3\n36\tuser:1");
    // Bad input: the same exit codes (1 not found, 2 invalid, 3 conflict).
    assert_eq!(run(&["find", "nope", "1"]).1, Some(1));
    assert_eq!(run(&["index", "create", "bad", "kv", "no path"]).1, Some(2));
    assert_eq!(run(&["index", "create", "by_age", "kv", "$.age"]).1, Some(3));
    assert_eq!(run(&["kv", "set", "user:4", r#"{"email":"ada@x"}"#]).1, Some(3));
    assert_eq!(run(&["kv", "get", "user:4"]).1, Some(1));

    // Stream metadata: put --metadata, shown by stat; an index over it.
    let file = dir.path().join("mesh.obj");
    std::fs::write(&file, b"v 0 0 0\n").unwrap();
    let put = ok(&["stream", "put", "/assets/a.obj", file.to_str().unwrap(), "--metadata", r#"{"kind":"mesh"}"#]);
    assert!(put.contains("metadata: {\"kind\":\"mesh\"}"), "{put}");
    assert!(ok(&["stream", "stat", "/assets/a.obj"]).ends_with("metadata: {\"kind\":\"mesh\"}"));
    ok(&["index", "create", "kind", "stream", "$.kind"]);
    assert_eq!(ok(&["find", "kind", "mesh"]), "\"mesh\"\t/assets/a.obj");

    // The model registry, a safetensors header read by ranges.
    let header = br#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#;
    let mut st = (header.len() as u64).to_le_bytes().to_vec();
    st.extend_from_slice(header);
    st.extend_from_slice(&[0u8; 16]);
    let weights = dir.path().join("model.safetensors");
    std::fs::write(&weights, &st).unwrap();
    let reg = ok(&["model", "register", "org/m", "1", weights.to_str().unwrap(), "--framework", "pytorch"]);
    assert!(reg.starts_with("model.safetensors\t"), "{reg}");
    ok(&["model", "register", "org/m", "2", &format!("w.bin={}", file.display())]);
    assert_eq!(ok(&["model", "list"]), "org/m\t2");
    ok(&["model", "alias", "org/m", "prod", "1"]);
    assert_eq!(ok(&["model", "alias", "org/m"]), "latest\t2\nprod\t1");
    assert!(ok(&["model", "show", "org/m", "prod"]).contains("\"framework\": \"pytorch\""));
    assert_eq!(ok(&["model", "list", "org/m"]).lines().count(), 2);
    assert_eq!(ok(&["model", "inspect", "org/m", "prod"]).lines().nth(1), Some("w\tF32\t[2,2]"));
    assert_eq!(run(&["model", "register", "org/m", "1", weights.to_str().unwrap()]).1, Some(3));
    assert_eq!(run(&["model", "show", "org/m", "9"]).1, Some(1));
    assert_eq!(run(&["model", "alias", "org/m", "prod", "9"]).1, Some(1));
    assert_eq!(run(&["model", "register", "a/../b", "1", weights.to_str().unwrap()]).1, Some(2));
    ok(&["model", "delete", "org/m", "1"]);
    assert_eq!(run(&["model", "delete", "org/m", "1"]).1, Some(1));
    assert_eq!(ok(&["model", "alias", "org/m"]), "latest\t2");
    assert!(ok(&["index", "drop", "by_age"]).is_empty());
    assert_eq!(run(&["index", "drop", "by_age"]).1, Some(1));
    // What stays local-only says so.
    assert_eq!(remote(&addr, &["check"]).status.code(), Some(2));

    assert!(terminate(&mut child).await.success());
    let db = Db::open(&store, OpenOptions::default()).unwrap();
    assert_eq!(db.list_indexes().unwrap().len(), 2);
    assert!(db.get(b"model:org/m:2:metadata").unwrap().is_some());
}
