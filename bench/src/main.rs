//! Workloads K and S from the design, for BuffDB and its anchors (heed/LMDB, redb,
//! plain rusqlite) in one run. Prints one table of medians and ratios.
//!
//! cargo run --release -p buffdb-bench -- [--runs N] [--stream-mib N] [--only-buffdb]
//!     [--skip-k] [--skip-s] [--cpu] [--raw] [--no-memory] [--memory-mib N]
//! cargo run --release -p buffdb-bench -- --scale [--big-mib N]
//! cargo run --release -p buffdb-bench --features encryption -- --encryption [--runs N] [--stream-mib N]
//!
//! The default run ends with the memory of a 1 GiB stream written and read (in a
//! process of its own); `--scale` runs workload K at 1M and 10M keys beside heed and a
//! 4 GiB stream instead of the rest.
//!
//! `--only-buffdb` leaves out the anchors (and the 64 KiB-page stream run); `--cpu`
//! times the calling thread's CPU time instead of the wall clock (steadier on a busy
//! machine); `--raw` prints each run's BuffDB figures, one line per run, for A/B runs.

use std::time::Instant;

mod encryption;
mod index;

use buffdb::{Db, OpenOptions};
use rand::seq::SliceRandom;
use rand::SeedableRng;

const N: usize = 100_000;
const SCAN: usize = 10_000;

fn keys() -> Vec<[u8; 16]> {
    // 16-byte keys: 10 groups of 10,000 under 5-byte prefixes "0000:" .. "0009:".
    let mut k: Vec<[u8; 16]> = (0..N)
        .map(|i| {
            let s = format!("{:04}:{:011}", i % 10, i);
            s.as_bytes().try_into().unwrap()
        })
        .collect();
    k.shuffle(&mut rand::rngs::StdRng::seed_from_u64(7));
    k
}

fn value(i: usize) -> [u8; 100] {
    let mut v = [0u8; 100];
    for (j, b) in v.iter_mut().enumerate() {
        *b = (i * 31 + j) as u8;
    }
    v
}

#[derive(Default, Clone)]
struct K {
    put: f64,
    get: f64,
    get_cold: f64,
    scan: f64,
    /// Borrowed rows where the store offers them (BuffDB's `scan_each`; heed and redb
    /// iterate borrowed anyway).
    scan_borrowed: f64,
}

/// Times by the calling thread's CPU time instead of the wall clock (`--cpu`).
static CPU_CLOCK: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A start time on the chosen clock.
#[derive(Clone, Copy)]
enum Start {
    Wall(Instant),
    Cpu(f64),
}

fn thread_cpu_secs() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid timespec out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn now() -> Start {
    if CPU_CLOCK.load(std::sync::atomic::Ordering::Relaxed) {
        Start::Cpu(thread_cpu_secs())
    } else {
        Start::Wall(Instant::now())
    }
}

impl Start {
    fn secs(self) -> f64 {
        match self {
            Start::Wall(t) => t.elapsed().as_secs_f64(),
            Start::Cpu(t) => thread_cpu_secs() - t,
        }
    }
}

/// With `BENCH_PERF_CTL` naming perf's control FIFO (`perf record --control
/// fifo:PATH --delay=-1`), turns perf's sampling on and off around the timed part.
fn profile(on: bool) {
    if let Ok(p) = std::env::var("BENCH_PERF_CTL") {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
        f.write_all(if on { b"enable\n" } else { b"disable\n" }).unwrap();
    }
}

fn rate(n: usize, f: impl FnOnce()) -> f64 {
    let t = now();
    f();
    n as f64 / t.secs()
}

fn buffdb_k(dir: &std::path::Path, keys: &[[u8; 16]], order: &[usize]) -> K {
    let path = dir.join("buffdb.db");
    let db = Db::open(&path, OpenOptions::default()).unwrap();
    let pairs: Vec<([u8; 16], [u8; 100])> = keys.iter().enumerate().map(|(i, k)| (*k, value(i))).collect();
    let put = rate(N, || put_all(&db, &pairs));
    let gets = |db: &Db| {
        rate(N, || {
            for &i in order {
                assert!(db.get(&keys[i]).unwrap().is_some());
            }
        })
    };
    let get = gets(&db);
    let scan = rate(SCAN, || assert_eq!(db.scan(b"0003:", None, None).unwrap().count(), SCAN));
    let scan_borrowed =
        rate(SCAN, || assert_eq!(db.scan_each(b"0003:", None, None, |_, _| true).unwrap(), SCAN as u64));
    db.close().unwrap();
    let db = Db::open(&path, OpenOptions::default()).unwrap();
    let get_cold = gets(&db);
    K { put, get, get_cold, scan, scan_borrowed }
}

fn heed_k(dir: &std::path::Path, keys: &[[u8; 16]], order: &[usize]) -> K {
    use heed::types::Bytes;
    let path = dir.join("heed");
    std::fs::create_dir_all(&path).unwrap();
    let open = || unsafe { heed::EnvOpenOptions::new().map_size(1 << 30).open(&path).unwrap() };
    let env = open();
    let mut wtxn = env.write_txn().unwrap();
    let db: heed::Database<Bytes, Bytes> = env.create_database(&mut wtxn, None).unwrap();
    wtxn.commit().unwrap();
    let put = rate(N, || {
        let mut w = env.write_txn().unwrap();
        for (i, k) in keys.iter().enumerate() {
            db.put(&mut w, k, &value(i)).unwrap();
        }
        w.commit().unwrap();
    });
    let gets = |env: &heed::Env, db: heed::Database<Bytes, Bytes>| {
        rate(N, || {
            let r = env.read_txn().unwrap();
            for &i in order {
                assert!(db.get(&r, &keys[i]).unwrap().is_some());
            }
        })
    };
    let get = gets(&env, db);
    let scan = rate(SCAN, || {
        let r = env.read_txn().unwrap();
        assert_eq!(db.prefix_iter(&r, b"0003:").unwrap().count(), SCAN);
    });
    drop(env);
    let get_cold = get; // LMDB has no cache of its own beyond the OS page cache
    K { put, get, get_cold, scan, scan_borrowed: scan }
}

fn redb_k(dir: &std::path::Path, keys: &[[u8; 16]], order: &[usize]) -> K {
    use redb::TableDefinition;
    const T: TableDefinition<&[u8], &[u8]> = TableDefinition::new("kv");
    let path = dir.join("redb.db");
    let db = redb::Database::create(&path).unwrap();
    let put = rate(N, || {
        let w = db.begin_write().unwrap();
        {
            let mut t = w.open_table(T).unwrap();
            for (i, k) in keys.iter().enumerate() {
                t.insert(&k[..], &value(i)[..]).unwrap();
            }
        }
        w.commit().unwrap();
    });
    let gets = |db: &redb::Database| {
        rate(N, || {
            let r = db.begin_read().unwrap();
            let t = r.open_table(T).unwrap();
            for &i in order {
                assert!(t.get(&keys[i][..]).unwrap().is_some());
            }
        })
    };
    let get = gets(&db);
    let scan = rate(SCAN, || {
        let r = db.begin_read().unwrap();
        let t = r.open_table(T).unwrap();
        assert_eq!(t.range(&b"0003:"[..]..&b"0003;"[..]).unwrap().count(), SCAN);
    });
    drop(db);
    let db = redb::Database::create(&path).unwrap();
    let get_cold = gets(&db);
    K { put, get, get_cold, scan, scan_borrowed: scan }
}

fn sqlite_k(dir: &std::path::Path, keys: &[[u8; 16]], order: &[usize]) -> K {
    let path = dir.join("plain.sqlite");
    let open = || {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;").unwrap();
        c
    };
    let c = open();
    c.execute_batch("CREATE TABLE kv(key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID").unwrap();
    let put = rate(N, || {
        c.execute_batch("BEGIN").unwrap();
        {
            let mut s = c.prepare("INSERT INTO kv VALUES (?1, ?2)").unwrap();
            for (i, k) in keys.iter().enumerate() {
                s.execute(rusqlite::params![&k[..], &value(i)[..]]).unwrap();
            }
        }
        c.execute_batch("COMMIT").unwrap();
    });
    // Naive use: one autocommit statement per get.
    let gets = |c: &rusqlite::Connection| {
        rate(N, || {
            let mut s = c.prepare_cached("SELECT value FROM kv WHERE key = ?1").unwrap();
            for &i in order {
                let v: Vec<u8> = s.query_row([&keys[i][..]], |r| r.get(0)).unwrap();
                assert_eq!(v.len(), 100);
            }
        })
    };
    let get = gets(&c);
    let scan = rate(SCAN, || {
        let mut s = c.prepare("SELECT key, value FROM kv WHERE key >= ?1 AND key < ?2").unwrap();
        let n = s
            .query_map([&b"0003:"[..], &b"0003;"[..]], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?)))
            .unwrap()
            .count();
        assert_eq!(n, SCAN);
    });
    drop(c);
    let get_cold = gets(&open());
    K { put, get, get_cold, scan, scan_borrowed: scan }
}

#[derive(Default, Clone)]
struct S {
    /// Stream write including the checkpoint that makes it durable in the main file.
    durable: f64,
    write: f64,
    read: f64,
    read_again: f64,
    first_byte_ms: f64,
    checkpoint_ms: f64,
}

fn buffdb_s(dir: &std::path::Path, data: &[u8], page_size: u32) -> S {
    let db =
        Db::open(dir.join(format!("buffdb-s-{page_size}.db")), OpenOptions::default().page_size(page_size)).unwrap();
    let t = now();
    db.stream_write("/bench/doc.bin", data).unwrap();
    let write = data.len() as f64 / t.secs();
    // Reads measure the settled file: the background checkpoint, done now.
    let t = now();
    db.checkpoint().unwrap();
    let checkpoint_ms = t.secs() * 1e3;
    let durable = data.len() as f64 / (data.len() as f64 / write + checkpoint_ms / 1e3);
    let t = now();
    let mut r = db.stream_open("/bench/doc.bin", None).unwrap();
    let mut one = [0u8; 1];
    r.read_into(&mut one).unwrap();
    let first_byte_ms = t.secs() * 1e3;
    let mut buf = vec![0u8; 1 << 20];
    let mut pass = |r: &mut buffdb::Reader| {
        r.seek_to(0).unwrap();
        let t = now();
        let mut total = 0;
        loop {
            let n = r.read_into(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            total += n;
        }
        assert_eq!(total, data.len());
        total as f64 / t.secs()
    };
    // The first pass pays the page faults of mapping the file; later ones do not.
    let read = pass(&mut r);
    let read_again = pass(&mut r);
    S { durable, write, read, read_again, first_byte_ms, checkpoint_ms }
}

/// The anchor of a durable stream write: the same bytes written to a plain file in
/// 1 MiB writes, then one fsync (GB/s).
fn file_write_rate(dir: &std::path::Path, data: &[u8]) -> f64 {
    use std::io::Write;
    let path = dir.join("plain-file.bin");
    let t = now();
    let mut f = std::fs::File::create(&path).unwrap();
    for ch in data.chunks(1 << 20) {
        f.write_all(ch).unwrap();
    }
    f.sync_all().unwrap();
    let rate = data.len() as f64 / t.secs();
    drop(f);
    std::fs::remove_file(path).unwrap();
    rate
}

/// Peak anonymous memory of this process (RssAnon, sampled every 2 ms) while it lives.
pub(crate) struct PeakAnon {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

/// This process's anonymous resident memory, in KiB.
fn rss_anon_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = s.lines().find(|l| l.starts_with("RssAnon:")).unwrap().to_string();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap()
}

impl PeakAnon {
    fn start() -> PeakAnon {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = rss_anon_kib();
            while !s.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss_anon_kib());
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            peak.max(rss_anon_kib())
        });
        PeakAnon { stop, thread }
    }

    /// The peak in MiB.
    fn stop(self) -> f64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap() as f64 / 1024.0
    }
}

/// A large stream written through a writer in 1 MiB pieces, then read back into a
/// 1 MiB buffer right away (the last part still in the WAL), default options:
/// (write GB/s including the checkpoint, read GB/s, peak anonymous MiB above the
/// process's idle while writing, the same while reading). The data is never held
/// whole in memory, so the peaks are the engine's own.
fn big_stream(dir: &std::path::Path, mib: usize) -> (f64, f64, f64, f64) {
    let db = Db::open(dir.join("big-stream.db"), OpenOptions::default()).unwrap();
    let piece: Vec<u8> = (0..1usize << 20).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let idle = rss_anon_kib() as f64 / 1024.0;
    let peak = PeakAnon::start();
    let t = Instant::now();
    let mut w = db.stream_writer("/big").unwrap();
    for _ in 0..mib {
        std::io::Write::write_all(&mut w, &piece).unwrap();
    }
    w.commit().unwrap();
    let write_secs = t.elapsed().as_secs_f64();
    let write_peak = peak.stop() - idle;
    let mut buf = vec![0u8; 1 << 20];
    let peak = PeakAnon::start();
    let t = Instant::now();
    let mut r = db.stream_open("/big", None).unwrap();
    let mut total = 0;
    loop {
        let n = r.read_into(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        total += n;
    }
    assert_eq!(total, mib << 20);
    let read = total as f64 / t.elapsed().as_secs_f64();
    let read_peak = peak.stop() - idle;
    drop(r);
    let t = Instant::now();
    db.checkpoint().unwrap();
    let write = (mib << 20) as f64 / (write_secs + t.elapsed().as_secs_f64());
    (write, read, write_peak, read_peak)
}

/// This process's resident memory in MiB: (anonymous, file-backed). The file-backed
/// part is the database's mapped pages the reads touched: the kernel's page cache,
/// shared and given back under memory pressure; the anonymous part is the process's own.
fn rss_split() -> (f64, f64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| -> f64 {
        let line = s.lines().find(|l| l.starts_with(name)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse::<f64>().unwrap() / 1024.0
    };
    (field("RssAnon:"), field("RssFile:") + field("RssShmem:"))
}

/// Workload K at `n` keys, BuffDB and heed: (BuffDB ns per random get after the puts,
/// after reopen, heed ns per get, BuffDB's anonymous and file-backed RSS MiB after the
/// gets, heed's the same), each measured from what the process held before it began.
fn scale_k(dir: &std::path::Path, n: usize) -> [f64; 7] {
    let key = |i: usize| -> [u8; 16] { format!("{:04}:{:011}", i % 10, i).as_bytes().try_into().unwrap() };
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(5));
    let sample = &order[..n.min(1_000_000)];
    const BATCH: usize = 100_000;
    let base = rss_split();
    let path = dir.join(format!("scale-{n}.db"));
    let db = Db::open(&path, OpenOptions::default()).unwrap();
    for start in (0..n).step_by(BATCH) {
        let pairs: Vec<([u8; 16], [u8; 100])> =
            order[start..(start + BATCH).min(n)].iter().map(|&i| (key(i), value(i))).collect();
        db.put_many(&pairs).unwrap();
    }
    let gets = |db: &Db| {
        let t = Instant::now();
        for &i in sample {
            assert!(db.get(&key(i)).unwrap().is_some());
        }
        t.elapsed().as_secs_f64() * 1e9 / sample.len() as f64
    };
    let warm = gets(&db);
    db.close().unwrap();
    let db = Db::open(&path, OpenOptions::default()).unwrap();
    let cold = gets(&db);
    let buffdb_rss = rss_split();
    db.close().unwrap();
    drop(db);
    std::fs::remove_file(&path).ok();

    use heed::types::Bytes;
    let base_heed = rss_split();
    let hpath = dir.join(format!("scale-heed-{n}"));
    std::fs::create_dir_all(&hpath).unwrap();
    let env = unsafe { heed::EnvOpenOptions::new().map_size(1 << 36).open(&hpath).unwrap() };
    let mut w = env.write_txn().unwrap();
    let hdb: heed::Database<Bytes, Bytes> = env.create_database(&mut w, None).unwrap();
    w.commit().unwrap();
    for start in (0..n).step_by(BATCH) {
        let mut w = env.write_txn().unwrap();
        for &i in &order[start..(start + BATCH).min(n)] {
            hdb.put(&mut w, &key(i), &value(i)).unwrap();
        }
        w.commit().unwrap();
    }
    let t = Instant::now();
    {
        let r = env.read_txn().unwrap();
        for &i in sample {
            assert!(hdb.get(&r, &key(i)).unwrap().is_some());
        }
    }
    let heed = t.elapsed().as_secs_f64() * 1e9 / sample.len() as f64;
    let heed_rss = rss_split();
    drop(env);
    std::fs::remove_dir_all(&hpath).ok();
    [
        warm,
        cold,
        heed,
        buffdb_rss.0 - base.0,
        buffdb_rss.1 - base.1,
        heed_rss.0 - base_heed.0,
        heed_rss.1 - base_heed.1,
    ]
}

fn sqlite_s(dir: &std::path::Path, data: &[u8]) -> S {
    let c = rusqlite::Connection::open(dir.join("plain-s.sqlite")).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE chunks(id INTEGER PRIMARY KEY, data BLOB)",
    )
    .unwrap();
    let t = Instant::now();
    c.execute_batch("BEGIN").unwrap();
    for (i, ch) in data.chunks(1 << 20).enumerate() {
        c.execute("INSERT INTO chunks VALUES (?1, ?2)", rusqlite::params![i as i64, ch]).unwrap();
    }
    c.execute_batch("COMMIT").unwrap();
    let write = data.len() as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    c.execute_batch("PRAGMA wal_checkpoint(PASSIVE)").unwrap();
    let checkpoint_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let mut total = 0;
    let mut first_byte_ms = 0.0;
    let mut s = c.prepare("SELECT data FROM chunks ORDER BY id").unwrap();
    let mut rows = s.query([]).unwrap();
    while let Some(row) = rows.next().unwrap() {
        let v: Vec<u8> = row.get(0).unwrap();
        if total == 0 {
            first_byte_ms = t.elapsed().as_secs_f64() * 1e3;
        }
        total += v.len();
    }
    let read = total as f64 / t.elapsed().as_secs_f64();
    S { durable: 0.0, write, read, read_again: read, first_byte_ms, checkpoint_ms }
}

fn memcpy_rate(data: &[u8]) -> f64 {
    let mut buf = vec![0u8; 1 << 20];
    let t = Instant::now();
    for ch in data.chunks(1 << 20) {
        buf[..ch.len()].copy_from_slice(ch);
        std::hint::black_box(&buf);
    }
    data.len() as f64 / t.elapsed().as_secs_f64()
}

/// Workload K's batch put (kept out of line so a profiler can select it).
#[inline(never)]
fn put_all(db: &Db, pairs: &[([u8; 16], [u8; 100])]) {
    db.put_many(pairs).unwrap();
}

/// heed's batch put: one write transaction (kept out of line so a profiler can select it).
#[inline(never)]
fn heed_puts(env: &heed::Env, db: heed::Database<heed::types::Bytes, heed::types::Bytes>, pairs: &[([u8; 16], [u8; 100])]) {
    let mut w = env.write_txn().unwrap();
    for (k, v) in pairs {
        db.put(&mut w, k, v).unwrap();
    }
    w.commit().unwrap();
}

/// One read transaction, every key once (kept out of line so a profiler can select it).
#[inline(never)]
fn heed_gets(env: &heed::Env, db: heed::Database<heed::types::Bytes, heed::types::Bytes>, keys: &[[u8; 16]]) {
    let r = env.read_txn().unwrap();
    for k in keys {
        assert!(db.get(&r, k).unwrap().is_some());
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: usize| {
        args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(|v| v.parse().unwrap()).unwrap_or(default)
    };
    let flag = |name: &str| args.iter().any(|a| a == name);
    let runs = arg("--runs", 3);
    let (only_buffdb, skip_k, skip_s, raw) = (flag("--only-buffdb"), flag("--skip-k"), flag("--skip-s"), flag("--raw"));
    CPU_CLOCK.store(flag("--cpu"), std::sync::atomic::Ordering::Relaxed);
    let mib = arg("--stream-mib", 256);
    if let Some(i) = args.iter().position(|a| a == "--index-loop") {
        return index::profile_loop(&args[i + 1], args[i + 2].parse().unwrap(), args[i + 3].parse().unwrap());
    }
    if flag("--encryption") {
        return encryption::run(runs, mib);
    }
    if let Some(i) = args.iter().position(|a| a == "--encryption-loop") {
        return encryption::run_loop(&args[i + 1], args[i + 2].parse().unwrap());
    }
    if flag("--index") {
        return index::run(arg("--index-records", 1_000_000));
    }
    // `--scale`: workload K at 1M and 10M keys beside heed, and a 4 GiB stream.
    if flag("--scale") {
        let dir = tempfile::tempdir_in(
            std::env::var("BENCH_DIR").unwrap_or_else(|_| std::env::temp_dir().to_string_lossy().into()),
        )
        .unwrap();
        println!(
            "Scale: workload K at 1M and 10M keys (1M random gets each, ns per get); resident memory after the gets, \
             above what the process held before each engine began: anonymous (the process's own) / file-backed \
             (the database pages the map touched: page cache)"
        );
        println!("| keys | BuffDB get | BuffDB get after reopen | heed get | BuffDB / heed (after reopen) | BuffDB RSS anon / file (MiB) | heed RSS anon / file (MiB) |");
        println!("|---:|---:|---:|---:|---:|---:|---:|");
        for n in [1_000_000, 10_000_000] {
            let [warm, cold, heed, banon, bfile, hanon, hfile] = scale_k(dir.path(), n);
            println!(
                "| {n} | {warm:.0} | {cold:.0} | {heed:.0} | {:.2}x | {banon:.0} / {bfile:.0} | {hanon:.0} / {hfile:.0} |",
                heed / cold
            );
        }
        let (w, r, wp, rp) = big_stream(dir.path(), arg("--big-mib", 4096));
        println!();
        println!("| 4 GiB stream, default options | write incl. checkpoint (GB/s) | read (GB/s) | peak anonymous memory above idle, write / read (MiB) |");
        println!("|---|---:|---:|---:|");
        println!("| BuffDB | {:.2} | {:.2} | {wp:.0} / {rp:.0} |", w / 1e9, r / 1e9);
        return;
    }
    let keys = keys();
    if let Some(i) = args.iter().position(|a| a == "--memory-only") {
        let mib: usize = args[i + 1].parse().unwrap();
        let dir = tempfile::tempdir_in(
            std::env::var("BENCH_DIR").unwrap_or_else(|_| std::env::temp_dir().to_string_lossy().into()),
        )
        .unwrap();
        let (w, r, wp, rp) = big_stream(dir.path(), mib);
        println!();
        println!("Memory: one {mib} MiB stream, default options, in a process of its own");
        println!("| operation | peak anonymous memory above idle (MiB) | target (MiB) | GB/s |");
        println!("|---|---:|---:|---:|");
        println!("| stream write (1 MiB pieces) incl. checkpoint | {wp:.0} | 64 | {:.2} |", w / 1e9);
        println!("| stream read (1 MiB buffer) | {rp:.0} | 64 | {:.2} |", r / 1e9);
        return;
    }
    // Profiling aid: `--loop OP N` builds the K database, then repeats one operation
    // (scan, scan_each, get, get_cold, kscan) N times, so a profiler sees mostly that.
    if let Some(i) = args.iter().position(|a| a == "--loop") {
        let (op, n) = (args[i + 1].as_str(), args[i + 2].parse::<usize>().unwrap());
        let dir = tempfile::tempdir_in(
            std::env::var("BENCH_DIR").unwrap_or_else(|_| std::env::temp_dir().to_string_lossy().into()),
        )
        .unwrap();
        let path = dir.path().join("buffdb.db");
        let db = Db::open(&path, OpenOptions::default()).unwrap();
        let pairs: Vec<([u8; 16], [u8; 100])> = keys.iter().enumerate().map(|(i, k)| (*k, value(i))).collect();
        db.put_many(&pairs).unwrap();
        if op == "get_cold" {
            // As in the K workload: the writing handle is closed before the reopen.
            db.close().unwrap();
        }
        if op == "heed_get" {
            // The anchor's point get, for instruction counts beside BuffDB's.
            use heed::types::Bytes;
            let env = unsafe { heed::EnvOpenOptions::new().map_size(1 << 30).open(dir.path()).unwrap() };
            let mut w = env.write_txn().unwrap();
            let hdb: heed::Database<Bytes, Bytes> = env.create_database(&mut w, None).unwrap();
            w.commit().unwrap();
            heed_puts(&env, hdb, &pairs);
            let t = now();
            for _ in 0..n {
                heed_gets(&env, hdb, &keys);
            }
            println!("heed_get: {:.1} ns per row", t.secs() * 1e9 / (n * N) as f64);
            return;
        }
        if op == "kscan" {
            // As in the K workload: a fresh database, random gets, then one scan of each kind.
            let (mut owned, mut borrowed) = (0.0, 0.0);
            for i in 0..n {
                let db = Db::open(dir.path().join(format!("k{i}.db")), OpenOptions::default()).unwrap();
                db.put_many(&pairs).unwrap();
                for k in &keys {
                    assert!(db.get(k).unwrap().is_some());
                }
                if std::env::var("KSCAN_WARM").is_ok() {
                    assert_eq!(db.scan_each(b"0003:", None, None, |_, _| true).unwrap(), SCAN as u64);
                }
                profile(true);
                let t = now();
                assert_eq!(db.scan(b"0003:", None, None).unwrap().count(), SCAN);
                owned += t.secs();
                let t = now();
                assert_eq!(db.scan_each(b"0003:", None, None, |_, _| true).unwrap(), SCAN as u64);
                borrowed += t.secs();
                profile(false);
            }
            let per_row = |t: f64| t * 1e9 / (n * SCAN) as f64;
            println!("kscan: owned {:.1} ns per row, borrowed {:.1} ns per row", per_row(owned), per_row(borrowed));
            return;
        }
        // A commit ends the readers' snapshots: the next scan reads its pages anew.
        let mut cold = 0.0;
        let t = now();
        for _ in 0..n {
            match op {
                "scan" => assert_eq!(db.scan(b"0003:", None, None).unwrap().count(), SCAN),
                "cold_scan" | "cold_scan_each" => {
                    let c = now();
                    db.put(b"0009:zzz", b"x").unwrap();
                    cold += c.secs();
                    if op == "cold_scan" {
                        assert_eq!(db.scan(b"0003:", None, None).unwrap().count(), SCAN);
                    } else {
                        assert_eq!(db.scan_each(b"0003:", None, None, |_, _| true).unwrap(), SCAN as u64);
                    }
                }
                "scan_each" => assert_eq!(db.scan_each(b"0003:", None, None, |_, _| true).unwrap(), SCAN as u64),
                "get" => {
                    for k in &keys {
                        assert!(db.get(k).unwrap().is_some());
                    }
                }
                "first_byte" => {
                    // One stream, opened and read from its first byte each time.
                    if !db.stream_exists("/fb").unwrap() {
                        db.stream_write("/fb", &vec![5u8; 16 << 20]).unwrap();
                        db.checkpoint().unwrap();
                    }
                    let mut r = db.stream_open("/fb", None).unwrap();
                    let mut one = [0u8; 1];
                    assert_eq!(r.read_into(&mut one).unwrap(), 1);
                }
                "put_many" => {
                    // A fresh database each time, one batch of every key, as in workload K.
                    let fresh = dir.path().join("put.db");
                    let _ = std::fs::remove_file(&fresh);
                    let db = Db::open(&fresh, OpenOptions::default()).unwrap();
                    put_all(&db, &pairs);
                    db.close().unwrap();
                }
                "get_cold" => {
                    let db = Db::open(&path, OpenOptions::default()).unwrap();
                    for k in &keys {
                        assert!(db.get(k).unwrap().is_some());
                    }
                }
                _ => panic!("--loop scan|scan_each|cold_scan|cold_scan_each|get|get_cold|heed_get|put_many|kscan|first_byte N"),
            }
        }
        let rows = n * if op.contains("scan") { SCAN } else { N };
        println!("{op}: {:.1} ns per row", (t.secs() - cold) * 1e9 / rows as f64);
        return;
    }
    let mut order: Vec<usize> = (0..N).collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(11));

    let mut ks: Vec<Vec<K>> = vec![Vec::new(); 4];
    let mut ss: Vec<Vec<S>> = vec![Vec::new(); 3];
    let mut memcpy = Vec::new();
    let mut file_write = Vec::new();
    let data: Vec<u8> = (0..(mib << 20)).map(|i| ((i as u64).wrapping_mul(0x9E3779B97F4A7C15) >> 56) as u8).collect();
    for run in 0..runs {
        eprintln!("run {}/{runs}", run + 1);
        let dir = tempfile::tempdir_in(
            std::env::var("BENCH_DIR").unwrap_or_else(|_| std::env::temp_dir().to_string_lossy().into()),
        )
        .unwrap();
        if !skip_k {
            let k = buffdb_k(dir.path(), &keys, &order);
            if raw {
                println!(
                    "raw k put {:.0} get {:.0} get_cold {:.0} scan {:.0} scan_borrowed {:.0}",
                    k.put, k.get, k.get_cold, k.scan, k.scan_borrowed
                );
            }
            ks[0].push(k);
            let anchors = !only_buffdb;
            ks[1].push(if anchors { heed_k(dir.path(), &keys, &order) } else { K::default() });
            ks[2].push(if anchors { redb_k(dir.path(), &keys, &order) } else { K::default() });
            ks[3].push(if anchors { sqlite_k(dir.path(), &keys, &order) } else { K::default() });
        }
        if !skip_s {
            let s = buffdb_s(dir.path(), &data, 16384);
            if raw {
                println!(
                    "raw s write {:.3} checkpoint_ms {:.1} read {:.3} read_again {:.3} first_byte_ms {:.3}",
                    s.write / 1e9,
                    s.checkpoint_ms,
                    s.read / 1e9,
                    s.read_again / 1e9,
                    s.first_byte_ms
                );
            }
            ss[0].push(s);
            ss[1].push(if only_buffdb { S::default() } else { sqlite_s(dir.path(), &data) });
            ss[2].push(if only_buffdb { S::default() } else { buffdb_s(dir.path(), &data, 65536) });
            memcpy.push(memcpy_rate(&data));
            file_write.push(file_write_rate(dir.path(), &data));
        }
    }
    let km = |i: usize, f: fn(&K) -> f64| if skip_k { 0.0 } else { median(ks[i].iter().map(f).collect()) };
    let sm = |i: usize, f: fn(&S) -> f64| if skip_s { 0.0 } else { median(ss[i].iter().map(f).collect()) };
    println!("Workload K: {N} keys (16 B) / 100 B values; medians of {runs} runs; ops/s");
    println!("| operation | BuffDB | heed (LMDB) | redb | rusqlite | BuffDB / heed | BuffDB / redb |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let rows: [(&str, fn(&K) -> f64); 5] = [
        ("batch put (one transaction)", |k| k.put),
        ("random get", |k| k.get),
        ("random get after reopen", |k| k.get_cold),
        ("prefix scan, owned rows (keys/s)", |k| k.scan),
        ("prefix scan, borrowed rows (keys/s)", |k| k.scan_borrowed),
    ];
    for (name, f) in rows {
        let v: Vec<f64> = (0..4).map(|i| km(i, f)).collect();
        println!(
            "| {name} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2}x | {:.2}x |",
            v[0],
            v[1],
            v[2],
            v[3],
            v[0] / v[1],
            v[0] / v[2]
        );
    }
    let gb = 1e9;
    let mc = if skip_s { 0.0 } else { median(memcpy) };
    println!();
    println!("Workload S: one {mib} MiB document, checksums on; medians of {runs} runs");
    println!("| operation | BuffDB (16 KiB pages, default) | BuffDB (page_size 65536) | raw SQLite chunks | memcpy | BuffDB / memcpy (default) |");
    println!("|---|---:|---:|---:|---:|---:|");
    let row = |name: &str, f: fn(&S) -> f64, scale: f64, vs_memcpy: bool| {
        let (a, b, c) = (sm(0, f) / scale, sm(2, f) / scale, sm(1, f) / scale);
        if vs_memcpy {
            println!("| {name} | {a:.2} | {b:.2} | {c:.2} | {:.2} | {:.2}x |", mc / scale, a / (mc / scale));
        } else {
            println!("| {name} | {a:.2} | {b:.2} | {c:.2} | | |");
        }
    };
    row("stream write into the WAL (GB/s)", |s| s.write, gb, false);
    row("then checkpoint (ms)", |s| s.checkpoint_ms, 1.0, false);
    row("stream read, first pass (GB/s)", |s| s.read, gb, true);
    row("stream read again (GB/s)", |s| s.read_again, gb, true);
    row("first byte (ms)", |s| s.first_byte_ms, 1.0, false);
    if !skip_s {
        let (durable, file) = (sm(0, |s| s.durable), median(file_write));
        println!();
        println!("Durable write: the same {mib} MiB, medians of {runs} runs");
        println!("| operation | BuffDB | plain file write + fsync | BuffDB / file |");
        println!("|---|---:|---:|---:|");
        println!("| stream write incl. checkpoint (GB/s) | {:.2} | {:.2} | {:.2}x |", durable / gb, file / gb, durable / file);
    }
    if !flag("--no-memory") {
        // In a process of its own, so the figures are the engine's alone.
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--memory-only", &arg("--memory-mib", 1024).to_string()])
            .output()
            .unwrap();
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
}
