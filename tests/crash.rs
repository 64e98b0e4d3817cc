//! Kill a writing process with SIGKILL: every acknowledged commit survives,
//! nothing half-written is visible, and the file passes the check.

mod common;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use buffdb::{Db, Durability, OpenOptions};

const CHILD_ENV: &str = "BUFFDB_CRASH_CHILD";
/// Rounds of kill -9 (each a new child, killed at a random moment): a few by
/// default; `BUFFDB_CRASH_ROUNDS=300` for the long run.
const ROUNDS_ENV: &str = "BUFFDB_CRASH_ROUNDS";

fn opts() -> OpenOptions {
    OpenOptions::default().durability(Durability::Full).chunk_size(4096)
}

/// The child: writes forever, printing each acknowledged step.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else { return };
    let db = Db::open(&path, opts()).unwrap();
    let mut out = std::io::stdout().lock();
    for i in 0u64.. {
        // A transaction writing a pair that must appear together.
        db.transaction(|tx| {
            tx.put(format!("a{i:08}").as_bytes(), &i.to_le_bytes())?;
            tx.put(format!("b{i:08}").as_bytes(), &i.to_le_bytes())?;
            Ok(())
        })
        .unwrap();
        // A multi-chunk stream written through a writer (several commits inside).
        let mut w = db.stream_writer(&format!("/crash/{i:08}")).unwrap();
        for _ in 0..5 {
            w.write(&[i as u8; 7000]).unwrap();
        }
        w.commit().unwrap();
        writeln!(out, "ack {i}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn kill_during_writes_loses_nothing_acknowledged() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let (_d, path) = common::temp();
    let rounds: usize = std::env::var(ROUNDS_ENV).ok().and_then(|v| v.parse().ok()).unwrap_or(8);
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    let mut rng = seed;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    eprintln!("crash rounds {rounds}, seed {seed}");
    let mut total_acked = 0;
    for round in 0..rounds {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u64>::new()));
        let reader = {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    // (the first may follow libtest's "test crash_child ... " on its line)
                    if let Some(i) = line.find("ack ") {
                        lines.lock().unwrap().push(line[i + 4..].trim().parse().unwrap());
                    }
                }
            })
        };
        let start = Instant::now();
        // Kill at a random moment, once some writes are acknowledged.
        let want = 1 + (next() % 20) as usize;
        while lines.lock().unwrap().len() < want && start.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_micros(next() % 30_000));
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        let acked = lines.lock().unwrap().clone();
        assert!(!acked.is_empty(), "the child acknowledged nothing (round {round}, seed {seed})");
        total_acked += acked.len();

        let db = Db::open(&path, opts()).unwrap();
        for &i in &acked {
            assert_eq!(db.get(format!("a{i:08}").as_bytes()).unwrap().unwrap(), i.to_le_bytes());
            assert_eq!(db.stream_read(&format!("/crash/{i:08}")).unwrap(), vec![i as u8; 35_000]);
        }
        // Pairs are whole; streams are whole versions or absent.
        assert_eq!(db.count(b"a").unwrap(), db.count(b"b").unwrap());
        for p in db.search("/crash/", None, None).unwrap() {
            let p = p.unwrap();
            assert_eq!(db.stream_stat(&p).unwrap().size, 35_000);
        }
        let report = db.check().unwrap();
        assert!(report.ok, "{report:?}");
        // Chunks of the writer that was killed mid-stream were collected at open.
        let s = db.stats().unwrap();
        let mut expect_chunks = 0;
        for p in db.search("/crash/", None, None).unwrap() {
            expect_chunks += db.stream_versions(&p.unwrap()).unwrap().iter().map(|v| v.chunk_count).sum::<u64>();
        }
        assert_eq!(s.chunk_count, expect_chunks, "abandoned chunks left behind");
        db.close().unwrap();
    }
    eprintln!("crash: {rounds} rounds, {total_acked} acknowledged commits checked, none lost or torn");
}
