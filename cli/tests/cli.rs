//! The `buffdb` command line, run as a user would.

use std::io::Write;
use std::process::{Command, Stdio};

mod common;
use common::{buffdb, exit, ok};

#[test]
fn kv_and_blob_commands() {
    let dir = tempfile::tempdir().unwrap();
    let s = &dir.path().join("cli.db");
    ok(s, &["kv", "set", "a", "1"]);
    ok(s, &["kv", "set", "b", "1"]);
    ok(s, &["kv", "set", "c", "2"]);
    assert_eq!(ok(s, &["kv", "get", "a"]), "1\n");
    assert_eq!(exit(s, &["kv", "get", "zzz"]), 1);
    assert_eq!(exit(s, &["kv", "eq", "a", "b"]), 0);
    assert_eq!(exit(s, &["kv", "eq", "a", "c"]), 1);
    assert_eq!(exit(s, &["kv", "not-eq", "a", "c"]), 0);
    assert_eq!(exit(s, &["kv", "not-eq", "a", "b"]), 1);
    assert_eq!(exit(s, &["kv", "eq", "a", "missing"]), 1);
    assert_eq!(ok(s, &["kv", "scan", ""]), "a\t1\nb\t1\nc\t2\n");
    assert_eq!(exit(s, &["kv", "delete", "a"]), 0);
    assert_eq!(exit(s, &["kv", "delete", "a"]), 1);
    let out = buffdb(s, &["kv", "set", "piped", "-"], Some(b"from stdin"));
    assert!(out.status.success());
    assert_eq!(ok(s, &["kv", "get", "piped"]), "from stdin\n");

    let out = buffdb(s, &["blob", "store", "-", "a description"], Some(b"\x00\x01binary"));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "1\n");
    let out = buffdb(s, &["blob", "get", "1"], None);
    assert_eq!(out.stdout, b"\x00\x01binary");
    let out = buffdb(s, &["blob", "update", "1", "data", "-"], Some(b"new"));
    assert!(out.status.success());
    assert_eq!(buffdb(s, &["blob", "get", "1"], None).stdout, b"new");
    ok(s, &["blob", "update", "1", "metadata", "renamed"]);
    assert!(ok(s, &["query", "SELECT metadata FROM blobs WHERE id = ?", "1"]).contains("renamed"));
    assert_eq!(ok(s, &["query", "SELECT id, metadata FROM blobs WHERE id = ?", "1"]), "id\tmetadata\n1\trenamed\n");
    // No rows: the header alone; over --max-rows: a usage-class error.
    assert_eq!(ok(s, &["query", "SELECT id FROM blobs WHERE id = 99"]), "id\n");
    let many = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) SELECT i FROM n";
    assert_eq!(ok(s, &["query", many]), "i\n1\n2\n3\n4\n5\n");
    assert_eq!(exit(s, &["query", many, "--max-rows", "4"]), 2);
    let out = buffdb(s, &["blob", "store", "-"], Some(b"new"));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "2\n");
    assert_eq!(exit(s, &["blob", "eq-data", "1", "2"]), 0);
    assert_eq!(exit(s, &["blob", "not-eq-data", "1", "2"]), 1);
    assert_eq!(exit(s, &["blob", "get", "99"]), 1);
    assert_eq!(exit(s, &["blob", "update", "99", "metadata", "x"]), 1);
    assert_eq!(exit(s, &["blob", "delete", "2"]), 0);
    assert_eq!(exit(s, &["blob", "delete", "2"]), 1);
    assert_eq!(ok(s, &["blob", "store", "-"]), "3\n", "ids are never reused");

    assert_eq!(exit(s, &["kv"]), 2);
    assert_eq!(exit(s, &["blob", "get", "not-a-number"]), 2);
    assert_eq!(exit(s, &["frobnicate"]), 2);
    assert_eq!(exit(s, &["kv", "set", "", "v"]), 2);
    assert!(ok(s, &["--help"]).contains("stream"));
    assert!(ok(s, &["stream", "put", "--help"]).contains("FILE"));

    let foreign = dir.path().join("notes.txt");
    std::fs::write(&foreign, "hello").unwrap();
    let out = buffdb(&foreign, &["kv", "get", "a"], None);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NOT_A_DATABASE"));
    assert_eq!(std::fs::read(&foreign).unwrap(), b"hello");
}

#[test]
fn stream_put_get_300_mib_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let s = &dir.path().join("cli.db");
    let src = dir.path().join("big.bin");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&src).unwrap());
        let mut x = 88172645463325252u64;
        let mut block = vec![0u8; 1 << 20];
        for _ in 0..300 {
            for c in block.chunks_mut(8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                c.copy_from_slice(&x.to_le_bytes());
            }
            f.write_all(&block).unwrap();
        }
    }
    let stat = ok(s, &["stream", "put", "/assets/big.bin", src.to_str().unwrap()]);
    assert!(stat.contains("size: 314572800"), "{stat}");
    assert!(stat.contains("version: 1"));
    let back = dir.path().join("back.bin");
    ok(s, &["stream", "get", "/assets/big.bin", "-o", back.to_str().unwrap()]);
    assert!(std::fs::read(&src).unwrap() == std::fs::read(&back).unwrap(), "the stream differs");
    std::fs::remove_file(&back).unwrap();
    std::fs::remove_file(&src).unwrap();

    let out = buffdb(s, &["stream", "put", "/assets/small.txt", "-", "--compress"], Some(b"hello hello hello"));
    assert!(out.status.success());
    let out = buffdb(s, &["stream", "put", "/assets/small.txt", "-"], Some(b"second"));
    assert!(out.status.success());
    assert_eq!(buffdb(s, &["stream", "get", "/assets/small.txt"], None).stdout, b"second");
    assert_eq!(buffdb(s, &["stream", "get", "/assets/small.txt", "--version", "1"], None).stdout, b"hello hello hello");
    assert_eq!(ok(s, &["stream", "versions", "/assets/small.txt"]).lines().count(), 2);
    assert_eq!(ok(s, &["search", "/assets/"]), "/assets/big.bin\n/assets/small.txt\n");
    assert_eq!(ok(s, &["search", "/ass", "--limit", "1"]), "/assets/big.bin\n");
    assert_eq!(exit(s, &["stream", "get", "/nope"]), 1);
    assert_eq!(exit(s, &["stream", "stat", "/nope"]), 1);
    assert_eq!(exit(s, &["stream", "versions", "/nope"]), 1);
    assert_eq!(exit(s, &["stream", "delete", "/assets/small.txt"]), 0);
    assert_eq!(exit(s, &["stream", "delete", "/assets/small.txt"]), 1);
    assert!(ok(s, &["stats"]).contains("streams: 1"));
    assert!(ok(s, &["check"]).contains("ok"));
}

#[test]
fn demo_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = buffdb(&dir.path().join("demo.db"), &["demo", "--mib", "8"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("read back byte for byte"));
}

/// The store's files, name and bytes (what "changes nothing" compares).
fn store_files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("cli.db"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn writing_a_missing_file_fails_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.bin");
    let missing = missing.to_str().unwrap();

    // No store yet: none is created.
    let fresh = dir.path().join("fresh.db");
    for args in [&["stream", "put", "/doc", missing][..], &["blob", "store", missing]] {
        let out = buffdb(&fresh, args, None);
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("IO") && err.contains("missing.bin"), "{args:?}: {err}");
        assert!(!fresh.exists(), "{args:?} created the store");
    }

    // An existing store keeps every byte of its files.
    let s = &dir.path().join("cli.db");
    assert!(buffdb(s, &["stream", "put", "/doc", "-"], Some(b"v1")).status.success());
    let before = store_files(dir.path());
    for args in
        [&["stream", "put", "/doc", missing][..], &["stream", "put", "/new", missing], &["blob", "store", missing]]
    {
        assert_eq!(exit(s, args), 3, "{args:?}");
        assert!(store_files(dir.path()) == before, "{args:?} changed the store");
    }
    assert_eq!(ok(s, &["stream", "versions", "/doc"]).lines().count(), 1);
    assert_eq!(exit(s, &["stream", "stat", "/new"]), 1);
    assert!(ok(s, &["stats"]).contains("blobs: 0"), "{}", ok(s, &["stats"]));
}

#[test]
fn a_reader_that_stops_early_ends_the_command_quietly() {
    // `buffdb stream get /big | head -c 10`: the pipe closes under a 4 MiB write.
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let s = &dir.path().join("cli.db");
    let data: Vec<u8> = (0..4u32 << 20).map(|i| (i % 251) as u8).collect();
    assert!(buffdb(s, &["stream", "put", "/big", "-"], Some(&data)).status.success());
    let mut child = Command::new(env!("CARGO_BIN_EXE_buffdb"))
        .arg("--store")
        .arg(s)
        .args(["stream", "get", "/big"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 10];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap(); // then dropped: the pipe closes
    assert_eq!(head[..], data[..10]);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert!(buffdb(s, &["stream", "get", "/big"], None).stdout == data, "the store is unchanged");
}

/// A process killed while it creates a new database (its first commit half on disk,
/// a hot journal beside it) leaves a file the next command opens and uses: SQLite rolls
/// the journal back to an empty file, which is then made as a new one. Before, that
/// first open failed NOT_A_DATABASE (1 kill in ~30 at these delays) and only the
/// one after it worked.
#[test]
fn a_database_whose_creator_was_killed_opens_at_once() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..200u64 {
        let s = &dir.path().join(format!("k{i}.db"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_buffdb"))
            .arg("--store")
            .arg(s)
            .args(["kv", "set", "a", "b"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kills spread over the first 10 ms of the process, where the file is made.
        std::thread::sleep(std::time::Duration::from_micros(i * 7_919 % 10_000));
        child.kill().unwrap();
        child.wait().unwrap();
        let out = buffdb(s, &["kv", "set", "c", "d"], None);
        assert!(out.status.success(), "kill {i}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(ok(s, &["kv", "get", "c"]), "d\n", "kill {i}");
    }
}
