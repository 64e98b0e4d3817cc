//! Stream metadata: a version's metadata string, set when written (whole or through
//! a writer), read back, replaced on the newest version without rewriting the bytes,
//! shown by the `streams` view, kept by transactions as any write; and format 2
//! files (without it) migrated on a writable open, read as they are read-only.

mod common;
use buffdb::{Db, ErrorCode, OpenOptions, Value, MAX_METADATA_SIZE};
use common::*;

fn small() -> OpenOptions {
    OpenOptions::default().chunk_size(4096)
}

#[test]
fn metadata_is_written_read_and_replaced_on_the_newest_version() {
    let (_d, path) = temp();
    let db = Db::open(&path, small()).unwrap();
    let info = db.stream_write_with_metadata("/m/a", b"one", Some(r#"{"kind":"model"}"#)).unwrap();
    assert_eq!(info.metadata.as_deref(), Some(r#"{"kind":"model"}"#));
    assert_eq!(db.stream_stat("/m/a").unwrap().metadata.as_deref(), Some(r#"{"kind":"model"}"#));
    // A plain write has none.
    assert_eq!(db.stream_write("/m/a", b"two").unwrap().metadata, None);
    let versions = db.stream_versions("/m/a").unwrap();
    assert_eq!(
        versions.iter().map(|v| v.metadata.as_deref()).collect::<Vec<_>>(),
        [Some(r#"{"kind":"model"}"#), None]
    );
    // Replacing the newest version's metadata keeps its bytes and version.
    let set = db.stream_set_metadata("/m/a", Some("v2")).unwrap();
    assert_eq!((set.version, set.metadata.as_deref(), set.size), (2, Some("v2"), 3));
    assert_eq!(db.stream_read("/m/a").unwrap(), b"two");
    let versions = db.stream_versions("/m/a").unwrap();
    assert_eq!(versions.iter().map(|v| v.metadata.as_deref()).collect::<Vec<_>>(), [Some(r#"{"kind":"model"}"#), Some("v2")]);
    assert_eq!(db.stream_set_metadata("/m/a", None).unwrap().metadata, None);
    assert_eq!(db.stream_stat("/m/a").unwrap().metadata, None);
    // Empty metadata is metadata.
    db.stream_set_metadata("/m/a", Some("")).unwrap();
    assert_eq!(db.stream_stat("/m/a").unwrap().metadata.as_deref(), Some(""));

    // The `streams` view has it.
    let q = db.query("SELECT version, metadata FROM streams WHERE path = '/m/a' ORDER BY version", &[]).unwrap();
    assert_eq!(
        q.rows,
        [
            vec![Value::Integer(1), Value::Text(r#"{"kind":"model"}"#.into())],
            vec![Value::Integer(2), Value::Text(String::new())]
        ]
    );
    db.close().unwrap();
    let db = open(&path);
    assert_eq!(db.stream_stat("/m/a").unwrap().metadata.as_deref(), Some(""));
    let report = db.check().unwrap();
    assert!(report.ok, "{report:#?}");
}

#[test]
fn writers_and_large_writes_carry_metadata() {
    let (_d, path) = temp();
    let db = Db::open(&path, small()).unwrap();
    let mut w = db.stream_writer("/big").unwrap();
    w.write(&pattern(50_000, 1)).unwrap();
    w.set_metadata(Some("first")).unwrap();
    w.set_metadata(Some("second")).unwrap(); // the last one set counts
    assert_eq!(code(w.set_metadata(Some("a\0b"))), ErrorCode::InvalidArgument);
    let info = w.commit().unwrap();
    assert_eq!(info.metadata.as_deref(), Some("second"));
    assert_eq!(db.stream_stat("/big").unwrap().metadata.as_deref(), Some("second"));
    // A whole write larger than a writer batch goes through a writer: the metadata too.
    let data = pattern(100_000, 2);
    let info = db.stream_write_with_metadata("/big", &data, Some("whole")).unwrap();
    assert_eq!(info.metadata.as_deref(), Some("whole"));
    assert_eq!(db.stream_stat("/big").unwrap().metadata.as_deref(), Some("whole"));
    assert_eq!(db.stream_read("/big").unwrap(), data);
    // A writer aborted leaves the previous version and its metadata.
    let mut w = db.stream_writer("/big").unwrap();
    w.set_metadata(Some("never")).unwrap();
    w.write(b"x").unwrap();
    w.abort().unwrap();
    assert_eq!(db.stream_stat("/big").unwrap().metadata.as_deref(), Some("whole"));
}

#[test]
fn bad_metadata_is_refused_and_changes_nothing() {
    let (_d, path) = temp();
    let db = Db::open(&path, small()).unwrap();
    db.stream_write_with_metadata("/a", b"1", Some("keep")).unwrap();
    let too_big = "x".repeat(MAX_METADATA_SIZE + 1);
    assert_eq!(code(db.stream_write_with_metadata("/a", b"2", Some(&too_big))), ErrorCode::TooLarge);
    assert_eq!(code(db.stream_write_with_metadata("/a", b"2", Some("n\0ul"))), ErrorCode::InvalidArgument);
    assert_eq!(code(db.stream_set_metadata("/a", Some(&too_big))), ErrorCode::TooLarge);
    assert_eq!(code(db.stream_set_metadata("/a", Some("n\0ul"))), ErrorCode::InvalidArgument);
    assert_eq!(code(db.stream_set_metadata("/missing", Some("m"))), ErrorCode::NotFound);
    assert_eq!(code(db.stream_set_metadata("", Some("m"))), ErrorCode::InvalidArgument);
    let info = db.stream_stat("/a").unwrap();
    assert_eq!((info.version, info.metadata.as_deref()), (1, Some("keep")));
    assert!(!db.stream_exists("/missing").unwrap());
    // The largest allowed is accepted.
    let max = "y".repeat(MAX_METADATA_SIZE);
    assert_eq!(db.stream_set_metadata("/a", Some(&max)).unwrap().metadata.unwrap().len(), MAX_METADATA_SIZE);
}

#[test]
fn transactions_commit_and_roll_back_metadata() {
    let (_d, path) = temp();
    let db = Db::open(&path, small()).unwrap();
    db.stream_write_with_metadata("/t", b"1", Some("before")).unwrap();
    let tx = db.begin().unwrap();
    tx.stream_set_metadata("/t", Some("inside")).unwrap();
    assert_eq!(tx.stream_stat("/t").unwrap().metadata.as_deref(), Some("inside"));
    assert_eq!(db.stream_stat("/t").unwrap().metadata.as_deref(), Some("before"));
    tx.stream_write_with_metadata("/u", b"2", Some("new")).unwrap();
    tx.rollback().unwrap();
    assert_eq!(db.stream_stat("/t").unwrap().metadata.as_deref(), Some("before"));
    assert!(!db.stream_exists("/u").unwrap());
    let tx = db.begin().unwrap();
    tx.stream_set_metadata("/t", Some("inside")).unwrap();
    let mut w = tx.stream_writer("/w").unwrap();
    w.set_metadata(Some("writer in txn")).unwrap();
    w.write(b"abc").unwrap();
    w.commit().unwrap();
    tx.commit().unwrap();
    assert_eq!(db.stream_stat("/t").unwrap().metadata.as_deref(), Some("inside"));
    assert_eq!(db.stream_stat("/w").unwrap().metadata.as_deref(), Some("writer in txn"));
}

#[test]
fn damaged_metadata_is_corrupt() {
    let (_d, path) = temp();
    let db = Db::open(&path, small()).unwrap();
    db.stream_write_with_metadata("/d", b"1", Some("good")).unwrap();
    db.close().unwrap();
    rusqlite::Connection::open(&path).unwrap().execute("UPDATE bdb_versions SET metadata = 'evil'", []).unwrap();
    let db = open(&path);
    assert_eq!(code(db.stream_stat("/d")), ErrorCode::Corrupt);
    let report = db.check().unwrap();
    assert!(!report.ok);
    assert!(report.damaged_records.iter().any(|l| l.contains("stream '/d' version 1")), "{report:#?}");
}

#[test]
fn format_2_files_migrate_on_a_writable_open_and_read_as_they_are_read_only() {
    let (_d, path) = temp();
    {
        let db = Db::open(&path, small()).unwrap();
        db.put(b"k", b"v").unwrap();
        db.blob_put(b"blob", Some("bm")).unwrap();
        db.stream_write("/s", b"old").unwrap();
        db.stream_write("/s", &pattern(20_000, 3)).unwrap();
        db.stream_write("/damaged", b"d").unwrap();
        db.close().unwrap();
    }
    downgrade_to_format_2(&path);
    // A damaged version row in the old file: it stays damaged after migration.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("UPDATE bdb_versions SET created_ms = created_ms + 1 WHERE path = CAST('/damaged' AS BLOB)", [])
        .unwrap();
    let before = std::fs::read(&path).unwrap();

    let read_back = |db: &Db| {
        assert_eq!(db.get(b"k").unwrap().unwrap(), b"v");
        assert_eq!(db.blob_metadata(1).unwrap().as_deref(), Some("bm"));
        let info = db.stream_versions("/s").unwrap()[0].clone();
        assert_eq!((info.version, info.metadata), (1, None));
        assert_eq!(db.stream_read("/s").unwrap(), pattern(20_000, 3));
        assert_eq!(db.stream_versions("/s").unwrap().len(), 2);
        assert_eq!(code(db.stream_stat("/damaged")), ErrorCode::Corrupt);
        let q = db.query("SELECT path, version, metadata FROM streams WHERE path = '/s' ORDER BY version", &[]);
        assert_eq!(q.unwrap().rows.len(), 2);
        assert_eq!(db.query("SELECT count(*) FROM indexes", &[]).unwrap().rows, [[Value::Integer(0)]]);
        let report = db.check().unwrap();
        assert!(!report.ok);
        assert_eq!(report.damaged_records.len(), 1, "{report:#?}");
        assert!(report.damaged_records[0].contains("'/damaged'"), "{report:#?}");
    };
    let ro = Db::open(&path, OpenOptions::default().read_only(true)).unwrap();
    assert_eq!(ro.stats().unwrap().format_version, 2);
    read_back(&ro);
    ro.close().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), before, "a read-only handle changed the file");

    let db = open(&path);
    assert_eq!(db.stats().unwrap().format_version, buffdb::FORMAT_VERSION as u32);
    read_back(&db);
    db.stream_set_metadata("/s", Some("now")).unwrap();
    assert_eq!(db.stream_write_with_metadata("/s", b"new", Some("m")).unwrap().version, 3);
    // Still exactly one damaged record: the one damaged before.
    let report = db.check().unwrap();
    assert_eq!(report.problems.len(), 1, "{report:#?}");
    assert!(report.damaged_records[0].contains("'/damaged'"), "{report:#?}");
    db.close().unwrap();
    let db = open(&path);
    assert_eq!(db.stream_versions("/s").unwrap().iter().map(|v| v.metadata.clone()).collect::<Vec<_>>(), [
        Some("now".to_string()),
        Some("m".to_string())
    ]);
}
