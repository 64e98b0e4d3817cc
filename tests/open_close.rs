//! Opening, closing, reopening, options and files that are not BuffDB.

mod common;
use buffdb::{Db, Durability, ErrorCode, OpenOptions};
use common::*;

#[test]
fn reopen_keeps_everything() {
    let (_d, path) = temp();
    let db = open(&path);
    db.put(b"k", b"v").unwrap();
    let id = db.blob_put(b"blob", Some("m")).unwrap();
    db.stream_write("/s", b"stream").unwrap();
    db.stream_write("/s", b"stream2").unwrap();
    db.close().unwrap();
    let db = open(&path);
    assert_eq!(db.get(b"k").unwrap().unwrap(), b"v");
    assert_eq!(db.blob_get(id).unwrap().unwrap(), b"blob");
    assert_eq!(db.blob_metadata(id).unwrap().as_deref(), Some("m"));
    assert_eq!(db.stream_read("/s").unwrap(), b"stream2");
    assert_eq!(db.stream_versions("/s").unwrap().len(), 2);
    assert_eq!(db.search("/", None, None).unwrap().count(), 1);
    assert_eq!(db.stats().unwrap().format_version, buffdb::FORMAT_VERSION as u32);
}

#[test]
fn close_is_idempotent_and_use_after_close_is_closed() {
    let (_d, path) = temp();
    let db = open(&path);
    db.put(b"k", b"v").unwrap();
    let clone = db.clone();
    let mut reader = {
        db.stream_write("/s", b"abc").unwrap();
        db.stream_open("/s", None).unwrap()
    };
    let scan = db.scan(b"", None, None).unwrap();
    db.close().unwrap();
    db.close().unwrap();
    assert!(clone.is_closed());
    assert_eq!(code(clone.get(b"k")), ErrorCode::Closed);
    assert_eq!(code(db.put(b"k", b"v")), ErrorCode::Closed);
    assert_eq!(code(db.blob_put(b"x", None)), ErrorCode::Closed);
    assert_eq!(code(db.stream_write("/s", b"x")), ErrorCode::Closed);
    assert_eq!(code(db.stream_read("/s")), ErrorCode::Closed);
    assert_eq!(code(db.search("/", None, None)), ErrorCode::Closed);
    assert_eq!(code(db.begin()), ErrorCode::Closed);
    assert_eq!(code(db.query("SELECT 1", &[])), ErrorCode::Closed);
    assert_eq!(code(reader.read_to_vec(3)), ErrorCode::Closed);
    let rows: Vec<_> = scan.collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].as_ref().unwrap_err().code(), ErrorCode::Closed);
    // The file is released: it opens again.
    assert_eq!(open(&path).get(b"k").unwrap().unwrap(), b"v");
}

#[test]
fn foreign_files_are_refused_and_untouched() {
    let (dir, _) = temp();
    let mut cases: Vec<(std::path::PathBuf, Vec<u8>)> = Vec::new();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, b"just some text, certainly not a database\n".repeat(10)).unwrap();
    cases.push((text.clone(), std::fs::read(&text).unwrap()));
    let garbage = dir.path().join("garbage.bin");
    std::fs::write(&garbage, pattern(10000, 3)).unwrap();
    cases.push((garbage.clone(), std::fs::read(&garbage).unwrap()));
    let short = dir.path().join("short.bin");
    std::fs::write(&short, b"SQLite format 3\0").unwrap();
    cases.push((short.clone(), std::fs::read(&short).unwrap()));
    let other = dir.path().join("other.sqlite");
    rusqlite_free_sqlite(&other);
    cases.push((other.clone(), std::fs::read(&other).unwrap()));
    for (path, before) in cases {
        for opts in [OpenOptions::default(), OpenOptions::default().read_only(true)] {
            let e = Db::open(&path, opts).unwrap_err();
            assert_eq!(e.code(), ErrorCode::NotADatabase, "{}: {e}", path.display());
            assert!(e.message().contains("not a BuffDB database"), "{e}");
        }
        assert_eq!(std::fs::read(&path).unwrap(), before, "{} was changed", path.display());
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        assert!(!dir.path().join(format!("{name}-wal")).exists());
    }
}

/// Another application's SQLite file (an empty database, application_id 0).
fn rusqlite_free_sqlite(path: &std::path::Path) {
    // A minimal valid SQLite database: the 100-byte header of an empty database
    // with one 4096-byte page, application_id 0.
    let mut page = vec![0u8; 4096];
    page[..16].copy_from_slice(b"SQLite format 3\0");
    page[16..18].copy_from_slice(&4096u16.to_be_bytes());
    page[18] = 1;
    page[19] = 1;
    page[21] = 64;
    page[22] = 32;
    page[23] = 32;
    page[28..32].copy_from_slice(&1u32.to_be_bytes());
    page[44..48].copy_from_slice(&4u32.to_be_bytes());
    page[56..60].copy_from_slice(&1u32.to_be_bytes());
    page[96..100].copy_from_slice(&3045000u32.to_be_bytes());
    page[100] = 13; // empty leaf table page
    page[105..107].copy_from_slice(&4096u16.to_be_bytes());
    std::fs::write(path, page).unwrap();
}

#[test]
fn missing_file_without_create_and_read_only() {
    let (dir, path) = temp();
    assert_eq!(code(Db::open(&path, OpenOptions::default().create(false))), ErrorCode::NotFound);
    assert_eq!(code(Db::open(&path, OpenOptions::default().read_only(true))), ErrorCode::NotFound);
    assert!(!path.exists());
    let db = open(&path);
    db.put(b"k", b"v").unwrap();
    db.stream_write("/a", b"x").unwrap();
    db.close().unwrap();
    let ro = Db::open(&path, OpenOptions::default().read_only(true)).unwrap();
    assert_eq!(ro.get(b"k").unwrap().unwrap(), b"v");
    assert_eq!(ro.stream_read("/a").unwrap(), b"x");
    assert_eq!(code(ro.put(b"k", b"w")), ErrorCode::ReadOnly);
    assert_eq!(code(ro.delete(b"k")), ErrorCode::ReadOnly);
    assert_eq!(code(ro.blob_put(b"x", None)), ErrorCode::ReadOnly);
    assert_eq!(code(ro.stream_write("/a", b"y")), ErrorCode::ReadOnly);
    assert_eq!(code(ro.stream_writer("/a")), ErrorCode::ReadOnly);
    assert_eq!(code(ro.begin()), ErrorCode::ReadOnly);
    assert_eq!(ro.get(b"k").unwrap().unwrap(), b"v");
    drop(dir);
}

#[test]
fn options_are_validated() {
    let (_d, path) = temp();
    for o in [
        OpenOptions::default().chunk_size(100),
        OpenOptions::default().chunk_size(1 << 30),
        OpenOptions::default().versions_to_keep(0),
        OpenOptions::default().max_document_size(0),
        OpenOptions::default().page_size(1000),
        OpenOptions::default().page_size(131072),
    ] {
        assert_eq!(code(Db::open(&path, o)), ErrorCode::InvalidArgument);
    }
    assert!(!path.exists());
    assert_eq!(code("fast".parse::<Durability>()), ErrorCode::InvalidArgument);
    for d in ["full", "normal", "none"] {
        let db = Db::open(&path, OpenOptions::default().durability(d.parse().unwrap())).unwrap();
        db.put(d.as_bytes(), b"1").unwrap();
        db.close().unwrap();
    }
    assert_eq!(open(&path).count(b"").unwrap(), 3);
    assert_eq!(open(&path).stats().unwrap().page_size, 16384);
    let (_d2, big) = temp();
    let db = Db::open(&big, OpenOptions::default().page_size(65536)).unwrap();
    db.stream_write("/s", &pattern(200_000, 2)).unwrap();
    db.close().unwrap();
    // The page size is the file's: reopening with another keeps it.
    let db = Db::open(&big, OpenOptions::default().page_size(4096)).unwrap();
    assert_eq!(db.stats().unwrap().page_size, 65536);
    assert_eq!(db.stream_read("/s").unwrap(), pattern(200_000, 2));
}

#[test]
fn memory_databases_are_private() {
    let a = Db::open(":memory:", OpenOptions::default()).unwrap();
    let b = Db::open(":memory:", OpenOptions::default()).unwrap();
    a.put(b"k", b"a").unwrap();
    assert_eq!(b.get(b"k").unwrap(), None);
    a.stream_write("/x", &pattern(3 << 20, 1)).unwrap();
    assert_eq!(a.stream_read("/x").unwrap(), pattern(3 << 20, 1));
    let tx = a.begin().unwrap();
    tx.put(b"k", b"tx").unwrap();
    // Reads through the handle do not wait for the transaction.
    assert_eq!(a.get(b"k").unwrap().unwrap(), b"a");
    tx.commit().unwrap();
    assert_eq!(a.get(b"k").unwrap().unwrap(), b"tx");
}

#[test]
fn max_document_size_is_enforced() {
    let (_d, path) = temp();
    let db = Db::open(&path, OpenOptions::default().max_document_size(10_000).chunk_size(4096)).unwrap();
    db.stream_write("/ok", &[1u8; 10_000]).unwrap();
    assert_eq!(code(db.stream_write("/big", &[1u8; 10_001])), ErrorCode::TooLarge);
    assert_eq!(code(db.blob_put(&[1u8; 10_001], None)), ErrorCode::TooLarge);
    let mut w = db.stream_writer("/big").unwrap();
    w.write(&[1u8; 9000]).unwrap();
    assert_eq!(code(w.write(&[1u8; 2000])), ErrorCode::TooLarge);
    w.abort().unwrap();
    assert!(!db.stream_exists("/big").unwrap());
    assert_eq!(db.stats().unwrap().stream_count, 1);
}

#[test]
fn put_many_large_batches_last_duplicate_wins() {
    let (_d, path) = temp();
    let db = open(&path);
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> =
        (0..1000u32).map(|i| (format!("k{:05}", (i * 7919) % 1000).into_bytes(), i.to_le_bytes().to_vec())).collect();
    pairs.push((b"k00003".to_vec(), b"last".to_vec()));
    db.put_many(&pairs).unwrap();
    assert_eq!(db.count(b"k").unwrap(), 1000);
    assert_eq!(db.get(b"k00003").unwrap().unwrap(), b"last");
    let first = &pairs[1];
    assert_eq!(db.get(&first.0).unwrap().unwrap(), first.1);
    let keys: Vec<Vec<u8>> = db.keys(b"k", None, None).unwrap().map(|k| k.unwrap()).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
    // One bad pair and nothing of the batch is written.
    let bad = vec![(b"new1".to_vec(), b"v".to_vec()), (Vec::new(), b"v".to_vec())];
    assert_eq!(code(db.put_many(&bad)), ErrorCode::InvalidArgument);
    assert_eq!(db.get(b"new1").unwrap(), None);
    db.close().unwrap();
    // And from a cold handle (no cache).
    let db = open(&path);
    assert_eq!(db.get(b"k00003").unwrap().unwrap(), b"last");
}
