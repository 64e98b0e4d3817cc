//! Workloads K and S from the design, for BuffDB and its anchors (heed/LMDB, redb,
//! plain rusqlite) in one run. Prints one table of medians and ratios.
//!
//! cargo run --release -p buffdb-bench -- [--runs N] [--stream-mib N] [--only-buffdb]
//!     [--skip-k] [--skip-s] [--cpu] [--raw]
//!
//! `--only-buffdb` leaves out the anchors (and the 64 KiB-page stream run); `--cpu`
//! times the calling thread's CPU time instead of the wall clock (steadier on a busy
//! machine); `--raw` prints each run's BuffDB figures, one line per run, for A/B runs.

use std::time::Instant;

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
    let put = rate(N, || db.put_many(&pairs).unwrap());
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
    S { write, read, read_again, first_byte_ms, checkpoint_ms }
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
    S { write, read, read_again: read, first_byte_ms, checkpoint_ms }
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
    let keys = keys();
    // Profiling aid: `--loop OP N` builds the K database, then repeats one operation
    // (scan, scan_each, get, get_cold, kscan) N times, so a profiler sees mostly that.
    // Memory aid: `--stream-mem MIB CACHE_MIB` writes one stream and prints how much
    // anonymous memory the process gained (RssAnon), after the write and after a read.
    if let Some(i) = args.iter().position(|a| a == "--stream-mem") {
        let (mib, cache): (usize, usize) = (args[i + 1].parse().unwrap(), args[i + 2].parse().unwrap());
        let anon = || {
            let s = std::fs::read_to_string("/proc/self/status").unwrap();
            let line = s.lines().find(|l| l.starts_with("RssAnon:")).unwrap().to_string();
            line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() / 1024
        };
        let dir = tempfile::tempdir_in(
            std::env::var("BENCH_DIR").unwrap_or_else(|_| std::env::temp_dir().to_string_lossy().into()),
        )
        .unwrap();
        let db = Db::open(dir.path().join("mem.db"), OpenOptions::default().cache_size(cache << 20)).unwrap();
        let base = anon();
        let mut w = db.stream_writer("/big").unwrap();
        let chunk = vec![7u8; 1 << 20];
        for _ in 0..mib {
            std::io::Write::write_all(&mut w, &chunk).unwrap();
        }
        let during = anon();
        w.commit().unwrap();
        let written = anon();
        let mut r = db.stream_open("/big", None).unwrap();
        let mut buf = vec![0u8; 1 << 20];
        while r.read_into(&mut buf).unwrap() > 0 {}
        println!("stream-mem {mib} MiB, cache {cache} MiB: +{} MiB before commit, +{} MiB after commit, +{} MiB after a read", during - base, written - base, anon() - base);
        return;
    }
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
            for (k, v) in &pairs {
                hdb.put(&mut w, k, v).unwrap();
            }
            w.commit().unwrap();
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
                "get_cold" => {
                    let db = Db::open(&path, OpenOptions::default()).unwrap();
                    for k in &keys {
                        assert!(db.get(k).unwrap().is_some());
                    }
                }
                _ => panic!("--loop scan|scan_each|cold_scan|cold_scan_each|get|get_cold|heed_get|kscan|first_byte N"),
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
}
