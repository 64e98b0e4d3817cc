//! `--encryption [--runs N] [--stream-mib N] [--cpu]` (build with `--features
//! encryption`): the same operations on an unencrypted and an encrypted database, in one
//! run, runs interleaved; medians and the encrypted/unencrypted time ratio of each row.
//! `--cpu` times the process's CPU time (all threads) instead of the wall clock.
//!
//! `--encryption-loop plain|encrypted N`: N rounds of the K workload on one kind, for
//! a callgrind A/B of the unencrypted rows between builds with and without the feature.

use std::time::Instant;

use buffdb::{Db, EncryptionKey, OpenOptions};

const KEYS: usize = 100_000;
const SINGLE_PUTS: usize = 5_000;
const SCAN: usize = 10_000;

fn key(i: usize) -> Vec<u8> {
    // Scattered order, 10 prefixes of 10,000 keys.
    let j = (i * 7919) % KEYS;
    format!("{:04}:{:011}", j % 10, j).into_bytes()
}

fn value(i: usize) -> Vec<u8> {
    (0..100).map(|j| (i * 31 + j) as u8).collect()
}

fn opts(encrypted: bool) -> OpenOptions {
    let o = OpenOptions::default();
    if encrypted {
        let o = o.encryption_key(EncryptionKey::passphrase("bench passphrase").unwrap());
        // `BENCH_ENC_PAGE_SIZE`: the encrypted file's page size (an A/B of page sizes).
        match std::env::var("BENCH_ENC_PAGE_SIZE") {
            Ok(p) => o.page_size(p.parse().unwrap()),
            Err(_) => o,
        }
    } else {
        o
    }
}

/// Seconds of each row for one database kind.
struct Times {
    open_new: f64,
    put: f64,
    put_many: f64,
    reopen: f64,
    get_after_reopen: f64,
    scan: f64,
    stream_write: f64,
    stream_read: f64,
}

/// The process's CPU time, every thread's (the checkpointer's too).
fn process_cpu_secs() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid timespec out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Seconds `f` took: the wall clock, or with `--cpu` the process's CPU time (steadier
/// on a busy machine, where a long operation is preempted more often than a short one).
fn secs(f: impl FnOnce()) -> f64 {
    if crate::CPU_CLOCK.load(std::sync::atomic::Ordering::Relaxed) {
        let t = process_cpu_secs();
        f();
        return process_cpu_secs() - t;
    }
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

fn one(dir: &std::path::Path, encrypted: bool, data: &[u8]) -> Times {
    let path = dir.join(if encrypted { "enc.db" } else { "plain.db" });
    for ext in ["", "-wal", "-shm", "-lock"] {
        let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
    }
    let mut db = None;
    let open_new = secs(|| db = Some(Db::open(&path, opts(encrypted)).unwrap()));
    let db = db.unwrap();
    let put = secs(|| {
        for i in 0..SINGLE_PUTS {
            db.put(format!("single:{i:08}").as_bytes(), &value(i)).unwrap();
        }
    });
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = (0..KEYS).map(|i| (key(i), value(i))).collect();
    let put_many = secs(|| db.put_many(&pairs).unwrap());
    let stream_write = secs(|| {
        db.stream_write("/bench/doc.bin", data).unwrap();
        db.checkpoint().unwrap();
    });
    db.close().unwrap();
    let mut db = None;
    let reopen = secs(|| db = Some(Db::open(&path, opts(encrypted)).unwrap()));
    let db = db.unwrap();
    let get_after_reopen = secs(|| {
        for i in 0..KEYS {
            assert!(db.get(&pairs[(i * 13) % KEYS].0).unwrap().is_some());
        }
    });
    let scan = secs(|| assert_eq!(db.scan(b"0003:", None, None).unwrap().count(), SCAN));
    let stream_read = secs(|| {
        let mut r = db.stream_open("/bench/doc.bin", None).unwrap();
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0;
        loop {
            let n = r.read_into(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            total += n;
        }
        assert_eq!(total, data.len());
    });
    db.close().unwrap();
    Times { open_new, put, put_many, reopen, get_after_reopen, scan, stream_write, stream_read }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

pub fn run(runs: usize, stream_mib: usize) {
    let dir = tempfile::tempdir_in(
        std::env::var("BENCH_DIR").unwrap_or_else(|_| std::env::temp_dir().to_string_lossy().into()),
    )
    .unwrap();
    let data: Vec<u8> = (0..stream_mib << 20).map(|i| ((i as u32).wrapping_mul(2654435761) >> 24) as u8).collect();
    let (mut plain, mut enc) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        plain.push(one(dir.path(), false, &data));
        enc.push(one(dir.path(), true, &data));
    }
    let mb = data.len() as f64 / 1e6;
    type Row = (&'static str, fn(&Times) -> f64, f64, &'static str);
    let rows: [Row; 8] = [
        ("open (new file)", |t| t.open_new, 1e3, "ms"),
        ("put (one commit each)", |t| t.put, SINGLE_PUTS as f64, "ops/s"),
        ("put_many (100,000 in one)", |t| t.put_many, KEYS as f64, "ops/s"),
        ("open (existing file)", |t| t.reopen, 1e3, "ms"),
        ("get after reopen", |t| t.get_after_reopen, KEYS as f64, "ops/s"),
        ("scan 10,000", |t| t.scan, SCAN as f64, "rows/s"),
        ("stream write + checkpoint", |t| t.stream_write, mb, "MB/s"),
        ("stream read", |t| t.stream_read, mb, "MB/s"),
    ];
    let clock =
        if crate::CPU_CLOCK.load(std::sync::atomic::Ordering::Relaxed) { "process CPU time" } else { "wall clock" };
    println!("encryption cost: {runs} runs each, interleaved, {stream_mib} MiB stream; medians; {clock}");
    println!("| operation | unencrypted | encrypted | time ratio |");
    println!("|---|---:|---:|---:|");
    for (name, f, scale, unit) in rows {
        let p = median(plain.iter().map(f).collect());
        let e = median(enc.iter().map(f).collect());
        let show =
            |s: f64| if unit == "ms" { format!("{:.1} ms", s * scale) } else { format!("{:.0} {unit}", scale / s) };
        println!("| {name} | {} | {} | {:.2}x |", show(p), show(e), e / p);
    }
}

/// `--encryption-loop plain|encrypted N`: N rounds of every row but the opens (single
/// puts, put_many, stream write and checkpoint, get after reopen, scan, stream read of
/// 8 MiB), nothing printed (for `valgrind --tool=callgrind`). The encrypted kind uses a
/// raw key, so the profile holds no PBKDF2 (that cost is per open: the open rows).
pub fn run_loop(kind: &str, rounds: usize) {
    let dir = tempfile::tempdir().unwrap();
    let encrypted = match kind {
        "plain" => false,
        "encrypted" => true,
        _ => panic!("--encryption-loop plain|encrypted N"),
    };
    let opts = || {
        let o = OpenOptions::default();
        if encrypted {
            o.encryption_key(EncryptionKey::raw(&[7u8; 32]).unwrap())
        } else {
            o
        }
    };
    let path = dir.path().join("loop.db");
    let loop_keys: usize = std::env::var("BENCH_LOOP_KEYS").map_or(KEYS / 10, |v| v.parse().unwrap());
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = (0..loop_keys).map(|i| (key(i), value(i))).collect();
    let data: Vec<u8> = (0..8usize << 20).map(|i| ((i as u32).wrapping_mul(2654435761) >> 24) as u8).collect();
    for _ in 0..rounds {
        let db = Db::open(&path, opts()).unwrap();
        for (i, (_, v)) in pairs.iter().enumerate().take(500) {
            db.put(format!("s{i}").as_bytes(), v).unwrap();
        }
        db.put_many(&pairs).unwrap();
        db.stream_write("/loop/doc.bin", &data).unwrap();
        db.checkpoint().unwrap();
        db.close().unwrap();
        let db = Db::open(&path, opts()).unwrap();
        for (k, _) in &pairs {
            assert!(db.get(k).unwrap().is_some());
        }
        assert!(db.scan(b"0003:", None, None).unwrap().count() > 0);
        let mut r = db.stream_open("/loop/doc.bin", None).unwrap();
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0;
        loop {
            let n = r.read_into(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            total += n;
        }
        assert_eq!(total, data.len());
        db.close().unwrap();
    }
}
