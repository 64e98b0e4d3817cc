//! What a transaction can do beyond the shared cases: lazy iterators, readers and
//! stream writers opened inside it (its view; `CLOSED` once it ends), calls back into
//! it from a `scan_each` callback, failed calls that leave nothing behind, and code
//! written once for both `Db` and `Txn` through the `Ops` trait.

mod common;

use std::io::{Read, Write};

use buffdb::{Db, ErrorCode, OpenOptions, Ops, Txn, Value};
use common::{code, pattern, temp};

fn small_chunks(path: &std::path::Path) -> Db {
    Db::open(path, OpenOptions { chunk_size: 4096, ..OpenOptions::default() }).unwrap()
}

/// Written once, run on a database and in a transaction.
fn fill<S: Ops>(s: &S, tag: &str) -> (u64, buffdb::StreamInfo) {
    s.put_many(&(0..200).map(|i| (format!("k:{i:04}"), format!("{tag}{i}"))).collect::<Vec<_>>()).unwrap();
    let id = s.blob_put(&pattern(20_000, 1), Some(tag)).unwrap();
    let info = s.stream_write(&format!("/{tag}/doc"), &pattern(30_000, 2)).unwrap();
    (id, info)
}

#[test]
fn the_same_code_runs_on_a_db_and_in_a_txn() {
    let (_d, path) = temp();
    let db = small_chunks(&path);
    let (db_blob, db_info) = fill(&db, "db");
    let tx = db.begin().unwrap();
    let (tx_blob, tx_info) = fill(&tx, "tx");
    assert_eq!(tx_blob, db_blob + 1);
    assert_eq!((db_info.version, tx_info.version), (1, 1));
    // The transaction sees its writes; the database does not, until commit.
    assert_eq!(tx.get(b"k:0007").unwrap().as_deref(), Some(&b"tx7"[..]));
    assert_eq!(db.get(b"k:0007").unwrap().as_deref(), Some(&b"db7"[..]));
    assert_eq!(db.blob_get(tx_blob).unwrap(), None);
    assert_eq!(tx.search_count("/").unwrap(), 2);
    assert_eq!(db.search_count("/").unwrap(), 1);
    let q = tx.query("SELECT count(*) FROM kv WHERE value_text LIKE 'tx%'", &[]).unwrap();
    assert_eq!(q.rows, vec![vec![Value::Integer(200)]]);
    let q = db.query("SELECT count(*) FROM kv WHERE value_text LIKE 'tx%'", &[]).unwrap();
    assert_eq!(q.rows, vec![vec![Value::Integer(0)]]);
    tx.commit().unwrap();
    assert_eq!(db.get(b"k:0007").unwrap().as_deref(), Some(&b"tx7"[..]));
    assert_eq!(db.blob_metadata(tx_blob).unwrap().as_deref(), Some("tx"));
    assert_eq!(
        db.search("/", None, None).unwrap().collect::<buffdb::Result<Vec<_>>>().unwrap(),
        ["/db/doc", "/tx/doc"]
    );
}

#[test]
fn lazy_iterators_read_the_transaction_and_fail_closed_after_it() {
    for commit in [true, false] {
        let (_d, path) = temp();
        let db = small_chunks(&path);
        db.put(b"k:old", b"committed").unwrap();
        let tx = db.begin().unwrap();
        for i in 0..300 {
            tx.put(format!("k:{i:04}").as_bytes(), b"new").unwrap();
            tx.stream_write(&format!("/p/{i:04}"), b"x").unwrap();
        }
        tx.delete(b"k:old").unwrap();
        let mut scan = tx.scan(b"k:", None, None).unwrap();
        let mut keys = tx.keys(b"k:", None, None).unwrap();
        let mut paths = tx.search("/p/", None, None).unwrap();
        assert_eq!(scan.next().unwrap().unwrap(), (b"k:0000".to_vec(), b"new".to_vec()));
        assert_eq!(keys.next().unwrap().unwrap(), b"k:0000".to_vec());
        assert_eq!(paths.next().unwrap().unwrap(), "/p/0000");
        // A whole lazy walk in the transaction: every row it wrote, not the deleted one.
        let all: Vec<_> = tx.keys(b"k:", None, None).unwrap().collect::<buffdb::Result<_>>().unwrap();
        assert_eq!(all.len(), 300);
        let mut pages = tx.scan(b"k:", None, Some(250)).unwrap();
        let mut n = 0;
        while let Some(p) = pages.next_page() {
            n += p.unwrap().len();
        }
        assert_eq!(n, 250);
        if commit {
            tx.commit().unwrap();
        } else {
            tx.rollback().unwrap();
        }
        // Opened in the transaction: they end with it, CLOSED, then nothing more.
        assert_eq!(code(scan.next().unwrap()), ErrorCode::Closed);
        assert!(scan.next().is_none());
        assert_eq!(code(keys.next().unwrap()), ErrorCode::Closed);
        assert_eq!(code(paths.next().unwrap()), ErrorCode::Closed);
        // Committed: the 300 new keys (k:old deleted); rolled back: only k:old.
        assert_eq!(db.keys(b"k:", None, None).unwrap().count(), if commit { 300 } else { 1 });
        assert_eq!(db.search("/p/", None, None).unwrap().count(), if commit { 300 } else { 0 });
        assert_eq!(db.contains(b"k:old").unwrap(), !commit);
    }
}

#[test]
fn readers_read_the_transaction_and_fail_closed_after_it() {
    for commit in [true, false] {
        let (_d, path) = temp();
        let db = small_chunks(&path);
        let old = pattern(50_000, 3);
        db.stream_write("/s", &old).unwrap();
        let tx = db.begin().unwrap();
        let new = pattern(100_000, 4);
        let blob_data = pattern(70_000, 5);
        tx.stream_write("/s", &new).unwrap();
        let id = tx.blob_put(&blob_data, None).unwrap();
        // The transaction's version, chunk by chunk (the reader fetches chunk rows lazily).
        let mut r = tx.stream_open("/s", None).unwrap();
        assert_eq!(r.info().unwrap().version, 2);
        let mut head = vec![0u8; 10_000];
        r.read_exact(&mut head).unwrap();
        assert_eq!(head, new[..10_000]);
        let mut old_r = tx.stream_open("/s", Some(1)).unwrap();
        let mut got = Vec::new();
        old_r.read_to_end(&mut got).unwrap();
        assert_eq!(got, old);
        let mut b = tx.blob_open(id).unwrap();
        let mut got = Vec::new();
        b.read_to_end(&mut got).unwrap();
        assert_eq!(got, blob_data);
        assert_eq!(tx.stream_read_range("/s", 99_990, 100).unwrap(), new[99_990..]);
        assert_eq!(tx.stream_versions("/s").unwrap().len(), 2);
        // The database reads the committed version meanwhile.
        assert_eq!(db.stream_read("/s").unwrap(), old);
        assert_eq!(code(db.blob_open(id)), ErrorCode::NotFound);
        if commit {
            tx.commit().unwrap();
        } else {
            tx.rollback().unwrap();
        }
        let mut rest = Vec::new();
        assert_eq!(r.read_to_end(&mut rest).unwrap_err().kind(), std::io::ErrorKind::Other);
        assert_eq!(code(r.read_to_vec(10)), ErrorCode::Closed);
        assert_eq!(code(b.seek_to(0)), ErrorCode::Closed);
        assert_eq!(db.stream_read("/s").unwrap(), if commit { new } else { old });
        assert_eq!(db.blob_get(id).unwrap(), commit.then_some(blob_data));
        assert!(db.check().unwrap().ok);
    }
}

#[test]
fn a_stream_writer_in_a_transaction_writes_inside_it() {
    for commit in [true, false] {
        let (_d, path) = temp();
        let db = small_chunks(&path);
        let tx = db.begin().unwrap();
        let data = pattern(200_000, 6);
        let mut w = tx.stream_writer("/w").unwrap();
        for part in data.chunks(7_000) {
            w.write_all(part).unwrap();
        }
        let info = w.commit().unwrap();
        assert_eq!((info.version, info.size), (1, data.len() as u64));
        tx.put(b"record", b"weights v1").unwrap();
        assert_eq!(tx.stream_read("/w").unwrap(), data);
        // Not visible outside before the transaction commits.
        assert_eq!(code(db.stream_stat("/w")), ErrorCode::NotFound);
        // A writer left unfinished leaves nothing behind.
        let mut unfinished = tx.stream_writer_with("/w", Some(true)).unwrap();
        unfinished.write_all(&pattern(50_000, 7)).unwrap();
        drop(unfinished);
        let chunks_in_txn = tx.stream_stat("/w").unwrap().chunk_count;
        if commit {
            tx.commit().unwrap();
            assert_eq!(db.stream_read("/w").unwrap(), data);
            assert_eq!(db.get(b"record").unwrap().as_deref(), Some(&b"weights v1"[..]));
            assert_eq!(db.stats().unwrap().chunk_count, chunks_in_txn);
        } else {
            tx.rollback().unwrap();
            assert_eq!(code(db.stream_stat("/w")), ErrorCode::NotFound);
            assert_eq!(db.get(b"record").unwrap(), None);
            assert_eq!(db.stats().unwrap().chunk_count, 0);
        }
        assert!(db.check().unwrap().ok);
    }
}

#[test]
fn a_stream_writer_fails_closed_once_its_transaction_ends() {
    let (_d, path) = temp();
    let db = small_chunks(&path);
    let tx = db.begin().unwrap();
    let mut w = tx.stream_writer("/late").unwrap();
    w.write_all(&pattern(5_000, 8)).unwrap();
    tx.commit().unwrap();
    assert_eq!(code(w.write(&pattern(40_000, 9))), ErrorCode::Closed);
    assert_eq!(code(w.commit()), ErrorCode::Closed);
    assert_eq!(code(db.stream_stat("/late")), ErrorCode::NotFound);
    // The writer's unfinished content was committed with the transaction; it is
    // collected, not left behind, once nothing pins it.
    db.stream_write("/other", b"x").unwrap();
    assert_eq!(db.stats().unwrap().chunk_count, 1);
    assert!(db.check().unwrap().ok);
}

#[test]
fn a_failed_call_in_a_transaction_leaves_nothing_and_the_transaction_goes_on() {
    struct Failing(usize);
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("source failed"));
            }
            self.0 -= 1;
            buf.fill(7);
            Ok(buf.len())
        }
    }
    let (_d, path) = temp();
    let db = small_chunks(&path);
    let tx = db.begin().unwrap();
    tx.put(b"kept", b"1").unwrap();
    // Several chunks are stored before the source fails: all of them go.
    assert!(tx.stream_write_from("/broken", Failing(5)).is_err());
    assert!(tx.blob_put_from(Failing(5), None).is_err());
    assert_eq!(code(tx.blob_update(99, Some(b"x"), None)), ErrorCode::NotFound);
    let bad_key = vec![0u8; buffdb::MAX_KEY_SIZE + 1];
    assert_eq!(code(tx.put_many(&[(b"a".to_vec(), b"1".to_vec()), (bad_key, b"2".to_vec())])), ErrorCode::TooLarge);
    assert_eq!(tx.get(b"a").unwrap(), None);
    assert_eq!(code(tx.stream_stat("/broken")), ErrorCode::NotFound);
    assert!(tx.is_open());
    tx.commit().unwrap();
    assert_eq!(db.get(b"kept").unwrap().as_deref(), Some(&b"1"[..]));
    let stats = db.stats().unwrap();
    assert_eq!((stats.chunk_count, stats.blob_count, stats.stream_count), (0, 0, 0));
    assert!(db.check().unwrap().ok);
}

#[test]
fn scan_each_may_call_back_into_its_transaction() {
    let (_d, path) = temp();
    let db = small_chunks(&path);
    let tx = db.begin().unwrap();
    tx.put_many(&[(b"n:1", b"a"), (b"n:2", b"b"), (b"n:3", b"c")]).unwrap();
    let mut seen = Vec::new();
    let n = tx
        .scan_each(b"n:", None, None, |k, v| {
            // A read and a write of the same transaction from inside the walk.
            seen.push(tx.get(k).unwrap().unwrap() == v);
            tx.put(&[b"copy:", k].concat(), v).unwrap();
            true
        })
        .unwrap();
    assert_eq!((n, seen), (3, vec![true, true, true]));
    assert_eq!(tx.count(b"copy:").unwrap(), 3);
    assert_eq!(tx.get_many(&[&b"copy:n:2"[..], b"zz"]).unwrap(), vec![Some(b"b".to_vec()), None]);
    assert!(tx.eq(&[&b"n:1"[..], b"copy:n:1"]).unwrap());
    assert!(tx.not_eq(&[b"n:1", b"n:2"]).unwrap());
    tx.rollback().unwrap();
    assert_eq!(db.count(b"").unwrap(), 0);
}

#[test]
fn blob_comparisons_ids_and_stream_ops_in_a_transaction() {
    let (_d, path) = temp();
    let db = small_chunks(&path);
    let first = db.blob_put(b"same", None).unwrap();
    let tx = db.begin().unwrap();
    let second = tx.blob_put(b"same", Some("m")).unwrap();
    let third = tx.blob_put(b"other", None).unwrap();
    assert!(tx.blob_eq(&[first, second]).unwrap());
    assert!(tx.blob_not_eq(&[first, third]).unwrap());
    assert_eq!(tx.blob_ids(None, None).unwrap(), vec![first, second, third]);
    assert_eq!(db.blob_ids(None, None).unwrap(), vec![first]);
    assert_eq!(tx.blob_info(second).unwrap().unwrap().size, 4);
    assert!(tx.blob_delete(first).unwrap());
    assert_eq!(db.blob_get(first).unwrap().as_deref(), Some(&b"same"[..]));
    tx.stream_write("/v", b"1").unwrap();
    tx.stream_write("/v", b"2").unwrap();
    assert!(tx.stream_exists("/v").unwrap());
    assert!(!db.stream_exists("/v").unwrap());
    assert!(tx.stream_delete("/v").unwrap());
    assert!(!tx.stream_exists("/v").unwrap());
    tx.commit().unwrap();
    assert_eq!(db.blob_ids(None, None).unwrap(), vec![second, third]);
    // Version numbers continue after a delete committed in a transaction.
    assert_eq!(db.stream_write("/v", b"3").unwrap().version, 3);
}

#[test]
fn a_transaction_moves_to_another_thread() {
    fn send<T: Send>(t: T) -> T {
        t
    }
    let (_d, path) = temp();
    let db = small_chunks(&path);
    let tx: Txn = send(db.begin().unwrap());
    let it = send(tx.scan(b"", None, None).unwrap());
    let done = std::thread::spawn(move || {
        tx.put(b"t", b"1").unwrap();
        drop(it);
        tx.commit()
    });
    done.join().unwrap().unwrap();
    assert_eq!(db.get(b"t").unwrap().as_deref(), Some(&b"1"[..]));
}

#[test]
fn query_in_a_transaction_is_contained_and_leaves_the_writer_as_it_was() {
    use buffdb::{CancelToken, QueryOptions};
    let (_d, path) = temp();
    let db = small_chunks(&path);
    let tx = db.begin().unwrap();
    tx.put_many(&(0..50).map(|i| (format!("q:{i:02}"), format!("{i}"))).collect::<Vec<_>>()).unwrap();
    let q = tx.query("SELECT count(*) FROM kv WHERE key_text LIKE 'q:%'", &[]).unwrap();
    assert_eq!(q.rows, vec![vec![Value::Integer(50)]]);
    // The limits and refusals hold on the transaction's connection too.
    let few = QueryOptions::new().max_rows(10);
    assert_eq!(code(tx.query_with("SELECT key FROM kv", &[], &few)), ErrorCode::TooLarge);
    let token = CancelToken::new();
    token.cancel();
    let cancelled = QueryOptions::new().cancel(token);
    assert_eq!(code(tx.query_with("SELECT 1", &[], &cancelled)), ErrorCode::Interrupted);
    assert_eq!(code(tx.query("SELECT * FROM bdb_kv", &[])), ErrorCode::InvalidArgument);
    assert_eq!(code(tx.query("DELETE FROM kv", &[])), ErrorCode::ReadOnly);
    // The engine's own writes and savepoints on that connection go on unhindered.
    tx.put(b"after", b"query").unwrap();
    tx.stream_write("/after", &pattern(20_000, 10)).unwrap();
    assert!(tx.blob_update(tx.blob_put(b"b", None).unwrap(), Some(b"c"), Some(Some("m"))).is_ok());
    tx.commit().unwrap();
    assert_eq!(db.count(b"q:").unwrap(), 50);
    db.put(b"later", b"1").unwrap();
    db.stream_write("/after", b"v2").unwrap();
    db.transaction(|t| t.stream_delete("/after")).unwrap();
    assert!(!db.stream_exists("/after").unwrap());
    assert!(db.check().unwrap().ok);
}
