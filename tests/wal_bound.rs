//! The WAL stays bounded whatever readers do: at most `wal_max_bytes` plus one
//! transaction, with readers in this process and in other processes.

mod common;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use buffdb::{Db, ErrorCode, OpenOptions};
use common::*;

const WAL_MAX: u64 = 16 << 20;
const DOC: usize = 4 << 20;
/// One transaction of a DOC-sized stream: its pages plus B-tree and header frames.
const ONE_TXN: u64 = DOC as u64 + (1 << 20);
const CHILD_ENV: &str = "BUFFDB_WAL_READER_CHILD";

fn opts() -> OpenOptions {
    OpenOptions::default().wal_max_bytes(WAL_MAX).versions_to_keep(2)
}

fn wal_len(path: &std::path::Path) -> u64 {
    std::fs::metadata(format!("{}-wal", path.display())).map(|m| m.len()).unwrap_or(0)
}

/// Every version of /doc is one byte repeated, so a reader can tell a torn read.
fn doc(i: usize) -> Vec<u8> {
    vec![(i % 251) as u8; DOC]
}

fn uniform(b: &[u8]) -> bool {
    b.is_empty() || b == vec![b[0]; b.len()].as_slice() // memcmp: fast in a debug build too
}

#[test]
fn the_wal_stays_bounded_with_readers_in_this_process() {
    let (_d, path) = temp();
    let db = Db::open(&path, opts()).unwrap();
    db.put(b"k", b"v").unwrap();
    db.stream_write("/doc", &doc(0)).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|n| {
            let (db, stop) = (db.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    assert_eq!(db.get(b"k").unwrap().unwrap(), b"v");
                    assert_eq!(db.count(b"").unwrap(), 1);
                    if n == 0 {
                        assert!(uniform(&db.stream_read("/doc").unwrap()), "a read mixed two versions");
                    } else {
                        // A reader kept open across calls holds no snapshot between them.
                        let mut r = db.stream_open("/doc", None).unwrap();
                        let mut buf = vec![0u8; 1 << 20];
                        r.read_exact(&mut buf).unwrap();
                        assert!(uniform(&buf));
                    }
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let mut most = 0;
    for i in 1..=40 {
        db.stream_write("/doc", &doc(i)).unwrap();
        db.put(b"k", b"v").unwrap();
        most = most.max(wal_len(&path));
        assert!(wal_len(&path) <= WAL_MAX + ONE_TXN, "write {i}: the WAL is {} bytes", wal_len(&path));
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    assert!(most > WAL_MAX / 2, "the test never filled the WAL ({most} bytes)");
    assert_eq!(db.stream_read("/doc").unwrap(), doc(40));
    assert!(db.check().unwrap().ok);
}

/// A reader process: reads in a loop (gets, whole documents, a reader kept open,
/// idle pauses) until its stdin closes, printing how many reads it made.
#[test]
fn wal_reader_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let (path, read_only) = spec.split_once('|').unwrap();
    let db = Db::open(path, opts().read_only(read_only == "ro")).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    {
        let done = done.clone();
        std::thread::spawn(move || {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            done.store(true, Ordering::Relaxed);
        });
    }
    println!("ready");
    let mut reads = 0u64;
    let mut held: Option<buffdb::Reader> = None;
    while !done.load(Ordering::Relaxed) {
        assert!(db.get(b"k").unwrap().is_some());
        match db.stream_read("/doc") {
            Ok(d) => assert!(uniform(&d), "a read mixed two versions"),
            Err(e) => assert_eq!(e.code(), ErrorCode::Conflict, "{e}"),
        }
        // A reader held open for many loops, read a slice at a time.
        if held.is_none() {
            held = db.stream_open("/doc", None).ok();
        }
        if let Some(r) = held.as_mut() {
            let mut buf = vec![0u8; 256 << 10];
            match r.read(&mut buf) {
                Ok(0) => held = None,
                Ok(n) => assert!(uniform(&buf[..n])),
                // Another process collected the version this one was reading.
                Err(_) => held = None,
            }
        }
        reads += 1;
        // The read-write child reads without pause (its pooled snapshots stay busy);
        // the read-only one pauses now and then.
        if read_only == "ro" && reads % 16 == 0 {
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    println!("reads {reads}");
}

/// The WAL index's checkpoint info and who holds its read locks, for a failure message.
fn shm_state(path: &std::path::Path) -> String {
    use std::os::unix::io::AsRawFd;
    let shm = format!("{}-shm", path.display());
    let Ok(bytes) = std::fs::read(&shm) else { return "no -shm".into() };
    let word = |i: usize| u32::from_ne_bytes(bytes[i..i + 4].try_into().unwrap());
    let mut out = format!(
        "mxFrame {} nBackfill {} readMarks {:?}",
        word(16),
        word(96),
        (0..5).map(|i| word(100 + 4 * i)).collect::<Vec<_>>()
    );
    let f = std::fs::OpenOptions::new().read(true).write(true).open(&shm).unwrap();
    for (name, at) in [
        ("write", 120),
        ("ckpt", 121),
        ("recover", 122),
        ("r0", 123),
        ("r1", 124),
        ("r2", 125),
        ("r3", 126),
        ("r4", 127),
    ] {
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = libc::F_WRLCK as _;
        fl.l_whence = libc::SEEK_SET as _;
        fl.l_start = at;
        fl.l_len = 1;
        unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETLK, &mut fl) };
        if fl.l_type as i32 != libc::F_UNLCK {
            out += &format!(" {name}:pid{}{}", fl.l_pid, if fl.l_type as i32 == libc::F_WRLCK { "x" } else { "s" });
        }
    }
    std::mem::forget(f); // closing it would drop this process's own POSIX locks on the -shm
    out
}

#[test]
fn the_wal_stays_bounded_with_readers_in_other_processes() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let (_d, path) = temp();
    let db = Db::open(&path, opts()).unwrap();
    db.put(b"k", b"v").unwrap();
    db.stream_write("/doc", &doc(0)).unwrap();
    let mut children: Vec<_> = ["rw", "ro"]
        .iter()
        .map(|mode| {
            let mut c = Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "wal_reader_child", "--nocapture", "--test-threads=1"])
                .env(CHILD_ENV, format!("{}|{mode}", path.display()))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut out = BufReader::new(c.stdout.take().unwrap());
            let mut line = String::new();
            while !line.contains("ready") {
                line.clear();
                assert!(out.read_line(&mut line).unwrap() > 0, "the reader process ended early");
            }
            (c, out)
        })
        .collect();
    let start = Instant::now();
    let mut most = 0;
    for i in 1..=40 {
        if let Err(e) = db.stream_write("/doc", &doc(i)) {
            eprintln!("{}", shm_state(&path));
            for (c, _) in children.iter_mut() {
                let _ = c.kill();
            }
            panic!("write {i}: {e:?}");
        }
        most = most.max(wal_len(&path));
        assert!(wal_len(&path) <= WAL_MAX + ONE_TXN, "write {i}: the WAL is {} bytes", wal_len(&path));
        std::thread::sleep(Duration::from_millis(20));
    }
    for (c, out) in children.iter_mut() {
        drop(c.stdin.take());
        let mut rest = String::new();
        out.read_to_string(&mut rest).unwrap();
        assert!(c.wait().unwrap().success(), "a reader process failed");
        let reads: u64 = rest.lines().find_map(|l| l.split("reads ").nth(1)).unwrap().trim().parse().unwrap();
        assert!(reads > 0);
    }
    assert!(most > WAL_MAX / 2, "the test never filled the WAL ({most} bytes)");
    assert!(start.elapsed() < Duration::from_secs(120));
    assert_eq!(db.stream_read("/doc").unwrap(), doc(40));
}

#[test]
fn a_reader_that_never_lets_go_makes_writes_busy_not_the_wal_grow() {
    let (_d, path) = temp();
    let db = Db::open(&path, opts().busy_timeout_ms(300)).unwrap();
    db.stream_write("/doc", &doc(0)).unwrap();
    // A plain SQLite connection holding a read transaction open, as a foreign reader could.
    let pin = rusqlite::Connection::open(&path).unwrap();
    pin.execute_batch("BEGIN; SELECT count(*) FROM bdb_kv;").unwrap();
    let mut busy = false;
    for i in 1..=12 {
        match db.stream_write("/doc", &doc(i)) {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.code(), ErrorCode::Busy, "{e}");
                busy = true;
                break;
            }
        }
        assert!(wal_len(&path) <= WAL_MAX + ONE_TXN);
    }
    assert!(busy, "writes went on while a reader pinned the WAL");
    assert!(wal_len(&path) <= WAL_MAX + ONE_TXN);
    pin.execute_batch("COMMIT").unwrap();
    db.stream_write("/doc", &doc(99)).unwrap(); // the reader let go: writes go on, the WAL shrinks
    assert!(wal_len(&path) <= WAL_MAX);
    assert_eq!(db.stream_read("/doc").unwrap(), doc(99));
}

/// A whole document larger than the bound, given in one call, is stored a batch per
/// commit like a writer's: the WAL keeps its bound, and the version appears whole, at once.
#[test]
fn a_whole_document_larger_than_the_bound_keeps_the_wal_bounded() {
    let (_d, path) = temp();
    let db = Db::open(&path, opts()).unwrap();
    let big: Vec<u8> = (0..(40usize << 20)).map(|i| (i * 7 % 251) as u8).collect();
    let bound = WAL_MAX + ONE_TXN;

    db.stream_write("/big", &big).unwrap();
    assert!(wal_len(&path) <= bound, "WAL {} bytes after stream_write (bound {bound})", wal_len(&path));
    assert!(db.stream_read("/big").unwrap() == big);

    let info = db.stream_write_from("/big", std::io::Cursor::new(&big[1..])).unwrap();
    assert_eq!((info.version, info.size), (2, big.len() as u64 - 1));
    assert!(wal_len(&path) <= bound, "WAL {} bytes after stream_write_from (bound {bound})", wal_len(&path));
    assert!(db.stream_read("/big").unwrap() == big[1..]);

    // In a transaction: seen by nobody else before commit, gone at rollback.
    let tx = db.begin().unwrap();
    tx.stream_write("/in-txn", &big).unwrap();
    assert!(tx.stream_read("/in-txn").unwrap() == big);
    assert!(!db.stream_exists("/in-txn").unwrap());
    tx.rollback().unwrap();
    assert!(!db.stream_exists("/in-txn").unwrap());
    let tx = db.begin().unwrap();
    tx.stream_write_from("/in-txn", std::io::Cursor::new(&big)).unwrap();
    tx.commit().unwrap();
    assert!(db.stream_read("/in-txn").unwrap() == big);
    assert!(db.check().unwrap().ok);
}
