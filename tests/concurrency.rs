//! Threads, transactions and the single writer.

mod common;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use buffdb::{Db, ErrorCode, OpenOptions};
use common::*;

/// One writer moves value between two keys in transactions while readers check
/// that the total never changes and streams are never read half-written.
#[test]
fn readers_with_a_writer_keep_invariants() {
    let (_d, path) = temp();
    let db = Db::open(&path, OpenOptions::default().chunk_size(4096)).unwrap();
    db.put_many(&[(b"acct:a", b"1000"), (b"acct:b", b"0000")]).unwrap();
    db.stream_write("/doc", &[0u8; 10_000]).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let writer = {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                db.transaction(|tx| {
                    let a: u64 = String::from_utf8(tx.get(b"acct:a")?.unwrap()).unwrap().parse().unwrap();
                    let b: u64 = String::from_utf8(tx.get(b"acct:b")?.unwrap()).unwrap().parse().unwrap();
                    let amount = if a > 0 { 1 } else { 0 };
                    tx.put(b"acct:a", format!("{:04}", a - amount).as_bytes())?;
                    tx.put(b"acct:b", format!("{:04}", b + amount).as_bytes())?;
                    Ok(())
                })
                .unwrap();
                // Every version of /doc is one byte value repeated.
                db.stream_write("/doc", &[(i % 251) as u8; 10_000]).unwrap();
            }
            i
        })
    };
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (db, stop, reads) = (db.clone(), stop.clone(), reads.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let vals = db.get_many(&[b"acct:a", b"acct:b"]).unwrap();
                    let sum: u64 = vals
                        .iter()
                        .map(|v| String::from_utf8(v.clone().unwrap()).unwrap().parse::<u64>().unwrap())
                        .sum();
                    assert_eq!(sum, 1000);
                    let doc = db.stream_read("/doc").unwrap();
                    assert_eq!(doc.len(), 10_000);
                    assert!(doc.iter().all(|&b| b == doc[0]), "a read mixed two versions");
                    let mut r = db.stream_open("/doc", None).unwrap();
                    let mut buf = vec![0u8; 10_000];
                    std::io::Read::read_exact(&mut r, &mut buf).unwrap();
                    assert!(buf.iter().all(|&b| b == buf[0]), "a reader mixed two versions");
                    reads.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::Relaxed);
    let writes = writer.join().unwrap();
    for r in readers {
        r.join().unwrap();
    }
    assert!(writes > 10 && reads.load(Ordering::Relaxed) > 10, "writes {writes}, reads {reads:?}");
    assert!(db.check().unwrap().ok);
    assert!(db.stream_versions("/doc").unwrap().len() == 2);
}

#[test]
fn a_second_writer_waits_then_gets_busy_and_reads_do_not_wait() {
    let (_d, path) = temp();
    let db = Db::open(&path, OpenOptions::default().busy_timeout_ms(200)).unwrap();
    db.put(b"k", b"before").unwrap();
    let tx = db.begin().unwrap();
    tx.put(b"k", b"inside").unwrap();
    assert_eq!(tx.get(b"k").unwrap().unwrap(), b"inside");
    let other = db.clone();
    let t = std::thread::spawn(move || {
        let start = Instant::now();
        let read = other.get(b"k").unwrap().unwrap();
        let read_time = start.elapsed();
        let e = other.put(b"k", b"other").unwrap_err();
        (read, read_time, e.code(), start.elapsed())
    });
    let (read, read_time, code, waited) = t.join().unwrap();
    assert_eq!(read, b"before");
    assert!(read_time < Duration::from_millis(150));
    assert_eq!(code, ErrorCode::Busy);
    assert!(waited >= Duration::from_millis(190));
    // A waiting writer proceeds once the transaction ends.
    let other = db.clone();
    let t = std::thread::spawn(move || other.put(b"k2", b"later"));
    std::thread::sleep(Duration::from_millis(20));
    tx.commit().unwrap();
    t.join().unwrap().unwrap();
    assert_eq!(db.get(b"k").unwrap().unwrap(), b"inside");
}

#[test]
fn dropped_or_failed_transactions_roll_back() {
    let (_d, path) = temp();
    let db = open(&path);
    {
        let tx = db.begin().unwrap();
        tx.put(b"a", b"1").unwrap();
        tx.blob_put(b"x", None).unwrap();
    }
    assert_eq!(db.get(b"a").unwrap(), None);
    let r: buffdb::Result<()> = db.transaction(|tx| {
        tx.put(b"a", b"1")?;
        tx.stream_write("/s", b"data")?;
        tx.blob_update(77, Some(b"x"), None) // NOT_FOUND: the whole transaction rolls back
    });
    assert_eq!(r.unwrap_err().code(), ErrorCode::NotFound);
    assert_eq!(db.get(b"a").unwrap(), None);
    assert!(!db.stream_exists("/s").unwrap());
    // Blob ids used by a rolled-back transaction are not handed out twice either way.
    let id = db.blob_put(b"y", None).unwrap();
    assert!(id >= 1);
    let tx = db.begin().unwrap();
    tx.put(b"z", b"1").unwrap();
    let scan = tx.scan(b"", None, None).unwrap().collect::<buffdb::Result<Vec<_>>>().unwrap();
    assert_eq!(scan, vec![(b"z".to_vec(), b"1".to_vec())]);
    assert_eq!(tx.count(b"").unwrap(), 1);
    tx.rollback().unwrap();
    assert_eq!(db.count(b"").unwrap(), 0);
}

#[test]
fn stream_writer_does_not_block_other_writers() {
    let (_d, path) = temp();
    let db = Db::open(&path, OpenOptions::default().chunk_size(4096).busy_timeout_ms(500)).unwrap();
    let mut w = db.stream_writer("/slow").unwrap();
    for i in 0..20 {
        w.write(&pattern(5000, i)).unwrap();
        db.put(format!("k{i}").as_bytes(), b"v").unwrap();
        db.stream_write("/other", b"x").unwrap();
    }
    w.commit().unwrap();
    assert_eq!(db.count(b"k").unwrap(), 20);
    assert_eq!(db.stream_stat("/slow").unwrap().size, 100_000);
}

#[test]
fn handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Db>();
    send::<buffdb::Txn>();
    send::<buffdb::Reader>();
    send::<buffdb::StreamWriter>();
    send::<buffdb::KvIter>();
    send::<buffdb::PathIter>();
}

/// Two handles on one file (as two processes would be): each one's read cache
/// notices the other's commits.
#[test]
fn read_cache_sees_commits_from_other_handles() {
    let (_d, path) = temp();
    let a = open(&path);
    let b = open(&path);
    a.put(b"k", b"1").unwrap();
    for round in 0..200u32 {
        assert_eq!(a.get(b"k").unwrap().unwrap(), (round + 1).to_string().as_bytes());
        assert_eq!(b.get(b"k").unwrap().unwrap(), (round + 1).to_string().as_bytes());
        let writer = if round % 2 == 0 { &b } else { &a };
        match round % 4 {
            0 | 1 => writer.put(b"k", (round + 2).to_string().as_bytes()).unwrap(),
            2 => writer.transaction(|tx| tx.put(b"k", (round + 2).to_string().as_bytes())).unwrap(),
            _ => writer.put_many(&[(b"k".to_vec(), (round + 2).to_string().into_bytes())]).unwrap(),
        }
    }
    b.delete(b"k").unwrap();
    assert_eq!(a.get(b"k").unwrap(), None);
    assert!(!a.contains(b"k").unwrap());
    // Writes to streams and blobs keep the KV cache valid (and correct).
    a.put(b"x", b"1").unwrap();
    a.stream_write("/s", b"data").unwrap();
    assert_eq!(a.get(b"x").unwrap().unwrap(), b"1");
    b.put(b"x", b"2").unwrap();
    assert_eq!(a.get(b"x").unwrap().unwrap(), b"2");
}

/// `get_many` answers from one snapshot when some keys come from the read cache
/// (valid at one commit) and the rest from SQLite: a transfer committed in between
/// must not show half done.
#[test]
fn get_many_of_cached_and_uncached_keys_is_one_snapshot() {
    let (_d, path) = temp();
    let db = Db::open(&path, OpenOptions::default()).unwrap();
    db.put_many(&[(b"acct:a", b"1000000"), (b"acct:b", b"0000000")]).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                db.transaction(|tx| {
                    let a: u64 = String::from_utf8(tx.get(b"acct:a")?.unwrap()).unwrap().parse().unwrap();
                    let b: u64 = String::from_utf8(tx.get(b"acct:b")?.unwrap()).unwrap().parse().unwrap();
                    tx.put(b"acct:a", format!("{:07}", a - 1).as_bytes())?;
                    tx.put(b"acct:b", format!("{:07}", b + 1).as_bytes())?;
                    Ok(())
                })
                .unwrap();
            }
            n
        })
    };
    let readers: Vec<_> = (0..2)
        .map(|i| {
            let (db, stop) = (db.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    // Caches one of the two keys, so get_many has a hit and a miss.
                    let first: &[u8] = if (reads + i) % 2 == 0 { b"acct:a" } else { b"acct:b" };
                    db.get(first).unwrap();
                    let vals = db.get_many(&[b"acct:a", b"acct:b"]).unwrap();
                    let sum: u64 = vals
                        .iter()
                        .map(|v| String::from_utf8(v.clone().unwrap()).unwrap().parse::<u64>().unwrap())
                        .sum();
                    assert_eq!(sum, 1_000_000, "get_many mixed two commits: {vals:?}");
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let writes = writer.join().unwrap();
    let reads: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(writes > 100 && reads > 100, "writes {writes}, reads {reads}");
}
