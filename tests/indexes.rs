//! Secondary indexes: built over existing records, kept exact by every write path
//! (KV, blobs, streams, transactions), persisted and seen by other handles, checked
//! by `check`; bad input refused with nothing changed.

mod common;
use buffdb::{Db, ErrorCode, IndexEntry, JsonValue, OpenOptions, Record};
use common::*;
use serde_json::json;

fn keys(it: buffdb::Result<buffdb::FindIter>) -> Vec<String> {
    it.unwrap()
        .map(|e| match e.unwrap().record {
            Record::Key(k) => String::from_utf8(k).unwrap(),
            Record::Path(p) => p,
            Record::Blob(id) => format!("#{id}"),
        })
        .collect()
}

fn find(db: &Db, name: &str, v: JsonValue) -> Vec<String> {
    keys(db.find(name, &v))
}

fn range(db: &Db, name: &str, lo: Option<JsonValue>, hi: Option<JsonValue>, reverse: bool) -> Vec<String> {
    keys(db.find_range(name, lo.as_ref(), hi.as_ref(), reverse, None, None))
}

fn assert_checked(db: &Db) {
    let report = db.check().unwrap();
    assert!(report.ok, "{report:#?}");
}

fn users(db: &Db) {
    db.put(b"user:1", br#"{"email":"ada@x","age":36}"#).unwrap();
    db.put(b"user:2", br#"{"email":"bob@x","age":25}"#).unwrap();
    db.put(b"user:3", br#"{"email":"cy@x","age":36.5}"#).unwrap();
    db.put(b"user:4", b"not json").unwrap();
    db.put(b"user:5", br#"{"name":"no email","age":"old"}"#).unwrap();
    db.put(b"other:1", br#"{"email":"zed@x","age":1}"#).unwrap();
}

#[test]
fn a_kv_index_is_built_and_kept_exact_by_puts_and_deletes() {
    let (_d, path) = temp();
    let db = open(&path);
    users(&db);
    let info = db.create_index("by_email", "kv", "$.email", true, Some(b"user:")).unwrap();
    assert_eq!((info.entries, info.ready, info.unique), (3, true, true));
    assert_eq!(info.key_prefix.as_deref(), Some(&b"user:"[..]));
    db.create_index("by_age", "kv", "$.age", false, None).unwrap();

    assert_eq!(find(&db, "by_email", json!("bob@x")), ["user:2"]);
    assert_eq!(find(&db, "by_email", json!("zed@x")), Vec::<String>::new(), "outside the prefix");
    assert_eq!(find(&db, "by_age", json!(36)), ["user:1"]);
    // By JSON type, then value: numbers numerically (1 < 25 < 36 < 36.5), then strings.
    assert_eq!(range(&db, "by_age", None, None, false), ["other:1", "user:2", "user:1", "user:3", "user:5"]);
    assert_eq!(range(&db, "by_age", None, None, true), ["user:5", "user:3", "user:1", "user:2", "other:1"]);
    assert_eq!(range(&db, "by_age", Some(json!(25)), Some(json!(36.5)), false), ["user:2", "user:1", "user:3"]);
    assert_eq!(range(&db, "by_age", Some(json!(30)), None, false), ["user:1", "user:3", "user:5"]);
    assert_eq!(range(&db, "by_age", Some(json!("")), None, false), ["user:5"]);
    // Limits and paging after an entry, both ways.
    let page = keys(db.find_range("by_age", None, None, false, None, Some(2)));
    assert_eq!(page, ["other:1", "user:2"]);
    let last = IndexEntry { value: json!(25), record: Record::Key(b"user:2".to_vec()) };
    assert_eq!(keys(db.find_range("by_age", None, None, false, Some(&last), Some(2))), ["user:1", "user:3"]);
    assert_eq!(keys(db.find_range("by_age", None, None, true, Some(&last), None)), ["other:1"]);
    let entries: Vec<IndexEntry> = db.find_range("by_age", None, None, false, None, None).unwrap().map(Result::unwrap).collect();
    assert_eq!(entries[3], IndexEntry { value: json!(36.5), record: Record::Key(b"user:3".to_vec()) });

    // Updates move entries; deletes remove them; a value turned into non-JSON leaves.
    db.put(b"user:2", br#"{"email":"bobby@x","age":26}"#).unwrap();
    assert_eq!(find(&db, "by_email", json!("bob@x")), Vec::<String>::new());
    assert_eq!(find(&db, "by_email", json!("bobby@x")), ["user:2"]);
    db.put(b"user:4", br#"{"email":"dee@x","age":[1,2]}"#).unwrap();
    assert_eq!(find(&db, "by_email", json!("dee@x")), ["user:4"]);
    assert_eq!(range(&db, "by_age", None, None, false), ["other:1", "user:2", "user:1", "user:3", "user:5"], "arrays are not indexed");
    assert!(db.delete(b"user:1").unwrap());
    assert_eq!(find(&db, "by_age", json!(36)), Vec::<String>::new());
    db.put(b"user:3", b"\xff\xfe").unwrap();
    assert_eq!(find(&db, "by_email", json!("cy@x")), Vec::<String>::new());
    db.put_many(&[(&b"user:6"[..], &br#"{"email":"eve@x","age":40}"#[..]), (b"user:7", br#"{"email":"fay@x"}"#)]).unwrap();
    assert_eq!(find(&db, "by_email", json!("fay@x")), ["user:7"]);
    assert_eq!(find(&db, "by_age", json!(40)), ["user:6"]);
    assert_checked(&db);

    // Persisted, for another handle too.
    db.close().unwrap();
    let db = open(&path);
    let list = db.list_indexes().unwrap();
    assert_eq!(list.iter().map(|i| (i.name.as_str(), i.entries)).collect::<Vec<_>>(), [("by_age", 4), ("by_email", 4)]);
    assert_eq!(find(&db, "by_email", json!("eve@x")), ["user:6"]);
    assert!(db.drop_index("by_age").unwrap());
    assert!(!db.drop_index("by_age").unwrap());
    assert_eq!(code(db.find("by_age", &json!(1))), ErrorCode::NotFound);
    assert_checked(&db);
}

#[test]
fn unique_indexes_refuse_duplicates_and_the_write_changes_nothing() {
    let (_d, path) = temp();
    let db = open(&path);
    users(&db);
    db.create_index("by_email", "kv", "$.email", true, None).unwrap();
    assert_eq!(code(db.put(b"user:9", br#"{"email":"ada@x"}"#)), ErrorCode::Conflict);
    assert_eq!(db.get(b"user:9").unwrap(), None);
    // Re-putting a record with its own value is no conflict.
    db.put(b"user:1", br#"{"email":"ada@x","age":37}"#).unwrap();
    // A batch with one duplicate changes nothing at all.
    let batch = [(&b"user:10"[..], &br#"{"email":"new@x"}"#[..]), (b"user:11", br#"{"email":"bob@x"}"#)];
    assert_eq!(code(db.put_many(&batch)), ErrorCode::Conflict);
    assert_eq!(db.get(b"user:10").unwrap(), None);
    assert_eq!(find(&db, "by_email", json!("new@x")), Vec::<String>::new());
    // A key given twice in a batch: the later value wins, in the index too.
    db.put_many(&[(&b"user:12"[..], &br#"{"email":"one@x"}"#[..]), (b"user:12", br#"{"email":"two@x"}"#)]).unwrap();
    assert_eq!(find(&db, "by_email", json!("two@x")), ["user:12"]);
    assert_eq!(find(&db, "by_email", json!("one@x")), Vec::<String>::new());
    // Freed values can be taken.
    db.delete(b"user:2").unwrap();
    db.put(b"user:13", br#"{"email":"bob@x"}"#).unwrap();
    // Building a unique index over duplicates fails and leaves no index.
    db.put(b"dup:1", br#"{"n":1}"#).unwrap();
    db.put(b"dup:2", br#"{"n":1}"#).unwrap();
    let e = db.create_index("by_n", "kv", "$.n", true, None).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Conflict, "{e}");
    assert!(e.message().contains("by_n"), "{e}");
    assert_eq!(db.list_indexes().unwrap().len(), 1);
    db.create_index("by_n", "kv", "$.n", false, None).unwrap();
    assert_eq!(find(&db, "by_n", json!(1)), ["dup:1", "dup:2"]);
    assert_checked(&db);
}

/// What the indexes hold, for "nothing changed".
fn all_entries(db: &Db) -> Vec<(String, Vec<IndexEntry>)> {
    let names: Vec<String> = db.list_indexes().unwrap().into_iter().map(|i| i.name).collect();
    names.into_iter().map(|n| (n.clone(), db.find_range(&n, None, None, false, None, None).unwrap().map(Result::unwrap).collect())).collect()
}

#[test]
fn put_many_checks_a_unique_index_over_the_whole_batch() {
    let (_d, path) = temp();
    let db = open(&path);
    users(&db);
    db.create_index("by_email", "kv", "$.email", true, None).unwrap();
    db.create_index("by_age", "kv", "$.age", false, None).unwrap();
    let before = all_entries(&db);
    // Two records of one batch with one value nobody held: CONFLICT naming the index, nothing changed.
    let batch = [(&b"new:1"[..], &br#"{"email":"same@x","age":1}"#[..]), (b"new:2", br#"{"email":"same@x","age":2}"#)];
    let e = db.put_many(&batch).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Conflict, "{e}");
    assert!(e.message().contains("by_email") && e.message().contains("same@x"), "{e}");
    assert_eq!(db.get_many(&[&b"new:1"[..], b"new:2"]).unwrap(), vec![None::<Vec<u8>>, None]);
    assert_eq!(all_entries(&db), before);
    // The same in a transaction: the call changes nothing and the transaction goes on.
    let tx = db.begin().unwrap();
    tx.put(b"new:0", br#"{"email":"tx@x"}"#).unwrap();
    assert_eq!(code(tx.put_many(&batch)), ErrorCode::Conflict);
    assert_eq!(tx.get(b"new:1").unwrap(), None);
    assert_eq!(keys(tx.find("by_email", &json!("same@x"))), Vec::<String>::new());
    assert_eq!(keys(tx.find("by_email", &json!("tx@x"))), ["new:0"]);
    tx.rollback().unwrap();
    // Past one statement's group of entries, with the duplicate last.
    let mut many: Vec<(String, String)> = (0..300).map(|i| (format!("m:{i:03}"), format!(r#"{{"email":"m{i}@x","age":{i}}}"#))).collect();
    many.push(("m:999".into(), r#"{"email":"m7@x"}"#.into()));
    assert_eq!(code(db.put_many(&many)), ErrorCode::Conflict);
    assert_eq!(all_entries(&db), before);
    many.pop();
    db.put_many(&many).unwrap();
    assert_eq!(find(&db, "by_email", json!("m299@x")), ["m:299"]);
    assert_eq!(find(&db, "by_age", json!(150)), ["m:150"]);
    // A value handed from one record to another in one batch is no duplicate, whichever key comes first.
    db.put_many(&[(&b"user:2"[..], &br#"{"email":"ada@x"}"#[..]), (b"user:1", br#"{"email":"bob@x"}"#)]).unwrap();
    assert_eq!((find(&db, "by_email", json!("ada@x")), find(&db, "by_email", json!("bob@x"))), (vec!["user:2".to_string()], vec!["user:1".to_string()]));
    db.put_many(&[(&b"user:1"[..], &br#"{"email":"ada@x"}"#[..]), (b"user:2", br#"{"email":"bob@x"}"#)]).unwrap();
    assert_eq!((find(&db, "by_email", json!("ada@x")), find(&db, "by_email", json!("bob@x"))), (vec!["user:1".to_string()], vec!["user:2".to_string()]));
    // A key given twice: only its later value counts (the earlier one is held by user:1).
    db.put_many(&[(&b"user:3"[..], &br#"{"email":"ada@x"}"#[..]), (b"user:3", br#"{"email":"cy2@x"}"#)]).unwrap();
    assert_eq!(find(&db, "by_email", json!("cy2@x")), ["user:3"]);
    // Rewriting records with their own values, and with new ones, in one batch.
    let rewrite: Vec<(String, String)> =
        (0..300).map(|i| (format!("m:{i:03}"), format!(r#"{{"email":"m{i}@x","age":{}}}"#, if i % 2 == 0 { i } else { i + 1000 }))).collect();
    db.put_many(&rewrite).unwrap();
    assert_eq!(find(&db, "by_age", json!(1001)), ["m:001"]);
    assert_eq!(find(&db, "by_age", json!(1)), ["other:1"], "m:001 left age 1");
    assert_eq!(find(&db, "by_email", json!("m1@x")), ["m:001"]);
    assert_checked(&db);
}

#[test]
fn blob_and_stream_indexes_follow_metadata() {
    let (_d, path) = temp();
    let db = Db::open(&path, OpenOptions::default().chunk_size(4096).versions_to_keep(2)).unwrap();
    let a = db.blob_put(b"a", Some(r#"{"model":"resnet","v":"1.0"}"#)).unwrap();
    let b = db.blob_put(b"b", Some(r#"{"model":"bert"}"#)).unwrap();
    db.blob_put(b"c", None).unwrap();
    db.create_index("blob_model", "blob", "$.model", false, None).unwrap();
    assert_eq!(find(&db, "blob_model", json!("resnet")), [format!("#{a}")]);
    let c = db.blob_put(b"d", Some(r#"{"model":"resnet"}"#)).unwrap();
    assert_eq!(find(&db, "blob_model", json!("resnet")), [format!("#{a}"), format!("#{c}")]);
    db.blob_update(a, None, Some(Some(r#"{"model":"vit"}"#))).unwrap();
    db.blob_update(b, Some(b"new bytes"), None).unwrap(); // metadata unchanged
    assert_eq!(find(&db, "blob_model", json!("bert")), [format!("#{b}")]);
    assert_eq!(find(&db, "blob_model", json!("resnet")), [format!("#{c}")]);
    db.blob_delete(c).unwrap();
    assert_eq!(find(&db, "blob_model", json!("resnet")), Vec::<String>::new());
    assert_eq!(code(db.create_index("blob_bad", "blob", "$.model", false, Some(b"x"))), ErrorCode::InvalidArgument);

    db.stream_write_with_metadata("/assets/a.png", b"1", Some(r#"{"kind":"texture"}"#)).unwrap();
    db.stream_write_with_metadata("/docs/r.md", b"1", Some(r#"{"kind":"texture"}"#)).unwrap();
    db.create_index("asset_kind", "stream", "$.kind", false, Some(b"/assets/")).unwrap();
    assert_eq!(find(&db, "asset_kind", json!("texture")), ["/assets/a.png"]);
    // A new version without metadata takes the path out; set_metadata puts it back.
    db.stream_write("/assets/a.png", b"2").unwrap();
    assert_eq!(find(&db, "asset_kind", json!("texture")), Vec::<String>::new());
    db.stream_set_metadata("/assets/a.png", Some(r#"{"kind":"sound"}"#)).unwrap();
    assert_eq!(find(&db, "asset_kind", json!("sound")), ["/assets/a.png"]);
    let mut w = db.stream_writer("/assets/b.wav").unwrap();
    w.set_metadata(Some(r#"{"kind":"sound"}"#)).unwrap();
    w.write(&pattern(20_000, 1)).unwrap();
    w.commit().unwrap();
    assert_eq!(find(&db, "asset_kind", json!("sound")), ["/assets/a.png", "/assets/b.wav"]);
    // Pruning old versions leaves the newest's entry alone.
    db.stream_write_with_metadata("/assets/b.wav", b"3", Some(r#"{"kind":"sound"}"#)).unwrap();
    db.stream_write_with_metadata("/assets/b.wav", b"4", Some(r#"{"kind":"sound"}"#)).unwrap();
    assert_eq!(find(&db, "asset_kind", json!("sound")), ["/assets/a.png", "/assets/b.wav"]);
    db.stream_delete("/assets/a.png").unwrap();
    assert_eq!(find(&db, "asset_kind", json!("sound")), ["/assets/b.wav"]);
    let q = db.query("SELECT name, value, record FROM index_entries WHERE name = 'asset_kind'", &[]).unwrap();
    use buffdb::Value as V;
    assert_eq!(q.rows, [[V::Text("asset_kind".into()), V::Text("\"sound\"".into()), V::Text("/assets/b.wav".into())]]);
    let q = db.query("SELECT name, source, path, is_unique, ready, entries FROM indexes ORDER BY name", &[]).unwrap();
    assert_eq!(q.rows[0], [V::Text("asset_kind".into()), V::Text("stream".into()), V::Text("$.kind".into()), V::Integer(0), V::Integer(1), V::Integer(1)]);
    let q = db.query("SELECT record FROM index_entries WHERE name = 'blob_model' ORDER BY value", &[]).unwrap();
    assert_eq!(q.rows, [[V::Integer(b as i64)], [V::Integer(a as i64)]]);
    assert_checked(&db);
}

#[test]
fn transactions_keep_indexes_with_their_writes() {
    let (_d, path) = temp();
    let db = open(&path);
    users(&db);
    db.create_index("by_email", "kv", "$.email", true, None).unwrap();
    let tx = db.begin().unwrap();
    tx.put(b"user:9", br#"{"email":"new@x"}"#).unwrap();
    tx.delete(b"user:1").unwrap();
    assert_eq!(keys(tx.find("by_email", &json!("new@x"))), ["user:9"]);
    assert_eq!(find(&db, "by_email", json!("new@x")), Vec::<String>::new(), "not before commit");
    // A failed call inside the transaction leaves nothing and the transaction goes on.
    assert_eq!(code(tx.put(b"user:10", br#"{"email":"bob@x"}"#)), ErrorCode::Conflict);
    tx.create_index("by_age", "kv", "$.age", false, None).unwrap();
    assert_eq!(keys(tx.find("by_age", &json!(25))), ["user:2"]);
    tx.rollback().unwrap();
    assert_eq!(find(&db, "by_email", json!("new@x")), Vec::<String>::new());
    assert_eq!(find(&db, "by_email", json!("ada@x")), ["user:1"]);
    assert_eq!(code(db.find("by_age", &json!(25))), ErrorCode::NotFound);
    // The handle's cached definitions do not keep the rolled-back index.
    db.put(b"user:2", br#"{"email":"bob@x","age":99}"#).unwrap();
    assert_checked(&db);

    db.transaction(|tx| {
        tx.create_index("by_age", "kv", "$.age", false, None)?;
        tx.put(b"user:11", br#"{"email":"k@x","age":5}"#)?;
        tx.drop_index("by_email")?;
        Ok(())
    })
    .unwrap();
    assert_eq!(find(&db, "by_age", json!(5)), ["user:11"]);
    assert_eq!(db.list_indexes().unwrap().iter().map(|i| i.name.clone()).collect::<Vec<_>>(), ["by_age"]);
    db.put(b"user:12", br#"{"email":"k@x","age":5}"#).unwrap(); // by_email is gone: no conflict
    assert_checked(&db);
}

#[test]
fn other_handles_see_new_and_dropped_indexes_at_once() {
    let (_d, path) = temp();
    let a = open(&path);
    let b = open(&path); // its own cache of definitions, as another process has
    b.put(b"k1", br#"{"x":1}"#).unwrap(); // b has cached "no index"
    a.create_index("by_x", "kv", "$.x", true, None).unwrap();
    b.put(b"k2", br#"{"x":2}"#).unwrap();
    assert_eq!(find(&a, "by_x", json!(2)), ["k2"]);
    assert_eq!(code(b.put(b"k3", br#"{"x":1}"#)), ErrorCode::Conflict);
    b.blob_put(b"x", Some("{}")).unwrap(); // a commit of b's own between
    b.put(b"k4", br#"{"x":4}"#).unwrap();
    assert_eq!(find(&a, "by_x", json!(4)), ["k4"]);
    a.drop_index("by_x").unwrap();
    b.put(b"k5", br#"{"x":1}"#).unwrap(); // no index: no conflict
    a.create_index("by_x", "kv", "$.x", false, None).unwrap();
    assert_eq!(find(&b, "by_x", json!(1)), ["k1", "k5"]);
    assert_checked(&a);
}

#[test]
fn large_builds_go_in_batches_with_progress_while_others_write() {
    let (_d, path) = temp();
    let db = open(&path);
    let pairs: Vec<(String, String)> =
        (0..50_000).map(|i| (format!("r:{i:05}"), format!(r#"{{"n":{},"s":"v{}"}}"#, i % 100, i))).collect();
    db.put_many(&pairs).unwrap();
    let writer = {
        let db = db.clone();
        std::thread::spawn(move || {
            for i in 0..300 {
                db.put(format!("r:{:05}", (i * 37) % 60_000).as_bytes(), format!(r#"{{"n":{},"s":"w{i}"}}"#, 1000 + i).as_bytes())
                    .unwrap();
                if i % 3 == 0 {
                    db.delete(format!("r:{:05}", (i * 53) % 50_000).as_bytes()).unwrap();
                }
            }
        })
    };
    let mut calls = Vec::new();
    let info = db.create_index_with_progress("by_n", "kv", "$.n", false, None, &mut |p| calls.push(p)).unwrap();
    writer.join().unwrap();
    assert!(info.ready);
    assert!(calls.len() >= 5, "{} progress calls", calls.len());
    assert!(calls.windows(2).all(|w| w[0].done <= w[1].done));
    assert!(calls.last().unwrap().done >= 50_000 - 100);
    assert_checked(&db);
    let count = db.count(b"r:").unwrap() as usize;
    assert_eq!(db.find_range("by_n", None, None, false, None, None).unwrap().count(), count);
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let (_d, path) = temp();
    let db = open(&path);
    users(&db);
    db.create_index("by_email", "kv", "$.email", false, None).unwrap();
    let bad = [
        ("x", "table", "$.a", ErrorCode::InvalidArgument),
        ("x", "kv", "a", ErrorCode::InvalidArgument),
        ("x", "kv", "$.", ErrorCode::InvalidArgument),
        ("x", "kv", "$[*]", ErrorCode::InvalidArgument),
        ("by_email", "kv", "$.a", ErrorCode::Conflict),
        ("by_email", "kv", "$.email", ErrorCode::Conflict),
        ("", "kv", "$.a", ErrorCode::InvalidArgument),
        ("1abc", "kv", "$.a", ErrorCode::InvalidArgument),
        ("a-b", "kv", "$.a", ErrorCode::InvalidArgument),
        ("a b", "kv", "$.a", ErrorCode::InvalidArgument),
        ("name;drop", "kv", "$.a", ErrorCode::InvalidArgument),
    ];
    for (name, source, p, want) in bad {
        assert_eq!(code(db.create_index(name, source, p, false, None)), want, "{name} {source} {p}");
    }
    assert_eq!(code(db.create_index(&"n".repeat(129), "kv", "$.a", false, None)), ErrorCode::InvalidArgument);
    assert_eq!(code(db.find("nope", &json!(1))), ErrorCode::NotFound);
    assert_eq!(code(db.find("by_email", &json!([1]))), ErrorCode::InvalidArgument);
    assert_eq!(code(db.find("by_email", &json!({"a": 1}))), ErrorCode::InvalidArgument);
    let blob_entry = IndexEntry { value: json!(1), record: Record::Blob(1) };
    assert_eq!(code(db.find_range("by_email", None, None, false, Some(&blob_entry), None)), ErrorCode::InvalidArgument);
    assert_eq!(db.list_indexes().unwrap().len(), 1);
    assert_eq!(find(&db, "by_email", json!("ada@x")), ["user:1"]);
    assert_checked(&db);
    // A read-only handle finds but cannot create.
    db.close().unwrap();
    let ro = Db::open(&path, OpenOptions::default().read_only(true)).unwrap();
    assert_eq!(find(&ro, "by_email", json!("ada@x")), ["user:1"]);
    assert_eq!(code(ro.create_index("x", "kv", "$.a", false, None)), ErrorCode::ReadOnly);
}

#[test]
fn check_finds_entries_out_of_step_and_names_the_index() {
    let (_d, path) = temp();
    let db = open(&path);
    users(&db);
    db.create_index("by_email", "kv", "$.email", false, None).unwrap();
    db.close().unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("DELETE FROM bdb_index_entries WHERE record = CAST('user:1' AS BLOB)", []).unwrap();
    conn.execute("INSERT INTO bdb_index_entries VALUES (1, x'4061', CAST('user:2' AS BLOB))", []).unwrap();
    drop(conn);
    let db = open(&path);
    let report = db.check().unwrap();
    assert!(!report.ok);
    assert_eq!(report.index_problems.len(), 2, "{report:#?}");
    assert!(report.index_problems.iter().all(|l| l.contains("\"by_email\"")), "{report:#?}");
    assert!(report.index_problems.iter().any(|l| l.contains("user:1") && l.contains("missing")), "{report:#?}");
    assert!(report.index_problems.iter().any(|l| l.contains("user:2") && l.contains("does not match")), "{report:#?}");
}
