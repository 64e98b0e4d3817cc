//! `buffdb index create|drop|list`, `buffdb find` and stream metadata on the command line.

mod common;
use common::{exit, ok};

#[test]
fn indexes_and_find() {
    let dir = tempfile::tempdir().unwrap();
    let s = &dir.path().join("cli.db");
    ok(s, &["kv", "set", "user:1", r#"{"email":"ada@x","age":36}"#]);
    ok(s, &["kv", "set", "user:2", r#"{"email":"bob@x","age":25}"#]);
    ok(s, &["kv", "set", "user:3", r#"{"email":"cy@x","age":41}"#]);
    ok(s, &["kv", "set", "note", "plain text"]);
    assert_eq!(ok(s, &["index", "create", "by_email", "kv", "$.email", "--unique", "--prefix", "user:"]), "by_email: 3 entries\n");
    assert_eq!(ok(s, &["index", "create", "by_age", "kv", "$.age"]), "by_age: 3 entries\n");
    assert_eq!(
        ok(s, &["index", "list"]),
        "by_age\tkv\t$.age\t-\t-\t3\tready\nby_email\tkv\t$.email\tunique\tuser:\t3\tready\n"
    );
    // A value that is not JSON is a string.
    assert_eq!(ok(s, &["find", "by_email", "bob@x"]), "\"bob@x\"\tuser:2\n");
    assert_eq!(ok(s, &["find", "by_email", "\"bob@x\""]), "\"bob@x\"\tuser:2\n");
    assert_eq!(ok(s, &["find", "by_age", "36"]), "36\tuser:1\n");
    assert_eq!(ok(s, &["find", "by_age", "--from", "30", "--to", "50"]), "36\tuser:1\n41\tuser:3\n");
    assert_eq!(ok(s, &["find", "by_age", "--from", "0", "--reverse", "--limit", "2"]), "41\tuser:3\n36\tuser:1\n");
    assert_eq!(ok(s, &["find", "by_age", "99"]), "");
    // A unique conflict: exit 3 (CONFLICT), nothing written.
    assert_eq!(exit(s, &["kv", "set", "user:9", r#"{"email":"ada@x"}"#]), 3);
    assert_eq!(exit(s, &["kv", "get", "user:9"]), 1);
    // Bad input: usage errors (exit 2).
    assert_eq!(exit(s, &["index", "create", "x", "table", "$.a"]), 2);
    assert_eq!(exit(s, &["index", "create", "x", "kv", "a.b"]), 2);
    assert_eq!(exit(s, &["index", "create", "bad-name", "kv", "$.a"]), 2);
    assert_eq!(exit(s, &["index", "create", "by_age", "kv", "$.a"]), 3);
    assert_eq!(exit(s, &["find", "nope", "1"]), 1);
    assert_eq!(ok(s, &["query", "SELECT name, entries FROM indexes ORDER BY name"]).lines().count(), 3);
    assert!(ok(s, &["check"]).ends_with("ok\n"));
    assert_eq!(exit(s, &["index", "drop", "by_age"]), 0);
    assert_eq!(exit(s, &["index", "drop", "by_age"]), 1);
    assert_eq!(ok(s, &["index", "list"]).lines().count(), 1);
}

#[test]
fn stream_metadata_on_put_and_stat() {
    let dir = tempfile::tempdir().unwrap();
    let s = &dir.path().join("cli.db");
    let file = dir.path().join("doc.txt");
    std::fs::write(&file, b"hello").unwrap();
    let put = ok(s, &["stream", "put", "/docs/a", file.to_str().unwrap(), "--metadata", r#"{"kind":"doc"}"#]);
    assert!(put.contains("metadata: {\"kind\":\"doc\"}\n"), "{put}");
    let stat = ok(s, &["stream", "stat", "/docs/a"]);
    assert!(stat.contains("version: 1\n") && stat.ends_with("metadata: {\"kind\":\"doc\"}\n"), "{stat}");
    ok(s, &["stream", "put", "/docs/a", file.to_str().unwrap()]);
    assert!(!ok(s, &["stream", "stat", "/docs/a"]).contains("metadata:"));
    ok(s, &["index", "create", "kinds", "stream", "$.kind"]);
    ok(s, &["stream", "put", "/docs/b", file.to_str().unwrap(), "--metadata", r#"{"kind":"doc"}"#]);
    assert_eq!(ok(s, &["find", "kinds", "doc"]), "\"doc\"\t/docs/b\n");
}
